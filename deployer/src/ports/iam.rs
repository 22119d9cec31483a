//! IAM roles and their inline policies: the port, its SDK adapter and the fake account's roles.

use std::collections::BTreeMap;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// A role as IAM answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Role {
    /// The trust policy document as IAM holds it: IAM answers it URL-encoded, so compare it
    /// only in canonical form. Empty when IAM answers none.
    pub trust_policy: String,
}

/// IAM roles by name, and the inline policies they carry by policy name. Policy documents
/// are JSON text.
pub trait Roles: Send + Sync {
    /// The role, or None when no role has that name.
    fn role<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Role>>;
    /// The document of the role's inline policy `policy` (URL-encoded, as IAM answers it),
    /// or None when the role carries no such policy.
    fn inline_policy<'a>(
        &'a self,
        role: &'a str,
        policy: &'a str,
    ) -> PortFuture<'a, Option<String>>;
    fn create<'a>(
        &'a self,
        name: &'a str,
        description: &'a str,
        trust_policy: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()>;
    fn update_trust_policy<'a>(&'a self, name: &'a str, document: &'a str) -> PortFuture<'a, ()>;
    /// Creates or replaces the role's inline policy `policy`.
    fn put_inline_policy<'a>(
        &'a self,
        role: &'a str,
        policy: &'a str,
        document: &'a str,
    ) -> PortFuture<'a, ()>;
    /// Deletes the role's inline policy `policy`; a policy already gone is not an error.
    fn delete_inline_policy<'a>(&'a self, role: &'a str, policy: &'a str) -> PortFuture<'a, ()>;
    /// Deletes the role (IAM refuses while it still carries policies); a role already gone
    /// is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
}

/// IAM through `aws-sdk-iam`.
pub struct SdkRoles(pub aws_sdk_iam::Client);

impl Roles for SdkRoles {
    fn role<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Role>> {
        Box::pin(async move {
            match self.0.get_role().role_name(name).send().await {
                Ok(out) => Ok(Some(Role {
                    trust_policy: out
                        .role
                        .and_then(|r| r.assume_role_policy_document)
                        .unwrap_or_default(),
                })),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_entity_exception()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("iam:GetRole", name, err)),
            }
        })
    }

    fn inline_policy<'a>(
        &'a self,
        role: &'a str,
        policy: &'a str,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            match self
                .0
                .get_role_policy()
                .role_name(role)
                .policy_name(policy)
                .send()
                .await
            {
                Ok(out) => Ok(Some(out.policy_document().to_string())),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_entity_exception()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("iam:GetRolePolicy", role, err)),
            }
        })
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        description: &'a str,
        trust_policy: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self
                .0
                .create_role()
                .role_name(name)
                .description(description)
                .assume_role_policy_document(trust_policy);
            for (k, v) in tags {
                request = request.tags(aws_sdk_iam::types::Tag::builder().key(k).value(v).build()?);
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("iam:CreateRole", name, e))?;
            Ok(())
        })
    }

    fn update_trust_policy<'a>(&'a self, name: &'a str, document: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(document)
                .send()
                .await
                .map_err(|e| DeployError::aws("iam:UpdateAssumeRolePolicy", name, e))?;
            Ok(())
        })
    }

    fn put_inline_policy<'a>(
        &'a self,
        role: &'a str,
        policy: &'a str,
        document: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_role_policy()
                .role_name(role)
                .policy_name(policy)
                .policy_document(document)
                .send()
                .await
                .map_err(|e| DeployError::aws("iam:PutRolePolicy", role, e))?;
            Ok(())
        })
    }

    fn delete_inline_policy<'a>(&'a self, role: &'a str, policy: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(policy)
                    .send()
                    .await,
                |e| e.is_no_such_entity_exception(),
                "iam:DeleteRolePolicy",
                role,
            )
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_role().role_name(name).send().await,
                |e| e.is_no_such_entity_exception(),
                "iam:DeleteRole",
                name,
            )
        })
    }
}

/// The fake account's roles, by name.
pub type FakeRoles = BTreeMap<String, FakeRole>;

/// A role as the fake holds it: documents as they were sent (IAM's answers encode them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeRole {
    pub description: String,
    pub trust_policy: String,
    /// Inline policy documents by policy name.
    pub inline_policies: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
}

impl FakeAccount {
    pub fn role(&self, name: &str) -> Option<FakeRole> {
        self.state().roles.get(name).cloned()
    }

    /// Changes a role behind the deployer's back, as someone in the console would.
    pub fn edit_role(&self, name: &str, edit: impl FnOnce(&mut FakeRole)) {
        if let Some(role) = self.state().roles.get_mut(name) {
            edit(role);
        }
    }
}

/// IAM's answer for a role that does not exist.
fn no_such_role(operation: &str, name: &str) -> DeployError {
    refused(
        operation,
        name,
        &format!("NoSuchEntity: The role with name {name} cannot be found."),
    )
}

/// IAM refuses a policy document that is not JSON.
fn check_document(operation: &str, name: &str, document: &str) -> Result<(), DeployError> {
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(_) => Ok(()),
        Err(_) => Err(refused(
            operation,
            name,
            "MalformedPolicyDocument: Syntax errors in policy.",
        )),
    }
}

/// A document as IAM's Get calls answer it: URL-encoded.
fn as_iam_answers(document: &str) -> String {
    utf8_percent_encode(document, NON_ALPHANUMERIC).to_string()
}

impl Roles for FakeAccount {
    fn role<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Role>> {
        Box::pin(async move {
            self.call("iam:GetRole", name)?;
            Ok(self.state().roles.get(name).map(|role| Role {
                trust_policy: as_iam_answers(&role.trust_policy),
            }))
        })
    }

    fn inline_policy<'a>(
        &'a self,
        role: &'a str,
        policy: &'a str,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("iam:GetRolePolicy", role)?;
            Ok(self
                .state()
                .roles
                .get(role)
                .and_then(|r| r.inline_policies.get(policy))
                .map(|document| as_iam_answers(document)))
        })
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        description: &'a str,
        trust_policy: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("iam:CreateRole", name)?;
            check_document("iam:CreateRole", name, trust_policy)?;
            let mut state = self.state();
            // Role names are unique in an account: IAM does not answer the existing role.
            if state.roles.contains_key(name) {
                return Err(refused(
                    "iam:CreateRole",
                    name,
                    &format!("EntityAlreadyExists: Role with name {name} already exists."),
                ));
            }
            state.roles.insert(
                name.to_string(),
                FakeRole {
                    description: description.to_string(),
                    trust_policy: trust_policy.to_string(),
                    inline_policies: BTreeMap::new(),
                    tags,
                },
            );
            Ok(())
        })
    }

    fn update_trust_policy<'a>(&'a self, name: &'a str, document: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("iam:UpdateAssumeRolePolicy", name)?;
            check_document("iam:UpdateAssumeRolePolicy", name, document)?;
            let mut state = self.state();
            let role = state
                .roles
                .get_mut(name)
                .ok_or_else(|| no_such_role("iam:UpdateAssumeRolePolicy", name))?;
            role.trust_policy = document.to_string();
            Ok(())
        })
    }

    fn put_inline_policy<'a>(
        &'a self,
        role: &'a str,
        policy: &'a str,
        document: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("iam:PutRolePolicy", role)?;
            check_document("iam:PutRolePolicy", role, document)?;
            let mut state = self.state();
            let held = state
                .roles
                .get_mut(role)
                .ok_or_else(|| no_such_role("iam:PutRolePolicy", role))?;
            held.inline_policies
                .insert(policy.to_string(), document.to_string());
            Ok(())
        })
    }

    fn delete_inline_policy<'a>(&'a self, role: &'a str, policy: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("iam:DeleteRolePolicy", role)?;
            if let Some(held) = self.state().roles.get_mut(role) {
                held.inline_policies.remove(policy);
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("iam:DeleteRole", name)?;
            let mut state = self.state();
            // IAM refuses to delete a role that still carries policies.
            if state
                .roles
                .get(name)
                .is_some_and(|role| !role.inline_policies.is_empty())
            {
                return Err(refused(
                    "iam:DeleteRole",
                    name,
                    "DeleteConflict: Cannot delete entity, must delete policies first.",
                ));
            }
            state.roles.remove(name);
            Ok(())
        })
    }
}
