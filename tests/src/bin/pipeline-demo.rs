//! The local pipeline, end to end against the emulator: realistic CloudFront real-time log
//! records into a Kinesis stream, read back as a Lambda event, analysed by the real
//! log-analyser binary under the Lambda Runtime API, and the resulting CloudWatch metrics
//! read back and shown. Removes what it created. Run through `scripts/demo`.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use cfrp_config::{FunctionSettings, StackConfig, metrics as m};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_tests::runtime_api::{Outcome, run_bootstrap};
use cfrp_tests::{emulator, function_binary, sdk_config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config_path = cfrp_tests::repo_root().join("shared/examples/proxy.toml");
    let stack = StackConfig::load(&config_path)?;
    let names = stack.names();
    println!(
        "1. config {}: stack \"{}\", {} real-time log fields",
        config_path.display(),
        stack.name,
        stack.logging.fields.len()
    );

    let aws = sdk_config().await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws);
    let stream = names.log_stream();
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .context("creating the stream")?;
    println!(
        "2. created Kinesis stream {stream} in the emulator at {}",
        emulator().endpoint
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let domain = "d111111abcdef8.cloudfront.net";
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 1024 * 1024,
        start_epoch: now / 60 * 60 - 240,
        minutes: 4,
        fields: stack.logging.fields.clone(),
        distribution_domain: domain.to_string(),
        ..Generate::default()
    });
    for (i, line) in generated.lines.iter().enumerate() {
        kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key(i.to_string())
            .data(Blob::new(line.as_bytes()))
            .send()
            .await?;
    }
    println!(
        "3. put {} realistic real-time log records (4 minutes of traffic) into the stream",
        generated.records
    );

    let shard = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await?
        .shards()
        .first()
        .map(|s| s.shard_id().to_string())
        .context("no shard")?;
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await?;
    let records = kinesis
        .get_records()
        .shard_iterator(iterator.shard_iterator().unwrap_or_default())
        .limit(10_000)
        .send()
        .await?;
    let event = cfrp_events::kinesis_event_from_payloads(
        records.records().iter().map(|r| r.data().as_ref()),
        now as f64,
    );
    println!(
        "4. read {} records back; Lambda event of {} KB",
        records.records().len(),
        event.len() / 1024
    );

    let settings = stack.analyser_settings().to_env_value()?;
    let endpoint = emulator().endpoint.clone();
    let env = vec![
        ("CFRP_SETTINGS", settings.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "demo"),
        ("AWS_SECRET_ACCESS_KEY", "demo"),
        ("AWS_REGION", "us-east-1"),
    ];
    let run = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &env,
        &[event],
        Duration::from_secs(60),
    )
    .await?;
    match run.outcomes.first() {
        Some(Outcome::Response(_)) => {}
        other => bail!(
            "the analyser failed: {other:?}\n{}{}",
            run.stdout,
            run.stderr
        ),
    }
    let summary = run
        .stdout
        .lines()
        .find(|l| l.contains("batch analysed"))
        .unwrap_or_default();
    println!(
        "5. ran the log-analyser binary under the Lambda Runtime API (init {} ms); its summary log line:\n   {summary}",
        run.init_duration.map_or(0, |d| d.as_millis())
    );

    let dimension = Dimension::builder()
        .name(m::DIM_DISTRIBUTION)
        .value(domain)
        .build();
    let query = |id: &str, metric: &str, stat: &str| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(&stack.metrics.namespace)
                            .metric_name(metric)
                            .dimensions(dimension.clone())
                            .build(),
                    )
                    .period(60)
                    .stat(stat)
                    .build(),
            )
            .build()
    };
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(query("requests", m::REQUESTS, "Sum"))
        .metric_data_queries(query("errors5xx", m::STATUS_5XX, "Sum"))
        .metric_data_queries(query("hits", m::CACHE_HITS, "Sum"))
        .metric_data_queries(query("latency", m::TIME_TAKEN, "Average"))
        .start_time(DateTime::from_secs((now / 60 * 60 - 600) as i64))
        .end_time(DateTime::from_secs((now / 60 * 60 + 60) as i64))
        .send()
        .await?;
    println!(
        "6. metrics read back from CloudWatch ({}), per minute:",
        stack.metrics.namespace
    );
    println!(
        "   {:<22} {:>9} {:>6} {:>6} {:>12}",
        "minute (UTC)", "requests", "5xx", "hits", "avg latency"
    );
    let series = |id: &str| {
        data.metric_data_results()
            .iter()
            .find(|r| r.id() == Some(id))
            .map(|r| (r.timestamps().to_vec(), r.values().to_vec()))
            .unwrap_or_default()
    };
    let (stamps, requests) = series("requests");
    let (_, errors) = series("errors5xx");
    let (_, hits) = series("hits");
    let (_, latency) = series("latency");
    for (i, stamp) in stamps.iter().enumerate() {
        println!(
            "   {:<22} {:>9} {:>6} {:>6} {:>9.1} ms",
            stamp
                .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
                .unwrap_or_default(),
            requests.get(i).copied().unwrap_or_default(),
            errors.get(i).copied().unwrap_or_default(),
            hits.get(i).copied().unwrap_or_default(),
            latency.get(i).copied().unwrap_or_default()
        );
    }
    let published: f64 = requests.iter().sum();
    if published as usize != generated.records {
        bail!(
            "published {published} requests, expected {}",
            generated.records
        );
    }

    println!("   every record is accounted for ({published} requests).");

    // The alarm evaluator on the metrics just published, through a scheduled event.
    let evaluator_settings = stack
        .evaluator_settings(None, Some(domain))
        .to_env_value()?;
    let mut env_eval = env.clone();
    env_eval[0] = ("CFRP_SETTINGS", evaluator_settings.as_str());
    let scheduled = serde_json::json!({
        "version": "0", "id": "demo", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "region": "us-east-1", "resources": [], "detail": {},
        "time": DateTime::from_secs((now / 60 * 60 + 5) as i64).fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)?,
    })
    .to_string();
    let run = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &env_eval,
        &[scheduled],
        Duration::from_secs(60),
    )
    .await?;
    let Some(Outcome::Response(outcomes)) = run.outcomes.first() else {
        bail!(
            "the evaluator failed: {:?}\n{}{}",
            run.outcomes,
            run.stdout,
            run.stderr
        );
    };
    println!(
        "7. ran the alarm-evaluator binary on a scheduled event; rule states (published as {}):",
        m::RULE_STATE
    );
    for outcome in outcomes.as_array().into_iter().flatten() {
        let values: Vec<String> = outcome["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                v.as_f64()
                    .map_or_else(|| "-".to_string(), |x| format!("{x:.1}"))
            })
            .collect();
        println!(
            "   {:<18} {:<18} last periods [{}]",
            outcome["rule"].as_str().unwrap_or_default(),
            outcome["state"].as_str().unwrap_or_default(),
            values.join(", ")
        );
    }

    // A manuscript upload becomes an invalidation.
    let manuscripts = stack
        .manuscripts
        .clone()
        .context("the example config has a [manuscripts] section")?;
    let (id, paths) = manuscripts::run(&aws, &env, &manuscripts).await?;
    println!(
        "8. uploaded manuscripts/chapter one.html and manuscripts/essays/index.html; the invalidator binary created\n   invalidation {id} for {paths:?}"
    );

    kinesis.delete_stream().stream_name(&stream).send().await?;
    println!("9. removed what the demo created (stream, distribution, bucket, queue).");
    println!(
        "\nNot yet part of the demo: `deployer up`/`down` create and wire these resources (issue 3); until then the demo creates the few it needs itself."
    );
    Ok(())
}

mod manuscripts {
    //! Bucket → SQS notification → invalidator binary → CloudFront invalidation, in the
    //! emulator. The distribution, bucket and queue are created here and removed after.

    use std::time::Duration;

    use anyhow::{Context, bail};
    use aws_sdk_cloudfront::types::{
        CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin, OriginProtocolPolicy,
        Origins, ViewerProtocolPolicy,
    };
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    use aws_sdk_sqs::types::QueueAttributeName;
    use cfrp_config::{FunctionSettings, InvalidatorSettings, Manuscripts};
    use cfrp_events::{SqsMessage, sqs_event_from_messages};
    use cfrp_tests::runtime_api::{Outcome, run_bootstrap};
    use cfrp_tests::{function_binary, s3_client, unique};

    pub async fn run(
        aws: &aws_config::SdkConfig,
        env: &[(&str, &str)],
        manuscripts: &Manuscripts,
    ) -> anyhow::Result<(String, Vec<String>)> {
        let cloudfront = aws_sdk_cloudfront::Client::new(aws);
        let s3 = s3_client(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        let origin = Origin::builder()
            .id("app")
            .domain_name("app.shop.example.com")
            .custom_origin_config(
                CustomOriginConfig::builder()
                    .http_port(80)
                    .https_port(443)
                    .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                    .build()?,
            )
            .build()?;
        let created = cloudfront
            .create_distribution()
            .distribution_config(
                DistributionConfig::builder()
                    .caller_reference(unique("demo"))
                    .comment("demo")
                    .enabled(true)
                    .origins(Origins::builder().quantity(1).items(origin).build()?)
                    .default_cache_behavior(
                        DefaultCacheBehavior::builder()
                            .target_origin_id("app")
                            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                            .cache_policy_id("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
                            .build()?,
                    )
                    .build()?,
            )
            .send()
            .await?;
        let distribution_id = created
            .distribution()
            .context("no distribution")?
            .id()
            .to_string();

        s3.create_bucket()
            .bucket(&manuscripts.bucket)
            .send()
            .await?;
        let queue_url = sqs
            .create_queue()
            .queue_name(unique("demo-manuscripts"))
            .send()
            .await?
            .queue_url()
            .unwrap_or_default()
            .to_string();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?;
        let queue_arn = attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        s3.put_bucket_notification_configuration()
            .bucket(&manuscripts.bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .queue_arn(&queue_arn)
                            .events(Event::from("s3:ObjectCreated:*"))
                            .build()?,
                    )
                    .build(),
            )
            .send()
            .await?;
        let keys = ["chapter one.html", "essays/index.html"]
            .map(|k| format!("{}{k}", manuscripts.key_prefix));
        for key in &keys {
            s3.put_object()
                .bucket(&manuscripts.bucket)
                .key(key)
                .body(b"<html></html>".to_vec().into())
                .send()
                .await?;
        }
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await?;
        let messages: Vec<SqsMessage> = received
            .messages()
            .iter()
            .map(|m| SqsMessage {
                message_id: m.message_id().unwrap_or_default().to_string(),
                receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
            })
            .collect();
        let settings = InvalidatorSettings {
            stack: "shop".to_string(),
            distribution_id: distribution_id.clone(),
            manuscripts: manuscripts.clone(),
        }
        .to_env_value()?;
        let mut env = env.to_vec();
        env[0] = ("CFRP_SETTINGS", settings.as_str());
        let event = sqs_event_from_messages(&messages, &queue_arn, "us-east-1");
        let run = run_bootstrap(
            &function_binary("cfrp-invalidator"),
            &env,
            &[event],
            Duration::from_secs(60),
        )
        .await?;
        if !matches!(run.outcomes.first(), Some(Outcome::Response(_))) {
            bail!(
                "the invalidator failed: {:?}\n{}{}",
                run.outcomes,
                run.stdout,
                run.stderr
            );
        }
        let list = cloudfront
            .list_invalidations()
            .distribution_id(&distribution_id)
            .send()
            .await?;
        let id = list
            .invalidation_list()
            .and_then(|l| l.items().first())
            .map(|i| i.id().to_string())
            .context("no invalidation was created")?;
        let invalidation = cloudfront
            .get_invalidation()
            .distribution_id(&distribution_id)
            .id(&id)
            .send()
            .await?;
        let paths = invalidation
            .invalidation()
            .and_then(|i| i.invalidation_batch())
            .and_then(|b| b.paths())
            .map(|p| p.items().to_vec())
            .unwrap_or_default();

        // Clean up: objects, bucket, queue, distribution (disabled first, as CloudFront requires).
        for key in &keys {
            s3.delete_object()
                .bucket(&manuscripts.bucket)
                .key(key)
                .send()
                .await?;
        }
        s3.delete_bucket()
            .bucket(&manuscripts.bucket)
            .send()
            .await?;
        sqs.delete_queue().queue_url(&queue_url).send().await?;
        let config = cloudfront
            .get_distribution_config()
            .id(&distribution_id)
            .send()
            .await?;
        let mut disabled = config
            .distribution_config()
            .cloned()
            .context("no distribution config")?;
        disabled.enabled = false;
        let updated = cloudfront
            .update_distribution()
            .id(&distribution_id)
            .if_match(config.e_tag().unwrap_or_default())
            .distribution_config(disabled)
            .send()
            .await?;
        cloudfront
            .delete_distribution()
            .id(&distribution_id)
            .if_match(updated.e_tag().unwrap_or_default())
            .send()
            .await?;
        Ok((id, paths))
    }
}
