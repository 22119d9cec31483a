//! SSM Parameter Store: the port, its SDK adapter and the fake account's parameters. The
//! deployer keeps two kinds of value there, under `/cfrp/<stack>/`: the lease that keeps two
//! writers of one stack apart (`crate::lease`) and the pending origin-verify secret during a
//! rotation (`crate::ops::secret`).

use std::collections::BTreeMap;

use aws_sdk_ssm::types::ParameterType;

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// One parameter's current value and version (SSM numbers a parameter's versions from 1 and
/// adds one on every successful PutParameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub value: String,
    pub version: i64,
}

/// What a PutParameter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written as this version.
    Version(i64),
    /// Not written: `overwrite` was false and the parameter exists (ParameterAlreadyExists).
    AlreadyExists,
}

/// SSM parameters, by name.
pub trait Parameters: Send + Sync {
    /// The parameter's value (decrypted when a SecureString) and version; None when there is
    /// no parameter of that name.
    fn get<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Parameter>>;
    /// One version of the parameter (the `name:version` selector); None when that version or
    /// the parameter does not exist.
    fn get_version<'a>(&'a self, name: &'a str, version: i64) -> PortFuture<'a, Option<Parameter>>;
    /// Writes `value` (a SecureString when `secure`): atomically only when the parameter does
    /// not exist yet unless `overwrite`.
    fn put<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
        secure: bool,
        overwrite: bool,
    ) -> PortFuture<'a, Written>;
    /// Deletes the parameter; one already gone is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
}

/// SSM through `aws-sdk-ssm`.
pub struct SdkParameters(pub aws_sdk_ssm::Client);

impl SdkParameters {
    async fn get_selected(
        &self,
        name: &str,
        selector: &str,
    ) -> Result<Option<Parameter>, DeployError> {
        let got = crate::resources::found(
            self.0
                .get_parameter()
                .name(selector)
                .with_decryption(true)
                .send()
                .await,
            |e| e.is_parameter_not_found() || e.is_parameter_version_not_found(),
            "ssm:GetParameter",
            name,
        )?;
        Ok(got.and_then(|out| out.parameter).map(|p| Parameter {
            value: p.value.unwrap_or_default(),
            version: p.version,
        }))
    }
}

impl Parameters for SdkParameters {
    fn get<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Parameter>> {
        Box::pin(self.get_selected(name, name))
    }

    fn get_version<'a>(&'a self, name: &'a str, version: i64) -> PortFuture<'a, Option<Parameter>> {
        Box::pin(async move { self.get_selected(name, &format!("{name}:{version}")).await })
    }

    fn put<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
        secure: bool,
        overwrite: bool,
    ) -> PortFuture<'a, Written> {
        Box::pin(async move {
            let kind = if secure {
                ParameterType::SecureString
            } else {
                ParameterType::String
            };
            match self
                .0
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(kind)
                .overwrite(overwrite)
                .send()
                .await
            {
                Ok(out) => Ok(Written::Version(out.version)),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_parameter_already_exists()) =>
                {
                    Ok(Written::AlreadyExists)
                }
                Err(err) => Err(DeployError::aws("ssm:PutParameter", name, err)),
            }
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_parameter().name(name).send().await,
                |e| e.is_parameter_not_found(),
                "ssm:DeleteParameter",
                name,
            )
        })
    }
}

/// The fake account's parameters, by name.
pub type FakeParameters = BTreeMap<String, FakeParameter>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeParameter {
    /// Every version's value, oldest first: version n is `history[n - 1]`.
    pub history: Vec<String>,
    pub secure: bool,
}

/// Another writer's PutParameter (Overwrite=true) that the fake makes just before the next
/// overwrite of its parameter, as a run racing this one would.
#[derive(Debug, Clone, Default)]
pub struct FakeParameterRaces(BTreeMap<String, String>);

impl FakeAccount {
    pub fn parameter(&self, name: &str) -> Option<FakeParameter> {
        self.state().parameters.get(name).cloned()
    }

    /// Writes a parameter behind the deployer's back (another run, or someone at the console).
    pub fn put_parameter(&self, name: &str, value: &str) {
        let mut state = self.state();
        let parameter = state.parameters.entry(name.to_string()).or_default();
        parameter.history.push(value.to_string());
    }

    /// The next overwrite of `name` is preceded by another writer's put of `value`.
    pub fn race_parameter(&self, name: &str, value: &str) {
        self.state()
            .parameter_races
            .0
            .insert(name.to_string(), value.to_string());
    }
}

impl Parameters for FakeAccount {
    fn get<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Parameter>> {
        Box::pin(async move {
            self.call("ssm:GetParameter", name)?;
            Ok(self.state().parameters.get(name).and_then(|p| {
                p.history.last().map(|value| Parameter {
                    value: value.clone(),
                    version: p.history.len() as i64,
                })
            }))
        })
    }

    fn get_version<'a>(&'a self, name: &'a str, version: i64) -> PortFuture<'a, Option<Parameter>> {
        Box::pin(async move {
            self.call("ssm:GetParameter", &format!("{name}:{version}"))?;
            let state = self.state();
            let value = usize::try_from(version)
                .ok()
                .and_then(|v| v.checked_sub(1))
                .and_then(|at| state.parameters.get(name)?.history.get(at).cloned());
            Ok(value.map(|value| Parameter { value, version }))
        })
    }

    fn put<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
        secure: bool,
        overwrite: bool,
    ) -> PortFuture<'a, Written> {
        Box::pin(async move {
            self.call("ssm:PutParameter", name)?;
            if value.is_empty() || value.len() > 4096 {
                return Err(refused(
                    "ssm:PutParameter",
                    name,
                    "ValidationException: the value must be 1 to 4096 characters (standard tier)",
                ));
            }
            let mut state = self.state();
            if overwrite && let Some(raced) = state.parameter_races.0.remove(name) {
                state
                    .parameters
                    .entry(name.to_string())
                    .or_default()
                    .history
                    .push(raced);
            }
            let exists = state.parameters.contains_key(name);
            if exists && !overwrite {
                return Ok(Written::AlreadyExists);
            }
            let parameter = state.parameters.entry(name.to_string()).or_default();
            parameter.history.push(value.to_string());
            parameter.secure = secure;
            Ok(Written::Version(parameter.history.len() as i64))
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("ssm:DeleteParameter", name)?;
            self.state().parameters.remove(name);
            Ok(())
        })
    }
}
