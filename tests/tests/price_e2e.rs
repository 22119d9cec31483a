#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! `deployer price --from-metrics` against the emulator: the analyser's metrics (the same
//! names and dimensions it publishes, from `cfrp_config::metrics`) put into CloudWatch, read
//! back by the real binary, scaled to a month and priced; the totals equal the figures
//! computed by hand below.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use cfrp_config::metrics as m;
use cfrp_tests::deploy::{deployer, stack_file};
use cfrp_tests::{sdk_config, unique};
use serde_json::Value;

/// The example stack's region.
const REGION: &str = "eu-west-1";

async fn cloudwatch() -> aws_sdk_cloudwatch::Client {
    let config = sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new(REGION))
        .build();
    aws_sdk_cloudwatch::Client::new(&config)
}

fn stack_name(prefix: &str) -> String {
    unique(prefix).chars().take(32).collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60
}

/// One minute of the analyser's output for `domain`: totals and requests by country.
async fn publish(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    domain: &str,
    minute: i64,
    requests: f64,
    bytes: f64,
    countries: &[(&str, f64)],
) {
    let distribution = Dimension::builder()
        .name(m::DIM_DISTRIBUTION)
        .value(domain)
        .build();
    let datum = |name: &str, dims: Vec<Dimension>, value: f64, unit: StandardUnit| {
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims))
            .timestamp(DateTime::from_secs(minute))
            .value(value)
            .unit(unit)
            .build()
    };
    let mut request = cloudwatch
        .put_metric_data()
        .namespace(namespace)
        .metric_data(datum(
            m::REQUESTS,
            vec![distribution.clone()],
            requests,
            StandardUnit::Count,
        ))
        .metric_data(datum(
            m::BYTES_SENT,
            vec![distribution.clone()],
            bytes,
            StandardUnit::Bytes,
        ));
    for (country, n) in countries {
        request = request.metric_data(datum(
            m::REQUESTS_BY_COUNTRY,
            vec![
                distribution.clone(),
                Dimension::builder()
                    .name(m::DIM_COUNTRY)
                    .value(*country)
                    .build(),
            ],
            *n,
            StandardUnit::Count,
        ));
    }
    request.send().await.unwrap();
}

fn total(report: &Value, class: &str) -> f64 {
    report["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["price_class"] == class)
        .and_then(|c| c["total"].as_f64())
        .unwrap_or_else(|| panic!("no total for {class} in {report:#}"))
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "got {actual}, expected {expected}"
    );
}

#[tokio::test]
async fn a_day_of_metrics_is_priced_per_class_to_the_hand_computed_totals() {
    let name = stack_name("price");
    let stack = stack_file(&name, |t| t);
    let namespace = format!("CloudFrontProxy/{name}");
    let domain = format!("{}.cloudfront.net", unique("d"));
    let cloudwatch = cloudwatch().await;
    // Two minutes in the last day: 24,000 requests (US 12,000, DE 9,600, JP 2,400) and
    // 24 GiB in all.
    let gib = 1_073_741_824.0;
    for minutes_ago in [120, 60] {
        publish(
            &cloudwatch,
            &namespace,
            &domain,
            now() - 60 * minutes_ago,
            12_000.0,
            12.0 * gib,
            &[("US", 6_000.0), ("DE", 4_800.0), ("JP", 1_200.0)],
        )
        .await;
    }
    let config = stack.path.to_string_lossy().to_string();
    let run = deployer(&[
        "--config",
        &config,
        "--output",
        "json",
        "price",
        "--from-metrics",
        "--days",
        "1",
    ])
    .expect_code(0);
    let report = run.json();

    // A month is 730 h: 24,000 requests × 730 / 24 = 730,000 requests and 730 GB, 100%
    // sampling (the example stack), all HTTPS; US 50%, DE 40%, JP 10%.
    assert_close(report["traffic"]["requests"].as_f64().unwrap(), 730_000.0);
    assert_close(report["traffic"]["gb"].as_f64().unwrap(), 730.0);
    assert_eq!(report["price_class"], "PriceClass_100");
    assert_eq!(report["table"]["as_of"], "2026-11-26");

    // The stack, the same under every class (example stack: on-demand stream, arm64
    // functions of 256 MB, evaluator every minute, no invalidations):
    //   real-time logs  730,000 lines × $0.01 / 1M                          = 0.0073
    //   Kinesis stream  730 h × $0.04                                       = 29.20
    //   Kinesis in      730,000 KB = 0.6961822509765625 GB × $0.08          = 0.055694580078125
    //   Kinesis read    0.6961822509765625 GB × $0.04                       = 0.02784729003906
    //   analyser        max(730 batches, min(730,000, 525,600)) = 525,600 runs:
    //                   0.5256 M × $0.20 = 0.10512; 26,280 GB-s × $0.0000133334 = 0.350401752
    //   evaluator       43,800 runs: 0.00876; 5,475 GB-s × $0.0000133334 = 0.073000365
    //   Kinesis + Lambda                                                    = 29.8208239871172
    //   CloudWatch (the example: top N 10, 1 app header, 2 path behaviours, 7 rules):
    //     custom metrics  15 + Country 11 + EdgeLocation 11 + PathPattern 3
    //                     + ProtocolVersion 5 + app header 11 + threat 5 = 61, + 7 rule
    //                     states = 68 × $0.30                                = 20.40
    //     PutMetricData   525,600 + 43,800 = 569.4 k × $0.01                 = 5.694
    //     GetMetricData   per run 2 + 3 + 2 + 2 + 2 + 2 + 2 = 15 metrics;
    //                     43,800 × 15 = 657 k × $0.01                        = 6.57
    //     alarm metrics   7 rules + 3 logging + 1 dead letters + 3 × 2 function
    //                     errors/throttles + 1 evaluator stopped = 18 × $0.10 = 1.80
    //     dashboard                                                         = 3.00
    //                                                                       = 37.464
    //   stack                                                               = 67.2848239871172
    // PriceClass_100: JP is outside, billed at north-america rates (60% there):
    //   transfer  438 GB × $0.085 = 37.23; DE 292 GB × $0.085 = 24.82       = 62.05
    //   HTTPS     43.8 × $0.0100 = 0.438; DE 29.2 × $0.0120 = 0.3504        = 0.7884
    //   CloudFront 62.05 + 0.7884 + 0.0073                                  = 62.8457
    //   total                                                               = 130.1305239871172
    // PriceClass_200 and _All: JP in its own region:
    //   transfer  US 365 × 0.085 = 31.025; DE 24.82; JP 73 × 0.114 = 8.322  = 64.167
    //   HTTPS     US 0.365; DE 0.3504; JP 7.3 × 0.012 = 0.0876              = 0.803
    //   CloudFront 64.167 + 0.803 + 0.0073                                  = 64.9773
    //   total                                                               = 132.2621239871172
    assert_close(total(&report, "PriceClass_100"), 130.1305239871172);
    assert_close(total(&report, "PriceClass_200"), 132.2621239871172);
    assert_close(total(&report, "PriceClass_All"), 132.2621239871172);
    let class_100 = &report["classes"][0];
    assert_close(class_100["stack"].as_f64().unwrap(), 67.2848239871172);
    let cloudwatch: f64 = class_100["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["category"] == "cloudwatch")
        .map(|i| i["cost"].as_f64().unwrap())
        .sum();
    assert_close(cloudwatch, 37.464);
    assert_eq!(class_100["outside"][0]["viewer"], "JP");
    assert_eq!(class_100["outside"][0]["billed_as"], "north-america");

    // The text view of the same metrics, with the comparison and its bar chart.
    let text = deployer(&[
        "--config",
        &config,
        "price",
        "--from-metrics",
        "--days",
        "1",
        "--compare",
    ])
    .expect_code(0)
    .stdout;
    assert!(text.contains("$130.13"), "{text}");
    assert!(text.contains("$132.26"), "{text}");
    assert!(
        text.contains("https://aws.amazon.com/cloudwatch/pricing/"),
        "{text}"
    );
    assert!(text.contains("█"), "{text}");
    assert!(
        text.contains("https://aws.amazon.com/cloudfront/pricing/"),
        "{text}"
    );
    assert!(
        text.contains("served from a farther edge (higher latency)"),
        "{text}"
    );
}

#[tokio::test]
async fn several_distributions_need_a_choice_and_no_metrics_is_an_error() {
    let name = stack_name("price-two");
    let stack = stack_file(&name, |t| t);
    let config = stack.path.to_string_lossy().to_string();
    let namespace = format!("CloudFrontProxy/{name}");
    let args = |extra: &[&str]| {
        let mut args = vec![
            "--config",
            &config,
            "--output",
            "json",
            "price",
            "--from-metrics",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let owned = args(extra);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        deployer(&refs)
    };

    let empty = run(&["--days", "1"]).expect_code(1);
    assert!(
        empty.stderr.contains("no RequestsByCountry data") && empty.stderr.contains(&namespace),
        "{}",
        empty.stderr
    );

    let cloudwatch = cloudwatch().await;
    let (a, b) = ("a1.cloudfront.net", "b2.cloudfront.net");
    publish(
        &cloudwatch,
        &namespace,
        a,
        now() - 600,
        100.0,
        1e6,
        &[("FR", 100.0)],
    )
    .await;
    publish(
        &cloudwatch,
        &namespace,
        b,
        now() - 600,
        10.0,
        1e5,
        &[("BR", 10.0)],
    )
    .await;
    let two = run(&["--days", "1"]).expect_code(1);
    assert!(
        two.stderr.contains("2 distributions") && two.stderr.contains("--distribution"),
        "{}",
        two.stderr
    );
    let chosen = run(&["--days", "1", "--distribution", b])
        .expect_code(0)
        .json();
    assert_eq!(chosen["traffic"]["geo"][0]["viewer"], "BR");
    assert_eq!(chosen["traffic"]["geo"][0]["region"], "south-america");
    // 10 requests a day → 10 × 730 / 24 a month.
    assert_close(
        chosen["traffic"]["requests"].as_f64().unwrap(),
        10.0 * 730.0 / 24.0,
    );
}

#[test]
fn flags_errors_name_the_entry() {
    let run = deployer(&[
        "price",
        "--requests",
        "1000",
        "--gb",
        "1",
        "--geo",
        "US=0.5,DE=half",
    ])
    .expect_code(1);
    assert!(
        run.stderr.contains("--geo entry \"DE=half\"") && run.stderr.contains("COUNTRY=SHARE"),
        "{}",
        run.stderr
    );
    let run = deployer(&[
        "price",
        "--requests",
        "1000",
        "--gb",
        "1",
        "--geo",
        "US=0.5",
    ])
    .expect_code(1);
    assert!(run.stderr.contains("sum to 0.5"), "{}", run.stderr);
}
