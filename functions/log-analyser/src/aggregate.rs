//! Per distribution and per minute of the log timestamp: counts, bytes, status classes, cache
//! hits, latency distributions and bounded breakdowns; per client: anomaly scores. Pure: no
//! AWS, no clock (the caller passes "now").

use std::borrow::Cow;
use std::collections::HashMap;

/// The maps filled per record. foldhash (hashbrown's default hasher) instead of std's SipHash:
/// a record costs several lookups and SipHash was a large share of the analysis time. It is
/// seeded per map from a random per-process value, so viewers who control header values and
/// paths cannot precompute colliding keys.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use cfrp_config::metrics as m;
use cfrp_config::{AnalyserSettings, BlockLevel};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde::Serialize;

use crate::anomaly::{self, ClientActivity, Offender, ThreatLevel};
use crate::datum::{Datum, DatumValue, Unit};
use crate::record::{Layout, ParseError, Record, parse_line};
use crate::sketch::{LogHistogram, MAX_VALUES_PER_DATUM};

/// CloudWatch accepts datapoints up to two weeks old and up to two hours ahead.
const MAX_AGE_MS: i64 = 14 * 24 * 3600 * 1000;
const MAX_AHEAD_MS: i64 = 2 * 3600 * 1000;
/// Dimension values longer than this are cut (CloudWatch allows 1,024 characters; dashboards
/// stay readable).
const MAX_DIMENSION_VALUE: usize = 255;
/// The dimension value of a value that is empty or only spaces.
pub const BLANK: &str = "(blank)";
/// Distribution dimension value for records without `x-host-header`.
const UNKNOWN_DISTRIBUTION: &str = "unknown";
/// How many of the batch's highest-scoring clients the summary logs.
const TOP_OFFENDERS: usize = 5;
/// The breakdown value that collects everything beyond the top N.
pub const OTHER: &str = "Other";

/// Keys are copied into the map on first sight rather than borrowed from the batch: a
/// borrowed key points into the record that first carried it, long evicted from the cache by
/// the time later records compare against it, and those comparisons were ~9 % of the analysis
/// time. A breakdown has few distinct keys, so the copies are cheap.
#[derive(Debug, Default)]
struct Breakdown {
    counts: FastMap<Box<str>, u64>,
}

impl Breakdown {
    fn add(&mut self, key: &str) {
        match self.counts.get_mut(key) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(key.into(), 1);
            }
        }
    }

    /// The top `n` keys by count (ties by name), and everything else summed as "Other".
    fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut entries: Vec<(&Box<str>, &u64)> = self.counts.iter().collect();
        entries.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let mut out: Vec<(String, u64)> = entries
            .iter()
            .take(n)
            .map(|(k, c)| (dimension_value(k), **c))
            .collect();
        let other: u64 = entries.iter().skip(n).map(|(_, c)| **c).sum();
        if other > 0 {
            out.push((OTHER.to_string(), other));
        }
        out
    }
}

/// Bytes a dimension value cannot carry as they are: CloudWatch takes ASCII only, and control
/// characters make values unreadable; `%` too, so the mapping is unambiguous.
const DIMENSION_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// What a value from a log record (a viewer's header, the Host it sent) becomes as a CloudWatch
/// dimension value, which must be ASCII, hold a non-whitespace character and be at most 1,024
/// characters, or PutMetricData refuses the whole request. The mapping: control characters,
/// `%` and every non-ASCII byte percent-encoded (`é` → `%C3%A9`, a tab → `%09`); the result cut
/// to [`MAX_DIMENSION_VALUE`] characters, never inside an escape; a value with nothing but
/// spaces (or nothing) is [`BLANK`].
pub fn dimension_value(value: &str) -> String {
    let mut mapped: String = utf8_percent_encode(value, DIMENSION_ESCAPES).collect();
    if mapped.len() > MAX_DIMENSION_VALUE {
        // ASCII now, so bytes are characters; an escape is `%` and two hex digits.
        let mut cut = MAX_DIMENSION_VALUE;
        if let Some(percent) = mapped.get(cut - 2..cut).and_then(|w| w.find('%')) {
            cut = cut - 2 + percent;
        }
        mapped.truncate(cut);
    }
    if mapped.trim().is_empty() {
        return BLANK.to_string();
    }
    mapped
}

#[derive(Debug, Default)]
struct Minute {
    requests: u64,
    bytes_sent: u64,
    bytes_received: u64,
    /// 2xx, 3xx, 4xx, 5xx.
    status: [u64; 4],
    hits: u64,
    time_taken: LogHistogram,
    time_to_first_byte: LogHistogram,
    origin_first_byte: LogHistogram,
    origin_last_byte: LogHistogram,
    countries: Breakdown,
    edge_locations: Breakdown,
    path_patterns: Breakdown,
    protocol_versions: Breakdown,
    /// One breakdown per configured app header.
    app_headers: Vec<Breakdown>,
}

/// Everything one distribution accumulates over the batch.
struct DistributionState<'a> {
    latest_minute: i64,
    minutes: FastMap<i64, Minute>,
    /// Every client IP of the batch once, in order of first sight, and what it did.
    clients: Vec<(&'a str, ClientActivity<'a>)>,
    /// Where each IP sits in `clients`. Borrowed keys here, unlike [`Breakdown`]'s: most
    /// clients appear once in a batch, so a lookup rarely compares against an earlier
    /// record's bytes, and copying every IP would cost an allocation per client. Only an
    /// index as the value: with the activity in the table too, its buckets (64 bytes) did
    /// not fit in the core's cache for a batch of clients, and filling them was ~6 % of the
    /// handler; the vector is written in order.
    client_slots: FastMap<&'a str, u32>,
}

/// A malformed record, as logged (the first of a batch).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MalformedSample {
    pub record: usize,
    pub reason: String,
    pub start: String,
}

/// What one batch amounted to; logged as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub records: usize,
    pub analysed: usize,
    pub malformed: usize,
    /// Records outside CloudWatch's accepted time window (two weeks back, two hours ahead).
    pub stale: usize,
    pub distributions: usize,
    pub minutes: usize,
    pub datums: usize,
    pub malformed_sample: Option<MalformedSample>,
    pub top_offenders: Vec<Offender>,
    pub clients_by_level: HashMap<&'static str, usize>,
}

/// What one record was, for the summary: every record is exactly one of analysed, malformed
/// or stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordClass {
    /// No log line seen yet (a record that stays so held only newlines or blanks).
    Empty,
    Analysed,
    Stale,
    Malformed,
}

/// The batch's datums and summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub datums: Vec<Datum>,
    pub summary: Summary,
    /// `[waf.auto_block]` on: the clients at or above its level, each with the batch's latest
    /// minute (its distribution's), highest score first.
    pub strikes: Vec<(i64, Offender)>,
}

/// At most this many strikes per batch: a bound on the batch's DynamoDB writes; the highest
/// scores are kept.
pub const MAX_STRIKES: usize = 1000;

/// Analyses a batch of record payloads (each one or more newline-separated log lines).
pub fn analyse<'a>(
    settings: &AnalyserSettings,
    layout: &Layout,
    payloads: impl IntoIterator<Item = &'a [u8]>,
    now_ms: i64,
) -> Analysis {
    analyse_payloads(settings, layout, payloads.into_iter().map(Some), now_ms)
}

/// [`analyse`], where `None` stands for a record whose data could not be decoded (counted as
/// malformed like any other bad record).
pub fn analyse_payloads<'a>(
    settings: &AnalyserSettings,
    layout: &Layout,
    payloads: impl IntoIterator<Item = Option<&'a [u8]>>,
    now_ms: i64,
) -> Analysis {
    let payloads = payloads.into_iter();
    // A batch nearly always holds one distribution with up to one client per record: the
    // first distribution's client map is sized for that up front instead of rehashing its
    // way up (rehashing was ~5 % of the analysis time); later ones grow as needed.
    let mut first_clients_capacity = payloads.size_hint().0.min(4096);
    let mut distributions: FastMap<&'a str, DistributionState<'a>> = FastMap::default();
    let mut summary = Summary::default();

    for (index, payload) in payloads.into_iter().enumerate() {
        summary.records += 1;
        let Some(payload) = payload else {
            summary.malformed += 1;
            note_malformed(&mut summary, index, &ParseError::NotBase64, "");
            continue;
        };
        // simdutf8: the same answer as std::str::from_utf8, validated 32-64 bytes per step
        // with SIMD (NEON on arm64); std's check was ~9 % of the analysis time.
        let text = match simdutf8::basic::from_utf8(payload) {
            Ok(text) => text,
            Err(_) => {
                summary.malformed += 1;
                note_malformed(
                    &mut summary,
                    index,
                    &ParseError::NotUtf8,
                    &String::from_utf8_lossy(payload),
                );
                continue;
            }
        };
        // A record normally holds one line; several newline-separated lines are accepted, each
        // a request. The record itself is counted once: malformed when it holds no line or a
        // line that does not parse, stale when every line is, analysed otherwise.
        let mut class = RecordClass::Empty;
        for line in lines(text) {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let record = match parse_line(layout, line) {
                Ok(record) => record,
                Err(err) => {
                    note_malformed(&mut summary, index, &err, line);
                    class = RecordClass::Malformed;
                    continue;
                }
            };
            if record.timestamp_ms < now_ms - MAX_AGE_MS
                || record.timestamp_ms > now_ms + MAX_AHEAD_MS
            {
                if class == RecordClass::Empty {
                    class = RecordClass::Stale;
                }
                continue;
            }
            if class != RecordClass::Malformed {
                class = RecordClass::Analysed;
            }
            let distribution = record.distribution.unwrap_or(UNKNOWN_DISTRIBUTION);
            let minute_ms = record.timestamp_ms - record.timestamp_ms.rem_euclid(60_000);
            // One string-keyed lookup per record; the minute and the client hang below it.
            let state = distributions.entry(distribution).or_insert_with(|| {
                let capacity = std::mem::take(&mut first_clients_capacity);
                DistributionState {
                    latest_minute: minute_ms,
                    minutes: FastMap::default(),
                    clients: Vec::with_capacity(capacity),
                    client_slots: FastMap::with_capacity_and_hasher(capacity, Default::default()),
                }
            });
            state.latest_minute = state.latest_minute.max(minute_ms);
            let stats = state.minutes.entry(minute_ms).or_insert_with(|| Minute {
                app_headers: settings
                    .app_headers
                    .iter()
                    .map(|_| Breakdown::default())
                    .collect(),
                ..Minute::default()
            });
            add_record(stats, &record, &settings.app_headers);
            if let Some(ip) = record.client_ip {
                let clients = &mut state.clients;
                let slot = *state.client_slots.entry(ip).or_insert_with(|| {
                    clients.push((ip, ClientActivity::default()));
                    // At most one client per record, and a batch is far below 4 billion.
                    u32::try_from(clients.len() - 1).unwrap_or(u32::MAX)
                });
                let Some((_, client)) = clients.get_mut(slot as usize) else {
                    continue;
                };
                client.requests += 1;
                client.errors += u64::from(record.status.is_some_and(|s| s >= 400));
                client.country = client.country.or(record.country);
                client.asn = client.asn.or(record.asn);
            }
        }
        match class {
            RecordClass::Analysed => summary.analysed += 1,
            RecordClass::Stale => summary.stale += 1,
            RecordClass::Malformed => summary.malformed += 1,
            RecordClass::Empty => {
                // Only newlines or blanks: no log line at all.
                summary.malformed += 1;
                note_malformed(&mut summary, index, &ParseError::Empty, text);
            }
        }
    }

    let mut datums = Vec::new();
    let mut names: Vec<&&str> = distributions.keys().collect();
    names.sort();
    let top_n = settings.top_n as usize;
    // Sampled logs: each logged request stands for 100 / rate of them. Counts and bytes are
    // published as estimates of the whole traffic; ratios, latency distributions and client
    // scores describe the sample as it is (scaling would not change them).
    let scale = 100.0 / f64::from(settings.sampling_rate.clamp(1, 100));
    for distribution in &names {
        let state = &distributions[**distribution];
        let mut minute_keys: Vec<&i64> = state.minutes.keys().collect();
        minute_keys.sort();
        for minute_ms in minute_keys {
            minute_datums(
                &mut datums,
                distribution,
                *minute_ms,
                &state.minutes[minute_ms],
                top_n,
                &settings.app_headers,
                scale,
            );
        }
    }

    let mut all_offenders = Vec::new();
    let mut strikes = Vec::new();
    for distribution in &names {
        let state = &distributions[**distribution];
        if state.clients.is_empty() {
            continue;
        }
        let clients = state.clients.iter().map(|(ip, client)| (*ip, client));
        let scores = anomaly::summarise_clients(clients, TOP_OFFENDERS);
        let timestamp_ms = state.latest_minute;
        let dims = || vec![(m::DIM_DISTRIBUTION, dimension_value(distribution))];
        let mut high = 0;
        for level in ThreatLevel::ALL {
            let count = scores.by_level[level as usize];
            *summary.clients_by_level.entry(level.as_str()).or_insert(0) += count;
            if level >= ThreatLevel::High {
                high += count;
            }
            if count > 0 {
                let mut dimensions = dims();
                dimensions.push((m::DIM_THREAT_LEVEL, level.as_str().to_string()));
                datums.push(single(
                    m::CLIENTS_BY_THREAT_LEVEL,
                    dimensions,
                    timestamp_ms,
                    Unit::Count,
                    count as f64,
                ));
            }
        }
        datums.push(single(
            m::HIGH_THREAT_CLIENTS,
            dims(),
            timestamp_ms,
            Unit::Count,
            high as f64,
        ));
        all_offenders.extend(scores.top);
        if let Some(strike) = &settings.strikes {
            let clients = state.clients.iter().map(|(ip, client)| (*ip, client));
            let level = match strike.level {
                BlockLevel::Medium => ThreatLevel::Medium,
                BlockLevel::High => ThreatLevel::High,
                BlockLevel::Critical => ThreatLevel::Critical,
            };
            strikes.extend(
                anomaly::at_or_above(clients, level, MAX_STRIKES)
                    .into_iter()
                    .map(|offender| (timestamp_ms, offender)),
            );
        }
    }
    rank_strikes(&mut strikes);
    all_offenders.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.ip.cmp(&b.ip)));
    all_offenders.truncate(TOP_OFFENDERS);
    summary.top_offenders = all_offenders;

    if summary.malformed > 0 {
        let minute_ms = now_ms - now_ms.rem_euclid(60_000);
        datums.push(single(
            m::MALFORMED_RECORDS,
            Vec::new(),
            minute_ms,
            Unit::Count,
            summary.malformed as f64,
        ));
    }
    summary.distributions = distributions.len();
    summary.minutes = distributions.values().map(|d| d.minutes.len()).sum();
    summary.datums = datums.len();
    Analysis {
        datums,
        summary,
        strikes,
    }
}

/// Keeps the batch's first malformed record as its sample (the caller counts it).
fn note_malformed(summary: &mut Summary, index: usize, err: &ParseError, line: &str) {
    if summary.malformed_sample.is_none() {
        summary.malformed_sample = Some(MalformedSample {
            record: index,
            reason: err.to_string(),
            start: line.chars().take(80).collect(),
        });
    }
}

fn add_record(stats: &mut Minute, record: &Record<'_>, app_headers: &[String]) {
    stats.requests += 1;
    stats.bytes_sent += record.bytes_sent.unwrap_or(0);
    stats.bytes_received += record.bytes_received.unwrap_or(0);
    if let Some(status) = record.status
        && (200..600).contains(&status)
    {
        stats.status[usize::from(status / 100 - 2)] += 1;
    }
    if record.result.is_some_and(|r| r.is_cache_hit()) {
        stats.hits += 1;
    }
    for (value, histogram) in [
        (record.time_taken_ms, &mut stats.time_taken),
        (record.time_to_first_byte_ms, &mut stats.time_to_first_byte),
        (record.origin_first_byte_ms, &mut stats.origin_first_byte),
        (record.origin_last_byte_ms, &mut stats.origin_last_byte),
    ] {
        if let Some(v) = value {
            histogram.add(v);
        }
    }
    if let Some(country) = record.country {
        stats.countries.add(country);
    }
    if let Some(location) = record.edge_location {
        // "FRA56-P1" → "FRA56": the POP, without the server-group suffix.
        stats
            .edge_locations
            .add(location.split('-').next().unwrap_or(location));
    }
    if let Some(pattern) = record.path_pattern {
        stats.path_patterns.add(pattern);
    }
    if let Some(version) = record.protocol_version {
        stats.protocol_versions.add(version);
    }
    if let Some(headers) = record.headers {
        for (wanted, breakdown) in app_headers.iter().zip(stats.app_headers.iter_mut()) {
            if let Some(value) = header_value(headers, wanted) {
                breakdown.add(&value);
            }
        }
    }
}

/// The non-blank newline-separated lines of a record's text. The memchr crate's search
/// (SIMD) rather than `str::split`: a record is one ~1 KB line, and std's scan for its final
/// newline was ~8 % of the analysis time.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    ends.filter_map(move |end| {
        let line = text.get(start..end).unwrap_or_default();
        start = end + 1;
        Some(line).filter(|line| !line.trim().is_empty())
    })
}

/// The value of header `name` in a `cs-headers` field: URL-encoded `Name:Value` pairs
/// separated by encoded newlines (`%0A`); names compare case-insensitively. An empty name
/// (the config rejects one) finds nothing.
///
/// Rather than splitting the field into pairs, this looks only where the name's first letter
/// (either case) sits at the start of a pair, found with the memchr crate: a configured
/// header such as `x-operation-type` usually has one or two candidates in the field, where
/// splitting searched for every separator before it (~7 % of the handler). Same answers as
/// the split reading, which a property test checks:
/// - a pair starts at the field's start or right after a `%0A` (the separator cannot overlap
///   itself, so every occurrence is one);
/// - a pair matches when it starts with `name` followed by `:`, which is the same as its part
///   before the first `:` being `name` because a header name (an RFC 9110 token, as the
///   config checks) has no `:`;
/// - the matched name must not run across a separator (a name may hold `%0a`, matching
///   `%0A` case-insensitively).
pub fn header_value<'a>(headers: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let first = *name.as_bytes().first()?;
    let may_hold_separator = name.as_bytes().contains(&b'%');
    let bytes = headers.as_bytes();
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        bytes,
    )
    .find_map(|start| {
        let at_pair_start = bytes.get(..start)?.ends_with(b"%0A") || start == 0;
        let (key, rest) = headers.get(start..)?.split_at_checked(name.len())?;
        let value = rest.strip_prefix(':')?;
        let whole_key = !may_hold_separator || SEPARATOR.find(key.as_bytes()).is_none();
        if !(at_pair_start && whole_key && key.eq_ignore_ascii_case(name)) {
            return None;
        }
        let value = value.get(..SEPARATOR.find(value.as_bytes()).unwrap_or(value.len()))?;
        // Most values have nothing encoded and are already UTF-8: kept as they are, rather
        // than checked again by the lossy decoding (~2 % of the handler).
        if !value.contains('%') {
            return Some(Cow::Borrowed(value));
        }
        Some(percent_decode_str(value).decode_utf8_lossy())
    })
}

/// The pair separator of `cs-headers`, an encoded newline, for the memchr crate's SIMD
/// substring search (std's two-way search was most of [`header_value`]'s time).
static SEPARATOR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("%0A"));

fn single(
    name: &'static str,
    dimensions: Vec<(&'static str, String)>,
    timestamp_ms: i64,
    unit: Unit,
    value: f64,
) -> Datum {
    Datum {
        name,
        dimensions,
        timestamp_ms,
        unit,
        value: DatumValue::Single(value),
    }
}

/// A ratio as a two-value distribution, `value` for `hits` samples and 0 for the rest, so
/// CloudWatch's Average over any period and any number of publishers is the exact ratio.
fn ratio(
    name: &'static str,
    dimensions: Vec<(&'static str, String)>,
    timestamp_ms: i64,
    value: f64,
    hits: u64,
    total: u64,
) -> Datum {
    let pairs: Vec<(f64, f64)> = [(value, hits as f64), (0.0, (total - hits) as f64)]
        .into_iter()
        .filter(|(_, count)| *count > 0.0)
        .collect();
    Datum {
        name,
        dimensions,
        timestamp_ms,
        unit: Unit::Percent,
        value: DatumValue::Distribution(pairs),
    }
}

fn minute_datums(
    out: &mut Vec<Datum>,
    distribution: &str,
    minute_ms: i64,
    stats: &Minute,
    top_n: usize,
    app_headers: &[String],
    scale: f64,
) {
    let dims = || vec![(m::DIM_DISTRIBUTION, dimension_value(distribution))];
    out.push(single(
        m::REQUESTS,
        dims(),
        minute_ms,
        Unit::Count,
        stats.requests as f64 * scale,
    ));
    out.push(single(
        m::BYTES_SENT,
        dims(),
        minute_ms,
        Unit::Bytes,
        stats.bytes_sent as f64 * scale,
    ));
    out.push(single(
        m::BYTES_RECEIVED,
        dims(),
        minute_ms,
        Unit::Bytes,
        stats.bytes_received as f64 * scale,
    ));
    for (name, count) in [m::STATUS_2XX, m::STATUS_3XX, m::STATUS_4XX, m::STATUS_5XX]
        .into_iter()
        .zip(stats.status)
    {
        out.push(single(
            name,
            dims(),
            minute_ms,
            Unit::Count,
            count as f64 * scale,
        ));
    }
    out.push(ratio(
        m::ERROR_RATE_4XX,
        dims(),
        minute_ms,
        100.0,
        stats.status[2],
        stats.requests,
    ));
    out.push(ratio(
        m::ERROR_RATE_5XX,
        dims(),
        minute_ms,
        100.0,
        stats.status[3],
        stats.requests,
    ));
    out.push(single(
        m::CACHE_HITS,
        dims(),
        minute_ms,
        Unit::Count,
        stats.hits as f64 * scale,
    ));
    out.push(ratio(
        m::CACHE_HIT_RATIO,
        dims(),
        minute_ms,
        100.0,
        stats.hits,
        stats.requests,
    ));
    for (name, histogram) in [
        (m::TIME_TAKEN, &stats.time_taken),
        (m::TIME_TO_FIRST_BYTE, &stats.time_to_first_byte),
        (m::ORIGIN_FIRST_BYTE_LATENCY, &stats.origin_first_byte),
        (m::ORIGIN_LAST_BYTE_LATENCY, &stats.origin_last_byte),
    ] {
        // More than 150 distinct buckets become several datums for the same metric and
        // minute; CloudWatch merges them.
        for chunk in histogram.values_and_counts().chunks(MAX_VALUES_PER_DATUM) {
            out.push(Datum {
                name,
                dimensions: dims(),
                timestamp_ms: minute_ms,
                unit: Unit::Milliseconds,
                value: DatumValue::Distribution(chunk.to_vec()),
            });
        }
    }
    for (name, dimension, breakdown) in [
        (m::REQUESTS_BY_COUNTRY, m::DIM_COUNTRY, &stats.countries),
        (
            m::REQUESTS_BY_EDGE_LOCATION,
            m::DIM_EDGE_LOCATION,
            &stats.edge_locations,
        ),
        (
            m::REQUESTS_BY_PATH_PATTERN,
            m::DIM_PATH_PATTERN,
            &stats.path_patterns,
        ),
        (
            m::REQUESTS_BY_PROTOCOL_VERSION,
            m::DIM_PROTOCOL_VERSION,
            &stats.protocol_versions,
        ),
    ] {
        for (value, count) in breakdown.top(top_n) {
            let mut dimensions = dims();
            dimensions.push((dimension, value));
            out.push(single(
                name,
                dimensions,
                minute_ms,
                Unit::Count,
                count as f64 * scale,
            ));
        }
    }
    for (header, breakdown) in app_headers.iter().zip(&stats.app_headers) {
        for (value, count) in breakdown.top(top_n) {
            let mut dimensions = dims();
            dimensions.push((m::DIM_HEADER, header.clone()));
            dimensions.push((m::DIM_HEADER_VALUE, value));
            out.push(single(
                m::REQUESTS_BY_APP_HEADER,
                dimensions,
                minute_ms,
                Unit::Count,
                count as f64 * scale,
            ));
        }
    }
}

/// Highest score first, one strike per client and minute (the strongest), at most
/// [`MAX_STRIKES`]. A client seen by two distributions in one batch (the primary and its
/// staging distribution, which a viewer reaches with the `aws-cf-cd-` header) would give two
/// items of one key, and DynamoDB refuses a BatchWriteItem holding a key twice: the whole
/// batch's strikes would be lost.
fn rank_strikes(strikes: &mut Vec<(i64, Offender)>) {
    strikes.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then_with(|| a.1.ip.cmp(&b.1.ip))
            .then_with(|| a.0.cmp(&b.0))
    });
    let mut seen = std::collections::HashSet::new();
    strikes.retain(|(minute, offender)| seen.insert((*minute, offender.ip.clone())));
    strikes.truncate(MAX_STRIKES);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strikes_keep_one_item_per_client_and_minute_the_strongest() {
        let offender = |ip: &str, score: f64| Offender {
            ip: ip.to_string(),
            country: None,
            asn: None,
            requests: 50,
            error_ratio: 0.9,
            score,
            level: ThreatLevel::Critical,
        };
        let mut strikes = vec![
            (60_000, offender("203.0.113.9", 12.0)),
            (60_000, offender("198.51.100.7", 11.0)),
            (60_000, offender("203.0.113.9", 15.0)),
            (120_000, offender("203.0.113.9", 10.5)),
        ];
        rank_strikes(&mut strikes);
        let keys: Vec<(i64, &str, f64)> = strikes
            .iter()
            .map(|(m, o)| (*m, o.ip.as_str(), o.score))
            .collect();
        assert_eq!(
            keys,
            vec![
                (60_000, "203.0.113.9", 15.0),
                (60_000, "198.51.100.7", 11.0),
                (120_000, "203.0.113.9", 10.5),
            ]
        );
    }

    #[test]
    fn header_values_are_found_case_insensitively_and_decoded() {
        let headers = "Host:cdn.example.com%0AX-Operation-Type:list%20orders%0AAccept:*/*%0A";
        assert_eq!(
            header_value(headers, "x-operation-type").as_deref(),
            Some("list orders")
        );
        assert_eq!(
            header_value(headers, "host").as_deref(),
            Some("cdn.example.com")
        );
        assert_eq!(header_value(headers, "cookie"), None);
        assert_eq!(
            header_value("Hostile:a%0AHost:b", "host").as_deref(),
            Some("b")
        );
        assert_eq!(
            header_value("Host%0AHost:x:y", "host").as_deref(),
            Some("x:y")
        );
        assert_eq!(
            header_value("H\u{e9}st:1%0Ahost:2", "host").as_deref(),
            Some("2")
        );
        assert_eq!(header_value("", "host"), None);
        // `%0A` separates pairs; `%0a` does not, though a name compares case-insensitively.
        assert_eq!(header_value("A%0A:x", "a%0a"), None);
        assert_eq!(header_value("A%0a:x", "a%0A").as_deref(), Some("x"));
    }

    #[test]
    fn dimension_values_are_ascii_non_blank_and_bounded() {
        assert_eq!(dimension_value("caf\u{e9}"), "caf%C3%A9");
        assert_eq!(dimension_value("\t"), "%09");
        assert_eq!(dimension_value(""), BLANK);
        assert_eq!(dimension_value("   "), BLANK);
        assert_eq!(dimension_value("100%"), "100%25");
        assert_eq!(dimension_value("checkout-v2"), "checkout-v2");
        let long = dimension_value(&"x".repeat(2000));
        assert_eq!(long.len(), MAX_DIMENSION_VALUE);
        // A cut never leaves half an escape.
        let escaped = dimension_value(&format!(
            "{}\u{e9}\u{e9}",
            "x".repeat(MAX_DIMENSION_VALUE - 4)
        ));
        assert!(
            escaped.ends_with('x') || escaped.ends_with("%C3") || escaped.ends_with("%A9"),
            "{escaped}"
        );
        assert!(
            !escaped.ends_with('%') && escaped.rfind('%').is_none_or(|i| i + 3 <= escaped.len())
        );
    }

    proptest::proptest! {
        /// Whatever a viewer sends, the value is one CloudWatch accepts (the API reference's
        /// Dimension rules), so no header can fail a batch.
        #[test]
        fn any_text_becomes_a_dimension_value_cloudwatch_accepts(value in "\\PC*|[\\x00-\\x20]*|.{1000,1100}") {
            let mapped = dimension_value(&value);
            proptest::prop_assert!(mapped.is_ascii());
            proptest::prop_assert!(!mapped.trim().is_empty());
            proptest::prop_assert!(!mapped.is_empty() && mapped.len() <= MAX_DIMENSION_VALUE);
        }
    }

    proptest::proptest! {
        /// Against the plain reading: split pairs, split each at its first colon.
        #[test]
        fn header_values_match_the_split_reading(
            headers in "([a-zA-Z\u{e9}%0-]{0,6}(:[a-z:%0-9A]{0,6})?(%0A)?){0,6}",
            name in "[a-zA-Z%0-]{1,4}",
        ) {
            let expected = headers
                .split("%0A")
                .filter_map(|pair| pair.split_once(':'))
                .find(|(key, _)| key.eq_ignore_ascii_case(&name))
                .map(|(_, value)| percent_decode_str(value).decode_utf8_lossy());
            proptest::prop_assert_eq!(header_value(&headers, &name), expected);
        }
    }

    proptest::proptest! {
        #[test]
        fn lines_split_like_std(text in "[a-z%0A:\\n\\r \\t]{0,60}") {
            let ours: Vec<&str> = lines(&text).collect();
            let std: Vec<&str> = text.split('\n').filter(|l| !l.trim().is_empty()).collect();
            proptest::prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn breakdowns_keep_the_top_n_and_sum_the_rest_as_other() {
        let mut breakdown = Breakdown::default();
        for (key, n) in [("US", 5), ("DE", 3), ("JP", 3), ("FR", 1), ("BR", 1)] {
            for _ in 0..n {
                breakdown.add(key);
            }
        }
        assert_eq!(
            breakdown.top(3),
            vec![
                ("US".to_string(), 5),
                ("DE".to_string(), 3),
                ("JP".to_string(), 3),
                ("Other".to_string(), 2)
            ]
        );
    }

    #[test]
    fn ratios_average_exactly_across_publishers() {
        // Two invocations see the same minute: 1 of 4 and 3 of 4 requests fail.
        let a = ratio("R", vec![], 0, 100.0, 1, 4);
        let b = ratio("R", vec![], 0, 100.0, 3, 4);
        let average = (a.total() + b.total()) / (a.samples() + b.samples());
        assert_eq!(average, 50.0);
    }
}
