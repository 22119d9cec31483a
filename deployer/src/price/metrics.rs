//! `--from-metrics`: the analyser's request, byte and per-country counts from CloudWatch.
//!
//! The analyser publishes `Requests` and `BytesSent` with the dimension `Distribution`, and
//! `RequestsByCountry` with `Distribution` and `Country` (its top N countries per minute,
//! the rest as `Other`). ListMetrics finds the countries; one GetMetricData per 500 queries
//! sums each over the window with a one-day period.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use cfrp_config::metrics as m;

use super::PriceError;
use crate::error::DeployError;

/// GetMetricData takes at most 500 queries a call.
const QUERIES_PER_CALL: usize = 500;
const DAY_SECONDS: i64 = 86_400;

/// Sums over the window, as logged (before scaling for sampling).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub distribution: String,
    pub days: u32,
    pub requests: f64,
    pub bytes: f64,
    /// `(Country dimension value, requests)`, including `Other`.
    pub countries: Vec<(String, f64)>,
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn query(id: String, namespace: &str, metric: &str, dimensions: Vec<Dimension>) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(metric)
                        .set_dimensions(Some(dimensions))
                        .build(),
                )
                .period(DAY_SECONDS as i32)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}

/// Reads `days` days up to `now` (seconds since the epoch).
pub async fn read(
    cloudwatch: &Client,
    namespace: &str,
    region: &str,
    distribution: Option<&str>,
    days: u32,
    now: i64,
) -> Result<Observed, PriceError> {
    // Every (distribution, country) the analyser has published in the last two weeks.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut token = None;
    loop {
        let page = cloudwatch
            .list_metrics()
            .namespace(namespace)
            .metric_name(m::REQUESTS_BY_COUNTRY)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudwatch:ListMetrics", namespace, e))?;
        for metric in page.metrics() {
            let value = |name: &str| {
                metric
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some(name))
                    .and_then(|d| d.value())
                    .map(str::to_string)
            };
            if let (Some(d), Some(c)) = (value(m::DIM_DISTRIBUTION), value(m::DIM_COUNTRY))
                && distribution.is_none_or(|wanted| wanted == d)
                && !pairs.contains(&(d.clone(), c.clone()))
            {
                pairs.push((d, c));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut distributions: Vec<String> = pairs.iter().map(|(d, _)| d.clone()).collect();
    distributions.sort_unstable();
    distributions.dedup();
    let no_data = |metric| PriceError::NoMetrics {
        metric,
        namespace: namespace.to_string(),
        region: region.to_string(),
        detail: distribution.map_or(String::new(), |d| format!(" for distribution {d}")),
        days,
    };
    let domain = match distributions.as_slice() {
        [] => return Err(no_data(m::REQUESTS_BY_COUNTRY)),
        [one] => one.clone(),
        _ => {
            return Err(PriceError::SeveralDistributions {
                namespace: namespace.to_string(),
                distributions,
            });
        }
    };
    let countries: Vec<String> = pairs.into_iter().map(|(_, c)| c).collect();

    let mut queries = vec![
        query(
            "requests".to_string(),
            namespace,
            m::REQUESTS,
            vec![dimension(m::DIM_DISTRIBUTION, &domain)],
        ),
        query(
            "bytes".to_string(),
            namespace,
            m::BYTES_SENT,
            vec![dimension(m::DIM_DISTRIBUTION, &domain)],
        ),
    ];
    for (i, country) in countries.iter().enumerate() {
        queries.push(query(
            format!("c{i}"),
            namespace,
            m::REQUESTS_BY_COUNTRY,
            vec![
                dimension(m::DIM_DISTRIBUTION, &domain),
                dimension(m::DIM_COUNTRY, country),
            ],
        ));
    }
    // Whole minutes, including the current one.
    let end = (now / 60 + 1) * 60;
    let start = end - i64::from(days) * DAY_SECONDS;
    let mut sums = vec![0.0; queries.len()];
    for chunk in queries.chunks(QUERIES_PER_CALL) {
        let mut token = None;
        loop {
            let page = cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(chunk.to_vec()))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:GetMetricData", namespace, e))?;
            for result in page.metric_data_results() {
                let index = match result.id() {
                    Some("requests") => Some(0),
                    Some("bytes") => Some(1),
                    Some(id) => id
                        .strip_prefix('c')
                        .and_then(|n| n.parse::<usize>().ok())
                        .map(|n| n + 2),
                    None => None,
                };
                if let Some(slot) = index.and_then(|i| sums.get_mut(i)) {
                    *slot += result.values().iter().sum::<f64>();
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    let requests = sums.first().copied().unwrap_or_default();
    let bytes = sums.get(1).copied().unwrap_or_default();
    let countries: Vec<(String, f64)> = countries
        .into_iter()
        .zip(sums.iter().skip(2).copied())
        .collect();
    if requests <= 0.0 && countries.iter().all(|(_, n)| *n <= 0.0) {
        return Err(no_data(m::REQUESTS));
    }
    Ok(Observed {
        distribution: domain,
        days,
        requests,
        bytes,
        countries,
    })
}
