//! The canary comparison: the staging distribution against the primary over the same
//! minutes, from the analyser's per-minute metrics of each (dimensioned by the distribution's
//! domain). Pure: the evaluator publishes the verdicts as rule states, and the deployer's
//! `promote`, `status` and `monitor` show the same comparison.
//!
//! Per minute, staging's 5xx rate (100 · Status5xx / Requests), p95 time-taken and cache hit
//! ratio (100 · CacheHits / Requests) are compared with the primary's. A minute counts only
//! when staging served at least `min_requests` and the primary served some (and, for the
//! latency rule, both have a p95): too little staging traffic says nothing about its health.
//! Over the last `evaluation_minutes` minutes a rule is ALARM when at least
//! `datapoints_to_alarm` counted minutes breach, OK when at least that many minutes counted,
//! else INSUFFICIENT_DATA.

use serde::{Deserialize, Serialize};

use crate::metrics;
use crate::schema::Canary;

/// `canary-5xx`: staging's 5xx rate above the primary's plus `error_rate_margin`.
pub const RULE_5XX: &str = "canary-5xx";
/// `canary-latency`: staging's p95 time-taken above the primary's times `latency_p95_factor`.
pub const RULE_LATENCY: &str = "canary-latency";
/// `canary-hit-ratio`: staging's hit ratio below the primary's minus `hit_ratio_margin`.
pub const RULE_HIT_RATIO: &str = "canary-hit-ratio";
/// The canary rules, in the order they are evaluated and shown.
pub const RULES: [&str; 3] = [RULE_5XX, RULE_LATENCY, RULE_HIT_RATIO];

/// The analyser metrics a side is read from, with the statistic: (metric, statistic).
pub const INPUTS: [(&str, &str); 4] = [
    (metrics::REQUESTS, "Sum"),
    (metrics::STATUS_5XX, "Sum"),
    (metrics::CACHE_HITS, "Sum"),
    (metrics::TIME_TAKEN, "p95"),
];

/// What the evaluator needs to compare: the staging domain (the primary's is the settings'
/// `distribution_domain`) and the thresholds. Present in the settings only while the stack
/// has a staging distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanarySettings {
    pub staging_domain: String,
    pub thresholds: Canary,
}

/// One distribution's per-minute values, oldest first, each `evaluation_minutes` long.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Side {
    pub requests: Vec<Option<f64>>,
    pub status_5xx: Vec<Option<f64>>,
    pub cache_hits: Vec<Option<f64>>,
    pub p95_ms: Vec<Option<f64>>,
}

impl Side {
    /// The per-minute series in [`INPUTS`] order.
    pub fn from_inputs(series: [Vec<Option<f64>>; 4]) -> Side {
        let [requests, status_5xx, cache_hits, p95_ms] = series;
        Side {
            requests,
            status_5xx,
            cache_hits,
            p95_ms,
        }
    }

    /// Requests, 5xx rate, hit ratio over the whole window and the worst minute's p95.
    pub fn totals(&self) -> Totals {
        let sum = |s: &[Option<f64>]| s.iter().flatten().sum::<f64>();
        let requests = sum(&self.requests);
        let ratio = |part: f64| (requests > 0.0).then(|| 100.0 * part / requests);
        Totals {
            requests,
            error_rate_5xx: ratio(sum(&self.status_5xx)),
            cache_hit_ratio: ratio(sum(&self.cache_hits)),
            p95_ms: self
                .p95_ms
                .iter()
                .flatten()
                .copied()
                .filter(|v| v.is_finite())
                .reduce(f64::max),
        }
    }
}

/// A side over the whole window, as `status`, `monitor` and `promote` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub requests: f64,
    /// Percent of requests.
    pub error_rate_5xx: Option<f64>,
    /// Percent of requests.
    pub cache_hit_ratio: Option<f64>,
    /// The highest per-minute p95 in the window.
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CanaryState {
    Ok,
    Alarm,
    InsufficientData,
}

impl CanaryState {
    pub fn as_str(self) -> &'static str {
        match self {
            CanaryState::Ok => "OK",
            CanaryState::Alarm => "ALARM",
            CanaryState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// One minute of one rule: staging's value, the primary's, and the limit staging was held to
/// (`None` when the minute did not count).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Minute {
    pub staging: Option<f64>,
    pub primary: Option<f64>,
    pub limit: Option<f64>,
    pub breaching: bool,
}

/// One canary rule's verdict with the minutes behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryVerdict {
    pub rule: &'static str,
    pub state: CanaryState,
    pub minutes: Vec<Minute>,
    /// Minutes that counted / breached.
    pub counted: usize,
    pub breaching: usize,
    /// What the rule holds staging to, in words.
    pub condition: String,
}

impl CanaryVerdict {
    /// The last counted minute, for messages.
    pub fn latest(&self) -> Option<&Minute> {
        self.minutes.iter().rev().find(|m| m.limit.is_some())
    }

    /// One line: the state, the latest counted minute's numbers and the condition.
    pub fn describe(&self) -> String {
        let numbers = match self.latest() {
            Some(Minute {
                staging: Some(s),
                primary: Some(p),
                limit: Some(l),
                ..
            }) => format!("latest counted minute: staging {s:.2}, primary {p:.2}, limit {l:.2}"),
            _ => "no minute counted".to_string(),
        };
        format!(
            "{} {}: {} of {} minutes counted, {} breaching ({numbers}); {}",
            self.rule,
            self.state.as_str(),
            self.counted,
            self.minutes.len(),
            self.breaching,
            self.condition
        )
    }
}

fn at(series: &[Option<f64>], i: usize) -> Option<f64> {
    series.get(i).copied().flatten().filter(|v| v.is_finite())
}

/// Compares staging with the primary; the series are the last `evaluation_minutes` minutes,
/// oldest first (a missing value is no data).
pub fn evaluate(thresholds: &Canary, primary: &Side, staging: &Side) -> Vec<CanaryVerdict> {
    let n = thresholds.evaluation_minutes as usize;
    let counts = |i: usize| {
        let staged = at(&staging.requests, i).unwrap_or(0.0);
        let served = at(&primary.requests, i).unwrap_or(0.0);
        staged >= f64::from(thresholds.min_requests) && served > 0.0
    };
    let rate = |side: &Side, part: &[Option<f64>], i: usize| {
        let requests = at(&side.requests, i)?;
        (requests > 0.0).then(|| 100.0 * at(part, i).unwrap_or(0.0) / requests)
    };
    // (rule, condition, per-minute (staging, primary, limit, breaching) when it counts)
    type Compare<'a> = Box<dyn Fn(usize) -> Option<(f64, f64, f64, bool)> + 'a>;
    let rules: [(&'static str, String, Compare); 3] = [
        (
            RULE_5XX,
            format!(
                "staging's 5xx rate (%) must stay at most the primary's + {} points",
                thresholds.error_rate_margin
            ),
            Box::new(|i| {
                let s = rate(staging, &staging.status_5xx, i)?;
                let p = rate(primary, &primary.status_5xx, i)?;
                let limit = p + thresholds.error_rate_margin;
                Some((s, p, limit, s > limit))
            }),
        ),
        (
            RULE_LATENCY,
            format!(
                "staging's p95 time-taken (ms) must stay at most the primary's × {}",
                thresholds.latency_p95_factor
            ),
            Box::new(|i| {
                let s = at(&staging.p95_ms, i)?;
                let p = at(&primary.p95_ms, i)?;
                let limit = p * thresholds.latency_p95_factor;
                Some((s, p, limit, s > limit))
            }),
        ),
        (
            RULE_HIT_RATIO,
            format!(
                "staging's cache hit ratio (%) must stay at least the primary's − {} points",
                thresholds.hit_ratio_margin
            ),
            Box::new(|i| {
                let s = rate(staging, &staging.cache_hits, i)?;
                let p = rate(primary, &primary.cache_hits, i)?;
                let limit = p - thresholds.hit_ratio_margin;
                Some((s, p, limit, s < limit))
            }),
        ),
    ];
    let m = thresholds.datapoints_to_alarm as usize;
    rules
        .into_iter()
        .map(|(rule, condition, compare)| {
            let minutes: Vec<Minute> = (0..n)
                .map(|i| match counts(i).then(|| compare(i)).flatten() {
                    Some((s, p, limit, breaching)) => Minute {
                        staging: Some(s),
                        primary: Some(p),
                        limit: Some(limit),
                        breaching,
                    },
                    None => Minute {
                        staging: None,
                        primary: None,
                        limit: None,
                        breaching: false,
                    },
                })
                .collect();
            let counted = minutes.iter().filter(|m| m.limit.is_some()).count();
            let breaching = minutes.iter().filter(|m| m.breaching).count();
            let state = if breaching >= m {
                CanaryState::Alarm
            } else if counted >= m {
                CanaryState::Ok
            } else {
                CanaryState::InsufficientData
            };
            CanaryVerdict {
                rule,
                state,
                minutes,
                counted,
                breaching,
                condition,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(requests: f64, errors: f64, hits: f64, p95: f64, minutes: usize) -> Side {
        Side {
            requests: vec![Some(requests); minutes],
            status_5xx: vec![Some(errors); minutes],
            cache_hits: vec![Some(hits); minutes],
            p95_ms: vec![Some(p95); minutes],
        }
    }

    fn state(verdicts: &[CanaryVerdict], rule: &str) -> CanaryState {
        verdicts
            .iter()
            .find(|v| v.rule == rule)
            .map(|v| v.state)
            .unwrap_or_else(|| panic!("no verdict for {rule}"))
    }

    #[test]
    fn eight_percent_5xx_against_one_percent_alarms_only_the_5xx_rule() {
        let primary = side(1000.0, 10.0, 500.0, 200.0, 5);
        let staging = side(100.0, 8.0, 48.0, 210.0, 5);
        let verdicts = evaluate(&Canary::default(), &primary, &staging);
        assert_eq!(state(&verdicts, RULE_5XX), CanaryState::Alarm);
        assert_eq!(state(&verdicts, RULE_LATENCY), CanaryState::Ok);
        assert_eq!(state(&verdicts, RULE_HIT_RATIO), CanaryState::Ok);
        let five = &verdicts[0];
        assert_eq!((five.counted, five.breaching), (5, 5));
        let latest = five.latest().unwrap();
        assert_eq!(latest.staging, Some(8.0));
        assert_eq!(latest.primary, Some(1.0));
        assert_eq!(latest.limit, Some(2.0));
        assert!(five.describe().contains("staging 8.00, primary 1.00"));
    }

    #[test]
    fn equal_health_is_ok() {
        let primary = side(1000.0, 10.0, 500.0, 200.0, 5);
        let staging = side(100.0, 1.0, 50.0, 200.0, 5);
        let verdicts = evaluate(&Canary::default(), &primary, &staging);
        assert!(verdicts.iter().all(|v| v.state == CanaryState::Ok));
    }

    #[test]
    fn slow_or_uncached_staging_alarms_its_rule() {
        let primary = side(1000.0, 0.0, 800.0, 100.0, 5);
        let slow = side(100.0, 0.0, 80.0, 151.0, 5);
        assert_eq!(
            state(&evaluate(&Canary::default(), &primary, &slow), RULE_LATENCY),
            CanaryState::Alarm
        );
        // 69 % against 80 % with a 10-point margin.
        let cold = side(100.0, 0.0, 69.0, 100.0, 5);
        assert_eq!(
            state(
                &evaluate(&Canary::default(), &primary, &cold),
                RULE_HIT_RATIO
            ),
            CanaryState::Alarm
        );
        let warm = side(100.0, 0.0, 71.0, 100.0, 5);
        assert_eq!(
            state(
                &evaluate(&Canary::default(), &primary, &warm),
                RULE_HIT_RATIO
            ),
            CanaryState::Ok
        );
    }

    #[test]
    fn too_few_staging_requests_is_insufficient_data_not_ok() {
        let primary = side(1000.0, 10.0, 500.0, 200.0, 5);
        // 19 requests a minute, under min_requests = 20, and all of them failing.
        let staging = side(19.0, 19.0, 0.0, 5000.0, 5);
        let verdicts = evaluate(&Canary::default(), &primary, &staging);
        assert!(
            verdicts
                .iter()
                .all(|v| v.state == CanaryState::InsufficientData && v.counted == 0),
            "{verdicts:?}"
        );
        // No staging data at all.
        let verdicts = evaluate(&Canary::default(), &primary, &Side::default());
        assert!(
            verdicts
                .iter()
                .all(|v| v.state == CanaryState::InsufficientData)
        );
        assert!(verdicts[0].describe().contains("no minute counted"));
    }

    #[test]
    fn m_of_n_over_counted_minutes() {
        let primary = side(1000.0, 10.0, 500.0, 200.0, 5);
        let mut staging = side(100.0, 1.0, 50.0, 200.0, 5);
        // Two bad minutes of five: below M = 3.
        staging.status_5xx = vec![Some(1.0), Some(9.0), Some(1.0), Some(9.0), Some(1.0)];
        assert_eq!(
            state(&evaluate(&Canary::default(), &primary, &staging), RULE_5XX),
            CanaryState::Ok
        );
        staging.status_5xx[4] = Some(9.0);
        assert_eq!(
            state(&evaluate(&Canary::default(), &primary, &staging), RULE_5XX),
            CanaryState::Alarm
        );
        // Only two minutes with enough traffic, both good: fewer than M counted.
        let mut quiet = side(100.0, 1.0, 50.0, 200.0, 5);
        quiet.requests = vec![None, Some(5.0), Some(100.0), None, Some(100.0)];
        assert_eq!(
            state(&evaluate(&Canary::default(), &primary, &quiet), RULE_5XX),
            CanaryState::InsufficientData
        );
    }

    #[test]
    fn a_minute_without_primary_traffic_does_not_count() {
        let mut primary = side(1000.0, 10.0, 500.0, 200.0, 5);
        primary.requests = vec![None; 5];
        let staging = side(100.0, 8.0, 50.0, 200.0, 5);
        assert_eq!(
            state(&evaluate(&Canary::default(), &primary, &staging), RULE_5XX),
            CanaryState::InsufficientData
        );
    }

    #[test]
    fn totals_over_the_window() {
        let s = side(100.0, 8.0, 50.0, 200.0, 3);
        let t = s.totals();
        assert_eq!(t.requests, 300.0);
        assert_eq!(t.error_rate_5xx, Some(8.0));
        assert_eq!(t.cache_hit_ratio, Some(50.0));
        assert_eq!(t.p95_ms, Some(200.0));
        assert_eq!(Side::default().totals().error_rate_5xx, None);
    }
}
