//! CloudWatch behind a port: GetMetricData for an evaluation, PutMetricData for rule states.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit,
};
use cfrp_config::metrics as m;

use crate::evaluate::State;
use crate::queries::{QueryPlan, Results};

#[derive(Debug, thiserror::Error)]
#[error("CloudWatch {operation} failed: {message}")]
pub struct PortError {
    pub operation: &'static str,
    pub message: String,
}

/// One rule's new state, published at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleStateDatum {
    pub rule: String,
    pub state: State,
    pub timestamp_ms: i64,
}

pub trait MetricsPort {
    fn fetch(
        &self,
        plan: &QueryPlan,
    ) -> impl std::future::Future<Output = Result<Results, PortError>> + Send;
    fn publish(
        &self,
        namespace: &str,
        states: &[RuleStateDatum],
    ) -> impl std::future::Future<Output = Result<(), PortError>> + Send;
}

#[derive(Debug, Clone)]
pub struct CloudWatchPort {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchPort {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        CloudWatchPort { client }
    }
}

/// GetMetricData takes at most 500 queries per request.
const MAX_QUERIES: usize = 500;

impl MetricsPort for CloudWatchPort {
    async fn fetch(&self, plan: &QueryPlan) -> Result<Results, PortError> {
        let error = |err: String| PortError {
            operation: "GetMetricData",
            message: err,
        };
        let mut results: Results = HashMap::new();
        for chunk in plan.queries.chunks(MAX_QUERIES) {
            let queries: Vec<MetricDataQuery> = chunk
                .iter()
                .map(|q| {
                    let mut metric = Metric::builder()
                        .namespace(&q.namespace)
                        .metric_name(&q.metric);
                    for (name, value) in &q.dimensions {
                        metric =
                            metric.dimensions(Dimension::builder().name(name).value(value).build());
                    }
                    MetricDataQuery::builder()
                        .id(&q.id)
                        .metric_stat(
                            MetricStat::builder()
                                .metric(metric.build())
                                .period(i32::try_from(q.period_seconds).unwrap_or(60))
                                .stat(&q.stat)
                                .build(),
                        )
                        .build()
                })
                .collect();
            let mut next_token: Option<String> = None;
            loop {
                let answer = self
                    .client
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(DateTime::from_millis(plan.start_ms))
                    .end_time(DateTime::from_millis(plan.end_ms))
                    .set_next_token(next_token.clone())
                    .send()
                    .await
                    .map_err(|err| {
                        error(aws_sdk_cloudwatch::error::DisplayErrorContext(err).to_string())
                    })?;
                for result in answer.metric_data_results() {
                    let id = result.id().unwrap_or_default().to_string();
                    let points = result
                        .timestamps()
                        .iter()
                        .zip(result.values())
                        .filter_map(|(ts, v)| ts.to_millis().ok().map(|t| (t, *v)));
                    results.entry(id).or_default().extend(points);
                }
                next_token = answer.next_token().map(str::to_string);
                if next_token.is_none() {
                    break;
                }
            }
        }
        Ok(results)
    }

    async fn publish(&self, namespace: &str, states: &[RuleStateDatum]) -> Result<(), PortError> {
        let data: Vec<MetricDatum> = states
            .iter()
            .map(|s| {
                MetricDatum::builder()
                    .metric_name(m::RULE_STATE)
                    .dimensions(
                        Dimension::builder()
                            .name(m::DIM_RULE)
                            .value(&s.rule)
                            .build(),
                    )
                    .timestamp(DateTime::from_millis(s.timestamp_ms))
                    .value(s.state.metric_value())
                    .unit(StandardUnit::None)
                    .build()
            })
            .collect();
        for chunk in data.chunks(1000) {
            self.client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|err| PortError {
                    operation: "PutMetricData",
                    message: aws_sdk_cloudwatch::error::DisplayErrorContext(err).to_string(),
                })?;
        }
        Ok(())
    }
}

/// Answers from a fixed set of results; records what was published.
#[derive(Debug, Default)]
pub struct MemoryPort {
    pub results: Results,
    pub fail_fetch: bool,
    pub published: Mutex<Vec<RuleStateDatum>>,
}

impl MetricsPort for MemoryPort {
    async fn fetch(&self, _plan: &QueryPlan) -> Result<Results, PortError> {
        if self.fail_fetch {
            return Err(PortError {
                operation: "GetMetricData",
                message: "unreachable (told to fail)".to_string(),
            });
        }
        Ok(self.results.clone())
    }

    async fn publish(&self, _namespace: &str, states: &[RuleStateDatum]) -> Result<(), PortError> {
        self.published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(states);
        Ok(())
    }
}
