//! CloudWatch behind a port: GetMetricData for an evaluation, PutMetricData for rule states.

use std::sync::Mutex;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
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
    /// The function's region: the stack's metrics, and where rule states are published.
    client: aws_sdk_cloudwatch::Client,
    /// us-east-1, where CloudFront's own metrics are (see
    /// [`cfrp_metric_data::only_in_global_region`]).
    us_east_1: aws_sdk_cloudwatch::Client,
}

impl CloudWatchPort {
    /// `client` in the function's region; CloudFront's metrics are read with a copy of it in
    /// us-east-1.
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        let us_east_1 = aws_sdk_cloudwatch::Client::from_conf(
            client
                .config()
                .to_builder()
                .region(aws_sdk_cloudwatch::config::Region::new(
                    cfrp_metric_data::GLOBAL_REGION,
                ))
                .build(),
        );
        CloudWatchPort { client, us_east_1 }
    }
}

impl MetricsPort for CloudWatchPort {
    async fn fetch(&self, plan: &QueryPlan) -> Result<Results, PortError> {
        cfrp_metric_data::fetch_by_region(
            &self.client,
            &self.us_east_1,
            &plan.queries,
            plan.start_ms,
            plan.end_ms,
        )
        .await
        .map_err(|err| PortError {
            operation: "GetMetricData",
            message: aws_sdk_cloudwatch::error::DisplayErrorContext(err).to_string(),
        })
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
