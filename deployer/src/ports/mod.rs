//! The narrow interfaces the resource steps talk to AWS through, in the deployer's own terms.
//! Each service's module holds its port (a trait), the AWS SDK adapter, and the part of the
//! in-memory account ([`fake`]) that stands for it in unit tests that need no emulator.
//!
//! Services move behind a port one at a time; the others are still called through
//! [`Clients`](crate::context::Clients) directly.

pub mod cloudfront;
pub mod events;
pub mod fake;
pub mod iam;
pub mod s3;
pub mod sqs;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::context::Clients;
use crate::error::DeployError;

/// What a port call returns.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DeployError>> + Send + 'a>>;

/// Every port of one run.
#[derive(Clone)]
pub struct Ports {
    pub queues: Arc<dyn sqs::Queues>,
    pub buckets: Arc<dyn s3::Buckets>,
    pub roles: Arc<dyn iam::Roles>,
    pub rules: Arc<dyn events::Rules>,
    pub cloudfront: Arc<dyn cloudfront::CloudFront>,
}

impl Ports {
    /// The ports over the AWS SDK clients.
    pub fn sdk(aws: &Clients) -> Ports {
        Ports {
            queues: Arc::new(sqs::SdkQueues(aws.sqs.clone())),
            buckets: Arc::new(s3::SdkBuckets(aws.s3.clone())),
            roles: Arc::new(iam::SdkRoles(aws.iam.clone())),
            rules: Arc::new(events::SdkRules(aws.events.clone())),
            cloudfront: Arc::new(cloudfront::SdkCloudFront(aws.cloudfront.clone())),
        }
    }
}
