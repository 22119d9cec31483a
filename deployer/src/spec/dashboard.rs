//! The CloudWatch dashboard, generated from the metric catalog in the config crate so every
//! widget names a metric the analyser, the evaluator or CloudFront actually publishes.

use cfrp_config::{StackConfig, metrics as m};
use serde_json::{Value, json};

use crate::context::CLOUDFRONT_REGION;

/// The dashboard body for a distribution (`domain` is the analyser's `Distribution`
/// dimension, `id` CloudFront's `DistributionId`).
pub fn body(config: &StackConfig, domain: &str, id: &str) -> Value {
    let ns = config.metrics.namespace.as_str();
    let region = config.region.as_str();
    let stack = |metric: &str, stat: &str| json!([ns, metric, m::DIM_DISTRIBUTION, domain, { "stat": stat }]);
    let mut widgets = vec![
        graph(
            "Requests per minute",
            region,
            vec![stack(m::REQUESTS, "Sum")],
            0,
            0,
        ),
        graph(
            "Error rates (%)",
            region,
            vec![
                stack(m::ERROR_RATE_4XX, "Average"),
                stack(m::ERROR_RATE_5XX, "Average"),
            ],
            12,
            0,
        ),
        graph(
            "Time taken (ms)",
            region,
            vec![
                stack(m::TIME_TAKEN, "p50"),
                stack(m::TIME_TAKEN, "p95"),
                stack(m::TIME_TAKEN, "p99"),
            ],
            0,
            6,
        ),
        graph(
            "Origin latency (ms)",
            region,
            vec![
                stack(m::ORIGIN_FIRST_BYTE_LATENCY, "p95"),
                stack(m::ORIGIN_LAST_BYTE_LATENCY, "p95"),
            ],
            12,
            6,
        ),
        graph(
            "Cache hit ratio (%)",
            region,
            vec![stack(m::CACHE_HIT_RATIO, "Average")],
            0,
            12,
        ),
        graph(
            "Bytes",
            region,
            vec![stack(m::BYTES_SENT, "Sum"), stack(m::BYTES_RECEIVED, "Sum")],
            12,
            12,
        ),
        search(
            "Requests by country (top)",
            region,
            &format!(
                "SEARCH('{{{ns},{},{}}} MetricName=\"{}\" {}=\"{domain}\"', 'Sum', 60)",
                m::DIM_DISTRIBUTION,
                m::DIM_COUNTRY,
                m::REQUESTS_BY_COUNTRY,
                m::DIM_DISTRIBUTION
            ),
            0,
            18,
        ),
        search(
            "Requests by edge location (top)",
            region,
            &format!(
                "SEARCH('{{{ns},{},{}}} MetricName=\"{}\" {}=\"{domain}\"', 'Sum', 60)",
                m::DIM_DISTRIBUTION,
                m::DIM_EDGE_LOCATION,
                m::REQUESTS_BY_EDGE_LOCATION,
                m::DIM_DISTRIBUTION
            ),
            12,
            18,
        ),
        graph(
            "CloudFront: requests and error rates",
            CLOUDFRONT_REGION,
            vec![
                json!([m::CLOUDFRONT_NAMESPACE, "Requests", "DistributionId", id, "Region", "Global", { "stat": "Sum" }]),
                json!([m::CLOUDFRONT_NAMESPACE, "4xxErrorRate", "DistributionId", id, "Region", "Global", { "stat": "Average", "yAxis": "right" }]),
                json!([m::CLOUDFRONT_NAMESPACE, "5xxErrorRate", "DistributionId", id, "Region", "Global", { "stat": "Average", "yAxis": "right" }]),
            ],
            0,
            24,
        ),
    ];
    if config.alarms.enabled {
        let states: Vec<Value> = config
            .alarms
            .rules
            .iter()
            .map(|r| json!([ns, m::RULE_STATE, m::DIM_RULE, r.name, { "stat": "Maximum" }]))
            .collect();
        widgets.push(graph(
            "Rule states (0 OK, 1 ALARM, 2 INSUFFICIENT_DATA)",
            region,
            states,
            12,
            24,
        ));
    }
    json!({ "widgets": widgets })
}

fn graph(title: &str, region: &str, metrics: Vec<Value>, x: u32, y: u32) -> Value {
    json!({
        "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
        "properties": { "title": title, "region": region, "view": "timeSeries", "period": 60, "metrics": metrics }
    })
}

fn search(title: &str, region: &str, expression: &str, x: u32, y: u32) -> Value {
    json!({
        "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
        "properties": {
            "title": title, "region": region, "view": "timeSeries", "period": 60,
            "metrics": [[{ "expression": expression, "id": "top", "label": "" }]]
        }
    })
}

/// The console address of a dashboard.
pub fn console_url(region: &str, name: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={name}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric a widget names is in the catalog the analyser, the evaluator or
    /// CloudFront publishes.
    #[test]
    fn widgets_reference_published_metrics_only() {
        let config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        let dashboard = body(&config, "d1.cloudfront.net", "E1");
        let mut seen = 0;
        for widget in dashboard["widgets"].as_array().into_iter().flatten() {
            for metric in widget["properties"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let Some(namespace) = metric[0].as_str() else {
                    let expression = metric[0]["expression"].as_str().unwrap_or_default();
                    assert!(
                        m::STACK_METRICS
                            .iter()
                            .any(|name| expression.contains(&format!("MetricName=\"{name}\""))),
                        "{expression}"
                    );
                    seen += 1;
                    continue;
                };
                let name = metric[1].as_str().unwrap_or_default();
                if namespace == m::CLOUDFRONT_NAMESPACE {
                    assert!(m::CLOUDFRONT_METRICS.contains(&name), "{name}");
                } else {
                    assert_eq!(namespace, config.metrics.namespace);
                    assert!(m::STACK_METRICS.contains(&name), "{name}");
                }
                seen += 1;
            }
        }
        assert!(seen > 15, "only {seen} metrics on the dashboard");
    }
}
