//! Profiles pinned to totals computed by hand from the table, term by term.

use cfrp_config::{Architecture, Manuscripts, PriceClass, StackConfig, StreamMode};

use super::*;

fn config() -> StackConfig {
    StackConfig::for_origin("t", "us-east-1", "origin.example.com")
}

/// The CloudFront charges only: no logging, no alarms.
fn bare_config() -> StackConfig {
    let mut c = config();
    c.logging.enabled = false;
    c.alarms.enabled = false;
    c
}

fn traffic(requests: f64, gb: f64, https: f64, geo: &str, paths: u64) -> Traffic {
    Traffic {
        requests,
        gb,
        https_share: https,
        geo: parse_geo(geo).unwrap_or_else(|e| panic!("{e}")),
        invalidation_paths: paths,
        source: "test".to_string(),
    }
}

fn total(estimate: &Estimate, class: PriceClass) -> f64 {
    estimate
        .class(class)
        .map(|c| c.total)
        .unwrap_or_else(|| panic!("no {class}"))
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "got {actual}, expected {expected} (difference {})",
        actual - expected
    );
}

#[test]
fn profile_a_north_america_with_the_default_stack() {
    // 10,000,000 HTTPS requests, 100 GB, all US; the default stack (100% sampling,
    // on-demand stream, arm64 256 MB functions, evaluator every minute).
    //   data transfer   100 GB × $0.085                                  =  8.50
    //   HTTPS           10,000,000 / 10,000 = 1,000 × $0.0100            = 10.00
    //   real-time logs  10,000,000 lines = 10 × $0.01 per 1M             =  0.10
    //   Kinesis stream  730 h × $0.04                                    = 29.20
    //   Kinesis in      10,000,000 × 1,024 B / 2^30 = 9.5367431640625 GB
    //                   × $0.08                                          =  0.762939453125
    //   Kinesis read    9.5367431640625 GB × $0.04                       =  0.3814697265625
    //   analyser        max(10,000 full batches, min(10M, 525,600 windows)) = 525,600 runs
    //                   0.5256 M × $0.20                                 =  0.10512
    //                   525,600 × 0.2 s × 0.25 GB = 26,280 GB-s × $0.0000133334
    //                                                                    =  0.350401752
    //   evaluator       730 × 60 = 43,800 runs: 0.0438 M × $0.20         =  0.00876
    //                   43,800 × 0.5 s × 0.25 GB = 5,475 GB-s × $0.0000133334
    //                                                                    =  0.073000365
    //   CloudWatch (see cloudwatch_items_of_the_default_stack)           = 30.712
    //   CloudFront 18.60 + stack 61.5936912966875                        = 80.1936912966875
    let estimate = estimate(
        traffic(10_000_000.0, 100.0, 1.0, "US=1", 0),
        &config(),
        PriceClass::PriceClass100,
        Vec::new(),
    );
    let class = estimate
        .class(PriceClass::PriceClass100)
        .unwrap_or_else(|| panic!("no class"));
    assert_close(class.cloudfront, 18.60);
    assert_close(class.stack, 61.5936912966875);
    assert_close(class.total, 80.1936912966875);
    // The US is in every class: the same bill under each.
    for class in PriceClass::ALL {
        assert_close(total(&estimate, *class), 80.1936912966875);
    }
}

#[test]
fn profile_b_five_countries_across_the_classes() {
    // 20,000,000 requests (75% HTTPS), 1,000 GB, US 50%, DE 20%, JP/BR/AU 10% each,
    // 1,500 invalidation paths; CloudFront charges and the dashboard ($3.00) only.
    // PriceClass_All, every country in its own region:
    //   transfer  US 500 × 0.085 = 42.50; DE 200 × 0.085 = 17.00; JP 100 × 0.114 = 11.40;
    //             BR 100 × 0.110 = 11.00; AU 100 × 0.114 = 11.40                 =  93.30
    //   requests  US 10M: 750 × 0.0100 = 7.50 + 250 × 0.0075 = 1.875
    //             DE 4M:  300 × 0.0120 = 3.60 + 100 × 0.0090 = 0.90
    //             JP 2M:  150 × 0.0120 = 1.80 +  50 × 0.0090 = 0.45
    //             BR 2M:  150 × 0.0220 = 3.30 +  50 × 0.0160 = 0.80
    //             AU 2M:  150 × 0.0125 = 1.875 + 50 × 0.0090 = 0.45                =  22.55
    //   invalidations (1,500 − 1,000) × 0.005                                      =   2.50
    //   dashboard                                                                  =   3.00
    //                                                                       total   121.35
    // PriceClass_200: BR and AU are outside, billed at north-america rates (70% there):
    //   transfer  700 × 0.085 = 59.50 + DE 17.00 + JP 11.40                        =  87.90
    //   requests  14M: 1,050 × 0.0100 = 10.50 + 350 × 0.0075 = 2.625; DE 4.50; JP 2.25
    //                                                                              =  19.875
    //   invalidations                                                              =   2.50
    //   dashboard                                                                  =   3.00
    //                                                                       total   113.275
    // PriceClass_100: JP, BR and AU outside (80% at north-america rates):
    //   transfer  800 × 0.085 = 68.00 + DE 17.00                                   =  85.00
    //   requests  16M: 1,200 × 0.0100 = 12.00 + 400 × 0.0075 = 3.00; DE 4.50        =  19.50
    //   invalidations                                                              =   2.50
    //   dashboard                                                                  =   3.00
    //                                                                       total   110.00
    let estimate = estimate(
        traffic(
            20_000_000.0,
            1000.0,
            0.75,
            "US=0.5,DE=0.2,JP=0.1,BR=0.1,AU=0.1",
            1500,
        ),
        &bare_config(),
        PriceClass::PriceClass100,
        Vec::new(),
    );
    assert_close(total(&estimate, PriceClass::PriceClassAll), 121.35);
    assert_close(total(&estimate, PriceClass::PriceClass200), 113.275);
    assert_close(total(&estimate, PriceClass::PriceClass100), 110.00);
    let outside = |class| -> Vec<String> {
        estimate
            .class(class)
            .map(|c| c.outside.iter().map(|o| o.viewer.clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(outside(PriceClass::PriceClass100), ["JP", "BR", "AU"]);
    assert_eq!(outside(PriceClass::PriceClass200), ["BR", "AU"]);
    assert!(outside(PriceClass::PriceClassAll).is_empty());
}

#[test]
fn profile_c_europe_crosses_two_volume_tiers() {
    // 60 TB = 61,440 GB to Europe, 1,000,000 HTTPS requests; CloudFront charges and the
    // dashboard only.
    //   first 10 TB  10,240 GB × 0.085                       =   870.40
    //   next 40 TB   40,960 GB × 0.080                       = 3,276.80
    //   next 100 TB  61,440 − 51,200 = 10,240 GB × 0.060     =   614.40
    //   HTTPS        100 × 0.0120                            =     1.20
    //   dashboard                                            =     3.00
    //                                                total     4,765.80
    let estimate = estimate(
        traffic(1_000_000.0, 61_440.0, 1.0, "europe=1", 0),
        &bare_config(),
        PriceClass::PriceClass100,
        Vec::new(),
    );
    for class in PriceClass::ALL {
        assert_close(total(&estimate, *class), 4765.80);
    }
    let tiers: Vec<f64> = estimate.classes[0]
        .line_items
        .iter()
        .filter(|i| i.category == Category::DataTransfer)
        .map(|i| i.quantity)
        .collect();
    assert_eq!(tiers, [10_240.0, 40_960.0, 10_240.0]);
}

#[test]
fn profile_d_provisioned_stream_sampling_x86_and_invalidations() {
    // 2,000,000,000 HTTPS requests, 0 GB, US; 2,000 invalidation paths; 50% sampling,
    // provisioned stream of 2 shards, x86_64 functions of 512 MB, evaluator every 5
    // minutes, a manuscripts bucket (so the invalidator runs).
    //   HTTPS            200,000 × 0.0100                                 = 2,000.00
    //   invalidations    1,000 × 0.005                                    =     5.00
    //   real-time logs   1,000,000,000 lines = 1,000 × 0.01               =    10.00
    //   shards           2 × 730 = 1,460 shard-h × 0.015                  =    21.90
    //   PUT units        1,000 M × 0.014                                  =    14.00
    //   analyser         max(1,000,000 batches, 525,600) = 1,000,000 runs: 1 M × 0.20
    //                                                                     =     0.20
    //                    1,000,000 × 0.2 s × 0.5 GB = 100,000 GB-s × 0.0000166667
    //                                                                     =     1.66667
    //   evaluator        43,800 / 5 = 8,760 runs: 0.00876 M × 0.20        =     0.001752
    //                    8,760 × 0.5 s × 0.5 GB = 2,190 GB-s × 0.0000166667
    //                                                                     =     0.036500073
    //   invalidator      2,000 runs: 0.002 M × 0.20                       =     0.0004
    //                    2,000 × 0.5 s × 0.5 GB = 500 GB-s × 0.0000166667 =     0.00833335
    //   CloudWatch: custom metrics 53 × 0.30 (as profile A)               =    15.90
    //                PutMetricData 1,000,000 + 8,760 = 1,008.76 k × 0.01  =    10.0876
    //                GetMetricData 8,760 × 11 = 96.36 k metrics × 0.01    =     0.9636
    //                alarm metrics 5 rules + 3 logging + 1 dead letters
    //                  + 3 × 2 function errors/throttles + 1 stopped = 16 × 0.10
    //                                                                     =     1.60
    //                dashboard                                            =     3.00
    //   CloudFront 2,015.00 + stack 69.364855423                          = 2,084.364855423
    let mut config = config();
    config.logging.sampling_rate = 50;
    config.logging.stream_mode = StreamMode::Provisioned;
    config.logging.shards = Some(2);
    config.functions.architecture = Architecture::X86_64;
    config.functions.memory_mb = 512;
    config.alarms.schedule = "rate(5 minutes)".to_string();
    config.manuscripts = Some(Manuscripts {
        bucket: "b".to_string(),
        key_prefix: "m/".to_string(),
        path_prefix: "/m/".to_string(),
        batch_window_seconds: 30,
    });
    let estimate = estimate(
        traffic(2_000_000_000.0, 0.0, 1.0, "US=1", 2000),
        &config,
        PriceClass::PriceClass100,
        Vec::new(),
    );
    let class = &estimate.classes[0];
    assert_close(class.cloudfront, 2015.00);
    assert_close(class.stack, 69.364855423);
    assert_close(class.total, 2084.364855423);
}

#[test]
fn metrics_are_scaled_to_a_month_and_other_is_spread() {
    // One day: 30,000 requests (US 12,000, DE 9,600, JP 2,400, Other 6,000) and 30 GiB, as
    // the analyser publishes them (estimates of all requests, whatever the sampling): × 730 / 24 → 912,500 requests and 912.5 GB a month; Other
    // is spread in proportion, leaving US 50%, DE 40%, JP 10%.
    let observed = metrics::Observed {
        distribution: "d1.cloudfront.net".to_string(),
        days: 1,
        requests: 30_000.0,
        bytes: 30.0 * table::BYTES_PER_GB,
        countries: vec![
            ("US".to_string(), 12_000.0),
            ("DE".to_string(), 9_600.0),
            ("JP".to_string(), 2_400.0),
            ("Other".to_string(), 6_000.0),
        ],
    };
    let mut notes = Vec::new();
    let t = traffic_from_metrics(&observed, 1.0, 0, &mut notes).unwrap_or_else(|e| panic!("{e}"));
    assert_close(t.requests, 912_500.0);
    assert_close(t.gb, 912.5);
    let shares: Vec<(&str, f64)> = t.geo.iter().map(|s| (s.viewer.as_str(), s.share)).collect();
    assert_eq!(shares.len(), 3);
    assert_close(shares[0].1, 0.5);
    assert_close(shares[1].1, 0.4);
    assert_close(shares[2].1, 0.1);
    assert!(
        notes.iter().any(|n| n.starts_with("20.0% of the requests")),
        "{notes:?}"
    );
}

#[test]
fn geo_errors_name_the_entry_and_the_sum() {
    let err = parse_geo("US=0.6,DE=abc").err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("--geo entry \"DE=abc\""), "{err}");
    assert!(
        err.contains("expected COUNTRY=SHARE or REGION=SHARE"),
        "{err}"
    );
    let err = parse_geo("XX=1")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("\"XX\" is not an ISO 3166-1 alpha-2"), "{err}");
    let err = parse_geo("mars=1")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("neither a country code nor a price region"),
        "{err}"
    );
    let err = parse_geo("US=0.6,DE=0.3")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("sum to 0.8999999999999999") || err.contains("sum to 0.9"),
        "{err}"
    );
    let err = parse_geo("US=0.5,us=0.5")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("given twice"), "{err}");
    let ok = parse_geo(" us = 0.25 , India=0.75 ").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok[0].viewer, "US");
    assert_eq!(ok[1].region, RegionGroup::India);
}

#[test]
fn price_classes_and_their_least_expensive_region() {
    for class in PriceClass::ALL {
        assert_eq!(least_expensive(*class), RegionGroup::NorthAmerica);
    }
    assert!(!serves(PriceClass::PriceClass100, RegionGroup::Japan));
    assert!(serves(PriceClass::PriceClass200, RegionGroup::India));
    assert!(!serves(
        PriceClass::PriceClass200,
        RegionGroup::SouthAmerica
    ));
    assert!(serves(PriceClass::PriceClassAll, RegionGroup::Australia));
}

#[test]
fn text_and_json_views() {
    let estimate = estimate(
        traffic(
            20_000_000.0,
            1000.0,
            0.75,
            "US=0.5,DE=0.2,JP=0.1,BR=0.1,AU=0.1",
            0,
        ),
        &config(),
        PriceClass::PriceClass100,
        Vec::new(),
    );
    let mut text = Vec::new();
    report::text(&estimate, true, false, &mut text).unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8(text).unwrap_or_default();
    assert!(text.contains("read 2026-11-26"), "{text}");
    assert!(
        text.contains("https://aws.amazon.com/cloudfront/pricing/"),
        "{text}"
    );
    assert!(
        text.contains("served from a farther edge (higher latency)"),
        "{text}"
    );
    assert!(text.contains("█"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour off a terminal");
    let mut json = Vec::new();
    report::json(&estimate, &mut json).unwrap_or_else(|e| panic!("{e}"));
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value["classes"].as_array().map(Vec::len), Some(3));
    assert_eq!(value["table"]["as_of"], "2026-11-26");
    assert_eq!(
        value["classes"][0]["outside"][0]["billed_as"],
        "north-america"
    );
}

#[test]
fn bars_and_numbers() {
    assert_eq!(report::bar(1.0, 1.0).chars().count(), 40);
    assert_eq!(report::bar(0.5, 1.0), "█".repeat(20));
    assert_eq!(report::bar(1.0 / 64.0, 1.0), "▋");
    assert_eq!(report::count(1_234_567.0), "1,234,567");
    assert_eq!(report::money(1234.567), "$1,234.57");
    assert_eq!(report::money(0.001), "<$0.01");
}

/// The CloudWatch items alone, by category.
fn cloudwatch_costs(estimate: &Estimate) -> Vec<(String, f64, f64)> {
    estimate.classes[0]
        .line_items
        .iter()
        .filter(|i| i.category == Category::CloudWatch)
        .map(|i| (i.description.clone(), i.quantity, i.cost))
        .collect()
}

#[test]
fn cloudwatch_items_of_the_default_stack() {
    // The default stack: every default field logged, top N 10, no path behaviours, no app
    // headers; 5 built-in rules (HighLatency, LowSuccessRate, High5xxErrorRate,
    // HighThreatClients, ThroughputDegradation); the analyser runs 525,600 times and the
    // evaluator 43,800 times a month (as in profile A).
    //   analyser series  11 counters and ratios + 4 latency distributions
    //                    + Country 11 + EdgeLocation 11 + PathPattern min(11, 1) = 1
    //                    + ProtocolVersion min(11, 5) = 5 + 4 threat levels + HIGH+ = 48
    //   custom metrics   48 + 5 RuleState = 53 × $0.30                   = 15.90
    //   PutMetricData    525,600 + 43,800 = 569.4 k requests × $0.01     =  5.694
    //   GetMetricData    per run 2 + 3 + 2 + 2 + 2 = 11 metrics (a metric or an
    //                    expression's 2 / 1 metrics, and the previous state);
    //                    43,800 × 11 = 481.8 k metrics × $0.01           =  4.818
    //   alarm metrics    5 rule alarms + analyser failures, iterator age, malformed
    //                    + 2 functions × (errors, throttles) + evaluator stopped
    //                    = 13 × $0.10                                    =  1.30
    //   dashboard                                                        =  3.00
    //                                                            total     30.712
    let config = config();
    assert_eq!(cloudwatch::analyser_series(&config).total(), 48);
    assert_eq!(cloudwatch::evaluator_metrics_per_run(&config), 11);
    assert_eq!(cloudwatch::alarm_metrics(&config), (13, 0));
    let estimate = estimate(
        traffic(10_000_000.0, 100.0, 1.0, "US=1", 0),
        &config,
        PriceClass::PriceClass100,
        Vec::new(),
    );
    let items = cloudwatch_costs(&estimate);
    let quantities: Vec<f64> = items.iter().map(|(_, q, _)| *q).collect();
    assert_eq!(quantities, [53.0, 569.4, 481.8, 13.0, 1.0], "{items:#?}");
    assert_close(items.iter().map(|(_, _, c)| c).sum(), 30.712);
    assert!(
        estimate
            .table
            .cloudwatch
            .contains("https://aws.amazon.com/cloudwatch/pricing/")
    );
}

#[test]
fn top_n_app_headers_behaviours_and_additional_metrics_add_their_series() {
    // top N 5, two app headers, two path behaviours, additional metrics on, alarms off:
    //   analyser series  15 + Country 6 + EdgeLocation 6 + PathPattern min(6, 3) = 3
    //                    + ProtocolVersion min(6, 5) = 5 + 2 × 6 app-header values + 5
    //                    = 52 × $0.30                                    = 15.60
    //   PutMetricData    525,600 analyser runs = 525.6 k × $0.01          =  5.256
    //   no GetMetricData, no alarms (alarms off)
    //   dashboard                                                        =  3.00
    //   CloudFront additional metrics 8 × $0.30                          =  2.40
    //                                                            total     26.256
    let mut config = config();
    config.metrics.top_n = 5;
    config.metrics.app_headers = vec!["x-tenant".to_string(), "x-operation".to_string()];
    let mut images = cfrp_config::Behavior::new("origin");
    images.path_pattern = Some("/images/*".to_string());
    let mut api = cfrp_config::Behavior::new("origin");
    api.path_pattern = Some("/api/*".to_string());
    config.behaviors = vec![images, api];
    config.alarms.enabled = false;
    config.distribution.additional_metrics = true;
    let series = cloudwatch::analyser_series(&config);
    assert_eq!(
        (
            series.per_distribution,
            series.breakdowns,
            series.app_headers,
            series.threat
        ),
        (15, 20, 12, 5)
    );
    let estimate = estimate(
        traffic(10_000_000.0, 100.0, 1.0, "US=1", 0),
        &config,
        PriceClass::PriceClass100,
        Vec::new(),
    );
    let items = cloudwatch_costs(&estimate);
    let quantities: Vec<f64> = items.iter().map(|(_, q, _)| *q).collect();
    assert_eq!(quantities, [52.0, 525.6, 1.0, 8.0], "{items:#?}");
    assert_close(items.iter().map(|(_, _, c)| c).sum(), 26.256);
    // Without the headers field logged, the app-header series are not published.
    config
        .logging
        .fields
        .retain(|f| *f != cfrp_config::Field::Headers);
    assert_eq!(cloudwatch::analyser_series(&config).app_headers, 0);
}

#[test]
fn custom_metrics_past_10000_are_priced_in_the_next_tier() {
    // top N 1,000 and 10 app headers: 15 + 1,001 + 1,001 + 1 + 5 + 10 × 1,001 + 5 = 12,038
    // series, plus 5 rule states = 12,043:
    //   10,000 × $0.30 = 3,000.00; 2,043 × $0.10 = 204.30                 = 3,204.30
    let mut config = config();
    config.metrics.top_n = 1000;
    config.metrics.app_headers = (0..10).map(|i| format!("x-h{i}")).collect();
    assert_eq!(cloudwatch::analyser_series(&config).total(), 12_038);
    let estimate = estimate(
        traffic(0.0, 0.0, 1.0, "US=1", 0),
        &config,
        PriceClass::PriceClass100,
        Vec::new(),
    );
    let metrics: Vec<(f64, f64)> = estimate.classes[0]
        .line_items
        .iter()
        .filter(|i| i.description.starts_with("Custom metrics"))
        .map(|i| (i.quantity, i.unit_price))
        .collect();
    assert_eq!(metrics, [(10_000.0, 0.30), (2_043.0, 0.10)]);
    let cost: f64 = metrics.iter().map(|(q, p)| q * p).sum();
    assert_close(cost, 3204.30);
}
