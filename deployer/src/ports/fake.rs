//! An in-memory AWS account behind the ports, for unit tests of the steps: it keeps what was
//! made, answers reads from it, and behaves as AWS does where the steps depend on it (names
//! are unique, a missing resource is "not found", not an error), and fails a chosen call on
//! request, so a test can stop a step midway and resume it. Every call is logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Ports;
use crate::error::DeployError;

/// What the account holds, one field per service (each service's module reads and writes
/// its own), and the call log.
#[derive(Default)]
pub(super) struct State {
    pub(super) queues: super::sqs::FakeQueues,
    pub(super) buckets: super::s3::FakeBuckets,
    pub(super) roles: super::iam::FakeRoles,
    pub(super) rules: super::events::FakeRules,
    pub(super) streams: super::kinesis::FakeStreams,
    pub(super) cloudwatch: super::cloudwatch::FakeCloudWatch,
    pub(super) topics: super::sns::FakeTopics,
    pub(super) functions: super::lambda::FakeFunctions,
    pub(super) log_groups: super::logs::FakeLogGroups,
    pub(super) cloudfront: super::cloudfront::FakeCloudFront,
    pub(super) parameters: super::ssm::FakeParameters,
    pub(super) parameter_races: super::ssm::FakeParameterRaces,
    pub(super) subscriptions: super::metrics_subscription::FakeSubscriptions,
    pub(super) wafv2: super::wafv2::FakeWafv2,
    pub(super) deliveries: super::deliveries::FakeDeliveries,
    pub(super) tables: super::dynamodb::FakeTables,
    /// Operation (e.g. `sqs:CreateQueue`) → how many more calls of it fail.
    failing: BTreeMap<String, u32>,
    /// Every call, as `operation target`.
    calls: Vec<String>,
}

/// One fake account; clones share it.
#[derive(Clone)]
pub struct FakeAccount {
    pub(super) region: String,
    pub(super) account: String,
    state: Arc<Mutex<State>>,
}

impl FakeAccount {
    pub fn new(region: &str, account: &str) -> FakeAccount {
        FakeAccount {
            region: region.to_string(),
            account: account.to_string(),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Ports that all talk to this account.
    pub fn ports(&self) -> Ports {
        Ports {
            queues: Arc::new(self.clone()),
            buckets: Arc::new(self.clone()),
            roles: Arc::new(self.clone()),
            rules: Arc::new(self.clone()),
            streams: Arc::new(self.clone()),
            cloudwatch: Arc::new(self.clone()),
            topics: Arc::new(self.clone()),
            functions: Arc::new(self.clone()),
            log_groups: Arc::new(self.clone()),
            cloudfront: Arc::new(self.clone()),
            parameters: Arc::new(self.clone()),
            metrics_subscriptions: Arc::new(self.clone()),
            web_acls: Arc::new(self.clone()),
            tagged: Arc::new(self.clone()),
            deliveries: Arc::new(self.clone()),
            tables: Arc::new(self.clone()),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next `times` calls of `operation` fail as AWS would with an internal error.
    pub fn fail(&self, operation: &str, times: u32) {
        self.state().failing.insert(operation.to_string(), times);
    }

    /// Every call so far, as `operation target`, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// The calls so far that change something (not Get/List/Describe/Head).
    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                let operation = c.split(' ').next().unwrap_or_default();
                let verb = operation.split(':').nth(1).unwrap_or_default();
                !["Get", "List", "Describe", "Head"]
                    .iter()
                    .any(|read| verb.starts_with(read))
            })
            .collect()
    }

    /// Logs the call and fails it if a failure is pending for its operation.
    pub(super) fn call(&self, operation: &str, target: &str) -> Result<(), DeployError> {
        let mut state = self.state();
        state.calls.push(format!("{operation} {target}"));
        if let Some(left) = state.failing.get_mut(operation)
            && *left > 0
        {
            *left -= 1;
            return Err(DeployError::Aws {
                call: operation.to_string(),
                resource: target.to_string(),
                message: "InternalFailure: injected by the fake account".to_string(),
            });
        }
        Ok(())
    }
}

/// The error AWS answers `operation` on `target` with: `message` as `Code: text`.
pub(super) fn refused(operation: &str, target: &str, message: &str) -> DeployError {
    DeployError::Aws {
        call: operation.to_string(),
        resource: target.to_string(),
        message: message.to_string(),
    }
}
