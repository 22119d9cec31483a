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

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine as _;
use cfrp_config::{AnalyserSettings, Field};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_log_analyser::Analyser;
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
        stack: "bench".to_string(),
        namespace: "Bench/Analyser".to_string(),
        fields: Field::ALL.to_vec(),
        top_n: 10,
        app_headers: vec!["x-operation-type".to_string()],
    }
}

/// Per (distribution, minute): requests, 5xx, latencies, countries.
type NaiveMinute = (u64, u64, Vec<f64>, HashMap<String, u64>);

/// The baseline a straightforward implementation would write.
fn naive(json: &str, fields: &[Field]) -> usize {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut minutes: HashMap<(String, i64), NaiveMinute> = HashMap::new();
    let mut malformed = 0;
    for record in value["Records"].as_array().unwrap() {
        let data = record["kinesis"]["data"].as_str().unwrap_or_default();
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            malformed += 1;
            continue;
        };
        let Ok(line) = String::from_utf8(bytes) else {
            malformed += 1;
            continue;
        };
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
        let minute = (timestamp as i64) / 60 * 60;
        let entry = minutes
            .entry((row["x-host-header"].clone(), minute))
            .or_default();
        entry.0 += 1;
        entry.1 += u64::from(row["sc-status"].starts_with('5'));
        if let Ok(taken) = row["time-taken"].parse::<f64>() {
            entry.2.push(taken * 1000.0);
        }
        *entry.3.entry(row["c-country"].clone()).or_default() += 1;
    }
    let mut outputs = malformed;
    for (_, (_, _, latencies, countries)) in minutes.iter_mut() {
        latencies.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.99] {
            if !latencies.is_empty() {
                black_box(latencies[((latencies.len() - 1) as f64 * q) as usize]);
            }
        }
        outputs += countries.len();
    }
    outputs
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
    group.bench_function("handler", |b| {
        b.iter(|| {
            let invocation = LambdaInvocation {
                parts: http::Response::new(()).into_parts().0,
                body: black_box(body.clone()),
                context: Context::default(),
            };
            black_box(service.call(invocation))
        })
    });
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
        b.iter(|| black_box(naive(black_box(&json), &settings.fields)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
