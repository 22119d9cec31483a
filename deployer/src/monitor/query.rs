//! Which metrics one monitor refresh reads. Pure: built from the config, the metric catalog
//! and the distribution, never from AWS.
//!
//! Every query has a one-minute period over the window (whole minutes, the current one
//! included), so one answer gives both the latest value and the sparkline. The analyser's
//! counters are read as `Sum` and turned into rates and ratios here, which stays exact however
//! many analyser invocations published into a minute; latencies are percentiles CloudWatch
//! computes from the analyser's value/count datums. CloudFront's own metrics are read with the
//! one statistic CloudFront documents for each, in us-east-1 with `Region=Global`; the web
//! ACL's `AWS/WAFV2` counts (with `[waf]`) as `Sum`, in us-east-1 too.

use cfrp_config::StackConfig;
use cfrp_config::metrics as m;

/// Every query's period: the analyser publishes per minute, CloudFront's standard metrics
/// are per minute too.
pub const PERIOD_SECONDS: u32 = 60;

/// The distribution the monitor watches: the analyser's metrics carry its domain name,
/// CloudFront's its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub domain: String,
}

/// One GetMetricData query (the alarm evaluator's type: both read CloudWatch the same way);
/// the snapshot finds answers by its id. Every monitor query has [`PERIOD_SECONDS`].
pub use cfrp_metric_data::Query;

/// Dimension values found by ListMetrics for the per-country and per-POP breakdowns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdowns {
    pub countries: Vec<String>,
    pub edge_locations: Vec<String>,
}

/// What one refresh asks for: queries in the stack's region, queries in us-east-1, and the
/// time range shared by both.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub regional: Vec<Query>,
    pub cloudfront: Vec<Query>,
    /// The web ACL's `AWS/WAFV2` metrics (us-east-1); empty without `[waf]`.
    pub waf: Vec<Query>,
    /// The web ACL's metric name (its `WebACL` dimension) and its rules' metric names, in
    /// evaluation order; `None` without `[waf]`.
    pub web_acl: Option<(String, Vec<String>)>,
    /// Start of the first minute of the window (ms since the epoch).
    pub start_ms: i64,
    /// End of the current minute: the window includes the minute still filling.
    pub end_ms: i64,
    /// Minutes in the window (`(end - start) / 60 s`).
    pub minutes: usize,
}

/// Query ids of the analyser's metrics.
pub mod ids {
    pub const REQUESTS: &str = "requests";
    pub const BYTES_SENT: &str = "bytes";
    pub const STATUS_4XX: &str = "status4xx";
    pub const STATUS_5XX: &str = "status5xx";
    pub const CACHE_HITS: &str = "hits";
    pub const P50: &str = "p50";
    pub const P95: &str = "p95";
    pub const P99: &str = "p99";
    pub const ORIGIN_P95: &str = "origin95";
    /// Prefixes followed by the index of the country / POP / rule.
    pub const COUNTRY: &str = "country";
    pub const EDGE: &str = "pop";
    pub const RULE: &str = "rule";
    /// CloudFront's metrics.
    pub const CF_REQUESTS: &str = "cfrequests";
    pub const CF_BYTES: &str = "cfbytes";
    pub const CF_4XX: &str = "cf4xx";
    pub const CF_5XX: &str = "cf5xx";
    pub const CF_HIT_RATE: &str = "cfhitrate";
    pub const CF_ORIGIN_LATENCY: &str = "cforigin";
    /// CloudFront's error rate of one status code (additional metrics): `cf401` …
    pub const CF_STATUS: &str = "cf";
    /// The web ACL's totals (`Rule=ALL`).
    pub const WAF_ALLOWED: &str = "wafallowed";
    pub const WAF_BLOCKED: &str = "wafblocked";
    pub const WAF_COUNTED: &str = "wafcounted";
    /// Prefixes followed by the index of the web ACL's rule: blocked and counted by it.
    pub const WAF_RULE_BLOCKED: &str = "wafruleblocked";
    pub const WAF_RULE_COUNTED: &str = "wafrulecounted";
}

/// The web ACL's queries: its totals (`Rule=ALL`) and, per rule, what it blocked and what it
/// counted (a rule in count mode blocks nothing), all `Sum` per minute, dimensions `WebACL`
/// and `Rule` as WAF publishes them for a CLOUDFRONT-scope web ACL (no `Region`).
pub fn waf_queries(web_acl: &str, rules: &[String]) -> Vec<Query> {
    let query = |id: String, metric: &str, rule: &str| Query {
        id,
        namespace: m::WAF_NAMESPACE.to_string(),
        metric: metric.to_string(),
        dimensions: pairs(&[(m::DIM_WEB_ACL, web_acl), (m::DIM_WAF_RULE, rule)]),
        stat: "Sum".to_string(),
        period_seconds: PERIOD_SECONDS,
    };
    let mut queries = vec![
        query(ids::WAF_ALLOWED.into(), m::WAF_ALLOWED, m::WAF_ALL_RULES),
        query(ids::WAF_BLOCKED.into(), m::WAF_BLOCKED, m::WAF_ALL_RULES),
        query(ids::WAF_COUNTED.into(), m::WAF_COUNTED, m::WAF_ALL_RULES),
    ];
    for (i, rule) in rules.iter().enumerate() {
        queries.push(query(
            format!("{}{i}", ids::WAF_RULE_BLOCKED),
            m::WAF_BLOCKED,
            rule,
        ));
        queries.push(query(
            format!("{}{i}", ids::WAF_RULE_COUNTED),
            m::WAF_COUNTED,
            rule,
        ));
    }
    queries
}

/// The status codes CloudFront's additional metrics give an error rate of
/// (`401ErrorRate` … `504ErrorRate`, statistic Average).
pub const CLOUDFRONT_STATUS_RATES: [u16; 6] = [401, 403, 404, 502, 503, 504];

/// `(query id, CloudFront metric, its one documented statistic)`. CacheHitRate and
/// OriginLatency exist only when the distribution's additional metrics are on.
pub const CLOUDFRONT_QUERIES: &[(&str, &str, &str)] = &[
    (ids::CF_REQUESTS, "Requests", "Sum"),
    (ids::CF_BYTES, "BytesDownloaded", "Sum"),
    (ids::CF_4XX, "4xxErrorRate", "Average"),
    (ids::CF_5XX, "5xxErrorRate", "Average"),
    (ids::CF_HIT_RATE, "CacheHitRate", "Average"),
    (ids::CF_ORIGIN_LATENCY, "OriginLatency", "p95"),
];

fn pairs(dimensions: &[(&str, &str)]) -> Vec<(String, String)> {
    dimensions
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The time range for a window of `window_minutes` at `now_ms`: whole minutes, the current
/// one last.
pub fn range(now_ms: i64, window_minutes: u32) -> (i64, i64) {
    let minute = i64::from(PERIOD_SECONDS) * 1000;
    let end_ms = now_ms - now_ms.rem_euclid(minute) + minute;
    (end_ms - i64::from(window_minutes.max(1)) * minute, end_ms)
}

/// The queries of one refresh.
pub fn plan(
    config: &StackConfig,
    target: &Target,
    breakdowns: &Breakdowns,
    window_minutes: u32,
    now_ms: i64,
) -> Plan {
    let ns = config.metrics.namespace.as_str();
    let by_distribution = |id: &str, metric: &str, stat: &str, extra: &[(&str, &str)]| {
        let mut dimensions = vec![(m::DIM_DISTRIBUTION, target.domain.as_str())];
        dimensions.extend_from_slice(extra);
        Query {
            id: id.to_string(),
            namespace: ns.to_string(),
            metric: metric.to_string(),
            dimensions: pairs(&dimensions),
            stat: stat.to_string(),
            period_seconds: PERIOD_SECONDS,
        }
    };
    let mut regional = vec![
        by_distribution(ids::REQUESTS, m::REQUESTS, "Sum", &[]),
        by_distribution(ids::BYTES_SENT, m::BYTES_SENT, "Sum", &[]),
        by_distribution(ids::STATUS_4XX, m::STATUS_4XX, "Sum", &[]),
        by_distribution(ids::STATUS_5XX, m::STATUS_5XX, "Sum", &[]),
        by_distribution(ids::CACHE_HITS, m::CACHE_HITS, "Sum", &[]),
        by_distribution(ids::P50, m::TIME_TAKEN, "p50", &[]),
        by_distribution(ids::P95, m::TIME_TAKEN, "p95", &[]),
        by_distribution(ids::P99, m::TIME_TAKEN, "p99", &[]),
        by_distribution(ids::ORIGIN_P95, m::ORIGIN_FIRST_BYTE_LATENCY, "p95", &[]),
    ];
    for (i, country) in breakdowns.countries.iter().enumerate() {
        regional.push(by_distribution(
            &format!("{}{i}", ids::COUNTRY),
            m::REQUESTS_BY_COUNTRY,
            "Sum",
            &[(m::DIM_COUNTRY, country)],
        ));
    }
    for (i, pop) in breakdowns.edge_locations.iter().enumerate() {
        regional.push(by_distribution(
            &format!("{}{i}", ids::EDGE),
            m::REQUESTS_BY_EDGE_LOCATION,
            "Sum",
            &[(m::DIM_EDGE_LOCATION, pop)],
        ));
    }
    if config.alarms.enabled {
        // The evaluator publishes RuleState with the Rule dimension only.
        for (i, rule) in config.alarms.rules.iter().enumerate() {
            regional.push(Query {
                id: format!("{}{i}", ids::RULE),
                namespace: ns.to_string(),
                metric: m::RULE_STATE.to_string(),
                dimensions: pairs(&[(m::DIM_RULE, &rule.name)]),
                stat: "Maximum".to_string(),
                period_seconds: PERIOD_SECONDS,
            });
        }
    }
    let status_rates: Vec<(String, String)> = CLOUDFRONT_STATUS_RATES
        .iter()
        .map(|code| {
            (
                format!("{}{code}", ids::CF_STATUS),
                format!("{code}ErrorRate"),
            )
        })
        .collect();
    let cloudfront = CLOUDFRONT_QUERIES
        .iter()
        .map(|(id, metric, stat)| ((*id).to_string(), (*metric).to_string(), *stat))
        .chain(
            status_rates
                .into_iter()
                .map(|(id, metric)| (id, metric, "Average")),
        )
        .map(|(id, metric, stat)| Query {
            id,
            namespace: m::CLOUDFRONT_NAMESPACE.to_string(),
            metric,
            dimensions: pairs(&[("DistributionId", &target.id), ("Region", "Global")]),
            stat: stat.to_string(),
            period_seconds: PERIOD_SECONDS,
        })
        .collect();
    let web_acl = config
        .waf
        .as_ref()
        .map(|waf| (config.names().web_acl(), m::waf_rule_names(waf)));
    let waf = web_acl
        .as_ref()
        .map(|(acl, rules)| waf_queries(acl, rules))
        .unwrap_or_default();
    let (start_ms, end_ms) = range(now_ms, window_minutes);
    Plan {
        regional,
        cloudfront,
        waf,
        web_acl,
        start_ms,
        end_ms,
        minutes: window_minutes.max(1) as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            id: "E1".to_string(),
            domain: "d1.cloudfront.net".to_string(),
        }
    }

    #[test]
    fn windows_are_whole_minutes_ending_after_the_current_one() {
        assert_eq!(
            range(1_700_000_075_000, 15),
            (1_699_999_200_000, 1_700_000_100_000)
        );
        assert_eq!(
            range(1_700_000_040_000, 1),
            (1_700_000_040_000, 1_700_000_100_000)
        );
    }

    #[test]
    fn queries_name_catalog_metrics_with_the_right_dimensions() {
        let config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        let breakdowns = Breakdowns {
            countries: vec!["US".to_string(), "DE".to_string()],
            edge_locations: vec!["FRA56-P1".to_string()],
        };
        let plan = plan(&config, &target(), &breakdowns, 15, 1_700_000_075_000);
        assert_eq!(plan.minutes, 15);
        for q in &plan.regional {
            assert!(m::STACK_METRICS.contains(&q.metric.as_str()), "{q:?}");
            assert_eq!(q.namespace, config.metrics.namespace);
            assert!(q.id.starts_with(|c: char| c.is_ascii_lowercase()), "{q:?}");
            assert!(m::is_statistic(&q.stat), "{q:?}");
            if q.metric == m::RULE_STATE {
                assert_eq!(q.dimensions.len(), 1);
                assert_eq!(q.dimensions[0].0, m::DIM_RULE);
            } else {
                assert_eq!(
                    q.dimensions[0],
                    (
                        m::DIM_DISTRIBUTION.to_string(),
                        "d1.cloudfront.net".to_string()
                    )
                );
            }
        }
        let country = plan.regional.iter().find(|q| q.id == "country1").unwrap();
        assert_eq!(
            country.dimensions[1],
            ("Country".to_string(), "DE".to_string())
        );
        assert!(plan.regional.iter().any(|q| q.id == "pop0"));
        let rules = plan
            .regional
            .iter()
            .filter(|q| q.metric == m::RULE_STATE)
            .count();
        assert_eq!(rules, config.alarms.rules.len());
        for q in &plan.cloudfront {
            assert!(m::CLOUDFRONT_METRICS.contains(&q.metric.as_str()), "{q:?}");
            assert_eq!(q.namespace, m::CLOUDFRONT_NAMESPACE);
            assert_eq!(
                q.dimensions,
                vec![
                    ("DistributionId".to_string(), "E1".to_string()),
                    ("Region".to_string(), "Global".to_string())
                ]
            );
        }
        let mut ids: Vec<&str> = plan
            .regional
            .iter()
            .chain(&plan.cloudfront)
            .map(|q| q.id.as_str())
            .collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "query ids are unique");
    }

    #[test]
    fn the_web_acl_is_read_only_with_waf_by_its_totals_and_each_rule() {
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        let none = plan(&config, &target(), &Breakdowns::default(), 5, 0);
        assert!(none.waf.is_empty() && none.web_acl.is_none());
        config = StackConfig::parse(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[waf]\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesSQLiRuleSet\"\n",
            "p.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let plan = plan(&config, &target(), &Breakdowns::default(), 5, 0);
        let (acl, rules) = plan.web_acl.clone().unwrap();
        assert_eq!(acl, "cfrp-shop-web-acl");
        assert_eq!(
            rules,
            [
                "allow-list",
                "block-list",
                "rate-limit",
                "AWSManagedRulesSQLiRuleSet"
            ]
        );
        // 3 totals, then blocked and counted per rule.
        assert_eq!(plan.waf.len(), 3 + 2 * 4);
        for q in &plan.waf {
            assert_eq!(q.namespace, "AWS/WAFV2");
            assert_eq!(q.stat, "Sum");
            assert!(m::WAF_METRICS.contains(&q.metric.as_str()), "{q:?}");
            assert_eq!(
                q.dimensions[0],
                ("WebACL".to_string(), "cfrp-shop-web-acl".to_string())
            );
            assert_eq!(q.dimensions.len(), 2, "no Region dimension: {q:?}");
        }
        let blocked = plan.waf.iter().find(|q| q.id == "wafblocked").unwrap();
        assert_eq!(
            blocked.dimensions[1],
            ("Rule".to_string(), "ALL".to_string())
        );
        let rate = plan.waf.iter().find(|q| q.id == "wafruleblocked2").unwrap();
        assert_eq!(rate.metric, "BlockedRequests");
        assert_eq!(rate.dimensions[1].1, "rate-limit");
    }

    #[test]
    fn no_rule_queries_when_alarms_are_off() {
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        config.alarms.enabled = false;
        let plan = plan(&config, &target(), &Breakdowns::default(), 5, 0);
        assert!(plan.regional.iter().all(|q| q.metric != m::RULE_STATE));
    }
}
