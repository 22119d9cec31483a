//! The least-privilege IAM policy an operator needs to run `plan`, `up` and `down` for one
//! config: every operation the ports can send ([`OPERATIONS`], named as the ports and the
//! fake account's call log name them), the IAM actions AWS authorizes it with, and what each
//! action acts on ([`Target`]), whose ARNs follow from the config's names. The policy is
//! built from that table alone, so an operation added to a port without a row here fails the
//! unit test that runs the whole stack against the fake account and checks every logged call
//! against the policy (see the tests below).
//!
//! Sources: the Service Authorization Reference (the actions, their resource types, and the
//! actions that take `"Resource": "*"` only), as parliament's copy of it holds it; the API
//! references for the permissions an operation needs beyond its own action (tag-on-create
//! needs the service's tagging action; passing a role needs `iam:PassRole`).

use std::collections::BTreeMap;

use cfrp_config::StackConfig;
use cfrp_config::naming::Function;
use serde_json::{Value, json};

/// What an action acts on: the resource types of the Service Authorization Reference, each
/// named by the stack's own resources of that type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The real-time log stream.
    Stream,
    /// `kinesis:StartStreamEncryption` authorizes against the stream and the KMS key both.
    StreamEncryption,
    /// The three queues.
    Queues,
    /// The manuscripts bucket (only when the config names one).
    Bucket,
    /// The manuscripts bucket's objects (`down` empties the bucket).
    BucketObjects,
    /// The four roles the stack creates.
    Roles,
    /// The roles, passed to Lambda and CloudFront only.
    PassRoles,
    /// The three functions.
    Functions,
    /// Creating an event source mapping: no resource-level permission, so `*`, held to the
    /// stack's functions by `lambda:FunctionArn`.
    EventSourceMappings,
    /// Existing event source mappings (their ids are Lambda's), held to the stack's
    /// functions by `lambda:FunctionArn`.
    EventSourceMappingIds,
    /// The functions' log groups.
    LogGroups,
    /// The schedule rule.
    ScheduleRule,
    /// The alarm topic.
    Topic,
    /// The stack's alarms, by name prefix.
    Alarms,
    /// The dashboard.
    Dashboard,
    /// The distribution: its id is only known once it exists.
    Distributions,
    /// The cache policies the stack creates: ids known once they exist.
    CachePolicies,
    /// The stack's response headers policy: its id is known once it exists.
    ResponseHeadersPolicies,
    /// The viewer-request function.
    ViewerFunction,
    /// The real-time log config.
    LogConfig,
    /// The stack's SSM parameters, under `/cfrp/<stack>/`.
    Parameters,
    /// Continuous deployment policies (`stage`): CloudFront names them by generated ids.
    DeploymentPolicies,
    /// Actions AWS offers no resource-level permission for: `"Resource": "*"` is the only
    /// form AWS accepts.
    Any,
    /// The `[waf]` web ACL (scope CLOUDFRONT, us-east-1): its id is WAF's.
    WebAcl,
    /// The web ACL's four IP sets (allow and block list, IPv4 and IPv6).
    WafIpSets,
    /// The standard logs' delivery source (us-east-1).
    DeliverySources,
    /// The standard logs' delivery destination (us-east-1).
    DeliveryDestinations,
    /// Deleting the delivery source: the Service Authorization Reference (parliament's copy)
    /// lists logs:DeleteDeliverySource against the delivery-destination type, the API against
    /// the source; the statement names both, so either reading allows it.
    DeliverySourceDeletion,
    /// Deliveries: CloudWatch Logs names them by generated ids.
    Deliveries,
    /// Creating a delivery authorizes against the source, the destination and the delivery
    /// at once: one statement names all three.
    DeliveryCreation,
    /// The bucket `[standard_logs]` delivers to: CloudWatch Logs adds the statement that lets
    /// `delivery.logs.amazonaws.com` write to it, with the caller's permissions.
    StandardLogsBucket,
    /// With a log group destination CloudWatch Logs adds a log group resource policy, with
    /// the caller's permissions; those actions take `"Resource": "*"` only.
    StandardLogsResourcePolicies,
    /// The `[waf.auto_block]` block table (DynamoDB).
    BlockTable,
}

impl Target {
    /// The statement id in the policy.
    fn sid(self) -> &'static str {
        match self {
            Target::Stream => "RealtimeLogStream",
            Target::StreamEncryption => "RealtimeLogStreamEncryption",
            Target::Queues => "Queues",
            Target::Bucket => "ManuscriptsBucket",
            Target::BucketObjects => "ManuscriptsBucketObjects",
            Target::Roles => "Roles",
            Target::PassRoles => "PassRolesToLambdaAndCloudFront",
            Target::Functions => "Functions",
            Target::EventSourceMappings => "NewEventSourceMappingsOfTheStacksFunctions",
            Target::EventSourceMappingIds => "EventSourceMappingsOfTheStacksFunctions",
            Target::LogGroups => "FunctionLogGroups",
            Target::ScheduleRule => "ScheduleRule",
            Target::Topic => "AlarmTopic",
            Target::Alarms => "Alarms",
            Target::Dashboard => "Dashboard",
            Target::Distributions => "Distribution",
            Target::CachePolicies => "CachePolicies",
            Target::ResponseHeadersPolicies => "ResponseHeadersPolicies",
            Target::ViewerFunction => "ViewerRequestFunction",
            Target::LogConfig => "RealtimeLogConfig",
            Target::Parameters => "Parameters",
            Target::DeploymentPolicies => "ContinuousDeploymentPolicies",
            Target::Any => "NoResourceLevelPermissions",
            Target::WebAcl => "WafWebAcl",
            Target::WafIpSets => "WafIpSets",
            Target::DeliverySources => "StandardLogsDeliverySource",
            Target::DeliveryDestinations => "StandardLogsDeliveryDestination",
            Target::DeliverySourceDeletion => "StandardLogsDeliverySourceDeletion",
            Target::Deliveries => "StandardLogsDeliveries",
            Target::DeliveryCreation => "StandardLogsDeliveryCreation",
            Target::StandardLogsBucket => "StandardLogsBucketPolicy",
            Target::StandardLogsResourcePolicies => "StandardLogsLogGroupResourcePolicy",
            Target::BlockTable => "BlockTable",
        }
    }
}

/// One operation a port sends, and what AWS authorizes it with.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// `service:Operation`, as the ports name it in errors and the fake account's call log.
    pub operation: &'static str,
    /// Each IAM action the operation needs, with what it acts on.
    pub needs: &'static [(&'static str, Target)],
}

const fn op(operation: &'static str, needs: &'static [(&'static str, Target)]) -> Operation {
    Operation { operation, needs }
}

use Target::*;

/// Every operation of the ports the stack's steps converge and remove through.
///
/// Operations other helpers add to ports now or soon (SSM parameters under `/cfrp/<stack>/`,
/// the bucket's public access block, encryption and policy, stream encryption, the topic's
/// KMS key) are listed already, scoped, so wiring them only needs the port call.
pub const OPERATIONS: &[Operation] = &[
    // CloudFront (global). CreateDistributionWithTags is authorized as CreateDistribution
    // plus TagResource; the real-time log config passes the logs role to CloudFront.
    op(
        "cloudfront:ListDistributions",
        &[("cloudfront:ListDistributions", Any)],
    ),
    op(
        "cloudfront:ListTagsForResource",
        &[("cloudfront:ListTagsForResource", Distributions)],
    ),
    op(
        "cloudfront:GetDistribution",
        &[("cloudfront:GetDistribution", Distributions)],
    ),
    op(
        "cloudfront:GetDistributionConfig",
        &[("cloudfront:GetDistributionConfig", Distributions)],
    ),
    op(
        "cloudfront:CreateDistributionWithTags",
        &[
            ("cloudfront:CreateDistribution", Distributions),
            ("cloudfront:TagResource", Distributions),
        ],
    ),
    op(
        "cloudfront:UpdateDistribution",
        &[("cloudfront:UpdateDistribution", Distributions)],
    ),
    op(
        "cloudfront:DeleteDistribution",
        &[("cloudfront:DeleteDistribution", Distributions)],
    ),
    op(
        "cloudfront:CreateInvalidation",
        &[("cloudfront:CreateInvalidation", Distributions)],
    ),
    op(
        "cloudfront:GetInvalidation",
        &[("cloudfront:GetInvalidation", Distributions)],
    ),
    op(
        "cloudfront:ListCachePolicies",
        &[("cloudfront:ListCachePolicies", Any)],
    ),
    op(
        "cloudfront:GetCachePolicyConfig",
        &[("cloudfront:GetCachePolicyConfig", CachePolicies)],
    ),
    op(
        "cloudfront:CreateCachePolicy",
        &[("cloudfront:CreateCachePolicy", CachePolicies)],
    ),
    op(
        "cloudfront:UpdateCachePolicy",
        &[("cloudfront:UpdateCachePolicy", CachePolicies)],
    ),
    op(
        "cloudfront:DeleteCachePolicy",
        &[("cloudfront:DeleteCachePolicy", CachePolicies)],
    ),
    op(
        "cloudfront:ListResponseHeadersPolicies",
        &[("cloudfront:ListResponseHeadersPolicies", Any)],
    ),
    op(
        "cloudfront:GetResponseHeadersPolicyConfig",
        &[(
            "cloudfront:GetResponseHeadersPolicyConfig",
            ResponseHeadersPolicies,
        )],
    ),
    op(
        "cloudfront:CreateResponseHeadersPolicy",
        &[(
            "cloudfront:CreateResponseHeadersPolicy",
            ResponseHeadersPolicies,
        )],
    ),
    op(
        "cloudfront:UpdateResponseHeadersPolicy",
        &[(
            "cloudfront:UpdateResponseHeadersPolicy",
            ResponseHeadersPolicies,
        )],
    ),
    op(
        "cloudfront:DeleteResponseHeadersPolicy",
        &[(
            "cloudfront:DeleteResponseHeadersPolicy",
            ResponseHeadersPolicies,
        )],
    ),
    op(
        "cloudfront:DescribeFunction",
        &[("cloudfront:DescribeFunction", ViewerFunction)],
    ),
    op(
        "cloudfront:GetFunction",
        &[("cloudfront:GetFunction", ViewerFunction)],
    ),
    op(
        "cloudfront:CreateFunction",
        &[("cloudfront:CreateFunction", ViewerFunction)],
    ),
    op(
        "cloudfront:UpdateFunction",
        &[("cloudfront:UpdateFunction", ViewerFunction)],
    ),
    op(
        "cloudfront:PublishFunction",
        &[("cloudfront:PublishFunction", ViewerFunction)],
    ),
    op(
        "cloudfront:DeleteFunction",
        &[("cloudfront:DeleteFunction", ViewerFunction)],
    ),
    op(
        "cloudfront:GetRealtimeLogConfig",
        &[("cloudfront:GetRealtimeLogConfig", LogConfig)],
    ),
    op(
        "cloudfront:CreateRealtimeLogConfig",
        &[
            ("cloudfront:CreateRealtimeLogConfig", LogConfig),
            ("iam:PassRole", PassRoles),
        ],
    ),
    op(
        "cloudfront:UpdateRealtimeLogConfig",
        &[
            ("cloudfront:UpdateRealtimeLogConfig", LogConfig),
            ("iam:PassRole", PassRoles),
        ],
    ),
    op(
        "cloudfront:DeleteRealtimeLogConfig",
        &[("cloudfront:DeleteRealtimeLogConfig", LogConfig)],
    ),
    // The distribution's additional metrics (a monitoring subscription): parliament's copy of
    // the Service Authorization Reference gives these actions no resource type, so only `*`.
    op(
        "cloudfront:GetMonitoringSubscription",
        &[("cloudfront:GetMonitoringSubscription", Any)],
    ),
    op(
        "cloudfront:CreateMonitoringSubscription",
        &[("cloudfront:CreateMonitoringSubscription", Any)],
    ),
    op(
        "cloudfront:DeleteMonitoringSubscription",
        &[("cloudfront:DeleteMonitoringSubscription", Any)],
    ),
    // CloudWatch: alarms carry tags from PutMetricAlarm, which then needs TagResource.
    op(
        "cloudwatch:DescribeAlarms",
        &[("cloudwatch:DescribeAlarms", Alarms)],
    ),
    op(
        "cloudwatch:PutMetricAlarm",
        &[
            ("cloudwatch:PutMetricAlarm", Alarms),
            ("cloudwatch:TagResource", Alarms),
        ],
    ),
    op(
        "cloudwatch:DeleteAlarms",
        &[("cloudwatch:DeleteAlarms", Alarms)],
    ),
    op(
        "cloudwatch:ListTagsForResource",
        &[("cloudwatch:ListTagsForResource", Alarms)],
    ),
    op(
        "cloudwatch:GetDashboard",
        &[("cloudwatch:GetDashboard", Dashboard)],
    ),
    op(
        "cloudwatch:PutDashboard",
        &[("cloudwatch:PutDashboard", Dashboard)],
    ),
    op(
        "cloudwatch:DeleteDashboards",
        &[("cloudwatch:DeleteDashboards", Dashboard)],
    ),
    // EventBridge: PutRule with tags needs TagResource.
    op(
        "events:DescribeRule",
        &[("events:DescribeRule", ScheduleRule)],
    ),
    op(
        "events:PutRule",
        &[
            ("events:PutRule", ScheduleRule),
            ("events:TagResource", ScheduleRule),
        ],
    ),
    op(
        "events:ListTargetsByRule",
        &[("events:ListTargetsByRule", ScheduleRule)],
    ),
    op("events:PutTargets", &[("events:PutTargets", ScheduleRule)]),
    op(
        "events:RemoveTargets",
        &[("events:RemoveTargets", ScheduleRule)],
    ),
    op("events:DeleteRule", &[("events:DeleteRule", ScheduleRule)]),
    // IAM (global): CreateRole with tags needs TagRole.
    op("iam:GetRole", &[("iam:GetRole", Roles)]),
    op(
        "iam:CreateRole",
        &[("iam:CreateRole", Roles), ("iam:TagRole", Roles)],
    ),
    op(
        "iam:UpdateAssumeRolePolicy",
        &[("iam:UpdateAssumeRolePolicy", Roles)],
    ),
    op("iam:GetRolePolicy", &[("iam:GetRolePolicy", Roles)]),
    op("iam:PutRolePolicy", &[("iam:PutRolePolicy", Roles)]),
    op("iam:DeleteRolePolicy", &[("iam:DeleteRolePolicy", Roles)]),
    op("iam:DeleteRole", &[("iam:DeleteRole", Roles)]),
    // Kinesis. UpdateStreamMode and UpdateShardCount have no resource types in the
    // reference: "*".
    op(
        "kinesis:DescribeStreamSummary",
        &[("kinesis:DescribeStreamSummary", Stream)],
    ),
    op(
        "kinesis:ListTagsForStream",
        &[("kinesis:ListTagsForStream", Stream)],
    ),
    op("kinesis:CreateStream", &[("kinesis:CreateStream", Stream)]),
    op(
        "kinesis:AddTagsToStream",
        &[("kinesis:AddTagsToStream", Stream)],
    ),
    op(
        "kinesis:IncreaseStreamRetentionPeriod",
        &[("kinesis:IncreaseStreamRetentionPeriod", Stream)],
    ),
    op(
        "kinesis:DecreaseStreamRetentionPeriod",
        &[("kinesis:DecreaseStreamRetentionPeriod", Stream)],
    ),
    op(
        "kinesis:UpdateStreamMode",
        &[("kinesis:UpdateStreamMode", Any)],
    ),
    op(
        "kinesis:UpdateShardCount",
        &[("kinesis:UpdateShardCount", Any)],
    ),
    op(
        "kinesis:StartStreamEncryption",
        &[("kinesis:StartStreamEncryption", StreamEncryption)],
    ),
    op("kinesis:DeleteStream", &[("kinesis:DeleteStream", Stream)]),
    // Lambda: CreateFunction with tags needs TagResource, and passes the role to Lambda.
    op("lambda:GetFunction", &[("lambda:GetFunction", Functions)]),
    op(
        "lambda:GetFunctionConfiguration",
        &[("lambda:GetFunctionConfiguration", Functions)],
    ),
    op(
        "lambda:CreateFunction",
        &[
            ("lambda:CreateFunction", Functions),
            ("lambda:TagResource", Functions),
            ("iam:PassRole", PassRoles),
        ],
    ),
    op(
        "lambda:UpdateFunctionConfiguration",
        &[
            ("lambda:UpdateFunctionConfiguration", Functions),
            ("iam:PassRole", PassRoles),
        ],
    ),
    op(
        "lambda:UpdateFunctionCode",
        &[("lambda:UpdateFunctionCode", Functions)],
    ),
    op(
        "lambda:DeleteFunction",
        &[("lambda:DeleteFunction", Functions)],
    ),
    op("lambda:GetPolicy", &[("lambda:GetPolicy", Functions)]),
    op(
        "lambda:AddPermission",
        &[("lambda:AddPermission", Functions)],
    ),
    op(
        "lambda:RemovePermission",
        &[("lambda:RemovePermission", Functions)],
    ),
    op(
        "lambda:ListEventSourceMappings",
        &[("lambda:ListEventSourceMappings", Any)],
    ),
    op(
        "lambda:CreateEventSourceMapping",
        &[("lambda:CreateEventSourceMapping", EventSourceMappings)],
    ),
    op(
        "lambda:UpdateEventSourceMapping",
        &[("lambda:UpdateEventSourceMapping", EventSourceMappingIds)],
    ),
    op(
        "lambda:DeleteEventSourceMapping",
        &[("lambda:DeleteEventSourceMapping", EventSourceMappingIds)],
    ),
    // CloudWatch Logs: DescribeLogGroups has no resource types; CreateLogGroup with tags
    // needs TagResource.
    op("logs:DescribeLogGroups", &[("logs:DescribeLogGroups", Any)]),
    op(
        "logs:CreateLogGroup",
        &[
            ("logs:CreateLogGroup", LogGroups),
            ("logs:TagResource", LogGroups),
        ],
    ),
    op(
        "logs:PutRetentionPolicy",
        &[("logs:PutRetentionPolicy", LogGroups)],
    ),
    op("logs:DeleteLogGroup", &[("logs:DeleteLogGroup", LogGroups)]),
    // S3: HeadBucket and ListObjectsV2 are authorized as ListBucket, DeleteObjects as
    // DeleteObject on each key, the notification operations as Get/PutBucketNotification.
    op("s3:HeadBucket", &[("s3:ListBucket", Bucket)]),
    op("s3:CreateBucket", &[("s3:CreateBucket", Bucket)]),
    op("s3:GetBucketTagging", &[("s3:GetBucketTagging", Bucket)]),
    // Buckets carrying the stack's tag under another name; GetResources has no resource type.
    op("tagging:GetResources", &[("tag:GetResources", Any)]),
    op("s3:PutBucketTagging", &[("s3:PutBucketTagging", Bucket)]),
    op(
        "s3:GetBucketNotificationConfiguration",
        &[("s3:GetBucketNotification", Bucket)],
    ),
    op(
        "s3:PutBucketNotificationConfiguration",
        &[("s3:PutBucketNotification", Bucket)],
    ),
    op(
        "s3:GetPublicAccessBlock",
        &[("s3:GetBucketPublicAccessBlock", Bucket)],
    ),
    op(
        "s3:PutPublicAccessBlock",
        &[("s3:PutBucketPublicAccessBlock", Bucket)],
    ),
    op(
        "s3:GetBucketEncryption",
        &[("s3:GetEncryptionConfiguration", Bucket)],
    ),
    op(
        "s3:PutBucketEncryption",
        &[("s3:PutEncryptionConfiguration", Bucket)],
    ),
    op("s3:GetBucketPolicy", &[("s3:GetBucketPolicy", Bucket)]),
    op("s3:PutBucketPolicy", &[("s3:PutBucketPolicy", Bucket)]),
    op("s3:ListObjectsV2", &[("s3:ListBucket", Bucket)]),
    // `down` empties a versioned bucket by version: ListObjectVersions is authorized as
    // ListBucketVersions, and deleting a version as DeleteObjectVersion.
    op(
        "s3:GetBucketVersioning",
        &[("s3:GetBucketVersioning", Bucket)],
    ),
    op(
        "s3:ListObjectVersions",
        &[("s3:ListBucketVersions", Bucket)],
    ),
    op(
        "s3:DeleteObjects",
        &[
            ("s3:DeleteObject", BucketObjects),
            ("s3:DeleteObjectVersion", BucketObjects),
        ],
    ),
    op("s3:DeleteBucket", &[("s3:DeleteBucket", Bucket)]),
    // SNS: CreateTopic with tags needs TagResource.
    op(
        "sns:CreateTopic",
        &[("sns:CreateTopic", Topic), ("sns:TagResource", Topic)],
    ),
    op(
        "sns:GetTopicAttributes",
        &[("sns:GetTopicAttributes", Topic)],
    ),
    op(
        "sns:SetTopicAttributes",
        &[("sns:SetTopicAttributes", Topic)],
    ),
    op(
        "sns:ListSubscriptionsByTopic",
        &[("sns:ListSubscriptionsByTopic", Topic)],
    ),
    op("sns:Subscribe", &[("sns:Subscribe", Topic)]),
    op("sns:DeleteTopic", &[("sns:DeleteTopic", Topic)]),
    // SQS: CreateQueue with tags needs TagQueue.
    op("sqs:GetQueueUrl", &[("sqs:GetQueueUrl", Queues)]),
    op(
        "sqs:GetQueueAttributes",
        &[("sqs:GetQueueAttributes", Queues)],
    ),
    op(
        "sqs:CreateQueue",
        &[("sqs:CreateQueue", Queues), ("sqs:TagQueue", Queues)],
    ),
    op(
        "sqs:SetQueueAttributes",
        &[("sqs:SetQueueAttributes", Queues)],
    ),
    op("sqs:DeleteQueue", &[("sqs:DeleteQueue", Queues)]),
    // SSM parameters under /cfrp/<stack>/ (the lease and the origin secret).
    op("ssm:GetParameter", &[("ssm:GetParameter", Parameters)]),
    op(
        "ssm:PutParameter",
        &[
            ("ssm:PutParameter", Parameters),
            ("ssm:AddTagsToResource", Parameters),
        ],
    ),
    op(
        "ssm:DeleteParameter",
        &[("ssm:DeleteParameter", Parameters)],
    ),
    // Continuous deployment (`stage`, `promote`, `rollback`): the staging distribution and
    // its policy. CopyDistribution needs GetDistribution and CreateDistribution too (API
    // reference); ListContinuousDeploymentPolicies has no resource type.
    op(
        "cloudfront:CopyDistribution",
        &[
            ("cloudfront:CopyDistribution", Distributions),
            ("cloudfront:CreateDistribution", Distributions),
            ("cloudfront:GetDistribution", Distributions),
        ],
    ),
    op(
        "cloudfront:TagResource",
        &[("cloudfront:TagResource", Distributions)],
    ),
    op(
        "cloudfront:UpdateDistributionWithStagingConfig",
        &[
            (
                "cloudfront:UpdateDistributionWithStagingConfig",
                Distributions,
            ),
            ("cloudfront:GetDistribution", Distributions),
            ("cloudfront:UpdateDistribution", Distributions),
        ],
    ),
    op(
        "cloudfront:ListContinuousDeploymentPolicies",
        &[("cloudfront:ListContinuousDeploymentPolicies", Any)],
    ),
    op(
        "cloudfront:GetContinuousDeploymentPolicy",
        &[(
            "cloudfront:GetContinuousDeploymentPolicy",
            DeploymentPolicies,
        )],
    ),
    op(
        "cloudfront:CreateContinuousDeploymentPolicy",
        &[(
            "cloudfront:CreateContinuousDeploymentPolicy",
            DeploymentPolicies,
        )],
    ),
    op(
        "cloudfront:UpdateContinuousDeploymentPolicy",
        &[(
            "cloudfront:UpdateContinuousDeploymentPolicy",
            DeploymentPolicies,
        )],
    ),
    op(
        "cloudfront:DeleteContinuousDeploymentPolicy",
        &[(
            "cloudfront:DeleteContinuousDeploymentPolicy",
            DeploymentPolicies,
        )],
    ),
    // WAFv2, scope CLOUDFRONT: the web ACL of [waf] and its IP sets. The List actions take
    // no resource; creating or updating an ACL authorizes against the IP sets its rules use;
    // tag-on-create needs wafv2:TagResource.
    op("wafv2:ListWebACLs", &[("wafv2:ListWebACLs", Any)]),
    op("wafv2:GetWebACL", &[("wafv2:GetWebACL", WebAcl)]),
    op(
        "wafv2:CreateWebACL",
        &[
            ("wafv2:CreateWebACL", WebAcl),
            ("wafv2:CreateWebACL", WafIpSets),
            ("wafv2:TagResource", WebAcl),
        ],
    ),
    op(
        "wafv2:UpdateWebACL",
        &[
            ("wafv2:UpdateWebACL", WebAcl),
            ("wafv2:UpdateWebACL", WafIpSets),
        ],
    ),
    op("wafv2:DeleteWebACL", &[("wafv2:DeleteWebACL", WebAcl)]),
    op("wafv2:ListIPSets", &[("wafv2:ListIPSets", Any)]),
    op("wafv2:GetIPSet", &[("wafv2:GetIPSet", WafIpSets)]),
    op(
        "wafv2:CreateIPSet",
        &[
            ("wafv2:CreateIPSet", WafIpSets),
            ("wafv2:TagResource", WafIpSets),
        ],
    ),
    op("wafv2:UpdateIPSet", &[("wafv2:UpdateIPSet", WafIpSets)]),
    op("wafv2:DeleteIPSet", &[("wafv2:DeleteIPSet", WafIpSets)]),
    // CloudWatch Logs delivery in us-east-1 (standard access logs v2). A CloudFront source
    // also needs cloudfront:AllowVendedLogDeliveryForResource on the distribution; creating
    // the delivery lets CloudWatch Logs add the destination's bucket policy or log group
    // resource policy with the caller's permissions (CloudWatch Logs user guide, "Enable
    // logging from AWS services"); tag-on-create needs logs:TagResource.
    op(
        "logs:GetDeliverySource",
        &[("logs:GetDeliverySource", DeliverySources)],
    ),
    op(
        "logs:PutDeliverySource",
        &[
            ("logs:PutDeliverySource", DeliverySources),
            ("logs:TagResource", DeliverySources),
            (
                "cloudfront:AllowVendedLogDeliveryForResource",
                Distributions,
            ),
        ],
    ),
    op(
        "logs:DeleteDeliverySource",
        &[("logs:DeleteDeliverySource", DeliverySourceDeletion)],
    ),
    op(
        "logs:GetDeliveryDestination",
        &[("logs:GetDeliveryDestination", DeliveryDestinations)],
    ),
    op(
        "logs:PutDeliveryDestination",
        &[
            ("logs:PutDeliveryDestination", DeliveryDestinations),
            ("logs:TagResource", DeliveryDestinations),
        ],
    ),
    op(
        "logs:DeleteDeliveryDestination",
        &[("logs:DeleteDeliveryDestination", DeliveryDestinations)],
    ),
    op(
        "logs:DescribeDeliveries",
        &[("logs:DescribeDeliveries", Any)],
    ),
    op(
        "logs:CreateDelivery",
        &[
            ("logs:CreateDelivery", DeliveryCreation),
            ("logs:TagResource", Deliveries),
            ("s3:GetBucketPolicy", StandardLogsBucket),
            ("s3:PutBucketPolicy", StandardLogsBucket),
            (
                "logs:DescribeResourcePolicies",
                StandardLogsResourcePolicies,
            ),
            ("logs:PutResourcePolicy", StandardLogsResourcePolicies),
            ("logs:DescribeLogGroups", StandardLogsResourcePolicies),
        ],
    ),
    op(
        "logs:DeleteDelivery",
        &[("logs:DeleteDelivery", Deliveries)],
    ),
    // DynamoDB: the block table of [waf.auto_block]; tags on create need TagResource; the
    // TTL is turned on after creation; `deployer block` reads and edits its entries.
    op(
        "dynamodb:DescribeTable",
        &[("dynamodb:DescribeTable", BlockTable)],
    ),
    op(
        "dynamodb:CreateTable",
        &[
            ("dynamodb:CreateTable", BlockTable),
            ("dynamodb:TagResource", BlockTable),
        ],
    ),
    op(
        "dynamodb:DescribeTimeToLive",
        &[("dynamodb:DescribeTimeToLive", BlockTable)],
    ),
    op(
        "dynamodb:UpdateTimeToLive",
        &[("dynamodb:UpdateTimeToLive", BlockTable)],
    ),
    op(
        "dynamodb:DeleteTable",
        &[("dynamodb:DeleteTable", BlockTable)],
    ),
    op("dynamodb:Query", &[("dynamodb:Query", BlockTable)]),
    op("dynamodb:PutItem", &[("dynamodb:PutItem", BlockTable)]),
    op(
        "dynamodb:DeleteItem",
        &[("dynamodb:DeleteItem", BlockTable)],
    ),
];

/// Operations every caller may make without any permission: STS GetCallerIdentity works
/// even when an explicit deny covers it (STS API reference, GetCallerIdentity).
pub const NEEDS_NO_PERMISSION: &[&str] = &["sts:GetCallerIdentity"];

/// The row of `operation` (`service:Operation`).
pub fn operation(operation: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.operation == operation)
}

/// The IAM partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The ARNs (patterns where an id is only known later) of the stack's resources of one
/// target, for `account` (an id, or `*`).
pub fn resources(config: &StackConfig, account: &str, target: Target) -> Vec<String> {
    let names = config.names();
    let region = &config.region;
    let partition = partition(region);
    let regional = |service: &str, resource: &str| {
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    };
    let global =
        |service: &str, resource: &str| format!("arn:{partition}:{service}::{account}:{resource}");
    let bucket = config.manuscripts.as_ref().map(|m| m.bucket.as_str());
    let roles = || {
        std::iter::once(names.cloudfront_logs_role())
            .chain(Function::ALL.map(|f| names.lambda_role(f)))
            .map(|role| global("iam", &format!("role/{role}")))
            .collect::<Vec<_>>()
    };
    let functions = || {
        Function::ALL
            .map(|f| regional("lambda", &format!("function:{}", names.lambda(f))))
            .to_vec()
    };
    match target {
        Stream => vec![regional(
            "kinesis",
            &format!("stream/{}", names.log_stream()),
        )],
        // The key is the config's or the AWS-managed one, whose id differs per account.
        StreamEncryption => vec![
            regional("kinesis", &format!("stream/{}", names.log_stream())),
            regional("kms", "key/*"),
        ],
        Queues => [
            names.manuscripts_queue(),
            names.manuscripts_dead_letter_queue(),
            names.analyser_failure_queue(),
        ]
        .iter()
        .map(|q| regional("sqs", q))
        .collect(),
        Bucket => bucket
            .map(|b| format!("arn:{partition}:s3:::{b}"))
            .into_iter()
            .collect(),
        BucketObjects => bucket
            .map(|b| format!("arn:{partition}:s3:::{b}/*"))
            .into_iter()
            .collect(),
        Roles | PassRoles => roles(),
        Functions => functions(),
        EventSourceMappings | Any => vec!["*".to_string()],
        EventSourceMappingIds => vec![regional("lambda", "event-source-mapping:*")],
        // Some actions name the group, others its streams (`:*`).
        LogGroups => Function::ALL
            .iter()
            .flat_map(|f| {
                let group = regional("logs", &format!("log-group:{}", names.log_group(*f)));
                [format!("{group}:*"), group]
            })
            .collect(),
        ScheduleRule => vec![regional(
            "events",
            &format!("rule/{}", names.schedule_rule()),
        )],
        Topic => vec![regional("sns", &names.alarm_topic())],
        // Rule and pipeline alarms share the stack's prefix; `down` deletes one found by the
        // prefix only when it carries the stack's tag.
        Alarms => vec![regional(
            "cloudwatch",
            &format!("alarm:cfrp-{}-*", names.stack()),
        )],
        Dashboard => vec![global(
            "cloudwatch",
            &format!("dashboard/{}", names.dashboard()),
        )],
        Distributions => vec![global("cloudfront", "distribution/*")],
        CachePolicies => vec![global("cloudfront", "cache-policy/*")],
        DeploymentPolicies => vec![global("cloudfront", "continuous-deployment-policy/*")],
        ResponseHeadersPolicies => vec![global("cloudfront", "response-headers-policy/*")],
        ViewerFunction => vec![global(
            "cloudfront",
            &format!("function/{}", names.viewer_request_function()),
        )],
        LogConfig => vec![global(
            "cloudfront",
            &format!("realtime-log-config/{}", names.realtime_log_config()),
        )],
        Parameters => vec![regional(
            "ssm",
            &format!("parameter/cfrp/{}/*", names.stack()),
        )],
        // Scope CLOUDFRONT lives in us-east-1 whatever the stack's region.
        WebAcl => vec![format!(
            "arn:{partition}:wafv2:us-east-1:{account}:global/webacl/{}/*",
            names.web_acl()
        )],
        WafIpSets => waf_ip_set_names(&names)
            .iter()
            .map(|set| format!("arn:{partition}:wafv2:us-east-1:{account}:global/ipset/{set}/*"))
            .collect(),
        // CloudFront's delivery sources live in us-east-1 whatever the stack's region.
        DeliverySources | DeliveryDestinations => {
            let kind = if target == DeliverySources {
                "delivery-source"
            } else {
                "delivery-destination"
            };
            vec![format!(
                "arn:{partition}:logs:us-east-1:{account}:{kind}:{}",
                crate::resources::standard_logs::name(names.stack())
            )]
        }
        DeliverySourceDeletion => [DeliverySources, DeliveryDestinations]
            .into_iter()
            .flat_map(|t| resources(config, account, t))
            .collect(),
        DeliveryCreation => [DeliverySources, DeliveryDestinations, Deliveries]
            .into_iter()
            .flat_map(|t| resources(config, account, t))
            .collect(),
        Deliveries => vec![format!(
            "arn:{partition}:logs:us-east-1:{account}:delivery:*"
        )],
        StandardLogsBucket => config
            .standard_logs
            .as_ref()
            .and_then(|logs| logs.bucket.as_ref())
            .map(|b| format!("arn:{partition}:s3:::{b}"))
            .into_iter()
            .collect(),
        StandardLogsResourcePolicies => config
            .standard_logs
            .as_ref()
            .filter(|logs| logs.log_group.is_some())
            .map(|_| "*".to_string())
            .into_iter()
            .collect(),
        // Like the web ACL, whatever the config: an `up` after [waf] was turned off looks
        // for the table by name to remove it.
        BlockTable => vec![regional(
            "dynamodb",
            &format!("table/{}", names.block_table()),
        )],
    }
}

/// The names of the web ACL's IP sets.
pub fn waf_ip_set_names(names: &cfrp_config::Names) -> Vec<String> {
    ["allow", "block"]
        .iter()
        .flat_map(|list| [false, true].map(|ipv6| names.waf_ip_set(list, ipv6)))
        .collect()
}

/// The condition a target's statement carries, if any.
fn condition(config: &StackConfig, account: &str, target: Target) -> Option<Value> {
    match target {
        PassRoles => Some(json!({
            "StringEquals": { "iam:PassedToService": ["cloudfront.amazonaws.com", "lambda.amazonaws.com"] }
        })),
        EventSourceMappings | EventSourceMappingIds => Some(json!({
            "ArnLike": { "lambda:FunctionArn": resources(config, account, Functions) }
        })),
        _ => None,
    }
}

/// The policy document: one statement per target, its actions sorted, for `account` (an
/// account id, or `*` for any).
pub fn policy(config: &StackConfig, account: &str) -> Value {
    let mut by_target: BTreeMap<Target, Vec<&str>> = BTreeMap::new();
    for operation in OPERATIONS {
        for (action, target) in operation.needs {
            let actions = by_target.entry(*target).or_default();
            if !actions.contains(action) {
                actions.push(action);
            }
        }
    }
    let statements: Vec<Value> = by_target
        .into_iter()
        .filter_map(|(target, mut actions)| {
            let resources = resources(config, account, target);
            if resources.is_empty() {
                return None;
            }
            actions.sort_unstable();
            let mut statement = json!({
                "Sid": target.sid(),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            });
            if let Some(condition) = condition(config, account, target) {
                statement["Condition"] = condition;
            }
            Some(statement)
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Whether an ARN pattern of a policy (`*` any run of characters, `?` one) matches `arn`.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    let (p, a): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    // Classic wildcard matching with one backtrack point for the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < a.len() {
        if i < p.len() && (p[i] == '?' || p[i] == a[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Whether `policy` allows `action` on `arn` (Allow statements only; conditions are not
/// evaluated, they only narrow what the statement names).
pub fn allows(policy: &Value, action: &str, arn: &str) -> bool {
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|statement| {
            statement["Effect"] == "Allow"
                && strings(&statement["Action"])
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(action))
                && strings(&statement["Resource"])
                    .iter()
                    .any(|r| arn_matches(r, arn))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Mode, Run};
    use crate::package::Packages;
    use crate::ports::fake::FakeAccount;

    const ACCOUNT: &str = "123456789012";

    fn full_config() -> StackConfig {
        let text = include_str!("../../shared/examples/proxy.toml");
        match StackConfig::parse(text, "proxy.toml") {
            Ok(mut config) => {
                config.distribution.additional_metrics = true;
                config.standard_logs = Some(cfrp_config::StandardLogs {
                    destination: cfrp_config::StandardLogsDestination::S3,
                    bucket: Some("shop-access-logs".to_string()),
                    prefix: Some("cloudfront".to_string()),
                    log_group: None,
                    format: cfrp_config::StandardLogsFormat::Json,
                    fields: vec!["date".to_string(), "time".to_string()],
                });
                config
            }
            Err(err) => panic!("the example config: {err}"),
        }
    }

    /// The example with every optional feature turned off.
    fn bare_config() -> StackConfig {
        let mut config = full_config();
        config.logging.enabled = false;
        config.alarms.enabled = false;
        config.manuscripts = None;
        config.distribution.additional_metrics = false;
        config.standard_logs = None;
        config
    }

    fn packages() -> Packages {
        Function::ALL
            .iter()
            .map(|f| (f.short(), format!("zip of {}", f.short()).into_bytes()))
            .collect()
    }

    /// Runs `work` against `account` as one run of `mode` for `config`; its calls.
    async fn calls_of(
        account: &FakeAccount,
        config: &StackConfig,
        mode: Mode,
        remove: bool,
    ) -> Vec<String> {
        let before = account.calls().len();
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        let result = if remove {
            crate::stack::remove(&run).await.map(drop)
        } else {
            crate::stack::converge(&run, &packages(), true)
                .await
                .map(drop)
        };
        if let Err(err) = result {
            panic!(
                "{} failed: {err}",
                if remove { "remove" } else { "converge" }
            );
        }
        account.calls()[before..].to_vec()
    }

    /// The ARN a logged call acts on for one of its actions, from the call's target as the
    /// fake account logs it (a name, a URL, an ARN or an id).
    fn acted_on(config: &StackConfig, kind: Target, target: &str) -> Vec<String> {
        let names = config.names();
        let arn = |pattern: &str| pattern.replace("{account}", ACCOUNT);
        let region = &config.region;
        let regional = |service: &str, resource: &str| {
            arn(&format!(
                "arn:aws:{service}:{region}:{{account}}:{resource}"
            ))
        };
        let global = |service: &str, resource: &str| {
            arn(&format!("arn:aws:{service}::{{account}}:{resource}"))
        };
        let given = |or: String| {
            if target.starts_with("arn:") {
                target.to_string()
            } else {
                or
            }
        };
        match kind {
            Stream | StreamEncryption => {
                vec![given(regional("kinesis", &format!("stream/{target}")))]
            }
            Queues => vec![regional("sqs", target.rsplit('/').next().unwrap_or(target))],
            Bucket => vec![format!("arn:aws:s3:::{target}")],
            BucketObjects => vec![format!("arn:aws:s3:::{target}/manuscripts/chapter-1.md")],
            Roles => vec![global("iam", &format!("role/{target}"))],
            // The role a function or the log config is given.
            PassRoles if target == names.realtime_log_config() => {
                vec![global(
                    "iam",
                    &format!("role/{}", names.cloudfront_logs_role()),
                )]
            }
            PassRoles => vec![global("iam", &format!("role/{target}-role"))],
            // Permissions are logged as `function/statement-id`.
            Functions => {
                let function = target.split('/').next().unwrap_or(target);
                vec![given(regional("lambda", &format!("function:{function}")))]
            }
            EventSourceMappings | Any => vec!["*".to_string()],
            EventSourceMappingIds => vec![regional(
                "lambda",
                &format!("event-source-mapping:{target}"),
            )],
            LogGroups => vec![regional("logs", &format!("log-group:{target}"))],
            ScheduleRule => vec![regional("events", &format!("rule/{target}"))],
            // Subscribe logs the endpoint; the topic is the stack's.
            Topic if !target.starts_with("arn:") => vec![regional("sns", &names.alarm_topic())],
            Topic => vec![target.to_string()],
            Alarms => target
                .split(',')
                .map(|name| {
                    if name.starts_with("arn:") {
                        name.to_string()
                    } else {
                        regional("cloudwatch", &format!("alarm:{name}"))
                    }
                })
                .collect(),
            Dashboard => vec![global("cloudwatch", &format!("dashboard/{target}"))],
            Distributions => vec![global("cloudfront", &format!("distribution/{target}"))],
            CachePolicies => vec![global("cloudfront", &format!("cache-policy/{target}"))],
            DeploymentPolicies => vec![global(
                "cloudfront",
                &format!("continuous-deployment-policy/{target}"),
            )],
            ResponseHeadersPolicies => vec![global(
                "cloudfront",
                &format!("response-headers-policy/{target}"),
            )],
            ViewerFunction => vec![global("cloudfront", &format!("function/{target}"))],
            LogConfig => vec![global(
                "cloudfront",
                &format!("realtime-log-config/{target}"),
            )],
            Parameters => vec![regional("ssm", &format!("parameter{target}"))],
            WebAcl => vec![arn(&format!(
                "arn:aws:wafv2:us-east-1:{{account}}:global/webacl/{target}/id"
            ))],
            // Writing the web ACL authorizes against every IP set its rules reference.
            WafIpSets if target == names.web_acl() => waf_ip_set_names(&names)
                .iter()
                .map(|set| {
                    arn(&format!(
                        "arn:aws:wafv2:us-east-1:{{account}}:global/ipset/{set}/id"
                    ))
                })
                .collect(),
            WafIpSets => vec![arn(&format!(
                "arn:aws:wafv2:us-east-1:{{account}}:global/ipset/{target}/id"
            ))],
            DeliverySources | DeliverySourceDeletion => vec![arn(&format!(
                "arn:aws:logs:us-east-1:{{account}}:delivery-source:{target}"
            ))],
            DeliveryDestinations => vec![arn(&format!(
                "arn:aws:logs:us-east-1:{{account}}:delivery-destination:{target}"
            ))],
            Deliveries => vec![arn(&format!(
                "arn:aws:logs:us-east-1:{{account}}:delivery:{target}"
            ))],
            // Logged with the source's name, which the destination shares.
            DeliveryCreation => ["delivery-source", "delivery-destination", "delivery"]
                .iter()
                .map(|kind| {
                    arn(&format!(
                        "arn:aws:logs:us-east-1:{{account}}:{kind}:{target}"
                    ))
                })
                .collect(),
            StandardLogsBucket | StandardLogsResourcePolicies => resources(config, ACCOUNT, kind),
            BlockTable => vec![regional("dynamodb", &format!("table/{target}"))],
        }
    }

    /// Each logged call `policy` does not allow (or the table does not know), as a line.
    fn refused(calls: &[String], config: &StackConfig, policy: &Value) -> Vec<String> {
        let mut refused = Vec::new();
        for call in calls {
            let (name, target) = call.split_once(' ').unwrap_or((call, ""));
            let Some(row) = operation(name) else {
                refused.push(format!("{call}: not in OPERATIONS"));
                continue;
            };
            for (action, kind) in row.needs {
                for arn in acted_on(config, *kind, target) {
                    if !allows(policy, action, &arn) {
                        refused.push(format!("{call}: {action} on {arn}"));
                    }
                }
            }
        }
        refused
    }

    #[tokio::test]
    async fn every_call_of_plan_up_and_down_is_allowed_by_the_policy() {
        let full = full_config();
        let bare = bare_config();
        let full_policy = policy(&full, ACCOUNT);
        let bare_policy = policy(&bare, ACCOUNT);

        // Everything on: plan, up, a second up (reads only), plan of down, down.
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let mut calls = calls_of(&account, &full, Mode::Plan, false).await;
        calls.extend(calls_of(&account, &full, Mode::Apply, false).await);
        calls.extend(calls_of(&account, &full, Mode::Apply, false).await);
        account.edit_bucket("shop-manuscripts", |bucket| {
            bucket
                .objects
                .insert("manuscripts/chapter-1.md".to_string());
        });
        calls.extend(calls_of(&account, &full, Mode::Plan, true).await);
        calls.extend(calls_of(&account, &full, Mode::Apply, true).await);
        for needed in [
            "cloudfront:CreateDistributionWithTags",
            "cloudfront:CreateMonitoringSubscription",
            "cloudfront:DeleteMonitoringSubscription",
            "logs:CreateDelivery",
            "logs:DeleteDeliverySource",
            "s3:DeleteObjects",
            "lambda:CreateEventSourceMapping",
            "iam:DeleteRole",
        ] {
            assert!(
                calls.iter().any(|c| c.starts_with(needed)),
                "no {needed} in {calls:#?}"
            );
        }
        assert_eq!(refused(&calls, &full, &full_policy), Vec::<String>::new());

        // Every feature turned off after an up with them: that up removes them with the
        // previous config's permissions (the bucket is found through the queue's policy);
        // after it the bare config's policy is enough, down included.
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        calls_of(&account, &full, Mode::Apply, false).await;
        let turning_off = calls_of(&account, &bare, Mode::Apply, false).await;
        assert!(
            turning_off
                .iter()
                .any(|c| c.starts_with("kinesis:DeleteStream")),
            "{turning_off:#?}"
        );
        assert!(
            turning_off
                .iter()
                .any(|c| c.starts_with("cloudfront:DeleteMonitoringSubscription")),
            "{turning_off:#?}"
        );
        assert_eq!(
            refused(&turning_off, &full, &full_policy),
            Vec::<String>::new()
        );
        let mut calls = calls_of(&account, &bare, Mode::Apply, false).await;
        calls.extend(calls_of(&account, &bare, Mode::Apply, true).await);
        assert_eq!(refused(&calls, &bare, &bare_policy), Vec::<String>::new());
        assert!(
            !bare_policy.to_string().contains("\"s3:"),
            "no bucket, no S3 statement: {bare_policy:#}"
        );
    }

    /// The check above can fail: another stack's policy names none of this stack's resources.
    #[tokio::test]
    async fn another_stacks_policy_refuses_this_stacks_calls() {
        let full = full_config();
        let mut other = full_config();
        other.name = "other".to_string();
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let calls = calls_of(&account, &full, Mode::Apply, false).await;
        let refused = refused(&calls, &full, &policy(&other, ACCOUNT));
        for expected in [
            "sqs:CreateQueue",
            "iam:CreateRole",
            "lambda:CreateFunction",
            "iam:PassRole",
        ] {
            assert!(
                refused.iter().any(|r| r.contains(expected)),
                "{expected} allowed: {refused:#?}"
            );
        }
        // Only what AWS cannot scope stays allowed: the "*" and id-pattern statements.
        assert!(
            refused.len() > calls.len() / 2,
            "{} of {} refused: {refused:#?}",
            refused.len(),
            calls.len()
        );
    }

    #[test]
    fn every_operation_is_listed_once_and_every_action_is_service_qualified() {
        let mut seen = std::collections::BTreeSet::new();
        for row in OPERATIONS {
            assert!(seen.insert(row.operation), "{} listed twice", row.operation);
            assert!(!row.needs.is_empty(), "{}", row.operation);
            for (action, _) in row.needs {
                let (service, name) = action.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty() && !name.is_empty() && !name.contains('*'),
                    "{action}"
                );
            }
        }
    }

    #[test]
    fn the_policy_is_scoped_to_the_account_and_partition() {
        let mut config = full_config();
        let text = policy(&config, ACCOUNT).to_string();
        assert!(
            text.contains("arn:aws:sqs:eu-west-1:123456789012:cfrp-shop-manuscripts"),
            "{text}"
        );
        assert!(
            text.contains("arn:aws:iam::123456789012:role/cfrp-shop-invalidator-role"),
            "{text}"
        );
        config.region = "cn-north-1".to_string();
        let text = policy(&config, "*").to_string();
        assert!(
            text.contains("arn:aws-cn:sqs:cn-north-1:*:cfrp-shop-manuscripts"),
            "{text}"
        );
        assert!(!text.contains("arn:aws:"), "{text}");
    }

    #[test]
    fn arn_patterns_match_as_iam_matches_them() {
        assert!(arn_matches("*", "arn:aws:s3:::b"));
        assert!(arn_matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x"));
        assert!(!arn_matches("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(arn_matches(
            "arn:aws:cloudwatch:r:1:alarm:cfrp-shop-*",
            "arn:aws:cloudwatch:r:1:alarm:cfrp-shop-rule-x"
        ));
        assert!(!arn_matches(
            "arn:aws:cloudwatch:r:1:alarm:cfrp-shop-*",
            "arn:aws:cloudwatch:r:1:alarm:cfrp-shopx-rule"
        ));
        assert!(arn_matches("a?c", "abc") && !arn_matches("a?c", "ac"));
    }
}

#[cfg(test)]
mod waf_tests {
    use super::*;
    use crate::context::{Mode, Run};
    use crate::ports::fake::FakeAccount;

    /// Every WAF call of plan, up, a second up and down of a `[waf]` config is in
    /// OPERATIONS and allowed on the stack's own web ACL and IP sets only.
    #[tokio::test]
    async fn every_waf_call_is_allowed_by_the_policy_and_only_on_the_stacks_own() {
        let text = "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[waf]\n";
        let config = match StackConfig::parse(text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        };
        let account = FakeAccount::new("eu-west-1", "123456789012");
        for mode in [Mode::Plan, Mode::Apply, Mode::Apply] {
            let run = Run::offline(&config, account.ports(), "123456789012", mode);
            let arns = crate::resources::waf::converge_ip_sets(&run).await;
            let arns = arns.unwrap_or_default();
            assert!(
                crate::resources::waf::converge_web_acl(&run, &arns)
                    .await
                    .is_ok()
            );
        }
        let run = Run::offline(&config, account.ports(), "123456789012", Mode::Apply);
        assert!(crate::resources::waf::remove(&run).await.is_ok());
        let calls = account.calls();
        assert!(calls.iter().any(|c| c.starts_with("wafv2:CreateWebACL")));
        assert!(calls.iter().any(|c| c.starts_with("wafv2:DeleteIPSet")));
        let own = policy(&config, "123456789012");
        let mut other_config = config.clone();
        other_config.name = "other".to_string();
        let other = policy(&other_config, "123456789012");
        for call in &calls {
            let (name, target) = call.split_once(' ').unwrap_or((call, ""));
            let Some(row) = operation(name) else {
                panic!("{call}: not in OPERATIONS");
            };
            for (action, kind) in row.needs {
                let arns: Vec<String> = match kind {
                    Any => vec!["*".to_string()],
                    WebAcl => vec![format!(
                        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/{target}/id"
                    )],
                    WafIpSets if target == config.names().web_acl() => {
                        waf_ip_set_names(&config.names())
                            .iter()
                            .map(|s| {
                                format!("arn:aws:wafv2:us-east-1:123456789012:global/ipset/{s}/id")
                            })
                            .collect()
                    }
                    WafIpSets => vec![format!(
                        "arn:aws:wafv2:us-east-1:123456789012:global/ipset/{target}/id"
                    )],
                    other => panic!("{call}: unexpected target {other:?}"),
                };
                for arn in arns {
                    assert!(allows(&own, action, &arn), "{call}: {action} on {arn}");
                    if *kind != Any {
                        assert!(
                            !allows(&other, action, &arn),
                            "another stack's policy allows {action} on {arn}"
                        );
                    }
                }
            }
        }
    }
}
