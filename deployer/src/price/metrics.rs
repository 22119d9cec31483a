//! `--from-metrics`: the analyser's request, byte and per-country counts from CloudWatch.
//!
//! The analyser publishes `Requests` and `BytesSent` with the dimension `Distribution`, and
//! `RequestsByCountry` with `Distribution` and `Country` (its top N countries per minute,
//! the rest as `Other`). ListMetrics finds the countries; one GetMetricData per 500 queries
//! sums each over the window with a one-day period.

use aws_sdk_cloudwatch::Client;
use cfrp_config::metrics as m;
use cfrp_metric_data::{Query, dimension_value};

use super::PriceError;
use crate::error::DeployError;

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

/// The daily sum of `metric` with `dimensions`.
fn query(id: String, namespace: &str, metric: &str, dimensions: &[(&str, &str)]) -> Query {
    Query {
        id,
        namespace: namespace.to_string(),
        metric: metric.to_string(),
        dimensions: dimensions
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        stat: "Sum".to_string(),
        period_seconds: DAY_SECONDS as u32,
    }
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
    let found = cfrp_metric_data::list(cloudwatch, namespace, m::REQUESTS_BY_COUNTRY, None, false)
        .await
        .map_err(|e| DeployError::aws("cloudwatch:ListMetrics", namespace, e))?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for metric in &found {
        if let (Some(d), Some(c)) = (
            dimension_value(metric, m::DIM_DISTRIBUTION),
            dimension_value(metric, m::DIM_COUNTRY),
        ) && distribution.is_none_or(|wanted| wanted == d)
            && !pairs.iter().any(|(pd, pc)| pd == d && pc == c)
        {
            pairs.push((d.to_string(), c.to_string()));
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

    let by_distribution = [(m::DIM_DISTRIBUTION, domain.as_str())];
    let mut queries = vec![
        query(
            "requests".to_string(),
            namespace,
            m::REQUESTS,
            &by_distribution,
        ),
        query(
            "bytes".to_string(),
            namespace,
            m::BYTES_SENT,
            &by_distribution,
        ),
    ];
    for (i, country) in countries.iter().enumerate() {
        queries.push(query(
            format!("c{i}"),
            namespace,
            m::REQUESTS_BY_COUNTRY,
            &[
                (m::DIM_DISTRIBUTION, domain.as_str()),
                (m::DIM_COUNTRY, country),
            ],
        ));
    }
    // Whole minutes, including the current one.
    let end = (now / 60 + 1) * 60;
    let start = end - i64::from(days) * DAY_SECONDS;
    let results = cfrp_metric_data::fetch(cloudwatch, &queries, start * 1000, end * 1000)
        .await
        .map_err(|e| DeployError::aws("cloudwatch:GetMetricData", namespace, e))?;
    let sums: Vec<f64> = queries
        .iter()
        .map(|q| {
            results
                .get(&q.id)
                .map_or(0.0, |points| points.iter().map(|(_, v)| v).sum())
        })
        .collect();
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
