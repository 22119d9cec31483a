//! The built log-analyser binary under the Runtime API emulator: records go into the
//! emulator's Kinesis stream, come back out as a Lambda event, and the metrics the function
//! publishes to the emulator's CloudWatch are read back and compared with the records.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use cfrp_config::{AnalyserSettings, Field, FunctionSettings, metrics as m};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_tests::runtime_api::{Outcome, RuntimeApiError, run_bootstrap};
use cfrp_tests::{emulator, function_binary, sdk_config, unique};

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[tokio::test]
async fn records_through_kinesis_become_the_expected_cloudwatch_metrics() {
    let config = sdk_config().await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let stream = unique("logs");
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();

    let start = now_secs() / 60 * 60 - 240;
    let domain = format!("{}.cloudfront.net", unique("d"));
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 400 * 1024,
        start_epoch: start,
        minutes: 3,
        distribution_domain: domain.clone(),
        ..Generate::default()
    });
    for (i, line) in generated.lines.iter().enumerate() {
        kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key(i.to_string())
            .data(Blob::new(line.as_bytes()))
            .send()
            .await
            .unwrap();
    }
    let shard = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_string();
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .unwrap()
        .to_string();
    let records = kinesis
        .get_records()
        .shard_iterator(iterator)
        .limit(10_000)
        .send()
        .await
        .unwrap();
    let payloads: Vec<&[u8]> = records
        .records()
        .iter()
        .map(|r| r.data().as_ref())
        .collect();
    assert_eq!(payloads.len(), generated.records);
    let event = cfrp_events::kinesis_event_from_payloads(payloads, now_secs() as f64);

    let namespace = format!("E2E/{}", unique("ns"));
    let settings = AnalyserSettings {
        stack: "shop".to_string(),
        namespace: namespace.clone(),
        fields: Field::default_set(),
        top_n: 10,
        app_headers: vec!["x-operation-type".to_string()],
    }
    .to_env_value()
    .unwrap();
    let endpoint = emulator().endpoint.clone();
    let env = [
        ("CFRP_SETTINGS", settings.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let run = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &env,
        &[event],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    match &run.outcomes[..] {
        [Outcome::Response(response)] => {
            assert_eq!(response["batchItemFailures"], serde_json::json!([]))
        }
        other => panic!("unexpected outcome {other:?}\n{}", run.stdout),
    }
    assert!(
        run.stdout.contains("\"message\":\"batch analysed\""),
        "{}",
        run.stdout
    );

    let expected_requests = generated.lines.len() as f64;
    let expected_5xx = generated
        .lines
        .iter()
        .filter(|l| l.split('\t').nth(3).is_some_and(|s| s.starts_with('5')))
        .count() as f64;
    let dimension = Dimension::builder()
        .name(m::DIM_DISTRIBUTION)
        .value(&domain)
        .build();
    let query = |id: &str, metric: &str, stat: &str| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(&namespace)
                            .metric_name(metric)
                            .dimensions(dimension.clone())
                            .build(),
                    )
                    .period(3600)
                    .stat(stat)
                    .build(),
            )
            .build()
    };
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(query("requests", m::REQUESTS, "Sum"))
        .metric_data_queries(query("errors", m::STATUS_5XX, "Sum"))
        .metric_data_queries(query("latency", m::TIME_TAKEN, "SampleCount"))
        .start_time(DateTime::from_secs((start - 3600) as i64))
        .end_time(DateTime::from_secs((start + 3600) as i64))
        .send()
        .await
        .unwrap();
    let total = |id: &str| -> f64 {
        data.metric_data_results()
            .iter()
            .filter(|r| r.id() == Some(id))
            .flat_map(|r| r.values().to_vec())
            .sum()
    };
    assert_eq!(total("requests"), expected_requests);
    assert_eq!(total("errors"), expected_5xx);
    assert_eq!(total("latency"), expected_requests);
}

#[tokio::test]
async fn a_function_without_settings_exits_and_says_why() {
    let result = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &[],
        &["{}".to_string()],
        Duration::from_secs(30),
    )
    .await;
    match result {
        Err(RuntimeApiError::Exited { stdout, .. }) => {
            assert!(stdout.contains("CFRP_SETTINGS is not set"), "{stdout}")
        }
        other => panic!("expected an exit, got {other:?}"),
    }
}
