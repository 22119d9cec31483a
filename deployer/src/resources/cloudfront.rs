//! CloudFront: the real-time log config, the viewer-request function, custom cache policies
//! and the distribution itself. Every update carries the ETag read just before it (IfMatch);
//! a PreconditionFailed (someone else changed it in between) is re-read and retried.

use std::time::Duration;

use aws_sdk_cloudfront::types::DistributionConfig;
use sha2::{Digest, Sha256};

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::ports::cloudfront::{
    CachePolicy, FunctionDescription, FunctionSource, LogConfigSettings, Stage,
    is_precondition_failed,
};
use crate::resources::{poll, retry_while_role_propagates};
use crate::spec::{Arns, distribution as spec, viewer_request};

pub use crate::ports::cloudfront::InvalidationState;

/// How often an update is retried after PreconditionFailed.
const ETAG_RETRIES: usize = 3;
/// How long `--wait` and `down` wait for CloudFront to deploy a change (AWS: usually
/// 5–15 minutes).
pub const DEPLOY_TIMEOUT: Duration = Duration::from_secs(45 * 60);

// ------------------------------------------------------------------ real-time log config

const LOG_CONFIG: &str = "real-time log config";

fn log_config_fields(settings: &LogConfigSettings) -> Fields {
    fields([
        ("sampling_rate", settings.sampling_rate.to_string()),
        ("fields", settings.fields.join(",")),
        ("stream", settings.stream_arn.clone()),
        ("role", settings.role_arn.clone()),
    ])
}

pub async fn converge_log_config(run: &Run<'_>, arns: &Arns) -> Result<String, DeployError> {
    let name = run.names.realtime_log_config();
    let logging = &run.config.logging;
    let wanted = LogConfigSettings {
        sampling_rate: i64::from(logging.sampling_rate),
        fields: logging
            .fields
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
        stream_arn: arns.stream.clone(),
        role_arn: arns.cloudfront_logs_role.clone(),
    };
    let desired = log_config_fields(&wanted);
    let existing = run.ports.cloudfront.log_config(&name).await?;
    let observed = existing.as_ref().map(|c| log_config_fields(&c.settings));
    let arn = existing
        .as_ref()
        .map(|c| c.arn.clone())
        .unwrap_or_else(|| run.global_arn("cloudfront", &format!("realtime-log-config/{name}")));
    let action = run.decide(LOG_CONFIG, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(arn);
    }
    if action == Action::Create {
        // IAM is eventually consistent: CloudFront may not see a role created seconds ago.
        let created = retry_while_role_propagates(
            || run.ports.cloudfront.create_log_config(&name, &wanted),
            run,
            "cloudfront:CreateRealtimeLogConfig",
            &name,
        )
        .await?;
        return Ok(created.unwrap_or(arn));
    }
    run.mutating("cloudfront:UpdateRealtimeLogConfig", &name)?;
    run.ports
        .cloudfront
        .update_log_config(&name, &wanted)
        .await?;
    Ok(arn)
}

pub async fn remove_log_config(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.realtime_log_config();
    if run.ports.cloudfront.log_config(&name).await?.is_none() {
        return Ok(());
    }
    run.note(LOG_CONFIG, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudfront:DeleteRealtimeLogConfig", &name)?;
    run.ports.cloudfront.delete_log_config(&name).await
}

// ------------------------------------------------------------------ viewer-request function

const FUNCTION: &str = "CloudFront function";

fn digest(code: &[u8]) -> String {
    Sha256::digest(code)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The function's DEVELOPMENT stage (ETag, comment, runtime) and LIVE code digest.
async fn observe_function(
    run: &Run<'_>,
    name: &str,
) -> Result<Option<(Fields, String, String)>, DeployError> {
    let Some(FunctionDescription {
        etag,
        comment,
        runtime,
        arn,
    }) = run.ports.cloudfront.function(name).await?
    else {
        return Ok(None);
    };
    let code = |stage: Stage| async move {
        Ok::<_, DeployError>(
            match run.ports.cloudfront.function_code(name, stage).await? {
                Some(code) => digest(&code),
                None => "(not published)".to_string(),
            },
        )
    };
    let development = code(Stage::Development).await?;
    let live = code(Stage::Live).await?;
    Ok(Some((
        fields([
            ("comment", comment),
            ("runtime", runtime),
            ("code_sha256", development),
            ("live_code_sha256", live),
        ]),
        etag,
        arn,
    )))
}

pub async fn converge_function(run: &Run<'_>) -> Result<String, DeployError> {
    let name = run.names.viewer_request_function();
    let code = digest(viewer_request::SOURCE.as_bytes());
    let desired = fields([
        ("comment", viewer_request::COMMENT.to_string()),
        ("runtime", viewer_request::RUNTIME.to_string()),
        ("code_sha256", code.clone()),
        ("live_code_sha256", code),
    ]);
    let observed = observe_function(run, &name).await?;
    let default_arn = run.global_arn("cloudfront", &format!("function/{name}"));
    let arn = observed
        .as_ref()
        .map(|(_, _, arn)| arn.clone())
        .filter(|a| !a.is_empty())
        .unwrap_or(default_arn);
    let action = run.decide(
        FUNCTION,
        &name,
        &desired,
        observed.as_ref().map(|(f, _, _)| f),
    );
    if !run.applying() || !action.is_change() {
        return Ok(arn);
    }
    let source = FunctionSource {
        comment: viewer_request::COMMENT.to_string(),
        runtime: viewer_request::RUNTIME.to_string(),
        code: viewer_request::SOURCE.as_bytes().to_vec(),
    };
    let development_changed = match &action {
        Action::Create => true,
        Action::Update { changes } => changes.iter().any(|c| c.field != "live_code_sha256"),
        _ => false,
    };
    if action == Action::Create {
        run.mutating("cloudfront:CreateFunction", &name)?;
        run.ports.cloudfront.create_function(&name, &source).await?;
    } else if development_changed {
        let etag = observed
            .as_ref()
            .map(|(_, e, _)| e.clone())
            .unwrap_or_default();
        run.mutating("cloudfront:UpdateFunction", &name)?;
        run.ports
            .cloudfront
            .update_function(&name, &etag, &source)
            .await?;
    }
    // The ETag after a create or update: UpdateFunction's response model names its header
    // `ETtag` (an AWS model quirk), so read it back rather than trust the response.
    let Some((_, etag, arn)) = observe_function(run, &name).await? else {
        return Err(DeployError::state(
            &name,
            "the function vanished after it was written",
        ));
    };
    run.mutating("cloudfront:PublishFunction", &name)?;
    run.ports.cloudfront.publish_function(&name, &etag).await?;
    Ok(arn)
}

pub async fn remove_function(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.viewer_request_function();
    let Some((_, etag, _)) = observe_function(run, &name).await? else {
        return Ok(());
    };
    run.note(FUNCTION, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudfront:DeleteFunction", &name)?;
    run.ports.cloudfront.delete_function(&name, &etag).await
}

// ------------------------------------------------------------------ custom cache policies

const CACHE_POLICY: &str = "cache policy";

/// The stack's custom cache policies, each with its id and ETag.
pub(crate) async fn stack_cache_policies(run: &Run<'_>) -> Result<Vec<CachePolicy>, DeployError> {
    let prefix = format!("cfrp-{}-cache-", run.names.stack());
    run.ports.cloudfront.cache_policies(&prefix).await
}

/// Converges each custom cache policy; returns behavior key → policy id.
pub async fn converge_cache_policies(run: &Run<'_>) -> Result<Vec<(String, String)>, DeployError> {
    let existing = stack_cache_policies(run).await?;
    let mut ids = Vec::new();
    let behaviors: Vec<_> = std::iter::once(run.config.default_behavior.clone())
        .chain(run.config.behaviors.iter().cloned())
        .collect();
    for behavior in behaviors {
        let Some(config) = spec::cache_policy(run.names.stack(), &behavior)? else {
            continue;
        };
        let name = config.name().to_string();
        let current = existing.iter().find(|p| p.config.name() == name);
        let desired = spec::flatten_cache_policy(&config);
        let observed = current.map(|p| spec::flatten_cache_policy(&p.config));
        let action = run.decide(CACHE_POLICY, &name, &desired, observed.as_ref());
        let key = spec::behavior_key(&behavior);
        if let Some(current) = current {
            ids.push((key.clone(), current.id.clone()));
        }
        if !run.applying() {
            continue;
        }
        match (action, current) {
            (Action::Create, _) => {
                run.mutating("cloudfront:CreateCachePolicy", &name)?;
                if let Some(id) = run.ports.cloudfront.create_cache_policy(config).await? {
                    ids.push((key, id));
                }
            }
            (Action::Update { .. }, Some(current)) => {
                run.mutating("cloudfront:UpdateCachePolicy", &name)?;
                run.ports
                    .cloudfront
                    .update_cache_policy(&current.id, &current.etag, config)
                    .await?;
            }
            _ => {}
        }
    }
    Ok(ids)
}

/// Deletes the stack's cache policies that no behavior uses (all of them when `keep` is
/// empty). Runs after the distribution stopped referencing them.
pub async fn remove_cache_policies(
    run: &Run<'_>,
    keep: &[(String, String)],
) -> Result<(), DeployError> {
    for policy in stack_cache_policies(run).await? {
        if keep.iter().any(|(_, k)| *k == policy.id) {
            continue;
        }
        let name = policy.config.name();
        run.note(CACHE_POLICY, name, Action::Delete);
        if !run.applying() {
            continue;
        }
        run.mutating("cloudfront:DeleteCachePolicy", name)?;
        run.ports
            .cloudfront
            .delete_cache_policy(&policy.id, &policy.etag, name)
            .await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ distribution

const DISTRIBUTION: &str = "CloudFront distribution";

/// The stack's distribution as found again.
pub use crate::ports::cloudfront::DistributionSummary as Found;

/// Finds the stack's distribution: the one carrying the stack's `cfrp:stack` tag (the link
/// that survives a lost local state; ListDistributions does not return tags, so each
/// candidate's tags are read) whose CallerReference is the stack's deterministic one
/// (CloudFront keeps it unique per account, so at most one matches). Another distribution
/// with the stack's tag (made by hand, or copied with its tags) is not the stack's: it is
/// reported as a warning and never changed or deleted.
pub async fn find_distribution(run: &Run<'_>) -> Result<Option<Found>, DeployError> {
    Ok(find_with_config(run).await?.map(|(found, _)| found))
}

/// The stack's distribution (see [`find_distribution`]) with the config and ETag read to
/// prove it the stack's, which the caller goes on from.
pub(crate) async fn find_with_config(
    run: &Run<'_>,
) -> Result<Option<(Found, (DistributionConfig, String))>, DeployError> {
    let tagged = run
        .ports
        .cloudfront
        .distributions_tagged(cfrp_config::naming::STACK_TAG, run.names.stack())
        .await?;
    let reference = run.names.caller_reference();
    let mut ours = None;
    for candidate in tagged {
        // One that vanished between the listing and this read is no one's.
        let Some((config, etag)) = run
            .ports
            .cloudfront
            .distribution_config(&candidate.id)
            .await?
        else {
            continue;
        };
        if config.caller_reference() == reference && ours.is_none() {
            ours = Some((candidate, (config, etag)));
        } else if config.caller_reference() == super::staging::staging_reference(run) {
            // The stack's staging distribution (`stage`): its own module's.
        } else if ours.is_none() && adopted(run, &candidate.id).await? {
            // Made elsewhere and adopted by `deployer import --adopt`: the stack's from now on.
            ours = Some((candidate, (config, etag)));
        } else {
            run.warn(
                "CloudFront distribution",
                &candidate.id,
                foreign_distribution_warning(
                    &candidate.id,
                    config.caller_reference(),
                    run.names.stack(),
                    &reference,
                ),
            );
        }
    }
    Ok(ours)
}

/// Whether the distribution carries `cfrp:adopted` = its own id (`deployer import --adopt`).
/// Read only for a tagged candidate whose caller reference is not the stack's, so the
/// distributions `up` made cost no extra call.
async fn adopted(run: &Run<'_>, id: &str) -> Result<bool, DeployError> {
    let tags = run
        .ports
        .cloudfront
        .distribution_tags(id)
        .await?
        .unwrap_or_default();
    Ok(tags
        .iter()
        .any(|(k, v)| k == cfrp_config::naming::ADOPTED_TAG && v == id))
}

/// The warning for a distribution tagged with the stack that the stack did not create.
fn foreign_distribution_warning(id: &str, found: &str, stack: &str, reference: &str) -> String {
    format!(
        "distribution {id} carries the tag {}={stack} but its caller reference is \"{found}\", not the stack's \"{reference}\": it is not this stack's and is left unchanged; remove the tag from it if it should not look like part of the stack",
        cfrp_config::naming::STACK_TAG
    )
}

/// The distribution's config and ETag; a distribution that is gone is an error here (it
/// was just found, or the caller was told it exists).
async fn distribution_config(
    run: &Run<'_>,
    id: &str,
) -> Result<(DistributionConfig, String), DeployError> {
    run.ports
        .cloudfront
        .distribution_config(id)
        .await?
        .ok_or_else(|| DeployError::Aws {
            call: "cloudfront:GetDistributionConfig".to_string(),
            resource: id.to_string(),
            message: "NoSuchDistribution: The specified distribution does not exist.".to_string(),
        })
}

/// A new origin-verify secret: 32 random bytes from the OS, hex-encoded.
pub(crate) fn new_secret() -> Result<String, DeployError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        DeployError::state("origin secret", format!("no randomness from the OS: {e}"))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The distribution after convergence (or its plan).
#[derive(Debug, Clone)]
pub struct Converged {
    pub found: Option<Found>,
    pub origin_secret: String,
}

pub async fn converge_distribution(
    run: &Run<'_>,
    log_config_arn: Option<&str>,
    web_acl_arn: Option<&str>,
    function_arn: &str,
    cache_policies: &[(String, String)],
    response_headers_policy: Option<&str>,
) -> Result<Converged, DeployError> {
    let caller_reference = run.names.caller_reference();
    let (mut found, mut current) = match find_with_config(run).await? {
        Some((found, current)) => (Some(found), Some(current)),
        None => (None, None),
    };
    // The secret the distribution carries is kept (`secret rotate` replaces it, never up).
    let choice = crate::spec::secret::choose(current.as_ref().map(|(c, _)| c), new_secret)?;
    let secret = choice.value().to_string();
    let build = |reference: &str| {
        spec::build(
            run.config,
            &spec::Inputs {
                caller_reference: reference,
                origin_secret: &secret,
                realtime_log_config_arn: log_config_arn,
                viewer_request_function_arn: function_arn,
                custom_cache_policies: cache_policies,
                web_acl_arn,
                response_headers_policy,
            },
        )
    };
    let desired_config = build(
        current
            .as_ref()
            .map(|(c, _)| c.caller_reference())
            .unwrap_or(&caller_reference),
    )?;
    let mut desired = spec::flatten(&desired_config);
    let observed = current.as_ref().map(|(c, _)| spec::flatten(c));
    crate::spec::secret::explain(&mut desired, observed.as_ref(), &choice, run.applying());
    let action = run.decide(DISTRIBUTION, &caller_reference, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(Converged {
            found,
            origin_secret: secret,
        });
    }
    if action == Action::Create {
        run.mutating("cloudfront:CreateDistributionWithTags", &caller_reference)?;
        let created = run
            .ports
            .cloudfront
            .create_distribution(desired_config, run.tags())
            .await?;
        return Ok(Converged {
            found: Some(created),
            origin_secret: secret,
        });
    }
    let id = found.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    for attempt in 0..=ETAG_RETRIES {
        let Some((existing, etag)) = current.take() else {
            break;
        };
        let mut config = build(existing.caller_reference())?;
        // A continuous deployment policy attached by `stage` stays attached.
        config
            .continuous_deployment_policy_id
            .clone_from(&existing.continuous_deployment_policy_id);
        run.mutating("cloudfront:UpdateDistribution", &id)?;
        match run
            .ports
            .cloudfront
            .update_distribution(&id, &etag, config)
            .await
        {
            Ok(status) => {
                if let (Some(f), Some(status)) = (found.as_mut(), status) {
                    f.status = status;
                }
                break;
            }
            Err(err) if attempt < ETAG_RETRIES && is_precondition_failed(&err) => {
                current = Some(distribution_config(run, &id).await?);
            }
            Err(err) => return Err(err),
        }
    }
    Ok(Converged {
        found,
        origin_secret: secret,
    })
}

/// Waits until the distribution's status is Deployed, showing the status as it goes.
pub async fn wait_deployed(run: &Run<'_>, id: &str) -> Result<(), DeployError> {
    let what = format!("distribution {id} to be Deployed");
    let wait = run.progress.wait(&what);
    poll(&what, DEPLOY_TIMEOUT, || async {
        let status = run.ports.cloudfront.distribution_status(id).await?;
        wait.set(&format!("distribution {id}: {status}"));
        Ok(status == "Deployed")
    })
    .await
}

/// Disables, waits for, and deletes the distribution. Re-runnable at every step: a
/// distribution already disabled skips to the wait, one already gone is done.
pub async fn remove_distribution(run: &Run<'_>) -> Result<(), DeployError> {
    let Some((existing, (mut config, mut etag))) = find_with_config(run).await? else {
        return Ok(());
    };
    // The same name `up` reports (the caller reference), so the two lists line up.
    let caller_reference = run.names.caller_reference();
    run.note(DISTRIBUTION, &caller_reference, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    if config.enabled() {
        for attempt in 0..=ETAG_RETRIES {
            let mut disabled = config.clone();
            disabled.enabled = false;
            run.mutating("cloudfront:UpdateDistribution", &existing.id)?;
            match run
                .ports
                .cloudfront
                .update_distribution(&existing.id, &etag, disabled)
                .await
            {
                Ok(_) => break,
                Err(err) if attempt < ETAG_RETRIES && is_precondition_failed(&err) => {
                    (config, etag) = distribution_config(run, &existing.id).await?;
                }
                Err(err) => return Err(err),
            }
        }
    }
    wait_deployed(run, &existing.id).await?;
    let (_, etag) = distribution_config(run, &existing.id).await?;
    run.mutating("cloudfront:DeleteDistribution", &existing.id)?;
    run.ports
        .cloudfront
        .delete_distribution(&existing.id, &etag)
        .await
}

// ------------------------------------------------------------------ operator commands

/// Reads a distribution's config and ETag, or `None` when there is no such distribution.
pub async fn read_distribution_config(
    run: &Run<'_>,
    id: &str,
) -> Result<Option<(DistributionConfig, String)>, DeployError> {
    run.ports.cloudfront.distribution_config(id).await
}

/// Applies `edit` to a distribution's current config and sends it back with the ETag it was
/// read with (IfMatch). `edit` answers whether it changed anything; when it did not, no call
/// is made. On PreconditionFailed (someone changed the distribution in between) the config
/// is read again and `edit` applied afresh. Returns whether an update was sent.
pub async fn edit_distribution(
    run: &Run<'_>,
    id: &str,
    mut edit: impl FnMut(&mut DistributionConfig) -> bool,
) -> Result<bool, DeployError> {
    for attempt in 0..=ETAG_RETRIES {
        let (mut config, etag) = distribution_config(run, id).await?;
        if !edit(&mut config) {
            return Ok(false);
        }
        run.mutating("cloudfront:UpdateDistribution", id)?;
        match run
            .ports
            .cloudfront
            .update_distribution(id, &etag, config)
            .await
        {
            Ok(_) => return Ok(true),
            Err(err) if attempt < ETAG_RETRIES && is_precondition_failed(&err) => {
                run.progress.step(&format!(
                    "distribution {id} changed meanwhile; reading it again"
                ));
            }
            Err(err) => return Err(err),
        }
    }
    Err(DeployError::state(
        id,
        format!("the distribution kept changing under us ({ETAG_RETRIES} retries); try again"),
    ))
}

/// Creates an invalidation of `paths` (already encoded) with a caller reference.
pub async fn create_invalidation(
    run: &Run<'_>,
    distribution_id: &str,
    paths: &[String],
    caller_reference: &str,
) -> Result<InvalidationState, DeployError> {
    run.mutating("cloudfront:CreateInvalidation", distribution_id)?;
    run.ports
        .cloudfront
        .create_invalidation(distribution_id, paths, caller_reference)
        .await
}

/// The status of one invalidation (`InProgress` or `Completed`).
pub async fn invalidation_status(
    run: &Run<'_>,
    distribution_id: &str,
    invalidation_id: &str,
) -> Result<String, DeployError> {
    run.ports
        .cloudfront
        .invalidation_status(distribution_id, invalidation_id)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::cloudfront::CloudFront;
    use crate::ports::fake::FakeAccount;
    use cfrp_config::{CachingMode, StackConfig, Ttl};

    const ACCOUNT: &str = "123456789012";
    const LOG_CONFIG_NAME: &str = "cfrp-shop-realtime-logs";
    const FUNCTION_NAME: &str = "cfrp-shop-viewer-request";
    const LOG_CONFIG_ARN: &str =
        "arn:aws:cloudfront::123456789012:realtime-log-config/cfrp-shop-realtime-logs";
    const FUNCTION_ARN: &str = "arn:aws:cloudfront::123456789012:function/cfrp-shop-viewer-request";
    const CALLER_REFERENCE: &str = "cfrp-shop-distribution";

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "eu-west-1", "app.example.com")
    }

    /// The default behavior with `caching = "custom"`: one custom cache policy.
    fn custom_caching() -> StackConfig {
        let mut config = config();
        config.default_behavior.caching = CachingMode::Custom;
        config.default_behavior.ttl = Some(Ttl {
            min: 0,
            default: 3_600,
            max: 86_400,
        });
        config
    }

    fn account() -> FakeAccount {
        FakeAccount::new("eu-west-1", ACCOUNT)
    }

    fn update(field: &str, from: &str, to: &str) -> Action {
        Action::Update {
            changes: vec![FieldChange {
                field: field.into(),
                from: Some(from.into()),
                to: Some(to.into()),
            }],
        }
    }

    fn error_text<T>(result: Result<T, DeployError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    /// The outcome of one run: its result, decisions and mutating calls.
    type Outcome<T> = (Result<T, DeployError>, Vec<Change>, Vec<String>);

    // -------------------------------------------------------------- real-time log config

    async fn log_config_with(account: &FakeAccount, mode: Mode) -> Outcome<String> {
        let config = config();
        let arns = Arns::new(&config, ACCOUNT, None);
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = converge_log_config(&run, &arns).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_log_config_and_up_creates_it() {
        let account = account();
        let (arn, changes, calls) = log_config_with(&account, Mode::Plan).await;
        assert_eq!(arn.ok().as_deref(), Some(LOG_CONFIG_ARN));
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());
        assert!(account.log_config(LOG_CONFIG_NAME).is_none());

        let (arn, changes, calls) = log_config_with(&account, Mode::Apply).await;
        assert_eq!(arn.ok().as_deref(), Some(LOG_CONFIG_ARN));
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            calls,
            vec!["cloudfront:CreateRealtimeLogConfig cfrp-shop-realtime-logs"]
        );
        let held = account.log_config(LOG_CONFIG_NAME).unwrap_or_default();
        let config = config();
        let arns = Arns::new(&config, ACCOUNT, None);
        assert_eq!(held.arn, LOG_CONFIG_ARN);
        assert_eq!(held.settings.sampling_rate, 100);
        assert_eq!(held.settings.stream_arn, arns.stream);
        assert_eq!(held.settings.role_arn, arns.cloudfront_logs_role);
        let wanted: Vec<String> = config
            .logging
            .fields
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert_eq!(held.settings.fields, wanted);
    }

    #[tokio::test]
    async fn a_converged_log_config_is_unchanged_and_costs_no_call() {
        let account = account();
        let _ = log_config_with(&account, Mode::Apply).await;
        let before = account.mutating_calls().len();
        let (result, changes, calls) = log_config_with(&account, Mode::Apply).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_sampling_rate_changed_by_hand_is_one_field_and_one_update() {
        let account = account();
        let _ = log_config_with(&account, Mode::Apply).await;
        account.edit_log_config(LOG_CONFIG_NAME, |c| c.settings.sampling_rate = 50);
        let (_, changes, calls) = log_config_with(&account, Mode::Plan).await;
        assert_eq!(changes[0].action, update("sampling_rate", "50", "100"));
        assert!(calls.is_empty());

        let (result, changes, calls) = log_config_with(&account, Mode::Apply).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, update("sampling_rate", "50", "100"));
        assert_eq!(
            calls,
            vec!["cloudfront:UpdateRealtimeLogConfig cfrp-shop-realtime-logs"]
        );
        let held = account.log_config(LOG_CONFIG_NAME).unwrap_or_default();
        assert_eq!(held.settings.sampling_rate, 100);
    }

    #[tokio::test]
    async fn remove_log_config_deletes_once_and_then_finds_nothing_to_do() {
        let account = account();
        let _ = log_config_with(&account, Mode::Apply).await;
        let config = config();
        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(remove_log_config(&plan).await.is_ok());
        assert_eq!(plan.changes()[0].action, Action::Delete);
        assert!(
            account.log_config(LOG_CONFIG_NAME).is_some(),
            "a plan deletes nothing"
        );

        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove_log_config(&run).await.is_ok());
        assert_eq!(
            run.mutations(),
            vec!["cloudfront:DeleteRealtimeLogConfig cfrp-shop-realtime-logs"]
        );
        assert!(account.log_config(LOG_CONFIG_NAME).is_none());
        let again = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove_log_config(&again).await.is_ok());
        assert!(again.changes().is_empty() && again.mutations().is_empty());
    }

    #[tokio::test]
    async fn a_log_config_create_that_fails_is_reported_and_the_next_run_creates_it() {
        let account = account();
        account.fail("cloudfront:CreateRealtimeLogConfig", 1);
        let (result, _, _) = log_config_with(&account, Mode::Apply).await;
        let message = error_text(result);
        assert!(
            message
                .contains("cloudfront:CreateRealtimeLogConfig for cfrp-shop-realtime-logs failed"),
            "{message}"
        );
        assert!(account.log_config(LOG_CONFIG_NAME).is_none());
        let (result, changes, calls) = log_config_with(&account, Mode::Apply).await;
        assert_eq!(result.ok().as_deref(), Some(LOG_CONFIG_ARN));
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            calls.len(),
            1,
            "an internal failure is not retried as propagation"
        );
        assert!(account.log_config(LOG_CONFIG_NAME).is_some());
    }

    // -------------------------------------------------------------- viewer-request function

    async fn function_with(account: &FakeAccount, mode: Mode) -> Outcome<String> {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = converge_function(&run).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_function_and_up_creates_and_publishes_it() {
        let account = account();
        let (arn, changes, calls) = function_with(&account, Mode::Plan).await;
        assert_eq!(arn.ok().as_deref(), Some(FUNCTION_ARN));
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());
        assert!(account.viewer_function(FUNCTION_NAME).is_none());

        let (arn, changes, calls) = function_with(&account, Mode::Apply).await;
        assert_eq!(arn.ok().as_deref(), Some(FUNCTION_ARN));
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            calls,
            vec![
                "cloudfront:CreateFunction cfrp-shop-viewer-request",
                "cloudfront:PublishFunction cfrp-shop-viewer-request",
            ]
        );
        let held = account.viewer_function(FUNCTION_NAME).unwrap_or_default();
        assert_eq!(held.comment, viewer_request::COMMENT);
        assert_eq!(held.runtime, viewer_request::RUNTIME);
        assert_eq!(held.code, viewer_request::SOURCE.as_bytes());
        assert_eq!(
            held.live_code.as_deref(),
            Some(viewer_request::SOURCE.as_bytes())
        );
    }

    #[tokio::test]
    async fn a_converged_function_is_unchanged_and_costs_no_call() {
        let account = account();
        let _ = function_with(&account, Mode::Apply).await;
        let before = account.mutating_calls().len();
        let (result, changes, calls) = function_with(&account, Mode::Apply).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn other_code_published_by_hand_is_only_republished() {
        let account = account();
        let _ = function_with(&account, Mode::Apply).await;
        account.edit_viewer_function(FUNCTION_NAME, |f| f.live_code = Some(b"other".to_vec()));
        let source = digest(viewer_request::SOURCE.as_bytes());
        let (result, changes, calls) = function_with(&account, Mode::Apply).await;
        assert!(result.is_ok());
        assert_eq!(
            changes[0].action,
            update("live_code_sha256", &digest(b"other"), &source)
        );
        assert_eq!(
            calls,
            vec!["cloudfront:PublishFunction cfrp-shop-viewer-request"]
        );
        let held = account.viewer_function(FUNCTION_NAME).unwrap_or_default();
        assert_eq!(
            held.live_code.as_deref(),
            Some(viewer_request::SOURCE.as_bytes())
        );
    }

    #[tokio::test]
    async fn a_comment_changed_by_hand_is_updated_with_the_current_etag_and_published() {
        let account = account();
        let _ = function_with(&account, Mode::Apply).await;
        // The edit changes the ETag: an update carrying the one read at create would fail.
        account.edit_viewer_function(FUNCTION_NAME, |f| f.comment = "by hand".into());
        let (_, changes, calls) = function_with(&account, Mode::Plan).await;
        assert_eq!(
            changes[0].action,
            update("comment", "by hand", viewer_request::COMMENT)
        );
        assert!(calls.is_empty());

        let (result, _, calls) = function_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(
            calls,
            vec![
                "cloudfront:UpdateFunction cfrp-shop-viewer-request",
                "cloudfront:PublishFunction cfrp-shop-viewer-request",
            ]
        );
        let held = account.viewer_function(FUNCTION_NAME).unwrap_or_default();
        assert_eq!(held.comment, viewer_request::COMMENT);
    }

    #[tokio::test]
    async fn remove_function_deletes_once_and_then_finds_nothing_to_do() {
        let account = account();
        let _ = function_with(&account, Mode::Apply).await;
        let config = config();
        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(remove_function(&plan).await.is_ok());
        assert_eq!(plan.changes()[0].action, Action::Delete);
        assert!(
            account.viewer_function(FUNCTION_NAME).is_some(),
            "a plan deletes nothing"
        );

        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let result = remove_function(&run).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(
            run.mutations(),
            vec!["cloudfront:DeleteFunction cfrp-shop-viewer-request"]
        );
        assert!(account.viewer_function(FUNCTION_NAME).is_none());
        let again = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove_function(&again).await.is_ok());
        assert!(again.changes().is_empty() && again.mutations().is_empty());
    }

    #[tokio::test]
    async fn a_publish_that_fails_leaves_the_function_unpublished_and_the_next_run_publishes() {
        let account = account();
        account.fail("cloudfront:PublishFunction", 1);
        let (result, _, calls) = function_with(&account, Mode::Apply).await;
        let message = error_text(result);
        assert!(
            message.contains("cloudfront:PublishFunction for cfrp-shop-viewer-request failed"),
            "{message}"
        );
        assert_eq!(calls.len(), 2);
        let held = account.viewer_function(FUNCTION_NAME).unwrap_or_default();
        assert!(held.live_code.is_none());

        let (result, changes, calls) = function_with(&account, Mode::Apply).await;
        assert!(result.is_ok());
        let source = digest(viewer_request::SOURCE.as_bytes());
        assert_eq!(
            changes[0].action,
            update("live_code_sha256", "(not published)", &source)
        );
        assert_eq!(
            calls,
            vec!["cloudfront:PublishFunction cfrp-shop-viewer-request"]
        );
        let held = account.viewer_function(FUNCTION_NAME).unwrap_or_default();
        assert_eq!(
            held.live_code.as_deref(),
            Some(viewer_request::SOURCE.as_bytes())
        );
    }

    // -------------------------------------------------------------- custom cache policies

    fn cache_policy_name() -> String {
        spec::cache_policy_name("shop", &custom_caching().default_behavior)
    }

    async fn cache_policies_with(
        account: &FakeAccount,
        mode: Mode,
    ) -> Outcome<Vec<(String, String)>> {
        let config = custom_caching();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = converge_cache_policies(&run).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_cache_policy_and_up_creates_it() {
        let account = account();
        let (ids, changes, calls) = cache_policies_with(&account, Mode::Plan).await;
        assert_eq!(
            ids.ok(),
            Some(Vec::new()),
            "a policy to create has no id yet"
        );
        assert_eq!(changes[0].name, cache_policy_name());
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());
        assert!(account.cache_policy(&cache_policy_name()).is_none());

        let (ids, _, calls) = cache_policies_with(&account, Mode::Apply).await;
        assert_eq!(
            calls,
            vec![format!(
                "cloudfront:CreateCachePolicy {}",
                cache_policy_name()
            )]
        );
        let held = account.cache_policy(&cache_policy_name());
        let id = held.as_ref().map(|p| p.id.clone()).unwrap_or_default();
        assert_eq!(ids.ok(), Some(vec![("default".to_string(), id)]));
        let config = held.map(|p| p.config);
        assert_eq!(config.as_ref().and_then(|c| c.default_ttl()), Some(3_600));
        assert_eq!(config.as_ref().and_then(|c| c.max_ttl()), Some(86_400));
    }

    #[tokio::test]
    async fn a_converged_cache_policy_is_unchanged_and_its_id_still_returned() {
        let account = account();
        let _ = cache_policies_with(&account, Mode::Apply).await;
        let before = account.mutating_calls().len();
        let (ids, changes, calls) = cache_policies_with(&account, Mode::Apply).await;
        let id = account
            .cache_policy(&cache_policy_name())
            .map(|p| p.id)
            .unwrap_or_default();
        assert_eq!(ids.ok(), Some(vec![("default".to_string(), id)]));
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_ttl_changed_by_hand_is_one_field_and_one_update_with_the_current_etag() {
        let account = account();
        let _ = cache_policies_with(&account, Mode::Apply).await;
        account.edit_cache_policy(&cache_policy_name(), |c| c.default_ttl = Some(60));
        let (_, changes, calls) = cache_policies_with(&account, Mode::Plan).await;
        assert_eq!(changes[0].action, update("default_ttl", "60", "3600"));
        assert!(calls.is_empty());

        let (result, changes, calls) = cache_policies_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(changes[0].action, update("default_ttl", "60", "3600"));
        assert_eq!(
            calls,
            vec![format!(
                "cloudfront:UpdateCachePolicy {}",
                cache_policy_name()
            )]
        );
        let held = account.cache_policy(&cache_policy_name()).map(|p| p.config);
        assert_eq!(held.and_then(|c| c.default_ttl()), Some(3_600));
    }

    #[tokio::test]
    async fn remove_cache_policies_keeps_those_in_use_and_deletes_the_rest_once() {
        let account = account();
        let (ids, _, _) = cache_policies_with(&account, Mode::Apply).await;
        let in_use = ids.unwrap_or_default();
        let config = custom_caching();
        let keeping = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove_cache_policies(&keeping, &in_use).await.is_ok());
        assert!(keeping.changes().is_empty() && keeping.mutations().is_empty());

        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(remove_cache_policies(&plan, &[]).await.is_ok());
        assert_eq!(plan.changes()[0].action, Action::Delete);
        assert!(account.cache_policy(&cache_policy_name()).is_some());

        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let result = remove_cache_policies(&run, &[]).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(
            run.mutations(),
            vec![format!(
                "cloudfront:DeleteCachePolicy {}",
                cache_policy_name()
            )]
        );
        assert!(account.cache_policy(&cache_policy_name()).is_none());
        let again = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove_cache_policies(&again, &[]).await.is_ok());
        assert!(again.changes().is_empty() && again.mutations().is_empty());
    }

    #[tokio::test]
    async fn a_cache_policy_create_that_fails_is_reported_and_the_next_run_creates_it() {
        let account = account();
        account.fail("cloudfront:CreateCachePolicy", 1);
        let (result, _, _) = cache_policies_with(&account, Mode::Apply).await;
        let message = error_text(result);
        assert!(
            message.contains(&format!(
                "cloudfront:CreateCachePolicy for {} failed",
                cache_policy_name()
            )),
            "{message}"
        );
        assert!(account.cache_policy(&cache_policy_name()).is_none());
        let (ids, changes, _) = cache_policies_with(&account, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(ids.map(|ids| ids.len()).ok(), Some(1));
        assert!(account.cache_policy(&cache_policy_name()).is_some());
    }

    // -------------------------------------------------------------- distribution

    async fn distribution_with(account: &FakeAccount, mode: Mode) -> Outcome<Converged> {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result =
            converge_distribution(&run, Some(LOG_CONFIG_ARN), None, FUNCTION_ARN, &[], None).await;
        (result, run.changes(), run.mutations())
    }

    /// Creates the stack's distribution; its id.
    async fn created_distribution(account: &FakeAccount) -> String {
        let (result, _, _) = distribution_with(account, Mode::Apply).await;
        result
            .ok()
            .and_then(|c| c.found)
            .map(|f| f.id)
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_distribution_and_up_creates_it_tagged() {
        let account = account();
        let (result, changes, calls) = distribution_with(&account, Mode::Plan).await;
        assert!(result.is_ok_and(|c| c.found.is_none()));
        assert_eq!(changes[0].name, CALLER_REFERENCE);
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());

        let (result, changes, calls) = distribution_with(&account, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            calls,
            vec!["cloudfront:CreateDistributionWithTags cfrp-shop-distribution"]
        );
        let converged = result.ok();
        let found = converged.as_ref().and_then(|c| c.found.clone());
        let id = found.as_ref().map(|f| f.id.clone()).unwrap_or_default();
        assert_eq!(found.map(|f| f.status).as_deref(), Some("InProgress"));
        let Some(held) = account.distribution(&id) else {
            panic!("no distribution {id} in the account");
        };
        assert!(
            held.tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        );
        assert_eq!(held.config.caller_reference(), CALLER_REFERENCE);
        assert_eq!(held.config.comment(), "Reverse proxy for app.example.com");
        assert!(held.config.enabled());
        assert_eq!(
            crate::spec::secret::current(&held.config),
            converged.map(|c| c.origin_secret)
        );
    }

    #[tokio::test]
    async fn a_converged_distribution_is_unchanged_keeps_its_secret_and_costs_no_call() {
        let account = account();
        let (first, _, _) = distribution_with(&account, Mode::Apply).await;
        let before = account.mutating_calls().len();
        let (second, changes, calls) = distribution_with(&account, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
        let secret = |c: Result<Converged, DeployError>| c.ok().map(|c| c.origin_secret);
        let first = secret(first);
        assert!(first.is_some());
        assert_eq!(secret(second), first);
    }

    #[tokio::test]
    async fn a_comment_changed_by_hand_is_one_field_and_one_update_keeping_the_reference() {
        let account = account();
        let id = created_distribution(&account).await;
        account.edit_distribution(&id, |c| c.comment = "by hand".into());
        let (_, changes, calls) = distribution_with(&account, Mode::Plan).await;
        assert_eq!(
            changes[0].action,
            update("comment", "by hand", "Reverse proxy for app.example.com")
        );
        assert!(calls.is_empty());

        let (result, _, calls) = distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(calls, vec![format!("cloudfront:UpdateDistribution {id}")]);
        let held = account.distribution(&id).map(|d| d.config);
        assert_eq!(
            held.as_ref().map(|c| c.comment()),
            Some("Reverse proxy for app.example.com")
        );
        assert_eq!(
            held.as_ref().map(|c| c.caller_reference()),
            Some(CALLER_REFERENCE)
        );
    }

    #[tokio::test]
    async fn an_update_refused_for_a_stale_etag_is_read_again_and_retried() {
        let account = account();
        let id = created_distribution(&account).await;
        account.edit_distribution(&id, |c| c.comment = "by hand".into());
        // Someone changes the distribution right after the deployer reads it.
        account.edit_distribution_after_next_read(&id, |c| c.default_root_object = None);
        let (result, changes, calls) = distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(
            changes[0].action,
            update("comment", "by hand", "Reverse proxy for app.example.com")
        );
        assert_eq!(
            calls,
            vec![
                format!("cloudfront:UpdateDistribution {id}"),
                format!("cloudfront:UpdateDistribution {id}"),
            ]
        );
        let held = account.distribution(&id).map(|d| d.config);
        assert_eq!(
            held.as_ref().map(|c| c.comment()),
            Some("Reverse proxy for app.example.com")
        );
    }

    #[tokio::test]
    async fn a_distribution_create_that_fails_is_reported_and_the_next_run_creates_it() {
        let account = account();
        account.fail("cloudfront:CreateDistributionWithTags", 1);
        let (result, _, _) = distribution_with(&account, Mode::Apply).await;
        let message = error_text(result);
        assert!(
            message.contains(
                "cloudfront:CreateDistributionWithTags for cfrp-shop-distribution failed"
            ),
            "{message}"
        );
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(find_distribution(&run).await.is_ok_and(|f| f.is_none()));

        let (result, changes, _) = distribution_with(&account, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Create);
        let id = result.ok().and_then(|c| c.found).map(|f| f.id);
        assert!(account.distribution(&id.unwrap_or_default()).is_some());
    }

    #[tokio::test]
    async fn find_distribution_skips_another_stacks_distribution() {
        let account = account();
        let other = crate::spec::distribution::build(
            &config(),
            &spec::Inputs {
                caller_reference: "cfrp-other-distribution",
                origin_secret: "s",
                realtime_log_config_arn: None,
                viewer_request_function_arn: FUNCTION_ARN,
                custom_cache_policies: &[],
                web_acl_arn: None,
                response_headers_policy: None,
            },
        );
        let created = match other {
            Ok(config) => {
                account
                    .create_distribution(config, vec![("cfrp:stack".into(), "other".into())])
                    .await
            }
            Err(err) => Err(err),
        };
        assert!(created.is_ok());
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(find_distribution(&run).await.is_ok_and(|f| f.is_none()));
        let id = created_distribution(&account).await;
        let found = find_distribution(&run).await.ok().flatten().map(|f| f.id);
        assert_eq!(found, Some(id));
    }

    /// A distribution carrying the stack's tag under another caller reference (made by hand,
    /// or copied with its tags) is warned about and never taken for the stack's: `up` makes
    /// the stack's own beside it and `down` removes only that one.
    #[tokio::test]
    async fn a_tagged_distribution_with_another_caller_reference_is_warned_about_and_left_alone() {
        let account = account();
        let by_hand = crate::spec::distribution::build(
            &config(),
            &spec::Inputs {
                caller_reference: "made-in-the-console",
                origin_secret: "s",
                realtime_log_config_arn: None,
                viewer_request_function_arn: FUNCTION_ARN,
                custom_cache_policies: &[],
                web_acl_arn: None,
                response_headers_policy: None,
            },
        );
        let created = match by_hand {
            Ok(config) => {
                account
                    .create_distribution(config, vec![("cfrp:stack".into(), "shop".into())])
                    .await
            }
            Err(err) => Err(err),
        };
        let Ok(theirs) = created else {
            panic!("the hand-made distribution was not created");
        };
        let before = account.distribution(&theirs.id);

        let config = config();
        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(find_distribution(&plan).await.is_ok_and(|f| f.is_none()));
        let warnings = plan.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let warning = &warnings[0];
        assert!(
            warning.name == theirs.id
                && warning.message.contains("\"made-in-the-console\"")
                && warning.message.contains("left unchanged"),
            "{warning:?}"
        );

        let ours = created_distribution(&account).await;
        assert!(!ours.is_empty() && ours != theirs.id);
        let (result, _, calls) = remove_distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert!(calls.iter().all(|c| !c.contains(&theirs.id)), "{calls:?}");
        assert!(account.distribution(&ours).is_none());
        assert_eq!(
            account.distribution(&theirs.id),
            before,
            "theirs is untouched"
        );
    }

    async fn remove_distribution_with(account: &FakeAccount, mode: Mode) -> Outcome<()> {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = remove_distribution(&run).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn remove_distribution_disables_waits_and_deletes_once() {
        let account = account();
        let id = created_distribution(&account).await;
        let (result, changes, calls) = remove_distribution_with(&account, Mode::Plan).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].name, CALLER_REFERENCE);
        assert_eq!(changes[0].action, Action::Delete);
        assert!(calls.is_empty());
        assert!(
            account
                .distribution(&id)
                .is_some_and(|d| d.config.enabled()),
            "a plan disables nothing"
        );

        let (result, _, calls) = remove_distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(
            calls,
            vec![
                format!("cloudfront:UpdateDistribution {id}"),
                format!("cloudfront:DeleteDistribution {id}"),
            ]
        );
        assert!(account.distribution(&id).is_none());
        let (result, changes, calls) = remove_distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok());
        assert!(changes.is_empty() && calls.is_empty());
    }

    #[tokio::test]
    async fn remove_distribution_polls_until_the_disabling_has_deployed() {
        let account = account();
        let id = created_distribution(&account).await;
        // One InProgress answer: one pause of the poll (200 ms), the shortest it makes.
        account.set_in_progress_reads(1);
        let (result, _, _) = remove_distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        let reads = account
            .calls()
            .iter()
            .filter(|c| c.starts_with("cloudfront:GetDistribution "))
            .count();
        assert_eq!(reads, 2, "InProgress once, then Deployed");
        assert!(account.distribution(&id).is_none());
    }

    #[tokio::test]
    async fn a_delete_that_fails_after_disabling_resumes_at_the_delete() {
        let account = account();
        let id = created_distribution(&account).await;
        account.fail("cloudfront:DeleteDistribution", 1);
        let (result, _, _) = remove_distribution_with(&account, Mode::Apply).await;
        let message = error_text(result);
        assert!(
            message.contains(&format!("cloudfront:DeleteDistribution for {id} failed")),
            "{message}"
        );
        assert!(
            account
                .distribution(&id)
                .is_some_and(|d| !d.config.enabled())
        );

        let (result, _, calls) = remove_distribution_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(calls, vec![format!("cloudfront:DeleteDistribution {id}")]);
        assert!(account.distribution(&id).is_none());
    }

    #[tokio::test]
    async fn what_a_distribution_uses_is_not_deleted_before_it() {
        let account = account();
        let _ = log_config_with(&account, Mode::Apply).await;
        let _ = function_with(&account, Mode::Apply).await;
        let _ = created_distribution(&account).await;
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let message = error_text(remove_log_config(&run).await);
        assert!(message.contains("RealtimeLogConfigInUse"), "{message}");
        let message = error_text(remove_function(&run).await);
        assert!(message.contains("FunctionInUse"), "{message}");
        assert!(remove_distribution(&run).await.is_ok());
        assert!(remove_function(&run).await.is_ok());
        assert!(remove_log_config(&run).await.is_ok());
        assert!(account.viewer_function(FUNCTION_NAME).is_none());
        assert!(account.log_config(LOG_CONFIG_NAME).is_none());
    }

    // -------------------------------------------------------------- operator commands

    #[tokio::test]
    async fn edit_distribution_sends_nothing_when_the_edit_changes_nothing() {
        let account = account();
        let id = created_distribution(&account).await;
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(
            edit_distribution(&run, &id, |_| false)
                .await
                .is_ok_and(|sent| !sent)
        );
        assert!(run.mutations().is_empty());
        let sent = edit_distribution(&run, &id, |c| {
            c.comment = "edited".into();
            true
        })
        .await;
        assert!(sent.is_ok_and(|sent| sent));
        assert_eq!(
            run.mutations(),
            vec![format!("cloudfront:UpdateDistribution {id}")]
        );
        let held = account.distribution(&id).map(|d| d.config);
        assert_eq!(held.as_ref().map(|c| c.comment()), Some("edited"));
    }

    #[tokio::test]
    async fn edit_distribution_applies_its_edit_afresh_after_a_concurrent_change() {
        let account = account();
        let id = created_distribution(&account).await;
        account.edit_distribution_after_next_read(&id, |c| c.comment = "theirs".into());
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let sent = edit_distribution(&run, &id, |c| {
            c.default_root_object = Some("index.html".into());
            true
        })
        .await;
        assert!(sent.is_ok_and(|sent| sent));
        assert_eq!(run.mutations().len(), 2, "refused once, then sent again");
        let held = account.distribution(&id).map(|d| d.config);
        assert_eq!(
            held.as_ref().map(|c| c.comment()),
            Some("theirs"),
            "their change is kept"
        );
        assert_eq!(
            held.as_ref().and_then(|c| c.default_root_object()),
            Some("index.html")
        );
    }

    #[tokio::test]
    async fn an_unknown_distribution_reads_as_none() {
        let account = account();
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        let read = read_distribution_config(&run, "ENOSUCH").await;
        assert!(read.is_ok_and(|r| r.is_none()));
    }

    #[tokio::test]
    async fn an_invalidation_is_in_progress_then_completed() {
        let account = account();
        let id = created_distribution(&account).await;
        account.set_in_progress_reads(1);
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let paths = vec!["/index.html".to_string()];
        let created = create_invalidation(&run, &id, &paths, "ref-1").await;
        let Ok(created) = created else {
            panic!("{}", error_text(created));
        };
        assert_eq!(created.status, "InProgress");
        assert_eq!(
            run.mutations(),
            vec![format!("cloudfront:CreateInvalidation {id}")]
        );
        assert_eq!(
            account.invalidation(&created.id).map(|i| i.paths),
            Some(paths.clone())
        );
        let first = invalidation_status(&run, &id, &created.id).await;
        assert_eq!(first.ok().as_deref(), Some("InProgress"));
        let second = invalidation_status(&run, &id, &created.id).await;
        assert_eq!(second.ok().as_deref(), Some("Completed"));
        // The same caller reference again is the same invalidation, not a second one.
        let again = create_invalidation(&run, &id, &paths, "ref-1").await;
        assert_eq!(again.ok().map(|i| i.id), Some(created.id.clone()));
    }

    #[tokio::test]
    async fn an_invalidation_that_fails_is_reported_with_the_call() {
        let account = account();
        let id = created_distribution(&account).await;
        account.fail("cloudfront:CreateInvalidation", 1);
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let paths = vec!["/*".to_string()];
        let message = error_text(create_invalidation(&run, &id, &paths, "ref-1").await);
        assert!(
            message.contains(&format!("cloudfront:CreateInvalidation for {id} failed")),
            "{message}"
        );
        assert!(
            create_invalidation(&run, &id, &paths, "ref-1")
                .await
                .is_ok()
        );
    }

    // -------------------------------------------------------------- failover and errors

    /// Two origins, a group behind a GET/HEAD behaviour, error responses, Origin Shield.
    fn edge() -> StackConfig {
        let mut config = config();
        let mut spare = cfrp_config::Origin::new("spare", "spare.example.com");
        spare.origin_shield_region = Some("eu-west-1".into());
        config.origins.push(spare);
        config.origin_groups.push(cfrp_config::OriginGroup {
            id: "site".into(),
            primary: "origin".into(),
            secondary: "spare".into(),
            failover_status_codes: vec![502, 503],
        });
        let mut pages = cfrp_config::Behavior::new("site");
        pages.path_pattern = Some("/pages/*".into());
        pages.allowed_methods = cfrp_config::AllowedMethods::GetHead;
        config.behaviors.push(pages);
        config.error_responses.push(cfrp_config::ErrorResponse {
            code: 503,
            caching_min_ttl: 0,
            page: None,
            response_code: None,
        });
        config
    }

    async fn edge_with(account: &FakeAccount, mode: Mode) -> Outcome<Converged> {
        let config = edge();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result =
            converge_distribution(&run, Some(LOG_CONFIG_ARN), None, FUNCTION_ARN, &[], None).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn groups_and_error_responses_converge_then_cost_no_call_and_a_hand_edit_is_one_field() {
        assert!(edge().validate().is_ok(), "{:?}", edge().validate());
        let account = account();
        let (created, _, calls) = edge_with(&account, Mode::Apply).await;
        assert_eq!(calls.len(), 1, "{calls:?}");
        let id = created
            .ok()
            .and_then(|c| c.found)
            .map(|f| f.id)
            .unwrap_or_default();
        let held = account.distribution(&id).map(|d| d.config);
        let group = held
            .as_ref()
            .and_then(|c| c.origin_groups())
            .map(|g| g.items().to_vec())
            .unwrap_or_default();
        assert_eq!(group.len(), 1);
        assert_eq!(group[0].id(), "site");

        let (_, changes, calls) = edge_with(&account, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty(), "{calls:?}");

        account.edit_distribution(&id, |c| {
            if let Some(item) = c
                .custom_error_responses
                .as_mut()
                .and_then(|e| e.items.as_mut())
                .and_then(|items| items.first_mut())
            {
                item.error_caching_min_ttl = Some(10);
            }
        });
        let (_, changes, calls) = edge_with(&account, Mode::Plan).await;
        assert_eq!(
            changes[0].action,
            update("error_responses[503].caching_min_ttl", "10s", "0s")
        );
        assert!(calls.is_empty());
        let (result, _, calls) = edge_with(&account, Mode::Apply).await;
        assert!(result.is_ok(), "{}", error_text(result));
        assert_eq!(calls, vec![format!("cloudfront:UpdateDistribution {id}")]);
        let (_, changes, calls) = edge_with(&account, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
    }

    #[tokio::test]
    async fn cache_key_lists_are_fields_of_the_cache_policy_and_a_changed_list_is_one_update() {
        use cfrp_config::KeyItems;
        let account = account();
        let mut config = custom_caching();
        config.default_behavior.cache_key_query_strings = KeyItems::Deny;
        config.default_behavior.cache_key_query_string_names = vec!["utm_source".into()];
        config.default_behavior.cache_key_cookies = KeyItems::Allow;
        config.default_behavior.cache_key_cookie_names = vec!["locale".into()];
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(converge_cache_policies(&run).await.is_ok());
        let held = account.cache_policy(&cache_policy_name()).map(|p| p.config);
        let fields = held
            .as_ref()
            .map(spec::flatten_cache_policy)
            .unwrap_or_default();
        assert_eq!(
            fields.get("query_strings").map(String::as_str),
            Some("allExcept")
        );
        assert_eq!(
            fields.get("query_string_names").map(String::as_str),
            Some("utm_source")
        );
        assert_eq!(fields.get("cookies").map(String::as_str), Some("whitelist"));
        assert_eq!(
            fields.get("cookie_names").map(String::as_str),
            Some("locale")
        );

        config.default_behavior.cache_key_cookie_names = vec!["locale".into(), "currency".into()];
        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(converge_cache_policies(&plan).await.is_ok());
        assert_eq!(
            plan.changes()[0].action,
            update("cookie_names", "locale", "currency,locale")
        );
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(converge_cache_policies(&run).await.is_ok());
        assert_eq!(
            run.mutations(),
            vec![format!(
                "cloudfront:UpdateCachePolicy {}",
                cache_policy_name()
            )]
        );
    }
}
