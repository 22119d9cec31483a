//! The built-in canary rules (`canary-5xx`, `canary-latency`, `canary-hit-ratio`): while the
//! settings name a staging distribution, the analyser's per-minute metrics of staging and of
//! the primary (each dimensioned by its domain) are read in the same GetMetricData request as
//! the other rules, compared by [`cfrp_config::canary::evaluate`], and the verdicts published
//! as `RuleState` like any rule's. Pure: queries in, outcomes out.

use cfrp_config::EvaluatorSettings;
use cfrp_config::canary::{self, CanaryState, Side};
use cfrp_config::metrics as m;

use crate::evaluate::State;
use crate::handler::RuleOutcome;
use crate::queries::{Query, QueryPlan, Results};

const MINUTE_MS: i64 = 60_000;

fn state(state: CanaryState) -> State {
    match state {
        CanaryState::Ok => State::Ok,
        CanaryState::Alarm => State::Alarm,
        CanaryState::InsufficientData => State::InsufficientData,
    }
}

/// The (primary, staging) domains when the canary rules run.
fn domains(settings: &EvaluatorSettings) -> Option<(&str, &str)> {
    let canary = settings.canary.as_ref()?;
    let primary = settings.distribution_domain.as_deref()?;
    Some((primary, canary.staging_domain.as_str()))
}

fn side_query(namespace: &str, id: String, domain: &str, metric: &str, stat: &str) -> Query {
    Query {
        id,
        namespace: namespace.to_string(),
        metric: metric.to_string(),
        dimensions: vec![(m::DIM_DISTRIBUTION.to_string(), domain.to_string())],
        stat: stat.to_string(),
        period_seconds: 60,
    }
}

/// Adds the canary queries (ids `cp{j}`/`cs{j}` for the primary's and staging's inputs,
/// `cr{k}` for each canary rule's previous state) and widens the window to cover them.
pub fn extend(plan: &mut QueryPlan, settings: &EvaluatorSettings) {
    let Some((primary, staging)) = domains(settings) else {
        return;
    };
    let Some(canary) = &settings.canary else {
        return;
    };
    let ns = settings.namespace.as_str();
    for (j, (metric, stat)) in canary::INPUTS.iter().enumerate() {
        plan.queries
            .push(side_query(ns, format!("cp{j}"), primary, metric, stat));
        plan.queries
            .push(side_query(ns, format!("cs{j}"), staging, metric, stat));
    }
    for (k, rule) in canary::RULES.iter().enumerate() {
        plan.queries.push(Query {
            id: format!("cr{k}"),
            namespace: ns.to_string(),
            metric: m::RULE_STATE.to_string(),
            dimensions: vec![(m::DIM_RULE.to_string(), rule.to_string())],
            stat: "Maximum".to_string(),
            period_seconds: 60,
        });
    }
    let span = MINUTE_MS * i64::from(canary.thresholds.evaluation_minutes.max(5));
    plan.start_ms = plan.start_ms.min(plan.end_ms - span);
}

/// The minutes ending at `end_ms`, oldest first.
pub fn per_minute(points: &[(i64, f64)], end_ms: i64, minutes: usize) -> Vec<Option<f64>> {
    let start = end_ms - MINUTE_MS * minutes as i64;
    let mut out = vec![None; minutes];
    for (ts, value) in points {
        if *ts < start || *ts >= end_ms {
            continue;
        }
        if let Some(slot) = out.get_mut(((ts - start) / MINUTE_MS) as usize) {
            *slot = Some(*value);
        }
    }
    out
}

/// One side's per-minute inputs from the answers to the queries with `prefix` (`cp`, `cs`).
pub fn side(results: &Results, prefix: &str, end_ms: i64, minutes: usize) -> Side {
    let empty = Vec::new();
    let series = |j: usize| {
        per_minute(
            results.get(&format!("{prefix}{j}")).unwrap_or(&empty),
            end_ms,
            minutes,
        )
    };
    Side::from_inputs([series(0), series(1), series(2), series(3)])
}

/// The canary rules' outcomes (none when the settings name no staging distribution).
pub fn outcomes(
    settings: &EvaluatorSettings,
    results: &Results,
    plan: &QueryPlan,
) -> Vec<RuleOutcome> {
    let (Some(canary), Some(_)) = (&settings.canary, domains(settings)) else {
        return Vec::new();
    };
    let t = &canary.thresholds;
    let minutes = t.evaluation_minutes as usize;
    let primary = side(results, "cp", plan.end_ms, minutes);
    let staging = side(results, "cs", plan.end_ms, minutes);
    canary::evaluate(t, &primary, &staging)
        .into_iter()
        .enumerate()
        .map(|(k, verdict)| {
            let previous = results
                .get(&format!("cr{k}"))
                .and_then(|points| points.iter().max_by_key(|(ts, _)| *ts))
                .and_then(|(_, v)| State::from_metric_value(*v));
            let threshold = match verdict.rule {
                canary::RULE_5XX => t.error_rate_margin,
                canary::RULE_LATENCY => t.latency_p95_factor,
                _ => t.hit_ratio_margin,
            };
            RuleOutcome {
                rule: verdict.rule.to_string(),
                state: state(verdict.state),
                previous,
                values: verdict.minutes.iter().map(|m| m.staging).collect(),
                breaching: verdict.breaching,
                missing: verdict.minutes.len() - verdict.counted,
                threshold,
                severity: "critical".to_string(),
                action: format!("{}; roll back with `deployer rollback`", verdict.describe()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use cfrp_config::canary::CanarySettings;
    use cfrp_config::{Canary, metrics as m};

    use super::*;

    const END: i64 = 1_700_000_160_000;

    fn settings(staging: bool) -> EvaluatorSettings {
        EvaluatorSettings {
            stack: "shop".to_string(),
            namespace: "NS".to_string(),
            distribution_id: Some("E1".to_string()),
            distribution_domain: Some("d1.cloudfront.net".to_string()),
            rules: Vec::new(),
            canary: staging.then(|| CanarySettings {
                staging_domain: "d2.cloudfront.net".to_string(),
                thresholds: Canary::default(),
            }),
            auto_block: None,
        }
    }

    fn empty_plan() -> QueryPlan {
        QueryPlan {
            queries: Vec::new(),
            start_ms: END - 5 * MINUTE_MS,
            end_ms: END,
        }
    }

    #[test]
    fn queries_name_each_domain_and_only_while_staging_exists() {
        let mut plan = empty_plan();
        extend(&mut plan, &settings(false));
        assert!(plan.queries.is_empty());
        extend(&mut plan, &settings(true));
        assert_eq!(plan.queries.len(), 4 * 2 + 3);
        let requests = plan.queries.iter().find(|q| q.id == "cs0").unwrap();
        assert_eq!(requests.metric, m::REQUESTS);
        assert_eq!(
            requests.dimensions,
            vec![("Distribution".to_string(), "d2.cloudfront.net".to_string())]
        );
        let p95 = plan.queries.iter().find(|q| q.id == "cp3").unwrap();
        assert_eq!(
            (p95.stat.as_str(), p95.metric.as_str()),
            ("p95", m::TIME_TAKEN)
        );
        let state = plan.queries.iter().find(|q| q.id == "cr0").unwrap();
        assert_eq!(
            state.dimensions,
            vec![("Rule".to_string(), "canary-5xx".to_string())]
        );
    }

    #[test]
    fn outcomes_from_answers() {
        let mut results = Results::new();
        let minutes = |v: f64| {
            (1..=5)
                .map(|k| (END - k * MINUTE_MS, v))
                .collect::<Vec<_>>()
        };
        for (id, v) in [
            ("cp0", 1000.0),
            ("cp1", 10.0),
            ("cp2", 500.0),
            ("cp3", 200.0),
            ("cs0", 100.0),
            ("cs1", 8.0),
            ("cs2", 50.0),
            ("cs3", 200.0),
        ] {
            results.insert(id.to_string(), minutes(v));
        }
        results.insert("cr0".to_string(), vec![(END - MINUTE_MS, 0.0)]);
        let out = outcomes(&settings(true), &results, &empty_plan());
        let names: Vec<&str> = out.iter().map(|o| o.rule.as_str()).collect();
        assert_eq!(names, canary::RULES.to_vec());
        assert_eq!(out[0].state, State::Alarm);
        assert_eq!(out[0].previous, Some(State::Ok));
        assert_eq!(out[0].values, vec![Some(8.0); 5]);
        assert!(
            out[0].action.contains("staging 8.00, primary 1.00"),
            "{}",
            out[0].action
        );
        assert_eq!(out[1].state, State::Ok);
        assert_eq!(out[2].state, State::Ok);
        assert!(outcomes(&settings(false), &results, &empty_plan()).is_empty());
    }

    #[test]
    fn no_staging_traffic_is_insufficient_data() {
        let out = outcomes(&settings(true), &Results::new(), &empty_plan());
        assert_eq!(out.len(), 3);
        assert!(
            out.iter()
                .all(|o| o.state == State::InsufficientData && o.missing == 5)
        );
    }
}
