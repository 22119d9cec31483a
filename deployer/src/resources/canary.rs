//! The alarm evaluator's canary settings: `stage` names the staging distribution in them (so
//! the canary rules compare it with the primary), `rollback` and `promote` clear them (no
//! traffic goes to staging any more), and `up` keeps what is there.
//!
//! Only the `canary` part of the evaluator's `CFRP_SETTINGS` changes here; the rest of its
//! configuration is sent back as Lambda answered it.

use std::collections::BTreeMap;

use cfrp_config::canary::CanarySettings;
use cfrp_config::settings::SETTINGS_VARIABLE;
use cfrp_config::{EvaluatorSettings, Function, FunctionSettings as _};

use crate::context::Run;
use crate::diff::fields;
use crate::error::DeployError;
use crate::ports::lambda::{FunctionConfig, FunctionSettings};
use crate::spec::KNOWN_AFTER_UP;

pub const EVALUATOR_CANARY: &str = "Alarm evaluator canary settings";

/// The evaluator's settings as deployed, with its configuration; None when the stack has no
/// evaluator (alarms off, or before `up`).
async fn deployed(
    run: &Run<'_>,
) -> Result<Option<(FunctionConfig, EvaluatorSettings)>, DeployError> {
    let name = run.names.lambda(Function::AlarmEvaluator);
    let Some(config) = run.ports.functions.function(&name).await? else {
        return Ok(None);
    };
    let Some(value) = config.environment.get(SETTINGS_VARIABLE) else {
        return Ok(None);
    };
    let settings = EvaluatorSettings::from_env_value(value).map_err(|err| {
        DeployError::state(
            &name,
            format!("its settings do not parse ({err}): run `deployer up` to rewrite them"),
        )
    })?;
    Ok(Some((config, settings)))
}

/// The canary settings `up` keeps: the staging domain the deployed evaluator already compares,
/// with the config's current thresholds.
pub async fn kept(run: &Run<'_>) -> Result<Option<CanarySettings>, DeployError> {
    Ok(deployed(run)
        .await?
        .and_then(|(_, s)| s.canary)
        .and_then(|c| run.config.canary_settings(&c.staging_domain)))
}

/// Sets (`Some(domain)`) or clears (`None`) the evaluator's canary settings; a no-op when
/// they are already so, or when the stack has no evaluator. `Some("")` stands for a staging
/// distribution a plan has not made yet.
pub async fn set_staging(run: &Run<'_>, staging_domain: Option<&str>) -> Result<(), DeployError> {
    let name = run.names.lambda(Function::AlarmEvaluator);
    let Some((config, settings)) = deployed(run).await? else {
        return Ok(());
    };
    let wanted = staging_domain.and_then(|domain| run.config.canary_settings(domain));
    let shown = |c: &Option<CanarySettings>| match c {
        Some(c) if c.staging_domain.is_empty() => KNOWN_AFTER_UP.to_string(),
        Some(c) => format!(
            "{} (5xx +{} points, p95 ×{}, hit ratio −{} points, at least {} requests a minute, {} of {} minutes)",
            c.staging_domain,
            c.thresholds.error_rate_margin,
            c.thresholds.latency_p95_factor,
            c.thresholds.hit_ratio_margin,
            c.thresholds.min_requests,
            c.thresholds.datapoints_to_alarm,
            c.thresholds.evaluation_minutes
        ),
        None => "off".to_string(),
    };
    let action = run.decide(
        EVALUATOR_CANARY,
        &name,
        &fields([("canary", shown(&wanted))]),
        Some(&fields([("canary", shown(&settings.canary))])),
    );
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let json = EvaluatorSettings {
        canary: wanted,
        ..settings
    }
    .to_env_value()?;
    let mut environment: BTreeMap<String, String> = config.environment.clone();
    environment.insert(SETTINGS_VARIABLE.to_string(), json);
    run.mutating("lambda:UpdateFunctionConfiguration", &name)?;
    run.ports
        .functions
        .update_configuration(
            &name,
            &FunctionSettings {
                runtime: config.runtime,
                handler: config.handler,
                role: config.role,
                memory_mb: config.memory_mb,
                timeout_seconds: config.timeout_seconds,
                environment,
            },
        )
        .await?;
    super::lambda::wait_ready(run, &name).await
}
