//! The EventBridge schedule that runs the alarm evaluator.

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use crate::context::Run;
use crate::diff::{Action, fields};
use crate::error::DeployError;
use crate::resources::found;

const KIND: &str = "EventBridge schedule";
/// The id of the evaluator target on the schedule rule.
pub const TARGET_ID: &str = "alarm-evaluator";

/// The rule, if it exists.
async fn describe(
    run: &Run<'_>,
    name: &str,
) -> Result<Option<aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput>, DeployError>
{
    found(
        run.aws.events.describe_rule().name(name).send().await,
        |e| e.is_resource_not_found_exception(),
        "events:DescribeRule",
        name,
    )
}

/// The rule's targets.
async fn targets(run: &Run<'_>, name: &str) -> Result<Vec<Target>, DeployError> {
    let out = run
        .aws
        .events
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .map_err(|e| DeployError::aws("events:ListTargetsByRule", name, e))?;
    Ok(out.targets().to_vec())
}

pub async fn converge(run: &Run<'_>, function_arn: &str) -> Result<(), DeployError> {
    let name = run.names.schedule_rule();
    let schedule = run.config.alarms.schedule.clone();
    let desired = fields([
        ("schedule", schedule.clone()),
        ("state", "ENABLED".to_string()),
        ("target", function_arn.to_string()),
    ]);
    let observed = match describe(run, &name).await? {
        Some(rule) => {
            let target = targets(run, &name)
                .await?
                .into_iter()
                .find(|t| t.id() == TARGET_ID)
                .map(|t| t.arn().to_string())
                .unwrap_or_default();
            Some(fields([
                (
                    "schedule",
                    rule.schedule_expression().unwrap_or_default().to_string(),
                ),
                (
                    "state",
                    rule.state()
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                ),
                ("target", target),
            ]))
        }
        None => None,
    };
    let action = run.decide(KIND, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let rule_changed = match &action {
        Action::Create => true,
        Action::Update { changes } => changes.iter().any(|c| c.field != "target"),
        _ => false,
    };
    if rule_changed {
        let mut request = run
            .aws
            .events
            .put_rule()
            .name(&name)
            .schedule_expression(&schedule)
            .state(RuleState::Enabled)
            .description(format!(
                "Runs the alarm evaluator of stack {}",
                run.names.stack()
            ));
        for (k, v) in run.tags() {
            request = request.tags(Tag::builder().key(k).value(v).build()?);
        }
        run.mutating("events:PutRule", &name)?;
        request
            .send()
            .await
            .map_err(|e| DeployError::aws("events:PutRule", &name, e))?;
    }
    let target_changed = match &action {
        Action::Create => true,
        Action::Update { changes } => changes.iter().any(|c| c.field == "target"),
        _ => false,
    };
    if target_changed {
        run.mutating("events:PutTargets", &name)?;
        run.aws
            .events
            .put_targets()
            .rule(&name)
            .targets(Target::builder().id(TARGET_ID).arn(function_arn).build()?)
            .send()
            .await
            .map_err(|e| DeployError::aws("events:PutTargets", &name, e))?;
    }
    Ok(())
}

pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.schedule_rule();
    if describe(run, &name).await?.is_none() {
        return Ok(());
    }
    run.note(KIND, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    let ids: Vec<String> = targets(run, &name)
        .await?
        .iter()
        .map(|t| t.id().to_string())
        .collect();
    if !ids.is_empty() {
        run.mutating("events:RemoveTargets", &name)?;
        run.aws
            .events
            .remove_targets()
            .rule(&name)
            .set_ids(Some(ids))
            .send()
            .await
            .map_err(|e| DeployError::aws("events:RemoveTargets", &name, e))?;
    }
    run.mutating("events:DeleteRule", &name)?;
    run.aws
        .events
        .delete_rule()
        .name(&name)
        .send()
        .await
        .map_err(|e| DeployError::aws("events:DeleteRule", &name, e))?;
    Ok(())
}
