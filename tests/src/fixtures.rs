//! Steps several tests and the demo share: function environments,
//! Kinesis round trips, SQS reads and CloudWatch queries, all against the emulator.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use cfrp_events::SqsMessage;

use crate::emulator;

/// What a function process gets besides Lambda's own variables: its settings, the emulator
/// as endpoint, test credentials and the region.
pub fn function_env(settings: &str) -> Vec<(String, String)> {
    vec![
        ("CFRP_SETTINGS".to_string(), settings.to_string()),
        ("AWS_ENDPOINT_URL".to_string(), emulator().endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
    ]
}

/// Borrowed pairs for [`crate::runtime_api::run_bootstrap`].
pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Puts each line as one record, then reads every shard back from the start, as Lambda's
/// Kinesis pollers would (one batch per shard); returns the record payloads, shard by shard.
pub async fn kinesis_round_trip(
    kinesis: &aws_sdk_kinesis::Client,
    stream: &str,
    lines: &[String],
) -> anyhow::Result<Vec<Vec<u8>>> {
    for (i, line) in lines.iter().enumerate() {
        kinesis
            .put_record()
            .stream_name(stream)
            .partition_key(i.to_string())
            .data(Blob::new(line.as_bytes()))
            .send()
            .await?;
    }
    let shards = kinesis.list_shards().stream_name(stream).send().await?;
    let mut payloads = Vec::new();
    for shard in shards.shards() {
        let iterator = kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await?;
        let records = kinesis
            .get_records()
            .shard_iterator(iterator.shard_iterator().unwrap_or_default())
            .limit(10_000)
            .send()
            .await?;
        payloads.extend(records.records().iter().map(|r| r.data().as_ref().to_vec()));
    }
    Ok(payloads)
}

/// Every message waiting in a queue (a few long polls of one second).
pub async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> anyhow::Result<Vec<SqsMessage>> {
    let mut out = Vec::new();
    for _ in 0..5 {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await?;
        let batch = received.messages();
        if batch.is_empty() && !out.is_empty() {
            break;
        }
        out.extend(batch.iter().map(|m| SqsMessage {
            message_id: m.message_id().unwrap_or_default().to_string(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
            body: m.body().unwrap_or_default().to_string(),
        }));
    }
    Ok(out)
}

/// A GetMetricData query for one metric statistic.
pub fn stat_query(
    id: &str,
    namespace: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
    period: i32,
) -> MetricDataQuery {
    let mut builder = Metric::builder().namespace(namespace).metric_name(metric);
    for (name, value) in dimensions {
        builder = builder.dimensions(Dimension::builder().name(*name).value(*value).build());
    }
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(builder.build())
                .period(period)
                .stat(stat)
                .build(),
        )
        .build()
}

/// A distribution as another tool or a person makes it, for the tests of what the deployer
/// does with distributions it did not create.
#[derive(Debug, Clone, Copy)]
pub struct HandMade<'a> {
    pub comment: &'a str,
    pub enabled: bool,
    /// (id, domain) of each custom https-only origin; the first is the default behaviour's.
    pub origins: &'a [(&'a str, &'a str)],
    /// (path pattern, origin id) of each cache behaviour.
    pub behaviors: &'a [(&'a str, &'a str)],
    /// Tags it is created with (none: plain CreateDistribution).
    pub tags: &'a [(&'a str, &'a str)],
}

/// AWS's managed CachingDisabled cache policy.
pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";

/// Creates `made` with the SDK (a unique caller reference, CachingDisabled everywhere,
/// viewers redirected to HTTPS on the default behaviour and HTTPS-only on the others);
/// its id. Panics with the reason when CloudFront refuses it.
pub async fn hand_made_distribution(
    cloudfront: &aws_sdk_cloudfront::Client,
    made: &HandMade<'_>,
) -> String {
    use aws_sdk_cloudfront::types::{
        CacheBehavior, CacheBehaviors, CustomOriginConfig, DefaultCacheBehavior,
        DistributionConfig, DistributionConfigWithTags, Origin, OriginProtocolPolicy, Origins, Tag,
        Tags, ViewerProtocolPolicy,
    };
    let built = |what: &str, e: aws_sdk_cloudfront::error::BuildError| -> ! {
        panic!("building the hand-made distribution's {what}: {e}")
    };
    let mut origins = Vec::new();
    for (id, domain) in made.origins {
        let custom = CustomOriginConfig::builder()
            .http_port(80)
            .https_port(443)
            .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
            .build()
            .unwrap_or_else(|e| built("origin config", e));
        origins.push(
            Origin::builder()
                .id(*id)
                .domain_name(*domain)
                .origin_path("")
                .custom_origin_config(custom)
                .build()
                .unwrap_or_else(|e| built("origin", e)),
        );
    }
    let mut behaviors = Vec::new();
    for (pattern, target) in made.behaviors {
        behaviors.push(
            CacheBehavior::builder()
                .path_pattern(*pattern)
                .target_origin_id(*target)
                .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
                .cache_policy_id(CACHING_DISABLED)
                .build()
                .unwrap_or_else(|e| built("behaviour", e)),
        );
    }
    let default_origin = made.origins.first().map(|(id, _)| *id).unwrap_or_default();
    let mut config = DistributionConfig::builder()
        .caller_reference(crate::unique("hand-made"))
        .comment(made.comment)
        .enabled(made.enabled)
        .origins(
            Origins::builder()
                .quantity(origins.len() as i32)
                .set_items(Some(origins))
                .build()
                .unwrap_or_else(|e| built("origins", e)),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id(default_origin)
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id(CACHING_DISABLED)
                .build()
                .unwrap_or_else(|e| built("default behaviour", e)),
        );
    if !behaviors.is_empty() {
        config = config.cache_behaviors(
            CacheBehaviors::builder()
                .quantity(behaviors.len() as i32)
                .set_items(Some(behaviors))
                .build()
                .unwrap_or_else(|e| built("behaviours", e)),
        );
    }
    let config = config.build().unwrap_or_else(|e| built("config", e));
    let distribution = if made.tags.is_empty() {
        cloudfront
            .create_distribution()
            .distribution_config(config)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating the hand-made distribution: {e:?}"))
            .distribution
    } else {
        let mut tags = Tags::builder();
        for (key, value) in made.tags {
            tags = tags.items(
                Tag::builder()
                    .key(*key)
                    .value(*value)
                    .build()
                    .unwrap_or_else(|e| built("tag", e)),
            );
        }
        cloudfront
            .create_distribution_with_tags()
            .distribution_config_with_tags(
                DistributionConfigWithTags::builder()
                    .distribution_config(config)
                    .tags(tags.build())
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating the hand-made distribution: {e:?}"))
            .distribution
    };
    distribution.map(|d| d.id).unwrap_or_default()
}
