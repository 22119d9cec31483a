//! The whole stack in dependency order: `converge` for `up` and `plan` (same code; `plan`
//! never reaches a mutating call), `remove` for `down` in reverse order.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;
use cfrp_config::{Function, FunctionSettings};
use serde::Serialize;

use crate::context::Run;
use crate::error::DeployError;
use crate::package::Packages;
use crate::resources::{cloudfront, events, iam, kinesis, lambda, monitoring, s3, sqs};
use crate::spec::{self, Arns, KNOWN_AFTER_UP, mappings, policy, queues};

/// The statement id of the schedule's invoke permission.
const SCHEDULE_PERMISSION: &str = "cfrp-schedule";

/// What `up`/`plan` leave behind for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub distribution_id: Option<String>,
    pub domain_name: Option<String>,
    pub status: Option<String>,
    /// The origin-verify header's value; origins should reject requests without it.
    #[serde(skip)]
    pub origin_secret: String,
}

pub async fn converge(
    run: &mut Run<'_>,
    packages: &Packages,
    wait: bool,
) -> Result<Deployed, DeployError> {
    let config = run.config;
    let names = run.names.clone();
    let functions = spec::functions(config);
    let deploys = |f: Function| functions.contains(&f);

    // 1. Real-time logs: stream, the role CloudFront writes with, the log config.
    let found = cloudfront::find_distribution(run).await?;
    let arns = Arns::new(config, &run.account, found.as_ref().map(|f| f.id.as_str()));
    let log_config_arn = if config.logging.enabled {
        kinesis::converge(run).await?;
        iam::converge(
            run,
            &iam::RoleSpec {
                name: names.cloudfront_logs_role(),
                description: format!(
                    "CloudFront writes real-time logs of stack {}",
                    names.stack()
                ),
                trust: policy::trust("cloudfront.amazonaws.com", &run.account),
                policy: policy::cloudfront_logs(&arns),
            },
        )
        .await?;
        Some(cloudfront::converge_log_config(run, &arns).await?)
    } else {
        None
    };

    // 2. The edge: viewer-request function, custom cache policies, the distribution.
    let function_arn = cloudfront::converge_function(run).await?;
    let cache_policies = cloudfront::converge_cache_policies(run).await?;
    let converged = cloudfront::converge_distribution(
        run,
        log_config_arn.as_deref(),
        &function_arn,
        &cache_policies,
    )
    .await?;
    let distribution = converged.found.clone();
    let distribution_id = distribution.as_ref().map(|d| d.id.clone());
    let domain = distribution.as_ref().map(|d| d.domain.clone());
    let arns = Arns::new(config, &run.account, distribution_id.as_deref());

    // 3. Queues: analyser failures, manuscripts with its dead-letter queue.
    let timeout = config.functions.timeout_seconds;
    if deploys(Function::LogAnalyser) {
        sqs::converge(
            run,
            &sqs::QueueSpec {
                name: names.analyser_failure_queue(),
                attributes: BTreeMap::from([(
                    QueueAttributeName::MessageRetentionPeriod,
                    queues::DEAD_LETTER_RETENTION_SECONDS.to_string(),
                )]),
            },
        )
        .await?;
    }
    if let Some(manuscripts) = &config.manuscripts {
        sqs::converge(
            run,
            &sqs::QueueSpec {
                name: names.manuscripts_dead_letter_queue(),
                attributes: BTreeMap::from([(
                    QueueAttributeName::MessageRetentionPeriod,
                    queues::DEAD_LETTER_RETENTION_SECONDS.to_string(),
                )]),
            },
        )
        .await?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": arns.manuscripts_dead_letter_queue,
            "maxReceiveCount": queues::MAX_RECEIVE_COUNT,
        });
        let bucket_arn = Arns::bucket(&manuscripts.bucket);
        sqs::converge(
            run,
            &sqs::QueueSpec {
                name: names.manuscripts_queue(),
                attributes: BTreeMap::from([
                    (
                        QueueAttributeName::VisibilityTimeout,
                        queues::visibility_timeout(timeout, manuscripts.batch_window_seconds)
                            .to_string(),
                    ),
                    (QueueAttributeName::RedrivePolicy, redrive.to_string()),
                    (
                        QueueAttributeName::Policy,
                        policy::queue_from_bucket(
                            &arns.manuscripts_queue,
                            &bucket_arn,
                            &run.account,
                        )
                        .to_string(),
                    ),
                ]),
            },
        )
        .await?;
        s3::converge_bucket(run, &manuscripts.bucket).await?;
    }

    // 4. Functions: role, log group, code and settings.
    for function in &functions {
        let function = *function;
        iam::converge(
            run,
            &iam::RoleSpec {
                name: names.lambda_role(function),
                description: format!("{} of stack {}", function.short(), names.stack()),
                trust: policy::trust("lambda.amazonaws.com", &run.account),
                policy: policy::function(&arns, function, &config.metrics.namespace),
            },
        )
        .await?;
        lambda::converge_log_group(run, function).await?;
        let id = distribution_id.as_deref().unwrap_or(KNOWN_AFTER_UP);
        let settings_json = match function {
            Function::LogAnalyser => config.analyser_settings().to_env_value()?,
            Function::AlarmEvaluator => config
                .evaluator_settings(distribution_id.as_deref(), domain.as_deref())
                .to_env_value()?,
            Function::Invalidator => match config.invalidator_settings(id) {
                Some(settings) => settings.to_env_value()?,
                None => continue,
            },
        };
        let zip = packages.get(function.short()).cloned().ok_or_else(|| {
            DeployError::state(&names.lambda(function), "no deployment package was loaded")
        })?;
        lambda::converge_function(
            run,
            &lambda::FunctionSpec {
                function,
                role_arn: arns.role(&names.lambda_role(function)),
                settings_json,
                zip,
            },
        )
        .await?;
    }

    // 5. Wiring: stream → analyser, schedule → evaluator, bucket → queue → invalidator.
    if deploys(Function::LogAnalyser) {
        lambda::converge_mapping(
            run,
            &lambda::MappingSpec {
                function: Function::LogAnalyser,
                source_arn: arns.stream.clone(),
                batch_size: mappings::KINESIS_BATCH_SIZE,
                batching_window: mappings::KINESIS_BATCHING_WINDOW,
                stream: Some((
                    mappings::KINESIS_PARALLELIZATION,
                    mappings::KINESIS_MAX_RETRIES,
                    mappings::KINESIS_MAX_RECORD_AGE,
                    arns.analyser_failures.clone(),
                )),
            },
        )
        .await?;
    }
    if deploys(Function::AlarmEvaluator) {
        events::converge(run, &arns.lambda(Function::AlarmEvaluator)).await?;
        lambda::converge_permission(
            run,
            Function::AlarmEvaluator,
            SCHEDULE_PERMISSION,
            "events.amazonaws.com",
            &arns.schedule_rule,
        )
        .await?;
    }
    if let Some(manuscripts) = &config.manuscripts {
        lambda::converge_mapping(
            run,
            &lambda::MappingSpec {
                function: Function::Invalidator,
                source_arn: arns.manuscripts_queue.clone(),
                batch_size: mappings::SQS_BATCH_SIZE,
                batching_window: manuscripts.batch_window_seconds as i32,
                stream: None,
            },
        )
        .await?;
        s3::converge_notification(
            run,
            &manuscripts.bucket,
            &manuscripts.key_prefix,
            &arns.manuscripts_queue,
        )
        .await?;
    }

    // 6. Watching: alarm topic, one alarm per rule, the dashboard.
    if config.alarms.enabled {
        monitoring::converge_topic(run, &arns.alarm_topic).await?;
        monitoring::converge_alarms(run, &spec::alarms::alarms(config, &arns.alarm_topic)).await?;
    }
    let body = spec::dashboard::body(
        config,
        domain.as_deref().unwrap_or(KNOWN_AFTER_UP),
        distribution_id.as_deref().unwrap_or(KNOWN_AFTER_UP),
    );
    monitoring::converge_dashboard(run, &body).await?;

    // 7. Cache policies no behavior uses any more.
    cloudfront::remove_cache_policies(run, &cache_policies_in_use(run, &cache_policies)).await?;

    // 8. Features turned off since an earlier `up`: what it made for them goes.
    remove_features_turned_off(run, &arns).await?;

    let mut status = distribution.as_ref().map(|d| d.status.clone());
    if wait
        && run.applying()
        && let Some(id) = &distribution_id
    {
        cloudfront::wait_deployed(run, id).await?;
        status = Some("Deployed".to_string());
    }
    Ok(Deployed {
        distribution_id,
        domain_name: domain,
        status,
        origin_secret: converged.origin_secret,
    })
}

/// Removes what an earlier `up` made for a feature the config now turns off (alarms, real-time
/// logging, manuscripts), in the order `down` removes it. Every step looks its resource up by
/// name first, so for a feature that was never on this costs reads only and no mutating call.
///
/// The manuscripts bucket itself stays: it holds the user's files, and the config no longer
/// names it, so neither this nor `down` touches it again; its notification to the queue is
/// removed, the bucket being found through the queue's policy.
async fn remove_features_turned_off(run: &mut Run<'_>, arns: &Arns) -> Result<(), DeployError> {
    let config = run.config;
    let names = run.names.clone();
    if !config.alarms.enabled {
        monitoring::remove_alarms(run).await?;
        monitoring::remove_topic(run, &arns.alarm_topic).await?;
        events::remove(run).await?;
        remove_function_and_role(run, Function::AlarmEvaluator).await?;
    }
    if config.manuscripts.is_none() {
        if let Some(bucket) = sqs::source_bucket(run, &names.manuscripts_queue()).await? {
            s3::remove_notification(run, &bucket).await?;
        }
        lambda::remove_mapping(run, Function::Invalidator, &arns.manuscripts_queue).await?;
        remove_function_and_role(run, Function::Invalidator).await?;
        sqs::remove(run, &names.manuscripts_queue()).await?;
        sqs::remove(run, &names.manuscripts_dead_letter_queue()).await?;
    }
    if !config.logging.enabled {
        // The distribution was updated without the log config in step 2, so it can go.
        lambda::remove_mapping(run, Function::LogAnalyser, &arns.stream).await?;
        remove_function_and_role(run, Function::LogAnalyser).await?;
        sqs::remove(run, &names.analyser_failure_queue()).await?;
        cloudfront::remove_log_config(run).await?;
        iam::remove(run, &names.cloudfront_logs_role()).await?;
        kinesis::remove(run).await?;
    }
    Ok(())
}

async fn remove_function_and_role(
    run: &mut Run<'_>,
    function: Function,
) -> Result<(), DeployError> {
    lambda::remove_function(run, function).await?;
    lambda::remove_log_group(run, function).await?;
    let role = run.names.lambda_role(function);
    iam::remove(run, &role).await
}

/// Policy ids still referenced by a custom-cached behavior (newly created ones included).
fn cache_policies_in_use(run: &Run<'_>, known: &[(String, String)]) -> Vec<(String, String)> {
    let keys: Vec<String> = std::iter::once(&run.config.default_behavior)
        .chain(run.config.behaviors.iter())
        .filter(|b| b.caching == cfrp_config::CachingMode::Custom)
        .map(spec::distribution::behavior_key)
        .collect();
    known
        .iter()
        .filter(|(k, _)| keys.contains(k))
        .cloned()
        .collect()
}

/// Removes everything the stack created, in reverse dependency order. Each step finds its
/// resource again by name, so a `down` interrupted anywhere resumes where it stopped.
pub async fn remove(run: &mut Run<'_>) -> Result<(), DeployError> {
    let config = run.config;
    let names = run.names.clone();
    let arns = Arns::new(config, &run.account, None);

    monitoring::remove_dashboard(run).await?;
    monitoring::remove_alarms(run).await?;
    monitoring::remove_topic(run, &arns.alarm_topic).await?;
    if let Some(manuscripts) = &config.manuscripts {
        s3::remove_notification(run, &manuscripts.bucket).await?;
    }
    events::remove(run).await?;
    lambda::remove_mapping(run, Function::LogAnalyser, &arns.stream).await?;
    lambda::remove_mapping(run, Function::Invalidator, &arns.manuscripts_queue).await?;
    for function in Function::ALL {
        remove_function_and_role(run, function).await?;
    }
    sqs::remove(run, &names.manuscripts_queue()).await?;
    sqs::remove(run, &names.manuscripts_dead_letter_queue()).await?;
    sqs::remove(run, &names.analyser_failure_queue()).await?;
    cloudfront::remove_distribution(run).await?;
    cloudfront::remove_cache_policies(run, &[]).await?;
    cloudfront::remove_function(run).await?;
    cloudfront::remove_log_config(run).await?;
    iam::remove(run, &names.cloudfront_logs_role()).await?;
    kinesis::remove(run).await?;
    if let Some(manuscripts) = &config.manuscripts {
        s3::remove_bucket(run, &manuscripts.bucket).await?;
    }
    Ok(())
}
