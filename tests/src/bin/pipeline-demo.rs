//! The local pipeline, end to end against the emulator: realistic CloudFront real-time log
//! records into a Kinesis stream, read back as a Lambda event and analysed by the real
//! log-analyser binary under the Lambda Runtime API; the metrics read back; the alarm
//! evaluator's verdicts on them; a manuscript upload turned into an invalidation by the
//! invalidator binary. Removes what it created. Run through `scripts/demo`.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use cfrp_config::{FunctionSettings, InvalidatorSettings, StackConfig, metrics as m};
use cfrp_events::{Generate, generate_kinesis_event, sqs_event_from_messages};
use cfrp_tests::fixtures::{
    bucket_notifying_queue, create_distribution, function_env, kinesis_round_trip, pairs,
    receive_all, stat_query,
};
use cfrp_tests::runtime_api::{Outcome, Run, run_bootstrap};
use cfrp_tests::{emulator, function_binary, s3_client, sdk_config};

/// Runs one function binary on one event and insists on a response.
async fn invoke(
    package: &str,
    settings: &str,
    event: String,
) -> anyhow::Result<(serde_json::Value, Run)> {
    let env = function_env(settings);
    let run = run_bootstrap(
        &function_binary(package),
        &pairs(&env),
        &[event],
        Duration::from_secs(60),
    )
    .await?;
    match run.outcomes.first() {
        Some(Outcome::Response(response)) => Ok((response.clone(), run)),
        other => bail!("{package} failed: {other:?}\n{}{}", run.stdout, run.stderr),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config_path = cfrp_tests::repo_root().join("shared/examples/proxy.toml");
    let stack = StackConfig::load(&config_path)?;
    println!(
        "1. config {}: stack \"{}\", {} real-time log fields",
        config_path.display(),
        stack.name,
        stack.logging.fields.len()
    );

    let aws = sdk_config().await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws);
    let stream = stack.names().log_stream();
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
    let minute = now / 60 * 60;
    let domain = "d111111abcdef8.cloudfront.net";
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 1024 * 1024,
        start_epoch: minute - 240,
        minutes: 4,
        fields: stack.logging.fields.clone(),
        distribution_domain: domain.to_string(),
        ..Generate::default()
    });
    let payloads = kinesis_round_trip(&kinesis, &stream, &generated.lines).await?;
    let event =
        cfrp_events::kinesis_event_from_payloads(payloads.iter().map(Vec::as_slice), now as f64);
    println!(
        "3. put {} realistic real-time log records (4 minutes of traffic) into the stream and read {} back: a {} KB Lambda event",
        generated.records,
        payloads.len(),
        event.len() / 1024
    );

    let (_, run) = invoke(
        "cfrp-log-analyser",
        &stack.analyser_settings().to_env_value()?,
        event,
    )
    .await?;
    let summary = run
        .stdout
        .lines()
        .find(|l| l.contains("batch analysed"))
        .unwrap_or_default();
    println!(
        "4. ran the log-analyser binary under the Lambda Runtime API (init {} ms, debug build); its summary log line:\n   {summary}",
        run.init_duration.map_or(0, |d| d.as_millis())
    );

    let namespace = &stack.metrics.namespace;
    let dims = [(m::DIM_DISTRIBUTION, domain)];
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(stat_query(
            "requests",
            namespace,
            m::REQUESTS,
            &dims,
            "Sum",
            60,
        ))
        .metric_data_queries(stat_query(
            "errors5xx",
            namespace,
            m::STATUS_5XX,
            &dims,
            "Sum",
            60,
        ))
        .metric_data_queries(stat_query(
            "hits",
            namespace,
            m::CACHE_HITS,
            &dims,
            "Sum",
            60,
        ))
        .metric_data_queries(stat_query(
            "p95",
            namespace,
            m::TIME_TAKEN,
            &dims,
            "p95",
            60,
        ))
        .start_time(DateTime::from_secs((minute - 600) as i64))
        .end_time(DateTime::from_secs((minute + 60) as i64))
        .send()
        .await?;
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
    let (_, p95) = series("p95");
    println!("5. metrics read back from CloudWatch ({namespace}), per minute:");
    println!(
        "   {:<22} {:>9} {:>6} {:>6} {:>14}",
        "minute (UTC)", "requests", "5xx", "hits", "p95 latency"
    );
    for (i, stamp) in stamps.iter().enumerate() {
        let at = |values: &[f64]| values.get(i).copied().unwrap_or_default();
        println!(
            "   {:<22} {:>9} {:>6} {:>6} {:>11.1} ms",
            stamp.fmt(DateTimeFormat::DateTime)?,
            at(&requests),
            at(&errors),
            at(&hits),
            at(&p95)
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

    let scheduled = serde_json::json!({
        "version": "0", "id": "demo", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "region": "us-east-1", "resources": [], "detail": {},
        "time": DateTime::from_secs((minute + 5) as i64).fmt(DateTimeFormat::DateTime)?,
    });
    let settings = stack
        .evaluator_settings(None, Some(domain))
        .to_env_value()?;
    let (outcomes, _) = invoke("cfrp-alarm-evaluator", &settings, scheduled.to_string()).await?;
    println!(
        "6. ran the alarm-evaluator binary on a scheduled event; rule states (published as {}):",
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

    let (id, paths) = manuscripts(&aws, &stack).await?;
    println!(
        "7. uploaded manuscripts/chapter one.html and manuscripts/essays/index.html; the invalidator binary created\n   invalidation {id} for {paths:?}"
    );

    kinesis.delete_stream().stream_name(&stream).send().await?;
    println!("8. removed what the demo created (stream, distribution, bucket, queue).");
    println!(
        "\nNot yet part of the demo: `deployer up`/`down` create and wire these resources (issue 3); until then the demo creates the few it needs itself."
    );
    Ok(())
}

/// Bucket → SQS notification → invalidator binary → CloudFront invalidation, in the emulator.
/// The distribution, bucket and queue are created here and removed after.
async fn manuscripts(
    aws: &aws_config::SdkConfig,
    stack: &StackConfig,
) -> anyhow::Result<(String, Vec<String>)> {
    let manuscripts = stack
        .manuscripts
        .clone()
        .context("the example config has a [manuscripts] section")?;
    let cloudfront = aws_sdk_cloudfront::Client::new(aws);
    let s3 = s3_client(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let distribution_id = create_distribution(&cloudfront, &stack.origins[0].domain).await?;

    let (queue_url, queue_arn) =
        bucket_notifying_queue(&s3, &sqs, &manuscripts.bucket, &manuscripts.key_prefix).await?;
    let keys =
        ["chapter one.html", "essays/index.html"].map(|k| format!("{}{k}", manuscripts.key_prefix));
    for key in &keys {
        s3.put_object()
            .bucket(&manuscripts.bucket)
            .key(key)
            .body(b"<html></html>".to_vec().into())
            .send()
            .await?;
    }
    let messages = receive_all(&sqs, &queue_url).await?;
    let settings = InvalidatorSettings {
        stack: stack.name.clone(),
        distribution_id: distribution_id.clone(),
        manuscripts: manuscripts.clone(),
    }
    .to_env_value()?;
    invoke(
        "cfrp-invalidator",
        &settings,
        sqs_event_from_messages(&messages, &queue_arn, "us-east-1"),
    )
    .await?;
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
