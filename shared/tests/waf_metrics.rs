//! Alarm rules on the WAF metrics of the stack's web ACL (`WAF:...`): accepted with `[waf]`,
//! refused at the rule's line, with the fix, without it or for a rule the web ACL lacks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::metrics::{self as m, MetricRef};
use cfrp_config::{ConfigError, StackConfig};

const BASE: &str = "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n";

fn problems(text: &str) -> Vec<(String, usize, String)> {
    match StackConfig::parse(text, "proxy.toml") {
        Err(ConfigError::Invalid(report)) => report
            .problems
            .into_iter()
            .map(|p| (p.field, p.location.map_or(0, |l| l.line), p.message))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

const RULES: &str = r#"
[[alarms.rules]]
name = "ManyBlocked"
metric = "WAF:BlockedRequests"
statistic = "Sum"
threshold = 100

[[alarms.rules]]
name = "RateLimited"
metric = "WAF:BlockedRequests:rate-limit"
statistic = "Sum"
threshold = 10

[[alarms.rules]]
name = "BlockedShare"
expression = "100 * WAF:BlockedRequests / (WAF:AllowedRequests + WAF:BlockedRequests)"
statistic = "Sum"
threshold = 20
"#;

#[test]
fn waf_rules_are_accepted_with_a_waf_section() {
    let text = format!("{BASE}[waf]\n{RULES}");
    let config = StackConfig::parse(&text, "proxy.toml").unwrap_or_else(|e| panic!("{e}"));
    let rule = |name: &str| {
        config
            .alarms
            .rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name}"))
    };
    assert_eq!(
        rule("RateLimited").metric.as_deref().and_then(m::resolve),
        Some(MetricRef::Waf {
            metric: "BlockedRequests",
            rule: Some("rate-limit")
        })
    );
    assert!(rule("BlockedShare").expression.is_some());
    // The settings the evaluator re-validates at init accept them too.
    let settings = config.evaluator_settings(Some("E1"), Some("d1.cloudfront.net"));
    use cfrp_config::FunctionSettings;
    let value = settings.to_env_value().unwrap();
    assert!(cfrp_config::EvaluatorSettings::from_env_value(&value).is_ok());
}

#[test]
fn a_waf_rule_without_waf_is_refused_at_its_line_with_the_fix() {
    let text = format!("{BASE}{RULES}");
    let found = problems(&text);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let metric = found
        .iter()
        .find(|(_, line, _)| *line == line_of("metric = \"WAF:BlockedRequests\""))
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(metric.0, "alarms.rules[0].metric");
    assert!(metric.2.contains("no [waf]"), "{}", metric.2);
    assert!(metric.2.contains("add a [waf] table"), "{}", metric.2);
    let expression = found
        .iter()
        .find(|(field, _, _)| field == "alarms.rules[2].expression")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(expression.1, line_of("expression = "));
    assert_eq!(
        found.len(),
        4,
        "two metrics of the expression, two rules: {found:#?}"
    );
}

#[test]
fn a_rule_the_web_acl_lacks_is_named_with_the_ones_it_has() {
    // No rate rule (0 turns it off), so `rate-limit` is not a rule of this web ACL.
    let text = format!(
        "{BASE}[waf]\n[waf.rate_limit]\nrequests_per_5_minutes = 0\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesSQLiRuleSet\"\n{RULES}"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (field, line, message) = &found[0];
    assert_eq!(field, "alarms.rules[1].metric");
    assert_eq!(
        *line,
        text.lines()
            .position(|l| l.contains("rate-limit\""))
            .unwrap()
            + 1
    );
    assert!(
        message.contains("no rule \"rate-limit\"")
            && message.contains("allow-list, block-list, AWSManagedRulesSQLiRuleSet"),
        "{message}"
    );
}

#[test]
fn an_unknown_waf_metric_lists_the_waf_metrics() {
    let text = format!(
        "{BASE}[waf]\n[[alarms.rules]]\nname = \"X\"\nmetric = \"WAF:PassedRequests\"\nstatistic = \"Sum\"\nthreshold = 1\n"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .2
            .contains("WAF:AllowedRequests|BlockedRequests|CountedRequests"),
        "{}",
        found[0].2
    );
}
