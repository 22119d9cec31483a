//! The Kinesis event as the analyser reads it.
//!
//! [`KinesisBatch`] has the JSON shape of `aws_lambda_events`' `KinesisEvent`, of which only
//! each record's `data` is kept, decoded into one buffer for the whole batch. The function
//! reads it from the invocation body with [`KinesisBatch::from_slice`] (the body layer in
//! `invocation.rs`); its `Deserialize` serves the runtime's own path when the layer passes a
//! body through, and any other caller. Reasons, one required and the others measured
//! (`benches/analyse.rs`):
//! - `KinesisEvent` decodes base64 while deserialising, so one record whose data is not base64
//!   fails the whole invocation, and Lambda would retry the batch until it expires; here that
//!   record is counted as malformed and the rest of the batch is analysed;
//! - the records are read by a one-pass scanner (`event/scan.rs`) for the plain JSON Lambda
//!   sends, and by plain serde_json otherwise: keys compared as bytes, unknown fields skipped
//!   without allocating (lambda_runtime's serde_path_to_error would allocate a `String` per
//!   key, about twenty per record; through it, `Deserialize` takes the event as one raw
//!   value, a single key);
//! - every record's data goes into one buffer: one allocation per batch instead of a
//!   `String` and a `Vec` per record.
//!
//! `KinesisEvent` itself stays accepted (tests, callers that already hold one) through
//! [`KinesisRecords`].

use std::fmt;
use std::ops::Range;

use aws_lambda_events::event::kinesis::KinesisEvent;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

mod scan;

/// The records' data of a Kinesis event, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KinesisBatch {
    buffer: Vec<u8>,
    /// Per record, its data in `buffer`; `None` when the data was not base64.
    records: Vec<Option<Range<usize>>>,
}

impl KinesisBatch {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Reads `{"Records": [{"kinesis": {"data": "<base64>", ...}, ...}, ...]}`; every other
    /// field of the documented event is skipped.
    pub fn from_json(json: &str) -> Result<KinesisBatch, serde_json::Error> {
        KinesisBatch::from_slice(json.as_bytes())
    }

    /// [`KinesisBatch::from_json`] on the event's bytes as the Runtime API sends them.
    ///
    /// Read by a one-pass scanner (`event/scan.rs`) when the event stays within the plain
    /// JSON Lambda sends, else by serde_json, which then also words any error.
    pub fn from_slice(json: &[u8]) -> Result<KinesisBatch, serde_json::Error> {
        let mut batch = KinesisBatch::with_room_for(json);
        if scan::read_event(json, &mut batch).is_some() {
            return Ok(batch);
        }
        batch.buffer.clear();
        batch.records.clear();
        batch.read_with_serde(json)?;
        Ok(batch)
    }

    /// Base64 decodes 4 bytes into 3, so three quarters of the event is an upper bound of the
    /// data: reserving it up front saves the buffer's regrowth copies.
    fn with_room_for(json: &[u8]) -> KinesisBatch {
        KinesisBatch {
            buffer: Vec::with_capacity(json.len() / 4 * 3),
            records: Vec::new(),
        }
    }

    fn read_with_serde(&mut self, json: &[u8]) -> Result<(), serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        deserializer.deserialize_map(EventVisitor(self))?;
        deserializer.end()
    }

    /// Appends a record whose data is `encoded` (base64); a record of its own either way, `None`
    /// when `encoded` is not base64.
    fn push_encoded(&mut self, encoded: &[u8]) {
        let start = self.buffer.len();
        let range = if decode_append(encoded, &mut self.buffer) {
            Some(start..self.buffer.len())
        } else {
            self.buffer.truncate(start);
            None
        };
        self.records.push(range);
    }

    /// Appends a record without data (no `kinesis.data`), read like an empty string.
    fn push_empty(&mut self) {
        let end = self.buffer.len();
        self.records.push(Some(end..end));
    }
}

impl<'de> Deserialize<'de> for KinesisBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // One raw value through whatever wraps the deserializer (the runtime's path tracking);
        // the records are read from it by `from_json`.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        KinesisBatch::from_json(raw.get()).map_err(de::Error::custom)
    }
}

/// The event as Kinesis would deliver it (records with data only), for tests and tools.
impl Serialize for KinesisBatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let records: Vec<serde_json::Value> = self
            .payloads()
            .map(|data| {
                let data = data.unwrap_or_default();
                serde_json::json!({"kinesis": {"data": base64_simd::STANDARD.encode_to_string(data)}})
            })
            .collect();
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("Records", &records)?;
        map.end()
    }
}

struct EventVisitor<'b>(&'b mut KinesisBatch);

impl<'de> Visitor<'de> for EventVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kinesis event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(is_records) = map.next_key_seed(KeyIs(b"Records"))? {
            if is_records {
                map.next_value_seed(RecordsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct RecordsSeed<'b>(&'b mut KinesisBatch);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of Kinesis records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(ObjectSeed::Record(&mut *self.0))?
            .is_some()
        {}
        Ok(())
    }
}

/// A record object (`{"kinesis": {...}, ...}`) or its `kinesis` object (`{"data": ...}`).
enum ObjectSeed<'b> {
    Record(&'b mut KinesisBatch),
    Kinesis(&'b mut KinesisBatch),
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kinesis record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self {
            ObjectSeed::Record(batch) => {
                let before = batch.records.len();
                while let Some(is_kinesis) = map.next_key_seed(KeyIs(b"kinesis"))? {
                    if is_kinesis {
                        map.next_value_seed(ObjectSeed::Kinesis(&mut *batch))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                if batch.records.len() == before {
                    batch.push_empty();
                }
            }
            ObjectSeed::Kinesis(batch) => {
                while let Some(is_data) = map.next_key_seed(KeyIs(b"data"))? {
                    if is_data {
                        map.next_value_seed(DataSeed(&mut *batch))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether an object key is the given name. Read as bytes: serde_json then skips the UTF-8
/// check of every key (~13 per record; the check was ~5 % of the handler), and the
/// comparison with an ASCII name is the same either way.
struct KeyIs(&'static [u8]);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for KeyIs {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<bool, E> {
        Ok(key == self.0)
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key.as_bytes() == self.0)
    }
}

struct DataSeed<'b>(&'b mut KinesisBatch);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // serde_json hands a string's raw bytes to `deserialize_bytes` without checking them
        // for UTF-8 (base64 is ASCII and the decoder rejects anything else), as a slice of the
        // event when there are no escapes (base64 has none).
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<(), E> {
        self.0.push_encoded(value);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.visit_bytes(value.as_bytes())
    }
}

/// base64-simd (already in the tree through the AWS SDK's smithy types): the same strict
/// standard alphabet with padding as the `base64` crate, decoded with SIMD (NEON on arm64);
/// the scalar decoder was the largest single cost of the handler. `false` when `encoded` is
/// not base64.
fn decode_append(encoded: &[u8], buffer: &mut Vec<u8>) -> bool {
    base64_simd::STANDARD.decode_append(encoded, buffer).is_ok()
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
                .map(|range| range.clone().and_then(|r| self.buffer.get(r))),
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
            {"kinesis": {"data": "d29ybGQ="}},
            {"eventID": "no kinesis object"}
        ]}"#;
        let batch: KinesisBatch = serde_json::from_str(json).unwrap();
        let decoded: Vec<Option<&[u8]>> = batch.payloads().collect();
        assert_eq!(
            decoded,
            vec![
                Some(&b"hello"[..]),
                None,
                Some(&b""[..]),
                Some(&b"world"[..]),
                Some(&b""[..])
            ]
        );
    }

    #[test]
    fn through_the_runtime_s_path_tracking_and_back() {
        let json = cfrp_events_sample();
        let batch: KinesisBatch =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&json))
                .unwrap();
        assert_eq!(batch.len(), 2);
        let again: KinesisBatch =
            serde_json::from_str(&serde_json::to_string(&batch).unwrap()).unwrap();
        assert_eq!(again, batch);
        let wrong_shape = r#"{"Records": {"kinesis": 1}}"#;
        assert!(serde_json::from_str::<KinesisBatch>(wrong_shape).is_err());
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

    proptest::proptest! {
        /// The SIMD decoder accepts exactly what the `base64` crate's standard engine (the one
        /// `aws_lambda_events` uses) accepts, and decodes it the same.
        #[test]
        fn decoding_agrees_with_the_base64_crate(text in "[A-Za-z0-9+/=]{0,24}|[ -~]{0,12}") {
            use base64::Engine as _;
            let reference = base64::engine::general_purpose::STANDARD.decode(&text).ok();
            let mut buffer = b"kept".to_vec();
            let ok = decode_append(text.as_bytes(), &mut buffer);
            proptest::prop_assert_eq!(ok, reference.is_some());
            if let Some(decoded) = reference {
                proptest::prop_assert_eq!(&buffer[4..], &decoded[..]);
            }
        }

        /// Whatever a record's data holds, the event still deserialises.
        #[test]
        fn any_data_string_deserialises(data in ".{0,40}") {
            let json = serde_json::json!({"Records": [{"kinesis": {"data": data}}]}).to_string();
            let batch: KinesisBatch = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(batch.len(), 1);
        }
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
