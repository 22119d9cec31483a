//! One CloudWatch alarm per rule, watching the rule's state metric that the evaluator
//! publishes (0 = OK, 1 = ALARM, 2 = INSUFFICIENT_DATA), so notification is CloudWatch's and
//! SNS's own job.

use cfrp_config::{Rule, StackConfig, metrics as m};

use crate::diff::{Fields, fields};
use crate::ports::cloudwatch::Alarm;

/// The evaluator's value for ALARM.
pub const ALARM_VALUE: f64 = 1.0;
/// Metric math turning the state into "is in ALARM" (1) or not (0): a plain threshold on
/// the state would also fire on INSUFFICIENT_DATA (2).
pub const IN_ALARM_EXPRESSION: &str = "IF(state == 1, 1, 0)";

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub name: String,
    pub rule: String,
    pub description: String,
    pub namespace: String,
    /// The evaluator publishes once per schedule tick; one minute is its finest schedule.
    pub period_seconds: i32,
    pub topic_arn: String,
}

pub fn alarms(config: &StackConfig, topic_arn: &str) -> Vec<AlarmSpec> {
    if !config.alarms.enabled {
        return Vec::new();
    }
    let names = config.names();
    config
        .alarms
        .rules
        .iter()
        .map(|rule| AlarmSpec {
            name: names.alarm(&rule.name),
            rule: rule.name.clone(),
            description: description(rule),
            namespace: config.metrics.namespace.clone(),
            period_seconds: 60,
            topic_arn: topic_arn.to_string(),
        })
        .collect()
}

fn description(rule: &Rule) -> String {
    let what = match (&rule.metric, &rule.expression) {
        (Some(metric), _) => format!("{} {metric}", rule.statistic),
        (None, Some(expression)) => expression.clone(),
        (None, None) => String::new(),
    };
    format!(
        "{}: {} {} {} ({} of {} periods of {} s). Action: {}",
        rule.severity,
        what,
        rule.comparison,
        rule.threshold,
        rule.datapoints_to_alarm,
        rule.evaluation_periods,
        rule.period_seconds,
        rule.action
    )
}

impl AlarmSpec {
    pub fn flatten(&self) -> Fields {
        fields([
            ("description", self.description.clone()),
            (
                "metric",
                format!(
                    "{}/{} {}={}",
                    self.namespace,
                    m::RULE_STATE,
                    m::DIM_RULE,
                    self.rule
                ),
            ),
            ("expression", IN_ALARM_EXPRESSION.to_string()),
            ("period", self.period_seconds.to_string()),
            (
                "threshold",
                format!("GreaterThanOrEqualToThreshold {ALARM_VALUE}"),
            ),
            ("evaluation", "1 of 1".to_string()),
            ("missing_data", "missing".to_string()),
            ("alarm_actions", self.topic_arn.clone()),
            ("ok_actions", self.topic_arn.clone()),
        ])
    }
}

/// The same fields read from an existing alarm.
pub fn flatten_existing(alarm: &Alarm) -> Fields {
    let mut metric = String::new();
    let mut expression = String::new();
    let mut period = String::new();
    for query in &alarm.queries {
        if let Some(e) = &query.expression {
            expression = e.clone();
        }
        if let Some(stat) = &query.stat {
            period = stat.period.to_string();
            if let Some(mm) = &stat.metric {
                let dims: Vec<String> = mm
                    .dimensions
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                metric = format!("{}/{} {}", mm.namespace, mm.name, dims.join(","));
            }
        }
    }
    fields([
        ("description", alarm.description.clone()),
        ("metric", metric),
        ("expression", expression),
        ("period", period),
        (
            "threshold",
            format!("{} {}", alarm.comparison, alarm.threshold),
        ),
        (
            "evaluation",
            format!(
                "{} of {}",
                alarm
                    .datapoints_to_alarm
                    .unwrap_or(alarm.evaluation_periods),
                alarm.evaluation_periods
            ),
        ),
        (
            "missing_data",
            alarm
                .treat_missing_data
                .as_deref()
                .unwrap_or("missing")
                .to_string(),
        ),
        ("alarm_actions", alarm.alarm_actions.join(",")),
        ("ok_actions", alarm.ok_actions.join(",")),
    ])
}
