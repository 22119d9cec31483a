#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! The deployer against the emulator: `up` from nothing reads back field by field, a second
//! `up` makes no mutating call, a changed origin is exactly one distribution update shown by
//! `plan`, an `up` interrupted at every mutating call resumes without duplicates, and `down`
//! leaves nothing tagged with the stack while a user's bucket and its other notifications
//! survive; features turned off in the config are removed by `up` (listed first by `plan`).
//!
//! The tests of this file run one at a time: the interrupted-`up` test makes the emulator
//! (one per test process) fail every change after the Nth, which would break a neighbour.

use std::collections::BTreeSet;

use aws_config::{Region, SdkConfig};
use cfrp_config::naming::STACK_TAG;
use cfrp_tests::deploy::{artifacts, deployer, down, plan, stack_file, up};
use cfrp_tests::{clear_faults, inject_fault, sdk_config, unique};
// (`cfrp_tests::faults` reads back how much of a fault was used.)
use serde_json::{Value, json};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn regional(region: &str) -> SdkConfig {
    sdk_config()
        .await
        .to_builder()
        .region(Region::new(region.to_string()))
        .build()
}

fn stack_name(prefix: &str) -> String {
    // Stack names are at most 32 characters of [a-z0-9-].
    unique(prefix).chars().take(32).collect()
}

/// A bucket the user owns before the stack exists, with a notification of its own.
async fn users_bucket(config: &SdkConfig, bucket: &str, other_queue_arn: &str) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(bucket)
        .key("keep/me.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"mine"))
        .send()
        .await
        .unwrap();
    let theirs = aws_sdk_s3::types::QueueConfiguration::builder()
        .id("someone-elses")
        .queue_arn(other_queue_arn)
        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(theirs)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// The ids of a bucket's queue notification entries.
async fn notification_ids(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeSet<String> {
    let notification = s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    notification
        .queue_configurations()
        .iter()
        .filter_map(|q| q.id().map(str::to_string))
        .collect()
}

/// The distribution tagged with the stack (there must be at most one).
/// A bucket's protection as S3 answers it: the four Block Public Access settings (None:
/// no configuration), the default encryption algorithm and key, and the policy document.
#[derive(Debug, PartialEq)]
struct Protection {
    block: Option<[bool; 4]>,
    encryption: Option<(String, Option<String>)>,
    policy: Option<String>,
}

async fn protection(s3: &aws_sdk_s3::Client, bucket: &str) -> Protection {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    let block = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out.public_access_block_configuration().map(|c| {
            [
                c.block_public_acls().unwrap_or(false),
                c.ignore_public_acls().unwrap_or(false),
                c.block_public_policy().unwrap_or(false),
                c.restrict_public_buckets().unwrap_or(false),
            ]
        }),
        Err(e) => {
            let code = e.as_service_error().and_then(|e| e.code());
            assert_eq!(code, Some("NoSuchPublicAccessBlockConfiguration"));
            None
        }
    };
    let encryption = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| {
                (
                    d.sse_algorithm().as_str().to_string(),
                    d.kms_master_key_id().map(str::to_string),
                )
            }),
        Err(e) => {
            let code = e.as_service_error().and_then(|e| e.code());
            assert_eq!(code, Some("ServerSideEncryptionConfigurationNotFoundError"));
            None
        }
    };
    let policy = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out.policy().map(str::to_string),
        Err(e) => {
            let code = e.as_service_error().and_then(|e| e.code());
            assert_eq!(code, Some("NoSuchBucketPolicy"));
            None
        }
    };
    Protection {
        block,
        encryption,
        policy,
    }
}

async fn stack_distributions(cloudfront: &aws_sdk_cloudfront::Client, stack: &str) -> Vec<String> {
    let list = cloudfront.list_distributions().send().await.unwrap();
    let mut ids = Vec::new();
    for d in list
        .distribution_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default()
    {
        let tags = cloudfront
            .list_tags_for_resource()
            .resource(d.arn())
            .send()
            .await
            .unwrap();
        if tags.tags().is_some_and(|t| {
            t.items()
                .iter()
                .any(|t| t.key() == STACK_TAG && t.value() == Some(stack))
        }) {
            ids.push(d.id().to_string());
        }
    }
    ids
}

fn statements(document: &str) -> Vec<Value> {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let parsed: Value = serde_json::from_str(document)
        .or_else(|_| serde_json::from_str(&decoded))
        .unwrap();
    parsed["Statement"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_from_nothing_converges_plans_one_change_and_down_removes_everything() {
    let _serial = SERIAL.lock().await;
    clear_faults().unwrap();
    let name = stack_name("e2e");
    let stack = stack_file(&name, |t| t);
    let eu = regional("eu-west-1").await;
    let global = sdk_config().await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&global);
    let iam = aws_sdk_iam::Client::new(&global);
    let sqs = aws_sdk_sqs::Client::new(&eu);
    let other_queue = sqs
        .create_queue()
        .queue_name(format!("{name}-other"))
        .send()
        .await
        .unwrap();
    let other_arn = format!("arn:aws:sqs:eu-west-1:123456789012:{name}-other");
    users_bucket(&eu, &stack.bucket, &other_arn).await;
    let users_protection = protection(&s3(&eu), &stack.bucket).await;

    // ---- up from nothing
    let report = up(&stack);
    // The user's bucket is inspected, never changed: each protection it lacks is a warning.
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "S3 bucket" && w["name"] == stack.bucket.as_str())
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 3, "{report:#}");
    assert!(
        warnings[0].contains(
            "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets"
        )
    );
    assert!(warnings[1].contains("no default encryption"));
    assert!(warnings[2].contains("aws:SecureTransport"));
    assert_eq!(protection(&s3(&eu), &stack.bucket).await, users_protection);
    let created = report["summary"]["create"].as_u64().unwrap();
    assert!(created >= 30, "{report:#}");
    // Only the bucket existed before.
    assert_eq!(report["summary"]["unchanged"], 1, "{report:#}");
    assert_eq!(report["summary"]["update"], 0);
    let distribution_id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let domain = report["distribution"]["domain_name"]
        .as_str()
        .unwrap()
        .to_string();

    // Distribution: the reverse-proxy settings, field by field.
    let got = cloudfront
        .get_distribution_config()
        .id(&distribution_id)
        .send()
        .await
        .unwrap();
    let dc = got.distribution_config().unwrap();
    assert!(dc.enabled());
    assert_eq!(dc.comment(), "Reverse proxy for the shop");
    assert_eq!(dc.price_class().unwrap().as_str(), "PriceClass_100");
    assert_eq!(dc.http_version().unwrap().as_str(), "http2and3");
    assert_eq!(dc.is_ipv6_enabled(), Some(true));
    assert_eq!(dc.aliases().unwrap().items(), ["cdn.shop.example.com"]);
    let cert = dc.viewer_certificate().unwrap();
    assert!(
        cert.acm_certificate_arn()
            .unwrap()
            .starts_with("arn:aws:acm:us-east-1:")
    );
    assert_eq!(cert.ssl_support_method().unwrap().as_str(), "sni-only");
    assert_eq!(
        cert.minimum_protocol_version().unwrap().as_str(),
        "TLSv1.2_2021"
    );
    let geo = dc.restrictions().unwrap().geo_restriction().unwrap();
    assert_eq!(geo.restriction_type().as_str(), "blacklist");
    assert_eq!(geo.items(), ["KP"]);
    let origins = dc.origins().unwrap().items();
    assert_eq!(origins.len(), 2);
    let app = origins.iter().find(|o| o.id() == "app").unwrap();
    assert_eq!(app.domain_name(), "app.shop.example.com");
    let custom = app.custom_origin_config().unwrap();
    assert_eq!(custom.origin_protocol_policy().as_str(), "https-only");
    assert_eq!((custom.http_port(), custom.https_port()), (80, 443));
    assert_eq!(custom.origin_read_timeout(), Some(30));
    assert_eq!(custom.origin_keepalive_timeout(), Some(5));
    let tls: Vec<&str> = custom
        .origin_ssl_protocols()
        .unwrap()
        .items()
        .iter()
        .map(|p| p.as_str())
        .collect();
    assert_eq!(tls, ["TLSv1.2"]);
    let api = origins.iter().find(|o| o.id() == "api").unwrap();
    assert_eq!(api.origin_path(), Some("/v1"));
    let mut secrets = BTreeSet::new();
    for origin in origins {
        let header = origin
            .custom_headers()
            .unwrap()
            .items()
            .iter()
            .find(|h| h.header_name() == "X-Origin-Verify")
            .expect("every origin gets the verify header");
        assert_eq!(header.header_value().len(), 64, "32 random bytes, hex");
        secrets.insert(header.header_value().to_string());
    }
    assert_eq!(secrets.len(), 1, "one secret per stack");
    let log_config_arn =
        format!("arn:aws:cloudfront::123456789012:realtime-log-config/cfrp-{name}-realtime-logs");
    let function_arn =
        format!("arn:aws:cloudfront::123456789012:function/cfrp-{name}-viewer-request");
    let default = dc.default_cache_behavior().unwrap();
    assert_eq!(default.target_origin_id(), "app");
    assert_eq!(
        default.viewer_protocol_policy().as_str(),
        "redirect-to-https"
    );
    assert_eq!(default.compress(), Some(true));
    assert_eq!(default.allowed_methods().unwrap().quantity(), 7);
    assert_eq!(
        default.cache_policy_id(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    );
    assert_eq!(
        default.origin_request_policy_id(),
        Some("b689b0a8-53d0-40ab-baf2-68738e2966ac")
    );
    assert_eq!(
        default.response_headers_policy_id(),
        Some("67f7725c-6f97-4210-82d7-5512b31e9d03")
    );
    assert_eq!(
        default.realtime_log_config_arn(),
        Some(log_config_arn.as_str())
    );
    let association = &default.function_associations().unwrap().items()[0];
    assert_eq!(association.event_type().as_str(), "viewer-request");
    assert_eq!(association.function_arn(), function_arn);
    let behaviors = dc.cache_behaviors().unwrap().items();
    let patterns: Vec<&str> = behaviors.iter().map(|b| b.path_pattern()).collect();
    assert_eq!(patterns, ["/api/*", "/static/*"]);
    for b in behaviors {
        assert_eq!(b.realtime_log_config_arn(), Some(log_config_arn.as_str()));
        assert_eq!(b.function_associations().unwrap().quantity(), 1);
    }
    // The custom cache policy exists only for the behavior that needs it.
    let statics = &behaviors[1];
    let policy = cloudfront
        .get_cache_policy_config()
        .id(statics.cache_policy_id().unwrap())
        .send()
        .await
        .unwrap();
    let policy = policy.cache_policy_config().unwrap();
    assert_eq!(policy.default_ttl(), Some(86400));
    assert_eq!(
        policy
            .parameters_in_cache_key_and_forwarded_to_origin()
            .unwrap()
            .headers_config()
            .unwrap()
            .headers()
            .unwrap()
            .items(),
        ["Accept-Language"]
    );
    assert_eq!(
        behaviors[0].cache_policy_id(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    );

    // Real-time logs: the log config writes to the stack's stream through its role.
    let log_config = cloudfront
        .get_realtime_log_config()
        .name(format!("cfrp-{name}-realtime-logs"))
        .send()
        .await
        .unwrap();
    let log_config = log_config.realtime_log_config().unwrap();
    assert_eq!(log_config.sampling_rate(), 100);
    let expected_fields: Vec<String> = cfrp_config::Field::default_set()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    assert_eq!(log_config.fields(), expected_fields.as_slice());
    let endpoint = log_config.end_points()[0].kinesis_stream_config().unwrap();
    assert_eq!(
        endpoint.stream_arn(),
        format!("arn:aws:kinesis:eu-west-1:123456789012:stream/cfrp-{name}-realtime-logs")
    );
    assert_eq!(
        endpoint.role_arn(),
        format!("arn:aws:iam::123456789012:role/cfrp-{name}-cloudfront-logs")
    );
    let kinesis = aws_sdk_kinesis::Client::new(&eu);
    let stream = kinesis
        .describe_stream_summary()
        .stream_name(format!("cfrp-{name}-realtime-logs"))
        .send()
        .await
        .unwrap();
    let stream = stream.stream_description_summary().unwrap();
    assert_eq!(stream.stream_status().as_str(), "ACTIVE");
    // Encrypted with Kinesis's AWS-managed key: no [encryption] key in the config.
    assert_eq!(stream.encryption_type().map(|e| e.as_str()), Some("KMS"));
    assert_eq!(stream.key_id(), Some("alias/aws/kinesis"));
    assert_eq!(
        stream.stream_mode_details().unwrap().stream_mode().as_str(),
        "ON_DEMAND"
    );

    // The viewer-request function is published with the tested source.
    let live = cloudfront
        .get_function()
        .name(format!("cfrp-{name}-viewer-request"))
        .stage(aws_sdk_cloudfront::types::FunctionStage::Live)
        .send()
        .await
        .unwrap();
    let source = std::fs::read(
        cfrp_tests::repo_root().join("deployer/cloudfront-function/viewer-request.js"),
    )
    .unwrap();
    assert_eq!(live.function_code().unwrap().as_ref(), source.as_slice());

    // IAM: least privilege, no "*" action, resources are the stack's own ARNs.
    for role in [
        format!("cfrp-{name}-cloudfront-logs"),
        format!("cfrp-{name}-log-analyser-role"),
        format!("cfrp-{name}-alarm-evaluator-role"),
        format!("cfrp-{name}-invalidator-role"),
    ] {
        let policy = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name("cfrp")
            .send()
            .await
            .unwrap();
        for statement in statements(policy.policy_document()) {
            for action in statement["Action"].as_array().unwrap() {
                assert!(!action.as_str().unwrap().contains('*'), "{role}: {action}");
            }
            for resource in statement["Resource"].as_array().unwrap() {
                let resource = resource.as_str().unwrap();
                // "*" only where AWS has no resource-level permission: CloudWatch's metric
                // calls and the stream mapping's kinesis:ListStreams.
                let unscoped_only = statement["Action"].as_array().unwrap().iter().all(|a| {
                    let a = a.as_str().unwrap();
                    a.starts_with("cloudwatch:") || a == "kinesis:ListStreams"
                });
                assert!(
                    resource.contains(&format!("cfrp-{name}-"))
                        || resource.ends_with(&format!("distribution/{distribution_id}"))
                        || (resource == "*" && unscoped_only),
                    "{role}: {resource}"
                );
            }
        }
    }

    // Lambda functions: runtime, architecture, settings, log groups.
    let lambda = aws_sdk_lambda::Client::new(&eu);
    for function in ["log-analyser", "alarm-evaluator", "invalidator"] {
        let f = lambda
            .get_function()
            .function_name(format!("cfrp-{name}-{function}"))
            .send()
            .await
            .unwrap();
        let c = f.configuration().unwrap();
        assert_eq!(c.runtime().unwrap().as_str(), "provided.al2023");
        assert_eq!(c.handler(), Some("bootstrap"));
        assert_eq!(c.architectures()[0].as_str(), "arm64");
        let settings = c
            .environment()
            .unwrap()
            .variables()
            .unwrap()
            .get("CFRP_SETTINGS")
            .unwrap();
        let settings: Value = serde_json::from_str(settings).unwrap();
        assert_eq!(settings["stack"], name.as_str());
        if function == "invalidator" {
            assert_eq!(settings["distribution_id"], distribution_id.as_str());
        }
        if function == "alarm-evaluator" {
            assert_eq!(settings["distribution_domain"], domain.as_str());
        }
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(&eu);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/cfrp-{name}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 3);
    assert!(
        groups
            .log_groups()
            .iter()
            .all(|g| g.retention_in_days() == Some(14))
    );

    // Wiring: Kinesis → analyser with every safety setting; SQS → invalidator.
    let kinesis_mapping = lambda
        .list_event_source_mappings()
        .function_name(format!("cfrp-{name}-log-analyser"))
        .send()
        .await
        .unwrap();
    let m = &kinesis_mapping.event_source_mappings()[0];
    assert_eq!(kinesis_mapping.event_source_mappings().len(), 1);
    assert_eq!(m.batch_size(), Some(1000));
    assert_eq!(m.maximum_batching_window_in_seconds(), Some(5));
    assert_eq!(m.parallelization_factor(), Some(2));
    assert_eq!(m.bisect_batch_on_function_error(), Some(true));
    assert_eq!(m.maximum_retry_attempts(), Some(3));
    assert_eq!(m.maximum_record_age_in_seconds(), Some(3600));
    assert_eq!(
        m.function_response_types()[0].as_str(),
        "ReportBatchItemFailures"
    );
    assert_eq!(
        m.destination_config()
            .unwrap()
            .on_failure()
            .unwrap()
            .destination(),
        Some(
            format!("arn:aws:sqs:eu-west-1:123456789012:cfrp-{name}-log-analyser-failures")
                .as_str()
        )
    );
    let sqs_mapping = lambda
        .list_event_source_mappings()
        .function_name(format!("cfrp-{name}-invalidator"))
        .send()
        .await
        .unwrap();
    let m = &sqs_mapping.event_source_mappings()[0];
    assert_eq!(m.maximum_batching_window_in_seconds(), Some(30));
    // Bounded, so a burst of uploads cannot fan out into TooManyInvalidationsInProgress.
    assert_eq!(
        m.scaling_config().and_then(|c| c.maximum_concurrency()),
        Some(2)
    );
    assert_eq!(
        m.function_response_types()[0].as_str(),
        "ReportBatchItemFailures"
    );
    let queue_url = sqs
        .get_queue_url()
        .queue_name(format!("cfrp-{name}-manuscripts"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    let redrive: Value =
        serde_json::from_str(&attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("cfrp-{name}-manuscripts-dlq"))
    );
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        "390"
    );
    // SSE-SQS on every queue (S3 cannot deliver to one under alias/aws/sqs).
    for queue in ["manuscripts", "manuscripts-dlq", "log-analyser-failures"] {
        let url = sqs
            .get_queue_url()
            .queue_name(format!("cfrp-{name}-{queue}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let sse = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let sse = sse.attributes().unwrap();
        assert_eq!(
            sse.get(&aws_sdk_sqs::types::QueueAttributeName::SqsManagedSseEnabled)
                .map(String::as_str),
            Some("true"),
            "{queue}: {sse:?}"
        );
        assert!(!sse.contains_key(&aws_sdk_sqs::types::QueueAttributeName::KmsMasterKeyId));
    }

    // The schedule runs the evaluator, which lets only that rule invoke it.
    let events = aws_sdk_eventbridge::Client::new(&eu);
    let rule = events
        .describe_rule()
        .name(format!("cfrp-{name}-evaluate"))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some("rate(1 minute)"));
    let targets = events
        .list_targets_by_rule()
        .rule(format!("cfrp-{name}-evaluate"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        targets.targets()[0].arn(),
        format!("arn:aws:lambda:eu-west-1:123456789012:function:cfrp-{name}-alarm-evaluator")
    );
    let permission = lambda
        .get_policy()
        .function_name(format!("cfrp-{name}-alarm-evaluator"))
        .send()
        .await
        .unwrap();
    assert!(
        permission
            .policy()
            .unwrap()
            .contains(&format!("rule/cfrp-{name}-evaluate"))
    );

    // The bucket notification is merged: the user's own entry is still there.
    let s3 = s3(&eu);
    let ours = format!("cfrp-{name}-manuscripts");
    assert_eq!(
        notification_ids(&s3, &stack.bucket).await,
        BTreeSet::from(["someone-elses".to_string(), ours])
    );

    // Alarms: one per rule, on the rule's state, notifying the topic on ALARM and OK.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&eu);
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("cfrp-{name}-rule-"))
        .send()
        .await
        .unwrap();
    let topic = format!("arn:aws:sns:eu-west-1:123456789012:cfrp-{name}-alarms");
    let alarm_names: BTreeSet<&str> = alarms
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    let expected: BTreeSet<String> = [
        "HighLatency",
        "LowSuccessRate",
        "High5xxErrorRate",
        "HighThreatClients",
        "ThroughputDegradation",
        // /static/* caches, so the built-in cache-hit rule is there too.
        "LowCacheHitRatio",
        "SlowOrigin",
    ]
    .iter()
    .map(|r| format!("cfrp-{name}-rule-{r}"))
    .collect();
    assert_eq!(
        alarm_names,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    for alarm in alarms.metric_alarms() {
        assert_eq!(alarm.alarm_actions(), std::slice::from_ref(&topic));
        assert_eq!(alarm.ok_actions(), std::slice::from_ref(&topic));
    }
    pipeline_alarms_watch_the_dead_letters(&eu, &name, &topic).await;
    let sns = aws_sdk_sns::Client::new(&eu);
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(subscriptions.subscriptions().len(), 1);
    assert_eq!(
        subscriptions.subscriptions()[0].endpoint(),
        Some("ops@shop.example.com")
    );
    cloudwatch
        .get_dashboard()
        .dashboard_name(format!("cfrp-{name}-dashboard"))
        .send()
        .await
        .unwrap();

    // ---- a second up changes nothing
    let again = up(&stack);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    assert_eq!(again["summary"]["unchanged"].as_u64(), Some(created + 1));

    // ---- a changed origin domain is one field in plan, one call in up
    let moved = stack_file(&name, |t| {
        t.replace(
            "domain = \"app.shop.example.com\"",
            "domain = \"app2.shop.example.com\"",
        )
    });
    let plan = plan(&moved);
    let changed: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .collect();
    assert_eq!(changed.len(), 1, "{plan:#}");
    assert_eq!(changed[0]["kind"], "CloudFront distribution");
    assert_eq!(
        changed[0]["changes"],
        json!([{"field": "origins[app].domain", "from": "app.shop.example.com", "to": "app2.shop.example.com"}])
    );
    let applied = up(&moved);
    assert_eq!(
        applied["mutations"],
        json!([format!("cloudfront:UpdateDistribution {distribution_id}")]),
        "{applied:#}"
    );
    let after = cloudfront
        .get_distribution_config()
        .id(&distribution_id)
        .send()
        .await
        .unwrap();
    let origins = after.distribution_config().unwrap().origins().unwrap();
    assert!(
        origins
            .items()
            .iter()
            .any(|o| o.domain_name() == "app2.shop.example.com")
    );
    let header = origins.items()[0].custom_headers().unwrap().items()[0].header_value();
    assert!(secrets.contains(header), "the secret survives updates");

    // ---- down: nothing tagged with the stack remains; the user's bucket survives
    let removed = down(&moved);
    assert!(
        removed["summary"]["delete"].as_u64().unwrap() >= 25,
        "{removed:#}"
    );
    // `down` reports exactly what `up` created, under the same names (the topic's
    // subscription and the function's invoke permission go with their parents, and are
    // listed all the same).
    let listed = |report: &serde_json::Value, action: &str| -> std::collections::BTreeSet<String> {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == action)
            .map(|c| format!("{} {}", c["kind"], c["name"]))
            .collect()
    };
    assert_eq!(listed(&removed, "delete"), listed(&report, "create"));
    assert_nothing_tagged(&name).await;
    let objects = s3
        .list_objects_v2()
        .bucket(&stack.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 1, "the user's objects stay");
    assert_eq!(
        notification_ids(&s3, &stack.bucket).await,
        BTreeSet::from(["someone-elses".to_string()])
    );
    // A second down has nothing left to do.
    let again = down(&moved);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    drop(other_queue);
}

/// Sweeps every service the deployer uses for resources carrying the stack's tag.
/// The pipeline's alarms exist, notify the topic, and a message left in the manuscripts
/// dead-letter queue drives that alarm's own metric query above its threshold (the emulator
/// publishes SQS's `AWS/SQS` metrics as SQS does).
async fn pipeline_alarms_watch_the_dead_letters(eu: &SdkConfig, name: &str, topic: &str) {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(eu);
    let pipeline = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("cfrp-{name}-pipeline-"))
        .send()
        .await
        .unwrap();
    let names: BTreeSet<String> = pipeline
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .map(|n| {
            n.trim_start_matches(&format!("cfrp-{name}-pipeline-"))
                .to_string()
        })
        .collect();
    let expected: BTreeSet<String> = [
        "log-analyser-failures",
        "log-analyser-iterator-age",
        "malformed-records",
        "manuscripts-dead-letters",
        "log-analyser-errors",
        "log-analyser-throttles",
        "alarm-evaluator-errors",
        "alarm-evaluator-throttles",
        "invalidator-errors",
        "invalidator-throttles",
        "alarm-evaluator-stopped",
    ]
    .iter()
    .map(|n| n.to_string())
    .collect();
    assert_eq!(names, expected);
    let stopped = pipeline
        .metric_alarms()
        .iter()
        .find(|a| {
            a.alarm_name()
                .is_some_and(|n| n.ends_with("alarm-evaluator-stopped"))
        })
        .unwrap();
    // "Stopped" is its INSUFFICIENT_DATA state (Lambda publishes nothing when not invoked),
    // which notifies; a new alarm starts there, so a first `up` pages no one.
    assert_eq!(stopped.treat_missing_data(), Some("missing"));
    assert_eq!(stopped.insufficient_data_actions(), [topic.to_string()]);
    for alarm in pipeline.metric_alarms() {
        assert_eq!(alarm.alarm_actions(), [topic.to_string()]);
    }

    let dead_letters = pipeline
        .metric_alarms()
        .iter()
        .find(|a| {
            a.alarm_name()
                .is_some_and(|n| n.ends_with("manuscripts-dead-letters"))
        })
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(eu);
    let dlq = sqs
        .get_queue_url()
        .queue_name(format!("cfrp-{name}-manuscripts-dlq"))
        .send()
        .await
        .unwrap();
    // The alarm's own query, read back from CloudWatch, as CloudWatch evaluates it.
    let value_now = async || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let data = cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(dead_letters.metrics().to_vec()))
            .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
                now - 300,
            ))
            .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
                now + 60,
            ))
            .send()
            .await
            .unwrap();
        data.metric_data_results()
            .iter()
            .flat_map(|r| r.values().to_vec())
            .fold(0.0_f64, f64::max)
    };
    let threshold = dead_letters.threshold().unwrap();
    assert!(
        value_now().await <= threshold,
        "an empty dead-letter queue is not in alarm"
    );
    sqs.send_message()
        .queue_url(dlq.queue_url().unwrap())
        .message_body("{\"Records\": []}")
        .send()
        .await
        .unwrap();
    let value = value_now().await;
    assert!(
        value > threshold,
        "one dead letter: {value} must exceed {threshold} ({:?})",
        dead_letters.comparison_operator()
    );
    sqs.purge_queue()
        .queue_url(dlq.queue_url().unwrap())
        .send()
        .await
        .unwrap();
}

async fn assert_nothing_tagged(stack: &str) {
    let eu = regional("eu-west-1").await;
    let global = sdk_config().await;
    let tagged =
        |pairs: Vec<(String, String)>| pairs.iter().any(|(k, v)| k == STACK_TAG && v == stack);
    let cloudfront = aws_sdk_cloudfront::Client::new(&global);
    assert!(stack_distributions(&cloudfront, stack).await.is_empty());
    let kinesis = aws_sdk_kinesis::Client::new(&eu);
    for name in kinesis.list_streams().send().await.unwrap().stream_names() {
        let tags = kinesis
            .list_tags_for_stream()
            .stream_name(name)
            .send()
            .await
            .unwrap();
        let pairs = tags
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert!(!tagged(pairs), "stream {name}");
    }
    let iam = aws_sdk_iam::Client::new(&global);
    for role in iam.list_roles().send().await.unwrap().roles() {
        let tags = iam
            .list_role_tags()
            .role_name(role.role_name())
            .send()
            .await
            .unwrap();
        let pairs = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        assert!(!tagged(pairs), "role {}", role.role_name());
    }
    let lambda = aws_sdk_lambda::Client::new(&eu);
    for f in lambda.list_functions().send().await.unwrap().functions() {
        assert!(
            !f.function_name()
                .unwrap_or_default()
                .starts_with(&format!("cfrp-{stack}-")),
            "function {:?}",
            f.function_name()
        );
    }
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    for m in mappings.event_source_mappings() {
        assert!(
            !m.function_arn()
                .unwrap_or_default()
                .contains(&format!("cfrp-{stack}-")),
            "mapping {:?}",
            m.uuid()
        );
    }
    let sqs = aws_sdk_sqs::Client::new(&eu);
    for url in sqs.list_queues().send().await.unwrap().queue_urls() {
        let tags = sqs.list_queue_tags().queue_url(url).send().await.unwrap();
        let pairs = tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        assert!(!tagged(pairs), "queue {url}");
    }
    let sns = aws_sdk_sns::Client::new(&eu);
    for topic in sns.list_topics().send().await.unwrap().topics() {
        let arn = topic.topic_arn().unwrap_or_default();
        let tags = sns
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let pairs = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        assert!(!tagged(pairs), "topic {arn}");
    }
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&eu);
    let alarms = cloudwatch.describe_alarms().send().await.unwrap();
    for alarm in alarms.metric_alarms() {
        assert!(
            !alarm
                .alarm_name()
                .unwrap_or_default()
                .starts_with(&format!("cfrp-{stack}-")),
            "alarm {:?}",
            alarm.alarm_name()
        );
    }
    let dashboards = cloudwatch.list_dashboards().send().await.unwrap();
    assert!(
        dashboards
            .dashboard_entries()
            .iter()
            .all(|d| d.dashboard_name() != Some(format!("cfrp-{stack}-dashboard").as_str()))
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&eu);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/cfrp-{stack}-"))
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty());
    let events = aws_sdk_eventbridge::Client::new(&eu);
    let rules = events
        .list_rules()
        .name_prefix(format!("cfrp-{stack}-"))
        .send()
        .await
        .unwrap();
    assert!(rules.rules().is_empty());
    let functions = cloudfront.list_functions().send().await.unwrap();
    assert!(
        functions
            .function_list()
            .map(|l| l.items().to_vec())
            .unwrap_or_default()
            .iter()
            .all(|f| !f.name().starts_with(&format!("cfrp-{stack}-")))
    );
    let s3 = s3(&eu);
    for bucket in s3.list_buckets().send().await.unwrap().buckets() {
        let name = bucket.name().unwrap_or_default();
        if let Ok(tags) = s3.get_bucket_tagging().bucket(name).send().await {
            let pairs = tags
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            assert!(!tagged(pairs), "bucket {name}");
        }
    }
}

/// Counts what could be duplicated (resources not keyed by name): distributions, event
/// source mappings, e-mail subscriptions.
async fn duplicable_counts(stack: &str) -> (usize, usize, usize) {
    let eu = regional("eu-west-1").await;
    let global = sdk_config().await;
    let distributions = stack_distributions(&aws_sdk_cloudfront::Client::new(&global), stack).await;
    let lambda = aws_sdk_lambda::Client::new(&eu);
    let mut mappings = 0;
    for f in ["log-analyser", "invalidator"] {
        mappings += lambda
            .list_event_source_mappings()
            .function_name(format!("cfrp-{stack}-{f}"))
            .send()
            .await
            .map(|m| m.event_source_mappings().len())
            .unwrap_or(0);
    }
    let sns = aws_sdk_sns::Client::new(&eu);
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(format!(
            "arn:aws:sns:eu-west-1:123456789012:cfrp-{stack}-alarms"
        ))
        .send()
        .await
        .map(|s| s.subscriptions().len())
        .unwrap_or(0);
    (distributions.len(), mappings, subscriptions)
}

#[tokio::test(flavor = "multi_thread")]
async fn up_interrupted_at_every_mutating_call_resumes_without_duplicates() {
    let _serial = SERIAL.lock().await;
    clear_faults().unwrap();
    // A clean run gives the number of mutating calls of a full `up`.
    let clean = stack_file(&stack_name("cut"), |t| t);
    let report = up(&clean);
    let total = report["mutating_calls"].as_u64().unwrap() as usize;
    let resources = report["summary"]["create"].as_u64().unwrap();
    assert!(total > 30, "{report:#}");
    assert_eq!(duplicable_counts(&clean.name).await, (1, 2, 1));
    // The emulator enforces CloudFront's quota of 15 real-time log configs per account, so
    // each stack goes once checked.
    down(&clean);
    let art = artifacts().to_string_lossy().to_string();
    for n in 0..total {
        let stack = stack_file(&stack_name(&format!("cut{n}")), |t| t);
        let config = stack.path.to_string_lossy().to_string();
        // Planning sends one request the emulator counts as mutating (CloudFront's
        // GetRealtimeLogConfig is a POST); n = 0 cuts there, before the lease. After planning
        // the lease's PutParameter comes first: let it through too, so n cuts at change n.
        let after = if n == 0 { 0 } else { n + 1 };
        inject_fault(&json!({"mutating_after": after})).unwrap();
        let cut = deployer(&[
            "--config",
            &config,
            "--output",
            "json",
            "up",
            "--yes",
            "--artifacts",
            &art,
        ]);
        clear_faults().unwrap();
        assert_eq!(
            cut.code,
            1,
            "up with change {} failing must fail:\n{}",
            n + 1,
            cut.stderr
        );
        assert!(
            cut.stderr.contains("run `deployer up` again to resume"),
            "{}",
            cut.stderr
        );
        // Every later change failed, the lease's removal too: the run says so, and the way
        // out is `unlock` (a lease left behind would refuse the next run until it expires).
        if n > 0 {
            assert!(
                cut.stderr.contains("releasing the lease")
                    && cut.stderr.contains("`deployer unlock`"),
                "{}",
                cut.stderr
            );
        }
        deployer(&["--config", &config, "unlock", "--yes"]).expect_code(0);
        let resumed = up(&stack);
        let summary = &resumed["summary"];
        let present = summary["create"].as_u64().unwrap()
            + summary["update"].as_u64().unwrap()
            + summary["unchanged"].as_u64().unwrap();
        assert_eq!(
            present,
            resources,
            "after a cut at change {}: {resumed:#}",
            n + 1
        );
        assert_eq!(
            duplicable_counts(&stack.name).await,
            (1, 2, 1),
            "duplicates after a cut at change {}",
            n + 1
        );
        down(&stack);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_command_form_deploys_from_flags_without_a_file() {
    let _serial = SERIAL.lock().await;
    clear_faults().unwrap();
    let name = stack_name("seed");
    let art = artifacts().to_string_lossy().to_string();
    let flags = [
        "--origin-domain",
        "myapp.example.com",
        "--name",
        name.as_str(),
        "--region",
        "eu-west-1",
        "--origin-path",
        "/app",
        "--origin-protocol",
        "match-viewer",
        "--http-port",
        "8080",
        "--https-port",
        "8443",
        "--price-class",
        "PriceClass_200",
        "--comment",
        "seed form",
    ];
    let mut args = vec![
        "--config",
        "/nonexistent/proxy.toml",
        "--output",
        "json",
        "up",
        "--yes",
        "--artifacts",
        &art,
    ];
    args.extend(flags);
    let report = deployer(&args).expect_code(0).json();
    let id = report["distribution"]["distribution_id"].as_str().unwrap();
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let got = cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap();
    let dc = got.distribution_config().unwrap();
    assert_eq!(dc.comment(), "seed form");
    assert_eq!(dc.price_class().unwrap().as_str(), "PriceClass_200");
    let origin = &dc.origins().unwrap().items()[0];
    assert_eq!(origin.domain_name(), "myapp.example.com");
    assert_eq!(origin.origin_path(), Some("/app"));
    let custom = origin.custom_origin_config().unwrap();
    assert_eq!(custom.origin_protocol_policy().as_str(), "match-viewer");
    assert_eq!((custom.http_port(), custom.https_port()), (8080, 8443));
    // status reads it all back.
    let mut status = vec![
        "--config",
        "/nonexistent/proxy.toml",
        "--output",
        "json",
        "status",
    ];
    status.extend([
        "--origin-domain",
        "myapp.example.com",
        "--name",
        name.as_str(),
        "--region",
        "eu-west-1",
    ]);
    let status = deployer(&status).expect_code(0).json();
    assert_eq!(status["distribution"]["id"], id);
    assert_eq!(status["distribution"]["origins"][0]["path"], "/app");
    let functions = status["functions"].as_array().unwrap();
    assert_eq!(
        functions.len(),
        2,
        "no manuscripts, no invalidator: {status:#}"
    );
    assert!(
        functions
            .iter()
            .all(|f| f["deployed"] == true && f["last_modified"].is_string())
    );
    assert_eq!(
        functions[0]["event_source_mapping"]["state"], "Enabled",
        "{status:#}"
    );
    // The built-in rules without the cache-hit one: nothing caches in the one-command form.
    let alarms: BTreeSet<String> = status["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alarm"].as_str().unwrap().to_string())
        .collect();
    // The pipeline's own alarms for what the one-command form has: logging and the
    // evaluator, no manuscripts.
    let expected: BTreeSet<String> = [
        "HighLatency",
        "LowSuccessRate",
        "High5xxErrorRate",
        "HighThreatClients",
        "ThroughputDegradation",
    ]
    .iter()
    .map(|r| format!("cfrp-{name}-rule-{r}"))
    .chain(
        [
            "log-analyser-failures",
            "log-analyser-iterator-age",
            "malformed-records",
            "log-analyser-errors",
            "log-analyser-throttles",
            "alarm-evaluator-errors",
            "alarm-evaluator-throttles",
            "alarm-evaluator-stopped",
        ]
        .iter()
        .map(|p| format!("cfrp-{name}-pipeline-{p}")),
    )
    .collect();
    assert_eq!(alarms, expected);
    // The same flags again: nothing to do.
    let mut again = vec![
        "--config",
        "/nonexistent/proxy.toml",
        "--output",
        "json",
        "up",
        "--yes",
        "--artifacts",
        &art,
    ];
    again.extend(flags);
    let second = deployer(&again).expect_code(0).json();
    assert_eq!(second["mutating_calls"], 0, "{second:#}");
    // A bad flag value names the flag and the allowed values.
    let mut bad = vec![
        "--config",
        "/nonexistent/proxy.toml",
        "plan",
        "--artifacts",
        &art,
    ];
    bad.extend(flags);
    let position = bad.iter().position(|a| *a == "PriceClass_200").unwrap();
    bad[position] = "PriceClass_300";
    let failed = deployer(&bad).expect_code(1);
    assert!(failed.stderr.contains("--price-class"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("PriceClass_All"),
        "{}",
        failed.stderr
    );
    let mut teardown = vec![
        "--config",
        "/nonexistent/proxy.toml",
        "--output",
        "json",
        "down",
        "--yes",
    ];
    teardown.extend([
        "--origin-domain",
        "myapp.example.com",
        "--name",
        name.as_str(),
        "--region",
        "eu-west-1",
    ]);
    deployer(&teardown).expect_code(0);
    assert_nothing_tagged(&name).await;
}

/// Throttling is retried with backoff, a CloudFront PreconditionFailed is re-read and retried,
/// `up --wait` waits until Deployed, and a `down` that fails at the distribution's deletion
/// resumes when run again.
#[tokio::test(flavor = "multi_thread")]
async fn conflicts_and_throttling_are_retried_and_an_interrupted_down_resumes() {
    let _serial = SERIAL.lock().await;
    clear_faults().unwrap();
    let name = stack_name("retry");
    let art = artifacts().to_string_lossy().to_string();
    let form = |comment: &str| -> Vec<String> {
        [
            "--origin-domain",
            "retry.example.com",
            "--name",
            name.as_str(),
            "--region",
            "eu-west-1",
            "--comment",
            comment,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |command: &str, extra: Vec<String>| {
        let mut args: Vec<String> = [
            "--config",
            "/nonexistent/proxy.toml",
            "--output",
            "json",
            command,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if command != "down" {
            args.extend(["--artifacts".to_string(), art.clone()]);
        }
        if command != "plan" {
            args.push("--yes".to_string());
        }
        args.extend(extra);
        let borrowed: Vec<&str> = args.iter().map(String::as_str).collect();
        deployer(&borrowed)
    };

    // Kinesis answers "Rate exceeded" twice; the SDK backs off and the run succeeds.
    inject_fault(&json!({
        "method": "POST", "path": "^/$", "target": "Kinesis_20131202.DescribeStreamSummary",
        "status": 400, "content_type": "application/x-amz-json-1.1",
        "body": "{\"__type\":\"LimitExceededException\",\"message\":\"Rate exceeded\"}", "times": 2,
    }))
    .unwrap();
    let mut extra = form("first");
    extra.push("--wait".to_string());
    let first = run("up", extra).expect_code(0).json();
    let held = cfrp_tests::faults().unwrap();
    assert_eq!(
        held[0]["times"], 0,
        "both throttling answers were given: {held}"
    );
    clear_faults().unwrap();
    assert_eq!(first["distribution"]["status"], "Deployed", "{first:#}");
    let id = first["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone else changes the distribution between our read and our write: CloudFront says
    // PreconditionFailed once, the deployer reads again and retries.
    inject_fault(&json!({
        "method": "PUT", "path": format!("^/2020-05-31/distribution/{id}/config$"),
        "status": 412,
        "body": "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>PreconditionFailed</Code><Message>The precondition given in one or more of the request-header fields evaluated to false.</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "times": 1,
    }))
    .unwrap();
    let second = run("up", form("second")).expect_code(0).json();
    clear_faults().unwrap();
    let update = format!("cloudfront:UpdateDistribution {id}");
    assert_eq!(
        second["mutations"],
        json!([update.clone(), update]),
        "{second:#}"
    );
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let got = cloudfront
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.distribution_config().unwrap().comment(), "second");

    // New packages: code is updated only where the zip changed, nothing else is touched.
    let rebuilt = std::env::temp_dir().join(format!("cfrp-rebuilt-{name}"));
    cfrp_tests::deploy::write_zip(&rebuilt.join("cfrp-log-analyser"), "#!/bin/sh\necho v2\n");
    std::fs::create_dir_all(rebuilt.join("cfrp-alarm-evaluator")).unwrap();
    std::fs::copy(
        artifacts().join("cfrp-alarm-evaluator/bootstrap.zip"),
        rebuilt.join("cfrp-alarm-evaluator/bootstrap.zip"),
    )
    .unwrap();
    let mut args: Vec<String> = [
        "--config",
        "/nonexistent/proxy.toml",
        "--output",
        "json",
        "up",
        "--yes",
        "--artifacts",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(rebuilt.to_string_lossy().to_string());
    args.extend(form("second"));
    let borrowed: Vec<&str> = args.iter().map(String::as_str).collect();
    let third = deployer(&borrowed).expect_code(0).json();
    assert_eq!(
        third["mutations"],
        json!([format!(
            "lambda:UpdateFunctionCode cfrp-{name}-log-analyser"
        )]),
        "{third:#}"
    );

    // down fails at the deletion (after disabling); the next down resumes and finishes.
    inject_fault(&json!({
        "method": "DELETE", "path": format!("^/2020-05-31/distribution/{id}$"),
        "status": 403,
        "body": "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>injected</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "times": -1,
    }))
    .unwrap();
    let stopped = run("down", form("second"));
    clear_faults().unwrap();
    assert_eq!(stopped.code, 1, "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("DeleteDistribution"),
        "{}",
        stopped.stderr
    );
    let disabled = cloudfront
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap();
    assert!(!disabled.distribution_config().unwrap().enabled());
    run("down", form("second")).expect_code(0);
    assert_nothing_tagged(&name).await;
}

/// Whether the report warns about the distribution `id`.
fn warns_about(report: &Value, id: &str) -> bool {
    report["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w["name"] == id))
}

/// Alarms, real-time logging and manuscripts turned off in the config: `plan` lists what goes
/// without changing anything, `up` removes it (the distribution first loses its log config,
/// then the config goes), a second `up` makes no call, and the manuscripts bucket with the
/// user's files stays, unhooked from the deleted queue.
#[tokio::test]
async fn features_turned_off_are_removed_by_up_and_the_bucket_stays() {
    let _serial = SERIAL.lock().await;
    let name = stack_name("off");
    let stack = stack_file(&name, |t| t);
    // A distribution carrying the stack's tag that the stack did not make (its caller
    // reference is not the stack's): warned about, never changed or deleted.
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let theirs = cfrp_tests::fixtures::hand_made_distribution(
        &cloudfront,
        &cfrp_tests::fixtures::HandMade {
            comment: "made by hand, tagged like the stack",
            enabled: false,
            origins: &[("by-hand", "by-hand.example.com")],
            behaviors: &[],
            tags: &[(STACK_TAG, &name)],
        },
    )
    .await;
    let theirs_before = cloudfront
        .get_distribution_config()
        .id(&theirs)
        .send()
        .await
        .unwrap();
    let first = up(&stack);
    assert!(warns_about(&first, &theirs), "{first:#}");
    assert!(
        first["mutations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| !m.as_str().unwrap_or_default().contains(&theirs)),
        "{first:#}"
    );
    let created = |kind: &str| -> Vec<String> {
        first["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "create" && c["kind"] == kind)
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(created("Lambda function").len(), 3, "{first:#}");
    let eu = regional("eu-west-1").await;
    let s3 = s3(&eu);
    // The bucket `up` created: Block Public Access on, SSE-S3, a TLS-only policy.
    let made = protection(&s3, &stack.bucket).await;
    assert_eq!(made.block, Some([true; 4]), "{made:?}");
    assert_eq!(made.encryption, Some(("AES256".to_string(), None)));
    let statement = statements(made.policy.as_deref().unwrap())
        .into_iter()
        .find(|s| s["Sid"] == "cfrp-deny-insecure-transport")
        .unwrap();
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(statement["Action"], "s3:*");
    assert_eq!(
        statement["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
    assert_eq!(
        statement["Resource"],
        json!([
            format!("arn:aws:s3:::{}", stack.bucket),
            format!("arn:aws:s3:::{}/*", stack.bucket)
        ])
    );
    // The bucket is the stack's own: nothing to warn about it (the hand-made distribution
    // is the only warning).
    assert!(
        first["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["kind"] != "S3 bucket"),
        "{first:#}"
    );
    s3.put_object()
        .bucket(&stack.bucket)
        .key("manuscripts/chapter-1.md")
        .body(b"# One".to_vec().into())
        .send()
        .await
        .unwrap();

    let off = stack_file(&name, |t| {
        let without_manuscripts = t
            .split("\n[")
            .filter(|section| !section.starts_with("manuscripts]"))
            .collect::<Vec<_>>()
            .join("\n[");
        without_manuscripts
            .replace("[logging]\n", "[logging]\nenabled = false\n")
            .replace("[alarms]\n", "[alarms]\nenabled = false\n")
    });
    let plan = plan(&off);
    let deletions = |report: &Value| -> BTreeSet<String> {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "delete")
            .map(|c| {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                format!("{} {}", text(&c["kind"]), text(&c["name"]))
            })
            .collect()
    };
    let planned = deletions(&plan);
    assert!(warns_about(&plan, &theirs), "{plan:#}");
    for function in created("Lambda function") {
        assert!(
            planned.contains(&format!("Lambda function {function}")),
            "{plan:#}"
        );
    }
    for kind in [
        "Kinesis stream",
        "real-time log config",
        "SQS queue",
        "SNS topic",
        "CloudWatch alarm",
        "EventBridge schedule",
        "event source mapping",
        "bucket notification",
    ] {
        assert!(
            planned.iter().any(|d| d.starts_with(kind)),
            "{kind} missing from {planned:#?}"
        );
    }
    assert_eq!(plan["mutating_calls"], 0, "plan changes nothing: {plan:#}");
    let lambda = aws_sdk_lambda::Client::new(&eu);
    let ours = |functions: &[aws_sdk_lambda::types::FunctionConfiguration]| {
        functions
            .iter()
            .filter(|f| {
                f.function_name()
                    .unwrap_or_default()
                    .starts_with(&format!("cfrp-{name}-"))
            })
            .count()
    };
    let listed = lambda.list_functions().send().await.unwrap();
    assert_eq!(ours(listed.functions()), 3, "still there after plan");

    let applied = up(&off);
    assert_eq!(deletions(&applied), planned, "up deletes what plan listed");
    let listed = lambda.list_functions().send().await.unwrap();
    assert_eq!(ours(listed.functions()), 0);
    let kinesis = aws_sdk_kinesis::Client::new(&eu);
    assert!(
        kinesis
            .list_streams()
            .send()
            .await
            .unwrap()
            .stream_names()
            .iter()
            .all(|s| !s.starts_with(&format!("cfrp-{name}-")))
    );
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let configs = cloudfront.list_realtime_log_configs().send().await.unwrap();
    assert!(
        configs
            .realtime_log_configs()
            .map(|c| c.items())
            .unwrap_or_default()
            .iter()
            .all(|c| !c.name().starts_with(&format!("cfrp-{name}-")))
    );
    assert!(notification_ids(&s3, &off.bucket).await.is_empty());
    let objects = s3
        .list_objects_v2()
        .bucket(&off.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 1, "the bucket and its files stay");

    let again = up(&off);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");

    down(&off);
    // The bucket is the user's to remove now that the config no longer names it.
    s3.delete_object()
        .bucket(&off.bucket)
        .key("manuscripts/chapter-1.md")
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket(&off.bucket).send().await.unwrap();
    let theirs_after = cloudfront
        .get_distribution_config()
        .id(&theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(theirs_after.e_tag(), theirs_before.e_tag(), "never changed");
    assert_eq!(
        theirs_after.distribution_config(),
        theirs_before.distribution_config()
    );
    cloudfront
        .delete_distribution()
        .id(&theirs)
        .if_match(theirs_after.e_tag().unwrap())
        .send()
        .await
        .unwrap();
    assert_nothing_tagged(&name).await;
}

/// Findings parliament (the IAM linter, pinned in `scripts/setup`) reports for `document`,
/// with `config` (a parliament override file under `tests/parliament/`) if given: one line
/// of JSON each, none for a clean policy.
fn parliament_findings(document: &Value, config: Option<&str>) -> Vec<String> {
    use std::io::Write;
    let root = cfrp_tests::repo_root();
    let linter = root.join(".venv/bin/parliament");
    let mut command = std::process::Command::new(&linter);
    command.arg("--json");
    if let Some(config) = config {
        command
            .arg("--config")
            .arg(root.join("tests/parliament").join(config));
    }
    // The document on stdin: parliament refuses --file when stdin is not a terminal.
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup", linter.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(document.to_string().as_bytes())
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "parliament took over 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.stderr.is_empty(),
        "parliament: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `deployer permissions` against what the deployer really sends: on an emulator of its own
/// (so its request log holds this test's requests only), `up`, a second `up` and `down` of
/// the example stack; every request is an operation of the permissions table whose IAM
/// actions the printed policy allows, and parliament finds nothing in that policy nor in the
/// roles' policies the stack created.
#[tokio::test(flavor = "multi_thread")]
async fn permissions_cover_every_request_of_up_and_down_and_lint_clean() {
    let emulator = cfrp_tests::spawn_emulator(&[]).unwrap();
    let endpoint = emulator.endpoint.as_str();
    let name = stack_name("perm");
    let stack = stack_file(&name, |t| t);
    let config = stack.path.to_string_lossy().to_string();
    let dir = artifacts().to_string_lossy().to_string();
    let timeout = std::time::Duration::from_secs(180);
    let run = |args: &[&str]| cfrp_tests::deploy::deployer_at(endpoint, args, timeout);
    let up_args = [
        "--config",
        &config,
        "--output",
        "json",
        "up",
        "--artifacts",
        &dir,
        "--yes",
    ];
    run(&up_args).expect_code(0);
    let again = run(&up_args).expect_code(0).json();
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    let policy = run(&[
        "--config",
        &config,
        "permissions",
        "--account-id",
        "123456789012",
    ])
    .expect_code(0)
    .json();

    // The roles' policies as the stack created them; these reads are the test's, not the
    // deployer's, so the request log is read around them.
    let sent_by_up = cfrp_tests::requests_by_operation(endpoint).unwrap();
    let iam = aws_sdk_iam::Client::new(
        &sdk_config()
            .await
            .to_builder()
            .endpoint_url(endpoint)
            .build(),
    );
    let mut role_policies = Vec::new();
    for role in [
        "cloudfront-logs",
        "log-analyser-role",
        "alarm-evaluator-role",
        "invalidator-role",
    ] {
        let role = format!("cfrp-{name}-{role}");
        let got = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name("cfrp")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{role}: {e:?}"));
        let document = percent_encoding::percent_decode_str(got.policy_document())
            .decode_utf8_lossy()
            .to_string();
        role_policies.push((role, serde_json::from_str::<Value>(&document).unwrap()));
    }
    let read_by_test = cfrp_tests::requests_by_operation(endpoint).unwrap();
    run(&["--config", &config, "--output", "json", "down", "--yes"]).expect_code(0);
    let after_down = cfrp_tests::requests_by_operation(endpoint).unwrap();

    // What up sent, and what down sent after the test's reads.
    let mut sent = sent_by_up.clone();
    for (operation, count) in &after_down {
        let by_down = count - read_by_test.get(operation).copied().unwrap_or_default();
        if by_down > 0 {
            *sent.entry(operation.clone()).or_default() += by_down;
        }
    }
    assert!(
        sent.contains_key("cloudfront:CreateDistributionWithTags")
            && sent.contains_key("lambda:DeleteFunction"),
        "the log holds up's and down's requests: {sent:#?}"
    );
    let actions_allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_ascii_lowercase())
        .collect();
    let mut uncovered = Vec::new();
    for operation in sent.keys() {
        if cfrp_deployer::permissions::NEEDS_NO_PERMISSION.contains(&operation.as_str()) {
            continue;
        }
        match cfrp_deployer::permissions::operation(operation) {
            None => uncovered.push(format!("{operation}: not in the permissions table")),
            Some(row) => {
                for (action, _) in row.needs {
                    if !actions_allowed.contains(&action.to_ascii_lowercase()) {
                        uncovered.push(format!("{operation}: {action} not in the policy"));
                    }
                }
            }
        }
    }
    assert!(uncovered.is_empty(), "{uncovered:#?}\npolicy: {policy:#}");

    // One finding type muted, with the reason, in tests/parliament/operator.yaml.
    let findings = parliament_findings(&policy, Some("operator.yaml"));
    assert!(findings.is_empty(), "operator policy: {findings:#?}");
    for (role, document) in &role_policies {
        let findings = parliament_findings(document, None);
        assert!(findings.is_empty(), "{role}: {findings:#?}\n{document:#}");
    }
}
