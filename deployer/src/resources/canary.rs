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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::Action;
    use crate::ports::fake::FakeAccount;
    use crate::ports::lambda::NewFunction;
    use cfrp_config::{Names, StackConfig};

    const ACCOUNT: &str = "123456789012";

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "eu-west-1", "app.example.com")
    }

    fn evaluator() -> String {
        Names::new("shop").lambda(Function::AlarmEvaluator)
    }

    /// The account with the evaluator `up` makes (no canary settings).
    async fn account(config: &StackConfig) -> FakeAccount {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let json = config
            .evaluator_settings(Some("E1"), Some("d1.cloudfront.net"))
            .to_env_value()
            .unwrap_or_default();
        let created = account
            .ports()
            .functions
            .create(
                &NewFunction {
                    name: evaluator(),
                    settings: FunctionSettings {
                        runtime: "provided.al2023".to_string(),
                        handler: "bootstrap".to_string(),
                        role: format!("arn:aws:iam::{ACCOUNT}:role/r"),
                        memory_mb: 128,
                        timeout_seconds: 30,
                        environment: BTreeMap::from([(SETTINGS_VARIABLE.to_string(), json)]),
                    },
                    architecture: "arm64".to_string(),
                    description: String::new(),
                    zip: vec![1],
                },
                Vec::new(),
            )
            .await;
        assert!(created.is_ok(), "{created:?}");
        account
    }

    fn deployed_canary(account: &FakeAccount) -> Option<CanarySettings> {
        let function = account.function(&evaluator())?;
        let value = function.config.environment.get(SETTINGS_VARIABLE)?.clone();
        EvaluatorSettings::from_env_value(&value).ok()?.canary
    }

    #[tokio::test]
    async fn stage_sets_the_staging_domain_once_and_rollback_clears_it() {
        let config = config();
        let account = account(&config).await;

        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(set_staging(&plan, Some("")).await.is_ok());
        let changes = plan.changes();
        assert_eq!(changes.len(), 1);
        assert!(matches!(changes[0].action, Action::Update { .. }));
        assert!(plan.mutations().is_empty());
        assert_eq!(deployed_canary(&account), None);

        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(set_staging(&run, Some("d2.cloudfront.net")).await.is_ok());
        assert_eq!(
            run.mutations(),
            vec![format!(
                "lambda:UpdateFunctionConfiguration {}",
                evaluator()
            )]
        );
        let set = deployed_canary(&account);
        assert_eq!(
            set.as_ref().map(|c| c.staging_domain.as_str()),
            Some("d2.cloudfront.net")
        );
        assert_eq!(
            set.map(|c| c.thresholds),
            Some(config.staging.canary.clone())
        );
        // The rest of the settings is untouched.
        let kept_run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert_eq!(
            kept(&kept_run)
                .await
                .ok()
                .flatten()
                .map(|c| c.staging_domain),
            Some("d2.cloudfront.net".to_string())
        );

        let again = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(set_staging(&again, Some("d2.cloudfront.net")).await.is_ok());
        assert!(again.mutations().is_empty(), "{:?}", again.mutations());

        let cleared = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(set_staging(&cleared, None).await.is_ok());
        assert_eq!(cleared.mutations().len(), 1);
        assert_eq!(deployed_canary(&account), None);
    }

    #[tokio::test]
    async fn no_evaluator_or_canary_off_sends_nothing() {
        let config = config();
        let empty = FakeAccount::new("eu-west-1", ACCOUNT);
        let run = Run::offline(&config, empty.ports(), ACCOUNT, Mode::Apply);
        assert!(set_staging(&run, Some("d2.cloudfront.net")).await.is_ok());
        assert!(run.mutations().is_empty() && run.changes().is_empty());

        let mut off = config.clone();
        off.staging.canary.enabled = false;
        let account = account(&off).await;
        let run = Run::offline(&off, account.ports(), ACCOUNT, Mode::Apply);
        assert!(set_staging(&run, Some("d2.cloudfront.net")).await.is_ok());
        assert!(run.mutations().is_empty());
    }
}
