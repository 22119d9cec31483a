//! The sample events deserialise into the `aws_lambda_events` types the handlers take, and the
//! generator stays inside Lambda's and Kinesis's limits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use cfrp_config::Field;
use cfrp_events::*;

#[test]
fn the_kinesis_sample_decodes_to_the_documented_lines() {
    let event: KinesisEvent =
        serde_json::from_str(KINESIS_REALTIME_LOGS).unwrap_or_else(|err| panic!("{err}"));
    let lines = sample_log_lines();
    assert_eq!(event.records.len(), lines.len() + MALFORMED_SAMPLE_RECORDS);
    for (record, line) in event.records.iter().zip(&lines) {
        assert_eq!(record.kinesis.data.0.as_slice(), line.as_bytes());
        assert_eq!(line.split('\t').count(), Field::default_set().len());
    }
    let malformed = &event.records[lines.len()..];
    assert!(
        malformed
            .iter()
            .any(|r| std::str::from_utf8(&r.kinesis.data.0).is_err()),
        "one malformed record is not UTF-8"
    );
    assert!(lines.iter().any(|l| l.contains("\tIPv6\t")));
    assert!(lines.iter().any(|l| l.contains("%20")));
}

#[test]
fn the_sqs_sample_wraps_s3_notifications_and_a_test_event() {
    let event: SqsEvent =
        serde_json::from_str(SQS_S3_MANUSCRIPTS).unwrap_or_else(|err| panic!("{err}"));
    let mut keys = Vec::new();
    let mut test_events = 0;
    for message in &event.records {
        let body = message.body.as_deref().unwrap_or_default();
        if body.contains("s3:TestEvent") {
            test_events += 1;
            continue;
        }
        let s3: S3Event = serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {body}"));
        keys.extend(s3.records.into_iter().filter_map(|r| r.s3.object.key));
    }
    assert_eq!(test_events, 1);
    assert!(keys.contains(&"manuscripts/chapter+one.html".to_string()));
    assert!(keys.iter().any(|k| k.contains("%C3%A9")));
    assert!(keys.iter().any(|k| k.contains("%25")));
    assert!(keys.iter().any(|k| k.contains("%23")));
}

#[test]
fn the_schedule_sample_is_a_scheduled_event() {
    let event: CloudWatchEvent =
        serde_json::from_str(EVENTBRIDGE_SCHEDULE).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(event.detail_type.as_deref(), Some("Scheduled Event"));
    assert_eq!(event.source.as_deref(), Some("aws.events"));
}

#[test]
fn generated_events_fill_but_never_exceed_the_payload_limit() {
    let generated = generate_kinesis_event(&Generate::default());
    assert!(generated.json.len() <= LAMBDA_PAYLOAD_LIMIT);
    assert!(
        generated.json.len() > LAMBDA_PAYLOAD_LIMIT - 4096,
        "{} bytes",
        generated.json.len()
    );
    assert!(generated.records > 2_000, "{} records", generated.records);
    let event: KinesisEvent =
        serde_json::from_str(&generated.json).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(event.records.len(), generated.records);
    assert_eq!(
        event.records[0].kinesis.data.0.as_slice(),
        generated.lines[0].as_bytes()
    );
    for line in &generated.lines {
        assert_eq!(line.split('\t').count(), Field::default_set().len());
    }
}

#[test]
fn generation_is_deterministic_per_seed_and_respects_the_field_list() {
    let options = Generate {
        max_event_bytes: 64 * 1024,
        fields: vec![Field::Timestamp, Field::Status, Field::TimeTaken],
        ..Generate::default()
    };
    let a = generate_kinesis_event(&options);
    let b = generate_kinesis_event(&options);
    assert_eq!(a.lines, b.lines);
    assert!(a.lines.iter().all(|l| l.split('\t').count() == 3));
    let other = generate_kinesis_event(&Generate { seed: 8, ..options });
    assert_ne!(a.lines, other.lines);
}
