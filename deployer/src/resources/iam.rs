//! IAM roles with one inline policy each.

use serde_json::Value;

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::spec::policy::canonical;

const KIND: &str = "IAM role";
/// The name of the one inline policy each role carries.
pub const POLICY_NAME: &str = "cfrp";

pub struct RoleSpec {
    pub name: String,
    pub description: String,
    pub trust: Value,
    pub policy: Value,
}

impl RoleSpec {
    fn fields(&self) -> Fields {
        fields([
            ("trust_policy", self.trust.to_string()),
            ("inline_policy", self.policy.to_string()),
        ])
    }
}

async fn observe(run: &Run<'_>, name: &str) -> Result<Option<Fields>, DeployError> {
    let Some(role) = run.ports.roles.role(name).await? else {
        return Ok(None);
    };
    let trust = canonical(&role.trust_policy);
    // A role without our policy (removed by hand, or a create that stopped halfway) shows
    // the policy as empty, so the plan puts it back.
    let policy = run
        .ports
        .roles
        .inline_policy(name, POLICY_NAME)
        .await?
        .map(|document| canonical(&document))
        .unwrap_or_default();
    Ok(Some(fields([
        ("trust_policy", trust),
        ("inline_policy", policy),
    ])))
}

pub async fn converge(run: &Run<'_>, spec: &RoleSpec) -> Result<(), DeployError> {
    let roles = &run.ports.roles;
    let desired = spec.fields();
    let observed = observe(run, &spec.name).await?;
    let action = run.decide(KIND, &spec.name, &desired, observed.as_ref());
    if !run.applying() {
        return Ok(());
    }
    let (trust_changed, policy_changed) = match &action {
        Action::Create => {
            run.mutating("iam:CreateRole", &spec.name)?;
            roles
                .create(
                    &spec.name,
                    &spec.description,
                    &spec.trust.to_string(),
                    run.tags(),
                )
                .await?;
            (false, true)
        }
        Action::Update { changes } => (
            changes.iter().any(|c| c.field == "trust_policy"),
            changes.iter().any(|c| c.field == "inline_policy"),
        ),
        Action::Unchanged | Action::Delete => (false, false),
    };
    if trust_changed {
        run.mutating("iam:UpdateAssumeRolePolicy", &spec.name)?;
        roles
            .update_trust_policy(&spec.name, &spec.trust.to_string())
            .await?;
    }
    if policy_changed {
        run.mutating("iam:PutRolePolicy", &spec.name)?;
        roles
            .put_inline_policy(&spec.name, POLICY_NAME, &spec.policy.to_string())
            .await?;
    }
    Ok(())
}

pub async fn remove(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let Some(observed) = observe(run, name).await? else {
        return Ok(());
    };
    run.note(KIND, name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    // IAM refuses to delete a role that still carries a policy.
    if !observed.get("inline_policy").is_none_or(String::is_empty) {
        run.mutating("iam:DeleteRolePolicy", name)?;
        run.ports
            .roles
            .delete_inline_policy(name, POLICY_NAME)
            .await?;
    }
    run.mutating("iam:DeleteRole", name)?;
    run.ports.roles.delete(name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;
    use serde_json::json;

    const ACCOUNT: &str = "123456789012";
    const ROLE: &str = "cfrp-shop-cloudfront-logs";

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "eu-west-1", "app.example.com")
    }

    fn spec() -> RoleSpec {
        RoleSpec {
            name: ROLE.into(),
            description: "CloudFront writes real-time logs".into(),
            trust: crate::spec::policy::trust("cloudfront.amazonaws.com", ACCOUNT),
            policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                    "Resource": ["arn:aws:kinesis:eu-west-1:123456789012:stream/cfrp-shop-logs"]
                }]
            }),
        }
    }

    /// Converges `spec` in `mode` against `account`; the decisions and the mutating calls.
    async fn converge_with(
        account: &FakeAccount,
        mode: Mode,
        spec: &RoleSpec,
    ) -> (Result<(), DeployError>, Vec<Change>, Vec<String>) {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = converge(&run, spec).await;
        (result, run.changes(), run.mutations())
    }

    async fn remove_with(
        account: &FakeAccount,
        mode: Mode,
    ) -> (Result<(), DeployError>, Vec<Change>, Vec<String>) {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = remove(&run, ROLE).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_nothing_and_up_creates_the_role_tagged_with_its_policy() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let (result, changes, calls) = converge_with(&account, Mode::Plan, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());
        assert!(account.role(ROLE).is_none());

        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            calls,
            vec![
                format!("iam:CreateRole {ROLE}"),
                format!("iam:PutRolePolicy {ROLE}")
            ]
        );
        assert_eq!(account.mutating_calls(), calls);
        let role = account.role(ROLE).unwrap_or_default();
        assert_eq!(role.description, "CloudFront writes real-time logs");
        assert_eq!(role.trust_policy, spec().trust.to_string());
        assert_eq!(
            role.inline_policies,
            [(POLICY_NAME.to_string(), spec().policy.to_string())].into()
        );
        assert!(
            role.tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        );
    }

    #[tokio::test]
    async fn a_converged_role_is_unchanged_and_costs_no_call() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec()).await;
        let before = account.mutating_calls().len();
        // The fake answers documents URL-encoded, as IAM does: they still compare equal.
        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_trust_policy_changed_by_hand_is_one_field_and_only_its_update_call() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec()).await;
        let foreign = crate::spec::policy::trust("lambda.amazonaws.com", ACCOUNT);
        account.edit_role(ROLE, |r| r.trust_policy = foreign.to_string());
        let expected = Action::Update {
            changes: vec![FieldChange {
                field: "trust_policy".into(),
                from: Some(canonical(&foreign.to_string())),
                to: Some(spec().trust.to_string()),
            }],
        };

        let before = account.mutating_calls().len();
        let (result, changes, calls) = converge_with(&account, Mode::Plan, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, expected);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);

        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, expected);
        assert_eq!(calls, vec![format!("iam:UpdateAssumeRolePolicy {ROLE}")]);
        assert_eq!(account.mutating_calls()[before..], calls);
        let role = account.role(ROLE).unwrap_or_default();
        assert_eq!(role.trust_policy, spec().trust.to_string());
    }

    #[tokio::test]
    async fn an_inline_policy_deleted_by_hand_is_put_back_alone() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec()).await;
        account.edit_role(ROLE, |r| r.inline_policies.clear());
        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "inline_policy".into(),
                    from: Some(String::new()),
                    to: Some(spec().policy.to_string()),
                }]
            }
        );
        assert_eq!(calls, vec![format!("iam:PutRolePolicy {ROLE}")]);
        let role = account.role(ROLE).unwrap_or_default();
        assert_eq!(role.inline_policies[POLICY_NAME], spec().policy.to_string());
    }

    #[tokio::test]
    async fn remove_deletes_the_policy_then_the_role_once_and_then_finds_nothing_to_do() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec()).await;
        let before = account.mutating_calls().len();
        let (result, changes, calls) = remove_with(&account, Mode::Plan).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Delete);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
        assert!(account.role(ROLE).is_some(), "a plan deletes nothing");

        let (result, changes, calls) = remove_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Delete);
        // IAM refuses to delete a role that still carries a policy: the policy goes first.
        assert_eq!(
            calls,
            vec![
                format!("iam:DeleteRolePolicy {ROLE}"),
                format!("iam:DeleteRole {ROLE}")
            ]
        );
        assert!(account.role(ROLE).is_none());

        let (result, changes, calls) = remove_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{result:?}");
        assert!(changes.is_empty() && calls.is_empty());
    }

    #[tokio::test]
    async fn a_policy_put_that_fails_after_the_create_is_resumed_by_the_next_run() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        account.fail("iam:PutRolePolicy", 1);
        let (result, _, _) = converge_with(&account, Mode::Apply, &spec()).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("iam:PutRolePolicy for {ROLE} failed")),
            "{message}"
        );
        let half = account.role(ROLE).unwrap_or_default();
        assert!(
            half.inline_policies.is_empty(),
            "the role was made, not its policy"
        );

        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec()).await;
        assert!(result.is_ok(), "{result:?}");
        assert!(
            matches!(&changes[0].action, Action::Update { changes } if changes.len() == 1 && changes[0].field == "inline_policy")
        );
        assert_eq!(calls, vec![format!("iam:PutRolePolicy {ROLE}")]);
        let (_, changes, calls) = converge_with(&account, Mode::Apply, &spec()).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
    }

    #[tokio::test]
    async fn a_role_delete_that_fails_after_its_policy_went_is_resumed_by_the_next_run() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec()).await;
        account.fail("iam:DeleteRole", 1);
        let (result, _, _) = remove_with(&account, Mode::Apply).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("iam:DeleteRole for {ROLE} failed")),
            "{message}"
        );
        let left = account.role(ROLE).unwrap_or_default();
        assert!(left.inline_policies.is_empty());

        let (result, changes, calls) = remove_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(calls, vec![format!("iam:DeleteRole {ROLE}")]);
        assert!(account.role(ROLE).is_none());
    }

    #[tokio::test]
    async fn creating_a_role_whose_name_is_taken_is_refused_as_iam_does() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec()).await;
        // Another run that read before the first one created the role.
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let second = run
            .ports
            .roles
            .create(ROLE, "other", &spec().trust.to_string(), vec![])
            .await;
        let message = second.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("EntityAlreadyExists"), "{message}");
        assert_eq!(
            account.role(ROLE).unwrap_or_default().description,
            "CloudFront writes real-time logs"
        );
    }
}
