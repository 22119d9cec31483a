//! Lambda functions, their log groups, event source mappings and invoke permissions.

use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, EventSourcePosition, FunctionResponseType,
    LastUpdateStatus, OnFailure, Runtime, ScalingConfig, State,
};
use base64::Engine as _;
use cfrp_config::Function;
use sha2::{Digest, Sha256};

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::resources::{found, poll, retry_while_role_propagates};

/// The function's runtime: our own `bootstrap` on Amazon Linux 2023.
pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";

// ------------------------------------------------------------------ log groups

const LOG_GROUP: &str = "log group";

async fn observe_log_group(run: &Run<'_>, name: &str) -> Result<Option<Fields>, DeployError> {
    let out = run
        .aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| DeployError::aws("logs:DescribeLogGroups", name, e))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| {
            fields([(
                "retention_days",
                g.retention_in_days()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "never expire".into()),
            )])
        }))
}

pub async fn converge_log_group(run: &Run<'_>, function: Function) -> Result<(), DeployError> {
    let name = run.names.log_group(function);
    let days = run.config.functions.log_retention_days as i32;
    let desired = fields([("retention_days", days.to_string())]);
    let observed = observe_log_group(run, &name).await?;
    let action = run.decide(LOG_GROUP, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    if action == Action::Create {
        run.mutating("logs:CreateLogGroup", &name)?;
        let created = run
            .aws
            .logs
            .create_log_group()
            .log_group_name(&name)
            .set_tags(Some(run.tags().into_iter().collect()))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(err) => return Err(DeployError::aws("logs:CreateLogGroup", &name, err)),
        }
    }
    run.mutating("logs:PutRetentionPolicy", &name)?;
    run.aws
        .logs
        .put_retention_policy()
        .log_group_name(&name)
        .retention_in_days(days)
        .send()
        .await
        .map_err(|e| DeployError::aws("logs:PutRetentionPolicy", &name, e))?;
    Ok(())
}

pub async fn remove_log_group(run: &Run<'_>, function: Function) -> Result<(), DeployError> {
    let name = run.names.log_group(function);
    if observe_log_group(run, &name).await?.is_none() {
        return Ok(());
    }
    run.note(LOG_GROUP, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("logs:DeleteLogGroup", &name)?;
    found(
        run.aws
            .logs
            .delete_log_group()
            .log_group_name(&name)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "logs:DeleteLogGroup",
        &name,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ functions

const FUNCTION: &str = "Lambda function";

/// What one function should be.
pub struct FunctionSpec {
    pub function: Function,
    pub role_arn: String,
    pub settings_json: String,
    pub zip: Vec<u8>,
}

/// Lambda's CodeSha256: base64 of the zip's SHA-256.
pub fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

fn architecture(run: &Run<'_>) -> Architecture {
    Architecture::from(run.config.functions.architecture.as_str())
}

fn canonical_settings(text: &str) -> String {
    crate::spec::policy::canonical(text)
}

/// Observed settings, and the last-modified time.
pub async fn observe_function(
    run: &Run<'_>,
    name: &str,
) -> Result<Option<(Fields, String)>, DeployError> {
    let Some(out) = found(
        run.aws
            .lambda
            .get_function()
            .function_name(name)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "lambda:GetFunction",
        name,
    )?
    else {
        return Ok(None);
    };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
    let settings = c
        .environment()
        .and_then(|e| e.variables())
        .and_then(|v| v.get(cfrp_config::settings::SETTINGS_VARIABLE))
        .map(|s| canonical_settings(s))
        .unwrap_or_default();
    let architectures: Vec<&str> = c.architectures().iter().map(Architecture::as_str).collect();
    Ok(Some((
        fields([
            (
                "runtime",
                c.runtime()
                    .map(Runtime::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            ("handler", c.handler().unwrap_or_default().to_string()),
            ("role", c.role().unwrap_or_default().to_string()),
            ("memory_mb", c.memory_size().unwrap_or_default().to_string()),
            (
                "timeout_seconds",
                c.timeout().unwrap_or_default().to_string(),
            ),
            ("architecture", architectures.join(",")),
            ("settings", settings),
            (
                "code_sha256",
                c.code_sha256().unwrap_or_default().to_string(),
            ),
        ]),
        c.last_modified().unwrap_or_default().to_string(),
    )))
}

pub async fn converge_function(run: &Run<'_>, spec: &FunctionSpec) -> Result<(), DeployError> {
    let name = run.names.lambda(spec.function);
    let f = run.config.functions.clone();
    let arch = architecture(run);
    let desired = fields([
        ("runtime", RUNTIME.to_string()),
        ("handler", HANDLER.to_string()),
        ("role", spec.role_arn.clone()),
        ("memory_mb", f.memory_mb.to_string()),
        ("timeout_seconds", f.timeout_seconds.to_string()),
        ("architecture", arch.as_str().to_string()),
        ("settings", canonical_settings(&spec.settings_json)),
        ("code_sha256", code_sha256(&spec.zip)),
    ]);
    let observed = observe_function(run, &name).await?;
    let action = run.decide(FUNCTION, &name, &desired, observed.as_ref().map(|(f, _)| f));
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let environment = Environment::builder()
        .variables(
            cfrp_config::settings::SETTINGS_VARIABLE,
            &spec.settings_json,
        )
        .build();
    let changes = match action {
        Action::Create => {
            let client = run.aws.lambda.clone();
            let tags = run.tags();
            retry_while_role_propagates(
                || {
                    let mut request = client
                        .create_function()
                        .function_name(&name)
                        .runtime(Runtime::from(RUNTIME))
                        .handler(HANDLER)
                        .role(&spec.role_arn)
                        .memory_size(f.memory_mb as i32)
                        .timeout(f.timeout_seconds as i32)
                        .architectures(arch.clone())
                        .environment(environment.clone())
                        .description(format!(
                            "cloudfront-reverse-proxy {}",
                            spec.function.short()
                        ))
                        .code(
                            aws_sdk_lambda::types::FunctionCode::builder()
                                .zip_file(Blob::new(spec.zip.clone()))
                                .build(),
                        );
                    for (k, v) in &tags {
                        request = request.tags(k, v);
                    }
                    async move { request.send().await }
                },
                run,
                "lambda:CreateFunction",
                &name,
            )
            .await?;
            wait_ready(run, &name).await?;
            return Ok(());
        }
        Action::Update { changes } => changes,
        _ => return Ok(()),
    };
    let code_changed = changes
        .iter()
        .any(|c| c.field == "code_sha256" || c.field == "architecture");
    let config_changed = changes
        .iter()
        .any(|c| c.field != "code_sha256" && c.field != "architecture");
    if config_changed {
        run.mutating("lambda:UpdateFunctionConfiguration", &name)?;
        run.aws
            .lambda
            .update_function_configuration()
            .function_name(&name)
            .runtime(Runtime::from(RUNTIME))
            .handler(HANDLER)
            .role(&spec.role_arn)
            .memory_size(f.memory_mb as i32)
            .timeout(f.timeout_seconds as i32)
            .environment(environment)
            .send()
            .await
            .map_err(|e| DeployError::aws("lambda:UpdateFunctionConfiguration", &name, e))?;
        wait_ready(run, &name).await?;
    }
    if code_changed {
        run.mutating("lambda:UpdateFunctionCode", &name)?;
        run.aws
            .lambda
            .update_function_code()
            .function_name(&name)
            .zip_file(Blob::new(spec.zip.clone()))
            .architectures(arch)
            .send()
            .await
            .map_err(|e| DeployError::aws("lambda:UpdateFunctionCode", &name, e))?;
        wait_ready(run, &name).await?;
    }
    Ok(())
}

/// Waits until the function is Active and its last update finished (Lambda rejects a second
/// update while one is in progress).
async fn wait_ready(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let what = format!("function {name} to be ready");
    poll(&what, Duration::from_secs(300), || async {
        let out = run
            .aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| DeployError::aws("lambda:GetFunctionConfiguration", name, e))?;
        if out.state() == Some(&State::Failed) {
            return Err(DeployError::state(
                name,
                format!(
                    "function failed: {}",
                    out.state_reason().unwrap_or_default()
                ),
            ));
        }
        let active = out.state().is_none_or(|s| *s == State::Active);
        let updated = out
            .last_update_status()
            .is_none_or(|s| *s != LastUpdateStatus::InProgress);
        Ok(active && updated)
    })
    .await
}

pub async fn remove_function(run: &Run<'_>, function: Function) -> Result<(), DeployError> {
    let name = run.names.lambda(function);
    if observe_function(run, &name).await?.is_none() {
        return Ok(());
    }
    run.note(FUNCTION, &name, Action::Delete);
    // Its resource policy (the invoke permissions `up` added) goes with it; listed so `down`
    // reports what `up` created.
    let policy = found(
        run.aws
            .lambda
            .get_policy()
            .function_name(&name)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "lambda:GetPolicy",
        &name,
    )?;
    let statements: serde_json::Value = policy
        .and_then(|out| out.policy().and_then(|p| serde_json::from_str(p).ok()))
        .unwrap_or_default();
    for statement in statements["Statement"].as_array().into_iter().flatten() {
        if let Some(sid) = statement["Sid"].as_str() {
            run.note(PERMISSION, &format!("{name}/{sid}"), Action::Delete);
        }
    }
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("lambda:DeleteFunction", &name)?;
    found(
        run.aws
            .lambda
            .delete_function()
            .function_name(&name)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "lambda:DeleteFunction",
        &name,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ event source mappings

const MAPPING: &str = "event source mapping";

/// One event source mapping's settings.
/// The settings only a stream's mapping has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMapping {
    pub parallelization_factor: i32,
    pub max_retries: i32,
    pub max_record_age_seconds: i32,
    /// Where batches that still fail go (an SQS queue ARN).
    pub on_failure: String,
}

#[derive(Debug, Clone)]
pub struct MappingSpec {
    pub function: Function,
    pub source_arn: String,
    pub batch_size: i32,
    pub batching_window: i32,
    /// Kinesis only.
    pub stream: Option<StreamMapping>,
    /// SQS only: at most this many concurrent invocations (ScalingConfig.MaximumConcurrency).
    pub max_concurrency: Option<i32>,
}

impl MappingSpec {
    fn fields(&self) -> Fields {
        let mut f = fields([
            ("batch_size", self.batch_size.to_string()),
            ("batching_window_seconds", self.batching_window.to_string()),
            ("report_batch_item_failures", "true".to_string()),
            ("enabled", "true".to_string()),
        ]);
        if let Some(stream) = &self.stream {
            f.insert(
                "parallelization_factor".into(),
                stream.parallelization_factor.to_string(),
            );
            f.insert("bisect_on_error".into(), "true".into());
            f.insert("max_retries".into(), stream.max_retries.to_string());
            f.insert(
                "max_record_age_seconds".into(),
                stream.max_record_age_seconds.to_string(),
            );
            f.insert("on_failure".into(), stream.on_failure.clone());
        }
        if let Some(most) = self.max_concurrency {
            f.insert("max_concurrency".into(), most.to_string());
        }
        f
    }
}

/// The mapping of a function from a source, with its UUID, fields and state.
pub async fn observe_mapping(
    run: &Run<'_>,
    function_name: &str,
    source_arn: &str,
) -> Result<Option<(String, Fields, String)>, DeployError> {
    let out = match run
        .aws
        .lambda
        .list_event_source_mappings()
        .function_name(function_name)
        .event_source_arn(source_arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(DeployError::aws(
                "lambda:ListEventSourceMappings",
                function_name,
                err,
            ));
        }
    };
    let Some(m) = out.event_source_mappings().first() else {
        return Ok(None);
    };
    let state = m.state().unwrap_or_default().to_string();
    let mut f = fields([
        ("batch_size", m.batch_size().unwrap_or_default().to_string()),
        (
            "batching_window_seconds",
            m.maximum_batching_window_in_seconds()
                .unwrap_or_default()
                .to_string(),
        ),
        (
            "report_batch_item_failures",
            m.function_response_types()
                .contains(&FunctionResponseType::ReportBatchItemFailures)
                .to_string(),
        ),
        (
            "enabled",
            (!matches!(state.as_str(), "Disabled" | "Disabling")).to_string(),
        ),
    ]);
    if source_arn.starts_with("arn:aws:sqs:") {
        f.insert(
            "max_concurrency".into(),
            m.scaling_config()
                .and_then(|c| c.maximum_concurrency())
                .map_or("unbounded".to_string(), |n| n.to_string()),
        );
    }
    if source_arn.starts_with("arn:aws:kinesis:") {
        f.insert(
            "parallelization_factor".into(),
            m.parallelization_factor().unwrap_or(1).to_string(),
        );
        f.insert(
            "bisect_on_error".into(),
            m.bisect_batch_on_function_error()
                .unwrap_or(false)
                .to_string(),
        );
        f.insert(
            "max_retries".into(),
            m.maximum_retry_attempts().unwrap_or(-1).to_string(),
        );
        f.insert(
            "max_record_age_seconds".into(),
            m.maximum_record_age_in_seconds().unwrap_or(-1).to_string(),
        );
        f.insert(
            "on_failure".into(),
            m.destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|o| o.destination())
                .unwrap_or_default()
                .to_string(),
        );
    }
    Ok(Some((m.uuid().unwrap_or_default().to_string(), f, state)))
}

pub async fn converge_mapping(run: &Run<'_>, spec: &MappingSpec) -> Result<(), DeployError> {
    let function_name = run.names.lambda(spec.function);
    let label = format!("{} → {function_name}", short_arn(&spec.source_arn));
    let desired = spec.fields();
    let observed = observe_mapping(run, &function_name, &spec.source_arn).await?;
    let action = run.decide(
        MAPPING,
        &label,
        &desired,
        observed.as_ref().map(|(_, f, _)| f),
    );
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let destination = spec.stream.as_ref().map(|stream| {
        DestinationConfig::builder()
            .on_failure(OnFailure::builder().destination(&stream.on_failure).build())
            .build()
    });
    if action == Action::Create {
        let mut request = run
            .aws
            .lambda
            .create_event_source_mapping()
            .function_name(&function_name)
            .event_source_arn(&spec.source_arn)
            .batch_size(spec.batch_size)
            .maximum_batching_window_in_seconds(spec.batching_window)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .enabled(true);
        if let Some(stream) = &spec.stream {
            request = request
                .starting_position(EventSourcePosition::Latest)
                .parallelization_factor(stream.parallelization_factor)
                .bisect_batch_on_function_error(true)
                .maximum_retry_attempts(stream.max_retries)
                .maximum_record_age_in_seconds(stream.max_record_age_seconds)
                .set_destination_config(destination);
        }
        if let Some(most) = spec.max_concurrency {
            request =
                request.scaling_config(ScalingConfig::builder().maximum_concurrency(most).build());
        }
        run.mutating("lambda:CreateEventSourceMapping", &label)?;
        request
            .send()
            .await
            .map_err(|e| DeployError::aws("lambda:CreateEventSourceMapping", &label, e))?;
        return Ok(());
    }
    let uuid = observed.map(|(u, _, _)| u).unwrap_or_default();
    let mut request = run
        .aws
        .lambda
        .update_event_source_mapping()
        .uuid(&uuid)
        .batch_size(spec.batch_size)
        .maximum_batching_window_in_seconds(spec.batching_window)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .enabled(true);
    if let Some(stream) = &spec.stream {
        request = request
            .parallelization_factor(stream.parallelization_factor)
            .bisect_batch_on_function_error(true)
            .maximum_retry_attempts(stream.max_retries)
            .maximum_record_age_in_seconds(stream.max_record_age_seconds)
            .set_destination_config(destination);
    }
    if let Some(most) = spec.max_concurrency {
        request =
            request.scaling_config(ScalingConfig::builder().maximum_concurrency(most).build());
    }
    run.mutating("lambda:UpdateEventSourceMapping", &label)?;
    request
        .send()
        .await
        .map_err(|e| DeployError::aws("lambda:UpdateEventSourceMapping", &label, e))?;
    Ok(())
}

pub async fn remove_mapping(
    run: &Run<'_>,
    function: Function,
    source_arn: &str,
) -> Result<(), DeployError> {
    let function_name = run.names.lambda(function);
    let Some((uuid, _, _)) = observe_mapping(run, &function_name, source_arn).await? else {
        return Ok(());
    };
    let label = format!("{} → {function_name}", short_arn(source_arn));
    run.note(MAPPING, &label, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("lambda:DeleteEventSourceMapping", &label)?;
    found(
        run.aws
            .lambda
            .delete_event_source_mapping()
            .uuid(&uuid)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "lambda:DeleteEventSourceMapping",
        &label,
    )?;
    Ok(())
}

fn short_arn(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

// ------------------------------------------------------------------ invoke permission

const PERMISSION: &str = "invoke permission";

/// Lets one service invoke a function, from one source ARN only.
pub async fn converge_permission(
    run: &Run<'_>,
    function: Function,
    statement_id: &str,
    principal: &str,
    source_arn: &str,
) -> Result<(), DeployError> {
    let function_name = run.names.lambda(function);
    let label = format!("{function_name}/{statement_id}");
    let desired = fields([("principal", principal), ("source_arn", source_arn)]);
    let observed = match run
        .aws
        .lambda
        .get_policy()
        .function_name(&function_name)
        .send()
        .await
    {
        Ok(out) => {
            let policy: serde_json::Value = out
                .policy()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default();
            policy["Statement"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["Sid"] == statement_id))
                .map(|s| {
                    fields([
                        (
                            "principal",
                            s["Principal"]["Service"].as_str().unwrap_or_default(),
                        ),
                        (
                            "source_arn",
                            s["Condition"]["ArnLike"]["AWS:SourceArn"]
                                .as_str()
                                .unwrap_or_default(),
                        ),
                    ])
                })
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(err) => return Err(DeployError::aws("lambda:GetPolicy", &function_name, err)),
    };
    let action = run.decide(PERMISSION, &label, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    if action != Action::Create {
        run.mutating("lambda:RemovePermission", &label)?;
        run.aws
            .lambda
            .remove_permission()
            .function_name(&function_name)
            .statement_id(statement_id)
            .send()
            .await
            .map_err(|e| DeployError::aws("lambda:RemovePermission", &label, e))?;
    }
    run.mutating("lambda:AddPermission", &label)?;
    run.aws
        .lambda
        .add_permission()
        .function_name(&function_name)
        .statement_id(statement_id)
        .action("lambda:InvokeFunction")
        .principal(principal)
        .source_arn(source_arn)
        .source_account(&run.account)
        .send()
        .await
        .map_err(|e| DeployError::aws("lambda:AddPermission", &label, e))?;
    Ok(())
}
