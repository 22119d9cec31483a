//! Which metrics one evaluation reads, and how the answers become per-rule series. Pure.
//!
//! One GetMetricData request carries every rule's queries: a metric rule is one query, an
//! expression rule one query per metric it names (the expression is computed here, so its
//! semantics do not depend on CloudWatch metric math), and every rule has one more query for
//! its previous `RuleState`, so the function stays stateless.

use cfrp_config::metrics::{self as m, MetricRef};
use cfrp_config::rules::Expression;
use cfrp_config::{EvaluatorSettings, Rule};

use crate::evaluate::{State, expression_series};

/// The query and answer types the deployer's monitor reads CloudWatch with too.
pub use cfrp_metric_data::{Query, Results};

#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    pub queries: Vec<Query>,
    pub start_ms: i64,
    /// The end of the last complete minute: the evaluation time.
    pub end_ms: i64,
}

fn metric_query(
    settings: &EvaluatorSettings,
    id: String,
    name: &str,
    stat: &str,
    period: u32,
) -> Query {
    let (namespace, metric, dimensions) = match m::resolve(name) {
        Some(MetricRef::CloudFront(metric)) => (
            m::CLOUDFRONT_NAMESPACE.to_string(),
            metric.to_string(),
            vec![
                (
                    "DistributionId".to_string(),
                    settings.distribution_id.clone().unwrap_or_default(),
                ),
                ("Region".to_string(), "Global".to_string()),
            ],
        ),
        // The stack's web ACL: its metric name is the WebACL dimension (spec::waf names the
        // ACL and its metric after the stack); `Rule=ALL` is the whole web ACL. No `Region`
        // dimension: WAF adds it for regional web ACLs only. The port reads the namespace in
        // us-east-1, where CLOUDFRONT-scope web ACLs publish.
        Some(MetricRef::Waf { metric, rule }) => (
            m::WAF_NAMESPACE.to_string(),
            metric.to_string(),
            vec![
                (
                    m::DIM_WEB_ACL.to_string(),
                    cfrp_config::naming::Names::new(&settings.stack).web_acl(),
                ),
                (
                    m::DIM_WAF_RULE.to_string(),
                    rule.unwrap_or(m::WAF_ALL_RULES).to_string(),
                ),
            ],
        ),
        _ => {
            let dimensions = match (&settings.distribution_domain, name) {
                (_, m::MALFORMED_RECORDS | m::RULE_STATE) | (None, _) => Vec::new(),
                (Some(domain), _) => vec![(m::DIM_DISTRIBUTION.to_string(), domain.clone())],
            };
            (settings.namespace.clone(), name.to_string(), dimensions)
        }
    };
    Query {
        id,
        namespace,
        metric,
        dimensions,
        stat: stat.to_string(),
        period_seconds: period,
    }
}

/// The queries for evaluating every rule at `now_ms`.
pub fn plan(settings: &EvaluatorSettings, now_ms: i64) -> QueryPlan {
    let end_ms = now_ms - now_ms.rem_euclid(60_000);
    let mut queries = Vec::new();
    let mut span_ms = 5 * 60_000;
    for (i, rule) in settings.rules.iter().enumerate() {
        span_ms =
            span_ms.max(i64::from(rule.period_seconds) * 1000 * i64::from(rule.evaluation_periods));
        if let Some(metric) = &rule.metric {
            queries.push(metric_query(
                settings,
                format!("r{i}"),
                metric,
                &rule.statistic,
                rule.period_seconds,
            ));
        } else if let Some(Ok(expression)) = rule.expression.as_deref().map(Expression::parse) {
            for (j, metric) in expression.metrics().into_iter().enumerate() {
                queries.push(metric_query(
                    settings,
                    format!("r{i}m{j}"),
                    metric,
                    &rule.statistic,
                    rule.period_seconds,
                ));
            }
        }
        let mut state = metric_query(settings, format!("s{i}"), m::RULE_STATE, "Maximum", 60);
        state.dimensions = vec![(m::DIM_RULE.to_string(), rule.name.clone())];
        queries.push(state);
    }
    QueryPlan {
        queries,
        start_ms: end_ms - span_ms,
        end_ms,
    }
}

/// Puts datapoints into the rule's N periods ending at `end_ms`, oldest first.
fn bucket(points: &[(i64, f64)], end_ms: i64, period_ms: i64, periods: usize) -> Vec<Option<f64>> {
    let start = end_ms - period_ms * periods as i64;
    let mut out = vec![None; periods];
    for (ts, value) in points {
        if *ts < start || *ts >= end_ms {
            continue;
        }
        let index = ((ts - start) / period_ms) as usize;
        if let Some(slot) = out.get_mut(index) {
            *slot = Some(*value);
        }
    }
    out
}

/// The series a rule is evaluated on.
pub fn series(rule: &Rule, index: usize, results: &Results, plan: &QueryPlan) -> Vec<Option<f64>> {
    let period_ms = i64::from(rule.period_seconds) * 1000;
    let periods = rule.evaluation_periods as usize;
    let empty = Vec::new();
    if rule.metric.is_some() {
        return bucket(
            results.get(&format!("r{index}")).unwrap_or(&empty),
            plan.end_ms,
            period_ms,
            periods,
        );
    }
    let Some(Ok(expression)) = rule.expression.as_deref().map(Expression::parse) else {
        return vec![None; periods];
    };
    let names = expression.metrics();
    let inputs: Vec<(&str, Vec<Option<f64>>)> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            (
                *name,
                bucket(
                    results.get(&format!("r{index}m{j}")).unwrap_or(&empty),
                    plan.end_ms,
                    period_ms,
                    periods,
                ),
            )
        })
        .collect();
    let borrowed: Vec<(&str, &[Option<f64>])> =
        inputs.iter().map(|(n, s)| (*n, s.as_slice())).collect();
    expression_series(&expression, &borrowed)
}

/// The rule's last published state, if any.
pub fn previous_state(index: usize, results: &Results) -> Option<State> {
    results
        .get(&format!("s{index}"))?
        .iter()
        .max_by_key(|(ts, _)| *ts)
        .and_then(|(_, v)| State::from_metric_value(*v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datapoints_land_in_their_periods() {
        let end = 600_000;
        let points = [(540_000, 5.0), (480_000, 4.0), (0, 1.0), (600_000, 9.0)];
        assert_eq!(
            bucket(&points, end, 60_000, 3),
            vec![None, Some(4.0), Some(5.0)]
        );
    }

    #[test]
    fn waf_rules_query_the_stacks_web_acl_in_its_namespace() {
        let rule = |name: &str, metric: Option<&str>, expression: Option<&str>| Rule {
            name: name.to_string(),
            metric: metric.map(str::to_string),
            expression: expression.map(str::to_string),
            ..cfrp_config::rules::default_rules(1.0, false)[0].clone()
        };
        let settings = EvaluatorSettings {
            stack: "shop".to_string(),
            namespace: "NS".to_string(),
            distribution_id: Some("E1".to_string()),
            distribution_domain: Some("d1.cloudfront.net".to_string()),
            rules: vec![
                rule("Blocked", Some("WAF:BlockedRequests"), None),
                rule("RateLimited", Some("WAF:CountedRequests:rate-limit"), None),
                rule(
                    "Share",
                    None,
                    Some("100 * WAF:BlockedRequests / (WAF:AllowedRequests + Requests)"),
                ),
            ],
            canary: None,
            auto_block: None,
        };
        let plan = plan(&settings, 1_700_000_075_000);
        let query = |id: &str| plan.queries.iter().find(|q| q.id == id).unwrap();
        let acl = |rule: &str| {
            vec![
                ("WebACL".to_string(), "cfrp-shop-web-acl".to_string()),
                ("Rule".to_string(), rule.to_string()),
            ]
        };
        assert_eq!(query("r0").namespace, "AWS/WAFV2");
        assert_eq!(query("r0").metric, "BlockedRequests");
        assert_eq!(query("r0").dimensions, acl("ALL"));
        assert_eq!(query("r1").metric, "CountedRequests");
        assert_eq!(query("r1").dimensions, acl("rate-limit"));
        assert_eq!(query("r2m0").namespace, "AWS/WAFV2");
        assert_eq!(query("r2m1").metric, "AllowedRequests");
        // The stack's own metric of the same expression stays in the stack's namespace.
        assert_eq!(query("r2m2").namespace, "NS");
        // Rule states are the evaluator's own, in the stack's namespace.
        assert_eq!(query("s0").namespace, "NS");
        // Exactly the WAF queries are those read in us-east-1.
        let global: Vec<&str> = plan
            .queries
            .iter()
            .filter(|q| cfrp_metric_data::only_in_global_region(&q.namespace))
            .map(|q| q.id.as_str())
            .collect();
        assert_eq!(global, ["r0", "r1", "r2m0", "r2m1"]);
    }

    #[test]
    fn plans_one_query_per_metric_and_one_per_state() {
        let settings = EvaluatorSettings {
            canary: None,
            auto_block: None,
            stack: "s".to_string(),
            namespace: "NS".to_string(),
            distribution_id: Some("E1".to_string()),
            distribution_domain: Some("d1.cloudfront.net".to_string()),
            rules: cfrp_config::rules::default_rules(1.0, true),
        };
        let plan = plan(&settings, 1_700_000_075_000);
        assert_eq!(plan.end_ms, 1_700_000_040_000);
        // 6 rules: 4 metric rules, LowSuccessRate over 2 metrics, ThroughputDegradation over
        // 1 metric, and one state query per rule.
        assert_eq!(plan.queries.len(), 4 + 2 + 1 + 6);
        let ids: Vec<&str> = plan.queries.iter().map(|q| q.id.as_str()).collect();
        assert!(ids.contains(&"r1m0") && ids.contains(&"r1m1") && ids.contains(&"s3"));
        assert!(
            plan.queries.iter().all(|q| q
                .id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase()))
        );
        let latency = plan.queries.iter().find(|q| q.id == "r0").unwrap();
        assert_eq!(latency.stat, "p95");
        assert_eq!(
            latency.dimensions,
            vec![("Distribution".to_string(), "d1.cloudfront.net".to_string())]
        );
    }
}
