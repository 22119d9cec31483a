//! Cold-start measurement: runs a built function binary N times under the Lambda Runtime API
//! emulator and reports its init time (process start to the first `/next` request), which is
//! what Lambda bills as the init phase. Settings come from the example config.
//!
//! `cargo run -p cfrp-tests --bin init-time -- target/release/cfrp-log-analyser [runs]`

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use cfrp_config::{FunctionSettings, StackConfig};
use cfrp_tests::runtime_api::run_bootstrap;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let binary = PathBuf::from(args.next().context("usage: init-time BINARY [RUNS]")?);
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(30);
    let stack = StackConfig::load(&cfrp_tests::repo_root().join("shared/examples/proxy.toml"))?;
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let settings = match name.as_str() {
        "cfrp-log-analyser" => stack.analyser_settings().to_env_value()?,
        "cfrp-alarm-evaluator" => stack
            .evaluator_settings(Some("E1"), Some("d1.cloudfront.net"))
            .to_env_value()?,
        "cfrp-invalidator" => stack
            .invalidator_settings("E1")
            .context("no [manuscripts]")?
            .to_env_value()?,
        other => bail!("unknown function binary {other}"),
    };
    // No endpoint is contacted during init; these only satisfy the credential chain.
    let env = [
        ("CFRP_SETTINGS", settings.as_str()),
        ("AWS_ACCESS_KEY_ID", "init"),
        ("AWS_SECRET_ACCESS_KEY", "init"),
        ("AWS_REGION", "us-east-1"),
    ];
    let mut samples = Vec::new();
    for _ in 0..runs {
        // No payloads: the function initialises, asks for work, and is stopped.
        let run = run_bootstrap(&binary, &env, &[], Duration::from_secs(10)).await?;
        samples.push(
            run.init_duration
                .context("the function never asked for work")?,
        );
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: init over {runs} runs: min {:.2} ms, median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        ms(samples[0]),
        ms(samples[runs / 2]),
        ms(samples[runs * 9 / 10]),
        ms(samples[runs - 1])
    );
    Ok(())
}
