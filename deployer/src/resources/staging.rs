//! CloudFront continuous deployment: the stack's staging distribution and the continuous
//! deployment policy on the primary that sends part of the traffic to it.
//!
//! The staging distribution is made once with CopyDistribution from the primary, then
//! tagged with the stack's tags (a copy carries none) so it is found again like the primary:
//! by the stack tag and its deterministic caller reference (the primary's plus `-staging`).
//! Its config is the stack config built as for the primary, minus the aliases (a staging
//! distribution has none). The policy names the staging distribution's domain and is
//! attached to the primary (its ContinuousDeploymentPolicyId); it is found by that id, or,
//! when a run stopped before attaching it, by the staging domain it names.

use aws_sdk_cloudfront::types::{Aliases, DistributionConfig};

use super::cloudfront::{self as distribution, Found};
use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::ports::cloudfront::{DeploymentPolicy, DeploymentPolicySettings, Traffic};
use crate::spec::distribution as spec;
use crate::spec::{KNOWN_AFTER_UP, secret};

pub const STAGING: &str = "CloudFront staging distribution";
pub const POLICY: &str = "CloudFront continuous deployment policy";
pub const PRIMARY: &str = "CloudFront distribution";

/// CloudFront's cap on a weight-based policy's share of requests.
pub const MAX_WEIGHT: f32 = 0.15;
/// Session stickiness TTLs `stage --session-stickiness` sets (idle, maximum), within the
/// 300–3600 s CloudFront allows.
pub const STICKINESS: (i32, i32) = (300, 600);

/// The staging distribution's caller reference.
pub fn staging_reference(run: &Run<'_>) -> String {
    format!("{}-staging", run.names.caller_reference())
}

/// A distribution with the config and ETag it was read with.
pub type Read = (Found, (DistributionConfig, String));

/// The stack's primary distribution, or an error saying to run `up` first.
async fn primary(run: &Run<'_>) -> Result<Read, DeployError> {
    distribution::find_with_config(run).await?.ok_or_else(|| {
        DeployError::state(
            PRIMARY,
            "the stack has no distribution yet: run `deployer up` first (the staging distribution is a copy of it)",
        )
    })
}

/// The stack's staging distribution: tagged with the stack and carrying its staging caller
/// reference.
pub async fn find_staging(run: &Run<'_>) -> Result<Option<Read>, DeployError> {
    let reference = staging_reference(run);
    let tagged = run
        .ports
        .cloudfront
        .distributions_tagged(cfrp_config::naming::STACK_TAG, run.names.stack())
        .await?;
    for candidate in tagged {
        let Some((config, etag)) = run
            .ports
            .cloudfront
            .distribution_config(&candidate.id)
            .await?
        else {
            continue;
        };
        if config.caller_reference() == reference {
            return Ok(Some((candidate, (config, etag))));
        }
    }
    Ok(None)
}

/// The policy attached to the primary, else the one naming the staging domain.
async fn find_policy(
    run: &Run<'_>,
    attached: Option<&str>,
    staging_domain: Option<&str>,
) -> Result<Option<DeploymentPolicy>, DeployError> {
    if let Some(id) = attached
        && let Some(policy) = run.ports.cloudfront.deployment_policy(id).await?
    {
        return Ok(Some(policy));
    }
    let Some(domain) = staging_domain else {
        return Ok(None);
    };
    let listed = run.ports.cloudfront.deployment_policies().await?;
    match listed
        .into_iter()
        .find(|p| p.settings.staging_domain == domain)
    {
        Some(p) => run.ports.cloudfront.deployment_policy(&p.id).await,
        None => Ok(None),
    }
}

fn attached_policy(config: &DistributionConfig) -> Option<&str> {
    config
        .continuous_deployment_policy_id()
        .filter(|id| !id.is_empty())
}

/// The staging distribution's config for the stack config: built as the primary's, with
/// the primary's origin secret, the stack's log config, function and cache policies, the
/// staging caller reference and no aliases.
async fn desired_staging(
    run: &Run<'_>,
    primary_config: &DistributionConfig,
) -> Result<DistributionConfig, DeployError> {
    let secret = secret::choose(Some(primary_config), distribution::new_secret)?;
    let log_config = if run.config.logging.enabled {
        let name = run.names.realtime_log_config();
        let found = run.ports.cloudfront.log_config(&name).await?;
        Some(found.map(|c| c.arn).ok_or_else(|| {
            DeployError::state(
                &name,
                "the real-time log config is missing: run `deployer up` first",
            )
        })?)
    } else {
        None
    };
    let function_arn = run.global_arn(
        "cloudfront",
        &format!("function/{}", run.names.viewer_request_function()),
    );
    let existing = distribution::stack_cache_policies(run).await?;
    let mut policies = Vec::new();
    for behavior in std::iter::once(&run.config.default_behavior).chain(&run.config.behaviors) {
        let Some(wanted) = spec::cache_policy(run.names.stack(), behavior)? else {
            continue;
        };
        let found = existing
            .iter()
            .find(|p| p.config.name() == wanted.name())
            .ok_or_else(|| {
                DeployError::state(
                    wanted.name(),
                    "this cache policy does not exist yet: run `deployer up` first (cache policies are shared by the primary and the staging distribution)",
                )
            })?;
        policies.push((spec::behavior_key(behavior), found.id.clone()));
    }
    // The response headers policy is shared like the cache policies: `up` makes it.
    let headers_policy = if crate::spec::headers::uses_own_policy(run.config) {
        let name = crate::spec::headers::response_headers_policy_name(run.names.stack());
        let found = run.ports.cloudfront.response_headers_policy(&name).await?;
        Some(found.map(|p| p.id).ok_or_else(|| {
            DeployError::state(
                &name,
                "this response headers policy does not exist yet: run `deployer up` first (it is shared by the primary and the staging distribution)",
            )
        })?)
    } else {
        None
    };
    let reference = staging_reference(run);
    let mut config = spec::build(
        run.config,
        &spec::Inputs {
            caller_reference: &reference,
            origin_secret: secret.value(),
            realtime_log_config_arn: log_config.as_deref(),
            viewer_request_function_arn: &function_arn,
            custom_cache_policies: &policies,
            // The stack's own web ACL is the one `up` attached to the primary.
            web_acl_arn: run
                .config
                .waf
                .as_ref()
                .and(primary_config.web_acl_id())
                .filter(|arn| !arn.is_empty()),
            response_headers_policy: headers_policy.as_deref(),
        },
    )?;
    config.aliases = Some(Aliases::builder().quantity(0).build()?);
    config.staging = Some(true);
    config.continuous_deployment_policy_id = None;
    Ok(config)
}

/// A policy's fields in plans.
fn policy_fields(settings: &DeploymentPolicySettings, attached: bool) -> Fields {
    let mut f = fields([
        ("staging_domain", settings.staging_domain.clone()),
        ("enabled", settings.enabled.to_string()),
        ("attached_to_primary", attached.to_string()),
    ]);
    match &settings.traffic {
        Traffic::Weight { weight, stickiness } => {
            f.insert("traffic".into(), "weight".into());
            f.insert("weight".into(), format!("{weight}"));
            f.insert(
                "session_stickiness".into(),
                stickiness.map_or("off".into(), |(idle, max)| {
                    format!("idle {idle}s, maximum {max}s")
                }),
            );
        }
        Traffic::Header { name, value } => {
            f.insert("traffic".into(), "header".into());
            f.insert("header".into(), format!("{name}: {value}"));
        }
    }
    f
}

/// Sets `desired` on the distribution `id` (keeping its caller reference) unless it already
/// flattens the same.
async fn put_config(
    run: &Run<'_>,
    id: &str,
    desired: &DistributionConfig,
) -> Result<bool, DeployError> {
    let wanted = spec::flatten(desired);
    distribution::edit_distribution(run, id, |c| {
        if spec::flatten(c) == wanted {
            return false;
        }
        let reference = c.caller_reference.clone();
        *c = desired.clone();
        c.caller_reference = reference;
        true
    })
    .await
}

/// What `stage` found and left.
#[derive(Debug, Clone, Default)]
pub struct Staged {
    pub primary_id: String,
    pub staging: Option<Found>,
    pub policy_id: Option<String>,
}

/// `stage`: the staging distribution converged to the stack config (copied from the primary
/// the first time) and the policy on the primary sending `traffic` to it. A second run with
/// the same config and traffic decides Unchanged twice and sends nothing.
pub async fn stage(run: &Run<'_>, traffic: &Traffic) -> Result<Staged, DeployError> {
    let (primary, (primary_config, primary_etag)) = primary(run).await?;
    let desired_config = desired_staging(run, &primary_config).await?;
    let desired = spec::flatten(&desired_config);
    let found = find_staging(run).await?;
    let observed = found.as_ref().map(|(_, (c, _))| spec::flatten(c));
    let reference = staging_reference(run);
    let action = run.decide(STAGING, &reference, &desired, observed.as_ref());
    let mut staging = found.map(|(f, _)| f);
    if run.applying() && action.is_change() {
        let id = match &staging {
            Some(f) => f.id.clone(),
            None => {
                run.mutating("cloudfront:CopyDistribution", &reference)?;
                let copied = run
                    .ports
                    .cloudfront
                    .copy_distribution(&primary.id, &primary_etag, &reference)
                    .await?;
                run.mutating("cloudfront:TagResource", &copied.id)?;
                run.ports
                    .cloudfront
                    .tag_distribution(&copied.arn, run.tags())
                    .await?;
                let id = copied.id.clone();
                staging = Some(copied);
                id
            }
        };
        put_config(run, &id, &desired_config).await?;
    }
    let staging_domain = staging.as_ref().map(|s| s.domain.clone());
    let attached = attached_policy(&primary_config).map(str::to_string);
    let existing = find_policy(run, attached.as_deref(), staging_domain.as_deref()).await?;
    let wanted = DeploymentPolicySettings {
        staging_domain: staging_domain
            .clone()
            .unwrap_or_else(|| KNOWN_AFTER_UP.to_string()),
        enabled: true,
        traffic: traffic.clone(),
    };
    let desired_policy = policy_fields(&wanted, true);
    let observed_policy = existing
        .as_ref()
        .map(|p| policy_fields(&p.settings, attached.as_deref() == Some(p.id.as_str())));
    let action = run.decide(
        POLICY,
        &reference,
        &desired_policy,
        observed_policy.as_ref(),
    );
    let mut policy_id = existing.as_ref().map(|p| p.id.clone());
    if run.applying() && action.is_change() {
        let id = match &existing {
            None => {
                run.mutating("cloudfront:CreateContinuousDeploymentPolicy", &reference)?;
                run.ports
                    .cloudfront
                    .create_deployment_policy(&wanted)
                    .await?
                    .id
            }
            Some(p) => {
                if p.settings != wanted {
                    run.mutating("cloudfront:UpdateContinuousDeploymentPolicy", &p.id)?;
                    run.ports
                        .cloudfront
                        .update_deployment_policy(&p.id, &p.etag, &wanted)
                        .await?;
                }
                p.id.clone()
            }
        };
        if attached.as_deref() != Some(id.as_str()) {
            distribution::edit_distribution(run, &primary.id, |c| {
                if c.continuous_deployment_policy_id() == Some(id.as_str()) {
                    return false;
                }
                c.continuous_deployment_policy_id = Some(id.clone());
                true
            })
            .await?;
        }
        policy_id = Some(id);
    }
    Ok(Staged {
        primary_id: primary.id,
        staging,
        policy_id,
    })
}

/// `plan --stage`: the primary's fields the staging distribution would change, as one
/// Update (or Unchanged) of the primary; nothing is sent.
pub async fn stage_diff(run: &Run<'_>) -> Result<(), DeployError> {
    let (primary, (primary_config, _)) = primary(run).await?;
    let desired_config = desired_staging(run, &primary_config).await?;
    let mut desired = spec::flatten(&desired_config);
    let mut observed = spec::flatten(&primary_config);
    // Fields CloudFront keeps apart on promotion: the primary keeps its aliases.
    desired.remove("aliases");
    observed.remove("aliases");
    run.decide(PRIMARY, &primary.id, &desired, Some(&observed));
    Ok(())
}

/// What `promote` did.
#[derive(Debug, Clone, Default)]
pub struct Promoted {
    pub primary_id: String,
    pub staging_id: String,
    /// The staging distribution and the policy were removed (`--discard`).
    pub discarded: bool,
}

/// `promote`: the staging config copied onto the primary (which keeps its aliases and policy
/// id; CloudFront disables the policy), then with `discard` the policy and the staging
/// distribution removed. The plan shows the primary's fields that change.
pub async fn promote(run: &Run<'_>, discard: bool) -> Result<Promoted, DeployError> {
    let (primary, (primary_config, primary_etag)) = primary(run).await?;
    let Some((staging, (staging_config, staging_etag))) = find_staging(run).await? else {
        return Err(DeployError::state(
            STAGING,
            "the stack has no staging distribution: run `deployer stage` first",
        ));
    };
    let attached = attached_policy(&primary_config).map(str::to_string);
    let policy = find_policy(run, attached.as_deref(), Some(&staging.domain)).await?;
    if policy.is_none() || attached.is_none() {
        return Err(DeployError::state(
            POLICY,
            "no continuous deployment policy is attached to the primary: run `deployer stage` first (CloudFront promotes only a staging distribution its primary's policy names)",
        ));
    }
    let mut desired = spec::flatten(&staging_config);
    let mut observed = spec::flatten(&primary_config);
    desired.remove("aliases");
    observed.remove("aliases");
    let policy_enabled = policy.as_ref().is_some_and(|p| p.settings.enabled);
    // Promotion disables the policy: a change even when the configs already agree.
    desired.insert("continuous_deployment".into(), "disabled".into());
    observed.insert(
        "continuous_deployment".into(),
        if policy_enabled {
            "enabled"
        } else {
            "disabled"
        }
        .into(),
    );
    let action = run.decide(PRIMARY, &primary.id, &desired, Some(&observed));
    if run.applying() && action.is_change() {
        run.mutating(
            "cloudfront:UpdateDistributionWithStagingConfig",
            &primary.id,
        )?;
        run.ports
            .cloudfront
            .promote_staging(&primary.id, &primary_etag, &staging.id, &staging_etag)
            .await?;
    }
    // After the promotion: CloudFront promotes only a staging distribution the policy names.
    if discard {
        remove_staging_and_policy(run, Some(&primary), Some(&staging)).await?;
    }
    Ok(Promoted {
        primary_id: primary.id,
        staging_id: staging.id,
        discarded: discard,
    })
}

/// `rollback`: the policy disabled (no more traffic to staging), then detached from the
/// primary and deleted; the primary's config is otherwise untouched and the staging
/// distribution kept for the next `stage`.
pub async fn rollback(run: &Run<'_>) -> Result<Option<String>, DeployError> {
    let (primary, (primary_config, _)) = primary(run).await?;
    let staging = find_staging(run).await?;
    let attached = attached_policy(&primary_config).map(str::to_string);
    let staging_domain = staging.as_ref().map(|(s, _)| s.domain.clone());
    let Some(policy) = find_policy(run, attached.as_deref(), staging_domain.as_deref()).await?
    else {
        return Ok(None);
    };
    run.note(POLICY, &policy.id, Action::Delete);
    if !run.applying() {
        return Ok(Some(policy.id));
    }
    let mut etag = policy.etag.clone();
    if policy.settings.enabled {
        let disabled = DeploymentPolicySettings {
            enabled: false,
            ..policy.settings.clone()
        };
        run.mutating("cloudfront:UpdateContinuousDeploymentPolicy", &policy.id)?;
        run.ports
            .cloudfront
            .update_deployment_policy(&policy.id, &etag, &disabled)
            .await?;
        etag = run
            .ports
            .cloudfront
            .deployment_policy(&policy.id)
            .await?
            .map(|p| p.etag)
            .unwrap_or_default();
    }
    detach(run, &primary.id, &policy.id).await?;
    run.mutating("cloudfront:DeleteContinuousDeploymentPolicy", &policy.id)?;
    run.ports
        .cloudfront
        .delete_deployment_policy(&policy.id, &etag)
        .await?;
    Ok(Some(policy.id))
}

/// Removes the policy id from the primary's config (no call when it carries none).
async fn detach(run: &Run<'_>, primary_id: &str, policy_id: &str) -> Result<bool, DeployError> {
    distribution::edit_distribution(run, primary_id, |c| {
        if c.continuous_deployment_policy_id() != Some(policy_id) {
            return false;
        }
        c.continuous_deployment_policy_id = None;
        true
    })
    .await
}

/// The policy (detached, then deleted), then the staging distribution (disabled, waited
/// for, deleted). Re-runnable: what is gone is skipped.
async fn remove_staging_and_policy(
    run: &Run<'_>,
    primary: Option<&Found>,
    staging: Option<&Found>,
) -> Result<(), DeployError> {
    let primary_config = match primary {
        Some(p) => distribution::read_distribution_config(run, &p.id).await?,
        None => None,
    };
    let attached = primary_config
        .as_ref()
        .and_then(|(c, _)| attached_policy(c))
        .map(str::to_string);
    let policy = find_policy(run, attached.as_deref(), staging.map(|s| s.domain.as_str())).await?;
    if let Some(policy) = &policy {
        run.note(POLICY, &policy.id, Action::Delete);
    }
    if let Some(staging) = staging {
        run.note(STAGING, &staging.id, Action::Delete);
    }
    if !run.applying() {
        return Ok(());
    }
    if let Some(policy) = policy {
        if let Some(primary) = primary {
            detach(run, &primary.id, &policy.id).await?;
        }
        run.mutating("cloudfront:DeleteContinuousDeploymentPolicy", &policy.id)?;
        run.ports
            .cloudfront
            .delete_deployment_policy(&policy.id, &policy.etag)
            .await?;
    }
    if let Some(staging) = staging {
        distribution::edit_distribution(run, &staging.id, |c| {
            if !c.enabled() {
                return false;
            }
            c.enabled = false;
            true
        })
        .await?;
        distribution::wait_deployed(run, &staging.id).await?;
        let etag = distribution::read_distribution_config(run, &staging.id)
            .await?
            .map(|(_, etag)| etag)
            .unwrap_or_default();
        run.mutating("cloudfront:DeleteDistribution", &staging.id)?;
        run.ports
            .cloudfront
            .delete_distribution(&staging.id, &etag)
            .await?;
    }
    Ok(())
}

/// `down`'s step before the primary goes: the policy, then the staging distribution.
pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    let staging = find_staging(run).await?.map(|(s, _)| s);
    let primary = distribution::find_distribution(run).await?;
    remove_staging_and_policy(run, primary.as_ref(), staging.as_ref()).await
}

/// The staging distribution and the policy as `status` shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StagingStatus {
    pub id: String,
    pub domain: String,
    pub status: String,
    pub policy: Option<PolicyStatus>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicyStatus {
    pub id: String,
    pub enabled: bool,
    pub attached_to_primary: bool,
    /// `weight 0.05`, `weight 0.05, sticky` or `header aws-cf-cd-x: v`.
    pub traffic: String,
}

/// The stack's staging distribution and policy, or None when it has none.
pub async fn status(run: &Run<'_>) -> Result<Option<StagingStatus>, DeployError> {
    let Some((staging, _)) = find_staging(run).await? else {
        return Ok(None);
    };
    let primary = distribution::find_with_config(run).await?;
    let attached = primary
        .as_ref()
        .and_then(|(_, (c, _))| attached_policy(c))
        .map(str::to_string);
    let policy = find_policy(run, attached.as_deref(), Some(&staging.domain)).await?;
    let status = run
        .ports
        .cloudfront
        .distribution_status(&staging.id)
        .await?;
    Ok(Some(StagingStatus {
        id: staging.id,
        domain: staging.domain,
        status,
        policy: policy.map(|p| PolicyStatus {
            attached_to_primary: attached.as_deref() == Some(p.id.as_str()),
            traffic: match &p.settings.traffic {
                Traffic::Weight { weight, stickiness } => match stickiness {
                    Some(_) => format!("weight {weight}, sticky"),
                    None => format!("weight {weight}"),
                },
                Traffic::Header { name, value } => format!("header {name}: {value}"),
            },
            id: p.id,
            enabled: p.settings.enabled,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";
    const FUNCTION_ARN: &str = "arn:aws:cloudfront::123456789012:function/cfrp-shop-viewer-request";
    const WEIGHT: Traffic = Traffic::Weight {
        weight: 0.05,
        stickiness: None,
    };

    fn config() -> StackConfig {
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        config.logging.enabled = false;
        config
    }

    fn account() -> FakeAccount {
        FakeAccount::new("eu-west-1", ACCOUNT)
    }

    /// Creates the stack's primary as `up` does; its id.
    async fn primary_in(account: &FakeAccount, config: &StackConfig) -> String {
        let run = Run::offline(config, account.ports(), ACCOUNT, Mode::Apply);
        let converged =
            distribution::converge_distribution(&run, None, None, FUNCTION_ARN, &[], None).await;
        converged
            .ok()
            .and_then(|c| c.found)
            .map(|f| f.id)
            .unwrap_or_default()
    }

    async fn staged(
        account: &FakeAccount,
        config: &StackConfig,
        mode: Mode,
        traffic: &Traffic,
    ) -> (
        Result<Staged, DeployError>,
        Vec<(String, Action)>,
        Vec<String>,
    ) {
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        let result = stage(&run, traffic).await;
        let changes = run
            .changes()
            .into_iter()
            .map(|c| (c.kind.to_string(), c.action))
            .collect();
        (result, changes, run.mutations())
    }

    #[tokio::test]
    async fn stage_copies_the_primary_attaches_a_policy_and_a_second_stage_sends_nothing() {
        let account = account();
        let config = config();
        let primary_id = primary_in(&account, &config).await;

        let (result, changes, calls) = staged(&account, &config, Mode::Plan, &WEIGHT).await;
        assert!(result.is_ok());
        assert_eq!(
            changes,
            vec![
                (STAGING.to_string(), Action::Create),
                (POLICY.to_string(), Action::Create)
            ]
        );
        assert!(calls.is_empty());

        let (result, _, calls) = staged(&account, &config, Mode::Apply, &WEIGHT).await;
        let Ok(done) = result else {
            panic!("stage failed: {result:?}");
        };
        let staging_id = done.staging.map(|s| s.id).unwrap_or_default();
        assert_eq!(
            calls,
            vec![
                "cloudfront:CopyDistribution cfrp-shop-distribution-staging".to_string(),
                format!("cloudfront:TagResource {staging_id}"),
                "cloudfront:CreateContinuousDeploymentPolicy cfrp-shop-distribution-staging"
                    .to_string(),
                format!("cloudfront:UpdateDistribution {primary_id}"),
            ]
        );
        let held = account.distribution(&staging_id);
        assert_eq!(held.as_ref().and_then(|d| d.config.staging()), Some(true));
        assert!(held.is_some_and(|d| {
            d.tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        }));
        let attached = account.distribution(&primary_id).and_then(|d| {
            d.config
                .continuous_deployment_policy_id()
                .map(str::to_string)
        });
        assert_eq!(attached, done.policy_id);

        let (_, changes, calls) = staged(&account, &config, Mode::Apply, &WEIGHT).await;
        assert!(calls.is_empty(), "a second stage sent {calls:?}");
        assert!(changes.iter().all(|(_, a)| *a == Action::Unchanged));
    }

    #[tokio::test]
    async fn a_changed_config_updates_only_the_staging_distribution_and_new_traffic_the_policy() {
        let account = account();
        let mut config = config();
        let primary_id = primary_in(&account, &config).await;
        let _ = staged(&account, &config, Mode::Apply, &WEIGHT).await;
        let primary_before = account.distribution(&primary_id).map(|d| d.config);

        config.comment = "staged change".to_string();
        let header = Traffic::Header {
            name: "aws-cf-cd-canary".into(),
            value: "yes".into(),
        };
        let (result, changes, calls) = staged(&account, &config, Mode::Apply, &header).await;
        let staging_id = result
            .ok()
            .and_then(|s| s.staging)
            .map(|s| s.id)
            .unwrap_or_default();
        assert!(matches!(changes[0].1, Action::Update { .. }));
        assert!(matches!(changes[1].1, Action::Update { .. }));
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(
            account
                .distribution(&staging_id)
                .map(|d| d.config.comment().to_string()),
            Some("staged change".to_string())
        );
        assert_eq!(
            account.distribution(&primary_id).map(|d| d.config),
            primary_before
        );
    }

    #[tokio::test]
    async fn promote_copies_the_staging_config_and_rollback_restores_the_primary() {
        let account = account();
        let mut config = config();
        let primary_id = primary_in(&account, &config).await;
        let before = account.distribution(&primary_id).map(|d| d.config);
        let _ = staged(&account, &config, Mode::Apply, &WEIGHT).await;

        // rollback: the policy disabled, detached and deleted; the primary as before.
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(rollback(&run).await.is_ok_and(|p| p.is_some()));
        let after = account.distribution(&primary_id).map(|d| d.config);
        assert_eq!(after, before);

        config.comment = "staged change".to_string();
        let _ = staged(&account, &config, Mode::Apply, &WEIGHT).await;
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let promoted = promote(&run, false).await;
        assert!(promoted.is_ok(), "{promoted:?}");
        assert!(run.mutations().contains(&format!(
            "cloudfront:UpdateDistributionWithStagingConfig {primary_id}"
        )));
        let primary = account.distribution(&primary_id).map(|d| d.config);
        assert_eq!(primary.as_ref().map(|c| c.comment()), Some("staged change"));
        assert_eq!(primary.as_ref().and_then(|c| c.staging()), Some(false));
        assert_eq!(
            primary.as_ref().map(DistributionConfig::caller_reference),
            Some("cfrp-shop-distribution")
        );
    }

    #[tokio::test]
    async fn remove_takes_the_policy_then_the_staging_distribution() {
        let account = account();
        let config = config();
        let primary_id = primary_in(&account, &config).await;
        let Ok(done) = staged(&account, &config, Mode::Apply, &WEIGHT).await.0 else {
            panic!("stage failed");
        };
        let staging_id = done.staging.map(|s| s.id).unwrap_or_default();
        let policy_id = done.policy_id.unwrap_or_default();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let removed = remove(&run).await;
        assert!(removed.is_ok(), "{removed:?}");
        assert_eq!(
            run.mutations(),
            vec![
                format!("cloudfront:UpdateDistribution {primary_id}"),
                format!("cloudfront:DeleteContinuousDeploymentPolicy {policy_id}"),
                format!("cloudfront:UpdateDistribution {staging_id}"),
                format!("cloudfront:DeleteDistribution {staging_id}"),
            ]
        );
        assert!(account.distribution(&staging_id).is_none());
        assert!(account.distribution(&primary_id).is_some());
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&run).await.is_ok());
        assert!(run.mutations().is_empty());
    }

    #[tokio::test]
    async fn stage_without_a_primary_says_to_run_up_first() {
        let account = account();
        let (result, _, calls) = staged(&account, &config(), Mode::Apply, &WEIGHT).await;
        assert!(
            result
                .err()
                .is_some_and(|e| e.to_string().contains("deployer up"))
        );
        assert!(calls.is_empty());
    }
}
