#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! `deployer monitor` against the emulator, through the real binary. Each test brings up the
//! example stack, publishes one minute of the analyser's metrics (names and dimensions from
//! the catalog, namespace from the deployed config), a RuleState datum and CloudFront's own
//! metrics, then: `--output json` for a bounded duration streams one object per refresh with
//! exactly the rates and ratios put in (and "no data yet" before anything was published);
//! the live view, driven once under a pseudo-terminal, draws a frame with those numbers, exits
//! 0 on Ctrl-C and leaves the alternate screen with the cursor shown.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use cfrp_config::StackConfig;
use cfrp_config::metrics as m;
use cfrp_tests::deploy::{Deployed, deploy_example, deployer, down};
use cfrp_tests::pty::deployer_under_pty;
use serde_json::Value;

fn config_arg(deployed: &Deployed) -> String {
    deployed.stack.path.to_string_lossy().to_string()
}

fn datum(
    name: &str,
    dimensions: &[(&str, &str)],
    minute_ms: i64,
    unit: StandardUnit,
    value: f64,
) -> MetricDatum {
    let mut builder = MetricDatum::builder()
        .metric_name(name)
        .timestamp(DateTime::from_millis(minute_ms))
        .unit(unit)
        .value(value);
    for (k, v) in dimensions {
        builder = builder.dimensions(Dimension::builder().name(*k).value(*v).build());
    }
    builder.build()
}

/// Publishes one minute (the previous whole minute) of traffic, as the analyser, the
/// evaluator and CloudFront would. Returns the stack's config and the name of the rule put
/// in ALARM.
async fn publish(deployed: &Deployed) -> (StackConfig, String) {
    let config = StackConfig::load(&deployed.stack.path).unwrap();
    let ns = config.metrics.namespace.clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let minute = now - now.rem_euclid(60_000) - 60_000;
    let domain = deployed.domain.as_str();
    let dist = [(m::DIM_DISTRIBUTION, domain)];
    let mut data = vec![
        // 600 requests in the minute: 10 requests/s, 20 kB/s.
        datum(m::REQUESTS, &dist, minute, StandardUnit::Count, 600.0),
        datum(
            m::BYTES_SENT,
            &dist,
            minute,
            StandardUnit::Bytes,
            1_200_000.0,
        ),
        // 5 % 4xx, 1 % 5xx, 75 % cache hits.
        datum(m::STATUS_4XX, &dist, minute, StandardUnit::Count, 30.0),
        datum(m::STATUS_5XX, &dist, minute, StandardUnit::Count, 6.0),
        datum(m::CACHE_HITS, &dist, minute, StandardUnit::Count, 450.0),
    ];
    // TimeTaken as the analyser sends it (values and counts): 100 samples whose nearest-rank
    // p50, p95 and p99 are 10, 100 and 900 ms.
    data.push(
        MetricDatum::builder()
            .metric_name(m::TIME_TAKEN)
            .dimensions(
                Dimension::builder()
                    .name(m::DIM_DISTRIBUTION)
                    .value(domain)
                    .build(),
            )
            .timestamp(DateTime::from_millis(minute))
            .unit(StandardUnit::Milliseconds)
            .set_values(Some(vec![10.0, 20.0, 100.0, 900.0]))
            .set_counts(Some(vec![50.0, 40.0, 8.0, 2.0]))
            .build(),
    );
    for (country, n) in [("US", 300.0), ("DE", 150.0), ("Other", 150.0)] {
        data.push(datum(
            m::REQUESTS_BY_COUNTRY,
            &[(m::DIM_DISTRIBUTION, domain), (m::DIM_COUNTRY, country)],
            minute,
            StandardUnit::Count,
            n,
        ));
    }
    for (pop, n) in [("FRA56-P1", 450.0), ("IAD89-C1", 150.0)] {
        data.push(datum(
            m::REQUESTS_BY_EDGE_LOCATION,
            &[(m::DIM_DISTRIBUTION, domain), (m::DIM_EDGE_LOCATION, pop)],
            minute,
            StandardUnit::Count,
            n,
        ));
    }
    let alarmed = config.alarms.rules[0].name.clone();
    data.push(datum(
        m::RULE_STATE,
        &[(m::DIM_RULE, &alarmed)],
        minute,
        StandardUnit::None,
        1.0,
    ));
    let regional = aws_sdk_cloudwatch::Client::new(&deployed.config);
    regional
        .put_metric_data()
        .namespace(&ns)
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();

    // CloudFront's own metrics, in us-east-1: 1200 requests (20/s), 0.5 % 5xx; no
    // additional metrics.
    let global = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&deployed.config)
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    let cf = [
        ("DistributionId", deployed.distribution_id.as_str()),
        ("Region", "Global"),
    ];
    global
        .put_metric_data()
        .namespace(m::CLOUDFRONT_NAMESPACE)
        .set_metric_data(Some(vec![
            datum("Requests", &cf, minute, StandardUnit::None, 1200.0),
            datum("5xxErrorRate", &cf, minute, StandardUnit::Percent, 0.5),
        ]))
        .send()
        .await
        .unwrap();
    (config, alarmed)
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn json_mode_streams_one_object_per_refresh_with_the_published_rates() {
    let deployed = deploy_example("mon-json").await;
    let config = config_arg(&deployed);

    // Nothing published yet: no data, not zeros.
    let empty =
        deployer(&["--config", &config, "--output", "json", "monitor", "--once"]).expect_code(0);
    let objects = lines(&empty.stdout);
    assert_eq!(objects.len(), 1, "{}", empty.stdout);
    let first = &objects[0];
    assert_eq!(first["distribution_id"], deployed.distribution_id.as_str());
    assert_eq!(first["analyser"]["minute"], Value::Null, "{first:#}");
    assert_eq!(first["analyser"]["requests_per_second"]["now"], Value::Null);
    assert_eq!(first["cloudfront"]["minute"], Value::Null);
    let text = deployer(&["--config", &config, "monitor", "--once"]).expect_code(0);
    assert!(text.stdout.contains("no data yet"), "{}", text.stdout);
    assert!(
        !text.stdout.contains('\u{1b}'),
        "escape codes off a terminal"
    );

    let (stack, alarmed) = publish(&deployed).await;
    let run = deployer(&[
        "--config",
        &config,
        "--output",
        "json",
        "monitor",
        "--duration",
        "3s",
        "--interval",
        "1s",
    ])
    .expect_code(0);
    let objects = lines(&run.stdout);
    assert!(
        objects.len() >= 2,
        "{} objects:\n{}",
        objects.len(),
        run.stdout
    );
    for o in &objects {
        let a = &o["analyser"];
        assert_eq!(o["stack"], stack.name.as_str());
        assert_eq!(o["distribution_domain"], deployed.domain.as_str());
        assert_eq!(o["window_minutes"], 15);
        assert!(a["minute"].is_string(), "{o:#}");
        assert_eq!(a["requests_per_second"]["now"], 10.0, "{o:#}");
        assert_eq!(a["bytes_per_second"]["now"], 20_000.0);
        assert_eq!(a["error_rate_4xx"]["now"], 5.0);
        assert_eq!(a["error_rate_5xx"]["now"], 1.0);
        assert_eq!(a["cache_hit_ratio"]["now"], 75.0);
        assert_eq!(a["latency_p50_ms"]["now"], 10.0);
        assert_eq!(a["latency_p95_ms"]["now"], 100.0);
        assert_eq!(a["latency_p99_ms"]["now"], 900.0);
        assert_eq!(a["origin_latency_p95_ms"]["now"], Value::Null);
        let history = a["requests_per_second"]["history"].as_array().unwrap();
        assert_eq!(history.len(), 15);
        assert_eq!(history.iter().filter(|v| **v == 10.0).count(), 1);
        assert_eq!(
            o["top_countries"],
            serde_json::json!([
                {"name": "US", "requests": 300.0, "percent": 50.0},
                {"name": "DE", "requests": 150.0, "percent": 25.0},
            ])
        );
        assert_eq!(o["top_edge_locations"][0]["name"], "FRA56-P1");
        assert_eq!(o["top_edge_locations"][0]["percent"], 75.0);
        let rules = o["rules"].as_array().unwrap();
        assert_eq!(rules.len(), stack.alarms.rules.len());
        for rule in rules {
            let want = if rule["rule"] == alarmed.as_str() {
                Value::from("ALARM")
            } else {
                Value::Null
            };
            assert_eq!(rule["state"], want, "{rule}");
        }
        let c = &o["cloudfront"];
        assert_eq!(c["requests_per_second"]["now"], 20.0, "{c:#}");
        assert_eq!(c["error_rate_5xx"]["now"], 0.5);
        assert_eq!(c["additional_metrics"], false);
    }

    down(&deployed.stack);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_view_under_a_terminal_shows_the_numbers_and_restores_the_screen_on_ctrl_c() {
    let deployed = deploy_example("mon-pty").await;
    let config = config_arg(&deployed);
    let (_stack, alarmed) = publish(&deployed).await;
    let expect = [
        "10.0",
        "20.0 kB/s",
        "75.0 %",
        "900 ms",
        "50.0 %",
        "ALARM",
        "Ctrl-C to quit",
    ];
    let report = deployer_under_pty(
        &[
            "--config",
            &config,
            "monitor",
            "--interval",
            "1s",
            "--duration",
            "30s",
        ],
        &expect,
        b"\x03",
    );
    let output = report["output"].as_str().unwrap_or_default();
    assert_eq!(report["found"], true, "no frame with {expect:?}:\n{output}");
    assert_eq!(report["code"], 0, "{report:#}");
    assert!(report["seconds"].as_f64().unwrap() < 5.0, "{report:#}");
    assert!(output.contains(&alarmed), "{output}");
    assert!(
        output.contains("\u{1b}[?1049h"),
        "entered the alternate screen"
    );
    assert!(output.contains("\u{1b}[?25l"), "hid the cursor");
    let tail = output.trim_end();
    assert!(
        tail.ends_with("\u{1b}[?25h\u{1b}[?1049l"),
        "ends by showing the cursor and leaving the alternate screen: {:?}",
        tail.chars()
            .rev()
            .take(80)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );

    down(&deployed.stack);
}
