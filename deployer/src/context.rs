//! One run of `up`, `plan`, `down` or `status`: the config, the AWS clients, where we are
//! (account, region) and what the run decided and did.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use cfrp_config::StackConfig;
use cfrp_config::naming::Names;

use std::collections::{BTreeMap, HashMap};

use crate::diff::{Action, Change, Fields, Warning, compare, digest, same_decision};
use crate::error::DeployError;
use crate::ports::Ports;
use crate::session::Target;

/// CloudFront, and the metrics CloudFront publishes, live in us-east-1.
pub const CLOUDFRONT_REGION: &str = "us-east-1";

/// SDK clients, built once from one shared config (credential chain, profile,
/// `AWS_ENDPOINT_URL`, retries with backoff for throttling).
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub iam: aws_sdk_iam::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch Logs in us-east-1, where CloudFront's log delivery sources must be.
    pub logs_global: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sts: aws_sdk_sts::Client,
    /// WAFv2 in us-east-1, where scope CLOUDFRONT lives, whatever the stack's region.
    pub wafv2: aws_sdk_wafv2::Client,
    /// The Resource Groups Tagging API in the stack's region.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// DynamoDB in the stack's region (the `[waf.auto_block]` block table).
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl Clients {
    /// Loads the AWS configuration for `region` aimed at `target`: the standard chain
    /// (profile from `--profile` or `AWS_PROFILE`), or a local emulator.
    pub async fn load(region: &str, target: &Target) -> Clients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            // Standard retry mode backs off on throttling; 6 attempts ride out a burst.
            .retry_config(RetryConfig::standard().with_max_attempts(6))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        let local = matches!(target, Target::Local { .. });
        match target {
            // A local emulator: its endpoint and dummy credentials, never the user's profile.
            Target::Local { endpoint } => {
                loader = loader.endpoint_url(endpoint).credentials_provider(
                    aws_sdk_sts::config::Credentials::new(
                        "test",
                        "test",
                        None,
                        None,
                        "cfrp-local-endpoint",
                    ),
                );
            }
            Target::Account {
                profile: Some(profile),
            } => loader = loader.profile_name(profile),
            Target::Account { profile: None } => {}
        }
        let shared = loader.load().await;
        let path_style = local || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        Clients::from_config(&shared, path_style)
    }

    /// Clients from `shared`; `path_style` S3 addressing for endpoints other than AWS's.
    pub fn from_config(shared: &SdkConfig, path_style: bool) -> Clients {
        let global = shared
            .to_builder()
            .region(Region::new(CLOUDFRONT_REGION))
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(shared)
            // Path-style works with every endpoint, including a local emulator.
            .force_path_style(path_style)
            .build();
        Clients {
            cloudfront: aws_sdk_cloudfront::Client::new(&global),
            iam: aws_sdk_iam::Client::new(&global),
            kinesis: aws_sdk_kinesis::Client::new(shared),
            lambda: aws_sdk_lambda::Client::new(shared),
            sqs: aws_sdk_sqs::Client::new(shared),
            s3: aws_sdk_s3::Client::from_conf(s3),
            events: aws_sdk_eventbridge::Client::new(shared),
            logs: aws_sdk_cloudwatchlogs::Client::new(shared),
            logs_global: aws_sdk_cloudwatchlogs::Client::new(&global),
            cloudwatch: aws_sdk_cloudwatch::Client::new(shared),
            sns: aws_sdk_sns::Client::new(shared),
            ssm: aws_sdk_ssm::Client::new(shared),
            sts: aws_sdk_sts::Client::new(shared),
            wafv2: aws_sdk_wafv2::Client::new(&global),
            tagging: aws_sdk_resourcegroupstagging::Client::new(shared),
            dynamodb: aws_sdk_dynamodb::Client::new(shared),
        }
    }
}

/// Whether a run may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Apply,
}

tokio::task_local! {
    /// The plan step the current task works for: changes are listed in step order, whatever
    /// order concurrent steps record them in.
    static STEP: usize;
}

/// Runs `work` as plan step `step` (see [`Run::changes`]).
pub async fn in_step<F: std::future::Future>(step: usize, work: F) -> F::Output {
    STEP.scope(step, work).await
}

/// The state of one run. Shared by the plan's concurrent steps, so what it records sits
/// behind locks (held only to push or copy, never across an await).
pub struct Run<'a> {
    pub config: &'a StackConfig,
    pub names: Names,
    pub aws: Clients,
    /// The services that sit behind a port (see [`crate::ports`]).
    pub ports: Ports,
    pub account: String,
    pub region: String,
    pub mode: Mode,
    /// Every decision, with the step that made it and its order within the run.
    changes: Mutex<Vec<(usize, Change)>>,
    /// Every mutating AWS call made, as `service:Operation name`.
    mutations: Mutex<Vec<String>>,
    /// What the run found for the user to act on, with the step that found it.
    warnings: Mutex<Vec<(usize, Warning)>>,
    pub progress: crate::progress::Progress,
    /// The decisions of the plan being applied, by (kind, name): set by [`Run::approve`].
    approved: Option<HashMap<(String, String), Action>>,
    /// Steps whose decisions differ from the approved plan, and what moved: such a step makes
    /// no mutating call.
    moved: Mutex<BTreeMap<usize, String>>,
}

impl<'a> Run<'a> {
    pub async fn new(
        config: &'a StackConfig,
        aws: Clients,
        mode: Mode,
        progress: crate::progress::Progress,
    ) -> Result<Run<'a>, DeployError> {
        let identity = aws
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| DeployError::aws("sts:GetCallerIdentity", "credentials", e))?;
        let account = identity.account().unwrap_or_default().to_string();
        let ports = Ports::sdk(&aws);
        Ok(Run {
            config,
            names: config.names(),
            aws,
            ports,
            account,
            region: config.region.clone(),
            mode,
            changes: Mutex::new(Vec::new()),
            mutations: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
            progress,
            approved: None,
            moved: Mutex::new(BTreeMap::new()),
        })
    }

    /// A run against `ports` alone (an in-memory account), for unit tests: no credentials are
    /// looked up and the SDK clients point nowhere, so a step that is not behind a port yet
    /// fails instead of reaching a network.
    #[cfg(test)]
    pub fn offline(config: &'a StackConfig, ports: Ports, account: &str, mode: Mode) -> Run<'a> {
        let shared = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        Run {
            config,
            names: config.names(),
            aws: Clients::from_config(&shared, true),
            ports,
            account: account.to_string(),
            region: config.region.clone(),
            mode,
            changes: Mutex::new(Vec::new()),
            mutations: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
            progress: crate::progress::Progress::silent(),
            approved: None,
            moved: Mutex::new(BTreeMap::new()),
        }
    }

    /// Applies only what `changes` (a plan someone saw) decided: a step that now decides
    /// otherwise for any of its resources is refused before its first mutating call.
    pub fn approve(&mut self, changes: &[Change]) {
        self.approved = Some(
            changes
                .iter()
                .map(|c| ((c.kind.clone(), c.name.clone()), c.action.clone()))
                .collect(),
        );
    }

    pub fn applying(&self) -> bool {
        self.mode == Mode::Apply
    }

    /// Records the decision for one resource and returns it.
    pub fn decide(
        &self,
        kind: &'static str,
        name: &str,
        desired: &Fields,
        observed: Option<&Fields>,
    ) -> Action {
        let action = compare(desired, observed);
        self.record(kind, name, action.clone(), observed.map(digest));
        action
    }

    pub fn note(&self, kind: &'static str, name: &str, action: Action) {
        self.record(kind, name, action, None);
    }

    fn record(&self, kind: &str, name: &str, action: Action, observed_sha256: Option<String>) {
        if self.mode == Mode::Apply && action.is_change() {
            self.progress
                .step(&format!("{} {kind} {name}", action.label()));
        }
        let step = current_step();
        if let Some(approved) = &self.approved {
            let planned = approved.get(&(kind.to_string(), name.to_string()));
            if !planned.is_some_and(|p| same_decision(p, &action)) {
                let showed = planned.map_or("nothing", |p| p.label());
                lock(&self.moved).entry(step).or_insert(format!(
                    "{kind} {name}: the plan showed {showed}, it now needs {}",
                    describe(&action)
                ));
            }
        }
        lock(&self.changes).push((
            step,
            Change {
                kind: kind.to_string(),
                name: name.to_string(),
                action,
                step,
                observed_sha256,
            },
        ));
    }

    /// The decisions so far in plan-step order (within a step, in the order it made them).
    pub fn changes(&self) -> Vec<Change> {
        let mut recorded = lock(&self.changes).clone();
        // A stable sort keeps each step's own order.
        recorded.sort_by_key(|(step, _)| *step);
        recorded.into_iter().map(|(_, change)| change).collect()
    }

    /// Records a warning about one resource (part of the plan, shown in text and JSON).
    /// Each is kept once, however many steps find it (several steps look the distribution up).
    pub fn warn(&self, kind: &str, name: &str, message: impl Into<String>) {
        let warning = Warning {
            kind: kind.to_string(),
            name: name.to_string(),
            message: message.into(),
        };
        let mut warnings = lock(&self.warnings);
        if !warnings.iter().any(|(_, known)| *known == warning) {
            warnings.push((current_step(), warning));
        }
    }

    /// The warnings so far in plan-step order.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut recorded = lock(&self.warnings).clone();
        recorded.sort_by_key(|(step, _)| *step);
        recorded.into_iter().map(|(_, warning)| warning).collect()
    }

    /// Counts a mutating call; called just before it is sent. Refused when the step decided
    /// otherwise than the plan being applied.
    pub fn mutating(&self, call: &str, name: &str) -> Result<(), DeployError> {
        // `plan` changes nothing, whatever a resource module forgets: enforced here, once.
        if self.mode == Mode::Plan {
            return Err(DeployError::state(
                name,
                format!(
                    "{call} was about to be sent while planning (a bug in the deployer); nothing was changed"
                ),
            ));
        }
        if let Some(moved) = lock(&self.moved).get(&current_step()) {
            return Err(DeployError::PlanMoved {
                what: moved.clone(),
            });
        }
        lock(&self.mutations).push(format!("{call} {name}"));
        Ok(())
    }

    /// The mutating calls made so far, in the order they were sent.
    pub fn mutations(&self) -> Vec<String> {
        lock(&self.mutations).clone()
    }

    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }

    pub fn global_arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}::{}:{resource}", self.account)
    }

    pub fn tags(&self) -> Vec<(String, String)> {
        self.names.tags()
    }
}

/// A lock whose holder panicked still holds valid data here (pushes and copies only).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn current_step() -> usize {
    STEP.try_with(|s| *s).unwrap_or(0)
}

/// An action with its changed fields, for a message.
fn describe(action: &Action) -> String {
    match action {
        Action::Update { changes } => format!(
            "update ({})",
            changes
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.label().to_string(),
    }
}
