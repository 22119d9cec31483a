//! The narrow interfaces the resource steps talk to AWS through, in the deployer's own terms.
//! Each service's module holds its port (a trait), the AWS SDK adapter, and the part of the
//! in-memory account ([`fake`]) that stands for it in unit tests that need no emulator.
//!
//! Every service the stack's steps converge sits behind one; `status` and the commands that
//! only read (monitor, price) still use [`Clients`](crate::context::Clients) directly.

pub mod cloudfront;
pub mod cloudwatch;
pub mod deliveries;
pub mod dynamodb;
pub mod events;
pub mod fake;
pub mod iam;
pub mod kinesis;
pub mod lambda;
pub mod logs;
pub mod metrics_subscription;
pub mod s3;
pub mod sns;
pub mod sqs;
pub mod ssm;
pub mod tagging;
pub mod wafv2;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::context::Clients;
use crate::error::DeployError;

/// A delete's result where "no such resource" means done: AWS answers a second delete with
/// not found, and a run that stopped after deleting must be able to run again.
pub(crate) fn gone_is_fine<T, E>(
    result: Result<T, aws_sdk_sts::error::SdkError<E>>,
    missing: impl FnOnce(&E) -> bool,
    call: &str,
    name: &str,
) -> Result<(), DeployError>
where
    E: std::error::Error + aws_sdk_sts::error::ProvideErrorMetadata + 'static,
{
    crate::resources::found(result, missing, call, name).map(drop)
}

/// What a port call returns.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DeployError>> + Send + 'a>>;

/// Every port of one run.
#[derive(Clone)]
pub struct Ports {
    pub queues: Arc<dyn sqs::Queues>,
    pub buckets: Arc<dyn s3::Buckets>,
    pub roles: Arc<dyn iam::Roles>,
    pub rules: Arc<dyn events::Rules>,
    pub streams: Arc<dyn kinesis::Streams>,
    pub cloudwatch: Arc<dyn cloudwatch::CloudWatch>,
    pub topics: Arc<dyn sns::Topics>,
    pub functions: Arc<dyn lambda::Functions>,
    pub log_groups: Arc<dyn logs::LogGroups>,
    pub cloudfront: Arc<dyn cloudfront::CloudFront>,
    /// SSM Parameter Store in the stack's region: the lease and the pending secret.
    pub parameters: Arc<dyn ssm::Parameters>,
    /// CloudFront monitoring subscriptions (the distribution's additional metrics).
    pub metrics_subscriptions: Arc<dyn metrics_subscription::MetricsSubscriptions>,
    /// WAFv2 (scope CLOUDFRONT, us-east-1): the web ACL of `[waf]` and its IP sets.
    pub web_acls: Arc<dyn wafv2::WebAcls>,
    /// The Resource Groups Tagging API in the stack's region: buckets carrying the stack's tag.
    pub tagged: Arc<dyn tagging::Tagged>,
    /// CloudWatch Logs log delivery in us-east-1: the standard access logs of `[standard_logs]`.
    pub deliveries: Arc<dyn deliveries::Deliveries>,
    /// DynamoDB in the stack's region: the `[waf.auto_block]` block table.
    pub tables: Arc<dyn dynamodb::Tables>,
}

impl Ports {
    /// The ports over the AWS SDK clients.
    pub fn sdk(aws: &Clients) -> Ports {
        Ports {
            queues: Arc::new(sqs::SdkQueues(aws.sqs.clone())),
            buckets: Arc::new(s3::SdkBuckets(aws.s3.clone())),
            roles: Arc::new(iam::SdkRoles(aws.iam.clone())),
            rules: Arc::new(events::SdkRules(aws.events.clone())),
            streams: Arc::new(kinesis::SdkStreams(aws.kinesis.clone())),
            cloudwatch: Arc::new(cloudwatch::SdkCloudWatch(aws.cloudwatch.clone())),
            topics: Arc::new(sns::SdkTopics(aws.sns.clone())),
            functions: Arc::new(lambda::SdkFunctions(aws.lambda.clone())),
            log_groups: Arc::new(logs::SdkLogGroups(aws.logs.clone())),
            cloudfront: Arc::new(cloudfront::SdkCloudFront(aws.cloudfront.clone())),
            parameters: Arc::new(ssm::SdkParameters(aws.ssm.clone())),
            metrics_subscriptions: Arc::new(metrics_subscription::SdkMetricsSubscriptions(
                aws.cloudfront.clone(),
            )),
            web_acls: Arc::new(wafv2::SdkWebAcls(aws.wafv2.clone())),
            tagged: Arc::new(tagging::SdkTagged(aws.tagging.clone())),
            deliveries: Arc::new(deliveries::SdkDeliveries(aws.logs_global.clone())),
            tables: Arc::new(dynamodb::SdkTables(aws.dynamodb.clone())),
        }
    }
}
