//! The canary comparison the deployer shows (`promote`, `status`, `monitor`): the primary
//! against the staging distribution over the last `evaluation_minutes` complete minutes,
//! computed from the analyser's metrics with the evaluator's own code
//! ([`cfrp_config::canary::evaluate`]), beside the canary rule states the evaluator
//! published. `promote` refuses on the published states: they are what the alarms see.

use cfrp_config::StackConfig;
use cfrp_config::canary::{self, CanaryState, Side, Totals};
use cfrp_config::metrics as m;
use serde::Serialize;

use super::query::Query;
use super::snapshot::{Results, per_minute, state_name};
use crate::error::DeployError;

const MINUTE_MS: i64 = 60_000;
/// A published state older than this is stale (the evaluator stopped, or compared an earlier
/// staging distribution) and shown as none.
const STATE_FRESH_MINUTES: i64 = 10;

/// One canary rule: the state the evaluator published and the comparison computed now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryRule {
    pub rule: &'static str,
    /// The evaluator's latest published state in the last 10 minutes; null when none.
    pub state: Option<&'static str>,
    /// The same rule computed now from the analyser's metrics.
    pub computed: &'static str,
    /// The computed comparison in words (latest counted minute, the condition).
    pub detail: String,
}

/// The canary comparison: one value for text and JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub primary_domain: String,
    pub staging_domain: String,
    pub window_minutes: u32,
    pub primary: Totals,
    pub staging: Totals,
    pub rules: Vec<CanaryRule>,
}

/// The queries: each side's inputs (`cp{j}`, `cs{j}`) and each canary rule's state (`cr{k}`).
pub fn queries(config: &StackConfig, primary_domain: &str, staging_domain: &str) -> Vec<Query> {
    let ns = &config.metrics.namespace;
    let query = |id: String, metric: &str, stat: &str, dimension: (&str, &str)| Query {
        id,
        namespace: ns.clone(),
        metric: metric.to_string(),
        dimensions: vec![(dimension.0.to_string(), dimension.1.to_string())],
        stat: stat.to_string(),
        period_seconds: 60,
    };
    let mut out = Vec::new();
    for (j, (metric, stat)) in canary::INPUTS.iter().enumerate() {
        out.push(query(
            format!("cp{j}"),
            metric,
            stat,
            (m::DIM_DISTRIBUTION, primary_domain),
        ));
        out.push(query(
            format!("cs{j}"),
            metric,
            stat,
            (m::DIM_DISTRIBUTION, staging_domain),
        ));
    }
    for (k, rule) in canary::RULES.iter().enumerate() {
        out.push(query(
            format!("cr{k}"),
            m::RULE_STATE,
            "Maximum",
            (m::DIM_RULE, rule),
        ));
    }
    out
}

/// The window `[start, end)`: the last `evaluation_minutes` complete minutes before `now_ms`,
/// and at least the freshness span for the states.
pub fn range(config: &StackConfig, now_ms: i64) -> (i64, i64) {
    let end = now_ms - now_ms.rem_euclid(MINUTE_MS);
    let minutes = i64::from(config.staging.canary.evaluation_minutes).max(STATE_FRESH_MINUTES);
    (end - minutes * MINUTE_MS, end)
}

fn side(results: &Results, prefix: &str, start_ms: i64, minutes: usize) -> Side {
    let empty = Vec::new();
    let series = |j: usize| {
        per_minute(
            results.get(&format!("{prefix}{j}")).unwrap_or(&empty),
            start_ms,
            minutes,
        )
    };
    Side::from_inputs([series(0), series(1), series(2), series(3)])
}

/// The comparison from the answers to [`queries`] over [`range`]`(config, now_ms)`.
pub fn build(
    config: &StackConfig,
    primary_domain: &str,
    staging_domain: &str,
    results: &Results,
    now_ms: i64,
) -> Comparison {
    let (_, end) = range(config, now_ms);
    let thresholds = &config.staging.canary;
    let minutes = thresholds.evaluation_minutes as usize;
    let start = end - thresholds.evaluation_minutes as i64 * MINUTE_MS;
    let primary = side(results, "cp", start, minutes);
    let staging = side(results, "cs", start, minutes);
    let fresh_from = end - STATE_FRESH_MINUTES * MINUTE_MS;
    let rules = canary::evaluate(thresholds, &primary, &staging)
        .into_iter()
        .enumerate()
        .map(|(k, verdict)| CanaryRule {
            rule: verdict.rule,
            // The current minute's state counts too: the evaluator publishes at the end of
            // the minute it evaluated.
            state: results
                .get(&format!("cr{k}"))
                .and_then(|points| {
                    points
                        .iter()
                        .filter(|(ts, _)| *ts >= fresh_from)
                        .max_by_key(|(ts, _)| *ts)
                })
                .and_then(|(_, v)| state_name(*v)),
            computed: verdict.state.as_str(),
            detail: verdict.describe(),
        })
        .collect();
    Comparison {
        primary_domain: primary_domain.to_string(),
        staging_domain: staging_domain.to_string(),
        window_minutes: thresholds.evaluation_minutes,
        primary: primary.totals(),
        staging: staging.totals(),
        rules,
    }
}

/// Reads the comparison from CloudWatch (the stack's region: the analyser's metrics and the
/// evaluator's states are both there).
pub async fn fetch(
    config: &StackConfig,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    primary_domain: &str,
    staging_domain: &str,
    now_ms: i64,
) -> Result<Comparison, DeployError> {
    let (start, end) = range(config, now_ms);
    // The current minute too, for a state published at its start.
    let results = super::fetch::metric_data(
        cloudwatch,
        &queries(config, primary_domain, staging_domain),
        start,
        end + MINUTE_MS,
    )
    .await?;
    Ok(build(
        config,
        primary_domain,
        staging_domain,
        &results,
        now_ms,
    ))
}

/// Why `promote` must not go ahead: every canary rule the evaluator has in ALARM, and every
/// one it has published nothing for lately while the same rule computed now from the
/// analyser's metrics is in ALARM (an evaluator that fails or has not run yet must not let a
/// breach through), with its numbers. None when no rule is in ALARM.
pub fn refusal(comparison: &Comparison) -> Option<String> {
    let alarm = CanaryState::Alarm.as_str();
    let alarms: Vec<String> = comparison
        .rules
        .iter()
        .filter_map(|r| match r.state {
            Some(state) if state == alarm => Some(format!("{} is in ALARM ({})", r.rule, r.detail)),
            None if r.computed == alarm => Some(format!(
                "{} has no state from the evaluator in the last 10 minutes and computed now is ALARM ({})",
                r.rule, r.detail
            )),
            _ => None,
        })
        .collect();
    (!alarms.is_empty()).then(|| {
        format!(
            "{}; staging {} has served worse than primary {} over the last {} minutes. Fix the change and `deployer stage` again, `deployer rollback`, or promote anyway with --force",
            alarms.join("; "),
            comparison.staging_domain,
            comparison.primary_domain,
            comparison.window_minutes
        )
    })
}

/// Canary rules without a verdict (INSUFFICIENT_DATA or none published): reported by
/// `promote`, which goes ahead.
pub fn undecided(comparison: &Comparison) -> Vec<String> {
    comparison
        .rules
        .iter()
        .filter(|r| {
            r.state
                .is_none_or(|s| s == CanaryState::InsufficientData.as_str())
        })
        .map(|r| match r.state {
            Some(state) => format!(
                "{} is {state}: too little staging traffic to judge (computed now: {})",
                r.rule, r.detail
            ),
            None => format!(
                "{} has no state from the evaluator in the last 10 minutes (not run yet since `stage`, or failing: see its logs); computed now: {} ({})",
                r.rule, r.computed, r.detail
            ),
        })
        .collect()
}

/// The comparison as text lines (status and monitor).
pub fn lines(c: &Comparison) -> Vec<String> {
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2} %"));
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    let mut out = vec![
        format!(
            "Canary (last {} minutes)     {:>24} {:>24}",
            c.window_minutes, "primary", "staging"
        ),
        format!(
            "  {:<26} {:>24} {:>24}",
            "distribution", c.primary_domain, c.staging_domain
        ),
        format!(
            "  {:<26} {:>24} {:>24}",
            "requests",
            format!("{:.0}", c.primary.requests),
            format!("{:.0}", c.staging.requests)
        ),
        format!(
            "  {:<26} {:>24} {:>24}",
            "5xx rate",
            pct(c.primary.error_rate_5xx),
            pct(c.staging.error_rate_5xx)
        ),
        format!(
            "  {:<26} {:>24} {:>24}",
            "p95 time-taken (worst min)",
            ms(c.primary.p95_ms),
            ms(c.staging.p95_ms)
        ),
        format!(
            "  {:<26} {:>24} {:>24}",
            "cache hit ratio",
            pct(c.primary.cache_hit_ratio),
            pct(c.staging.cache_hit_ratio)
        ),
    ];
    for r in &c.rules {
        out.push(format!(
            "  {:<18} {:<18} {}",
            r.rule,
            r.state.unwrap_or("(none yet)"),
            r.detail
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_175_000;

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "us-east-1", "origin.example.com")
    }

    /// Five complete minutes of both sides, and the published states.
    fn results(staging_errors: f64, states: [f64; 3]) -> Results {
        let end = NOW - NOW.rem_euclid(MINUTE_MS);
        let minutes = |v: f64| {
            (1..=5)
                .map(|k| (end - k * MINUTE_MS, v))
                .collect::<Vec<_>>()
        };
        let mut r = Results::new();
        for (id, v) in [
            ("cp0", 1000.0),
            ("cp1", 10.0),
            ("cp2", 0.0),
            ("cp3", 200.0),
            ("cs0", 100.0),
            ("cs1", staging_errors),
            ("cs2", 0.0),
            ("cs3", 200.0),
        ] {
            r.insert(id.to_string(), minutes(v));
        }
        for (k, v) in states.into_iter().enumerate() {
            r.insert(format!("cr{k}"), vec![(end - MINUTE_MS, v)]);
        }
        r
    }

    #[test]
    fn an_alarm_refuses_naming_the_rule_and_its_values() {
        let c = build(
            &config(),
            "d1.cloudfront.net",
            "d2.cloudfront.net",
            &results(8.0, [1.0, 0.0, 0.0]),
            NOW,
        );
        assert_eq!(c.staging.error_rate_5xx, Some(8.0));
        assert_eq!(c.primary.error_rate_5xx, Some(1.0));
        assert_eq!(c.staging.requests, 500.0);
        let why = refusal(&c).expect("refused");
        assert!(why.contains("canary-5xx is in ALARM"), "{why}");
        assert!(
            why.contains("staging 8.00, primary 1.00, limit 2.00"),
            "{why}"
        );
        assert!(why.contains("--force"), "{why}");
        assert!(!why.contains("canary-latency"), "{why}");
        assert!(undecided(&c).is_empty());
    }

    #[test]
    fn ok_states_do_not_refuse_and_insufficient_data_is_only_reported() {
        let ok = build(&config(), "d1", "d2", &results(1.0, [0.0, 0.0, 0.0]), NOW);
        assert_eq!(refusal(&ok), None);
        let unsure = build(&config(), "d1", "d2", &results(1.0, [2.0, 0.0, 0.0]), NOW);
        assert_eq!(refusal(&unsure), None);
        let reported = undecided(&unsure);
        assert_eq!(reported.len(), 1);
        assert!(reported[0].starts_with("canary-5xx is INSUFFICIENT_DATA"));
    }

    #[test]
    fn stale_or_missing_states_are_none() {
        let mut r = results(8.0, [1.0, 1.0, 1.0]);
        let end = NOW - NOW.rem_euclid(MINUTE_MS);
        // Published 11 minutes ago: an earlier staging distribution's verdict.
        r.insert("cr0".to_string(), vec![(end - 11 * MINUTE_MS, 1.0)]);
        r.remove("cr1");
        let c = build(&config(), "d1", "d2", &r, NOW);
        assert_eq!(c.rules[0].state, None);
        assert_eq!(c.rules[1].state, None);
        assert_eq!(c.rules[2].state, Some("ALARM"));
        // The computed comparison still shows the 5xx breach, and refuses though the
        // evaluator published nothing for it lately.
        assert_eq!(c.rules[0].computed, "ALARM");
        let why = refusal(&c).unwrap_or_default();
        assert!(why.contains("canary-hit-ratio is in ALARM"), "{why}");
        assert!(
            why.contains("canary-5xx has no state from the evaluator"),
            "{why}"
        );
        let reported = undecided(&c).join("\n");
        assert!(
            reported.contains("not run yet since `stage`, or failing"),
            "{reported}"
        );
        let text = lines(&c).join("\n");
        assert!(
            text.contains("(none yet)") && text.contains("8.00 %"),
            "{text}"
        );
    }

    #[test]
    fn queries_read_both_domains_and_the_states() {
        let q = queries(&config(), "d1", "d2");
        assert_eq!(q.len(), 11);
        assert!(q.iter().any(|q| q.id == "cs1"
            && q.metric == m::STATUS_5XX
            && q.dimensions == vec![("Distribution".to_string(), "d2".to_string())]));
        assert!(q.iter().any(|q| q.id == "cr2"
            && q.dimensions == vec![("Rule".to_string(), "canary-hit-ratio".to_string())]));
    }
}
