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
    if let Some(waf) = &config.waf {
        widgets.extend(waf_widgets(
            &config.names().web_acl(),
            &m::waf_rule_names(waf),
        ));
    }
    json!({ "widgets": widgets })
}

/// The web ACL's widgets (us-east-1, where CLOUDFRONT-scope web ACLs publish; dimensions
/// `WebACL` and `Rule`, no `Region`): its totals, and what each rule blocked and counted.
fn waf_widgets(web_acl: &str, rules: &[String]) -> Vec<Value> {
    let metric = |name: &str, rule: &str, label: &str| json!([m::WAF_NAMESPACE, name, m::DIM_WEB_ACL, web_acl, m::DIM_WAF_RULE, rule, { "stat": "Sum", "label": label }]);
    let per_rule =
        |name: &str| -> Vec<Value> { rules.iter().map(|rule| metric(name, rule, rule)).collect() };
    vec![
        graph(
            "WAF: allowed, blocked and counted requests per minute",
            CLOUDFRONT_REGION,
            vec![
                metric(m::WAF_ALLOWED, m::WAF_ALL_RULES, "allowed"),
                metric(m::WAF_BLOCKED, m::WAF_ALL_RULES, "blocked"),
                metric(m::WAF_COUNTED, m::WAF_ALL_RULES, "counted"),
            ],
            0,
            30,
        ),
        graph(
            "WAF: blocked requests by rule",
            CLOUDFRONT_REGION,
            per_rule(m::WAF_BLOCKED),
            12,
            30,
        ),
        graph(
            "WAF: counted requests by rule (count mode)",
            CLOUDFRONT_REGION,
            per_rule(m::WAF_COUNTED),
            0,
            36,
        ),
    ]
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
                assert_eq!(
                    widget["properties"]["region"] == CLOUDFRONT_REGION,
                    namespace == m::CLOUDFRONT_NAMESPACE || namespace == m::WAF_NAMESPACE,
                    "{widget}"
                );
                if namespace == m::WAF_NAMESPACE {
                    assert!(m::WAF_METRICS.contains(&name), "{name}");
                    assert_eq!(metric[2], m::DIM_WEB_ACL);
                    assert_eq!(metric[4], m::DIM_WAF_RULE);
                } else if namespace == m::CLOUDFRONT_NAMESPACE {
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

    #[test]
    fn with_waf_the_web_acl_gets_its_widgets_in_us_east_1() {
        let plain = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        let text = body(&plain, "d1.cloudfront.net", "E1").to_string();
        assert!(!text.contains("AWS/WAFV2"), "{text}");
        let config = StackConfig::parse(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[waf]\n[waf.rate_limit]\nrequests_per_5_minutes = 0\n",
            "p.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let dashboard = body(&config, "d1.cloudfront.net", "E1");
        let waf: Vec<&Value> = dashboard["widgets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w.to_string().contains("AWS/WAFV2"))
            .collect();
        assert_eq!(waf.len(), 3);
        let totals = &waf[0]["properties"];
        assert_eq!(totals["region"], "us-east-1");
        assert_eq!(
            totals["metrics"][1],
            json!(["AWS/WAFV2", "BlockedRequests", "WebACL", "cfrp-shop-web-acl", "Rule", "ALL", { "stat": "Sum", "label": "blocked" }])
        );
        // One line per rule of the web ACL (no rate rule here), by its metric name.
        let rules: Vec<&str> = waf[1]["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m[5].as_str())
            .collect();
        assert_eq!(
            rules,
            [
                "allow-list",
                "block-list",
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesAmazonIpReputationList"
            ]
        );
    }

    /// The rule names the metric catalog gives the web ACL's per-rule metrics are the metric
    /// names the web ACL spec gives its rules.
    #[test]
    fn the_catalog_names_the_web_acl_rules_as_the_spec_does() {
        for waf in [
            "[waf]\n",
            "[waf]\n[waf.rate_limit]\nrequests_per_5_minutes = 0\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesSQLiRuleSet\"\n",
        ] {
            let config = StackConfig::parse(
                &format!("name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{waf}"),
                "p.toml",
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let Some(section) = &config.waf else {
                panic!("no [waf]")
            };
            let acl = crate::spec::waf::acl(
                &config,
                section,
                "123456789012",
                &std::collections::BTreeMap::new(),
            );
            let spec: Vec<&str> = acl.rules.iter().map(|r| r.metric_name.as_str()).collect();
            assert_eq!(m::waf_rule_names(section), spec);
            assert_eq!(acl.metric_name, config.names().web_acl());
        }
    }
}
