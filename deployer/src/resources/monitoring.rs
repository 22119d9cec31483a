//! The alarm topic (with its optional e-mail subscription), one CloudWatch alarm per rule,
//! and the dashboard.

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Tag,
};

use crate::context::Run;
use crate::diff::{Action, fields};
use crate::error::DeployError;
use crate::spec::alarms::{self as spec, AlarmSpec};
use crate::spec::policy::canonical;

const TOPIC: &str = "SNS topic";
const SUBSCRIPTION: &str = "SNS e-mail subscription";
const ALARM: &str = "CloudWatch alarm";
const DASHBOARD: &str = "CloudWatch dashboard";

async fn topic_exists(run: &Run<'_>, arn: &str) -> Result<bool, DeployError> {
    match run
        .aws
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(DeployError::aws("sns:GetTopicAttributes", arn, err)),
    }
}

pub async fn converge_topic(run: &Run<'_>, arn: &str) -> Result<(), DeployError> {
    let name = run.names.alarm_topic();
    let desired = fields([("exists", "true")]);
    let observed = topic_exists(run, arn).await?.then(|| desired.clone());
    let action = run.decide(TOPIC, &name, &desired, observed.as_ref());
    if run.applying() && action == Action::Create {
        let mut request = run.aws.sns.create_topic().name(&name);
        for (k, v) in run.tags() {
            request = request.tags(aws_sdk_sns::types::Tag::builder().key(k).value(v).build()?);
        }
        run.mutating("sns:CreateTopic", &name)?;
        request
            .send()
            .await
            .map_err(|e| DeployError::aws("sns:CreateTopic", &name, e))?;
    }
    let Some(email) = run.config.alarms.email.clone() else {
        return Ok(());
    };
    let subscribed = observed.is_some() && email_subscriptions(run, arn).await?.contains(&email);
    let desired = fields([("endpoint", email.clone())]);
    let observed = subscribed.then(|| desired.clone());
    let action = run.decide(SUBSCRIPTION, &email, &desired, observed.as_ref());
    if run.applying() && action == Action::Create {
        run.mutating("sns:Subscribe", &email)?;
        run.aws
            .sns
            .subscribe()
            .topic_arn(arn)
            .protocol("email")
            .endpoint(&email)
            .send()
            .await
            .map_err(|e| DeployError::aws("sns:Subscribe", &email, e))?;
        run.progress.step(&format!(
            "{email} gets a confirmation e-mail from AWS; alarms reach it once confirmed"
        ));
    }
    Ok(())
}

pub async fn remove_topic(run: &Run<'_>, arn: &str) -> Result<(), DeployError> {
    if !topic_exists(run, arn).await? {
        return Ok(());
    }
    run.note(TOPIC, &run.names.alarm_topic(), Action::Delete);
    // Deleting a topic deletes its subscriptions; they are listed so `down` reports what
    // `up` created.
    for email in email_subscriptions(run, arn).await? {
        run.note(SUBSCRIPTION, &email, Action::Delete);
    }
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("sns:DeleteTopic", arn)?;
    run.aws
        .sns
        .delete_topic()
        .topic_arn(arn)
        .send()
        .await
        .map_err(|e| DeployError::aws("sns:DeleteTopic", arn, e))?;
    Ok(())
}

/// The e-mail addresses subscribed to the topic.
async fn email_subscriptions(run: &Run<'_>, arn: &str) -> Result<Vec<String>, DeployError> {
    let out = run
        .aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .send()
        .await
        .map_err(|e| DeployError::aws("sns:ListSubscriptionsByTopic", arn, e))?;
    Ok(out
        .subscriptions()
        .iter()
        .filter(|s| s.protocol() == Some("email"))
        .filter_map(|s| s.endpoint().map(str::to_string))
        .collect())
}

/// The stack's existing rule alarms.
async fn existing_alarms(
    run: &Run<'_>,
) -> Result<Vec<aws_sdk_cloudwatch::types::MetricAlarm>, DeployError> {
    let prefix = run.names.alarm("");
    let mut alarms = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = run
            .aws
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(&prefix)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudwatch:DescribeAlarms", &prefix, e))?;
        alarms.extend(out.metric_alarms().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(alarms);
        }
    }
}

pub async fn converge_alarms(run: &Run<'_>, specs: &[AlarmSpec]) -> Result<(), DeployError> {
    let existing = existing_alarms(run).await?;
    for alarm in specs {
        let observed = existing
            .iter()
            .find(|a| a.alarm_name() == Some(alarm.name.as_str()))
            .map(spec::flatten_existing);
        let action = run.decide(ALARM, &alarm.name, &alarm.flatten(), observed.as_ref());
        if run.applying() && action.is_change() {
            put_alarm(run, alarm).await?;
        }
    }
    for stale in existing.iter().filter_map(|a| a.alarm_name()) {
        if specs.iter().all(|s| s.name != stale) {
            let stale = stale.to_string();
            run.note(ALARM, &stale, Action::Delete);
            if run.applying() {
                delete_alarms(run, vec![stale]).await?;
            }
        }
    }
    Ok(())
}

async fn put_alarm(run: &Run<'_>, alarm: &AlarmSpec) -> Result<(), DeployError> {
    let state = MetricDataQuery::builder()
        .id("state")
        .return_data(false)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(&alarm.namespace)
                        .metric_name(cfrp_config::metrics::RULE_STATE)
                        .dimensions(
                            Dimension::builder()
                                .name(cfrp_config::metrics::DIM_RULE)
                                .value(&alarm.rule)
                                .build(),
                        )
                        .build(),
                )
                .period(alarm.period_seconds)
                .stat("Maximum")
                .build(),
        )
        .build();
    let in_alarm = MetricDataQuery::builder()
        .id("in_alarm")
        .expression(spec::IN_ALARM_EXPRESSION)
        .label(format!("{} in ALARM", alarm.rule))
        .return_data(true)
        .build();
    let mut request = run
        .aws
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm.name)
        .alarm_description(&alarm.description)
        .metrics(state)
        .metrics(in_alarm)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .threshold(spec::ALARM_VALUE)
        .evaluation_periods(1)
        .datapoints_to_alarm(1)
        .treat_missing_data("missing")
        .alarm_actions(&alarm.topic_arn)
        .ok_actions(&alarm.topic_arn)
        .actions_enabled(true);
    for (k, v) in run.tags() {
        request = request.tags(Tag::builder().key(k).value(v).build());
    }
    run.mutating("cloudwatch:PutMetricAlarm", &alarm.name)?;
    request
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudwatch:PutMetricAlarm", &alarm.name, e))?;
    Ok(())
}

async fn delete_alarms(run: &Run<'_>, names: Vec<String>) -> Result<(), DeployError> {
    let label = names.join(",");
    run.mutating("cloudwatch:DeleteAlarms", &label)?;
    run.aws
        .cloudwatch
        .delete_alarms()
        .set_alarm_names(Some(names))
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudwatch:DeleteAlarms", &label, e))?;
    Ok(())
}

pub async fn remove_alarms(run: &Run<'_>) -> Result<(), DeployError> {
    let names: Vec<String> = existing_alarms(run)
        .await?
        .iter()
        .filter_map(|a| a.alarm_name().map(str::to_string))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    for name in &names {
        run.note(ALARM, name, Action::Delete);
    }
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    // DeleteAlarms takes up to 100 names per call.
    for chunk in names.chunks(100) {
        delete_alarms(run, chunk.to_vec()).await?;
    }
    Ok(())
}

async fn dashboard_body(run: &Run<'_>, name: &str) -> Result<Option<String>, DeployError> {
    match run
        .aws
        .cloudwatch
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            out.dashboard_body().map(canonical).unwrap_or_default(),
        )),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_dashboard_not_found_error()) =>
        {
            Ok(None)
        }
        Err(err) => Err(DeployError::aws("cloudwatch:GetDashboard", name, err)),
    }
}

pub async fn converge_dashboard(
    run: &Run<'_>,
    body: &serde_json::Value,
) -> Result<(), DeployError> {
    let name = run.names.dashboard();
    let desired = fields([("body", body.to_string())]);
    let observed = dashboard_body(run, &name)
        .await?
        .map(|b| fields([("body", b)]));
    let action = run.decide(DASHBOARD, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    run.mutating("cloudwatch:PutDashboard", &name)?;
    run.aws
        .cloudwatch
        .put_dashboard()
        .dashboard_name(&name)
        .dashboard_body(body.to_string())
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudwatch:PutDashboard", &name, e))?;
    Ok(())
}

pub async fn remove_dashboard(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.dashboard();
    if dashboard_body(run, &name).await?.is_none() {
        return Ok(());
    }
    run.note(DASHBOARD, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudwatch:DeleteDashboards", &name)?;
    run.aws
        .cloudwatch
        .delete_dashboards()
        .dashboard_names(&name)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudwatch:DeleteDashboards", &name, e))?;
    Ok(())
}
