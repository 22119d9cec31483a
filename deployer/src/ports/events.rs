//! EventBridge rules on the default event bus and their targets: the port, its SDK adapter
//! and the fake account's rules.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use super::PortFuture;
use super::fake::{FakeAccount, refused};
use crate::error::DeployError;

/// A rule as EventBridge describes it; values as the API spells them (`ENABLED`), empty
/// when it answers none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub schedule_expression: String,
    pub state: String,
}

/// What a rule invokes: the target's id on the rule and the ARN it invokes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleTarget {
    pub id: String,
    pub arn: String,
}

/// A scheduled rule as `put_rule` writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduledRule {
    pub name: String,
    pub schedule_expression: String,
    /// As the API spells it: `ENABLED` or `DISABLED`.
    pub state: String,
    pub description: String,
}

/// EventBridge rules by name.
pub trait Rules: Send + Sync {
    /// The rule, or None when no rule has that name.
    fn rule<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Rule>>;
    /// The rule's targets.
    fn targets<'a>(&'a self, rule: &'a str) -> PortFuture<'a, Vec<RuleTarget>>;
    /// Creates the rule, or replaces an existing one's settings (EventBridge applies `tags`
    /// only when it creates the rule).
    fn put_rule<'a>(
        &'a self,
        rule: ScheduledRule,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()>;
    /// Adds the target to the rule, or replaces the rule's target with the same id.
    fn put_target<'a>(&'a self, rule: &'a str, target: RuleTarget) -> PortFuture<'a, ()>;
    fn remove_targets<'a>(&'a self, rule: &'a str, ids: Vec<String>) -> PortFuture<'a, ()>;
    /// Deletes the rule (EventBridge refuses while it has targets).
    fn delete_rule<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
}

/// EventBridge through `aws-sdk-eventbridge`.
pub struct SdkRules(pub aws_sdk_eventbridge::Client);

/// PutTargets and RemoveTargets answer success even when EventBridge could not apply an
/// entry, listing it in FailedEntries: the first such entry, as an error of `operation` (else
/// the step would report success and the next plan show the same change again).
fn failed_entry(
    operation: &str,
    rule: &str,
    first_failed: Option<(Option<&str>, Option<&str>, Option<&str>)>,
) -> Result<(), DeployError> {
    match first_failed {
        None => Ok(()),
        Some((target, code, message)) => Err(refused(
            operation,
            rule,
            &format!(
                "{}: {} (target {})",
                code.unwrap_or("FailedEntry"),
                message.unwrap_or_default(),
                target.unwrap_or_default()
            ),
        )),
    }
}

impl Rules for SdkRules {
    fn rule<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Rule>> {
        Box::pin(async move {
            match self.0.describe_rule().name(name).send().await {
                Ok(out) => Ok(Some(Rule {
                    schedule_expression: out.schedule_expression().unwrap_or_default().to_string(),
                    state: out
                        .state()
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                        .to_string(),
                })),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("events:DescribeRule", name, err)),
            }
        })
    }

    fn targets<'a>(&'a self, rule: &'a str) -> PortFuture<'a, Vec<RuleTarget>> {
        Box::pin(async move {
            let out = self
                .0
                .list_targets_by_rule()
                .rule(rule)
                .send()
                .await
                .map_err(|e| DeployError::aws("events:ListTargetsByRule", rule, e))?;
            Ok(out
                .targets()
                .iter()
                .map(|t| RuleTarget {
                    id: t.id().to_string(),
                    arn: t.arn().to_string(),
                })
                .collect())
        })
    }

    fn put_rule<'a>(
        &'a self,
        rule: ScheduledRule,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self
                .0
                .put_rule()
                .name(&rule.name)
                .schedule_expression(&rule.schedule_expression)
                .state(RuleState::from(rule.state.as_str()))
                .description(&rule.description);
            for (k, v) in tags {
                request = request.tags(Tag::builder().key(k).value(v).build()?);
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("events:PutRule", &rule.name, e))?;
            Ok(())
        })
    }

    fn put_target<'a>(&'a self, rule: &'a str, target: RuleTarget) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let out = self
                .0
                .put_targets()
                .rule(rule)
                .targets(Target::builder().id(target.id).arn(target.arn).build()?)
                .send()
                .await
                .map_err(|e| DeployError::aws("events:PutTargets", rule, e))?;
            failed_entry(
                "events:PutTargets",
                rule,
                out.failed_entries()
                    .first()
                    .map(|f| (f.target_id(), f.error_code(), f.error_message())),
            )
        })
    }

    fn remove_targets<'a>(&'a self, rule: &'a str, ids: Vec<String>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let out = self
                .0
                .remove_targets()
                .rule(rule)
                .set_ids(Some(ids))
                .send()
                .await
                .map_err(|e| DeployError::aws("events:RemoveTargets", rule, e))?;
            failed_entry(
                "events:RemoveTargets",
                rule,
                out.failed_entries()
                    .first()
                    .map(|f| (f.target_id(), f.error_code(), f.error_message())),
            )
        })
    }

    fn delete_rule<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .delete_rule()
                .name(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("events:DeleteRule", name, e))?;
            Ok(())
        })
    }
}

/// The fake account's rules, by name.
pub type FakeRules = BTreeMap<String, FakeRule>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeRule {
    pub schedule_expression: String,
    pub state: String,
    pub description: String,
    pub tags: Vec<(String, String)>,
    /// Target ARNs by target id.
    pub targets: BTreeMap<String, String>,
}

impl FakeAccount {
    pub fn rule(&self, name: &str) -> Option<FakeRule> {
        self.state().rules.get(name).cloned()
    }

    /// Changes a rule behind the deployer's back, as someone in the console would.
    pub fn edit_rule(&self, name: &str, edit: impl FnOnce(&mut FakeRule)) {
        if let Some(rule) = self.state().rules.get_mut(name) {
            edit(rule);
        }
    }
}

/// EventBridge's answer for a rule that does not exist.
fn no_such_rule(operation: &str, name: &str) -> DeployError {
    refused(
        operation,
        name,
        &format!("ResourceNotFoundException: Rule {name} does not exist on EventBus default."),
    )
}

impl Rules for FakeAccount {
    fn rule<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Rule>> {
        Box::pin(async move {
            self.call("events:DescribeRule", name)?;
            Ok(self.state().rules.get(name).map(|rule| Rule {
                schedule_expression: rule.schedule_expression.clone(),
                state: rule.state.clone(),
            }))
        })
    }

    fn targets<'a>(&'a self, rule: &'a str) -> PortFuture<'a, Vec<RuleTarget>> {
        Box::pin(async move {
            self.call("events:ListTargetsByRule", rule)?;
            let state = self.state();
            let held = state
                .rules
                .get(rule)
                .ok_or_else(|| no_such_rule("events:ListTargetsByRule", rule))?;
            Ok(held
                .targets
                .iter()
                .map(|(id, arn)| RuleTarget {
                    id: id.clone(),
                    arn: arn.clone(),
                })
                .collect())
        })
    }

    fn put_rule<'a>(
        &'a self,
        rule: ScheduledRule,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("events:PutRule", &rule.name)?;
            if cfrp_config::checks::schedule(&rule.schedule_expression).is_err() {
                return Err(refused(
                    "events:PutRule",
                    &rule.name,
                    "ValidationException: Parameter ScheduleExpression is not valid.",
                ));
            }
            let mut state = self.state();
            let held = state.rules.entry(rule.name).or_insert_with(|| FakeRule {
                tags,
                ..FakeRule::default()
            });
            // PutRule replaces the rule's settings; its targets and tags stay.
            held.schedule_expression = rule.schedule_expression;
            held.state = rule.state;
            held.description = rule.description;
            Ok(())
        })
    }

    fn put_target<'a>(&'a self, rule: &'a str, target: RuleTarget) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("events:PutTargets", rule)?;
            let mut state = self.state();
            let held = state
                .rules
                .get_mut(rule)
                .ok_or_else(|| no_such_rule("events:PutTargets", rule))?;
            held.targets.insert(target.id, target.arn);
            Ok(())
        })
    }

    fn remove_targets<'a>(&'a self, rule: &'a str, ids: Vec<String>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("events:RemoveTargets", rule)?;
            let mut state = self.state();
            let held = state
                .rules
                .get_mut(rule)
                .ok_or_else(|| no_such_rule("events:RemoveTargets", rule))?;
            for id in ids {
                held.targets.remove(&id);
            }
            Ok(())
        })
    }

    fn delete_rule<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("events:DeleteRule", name)?;
            let mut state = self.state();
            // EventBridge refuses to delete a rule that still has targets; a rule already
            // gone is a success.
            if state
                .rules
                .get(name)
                .is_some_and(|rule| !rule.targets.is_empty())
            {
                return Err(refused(
                    "events:DeleteRule",
                    name,
                    "ValidationException: Rule can't be deleted since it has targets.",
                ));
            }
            state.rules.remove(name);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::put_targets::PutTargetsOutput;
    use aws_sdk_eventbridge::types::PutTargetsResultEntry;

    #[test]
    fn a_target_eventbridge_could_not_put_is_an_error_naming_it() {
        let out = PutTargetsOutput::builder()
            .failed_entry_count(1)
            .failed_entries(
                PutTargetsResultEntry::builder()
                    .target_id("alarm-evaluator")
                    .error_code("ConcurrentModificationException")
                    .error_message("Rule is being modified")
                    .build(),
            )
            .build();
        let first = out
            .failed_entries()
            .first()
            .map(|f| (f.target_id(), f.error_code(), f.error_message()));
        let message = failed_entry("events:PutTargets", "cfrp-shop-evaluate", first)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            message,
            "events:PutTargets for cfrp-shop-evaluate failed: ConcurrentModificationException: Rule is being modified (target alarm-evaluator)"
        );
        assert!(failed_entry("events:PutTargets", "cfrp-shop-evaluate", None).is_ok());
    }
}
