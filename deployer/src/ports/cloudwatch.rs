//! CloudWatch alarms and dashboards: the port, its SDK adapter and the fake account's alarms
//! and dashboards.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Tag,
};

use super::PortFuture;
use super::fake::{FakeAccount, refused};
use crate::error::DeployError;
use crate::spec::alarms::AlarmSpec;

/// A metric alarm as DescribeAlarms shows it, in the settings the deployer compares. What AWS
/// leaves out reads as empty or zero, except the two settings whose absence means something:
/// no `datapoints_to_alarm` is "all of the evaluation periods", no `treat_missing_data` is
/// `missing`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alarm {
    pub name: String,
    pub description: String,
    /// The alarm's metric-math queries, in order.
    pub queries: Vec<AlarmQuery>,
    /// The API's name of the comparison, e.g. `GreaterThanOrEqualToThreshold`.
    pub comparison: String,
    pub threshold: f64,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    pub treat_missing_data: Option<String>,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA` as last evaluated (shown, never compared).
    pub state: Option<String>,
}

/// One query of an alarm: an expression over the other queries, or a metric's statistic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmQuery {
    pub id: String,
    pub expression: Option<String>,
    /// What the console shows for the query (not compared).
    pub label: Option<String>,
    pub stat: Option<QueryStat>,
}

/// A statistic of one metric over a period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryStat {
    /// None when the query names no metric.
    pub metric: Option<AlarmMetric>,
    pub period: i32,
    pub stat: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmMetric {
    pub namespace: String,
    pub name: String,
    /// `(name, value)` pairs, in the alarm's order.
    pub dimensions: Vec<(String, String)>,
}

/// CloudWatch metric alarms, by name, and dashboards, by name.
pub trait CloudWatch: Send + Sync {
    /// Every metric alarm whose name starts with `prefix` (all pages).
    fn alarms<'a>(&'a self, prefix: &'a str) -> PortFuture<'a, Vec<Alarm>>;
    /// Creates or replaces the alarm on the rule's state metric that `alarm` describes.
    /// `tags` only apply when it is created: AWS ignores them when an alarm is updated.
    fn put_alarm<'a>(
        &'a self,
        alarm: &'a AlarmSpec,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()>;
    /// Deletes the named alarms, at most 100. AWS fails the whole call, deleting none, when
    /// one of them does not exist.
    fn delete_alarms<'a>(&'a self, names: Vec<String>) -> PortFuture<'a, ()>;
    /// The tags of the alarm with this ARN (`arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`).
    fn alarm_tags<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Vec<(String, String)>>;
    /// The dashboard's body as stored, or None when no dashboard has that name.
    fn dashboard<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>>;
    /// Creates or replaces the dashboard.
    fn put_dashboard<'a>(&'a self, name: &'a str, body: String) -> PortFuture<'a, ()>;
    /// Deletes the dashboard; AWS fails the call when it does not exist.
    fn delete_dashboard<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
}

/// CloudWatch through `aws-sdk-cloudwatch`.
pub struct SdkCloudWatch(pub aws_sdk_cloudwatch::Client);

impl CloudWatch for SdkCloudWatch {
    fn alarms<'a>(&'a self, prefix: &'a str) -> PortFuture<'a, Vec<Alarm>> {
        Box::pin(async move {
            let mut alarms = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .0
                    .describe_alarms()
                    .alarm_name_prefix(prefix)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("cloudwatch:DescribeAlarms", prefix, e))?;
                // An alarm always has a name; one answered without is nothing to compare.
                alarms.extend(
                    out.metric_alarms()
                        .iter()
                        .filter(|a| a.alarm_name().is_some())
                        .map(alarm_from_sdk),
                );
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    return Ok(alarms);
                }
            }
        })
    }

    fn put_alarm<'a>(
        &'a self,
        alarm: &'a AlarmSpec,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let last = alarm.queries.len().saturating_sub(1);
            let queries = alarm
                .queries
                .iter()
                .enumerate()
                .map(|(i, query)| {
                    let stat = query.stat.as_ref().map(|stat| {
                        let mut metric = Metric::builder();
                        if let Some(m) = &stat.metric {
                            metric = metric.namespace(&m.namespace).metric_name(&m.name);
                            for (name, value) in &m.dimensions {
                                metric = metric.dimensions(
                                    Dimension::builder().name(name).value(value).build(),
                                );
                            }
                        }
                        MetricStat::builder()
                            .metric(metric.build())
                            .period(stat.period)
                            .stat(&stat.stat)
                            .build()
                    });
                    MetricDataQuery::builder()
                        .id(&query.id)
                        .set_expression(query.expression.clone())
                        .set_label(query.label.clone())
                        .set_metric_stat(stat)
                        // The alarm compares the last query; the others feed it.
                        .return_data(i == last)
                        .build()
                })
                .collect();
            let mut request = self
                .0
                .put_metric_alarm()
                .alarm_name(&alarm.name)
                .alarm_description(&alarm.description)
                .set_metrics(Some(queries))
                .comparison_operator(ComparisonOperator::from(alarm.comparison))
                .threshold(alarm.threshold)
                .evaluation_periods(alarm.evaluation_periods)
                .datapoints_to_alarm(alarm.datapoints_to_alarm)
                .treat_missing_data(alarm.treat_missing_data)
                .alarm_actions(&alarm.topic_arn)
                .ok_actions(&alarm.topic_arn)
                .set_insufficient_data_actions(
                    alarm
                        .notify_insufficient_data
                        .then(|| vec![alarm.topic_arn.clone()]),
                )
                .actions_enabled(true);
            for (k, v) in tags {
                request = request.tags(Tag::builder().key(k).value(v).build());
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:PutMetricAlarm", &alarm.name, e))?;
            Ok(())
        })
    }

    fn delete_alarms<'a>(&'a self, names: Vec<String>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let label = names.join(",");
            self.0
                .delete_alarms()
                .set_alarm_names(Some(names))
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:DeleteAlarms", &label, e))?;
            Ok(())
        })
    }

    fn alarm_tags<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Vec<(String, String)>> {
        Box::pin(async move {
            let out = self
                .0
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:ListTagsForResource", arn, e))?;
            Ok(out
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect())
        })
    }

    fn dashboard<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            match self.0.get_dashboard().dashboard_name(name).send().await {
                Ok(out) => Ok(Some(out.dashboard_body.unwrap_or_default())),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_dashboard_not_found_error()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("cloudwatch:GetDashboard", name, err)),
            }
        })
    }

    fn put_dashboard<'a>(&'a self, name: &'a str, body: String) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_dashboard()
                .dashboard_name(name)
                .dashboard_body(body)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:PutDashboard", name, e))?;
            Ok(())
        })
    }

    fn delete_dashboard<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .delete_dashboards()
                .dashboard_names(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudwatch:DeleteDashboards", name, e))?;
            Ok(())
        })
    }
}

fn alarm_from_sdk(alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> Alarm {
    Alarm {
        name: alarm.alarm_name().unwrap_or_default().to_string(),
        description: alarm.alarm_description().unwrap_or_default().to_string(),
        queries: alarm
            .metrics()
            .iter()
            .map(|query| AlarmQuery {
                id: query.id().unwrap_or_default().to_string(),
                expression: query.expression().map(str::to_string),
                label: query.label().map(str::to_string),
                stat: query.metric_stat().map(|stat| QueryStat {
                    metric: stat.metric().map(|metric| AlarmMetric {
                        namespace: metric.namespace().unwrap_or_default().to_string(),
                        name: metric.metric_name().unwrap_or_default().to_string(),
                        dimensions: metric
                            .dimensions()
                            .iter()
                            .map(|d| {
                                (
                                    d.name().unwrap_or_default().to_string(),
                                    d.value().unwrap_or_default().to_string(),
                                )
                            })
                            .collect(),
                    }),
                    period: stat.period().unwrap_or_default(),
                    stat: stat.stat().unwrap_or_default().to_string(),
                }),
            })
            .collect(),
        comparison: alarm
            .comparison_operator()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        threshold: alarm.threshold().unwrap_or_default(),
        evaluation_periods: alarm.evaluation_periods().unwrap_or_default(),
        datapoints_to_alarm: alarm.datapoints_to_alarm(),
        treat_missing_data: alarm.treat_missing_data().map(str::to_string),
        alarm_actions: alarm.alarm_actions().to_vec(),
        ok_actions: alarm.ok_actions().to_vec(),
        insufficient_data_actions: alarm.insufficient_data_actions().to_vec(),
        state: alarm.state_value().map(|s| s.as_str().to_string()),
    }
}

/// The fake account's alarms and dashboards, by name.
#[derive(Debug, Default)]
pub struct FakeCloudWatch {
    alarms: BTreeMap<String, FakeAlarm>,
    /// Dashboard name → body, as it was sent.
    dashboards: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeAlarm {
    pub alarm: Alarm,
    pub tags: Vec<(String, String)>,
}

/// DeleteAlarms takes at most this many names.
const DELETE_ALARMS_LIMIT: usize = 100;

/// The alarm AWS keeps for the PutMetricAlarm request [`SdkCloudWatch::put_alarm`] sends.
fn stored_alarm(alarm: &AlarmSpec) -> Alarm {
    alarm.as_alarm()
}

impl FakeAccount {
    pub fn alarm(&self, name: &str) -> Option<FakeAlarm> {
        self.state().cloudwatch.alarms.get(name).cloned()
    }

    /// Every alarm's name, in order.
    pub fn alarm_names(&self) -> Vec<String> {
        self.state().cloudwatch.alarms.keys().cloned().collect()
    }

    /// An alarm someone else made (another stack, the console).
    pub fn add_alarm(&self, alarm: Alarm, tags: Vec<(String, String)>) {
        self.state()
            .cloudwatch
            .alarms
            .insert(alarm.name.clone(), FakeAlarm { alarm, tags });
    }

    /// Changes an alarm behind the deployer's back, as someone in the console would.
    pub fn edit_alarm(&self, name: &str, edit: impl FnOnce(&mut Alarm)) {
        if let Some(alarm) = self.state().cloudwatch.alarms.get_mut(name) {
            edit(&mut alarm.alarm);
        }
    }

    /// The dashboard's body as it was last sent.
    pub fn dashboard(&self, name: &str) -> Option<String> {
        self.state().cloudwatch.dashboards.get(name).cloned()
    }

    /// Changes a dashboard behind the deployer's back, as someone in the console would.
    pub fn edit_dashboard(&self, name: &str, edit: impl FnOnce(&mut String)) {
        if let Some(body) = self.state().cloudwatch.dashboards.get_mut(name) {
            edit(body);
        }
    }
}

impl CloudWatch for FakeAccount {
    fn alarms<'a>(&'a self, prefix: &'a str) -> PortFuture<'a, Vec<Alarm>> {
        Box::pin(async move {
            self.call("cloudwatch:DescribeAlarms", prefix)?;
            // By name, as DescribeAlarms lists them.
            Ok(self
                .state()
                .cloudwatch
                .alarms
                .values()
                .filter(|a| a.alarm.name.starts_with(prefix))
                .map(|a| a.alarm.clone())
                .collect())
        })
    }

    fn put_alarm<'a>(
        &'a self,
        alarm: &'a AlarmSpec,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("cloudwatch:PutMetricAlarm", &alarm.name)?;
            let mut state = self.state();
            let stored = stored_alarm(alarm);
            match state.cloudwatch.alarms.get_mut(&alarm.name) {
                // An update replaces the settings and leaves the tags as they were.
                Some(existing) => existing.alarm = stored,
                None => {
                    state.cloudwatch.alarms.insert(
                        alarm.name.clone(),
                        FakeAlarm {
                            alarm: stored,
                            tags,
                        },
                    );
                }
            }
            Ok(())
        })
    }

    fn delete_alarms<'a>(&'a self, names: Vec<String>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let label = names.join(",");
            self.call("cloudwatch:DeleteAlarms", &label)?;
            if names.len() > DELETE_ALARMS_LIMIT {
                return Err(refused(
                    "cloudwatch:DeleteAlarms",
                    &label,
                    "ValidationError: 1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
                ));
            }
            let mut state = self.state();
            if let Some(missing) = names
                .iter()
                .find(|n| !state.cloudwatch.alarms.contains_key(*n))
            {
                return Err(refused(
                    "cloudwatch:DeleteAlarms",
                    &label,
                    &format!("ResourceNotFound: {missing} does not exist"),
                ));
            }
            for name in &names {
                state.cloudwatch.alarms.remove(name);
            }
            Ok(())
        })
    }

    fn alarm_tags<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Vec<(String, String)>> {
        Box::pin(async move {
            self.call("cloudwatch:ListTagsForResource", arn)?;
            let name = arn.split_once(":alarm:").map_or("", |(_, name)| name);
            self.state()
                .cloudwatch
                .alarms
                .get(name)
                .map(|a| a.tags.clone())
                .ok_or_else(|| {
                    refused(
                        "cloudwatch:ListTagsForResource",
                        arn,
                        "ResourceNotFoundException: The specified resource does not exist.",
                    )
                })
        })
    }

    fn dashboard<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("cloudwatch:GetDashboard", name)?;
            Ok(self.state().cloudwatch.dashboards.get(name).cloned())
        })
    }

    fn put_dashboard<'a>(&'a self, name: &'a str, body: String) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("cloudwatch:PutDashboard", name)?;
            if serde_json::from_str::<serde_json::Value>(&body).is_err() {
                return Err(refused(
                    "cloudwatch:PutDashboard",
                    name,
                    "InvalidParameterInput: The field DashboardBody must be a valid JSON object",
                ));
            }
            self.state()
                .cloudwatch
                .dashboards
                .insert(name.to_string(), body);
            Ok(())
        })
    }

    fn delete_dashboard<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("cloudwatch:DeleteDashboards", name)?;
            match self.state().cloudwatch.dashboards.remove(name) {
                Some(_) => Ok(()),
                None => Err(refused(
                    "cloudwatch:DeleteDashboards",
                    name,
                    &format!("ResourceNotFound: Dashboard {name} does not exist"),
                )),
            }
        })
    }
}
