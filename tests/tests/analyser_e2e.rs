//! The built log-analyser binary under the Runtime API emulator: `deployer up` creates the
//! stack, records go into the Kinesis stream it made, come back out as a Lambda event, the
//! bootstrap runs with the environment the deployer gave the function, and the metrics it
//! publishes to the emulator's CloudWatch are read back and compared with the records.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use cfrp_config::{AnalyserSettings, FunctionSettings, metrics as m};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_tests::deploy::deploy_example;
use cfrp_tests::fixtures::{kinesis_round_trip, pairs, stat_query};
use cfrp_tests::function_binary;
use cfrp_tests::runtime_api::{Outcome, RuntimeApiError, run_bootstrap};

/// The deployed analyser's environment, as `up` set it, and its settings.
async fn analyser_env(
    deployed: &cfrp_tests::deploy::Deployed,
) -> (Vec<(String, String)>, AnalyserSettings) {
    let env = deployed.function_env("log-analyser").await;
    let settings = env
        .iter()
        .find(|(k, _)| k == "CFRP_SETTINGS")
        .map(|(_, v)| AnalyserSettings::from_env_value(v).unwrap())
        .unwrap();
    (env, settings)
}

/// The built analyser on `events`, one invocation each; every one must succeed with no failed
/// item.
async fn run_analyser(env: &[(String, String)], events: &[String]) -> cfrp_tests::runtime_api::Run {
    let run = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &pairs(env),
        events,
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert_eq!(run.outcomes.len(), events.len(), "{}", run.stdout);
    for outcome in &run.outcomes {
        match outcome {
            Outcome::Response(response) => {
                assert_eq!(
                    response["batchItemFailures"],
                    serde_json::json!([]),
                    "{}",
                    run.stdout
                )
            }
            other => panic!("unexpected outcome {other:?}\n{}", run.stdout),
        }
    }
    run
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[tokio::test]
async fn records_through_kinesis_become_the_expected_cloudwatch_metrics() {
    let deployed = deploy_example("an").await;
    let kinesis = aws_sdk_kinesis::Client::new(&deployed.config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let stream = deployed.resource("realtime-logs");

    let start = now_secs() / 60 * 60 - 240;
    // The logs of the deployed distribution name its domain.
    let domain = deployed.domain.clone();
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 400 * 1024,
        start_epoch: start,
        minutes: 3,
        distribution_domain: domain.clone(),
        ..Generate::default()
    });
    let payloads = kinesis_round_trip(&kinesis, &stream, &generated.lines)
        .await
        .unwrap();
    assert_eq!(payloads.len(), generated.records);
    let event = cfrp_events::kinesis_event_from_payloads(
        payloads.iter().map(Vec::as_slice),
        now_secs() as f64,
    );

    let (env, settings) = analyser_env(&deployed).await;
    let namespace = settings.namespace.clone();
    assert_eq!(
        namespace,
        format!("CloudFrontProxy/{}", deployed.stack.name)
    );
    let run = run_analyser(&env, &[event]).await;
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
    let dims = [(m::DIM_DISTRIBUTION, domain.as_str())];
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(stat_query(
            "requests",
            &namespace,
            m::REQUESTS,
            &dims,
            "Sum",
            3600,
        ))
        .metric_data_queries(stat_query(
            "errors",
            &namespace,
            m::STATUS_5XX,
            &dims,
            "Sum",
            3600,
        ))
        .metric_data_queries(stat_query(
            "latency",
            &namespace,
            m::TIME_TAKEN,
            &dims,
            "SampleCount",
            3600,
        ))
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

/// The body is read ahead of the runtime (invocation.rs); an event it cannot read must still
/// reach the runtime, fail there naming what was expected and where, and leave the function
/// serving the next invocation.
#[tokio::test]
async fn an_unreadable_event_fails_saying_where_and_the_next_one_is_served() {
    let settings = AnalyserSettings {
        strikes: None,
        stack: "e2e".to_string(),
        namespace: "CloudFrontProxy/e2e".to_string(),
        fields: cfrp_config::Field::default_set(),
        top_n: 5,
        app_headers: Vec::new(),
        sampling_rate: 100,
    };
    let env = [(
        cfrp_config::settings::SETTINGS_VARIABLE.to_string(),
        settings.to_env_value().unwrap(),
    )];
    let run = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &pairs(&env),
        &[
            r#"{"Records": {"kinesis": "not a list"}}"#.to_string(),
            r#"{"Records": []}"#.to_string(),
        ],
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    match &run.outcomes[..] {
        [Outcome::Error(error), Outcome::Response(response)] => {
            let message = error["errorMessage"].as_str().unwrap_or_default();
            assert!(message.contains("a list of Kinesis records"), "{error}");
            assert!(message.contains("line 1 column 12"), "{error}");
            assert_eq!(response["batchItemFailures"], serde_json::json!([]));
        }
        other => panic!("unexpected outcomes {other:?}\n{}", run.stdout),
    }
    assert!(
        run.stdout.contains("\"records\":0"),
        "the second event is analysed: {}",
        run.stdout
    );
}

/// App-header values come from viewers. Whatever they hold (non-ASCII, only a tab, 2,000
/// characters, nothing), the records are counted, the invocation succeeds and CloudWatch (the
/// emulator checks PutMetricData as the API reference states it) refuses no datum.
#[tokio::test]
async fn hostile_app_header_values_are_counted_and_refuse_no_datum() {
    let deployed = deploy_example("an-hdr").await;
    let kinesis = aws_sdk_kinesis::Client::new(&deployed.config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let (env, settings) = analyser_env(&deployed).await;
    let header = settings.app_headers[0].clone();
    let column = settings
        .fields
        .iter()
        .position(|f| *f == cfrp_config::Field::Headers)
        .expect("the example logs cs-headers");

    let start = now_secs() / 60 * 60 - 120;
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 64 * 1024,
        start_epoch: start,
        minutes: 1,
        distribution_domain: deployed.domain.clone(),
        ..Generate::default()
    });
    // cs-headers is URL-encoded `Name:Value` pairs, as CloudFront writes it.
    let long = "a".repeat(2000);
    let values = ["%C3%A9", "%09", long.as_str(), ""];
    let lines: Vec<String> = generated.lines[..values.len()]
        .iter()
        .zip(values)
        .map(|(line, value)| {
            let mut fields: Vec<String> = line.split('\t').map(str::to_string).collect();
            fields[column] = format!("{header}:{value}");
            fields.join("\t")
        })
        .collect();
    let stream = deployed.resource("realtime-logs");
    let payloads = kinesis_round_trip(&kinesis, &stream, &lines).await.unwrap();
    let event = cfrp_events::kinesis_event_from_payloads(
        payloads.iter().map(Vec::as_slice),
        now_secs() as f64,
    );
    let run = run_analyser(&env, &[event]).await;
    assert!(
        run.stdout.contains("\"rejected_datums\":0"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("refused a datum"), "{}", run.stdout);

    let dims = [(m::DIM_DISTRIBUTION, deployed.domain.as_str())];
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(stat_query(
            "requests",
            &settings.namespace,
            m::REQUESTS,
            &dims,
            "Sum",
            3600,
        ))
        .start_time(DateTime::from_secs((start - 3600) as i64))
        .end_time(DateTime::from_secs((start + 3600) as i64))
        .send()
        .await
        .unwrap();
    let requests: f64 = data
        .metric_data_results()
        .iter()
        .flat_map(|r| r.values().to_vec())
        .sum();
    assert_eq!(requests, values.len() as f64);
    // The four values are published as dimensions CloudWatch took: é and the tab escaped, the
    // long one cut, the empty one as "(blank)".
    let listed = cloudwatch
        .list_metrics()
        .namespace(&settings.namespace)
        .metric_name(m::REQUESTS_BY_APP_HEADER)
        .send()
        .await
        .unwrap();
    let published: std::collections::BTreeSet<String> = listed
        .metrics()
        .iter()
        .flat_map(|metric| metric.dimensions().to_vec())
        .filter(|d| d.name() == Some(m::DIM_HEADER_VALUE))
        .filter_map(|d| d.value().map(str::to_string))
        .collect();
    for expected in ["%C3%A9", "%09", "(blank)"] {
        assert!(published.contains(expected), "{published:?}");
    }
    assert!(
        published
            .iter()
            .any(|v| v.len() == 255 && v.starts_with("aaa")),
        "{published:?}"
    );
}

/// A stack logging 10 % of requests. 1,000 logged records a minute for five minutes stand for
/// 10,000 requests a minute: the analyser publishes Requests 10,000 per minute, the built-in
/// ThroughputDegradation rule (baseline 100 requests/s) stays OK at the true rate (167/s; the
/// logged rate, 17/s, would breach it), and `price --from-metrics` prices 50,000 requests, not
/// 500,000 (no second scaling).
#[tokio::test]
async fn sampled_logs_publish_estimates_the_rules_and_price_agree_with() {
    let name: String = cfrp_tests::unique("an-sample").chars().take(32).collect();
    let stack = cfrp_tests::deploy::stack_file(&name, |t| {
        t.replace("sampling_rate = 100", "sampling_rate = 10")
            .replace("[alarms]\n", "[alarms]\nthroughput_baseline_rps = 100.0\n")
    });
    let report = cfrp_tests::deploy::up(&stack);
    let deployed = cfrp_tests::deploy::deployed(stack, &report).await;
    let (env, settings) = analyser_env(&deployed).await;
    assert_eq!(settings.sampling_rate, 10);

    let minute = now_secs() / 60 * 60;
    let events: Vec<String> = (1..=5)
        .map(|ago| {
            let generated = generate_kinesis_event(&Generate {
                max_event_bytes: 2 * 1024 * 1024,
                start_epoch: minute - 60 * ago,
                minutes: 1,
                distribution_domain: deployed.domain.clone(),
                ..Generate::default()
            });
            assert!(generated.lines.len() >= 1000, "{}", generated.lines.len());
            cfrp_events::kinesis_event_from_payloads(
                generated.lines[..1000].iter().map(|l| l.as_bytes()),
                now_secs() as f64,
            )
        })
        .collect();
    run_analyser(&env, &events).await;

    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let dims = [(m::DIM_DISTRIBUTION, deployed.domain.as_str())];
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(stat_query(
            "requests",
            &settings.namespace,
            m::REQUESTS,
            &dims,
            "Sum",
            60,
        ))
        .start_time(DateTime::from_secs((minute - 600) as i64))
        .end_time(DateTime::from_secs(minute as i64))
        .send()
        .await
        .unwrap();
    let per_minute: Vec<f64> = data
        .metric_data_results()
        .iter()
        .flat_map(|r| r.values().to_vec())
        .collect();
    assert_eq!(per_minute, vec![10_000.0; 5]);

    // The evaluator with the environment `up` gave it.
    let evaluator_env = deployed.function_env("alarm-evaluator").await;
    let scheduled = serde_json::json!({
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012",
        "time": DateTime::from_secs(minute as i64 + 5)
            .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
            .unwrap(),
        "region": deployed.region, "resources": [], "detail": {}
    })
    .to_string();
    let evaluated = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &pairs(&evaluator_env),
        &[scheduled],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let Outcome::Response(outcomes) = &evaluated.outcomes[0] else {
        panic!("{:?}\n{}", evaluated.outcomes, evaluated.stdout)
    };
    let throughput = outcomes
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "ThroughputDegradation")
        .unwrap_or_else(|| panic!("no throughput rule in {outcomes}"));
    assert_eq!(throughput["state"], "OK", "{outcomes}");

    let config = deployed.stack.path.to_string_lossy().to_string();
    let priced = cfrp_tests::deploy::deployer(&[
        "--config",
        &config,
        "--output",
        "json",
        "price",
        "--from-metrics",
        "--days",
        "1",
    ])
    .expect_code(0)
    .json();
    // 50,000 requests in the day, × 730 / 24 to a month.
    let monthly = priced["traffic"]["requests"].as_f64().unwrap();
    assert!(
        (monthly - 50_000.0 * 730.0 / 24.0).abs() < 1.0,
        "{priced:#}"
    );
    cfrp_tests::deploy::down(&deployed.stack);
}
