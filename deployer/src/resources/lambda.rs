//! Lambda functions, their log groups, event source mappings and invoke permissions.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use cfrp_config::Function;
use sha2::{Digest, Sha256};

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::ports::lambda::{
    FunctionSettings, MappingSettings, NewFunction, NewMapping, Permission, StreamSettings,
};
use crate::resources::{poll, retry_while_role_propagates};

/// The function's runtime: our own `bootstrap` on Amazon Linux 2023.
pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";

// ------------------------------------------------------------------ log groups

const LOG_GROUP: &str = "log group";

async fn observe_log_group(run: &Run<'_>, name: &str) -> Result<Option<Fields>, DeployError> {
    Ok(run.ports.log_groups.log_group(name).await?.map(|g| {
        fields([(
            "retention_days",
            g.retention_days
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
        // A group Lambda made meanwhile (the function's first log line) is as good.
        run.ports.log_groups.create(&name, run.tags()).await?;
    }
    run.mutating("logs:PutRetentionPolicy", &name)?;
    run.ports.log_groups.put_retention(&name, days).await
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
    run.ports.log_groups.delete(&name).await
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

/// The configured architecture as Lambda spells it (`arm64`, `x86_64`).
fn architecture(run: &Run<'_>) -> String {
    run.config.functions.architecture.as_str().to_string()
}

fn canonical_settings(text: &str) -> String {
    crate::spec::policy::canonical(text)
}

/// A function as read: the settings compared, and when it last changed.
#[derive(Debug, Clone, Default)]
pub struct ObservedFunction {
    pub fields: Fields,
    pub last_modified: String,
}

/// A mapping as read: its id, the settings compared, and its state (`Enabled`, `Creating`, …).
#[derive(Debug, Clone, Default)]
pub struct ObservedMapping {
    pub uuid: String,
    pub fields: Fields,
    pub state: String,
}

/// The function's settings and last-modified time; None when it does not exist.
pub async fn observe_function(
    run: &Run<'_>,
    name: &str,
) -> Result<Option<ObservedFunction>, DeployError> {
    let Some(c) = run.ports.functions.function(name).await? else {
        return Ok(None);
    };
    let settings = c
        .environment
        .get(cfrp_config::settings::SETTINGS_VARIABLE)
        .map(|s| canonical_settings(s))
        .unwrap_or_default();
    Ok(Some(ObservedFunction {
        fields: fields([
            ("runtime", c.runtime),
            ("handler", c.handler),
            ("role", c.role),
            ("memory_mb", c.memory_mb.to_string()),
            ("timeout_seconds", c.timeout_seconds.to_string()),
            ("architecture", c.architectures.join(",")),
            ("settings", settings),
            ("code_sha256", c.code_sha256),
        ]),
        last_modified: c.last_modified,
    }))
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
        ("architecture", arch.clone()),
        ("settings", canonical_settings(&spec.settings_json)),
        ("code_sha256", code_sha256(&spec.zip)),
    ]);
    let observed = observe_function(run, &name).await?;
    let action = run.decide(
        FUNCTION,
        &name,
        &desired,
        observed.as_ref().map(|o| &o.fields),
    );
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let functions = &run.ports.functions;
    let settings = FunctionSettings {
        runtime: RUNTIME.to_string(),
        handler: HANDLER.to_string(),
        role: spec.role_arn.clone(),
        memory_mb: f.memory_mb as i32,
        timeout_seconds: f.timeout_seconds as i32,
        environment: BTreeMap::from([(
            cfrp_config::settings::SETTINGS_VARIABLE.to_string(),
            spec.settings_json.clone(),
        )]),
    };
    let changes = match action {
        Action::Create => {
            let new = NewFunction {
                name: name.clone(),
                settings,
                architecture: arch,
                description: format!("cloudfront-reverse-proxy {}", spec.function.short()),
                zip: spec.zip.clone(),
            };
            let tags = run.tags();
            retry_while_role_propagates(
                || functions.create(&new, tags.clone()),
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
        functions.update_configuration(&name, &settings).await?;
        wait_ready(run, &name).await?;
    }
    if code_changed {
        run.mutating("lambda:UpdateFunctionCode", &name)?;
        functions.update_code(&name, &spec.zip, &arch).await?;
        wait_ready(run, &name).await?;
    }
    Ok(())
}

/// Waits until the function is Active and its last update finished (Lambda rejects a second
/// update while one is in progress).
pub(crate) async fn wait_ready(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let what = format!("function {name} to be ready");
    poll(&what, Duration::from_secs(300), || async {
        let c = run.ports.functions.configuration(name).await?;
        if c.state.as_deref() == Some("Failed") {
            return Err(DeployError::state(
                name,
                format!("function failed: {}", c.state_reason),
            ));
        }
        let active = c.state.is_none_or(|s| s == "Active");
        let updated = c.last_update_status.is_none_or(|s| s != "InProgress");
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
    let policy = run.ports.functions.policy(&name).await?;
    let statements: serde_json::Value = policy
        .and_then(|p| serde_json::from_str(&p).ok())
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
    run.ports.functions.delete(&name).await
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

    /// What a create or an update sends: every managed setting, so an update fixes any that
    /// drifted.
    fn settings(&self) -> MappingSettings {
        MappingSettings {
            batch_size: self.batch_size,
            batching_window_seconds: self.batching_window,
            report_batch_item_failures: true,
            enabled: true,
            stream: self.stream.as_ref().map(|stream| StreamSettings {
                parallelization_factor: stream.parallelization_factor,
                bisect_on_error: true,
                max_retries: stream.max_retries,
                max_record_age_seconds: stream.max_record_age_seconds,
                on_failure: stream.on_failure.clone(),
            }),
            max_concurrency: self.max_concurrency,
        }
    }
}

/// The mapping of a function from a source; None when there is none.
pub async fn observe_mapping(
    run: &Run<'_>,
    function_name: &str,
    source_arn: &str,
) -> Result<Option<ObservedMapping>, DeployError> {
    let Some(m) = run
        .ports
        .functions
        .mapping(function_name, source_arn)
        .await?
    else {
        return Ok(None);
    };
    let mut f = fields([
        ("batch_size", m.batch_size.unwrap_or_default().to_string()),
        (
            "batching_window_seconds",
            m.batching_window_seconds.unwrap_or_default().to_string(),
        ),
        (
            "report_batch_item_failures",
            m.report_batch_item_failures.to_string(),
        ),
        (
            "enabled",
            (!matches!(m.state.as_str(), "Disabled" | "Disabling")).to_string(),
        ),
    ]);
    if source_arn.starts_with("arn:aws:sqs:") {
        f.insert(
            "max_concurrency".into(),
            m.max_concurrency
                .map_or("unbounded".to_string(), |n| n.to_string()),
        );
    }
    if source_arn.starts_with("arn:aws:kinesis:") {
        f.insert(
            "parallelization_factor".into(),
            m.parallelization_factor.unwrap_or(1).to_string(),
        );
        f.insert(
            "bisect_on_error".into(),
            m.bisect_on_error.unwrap_or(false).to_string(),
        );
        f.insert(
            "max_retries".into(),
            m.max_retries.unwrap_or(-1).to_string(),
        );
        f.insert(
            "max_record_age_seconds".into(),
            m.max_record_age_seconds.unwrap_or(-1).to_string(),
        );
        f.insert("on_failure".into(), m.on_failure.unwrap_or_default());
    }
    Ok(Some(ObservedMapping {
        uuid: m.uuid,
        fields: f,
        state: m.state,
    }))
}

/// An error of a mapping call, naming the mapping as the plan does (`source → function`)
/// rather than by the UUID or function name the port knows it by.
fn about_mapping(label: &str) -> impl FnOnce(DeployError) -> DeployError + '_ {
    move |error| match error {
        DeployError::Aws { call, message, .. } => DeployError::Aws {
            call,
            resource: label.to_string(),
            message,
        },
        other => other,
    }
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
        observed.as_ref().map(|o| &o.fields),
    );
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let functions = &run.ports.functions;
    if action == Action::Create {
        let new = NewMapping {
            function_name: function_name.clone(),
            source_arn: spec.source_arn.clone(),
            // A stream's mapping starts at the newest records: what `up` sets up is for the
            // traffic from now on.
            starting_position: spec.stream.as_ref().map(|_| "LATEST".to_string()),
            settings: spec.settings(),
        };
        run.mutating("lambda:CreateEventSourceMapping", &label)?;
        return functions
            .create_mapping(&new)
            .await
            .map_err(about_mapping(&label));
    }
    let uuid = observed.map(|m| m.uuid).unwrap_or_default();
    run.mutating("lambda:UpdateEventSourceMapping", &label)?;
    functions
        .update_mapping(&uuid, &spec.settings())
        .await
        .map_err(about_mapping(&label))
}

pub async fn remove_mapping(
    run: &Run<'_>,
    function: Function,
    source_arn: &str,
) -> Result<(), DeployError> {
    let function_name = run.names.lambda(function);
    let Some(ObservedMapping { uuid, .. }) =
        observe_mapping(run, &function_name, source_arn).await?
    else {
        return Ok(());
    };
    let label = format!("{} → {function_name}", short_arn(source_arn));
    run.note(MAPPING, &label, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("lambda:DeleteEventSourceMapping", &label)?;
    run.ports
        .functions
        .delete_mapping(&uuid)
        .await
        .map_err(about_mapping(&label))
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
    let functions = &run.ports.functions;
    let observed = functions.policy(&function_name).await?.and_then(|text| {
        let policy: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
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
    });
    let action = run.decide(PERMISSION, &label, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    // A statement cannot be changed in place: the old one goes, the new one is added.
    if action != Action::Create {
        run.mutating("lambda:RemovePermission", &label)?;
        functions
            .remove_permission(&function_name, statement_id)
            .await?;
    }
    run.mutating("lambda:AddPermission", &label)?;
    functions
        .add_permission(
            &function_name,
            &Permission {
                statement_id: statement_id.to_string(),
                action: "lambda:InvokeFunction".to_string(),
                principal: principal.to_string(),
                source_arn: source_arn.to_string(),
                source_account: run.account.clone(),
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";
    const EVALUATOR: &str = "cfrp-shop-alarm-evaluator";
    const INVALIDATOR: &str = "cfrp-shop-invalidator";
    const ANALYSER: &str = "cfrp-shop-log-analyser";
    const LOG_GROUP_NAME: &str = "/aws/lambda/cfrp-shop-alarm-evaluator";
    const QUEUE: &str = "arn:aws:sqs:eu-west-1:123456789012:cfrp-shop-manuscripts";
    const STREAM: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/cfrp-shop-realtime-logs";
    const FAILURES: &str = "arn:aws:sqs:eu-west-1:123456789012:cfrp-shop-analyser-failures";
    const QUEUE_LABEL: &str = "cfrp-shop-manuscripts → cfrp-shop-invalidator";
    const RULE: &str = "arn:aws:events:eu-west-1:123456789012:rule/cfrp-shop-alarms";
    const OTHER_RULE: &str = "arn:aws:events:eu-west-1:123456789012:rule/other";
    const PERMISSION_LABEL: &str = "cfrp-shop-alarm-evaluator/cfrp-schedule";

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "eu-west-1", "app.example.com")
    }

    fn account() -> FakeAccount {
        FakeAccount::new("eu-west-1", ACCOUNT)
    }

    /// What one run decided and the mutating calls it made.
    struct Outcome {
        result: Result<(), DeployError>,
        changes: Vec<Change>,
        mutations: Vec<String>,
    }

    impl Outcome {
        fn action(&self) -> Action {
            self.changes
                .first()
                .map_or(Action::Unchanged, |c| c.action.clone())
        }

        fn error(&self) -> String {
            self.result
                .as_ref()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        }
    }

    /// The run of one step in `mode` against `account`.
    async fn step(
        account: &FakeAccount,
        mode: Mode,
        work: impl AsyncFnOnce(&Run<'_>) -> Result<(), DeployError>,
    ) -> Outcome {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = work(&run).await;
        Outcome {
            result,
            changes: run.changes(),
            mutations: run.mutations(),
        }
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

    fn calls_of(account: &FakeAccount, call: &str) -> usize {
        account.calls().iter().filter(|c| *c == call).count()
    }

    // -------------------------------------------------------------- log groups

    async fn log_group(account: &FakeAccount, mode: Mode) -> Outcome {
        step(account, mode, async |run| {
            converge_log_group(run, Function::AlarmEvaluator).await
        })
        .await
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_log_group_and_up_creates_it_tagged_with_its_retention()
    {
        let account = account();
        let plan = log_group(&account, Mode::Plan).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(plan.changes[0].name, LOG_GROUP_NAME);
        assert_eq!(plan.action(), Action::Create);
        assert!(plan.mutations.is_empty() && account.mutating_calls().is_empty());
        assert!(account.log_group(LOG_GROUP_NAME).is_none());

        let up = log_group(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![
                format!("logs:CreateLogGroup {LOG_GROUP_NAME}"),
                format!("logs:PutRetentionPolicy {LOG_GROUP_NAME}"),
            ]
        );
        let group = account.log_group(LOG_GROUP_NAME).unwrap_or_default();
        assert_eq!(group.retention_days, Some(14));
        assert!(
            group
                .tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        );
    }

    #[tokio::test]
    async fn a_converged_log_group_is_unchanged_and_costs_no_call() {
        let account = account();
        let _ = log_group(&account, Mode::Apply).await;
        let before = account.mutating_calls().len();
        let again = log_group(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Unchanged);
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_retention_changed_by_hand_is_one_field_and_one_put_retention_call() {
        let account = account();
        let _ = log_group(&account, Mode::Apply).await;
        account.edit_log_group(LOG_GROUP_NAME, |g| g.retention_days = Some(30));
        let plan = log_group(&account, Mode::Plan).await;
        assert_eq!(plan.action(), update("retention_days", "30", "14"));
        assert_eq!(
            account.log_group(LOG_GROUP_NAME).map(|g| g.retention_days),
            Some(Some(30)),
            "a plan changes nothing"
        );
        let up = log_group(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("logs:PutRetentionPolicy {LOG_GROUP_NAME}")]
        );
        assert_eq!(
            account.log_group(LOG_GROUP_NAME).map(|g| g.retention_days),
            Some(Some(14))
        );
    }

    #[tokio::test]
    async fn a_log_group_lambda_made_itself_gets_the_retention_without_being_created_again() {
        let account = account();
        account.add_log_group(LOG_GROUP_NAME);
        let up = log_group(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(up.action(), update("retention_days", "never expire", "14"));
        assert_eq!(
            up.mutations,
            vec![format!("logs:PutRetentionPolicy {LOG_GROUP_NAME}")]
        );
        assert_eq!(
            account.log_group(LOG_GROUP_NAME).map(|g| g.retention_days),
            Some(Some(14))
        );
    }

    #[tokio::test]
    async fn remove_log_group_deletes_once_and_then_finds_nothing_to_do() {
        let account = account();
        let _ = log_group(&account, Mode::Apply).await;
        let remove = async |run: &Run<'_>| remove_log_group(run, Function::AlarmEvaluator).await;
        let plan = step(&account, Mode::Plan, remove).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(plan.action(), Action::Delete);
        assert!(plan.mutations.is_empty());
        assert!(
            account.log_group(LOG_GROUP_NAME).is_some(),
            "a plan deletes nothing"
        );

        let down = step(&account, Mode::Apply, remove).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(
            down.mutations,
            vec![format!("logs:DeleteLogGroup {LOG_GROUP_NAME}")]
        );
        assert!(account.log_group(LOG_GROUP_NAME).is_none());

        let again = step(&account, Mode::Apply, remove).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.is_empty() && again.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_retention_that_fails_after_the_create_is_set_by_the_next_run() {
        let account = account();
        account.fail("logs:PutRetentionPolicy", 1);
        let up = log_group(&account, Mode::Apply).await;
        assert!(
            up.error().contains(&format!(
                "logs:PutRetentionPolicy for {LOG_GROUP_NAME} failed"
            )),
            "{}",
            up.error()
        );
        assert_eq!(
            account.log_group(LOG_GROUP_NAME).map(|g| g.retention_days),
            Some(None),
            "created, its retention not set"
        );
        let again = log_group(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(
            again.action(),
            update("retention_days", "never expire", "14")
        );
        assert_eq!(
            again.mutations,
            vec![format!("logs:PutRetentionPolicy {LOG_GROUP_NAME}")]
        );
        assert_eq!(
            account.log_group(LOG_GROUP_NAME).map(|g| g.retention_days),
            Some(Some(14))
        );
    }

    // -------------------------------------------------------------- functions

    fn role_arn(function: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:role/{function}-role")
    }

    fn spec(function: Function, zip: &[u8]) -> FunctionSpec {
        FunctionSpec {
            function,
            role_arn: role_arn(&config().names().lambda(function)),
            settings_json: r#"{"stack": "shop", "namespace": "CFRP/shop"}"#.to_string(),
            zip: zip.to_vec(),
        }
    }

    async fn function(account: &FakeAccount, mode: Mode, spec: FunctionSpec) -> Outcome {
        step(account, mode, async |run| {
            converge_function(run, &spec).await
        })
        .await
    }

    async fn evaluator(account: &FakeAccount, mode: Mode) -> Outcome {
        function(account, mode, spec(Function::AlarmEvaluator, b"package v1")).await
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_function_and_up_creates_it_ready_and_tagged() {
        let account = account();
        let plan = evaluator(&account, Mode::Plan).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(plan.changes[0].name, EVALUATOR);
        assert_eq!(plan.action(), Action::Create);
        assert!(plan.mutations.is_empty() && account.mutating_calls().is_empty());
        assert!(account.function(EVALUATOR).is_none());

        let up = evaluator(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("lambda:CreateFunction {EVALUATOR}")]
        );
        let created = account.function(EVALUATOR).unwrap_or_default();
        let c = &created.config;
        assert_eq!(c.runtime, RUNTIME);
        assert_eq!(c.handler, HANDLER);
        assert_eq!(c.role, role_arn(EVALUATOR));
        assert_eq!((c.memory_mb, c.timeout_seconds), (256, 60));
        assert_eq!(c.architectures, vec!["arm64".to_string()]);
        assert_eq!(c.code_sha256, code_sha256(b"package v1"));
        assert_eq!(
            c.environment.get(cfrp_config::settings::SETTINGS_VARIABLE),
            Some(&r#"{"stack": "shop", "namespace": "CFRP/shop"}"#.to_string())
        );
        assert_eq!(
            created.description,
            "cloudfront-reverse-proxy alarm-evaluator"
        );
        assert!(
            created
                .tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        );
        // `up` returned once the function was ready: it read it until Active.
        assert_eq!(c.state.as_deref(), Some("Active"));
        assert_eq!(
            calls_of(
                &account,
                &format!("lambda:GetFunctionConfiguration {EVALUATOR}")
            ),
            1
        );
    }

    #[tokio::test]
    async fn up_waits_while_the_new_function_is_pending() {
        let account = account();
        // Pending at the wait's first read (one 200 ms pause of the poll), Active at the next.
        account.lambda_settles_after(1);
        let up = evaluator(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            calls_of(
                &account,
                &format!("lambda:GetFunctionConfiguration {EVALUATOR}")
            ),
            2
        );
        assert_eq!(
            account.function(EVALUATOR).and_then(|f| f.config.state),
            Some("Active".to_string())
        );
    }

    #[tokio::test]
    async fn a_converged_function_is_unchanged_and_costs_no_call() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let before = account.mutating_calls().len();
        let again = evaluator(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Unchanged);
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn memory_changed_by_hand_is_one_field_and_only_a_configuration_update() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        account.edit_function(EVALUATOR, |f| f.config.memory_mb = 512);
        let plan = evaluator(&account, Mode::Plan).await;
        assert_eq!(plan.action(), update("memory_mb", "512", "256"));
        assert!(plan.mutations.is_empty());
        let up = evaluator(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("lambda:UpdateFunctionConfiguration {EVALUATOR}")]
        );
        let updated = account.function(EVALUATOR).unwrap_or_default().config;
        assert_eq!(updated.memory_mb, 256);
        assert_eq!(updated.last_update_status.as_deref(), Some("Successful"));
    }

    #[tokio::test]
    async fn a_new_package_is_only_a_code_update() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let up = function(
            &account,
            Mode::Apply,
            spec(Function::AlarmEvaluator, b"package v2"),
        )
        .await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.action(),
            update(
                "code_sha256",
                &code_sha256(b"package v1"),
                &code_sha256(b"package v2")
            )
        );
        assert_eq!(
            up.mutations,
            vec![format!("lambda:UpdateFunctionCode {EVALUATOR}")]
        );
        assert_eq!(
            account.function(EVALUATOR).map(|f| f.config.code_sha256),
            Some(code_sha256(b"package v2"))
        );
    }

    #[tokio::test]
    async fn a_configuration_and_code_change_waits_for_the_first_update_before_the_second() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        account.edit_function(EVALUATOR, |f| f.config.timeout_seconds = 3);
        let calls_before = account.calls().len();
        let up = function(
            &account,
            Mode::Apply,
            spec(Function::AlarmEvaluator, b"package v2"),
        )
        .await;
        assert!(up.result.is_ok(), "{}", up.error());
        // Lambda refuses an update while another is in progress (the fake too): the two
        // updates only pass with a read of the finished first one between them.
        assert_eq!(
            account.calls()[calls_before..],
            [
                format!("lambda:GetFunction {EVALUATOR}"),
                format!("lambda:UpdateFunctionConfiguration {EVALUATOR}"),
                format!("lambda:GetFunctionConfiguration {EVALUATOR}"),
                format!("lambda:UpdateFunctionCode {EVALUATOR}"),
                format!("lambda:GetFunctionConfiguration {EVALUATOR}"),
            ]
        );
        let c = account.function(EVALUATOR).unwrap_or_default().config;
        assert_eq!(
            (c.timeout_seconds, c.code_sha256),
            (60, code_sha256(b"package v2"))
        );
    }

    #[tokio::test]
    async fn a_function_that_fails_after_an_update_is_an_error_with_lambdas_reason() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        account.edit_function(EVALUATOR, |f| {
            f.config.memory_mb = 512;
            f.config.state = Some("Failed".into());
            f.config.state_reason = "The role is not valid.".into();
        });
        let up = evaluator(&account, Mode::Apply).await;
        assert!(
            up.error().contains(&format!(
                "{EVALUATOR}: function failed: The role is not valid."
            )),
            "{}",
            up.error()
        );
    }

    #[tokio::test]
    async fn a_code_update_that_fails_after_the_configuration_one_is_all_the_next_run_sends() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        account.edit_function(EVALUATOR, |f| f.config.memory_mb = 128);
        account.fail("lambda:UpdateFunctionCode", 1);
        let v2 = || spec(Function::AlarmEvaluator, b"package v2");
        let up = function(&account, Mode::Apply, v2()).await;
        assert!(
            up.error()
                .contains(&format!("lambda:UpdateFunctionCode for {EVALUATOR} failed")),
            "{}",
            up.error()
        );
        let half = account.function(EVALUATOR).unwrap_or_default().config;
        assert_eq!(half.memory_mb, 256);
        assert_eq!(half.code_sha256, code_sha256(b"package v1"));

        let again = function(&account, Mode::Apply, v2()).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(
            again.action(),
            update(
                "code_sha256",
                &code_sha256(b"package v1"),
                &code_sha256(b"package v2")
            )
        );
        assert_eq!(
            again.mutations,
            vec![format!("lambda:UpdateFunctionCode {EVALUATOR}")]
        );
        assert_eq!(
            account.function(EVALUATOR).map(|f| f.config.code_sha256),
            Some(code_sha256(b"package v2"))
        );
    }

    #[tokio::test]
    async fn a_create_that_fails_is_not_retried_and_the_next_run_creates_it() {
        let account = account();
        account.fail("lambda:CreateFunction", 1);
        let up = evaluator(&account, Mode::Apply).await;
        assert!(
            up.error()
                .contains(&format!("lambda:CreateFunction for {EVALUATOR} failed")),
            "{}",
            up.error()
        );
        assert_eq!(up.mutations.len(), 1, "an internal error is not retried");
        assert!(account.function(EVALUATOR).is_none());
        let again = evaluator(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Create);
        assert!(account.function(EVALUATOR).is_some());
    }

    #[tokio::test]
    async fn a_create_refused_while_the_new_role_propagates_is_retried_until_lambda_takes_it() {
        let account = account();
        account.role_assumable_after(2);
        let up = evaluator(&account, Mode::Apply).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("lambda:CreateFunction {EVALUATOR}"); 3],
            "each attempt is a mutating call"
        );
        assert!(account.function(EVALUATOR).is_some());
    }

    #[tokio::test]
    async fn a_role_that_never_becomes_assumable_fails_the_create_after_eight_attempts() {
        let account = account();
        account.role_assumable_after(100);
        let up = evaluator(&account, Mode::Apply).await;
        assert!(
            up.error().contains(
                "InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda."
            ),
            "{}",
            up.error()
        );
        assert_eq!(up.mutations.len(), 8);
        assert!(account.function(EVALUATOR).is_none());
    }

    async fn remove_evaluator(account: &FakeAccount, mode: Mode) -> Outcome {
        step(account, mode, async |run| {
            remove_function(run, Function::AlarmEvaluator).await
        })
        .await
    }

    #[tokio::test]
    async fn remove_function_lists_its_permissions_deletes_once_and_then_finds_nothing_to_do() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let _ = schedule_permission(&account, Mode::Apply, RULE).await;
        let plan = remove_evaluator(&account, Mode::Plan).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        let listed: Vec<(&str, &Action)> = plan
            .changes
            .iter()
            .map(|c| (c.name.as_str(), &c.action))
            .collect();
        assert_eq!(
            listed,
            vec![
                (EVALUATOR, &Action::Delete),
                (PERMISSION_LABEL, &Action::Delete)
            ]
        );
        assert!(plan.mutations.is_empty());
        assert!(
            account.function(EVALUATOR).is_some(),
            "a plan deletes nothing"
        );

        let down = remove_evaluator(&account, Mode::Apply).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(
            down.mutations,
            vec![format!("lambda:DeleteFunction {EVALUATOR}")]
        );
        assert!(account.function(EVALUATOR).is_none());

        let again = remove_evaluator(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.is_empty() && again.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_delete_that_fails_leaves_the_function_for_the_next_run() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        account.fail("lambda:DeleteFunction", 1);
        let down = remove_evaluator(&account, Mode::Apply).await;
        assert!(
            down.error()
                .contains(&format!("lambda:DeleteFunction for {EVALUATOR} failed")),
            "{}",
            down.error()
        );
        assert!(account.function(EVALUATOR).is_some());
        let again = remove_evaluator(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(account.function(EVALUATOR).is_none());
    }

    #[tokio::test]
    async fn status_reads_the_function_and_its_last_modified_time() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        let observed = observe_function(&run, EVALUATOR).await.ok().flatten();
        let ObservedFunction {
            fields,
            last_modified: modified,
        } = observed.unwrap_or_default();
        assert_eq!(fields["code_sha256"], code_sha256(b"package v1"));
        assert_eq!(
            modified,
            account
                .function(EVALUATOR)
                .map(|f| f.config.last_modified)
                .unwrap_or_default()
        );
        assert!(!modified.is_empty());
        assert!(
            observe_function(&run, "cfrp-shop-other")
                .await
                .ok()
                .flatten()
                .is_none()
        );
    }

    // -------------------------------------------------------------- event source mappings

    fn queue_mapping(batch_size: i32) -> MappingSpec {
        MappingSpec {
            function: Function::Invalidator,
            source_arn: QUEUE.into(),
            batch_size,
            batching_window: 30,
            stream: None,
            max_concurrency: Some(2),
        }
    }

    fn stream_mapping() -> MappingSpec {
        MappingSpec {
            function: Function::LogAnalyser,
            source_arn: STREAM.into(),
            batch_size: 1000,
            batching_window: 5,
            stream: Some(StreamMapping {
                parallelization_factor: 2,
                max_retries: 3,
                max_record_age_seconds: 3600,
                on_failure: FAILURES.into(),
            }),
            max_concurrency: None,
        }
    }

    async fn mapping(account: &FakeAccount, mode: Mode, spec: MappingSpec) -> Outcome {
        step(account, mode, async |run| {
            converge_mapping(run, &spec).await
        })
        .await
    }

    /// An account where the invalidator and the log analyser exist.
    async fn with_functions() -> FakeAccount {
        let account = account();
        for f in [Function::Invalidator, Function::LogAnalyser] {
            let made = function(&account, Mode::Apply, spec(f, b"package v1")).await;
            assert!(made.result.is_ok(), "{}", made.error());
        }
        account
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_no_mapping_and_up_creates_the_queues() {
        let account = with_functions().await;
        let before = account.mutating_calls().len();
        let plan = mapping(&account, Mode::Plan, queue_mapping(10)).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(plan.changes[0].name, QUEUE_LABEL);
        assert_eq!(plan.action(), Action::Create);
        assert!(plan.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
        assert!(account.mapping(INVALIDATOR, QUEUE).is_none());

        let up = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("lambda:CreateEventSourceMapping {QUEUE_LABEL}")]
        );
        let made = account.mapping(INVALIDATOR, QUEUE).unwrap_or_default();
        assert_eq!(made.starting_position, None);
        let m = &made.config;
        assert_eq!(m.state, "Creating");
        assert_eq!(
            (m.batch_size, m.batching_window_seconds),
            (Some(10), Some(30))
        );
        assert!(m.report_batch_item_failures);
        assert_eq!(m.max_concurrency, Some(2));
        assert_eq!(m.parallelization_factor, None);
    }

    #[tokio::test]
    async fn up_creates_the_streams_mapping_from_the_newest_records_with_its_failure_queue() {
        let account = with_functions().await;
        let up = mapping(&account, Mode::Apply, stream_mapping()).await;
        assert!(up.result.is_ok(), "{}", up.error());
        let made = account.mapping(ANALYSER, STREAM).unwrap_or_default();
        assert_eq!(made.starting_position.as_deref(), Some("LATEST"));
        let m = &made.config;
        assert_eq!(m.parallelization_factor, Some(2));
        assert_eq!(m.bisect_on_error, Some(true));
        assert_eq!(
            (m.max_retries, m.max_record_age_seconds),
            (Some(3), Some(3600))
        );
        assert_eq!(m.on_failure.as_deref(), Some(FAILURES));
        assert_eq!(m.max_concurrency, None);

        let again = mapping(&account, Mode::Apply, stream_mapping()).await;
        assert_eq!(again.action(), Action::Unchanged);
        assert!(again.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_converged_mapping_is_unchanged_and_costs_no_call() {
        let account = with_functions().await;
        let _ = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        let before = account.mutating_calls().len();
        let again = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Unchanged);
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
        // The read that found it unchanged also found it done creating.
        assert_eq!(
            account.mapping(INVALIDATOR, QUEUE).map(|m| m.config.state),
            Some("Enabled".to_string())
        );
    }

    #[tokio::test]
    async fn a_batch_size_changed_by_hand_is_one_field_and_one_update_call() {
        let account = with_functions().await;
        let _ = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        account.edit_mapping(INVALIDATOR, QUEUE, |m| m.config.batch_size = Some(1));
        let plan = mapping(&account, Mode::Plan, queue_mapping(10)).await;
        assert_eq!(plan.action(), update("batch_size", "1", "10"));
        assert!(plan.mutations.is_empty());
        assert_eq!(
            account
                .mapping(INVALIDATOR, QUEUE)
                .and_then(|m| m.config.batch_size),
            Some(1),
            "a plan changes nothing"
        );
        let up = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("lambda:UpdateEventSourceMapping {QUEUE_LABEL}")]
        );
        let m = account
            .mapping(INVALIDATOR, QUEUE)
            .unwrap_or_default()
            .config;
        assert_eq!(m.batch_size, Some(10));
        assert_eq!(m.state, "Updating");
    }

    #[tokio::test]
    async fn a_mapping_disabled_by_hand_is_enabled_again() {
        let account = with_functions().await;
        let _ = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        account.edit_mapping(INVALIDATOR, QUEUE, |m| m.config.state = "Disabled".into());
        let up = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(up.action(), update("enabled", "false", "true"));
        assert_eq!(
            up.mutations,
            vec![format!("lambda:UpdateEventSourceMapping {QUEUE_LABEL}")]
        );
        let again = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert_eq!(again.action(), Action::Unchanged);
        assert_eq!(
            account.mapping(INVALIDATOR, QUEUE).map(|m| m.config.state),
            Some("Enabled".to_string())
        );
    }

    async fn remove_queue_mapping(account: &FakeAccount, mode: Mode) -> Outcome {
        step(account, mode, async |run| {
            remove_mapping(run, Function::Invalidator, QUEUE).await
        })
        .await
    }

    #[tokio::test]
    async fn remove_mapping_deletes_once_and_then_finds_nothing_to_do() {
        let account = with_functions().await;
        let _ = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        let plan = remove_queue_mapping(&account, Mode::Plan).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(plan.changes[0].name, QUEUE_LABEL);
        assert_eq!(plan.action(), Action::Delete);
        assert!(plan.mutations.is_empty());
        assert!(
            account.mapping(INVALIDATOR, QUEUE).is_some(),
            "a plan deletes nothing"
        );

        let down = remove_queue_mapping(&account, Mode::Apply).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(
            down.mutations,
            vec![format!("lambda:DeleteEventSourceMapping {QUEUE_LABEL}")]
        );
        assert!(account.mapping(INVALIDATOR, QUEUE).is_none());
        assert!(account.function(INVALIDATOR).is_some(), "only the mapping");

        let again = remove_queue_mapping(&account, Mode::Apply).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.is_empty() && again.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_mapping_create_that_fails_names_the_mapping_and_the_next_run_creates_it() {
        let account = with_functions().await;
        account.fail("lambda:CreateEventSourceMapping", 1);
        let up = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert!(
            up.error().contains(&format!(
                "lambda:CreateEventSourceMapping for {QUEUE_LABEL} failed"
            )),
            "{}",
            up.error()
        );
        assert!(account.mapping(INVALIDATOR, QUEUE).is_none());
        let again = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Create);
        assert!(account.mapping(INVALIDATOR, QUEUE).is_some());
    }

    #[tokio::test]
    async fn status_reads_the_mappings_state() {
        let account = with_functions().await;
        account.lambda_settles_after(1);
        let _ = mapping(&account, Mode::Apply, queue_mapping(10)).await;
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        let state = |observed: Option<ObservedMapping>| observed.map(|m| m.state);
        let first = observe_mapping(&run, INVALIDATOR, QUEUE)
            .await
            .ok()
            .flatten();
        assert_eq!(state(first).as_deref(), Some("Creating"));
        let next = observe_mapping(&run, INVALIDATOR, QUEUE)
            .await
            .ok()
            .flatten();
        assert_eq!(state(next).as_deref(), Some("Enabled"));
        let elsewhere = observe_mapping(&run, EVALUATOR, QUEUE).await.ok().flatten();
        assert!(
            elsewhere.is_none(),
            "no mapping of a function that does not exist"
        );
    }

    // -------------------------------------------------------------- invoke permission

    async fn schedule_permission(account: &FakeAccount, mode: Mode, rule: &str) -> Outcome {
        step(account, mode, async |run| {
            converge_permission(
                run,
                Function::AlarmEvaluator,
                "cfrp-schedule",
                "events.amazonaws.com",
                rule,
            )
            .await
        })
        .await
    }

    #[tokio::test]
    async fn from_nothing_a_plan_adds_no_permission_and_up_adds_it_for_the_source_only() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let plan = schedule_permission(&account, Mode::Plan, RULE).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(plan.changes[0].name, PERMISSION_LABEL);
        assert_eq!(plan.action(), Action::Create);
        assert!(plan.mutations.is_empty());
        assert_eq!(
            account.function(EVALUATOR).map(|f| f.permissions.len()),
            Some(0)
        );

        let up = schedule_permission(&account, Mode::Apply, RULE).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("lambda:AddPermission {PERMISSION_LABEL}")]
        );
        let permissions = account.function(EVALUATOR).unwrap_or_default().permissions;
        assert_eq!(
            permissions,
            vec![Permission {
                statement_id: "cfrp-schedule".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "events.amazonaws.com".into(),
                source_arn: RULE.into(),
                source_account: ACCOUNT.into(),
            }]
        );
    }

    #[tokio::test]
    async fn a_converged_permission_is_unchanged_and_costs_no_call() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let _ = schedule_permission(&account, Mode::Apply, RULE).await;
        let before = account.mutating_calls().len();
        let again = schedule_permission(&account, Mode::Apply, RULE).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Unchanged);
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_permission_for_another_source_is_replaced_by_one_for_ours() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let _ = schedule_permission(&account, Mode::Apply, RULE).await;
        account.edit_function(EVALUATOR, |f| {
            f.permissions[0].source_arn = OTHER_RULE.into();
        });
        let plan = schedule_permission(&account, Mode::Plan, RULE).await;
        assert_eq!(plan.action(), update("source_arn", OTHER_RULE, RULE));
        assert!(plan.mutations.is_empty());
        let up = schedule_permission(&account, Mode::Apply, RULE).await;
        assert!(up.result.is_ok(), "{}", up.error());
        // A statement is not changed in place: removed, then added again.
        assert_eq!(
            up.mutations,
            vec![
                format!("lambda:RemovePermission {PERMISSION_LABEL}"),
                format!("lambda:AddPermission {PERMISSION_LABEL}"),
            ]
        );
        let permissions = account.function(EVALUATOR).unwrap_or_default().permissions;
        assert_eq!(permissions.len(), 1);
        assert_eq!(permissions[0].source_arn, RULE);
    }

    #[tokio::test]
    async fn a_permission_whose_add_fails_after_the_remove_is_added_by_the_next_run() {
        let account = account();
        let _ = evaluator(&account, Mode::Apply).await;
        let _ = schedule_permission(&account, Mode::Apply, RULE).await;
        account.edit_function(EVALUATOR, |f| {
            f.permissions[0].source_arn = OTHER_RULE.into();
        });
        account.fail("lambda:AddPermission", 1);
        let up = schedule_permission(&account, Mode::Apply, RULE).await;
        assert!(
            up.error().contains(&format!(
                "lambda:AddPermission for {PERMISSION_LABEL} failed"
            )),
            "{}",
            up.error()
        );
        assert_eq!(
            account.function(EVALUATOR).map(|f| f.permissions.len()),
            Some(0),
            "removed, not added again"
        );
        let again = schedule_permission(&account, Mode::Apply, RULE).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(again.action(), Action::Create);
        assert_eq!(
            again.mutations,
            vec![format!("lambda:AddPermission {PERMISSION_LABEL}")]
        );
        let permissions = account.function(EVALUATOR).unwrap_or_default().permissions;
        assert_eq!(permissions.len(), 1);
        assert_eq!(permissions[0].source_arn, RULE);
    }
}
