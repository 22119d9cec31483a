//! The desired state of every resource, derived from the config alone (plus the account and
//! the distribution id once it exists). Pure: no AWS calls, so every setting is unit-tested.

pub mod alarms;
pub mod bucket;
pub mod dashboard;
pub mod distribution;
pub mod edge;
pub mod headers;
pub mod import;
pub mod policy;
pub mod secret;
pub mod viewer_request;
pub mod waf;

use cfrp_config::naming::Function;
use cfrp_config::{Names, StackConfig};

/// Shown in `plan` where a value only exists once the distribution does.
pub const KNOWN_AFTER_UP: &str = "(known after up)";

/// The ARNs of the stack's resources. All but the distribution's follow from names, account
/// and region, which is what lets `plan` show complete policies before anything exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arns {
    pub account: String,
    pub region: String,
    pub stream: String,
    pub cloudfront_logs_role: String,
    pub analyser_failures: String,
    pub manuscripts_queue: String,
    pub manuscripts_dead_letter_queue: String,
    pub alarm_topic: String,
    pub schedule_rule: String,
    pub distribution: String,
    /// The customer managed key of `[encryption]`, when the config names one.
    pub kms_key: Option<String>,
    /// `[waf.auto_block]`: the block table, and the block list IP sets (any id) the
    /// evaluator writes.
    pub block_table: Option<String>,
    pub block_ip_sets: Vec<String>,
    names: Names,
}

impl Arns {
    pub fn new(config: &StackConfig, account: &str, distribution_id: Option<&str>) -> Arns {
        let names = config.names();
        let region = &config.region;
        let regional = |service: &str, resource: String| {
            format!("arn:aws:{service}:{region}:{account}:{resource}")
        };
        Arns {
            account: account.to_string(),
            region: region.clone(),
            stream: regional("kinesis", format!("stream/{}", names.log_stream())),
            cloudfront_logs_role: format!(
                "arn:aws:iam::{account}:role/{}",
                names.cloudfront_logs_role()
            ),
            analyser_failures: regional("sqs", names.analyser_failure_queue()),
            manuscripts_queue: regional("sqs", names.manuscripts_queue()),
            manuscripts_dead_letter_queue: regional("sqs", names.manuscripts_dead_letter_queue()),
            alarm_topic: regional("sns", names.alarm_topic()),
            schedule_rule: regional("events", format!("rule/{}", names.schedule_rule())),
            distribution: format!(
                "arn:aws:cloudfront::{account}:distribution/{}",
                distribution_id.unwrap_or(KNOWN_AFTER_UP)
            ),
            kms_key: config.encryption.kms_key_arn.clone(),
            block_table: config
                .auto_block_settings()
                .map(|auto| regional("dynamodb", format!("table/{}", auto.table))),
            block_ip_sets: config
                .auto_block_settings()
                .map(|auto| {
                    [auto.ip_set_v4, auto.ip_set_v6]
                        .map(|set| {
                            format!("arn:aws:wafv2:us-east-1:{account}:global/ipset/{set}/*")
                        })
                        .to_vec()
                })
                .unwrap_or_default(),
            names,
        }
    }

    pub fn role(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account)
    }

    pub fn lambda(&self, function: Function) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region,
            self.account,
            self.names.lambda(function)
        )
    }

    pub fn log_group(&self, function: Function) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            self.region,
            self.account,
            self.names.log_group(function)
        )
    }

    pub fn bucket(bucket: &str) -> String {
        format!("arn:aws:s3:::{bucket}")
    }
}

/// Which functions a config deploys: the evaluator only with alarms, the invalidator only
/// with a manuscripts bucket.
pub fn functions(config: &StackConfig) -> Vec<Function> {
    Function::ALL
        .into_iter()
        .filter(|f| match f {
            Function::LogAnalyser => config.logging.enabled,
            Function::AlarmEvaluator => config.alarms.enabled,
            Function::Invalidator => config.manuscripts.is_some(),
        })
        .collect()
}

/// The cargo package (and binary) of each function.
pub fn package(function: Function) -> String {
    format!("cfrp-{}", function.short())
}

/// SQS settings.
pub mod queues {
    /// Failed batches and poison messages are kept the longest SQS allows: 14 days.
    pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 1_209_600;
    /// A message is retried this many times before it moves to the dead-letter queue.
    pub const MAX_RECEIVE_COUNT: u32 = 5;

    /// AWS: an SQS event source needs the queue's visibility timeout to be at least the
    /// function timeout; the Lambda developer guide recommends six times the timeout plus
    /// the batching window so retries cannot overlap a running invocation.
    pub fn visibility_timeout(function_timeout: u32, batch_window: u32) -> u32 {
        function_timeout * 6 + batch_window
    }

    /// Server-side encryption of every queue: SSE-KMS with the configured key, else SSE-SQS
    /// (SQS-owned keys). Never the AWS-managed key `alias/aws/sqs`: its key policy cannot be
    /// edited to let S3 use it, so S3 could not deliver the bucket's events to the queue.
    pub fn encryption(
        kms_key_arn: Option<&str>,
    ) -> Vec<(aws_sdk_sqs::types::QueueAttributeName, String)> {
        use aws_sdk_sqs::types::QueueAttributeName;
        match kms_key_arn {
            Some(key) => vec![
                (QueueAttributeName::KmsMasterKeyId, key.to_string()),
                (
                    QueueAttributeName::SqsManagedSseEnabled,
                    "false".to_string(),
                ),
            ],
            None => vec![(QueueAttributeName::SqsManagedSseEnabled, "true".to_string())],
        }
    }
}

/// Event source mapping settings.
pub mod mappings {
    /// Kinesis → analyser: 1,000 records of ~1–2 KB stay well under the 6 MB payload limit.
    pub const KINESIS_BATCH_SIZE: i32 = 1000;
    /// Wait up to 5 s to fill a batch: fewer, larger invocations and PutMetricData calls.
    pub const KINESIS_BATCHING_WINDOW: i32 = 5;
    /// Two concurrent batches per shard keep up with an on-demand stream's bursts.
    pub const KINESIS_PARALLELIZATION: i32 = 2;
    /// Bounded retries and record age: a failing batch is bisected, retried at most 3 times
    /// within an hour, then sent to the on-failure queue, never silently dropped.
    pub const KINESIS_MAX_RETRIES: i32 = 3;
    pub const KINESIS_MAX_RECORD_AGE: i32 = 3600;
    /// SQS → invalidator: a burst of uploads within the batching window becomes one batch.
    pub const SQS_BATCH_SIZE: i32 = 100;
    /// SQS → invalidator: at most 2 invocations at once, the least Lambda allows
    /// (ScalingConfig.MaximumConcurrency, 2–1000). Each invocation creates one invalidation,
    /// and CloudFront refuses more than 15 wildcard paths (3,000 file paths) in progress per
    /// distribution (TooManyInvalidationsInProgress): unbounded, a burst of uploads fans out
    /// into that refusal; bounded, the batches queue and the invalidator's retries wait out
    /// the ones in progress.
    pub const SQS_MAX_CONCURRENCY: i32 = 2;
}
