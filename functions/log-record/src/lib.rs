//! One CloudFront real-time log line, parsed in a single pass without allocating: every
//! string in a [`Record`] borrows from the event's payload.

use cfrp_config::Field;

/// Where each field sits in a record, from the log config's field list.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `fields[i]` is the field at tab-separated position `i`.
    fields: Vec<Field>,
}

impl Layout {
    pub fn new(fields: &[Field]) -> Layout {
        Layout {
            fields: fields.to_vec(),
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// CloudFront's classification of how a request was served (`x-edge-result-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    Hit,
    RefreshHit,
    OriginShieldHit,
    Miss,
    Error,
    Other,
}

impl ResultType {
    fn parse(value: &str) -> ResultType {
        match value {
            "Hit" => ResultType::Hit,
            "RefreshHit" => ResultType::RefreshHit,
            "OriginShieldHit" => ResultType::OriginShieldHit,
            "Miss" => ResultType::Miss,
            "Error" => ResultType::Error,
            _ => ResultType::Other,
        }
    }

    /// Served from a CloudFront cache (edge, regional or Origin Shield).
    pub fn is_cache_hit(self) -> bool {
        matches!(
            self,
            ResultType::Hit | ResultType::RefreshHit | ResultType::OriginShieldHit
        )
    }
}

/// The fields the analyser uses; `None` where the log config omits a field or the record
/// carries `-`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record<'a> {
    /// Epoch milliseconds.
    pub timestamp_ms: i64,
    /// `x-host-header`: the distribution's domain name.
    pub distribution: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub status: Option<u16>,
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    pub time_taken_ms: Option<f64>,
    pub time_to_first_byte_ms: Option<f64>,
    pub origin_first_byte_ms: Option<f64>,
    pub origin_last_byte_ms: Option<f64>,
    pub result: Option<ResultType>,
    pub country: Option<&'a str>,
    pub edge_location: Option<&'a str>,
    pub path_pattern: Option<&'a str>,
    pub protocol_version: Option<&'a str>,
    /// `cs-headers`, still URL-encoded.
    pub headers: Option<&'a str>,
    pub asn: Option<&'a str>,
}

/// Why a line is not a usable record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{found} fields where the log config has {expected}")]
    FieldCount { expected: usize, found: usize },
    #[error("{field} is not a number: {value:?}")]
    Number { field: &'static str, value: String },
    #[error("the record has no timestamp")]
    NoTimestamp,
    #[error("the record is not UTF-8")]
    NotUtf8,
    #[error("the record's data is not base64")]
    NotBase64,
}

/// Parses one line in the layout's field order.
pub fn parse_line<'a>(layout: &Layout, line: &'a str) -> Result<Record<'a>, ParseError> {
    let mut record = Record::default();
    let mut timestamp = None;
    let mut found = 0;
    for (index, value) in Fields::new(line).enumerate() {
        found = index + 1;
        let Some(field) = layout.fields.get(index) else {
            continue;
        };
        if value == "-" {
            continue;
        }
        match field {
            Field::Timestamp => {
                timestamp = Some(epoch_millis(value).ok_or_else(|| number_error(*field, value))?)
            }
            Field::ClientIp => record.client_ip = Some(value),
            Field::Status => {
                record.status = Some(value.parse().map_err(|_| number_error(*field, value))?)
            }
            Field::BytesSent => {
                record.bytes_sent = Some(value.parse().map_err(|_| number_error(*field, value))?)
            }
            Field::BytesReceived => {
                record.bytes_received =
                    Some(value.parse().map_err(|_| number_error(*field, value))?)
            }
            Field::TimeTaken => record.time_taken_ms = Some(seconds_to_ms(*field, value)?),
            Field::TimeToFirstByte => {
                record.time_to_first_byte_ms = Some(seconds_to_ms(*field, value)?)
            }
            Field::OriginFirstByteLatency => {
                record.origin_first_byte_ms = Some(seconds_to_ms(*field, value)?)
            }
            Field::OriginLastByteLatency => {
                record.origin_last_byte_ms = Some(seconds_to_ms(*field, value)?)
            }
            Field::EdgeResultType => record.result = Some(ResultType::parse(value)),
            Field::HostHeader => record.distribution = Some(value),
            Field::Country => record.country = Some(value),
            Field::EdgeLocation => record.edge_location = Some(value),
            Field::CacheBehaviorPathPattern => record.path_pattern = Some(value),
            Field::ProtocolVersion => record.protocol_version = Some(value),
            Field::Headers => record.headers = Some(value),
            Field::Asn => record.asn = Some(value),
            _ => {}
        }
    }
    if found != layout.len() {
        return Err(ParseError::FieldCount {
            expected: layout.len(),
            found,
        });
    }
    record.timestamp_ms = timestamp.ok_or(ParseError::NoTimestamp)?;
    Ok(record)
}

/// The tab-separated fields of a line, found eight bytes at a time.
///
/// Hand-rolled rather than `str::split('\t')`: that calls memchr once per field, and with
/// ~20-byte fields the per-call setup was the largest single cost of parsing (profiled on the
/// benchmark batch). This SWAR scan tests eight bytes per step with plain integer operations,
/// so it is the same code on arm64 (where the function runs) and x86_64. A tab is ASCII, so
/// every split point is a character boundary.
struct Fields<'a> {
    line: &'a str,
    /// Start of the next field.
    start: usize,
    /// Offset of the word `mask` describes.
    word_start: usize,
    /// High bit of byte k set ⇔ byte `word_start + k` is a tab not yet returned.
    mask: u64,
    /// Everything before this offset has been loaded into a mask.
    scanned: usize,
    finished: bool,
}

const ONES_7F: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const TABS: u64 = 0x0909_0909_0909_0909;

/// The high bit of every byte of `word` that equals b'\t', exactly (no borrow between bytes:
/// `(x & 0x7f) + 0x7f` stays within a byte).
fn tab_mask(word: u64) -> u64 {
    let x = word ^ TABS;
    !(((x & ONES_7F) + ONES_7F) | x | ONES_7F)
}

impl<'a> Fields<'a> {
    fn new(line: &'a str) -> Fields<'a> {
        Fields {
            line,
            start: 0,
            word_start: 0,
            mask: 0,
            scanned: 0,
            finished: false,
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.finished {
            return None;
        }
        let bytes = self.line.as_bytes();
        loop {
            if self.mask != 0 {
                let tab = self.word_start + self.mask.trailing_zeros() as usize / 8;
                self.mask &= self.mask - 1;
                let field = self.line.get(self.start..tab).unwrap_or_default();
                self.start = tab + 1;
                return Some(field);
            }
            let Some(rest) = bytes.get(self.scanned..).filter(|rest| !rest.is_empty()) else {
                self.finished = true;
                return Some(self.line.get(self.start..).unwrap_or_default());
            };
            let word = match rest.first_chunk::<8>() {
                // A fixed-size load: one instruction, no copy loop.
                Some(chunk) => u64::from_le_bytes(*chunk),
                None => {
                    // The last few bytes, zero-padded (zero is never a tab).
                    let mut word = [0u8; 8];
                    for (slot, byte) in word.iter_mut().zip(rest) {
                        *slot = *byte;
                    }
                    u64::from_le_bytes(word)
                }
            };
            self.word_start = self.scanned;
            self.scanned += 8;
            self.mask = tab_mask(word);
        }
    }
}

fn number_error(field: Field, value: &str) -> ParseError {
    ParseError::Number {
        field: field.name(),
        value: value.chars().take(40).collect(),
    }
}

fn seconds_to_ms(field: Field, value: &str) -> Result<f64, ParseError> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds * 1000.0),
        _ => Err(number_error(field, value)),
    }
}

/// `1700000040.123` (epoch seconds, millisecond precision) → 1700000040123, exactly.
fn epoch_millis(value: &str) -> Option<i64> {
    let (seconds, fraction) = value.split_once('.').unwrap_or((value, ""));
    if seconds.is_empty() || fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = seconds.parse().ok().filter(|s: &i64| *s >= 0)?;
    let mut millis: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    for _ in fraction.len()..3 {
        millis *= 10;
    }
    seconds.checked_mul(1000)?.checked_add(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_like_str_split_at_every_length_and_position() {
        let samples = [
            "",
            "\t",
            "a",
            "a\tb",
            "\t\t\t",
            "1234567\t",
            "12345678\t9",
            "\u{e9}t\u{e9}\tcaf\u{e9}\t\u{1f600}\t",
            "a\tbb\tccc\tdddd\teeeee\tffffff\tggggggg\thhhhhhhh\tiiiiiiiii\t",
            "\x08\t\x01\t\x7f\t\u{89}\t\u{109}",
        ];
        for line in samples {
            let ours: Vec<&str> = Fields::new(line).collect();
            let std: Vec<&str> = line.split('\t').collect();
            assert_eq!(ours, std, "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fields_match_str_split_on_any_text(line in "[\\t\\x00-\\x0b a-z\u{e9}\u{1f600}]{0,40}") {
            let ours: Vec<&str> = Fields::new(&line).collect();
            let std: Vec<&str> = line.split('\t').collect();
            proptest::prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn epoch_millis_is_exact() {
        assert_eq!(epoch_millis("1700000040.123"), Some(1_700_000_040_123));
        assert_eq!(epoch_millis("1700000040.5"), Some(1_700_000_040_500));
        assert_eq!(epoch_millis("1700000040"), Some(1_700_000_040_000));
        assert_eq!(epoch_millis("17.1234"), None);
        assert_eq!(epoch_millis("-1.0"), None);
        assert_eq!(epoch_millis(".5"), None);
        assert_eq!(epoch_millis("abc"), None);
    }

    #[test]
    fn parses_in_the_layout_order_with_dashes_as_absent() {
        let layout = Layout::new(&[
            Field::Status,
            Field::Timestamp,
            Field::TimeTaken,
            Field::Country,
        ]);
        let record = parse_line(&layout, "503\t1700000040.000\t0.250\t-").unwrap();
        assert_eq!(record.status, Some(503));
        assert_eq!(record.timestamp_ms, 1_700_000_040_000);
        assert_eq!(record.time_taken_ms, Some(250.0));
        assert_eq!(record.country, None);
    }

    #[test]
    fn rejects_wrong_counts_bad_numbers_and_missing_timestamps() {
        let layout = Layout::new(&[Field::Timestamp, Field::Status]);
        assert_eq!(
            parse_line(&layout, "1.0"),
            Err(ParseError::FieldCount {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            parse_line(&layout, "1.0\t200\t3"),
            Err(ParseError::FieldCount {
                expected: 2,
                found: 3
            })
        );
        assert!(matches!(
            parse_line(&layout, "1.0\tOK"),
            Err(ParseError::Number {
                field: "sc-status",
                ..
            })
        ));
        assert_eq!(parse_line(&layout, "-\t200"), Err(ParseError::NoTimestamp));
        let timing = Layout::new(&[Field::Timestamp, Field::TimeTaken]);
        assert!(parse_line(&timing, "1.0\tNaN").is_err());
        assert!(parse_line(&timing, "1.0\t-0.5").is_err());
    }
}
