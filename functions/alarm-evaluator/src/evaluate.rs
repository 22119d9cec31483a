//! Rule evaluation on datapoint series, the way CloudWatch alarms evaluate M out of N.
//!
//! A rule looks at its last N periods (`evaluation_periods`), oldest first. A period whose
//! value is absent, NaN or infinite is missing. What missing means is the rule's
//! `missing_data`:
//! - `breaching` / `not-breaching`: a missing period counts as breaching / not breaching;
//! - `missing`: missing periods are left out; with no datapoint at all the verdict is
//!   INSUFFICIENT_DATA;
//! - `ignore`: missing periods are left out, and when fewer than M datapoints are present
//!   the previous state is kept (INSUFFICIENT_DATA when there is none).
//!
//! The verdict is ALARM when at least M (`datapoints_to_alarm`) periods breach, else OK.

use cfrp_config::rules::Expression;
use cfrp_config::{Comparison, MissingData, Rule};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

impl State {
    /// The value of the `RuleState` metric.
    pub fn metric_value(self) -> f64 {
        match self {
            State::Ok => 0.0,
            State::Alarm => 1.0,
            State::InsufficientData => 2.0,
        }
    }

    pub fn from_metric_value(value: f64) -> Option<State> {
        [State::Ok, State::Alarm, State::InsufficientData]
            .into_iter()
            .find(|state| state.metric_value() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A verdict with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub state: State,
    /// The N values looked at, oldest first (`None` = missing).
    pub values: Vec<Option<f64>>,
    pub breaching: usize,
    pub missing: usize,
}

fn breaches(comparison: Comparison, value: f64, threshold: f64) -> bool {
    match comparison {
        Comparison::GreaterThan => value > threshold,
        Comparison::GreaterOrEqual => value >= threshold,
        Comparison::LessThan => value < threshold,
        Comparison::LessOrEqual => value <= threshold,
    }
}

/// Evaluates a rule on its series (oldest first; only the last N periods count).
pub fn evaluate(rule: &Rule, series: &[Option<f64>], previous: Option<State>) -> Verdict {
    let n = rule.evaluation_periods as usize;
    let m = rule.datapoints_to_alarm as usize;
    let mut window: Vec<Option<f64>> = series
        .iter()
        .rev()
        .take(n)
        .rev()
        .map(|v| v.filter(|x| x.is_finite()))
        .collect();
    // Periods before the series starts are missing too.
    while window.len() < n {
        window.insert(0, None);
    }
    let missing = window.iter().filter(|v| v.is_none()).count();
    let present_breaching = window
        .iter()
        .flatten()
        .filter(|v| breaches(rule.comparison, **v, rule.threshold))
        .count();
    let present = n - missing;
    let (state, breaching) = match rule.missing_data {
        MissingData::Breaching => {
            let breaching = present_breaching + missing;
            (
                if breaching >= m {
                    State::Alarm
                } else {
                    State::Ok
                },
                breaching,
            )
        }
        MissingData::NotBreaching => (
            if present_breaching >= m {
                State::Alarm
            } else {
                State::Ok
            },
            present_breaching,
        ),
        MissingData::Missing => {
            let state = if present == 0 {
                State::InsufficientData
            } else if present_breaching >= m {
                State::Alarm
            } else {
                State::Ok
            };
            (state, present_breaching)
        }
        MissingData::Ignore => {
            let state = if present_breaching >= m {
                State::Alarm
            } else if present >= m {
                State::Ok
            } else {
                previous.unwrap_or(State::InsufficientData)
            };
            (state, present_breaching)
        }
    };
    Verdict {
        state,
        values: window,
        breaching,
        missing,
    }
}

/// Combines per-metric series into the expression's series, period by period; a period is
/// missing when an input is missing or the result is not finite (e.g. division by zero).
pub fn expression_series(
    expression: &Expression,
    inputs: &[(&str, &[Option<f64>])],
) -> Vec<Option<f64>> {
    let periods = inputs.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    (0..periods)
        .map(|i| {
            let value_of = |name: &str| {
                inputs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, s)| s.get(i).copied().flatten())
            };
            expression.evaluate(&value_of).filter(|v| v.is_finite())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfrp_config::Severity;

    fn rule(m: u32, n: u32, comparison: Comparison, threshold: f64, missing: MissingData) -> Rule {
        Rule {
            name: "R".to_string(),
            metric: Some("Requests".to_string()),
            expression: None,
            statistic: "Sum".to_string(),
            period_seconds: 60,
            comparison,
            threshold,
            datapoints_to_alarm: m,
            evaluation_periods: n,
            missing_data: missing,
            severity: Severity::Warning,
            action: String::new(),
        }
    }

    #[test]
    fn m_of_n_counts_only_the_last_n_periods() {
        let r = rule(2, 3, Comparison::GreaterThan, 10.0, MissingData::Missing);
        assert_eq!(
            evaluate(
                &r,
                &[Some(50.0), Some(50.0), Some(1.0), Some(1.0), Some(11.0)],
                None
            )
            .state,
            State::Ok
        );
        assert_eq!(
            evaluate(&r, &[Some(1.0), Some(11.0), Some(1.0), Some(12.0)], None).state,
            State::Alarm
        );
    }

    #[test]
    fn boundaries_follow_the_comparison() {
        let at = [Some(10.0)];
        assert_eq!(
            evaluate(
                &rule(1, 1, Comparison::GreaterThan, 10.0, MissingData::Missing),
                &at,
                None
            )
            .state,
            State::Ok
        );
        assert_eq!(
            evaluate(
                &rule(1, 1, Comparison::GreaterOrEqual, 10.0, MissingData::Missing),
                &at,
                None
            )
            .state,
            State::Alarm
        );
        assert_eq!(
            evaluate(
                &rule(1, 1, Comparison::LessThan, 10.0, MissingData::Missing),
                &at,
                None
            )
            .state,
            State::Ok
        );
        assert_eq!(
            evaluate(
                &rule(1, 1, Comparison::LessOrEqual, 10.0, MissingData::Missing),
                &at,
                None
            )
            .state,
            State::Alarm
        );
    }

    #[test]
    fn each_missing_data_mode() {
        let series = [None, Some(20.0), None];
        let v = |mode| {
            evaluate(
                &rule(2, 3, Comparison::GreaterThan, 10.0, mode),
                &series,
                Some(State::Alarm),
            )
        };
        assert_eq!(v(MissingData::Breaching).state, State::Alarm);
        assert_eq!(v(MissingData::Breaching).breaching, 3);
        assert_eq!(v(MissingData::NotBreaching).state, State::Ok);
        assert_eq!(v(MissingData::Missing).state, State::Ok);
        // Ignore: one datapoint present, fewer than M = 2: keep the previous state.
        assert_eq!(v(MissingData::Ignore).state, State::Alarm);
        assert_eq!(
            evaluate(
                &rule(2, 3, Comparison::GreaterThan, 10.0, MissingData::Ignore),
                &series,
                None
            )
            .state,
            State::InsufficientData
        );
    }

    #[test]
    fn empty_results() {
        let empty: [Option<f64>; 0] = [];
        assert_eq!(
            evaluate(
                &rule(1, 3, Comparison::GreaterThan, 1.0, MissingData::Missing),
                &empty,
                None
            )
            .state,
            State::InsufficientData
        );
        assert_eq!(
            evaluate(
                &rule(
                    1,
                    3,
                    Comparison::GreaterThan,
                    1.0,
                    MissingData::NotBreaching
                ),
                &empty,
                None
            )
            .state,
            State::Ok
        );
        assert_eq!(
            evaluate(
                &rule(1, 3, Comparison::GreaterThan, 1.0, MissingData::Breaching),
                &empty,
                None
            )
            .state,
            State::Alarm
        );
    }

    #[test]
    fn nan_and_infinity_are_missing() {
        let series = [Some(f64::NAN), Some(f64::INFINITY), Some(5.0)];
        let verdict = evaluate(
            &rule(1, 3, Comparison::GreaterThan, 1.0, MissingData::Missing),
            &series,
            None,
        );
        assert_eq!(verdict.missing, 2);
        assert_eq!(verdict.state, State::Alarm);
        let verdict = evaluate(
            &rule(1, 2, Comparison::GreaterThan, 1.0, MissingData::Missing),
            &[Some(f64::NAN), Some(f64::NEG_INFINITY)],
            None,
        );
        assert_eq!(verdict.state, State::InsufficientData);
    }

    #[test]
    fn expressions_combine_series_and_division_by_zero_is_missing() {
        let e = Expression::parse("100 * (1 - Status5xx / Requests)").unwrap();
        let errors = [Some(1.0), Some(0.0), None, Some(0.0)];
        let requests = [Some(100.0), Some(50.0), Some(10.0), Some(0.0)];
        let series = expression_series(&e, &[("Status5xx", &errors), ("Requests", &requests)]);
        assert_eq!(series, vec![Some(99.0), Some(100.0), None, None]);
        let r = Rule {
            expression: Some("100 * (1 - Status5xx / Requests)".to_string()),
            metric: None,
            ..rule(1, 4, Comparison::LessThan, 99.5, MissingData::NotBreaching)
        };
        assert_eq!(evaluate(&r, &series, None).state, State::Alarm);
    }

    #[test]
    fn state_values_round_trip() {
        for state in [State::Ok, State::Alarm, State::InsufficientData] {
            assert_eq!(State::from_metric_value(state.metric_value()), Some(state));
        }
        assert_eq!(State::from_metric_value(0.5), None);
    }
}
