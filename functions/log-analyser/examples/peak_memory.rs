//! Peak resident memory of one 6 MB invocation without the network: generates the event,
//! writes it to a file, then in a fresh process reads it, reads the event as the function's
//! body layer does (`invocation.rs`), analyses it and reports the process's peak RSS (VmHWM),
//! what Lambda's "Max Memory Used" measures.
//!
//! `cargo run --release -p cfrp-log-analyser --example peak_memory`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measurement tool: a panic is the report

use cfrp_config::{AnalyserSettings, Field};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_log_analyser::Analyser;
use cfrp_log_analyser::event::KinesisBatch;
use cfrp_log_analyser::sink::MemorySink;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let path = std::env::temp_dir().join("cfrp-6mb-event.json");
    if std::env::args().nth(1).as_deref() != Some("--measure") {
        let generated = generate_kinesis_event(&Generate {
            fields: Field::ALL.to_vec(),
            start_epoch: 1_700_000_040,
            ..Generate::default()
        });
        std::fs::write(&path, &generated.json).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--measure")
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let before = peak_rss_kb();
    // The body as the Runtime API hands it over, read as the analyser's body layer reads it.
    let json = std::fs::read(&path).unwrap();
    let event = KinesisBatch::from_slice(&json).unwrap();
    let settings = AnalyserSettings {
        strikes: None,
        stack: "bench".to_string(),
        namespace: "Bench/Analyser".to_string(),
        fields: Field::ALL.to_vec(),
        top_n: 10,
        app_headers: vec!["x-operation-type".to_string()],
        sampling_rate: 100,
    };
    let analysis =
        Analyser::new(settings, MemorySink::default()).analyse(&event, 1_700_000_400_000);
    let after = peak_rss_kb();
    println!(
        "event {:.1} MB, {} records, {} datums: peak RSS {:.1} MB (process baseline {:.1} MB)",
        json.len() as f64 / 1e6,
        event.len(),
        analysis.datums.len(),
        after as f64 / 1024.0,
        before as f64 / 1024.0
    );
}
