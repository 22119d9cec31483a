//! One CloudFront real-time log line, parsed in a single pass without allocating: every
//! string in a [`Record`] borrows from the event's payload.

use cfrp_config::Field;

/// Where each field sits in a record, from the log config's field list.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `fields[i]` is the field at tab-separated position `i`.
    fields: Vec<Field>,
    /// `next_read[i]`: the first position `>= i` whose field the analyser reads
    /// (`usize::MAX` when none is left), so the parser can skip runs of unread fields.
    next_read: Vec<usize>,
}

impl Layout {
    pub fn new(fields: &[Field]) -> Layout {
        let mut next_read = vec![usize::MAX; fields.len() + 1];
        for position in (0..fields.len()).rev() {
            next_read[position] = if is_read(fields[position]) {
                position
            } else {
                next_read[position + 1]
            };
        }
        Layout {
            fields: fields.to_vec(),
            next_read,
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The first read position at or after `position`.
    fn next_read(&self, position: usize) -> usize {
        self.next_read.get(position).copied().unwrap_or(usize::MAX)
    }
}

/// The fields [`Record`] carries; every other field is only counted.
fn is_read(field: Field) -> bool {
    matches!(
        field,
        Field::Timestamp
            | Field::ClientIp
            | Field::Status
            | Field::BytesSent
            | Field::BytesReceived
            | Field::TimeTaken
            | Field::TimeToFirstByte
            | Field::OriginFirstByteLatency
            | Field::OriginLastByteLatency
            | Field::EdgeResultType
            | Field::HostHeader
            | Field::Country
            | Field::EdgeLocation
            | Field::CacheBehaviorPathPattern
            | Field::ProtocolVersion
            | Field::Headers
            | Field::Asn
    )
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
    #[error("the record holds no log line (only newlines or blanks)")]
    Empty,
}

/// Parses one line in the layout's field order.
///
/// The line is scanned for tabs 64 bytes at a time into a bitmask (SIMD, see [`tab_bits`]).
/// A chunk whose tabs all end fields the analyser does not read costs a popcount; only read
/// fields are sliced out and parsed. Hand-rolled rather than `str::split('\t')`: that calls memchr once
/// per field, and with ~20-byte fields and 66 of them per line, the per-field calls were the
/// largest cost of the analysis (profiled on the benchmark batch). A tab is ASCII, so every
/// split point is a character boundary. `tests::matches_the_split_reference*` check it
/// against `str::split`.
pub fn parse_line<'a>(layout: &Layout, line: &'a str) -> Result<Record<'a>, ParseError> {
    let mut parsed = Parsed::default();
    // The field that starts at byte `start` is at position `position`.
    let mut position = 0usize;
    let mut start = 0usize;
    let mut next_read = layout.next_read(0);
    for (index, chunk) in line.as_bytes().chunks(CHUNK).enumerate() {
        let offset = index * CHUNK;
        let mut tabs = tab_bits(chunk);
        let count = tabs.count_ones() as usize;
        if position + count <= next_read {
            // The tabs here end fields `position..position + count`, none of them read.
            if tabs != 0 {
                position += count;
                start = offset + (63 - tabs.leading_zeros() as usize) + 1;
            }
            continue;
        }
        while tabs != 0 {
            let tab = offset + tabs.trailing_zeros() as usize;
            tabs &= tabs - 1;
            if position == next_read {
                parsed.read(layout.fields[position], field(line, start, tab))?;
                next_read = layout.next_read(position + 1);
            }
            position += 1;
            start = tab + 1;
        }
    }
    if position == next_read {
        parsed.read(layout.fields[position], field(line, start, line.len()))?;
    }
    parsed.finish(layout, position + 1)
}

/// Bytes scanned per step: one bit each in a `u64`.
const CHUNK: usize = 64;

/// Bit `i` set ⇔ `chunk[i]` is a tab; `chunk` holds at most [`CHUNK`] bytes (the line's last
/// chunk is zero-padded, and zero is never a tab).
///
/// Sixteen bytes per compare with the `wide` crate's safe SIMD types: SSE2 on x86_64 and NEON
/// on arm64 (where the function runs), with a portable fallback elsewhere. It replaced a
/// SWAR loop over eight `u64` words, which was ~8 % of the handler.
fn tab_bits(chunk: &[u8]) -> u64 {
    let mut padded = [0u8; CHUNK];
    let bytes: &[u8; CHUNK] = match chunk.first_chunk::<CHUNK>() {
        Some(full) => full,
        None => {
            for (slot, byte) in padded.iter_mut().zip(chunk) {
                *slot = *byte;
            }
            &padded
        }
    };
    let tabs = wide::u8x16::splat(b'\t');
    let mut bits = 0u64;
    for (index, lanes) in bytes.as_chunks::<16>().0.iter().enumerate() {
        let equal = wide::u8x16::new(*lanes).simd_eq(tabs);
        bits |= u64::from(equal.to_bitmask()) << (16 * index);
    }
    bits
}

/// `line[start..end]`; both ends sit next to a tab or at the line's ends, so always on a
/// character boundary.
fn field(line: &str, start: usize, end: usize) -> &str {
    line.get(start..end).unwrap_or_default()
}

/// A record being filled field by field.
#[derive(Default)]
struct Parsed<'a> {
    record: Record<'a>,
    timestamp: Option<i64>,
}

impl<'a> Parsed<'a> {
    /// Takes one field's value; `-` is absent.
    fn read(&mut self, field: Field, value: &'a str) -> Result<(), ParseError> {
        if value == "-" {
            return Ok(());
        }
        let record = &mut self.record;
        match field {
            Field::Timestamp => {
                self.timestamp =
                    Some(epoch_millis(value).ok_or_else(|| number_error(field, value))?)
            }
            Field::ClientIp => record.client_ip = Some(value),
            Field::Status => {
                record.status = Some(value.parse().map_err(|_| number_error(field, value))?)
            }
            Field::BytesSent => {
                record.bytes_sent = Some(value.parse().map_err(|_| number_error(field, value))?)
            }
            Field::BytesReceived => {
                record.bytes_received = Some(value.parse().map_err(|_| number_error(field, value))?)
            }
            Field::TimeTaken => record.time_taken_ms = Some(seconds_to_ms(field, value)?),
            Field::TimeToFirstByte => {
                record.time_to_first_byte_ms = Some(seconds_to_ms(field, value)?)
            }
            Field::OriginFirstByteLatency => {
                record.origin_first_byte_ms = Some(seconds_to_ms(field, value)?)
            }
            Field::OriginLastByteLatency => {
                record.origin_last_byte_ms = Some(seconds_to_ms(field, value)?)
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
        Ok(())
    }

    fn finish(self, layout: &Layout, found: usize) -> Result<Record<'a>, ParseError> {
        if found != layout.len() {
            return Err(ParseError::FieldCount {
                expected: layout.len(),
                found,
            });
        }
        let mut record = self.record;
        record.timestamp_ms = self.timestamp.ok_or(ParseError::NoTimestamp)?;
        Ok(record)
    }
}

fn number_error(field: Field, value: &str) -> ParseError {
    ParseError::Number {
        field: field.name(),
        value: value.chars().take(40).collect(),
    }
}

fn seconds_to_ms(field: Field, value: &str) -> Result<f64, ParseError> {
    // CloudFront writes seconds with millisecond precision ("0.123"): read as whole
    // milliseconds, exactly and without the general float parser; anything else (more
    // digits, exponents) takes the general path.
    if let Some(millis) = decimal_millis(value) {
        return Ok(millis as f64);
    }
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds * 1000.0),
        _ => Err(number_error(field, value)),
    }
}

/// `0.25` / `12.345` / `7` / `1700000040.123` (seconds: one to twelve digits, then at most
/// three decimals) → whole milliseconds, in one pass; `None` for anything else, which the
/// callers hand to the general parsers. Twelve digits keep every result exact in an `f64`.
fn decimal_millis(value: &str) -> Option<u64> {
    let mut millis = 0u64;
    let mut whole_digits = 0;
    let mut decimals: Option<u32> = None;
    for byte in value.bytes() {
        if byte == b'.' && decimals.is_none() {
            decimals = Some(0);
            continue;
        }
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        match &mut decimals {
            None => whole_digits += 1,
            Some(count) => *count += 1,
        }
        // Checked here, before the digit is added: past twelve digits `millis` would overflow.
        if whole_digits > 12 || decimals.is_some_and(|count| count > 3) {
            return None;
        }
        millis = millis * 10 + u64::from(digit);
    }
    let decimals = decimals.unwrap_or(0);
    if whole_digits == 0 {
        return None;
    }
    Some(millis * 10u64.pow(3 - decimals))
}

/// `1700000040.123` (epoch seconds, millisecond precision) → 1700000040123, exactly.
fn epoch_millis(value: &str) -> Option<i64> {
    match decimal_millis(value) {
        Some(millis) => i64::try_from(millis).ok(),
        None => epoch_millis_general(value),
    }
}

/// [`epoch_millis`] for the forms [`decimal_millis`] leaves out (a sign, more digits).
fn epoch_millis_general(value: &str) -> Option<i64> {
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

    /// The straightforward parser: `str::split` and every field through [`Parsed::read`].
    fn parse_by_split<'a>(layout: &Layout, line: &'a str) -> Result<Record<'a>, ParseError> {
        let mut parsed = Parsed::default();
        let mut found = 0;
        for (position, value) in line.split('\t').enumerate() {
            found = position + 1;
            if let Some(field) = layout.fields.get(position) {
                parsed.read(*field, value)?;
            }
        }
        parsed.finish(layout, found)
    }

    #[test]
    fn matches_the_split_reference_at_every_length_and_position() {
        let layouts = [
            Layout::new(&[Field::Timestamp]),
            Layout::new(&[Field::Timestamp, Field::Status, Field::Country]),
            Layout::new(&Field::default_set()),
            Layout::new(Field::ALL),
        ];
        let samples = [
            "",
            "\t",
            "1.5",
            "1.5\t200\tDE",
            "1.5\t200\tDE\t",
            "\t\t\t",
            "1234567\t",
            "12345678\t9",
            "\u{e9}t\u{e9}\tcaf\u{e9}\t\u{1f600}\t",
            "1700000040.123\t\t-\t-\t200\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
        ];
        for layout in &layouts {
            for line in samples {
                assert_eq!(
                    parse_line(layout, line),
                    parse_by_split(layout, line),
                    "{line:?}"
                );
            }
        }
    }

    /// A line of `n` fields drawn from values that exercise every read path: numbers, dashes,
    /// empty fields, text, bad numbers.
    fn line_strategy(fields: usize) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let value = prop_oneof![
            Just("-".to_string()),
            Just(String::new()),
            Just("1700000040.123".to_string()),
            "[0-9]{1,4}(\\.[0-9]{1,4})?",
            "[a-zA-Z%:.0-9\u{e9}]{0,30}",
            "-?[0-9]e[0-9]",
        ];
        (proptest::collection::vec(
            value,
            fields.saturating_sub(2)..fields + 3,
        ),)
            .prop_map(|(values,)| values.join("\t"))
    }

    proptest::proptest! {
        #[test]
        fn matches_the_split_reference_on_generated_lines(
            line in line_strategy(Field::ALL.len()),
            small in line_strategy(3),
        ) {
            let all = Layout::new(Field::ALL);
            proptest::prop_assert_eq!(parse_line(&all, &line), parse_by_split(&all, &line));
            let defaults = Layout::new(&Field::default_set());
            proptest::prop_assert_eq!(parse_line(&defaults, &line), parse_by_split(&defaults, &line));
            let three = Layout::new(&[Field::TimeTaken, Field::Timestamp, Field::Status]);
            proptest::prop_assert_eq!(parse_line(&three, &small), parse_by_split(&three, &small));
        }

        #[test]
        fn matches_the_split_reference_on_any_text(line in "[\\t\\x00-\\x0b a-z0-9.\u{e9}\u{1f600}-]{0,80}") {
            for layout in [
                Layout::new(&[Field::Timestamp, Field::Status]),
                Layout::new(&[Field::UserAgent, Field::Timestamp, Field::Referer, Field::TimeTaken]),
            ] {
                proptest::prop_assert_eq!(parse_line(&layout, &line), parse_by_split(&layout, &line));
            }
        }

        #[test]
        fn seconds_read_as_whole_milliseconds_equal_the_float_parse(seconds in 0u64..1_000_000, millis in 0u64..1000) {
            let text = format!("{seconds}.{millis:03}");
            let expected = text.parse::<f64>().unwrap_or_default() * 1000.0;
            let ours = seconds_to_ms(Field::TimeTaken, &text).unwrap_or_default();
            proptest::prop_assert!((ours - expected).abs() <= expected * 1e-12);
            proptest::prop_assert_eq!(ours, (seconds * 1000 + millis) as f64);
        }
    }

    proptest::proptest! {
        /// The one-pass reading agrees with the general one wherever it answers.
        #[test]
        fn the_fast_epoch_reading_agrees_with_the_general_one(value in "[+0-9.]{0,30}") {
            if let Some(millis) = decimal_millis(&value) {
                proptest::prop_assert_eq!(i64::try_from(millis).ok(), epoch_millis_general(&value));
            }
        }
    }

    #[test]
    fn seconds_take_every_decimal_form() {
        let ms = |v| seconds_to_ms(Field::TimeTaken, v);
        assert_eq!(ms("0.250"), Ok(250.0));
        assert_eq!(ms("0.25"), Ok(250.0));
        assert_eq!(ms("3"), Ok(3000.0));
        assert_eq!(ms("1."), Ok(1000.0));
        assert_eq!(ms(".5"), Ok(500.0));
        assert_eq!(ms("0.0005"), Ok(0.5));
        assert_eq!(ms("1e-3"), Ok(1.0));
        assert!(ms("1.2.3").is_err());
        assert!(ms("+1").is_ok_and(|v| v == 1000.0));
        assert!(ms("-1").is_err());
        assert!(ms("inf").is_err());
    }

    #[test]
    fn tab_bits_mark_exactly_the_tabs() {
        for length in 0..=CHUNK {
            for tab_at in 0..length {
                let mut chunk = vec![b'a'; length];
                chunk[tab_at] = b'\t';
                if tab_at + 2 < length {
                    chunk[tab_at + 2] = b'\t';
                    assert_eq!(tab_bits(&chunk), (1 << tab_at) | (1 << (tab_at + 2)));
                } else {
                    assert_eq!(tab_bits(&chunk), 1 << tab_at);
                }
            }
        }
        let near_tabs: Vec<u8> = (0..64).map(|i| [8u8, 10, 0x89, 0xff][i % 4]).collect();
        assert_eq!(tab_bits(&near_tabs), 0);
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
        // Found by the fuzz target: twenty digits once overflowed the one-pass reading.
        assert_eq!(epoch_millis("17000000411700000041.500"), None);
        assert_eq!(decimal_millis("99999999999999999999999"), None);
        assert_eq!(
            decimal_millis("999999999999.999"),
            Some(999_999_999_999_999)
        );
        assert_eq!(decimal_millis("1.0000"), None);
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
