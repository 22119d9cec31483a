//! The stack's CloudWatch alarms, all notifying the alarm topic:
//! - one per rule, watching the rule's state metric that the evaluator publishes (0 = OK,
//!   1 = ALARM, 2 = INSUFFICIENT_DATA), so notification is CloudWatch's and SNS's own job;
//! - the pipeline's own (`[alarms.pipeline]`), on the metrics AWS publishes for the queues and
//!   functions and on the analyser's malformed-record count, so a broken pipeline is not
//!   silent.

use cfrp_config::{Function, Rule, StackConfig, metrics as m};

use crate::diff::{Fields, fields};
use crate::ports::cloudwatch::{Alarm, AlarmMetric, AlarmQuery, QueryStat};

/// The evaluator's value for ALARM.
pub const ALARM_VALUE: f64 = 1.0;
/// Metric math turning the state into "is in ALARM" (1) or not (0): a plain threshold on
/// the state would also fire on INSUFFICIENT_DATA (2).
pub const IN_ALARM_EXPRESSION: &str = "IF(state == 1, 1, 0)";

/// One alarm as `up` puts it: its queries (metrics read and, last, the value compared)
/// and when it fires.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    /// In order; the last one is the value compared with the threshold.
    pub queries: Vec<AlarmQuery>,
    /// The API's name of the comparison, e.g. `GreaterThanThreshold`.
    pub comparison: &'static str,
    pub threshold: f64,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    /// `missing`, `notBreaching`, `breaching` or `ignore`.
    pub treat_missing_data: &'static str,
    /// INSUFFICIENT_DATA notifies too: for an alarm whose missing data is the failure.
    pub notify_insufficient_data: bool,
    pub topic_arn: String,
}

pub fn alarms(config: &StackConfig, topic_arn: &str) -> Vec<AlarmSpec> {
    if !config.alarms.enabled {
        return Vec::new();
    }
    let names = config.names();
    let mut out: Vec<AlarmSpec> = config
        .alarms
        .rules
        .iter()
        .map(|rule| AlarmSpec {
            name: names.alarm(&rule.name),
            description: description(rule),
            queries: vec![
                stat_query(
                    "state",
                    metric(
                        &config.metrics.namespace,
                        m::RULE_STATE,
                        &[(m::DIM_RULE, &rule.name)],
                    ),
                    // The evaluator publishes once per schedule tick; one minute is its
                    // finest schedule.
                    60,
                    "Maximum",
                ),
                AlarmQuery {
                    id: "in_alarm".to_string(),
                    expression: Some(IN_ALARM_EXPRESSION.to_string()),
                    label: Some(format!("{} in ALARM", rule.name)),
                    stat: None,
                },
            ],
            comparison: "GreaterThanOrEqualToThreshold",
            threshold: ALARM_VALUE,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            treat_missing_data: "missing",
            notify_insufficient_data: false,
            topic_arn: topic_arn.to_string(),
        })
        .collect();
    if config.alarms.pipeline.enabled {
        out.extend(pipeline(config, topic_arn));
    }
    out
}

/// The pipeline's alarms for the parts of the stack the config has.
fn pipeline(config: &StackConfig, topic_arn: &str) -> Vec<AlarmSpec> {
    let names = config.names();
    let limits = &config.alarms.pipeline;
    let alarm = |what: &str, description: String, query: AlarmQuery| AlarmSpec {
        name: names.pipeline_alarm(what),
        description,
        queries: vec![query],
        comparison: "GreaterThanThreshold",
        threshold: 0.0,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        // No datapoint is the healthy case for these: an idle queue or function publishes
        // nothing (SQS stops publishing for a queue inactive for six hours).
        treat_missing_data: "notBreaching",
        notify_insufficient_data: false,
        topic_arn: topic_arn.to_string(),
    };
    let depth = |queue: &str| {
        stat_query(
            "m",
            metric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                &[("QueueName", queue)],
            ),
            60,
            "Maximum",
        )
    };
    let lambda_metric = |function: Function, name: &str, period: i32, stat: &str| {
        stat_query(
            "m",
            metric(
                "AWS/Lambda",
                name,
                &[("FunctionName", &names.lambda(function))],
            ),
            period,
            stat,
        )
    };
    let mut out = Vec::new();
    if config.logging.enabled {
        let queue = names.analyser_failure_queue();
        out.push(alarm(
            "log-analyser-failures",
            format!("Records the log analyser gave up on are waiting in {queue}: their metrics are missing until they are replayed."),
            depth(&queue),
        ));
        let mut behind = alarm(
            "log-analyser-iterator-age",
            format!(
                "The log analyser is more than {} s behind the stream: metrics and alarms run late, and records older than the stream's retention are lost.",
                limits.iterator_age_seconds
            ),
            lambda_metric(Function::LogAnalyser, "IteratorAge", 60, "Maximum"),
        );
        behind.threshold = f64::from(limits.iterator_age_seconds) * 1000.0;
        behind.evaluation_periods = 5;
        behind.datapoints_to_alarm = 3;
        out.push(behind);
        let mut malformed = alarm(
            "malformed-records",
            format!(
                "More than {} real-time log records in 5 minutes could not be parsed: the log config's fields and the analyser disagree.",
                limits.malformed_records
            ),
            stat_query(
                "m",
                metric(&config.metrics.namespace, m::MALFORMED_RECORDS, &[]),
                300,
                "Sum",
            ),
        );
        malformed.threshold = f64::from(limits.malformed_records);
        out.push(malformed);
    }
    if config.manuscripts.is_some() {
        let queue = names.manuscripts_dead_letter_queue();
        out.push(alarm(
            "manuscripts-dead-letters",
            format!("Manuscript changes whose invalidation failed are waiting in {queue}: those paths may still be served stale."),
            depth(&queue),
        ));
    }
    for function in crate::spec::functions(config) {
        let short = function.short();
        let mut errors = alarm(
            &format!("{short}-errors"),
            format!(
                "{} failed more than {} times in 5 minutes.",
                names.lambda(function),
                limits.function_errors
            ),
            lambda_metric(function, "Errors", 300, "Sum"),
        );
        errors.threshold = f64::from(limits.function_errors);
        out.push(errors);
        out.push(alarm(
            &format!("{short}-throttles"),
            format!(
                "{} was throttled in the last 5 minutes: events wait or are retried.",
                names.lambda(function)
            ),
            lambda_metric(function, "Throttles", 300, "Sum"),
        ));
    }
    // The evaluator runs on a schedule: no invocation at all means the schedule or the
    // function is broken. Lambda publishes Invocations only when invoked, so "stopped" is the
    // alarm's INSUFFICIENT_DATA state, which notifies: a new alarm starts there and stays
    // quiet until the first invocations, where `breaching` would page on every first `up`.
    // Each period is at least the schedule's interval, so a slow schedule is not "stopped"
    // between its runs; a cron schedule's gaps vary, so it gets no such alarm.
    if let Some(interval) = cfrp_config::checks::rate_seconds(&config.alarms.schedule) {
        let period = interval.max(300).div_ceil(60) * 60;
        let period = i32::try_from(period).unwrap_or(86_400);
        let mut stopped = alarm(
            "alarm-evaluator-stopped",
            format!(
                "{} was not invoked for two periods of {period} s (schedule {}): no rule is being evaluated (schedule disabled or deleted?).",
                names.lambda(Function::AlarmEvaluator),
                config.alarms.schedule
            ),
            lambda_metric(Function::AlarmEvaluator, "Invocations", period, "Sum"),
        );
        stopped.comparison = "LessThanThreshold";
        stopped.threshold = 1.0;
        stopped.evaluation_periods = 2;
        stopped.datapoints_to_alarm = 2;
        stopped.treat_missing_data = "missing";
        stopped.notify_insufficient_data = true;
        out.push(stopped);
    }
    out
}

/// The name of every alarm the config gives the stack (enabled or not, so `down` knows them
/// after a feature was turned off).
pub fn alarm_names(config: &StackConfig) -> Vec<String> {
    let mut everything = config.clone();
    everything.alarms.enabled = true;
    everything.alarms.pipeline.enabled = true;
    everything.logging.enabled = true;
    if everything.manuscripts.is_none() {
        everything.manuscripts = Some(cfrp_config::Manuscripts {
            bucket: "any".to_string(),
            key_prefix: String::new(),
            path_prefix: "/".to_string(),
            batch_window_seconds: 0,
        });
    }
    // A cron schedule has no stopped-evaluator alarm; the rate one's name is the same.
    everything.alarms.schedule = "rate(1 minute)".to_string();
    alarms(&everything, "")
        .into_iter()
        .map(|a| a.name)
        .collect()
}

fn metric(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> AlarmMetric {
    AlarmMetric {
        namespace: namespace.to_string(),
        name: name.to_string(),
        dimensions: dimensions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn stat_query(id: &str, metric: AlarmMetric, period: i32, stat: &str) -> AlarmQuery {
    AlarmQuery {
        id: id.to_string(),
        expression: None,
        label: None,
        stat: Some(QueryStat {
            metric: Some(metric),
            period,
            stat: stat.to_string(),
        }),
    }
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
    /// The alarm as DescribeAlarms will show it once put.
    pub fn as_alarm(&self) -> Alarm {
        Alarm {
            name: self.name.clone(),
            description: self.description.clone(),
            queries: self.queries.clone(),
            comparison: self.comparison.to_string(),
            threshold: self.threshold,
            evaluation_periods: self.evaluation_periods,
            datapoints_to_alarm: Some(self.datapoints_to_alarm),
            treat_missing_data: Some(self.treat_missing_data.to_string()),
            alarm_actions: vec![self.topic_arn.clone()],
            ok_actions: vec![self.topic_arn.clone()],
            insufficient_data_actions: if self.notify_insufficient_data {
                vec![self.topic_arn.clone()]
            } else {
                Vec::new()
            },
            state: None,
        }
    }

    /// The fields compared with an existing alarm: the same view of both.
    pub fn flatten(&self) -> Fields {
        flatten_existing(&self.as_alarm())
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
                metric = format!(
                    "{} {}/{} {}",
                    stat.stat,
                    mm.namespace,
                    mm.name,
                    dims.join(",")
                );
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
        (
            "insufficient_data_actions",
            alarm.insufficient_data_actions.join(","),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cfrp-shop-alarms";

    fn example() -> StackConfig {
        StackConfig::parse(
            include_str!("../../../shared/examples/proxy.toml"),
            "proxy.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn by_name<'a>(specs: &'a [AlarmSpec], name: &str) -> &'a AlarmSpec {
        specs
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no alarm {name}"))
    }

    fn watched(spec: &AlarmSpec) -> (String, String, Vec<(String, String)>, String, i32) {
        let stat = spec.queries[0].stat.clone().unwrap_or_default();
        let metric = stat.metric.unwrap_or_default();
        (
            metric.namespace,
            metric.name,
            metric.dimensions,
            stat.stat,
            stat.period,
        )
    }

    #[test]
    fn the_pipeline_has_an_alarm_for_each_way_it_can_break_silently() {
        let config = example();
        let specs = alarms(&config, TOPIC);
        let pipeline: Vec<&str> = specs
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| n.starts_with("cfrp-shop-pipeline-"))
            .collect();
        assert_eq!(
            pipeline,
            [
                "cfrp-shop-pipeline-log-analyser-failures",
                "cfrp-shop-pipeline-log-analyser-iterator-age",
                "cfrp-shop-pipeline-malformed-records",
                "cfrp-shop-pipeline-manuscripts-dead-letters",
                "cfrp-shop-pipeline-log-analyser-errors",
                "cfrp-shop-pipeline-log-analyser-throttles",
                "cfrp-shop-pipeline-alarm-evaluator-errors",
                "cfrp-shop-pipeline-alarm-evaluator-throttles",
                "cfrp-shop-pipeline-invalidator-errors",
                "cfrp-shop-pipeline-invalidator-throttles",
                "cfrp-shop-pipeline-alarm-evaluator-stopped",
            ]
        );
        let dlq = by_name(&specs, "cfrp-shop-pipeline-manuscripts-dead-letters");
        assert_eq!(
            watched(dlq),
            (
                "AWS/SQS".to_string(),
                "ApproximateNumberOfMessagesVisible".to_string(),
                vec![(
                    "QueueName".to_string(),
                    "cfrp-shop-manuscripts-dlq".to_string()
                )],
                "Maximum".to_string(),
                60
            )
        );
        assert_eq!(
            (dlq.comparison, dlq.threshold),
            ("GreaterThanThreshold", 0.0)
        );
        assert_eq!(dlq.treat_missing_data, "notBreaching");
        assert_eq!(dlq.topic_arn, TOPIC);

        let behind = by_name(&specs, "cfrp-shop-pipeline-log-analyser-iterator-age");
        assert_eq!(
            behind.threshold, 300_000.0,
            "IteratorAge is in milliseconds"
        );
        assert_eq!(watched(behind).1, "IteratorAge");

        // No invocation at all is the failure the evaluator's alarm exists for: its
        // INSUFFICIENT_DATA notifies (a new alarm starts there, so the first `up` pages no one).
        let stopped = by_name(&specs, "cfrp-shop-pipeline-alarm-evaluator-stopped");
        assert_eq!(stopped.treat_missing_data, "missing");
        assert_eq!(
            stopped.as_alarm().insufficient_data_actions,
            vec![TOPIC.to_string()]
        );
        assert_eq!(
            (stopped.comparison, stopped.threshold),
            ("LessThanThreshold", 1.0)
        );
        assert_eq!(watched(stopped).1, "Invocations");
        assert_eq!(watched(stopped).4, 300, "rate(1 minute): 5-minute periods");
        assert!(dlq.as_alarm().insufficient_data_actions.is_empty());
    }

    #[test]
    fn the_stopped_evaluator_alarm_follows_the_schedule() {
        let mut config = example();
        let stopped = |config: &StackConfig| {
            alarms(config, TOPIC)
                .into_iter()
                .find(|s| s.name == "cfrp-shop-pipeline-alarm-evaluator-stopped")
        };
        config.alarms.schedule = "rate(15 minutes)".into();
        let slow = stopped(&config).unwrap_or_else(|| panic!("a rate schedule has the alarm"));
        assert_eq!(watched(&slow).4, 900, "a period is at least the interval");
        config.alarms.schedule = "rate(1 day)".into();
        assert_eq!(stopped(&config).map(|s| watched(&s).4), Some(86_400));
        config.alarms.schedule = "cron(0 12 * * ? *)".into();
        assert!(stopped(&config).is_none(), "a cron schedule's gaps vary");
    }

    #[test]
    fn thresholds_come_from_the_config_and_parts_not_deployed_have_no_alarm() {
        let mut config = example();
        config.alarms.pipeline.function_errors = 7;
        config.alarms.pipeline.malformed_records = 50;
        config.manuscripts = None;
        let specs = alarms(&config, TOPIC);
        assert_eq!(
            by_name(&specs, "cfrp-shop-pipeline-log-analyser-errors").threshold,
            7.0
        );
        assert_eq!(
            by_name(&specs, "cfrp-shop-pipeline-malformed-records").threshold,
            50.0
        );
        assert!(
            specs
                .iter()
                .all(|s| !s.name.contains("manuscripts") && !s.name.contains("invalidator"))
        );

        config.alarms.pipeline.enabled = false;
        assert!(
            alarms(&config, TOPIC)
                .iter()
                .all(|s| s.name.starts_with("cfrp-shop-rule-"))
        );
        config.alarms.enabled = false;
        assert!(alarms(&config, TOPIC).is_empty());
    }

    #[test]
    fn what_up_puts_compares_equal_to_what_describe_alarms_returns() {
        for spec in alarms(&example(), TOPIC) {
            assert_eq!(spec.flatten(), flatten_existing(&spec.as_alarm()));
            let last = spec.queries.last().cloned().unwrap_or_default();
            assert!(
                last.expression.is_some() || spec.queries.len() == 1,
                "{}: the compared value is the last query",
                spec.name
            );
        }
    }
}
