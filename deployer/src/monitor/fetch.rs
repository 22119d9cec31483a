//! The monitor's CloudWatch calls: ListMetrics for the breakdowns' dimension values and
//! GetMetricData for a plan's queries (the stack's region, and us-east-1 for CloudFront's own
//! metrics).

use aws_sdk_cloudwatch::Client;
use cfrp_config::metrics as m;
use cfrp_metric_data::dimension_value;

use super::query::Query;
use super::snapshot::Results;
use crate::error::DeployError;

/// The values of `dimension` the analyser published `metric` with for `domain` in the last
/// three hours (ListMetrics' RecentlyActive), sorted.
pub async fn dimension_values(
    cloudwatch: &Client,
    namespace: &str,
    domain: &str,
    metric: &str,
    dimension: &str,
) -> Result<Vec<String>, DeployError> {
    let found = cfrp_metric_data::list(
        cloudwatch,
        namespace,
        metric,
        Some((m::DIM_DISTRIBUTION, domain)),
        true,
    )
    .await
    .map_err(|e| DeployError::aws("cloudwatch:ListMetrics", metric, e))?;
    let mut values: Vec<String> = Vec::new();
    for metric in &found {
        if dimension_value(metric, m::DIM_DISTRIBUTION) == Some(domain)
            && let Some(v) = dimension_value(metric, dimension)
            && !values.iter().any(|known| known == v)
        {
            values.push(v.to_string());
        }
    }
    values.sort_unstable();
    Ok(values)
}

/// Every query's datapoints between `start_ms` and `end_ms`.
pub async fn metric_data(
    cloudwatch: &Client,
    queries: &[Query],
    start_ms: i64,
    end_ms: i64,
) -> Result<Results, DeployError> {
    let what = queries.first().map_or("", |q| q.namespace.as_str());
    cfrp_metric_data::fetch(cloudwatch, queries, start_ms, end_ms)
        .await
        .map_err(|e| DeployError::aws("cloudwatch:GetMetricData", what, e))
}
