//! Deployment benchmark: `up` from nothing, a no-op `plan` and `down` of the example stack
//! (`shared/examples/proxy.toml`) against an emulator of its own running the latency model
//! (`--latency aws --scale S`, see `tests/emulator/cfrp_emulator/latency.py`). Prints, per
//! command, the wall time, the AWS requests the emulator answered and the mutating calls the
//! deployer reports.
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
        ("up", vec!["up", "--artifacts", &packages], 0),
        ("plan (no-op)", vec!["plan", "--artifacts", &packages], 0),
        ("down", vec!["down"], 0),
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
        measured.push(Measured {
            command,
            seconds,
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
    println!("| command | wall time | AWS requests | mutating calls |");
    println!("| --- | --- | --- | --- |");
    for m in &measured {
        println!(
            "| {} | {:.1} s | {} | {} |",
            m.command, m.seconds, m.requests, m.mutating_calls
        );
    }
    Ok(())
}
