//! Real-shaped sample events for tests, benchmarks and docs, and a generator of large realistic
//! Kinesis events of CloudFront real-time log records.
//!
//! The JSON files beside this crate are what AWS delivers to a Lambda function:
//! - `kinesis-realtime-logs.json`: a Kinesis batch of real-time log records in the default
//!   field order (decoded in `kinesis-realtime-logs.lines.txt`), with IPv4 and IPv6 clients,
//!   URL-encoded values, hits, misses and errors, and three malformed records;
//! - `sqs-s3-manuscripts.json`: SQS messages carrying S3 ObjectCreated/ObjectRemoved
//!   notifications (keys with `+` for spaces, percent-escaped UTF-8, `%`, `#`, `?`) and the
//!   `s3:TestEvent` S3 sends when a notification is configured;
//! - `eventbridge-schedule.json`: an EventBridge scheduled event.

use base64::Engine as _;
use cfrp_config::Field;
use serde_json::{Value, json};

pub const KINESIS_REALTIME_LOGS: &str = include_str!("../kinesis-realtime-logs.json");
pub const KINESIS_REALTIME_LOG_LINES: &str = include_str!("../kinesis-realtime-logs.lines.txt");
pub const SQS_S3_MANUSCRIPTS: &str = include_str!("../sqs-s3-manuscripts.json");
pub const EVENTBRIDGE_SCHEDULE: &str = include_str!("../eventbridge-schedule.json");

/// Number of malformed records at the end of [`KINESIS_REALTIME_LOGS`].
pub const MALFORMED_SAMPLE_RECORDS: usize = 3;

/// The well-formed log lines of the sample Kinesis event, in record order.
pub fn sample_log_lines() -> Vec<&'static str> {
    KINESIS_REALTIME_LOG_LINES
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
}

/// Lambda's limit on a synchronous invocation payload.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Options for [`generate_kinesis_event`].
#[derive(Debug, Clone)]
pub struct Generate {
    /// Deterministic output for a seed.
    pub seed: u64,
    /// Stop before the serialised event would exceed this many bytes.
    pub max_event_bytes: usize,
    /// Fields of each record, in order (the log config's list).
    pub fields: Vec<Field>,
    /// Epoch second of the first record; records spread over `minutes` minutes.
    pub start_epoch: u64,
    pub minutes: u64,
    /// Distribution domain name written into `x-host-header`.
    pub distribution_domain: String,
}

impl Default for Generate {
    fn default() -> Self {
        Generate {
            seed: 7,
            max_event_bytes: LAMBDA_PAYLOAD_LIMIT,
            fields: Field::default_set(),
            start_epoch: 1_700_000_040,
            minutes: 5,
            distribution_domain: "d111111abcdef8.cloudfront.net".to_string(),
        }
    }
}

/// A generated event with what went into it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The Kinesis event JSON as Lambda delivers it.
    pub json: String,
    pub records: usize,
    /// The decoded log lines, in record order.
    pub lines: Vec<String>,
}

// Weighted choices for realistic traffic: (value, weight).
const COUNTRIES: &[(&str, u32)] = &[
    ("US", 35),
    ("DE", 12),
    ("GB", 9),
    ("JP", 8),
    ("FR", 7),
    ("IN", 7),
    ("BR", 6),
    ("CA", 5),
    ("AU", 4),
    ("NL", 3),
    ("KR", 2),
    ("SG", 2),
];
const POPS: &[(&str, u32)] = &[
    ("IAD89-C2", 20),
    ("FRA56-P1", 12),
    ("LHR61-C1", 9),
    ("NRT57-P3", 8),
    ("CDG50-C1", 7),
    ("BOM78-P2", 7),
    ("GRU3-C1", 6),
    ("YTO50-C3", 5),
    ("SYD1-C1", 4),
    ("AMS54-C1", 3),
    ("ICN57-P1", 2),
    ("SIN2-P4", 2),
    ("DFW57-P6", 15),
];
const PATHS: &[(&str, &str, u32)] = &[
    ("/api/orders", "/api/*", 25),
    ("/api/pay", "/api/*", 5),
    ("/static/app.js", "/static/*", 20),
    ("/static/logo.png", "/static/*", 10),
    ("/index.html", "*", 20),
    ("/manuscripts/chapter%20one.html", "/manuscripts/*", 15),
    ("/caf%C3%A9/menu.html", "*", 5),
];
const OPERATIONS: &[(&str, u32)] = &[
    ("list-orders", 50),
    ("pay", 10),
    ("verify-signature", 30),
    ("generate-key", 10),
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:120.0)%20Gecko/20100101%20Firefox/120.0",
    "Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_1%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15",
    "curl/8.4.0",
    "okhttp/4.12.0",
];

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.u32(0..total);
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &items[items.len() - 1].0
}

/// A latency in seconds with a long tail: mostly tens of milliseconds, sometimes seconds.
fn latency(rng: &mut fastrand::Rng) -> f64 {
    // Log-uniform body plus a 2% tail: cheap to draw and heavy-tailed like real origin latency.
    let body = 10f64.powf(rng.f64() * 2.0 - 2.5); // 3 ms .. 300 ms
    if rng.u32(0..100) < 2 {
        body * 20.0
    } else {
        body
    }
}

/// One realistic log line; `values[i]` is the value of `fields[i]`.
fn log_line(rng: &mut fastrand::Rng, options: &Generate, index: usize) -> String {
    let span = options.minutes.max(1) * 60;
    let second = options.start_epoch + rng.u64(0..span);
    let millis = rng.u32(0..1000);
    let ipv6 = rng.u32(0..100) < 20;
    let client = if ipv6 {
        format!("2001:db8:{:x}::{:x}", rng.u16(..), rng.u16(1..))
    } else {
        format!("198.51.{}.{}", rng.u8(..), rng.u8(1..255))
    };
    let (path, pattern, _) = PATHS[{
        let weights: Vec<(usize, u32)> = PATHS.iter().enumerate().map(|(i, p)| (i, p.2)).collect();
        *pick(rng, &weights)
    }];
    let status = match rng.u32(0..1000) {
        0..=14 => 500 + rng.u16(0..4),
        15..=64 => [400, 403, 404, 429][rng.usize(0..4)],
        65..=114 => 304,
        115..=134 => 301,
        _ => 200,
    };
    let result = if status >= 500 {
        "Error"
    } else if status >= 400 {
        if rng.bool() { "Error" } else { "Miss" }
    } else {
        match rng.u32(0..100) {
            0..=54 => "Hit",
            55..=59 => "RefreshHit",
            60..=64 => "OriginShieldHit",
            _ => "Miss",
        }
    };
    let hit = matches!(result, "Hit" | "RefreshHit" | "OriginShieldHit");
    let taken = if hit {
        latency(rng) / 10.0
    } else {
        latency(rng)
    };
    let ttfb = taken * (0.5 + rng.f64() * 0.5);
    let bytes = rng.u32(200..200_000);
    let agent = AGENTS[rng.usize(0..AGENTS.len())];
    let operation = pick(rng, OPERATIONS);
    let headers = format!(
        "Host:cdn.shop.example.com%0AUser-Agent:{agent}%0AAccept:*/*%0AAccept-Encoding:gzip,%20br%0AX-Operation-Type:{operation}%0AX-Request-Id:{:016x}%0A",
        rng.u64(..)
    );
    options
        .fields
        .iter()
        .map(|field| match field {
            Field::Timestamp => format!("{second}.{millis:03}"),
            Field::ClientIp => client.clone(),
            Field::TimeToFirstByte => format!("{ttfb:.3}"),
            Field::Status => status.to_string(),
            Field::BytesSent => bytes.to_string(),
            Field::Method => (if path.starts_with("/api/pay") {
                "POST"
            } else {
                "GET"
            })
            .to_string(),
            Field::Protocol => "https".to_string(),
            Field::Host => "cdn.shop.example.com".to_string(),
            Field::UriStem => path.to_string(),
            Field::BytesReceived => rng.u32(300..1500).to_string(),
            Field::EdgeLocation => pick(rng, POPS).to_string(),
            Field::EdgeRequestId => format!("{index:08x}{:024x}", rng.u128(..) >> 32),
            Field::HostHeader => options.distribution_domain.clone(),
            Field::TimeTaken => format!("{taken:.3}"),
            Field::ProtocolVersion => {
                ["HTTP/2.0", "HTTP/2.0", "HTTP/3.0", "HTTP/1.1"][rng.usize(0..4)].to_string()
            }
            Field::ClientIpVersion => (if ipv6 { "IPv6" } else { "IPv4" }).to_string(),
            Field::UserAgent => agent.to_string(),
            Field::Referer => "https://shop.example.com/".to_string(),
            Field::Cookie => "session=abc123".to_string(),
            Field::UriQuery => (if rng.bool() { "page=2&sort=desc" } else { "-" }).to_string(),
            Field::EdgeResponseResultType
            | Field::EdgeResultType
            | Field::EdgeDetailedResultType => result.to_string(),
            Field::SslProtocol => "TLSv1.3".to_string(),
            Field::SslCipher => "TLS_AES_128_GCM_SHA256".to_string(),
            Field::ContentType => "text/html".to_string(),
            Field::ContentLength => bytes.to_string(),
            Field::ClientPort => rng.u16(1024..).to_string(),
            Field::Country => pick(rng, COUNTRIES).to_string(),
            Field::AcceptEncoding => "gzip,%20br".to_string(),
            Field::Accept => "*/*".to_string(),
            Field::CacheBehaviorPathPattern => pattern.to_string(),
            Field::Headers => headers.clone(),
            Field::HeaderNames => {
                "Host%0AUser-Agent%0AAccept%0AAccept-Encoding%0AX-Operation-Type%0AX-Request-Id%0A"
                    .to_string()
            }
            Field::HeadersCount => "6".to_string(),
            Field::OriginFirstByteLatency if !hit => format!("{:.3}", ttfb * 0.9),
            Field::OriginLastByteLatency if !hit => format!("{:.3}", taken * 0.95),
            Field::Asn => [16509u32, 3320, 2516, 12322, 7922][rng.usize(0..5)].to_string(),
            _ => "-".to_string(),
        })
        .collect::<Vec<_>>()
        .join("\t")
}

fn kinesis_record(index: usize, data: &[u8], arrival: f64) -> Value {
    let sequence = format!("49627937503954270{index:010}00000000000000000000000000000000");
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": format!("{index:08x}"),
            "sequenceNumber": sequence,
            "data": base64::engine::general_purpose::STANDARD.encode(data),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("shardId-000000000000:{sequence}"),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/cfrp-shop-log-analyser-role",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/cfrp-shop-realtime-logs",
    })
}

/// Generates a Kinesis event of realistic real-time log records, as large as fits in
/// `max_event_bytes` (at most Kinesis's 10,000 records per batch).
pub fn generate_kinesis_event(options: &Generate) -> Generated {
    const ENVELOPE: usize = "{\"Records\":[]}".len();
    const MAX_RECORDS: usize = 10_000;
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut size = ENVELOPE;
    let arrival = options.start_epoch as f64 + (options.minutes * 60) as f64;
    while records.len() < MAX_RECORDS {
        let line = log_line(&mut rng, options, records.len());
        let record = kinesis_record(records.len(), line.as_bytes(), arrival);
        let record_size = record.to_string().len() + 1;
        if size + record_size > options.max_event_bytes {
            break;
        }
        size += record_size;
        records.push(record);
        lines.push(line);
    }
    let count = records.len();
    Generated {
        json: json!({ "Records": records }).to_string(),
        records: count,
        lines,
    }
}

/// Wraps arbitrary record payloads (for example lines read back from a Kinesis stream) into
/// a Kinesis event as Lambda delivers it.
pub fn kinesis_event_from_payloads<'a>(
    payloads: impl IntoIterator<Item = &'a [u8]>,
    arrival_epoch: f64,
) -> String {
    let records: Vec<Value> = payloads
        .into_iter()
        .enumerate()
        .map(|(index, data)| kinesis_record(index, data, arrival_epoch))
        .collect();
    json!({ "Records": records }).to_string()
}

/// One SQS message as ReceiveMessage returns it.
#[derive(Debug, Clone)]
pub struct SqsMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

/// Wraps received SQS messages into the event Lambda's SQS event source mapping delivers.
pub fn sqs_event_from_messages(messages: &[SqsMessage], queue_arn: &str, region: &str) -> String {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000100000", "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1700000100010"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}
