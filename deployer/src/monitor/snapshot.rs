//! One refresh's answers turned into what the monitor shows. Pure.
//!
//! Each metric is a [`Series`]: one value per minute of the window (oldest first, `None` where
//! nothing was published) and `now`, the value of the latest minute with data. For the
//! analyser's metrics that minute is the latest one with a `Requests` datum, so every current
//! value comes from the same minute; CloudFront's metrics use their own latest `Requests`
//! minute. Rates are per-minute sums over 60 s; ratios are sums over sums, in percent.
//! Nothing published yet gives `None` everywhere, never zeros.

use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use cfrp_config::StackConfig;
use serde::Serialize;

use super::query::{Breakdowns, CLOUDFRONT_STATUS_RATES, PERIOD_SECONDS, Plan, Target, ids};

/// Datapoints per query id: (timestamp ms, value).
pub use cfrp_metric_data::Results;

/// How many countries and POPs the monitor lists.
pub const TOP_N: usize = 5;

/// One metric over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    /// The value at the snapshot's current minute; `null` when that minute has none.
    pub now: Option<f64>,
    /// One value per minute of the window, oldest first.
    pub history: Vec<Option<f64>>,
}

/// The analyser's view of the distribution (stack region, stack namespace).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Traffic {
    /// The minute (RFC 3339, UTC) the `now` values come from; `null`: no data yet.
    pub minute: Option<String>,
    pub requests_per_second: Series,
    pub bytes_per_second: Series,
    /// Percent of requests.
    pub error_rate_4xx: Series,
    pub error_rate_5xx: Series,
    pub cache_hit_ratio: Series,
    /// `TimeTaken` percentiles, milliseconds.
    pub latency_p50_ms: Series,
    pub latency_p95_ms: Series,
    pub latency_p99_ms: Series,
    /// `OriginFirstByteLatency` p95, milliseconds.
    pub origin_latency_p95_ms: Series,
}

/// CloudFront's own `AWS/CloudFront` metrics (us-east-1, `Region=Global`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CloudFront {
    pub minute: Option<String>,
    pub requests_per_second: Series,
    pub bytes_per_second: Series,
    pub error_rate_4xx: Series,
    pub error_rate_5xx: Series,
    /// Needs the distribution's additional metrics.
    pub cache_hit_rate: Series,
    /// `OriginLatency` p95 in milliseconds; needs the additional metrics.
    pub origin_latency_p95_ms: Series,
    /// Whether CacheHitRate, OriginLatency or a status code's error rate has any datapoint in
    /// the window (they exist only when the distribution's additional metrics are on).
    pub additional_metrics: bool,
    /// `401ErrorRate` … `504ErrorRate` (percent), by status code; needs the additional
    /// metrics.
    pub error_rate_by_status: std::collections::BTreeMap<String, Series>,
}

/// The web ACL's own `AWS/WAFV2` metrics (us-east-1), with `[waf]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WafTraffic {
    /// The web ACL's metric name (its `WebACL` dimension).
    pub web_acl: String,
    /// The latest minute (RFC 3339, UTC) with any of the web ACL's totals; `null`: none yet.
    pub minute: Option<String>,
    /// The web ACL's totals (`Rule=ALL`) per second.
    pub allowed_per_second: Series,
    pub blocked_per_second: Series,
    /// Requests a count-mode rule matched (they went on to the next rule).
    pub counted_per_second: Series,
    /// Percent of the requests the web ACL allowed or blocked that it blocked.
    pub blocked_percent: Series,
    /// Over the window, the rules that blocked or counted most, most blocking first.
    pub top_rules: Vec<WafRuleShare>,
}

/// What one rule of the web ACL blocked and counted over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WafRuleShare {
    pub rule: String,
    pub blocked: f64,
    pub counted: f64,
    /// Percent of the web ACL's blocked requests over the window this rule blocked.
    pub percent_of_blocked: f64,
}

/// A country or POP and its requests over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub name: String,
    pub requests: f64,
    /// Percent of all requests counted for this breakdown over the window (`Other` included).
    pub percent: f64,
}

/// A rule's latest state as the evaluator published it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleStatus {
    pub rule: String,
    pub severity: &'static str,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`, or `null` when the evaluator published none in the
    /// window.
    pub state: Option<&'static str>,
}

/// Everything one refresh shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// When the snapshot was taken (RFC 3339, UTC).
    pub at: String,
    pub stack: String,
    pub region: String,
    pub distribution_id: String,
    pub distribution_domain: String,
    pub window_minutes: usize,
    pub analyser: Traffic,
    pub top_countries: Vec<Share>,
    pub top_edge_locations: Vec<Share>,
    pub rules: Vec<RuleStatus>,
    pub cloudfront: CloudFront,
    /// `null` when the stack has no `[waf]`.
    pub waf: Option<WafTraffic>,
    /// Primary against staging with the canary rules' states, while the stack has a staging
    /// distribution; null otherwise.
    pub canary: Option<super::canary::Comparison>,
}

/// RFC 3339 (seconds, UTC) of a time in ms since the epoch.
pub fn timestamp(ms: i64) -> String {
    DateTime::from_millis(ms)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// Puts datapoints into the window's minutes, oldest first.
pub fn per_minute(points: &[(i64, f64)], start_ms: i64, minutes: usize) -> Vec<Option<f64>> {
    let period_ms = i64::from(PERIOD_SECONDS) * 1000;
    let mut out = vec![None; minutes];
    for (ts, value) in points {
        if *ts < start_ms || !value.is_finite() {
            continue;
        }
        let index = usize::try_from((ts - start_ms) / period_ms).unwrap_or(usize::MAX);
        if let Some(slot) = out.get_mut(index) {
            *slot = Some(*value);
        }
    }
    out
}

/// The index of the latest minute with a value.
pub fn latest(series: &[Option<f64>]) -> Option<usize> {
    series.iter().rposition(Option::is_some)
}

/// Per-second rates from per-minute sums.
pub fn rates(sums: &[Option<f64>]) -> Vec<Option<f64>> {
    sums.iter()
        .map(|s| s.map(|v| v / f64::from(PERIOD_SECONDS)))
        .collect()
}

/// `part / whole` in percent, minute by minute; `None` where either is missing or nothing
/// was requested.
pub fn ratios(part: &[Option<f64>], whole: &[Option<f64>]) -> Vec<Option<f64>> {
    part.iter()
        .zip(whole)
        .map(|(p, w)| match (p, w) {
            (Some(p), Some(w)) if *w > 0.0 => Some(100.0 * p / w),
            _ => None,
        })
        .collect()
}

fn series(history: Vec<Option<f64>>, at: Option<usize>) -> Series {
    Series {
        now: at.and_then(|i| history.get(i).copied().flatten()),
        history,
    }
}

/// The `n` largest totals (names other than `Other`), largest first, ties by name; each with
/// its share of everything counted (`Other` included).
pub fn top(totals: &[(String, f64)], n: usize) -> Vec<Share> {
    let all: f64 = totals.iter().map(|(_, v)| v).sum();
    let mut named: Vec<&(String, f64)> = totals
        .iter()
        .filter(|(name, v)| name != "Other" && *v > 0.0)
        .collect();
    named.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    named
        .into_iter()
        .take(n)
        .map(|(name, requests)| Share {
            name: name.clone(),
            requests: *requests,
            percent: if all > 0.0 {
                100.0 * requests / all
            } else {
                0.0
            },
        })
        .collect()
}

/// The evaluator's encoding: 0 OK, 1 ALARM, 2 INSUFFICIENT_DATA.
pub fn state_name(value: f64) -> Option<&'static str> {
    match value.round() as i64 {
        0 => Some("OK"),
        1 => Some("ALARM"),
        2 => Some("INSUFFICIENT_DATA"),
        _ => None,
    }
}

/// The web ACL's view from the us-east-1 answers: WAF publishes a total only for a minute
/// in which it counted some request, so in a minute with some totals a missing one is 0.
fn waf_traffic(
    web_acl: &str,
    rules: &[String],
    minutes: &dyn Fn(&str) -> Vec<Option<f64>>,
    minute_of: &dyn Fn(Option<usize>) -> Option<String>,
) -> WafTraffic {
    let (allowed, blocked, counted) = (
        minutes(ids::WAF_ALLOWED),
        minutes(ids::WAF_BLOCKED),
        minutes(ids::WAF_COUNTED),
    );
    let any: Vec<bool> = (0..allowed.len())
        .map(|i| allowed[i].is_some() || blocked[i].is_some() || counted[i].is_some())
        .collect();
    let at = any.iter().rposition(|a| *a);
    let filled = |series: &[Option<f64>]| -> Vec<Option<f64>> {
        series
            .iter()
            .zip(&any)
            .map(|(v, any)| if *any { Some(v.unwrap_or(0.0)) } else { None })
            .collect()
    };
    let (allowed, blocked, counted) = (filled(&allowed), filled(&blocked), filled(&counted));
    let decided: Vec<Option<f64>> = allowed
        .iter()
        .zip(&blocked)
        .map(|(a, b)| Some((*a)? + (*b)?))
        .collect();
    let window_sum = |series: &[Option<f64>]| -> f64 { series.iter().flatten().sum() };
    let blocked_total = window_sum(&blocked);
    let mut top_rules: Vec<WafRuleShare> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let blocked = window_sum(&minutes(&format!("{}{i}", ids::WAF_RULE_BLOCKED)));
            WafRuleShare {
                rule: rule.clone(),
                blocked,
                counted: window_sum(&minutes(&format!("{}{i}", ids::WAF_RULE_COUNTED))),
                percent_of_blocked: if blocked_total > 0.0 {
                    100.0 * blocked / blocked_total
                } else {
                    0.0
                },
            }
        })
        .filter(|r| r.blocked > 0.0 || r.counted > 0.0)
        .collect();
    top_rules.sort_by(|a, b| {
        b.blocked
            .total_cmp(&a.blocked)
            .then(b.counted.total_cmp(&a.counted))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    top_rules.truncate(TOP_N);
    WafTraffic {
        web_acl: web_acl.to_string(),
        minute: minute_of(at),
        blocked_percent: series(ratios(&blocked, &decided), at),
        allowed_per_second: series(rates(&allowed), at),
        blocked_per_second: series(rates(&blocked), at),
        counted_per_second: series(rates(&counted), at),
        top_rules,
    }
}

/// Builds the snapshot from the answers of both regions (`cloudfront`: every us-east-1
/// answer, CloudFront's and the web ACL's).
pub fn build(
    config: &StackConfig,
    target: &Target,
    plan: &Plan,
    breakdowns: &Breakdowns,
    regional: &Results,
    cloudfront: &Results,
    now_ms: i64,
) -> Snapshot {
    let empty = Vec::new();
    let minutes = |results: &Results, id: &str| {
        per_minute(
            results.get(id).unwrap_or(&empty),
            plan.start_ms,
            plan.minutes,
        )
    };
    let minute_of = |index: Option<usize>| {
        index.map(|i| timestamp(plan.start_ms + i as i64 * i64::from(PERIOD_SECONDS) * 1000))
    };

    let requests = minutes(regional, ids::REQUESTS);
    let at = latest(&requests);
    let analyser = Traffic {
        minute: minute_of(at),
        requests_per_second: series(rates(&requests), at),
        bytes_per_second: series(rates(&minutes(regional, ids::BYTES_SENT)), at),
        error_rate_4xx: series(ratios(&minutes(regional, ids::STATUS_4XX), &requests), at),
        error_rate_5xx: series(ratios(&minutes(regional, ids::STATUS_5XX), &requests), at),
        cache_hit_ratio: series(ratios(&minutes(regional, ids::CACHE_HITS), &requests), at),
        latency_p50_ms: series(minutes(regional, ids::P50), at),
        latency_p95_ms: series(minutes(regional, ids::P95), at),
        latency_p99_ms: series(minutes(regional, ids::P99), at),
        origin_latency_p95_ms: series(minutes(regional, ids::ORIGIN_P95), at),
    };

    let totals = |prefix: &str, names: &[String]| -> Vec<(String, f64)> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let sum = regional
                    .get(&format!("{prefix}{i}"))
                    .map(|points| per_minute(points, plan.start_ms, plan.minutes))
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .sum();
                (name.clone(), sum)
            })
            .collect()
    };
    let top_countries = top(&totals(ids::COUNTRY, &breakdowns.countries), TOP_N);
    let top_edge_locations = top(&totals(ids::EDGE, &breakdowns.edge_locations), TOP_N);

    let rules = if config.alarms.enabled {
        config
            .alarms
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let states = minutes(regional, &format!("{}{i}", ids::RULE));
                RuleStatus {
                    rule: rule.name.clone(),
                    severity: rule.severity.as_str(),
                    state: latest(&states).and_then(|j| states[j]).and_then(state_name),
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let waf = plan.web_acl.as_ref().map(|(web_acl, rules)| {
        waf_traffic(
            web_acl,
            rules,
            &|id: &str| minutes(cloudfront, id),
            &minute_of,
        )
    });

    let cf_requests = minutes(cloudfront, ids::CF_REQUESTS);
    let cf_at = latest(&cf_requests);
    let hit_rate = minutes(cloudfront, ids::CF_HIT_RATE);
    let origin = minutes(cloudfront, ids::CF_ORIGIN_LATENCY);
    let by_status: Vec<(String, Vec<Option<f64>>)> = CLOUDFRONT_STATUS_RATES
        .iter()
        .map(|code| {
            let id = format!("{}{code}", ids::CF_STATUS);
            (code.to_string(), minutes(cloudfront, &id))
        })
        .collect();
    let status_published = by_status.iter().any(|(_, s)| latest(s).is_some());
    let cloudfront = CloudFront {
        error_rate_by_status: by_status
            .into_iter()
            .map(|(code, history)| (code, series(history, cf_at)))
            .collect(),
        minute: minute_of(cf_at),
        requests_per_second: series(rates(&cf_requests), cf_at),
        bytes_per_second: series(rates(&minutes(cloudfront, ids::CF_BYTES)), cf_at),
        error_rate_4xx: series(minutes(cloudfront, ids::CF_4XX), cf_at),
        error_rate_5xx: series(minutes(cloudfront, ids::CF_5XX), cf_at),
        additional_metrics: latest(&hit_rate).is_some()
            || latest(&origin).is_some()
            || status_published,
        cache_hit_rate: series(hit_rate, cf_at),
        origin_latency_p95_ms: series(origin, cf_at),
    };

    Snapshot {
        at: timestamp(now_ms),
        stack: config.name.clone(),
        region: config.region.clone(),
        distribution_id: target.id.clone(),
        distribution_domain: target.domain.clone(),
        window_minutes: plan.minutes,
        analyser,
        top_countries,
        top_edge_locations,
        rules,
        cloudfront,
        waf,
        canary: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::query;
    use super::*;

    const NOW: i64 = 1_700_000_075_000; // 22:14:35 UTC; window minutes end at 22:15

    fn setup() -> (StackConfig, Target, Plan, Breakdowns) {
        let config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        let target = Target {
            id: "E1".to_string(),
            domain: "d1.cloudfront.net".to_string(),
        };
        let breakdowns = Breakdowns {
            countries: vec!["US".into(), "DE".into(), "Other".into(), "JP".into()],
            edge_locations: vec!["FRA56-P1".into()],
        };
        let plan = query::plan(&config, &target, &breakdowns, 5, NOW);
        (config, target, plan, breakdowns)
    }

    fn minute(plan: &Plan, i: i64) -> i64 {
        plan.start_ms + i * 60_000
    }

    #[test]
    fn datapoints_land_in_their_minutes() {
        let start = 600_000;
        let points = [(660_000, 2.0), (600_000, 1.0), (0, 9.0), (900_000, 7.0)];
        assert_eq!(
            per_minute(&points, start, 4),
            vec![Some(1.0), Some(2.0), None, None]
        );
        assert_eq!(latest(&[None, Some(1.0), None]), Some(1));
        assert_eq!(latest(&[None, None]), None);
    }

    #[test]
    fn rates_and_ratios() {
        assert_eq!(rates(&[Some(120.0), None]), vec![Some(2.0), None]);
        assert_eq!(
            ratios(
                &[Some(6.0), Some(1.0), None, Some(0.0)],
                &[Some(120.0), Some(0.0), Some(5.0), None]
            ),
            vec![Some(5.0), None, None, None]
        );
    }

    #[test]
    fn top_n_leaves_other_out_but_counts_it() {
        let totals = vec![
            ("US".to_string(), 50.0),
            ("Other".to_string(), 70.0),
            ("DE".to_string(), 30.0),
            ("JP".to_string(), 20.0),
            ("BR".to_string(), 0.0),
            ("AT".to_string(), 30.0),
        ];
        let got = top(&totals, 3);
        let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["US", "AT", "DE"]);
        assert_eq!(got[0].percent, 25.0);
        assert_eq!(got[1].requests, 30.0);
        assert!(top(&[], 3).is_empty());
    }

    #[test]
    fn rule_states() {
        assert_eq!(state_name(0.0), Some("OK"));
        assert_eq!(state_name(1.0), Some("ALARM"));
        assert_eq!(state_name(2.0), Some("INSUFFICIENT_DATA"));
        assert_eq!(state_name(7.0), None);
    }

    #[test]
    fn nothing_published_is_no_data_not_zeros() {
        let (config, target, plan, breakdowns) = setup();
        let snap = build(
            &config,
            &target,
            &plan,
            &breakdowns,
            &Results::new(),
            &Results::new(),
            NOW,
        );
        assert_eq!(snap.analyser.minute, None);
        assert_eq!(snap.analyser.requests_per_second.now, None);
        assert_eq!(snap.analyser.requests_per_second.history, vec![None; 5]);
        assert!(snap.top_countries.is_empty());
        assert!(snap.rules.iter().all(|r| r.state.is_none()));
        assert!(!snap.cloudfront.additional_metrics);
        assert_eq!(snap.at, "2023-11-14T22:14:35Z");
    }

    #[test]
    fn current_values_come_from_the_latest_minute_with_requests() {
        let (config, target, plan, breakdowns) = setup();
        let mut r = Results::new();
        let (m1, m2, m3) = (minute(&plan, 1), minute(&plan, 2), minute(&plan, 3));
        r.insert(ids::REQUESTS.into(), vec![(m1, 60.0), (m2, 120.0)]);
        r.insert(ids::BYTES_SENT.into(), vec![(m1, 6000.0), (m2, 30_000.0)]);
        r.insert(ids::STATUS_4XX.into(), vec![(m2, 6.0)]);
        r.insert(ids::STATUS_5XX.into(), vec![(m2, 3.0)]);
        r.insert(ids::CACHE_HITS.into(), vec![(m2, 90.0)]);
        r.insert(ids::P50.into(), vec![(m2, 40.0)]);
        r.insert(ids::P95.into(), vec![(m2, 180.0)]);
        // A later minute without requests does not move the current minute.
        r.insert(ids::P99.into(), vec![(m2, 450.0), (m3, 999.0)]);
        r.insert("country0".into(), vec![(m1, 10.0), (m2, 30.0)]);
        r.insert("country1".into(), vec![(m2, 20.0)]);
        r.insert("country2".into(), vec![(m2, 40.0)]);
        r.insert("pop0".into(), vec![(m2, 120.0)]);
        r.insert("rule2".into(), vec![(m1, 1.0), (m2, 0.0)]);
        let mut cf = Results::new();
        cf.insert(ids::CF_REQUESTS.into(), vec![(m3, 300.0)]);
        cf.insert(ids::CF_5XX.into(), vec![(m3, 1.5)]);
        let snap = build(&config, &target, &plan, &breakdowns, &r, &cf, NOW);
        let a = &snap.analyser;
        assert_eq!(a.minute.as_deref(), Some("2023-11-14T22:12:00Z"));
        assert_eq!(a.requests_per_second.now, Some(2.0));
        assert_eq!(
            a.requests_per_second.history,
            vec![None, Some(1.0), Some(2.0), None, None]
        );
        assert_eq!(a.bytes_per_second.now, Some(500.0));
        assert_eq!(a.error_rate_4xx.now, Some(5.0));
        assert_eq!(a.error_rate_5xx.now, Some(2.5));
        assert_eq!(a.cache_hit_ratio.now, Some(75.0));
        assert_eq!(a.latency_p50_ms.now, Some(40.0));
        assert_eq!(a.latency_p95_ms.now, Some(180.0));
        assert_eq!(a.latency_p99_ms.now, Some(450.0));
        assert_eq!(a.latency_p99_ms.history[3], Some(999.0));
        assert_eq!(a.origin_latency_p95_ms.now, None);
        let countries: Vec<(&str, f64)> = snap
            .top_countries
            .iter()
            .map(|s| (s.name.as_str(), s.percent))
            .collect();
        assert_eq!(countries, [("US", 40.0), ("DE", 20.0)]);
        assert_eq!(snap.top_edge_locations[0].percent, 100.0);
        let high5xx = snap
            .rules
            .iter()
            .find(|r| r.rule == config.alarms.rules[2].name)
            .unwrap();
        assert_eq!(high5xx.state, Some("OK"));
        assert!(snap.rules.iter().filter(|r| r.state.is_some()).count() == 1);
        assert_eq!(
            snap.cloudfront.minute.as_deref(),
            Some("2023-11-14T22:13:00Z")
        );
        assert_eq!(snap.cloudfront.requests_per_second.now, Some(5.0));
        assert_eq!(snap.cloudfront.error_rate_5xx.now, Some(1.5));
        assert_eq!(snap.cloudfront.cache_hit_rate.now, None);
        assert!(!snap.cloudfront.additional_metrics);
    }

    #[test]
    fn the_web_acl_totals_and_top_rules_come_from_the_us_east_1_answers() {
        let config = StackConfig::parse(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[waf]\n",
            "p.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (_, target, _, breakdowns) = setup();
        let plan = query::plan(&config, &target, &breakdowns, 5, NOW);
        let (_, rules) = plan.web_acl.clone().unwrap();
        let index = |rule: &str| rules.iter().position(|r| r == rule).unwrap();
        let (m2, m3) = (minute(&plan, 2), minute(&plan, 3));
        let mut us = Results::new();
        us.insert(ids::WAF_ALLOWED.into(), vec![(m2, 600.0), (m3, 540.0)]);
        // Minute 3 blocked 60 of 600 decided; minute 2 blocked none (no datum).
        us.insert(ids::WAF_BLOCKED.into(), vec![(m3, 60.0)]);
        us.insert(ids::WAF_COUNTED.into(), vec![(m3, 12.0)]);
        let rate = index("rate-limit");
        let block = index("block-list");
        let common = index("AWSManagedRulesCommonRuleSet");
        us.insert(format!("wafruleblocked{rate}"), vec![(m3, 45.0)]);
        us.insert(format!("wafruleblocked{block}"), vec![(m3, 15.0)]);
        us.insert(
            format!("wafrulecounted{common}"),
            vec![(m2, 2.0), (m3, 10.0)],
        );
        let snap = build(
            &config,
            &target,
            &plan,
            &breakdowns,
            &Results::new(),
            &us,
            NOW,
        );
        let waf = snap.waf.clone().unwrap();
        assert_eq!(waf.web_acl, "cfrp-shop-web-acl");
        assert_eq!(waf.minute.as_deref(), Some("2023-11-14T22:13:00Z"));
        assert_eq!(waf.allowed_per_second.now, Some(9.0));
        assert_eq!(waf.blocked_per_second.now, Some(1.0));
        assert_eq!(waf.counted_per_second.now, Some(0.2));
        assert_eq!(waf.blocked_percent.now, Some(10.0));
        assert_eq!(
            waf.blocked_percent.history,
            vec![None, None, Some(0.0), Some(10.0), None]
        );
        let top: Vec<(&str, f64, f64, f64)> = waf
            .top_rules
            .iter()
            .map(|r| (r.rule.as_str(), r.blocked, r.counted, r.percent_of_blocked))
            .collect();
        assert_eq!(
            top,
            [
                ("rate-limit", 45.0, 0.0, 75.0),
                ("block-list", 15.0, 0.0, 25.0),
                ("AWSManagedRulesCommonRuleSet", 0.0, 12.0, 0.0)
            ]
        );
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["waf"]["top_rules"][0]["rule"], "rate-limit");
        assert_eq!(json["waf"]["blocked_percent"]["now"], 10.0);
        let text =
            super::super::render::render(&snap, super::super::render::Style::PLAIN).join("\n");
        assert!(
            text.contains(
                "WAF (AWS/WAFV2, us-east-1) · web ACL cfrp-shop-web-acl, minute 22:13 UTC"
            ),
            "{text}"
        );
        assert!(
            text.contains("blocked share") && text.contains("10.0 %"),
            "{text}"
        );
        assert!(
            text.contains("rate-limit 45 blocked (75.0 %)  block-list 15 blocked (25.0 %)  AWSManagedRulesCommonRuleSet 12 counted"),
            "{text}"
        );
    }

    #[test]
    fn without_waf_there_is_no_waf_view_and_with_it_no_data_is_no_data() {
        let (config, target, plan, breakdowns) = setup();
        let snap = build(
            &config,
            &target,
            &plan,
            &breakdowns,
            &Results::new(),
            &Results::new(),
            NOW,
        );
        assert_eq!(snap.waf, None);
        assert_eq!(
            serde_json::to_value(&snap).unwrap()["waf"],
            serde_json::Value::Null
        );
        let text =
            super::super::render::render(&snap, super::super::render::Style::PLAIN).join("\n");
        assert!(!text.contains("WAF"), "{text}");

        let config = StackConfig::parse(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[waf]\n",
            "p.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let plan = query::plan(&config, &target, &breakdowns, 5, NOW);
        let snap = build(
            &config,
            &target,
            &plan,
            &breakdowns,
            &Results::new(),
            &Results::new(),
            NOW,
        );
        let waf = snap.waf.clone().unwrap();
        assert_eq!(waf.minute, None);
        assert_eq!(waf.blocked_per_second.now, None);
        assert_eq!(waf.blocked_per_second.history, vec![None; 5]);
        assert!(waf.top_rules.is_empty());
        let text =
            super::super::render::render(&snap, super::super::render::Style::PLAIN).join("\n");
        assert!(
            text.contains(
                "no data yet — WAF has published no request counts for web ACL cfrp-shop-web-acl"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_additional_metrics_error_rates_by_status_are_read_and_shown() {
        let (config, target, plan, breakdowns) = setup();
        let queried: Vec<&str> = plan.cloudfront.iter().map(|q| q.metric.as_str()).collect();
        for metric in [
            "401ErrorRate",
            "403ErrorRate",
            "404ErrorRate",
            "502ErrorRate",
            "503ErrorRate",
            "504ErrorRate",
        ] {
            assert!(queried.contains(&metric), "{queried:?}");
        }
        let m3 = minute(&plan, 3);
        let mut cf = Results::new();
        cf.insert(ids::CF_REQUESTS.into(), vec![(m3, 300.0)]);
        cf.insert("cf403".into(), vec![(m3, 2.5)]);
        cf.insert("cf504".into(), vec![(m3, 0.5)]);
        let snap = build(
            &config,
            &target,
            &plan,
            &breakdowns,
            &Results::new(),
            &cf,
            NOW,
        );
        let c = &snap.cloudfront;
        assert!(c.additional_metrics);
        assert_eq!(c.error_rate_by_status["403"].now, Some(2.5));
        assert_eq!(c.error_rate_by_status["504"].now, Some(0.5));
        assert_eq!(c.error_rate_by_status["401"].now, None);
        assert_eq!(c.error_rate_by_status.len(), 6);
        let lines = super::super::render::render(&snap, super::super::render::Style::PLAIN);
        let text = lines.join("\n");
        assert!(text.contains("403 rate"), "{text}");
        assert!(!text.contains("not published"), "{text}");
    }
}
