//! Reading CloudWatch metrics, the same way for the alarm evaluator (its rules' data) and the
//! deployer (`monitor`, `price`): one query type, and GetMetricData and ListMetrics with their
//! pages and request limits handled once.

use std::collections::HashMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
use aws_sdk_cloudwatch::operation::list_metrics::{ListMetricsError, ListMetricsOutput};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, RecentlyActive,
};

/// GetMetricData takes at most 500 queries per request.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// One statistic of one metric, in periods of `period_seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `^[a-z][a-zA-Z0-9_]*$`, as GetMetricData requires; answers are keyed by it.
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
    pub period_seconds: u32,
}

/// Per query id, its datapoints as `(epoch milliseconds, value)` in the order CloudWatch
/// returned them (newest first unless asked otherwise).
pub type Results = HashMap<String, Vec<(i64, f64)>>;

/// The query as GetMetricData takes it.
pub fn sdk_query(query: &Query) -> MetricDataQuery {
    let mut metric = Metric::builder()
        .namespace(&query.namespace)
        .metric_name(&query.metric);
    for (name, value) in &query.dimensions {
        metric = metric.dimensions(Dimension::builder().name(name).value(value).build());
    }
    MetricDataQuery::builder()
        .id(&query.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                // CloudWatch periods are at most days (86,400 s); saturate rather than wrap.
                .period(i32::try_from(query.period_seconds).unwrap_or(i32::MAX))
                .stat(&query.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// Every query's datapoints between `start_ms` and `end_ms`: at most
/// [`MAX_QUERIES_PER_CALL`] queries per request, every page of each answer.
pub async fn fetch(
    client: &Client,
    queries: &[Query],
    start_ms: i64,
    end_ms: i64,
) -> Result<Results, SdkError<GetMetricDataError>> {
    fetch_with(queries, |sdk, token| {
        client
            .get_metric_data()
            .set_metric_data_queries(Some(sdk))
            .start_time(DateTime::from_millis(start_ms))
            .end_time(DateTime::from_millis(end_ms))
            .set_next_token(token)
            .send()
    })
    .await
}

/// The region that publishes the metrics of every namespace: CloudFront's own metrics
/// (`AWS/CloudFront`, `Region=Global`) and those of CLOUDFRONT-scope web ACLs (`AWS/WAFV2`)
/// exist only in us-east-1, whatever region the reader runs in (CloudFront developer guide,
/// "Monitoring CloudFront metrics with Amazon CloudWatch").
pub const GLOBAL_REGION: &str = "us-east-1";

/// Whether `namespace`'s metrics live only in [`GLOBAL_REGION`].
pub fn only_in_global_region(namespace: &str) -> bool {
    matches!(namespace, "AWS/CloudFront" | "AWS/WAFV2")
}

/// [`fetch`] for queries of any namespace: those that live only in us-east-1 are read with
/// `us_east_1`, the rest with `regional` (both the same client when the stack is in us-east-1).
pub async fn fetch_by_region(
    regional: &Client,
    us_east_1: &Client,
    queries: &[Query],
    start_ms: i64,
    end_ms: i64,
) -> Result<Results, SdkError<GetMetricDataError>> {
    let (global, local): (Vec<Query>, Vec<Query>) = queries
        .iter()
        .cloned()
        .partition(|q| only_in_global_region(&q.namespace));
    let mut results = Results::new();
    for (client, queries) in [(regional, local), (us_east_1, global)] {
        if !queries.is_empty() {
            // Boxed: the nested paging futures otherwise make a type deeper than rustc's
            // default layout limit in the functions' async mains.
            results.extend(Box::pin(fetch(client, &queries, start_ms, end_ms)).await?);
        }
    }
    Ok(results)
}

/// [`fetch`] with the request made by `call` (one chunk of queries, one page's token): the
/// chunking, paging and merging, unit-tested without AWS. (Not with the SDK's mock client:
/// its test utilities change features of crates the shipped binaries share, serde_json's
/// map order among them, so the end-to-end tests' binaries were built twice.)
async fn fetch_with<E, Answer>(
    queries: &[Query],
    mut call: impl FnMut(Vec<MetricDataQuery>, Option<String>) -> Answer,
) -> Result<Results, E>
where
    Answer: Future<Output = Result<GetMetricDataOutput, E>>,
{
    let mut results = Results::new();
    for chunk in queries.chunks(MAX_QUERIES_PER_CALL) {
        let sdk: Vec<MetricDataQuery> = chunk.iter().map(sdk_query).collect();
        let mut token: Option<String> = None;
        loop {
            let page = call(sdk.clone(), token).await?;
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

/// Every metric named `metric` in `namespace` that has dimension `filter` (name, value) when
/// one is given, over every page of ListMetrics; only those published in the last three
/// hours when `recently_active`.
pub async fn list(
    client: &Client,
    namespace: &str,
    metric: &str,
    filter: Option<(&str, &str)>,
    recently_active: bool,
) -> Result<Vec<Metric>, SdkError<ListMetricsError>> {
    list_with(|token| {
        let mut request = client
            .list_metrics()
            .namespace(namespace)
            .metric_name(metric)
            .set_next_token(token);
        if let Some((name, value)) = filter {
            request =
                request.dimensions(DimensionFilter::builder().name(name).value(value).build());
        }
        if recently_active {
            request = request.recently_active(RecentlyActive::Pt3H);
        }
        request.send()
    })
    .await
}

/// [`list`] with the request made by `call` (one page's token), as [`fetch_with`].
async fn list_with<E, Answer>(
    mut call: impl FnMut(Option<String>) -> Answer,
) -> Result<Vec<Metric>, E>
where
    Answer: Future<Output = Result<ListMetricsOutput, E>>,
{
    let mut metrics = Vec::new();
    let mut token = None;
    loop {
        let page = call(token).await?;
        metrics.extend(page.metrics().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(metrics)
}

/// The value of dimension `name` of `metric`, if it has one.
pub fn dimension_value<'m>(metric: &'m Metric, name: &str) -> Option<&'m str> {
    metric
        .dimensions()
        .iter()
        .find(|d| d.name() == Some(name))
        .and_then(|d| d.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudfront_and_waf_metrics_are_read_in_us_east_1_only() {
        assert!(only_in_global_region("AWS/CloudFront"));
        assert!(only_in_global_region("AWS/WAFV2"));
        assert!(!only_in_global_region("CloudFrontProxy/shop"));
        assert!(!only_in_global_region("AWS/Lambda"));
    }
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use std::convert::Infallible;
    use std::future::ready;

    fn query(i: usize) -> Query {
        Query {
            id: format!("q{i}"),
            namespace: "N".into(),
            metric: "M".into(),
            dimensions: vec![("D".into(), "v".into())],
            stat: "Sum".into(),
            period_seconds: 60,
        }
    }

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .set_timestamps(Some(
                points
                    .iter()
                    .map(|(t, _)| DateTime::from_millis(*t))
                    .collect(),
            ))
            .set_values(Some(points.iter().map(|(_, v)| *v).collect()))
            .build()
    }

    #[tokio::test]
    async fn every_page_of_every_chunk_is_read_and_merged_by_id() {
        // 501 queries: two requests; the first one is answered in two pages.
        let mut calls: Vec<(usize, Option<String>)> = Vec::new();
        let queries: Vec<Query> = (0..501).map(query).collect();
        let results = fetch_with(&queries, |sdk, token| {
            calls.push((sdk.len(), token.clone()));
            let page = match (sdk.len(), token.as_deref()) {
                (500, None) => GetMetricDataOutput::builder()
                    .metric_data_results(result("q0", &[(120_000, 2.0)]))
                    .next_token("page-2")
                    .build(),
                (500, Some("page-2")) => GetMetricDataOutput::builder()
                    .metric_data_results(result("q0", &[(60_000, 1.0)]))
                    .metric_data_results(result("q1", &[(60_000, 5.0)]))
                    .build(),
                (1, None) if sdk[0].id() == Some("q500") => GetMetricDataOutput::builder()
                    .metric_data_results(result("q500", &[(0, 7.0)]))
                    .build(),
                other => panic!("unexpected request {other:?}"),
            };
            ready(Ok::<_, Infallible>(page))
        })
        .await
        .unwrap();
        assert_eq!(results["q0"], vec![(120_000, 2.0), (60_000, 1.0)]);
        assert_eq!(results["q1"], vec![(60_000, 5.0)]);
        assert_eq!(results["q500"], vec![(0, 7.0)]);
        assert_eq!(results.len(), 3);
        assert_eq!(
            calls,
            [(500, None), (500, Some("page-2".to_string())), (1, None)]
        );
    }

    #[tokio::test]
    async fn a_failed_page_fails_the_fetch() {
        let failed = fetch_with(&[query(0)], |_, token| {
            ready(match token {
                None => Ok(GetMetricDataOutput::builder().next_token("t").build()),
                Some(_) => Err("throttled"),
            })
        })
        .await;
        assert_eq!(failed, Err("throttled"));
    }

    #[test]
    fn the_query_names_its_metric_stat_and_period() {
        let sdk = sdk_query(&query(3));
        assert_eq!(sdk.id(), Some("q3"));
        assert_eq!(sdk.return_data(), Some(true));
        let stat = sdk.metric_stat().unwrap();
        assert_eq!(stat.period(), Some(60));
        assert_eq!(stat.stat(), Some("Sum"));
        let metric = stat.metric().unwrap();
        assert_eq!(metric.namespace(), Some("N"));
        assert_eq!(metric.metric_name(), Some("M"));
        assert_eq!(dimension_value(metric, "D"), Some("v"));
        assert_eq!(dimension_value(metric, "E"), None);
    }

    #[tokio::test]
    async fn listing_follows_next_tokens() {
        let metric = |v: &str| {
            Metric::builder()
                .metric_name("M")
                .dimensions(Dimension::builder().name("D").value(v).build())
                .build()
        };
        let mut tokens = Vec::new();
        let found = list_with(|token| {
            tokens.push(token.clone());
            let page = match token.as_deref() {
                None => ListMetricsOutput::builder()
                    .metrics(metric("a"))
                    .next_token("t")
                    .build(),
                _ => ListMetricsOutput::builder().metrics(metric("b")).build(),
            };
            ready(Ok::<_, Infallible>(page))
        })
        .await
        .unwrap();
        let values: Vec<&str> = found
            .iter()
            .filter_map(|m| dimension_value(m, "D"))
            .collect();
        assert_eq!(values, ["a", "b"]);
        assert_eq!(tokens, [None, Some("t".to_string())]);
    }
}
