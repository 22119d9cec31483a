//! CloudFront: the real-time log config, the viewer-request function, custom cache policies
//! and the distribution itself. Every update carries the ETag read just before it (IfMatch);
//! a PreconditionFailed (someone else changed it in between) is re-read and retried.

use std::time::Duration;

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    DistributionConfig, EndPoint, FunctionConfig, FunctionRuntime, FunctionStage,
    KinesisStreamConfig, Tag, Tags,
};
use sha2::{Digest, Sha256};

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::resources::{found, poll, retry_while_role_propagates};
use crate::spec::{Arns, distribution as spec, viewer_request};

/// How often an update is retried after PreconditionFailed.
const ETAG_RETRIES: usize = 3;
/// How long `--wait` and `down` wait for CloudFront to deploy a change (AWS: usually
/// 5–15 minutes).
pub const DEPLOY_TIMEOUT: Duration = Duration::from_secs(45 * 60);

// ------------------------------------------------------------------ real-time log config

const LOG_CONFIG: &str = "real-time log config";

fn log_config_fields(sampling: i64, names: &[String], stream: &str, role: &str) -> Fields {
    fields([
        ("sampling_rate", sampling.to_string()),
        ("fields", names.join(",")),
        ("stream", stream.to_string()),
        ("role", role.to_string()),
    ])
}

pub async fn converge_log_config(run: &Run<'_>, arns: &Arns) -> Result<String, DeployError> {
    let name = run.names.realtime_log_config();
    let logging = &run.config.logging;
    let wanted_fields: Vec<String> = logging
        .fields
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let sampling = i64::from(logging.sampling_rate);
    let desired = log_config_fields(
        sampling,
        &wanted_fields,
        &arns.stream,
        &arns.cloudfront_logs_role,
    );
    let existing = match run
        .aws
        .cloudfront
        .get_realtime_log_config()
        .name(&name)
        .send()
        .await
    {
        Ok(out) => out.realtime_log_config,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_realtime_log_config()) =>
        {
            None
        }
        Err(err) => {
            return Err(DeployError::aws(
                "cloudfront:GetRealtimeLogConfig",
                &name,
                err,
            ));
        }
    };
    let observed = existing.as_ref().map(|c| {
        let endpoint = c
            .end_points()
            .first()
            .and_then(|e| e.kinesis_stream_config());
        log_config_fields(
            c.sampling_rate(),
            c.fields(),
            endpoint.map(|k| k.stream_arn()).unwrap_or_default(),
            endpoint.map(|k| k.role_arn()).unwrap_or_default(),
        )
    });
    let arn = existing
        .as_ref()
        .map(|c| c.arn().to_string())
        .unwrap_or_else(|| run.global_arn("cloudfront", &format!("realtime-log-config/{name}")));
    let action = run.decide(LOG_CONFIG, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(arn);
    }
    let endpoint = EndPoint::builder()
        .stream_type("Kinesis")
        .kinesis_stream_config(
            KinesisStreamConfig::builder()
                .role_arn(&arns.cloudfront_logs_role)
                .stream_arn(&arns.stream)
                .build()?,
        )
        .build()?;
    if action == Action::Create {
        // IAM is eventually consistent: CloudFront may not see a role created seconds ago.
        let client = run.aws.cloudfront.clone();
        let created = retry_while_role_propagates(
            || {
                let request = client
                    .create_realtime_log_config()
                    .name(&name)
                    .sampling_rate(sampling)
                    .set_fields(Some(wanted_fields.clone()))
                    .end_points(endpoint.clone());
                async move { request.send().await }
            },
            run,
            "cloudfront:CreateRealtimeLogConfig",
            &name,
        )
        .await?;
        return Ok(created
            .realtime_log_config()
            .map(|c| c.arn().to_string())
            .unwrap_or(arn));
    }
    run.mutating("cloudfront:UpdateRealtimeLogConfig", &name)?;
    run.aws
        .cloudfront
        .update_realtime_log_config()
        .name(&name)
        .sampling_rate(sampling)
        .set_fields(Some(wanted_fields))
        .end_points(endpoint)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:UpdateRealtimeLogConfig", &name, e))?;
    Ok(arn)
}

pub async fn remove_log_config(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.realtime_log_config();
    match run
        .aws
        .cloudfront
        .get_realtime_log_config()
        .name(&name)
        .send()
        .await
    {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_realtime_log_config()) =>
        {
            return Ok(());
        }
        Err(err) => {
            return Err(DeployError::aws(
                "cloudfront:GetRealtimeLogConfig",
                &name,
                err,
            ));
        }
    }
    run.note(LOG_CONFIG, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudfront:DeleteRealtimeLogConfig", &name)?;
    found(
        run.aws
            .cloudfront
            .delete_realtime_log_config()
            .name(&name)
            .send()
            .await,
        |e| e.is_no_such_realtime_log_config(),
        "cloudfront:DeleteRealtimeLogConfig",
        &name,
    )?;
    Ok(())
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
    let Some(out) = found(
        run.aws
            .cloudfront
            .describe_function()
            .name(name)
            .stage(FunctionStage::Development)
            .send()
            .await,
        |e| e.is_no_such_function_exists(),
        "cloudfront:DescribeFunction",
        name,
    )?
    else {
        return Ok(None);
    };
    let described = out;
    let etag = described.e_tag().unwrap_or_default().to_string();
    let summary = described.function_summary();
    let config = summary.and_then(|s| s.function_config());
    let arn = summary
        .and_then(|s| s.function_metadata())
        .map(|m| m.function_arn().to_string())
        .unwrap_or_default();
    let code = |stage: FunctionStage| async move {
        match run
            .aws
            .cloudfront
            .get_function()
            .name(name)
            .stage(stage)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .function_code
                .map(|b| digest(b.as_ref()))
                .unwrap_or_default()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_function_exists()) =>
            {
                Ok("(not published)".to_string())
            }
            Err(err) => Err(DeployError::aws("cloudfront:GetFunction", name, err)),
        }
    };
    let development = code(FunctionStage::Development).await?;
    let live = code(FunctionStage::Live).await?;
    Ok(Some((
        fields([
            (
                "comment",
                config.map(|c| c.comment()).unwrap_or_default().to_string(),
            ),
            (
                "runtime",
                config
                    .map(|c| c.runtime().as_str())
                    .unwrap_or_default()
                    .to_string(),
            ),
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
    let config = FunctionConfig::builder()
        .comment(viewer_request::COMMENT)
        .runtime(FunctionRuntime::from(viewer_request::RUNTIME))
        .build()?;
    let development_changed = match &action {
        Action::Create => true,
        Action::Update { changes } => changes.iter().any(|c| c.field != "live_code_sha256"),
        _ => false,
    };
    if action == Action::Create {
        run.mutating("cloudfront:CreateFunction", &name)?;
        run.aws
            .cloudfront
            .create_function()
            .name(&name)
            .function_config(config.clone())
            .function_code(Blob::new(viewer_request::SOURCE.as_bytes()))
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:CreateFunction", &name, e))?;
    } else if development_changed {
        let etag = observed
            .as_ref()
            .map(|(_, e, _)| e.clone())
            .unwrap_or_default();
        run.mutating("cloudfront:UpdateFunction", &name)?;
        run.aws
            .cloudfront
            .update_function()
            .name(&name)
            .if_match(etag)
            .function_config(config)
            .function_code(Blob::new(viewer_request::SOURCE.as_bytes()))
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:UpdateFunction", &name, e))?;
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
    run.aws
        .cloudfront
        .publish_function()
        .name(&name)
        .if_match(etag)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:PublishFunction", &name, e))?;
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
    found(
        run.aws
            .cloudfront
            .delete_function()
            .name(&name)
            .if_match(etag)
            .send()
            .await,
        |e| e.is_no_such_function_exists(),
        "cloudfront:DeleteFunction",
        &name,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ custom cache policies

const CACHE_POLICY: &str = "cache policy";

/// The stack's custom cache policies: name → (id, ETag, config).
async fn stack_cache_policies(
    run: &Run<'_>,
) -> Result<
    Vec<(
        String,
        String,
        String,
        aws_sdk_cloudfront::types::CachePolicyConfig,
    )>,
    DeployError,
> {
    let prefix = format!("cfrp-{}-cache-", run.names.stack());
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = run
            .aws
            .cloudfront
            .list_cache_policies()
            .r#type(aws_sdk_cloudfront::types::CachePolicyType::Custom)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:ListCachePolicies", &prefix, e))?;
        let Some(list) = out.cache_policy_list else {
            break;
        };
        for item in list.items() {
            let Some(policy) = item.cache_policy() else {
                continue;
            };
            let Some(config) = policy.cache_policy_config() else {
                continue;
            };
            if config.name().starts_with(&prefix) {
                let etag = run
                    .aws
                    .cloudfront
                    .get_cache_policy_config()
                    .id(policy.id())
                    .send()
                    .await
                    .map_err(|e| {
                        DeployError::aws("cloudfront:GetCachePolicyConfig", config.name(), e)
                    })?
                    .e_tag
                    .unwrap_or_default();
                found.push((
                    config.name().to_string(),
                    policy.id().to_string(),
                    etag,
                    config.clone(),
                ));
            }
        }
        marker = list
            .next_marker()
            .map(str::to_string)
            .filter(|m| !m.is_empty());
        if marker.is_none() {
            break;
        }
    }
    Ok(found)
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
        let current = existing.iter().find(|(n, ..)| *n == name);
        let desired = spec::flatten_cache_policy(&config);
        let observed = current.map(|(_, _, _, c)| spec::flatten_cache_policy(c));
        let action = run.decide(CACHE_POLICY, &name, &desired, observed.as_ref());
        let key = spec::behavior_key(&behavior);
        if let Some((_, id, ..)) = current {
            ids.push((key.clone(), id.clone()));
        }
        if !run.applying() {
            continue;
        }
        match (action, current) {
            (Action::Create, _) => {
                run.mutating("cloudfront:CreateCachePolicy", &name)?;
                let out = run
                    .aws
                    .cloudfront
                    .create_cache_policy()
                    .cache_policy_config(config)
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("cloudfront:CreateCachePolicy", &name, e))?;
                if let Some(policy) = out.cache_policy() {
                    ids.push((key, policy.id().to_string()));
                }
            }
            (Action::Update { .. }, Some((_, id, etag, _))) => {
                run.mutating("cloudfront:UpdateCachePolicy", &name)?;
                run.aws
                    .cloudfront
                    .update_cache_policy()
                    .id(id)
                    .if_match(etag)
                    .cache_policy_config(config)
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("cloudfront:UpdateCachePolicy", &name, e))?;
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
    for (name, id, etag, _) in stack_cache_policies(run).await? {
        if keep.iter().any(|(_, k)| *k == id) {
            continue;
        }
        run.note(CACHE_POLICY, &name, Action::Delete);
        if !run.applying() {
            continue;
        }
        run.mutating("cloudfront:DeleteCachePolicy", &name)?;
        run.aws
            .cloudfront
            .delete_cache_policy()
            .id(&id)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:DeleteCachePolicy", &name, e))?;
    }
    Ok(())
}

// ------------------------------------------------------------------ distribution

const DISTRIBUTION: &str = "CloudFront distribution";

/// The stack's distribution as found again.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: String,
    pub domain: String,
    pub status: String,
    pub arn: String,
}

/// Finds the stack's distribution by its `cfrp:stack` tag, the one link that survives a
/// lost local state (ListDistributions does not return tags, so each candidate's tags are
/// read; accounts rarely hold more than a few hundred distributions).
pub async fn find_distribution(run: &Run<'_>) -> Result<Option<Found>, DeployError> {
    let stack = run.names.stack().to_string();
    let mut marker: Option<String> = None;
    loop {
        let out = run
            .aws
            .cloudfront
            .list_distributions()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:ListDistributions", &stack, e))?;
        let Some(list) = out.distribution_list else {
            return Ok(None);
        };
        for summary in list.items() {
            let tags = run
                .aws
                .cloudfront
                .list_tags_for_resource()
                .resource(summary.arn())
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:ListTagsForResource", summary.id(), e))?;
            let ours = tags.tags().is_some_and(|t| {
                t.items().iter().any(|tag| {
                    tag.key() == cfrp_config::naming::STACK_TAG
                        && tag.value() == Some(stack.as_str())
                })
            });
            if ours {
                return Ok(Some(Found {
                    id: summary.id().to_string(),
                    domain: summary.domain_name().to_string(),
                    status: summary.status().to_string(),
                    arn: summary.arn().to_string(),
                }));
            }
        }
        marker = list
            .next_marker()
            .map(str::to_string)
            .filter(|m| !m.is_empty());
        if marker.is_none() || !list.is_truncated() {
            return Ok(None);
        }
    }
}

async fn distribution_config(
    run: &Run<'_>,
    id: &str,
) -> Result<(DistributionConfig, String), DeployError> {
    let out = run
        .aws
        .cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:GetDistributionConfig", id, e))?;
    let etag = out.e_tag().unwrap_or_default().to_string();
    let config = out
        .distribution_config
        .ok_or_else(|| DeployError::state(id, "GetDistributionConfig returned no config"))?;
    Ok((config, etag))
}

/// A new origin-verify secret: 32 random bytes from the OS, hex-encoded.
fn new_secret() -> Result<String, DeployError> {
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
    function_arn: &str,
    cache_policies: &[(String, String)],
) -> Result<Converged, DeployError> {
    let caller_reference = run.names.caller_reference();
    let mut found = find_distribution(run).await?;
    let mut current = match &found {
        Some(f) => Some(distribution_config(run, &f.id).await?),
        None => None,
    };
    let secret = match current.as_ref().and_then(|(c, _)| spec::origin_secret(c)) {
        Some(secret) => secret,
        None => new_secret()?,
    };
    let build = |reference: &str| {
        spec::build(
            run.config,
            &spec::Inputs {
                caller_reference: reference,
                origin_secret: &secret,
                realtime_log_config_arn: log_config_arn,
                viewer_request_function_arn: function_arn,
                custom_cache_policies: cache_policies,
            },
        )
    };
    let desired_config = build(
        current
            .as_ref()
            .map(|(c, _)| c.caller_reference())
            .unwrap_or(&caller_reference),
    )?;
    let desired = spec::flatten(&desired_config);
    let observed = current.as_ref().map(|(c, _)| spec::flatten(c));
    let action = run.decide(DISTRIBUTION, &caller_reference, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(Converged {
            found,
            origin_secret: secret,
        });
    }
    if action == Action::Create {
        let mut tags = Tags::builder();
        for (k, v) in run.tags() {
            tags = tags.items(Tag::builder().key(k).value(v).build()?);
        }
        run.mutating("cloudfront:CreateDistributionWithTags", &caller_reference)?;
        let out = run
            .aws
            .cloudfront
            .create_distribution_with_tags()
            .distribution_config_with_tags(
                aws_sdk_cloudfront::types::DistributionConfigWithTags::builder()
                    .distribution_config(desired_config)
                    .tags(tags.build())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                DeployError::aws(
                    "cloudfront:CreateDistributionWithTags",
                    &caller_reference,
                    e,
                )
            })?;
        let d = out.distribution.ok_or_else(|| {
            DeployError::state(
                &caller_reference,
                "CreateDistribution returned no distribution",
            )
        })?;
        found = Some(Found {
            id: d.id().to_string(),
            domain: d.domain_name().to_string(),
            status: d.status().to_string(),
            arn: d.arn().to_string(),
        });
        return Ok(Converged {
            found,
            origin_secret: secret,
        });
    }
    let id = found.as_ref().map(|f| f.id.clone()).unwrap_or_default();
    for attempt in 0..=ETAG_RETRIES {
        let Some((existing, etag)) = current.take() else {
            break;
        };
        let config = build(existing.caller_reference())?;
        run.mutating("cloudfront:UpdateDistribution", &id)?;
        match run
            .aws
            .cloudfront
            .update_distribution()
            .id(&id)
            .if_match(etag)
            .distribution_config(config)
            .send()
            .await
        {
            Ok(out) => {
                if let (Some(f), Some(d)) = (found.as_mut(), out.distribution()) {
                    f.status = d.status().to_string();
                }
                break;
            }
            Err(err)
                if attempt < ETAG_RETRIES
                    && err
                        .as_service_error()
                        .is_some_and(|e| e.is_precondition_failed()) =>
            {
                current = Some(distribution_config(run, &id).await?);
            }
            Err(err) => return Err(DeployError::aws("cloudfront:UpdateDistribution", &id, err)),
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
        let out = run
            .aws
            .cloudfront
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:GetDistribution", id, e))?;
        let status = out
            .distribution()
            .map(|d| d.status().to_string())
            .unwrap_or_default();
        wait.set(&format!("distribution {id}: {status}"));
        Ok(status == "Deployed")
    })
    .await
}

/// Disables, waits for, and deletes the distribution. Re-runnable at every step: a
/// distribution already disabled skips to the wait, one already gone is done.
pub async fn remove_distribution(run: &Run<'_>) -> Result<(), DeployError> {
    let Some(existing) = find_distribution(run).await? else {
        return Ok(());
    };
    // The same name `up` reports (the caller reference), so the two lists line up.
    let caller_reference = run.names.caller_reference();
    run.note(DISTRIBUTION, &caller_reference, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    let (mut config, mut etag) = distribution_config(run, &existing.id).await?;
    if config.enabled() {
        for attempt in 0..=ETAG_RETRIES {
            let mut disabled = config.clone();
            disabled.enabled = false;
            run.mutating("cloudfront:UpdateDistribution", &existing.id)?;
            match run
                .aws
                .cloudfront
                .update_distribution()
                .id(&existing.id)
                .if_match(&etag)
                .distribution_config(disabled)
                .send()
                .await
            {
                Ok(_) => break,
                Err(err)
                    if attempt < ETAG_RETRIES
                        && err
                            .as_service_error()
                            .is_some_and(|e| e.is_precondition_failed()) =>
                {
                    (config, etag) = distribution_config(run, &existing.id).await?;
                }
                Err(err) => {
                    return Err(DeployError::aws(
                        "cloudfront:UpdateDistribution",
                        &existing.id,
                        err,
                    ));
                }
            }
        }
    }
    wait_deployed(run, &existing.id).await?;
    let (_, etag) = distribution_config(run, &existing.id).await?;
    run.mutating("cloudfront:DeleteDistribution", &existing.id)?;
    found(
        run.aws
            .cloudfront
            .delete_distribution()
            .id(&existing.id)
            .if_match(etag)
            .send()
            .await,
        |e| e.is_no_such_distribution(),
        "cloudfront:DeleteDistribution",
        &existing.id,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ operator commands

/// Reads a distribution's config and ETag, or `None` when there is no such distribution.
pub async fn read_distribution_config(
    run: &Run<'_>,
    id: &str,
) -> Result<Option<(DistributionConfig, String)>, DeployError> {
    let Some(out) = found(
        run.aws
            .cloudfront
            .get_distribution_config()
            .id(id)
            .send()
            .await,
        |e| e.is_no_such_distribution(),
        "cloudfront:GetDistributionConfig",
        id,
    )?
    else {
        return Ok(None);
    };
    let etag = out.e_tag().unwrap_or_default().to_string();
    let config = out
        .distribution_config
        .ok_or_else(|| DeployError::state(id, "GetDistributionConfig returned no config"))?;
    Ok(Some((config, etag)))
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
            .aws
            .cloudfront
            .update_distribution()
            .id(id)
            .if_match(etag)
            .distribution_config(config)
            .send()
            .await
        {
            Ok(_) => return Ok(true),
            Err(err)
                if attempt < ETAG_RETRIES
                    && err
                        .as_service_error()
                        .is_some_and(|e| e.is_precondition_failed()) =>
            {
                run.progress.step(&format!(
                    "distribution {id} changed meanwhile; reading it again"
                ));
            }
            Err(err) => return Err(DeployError::aws("cloudfront:UpdateDistribution", id, err)),
        }
    }
    Err(DeployError::state(
        id,
        format!("the distribution kept changing under us ({ETAG_RETRIES} retries); try again"),
    ))
}

/// An invalidation as CloudFront reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationState {
    pub id: String,
    pub status: String,
}

/// Creates an invalidation of `paths` (already encoded) with a caller reference.
pub async fn create_invalidation(
    run: &Run<'_>,
    distribution_id: &str,
    paths: &[String],
    caller_reference: &str,
) -> Result<InvalidationState, DeployError> {
    let batch = aws_sdk_cloudfront::types::InvalidationBatch::builder()
        .paths(
            aws_sdk_cloudfront::types::Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()?,
        )
        .caller_reference(caller_reference)
        .build()?;
    run.mutating("cloudfront:CreateInvalidation", distribution_id)?;
    let out = run
        .aws
        .cloudfront
        .create_invalidation()
        .distribution_id(distribution_id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:CreateInvalidation", distribution_id, e))?;
    let invalidation = out.invalidation().ok_or_else(|| {
        DeployError::state(
            distribution_id,
            "CreateInvalidation returned no invalidation",
        )
    })?;
    Ok(InvalidationState {
        id: invalidation.id().to_string(),
        status: invalidation.status().to_string(),
    })
}

/// The status of one invalidation (`InProgress` or `Completed`).
pub async fn invalidation_status(
    run: &Run<'_>,
    distribution_id: &str,
    invalidation_id: &str,
) -> Result<String, DeployError> {
    let out = run
        .aws
        .cloudfront
        .get_invalidation()
        .distribution_id(distribution_id)
        .id(invalidation_id)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:GetInvalidation", invalidation_id, e))?;
    Ok(out
        .invalidation()
        .map(|i| i.status().to_string())
        .unwrap_or_default())
}
