//! Lambda functions with their invoke permissions and event source mappings: the port, its
//! SDK adapter and the fake account's functions.

use std::collections::BTreeMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, EventSourcePosition, FunctionCode,
    FunctionResponseType, OnFailure, Runtime, ScalingConfig,
};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// A function's configuration as Lambda answers it; values as the API spells them
/// (`provided.al2023`, `arm64`, `Active`), empty or 0 when it answers none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionConfig {
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub architectures: Vec<String>,
    /// Its environment variables.
    pub environment: BTreeMap<String, String>,
    /// Base64 of the deployment package's SHA-256.
    pub code_sha256: String,
    pub last_modified: String,
    /// `Pending`, `Active`, `Inactive` or `Failed`; None when Lambda answers none.
    pub state: Option<String>,
    pub state_reason: String,
    /// `InProgress`, `Successful` or `Failed`; None when Lambda answers none.
    pub last_update_status: Option<String>,
}

/// The settings `update_configuration` sends (and `create` too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionSettings {
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub environment: BTreeMap<String, String>,
}

/// A function as `create` makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFunction {
    pub name: String,
    pub settings: FunctionSettings,
    pub architecture: String,
    pub description: String,
    /// The deployment package.
    pub zip: Vec<u8>,
}

/// One statement of a function's resource policy letting a service invoke it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permission {
    pub statement_id: String,
    /// e.g. `lambda:InvokeFunction`.
    pub action: String,
    /// The service principal, e.g. `events.amazonaws.com`.
    pub principal: String,
    pub source_arn: String,
    pub source_account: String,
}

/// An event source mapping as Lambda answers it; None where it answers none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub uuid: String,
    /// `Creating`, `Enabled`, `Updating`, `Disabled`, ...
    pub state: String,
    pub batch_size: Option<i32>,
    pub batching_window_seconds: Option<i32>,
    pub report_batch_item_failures: bool,
    /// SQS sources: ScalingConfig.MaximumConcurrency.
    pub max_concurrency: Option<i32>,
    /// Stream sources only, as the next four.
    pub parallelization_factor: Option<i32>,
    pub bisect_on_error: Option<bool>,
    pub max_retries: Option<i32>,
    pub max_record_age_seconds: Option<i32>,
    /// The on-failure destination's ARN.
    pub on_failure: Option<String>,
}

/// The settings only a stream source's mapping has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamSettings {
    pub parallelization_factor: i32,
    pub bisect_on_error: bool,
    pub max_retries: i32,
    pub max_record_age_seconds: i32,
    /// Where batches that still fail go.
    pub on_failure: String,
}

/// What `create_mapping` and `update_mapping` send. An update leaves what is None (and a
/// queue's mapping's stream settings) as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingSettings {
    pub batch_size: i32,
    pub batching_window_seconds: i32,
    pub report_batch_item_failures: bool,
    pub enabled: bool,
    pub stream: Option<StreamSettings>,
    pub max_concurrency: Option<i32>,
}

/// A mapping as `create_mapping` makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMapping {
    pub function_name: String,
    pub source_arn: String,
    /// Streams only (`LATEST`, `TRIM_HORIZON`): where reading starts.
    pub starting_position: Option<String>,
    pub settings: MappingSettings,
}

/// Lambda functions by name, with their resource policies (invoke permissions) and the event
/// source mappings that invoke them.
pub trait Functions: Send + Sync {
    /// The function's configuration (GetFunction), or None when no function has that name.
    fn function<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<FunctionConfig>>;
    /// The configuration of a function that exists (GetFunctionConfiguration, read while
    /// waiting for a change to finish): a missing function is an error.
    fn configuration<'a>(&'a self, name: &'a str) -> PortFuture<'a, FunctionConfig>;
    fn create<'a>(
        &'a self,
        function: &'a NewFunction,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()>;
    fn update_configuration<'a>(
        &'a self,
        name: &'a str,
        settings: &'a FunctionSettings,
    ) -> PortFuture<'a, ()>;
    fn update_code<'a>(
        &'a self,
        name: &'a str,
        zip: &'a [u8],
        architecture: &'a str,
    ) -> PortFuture<'a, ()>;
    /// Deletes the function (and its resource policy); one already gone is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
    /// The function's resource policy document, or None when it has none (or no function
    /// has that name).
    fn policy<'a>(&'a self, function: &'a str) -> PortFuture<'a, Option<String>>;
    /// Adds a statement to the function's policy; errors name `function/statement_id`.
    fn add_permission<'a>(
        &'a self,
        function: &'a str,
        permission: &'a Permission,
    ) -> PortFuture<'a, ()>;
    /// Removes a statement from the function's policy; errors name `function/statement_id`.
    fn remove_permission<'a>(
        &'a self,
        function: &'a str,
        statement_id: &'a str,
    ) -> PortFuture<'a, ()>;
    /// The (first) mapping of the function from the source, or None.
    fn mapping<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
    ) -> PortFuture<'a, Option<Mapping>>;
    fn create_mapping<'a>(&'a self, mapping: &'a NewMapping) -> PortFuture<'a, ()>;
    fn update_mapping<'a>(
        &'a self,
        uuid: &'a str,
        settings: &'a MappingSettings,
    ) -> PortFuture<'a, ()>;
    /// Deletes the mapping; one already gone is not an error.
    fn delete_mapping<'a>(&'a self, uuid: &'a str) -> PortFuture<'a, ()>;
}

/// Lambda through `aws-sdk-lambda`.
pub struct SdkFunctions(pub aws_sdk_lambda::Client);

/// A [`FunctionConfig`] from GetFunction's configuration or GetFunctionConfiguration's
/// answer: two SDK types with the same getters.
macro_rules! function_config {
    ($c:expr) => {{
        let c = $c;
        FunctionConfig {
            runtime: c
                .runtime()
                .map(Runtime::as_str)
                .unwrap_or_default()
                .to_string(),
            handler: c.handler().unwrap_or_default().to_string(),
            role: c.role().unwrap_or_default().to_string(),
            memory_mb: c.memory_size().unwrap_or_default(),
            timeout_seconds: c.timeout().unwrap_or_default(),
            architectures: c
                .architectures()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
            environment: c
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            code_sha256: c.code_sha256().unwrap_or_default().to_string(),
            last_modified: c.last_modified().unwrap_or_default().to_string(),
            state: c.state().map(|s| s.as_str().to_string()),
            state_reason: c.state_reason().unwrap_or_default().to_string(),
            last_update_status: c.last_update_status().map(|s| s.as_str().to_string()),
        }
    }};
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    Environment::builder()
        .set_variables(Some(
            variables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .build()
}

fn response_types(settings: &MappingSettings) -> Vec<FunctionResponseType> {
    if settings.report_batch_item_failures {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    }
}

fn on_failure(stream: &StreamSettings) -> DestinationConfig {
    DestinationConfig::builder()
        .on_failure(OnFailure::builder().destination(&stream.on_failure).build())
        .build()
}

impl Functions for SdkFunctions {
    fn function<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<FunctionConfig>> {
        Box::pin(async move {
            match self.0.get_function().function_name(name).send().await {
                Ok(out) => Ok(out.configuration().map(|c| function_config!(c))),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("lambda:GetFunction", name, err)),
            }
        })
    }

    fn configuration<'a>(&'a self, name: &'a str) -> PortFuture<'a, FunctionConfig> {
        Box::pin(async move {
            let out = self
                .0
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("lambda:GetFunctionConfiguration", name, e))?;
            Ok(function_config!(&out))
        })
    }

    fn create<'a>(
        &'a self,
        function: &'a NewFunction,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let settings = &function.settings;
            self.0
                .create_function()
                .function_name(&function.name)
                .runtime(Runtime::from(settings.runtime.as_str()))
                .handler(&settings.handler)
                .role(&settings.role)
                .memory_size(settings.memory_mb)
                .timeout(settings.timeout_seconds)
                .architectures(Architecture::from(function.architecture.as_str()))
                .environment(environment(&settings.environment))
                .description(&function.description)
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(function.zip.clone()))
                        .build(),
                )
                .set_tags(Some(tags.into_iter().collect()))
                .send()
                .await
                .map_err(|e| DeployError::aws("lambda:CreateFunction", &function.name, e))?;
            Ok(())
        })
    }

    fn update_configuration<'a>(
        &'a self,
        name: &'a str,
        settings: &'a FunctionSettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_function_configuration()
                .function_name(name)
                .runtime(Runtime::from(settings.runtime.as_str()))
                .handler(&settings.handler)
                .role(&settings.role)
                .memory_size(settings.memory_mb)
                .timeout(settings.timeout_seconds)
                .environment(environment(&settings.environment))
                .send()
                .await
                .map_err(|e| DeployError::aws("lambda:UpdateFunctionConfiguration", name, e))?;
            Ok(())
        })
    }

    fn update_code<'a>(
        &'a self,
        name: &'a str,
        zip: &'a [u8],
        architecture: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_function_code()
                .function_name(name)
                .zip_file(Blob::new(zip.to_vec()))
                .architectures(Architecture::from(architecture))
                .send()
                .await
                .map_err(|e| DeployError::aws("lambda:UpdateFunctionCode", name, e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_function().function_name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "lambda:DeleteFunction",
                name,
            )
        })
    }

    fn policy<'a>(&'a self, function: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            match self.0.get_policy().function_name(function).send().await {
                Ok(out) => Ok(out.policy().map(str::to_string)),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("lambda:GetPolicy", function, err)),
            }
        })
    }

    fn add_permission<'a>(
        &'a self,
        function: &'a str,
        permission: &'a Permission,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .add_permission()
                .function_name(function)
                .statement_id(&permission.statement_id)
                .action(&permission.action)
                .principal(&permission.principal)
                .source_arn(&permission.source_arn)
                .source_account(&permission.source_account)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws(
                        "lambda:AddPermission",
                        &format!("{function}/{}", permission.statement_id),
                        e,
                    )
                })?;
            Ok(())
        })
    }

    fn remove_permission<'a>(
        &'a self,
        function: &'a str,
        statement_id: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .remove_permission()
                .function_name(function)
                .statement_id(statement_id)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws(
                        "lambda:RemovePermission",
                        &format!("{function}/{statement_id}"),
                        e,
                    )
                })?;
            Ok(())
        })
    }

    fn mapping<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
    ) -> PortFuture<'a, Option<Mapping>> {
        Box::pin(async move {
            let out = match self
                .0
                .list_event_source_mappings()
                .function_name(function)
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
                        function,
                        err,
                    ));
                }
            };
            Ok(out.event_source_mappings().first().map(|m| Mapping {
                uuid: m.uuid().unwrap_or_default().to_string(),
                state: m.state().unwrap_or_default().to_string(),
                batch_size: m.batch_size(),
                batching_window_seconds: m.maximum_batching_window_in_seconds(),
                report_batch_item_failures: m
                    .function_response_types()
                    .contains(&FunctionResponseType::ReportBatchItemFailures),
                max_concurrency: m.scaling_config().and_then(|c| c.maximum_concurrency()),
                parallelization_factor: m.parallelization_factor(),
                bisect_on_error: m.bisect_batch_on_function_error(),
                max_retries: m.maximum_retry_attempts(),
                max_record_age_seconds: m.maximum_record_age_in_seconds(),
                on_failure: m
                    .destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|o| o.destination())
                    .map(str::to_string),
            }))
        })
    }

    fn create_mapping<'a>(&'a self, mapping: &'a NewMapping) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let settings = &mapping.settings;
            let mut request = self
                .0
                .create_event_source_mapping()
                .function_name(&mapping.function_name)
                .event_source_arn(&mapping.source_arn)
                .batch_size(settings.batch_size)
                .maximum_batching_window_in_seconds(settings.batching_window_seconds)
                .set_function_response_types(Some(response_types(settings)))
                .enabled(settings.enabled)
                .set_starting_position(
                    mapping
                        .starting_position
                        .as_deref()
                        .map(EventSourcePosition::from),
                );
            if let Some(stream) = &settings.stream {
                request = request
                    .parallelization_factor(stream.parallelization_factor)
                    .bisect_batch_on_function_error(stream.bisect_on_error)
                    .maximum_retry_attempts(stream.max_retries)
                    .maximum_record_age_in_seconds(stream.max_record_age_seconds)
                    .destination_config(on_failure(stream));
            }
            if let Some(most) = settings.max_concurrency {
                request = request
                    .scaling_config(ScalingConfig::builder().maximum_concurrency(most).build());
            }
            request.send().await.map_err(|e| {
                DeployError::aws("lambda:CreateEventSourceMapping", &mapping.function_name, e)
            })?;
            Ok(())
        })
    }

    fn update_mapping<'a>(
        &'a self,
        uuid: &'a str,
        settings: &'a MappingSettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self
                .0
                .update_event_source_mapping()
                .uuid(uuid)
                .batch_size(settings.batch_size)
                .maximum_batching_window_in_seconds(settings.batching_window_seconds)
                .set_function_response_types(Some(response_types(settings)))
                .enabled(settings.enabled);
            if let Some(stream) = &settings.stream {
                request = request
                    .parallelization_factor(stream.parallelization_factor)
                    .bisect_batch_on_function_error(stream.bisect_on_error)
                    .maximum_retry_attempts(stream.max_retries)
                    .maximum_record_age_in_seconds(stream.max_record_age_seconds)
                    .destination_config(on_failure(stream));
            }
            if let Some(most) = settings.max_concurrency {
                request = request
                    .scaling_config(ScalingConfig::builder().maximum_concurrency(most).build());
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("lambda:UpdateEventSourceMapping", uuid, e))?;
            Ok(())
        })
    }

    fn delete_mapping<'a>(&'a self, uuid: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_event_source_mapping().uuid(uuid).send().await,
                |e| e.is_resource_not_found_exception(),
                "lambda:DeleteEventSourceMapping",
                uuid,
            )
        })
    }
}

// ------------------------------------------------------------------ the fake

/// The fake account's functions and mappings. Time passes in reads: after a change a
/// function (or mapping) stays in its transitional state (`Pending`, LastUpdateStatus
/// `InProgress`; `Creating`, `Updating`) for `settle_reads` more reads of it, and the next
/// read finds it done. Lambda refuses a change while another is in progress, so a step that
/// does not wait between two changes fails here as against AWS; with no extra reads the first
/// poll of a wait finds the function ready (no sleep).
#[derive(Debug, Default)]
pub struct FakeFunctions {
    functions: BTreeMap<String, FakeFunction>,
    /// By UUID.
    mappings: BTreeMap<String, FakeMapping>,
    /// Mappings made so far, for their UUIDs.
    mappings_made: u64,
    /// Changes made so far, for LastModified.
    changes_made: u64,
    /// How many reads a change is still in progress for.
    settle_reads: u32,
    /// How many more CreateFunction calls are refused as while a new role propagates.
    role_refusals: u32,
}

/// A function as the fake holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeFunction {
    /// What reading it answers.
    pub config: FunctionConfig,
    pub description: String,
    pub tags: Vec<(String, String)>,
    /// Its resource policy's statements.
    pub permissions: Vec<Permission>,
    /// Reads the change in progress still lasts.
    pub busy_reads: u32,
}

/// A mapping as the fake holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeMapping {
    pub function_name: String,
    pub source_arn: String,
    pub starting_position: Option<String>,
    /// What reading it answers.
    pub config: Mapping,
    /// Reads the change in progress still lasts.
    pub busy_reads: u32,
}

const PENDING: &str = "Pending";
const ACTIVE: &str = "Active";
const IN_PROGRESS: &str = "InProgress";
const SUCCESSFUL: &str = "Successful";

impl FakeFunction {
    fn busy(&self) -> bool {
        self.config.state.as_deref() == Some(PENDING)
            || self.config.last_update_status.as_deref() == Some(IN_PROGRESS)
    }

    /// One read's worth of time: a change in progress ends after its reads.
    fn tick(&mut self) {
        if !self.busy() {
            return;
        }
        if self.busy_reads > 0 {
            self.busy_reads -= 1;
            return;
        }
        if self.config.state.as_deref() == Some(PENDING) {
            self.config.state = Some(ACTIVE.to_string());
        }
        self.config.last_update_status = Some(SUCCESSFUL.to_string());
    }
}

impl FakeMapping {
    /// One read's worth of time, as [`FakeFunction::tick`].
    fn tick(&mut self) {
        let settled = match self.config.state.as_str() {
            "Creating" | "Updating" | "Enabling" => "Enabled",
            "Disabling" => "Disabled",
            _ => return,
        };
        if self.busy_reads > 0 {
            self.busy_reads -= 1;
        } else {
            self.config.state = settled.to_string();
        }
    }
}

impl FakeAccount {
    pub fn function(&self, name: &str) -> Option<FakeFunction> {
        self.state().functions.functions.get(name).cloned()
    }

    /// Changes a function behind the deployer's back, as someone in the console would.
    pub fn edit_function(&self, name: &str, edit: impl FnOnce(&mut FakeFunction)) {
        if let Some(function) = self.state().functions.functions.get_mut(name) {
            edit(function);
        }
    }

    /// The mapping of `function` from `source_arn`.
    pub fn mapping(&self, function: &str, source_arn: &str) -> Option<FakeMapping> {
        self.state()
            .functions
            .mappings
            .values()
            .find(|m| m.function_name == function && m.source_arn == source_arn)
            .cloned()
    }

    /// Changes a mapping behind the deployer's back, as someone in the console would.
    pub fn edit_mapping(
        &self,
        function: &str,
        source_arn: &str,
        edit: impl FnOnce(&mut FakeMapping),
    ) {
        if let Some(mapping) = self
            .state()
            .functions
            .mappings
            .values_mut()
            .find(|m| m.function_name == function && m.source_arn == source_arn)
        {
            edit(mapping);
        }
    }

    /// From now on, a change to a function or mapping is still in progress for `reads` more
    /// reads of it (each poll of a wait that finds it so sleeps, so keep it to what a test
    /// needs).
    pub fn lambda_settles_after(&self, reads: u32) {
        self.state().functions.settle_reads = reads;
    }

    /// The next `refusals` CreateFunction calls are refused as Lambda does while the role they
    /// name is too new to be assumed (IAM propagation).
    pub fn role_assumable_after(&self, refusals: u32) {
        self.state().functions.role_refusals = refusals;
    }

    fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account
        )
    }

    fn no_such_function(&self, operation: &str, name: &str) -> DeployError {
        refused(
            operation,
            name,
            &format!(
                "ResourceNotFoundException: Function not found: {}",
                self.function_arn(name)
            ),
        )
    }

    /// Lambda's refusal of a change while another is in progress.
    fn change_in_progress(
        &self,
        operation: &str,
        function: &FakeFunction,
        name: &str,
    ) -> DeployError {
        let message = if function.config.state.as_deref() == Some(PENDING) {
            format!(
                "ResourceConflictException: The operation cannot be performed at this time. The function is currently in the following state: {PENDING}"
            )
        } else {
            format!(
                "ResourceConflictException: The operation cannot be performed at this time. An update is in progress for resource: {}",
                self.function_arn(name)
            )
        };
        refused(operation, name, &message)
    }

    /// The policy document GetPolicy answers for `permissions`.
    fn policy_document(&self, name: &str, permissions: &[Permission]) -> String {
        let statements: Vec<serde_json::Value> = permissions
            .iter()
            .map(|p| {
                serde_json::json!({
                    "Sid": p.statement_id,
                    "Effect": "Allow",
                    "Principal": {"Service": p.principal},
                    "Action": p.action,
                    "Resource": self.function_arn(name),
                    "Condition": {
                        "StringEquals": {"AWS:SourceAccount": p.source_account},
                        "ArnLike": {"AWS:SourceArn": p.source_arn},
                    },
                })
            })
            .collect();
        serde_json::json!({
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": statements,
        })
        .to_string()
    }
}

/// Lambda's CodeSha256 of a package.
fn sha256_base64(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

impl Functions for FakeAccount {
    fn function<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<FunctionConfig>> {
        Box::pin(async move {
            self.call("lambda:GetFunction", name)?;
            Ok(self
                .state()
                .functions
                .functions
                .get_mut(name)
                .map(|function| {
                    function.tick();
                    function.config.clone()
                }))
        })
    }

    fn configuration<'a>(&'a self, name: &'a str) -> PortFuture<'a, FunctionConfig> {
        Box::pin(async move {
            self.call("lambda:GetFunctionConfiguration", name)?;
            let mut state = self.state();
            let function =
                state.functions.functions.get_mut(name).ok_or_else(|| {
                    self.no_such_function("lambda:GetFunctionConfiguration", name)
                })?;
            function.tick();
            Ok(function.config.clone())
        })
    }

    fn create<'a>(
        &'a self,
        function: &'a NewFunction,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let name = &function.name;
            self.call("lambda:CreateFunction", name)?;
            let mut state = self.state();
            let lambda = &mut state.functions;
            if lambda.role_refusals > 0 {
                lambda.role_refusals -= 1;
                return Err(refused(
                    "lambda:CreateFunction",
                    name,
                    "InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.",
                ));
            }
            // Function names are unique in a region: Lambda does not answer the existing one.
            if lambda.functions.contains_key(name) {
                return Err(refused(
                    "lambda:CreateFunction",
                    name,
                    &format!("ResourceConflictException: Function already exist: {name}"),
                ));
            }
            lambda.changes_made += 1;
            let settings = &function.settings;
            let created = FakeFunction {
                config: FunctionConfig {
                    runtime: settings.runtime.clone(),
                    handler: settings.handler.clone(),
                    role: settings.role.clone(),
                    memory_mb: settings.memory_mb,
                    timeout_seconds: settings.timeout_seconds,
                    architectures: vec![function.architecture.clone()],
                    environment: settings.environment.clone(),
                    code_sha256: sha256_base64(&function.zip),
                    last_modified: last_modified(lambda.changes_made),
                    state: Some(PENDING.to_string()),
                    state_reason: "The function is being created.".to_string(),
                    last_update_status: None,
                },
                description: function.description.clone(),
                tags,
                permissions: Vec::new(),
                busy_reads: lambda.settle_reads,
            };
            lambda.functions.insert(name.clone(), created);
            Ok(())
        })
    }

    fn update_configuration<'a>(
        &'a self,
        name: &'a str,
        settings: &'a FunctionSettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "lambda:UpdateFunctionConfiguration";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let lambda = &mut state.functions;
            let function = lambda
                .functions
                .get_mut(name)
                .ok_or_else(|| self.no_such_function(OPERATION, name))?;
            if function.busy() {
                return Err(self.change_in_progress(OPERATION, function, name));
            }
            lambda.changes_made += 1;
            let config = &mut function.config;
            config.runtime = settings.runtime.clone();
            config.handler = settings.handler.clone();
            config.role = settings.role.clone();
            config.memory_mb = settings.memory_mb;
            config.timeout_seconds = settings.timeout_seconds;
            config.environment = settings.environment.clone();
            config.last_modified = last_modified(lambda.changes_made);
            config.last_update_status = Some(IN_PROGRESS.to_string());
            function.busy_reads = lambda.settle_reads;
            Ok(())
        })
    }

    fn update_code<'a>(
        &'a self,
        name: &'a str,
        zip: &'a [u8],
        architecture: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "lambda:UpdateFunctionCode";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let lambda = &mut state.functions;
            let function = lambda
                .functions
                .get_mut(name)
                .ok_or_else(|| self.no_such_function(OPERATION, name))?;
            if function.busy() {
                return Err(self.change_in_progress(OPERATION, function, name));
            }
            lambda.changes_made += 1;
            let config = &mut function.config;
            config.code_sha256 = sha256_base64(zip);
            config.architectures = vec![architecture.to_string()];
            config.last_modified = last_modified(lambda.changes_made);
            config.last_update_status = Some(IN_PROGRESS.to_string());
            function.busy_reads = lambda.settle_reads;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("lambda:DeleteFunction", name)?;
            // Its policy goes with it; its event source mappings stay (Lambda deletes those
            // only through DeleteEventSourceMapping).
            self.state().functions.functions.remove(name);
            Ok(())
        })
    }

    fn policy<'a>(&'a self, function: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("lambda:GetPolicy", function)?;
            // Lambda answers ResourceNotFoundException for a function without a policy as
            // for a missing function.
            let permissions = self
                .state()
                .functions
                .functions
                .get(function)
                .map(|f| f.permissions.clone())
                .unwrap_or_default();
            Ok((!permissions.is_empty()).then(|| self.policy_document(function, &permissions)))
        })
    }

    fn add_permission<'a>(
        &'a self,
        function: &'a str,
        permission: &'a Permission,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "lambda:AddPermission";
            let label = format!("{function}/{}", permission.statement_id);
            self.call(OPERATION, &label)?;
            let mut state = self.state();
            let held = state
                .functions
                .functions
                .get_mut(function)
                .ok_or_else(|| self.no_such_function(OPERATION, &label))?;
            if held
                .permissions
                .iter()
                .any(|p| p.statement_id == permission.statement_id)
            {
                return Err(refused(
                    OPERATION,
                    &label,
                    &format!(
                        "ResourceConflictException: The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                        permission.statement_id
                    ),
                ));
            }
            held.permissions.push(permission.clone());
            Ok(())
        })
    }

    fn remove_permission<'a>(
        &'a self,
        function: &'a str,
        statement_id: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "lambda:RemovePermission";
            let label = format!("{function}/{statement_id}");
            self.call(OPERATION, &label)?;
            let mut state = self.state();
            let held = state
                .functions
                .functions
                .get_mut(function)
                .ok_or_else(|| self.no_such_function(OPERATION, &label))?;
            let before = held.permissions.len();
            held.permissions.retain(|p| p.statement_id != statement_id);
            if held.permissions.len() == before {
                return Err(refused(
                    OPERATION,
                    &label,
                    &format!(
                        "ResourceNotFoundException: Statement {statement_id} is not found in resource policy."
                    ),
                ));
            }
            Ok(())
        })
    }

    fn mapping<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
    ) -> PortFuture<'a, Option<Mapping>> {
        Box::pin(async move {
            self.call("lambda:ListEventSourceMappings", function)?;
            let mut state = self.state();
            let lambda = &mut state.functions;
            // Listing by the name of a function that does not exist is ResourceNotFound.
            if !lambda.functions.contains_key(function) {
                return Ok(None);
            }
            Ok(lambda
                .mappings
                .values_mut()
                .find(|m| m.function_name == function && m.source_arn == source_arn)
                .map(|mapping| {
                    mapping.tick();
                    mapping.config.clone()
                }))
        })
    }

    fn create_mapping<'a>(&'a self, mapping: &'a NewMapping) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "lambda:CreateEventSourceMapping";
            let function = &mapping.function_name;
            self.call(OPERATION, function)?;
            let mut state = self.state();
            let lambda = &mut state.functions;
            if !lambda.functions.contains_key(function) {
                return Err(self.no_such_function(OPERATION, function));
            }
            let stream_source = mapping.source_arn.starts_with("arn:aws:kinesis:");
            if stream_source != mapping.starting_position.is_some() {
                return Err(refused(
                    OPERATION,
                    function,
                    "InvalidParameterValueException: StartingPosition is required for stream sources and not allowed for others.",
                ));
            }
            if let Some(existing) = lambda
                .mappings
                .values()
                .find(|m| &m.function_name == function && m.source_arn == mapping.source_arn)
            {
                return Err(refused(
                    OPERATION,
                    function,
                    &format!(
                        "ResourceConflictException: An event source mapping with event source ({}) and function ({function}) already exists. Please update or delete the existing mapping with UUID {}",
                        mapping.source_arn, existing.config.uuid
                    ),
                ));
            }
            lambda.mappings_made += 1;
            let uuid = format!("00000000-0000-4000-8000-{:012x}", lambda.mappings_made);
            let settings = &mapping.settings;
            let stream = settings.stream.as_ref();
            let created = FakeMapping {
                function_name: function.clone(),
                source_arn: mapping.source_arn.clone(),
                starting_position: mapping.starting_position.clone(),
                config: Mapping {
                    uuid: uuid.clone(),
                    state: if settings.enabled {
                        "Creating"
                    } else {
                        "Disabled"
                    }
                    .to_string(),
                    batch_size: Some(settings.batch_size),
                    batching_window_seconds: Some(settings.batching_window_seconds),
                    report_batch_item_failures: settings.report_batch_item_failures,
                    max_concurrency: settings.max_concurrency,
                    parallelization_factor: stream.map(|s| s.parallelization_factor),
                    bisect_on_error: stream.map(|s| s.bisect_on_error),
                    max_retries: stream.map(|s| s.max_retries),
                    max_record_age_seconds: stream.map(|s| s.max_record_age_seconds),
                    on_failure: stream.map(|s| s.on_failure.clone()),
                },
                busy_reads: lambda.settle_reads,
            };
            lambda.mappings.insert(uuid, created);
            Ok(())
        })
    }

    fn update_mapping<'a>(
        &'a self,
        uuid: &'a str,
        settings: &'a MappingSettings,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "lambda:UpdateEventSourceMapping";
            self.call(OPERATION, uuid)?;
            let mut state = self.state();
            let lambda = &mut state.functions;
            let mapping = lambda.mappings.get_mut(uuid).ok_or_else(|| {
                refused(
                    OPERATION,
                    uuid,
                    "ResourceNotFoundException: The resource you requested does not exist.",
                )
            })?;
            if matches!(
                mapping.config.state.as_str(),
                "Creating" | "Updating" | "Enabling" | "Disabling" | "Deleting"
            ) {
                return Err(refused(
                    OPERATION,
                    uuid,
                    &format!(
                        "ResourceInUseException: Cannot update the event source mapping because it is in use (state {}).",
                        mapping.config.state
                    ),
                ));
            }
            let config = &mut mapping.config;
            config.batch_size = Some(settings.batch_size);
            config.batching_window_seconds = Some(settings.batching_window_seconds);
            config.report_batch_item_failures = settings.report_batch_item_failures;
            config.state = if settings.enabled {
                "Updating"
            } else {
                "Disabling"
            }
            .to_string();
            if let Some(most) = settings.max_concurrency {
                config.max_concurrency = Some(most);
            }
            if let Some(stream) = &settings.stream {
                config.parallelization_factor = Some(stream.parallelization_factor);
                config.bisect_on_error = Some(stream.bisect_on_error);
                config.max_retries = Some(stream.max_retries);
                config.max_record_age_seconds = Some(stream.max_record_age_seconds);
                config.on_failure = Some(stream.on_failure.clone());
            }
            mapping.busy_reads = lambda.settle_reads;
            Ok(())
        })
    }

    fn delete_mapping<'a>(&'a self, uuid: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("lambda:DeleteEventSourceMapping", uuid)?;
            // Lambda answers `Deleting` and removes it soon after; the deployer does not read
            // it again in the same run, so the fake lets it go at once.
            self.state().functions.mappings.remove(uuid);
            Ok(())
        })
    }
}

/// A LastModified as Lambda writes it, distinct for each change.
fn last_modified(change: u64) -> String {
    format!(
        "2024-01-01T{:02}:{:02}:{:02}.000+0000",
        change / 3600 % 24,
        change / 60 % 60,
        change % 60
    )
}
