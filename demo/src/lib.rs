//! `deployer demo`: the whole job end to end against a local AWS emulator, in one command.
//!
//! Steps, each reported in one line (or one JSON object with `--output json`):
//! `prepare` (the example config under a unique stack name, the function binaries, stand-in
//! packages), `emulator` (reuse `AWS_ENDPOINT_URL` when it answers, else start one from
//! `.venv`), `up` (the deployer's own `up`, in-process), `traffic` (generated real-time log
//! records into the deployed stream and back), `analyser`, `evaluator` and `invalidator`
//! (the real binaries under the Lambda Runtime API emulator with the environment `up` gave
//! each function), `status`, `monitor` (a snapshot), `alarms`, `down`, `emulator-stop`, and
//! `next` (what to run against a real account).
//!
//! The steps live in `steps.rs`; this file runs them in order, reports them, and cleans up.
//!
//! Nothing is left behind on any exit path: a failed step or Ctrl-C still runs `down` (when
//! `up` was reached) and stops the emulator the demo started (a guard kills it on drop, and
//! the emulator itself exits when this process is gone). Every in-process AWS client is
//! pointed at the emulator with dummy credentials, so the demo cannot touch a real account.

mod emulator;
mod functions;
mod manuscripts;
mod stack;
mod steps;
mod traffic;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use cfrp_config::StackConfig;
use clap::Args;
use serde_json::Value;

use cfrp_deployer::cli::Output;
use cfrp_deployer::commands::CommandError;
use cfrp_deployer::context::Clients;
use cfrp_deployer::error::DeployError;
use cfrp_deployer::monitor;
use cfrp_deployer::ops::Paint;
use cfrp_deployer::progress::Progress;
use cfrp_deployer::session::Session;

use emulator::Emulator;
use functions::Binaries;
use stack::Scratch;

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct DemoArgs {
    /// The repository checkout whose `.venv` (made by scripts/setup) runs the emulator when
    /// AWS_ENDPOINT_URL does not name a running one.
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Deploy these packages (DIR/<package>/bootstrap.zip) instead of small stand-ins; the
    /// emulator stores function code but never runs it either way.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Minutes of generated traffic, ending now (1–10).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=10))]
    pub minutes: u64,
}

const HELP: &str = concat!(
    "Examples:\n",
    "  scripts/demo                                  # setup, build, then this command\n",
    "  target/debug/deployer demo                    # starts its own emulator from .venv\n",
    "  AWS_ENDPOINT_URL=http://127.0.0.1:4566 deployer demo   # reuse a running emulator\n",
    "  deployer demo --output json                   # one JSON object per step\n",
    "\n",
    "The demo deploys the example stack (shared/examples/proxy.toml) under a unique name to a\n",
    "local AWS emulator, never to a real account, and removes it again; the function binaries\n",
    "it runs are the ones next to the deployer (cargo build --workspace --bins).\n",
    "\n",
    "Exit codes:\n",
    "  0    every step succeeded and everything was cleaned up\n",
    "  1    a step failed (named in the message); the stack was removed and the emulator stopped\n",
    "  130  interrupted by Ctrl-C, after the same clean-up"
);

/// Why the demo did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo step \"{step}\" failed: {message}{cleanup}")]
    Step {
        step: &'static str,
        message: String,
        /// What the clean-up could not do, if anything.
        cleanup: String,
    },
    #[error("{0}")]
    Output(#[from] std::io::Error),
}

/// Why one step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Command(#[from] CommandError),
    #[error("{0}")]
    Deploy(#[from] DeployError),
    #[error("{0}")]
    Config(#[from] cfrp_config::ConfigError),
    #[error("{0}")]
    Function(#[from] cfrp_runtime_api::RuntimeApiError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Failed(String),
}

/// What a step did: its line, extra lines shown under it, and its JSON fields.
struct Done {
    message: String,
    lines: Vec<String>,
    details: Value,
}

impl Done {
    fn new(message: String, details: Value) -> Done {
        Done {
            message,
            lines: Vec::new(),
            details,
        }
    }

    fn with_lines(mut self, lines: Vec<String>) -> Done {
        self.lines = lines;
        self
    }
}

/// Step lines on stdout: text with a mark per step, or one JSON object per step.
struct Reporter<'o> {
    output: Output,
    out: &'o mut dyn Write,
    paint: Paint,
}

/// One step as a JSON line: `step`, `ok`, `message` or `error`, `seconds`, then the step's
/// own fields.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    step: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    seconds: f64,
    #[serde(flatten)]
    details: serde_json::Map<String, Value>,
}

impl Reporter<'_> {
    fn json(&mut self, line: &JsonLine<'_>) -> std::io::Result<()> {
        let text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    fn ok(&mut self, step: &str, seconds: f64, done: &Done) -> std::io::Result<()> {
        if self.output == Output::Json {
            return self.json(&JsonLine {
                step,
                ok: true,
                message: Some(&done.message),
                error: None,
                seconds: round(seconds),
                details: done.details.as_object().cloned().unwrap_or_default(),
            });
        }
        writeln!(
            self.out,
            "{} {:<13} {} {}",
            self.paint.green("✓"),
            self.paint.bold(step),
            done.message,
            seconds_text(seconds)
        )?;
        for line in &done.lines {
            writeln!(self.out, "    {line}")?;
        }
        self.out.flush()
    }

    fn failed(&mut self, step: &str, seconds: f64, error: &str) -> std::io::Result<()> {
        if self.output == Output::Json {
            return self.json(&JsonLine {
                step,
                ok: false,
                message: None,
                error: Some(error),
                seconds: round(seconds),
                details: serde_json::Map::new(),
            });
        }
        writeln!(
            self.out,
            "{} {:<13} {}",
            self.paint.red("✗"),
            self.paint.bold(step),
            self.paint.red(error)
        )?;
        self.out.flush()
    }
}

fn round(seconds: f64) -> f64 {
    (seconds * 100.0).round() / 100.0
}

fn seconds_text(seconds: f64) -> String {
    format!("({seconds:.1} s)")
}

/// A failed (or interrupted) step.
struct Failure {
    step: &'static str,
    message: String,
}

/// What the steps found out, for the steps after them and for the clean-up.
struct Demo<'a> {
    args: &'a DemoArgs,
    progress: Progress,
    /// The step running now (named when it fails or is interrupted).
    current: &'static str,
    step_started: Instant,
    scratch: Option<Scratch>,
    binaries: Option<Binaries>,
    config: Option<StackConfig>,
    config_path: PathBuf,
    packages: PathBuf,
    emulator: Option<Emulator>,
    /// The session the demo was started in (its output and colour).
    session: Session,
    /// That session aimed at the emulator, reporting JSON: what every in-process workflow
    /// runs in, so nothing of the demo can reach a real account.
    local: Option<Session>,
    aws: Option<Clients>,
    /// `up` was started, so the clean-up must run `down`.
    deployed: bool,
    distribution_id: String,
    domain: String,
    traffic: Option<traffic::Traffic>,
    rule_outcomes: Vec<Value>,
    snapshot_rules: Vec<monitor::snapshot::RuleStatus>,
}

/// `deployer demo`. Ok(0) when every step succeeded, Ok(130) when interrupted (after the
/// clean-up); a failed step is an error naming it.
pub async fn run(
    args: &DemoArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, DemoError> {
    let output = session.output;
    let animated = output == Output::Text && std::io::stderr().is_terminal();
    let mut reporter = Reporter {
        output,
        out,
        paint: session.paint(),
    };
    let mut demo = Demo {
        args,
        progress: if animated {
            Progress::new(true)
        } else {
            Progress::silent()
        },
        current: "prepare",
        step_started: Instant::now(),
        scratch: None,
        binaries: None,
        config: None,
        config_path: PathBuf::new(),
        packages: PathBuf::new(),
        emulator: None,
        session: session.clone(),
        local: None,
        aws: None,
        deployed: false,
        distribution_id: String::new(),
        domain: String::new(),
        traffic: None,
        rule_outcomes: Vec::new(),
        snapshot_rules: Vec::new(),
    };
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    // The steps' future is dropped (killing any function process it runs) before the
    // clean-up below looks at what they got done.
    let finished = tokio::select! {
        result = demo.steps(&mut reporter) => Some(result),
        _ = &mut ctrl_c => None,
    };
    let (failure, interrupted) = match finished {
        Some(Ok(())) => (None, false),
        Some(Err(failure)) => (Some(failure), false),
        None => {
            let failure = Failure {
                step: demo.current,
                message: "interrupted (Ctrl-C)".to_string(),
            };
            reporter.failed(
                failure.step,
                demo.step_started.elapsed().as_secs_f64(),
                &failure.message,
            )?;
            (Some(failure), true)
        }
    };
    let Some(failure) = failure else {
        return Ok(0);
    };
    let cleanup = demo.clean_up(&mut reporter).await?;
    if interrupted {
        eprintln!(
            "demo interrupted during step \"{}\"{}",
            failure.step,
            if cleanup.is_empty() {
                "; the demo stack was removed and the emulator stopped".to_string()
            } else {
                cleanup
            }
        );
        return Ok(130);
    }
    Err(DemoError::Step {
        step: failure.step,
        message: failure.message,
        cleanup,
    })
}

impl Demo<'_> {
    fn begin(&mut self, step: &'static str) {
        self.current = step;
        self.step_started = Instant::now();
    }

    /// Reports a step's result; a failure stops the demo.
    fn finish(
        &mut self,
        reporter: &mut Reporter<'_>,
        result: Result<Done, StepError>,
    ) -> Result<(), Failure> {
        let seconds = self.step_started.elapsed().as_secs_f64();
        let failure = |message: String| Failure {
            step: self.current,
            message,
        };
        match result {
            Ok(done) => reporter
                .ok(self.current, seconds, &done)
                .map_err(|e| failure(format!("writing the report: {e}"))),
            Err(err) => {
                let message = err.to_string();
                let _ = reporter.failed(self.current, seconds, &message);
                Err(failure(message))
            }
        }
    }

    async fn steps(&mut self, r: &mut Reporter<'_>) -> Result<(), Failure> {
        self.begin("prepare");
        let done = self.prepare();
        self.finish(r, done)?;
        self.begin("emulator");
        let done = self.emulator().await;
        self.finish(r, done)?;
        self.begin("up");
        let done = self.up().await;
        self.finish(r, done)?;
        self.begin("traffic");
        let done = self.traffic().await;
        self.finish(r, done)?;
        self.begin("analyser");
        let done = self.analyser().await;
        self.finish(r, done)?;
        self.begin("evaluator");
        let done = self.evaluator().await;
        self.finish(r, done)?;
        self.begin("invalidator");
        let done = self.invalidator().await;
        self.finish(r, done)?;
        self.begin("status");
        let done = self.status().await;
        self.finish(r, done)?;
        self.begin("monitor");
        let done = self.monitor().await;
        self.finish(r, done)?;
        self.begin("alarms");
        let done = self.alarms().await;
        self.finish(r, done)?;
        self.begin("down");
        let done = self.down().await;
        self.finish(r, done)?;
        self.begin("emulator-stop");
        let done = Ok(self.stop_emulator());
        self.finish(r, done)?;
        self.begin("next");
        let done = Ok(steps::next_steps());
        self.finish(r, done)
    }

    /// After a failure or Ctrl-C: `down` when `up` was reached, then the emulator stopped.
    /// Returns what could not be cleaned up ("" when everything was).
    async fn clean_up(&mut self, r: &mut Reporter<'_>) -> Result<String, DemoError> {
        let mut left = String::new();
        if self.deployed {
            self.begin("down");
            let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
            let done = tokio::select! {
                done = self.down() => done,
                _ = &mut ctrl_c => Err(StepError::Failed("interrupted again (Ctrl-C)".to_string())),
            };
            if let Err(Failure { message, .. }) = self.finish(r, done) {
                left = format!(
                    "; `down` failed too ({message}), so resources of stack \"{}\" may remain",
                    self.config.as_ref().map_or("?", |c| c.name.as_str())
                );
            }
        }
        if self.emulator.is_some() {
            self.begin("emulator-stop");
            let done = Ok(self.stop_emulator());
            // A report that cannot be written must not keep the emulator running: it is
            // stopped above either way.
            let _ = self.finish(r, done);
        }
        self.scratch = None;
        Ok(left)
    }
}
