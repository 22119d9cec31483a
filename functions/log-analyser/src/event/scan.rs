//! The fast path of [`KinesisBatch::from_slice`](super::KinesisBatch::from_slice): the event
//! read in one forward scan, for the JSON that Lambda sends (no escapes in strings).
//!
//! Why hand-written: after the analysis itself was sped up, serde_json walking the ~26 keys
//! and values of every record was close to half of the handler's time (profiled on the
//! benchmark batch), most of it spent per token rather than per byte. This reader accepts a
//! *subset* of JSON and answers `None` for anything outside it, and the caller then reads
//! the event with serde_json, which decides (and words the error) as before. So it never has
//! to agree with serde_json on a rejection, only on what it accepts:
//! - strings without escapes; keys and ignored strings without control characters either
//!   (serde_json rejects those in ignored strings), the data string checked exactly as
//!   serde_json checks a string it hands over as bytes (up to its quote or backslash);
//! - numbers in JSON's grammar, `true`, `false`, `null`, and ignored arrays and objects
//!   nested at most [`MAX_DEPTH`] deep (serde_json skips them to any depth);
//! - the same visits as the serde path: every `Records` array, every `kinesis` object of a
//!   record, every `data` string in it; a record without data is an empty record.
//!
//! `tests::the_fast_path_accepts_only_what_serde_reads_the_same` checks that subset claim on
//! generated and mutated events.

use super::KinesisBatch;
use wide::u8x16;

/// How deep ignored values may nest before the reader hands the event to serde_json.
const MAX_DEPTH: usize = 64;

/// Reads `json` into `batch`; `None` (with `batch` half filled) when the event is outside
/// the subset described above.
pub(super) fn read_event(json: &[u8], batch: &mut KinesisBatch) -> Option<()> {
    let mut cursor = Cursor { json, at: 0 };
    cursor.object(|cursor, key| {
        if key == b"Records" {
            cursor.array(|cursor| read_record(cursor, batch))
        } else {
            cursor.skip_value(MAX_DEPTH)
        }
    })?;
    cursor.skip_whitespace();
    (cursor.at == json.len()).then_some(())
}

/// `{"kinesis": {"data": "<base64>", ...}, ...}`.
fn read_record(cursor: &mut Cursor<'_>, batch: &mut KinesisBatch) -> Option<()> {
    let before = batch.len();
    cursor.object(|cursor, key| {
        if key != b"kinesis" {
            return cursor.skip_value(MAX_DEPTH);
        }
        cursor.object(|cursor, key| {
            if key == b"data" {
                batch.push_encoded(cursor.data_string()?);
                Some(())
            } else {
                cursor.skip_value(MAX_DEPTH)
            }
        })
    })?;
    if batch.len() == before {
        batch.push_empty();
    }
    Some(())
}

struct Cursor<'j> {
    json: &'j [u8],
    at: usize,
}

impl<'j> Cursor<'j> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.json.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.json.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// `{ "key": value, ... }`, each value read by `member`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'j [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.plain_string()?;
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[ value, ... ]`, each value read by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, checked and dropped.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.plain_string().map(drop),
            b'{' if depth > 0 => self.object(|cursor, _| cursor.skip_value(depth - 1)),
            b'[' if depth > 0 => self.array(|cursor| cursor.skip_value(depth - 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.json.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; what follows is the caller's to check
    /// (`01` stops after the `0`, and the `1` is then no separator).
    fn number(&mut self) -> Option<()> {
        if self.json.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.json.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.json.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.json.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.json.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.json.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    /// A string with neither escapes nor control characters; its bytes between the quotes.
    fn plain_string(&mut self) -> Option<&'j [u8]> {
        self.eat(b'"')?;
        let rest = self.json.get(self.at..)?;
        let length = plain_length(rest)?;
        self.at += length + 1;
        rest.get(..length)
    }

    /// The data string: up to its quote, with no escape in it; control characters pass, as
    /// they do when serde_json hands a string over as bytes (the base64 decoder then rejects
    /// them, the same way on both paths). The memchr crate's SIMD search: this string is
    /// most of the event.
    fn data_string(&mut self) -> Option<&'j [u8]> {
        self.eat(b'"')?;
        let rest = self.json.get(self.at..)?;
        let length = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(length) != Some(&b'"') {
            return None;
        }
        self.at += length + 1;
        rest.get(..length)
    }
}

/// Where the string that starts `rest` ends (its closing quote), 16 bytes per step with the
/// `wide` crate's safe SIMD; `None` at a backslash, a control character or the end of input.
fn plain_length(rest: &[u8]) -> Option<usize> {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let last_control = u8x16::splat(0x1f);
    let mut offset = 0;
    loop {
        let chunk = rest.get(offset..)?;
        let lanes = match chunk.first_chunk::<16>() {
            Some(full) => *full,
            None => {
                // Past the end, zeros: a control character, so the scan stops there.
                let mut padded = [0u8; 16];
                for (lane, byte) in padded.iter_mut().zip(chunk) {
                    *lane = *byte;
                }
                padded
            }
        };
        let bytes = u8x16::new(lanes);
        let control = bytes.min(last_control).simd_eq(bytes);
        let special = bytes.simd_eq(quote) | bytes.simd_eq(backslash) | control;
        let bits = special.to_bitmask();
        if bits != 0 {
            let end = offset + bits.trailing_zeros() as usize;
            return (rest.get(end)? == &b'"').then_some(end);
        }
        offset += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fast path's answer, and serde_json's (the error as text).
    fn both_paths(json: &[u8]) -> (Option<KinesisBatch>, Result<KinesisBatch, String>) {
        let mut fast = KinesisBatch::default();
        let fast = read_event(json, &mut fast).map(|()| fast);
        let mut slow = KinesisBatch::default();
        let slow = slow
            .read_with_serde(json)
            .map(|()| slow)
            .map_err(|err| err.to_string());
        (fast, slow)
    }

    #[test]
    fn lambda_shaped_events_take_the_fast_path() {
        let generated = cfrp_events::generate_kinesis_event(&cfrp_events::Generate {
            max_event_bytes: 64 * 1024,
            ..cfrp_events::Generate::default()
        });
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&generated.json).unwrap(),
        )
        .unwrap();
        for json in [
            cfrp_events::KINESIS_REALTIME_LOGS,
            generated.json.as_str(),
            pretty.as_str(),
        ] {
            let (fast, slow) = both_paths(json.as_bytes());
            let fast = fast.expect("a Lambda-shaped event is read by the fast path");
            assert!(!fast.is_empty());
            assert_eq!(Ok(fast), slow);
        }
    }

    #[test]
    fn what_the_fast_path_leaves_to_serde() {
        for json in [
            // An escape anywhere, a control character in an ignored string.
            r#"{"Records": [{"kinesis": {"data": "aGk\/"}}]}"#,
            r#"{"Rec\u006frds": []}"#,
            "{\"Records\": [{\"eventID\": \"a\u{1}b\"}]}",
            // Not JSON: a leading zero, a bare dot, trailing text, an unclosed array.
            r#"{"Records": [{"n": 01}]}"#,
            r#"{"Records": [{"n": 1.}]}"#,
            r#"{"Records": []} x"#,
            r#"{"Records": [{"kinesis": {"data": "aGk="}}"#,
            // The wrong shapes, which serde_json rejects.
            r#"{"Records": {"kinesis": 1}}"#,
            r#"{"Records": [{"kinesis": {"data": 5}}]}"#,
            r#"{"Records": [7]}"#,
        ] {
            let (fast, _) = both_paths(json.as_bytes());
            assert_eq!(fast, None, "{json}");
        }
        // serde_json reads these the same way when it is asked.
        let (fast, slow) =
            both_paths(r#"{"Records": [{"kinesis": {"data": "aGk\/"}}]}"#.as_bytes());
        assert_eq!(fast, None);
        assert_eq!(slow.unwrap().len(), 1);
        let deep = format!(
            r#"{{"Records": [{{"x": {}{}}}]}}"#,
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(both_paths(deep.as_bytes()).0, None);
        assert!(both_paths(deep.as_bytes()).1.is_ok());
    }

    #[test]
    fn records_without_data_and_repeated_keys_read_as_serde_reads_them() {
        for json in [
            r#"{"Records": [{"eventID": "x"}, {"kinesis": {}}, {"kinesis": {"data": ""}}]}"#,
            r#"{"Records": [{"kinesis": {"data": "aGk=", "data": "bm8="}}], "Records": [{}]}"#,
            r#"{"Records": [{"kinesis": {"data": "not base64", "n": -0.5e+3, "t": [true, false, null, {}]}}]}"#,
            "{}",
            " {\"Records\":[]}\n",
        ] {
            let (fast, slow) = both_paths(json.as_bytes());
            assert_eq!(Ok(fast.expect(json)), slow, "{json}");
        }
    }

    /// A JSON-ish tree, rendered with chosen whitespace; its leaves include tokens that are
    /// not JSON, so some trees are invalid on purpose.
    #[derive(Debug, Clone)]
    enum Node {
        Object(Vec<(&'static str, Node)>),
        Array(Vec<Node>),
        Token(&'static str),
    }

    impl Node {
        fn render(&self, space: &str, out: &mut String) {
            match self {
                Node::Token(token) => out.push_str(token),
                Node::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(space);
                        item.render(space, out);
                    }
                    out.push_str(space);
                    out.push(']');
                }
                Node::Object(members) => {
                    out.push('{');
                    for (i, (key, value)) in members.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(space);
                        out.push_str(key);
                        out.push(':');
                        out.push_str(space);
                        value.render(space, out);
                    }
                    out.push_str(space);
                    out.push('}');
                }
            }
        }
    }

    const TOKENS: &[&str] = &[
        r#""aGVsbG8=""#,
        r#""d29ybGQ=""#,
        r#""""#,
        r#""not base64""#,
        r#""a/b+c""#,
        r#""esc\"aped""#,
        r#""back\\slash""#,
        "\"raw\u{1}control\"",
        "\"\u{e9}t\u{e9}\"",
        "0",
        "-12",
        "1545084650.987",
        "6.02e23",
        "-0.5E-3",
        "01",
        "1.",
        ".5",
        "1e",
        "--1",
        "true",
        "false",
        "null",
        "nul",
        "tru",
        r#""unterminated"#,
    ];
    const KEYS: &[&str] = &[
        r#""Records""#,
        r#""kinesis""#,
        r#""data""#,
        r#""eventID""#,
        r#""Rec\u006frds""#,
        r#""dat""#,
        "\"da\u{1}ta\"",
    ];

    fn node() -> impl Strategy<Value = Node> {
        let leaf = proptest::sample::select(TOKENS).prop_map(Node::Token);
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Node::Array),
                proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..4)
                    .prop_map(Node::Object),
            ]
        })
    }

    /// Events shaped like Kinesis ones (the keys the reader looks for, at the depths it looks
    /// for them), with anything at any place.
    fn event() -> impl Strategy<Value = Node> {
        let kinesis = proptest::collection::vec((proptest::sample::select(KEYS), node()), 0..4)
            .prop_map(Node::Object);
        let record = proptest::collection::vec(
            prop_oneof![
                3 => kinesis.prop_map(|k| (r#""kinesis""#, k)),
                1 => (proptest::sample::select(KEYS), node()),
            ],
            0..4,
        )
        .prop_map(Node::Object);
        let records = prop_oneof![
            4 => proptest::collection::vec(prop_oneof![4 => record, 1 => node()], 0..5)
                .prop_map(Node::Array),
            1 => node(),
        ];
        proptest::collection::vec(
            prop_oneof![
                4 => records.prop_map(|r| (r#""Records""#, r)),
                1 => (proptest::sample::select(KEYS), node()),
            ],
            0..3,
        )
        .prop_map(Node::Object)
    }

    /// The sample event's first two records, each record's fields as Lambda sends them.
    static SMALL_EVENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let sample: serde_json::Value =
            serde_json::from_str(cfrp_events::KINESIS_REALTIME_LOGS).unwrap();
        let records = sample["Records"].as_array().unwrap();
        serde_json::json!({"Records": records[..2]}).to_string()
    });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the fast path accepts, serde_json reads to the same batch.
        #[test]
        fn the_fast_path_accepts_only_what_serde_reads_the_same(
            event in event(),
            space in proptest::sample::select(&["", " ", "\n  ", "\t\r\n"][..]),
        ) {
            let mut json = String::new();
            event.render(space, &mut json);
            let (fast, slow) = both_paths(json.as_bytes());
            if let Some(fast) = fast {
                prop_assert_eq!(Ok(fast), slow, "{}", json);
            }
        }

        /// The same on a valid event with bytes deleted, inserted or replaced.
        #[test]
        fn mutated_events_are_accepted_only_when_serde_agrees(
            edits in proptest::collection::vec(
                (any::<proptest::sample::Index>(), 0u8..3, proptest::sample::select(
                    &b"{}[]\",:\\ \t\n0123456789-+.eEtrufalsnd\x01\x1f\xffA="[..])),
                1..4,
            ),
        ) {
            let mut json = SMALL_EVENT.as_bytes().to_vec();
            for (at, kind, byte) in edits {
                let at = at.index(json.len());
                match kind {
                    0 => { json.remove(at); }
                    1 => json.insert(at, byte),
                    _ => json[at] = byte,
                }
            }
            let (fast, slow) = both_paths(&json);
            if let Some(fast) = fast {
                prop_assert_eq!(Ok(fast), slow, "{}", String::from_utf8_lossy(&json));
            }
        }
    }
}
