//! Handler time without the network on a Lambda-sized event: ~6 MB of CloudFront real-time
//! log records with every documented field, as one Kinesis batch.
//!
//! - `handler`: what an invocation does before publishing: the invocation body read by the
//!   analyser's body layer and the runtime's deserialisation of what it leaves (as main.rs
//!   wires them), base64, parsing, aggregation, scoring, datums grouped into PutMetricData
//!   calls;
//! - `handler without the body layer`: the same with the runtime deserialising the whole event
//!   into the analyser's event type;
//! - `handler via KinesisEvent`: the same with `aws_lambda_events::KinesisEvent` as the type;
//! - `analyse decoded records`: parsing to datums on records already decoded;
//! - `naive baseline`: `serde_json::Value`, a `String` per field, a map per record, and a
//!   per-batch sort for percentiles; the ratio against it is the point of the benchmark.
//!
//! Throughput is in bytes of event payload. Run: `cargo bench -p cfrp-log-analyser`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the failure report

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine as _;
use cfrp_config::{AnalyserSettings, Field, metrics as m};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_log_analyser::Analyser;
use cfrp_log_analyser::aggregate::Analysis;
use cfrp_log_analyser::datum::into_calls;
use cfrp_log_analyser::event::KinesisBatch;
use cfrp_log_analyser::invocation::{ParseBodyLayer, ParsedBatches};
use cfrp_log_analyser::sink::MemorySink;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambda_runtime::tower::{Layer, Service, service_fn};
use lambda_runtime::{Context, LambdaEvent, LambdaInvocation};
use std::convert::Infallible;

const NOW_MS: i64 = 1_700_000_400_000;

fn settings() -> AnalyserSettings {
    AnalyserSettings {
        strikes: None,
        stack: "bench".to_string(),
        namespace: "Bench/Analyser".to_string(),
        fields: Field::ALL.to_vec(),
        top_n: 10,
        app_headers: vec!["x-operation-type".to_string()],
        sampling_rate: 100,
    }
}

/// One (distribution, minute) of the naive baseline: the same aggregates the analyser
/// publishes, kept the straightforward way.
#[derive(Default)]
struct NaiveMinute {
    requests: u64,
    bytes_sent: u64,
    bytes_received: u64,
    status: [u64; 4],
    hits: u64,
    /// time-taken, time-to-first-byte, origin first byte, origin last byte: every sample,
    /// sorted per batch for the percentiles.
    latencies: [Vec<f64>; 4],
    countries: HashMap<String, u64>,
    edge_locations: HashMap<String, u64>,
    path_patterns: HashMap<String, u64>,
    protocol_versions: HashMap<String, u64>,
    app_header: HashMap<String, u64>,
}

/// What the naive baseline found, to cross-check it against the analyser.
#[derive(Debug, PartialEq)]
struct NaiveTotals {
    requests: u64,
    bytes_sent: u64,
    malformed: usize,
    clients: usize,
}

/// The baseline a straightforward implementation would write, computing the same aggregates
/// as the analyser: `serde_json::Value`, a `String` per field and a map per record, every
/// latency sample kept and sorted per batch for p50/p90/p99, breakdowns in `HashMap<String,
/// u64>` sorted for the top N, per-client counts scored the same way.
fn naive(json: &str, fields: &[Field], top_n: usize, app_header: &str) -> NaiveTotals {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut minutes: HashMap<(String, i64), NaiveMinute> = HashMap::new();
    let mut clients: HashMap<String, (u64, u64)> = HashMap::new();
    let mut malformed = 0;
    for record in value["Records"].as_array().unwrap() {
        let data = record["kinesis"]["data"].as_str().unwrap_or_default();
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            malformed += 1;
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            malformed += 1;
            continue;
        };
        let line = text.trim_end_matches('\n');
        let columns: Vec<String> = line.split('\t').map(String::from).collect();
        if columns.len() != fields.len() {
            malformed += 1;
            continue;
        }
        let row: HashMap<String, String> = fields
            .iter()
            .map(|f| f.name().to_string())
            .zip(columns)
            .collect();
        let Ok(timestamp) = row["timestamp"].parse::<f64>() else {
            malformed += 1;
            continue;
        };
        let number = |name: &str| row[name].parse::<f64>().ok();
        let minute = (timestamp as i64) / 60 * 60;
        let entry = minutes
            .entry((row["x-host-header"].clone(), minute))
            .or_default();
        entry.requests += 1;
        entry.bytes_sent += number("sc-bytes").unwrap_or(0.0) as u64;
        entry.bytes_received += number("cs-bytes").unwrap_or(0.0) as u64;
        let status = number("sc-status").unwrap_or(0.0) as u64;
        if (200..600).contains(&status) {
            entry.status[(status / 100 - 2) as usize] += 1;
        }
        if ["Hit", "RefreshHit", "OriginShieldHit"].contains(&row["x-edge-result-type"].as_str()) {
            entry.hits += 1;
        }
        for (samples, name) in entry.latencies.iter_mut().zip([
            "time-taken",
            "time-to-first-byte",
            "origin-fbl",
            "origin-lbl",
        ]) {
            if let Some(seconds) = number(name) {
                samples.push(seconds * 1000.0);
            }
        }
        *entry.countries.entry(row["c-country"].clone()).or_default() += 1;
        let pop = row["x-edge-location"].split('-').next().unwrap_or_default();
        *entry.edge_locations.entry(pop.to_string()).or_default() += 1;
        *entry
            .path_patterns
            .entry(row["cache-behavior-path-pattern"].clone())
            .or_default() += 1;
        *entry
            .protocol_versions
            .entry(row["cs-protocol-version"].clone())
            .or_default() += 1;
        let headers: Vec<String> = row["cs-headers"].split("%0A").map(String::from).collect();
        for header in headers {
            if let Some((name, value)) = header.split_once(':')
                && name.to_lowercase() == app_header
            {
                let decoded = percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .to_string();
                *entry.app_header.entry(decoded).or_default() += 1;
            }
        }
        let client = clients.entry(row["c-ip"].clone()).or_default();
        client.0 += 1;
        client.1 += u64::from(status >= 400);
    }
    let mut totals = NaiveTotals {
        requests: 0,
        bytes_sent: 0,
        malformed,
        clients: clients.len(),
    };
    for minute in minutes.values_mut() {
        totals.requests += minute.requests;
        totals.bytes_sent += minute.bytes_sent;
        black_box((minute.bytes_received, minute.status, minute.hits));
        for samples in &mut minute.latencies {
            samples.sort_by(f64::total_cmp);
            for q in [0.5, 0.9, 0.99] {
                if !samples.is_empty() {
                    black_box(samples[((samples.len() - 1) as f64 * q) as usize]);
                }
            }
        }
        for breakdown in [
            &minute.countries,
            &minute.edge_locations,
            &minute.path_patterns,
            &minute.protocol_versions,
            &minute.app_header,
        ] {
            let mut entries: Vec<(&String, &u64)> = breakdown.iter().collect();
            entries.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let other: u64 = entries.iter().skip(top_n).map(|(_, c)| **c).sum();
            black_box((&entries[..entries.len().min(top_n)], other));
        }
    }
    // The same score as the analyser: volume against the others and error-ratio excess.
    let n = clients.len() as f64;
    let total: f64 = clients.values().map(|c| c.0 as f64).sum();
    let errors: f64 = clients.values().map(|c| c.1 as f64).sum();
    let mut scored: Vec<(f64, &String)> = clients
        .iter()
        .map(|(ip, (requests, client_errors))| {
            let mean = (total - *requests as f64) / (n - 1.0).max(1.0);
            let ratio = *client_errors as f64 / *requests as f64;
            let others_ratio =
                (errors - *client_errors as f64) / (total - *requests as f64).max(1.0);
            (
                (*requests as f64 - mean).max(0.0) + 10.0 * (ratio - others_ratio).max(0.0),
                ip,
            )
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    black_box(&scored[..scored.len().min(5)]);
    totals
}

/// The analyser's totals, to hold the baseline to the same answer.
fn analyser_totals(analysis: &Analysis) -> NaiveTotals {
    let sum = |name: &str| -> u64 {
        analysis
            .datums
            .iter()
            .filter(|d| d.name == name)
            .map(|d| d.total() as u64)
            .sum()
    };
    NaiveTotals {
        requests: sum(m::REQUESTS),
        bytes_sent: sum(m::BYTES_SENT),
        malformed: analysis.summary.malformed,
        clients: analysis.summary.clients_by_level.values().sum(),
    }
}

fn bench(c: &mut Criterion) {
    let settings = settings();
    let generated = generate_kinesis_event(&Generate {
        fields: settings.fields.clone(),
        start_epoch: 1_700_000_040,
        ..Generate::default()
    });
    let json = generated.json;
    eprintln!(
        "event: {} bytes, {} records, {} fields per record",
        json.len(),
        generated.records,
        settings.fields.len()
    );
    let analyser = Analyser::new(settings.clone(), MemorySink::default());
    let event: KinesisEvent = serde_json::from_str(&json).unwrap();
    let top_n = settings.top_n as usize;
    let app_header = settings.app_headers[0].as_str();
    // The baseline must reach the analyser's answer, or the ratio would mean nothing.
    let batch = KinesisBatch::from_json(&json).unwrap();
    let expected = analyser_totals(&analyser.analyse(&batch, NOW_MS));
    assert_eq!(naive(&json, &settings.fields, top_n, app_header), expected);
    eprintln!("both find {expected:?}");

    let mut group = c.benchmark_group("log-analyser 6 MB batch");
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.sample_size(30);
    // What one invocation does before the network, through the same pieces main.rs wires:
    // the body layer reads the invocation body into the analyser's event type, the runtime
    // deserialises what the layer left it (serde_path_to_error over serde_json, as
    // lambda_runtime 1.x does), the handler takes the batch back; then base64, parsing,
    // aggregation, scoring, datums grouped into PutMetricData calls.
    let body = bytes::Bytes::from(json.clone().into_bytes());
    let batches = ParsedBatches::default();
    let runtime_side = {
        let batches = batches.clone();
        let analyser = &analyser;
        service_fn(move |invocation: LambdaInvocation| {
            let deserializer = &mut serde_json::Deserializer::from_slice(&invocation.body);
            let payload: KinesisBatch = serde_path_to_error::deserialize(deserializer).unwrap();
            let event = batches.take(LambdaEvent::new(payload, invocation.context));
            let analysis = analyser.analyse(&event.payload, NOW_MS);
            std::future::ready(Ok::<usize, Infallible>(into_calls(analysis.datums).len()))
        })
    };
    let mut service = ParseBodyLayer::new(batches).layer(runtime_side);
    let mut handler = || {
        let invocation = LambdaInvocation {
            parts: http::Response::new(()).into_parts().0,
            body: black_box(body.clone()),
            context: Context::default(),
        };
        black_box(service.call(invocation).into_inner().unwrap_or_default());
    };
    group.bench_function("handler", |b| b.iter(&mut handler));
    // The same without the body layer: the runtime deserialises the whole event into
    // `KinesisBatch` (one raw value through its path tracking, then read again).
    group.bench_function("handler without the body layer", |b| {
        b.iter(|| {
            let deserializer =
                &mut serde_json::Deserializer::from_slice(black_box(json.as_bytes()));
            let batch: KinesisBatch = serde_path_to_error::deserialize(deserializer).unwrap();
            let analysis = analyser.analyse(&batch, NOW_MS);
            black_box(into_calls(analysis.datums).len())
        })
    });
    // The same with aws_lambda_events' KinesisEvent as the event type (base64 decoded and
    // every record field allocated by the deserialiser).
    group.bench_function("handler via KinesisEvent", |b| {
        b.iter(|| {
            let deserializer =
                &mut serde_json::Deserializer::from_slice(black_box(json.as_bytes()));
            let event: KinesisEvent = serde_path_to_error::deserialize(deserializer).unwrap();
            let analysis = analyser.analyse(&event, NOW_MS);
            black_box(into_calls(analysis.datums).len())
        })
    });
    group.bench_function("analyse decoded records", |b| {
        b.iter(|| black_box(analyser.analyse(black_box(&event), NOW_MS).datums.len()))
    });
    group.bench_function("naive baseline", |b| {
        b.iter(|| black_box(naive(black_box(&json), &settings.fields, top_n, app_header)))
    });
    group.finish();
    paired_ratio(&mut handler, || {
        black_box(naive(black_box(&json), &settings.fields, top_n, app_header));
    });
}

/// The handler against the baseline in alternating pairs, so both see the same machine: on a
/// shared host, separate runs minutes apart differ by more than the effect measured. Prints the
/// median ratio and its spread over the pairs.
fn paired_ratio(mut handler: impl FnMut(), mut baseline: impl FnMut()) {
    const PAIRS: usize = 40;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    let mut pairs: Vec<(f64, f64)> = (0..PAIRS)
        .map(|_| (time(&mut handler), time(&mut baseline)))
        .collect();
    pairs.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
    let ratio = |i: usize| pairs[i].1 / pairs[i].0;
    let (handler_s, baseline_s) = pairs[PAIRS / 2];
    println!(
        "paired, {PAIRS} alternating runs: naive baseline / handler = {:.1}x median \
         (p10 {:.1}x, p90 {:.1}x); median pair {:.2} ms against {:.2} ms",
        ratio(PAIRS / 2),
        ratio(PAIRS / 10),
        ratio(PAIRS * 9 / 10),
        handler_s * 1000.0,
        baseline_s * 1000.0,
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
