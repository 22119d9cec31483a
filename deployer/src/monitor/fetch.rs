//! The monitor's CloudWatch calls: ListMetrics for the breakdowns' dimension values and
//! GetMetricData for a plan's queries (the stack's region, and us-east-1 for CloudFront's own
//! metrics).

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, RecentlyActive,
};
use cfrp_config::metrics as m;

use super::query::{PERIOD_SECONDS, Query};
use super::snapshot::Results;
use crate::error::DeployError;

/// GetMetricData takes at most 500 queries a call.
const QUERIES_PER_CALL: usize = 500;

/// The values of `dimension` the analyser published `metric` with for `domain` in the last
/// three hours (ListMetrics' RecentlyActive), sorted.
pub async fn dimension_values(
    cloudwatch: &Client,
    namespace: &str,
    domain: &str,
    metric: &str,
    dimension: &str,
) -> Result<Vec<String>, DeployError> {
    let mut values: Vec<String> = Vec::new();
    let mut token = None;
    loop {
        let page = cloudwatch
            .list_metrics()
            .namespace(namespace)
            .metric_name(metric)
            .dimensions(
                DimensionFilter::builder()
                    .name(m::DIM_DISTRIBUTION)
                    .value(domain)
                    .build(),
            )
            .recently_active(RecentlyActive::Pt3H)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudwatch:ListMetrics", metric, e))?;
        for found in page.metrics() {
            let value = |name: &str| {
                found
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some(name))
                    .and_then(|d| d.value())
            };
            if value(m::DIM_DISTRIBUTION) == Some(domain)
                && let Some(v) = value(dimension)
                && !values.iter().any(|known| known == v)
            {
                values.push(v.to_string());
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    values.sort_unstable();
    Ok(values)
}

fn sdk_query(q: &Query) -> MetricDataQuery {
    let mut metric = Metric::builder()
        .namespace(&q.namespace)
        .metric_name(&q.metric);
    for (name, value) in &q.dimensions {
        metric = metric.dimensions(Dimension::builder().name(name).value(value).build());
    }
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .period(PERIOD_SECONDS as i32)
                .stat(&q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// Every query's datapoints between `start_ms` and `end_ms`.
pub async fn metric_data(
    cloudwatch: &Client,
    queries: &[Query],
    start_ms: i64,
    end_ms: i64,
) -> Result<Results, DeployError> {
    let mut results = Results::new();
    for chunk in queries.chunks(QUERIES_PER_CALL) {
        let sdk: Vec<MetricDataQuery> = chunk.iter().map(sdk_query).collect();
        let what = chunk.first().map_or("", |q| q.namespace.as_str());
        let mut token: Option<String> = None;
        loop {
            let page = cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(sdk.clone()))
                .start_time(DateTime::from_millis(start_ms))
                .end_time(DateTime::from_millis(end_ms))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:GetMetricData", what, e))?;
            for result in page.metric_data_results() {
                let id = result.id().unwrap_or_default().to_string();
                let points = result
                    .timestamps()
                    .iter()
                    .zip(result.values())
                    .filter_map(|(ts, v)| ts.to_millis().ok().map(|t| (t, *v)));
                results.entry(id).or_default().extend(points);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(results)
}
