//! The Lambda handler: decode the batch, analyse it, publish, log one summary line.

use aws_lambda_events::event::streams::KinesisEventResponse;
use cfrp_config::AnalyserSettings;
use lambda_runtime::{Error, LambdaEvent};

use crate::aggregate::{Analysis, analyse_payloads};
use crate::datum::into_calls;
use crate::event::KinesisRecords;
use crate::record::Layout;
use crate::sink::MetricsSink;
use crate::strikes::StrikeStore;

/// Built once at init; shared by every invocation.
pub struct Analyser<S> {
    pub settings: AnalyserSettings,
    pub layout: Layout,
    pub sink: S,
    /// `[waf.auto_block]` on: where strikes go.
    pub strikes: Option<Box<dyn StrikeStore>>,
}

impl<S: MetricsSink> Analyser<S> {
    pub fn new(settings: AnalyserSettings, sink: S) -> Self {
        let layout = Layout::new(&settings.fields);
        Analyser {
            settings,
            layout,
            sink,
            strikes: None,
        }
    }

    /// With a strike store (`[waf.auto_block]`).
    pub fn with_strikes(mut self, store: Box<dyn StrikeStore>) -> Self {
        self.strikes = Some(store);
        self
    }

    /// Analysis only, no I/O. `event` is the runtime's [`crate::event::KinesisBatch`] or an
    /// `aws_lambda_events` `KinesisEvent`.
    pub fn analyse(&self, event: &impl KinesisRecords, now_ms: i64) -> Analysis {
        analyse_payloads(&self.settings, &self.layout, event.payloads(), now_ms)
    }

    /// Publishes one call's datums. When CloudWatch refuses the request's content, the call is
    /// halved until the datums it refuses stand alone; those are dropped, each logged with the
    /// reason, and counted (the return value), the rest published: one bad datum never fails
    /// the batch. Any other failure is returned.
    async fn publish(&self, datums: Vec<crate::datum::Datum>) -> Result<usize, Error> {
        let mut pending = vec![datums];
        let mut rejected = 0;
        while let Some(mut chunk) = pending.pop() {
            match self.sink.put(&self.settings.namespace, &chunk).await {
                Ok(()) => {}
                Err(err) if err.rejected && chunk.len() > 1 => {
                    let second = chunk.split_off(chunk.len() / 2);
                    pending.push(second);
                    pending.push(chunk);
                }
                Err(err) if err.rejected => {
                    rejected += chunk.len();
                    for datum in &chunk {
                        tracing::warn!(
                            metric = datum.name,
                            dimensions = ?datum.dimensions,
                            reason = %err.message,
                            "CloudWatch refused a datum; dropped"
                        );
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(rejected)
    }

    /// Malformed records are counted, never fail the batch. A failed PutMetricData fails the
    /// invocation so Lambda retries the batch (at-least-once): datums already published by
    /// that invocation are then published again. The double count is bounded to the batch's
    /// own minutes, because every datum carries its records' minute, not the time of
    /// publishing; retries are bounded by the event source mapping's retry settings.
    pub async fn handle(
        &self,
        event: LambdaEvent<impl KinesisRecords>,
    ) -> Result<KinesisEventResponse, Error> {
        let now_ms = cfrp_function_support::now_ms();
        let analysis = self.analyse(&event.payload, now_ms);
        let calls = into_calls(analysis.datums);
        let call_count = calls.len();
        let mut rejected = 0;
        for call in calls {
            rejected += self.publish(call).await?;
        }
        // A failed strike write is logged, not retried with the batch: a retry would publish
        // the batch's metrics twice, and a missed strike only delays a block by a minute.
        let mut strike_error = None;
        if let Some(store) = &self.strikes
            && !analysis.strikes.is_empty()
            && let Err(err) = store.put(&analysis.strikes).await
        {
            tracing::error!(target: "auto_block", error = %err, strikes = analysis.strikes.len(), "strikes not recorded for this batch");
            strike_error = Some(err.to_string());
        }
        let summary = &analysis.summary;
        tracing::info!(
            target: "summary",
            records = summary.records,
            analysed = summary.analysed,
            malformed = summary.malformed,
            stale = summary.stale,
            distributions = summary.distributions,
            minutes = summary.minutes,
            datums = summary.datums,
            put_metric_data_calls = call_count,
            rejected_datums = rejected,
            strikes = analysis.strikes.len(),
            strike_error = strike_error.as_deref().unwrap_or("-"),
            malformed_sample = serde_json::to_string(&summary.malformed_sample).unwrap_or_default(),
            clients_by_level = serde_json::to_string(&summary.clients_by_level).unwrap_or_default(),
            "batch analysed"
        );
        if !summary.top_offenders.is_empty() {
            tracing::info!(
                target: "top_offenders",
                offenders = serde_json::to_string(&summary.top_offenders).unwrap_or_default(),
                "clients with the highest anomaly scores in this batch"
            );
        }
        // Every record was either analysed or counted as malformed/stale: nothing to retry.
        Ok(KinesisEventResponse::default())
    }
}
