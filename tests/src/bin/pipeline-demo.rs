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
    let env = [
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

    kinesis.delete_stream().stream_name(&stream).send().await?;
    println!("7. deleted the stream; every record is accounted for ({published} requests).");
    println!(
        "\nNot yet part of the demo: `deployer up`/`down` (distribution, functions, wiring), the alarm evaluator and the invalidator; see README \"Status\"."
    );
    Ok(())
}
