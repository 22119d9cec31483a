//! The Kinesis event as the analyser reads it.
//!
//! The Lambda runtime deserialises the analyser's event into [`KinesisBatch`], which has the
//! JSON shape of `aws_lambda_events`' `KinesisEvent` but keeps only each record's `data`. Two
//! reasons, one required and one measured:
//! - `KinesisEvent` decodes base64 while deserialising, so one record whose data is not base64
//!   fails the whole invocation, and Lambda would retry the batch until it expires; here that
//!   record is counted as malformed and the rest of the batch is analysed.
//! - It also copies every record's base64 into a `String` first; here the data is decoded
//!   straight from the event bytes into the record's buffer while deserialising (measured in
//!   `benches/analyse.rs`: "handler" against "handler via KinesisEvent").
//!
//! `KinesisEvent` itself stays accepted (tests, callers that already hold one) through
//! [`KinesisRecords`].

use std::fmt;

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine as _;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// `{"Records": [{"kinesis": {"data": "<base64>", ...}, ...}, ...]}`: every other field of the
/// documented Kinesis event is accepted and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct KinesisBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<BatchRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct BatchRecord {
    pub kinesis: BatchKinesis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct BatchKinesis {
    #[serde(default)]
    pub data: RecordData,
}

/// A record's data, decoded from base64; `None` when it is not base64 (counted as a malformed
/// record by the analyser instead of failing the whole event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordData(pub Option<Vec<u8>>);

impl<'de> Deserialize<'de> for RecordData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64Visitor;
        impl Visitor<'_> for Base64Visitor {
            type Value = RecordData;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a base64 string")
            }

            // serde_json hands over a slice of the event bytes when the string has no escapes
            // (base64 never has), so nothing is copied before decoding.
            fn visit_str<E: de::Error>(self, value: &str) -> Result<RecordData, E> {
                Ok(RecordData(
                    base64::engine::general_purpose::STANDARD.decode(value).ok(),
                ))
            }
        }
        deserializer.deserialize_str(Base64Visitor)
    }
}

impl Serialize for RecordData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.0.as_deref().unwrap_or_default();
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

/// An event the analyser can read records from: every record's decoded data, `None` for a
/// record whose data was not base64.
pub trait KinesisRecords {
    fn payloads(&self) -> Box<dyn Iterator<Item = Option<&[u8]>> + '_>;
}

impl KinesisRecords for KinesisEvent {
    fn payloads(&self) -> Box<dyn Iterator<Item = Option<&[u8]>> + '_> {
        Box::new(
            self.records
                .iter()
                .map(|record| Some(record.kinesis.data.0.as_slice())),
        )
    }
}

impl KinesisRecords for KinesisBatch {
    fn payloads(&self) -> Box<dyn Iterator<Item = Option<&[u8]>> + '_> {
        Box::new(
            self.records
                .iter()
                .map(|record| record.kinesis.data.0.as_deref()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_decodes_every_record_and_marks_the_bad_one() {
        let json = r#"{"Records": [
            {"kinesis": {"data": "aGVsbG8=", "partitionKey": "p", "sequenceNumber": "1"}, "eventID": "x"},
            {"kinesis": {"data": "not base64!"}},
            {"kinesis": {"data": ""}},
            {"kinesis": {"data": "d29ybGQ="}}
        ]}"#;
        let batch: KinesisBatch = serde_json::from_str(json).unwrap();
        let decoded: Vec<Option<&[u8]>> = batch.payloads().collect();
        assert_eq!(
            decoded,
            vec![
                Some(&b"hello"[..]),
                None,
                Some(&b""[..]),
                Some(&b"world"[..])
            ]
        );
    }

    #[test]
    fn both_event_types_yield_the_same_payloads() {
        let json = cfrp_events_sample();
        let event: KinesisEvent = serde_json::from_str(&json).unwrap();
        let batch: KinesisBatch = serde_json::from_str(&json).unwrap();
        let from_event: Vec<Option<Vec<u8>>> =
            event.payloads().map(|p| p.map(<[u8]>::to_vec)).collect();
        let from_batch: Vec<Option<Vec<u8>>> =
            batch.payloads().map(|p| p.map(<[u8]>::to_vec)).collect();
        assert_eq!(from_event.len(), 2);
        assert_eq!(from_event, from_batch);
    }

    /// A documented Kinesis event with two records (every field present).
    fn cfrp_events_sample() -> String {
        let record = |data: &str, seq: &str| {
            format!(
                r#"{{"kinesis": {{"kinesisSchemaVersion": "1.0", "partitionKey": "1",
                  "sequenceNumber": "{seq}", "data": "{data}",
                  "approximateArrivalTimestamp": 1545084650.987}},
                  "eventSource": "aws:kinesis", "eventVersion": "1.0",
                  "eventID": "shardId-000000000006:{seq}", "eventName": "aws:kinesis:record",
                  "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                  "awsRegion": "us-east-2",
                  "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"}}"#
            )
        };
        format!(
            r#"{{"Records": [{}, {}]}}"#,
            record("SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==", "4959"),
            record("VGhpcyBpcyBvbmx5IGEgdGVzdC4=", "4960")
        )
    }
}
