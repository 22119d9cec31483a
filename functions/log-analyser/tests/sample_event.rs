//! The analyser on the sample Kinesis event (events/kinesis-realtime-logs.json), every
//! aggregate checked against values computed by hand from the decoded lines in
//! events/kinesis-realtime-logs.lines.txt.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use aws_lambda_events::event::kinesis::KinesisEvent;
use cfrp_config::{AnalyserSettings, Field, metrics as m};
use cfrp_log_analyser::Analyser;
use cfrp_log_analyser::datum::{Datum, DatumValue};
use cfrp_log_analyser::event::KinesisBatch;
use cfrp_log_analyser::sink::MemorySink;
use lambda_runtime::{Context, LambdaEvent};

const DIST: &str = "d111111abcdef8.cloudfront.net";
const MINUTE_A: i64 = 1_700_000_040_000;
const MINUTE_B: i64 = 1_700_000_100_000;
const NOW: i64 = 1_700_000_200_000;

fn settings() -> AnalyserSettings {
    AnalyserSettings {
        strikes: None,
        stack: "shop".to_string(),
        namespace: "CloudFrontProxy/shop".to_string(),
        fields: Field::default_set(),
        top_n: 2,
        app_headers: vec!["x-operation-type".to_string()],
        sampling_rate: 100,
    }
}

fn event() -> KinesisEvent {
    serde_json::from_str(cfrp_events::KINESIS_REALTIME_LOGS).unwrap()
}

fn find<'a>(
    datums: &'a [Datum],
    name: &str,
    minute: i64,
    extra: &[(&str, &str)],
) -> Vec<&'a Datum> {
    datums
        .iter()
        .filter(|d| {
            d.name == name
                && d.timestamp_ms == minute
                && d.dimension(m::DIM_DISTRIBUTION) == Some(DIST)
        })
        .filter(|d| extra.iter().all(|(k, v)| d.dimension(k) == Some(*v)))
        .collect()
}

fn value(datums: &[Datum], name: &str, minute: i64, extra: &[(&str, &str)]) -> f64 {
    let found = find(datums, name, minute, extra);
    assert_eq!(found.len(), 1, "{name} {extra:?} at {minute}: {found:?}");
    found[0].total()
}

#[test]
fn counts_bytes_statuses_and_hits_per_minute() {
    let analysis = Analyser::new(settings(), MemorySink::default()).analyse(&event(), NOW);
    let d = &analysis.datums;
    assert_eq!(analysis.summary.records, 14);
    assert_eq!(analysis.summary.analysed, 11);
    assert_eq!(analysis.summary.malformed, 3);
    assert_eq!(analysis.summary.minutes, 2);

    assert_eq!(value(d, m::REQUESTS, MINUTE_A, &[]), 6.0);
    assert_eq!(value(d, m::BYTES_SENT, MINUTE_A, &[]), 18_798.0);
    assert_eq!(value(d, m::BYTES_RECEIVED, MINUTE_A, &[]), 3_060.0);
    assert_eq!(value(d, m::STATUS_2XX, MINUTE_A, &[]), 3.0);
    assert_eq!(value(d, m::STATUS_3XX, MINUTE_A, &[]), 1.0);
    assert_eq!(value(d, m::STATUS_4XX, MINUTE_A, &[]), 1.0);
    assert_eq!(value(d, m::STATUS_5XX, MINUTE_A, &[]), 1.0);
    assert_eq!(value(d, m::CACHE_HITS, MINUTE_A, &[]), 3.0);

    assert_eq!(value(d, m::REQUESTS, MINUTE_B, &[]), 5.0);
    assert_eq!(value(d, m::BYTES_SENT, MINUTE_B, &[]), 5_696.0);
    assert_eq!(value(d, m::BYTES_RECEIVED, MINUTE_B, &[]), 2_380.0);
    assert_eq!(value(d, m::STATUS_4XX, MINUTE_B, &[]), 3.0);
    assert_eq!(value(d, m::STATUS_5XX, MINUTE_B, &[]), 1.0);
    assert_eq!(value(d, m::CACHE_HITS, MINUTE_B, &[]), 1.0);
}

#[test]
fn rates_are_exact_distributions() {
    let analysis = Analyser::new(settings(), MemorySink::default()).analyse(&event(), NOW);
    let d = &analysis.datums;
    let rate = |name, minute| {
        let found = find(d, name, minute, &[]);
        found[0].total() / found[0].samples()
    };
    assert!((rate(m::ERROR_RATE_5XX, MINUTE_A) - 100.0 / 6.0).abs() < 1e-9);
    assert_eq!(rate(m::CACHE_HIT_RATIO, MINUTE_A), 50.0);
    assert_eq!(rate(m::ERROR_RATE_4XX, MINUTE_B), 60.0);
}

#[test]
fn latency_distributions_hold_every_sample_within_the_relative_error() {
    let analysis = Analyser::new(settings(), MemorySink::default()).analyse(&event(), NOW);
    let d = &analysis.datums;
    let taken = find(d, m::TIME_TAKEN, MINUTE_A, &[]);
    assert_eq!(taken.iter().map(|x| x.samples()).sum::<f64>(), 6.0);
    // The exact sum of minute A's time-taken is 15+120+31+4+1250+9 = 1429 ms.
    let sum: f64 = taken.iter().map(|x| x.total()).sum();
    assert!((sum - 1429.0).abs() / 1429.0 <= 0.01, "{sum}");
    // Origin latencies exist only where the origin was contacted (four records in minute A).
    assert_eq!(
        find(d, m::ORIGIN_FIRST_BYTE_LATENCY, MINUTE_A, &[])
            .iter()
            .map(|x| x.samples())
            .sum::<f64>(),
        4.0
    );
    let DatumValue::Distribution(pairs) = &taken[0].value else {
        panic!("not a distribution")
    };
    assert!(pairs.len() <= 150);
}

#[test]
fn breakdowns_are_bounded_with_other() {
    let analysis = Analyser::new(settings(), MemorySink::default()).analyse(&event(), NOW);
    let d = &analysis.datums;
    // Minute B: FR 3, then DE 1 and US 1 tie (name order keeps DE), US goes to Other (top_n 2).
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_COUNTRY,
            MINUTE_B,
            &[(m::DIM_COUNTRY, "FR")]
        ),
        3.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_COUNTRY,
            MINUTE_B,
            &[(m::DIM_COUNTRY, "DE")]
        ),
        1.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_COUNTRY,
            MINUTE_B,
            &[(m::DIM_COUNTRY, "Other")]
        ),
        1.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_EDGE_LOCATION,
            MINUTE_B,
            &[(m::DIM_EDGE_LOCATION, "CDG50")]
        ),
        3.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_PROTOCOL_VERSION,
            MINUTE_A,
            &[(m::DIM_PROTOCOL_VERSION, "HTTP/2.0")]
        ),
        4.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_PATH_PATTERN,
            MINUTE_A,
            &[(m::DIM_PATH_PATTERN, "/api/*")]
        ),
        2.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_APP_HEADER,
            MINUTE_A,
            &[
                (m::DIM_HEADER, "x-operation-type"),
                (m::DIM_HEADER_VALUE, "pay")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            d,
            m::REQUESTS_BY_APP_HEADER,
            MINUTE_B,
            &[
                (m::DIM_HEADER, "x-operation-type"),
                (m::DIM_HEADER_VALUE, "list-orders")
            ]
        ),
        1.0
    );
}

#[test]
fn clients_malformed_records_and_the_summary() {
    let analysis = Analyser::new(settings(), MemorySink::default()).analyse(&event(), NOW);
    let summary = &analysis.summary;
    // Five clients, none with the ten requests needed to rise above LOW.
    assert_eq!(summary.clients_by_level.get("LOW"), Some(&5));
    assert_eq!(summary.top_offenders.len(), 5);
    assert_eq!(summary.top_offenders[0].ip, "198.51.100.23");
    assert_eq!(
        value(&analysis.datums, m::HIGH_THREAT_CLIENTS, MINUTE_B, &[]),
        0.0
    );
    let malformed = analysis
        .datums
        .iter()
        .find(|x| x.name == m::MALFORMED_RECORDS)
        .unwrap();
    assert_eq!(malformed.total(), 3.0);
    let sample = summary.malformed_sample.as_ref().unwrap();
    assert_eq!(sample.record, 11);
    assert!(
        sample.reason.contains("fields where the log config has 45"),
        "{}",
        sample.reason
    );
}

#[test]
fn records_outside_cloudwatchs_window_are_counted_not_published() {
    let far_future = NOW + 30 * 24 * 3600 * 1000;
    let analysis = Analyser::new(settings(), MemorySink::default()).analyse(&event(), far_future);
    assert_eq!(analysis.summary.stale, 11);
    assert!(
        analysis
            .datums
            .iter()
            .all(|d| d.name == m::MALFORMED_RECORDS)
    );
}

/// The sample's well-formed lines as a Kinesis event, their minutes shifted to now: the
/// handler uses the real clock, and CloudWatch's window is two weeks.
fn sample_event_now() -> String {
    let now = cfrp_function_support::now_ms() / 1000;
    let lines: Vec<String> = cfrp_events::sample_log_lines()
        .iter()
        .map(|l| l.replacen("1700000", &format!("{}", now / 1000 - 10), 1))
        .collect();
    cfrp_events::kinesis_event_from_payloads(lines.iter().map(|l| l.as_bytes()), now as f64)
}

#[tokio::test]
async fn the_handler_publishes_to_the_namespace_and_reports_no_failures() {
    let analyser = Analyser::new(settings(), MemorySink::default());
    let event: KinesisEvent = serde_json::from_str(&sample_event_now()).unwrap();
    let response = analyser
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let calls = analyser.sink.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "CloudFrontProxy/shop");
    let requests: f64 = calls[0]
        .1
        .iter()
        .filter(|d| d.name == m::REQUESTS)
        .map(Datum::total)
        .sum();
    assert_eq!(requests, 11.0);
}

#[tokio::test]
async fn a_failed_publish_fails_the_invocation_so_lambda_retries() {
    let now = cfrp_function_support::now_ms();
    let json = cfrp_events::kinesis_event_from_payloads(
        [format!("{}.000\t1.2.3.4", now / 1000).as_bytes()],
        0.0,
    );
    let mut s = settings();
    s.fields = vec![Field::Timestamp, Field::ClientIp];
    let analyser = Analyser::new(
        s,
        MemorySink {
            fail: true,
            ..MemorySink::default()
        },
    );
    let event: KinesisEvent = serde_json::from_str(&json).unwrap();
    let result = analyser
        .handle(LambdaEvent::new(event, Context::default()))
        .await;
    assert!(result.unwrap_err().to_string().contains("PutMetricData"));
}

/// The event type the runtime deserialises (`KinesisBatch`): a record whose data is not base64
/// is one malformed record, and the rest of the batch is analysed and published.
#[test]
fn sampled_logs_publish_counts_as_estimates_and_ratios_as_they_are() {
    let full = Analyser::new(settings(), MemorySink::default()).analyse(&event(), NOW);
    let tenth = Analyser::new(
        AnalyserSettings {
            strikes: None,
            sampling_rate: 10,
            ..settings()
        },
        MemorySink::default(),
    )
    .analyse(&event(), NOW);
    for name in [m::REQUESTS, m::BYTES_SENT, m::STATUS_2XX, m::CACHE_HITS] {
        assert_eq!(
            value(&tenth.datums, name, MINUTE_A, &[]),
            10.0 * value(&full.datums, name, MINUTE_A, &[]),
            "{name}"
        );
    }
    let ratio = |datums: &[Datum]| {
        let found = find(datums, m::CACHE_HIT_RATIO, MINUTE_A, &[]);
        match &found[0].value {
            DatumValue::Distribution(pairs) => {
                let total: f64 = pairs.iter().map(|(_, c)| c).sum();
                pairs.iter().map(|(v, c)| v * c).sum::<f64>() / total
            }
            DatumValue::Single(v) => *v,
        }
    };
    assert_eq!(ratio(&tenth.datums), ratio(&full.datums));
    // The summary counts the records the batch held, not estimates.
    assert_eq!(tenth.summary.analysed, full.summary.analysed);
}

#[tokio::test]
async fn a_datum_cloudwatch_refuses_is_dropped_alone_and_the_rest_are_published() {
    fn by_country(datum: &Datum) -> bool {
        datum.name == m::REQUESTS_BY_COUNTRY
    }
    let all = Analyser::new(settings(), MemorySink::default());
    let event: KinesisEvent = serde_json::from_str(&sample_event_now()).unwrap();
    let _ = all
        .handle(LambdaEvent::new(event.clone(), Context::default()))
        .await
        .unwrap();
    let published = all.sink.datums();
    let refused = published.iter().filter(|d| by_country(d)).count();
    assert!(refused > 0 && refused < published.len());

    let picky = Analyser::new(
        settings(),
        MemorySink {
            reject: Some(by_country),
            ..MemorySink::default()
        },
    );
    let response = picky
        .handle(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let kept = picky.sink.datums();
    assert_eq!(kept.len(), published.len() - refused);
    assert!(!kept.iter().any(by_country));
}

#[tokio::test]
async fn a_record_that_is_not_base64_is_counted_and_the_batch_still_succeeds() {
    let analyser = Analyser::new(settings(), MemorySink::default());
    let json = sample_event_now();
    // Corrupt the first record's data the way a broken producer would.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["Records"][0]["kinesis"]["data"] = serde_json::json!("%%% not base64 %%%");
    let bytes = serde_json::to_vec(&value).unwrap();
    // aws_lambda_events' KinesisEvent cannot even be deserialised from it...
    assert!(serde_json::from_slice::<KinesisEvent>(&bytes).is_err());
    // ...while the analyser's event type can, as lambda_runtime deserialises it.
    let batch: KinesisBatch =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&bytes))
            .unwrap();
    let now_ms = cfrp_function_support::now_ms();
    let analysis = analyser.analyse(&batch, now_ms);
    // sample_log_lines() is the sample's eleven well-formed lines.
    assert_eq!(analysis.summary.records, 11);
    assert_eq!(analysis.summary.analysed, 10);
    assert_eq!(analysis.summary.malformed, 1);
    assert_eq!(
        analysis.summary.malformed_sample.as_ref().unwrap().reason,
        "the record's data is not base64"
    );
    let response = analyser
        .handle(LambdaEvent::new(batch, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let calls = analyser.sink.calls.lock().unwrap();
    let published = |name: &str| -> f64 {
        calls
            .iter()
            .flat_map(|(_, datums)| datums)
            .filter(|d| d.name == name)
            .map(Datum::total)
            .sum()
    };
    assert_eq!(published(m::REQUESTS), 10.0);
    assert_eq!(published(m::MALFORMED_RECORDS), 1.0);
}
