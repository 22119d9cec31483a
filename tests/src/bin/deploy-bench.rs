//! Deployment benchmark: `up` from nothing, a no-op `plan` and `down` of the example stack
//! (`shared/examples/proxy.toml`) against an emulator of its own running the latency model
//! (`--latency aws --scale S`, see `tests/emulator/cfrp_emulator/latency.py`). Prints, per
//! command, the wall time, the critical path of the plan's dependency graph (the longest chain
//! of dependent steps, with each step's duration as the deployer measured it under the same
//! model: the shortest time any schedule of that graph can take), the AWS requests the
//! emulator answered and the mutating calls the deployer reports.
//!
//! `scripts/bench-deploy [--scale 0.1] [--output json]`

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cfrp_tests::deploy::{artifacts, deployer_at, stack_file};

/// No command of the benchmark may take longer than this (at scale 1 a distribution alone
/// takes 4 minutes to deploy).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1800);

struct Measured {
    command: &'static str,
    seconds: f64,
    /// Planning's critical path plus applying's (the two run one after the other); None for
    /// a command that reports none.
    critical_path: Option<f64>,
    requests: u64,
    mutating_calls: u64,
}

fn main() -> anyhow::Result<()> {
    let mut scale = 0.1_f64;
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scale" => {
                let value = args.next().context("--scale needs a number, e.g. 0.1")?;
                scale = value
                    .parse()
                    .with_context(|| format!("--scale: {value:?} is not a number"))?;
            }
            "--output" => match args.next().as_deref() {
                Some("json") => json = true,
                Some("text") => json = false,
                other => bail!("--output: {other:?} is not text or json"),
            },
            other => {
                bail!("unknown argument {other:?}; usage: deploy-bench [--scale S] [--output json]")
            }
        }
    }
    let scale_text = scale.to_string();
    let emulator = cfrp_tests::spawn_emulator(&["--latency", "aws", "--scale", &scale_text])?;
    let endpoint = emulator.endpoint.as_str();
    let name: String = cfrp_tests::unique("bench").chars().take(32).collect();
    let stack = stack_file(&name, |t| t);
    let config = stack.path.to_string_lossy().to_string();
    let packages = artifacts().to_string_lossy().to_string();

    let steps: [(&'static str, Vec<&str>, i32); 3] = [
        ("up", vec!["up", "--yes", "--artifacts", &packages], 0),
        ("plan (no-op)", vec!["plan", "--artifacts", &packages], 0),
        ("down", vec!["down", "--yes"], 0),
    ];
    let mut measured = Vec::new();
    for (command, rest, code) in steps {
        let mut argv = vec!["--config", config.as_str(), "--output", "json"];
        argv.extend(rest);
        let before = cfrp_tests::requests_answered(endpoint)?;
        let started = Instant::now();
        let run = deployer_at(endpoint, &argv, COMMAND_TIMEOUT);
        let seconds = started.elapsed().as_secs_f64();
        if run.code != code {
            bail!(
                "{command} exited {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
                run.code,
                run.stdout,
                run.stderr
            );
        }
        let report = run.json();
        let phases = report["timing"].as_object();
        let critical_path = phases.filter(|p| !p.is_empty()).map(|phases| {
            phases
                .values()
                .filter_map(|p| p["critical_path_seconds"].as_f64())
                .sum()
        });
        measured.push(Measured {
            command,
            seconds,
            critical_path,
            requests: cfrp_tests::requests_answered(endpoint)? - before,
            mutating_calls: report["mutating_calls"].as_u64().unwrap_or(0),
        });
    }

    if json {
        let rows: Vec<serde_json::Value> = measured
            .iter()
            .map(|m| {
                serde_json::json!({
                    "command": m.command,
                    "seconds": (m.seconds * 100.0).round() / 100.0,
                    "critical_path_seconds": m.critical_path,
                    "requests": m.requests,
                    "mutating_calls": m.mutating_calls,
                })
            })
            .collect();
        println!(
            "{:#}",
            serde_json::json!({"latency_model": "aws", "scale": scale, "commands": rows})
        );
        return Ok(());
    }
    println!("Example stack under the AWS latency model at scale {scale}:");
    println!(
        "| command | wall time | critical path | wall / critical path | AWS requests | mutating calls |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for m in &measured {
        let (path, ratio) = match m.critical_path {
            Some(p) if p > 0.0 => (format!("{p:.1} s"), format!("{:.2}", m.seconds / p)),
            _ => ("-".to_string(), "-".to_string()),
        };
        println!(
            "| {} | {:.1} s | {path} | {ratio} | {} | {} |",
            m.command, m.seconds, m.requests, m.mutating_calls
        );
    }
    Ok(())
}
