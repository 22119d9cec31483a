//! IAM roles with one inline policy each.

use serde_json::Value;

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::resources::found;
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
    let Some(out) = found(
        run.aws.iam.get_role().role_name(name).send().await,
        |e| e.is_no_such_entity_exception(),
        "iam:GetRole",
        name,
    )?
    else {
        return Ok(None);
    };
    let role = out.role;
    let trust = role
        .and_then(|r| r.assume_role_policy_document)
        .map(|d| canonical(&d))
        .unwrap_or_default();
    let policy = match run
        .aws
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(POLICY_NAME)
        .send()
        .await
    {
        Ok(out) => canonical(out.policy_document()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            String::new()
        }
        Err(err) => return Err(DeployError::aws("iam:GetRolePolicy", name, err)),
    };
    Ok(Some(fields([
        ("trust_policy", trust),
        ("inline_policy", policy),
    ])))
}

pub async fn converge(run: &Run<'_>, spec: &RoleSpec) -> Result<(), DeployError> {
    let desired = spec.fields();
    let observed = observe(run, &spec.name).await?;
    let action = run.decide(KIND, &spec.name, &desired, observed.as_ref());
    if !run.applying() {
        return Ok(());
    }
    let (trust_changed, policy_changed) = match &action {
        Action::Create => {
            let mut request = run
                .aws
                .iam
                .create_role()
                .role_name(&spec.name)
                .description(&spec.description)
                .assume_role_policy_document(spec.trust.to_string());
            for (k, v) in run.tags() {
                request = request.tags(aws_sdk_iam::types::Tag::builder().key(k).value(v).build()?);
            }
            run.mutating("iam:CreateRole", &spec.name)?;
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("iam:CreateRole", &spec.name, e))?;
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
        run.aws
            .iam
            .update_assume_role_policy()
            .role_name(&spec.name)
            .policy_document(spec.trust.to_string())
            .send()
            .await
            .map_err(|e| DeployError::aws("iam:UpdateAssumeRolePolicy", &spec.name, e))?;
    }
    if policy_changed {
        run.mutating("iam:PutRolePolicy", &spec.name)?;
        run.aws
            .iam
            .put_role_policy()
            .role_name(&spec.name)
            .policy_name(POLICY_NAME)
            .policy_document(spec.policy.to_string())
            .send()
            .await
            .map_err(|e| DeployError::aws("iam:PutRolePolicy", &spec.name, e))?;
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
    if !observed.get("inline_policy").is_none_or(String::is_empty) {
        run.mutating("iam:DeleteRolePolicy", name)?;
        match run
            .aws
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) => {}
            Err(err) => return Err(DeployError::aws("iam:DeleteRolePolicy", name, err)),
        }
    }
    run.mutating("iam:DeleteRole", name)?;
    found(
        run.aws.iam.delete_role().role_name(name).send().await,
        |e| e.is_no_such_entity_exception(),
        "iam:DeleteRole",
        name,
    )?;
    Ok(())
}
