//! The narrow interfaces the resource steps talk to AWS through, in the deployer's own terms,
//! each with two implementations: the AWS SDK one ([`sdk`]) and an in-memory account
//! ([`fake`]) that behaves as the steps rely on, for unit tests that need no emulator.
//!
//! Services move behind a port one at a time; the others are still called through
//! [`Clients`](crate::context::Clients) directly.

pub mod fake;
pub mod sdk;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::DeployError;

/// What a port call returns.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DeployError>> + Send + 'a>>;

/// SQS queues, by name and URL; attributes by their API names (`VisibilityTimeout`, ...).
pub trait Queues: Send + Sync {
    /// The queue's URL, or None when no queue has that name.
    fn url<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>>;
    /// Every attribute of the queue at `url`.
    fn attributes<'a>(&'a self, url: &'a str) -> PortFuture<'a, BTreeMap<String, String>>;
    /// Creates the queue; its URL.
    fn create<'a>(
        &'a self,
        name: &'a str,
        attributes: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String>;
    fn set_attributes<'a>(
        &'a self,
        url: &'a str,
        attributes: BTreeMap<String, String>,
    ) -> PortFuture<'a, ()>;
    /// Deletes the queue; a queue already gone is not an error.
    fn delete<'a>(&'a self, url: &'a str) -> PortFuture<'a, ()>;
}

/// Every port of one run.
#[derive(Clone)]
pub struct Ports {
    pub queues: Arc<dyn Queues>,
}
