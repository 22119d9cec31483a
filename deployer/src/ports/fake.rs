//! An in-memory AWS account behind the ports, for unit tests of the steps: it keeps what was
//! made, answers reads from it, and behaves as AWS does where the steps depend on it (names
//! are unique, a missing resource is "not found", not an error), and fails a chosen call on
//! request, so a test can stop a step midway and resume it. Every call is logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{PortFuture, Ports, Queues};
use crate::error::DeployError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeQueue {
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    /// Queues by name.
    queues: BTreeMap<String, FakeQueue>,
    /// Operation (e.g. `sqs:CreateQueue`) → how many more calls of it fail.
    failing: BTreeMap<String, u32>,
    /// Every call, as `operation target`.
    calls: Vec<String>,
}

/// One fake account; clones share it.
#[derive(Clone)]
pub struct FakeAccount {
    region: String,
    account: String,
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
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
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

    /// The calls so far that change something (not Get/List/Describe).
    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                let operation = c.split(' ').next().unwrap_or_default();
                let verb = operation.split(':').nth(1).unwrap_or_default();
                !["Get", "List", "Describe"]
                    .iter()
                    .any(|read| verb.starts_with(read))
            })
            .collect()
    }

    pub fn queue(&self, name: &str) -> Option<FakeQueue> {
        self.state().queues.get(name).cloned()
    }

    /// Changes a queue behind the deployer's back, as someone in the console would.
    pub fn edit_queue(&self, name: &str, edit: impl FnOnce(&mut FakeQueue)) {
        if let Some(queue) = self.state().queues.get_mut(name) {
            edit(queue);
        }
    }

    /// Logs the call and fails it if a failure is pending for its operation.
    fn call(&self, operation: &str, target: &str) -> Result<(), DeployError> {
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

    fn queue_url(&self, name: &str) -> String {
        format!(
            "https://sqs.{}.amazonaws.com/{}/{name}",
            self.region, self.account
        )
    }

    fn queue_name(url: &str) -> String {
        url.rsplit('/').next().unwrap_or_default().to_string()
    }
}

impl Queues for FakeAccount {
    fn url<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("sqs:GetQueueUrl", name)?;
            let exists = self.state().queues.contains_key(name);
            Ok(exists.then(|| self.queue_url(name)))
        })
    }

    fn attributes<'a>(&'a self, url: &'a str) -> PortFuture<'a, BTreeMap<String, String>> {
        Box::pin(async move {
            self.call("sqs:GetQueueAttributes", url)?;
            let name = Self::queue_name(url);
            self.state()
                .queues
                .get(&name)
                .map(|q| q.attributes.clone())
                .ok_or_else(|| DeployError::Aws {
                    call: "sqs:GetQueueAttributes".to_string(),
                    resource: url.to_string(),
                    message: "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.".to_string(),
                })
        })
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        attributes: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            self.call("sqs:CreateQueue", name)?;
            let mut state = self.state();
            // SQS: creating an existing queue with other attributes is an error; with the
            // same attributes it answers the existing queue's URL.
            if let Some(existing) = state.queues.get(name)
                && existing.attributes != attributes
            {
                return Err(DeployError::Aws {
                    call: "sqs:CreateQueue".to_string(),
                    resource: name.to_string(),
                    message: "QueueAlreadyExists: A queue already exists with the same name and a different value for attribute(s)".to_string(),
                });
            }
            state
                .queues
                .insert(name.to_string(), FakeQueue { attributes, tags });
            Ok(self.queue_url(name))
        })
    }

    fn set_attributes<'a>(
        &'a self,
        url: &'a str,
        attributes: BTreeMap<String, String>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sqs:SetQueueAttributes", url)?;
            let name = Self::queue_name(url);
            let mut state = self.state();
            let queue = state.queues.get_mut(&name).ok_or_else(|| DeployError::Aws {
                call: "sqs:SetQueueAttributes".to_string(),
                resource: url.to_string(),
                message: "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.".to_string(),
            })?;
            queue.attributes.extend(attributes);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, url: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sqs:DeleteQueue", url)?;
            self.state().queues.remove(&Self::queue_name(url));
            Ok(())
        })
    }
}
