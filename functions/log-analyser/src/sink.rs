//! Where datums go: the `MetricsSink` port, its CloudWatch adapter and an in-memory adapter
//! for tests and benchmarks.

use std::sync::Mutex;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use crate::datum::{Datum, DatumValue, Unit};

#[derive(Debug, thiserror::Error)]
#[error("PutMetricData to {namespace} failed: {message}")]
pub struct SinkError {
    pub namespace: String,
    pub message: String,
    /// CloudWatch refused the request's content (InvalidParameterValue and the like): sending
    /// it again cannot succeed, though a part of it may.
    pub rejected: bool,
}

/// One PutMetricData call's worth of datums at a time.
pub trait MetricsSink {
    fn put(
        &self,
        namespace: &str,
        datums: &[Datum],
    ) -> impl std::future::Future<Output = Result<(), SinkError>> + Send;
}

/// CloudWatch's codes for a request whose content it refuses (PutMetricData's errors in the
/// API reference), as opposed to throttling or a failure on its side.
const REJECTED: [&str; 3] = [
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
];

/// CloudWatch through the AWS SDK.
#[derive(Debug, Clone)]
pub struct CloudWatchSink {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchSink {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        CloudWatchSink { client }
    }
}

fn unit(unit: Unit) -> StandardUnit {
    match unit {
        Unit::Count => StandardUnit::Count,
        Unit::Bytes => StandardUnit::Bytes,
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Percent => StandardUnit::Percent,
    }
}

/// The SDK form of a datum.
pub fn to_sdk(datum: Datum) -> MetricDatum {
    let mut builder = MetricDatum::builder()
        .metric_name(datum.name)
        .timestamp(DateTime::from_millis(datum.timestamp_ms))
        .unit(unit(datum.unit));
    for (name, value) in datum.dimensions {
        builder = builder.dimensions(Dimension::builder().name(name).value(value).build());
    }
    match datum.value {
        DatumValue::Single(value) => builder.value(value).build(),
        DatumValue::Distribution(pairs) => {
            let (values, counts): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            builder
                .set_values(Some(values))
                .set_counts(Some(counts))
                .build()
        }
    }
}

impl MetricsSink for CloudWatchSink {
    async fn put(&self, namespace: &str, datums: &[Datum]) -> Result<(), SinkError> {
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(datums.iter().cloned().map(to_sdk).collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| {
                use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
                let rejected = err
                    .as_service_error()
                    .and_then(|e| e.code())
                    .is_some_and(|code| REJECTED.contains(&code));
                SinkError {
                    namespace: namespace.to_string(),
                    message: aws_sdk_cloudwatch::error::DisplayErrorContext(err).to_string(),
                    rejected,
                }
            })
    }
}

/// Keeps every call in memory; can be told to fail, or to refuse (as CloudWatch refuses a
/// request with an invalid datum) every call holding a datum `reject` matches.
#[derive(Debug, Default)]
pub struct MemorySink {
    pub calls: Mutex<Vec<(String, Vec<Datum>)>>,
    pub fail: bool,
    pub reject: Option<fn(&Datum) -> bool>,
}

impl MemorySink {
    pub fn datums(&self) -> Vec<Datum> {
        self.calls
            .lock()
            .map(|calls| calls.iter().flat_map(|(_, d)| d.clone()).collect())
            .unwrap_or_default()
    }
}

impl MetricsSink for MemorySink {
    async fn put(&self, namespace: &str, datums: &[Datum]) -> Result<(), SinkError> {
        if self.fail {
            return Err(SinkError {
                namespace: namespace.to_string(),
                message: "the sink was told to fail".to_string(),
                rejected: false,
            });
        }
        if let Some(reject) = self.reject
            && datums.iter().any(reject)
        {
            return Err(SinkError {
                namespace: namespace.to_string(),
                message: "InvalidParameterValue: the sink refused a datum".to_string(),
                rejected: true,
            });
        }
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((namespace.to_string(), datums.to_vec()));
        }
        Ok(())
    }
}
