//! The whole stack in dependency order: `converge` for `up` and `plan` (same code; `plan`
//! never reaches a mutating call), `remove` for `down` in reverse order.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;
use cfrp_config::{Function, FunctionSettings};
use serde::Serialize;

use std::sync::OnceLock;

use cfrp_engine::{self as engine, Graph, StepId};

use crate::context::{self, Run};
use crate::error::DeployError;
use crate::package::Packages;
use crate::resources::{
    cloudfront, events, headers, iam, kinesis, lambda, metrics_subscription, monitoring, s3, sqs,
    standard_logs, waf,
};
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

/// How many steps of a plan run at once: Terraform's default parallelism.
pub const CONCURRENCY: usize = 8;

/// One step of the stack's plan: a resource (or a small group read and written together) that
/// converges on its own once the steps it depends on are done.
#[derive(Debug, Clone)]
enum Task {
    LogStream,
    LogsRole,
    LogConfig,
    ViewerFunction,
    CachePolicies,
    Distribution,
    Queue(sqs::QueueSpec),
    Bucket(String),
    FunctionRole(Function),
    LogGroup(Function),
    Function(Function),
    StreamMapping,
    Schedule,
    SchedulePermission,
    QueueMapping,
    BucketNotification,
    Topic,
    Alarms,
    Dashboard,
    UnusedCachePolicies,
    FeaturesTurnedOff,
    WaitDeployed,
    MetricsSubscription,
    WafIpSets,
    WebAcl,
    StandardLogs,
    BlockTable,
}

/// The stack's steps and what each depends on.
pub struct StackGraph {
    pub graph: Graph,
    tasks: Vec<Task>,
}

/// Values one step hands to the steps that depend on it.
#[derive(Default)]
struct Handoff {
    log_config_arn: OnceLock<String>,
    function_arn: OnceLock<String>,
    cache_policies: OnceLock<Vec<(String, String)>>,
    /// The stack's own response headers policy id (converged in the cache policies' step).
    response_headers_policy: OnceLock<Option<String>>,
    distribution: OnceLock<cloudfront::Converged>,
    waf_ip_sets: OnceLock<BTreeMap<String, String>>,
    /// The `[waf]` web ACL's ARN (KNOWN_AFTER_UP in a plan before it exists).
    web_acl_arn: OnceLock<String>,
}

fn handed<'h, T>(slot: &'h OnceLock<T>, what: &str) -> Result<&'h T, DeployError> {
    slot.get().ok_or_else(|| {
        DeployError::state(
            what,
            "an earlier step did not run (a bug in the plan's graph)",
        )
    })
}

/// The stack's dependency graph for a config: which steps exist and what waits for what.
pub fn graph(config: &cfrp_config::StackConfig, arns: &Arns, wait: bool) -> StackGraph {
    let names = config.names();
    let functions = spec::functions(config);
    let mut graph = Graph::new();
    let mut tasks = Vec::new();
    let mut add = |task: Task, name: String, deps: &[StepId]| {
        tasks.push(task);
        graph.add(name, deps)
    };

    // 1. Real-time logs: stream, the role CloudFront writes with, the log config.
    let logs = config.logging.enabled.then(|| {
        let stream = add(
            Task::LogStream,
            format!("Kinesis stream {}", names.log_stream()),
            &[],
        );
        let role = add(
            Task::LogsRole,
            format!("IAM role {}", names.cloudfront_logs_role()),
            &[],
        );
        let log_config = add(
            Task::LogConfig,
            format!("real-time log config {}", names.realtime_log_config()),
            &[stream, role],
        );
        (stream, log_config)
    });
    let stream = logs.map(|(stream, _)| stream);

    // 2. The edge: viewer-request function, custom cache policies, the distribution.
    let function = add(
        Task::ViewerFunction,
        format!("CloudFront function {}", names.viewer_request_function()),
        &[],
    );
    let policies = add(Task::CachePolicies, "cache policies".to_string(), &[]);
    let mut edge = vec![function, policies];
    edge.extend(logs.map(|(_, log_config)| log_config));
    // The web ACL of [waf] (after its IP sets): the distribution carries its ARN.
    if config.waf.is_some() {
        let ip_sets = add(Task::WafIpSets, "WAF IP sets".to_string(), &[]);
        edge.push(add(
            Task::WebAcl,
            format!("WAF web ACL {}", names.web_acl()),
            &[ip_sets],
        ));
    }
    let distribution = add(
        Task::Distribution,
        format!("distribution of stack {}", names.stack()),
        &edge,
    );

    // 3. Queues: analyser failures, manuscripts with its dead-letter queue.
    let timeout = config.functions.timeout_seconds;
    let encryption = queues::encryption(config.encryption.kms_key_arn.as_deref());
    let dead_letter = |name: String| {
        let mut attributes = BTreeMap::from([(
            QueueAttributeName::MessageRetentionPeriod,
            queues::DEAD_LETTER_RETENTION_SECONDS.to_string(),
        )]);
        attributes.extend(encryption.clone());
        sqs::QueueSpec { name, attributes }
    };
    let failures = functions.contains(&Function::LogAnalyser).then(|| {
        let spec = dead_letter(names.analyser_failure_queue());
        add(
            Task::Queue(spec),
            format!("SQS queue {}", names.analyser_failure_queue()),
            &[],
        )
    });
    let manuscripts = config.manuscripts.as_ref().map(|manuscripts| {
        let dlq = add(
            Task::Queue(dead_letter(names.manuscripts_dead_letter_queue())),
            format!("SQS queue {}", names.manuscripts_dead_letter_queue()),
            &[],
        );
        let redrive = serde_json::json!({
            "deadLetterTargetArn": arns.manuscripts_dead_letter_queue,
            "maxReceiveCount": queues::MAX_RECEIVE_COUNT,
        });
        let mut queue = sqs::QueueSpec {
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
                        &Arns::bucket(&manuscripts.bucket),
                        &arns.account,
                    )
                    .to_string(),
                ),
            ]),
        };
        queue.attributes.extend(encryption.clone());
        let queue = add(
            Task::Queue(queue),
            format!("SQS queue {}", names.manuscripts_queue()),
            &[dlq],
        );
        let bucket = add(
            Task::Bucket(manuscripts.bucket.clone()),
            format!("S3 bucket {}", manuscripts.bucket),
            &[],
        );
        (queue, bucket)
    });

    // The block table of [waf.auto_block] before the functions that write it (with [waf]
    // only, so a stack that never had one pays no read for it).
    let block_table = config.waf.is_some().then(|| {
        add(
            Task::BlockTable,
            format!("DynamoDB table {}", names.block_table()),
            &[],
        )
    });

    // 4. Functions: role, log group, code and settings. The invalidator's role names the
    // distribution; the evaluator's and invalidator's settings carry its id.
    let mut deployed = std::collections::HashMap::new();
    for function in &functions {
        let f = *function;
        let needs_distribution = !matches!(f, Function::LogAnalyser);
        let role_deps: &[StepId] = if f == Function::Invalidator {
            &[distribution]
        } else {
            &[]
        };
        let role = add(
            Task::FunctionRole(f),
            format!("IAM role {}", names.lambda_role(f)),
            role_deps,
        );
        let group = add(
            Task::LogGroup(f),
            format!("log group {}", names.log_group(f)),
            &[],
        );
        let mut deps = vec![role, group];
        deps.extend(block_table);
        if needs_distribution {
            deps.push(distribution);
        }
        deployed.insert(
            f,
            add(
                Task::Function(f),
                format!("Lambda function {}", names.lambda(f)),
                &deps,
            ),
        );
    }

    // 5. Wiring: stream → analyser, schedule → evaluator, bucket → queue → invalidator.
    if let (Some(analyser), Some(stream), Some(failures)) =
        (deployed.get(&Function::LogAnalyser), stream, failures)
    {
        add(
            Task::StreamMapping,
            "stream → analyser mapping".to_string(),
            &[*analyser, stream, failures],
        );
    }
    if let Some(evaluator) = deployed.get(&Function::AlarmEvaluator) {
        let rule = add(
            Task::Schedule,
            format!("schedule {}", names.schedule_rule()),
            &[*evaluator],
        );
        add(
            Task::SchedulePermission,
            "schedule's invoke permission".to_string(),
            &[rule, *evaluator],
        );
    }
    if let (Some(invalidator), Some((queue, bucket))) =
        (deployed.get(&Function::Invalidator), manuscripts)
    {
        add(
            Task::QueueMapping,
            "queue → invalidator mapping".to_string(),
            &[*invalidator, queue],
        );
        add(
            Task::BucketNotification,
            "bucket notification".to_string(),
            &[bucket, queue],
        );
    }

    // 6. Watching: alarm topic, one alarm per rule, the dashboard.
    if config.alarms.enabled {
        let topic = add(
            Task::Topic,
            format!("SNS topic {}", names.alarm_topic()),
            &[],
        );
        add(Task::Alarms, "alarms".to_string(), &[topic]);
    }
    add(
        Task::Dashboard,
        format!("dashboard {}", names.dashboard()),
        &[distribution],
    );

    // 7. Cache policies no behavior uses any more, 8. what features turned off had.
    add(
        Task::UnusedCachePolicies,
        "unused cache policies".to_string(),
        &[distribution],
    );
    add(
        Task::FeaturesTurnedOff,
        "features turned off".to_string(),
        &[distribution],
    );
    // 9. The distribution's additional metrics (on, or removed once turned off).
    add(
        Task::MetricsSubscription,
        "distribution's additional metrics".to_string(),
        &[distribution],
    );
    // 10. Standard access logs (v2): delivery source, destination and delivery (or their
    // removal once the section is gone).
    add(
        Task::StandardLogs,
        "standard access logs".to_string(),
        &[distribution],
    );
    if wait {
        add(
            Task::WaitDeployed,
            "distribution deployed".to_string(),
            &[distribution],
        );
    }
    StackGraph { graph, tasks }
}

/// `up` and `plan`: every step of the stack's graph, each as soon as what it depends on is
/// done, [`CONCURRENCY`] at once. In plan mode the steps only read.
/// What [`converge`] did: the distribution, the graph it ran and how long it took.
pub struct Converged {
    pub deployed: Deployed,
    pub graph: Graph,
    pub timing: Timing,
}

/// How long one run of the graph took, step by step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    /// Seconds per step, by step id.
    pub step_seconds: Vec<f64>,
    /// The longest chain of dependent steps with these durations: no schedule of this graph
    /// finishes sooner.
    pub critical_path_seconds: f64,
    /// That chain's steps, first to last.
    pub critical_path: Vec<String>,
}

fn seconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

pub async fn converge(
    run: &Run<'_>,
    packages: &Packages,
    wait: bool,
) -> Result<Converged, DeployError> {
    let config = run.config;
    let found = cloudfront::find_distribution(run).await?;
    let arns = Arns::new(config, &run.account, found.as_ref().map(|f| f.id.as_str()));
    let stack = graph(config, &arns, wait && run.applying());
    let handoff = Handoff::default();
    let outcome = engine::run(&stack.graph, CONCURRENCY, |id| {
        let task = &stack.tasks[id.0];
        let (handoff, arns) = (&handoff, &arns);
        context::in_step(id.0, async move {
            step(run, packages, task, handoff, arns).await
        })
    })
    .await;
    let timing = timing(&stack.graph, &outcome.durations());
    failures(&stack.graph, outcome.into_errors())?;
    let converged = handed(&handoff.distribution, "distribution")?;
    let distribution = converged.found.clone();
    let mut status = distribution.as_ref().map(|d| d.status.clone());
    if wait && run.applying() && distribution.is_some() {
        status = Some("Deployed".to_string());
    }
    let deployed = Deployed {
        distribution_id: distribution.as_ref().map(|d| d.id.clone()),
        domain_name: distribution.as_ref().map(|d| d.domain.clone()),
        status,
        origin_secret: converged.origin_secret.clone(),
    };
    Ok(Converged {
        deployed,
        graph: stack.graph,
        timing,
    })
}

/// One step of [`converge`].
async fn step(
    run: &Run<'_>,
    packages: &Packages,
    task: &Task,
    handoff: &Handoff,
    found_arns: &Arns,
) -> Result<(), DeployError> {
    let config = run.config;
    let names = &run.names;
    // ARNs that name the distribution, once the distribution step has run.
    let converged = || handed(&handoff.distribution, "distribution");
    let distribution_id = || -> Result<Option<String>, DeployError> {
        Ok(converged()?.found.as_ref().map(|d| d.id.clone()))
    };
    match task {
        Task::LogStream => kinesis::converge(run).await,
        Task::LogsRole => {
            iam::converge(
                run,
                &iam::RoleSpec {
                    name: names.cloudfront_logs_role(),
                    description: format!(
                        "CloudFront writes real-time logs of stack {}",
                        names.stack()
                    ),
                    trust: policy::trust("cloudfront.amazonaws.com", &run.account),
                    policy: policy::cloudfront_logs(found_arns),
                },
            )
            .await
        }
        Task::LogConfig => {
            let arn = cloudfront::converge_log_config(run, found_arns).await?;
            let _ = handoff.log_config_arn.set(arn);
            Ok(())
        }
        Task::ViewerFunction => {
            let arn = cloudfront::converge_function(run).await?;
            let _ = handoff.function_arn.set(arn);
            Ok(())
        }
        Task::CachePolicies => {
            let ids = cloudfront::converge_cache_policies(run).await?;
            let _ = handoff.cache_policies.set(ids);
            // The response headers policy is the distribution's other policy of the stack's
            // own: converged in the same step, before the distribution that points at it.
            let headers = headers::converge(run).await?;
            let _ = handoff.response_headers_policy.set(headers);
            Ok(())
        }
        Task::Distribution => {
            // Unset when logging is off: the distribution carries no log config then.
            let log_config = handoff.log_config_arn.get().cloned();
            let converged = cloudfront::converge_distribution(
                run,
                log_config.as_deref(),
                handoff.web_acl_arn.get().map(String::as_str),
                handed(&handoff.function_arn, "CloudFront function")?,
                handed(&handoff.cache_policies, "cache policies")?,
                handed(&handoff.response_headers_policy, "response headers policy")?.as_deref(),
            )
            .await?;
            let _ = handoff.distribution.set(converged);
            Ok(())
        }
        Task::Queue(spec) => sqs::converge(run, spec).await,
        Task::Bucket(bucket) => s3::converge_bucket(run, bucket).await,
        Task::FunctionRole(function) => {
            // Only the invalidator's policy names the distribution, and its step waits for it.
            let arns = match function {
                Function::Invalidator => {
                    Arns::new(config, &run.account, distribution_id()?.as_deref())
                }
                _ => found_arns.clone(),
            };
            iam::converge(
                run,
                &iam::RoleSpec {
                    name: names.lambda_role(*function),
                    description: format!("{} of stack {}", function.short(), names.stack()),
                    trust: policy::trust("lambda.amazonaws.com", &run.account),
                    policy: policy::function(&arns, *function, &config.metrics.namespace),
                },
            )
            .await
        }
        Task::LogGroup(function) => lambda::converge_log_group(run, *function).await,
        Task::Function(function) => {
            let function = *function;
            let (id, domain) = match function {
                Function::LogAnalyser => (None, None),
                _ => {
                    let found = converged()?.found.clone();
                    (
                        found.as_ref().map(|d| d.id.clone()),
                        found.map(|d| d.domain),
                    )
                }
            };
            let settings_json = match function {
                Function::LogAnalyser => config.analyser_settings().to_env_value()?,
                Function::AlarmEvaluator => {
                    let mut settings = config.evaluator_settings(id.as_deref(), domain.as_deref());
                    // A staging distribution `stage` set stays compared until `rollback` or
                    // `promote` clears it.
                    settings.canary = crate::resources::canary::kept(run).await?;
                    settings.to_env_value()?
                }
                Function::Invalidator => {
                    match config.invalidator_settings(id.as_deref().unwrap_or(KNOWN_AFTER_UP)) {
                        Some(settings) => settings.to_env_value()?,
                        None => return Ok(()),
                    }
                }
            };
            let zip = packages.get(function.short()).cloned().ok_or_else(|| {
                DeployError::state(&names.lambda(function), "no deployment package was loaded")
            })?;
            lambda::converge_function(
                run,
                &lambda::FunctionSpec {
                    function,
                    role_arn: found_arns.role(&names.lambda_role(function)),
                    settings_json,
                    zip,
                },
            )
            .await
        }
        Task::StreamMapping => {
            lambda::converge_mapping(
                run,
                &lambda::MappingSpec {
                    function: Function::LogAnalyser,
                    source_arn: found_arns.stream.clone(),
                    batch_size: mappings::KINESIS_BATCH_SIZE,
                    batching_window: mappings::KINESIS_BATCHING_WINDOW,
                    stream: Some(lambda::StreamMapping {
                        parallelization_factor: mappings::KINESIS_PARALLELIZATION,
                        max_retries: mappings::KINESIS_MAX_RETRIES,
                        max_record_age_seconds: mappings::KINESIS_MAX_RECORD_AGE,
                        on_failure: found_arns.analyser_failures.clone(),
                    }),
                    max_concurrency: None,
                },
            )
            .await
        }
        Task::Schedule => events::converge(run, &found_arns.lambda(Function::AlarmEvaluator)).await,
        Task::SchedulePermission => {
            lambda::converge_permission(
                run,
                Function::AlarmEvaluator,
                SCHEDULE_PERMISSION,
                "events.amazonaws.com",
                &found_arns.schedule_rule,
            )
            .await
        }
        Task::QueueMapping => {
            let batching_window = config
                .manuscripts
                .as_ref()
                .map_or(0, |m| m.batch_window_seconds as i32);
            lambda::converge_mapping(
                run,
                &lambda::MappingSpec {
                    function: Function::Invalidator,
                    source_arn: found_arns.manuscripts_queue.clone(),
                    batch_size: mappings::SQS_BATCH_SIZE,
                    batching_window,
                    stream: None,
                    max_concurrency: Some(mappings::SQS_MAX_CONCURRENCY),
                },
            )
            .await
        }
        Task::BucketNotification => match &config.manuscripts {
            Some(manuscripts) => {
                s3::converge_notification(
                    run,
                    &manuscripts.bucket,
                    &manuscripts.key_prefix,
                    &found_arns.manuscripts_queue,
                )
                .await
            }
            None => Ok(()),
        },
        Task::Topic => monitoring::converge_topic(run, &found_arns.alarm_topic).await,
        Task::Alarms => {
            monitoring::converge_alarms(run, &spec::alarms::alarms(config, &found_arns.alarm_topic))
                .await
        }
        Task::Dashboard => {
            let found = converged()?.found.clone();
            let body = spec::dashboard::body(
                config,
                found.as_ref().map_or(KNOWN_AFTER_UP, |d| d.domain.as_str()),
                found.as_ref().map_or(KNOWN_AFTER_UP, |d| d.id.as_str()),
            );
            monitoring::converge_dashboard(run, &body).await
        }
        Task::UnusedCachePolicies => {
            let known = handed(&handoff.cache_policies, "cache policies")?;
            cloudfront::remove_cache_policies(run, &cache_policies_in_use(run, known)).await?;
            // A response headers policy no behaviour uses any more goes the same way.
            headers::remove(run, true).await
        }
        Task::FeaturesTurnedOff => {
            let arns = Arns::new(config, &run.account, distribution_id()?.as_deref());
            remove_features_turned_off(run, &arns).await
        }
        Task::MetricsSubscription => {
            metrics_subscription::converge(run, distribution_id()?.as_deref()).await
        }
        Task::StandardLogs => standard_logs::converge(run, distribution_id()?.as_deref()).await,
        Task::WafIpSets => {
            let arns = waf::converge_ip_sets(run).await?;
            let _ = handoff.waf_ip_sets.set(arns);
            Ok(())
        }
        Task::WebAcl => {
            let sets = handed(&handoff.waf_ip_sets, "WAF IP sets")?;
            if let Some(arn) = waf::converge_web_acl(run, sets).await? {
                let _ = handoff.web_acl_arn.set(arn);
            }
            Ok(())
        }
        Task::BlockTable => crate::resources::dynamodb::converge_block_table(run).await,
        Task::WaitDeployed => match distribution_id()? {
            Some(id) => cloudfront::wait_deployed(run, &id).await,
            None => Ok(()),
        },
    }
}

/// Removes what an earlier `up` made for a feature the config now turns off (alarms, real-time
/// logging, manuscripts), in the order `down` removes it. Every step looks its resource up by
/// name first, so for a feature that was never on this costs reads only and no mutating call.
///
/// The manuscripts bucket itself stays: it holds the user's files, and the config no longer
/// names it, so neither this nor `down` touches it again; its notification to the queue is
/// removed, the bucket being found through the queue's policy.
async fn remove_features_turned_off(run: &Run<'_>, arns: &Arns) -> Result<(), DeployError> {
    let config = run.config;
    let names = run.names.clone();
    if config.waf.is_none() {
        // The distribution was updated without the web ACL in step 2.
        waf::remove(run).await?;
        crate::resources::dynamodb::remove_block_table(run).await?;
    }
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

async fn remove_function_and_role(run: &Run<'_>, function: Function) -> Result<(), DeployError> {
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

/// One step of [`remove`].
#[derive(Debug, Clone, Copy)]
enum Removal {
    Dashboard,
    Alarms,
    Topic,
    BucketNotification,
    Schedule,
    StreamMapping,
    QueueMapping,
    Function(Function),
    LogGroup(Function),
    FunctionRole(Function),
    ManuscriptsQueue,
    ManuscriptsDeadLetterQueue,
    AnalyserFailureQueue,
    /// The continuous deployment policy, then the staging distribution (`stage`).
    Staging,
    Distribution,
    CachePolicies,
    ViewerFunction,
    LogConfig,
    LogsRole,
    LogStream,
    Bucket,
    MetricsSubscription,
    WebAcl,
    WafIpSets,
    StandardLogs,
    BlockTable,
}

/// What `down` removes and what must go first: a resource goes once nothing that uses it is
/// left (a function after its mappings, a queue after its mapping and the bucket's
/// notification, the log config after the distribution that carries it, the stream after the
/// log config and the mapping that read it).
fn removal_graph(config: &cfrp_config::StackConfig) -> (Graph, Vec<Removal>) {
    let mut graph = Graph::new();
    let mut steps = Vec::new();
    let mut add = |step: Removal, deps: &[StepId]| {
        steps.push(step);
        graph.add(format!("remove {step:?}"), deps)
    };
    add(Removal::Dashboard, &[]);
    let alarms = add(Removal::Alarms, &[]);
    add(Removal::Topic, &[alarms]);
    let notification = config
        .manuscripts
        .as_ref()
        .map(|_| add(Removal::BucketNotification, &[]));
    let schedule = add(Removal::Schedule, &[]);
    let stream_mapping = add(Removal::StreamMapping, &[]);
    let queue_mapping = add(Removal::QueueMapping, &[]);
    let mut functions_gone = Vec::new();
    for function in Function::ALL {
        let before: &[StepId] = match function {
            Function::LogAnalyser => &[stream_mapping],
            Function::AlarmEvaluator => &[schedule],
            Function::Invalidator => &[queue_mapping],
        };
        let gone = add(Removal::Function(function), before);
        functions_gone.push(gone);
        add(Removal::LogGroup(function), &[gone]);
        add(Removal::FunctionRole(function), &[gone]);
    }
    let mut unused_queue = vec![queue_mapping];
    unused_queue.extend(notification);
    let queue = add(Removal::ManuscriptsQueue, &unused_queue);
    add(Removal::ManuscriptsDeadLetterQueue, &[queue]);
    add(Removal::AnalyserFailureQueue, &[stream_mapping]);
    let subscription = add(Removal::MetricsSubscription, &[]);
    let staging = add(Removal::Staging, &[]);
    // The log delivery whose source names the distribution goes first, as the subscription.
    let standard_logs = add(Removal::StandardLogs, &[]);
    let distribution = add(
        Removal::Distribution,
        &[subscription, staging, standard_logs],
    );
    // The web ACL once no distribution carries it, its IP sets once no ACL uses them.
    let web_acl = add(Removal::WebAcl, &[distribution]);
    add(Removal::WafIpSets, &[web_acl]);
    if config.waf.is_some() {
        // After the functions that write it.
        add(Removal::BlockTable, &functions_gone);
    }
    add(Removal::CachePolicies, &[distribution]);
    add(Removal::ViewerFunction, &[distribution]);
    let log_config = add(Removal::LogConfig, &[distribution]);
    add(Removal::LogsRole, &[log_config]);
    add(Removal::LogStream, &[log_config, stream_mapping]);
    if config.manuscripts.is_some() {
        add(
            Removal::Bucket,
            &notification.into_iter().collect::<Vec<_>>(),
        );
    }
    (graph, steps)
}

/// Removes everything the stack created, each step once what depends on its resource is gone,
/// [`CONCURRENCY`] at once. Each step finds its resource again by name, so a `down`
/// interrupted anywhere resumes where it stopped.
pub async fn remove(run: &Run<'_>) -> Result<(Graph, Timing), DeployError> {
    let config = run.config;
    let (graph, steps) = removal_graph(config);
    let arns = Arns::new(config, &run.account, None);
    let outcome = engine::run(&graph, CONCURRENCY, |id| {
        let step = steps[id.0];
        let arns = &arns;
        context::in_step(id.0, async move { removal(run, step, arns).await })
    })
    .await;
    let timing = timing(&graph, &outcome.durations());
    failures(&graph, outcome.into_errors())?;
    Ok((graph, timing))
}

/// Each step's duration and the graph's critical path with them.
fn timing(graph: &Graph, durations: &[std::time::Duration]) -> Timing {
    let (critical, chain) = graph.critical_path(durations);
    Timing {
        step_seconds: durations.iter().copied().map(seconds).collect(),
        critical_path_seconds: seconds(critical),
        critical_path: chain
            .iter()
            .map(|id| graph.nodes()[id.0].name.clone())
            .collect(),
    }
}

/// One step of [`remove`].
async fn removal(run: &Run<'_>, step: Removal, arns: &Arns) -> Result<(), DeployError> {
    let names = &run.names;
    let bucket = run.config.manuscripts.as_ref().map(|m| m.bucket.as_str());
    match step {
        Removal::Dashboard => monitoring::remove_dashboard(run).await,
        Removal::Alarms => monitoring::remove_alarms(run).await,
        Removal::Topic => monitoring::remove_topic(run, &arns.alarm_topic).await,
        Removal::BucketNotification => match bucket {
            Some(bucket) => s3::remove_notification(run, bucket).await,
            None => Ok(()),
        },
        Removal::Schedule => events::remove(run).await,
        Removal::StreamMapping => {
            lambda::remove_mapping(run, Function::LogAnalyser, &arns.stream).await
        }
        Removal::QueueMapping => {
            lambda::remove_mapping(run, Function::Invalidator, &arns.manuscripts_queue).await
        }
        Removal::Function(function) => lambda::remove_function(run, function).await,
        Removal::LogGroup(function) => lambda::remove_log_group(run, function).await,
        Removal::FunctionRole(function) => iam::remove(run, &names.lambda_role(function)).await,
        Removal::ManuscriptsQueue => sqs::remove(run, &names.manuscripts_queue()).await,
        Removal::ManuscriptsDeadLetterQueue => {
            sqs::remove(run, &names.manuscripts_dead_letter_queue()).await
        }
        Removal::AnalyserFailureQueue => sqs::remove(run, &names.analyser_failure_queue()).await,
        Removal::Staging => crate::resources::staging::remove(run).await,
        Removal::Distribution => cloudfront::remove_distribution(run).await,
        Removal::CachePolicies => {
            cloudfront::remove_cache_policies(run, &[]).await?;
            // After the distribution, like the cache policies: CloudFront refuses to delete
            // a policy a behaviour is attached to.
            headers::remove(run, false).await
        }
        Removal::ViewerFunction => cloudfront::remove_function(run).await,
        Removal::LogConfig => cloudfront::remove_log_config(run).await,
        Removal::LogsRole => iam::remove(run, &names.cloudfront_logs_role()).await,
        Removal::LogStream => kinesis::remove(run).await,
        Removal::Bucket => match bucket {
            Some(bucket) => s3::remove_bucket(run, bucket).await,
            None => Ok(()),
        },
        Removal::MetricsSubscription => {
            let found = cloudfront::find_distribution(run).await?;
            metrics_subscription::remove(run, found.as_ref().map(|f| f.id.as_str())).await
        }
        Removal::WebAcl => waf::remove_web_acl(run).await,
        Removal::WafIpSets => waf::remove_ip_sets(run).await,
        Removal::StandardLogs => standard_logs::remove(run).await,
        Removal::BlockTable => crate::resources::dynamodb::remove_block_table(run).await,
    }
}

/// The failed steps of a run as one error: the error itself when one step failed, each
/// step's name and error when several did.
fn failures(graph: &Graph, mut errors: Vec<(StepId, DeployError)>) -> Result<(), DeployError> {
    if errors.is_empty() {
        return Ok(());
    }
    let (first_step, first) = errors.remove(0);
    if errors.is_empty() {
        return Err(first);
    }
    let name = |id: StepId| graph.nodes()[id.0].name.clone();
    Err(DeployError::Steps {
        failed: std::iter::once((name(first_step), first.to_string()))
            .chain(errors.into_iter().map(|(id, e)| (name(id), e.to_string())))
            .collect(),
    })
}
