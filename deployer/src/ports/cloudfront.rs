//! CloudFront: the distribution and what it is built of (custom cache policies, the
//! viewer-request function, the real-time log config), and invalidations. The port, its SDK
//! adapter and the fake account's CloudFront.
//!
//! A distribution's and a cache policy's configs are the SDK's own plain data types
//! (`DistributionConfig`, `CachePolicyConfig`): the deployer builds and flattens them in
//! `spec::distribution`, and re-modelling their dozens of nested settings would only add a
//! conversion that could drop one.

use std::collections::BTreeMap;

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    CachePolicyConfig, CachePolicyType, ContinuousDeploymentPolicyConfig,
    ContinuousDeploymentPolicyType, ContinuousDeploymentSingleHeaderConfig,
    ContinuousDeploymentSingleWeightConfig, DistributionConfig, DistributionConfigWithTags,
    EndPoint, FunctionConfig, FunctionRuntime, FunctionStage, InvalidationBatch,
    KinesisStreamConfig, Paths, ResponseHeadersPolicyConfig, ResponseHeadersPolicyType,
    SessionStickinessConfig, StagingDistributionDnsNames, Tag, Tags, TrafficConfig,
};

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// A real-time log config's settings, as created or updated: one Kinesis endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfigSettings {
    /// Percent of viewer requests logged.
    pub sampling_rate: i64,
    /// Field names in record order.
    pub fields: Vec<String>,
    pub stream_arn: String,
    /// The role CloudFront assumes to write to the stream.
    pub role_arn: String,
}

/// A real-time log config as CloudFront answers it (stream and role of its first endpoint,
/// empty when it has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    pub arn: String,
    pub settings: LogConfigSettings,
}

/// A CloudFront Function's code stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// What was last created or updated.
    Development,
    /// What viewers run: what was last published.
    Live,
}

impl Stage {
    fn sdk(self) -> FunctionStage {
        match self {
            Stage::Development => FunctionStage::Development,
            Stage::Live => FunctionStage::Live,
        }
    }
}

/// A function's DEVELOPMENT stage as DescribeFunction answers it (empty where it answers
/// nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionDescription {
    /// The stage's ETag, which Update, Publish and Delete must carry.
    pub etag: String,
    pub comment: String,
    /// As the API spells it (`cloudfront-js-2.0`).
    pub runtime: String,
    pub arn: String,
}

/// What CreateFunction and UpdateFunction write to the DEVELOPMENT stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionSource {
    pub comment: String,
    pub runtime: String,
    pub code: Vec<u8>,
}

/// A custom cache policy with the ETag its config was read with.
#[derive(Debug, Clone, PartialEq)]
pub struct CachePolicy {
    pub id: String,
    pub etag: String,
    pub config: CachePolicyConfig,
}

/// A custom response headers policy with the ETag its config was read with.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseHeadersPolicy {
    pub id: String,
    pub etag: String,
    pub config: ResponseHeadersPolicyConfig,
}

/// A distribution as ListDistributions and CreateDistribution answer it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributionSummary {
    pub id: String,
    pub domain: String,
    /// `InProgress` while a change deploys, then `Deployed`.
    pub status: String,
    pub arn: String,
}

/// An invalidation as CloudFront reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvalidationState {
    pub id: String,
    /// `InProgress` or `Completed`.
    pub status: String,
}

/// How a continuous deployment policy chooses the requests it sends to the staging
/// distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum Traffic {
    /// This share of requests (0 to 0.15); with session stickiness, (idle TTL, maximum TTL)
    /// in seconds.
    Weight {
        weight: f32,
        stickiness: Option<(i32, i32)>,
    },
    /// Requests carrying this header (its name starts `aws-cf-cd-`) with this value.
    Header { name: String, value: String },
}

/// A continuous deployment policy's settings, as created or updated.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentPolicySettings {
    /// The staging distribution's CloudFront domain name.
    pub staging_domain: String,
    pub enabled: bool,
    pub traffic: Traffic,
}

/// A continuous deployment policy as CloudFront answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentPolicy {
    pub id: String,
    /// Empty when read from the listing (which answers no ETags).
    pub etag: String,
    pub settings: DeploymentPolicySettings,
}

/// CloudFront, in the operations the deployer makes. Every update and delete of a resource
/// with an ETag carries the one read just before (IfMatch); a stale one fails with
/// `PreconditionFailed` (see [`is_precondition_failed`]).
pub trait CloudFront: Send + Sync {
    /// The real-time log config, or None when none has that name.
    fn log_config<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<LogConfig>>;
    /// Creates the log config; its ARN when CloudFront answers one.
    fn create_log_config<'a>(
        &'a self,
        name: &'a str,
        settings: &'a LogConfigSettings,
    ) -> PortFuture<'a, Option<String>>;
    fn update_log_config<'a>(
        &'a self,
        name: &'a str,
        settings: &'a LogConfigSettings,
    ) -> PortFuture<'a, ()>;
    /// Deletes the log config; one already gone is not an error.
    fn delete_log_config<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;

    /// The function's DEVELOPMENT stage, or None when no function has that name.
    fn function<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<FunctionDescription>>;
    /// The function's code at `stage`, or None when that stage does not exist (LIVE before
    /// the first publish) or there is no such function.
    fn function_code<'a>(&'a self, name: &'a str, stage: Stage) -> PortFuture<'a, Option<Vec<u8>>>;
    fn create_function<'a>(
        &'a self,
        name: &'a str,
        source: &'a FunctionSource,
    ) -> PortFuture<'a, ()>;
    fn update_function<'a>(
        &'a self,
        name: &'a str,
        etag: &'a str,
        source: &'a FunctionSource,
    ) -> PortFuture<'a, ()>;
    /// Copies the DEVELOPMENT stage to LIVE.
    fn publish_function<'a>(&'a self, name: &'a str, etag: &'a str) -> PortFuture<'a, ()>;
    /// Deletes the function; one already gone is not an error.
    fn delete_function<'a>(&'a self, name: &'a str, etag: &'a str) -> PortFuture<'a, ()>;

    /// The custom cache policies whose names start with `prefix`, each with its ETag.
    fn cache_policies<'a>(&'a self, prefix: &'a str) -> PortFuture<'a, Vec<CachePolicy>>;
    /// Creates the policy; its id when CloudFront answers one.
    fn create_cache_policy<'a>(
        &'a self,
        config: CachePolicyConfig,
    ) -> PortFuture<'a, Option<String>>;
    fn update_cache_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: CachePolicyConfig,
    ) -> PortFuture<'a, ()>;
    /// Deletes the policy `name` (errors name it) by id.
    fn delete_cache_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, ()>;

    /// The custom response headers policy named `name`, with its ETag.
    fn response_headers_policy<'a>(
        &'a self,
        name: &'a str,
    ) -> PortFuture<'a, Option<ResponseHeadersPolicy>>;
    /// The custom response headers policy with id `id` (any name), or None when there is
    /// no such policy (`deployer import` reads the policies a distribution references).
    fn response_headers_policy_by_id<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<ResponseHeadersPolicy>>;
    /// Creates the policy; its id when CloudFront answers one.
    fn create_response_headers_policy<'a>(
        &'a self,
        config: ResponseHeadersPolicyConfig,
    ) -> PortFuture<'a, Option<String>>;
    fn update_response_headers_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: ResponseHeadersPolicyConfig,
    ) -> PortFuture<'a, ()>;
    /// Deletes the policy `name` (errors name it) by id.
    fn delete_response_headers_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, ()>;

    /// Every distribution carrying the tag `key` = `value` (ListDistributions does not
    /// answer tags, so each one's are read).
    fn distributions_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> PortFuture<'a, Vec<DistributionSummary>>;
    /// The distribution's config and its ETag, or None when there is no such distribution.
    fn distribution_config<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<(DistributionConfig, String)>>;
    /// Creates the distribution with its tags (errors name its caller reference).
    fn create_distribution<'a>(
        &'a self,
        config: DistributionConfig,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, DistributionSummary>;
    /// Replaces the distribution's config; its status afterwards when CloudFront answers it.
    fn update_distribution<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: DistributionConfig,
    ) -> PortFuture<'a, Option<String>>;
    /// The distribution's status (`InProgress` or `Deployed`).
    fn distribution_status<'a>(&'a self, id: &'a str) -> PortFuture<'a, String>;
    /// The distribution's tags, or None when there is no such distribution.
    fn distribution_tags<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<Vec<(String, String)>>>;
    /// Deletes the (disabled, deployed) distribution; one already gone is not an error.
    fn delete_distribution<'a>(&'a self, id: &'a str, etag: &'a str) -> PortFuture<'a, ()>;

    /// Invalidates `paths` (already encoded) under `caller_reference`.
    fn create_invalidation<'a>(
        &'a self,
        distribution_id: &'a str,
        paths: &'a [String],
        caller_reference: &'a str,
    ) -> PortFuture<'a, InvalidationState>;
    /// The invalidation's status (`InProgress` or `Completed`).
    fn invalidation_status<'a>(
        &'a self,
        distribution_id: &'a str,
        invalidation_id: &'a str,
    ) -> PortFuture<'a, String>;

    // ---------------------------------------------------------- continuous deployment

    /// Creates a staging distribution from the primary's current config (CopyDistribution,
    /// Staging true, IfMatch the primary's ETag); the copy has no aliases.
    fn copy_distribution<'a>(
        &'a self,
        primary_id: &'a str,
        primary_etag: &'a str,
        caller_reference: &'a str,
    ) -> PortFuture<'a, DistributionSummary>;
    /// Tags a distribution (CopyDistribution copies no tags).
    fn tag_distribution<'a>(
        &'a self,
        arn: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()>;
    /// Every continuous deployment policy in the account (without ETags).
    fn deployment_policies<'a>(&'a self) -> PortFuture<'a, Vec<DeploymentPolicy>>;
    /// The policy with its ETag, or None when there is no such policy.
    fn deployment_policy<'a>(&'a self, id: &'a str) -> PortFuture<'a, Option<DeploymentPolicy>>;
    fn create_deployment_policy<'a>(
        &'a self,
        settings: &'a DeploymentPolicySettings,
    ) -> PortFuture<'a, DeploymentPolicy>;
    fn update_deployment_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        settings: &'a DeploymentPolicySettings,
    ) -> PortFuture<'a, ()>;
    /// Deletes the (detached) policy; one already gone is not an error.
    fn delete_deployment_policy<'a>(&'a self, id: &'a str, etag: &'a str) -> PortFuture<'a, ()>;
    /// Copies the staging distribution's config onto the primary, which keeps its aliases
    /// and policy id; CloudFront disables the policy (UpdateDistributionWithStagingConfig,
    /// IfMatch "<primary ETag>, <staging ETag>").
    fn promote_staging<'a>(
        &'a self,
        primary_id: &'a str,
        primary_etag: &'a str,
        staging_id: &'a str,
        staging_etag: &'a str,
    ) -> PortFuture<'a, ()>;
}

/// Whether CloudFront refused an update or delete because its ETag was stale (someone
/// changed the resource since it was read): worth reading it again and retrying.
pub fn is_precondition_failed(err: &DeployError) -> bool {
    matches!(err, DeployError::Aws { message, .. } if message.starts_with("PreconditionFailed:"))
}

/// CloudFront through `aws-sdk-cloudfront`.
pub struct SdkCloudFront(pub aws_sdk_cloudfront::Client);

/// The single Kinesis endpoint of a log config.
fn endpoint(settings: &LogConfigSettings) -> Result<EndPoint, DeployError> {
    Ok(EndPoint::builder()
        .stream_type("Kinesis")
        .kinesis_stream_config(
            KinesisStreamConfig::builder()
                .role_arn(&settings.role_arn)
                .stream_arn(&settings.stream_arn)
                .build()?,
        )
        .build()?)
}

fn function_config(source: &FunctionSource) -> Result<FunctionConfig, DeployError> {
    Ok(FunctionConfig::builder()
        .comment(&source.comment)
        .runtime(FunctionRuntime::from(source.runtime.as_str()))
        .build()?)
}

impl CloudFront for SdkCloudFront {
    fn log_config<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<LogConfig>> {
        Box::pin(async move {
            match self.0.get_realtime_log_config().name(name).send().await {
                Ok(out) => Ok(out.realtime_log_config.map(|c| {
                    let endpoint = c
                        .end_points()
                        .first()
                        .and_then(|e| e.kinesis_stream_config());
                    LogConfig {
                        arn: c.arn().to_string(),
                        settings: LogConfigSettings {
                            sampling_rate: c.sampling_rate(),
                            fields: c.fields().to_vec(),
                            stream_arn: endpoint
                                .map(|k| k.stream_arn().to_string())
                                .unwrap_or_default(),
                            role_arn: endpoint
                                .map(|k| k.role_arn().to_string())
                                .unwrap_or_default(),
                        },
                    }
                })),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_realtime_log_config()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws(
                    "cloudfront:GetRealtimeLogConfig",
                    name,
                    err,
                )),
            }
        })
    }

    fn create_log_config<'a>(
        &'a self,
        name: &'a str,
        settings: &'a LogConfigSettings,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            let out = self
                .0
                .create_realtime_log_config()
                .name(name)
                .sampling_rate(settings.sampling_rate)
                .set_fields(Some(settings.fields.clone()))
                .end_points(endpoint(settings)?)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:CreateRealtimeLogConfig", name, e))?;
            Ok(out.realtime_log_config().map(|c| c.arn().to_string()))
        })
    }

    fn update_log_config<'a>(
        &'a self,
        name: &'a str,
        settings: &'a LogConfigSettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_realtime_log_config()
                .name(name)
                .sampling_rate(settings.sampling_rate)
                .set_fields(Some(settings.fields.clone()))
                .end_points(endpoint(settings)?)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:UpdateRealtimeLogConfig", name, e))?;
            Ok(())
        })
    }

    fn delete_log_config<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_realtime_log_config().name(name).send().await,
                |e| e.is_no_such_realtime_log_config(),
                "cloudfront:DeleteRealtimeLogConfig",
                name,
            )
        })
    }

    fn function<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<FunctionDescription>> {
        Box::pin(async move {
            let described = match self
                .0
                .describe_function()
                .name(name)
                .stage(FunctionStage::Development)
                .send()
                .await
            {
                Ok(out) => out,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_function_exists()) =>
                {
                    return Ok(None);
                }
                Err(err) => return Err(DeployError::aws("cloudfront:DescribeFunction", name, err)),
            };
            let summary = described.function_summary();
            let config = summary.and_then(|s| s.function_config());
            Ok(Some(FunctionDescription {
                etag: described.e_tag().unwrap_or_default().to_string(),
                comment: config.map(|c| c.comment()).unwrap_or_default().to_string(),
                runtime: config
                    .map(|c| c.runtime().as_str())
                    .unwrap_or_default()
                    .to_string(),
                arn: summary
                    .and_then(|s| s.function_metadata())
                    .map(|m| m.function_arn().to_string())
                    .unwrap_or_default(),
            }))
        })
    }

    fn function_code<'a>(&'a self, name: &'a str, stage: Stage) -> PortFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            match self
                .0
                .get_function()
                .name(name)
                .stage(stage.sdk())
                .send()
                .await
            {
                // The code is the response body: an answer without one is empty code.
                Ok(out) => Ok(Some(
                    out.function_code.map(Blob::into_inner).unwrap_or_default(),
                )),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_function_exists()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("cloudfront:GetFunction", name, err)),
            }
        })
    }

    fn create_function<'a>(
        &'a self,
        name: &'a str,
        source: &'a FunctionSource,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .create_function()
                .name(name)
                .function_config(function_config(source)?)
                .function_code(Blob::new(source.code.clone()))
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:CreateFunction", name, e))?;
            Ok(())
        })
    }

    fn update_function<'a>(
        &'a self,
        name: &'a str,
        etag: &'a str,
        source: &'a FunctionSource,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_function()
                .name(name)
                .if_match(etag)
                .function_config(function_config(source)?)
                .function_code(Blob::new(source.code.clone()))
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:UpdateFunction", name, e))?;
            Ok(())
        })
    }

    fn publish_function<'a>(&'a self, name: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .publish_function()
                .name(name)
                .if_match(etag)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:PublishFunction", name, e))?;
            Ok(())
        })
    }

    fn delete_function<'a>(&'a self, name: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0
                    .delete_function()
                    .name(name)
                    .if_match(etag)
                    .send()
                    .await,
                |e| e.is_no_such_function_exists(),
                "cloudfront:DeleteFunction",
                name,
            )
        })
    }

    fn cache_policies<'a>(&'a self, prefix: &'a str) -> PortFuture<'a, Vec<CachePolicy>> {
        Box::pin(async move {
            let mut found = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_cache_policies()
                    .r#type(CachePolicyType::Custom)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("cloudfront:ListCachePolicies", prefix, e))?;
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
                    if config.name().starts_with(prefix) {
                        let etag = self
                            .0
                            .get_cache_policy_config()
                            .id(policy.id())
                            .send()
                            .await
                            .map_err(|e| {
                                DeployError::aws(
                                    "cloudfront:GetCachePolicyConfig",
                                    config.name(),
                                    e,
                                )
                            })?
                            .e_tag
                            .unwrap_or_default();
                        found.push(CachePolicy {
                            id: policy.id().to_string(),
                            etag,
                            config: config.clone(),
                        });
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
        })
    }

    fn create_cache_policy<'a>(
        &'a self,
        config: CachePolicyConfig,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            let name = config.name().to_string();
            let out = self
                .0
                .create_cache_policy()
                .cache_policy_config(config)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:CreateCachePolicy", &name, e))?;
            Ok(out.cache_policy().map(|p| p.id().to_string()))
        })
    }

    fn update_cache_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: CachePolicyConfig,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let name = config.name().to_string();
            self.0
                .update_cache_policy()
                .id(id)
                .if_match(etag)
                .cache_policy_config(config)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:UpdateCachePolicy", &name, e))?;
            Ok(())
        })
    }

    fn delete_cache_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .delete_cache_policy()
                .id(id)
                .if_match(etag)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:DeleteCachePolicy", name, e))?;
            Ok(())
        })
    }

    fn response_headers_policy<'a>(
        &'a self,
        name: &'a str,
    ) -> PortFuture<'a, Option<ResponseHeadersPolicy>> {
        Box::pin(async move {
            let mut marker: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_response_headers_policies()
                    .r#type(ResponseHeadersPolicyType::Custom)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        DeployError::aws("cloudfront:ListResponseHeadersPolicies", name, e)
                    })?;
                let Some(list) = out.response_headers_policy_list else {
                    return Ok(None);
                };
                for item in list.items() {
                    let Some(policy) = item.response_headers_policy() else {
                        continue;
                    };
                    let Some(config) = policy.response_headers_policy_config() else {
                        continue;
                    };
                    if config.name() == name {
                        let etag = self
                            .0
                            .get_response_headers_policy_config()
                            .id(policy.id())
                            .send()
                            .await
                            .map_err(|e| {
                                DeployError::aws(
                                    "cloudfront:GetResponseHeadersPolicyConfig",
                                    name,
                                    e,
                                )
                            })?
                            .e_tag
                            .unwrap_or_default();
                        return Ok(Some(ResponseHeadersPolicy {
                            id: policy.id().to_string(),
                            etag,
                            config: config.clone(),
                        }));
                    }
                }
                marker = list
                    .next_marker()
                    .map(str::to_string)
                    .filter(|m| !m.is_empty());
                if marker.is_none() {
                    return Ok(None);
                }
            }
        })
    }

    fn response_headers_policy_by_id<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<ResponseHeadersPolicy>> {
        Box::pin(async move {
            let out = match self
                .0
                .get_response_headers_policy_config()
                .id(id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_response_headers_policy()) =>
                {
                    return Ok(None);
                }
                Err(err) => {
                    return Err(DeployError::aws(
                        "cloudfront:GetResponseHeadersPolicyConfig",
                        id,
                        err,
                    ));
                }
            };
            let etag = out.e_tag().unwrap_or_default().to_string();
            Ok(out
                .response_headers_policy_config
                .map(|config| ResponseHeadersPolicy {
                    id: id.to_string(),
                    etag,
                    config,
                }))
        })
    }

    fn create_response_headers_policy<'a>(
        &'a self,
        config: ResponseHeadersPolicyConfig,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            let name = config.name().to_string();
            let out = self
                .0
                .create_response_headers_policy()
                .response_headers_policy_config(config)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws("cloudfront:CreateResponseHeadersPolicy", &name, e)
                })?;
            Ok(out.response_headers_policy().map(|p| p.id().to_string()))
        })
    }

    fn update_response_headers_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: ResponseHeadersPolicyConfig,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let name = config.name().to_string();
            self.0
                .update_response_headers_policy()
                .id(id)
                .if_match(etag)
                .response_headers_policy_config(config)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws("cloudfront:UpdateResponseHeadersPolicy", &name, e)
                })?;
            Ok(())
        })
    }

    fn delete_response_headers_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .delete_response_headers_policy()
                .id(id)
                .if_match(etag)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:DeleteResponseHeadersPolicy", name, e))?;
            Ok(())
        })
    }

    fn distributions_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> PortFuture<'a, Vec<DistributionSummary>> {
        Box::pin(async move {
            let mut tagged_ones = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_distributions()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("cloudfront:ListDistributions", value, e))?;
                let Some(list) = out.distribution_list else {
                    return Ok(tagged_ones);
                };
                for summary in list.items() {
                    let tags = self
                        .0
                        .list_tags_for_resource()
                        .resource(summary.arn())
                        .send()
                        .await
                        .map_err(|e| {
                            DeployError::aws("cloudfront:ListTagsForResource", summary.id(), e)
                        })?;
                    let tagged = tags.tags().is_some_and(|t| {
                        t.items()
                            .iter()
                            .any(|tag| tag.key() == key && tag.value() == Some(value))
                    });
                    if tagged {
                        tagged_ones.push(DistributionSummary {
                            id: summary.id().to_string(),
                            domain: summary.domain_name().to_string(),
                            status: summary.status().to_string(),
                            arn: summary.arn().to_string(),
                        });
                    }
                }
                marker = list
                    .next_marker()
                    .map(str::to_string)
                    .filter(|m| !m.is_empty());
                if marker.is_none() || !list.is_truncated() {
                    return Ok(tagged_ones);
                }
            }
        })
    }

    fn distribution_config<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<(DistributionConfig, String)>> {
        Box::pin(async move {
            let out = match self.0.get_distribution_config().id(id).send().await {
                Ok(out) => out,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_distribution()) =>
                {
                    return Ok(None);
                }
                Err(err) => {
                    return Err(DeployError::aws(
                        "cloudfront:GetDistributionConfig",
                        id,
                        err,
                    ));
                }
            };
            let etag = out.e_tag().unwrap_or_default().to_string();
            let config = out.distribution_config.ok_or_else(|| {
                DeployError::state(id, "GetDistributionConfig returned no config")
            })?;
            Ok(Some((config, etag)))
        })
    }

    fn create_distribution<'a>(
        &'a self,
        config: DistributionConfig,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, DistributionSummary> {
        Box::pin(async move {
            let caller_reference = config.caller_reference().to_string();
            let mut tag_set = Tags::builder();
            for (k, v) in tags {
                tag_set = tag_set.items(Tag::builder().key(k).value(v).build()?);
            }
            let out = self
                .0
                .create_distribution_with_tags()
                .distribution_config_with_tags(
                    DistributionConfigWithTags::builder()
                        .distribution_config(config)
                        .tags(tag_set.build())
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
            Ok(DistributionSummary {
                id: d.id().to_string(),
                domain: d.domain_name().to_string(),
                status: d.status().to_string(),
                arn: d.arn().to_string(),
            })
        })
    }

    fn update_distribution<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: DistributionConfig,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            let out = self
                .0
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(config)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:UpdateDistribution", id, e))?;
            Ok(out.distribution().map(|d| d.status().to_string()))
        })
    }

    fn distribution_status<'a>(&'a self, id: &'a str) -> PortFuture<'a, String> {
        Box::pin(async move {
            let out = self
                .0
                .get_distribution()
                .id(id)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:GetDistribution", id, e))?;
            Ok(out
                .distribution()
                .map(|d| d.status().to_string())
                .unwrap_or_default())
        })
    }

    fn distribution_tags<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(async move {
            let distribution = match self.0.get_distribution().id(id).send().await {
                Ok(out) => out.distribution,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_distribution()) =>
                {
                    return Ok(None);
                }
                Err(err) => return Err(DeployError::aws("cloudfront:GetDistribution", id, err)),
            };
            let Some(distribution) = distribution else {
                return Ok(None);
            };
            let out = self
                .0
                .list_tags_for_resource()
                .resource(distribution.arn())
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:ListTagsForResource", id, e))?;
            Ok(Some(
                out.tags()
                    .map(|t| t.items())
                    .unwrap_or_default()
                    .iter()
                    .map(|tag| {
                        (
                            tag.key().to_string(),
                            tag.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            ))
        })
    }

    fn delete_distribution<'a>(&'a self, id: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0
                    .delete_distribution()
                    .id(id)
                    .if_match(etag)
                    .send()
                    .await,
                |e| e.is_no_such_distribution(),
                "cloudfront:DeleteDistribution",
                id,
            )
        })
    }

    fn create_invalidation<'a>(
        &'a self,
        distribution_id: &'a str,
        paths: &'a [String],
        caller_reference: &'a str,
    ) -> PortFuture<'a, InvalidationState> {
        Box::pin(async move {
            let batch = InvalidationBatch::builder()
                .paths(
                    Paths::builder()
                        .quantity(paths.len() as i32)
                        .set_items(Some(paths.to_vec()))
                        .build()?,
                )
                .caller_reference(caller_reference)
                .build()?;
            let out = self
                .0
                .create_invalidation()
                .distribution_id(distribution_id)
                .invalidation_batch(batch)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws("cloudfront:CreateInvalidation", distribution_id, e)
                })?;
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
        })
    }

    fn invalidation_status<'a>(
        &'a self,
        distribution_id: &'a str,
        invalidation_id: &'a str,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            let out = self
                .0
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
        })
    }

    fn copy_distribution<'a>(
        &'a self,
        primary_id: &'a str,
        primary_etag: &'a str,
        caller_reference: &'a str,
    ) -> PortFuture<'a, DistributionSummary> {
        Box::pin(async move {
            let out = self
                .0
                .copy_distribution()
                .primary_distribution_id(primary_id)
                .staging(true)
                .if_match(primary_etag)
                .caller_reference(caller_reference)
                .enabled(true)
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:CopyDistribution", primary_id, e))?;
            let d = out.distribution.ok_or_else(|| {
                DeployError::state(primary_id, "CopyDistribution returned no distribution")
            })?;
            Ok(DistributionSummary {
                id: d.id().to_string(),
                domain: d.domain_name().to_string(),
                status: d.status().to_string(),
                arn: d.arn().to_string(),
            })
        })
    }

    fn tag_distribution<'a>(
        &'a self,
        arn: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut tag_set = Tags::builder();
            for (k, v) in tags {
                tag_set = tag_set.items(Tag::builder().key(k).value(v).build()?);
            }
            self.0
                .tag_resource()
                .resource(arn)
                .tags(tag_set.build())
                .send()
                .await
                .map_err(|e| DeployError::aws("cloudfront:TagResource", arn, e))?;
            Ok(())
        })
    }

    fn deployment_policies<'a>(&'a self) -> PortFuture<'a, Vec<DeploymentPolicy>> {
        Box::pin(async move {
            const CALL: &str = "cloudfront:ListContinuousDeploymentPolicies";
            let mut found = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_continuous_deployment_policies()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws(CALL, "continuous deployment policies", e))?;
                let Some(list) = out.continuous_deployment_policy_list else {
                    return Ok(found);
                };
                for summary in list.items() {
                    if let Some(policy) = summary.continuous_deployment_policy() {
                        found.push(policy_from_sdk(policy, "")?);
                    }
                }
                marker = list
                    .next_marker()
                    .map(str::to_string)
                    .filter(|m| !m.is_empty());
                if marker.is_none() {
                    return Ok(found);
                }
            }
        })
    }

    fn deployment_policy<'a>(&'a self, id: &'a str) -> PortFuture<'a, Option<DeploymentPolicy>> {
        Box::pin(async move {
            const CALL: &str = "cloudfront:GetContinuousDeploymentPolicy";
            let out = match self
                .0
                .get_continuous_deployment_policy()
                .id(id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_continuous_deployment_policy()) =>
                {
                    return Ok(None);
                }
                Err(err) => return Err(DeployError::aws(CALL, id, err)),
            };
            let policy = out.continuous_deployment_policy().ok_or_else(|| {
                DeployError::state(id, "GetContinuousDeploymentPolicy returned no policy")
            })?;
            Ok(Some(policy_from_sdk(
                policy,
                out.e_tag().unwrap_or_default(),
            )?))
        })
    }

    fn create_deployment_policy<'a>(
        &'a self,
        settings: &'a DeploymentPolicySettings,
    ) -> PortFuture<'a, DeploymentPolicy> {
        Box::pin(async move {
            const CALL: &str = "cloudfront:CreateContinuousDeploymentPolicy";
            let out = self
                .0
                .create_continuous_deployment_policy()
                .continuous_deployment_policy_config(policy_config(settings)?)
                .send()
                .await
                .map_err(|e| DeployError::aws(CALL, &settings.staging_domain, e))?;
            let policy = out.continuous_deployment_policy().ok_or_else(|| {
                DeployError::state(
                    &settings.staging_domain,
                    "CreateContinuousDeploymentPolicy returned no policy",
                )
            })?;
            policy_from_sdk(policy, out.e_tag().unwrap_or_default())
        })
    }

    fn update_deployment_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        settings: &'a DeploymentPolicySettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_continuous_deployment_policy()
                .id(id)
                .if_match(etag)
                .continuous_deployment_policy_config(policy_config(settings)?)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws("cloudfront:UpdateContinuousDeploymentPolicy", id, e)
                })?;
            Ok(())
        })
    }

    fn delete_deployment_policy<'a>(&'a self, id: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0
                    .delete_continuous_deployment_policy()
                    .id(id)
                    .if_match(etag)
                    .send()
                    .await,
                |e| e.is_no_such_continuous_deployment_policy(),
                "cloudfront:DeleteContinuousDeploymentPolicy",
                id,
            )
        })
    }

    fn promote_staging<'a>(
        &'a self,
        primary_id: &'a str,
        primary_etag: &'a str,
        staging_id: &'a str,
        staging_etag: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_distribution_with_staging_config()
                .id(primary_id)
                .staging_distribution_id(staging_id)
                .if_match(format!("{primary_etag}, {staging_etag}"))
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws(
                        "cloudfront:UpdateDistributionWithStagingConfig",
                        primary_id,
                        e,
                    )
                })?;
            Ok(())
        })
    }
}

/// A policy's settings as the SDK's config.
fn policy_config(
    settings: &DeploymentPolicySettings,
) -> Result<ContinuousDeploymentPolicyConfig, DeployError> {
    let traffic = match &settings.traffic {
        Traffic::Weight { weight, stickiness } => {
            let mut single = ContinuousDeploymentSingleWeightConfig::builder().weight(*weight);
            if let Some((idle, maximum)) = stickiness {
                single = single.session_stickiness_config(
                    SessionStickinessConfig::builder()
                        .idle_ttl(*idle)
                        .maximum_ttl(*maximum)
                        .build()?,
                );
            }
            TrafficConfig::builder()
                .r#type(ContinuousDeploymentPolicyType::SingleWeight)
                .single_weight_config(single.build()?)
                .build()?
        }
        Traffic::Header { name, value } => TrafficConfig::builder()
            .r#type(ContinuousDeploymentPolicyType::SingleHeader)
            .single_header_config(
                ContinuousDeploymentSingleHeaderConfig::builder()
                    .header(name)
                    .value(value)
                    .build()?,
            )
            .build()?,
    };
    Ok(ContinuousDeploymentPolicyConfig::builder()
        .staging_distribution_dns_names(
            StagingDistributionDnsNames::builder()
                .quantity(1)
                .items(settings.staging_domain.clone())
                .build()?,
        )
        .enabled(settings.enabled)
        .traffic_config(traffic)
        .build()?)
}

/// The SDK's policy as the port's.
fn policy_from_sdk(
    policy: &aws_sdk_cloudfront::types::ContinuousDeploymentPolicy,
    etag: &str,
) -> Result<DeploymentPolicy, DeployError> {
    let config = policy
        .continuous_deployment_policy_config()
        .ok_or_else(|| {
            DeployError::state(
                policy.id(),
                "the continuous deployment policy has no config",
            )
        })?;
    let staging_domain = config
        .staging_distribution_dns_names()
        .and_then(|n| n.items().first().cloned())
        .unwrap_or_default();
    let traffic = config.traffic_config();
    let traffic = match (
        traffic.and_then(|t| t.single_weight_config()),
        traffic.and_then(|t| t.single_header_config()),
    ) {
        (Some(weight), _) => Traffic::Weight {
            weight: weight.weight(),
            stickiness: weight
                .session_stickiness_config()
                .map(|s| (s.idle_ttl(), s.maximum_ttl())),
        },
        (None, Some(header)) => Traffic::Header {
            name: header.header().to_string(),
            value: header.value().to_string(),
        },
        (None, None) => Traffic::Weight {
            weight: 0.0,
            stickiness: None,
        },
    };
    Ok(DeploymentPolicy {
        id: policy.id().to_string(),
        etag: etag.to_string(),
        settings: DeploymentPolicySettings {
            staging_domain,
            enabled: config.enabled(),
            traffic,
        },
    })
}

// ------------------------------------------------------------------ the fake

/// Someone else's change to a distribution, made right after the deployer next reads its
/// config: the ETag it read goes stale before it sends its update.
type ConcurrentEdit = Box<dyn FnOnce(&mut DistributionConfig) + Send>;

/// The fake account's CloudFront.
#[derive(Default)]
pub struct FakeCloudFront {
    log_configs: BTreeMap<String, FakeLogConfig>,
    functions: BTreeMap<String, FakeFunction>,
    /// By id.
    cache_policies: BTreeMap<String, FakeCachePolicy>,
    /// By id.
    response_headers_policies: BTreeMap<String, FakeResponseHeadersPolicy>,
    /// By id.
    distributions: BTreeMap<String, FakeDistribution>,
    /// By invalidation id.
    invalidations: BTreeMap<String, FakeInvalidation>,
    /// Continuous deployment policies by id.
    deployment_policies: BTreeMap<String, DeploymentPolicy>,
    /// How many status reads after a change still answer InProgress (see
    /// [`FakeAccount::set_in_progress_reads`]).
    in_progress_reads: u32,
    /// Makes ids and ETags unique.
    serial: u64,
    /// (distribution id, edit) applied just after its next GetDistributionConfig answers.
    edit_after_next_read: Option<(String, ConcurrentEdit)>,
}

impl FakeCloudFront {
    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn new_etag(&mut self) -> String {
        format!("ETAG{:08}", self.next())
    }

    /// Whether any distribution's config refers to `id_or_arn` (a policy id, a function's
    /// or log config's ARN): CloudFront refuses to delete what a distribution uses.
    fn in_use(&self, id_or_arn: &str) -> bool {
        self.distributions
            .values()
            .any(|d| references(&d.config).iter().any(|r| r == id_or_arn))
    }
}

/// The cache and origin-request policy ids, real-time log config ARNs and function ARNs a
/// distribution config's behaviors use.
fn references(config: &DistributionConfig) -> Vec<String> {
    let mut used = Vec::new();
    let mut add =
        |cache: Option<&str>,
         origin_request: Option<&str>,
         headers: Option<&str>,
         log: Option<&str>,
         functions: Option<&aws_sdk_cloudfront::types::FunctionAssociations>| {
            used.extend(
                [cache, origin_request, headers, log]
                    .into_iter()
                    .flatten()
                    .map(str::to_string),
            );
            if let Some(functions) = functions {
                used.extend(
                    functions
                        .items()
                        .iter()
                        .map(|f| f.function_arn().to_string()),
                );
            }
        };
    if let Some(b) = config.default_cache_behavior() {
        add(
            b.cache_policy_id(),
            b.origin_request_policy_id(),
            b.response_headers_policy_id(),
            b.realtime_log_config_arn(),
            b.function_associations(),
        );
    }
    for b in config
        .cache_behaviors()
        .map(|b| b.items())
        .unwrap_or_default()
    {
        add(
            b.cache_policy_id(),
            b.origin_request_policy_id(),
            b.response_headers_policy_id(),
            b.realtime_log_config_arn(),
            b.function_associations(),
        );
    }
    used
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeLogConfig {
    pub arn: String,
    pub settings: LogConfigSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeFunction {
    pub arn: String,
    /// The DEVELOPMENT stage.
    pub comment: String,
    pub runtime: String,
    pub code: Vec<u8>,
    /// The LIVE stage's code; None until the first publish.
    pub live_code: Option<Vec<u8>>,
    /// The DEVELOPMENT stage's ETag.
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeCachePolicy {
    pub id: String,
    pub config: CachePolicyConfig,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeResponseHeadersPolicy {
    pub id: String,
    pub config: ResponseHeadersPolicyConfig,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeDistribution {
    pub id: String,
    pub arn: String,
    pub domain: String,
    pub config: DistributionConfig,
    pub etag: String,
    pub tags: Vec<(String, String)>,
    /// While a change deploys: how many more GetDistribution reads answer InProgress before
    /// one answers Deployed. None once deployed.
    pub deploying: Option<u32>,
}

impl FakeDistribution {
    pub fn status(&self) -> &'static str {
        if self.deploying.is_some() {
            "InProgress"
        } else {
            "Deployed"
        }
    }

    fn summary(&self) -> DistributionSummary {
        DistributionSummary {
            id: self.id.clone(),
            domain: self.domain.clone(),
            status: self.status().to_string(),
            arn: self.arn.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeInvalidation {
    pub distribution_id: String,
    pub paths: Vec<String>,
    pub caller_reference: String,
    /// As for distributions: GetInvalidation reads left answering InProgress; None once
    /// completed.
    pub completing: Option<u32>,
}

impl FakeInvalidation {
    fn status(&self) -> &'static str {
        if self.completing.is_some() {
            "InProgress"
        } else {
            "Completed"
        }
    }
}

/// One status read of something that becomes ready after some reads: counts the reads left
/// down, the last one making it ready (None).
fn count_down(left: &mut Option<u32>) {
    *left = match *left {
        Some(0) | None => None,
        Some(n) => Some(n - 1),
    };
}

/// CloudFront's checks of an IfMatch value against the resource's current ETag.
fn check_etag(
    operation: &str,
    target: &str,
    given: &str,
    current: &str,
) -> Result<(), DeployError> {
    if given.is_empty() {
        return Err(refused(
            operation,
            target,
            "InvalidIfMatchVersion: The If-Match version is missing or not valid for the resource.",
        ));
    }
    if given != current {
        return Err(refused(
            operation,
            target,
            "PreconditionFailed: The precondition given in one or more of the request-header fields evaluated to false.",
        ));
    }
    Ok(())
}

fn no_such_distribution(operation: &str, id: &str) -> DeployError {
    refused(
        operation,
        id,
        "NoSuchDistribution: The specified distribution does not exist.",
    )
}

fn no_such_function(operation: &str, name: &str) -> DeployError {
    refused(
        operation,
        name,
        &format!("NoSuchFunctionExists: The function {name} does not exist."),
    )
}

impl FakeAccount {
    /// How many GetDistribution (or GetInvalidation) reads after a change still answer
    /// InProgress; 0 (the default) makes the first read answer Deployed (Completed). Until
    /// that read, the distribution is InProgress and cannot be deleted, so a step that
    /// forgets to wait fails. The deployer polls with a first pause of 200 ms, so tests keep
    /// this small.
    pub fn set_in_progress_reads(&self, reads: u32) {
        self.state().cloudfront.in_progress_reads = reads;
    }

    pub fn log_config(&self, name: &str) -> Option<FakeLogConfig> {
        self.state().cloudfront.log_configs.get(name).cloned()
    }

    /// Changes a log config behind the deployer's back, as someone in the console would.
    pub fn edit_log_config(&self, name: &str, edit: impl FnOnce(&mut FakeLogConfig)) {
        if let Some(config) = self.state().cloudfront.log_configs.get_mut(name) {
            edit(config);
        }
    }

    /// The CloudFront (viewer) function of that name.
    pub fn viewer_function(&self, name: &str) -> Option<FakeFunction> {
        self.state().cloudfront.functions.get(name).cloned()
    }

    /// Changes a function behind the deployer's back; its ETag changes.
    pub fn edit_viewer_function(&self, name: &str, edit: impl FnOnce(&mut FakeFunction)) {
        let mut state = self.state();
        let etag = state.cloudfront.new_etag();
        if let Some(function) = state.cloudfront.functions.get_mut(name) {
            edit(function);
            function.etag = etag;
        }
    }

    /// The custom cache policy named `name`.
    pub fn cache_policy(&self, name: &str) -> Option<FakeCachePolicy> {
        self.state()
            .cloudfront
            .cache_policies
            .values()
            .find(|p| p.config.name() == name)
            .cloned()
    }

    /// Changes a cache policy behind the deployer's back; its ETag changes.
    pub fn edit_cache_policy(&self, name: &str, edit: impl FnOnce(&mut CachePolicyConfig)) {
        let mut state = self.state();
        let etag = state.cloudfront.new_etag();
        if let Some(policy) = state
            .cloudfront
            .cache_policies
            .values_mut()
            .find(|p| p.config.name() == name)
        {
            edit(&mut policy.config);
            policy.etag = etag;
        }
    }

    /// The custom response headers policy named `name`.
    pub fn response_headers_policy(&self, name: &str) -> Option<FakeResponseHeadersPolicy> {
        self.state()
            .cloudfront
            .response_headers_policies
            .values()
            .find(|p| p.config.name() == name)
            .cloned()
    }

    /// Changes a response headers policy behind the deployer's back; its ETag changes.
    pub fn edit_response_headers_policy(
        &self,
        name: &str,
        edit: impl FnOnce(&mut ResponseHeadersPolicyConfig),
    ) {
        let mut state = self.state();
        let etag = state.cloudfront.new_etag();
        if let Some(policy) = state
            .cloudfront
            .response_headers_policies
            .values_mut()
            .find(|p| p.config.name() == name)
        {
            edit(&mut policy.config);
            policy.etag = etag;
        }
    }

    pub fn distribution(&self, id: &str) -> Option<FakeDistribution> {
        self.state().cloudfront.distributions.get(id).cloned()
    }

    /// Changes a distribution's config behind the deployer's back: its ETag changes and the
    /// change deploys as the deployer's own would.
    pub fn edit_distribution(&self, id: &str, edit: impl FnOnce(&mut DistributionConfig)) {
        let mut state = self.state();
        let etag = state.cloudfront.new_etag();
        let reads = state.cloudfront.in_progress_reads;
        if let Some(distribution) = state.cloudfront.distributions.get_mut(id) {
            edit(&mut distribution.config);
            distribution.etag = etag;
            distribution.deploying = Some(reads);
        }
    }

    /// Makes `edit` (someone else's change) happen right after the deployer next reads the
    /// distribution's config, so the ETag it read is stale when its update arrives.
    pub fn edit_distribution_after_next_read(
        &self,
        id: &str,
        edit: impl FnOnce(&mut DistributionConfig) + Send + 'static,
    ) {
        self.state().cloudfront.edit_after_next_read = Some((id.to_string(), Box::new(edit)));
    }

    pub fn invalidation(&self, id: &str) -> Option<FakeInvalidation> {
        self.state().cloudfront.invalidations.get(id).cloned()
    }

    fn cloudfront_arn(&self, resource: &str) -> String {
        format!("arn:aws:cloudfront::{}:{resource}", self.account)
    }
}

impl CloudFront for FakeAccount {
    fn log_config<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<LogConfig>> {
        Box::pin(async move {
            self.call("cloudfront:GetRealtimeLogConfig", name)?;
            Ok(self
                .state()
                .cloudfront
                .log_configs
                .get(name)
                .map(|c| LogConfig {
                    arn: c.arn.clone(),
                    settings: c.settings.clone(),
                }))
        })
    }

    fn create_log_config<'a>(
        &'a self,
        name: &'a str,
        settings: &'a LogConfigSettings,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("cloudfront:CreateRealtimeLogConfig", name)?;
            let arn = self.cloudfront_arn(&format!("realtime-log-config/{name}"));
            let mut state = self.state();
            if state.cloudfront.log_configs.contains_key(name) {
                return Err(refused(
                    "cloudfront:CreateRealtimeLogConfig",
                    name,
                    "RealtimeLogConfigAlreadyExists: A real-time log configuration with this name already exists.",
                ));
            }
            state.cloudfront.log_configs.insert(
                name.to_string(),
                FakeLogConfig {
                    arn: arn.clone(),
                    settings: settings.clone(),
                },
            );
            Ok(Some(arn))
        })
    }

    fn update_log_config<'a>(
        &'a self,
        name: &'a str,
        settings: &'a LogConfigSettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("cloudfront:UpdateRealtimeLogConfig", name)?;
            let mut state = self.state();
            let held = state.cloudfront.log_configs.get_mut(name).ok_or_else(|| {
                refused(
                    "cloudfront:UpdateRealtimeLogConfig",
                    name,
                    "NoSuchRealtimeLogConfig: The real-time log configuration does not exist.",
                )
            })?;
            held.settings = settings.clone();
            Ok(())
        })
    }

    fn delete_log_config<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("cloudfront:DeleteRealtimeLogConfig", name)?;
            let mut state = self.state();
            let Some(held) = state.cloudfront.log_configs.get(name) else {
                return Ok(());
            };
            if state.cloudfront.in_use(&held.arn) {
                return Err(refused(
                    "cloudfront:DeleteRealtimeLogConfig",
                    name,
                    "RealtimeLogConfigInUse: Cannot delete the real-time log configuration because it is attached to one or more cache behaviors.",
                ));
            }
            state.cloudfront.log_configs.remove(name);
            Ok(())
        })
    }

    fn function<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<FunctionDescription>> {
        Box::pin(async move {
            self.call("cloudfront:DescribeFunction", name)?;
            Ok(self
                .state()
                .cloudfront
                .functions
                .get(name)
                .map(|f| FunctionDescription {
                    etag: f.etag.clone(),
                    comment: f.comment.clone(),
                    runtime: f.runtime.clone(),
                    arn: f.arn.clone(),
                }))
        })
    }

    fn function_code<'a>(&'a self, name: &'a str, stage: Stage) -> PortFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.call("cloudfront:GetFunction", name)?;
            let state = self.state();
            Ok(state
                .cloudfront
                .functions
                .get(name)
                .and_then(|f| match stage {
                    Stage::Development => Some(f.code.clone()),
                    Stage::Live => f.live_code.clone(),
                }))
        })
    }

    fn create_function<'a>(
        &'a self,
        name: &'a str,
        source: &'a FunctionSource,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("cloudfront:CreateFunction", name)?;
            let arn = self.cloudfront_arn(&format!("function/{name}"));
            let mut state = self.state();
            if state.cloudfront.functions.contains_key(name) {
                return Err(refused(
                    "cloudfront:CreateFunction",
                    name,
                    &format!(
                        "FunctionAlreadyExists: A function with the name {name} already exists."
                    ),
                ));
            }
            let etag = state.cloudfront.new_etag();
            state.cloudfront.functions.insert(
                name.to_string(),
                FakeFunction {
                    arn,
                    comment: source.comment.clone(),
                    runtime: source.runtime.clone(),
                    code: source.code.clone(),
                    live_code: None,
                    etag,
                },
            );
            Ok(())
        })
    }

    fn update_function<'a>(
        &'a self,
        name: &'a str,
        etag: &'a str,
        source: &'a FunctionSource,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:UpdateFunction";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let fresh = state.cloudfront.new_etag();
            let held = state
                .cloudfront
                .functions
                .get_mut(name)
                .ok_or_else(|| no_such_function(OPERATION, name))?;
            check_etag(OPERATION, name, etag, &held.etag)?;
            held.comment.clone_from(&source.comment);
            held.runtime.clone_from(&source.runtime);
            held.code.clone_from(&source.code);
            held.etag = fresh;
            Ok(())
        })
    }

    fn publish_function<'a>(&'a self, name: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:PublishFunction";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let held = state
                .cloudfront
                .functions
                .get_mut(name)
                .ok_or_else(|| no_such_function(OPERATION, name))?;
            check_etag(OPERATION, name, etag, &held.etag)?;
            // Publishing copies DEVELOPMENT to LIVE; the DEVELOPMENT stage is unchanged.
            held.live_code = Some(held.code.clone());
            Ok(())
        })
    }

    fn delete_function<'a>(&'a self, name: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:DeleteFunction";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let Some(held) = state.cloudfront.functions.get(name) else {
                return Ok(());
            };
            check_etag(OPERATION, name, etag, &held.etag)?;
            if state.cloudfront.in_use(&held.arn) {
                return Err(refused(
                    OPERATION,
                    name,
                    "FunctionInUse: Cannot delete this function because it's associated with one or more cache behaviors.",
                ));
            }
            state.cloudfront.functions.remove(name);
            Ok(())
        })
    }

    fn cache_policies<'a>(&'a self, prefix: &'a str) -> PortFuture<'a, Vec<CachePolicy>> {
        Box::pin(async move {
            self.call("cloudfront:ListCachePolicies", prefix)?;
            let matching: Vec<FakeCachePolicy> = self
                .state()
                .cloudfront
                .cache_policies
                .values()
                .filter(|p| p.config.name().starts_with(prefix))
                .cloned()
                .collect();
            let mut found = Vec::new();
            for policy in matching {
                self.call("cloudfront:GetCachePolicyConfig", policy.config.name())?;
                found.push(CachePolicy {
                    id: policy.id,
                    etag: policy.etag,
                    config: policy.config,
                });
            }
            Ok(found)
        })
    }

    fn create_cache_policy<'a>(
        &'a self,
        config: CachePolicyConfig,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            let name = config.name().to_string();
            self.call("cloudfront:CreateCachePolicy", &name)?;
            let mut state = self.state();
            if state
                .cloudfront
                .cache_policies
                .values()
                .any(|p| p.config.name() == name)
            {
                return Err(refused(
                    "cloudfront:CreateCachePolicy",
                    &name,
                    "CachePolicyAlreadyExists: A cache policy with this name already exists.",
                ));
            }
            let id = format!("00000000-0000-4000-8000-{:012x}", state.cloudfront.next());
            let etag = state.cloudfront.new_etag();
            state.cloudfront.cache_policies.insert(
                id.clone(),
                FakeCachePolicy {
                    id: id.clone(),
                    config,
                    etag,
                },
            );
            Ok(Some(id))
        })
    }

    fn update_cache_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: CachePolicyConfig,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:UpdateCachePolicy";
            let name = config.name().to_string();
            self.call(OPERATION, &name)?;
            let mut state = self.state();
            let fresh = state.cloudfront.new_etag();
            let held = state.cloudfront.cache_policies.get_mut(id).ok_or_else(|| {
                refused(
                    OPERATION,
                    &name,
                    "NoSuchCachePolicy: The cache policy does not exist.",
                )
            })?;
            check_etag(OPERATION, &name, etag, &held.etag)?;
            held.config = config;
            held.etag = fresh;
            Ok(())
        })
    }

    fn delete_cache_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:DeleteCachePolicy";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let held = state.cloudfront.cache_policies.get(id).ok_or_else(|| {
                refused(
                    OPERATION,
                    name,
                    "NoSuchCachePolicy: The cache policy does not exist.",
                )
            })?;
            check_etag(OPERATION, name, etag, &held.etag)?;
            if state.cloudfront.in_use(id) {
                return Err(refused(
                    OPERATION,
                    name,
                    "CachePolicyInUse: Cannot delete the cache policy because it is attached to one or more cache behaviors.",
                ));
            }
            state.cloudfront.cache_policies.remove(id);
            Ok(())
        })
    }

    fn response_headers_policy<'a>(
        &'a self,
        name: &'a str,
    ) -> PortFuture<'a, Option<ResponseHeadersPolicy>> {
        Box::pin(async move {
            self.call("cloudfront:ListResponseHeadersPolicies", name)?;
            let found = self
                .state()
                .cloudfront
                .response_headers_policies
                .values()
                .find(|p| p.config.name() == name)
                .cloned();
            let Some(policy) = found else {
                return Ok(None);
            };
            self.call("cloudfront:GetResponseHeadersPolicyConfig", name)?;
            Ok(Some(ResponseHeadersPolicy {
                id: policy.id,
                etag: policy.etag,
                config: policy.config,
            }))
        })
    }

    fn response_headers_policy_by_id<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<ResponseHeadersPolicy>> {
        Box::pin(async move {
            self.call("cloudfront:GetResponseHeadersPolicyConfig", id)?;
            Ok(self
                .state()
                .cloudfront
                .response_headers_policies
                .get(id)
                .map(|p| ResponseHeadersPolicy {
                    id: p.id.clone(),
                    etag: p.etag.clone(),
                    config: p.config.clone(),
                }))
        })
    }

    fn create_response_headers_policy<'a>(
        &'a self,
        config: ResponseHeadersPolicyConfig,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:CreateResponseHeadersPolicy";
            let name = config.name().to_string();
            self.call(OPERATION, &name)?;
            let mut state = self.state();
            if state
                .cloudfront
                .response_headers_policies
                .values()
                .any(|p| p.config.name() == name)
            {
                return Err(refused(
                    OPERATION,
                    &name,
                    "ResponseHeadersPolicyAlreadyExists: A response headers policy with this name already exists.",
                ));
            }
            let id = format!("00000000-0000-4000-9000-{:012x}", state.cloudfront.next());
            let etag = state.cloudfront.new_etag();
            state.cloudfront.response_headers_policies.insert(
                id.clone(),
                FakeResponseHeadersPolicy {
                    id: id.clone(),
                    config,
                    etag,
                },
            );
            Ok(Some(id))
        })
    }

    fn update_response_headers_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: ResponseHeadersPolicyConfig,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:UpdateResponseHeadersPolicy";
            let name = config.name().to_string();
            self.call(OPERATION, &name)?;
            let mut state = self.state();
            let fresh = state.cloudfront.new_etag();
            let held = state
                .cloudfront
                .response_headers_policies
                .get_mut(id)
                .ok_or_else(|| {
                    refused(
                        OPERATION,
                        &name,
                        "NoSuchResponseHeadersPolicy: The response headers policy does not exist.",
                    )
                })?;
            check_etag(OPERATION, &name, etag, &held.etag)?;
            held.config = config;
            held.etag = fresh;
            Ok(())
        })
    }

    fn delete_response_headers_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:DeleteResponseHeadersPolicy";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let held = state
                .cloudfront
                .response_headers_policies
                .get(id)
                .ok_or_else(|| {
                    refused(
                        OPERATION,
                        name,
                        "NoSuchResponseHeadersPolicy: The response headers policy does not exist.",
                    )
                })?;
            check_etag(OPERATION, name, etag, &held.etag)?;
            if state.cloudfront.in_use(id) {
                return Err(refused(
                    OPERATION,
                    name,
                    "ResponseHeadersPolicyInUse: Cannot delete the response headers policy because it is attached to one or more cache behaviors.",
                ));
            }
            state.cloudfront.response_headers_policies.remove(id);
            Ok(())
        })
    }

    fn distributions_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> PortFuture<'a, Vec<DistributionSummary>> {
        Box::pin(async move {
            self.call("cloudfront:ListDistributions", value)?;
            let mut tagged = Vec::new();
            let listed: Vec<FakeDistribution> = self
                .state()
                .cloudfront
                .distributions
                .values()
                .cloned()
                .collect();
            for distribution in listed {
                self.call("cloudfront:ListTagsForResource", &distribution.id)?;
                if distribution
                    .tags
                    .iter()
                    .any(|(k, v)| k == key && v == value)
                {
                    tagged.push(distribution.summary());
                }
            }
            Ok(tagged)
        })
    }

    fn distribution_config<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<(DistributionConfig, String)>> {
        Box::pin(async move {
            self.call("cloudfront:GetDistributionConfig", id)?;
            let mut state = self.state();
            let answer = state
                .cloudfront
                .distributions
                .get(id)
                .map(|d| (d.config.clone(), d.etag.clone()));
            let concurrent = state
                .cloudfront
                .edit_after_next_read
                .take_if(|(target, _)| target == id && answer.is_some());
            if let Some((_, edit)) = concurrent {
                let etag = state.cloudfront.new_etag();
                let reads = state.cloudfront.in_progress_reads;
                if let Some(held) = state.cloudfront.distributions.get_mut(id) {
                    edit(&mut held.config);
                    held.etag = etag;
                    held.deploying = Some(reads);
                }
            }
            Ok(answer)
        })
    }

    fn create_distribution<'a>(
        &'a self,
        config: DistributionConfig,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, DistributionSummary> {
        Box::pin(async move {
            let caller_reference = config.caller_reference().to_string();
            self.call("cloudfront:CreateDistributionWithTags", &caller_reference)?;
            let mut state = self.state();
            // The caller reference makes a create idempotent: CloudFront refuses a second
            // distribution with the same one.
            if state
                .cloudfront
                .distributions
                .values()
                .any(|d| d.config.caller_reference() == caller_reference)
            {
                return Err(refused(
                    "cloudfront:CreateDistributionWithTags",
                    &caller_reference,
                    "DistributionAlreadyExists: The caller reference you attempted to create the distribution with is associated with another distribution.",
                ));
            }
            let id = format!("EFAKE{:09}", state.cloudfront.next());
            let etag = state.cloudfront.new_etag();
            let distribution = FakeDistribution {
                arn: self.cloudfront_arn(&format!("distribution/{id}")),
                domain: format!("{}.cloudfront.net", id.to_ascii_lowercase()),
                id: id.clone(),
                config,
                etag,
                tags,
                deploying: Some(state.cloudfront.in_progress_reads),
            };
            let summary = distribution.summary();
            state.cloudfront.distributions.insert(id, distribution);
            Ok(summary)
        })
    }

    fn update_distribution<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        config: DistributionConfig,
    ) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:UpdateDistribution";
            self.call(OPERATION, id)?;
            let mut state = self.state();
            let fresh = state.cloudfront.new_etag();
            let reads = state.cloudfront.in_progress_reads;
            let held = state
                .cloudfront
                .distributions
                .get_mut(id)
                .ok_or_else(|| no_such_distribution(OPERATION, id))?;
            check_etag(OPERATION, id, etag, &held.etag)?;
            if config.caller_reference() != held.config.caller_reference() {
                return Err(refused(
                    OPERATION,
                    id,
                    "IllegalUpdate: The CallerReference of a distribution cannot be changed.",
                ));
            }
            held.config = config;
            held.etag = fresh;
            held.deploying = Some(reads);
            Ok(Some(held.status().to_string()))
        })
    }

    fn distribution_status<'a>(&'a self, id: &'a str) -> PortFuture<'a, String> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:GetDistribution";
            self.call(OPERATION, id)?;
            let mut state = self.state();
            let held = state
                .cloudfront
                .distributions
                .get_mut(id)
                .ok_or_else(|| no_such_distribution(OPERATION, id))?;
            count_down(&mut held.deploying);
            Ok(held.status().to_string())
        })
    }

    fn distribution_tags<'a>(
        &'a self,
        id: &'a str,
    ) -> PortFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(async move {
            self.call("cloudfront:GetDistribution", id)?;
            let Some(tags) = self
                .state()
                .cloudfront
                .distributions
                .get(id)
                .map(|d| d.tags.clone())
            else {
                return Ok(None);
            };
            self.call("cloudfront:ListTagsForResource", id)?;
            Ok(Some(tags))
        })
    }

    fn delete_distribution<'a>(&'a self, id: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:DeleteDistribution";
            self.call(OPERATION, id)?;
            let mut state = self.state();
            let Some(held) = state.cloudfront.distributions.get(id) else {
                return Ok(());
            };
            check_etag(OPERATION, id, etag, &held.etag)?;
            if state
                .cloudfront
                .deployment_policies
                .values()
                .any(|p| p.settings.staging_domain == held.domain)
            {
                return Err(refused(
                    OPERATION,
                    id,
                    "ResourceInUse: Cannot delete this resource because it is in use.",
                ));
            }
            // CloudFront deletes only a distribution that is disabled and whose disabling has
            // deployed.
            if held.config.enabled() || held.deploying.is_some() {
                return Err(refused(
                    OPERATION,
                    id,
                    "DistributionNotDisabled: The distribution you are trying to delete has not been disabled.",
                ));
            }
            state.cloudfront.distributions.remove(id);
            Ok(())
        })
    }

    fn create_invalidation<'a>(
        &'a self,
        distribution_id: &'a str,
        paths: &'a [String],
        caller_reference: &'a str,
    ) -> PortFuture<'a, InvalidationState> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:CreateInvalidation";
            self.call(OPERATION, distribution_id)?;
            let mut state = self.state();
            if !state.cloudfront.distributions.contains_key(distribution_id) {
                return Err(no_such_distribution(OPERATION, distribution_id));
            }
            // A caller reference sent again answers the invalidation it made, if the paths
            // are the same; other paths are refused.
            if let Some((id, existing)) = state.cloudfront.invalidations.iter().find(|(_, i)| {
                i.distribution_id == distribution_id && i.caller_reference == caller_reference
            }) {
                if existing.paths != paths {
                    return Err(refused(
                        OPERATION,
                        distribution_id,
                        "InvalidationBatchAlreadyExists: The caller reference is already in use by another invalidation batch.",
                    ));
                }
                return Ok(InvalidationState {
                    id: id.clone(),
                    status: existing.status().to_string(),
                });
            }
            let id = format!("IFAKE{:09}", state.cloudfront.next());
            let invalidation = FakeInvalidation {
                distribution_id: distribution_id.to_string(),
                paths: paths.to_vec(),
                caller_reference: caller_reference.to_string(),
                completing: Some(state.cloudfront.in_progress_reads),
            };
            let status = invalidation.status().to_string();
            state
                .cloudfront
                .invalidations
                .insert(id.clone(), invalidation);
            Ok(InvalidationState { id, status })
        })
    }

    fn invalidation_status<'a>(
        &'a self,
        distribution_id: &'a str,
        invalidation_id: &'a str,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:GetInvalidation";
            self.call(OPERATION, invalidation_id)?;
            let mut state = self.state();
            let held = state
                .cloudfront
                .invalidations
                .get_mut(invalidation_id)
                .filter(|i| i.distribution_id == distribution_id)
                .ok_or_else(|| {
                    refused(
                        OPERATION,
                        invalidation_id,
                        "NoSuchInvalidation: The specified invalidation does not exist.",
                    )
                })?;
            count_down(&mut held.completing);
            Ok(held.status().to_string())
        })
    }

    fn copy_distribution<'a>(
        &'a self,
        primary_id: &'a str,
        primary_etag: &'a str,
        caller_reference: &'a str,
    ) -> PortFuture<'a, DistributionSummary> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:CopyDistribution";
            self.call(OPERATION, primary_id)?;
            let mut state = self.state();
            let primary = state
                .cloudfront
                .distributions
                .get(primary_id)
                .ok_or_else(|| no_such_distribution(OPERATION, primary_id))?;
            check_etag(OPERATION, primary_id, primary_etag, &primary.etag)?;
            let mut config = primary.config.clone();
            if state
                .cloudfront
                .distributions
                .values()
                .any(|d| d.config.caller_reference() == caller_reference)
            {
                return Err(refused(
                    OPERATION,
                    primary_id,
                    "DistributionAlreadyExists: The caller reference you attempted to create the distribution with is associated with another distribution.",
                ));
            }
            caller_reference.clone_into(&mut config.caller_reference);
            config.staging = Some(true);
            config.aliases = None;
            config.continuous_deployment_policy_id = None;
            let id = format!("EFAKE{:09}", state.cloudfront.next());
            let etag = state.cloudfront.new_etag();
            let distribution = FakeDistribution {
                arn: self.cloudfront_arn(&format!("distribution/{id}")),
                domain: format!("{}.cloudfront.net", id.to_ascii_lowercase()),
                id: id.clone(),
                config,
                etag,
                tags: Vec::new(),
                deploying: Some(state.cloudfront.in_progress_reads),
            };
            let summary = distribution.summary();
            state.cloudfront.distributions.insert(id, distribution);
            Ok(summary)
        })
    }

    fn tag_distribution<'a>(
        &'a self,
        arn: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:TagResource";
            self.call(OPERATION, arn)?;
            let mut state = self.state();
            let held = state
                .cloudfront
                .distributions
                .values_mut()
                .find(|d| d.arn == arn)
                .ok_or_else(|| no_such_distribution(OPERATION, arn))?;
            for (key, value) in tags {
                held.tags.retain(|(k, _)| *k != key);
                held.tags.push((key, value));
            }
            Ok(())
        })
    }

    fn deployment_policies<'a>(&'a self) -> PortFuture<'a, Vec<DeploymentPolicy>> {
        Box::pin(async move {
            self.call(
                "cloudfront:ListContinuousDeploymentPolicies",
                "continuous deployment policies",
            )?;
            Ok(self
                .state()
                .cloudfront
                .deployment_policies
                .values()
                .map(|p| DeploymentPolicy {
                    etag: String::new(),
                    ..p.clone()
                })
                .collect())
        })
    }

    fn deployment_policy<'a>(&'a self, id: &'a str) -> PortFuture<'a, Option<DeploymentPolicy>> {
        Box::pin(async move {
            self.call("cloudfront:GetContinuousDeploymentPolicy", id)?;
            Ok(self.state().cloudfront.deployment_policies.get(id).cloned())
        })
    }

    fn create_deployment_policy<'a>(
        &'a self,
        settings: &'a DeploymentPolicySettings,
    ) -> PortFuture<'a, DeploymentPolicy> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:CreateContinuousDeploymentPolicy";
            self.call(OPERATION, &settings.staging_domain)?;
            let mut state = self.state();
            check_policy_settings(&state.cloudfront, OPERATION, settings, None)?;
            let id = format!("cdp-{:08}", state.cloudfront.next());
            let etag = state.cloudfront.new_etag();
            let policy = DeploymentPolicy {
                id: id.clone(),
                etag,
                settings: settings.clone(),
            };
            state
                .cloudfront
                .deployment_policies
                .insert(id, policy.clone());
            Ok(policy)
        })
    }

    fn update_deployment_policy<'a>(
        &'a self,
        id: &'a str,
        etag: &'a str,
        settings: &'a DeploymentPolicySettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:UpdateContinuousDeploymentPolicy";
            self.call(OPERATION, id)?;
            let mut state = self.state();
            check_policy_settings(&state.cloudfront, OPERATION, settings, Some(id))?;
            let fresh = state.cloudfront.new_etag();
            let held = state
                .cloudfront
                .deployment_policies
                .get_mut(id)
                .ok_or_else(|| no_such_policy(OPERATION, id))?;
            check_etag(OPERATION, id, etag, &held.etag)?;
            held.settings = settings.clone();
            held.etag = fresh;
            Ok(())
        })
    }

    fn delete_deployment_policy<'a>(&'a self, id: &'a str, etag: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:DeleteContinuousDeploymentPolicy";
            self.call(OPERATION, id)?;
            let mut state = self.state();
            let Some(held) = state.cloudfront.deployment_policies.get(id) else {
                return Ok(());
            };
            check_etag(OPERATION, id, etag, &held.etag)?;
            if state
                .cloudfront
                .distributions
                .values()
                .any(|d| d.config.continuous_deployment_policy_id() == Some(id))
            {
                return Err(refused(
                    OPERATION,
                    id,
                    "ContinuousDeploymentPolicyInUse: You cannot delete a continuous deployment policy that is associated with a primary distribution.",
                ));
            }
            state.cloudfront.deployment_policies.remove(id);
            Ok(())
        })
    }

    fn promote_staging<'a>(
        &'a self,
        primary_id: &'a str,
        primary_etag: &'a str,
        staging_id: &'a str,
        staging_etag: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:UpdateDistributionWithStagingConfig";
            self.call(OPERATION, primary_id)?;
            let mut state = self.state();
            let staging = state
                .cloudfront
                .distributions
                .get(staging_id)
                .ok_or_else(|| no_such_distribution(OPERATION, staging_id))?;
            check_etag(OPERATION, staging_id, staging_etag, &staging.etag)?;
            let staged = staging.config.clone();
            let staging_domain = staging.domain.clone();
            let fresh = state.cloudfront.new_etag();
            let reads = state.cloudfront.in_progress_reads;
            let held = state
                .cloudfront
                .distributions
                .get_mut(primary_id)
                .ok_or_else(|| no_such_distribution(OPERATION, primary_id))?;
            check_etag(OPERATION, primary_id, primary_etag, &held.etag)?;
            let policy_id = held.config.continuous_deployment_policy_id.clone();
            let mut config = staged;
            config.caller_reference = held.config.caller_reference.clone();
            config.aliases = held.config.aliases.clone();
            config.continuous_deployment_policy_id = policy_id.clone();
            config.staging = Some(false);
            held.config = config;
            held.etag = fresh;
            held.deploying = Some(reads);
            let fresh = state.cloudfront.new_etag();
            let policy = policy_id
                .and_then(|id| state.cloudfront.deployment_policies.get_mut(&id))
                .filter(|p| p.settings.staging_domain == staging_domain)
                .ok_or_else(|| {
                    refused(
                        OPERATION,
                        primary_id,
                        "InvalidArgument: The primary distribution has no continuous deployment policy naming this staging distribution.",
                    )
                })?;
            policy.settings.enabled = false;
            policy.etag = fresh;
            Ok(())
        })
    }
}

fn no_such_policy(operation: &str, id: &str) -> DeployError {
    refused(
        operation,
        id,
        "NoSuchContinuousDeploymentPolicy: The continuous deployment policy doesn't exist.",
    )
}

/// CloudFront's checks of a continuous deployment policy (the API reference's limits).
fn check_policy_settings(
    cloudfront: &FakeCloudFront,
    operation: &str,
    settings: &DeploymentPolicySettings,
    own_id: Option<&str>,
) -> Result<(), DeployError> {
    let target = &settings.staging_domain;
    let staging = cloudfront
        .distributions
        .values()
        .find(|d| d.domain == *target && d.config.staging() == Some(true));
    if staging.is_none() {
        return Err(refused(
            operation,
            target,
            "InvalidArgument: StagingDistributionDnsNames must name a staging distribution.",
        ));
    }
    if cloudfront
        .deployment_policies
        .values()
        .any(|p| Some(p.id.as_str()) != own_id && p.settings.staging_domain == *target)
    {
        return Err(refused(
            operation,
            target,
            "StagingDistributionInUse: A continuous deployment policy for this staging distribution already exists.",
        ));
    }
    match &settings.traffic {
        Traffic::Weight { weight, stickiness } => {
            if !(0.0..=0.15).contains(weight) {
                return Err(refused(
                    operation,
                    target,
                    &format!("InvalidArgument: Weight {weight} must be between 0 and 0.15."),
                ));
            }
            if let Some((idle, maximum)) = stickiness
                && (!(300..=3600).contains(idle)
                    || !(300..=3600).contains(maximum)
                    || idle > maximum)
            {
                return Err(refused(
                    operation,
                    target,
                    "InvalidArgument: IdleTTL and MaximumTTL must be 300-3600 seconds, IdleTTL at most MaximumTTL.",
                ));
            }
        }
        Traffic::Header { name, .. } => {
            if !name.to_ascii_lowercase().starts_with("aws-cf-cd-") {
                return Err(refused(
                    operation,
                    target,
                    "InvalidArgument: The header must start with aws-cf-cd-.",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(caller_reference: &str, enabled: bool) -> DistributionConfig {
        DistributionConfig::builder()
            .caller_reference(caller_reference)
            .comment("fake")
            .enabled(enabled)
            .build()
            .expect("caller reference, comment and enabled are all set")
    }

    fn message<T>(result: Result<T, DeployError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[tokio::test]
    async fn the_fake_checks_if_match_and_refuses_to_delete_an_enabled_distribution() {
        let account = FakeAccount::new("eu-west-1", "123456789012");
        let created = account
            .create_distribution(config("ref", true), Vec::new())
            .await
            .expect("created");
        assert_eq!(created.status, "InProgress");
        let again = account
            .create_distribution(config("ref", true), Vec::new())
            .await;
        assert!(message(again).contains("DistributionAlreadyExists"));

        let (_, etag) = account
            .distribution_config(&created.id)
            .await
            .expect("no error")
            .expect("the distribution exists");
        let stale = account
            .update_distribution(&created.id, "ETAG-stale", config("ref", false))
            .await;
        assert!(stale.as_ref().is_err_and(is_precondition_failed));
        let missing = account
            .update_distribution(&created.id, "", config("ref", false))
            .await;
        assert!(message(missing).contains("InvalidIfMatchVersion"));
        let renamed = account
            .update_distribution(&created.id, &etag, config("other", false))
            .await;
        assert!(message(renamed).contains("IllegalUpdate"));

        let enabled = account.delete_distribution(&created.id, &etag).await;
        assert!(message(enabled).contains("DistributionNotDisabled"));
        let status = account
            .update_distribution(&created.id, &etag, config("ref", false))
            .await;
        assert_eq!(status.ok().flatten().as_deref(), Some("InProgress"));
        let (_, etag) = account
            .distribution_config(&created.id)
            .await
            .expect("no error")
            .expect("the distribution exists");
        let deploying = account.delete_distribution(&created.id, &etag).await;
        assert!(
            message(deploying).contains("DistributionNotDisabled"),
            "the disabling has not deployed yet"
        );
        let status = account.distribution_status(&created.id).await;
        assert_eq!(status.ok().as_deref(), Some("Deployed"));
        assert!(
            account
                .delete_distribution(&created.id, &etag)
                .await
                .is_ok()
        );
        assert!(account.distribution(&created.id).is_none());
        assert!(
            account
                .delete_distribution(&created.id, &etag)
                .await
                .is_ok(),
            "gone already"
        );
    }
}
