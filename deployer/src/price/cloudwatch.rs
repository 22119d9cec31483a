//! What CloudWatch bills the stack: the custom metrics the analyser and the evaluator publish
//! (counted from the metric catalog, the logged fields and the configured top-N cardinality
//! and app headers), their PutMetricData requests, the evaluator's GetMetricData metrics,
//! the alarms `up` creates, the dashboard, and CloudFront's additional metrics when the
//! distribution has them on. Figures: [`super::table`] (CloudWatch pricing page, US East).

use cfrp_config::rules::Expression;
use cfrp_config::{Field, StackConfig};

use super::{Category, LineItem, item, report, table};

/// The log analyser's metric series for one distribution at most: each metric with each
/// dimension value it can carry in a month (see `functions/log-analyser/src/aggregate.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnalyserSeries {
    /// Requests, bytes, status classes, error rates, cache hits and ratio, and the latency
    /// distributions whose fields are logged.
    pub per_distribution: u64,
    /// Country, edge location, path pattern and protocol version breakdowns: up to top N
    /// values plus `Other` each (path patterns: the behaviours'; protocol versions: 5).
    pub breakdowns: u64,
    /// `RequestsByAppHeader`: top N values plus `Other` for each app header.
    pub app_headers: u64,
    /// `ClientsByThreatLevel` (4 levels) and `HighThreatClients`.
    pub threat: u64,
}

impl AnalyserSeries {
    pub fn total(&self) -> u64 {
        self.per_distribution + self.breakdowns + self.app_headers + self.threat
    }
}

/// The HTTP versions CloudFront logs in `cs-protocol-version`: HTTP/0.9, 1.0, 1.1, 2.0, 3.0.
const PROTOCOL_VERSIONS: u64 = 5;
/// The analyser's threat levels (LOW, MEDIUM, HIGH, CRITICAL) and their HIGH+ total.
const THREAT_SERIES: u64 = 4 + 1;

/// The analyser's series for `config` (none when real-time logging is off).
pub fn analyser_series(config: &StackConfig) -> AnalyserSeries {
    if !config.logging.enabled {
        return AnalyserSeries::default();
    }
    let logged = |field: Field| config.logging.fields.contains(&field);
    let top = u64::from(config.metrics.top_n) + 1;
    // Requests, BytesSent, BytesReceived, Status2xx–5xx, ErrorRate4xx/5xx, CacheHits,
    // CacheHitRatio; a latency distribution only when its field is logged.
    let latencies = [
        Field::TimeTaken,
        Field::TimeToFirstByte,
        Field::OriginFirstByteLatency,
        Field::OriginLastByteLatency,
    ]
    .into_iter()
    .filter(|f| logged(*f))
    .count() as u64;
    let behaviours = config.behaviors.len() as u64 + 1;
    let breakdowns = [
        (Field::Country, top),
        (Field::EdgeLocation, top),
        (Field::CacheBehaviorPathPattern, top.min(behaviours)),
        (Field::ProtocolVersion, top.min(PROTOCOL_VERSIONS)),
    ]
    .into_iter()
    .filter(|(f, _)| logged(*f))
    .map(|(_, n)| n)
    .sum();
    let app_headers = if logged(Field::Headers) {
        config.metrics.app_headers.len() as u64 * top
    } else {
        0
    };
    AnalyserSeries {
        per_distribution: 11 + latencies,
        breakdowns,
        app_headers,
        threat: THREAT_SERIES,
    }
}

/// Metrics one evaluator run reads with GetMetricData: per rule its metric (or each metric
/// its expression names) and its previous `RuleState` (see
/// `functions/alarm-evaluator/src/queries.rs`).
pub fn evaluator_metrics_per_run(config: &StackConfig) -> u64 {
    config
        .alarms
        .rules
        .iter()
        .map(|rule| {
            let read = match (
                &rule.metric,
                rule.expression.as_deref().map(Expression::parse),
            ) {
                (Some(_), _) => 1,
                (None, Some(Ok(expression))) => expression.metrics().len() as u64,
                _ => 0,
            };
            read + 1
        })
        .sum()
}

/// `(alarm metrics at standard resolution, at high resolution)` of the alarms `up` creates:
/// CloudWatch bills each metric an alarm reads (metric math included).
pub fn alarm_metrics(config: &StackConfig) -> (u64, u64) {
    let mut standard = 0;
    let mut high = 0;
    for alarm in crate::spec::alarms::alarms(config, "") {
        for query in &alarm.queries {
            if let Some(stat) = query.stat.as_ref().filter(|s| s.metric.is_some()) {
                if stat.period < 60 {
                    high += 1;
                } else {
                    standard += 1;
                }
            }
        }
    }
    (standard, high)
}

/// The cost of `metrics` custom metrics a month over CloudWatch's volume tiers.
fn tiered_metrics(metrics: f64) -> Vec<(usize, f64, f64)> {
    let mut lower = 0.0;
    let mut out = Vec::new();
    for (i, (upper, price)) in table::CLOUDWATCH_METRIC_TIERS.iter().enumerate() {
        if metrics <= lower {
            break;
        }
        out.push((i, metrics.min(*upper) - lower, *price));
        lower = *upper;
    }
    out
}

/// CloudWatch's items for a month in which the analyser runs `analyser_runs` times and the
/// evaluator `evaluator_runs` times (the Lambda items' counts).
pub fn items(
    config: &StackConfig,
    analyser_runs: f64,
    evaluator_runs: f64,
    notes: &mut Vec<String>,
) -> Vec<LineItem> {
    let mut items = Vec::new();
    let analyser = analyser_series(config);
    let rules = if config.alarms.enabled {
        config.alarms.rules.len() as u64
    } else {
        0
    };
    let series = analyser.total() + rules;
    for (tier, quantity, price) in tiered_metrics(series as f64) {
        items.push(item(
            Category::CloudWatch,
            format!(
                "Custom metrics ({} analyser series, {} rule states), {}",
                analyser.total(),
                rules,
                table::CLOUDWATCH_METRIC_TIER_NAMES[tier]
            ),
            quantity,
            "metric-month",
            price,
        ));
    }
    if series > 0 {
        notes.push(format!(
            "Custom metrics are counted at most: the analyser's {} series are {} per distribution, {} breakdown values (top {} + Other per breakdown), {} app-header values and {} threat series; MalformedRecords is published only in a minute with malformed records and is left out; the evaluator adds one RuleState per rule ({rules}).",
            analyser.total(),
            analyser.per_distribution,
            analyser.breakdowns,
            config.metrics.top_n,
            analyser.app_headers,
            analyser.threat,
        ));
    }

    // One PutMetricData call carries up to 1,000 datums; a run publishes one datum per
    // series and minute it covers, so a run of a minute or less makes this many calls.
    let analyser_calls = analyser_runs * (analyser.total() as f64 / 1000.0).ceil();
    let evaluator_calls = if rules > 0 {
        evaluator_runs * (rules as f64 / 1000.0).ceil()
    } else {
        0.0
    };
    if analyser_calls + evaluator_calls > 0.0 {
        items.push(item(
            Category::CloudWatch,
            format!(
                "PutMetricData requests (analyser {}, evaluator {})",
                report::count(analyser_calls),
                report::count(evaluator_calls)
            ),
            (analyser_calls + evaluator_calls) / 1000.0,
            "1k requests",
            table::CLOUDWATCH_REQUESTS_PER_THOUSAND,
        ));
    }
    if config.alarms.enabled {
        let per_run = evaluator_metrics_per_run(config);
        let metrics = evaluator_runs * per_run as f64;
        if metrics > 0.0 {
            items.push(item(
                Category::CloudWatch,
                format!(
                    "GetMetricData metrics requested by the evaluator ({per_run} a run, {} runs)",
                    report::count(evaluator_runs)
                ),
                metrics / 1000.0,
                "1k metrics",
                table::CLOUDWATCH_GET_METRIC_DATA_PER_THOUSAND_METRICS,
            ));
        }
    }
    let (standard, high) = alarm_metrics(config);
    if standard > 0 {
        items.push(item(
            Category::CloudWatch,
            "Alarm metrics, standard resolution (every metric each alarm reads)".to_string(),
            standard as f64,
            "alarm metric-month",
            table::CLOUDWATCH_ALARM_METRIC_STANDARD,
        ));
    }
    if high > 0 {
        items.push(item(
            Category::CloudWatch,
            "Alarm metrics, high resolution".to_string(),
            high as f64,
            "alarm metric-month",
            table::CLOUDWATCH_ALARM_METRIC_HIGH_RESOLUTION,
        ));
    }
    items.push(item(
        Category::CloudWatch,
        format!("Dashboard {}", config.names().dashboard()),
        1.0,
        "dashboard-month",
        table::CLOUDWATCH_DASHBOARD_MONTH,
    ));
    if config.distribution.additional_metrics {
        items.push(item(
            Category::CloudWatch,
            format!(
                "CloudFront additional metrics ({} per distribution, at the custom-metric rate)",
                table::CLOUDFRONT_ADDITIONAL_METRICS
            ),
            table::CLOUDFRONT_ADDITIONAL_METRICS,
            "metric-month",
            table::CLOUDWATCH_METRIC_TIERS[0].1,
        ));
    }
    items
}
