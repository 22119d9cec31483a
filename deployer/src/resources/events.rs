//! The EventBridge schedule that runs the alarm evaluator.

use crate::context::Run;
use crate::diff::{Action, fields};
use crate::error::DeployError;
use crate::ports::events::{RuleTarget, ScheduledRule};

const KIND: &str = "EventBridge schedule";
/// The id of the evaluator target on the schedule rule.
pub const TARGET_ID: &str = "alarm-evaluator";

pub async fn converge(run: &Run<'_>, function_arn: &str) -> Result<(), DeployError> {
    let rules = &run.ports.rules;
    let name = run.names.schedule_rule();
    let schedule = run.config.alarms.schedule.clone();
    let desired = fields([
        ("schedule", schedule.clone()),
        ("state", "ENABLED".to_string()),
        ("target", function_arn.to_string()),
    ]);
    let observed = match rules.rule(&name).await? {
        Some(rule) => {
            // Only our target counts: others on the rule are someone else's.
            let target = rules
                .targets(&name)
                .await?
                .into_iter()
                .find(|t| t.id == TARGET_ID)
                .map(|t| t.arn)
                .unwrap_or_default();
            Some(fields([
                ("schedule", rule.schedule_expression),
                ("state", rule.state),
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
        run.mutating("events:PutRule", &name)?;
        rules
            .put_rule(
                ScheduledRule {
                    name: name.clone(),
                    schedule_expression: schedule,
                    state: "ENABLED".to_string(),
                    description: format!("Runs the alarm evaluator of stack {}", run.names.stack()),
                },
                run.tags(),
            )
            .await?;
    }
    let target_changed = match &action {
        Action::Create => true,
        Action::Update { changes } => changes.iter().any(|c| c.field == "target"),
        _ => false,
    };
    if target_changed {
        run.mutating("events:PutTargets", &name)?;
        rules
            .put_target(
                &name,
                RuleTarget {
                    id: TARGET_ID.to_string(),
                    arn: function_arn.to_string(),
                },
            )
            .await?;
    }
    Ok(())
}

pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    let rules = &run.ports.rules;
    let name = run.names.schedule_rule();
    if rules.rule(&name).await?.is_none() {
        return Ok(());
    }
    run.note(KIND, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    // EventBridge refuses to delete a rule that still has targets: every one goes first.
    let ids: Vec<String> = rules
        .targets(&name)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if !ids.is_empty() {
        run.mutating("events:RemoveTargets", &name)?;
        rules.remove_targets(&name, ids).await?;
    }
    run.mutating("events:DeleteRule", &name)?;
    rules.delete_rule(&name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";
    const RULE: &str = "cfrp-shop-evaluate";
    const EVALUATOR: &str = "arn:aws:lambda:eu-west-1:123456789012:function:cfrp-shop-evaluator";

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "eu-west-1", "app.example.com")
    }

    /// Converges the schedule in `mode` against `account`; the decisions and the mutating
    /// calls.
    async fn converge_with(
        account: &FakeAccount,
        mode: Mode,
        function_arn: &str,
    ) -> (Result<(), DeployError>, Vec<Change>, Vec<String>) {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = converge(&run, function_arn).await;
        (result, run.changes(), run.mutations())
    }

    async fn remove_with(
        account: &FakeAccount,
        mode: Mode,
    ) -> (Result<(), DeployError>, Vec<Change>, Vec<String>) {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = remove(&run).await;
        (result, run.changes(), run.mutations())
    }

    #[test]
    fn the_rule_is_the_stacks_schedule_rule() {
        assert_eq!(config().names().schedule_rule(), RULE);
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_nothing_and_up_creates_the_rule_tagged_with_its_target() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let (result, changes, calls) = converge_with(&account, Mode::Plan, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());
        assert!(account.rule(RULE).is_none());

        let (result, changes, calls) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            calls,
            vec![
                format!("events:PutRule {RULE}"),
                format!("events:PutTargets {RULE}")
            ]
        );
        assert_eq!(account.mutating_calls(), calls);
        let rule = account.rule(RULE).unwrap_or_default();
        assert_eq!(rule.schedule_expression, config().alarms.schedule);
        assert_eq!(rule.state, "ENABLED");
        assert_eq!(rule.description, "Runs the alarm evaluator of stack shop");
        assert_eq!(
            rule.targets,
            [(TARGET_ID.to_string(), EVALUATOR.to_string())].into()
        );
        assert!(
            rule.tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        );
    }

    #[tokio::test]
    async fn a_converged_rule_is_unchanged_and_costs_no_call() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, EVALUATOR).await;
        let before = account.mutating_calls().len();
        let (result, changes, calls) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_rule_disabled_by_hand_is_one_field_and_only_the_rule_is_put_again() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, EVALUATOR).await;
        account.edit_rule(RULE, |r| r.state = "DISABLED".into());
        let expected = Action::Update {
            changes: vec![FieldChange {
                field: "state".into(),
                from: Some("DISABLED".into()),
                to: Some("ENABLED".into()),
            }],
        };

        let before = account.mutating_calls().len();
        let (result, changes, calls) = converge_with(&account, Mode::Plan, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, expected);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);

        let (result, changes, calls) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, expected);
        assert_eq!(calls, vec![format!("events:PutRule {RULE}")]);
        assert_eq!(account.mutating_calls()[before..], calls);
        let rule = account.rule(RULE).unwrap_or_default();
        assert_eq!(rule.state, "ENABLED");
        assert_eq!(
            rule.targets[TARGET_ID], EVALUATOR,
            "PutRule keeps the targets"
        );
    }

    #[tokio::test]
    async fn a_target_pointed_elsewhere_by_hand_is_put_back_alone() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, EVALUATOR).await;
        let elsewhere = "arn:aws:lambda:eu-west-1:123456789012:function:other";
        account.edit_rule(RULE, |r| {
            r.targets.insert(TARGET_ID.into(), elsewhere.into());
            // Someone else's target on the same rule is left alone.
            r.targets.insert("theirs".into(), elsewhere.into());
        });
        let (result, changes, calls) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "target".into(),
                    from: Some(elsewhere.into()),
                    to: Some(EVALUATOR.into()),
                }]
            }
        );
        assert_eq!(calls, vec![format!("events:PutTargets {RULE}")]);
        let rule = account.rule(RULE).unwrap_or_default();
        assert_eq!(rule.targets[TARGET_ID], EVALUATOR);
        assert_eq!(rule.targets["theirs"], elsewhere);
    }

    #[tokio::test]
    async fn remove_takes_the_targets_off_then_deletes_the_rule_once() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, EVALUATOR).await;
        let before = account.mutating_calls().len();
        let (result, changes, calls) = remove_with(&account, Mode::Plan).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Delete);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
        assert!(account.rule(RULE).is_some(), "a plan deletes nothing");

        let (result, changes, calls) = remove_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Delete);
        // EventBridge refuses to delete a rule that still has targets.
        assert_eq!(
            calls,
            vec![
                format!("events:RemoveTargets {RULE}"),
                format!("events:DeleteRule {RULE}")
            ]
        );
        assert!(account.rule(RULE).is_none());

        let (result, changes, calls) = remove_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{result:?}");
        assert!(changes.is_empty() && calls.is_empty());
    }

    #[tokio::test]
    async fn a_target_put_that_fails_after_the_rule_is_resumed_by_the_next_run() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        account.fail("events:PutTargets", 1);
        let (result, _, _) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("events:PutTargets for {RULE} failed")),
            "{message}"
        );
        let half = account.rule(RULE).unwrap_or_default();
        assert!(half.targets.is_empty(), "the rule was made, not its target");

        let (result, changes, calls) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "target".into(),
                    from: Some(String::new()),
                    to: Some(EVALUATOR.into()),
                }]
            }
        );
        assert_eq!(calls, vec![format!("events:PutTargets {RULE}")]);
        let (_, changes, calls) = converge_with(&account, Mode::Apply, EVALUATOR).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
    }

    #[tokio::test]
    async fn a_rule_delete_that_fails_after_its_targets_went_is_resumed_by_the_next_run() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, EVALUATOR).await;
        account.fail("events:DeleteRule", 1);
        let (result, _, _) = remove_with(&account, Mode::Apply).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("events:DeleteRule for {RULE} failed")),
            "{message}"
        );
        assert!(account.rule(RULE).is_some_and(|r| r.targets.is_empty()));

        let (result, changes, calls) = remove_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(calls, vec![format!("events:DeleteRule {RULE}")]);
        assert!(account.rule(RULE).is_none());
    }
}
