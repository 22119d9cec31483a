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
//! Nothing is left behind on any exit path: a failed step or Ctrl-C still runs `down` (when
//! `up` was reached) and stops the emulator the demo started (a guard kills it on drop, and
//! the emulator itself exits when this process is gone). Every in-process AWS client is
//! pointed at the emulator with dummy credentials, so the demo cannot touch a real account.

mod emulator;
mod functions;
mod manuscripts;
mod stack;
mod traffic;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use cfrp_config::{Function, StackConfig, metrics as m};
use clap::Args;
use serde_json::{Value, json};

use crate::cli::Output;
use crate::commands::CommandError;
use crate::context::{self, Clients};
use crate::error::DeployError;
use crate::monitor;
use crate::ops::Paint;
use crate::progress::Progress;

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
pub async fn run(args: &DemoArgs, output: Output, out: &mut dyn Write) -> Result<i32, DemoError> {
    let animated = output == Output::Text && std::io::stderr().is_terminal();
    let mut reporter = Reporter {
        output,
        out,
        paint: Paint::for_stdout(output),
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
        context::set_local_endpoint(None);
        return Ok(0);
    };
    let cleanup = demo.clean_up(&mut reporter).await?;
    context::set_local_endpoint(None);
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
        let done = self.monitor(r.output).await;
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
        let done = Ok(next_steps());
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

    fn aws(&self) -> Result<&Clients, StepError> {
        self.aws
            .as_ref()
            .ok_or_else(|| StepError::Failed("no AWS clients yet".to_string()))
    }

    fn config(&self) -> Result<&StackConfig, StepError> {
        self.config
            .as_ref()
            .ok_or_else(|| StepError::Failed("no config yet".to_string()))
    }

    fn binaries(&self) -> Result<&Binaries, StepError> {
        self.binaries
            .as_ref()
            .ok_or_else(|| StepError::Failed("no function binaries yet".to_string()))
    }

    fn endpoint(&self) -> Result<&str, StepError> {
        self.emulator
            .as_ref()
            .map(|e| e.endpoint.as_str())
            .ok_or_else(|| StepError::Failed("no emulator yet".to_string()))
    }

    fn prepare(&mut self) -> Result<Done, StepError> {
        let binaries = Binaries::beside_deployer()?;
        let name = stack::unique_name()?;
        let scratch = Scratch::create(&name)?;
        let (config, config_path) = stack::write_config(&scratch.dir, &name)?;
        let (packages, which) = match &self.args.artifacts {
            Some(dir) => (dir.clone(), format!("packages from {}", dir.display())),
            None => (
                stack::write_stand_ins(&scratch.dir)?,
                "small stand-in packages (the emulator stores code but never runs it)".to_string(),
            ),
        };
        let done = Done::new(
            format!(
                "stack \"{name}\" from {} ({} real-time log fields, {} alarm rules); function binaries in {}; {which}",
                stack::EXAMPLE_PATH,
                config.logging.fields.len(),
                config.alarms.rules.len(),
                binaries.dir.display(),
            ),
            json!({
                "stack": name,
                "region": config.region,
                "config": config_path,
                "binaries": binaries.dir,
                "packages": packages,
            }),
        );
        self.binaries = Some(binaries);
        self.config = Some(config);
        self.config_path = config_path;
        self.packages = packages;
        self.scratch = Some(scratch);
        Ok(done)
    }

    async fn emulator(&mut self) -> Result<Done, StepError> {
        let (emulator, note) = match emulator::reusable().await {
            Ok(Some(endpoint)) => (emulator::existing(endpoint), None),
            Ok(None) => {
                let _wait = self.progress.wait("starting the local AWS emulator");
                let why = "AWS_ENDPOINT_URL is not set";
                (emulator::start(&self.args.workspace, why).await?, None)
            }
            Err(unreachable) => {
                let _wait = self.progress.wait("starting the local AWS emulator");
                (
                    emulator::start(&self.args.workspace, &unreachable).await?,
                    Some(unreachable),
                )
            }
        };
        let message = match emulator.pid() {
            Some(pid) => format!(
                "started the local AWS emulator (moto server + this project's extensions) at {} (pid {pid}){}",
                emulator.endpoint,
                note.as_ref()
                    .map_or(String::new(), |n| format!("; {n}, so it was not reused"))
            ),
            None => format!(
                "reusing the emulator at {} (AWS_ENDPOINT_URL)",
                emulator.endpoint
            ),
        };
        let details = json!({
            "endpoint": emulator.endpoint,
            "started": emulator.started(),
            "pid": emulator.pid(),
        });
        // Every client built from here on, in-process commands included, talks to it.
        context::set_local_endpoint(Some(&emulator.endpoint));
        let region = self.config()?.region.clone();
        self.emulator = Some(emulator);
        self.aws = Some(Clients::load(&region, None).await);
        Ok(Done::new(message, details))
    }

    async fn up(&mut self) -> Result<Done, StepError> {
        self.deployed = true;
        let report = {
            let _wait = self.progress.wait("deployer up: provisioning the stack");
            stack::up(&self.config_path, &self.packages).await?
        };
        let distribution = &report["distribution"];
        self.distribution_id = distribution["distribution_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.domain = distribution["domain_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if self.distribution_id.is_empty() || self.domain.is_empty() {
            return Err(StepError::Failed(format!(
                "up reported no distribution: {report}"
            )));
        }
        let created = report["summary"]["create"].as_u64().unwrap_or(0);
        let calls = report["mutating_calls"].as_u64().unwrap_or(0);
        Ok(Done::new(
            format!(
                "deployer up created {created} resources in {} with {calls} mutating calls; distribution {} at https://{}",
                report["region"].as_str().unwrap_or_default(),
                self.distribution_id,
                self.domain
            ),
            json!({
                "stack": report["stack"],
                "region": report["region"],
                "created": created,
                "mutating_calls": calls,
                "distribution_id": self.distribution_id,
                "domain_name": self.domain,
            }),
        ))
    }

    async fn traffic(&mut self) -> Result<Done, StepError> {
        let traffic = {
            let _wait = self
                .progress
                .wait("putting generated log records into the stream");
            traffic::through_stream(self.aws()?, self.config()?, &self.domain, self.args.minutes)
                .await?
        };
        if traffic.read_back != traffic.records {
            return Err(StepError::Failed(format!(
                "put {} records into {} but read {} back",
                traffic.records, traffic.stream, traffic.read_back
            )));
        }
        let done = Done::new(
            format!(
                "put {} realistic real-time log records ({} minutes of traffic for {}) into {} and read them back: a {} KB Lambda event",
                traffic.records,
                self.args.minutes,
                self.domain,
                traffic.stream,
                traffic.event.len() / 1024
            ),
            json!({
                "stream": traffic.stream,
                "records": traffic.records,
                "read_back": traffic.read_back,
                "event_bytes": traffic.event.len(),
            }),
        );
        self.traffic = Some(traffic);
        Ok(done)
    }

    async fn function_env(&self, function: Function) -> Result<Vec<(String, String)>, StepError> {
        stack::function_env(self.aws()?, self.config()?, function, self.endpoint()?).await
    }

    async fn analyser(&mut self) -> Result<Done, StepError> {
        let env = self.function_env(Function::LogAnalyser).await?;
        let traffic = self
            .traffic
            .as_ref()
            .ok_or_else(|| StepError::Failed("no traffic yet".to_string()))?;
        let invoked = {
            let _wait = self
                .progress
                .wait("cfrp-log-analyser is analysing the batch");
            functions::invoke(
                self.binaries()?,
                Function::LogAnalyser,
                &env,
                traffic.event.clone(),
            )
            .await?
        };
        if let Some(failures) = invoked.response["batchItemFailures"].as_array()
            && !failures.is_empty()
        {
            return Err(StepError::Failed(format!(
                "cfrp-log-analyser returned {} batch item failure(s): {}",
                failures.len(),
                invoked.response
            )));
        }
        let summary = functions::log_line(&invoked.run, "batch analysed").unwrap_or(Value::Null);
        let field = |key: &str| {
            summary[key]
                .as_u64()
                .or_else(|| summary["fields"][key].as_u64())
        };
        let requests = self.requests_published(traffic).await?;
        if requests as usize != traffic.records {
            return Err(StepError::Failed(format!(
                "CloudWatch counts {requests} requests; {} records were analysed",
                traffic.records
            )));
        }
        let init_ms = invoked.run.init_duration.map_or(0, |d| d.as_millis());
        Ok(Done::new(
            format!(
                "ran cfrp-log-analyser under the Lambda Runtime API (init {init_ms} ms): {} records into {} metric datums in {} PutMetricData call(s); CloudWatch counts all {requests} requests",
                field("analysed").unwrap_or(traffic.records as u64),
                field("datums").map_or("?".to_string(), |d| d.to_string()),
                field("put_metric_data_calls").map_or("?".to_string(), |d| d.to_string()),
            ),
            json!({
                "records": traffic.records,
                "requests_published": requests,
                "init_ms": init_ms,
                "summary": summary,
            }),
        ))
    }

    /// The `Requests` the analyser published for the traffic's minutes, read back.
    async fn requests_published(&self, traffic: &traffic::Traffic) -> Result<u64, StepError> {
        let config = self.config()?;
        let dimension = aws_sdk_cloudwatch::types::Dimension::builder()
            .name(m::DIM_DISTRIBUTION)
            .value(&self.domain)
            .build();
        let query = aws_sdk_cloudwatch::types::MetricDataQuery::builder()
            .id("requests")
            .metric_stat(
                aws_sdk_cloudwatch::types::MetricStat::builder()
                    .metric(
                        aws_sdk_cloudwatch::types::Metric::builder()
                            .namespace(&config.metrics.namespace)
                            .metric_name(m::REQUESTS)
                            .dimensions(dimension)
                            .build(),
                    )
                    .period(60)
                    .stat("Sum")
                    .build(),
            )
            .build();
        let start = i64::try_from(traffic.start_epoch).unwrap_or(0) - 60;
        let end = i64::try_from(traffic.end_epoch).unwrap_or(0) + 60;
        let data = self
            .aws()?
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(query)
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .send()
            .await
            .map_err(|e| {
                DeployError::aws("cloudwatch:GetMetricData", &config.metrics.namespace, e)
            })?;
        let sum: f64 = data
            .metric_data_results()
            .iter()
            .flat_map(|r| r.values().iter().copied())
            .sum();
        Ok(sum.round() as u64)
    }

    async fn evaluator(&mut self) -> Result<Done, StepError> {
        let env = self.function_env(Function::AlarmEvaluator).await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let time = DateTime::from_secs(i64::try_from(now).unwrap_or(0))
            .fmt(DateTimeFormat::DateTime)
            .map_err(|e| StepError::Failed(format!("formatting the event time: {e}")))?;
        let config = self.config()?;
        let event = json!({
            "version": "0", "id": "cfrp-demo", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time,
            "region": config.region, "detail": {},
            "resources": [format!("arn:aws:events:{}:123456789012:rule/{}", config.region, config.names().schedule_rule())],
        });
        let invoked = {
            let _wait = self
                .progress
                .wait("cfrp-alarm-evaluator is evaluating the rules");
            functions::invoke(
                self.binaries()?,
                Function::AlarmEvaluator,
                &env,
                event.to_string(),
            )
            .await?
        };
        let outcomes = invoked.response.as_array().cloned().unwrap_or_default();
        if outcomes.is_empty() {
            return Err(StepError::Failed(format!(
                "cfrp-alarm-evaluator evaluated no rule: {}",
                invoked.response
            )));
        }
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut lines = Vec::new();
        for outcome in &outcomes {
            let state = outcome["state"].as_str().unwrap_or("?").to_string();
            match counts.iter_mut().find(|(s, _)| *s == state) {
                Some((_, n)) => *n += 1,
                None => counts.push((state.clone(), 1)),
            }
            let values: Vec<String> = outcome["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_f64().map_or("-".to_string(), |x| format!("{x:.1}")))
                .collect();
            lines.push(format!(
                "{:<22} {:<18} last periods [{}]",
                outcome["rule"].as_str().unwrap_or_default(),
                state,
                values.join(", ")
            ));
        }
        let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let done = Done::new(
            format!(
                "ran cfrp-alarm-evaluator on a scheduled event: {} rules, {}; each state published as {}",
                outcomes.len(),
                summary.join(", "),
                m::RULE_STATE
            ),
            json!({"rules": outcomes}),
        )
        .with_lines(lines);
        self.rule_outcomes = outcomes;
        Ok(done)
    }

    async fn invalidator(&mut self) -> Result<Done, StepError> {
        let uploaded = manuscripts::upload(self.aws()?, self.config()?).await?;
        let env = self.function_env(Function::Invalidator).await?;
        let invoked = {
            let _wait = self.progress.wait("cfrp-invalidator is invalidating");
            functions::invoke(
                self.binaries()?,
                Function::Invalidator,
                &env,
                uploaded.event.clone(),
            )
            .await?
        };
        if let Some(failures) = invoked.response["batchItemFailures"].as_array()
            && !failures.is_empty()
        {
            return Err(StepError::Failed(format!(
                "cfrp-invalidator returned {} batch item failure(s): {}",
                failures.len(),
                invoked.response
            )));
        }
        let (id, status, paths) =
            manuscripts::latest_invalidation(self.aws()?, &self.distribution_id).await?;
        Ok(Done::new(
            format!(
                "uploaded {} manuscripts to s3://{}; {} received {} notification(s); cfrp-invalidator created invalidation {id} ({status}) for {}",
                uploaded.keys.len(),
                uploaded.bucket,
                uploaded.queue,
                uploaded.messages,
                paths.join(" ")
            ),
            json!({
                "bucket": uploaded.bucket,
                "keys": uploaded.keys,
                "queue": uploaded.queue,
                "messages": uploaded.messages,
                "invalidation_id": id,
                "invalidation_status": status,
                "paths": paths,
            }),
        ))
    }

    async fn status(&mut self) -> Result<Done, StepError> {
        let (value, text) = stack::status(&self.config_path).await?;
        let functions = value["functions"].as_array().cloned().unwrap_or_default();
        let deployed = functions.iter().filter(|f| f["deployed"] == true).count();
        let mappings = functions
            .iter()
            .filter(|f| f["event_source_mapping"].is_object())
            .count();
        let alarms = value["alarms"].as_array().map_or(0, Vec::len);
        Ok(Done::new(
            format!(
                "deployer status: distribution {} {}, {deployed} functions, {mappings} event source mappings, {alarms} alarms",
                value["distribution"]["id"].as_str().unwrap_or("?"),
                value["distribution"]["status"].as_str().unwrap_or("?"),
            ),
            json!({"status": value}),
        )
        .with_lines(text.lines().map(str::to_string).collect()))
    }

    async fn monitor(&mut self, output: Output) -> Result<Done, StepError> {
        let config = self.config()?;
        let target = monitor::Target {
            id: self.distribution_id.clone(),
            domain: self.domain.clone(),
        };
        let window = u32::try_from(self.args.minutes + 6).unwrap_or(10);
        let snapshot = monitor::snapshot(config, self.aws()?, &target, window).await?;
        let traffic = &snapshot.analyser;
        let seen = traffic.requests_per_second.history.iter().flatten().count();
        if seen == 0 {
            return Err(StepError::Failed(format!(
                "the monitor snapshot shows no requests for {} in the last {window} minutes",
                self.domain
            )));
        }
        let show = |s: &monitor::snapshot::Series, unit: &str| {
            s.now.map_or("-".to_string(), |v| format!("{v:.1}{unit}"))
        };
        let style = monitor::render::Style {
            color: output == Output::Text
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            spark_width: 60,
        };
        let lines = monitor::render::render(&snapshot, style);
        let message = format!(
            "monitor snapshot ({} minutes with traffic, latest {}): {} requests/s, 4xx {} %, 5xx {} %, cache hits {} %, p50/p95/p99 {}/{}/{} ms",
            seen,
            traffic.minute.as_deref().unwrap_or("-"),
            show(&traffic.requests_per_second, ""),
            show(&traffic.error_rate_4xx, ""),
            show(&traffic.error_rate_5xx, ""),
            show(&traffic.cache_hit_ratio, ""),
            show(&traffic.latency_p50_ms, ""),
            show(&traffic.latency_p95_ms, ""),
            show(&traffic.latency_p99_ms, ""),
        );
        let details = json!({"minutes_with_requests": seen, "snapshot": snapshot});
        self.snapshot_rules = snapshot.rules.clone();
        Ok(Done::new(message, details).with_lines(lines))
    }

    async fn alarms(&mut self) -> Result<Done, StepError> {
        let config = self.config()?;
        let names = config.names();
        let prefix = names.alarm("");
        let described = self
            .aws()?
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(&prefix)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudwatch:DescribeAlarms", &prefix, e))?;
        let alarms = described.metric_alarms();
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for rule in &config.alarms.rules {
            let alarm_name = names.alarm(&rule.name);
            let alarm = alarms.iter().find(|a| a.alarm_name() == Some(&alarm_name));
            let alarm_state = alarm
                .and_then(|a| a.state_value())
                .map(|s| s.as_str().to_string());
            let evaluated = self
                .rule_outcomes
                .iter()
                .find(|o| o["rule"] == rule.name.as_str())
                .and_then(|o| o["state"].as_str())
                .map(str::to_string);
            let published = self
                .snapshot_rules
                .iter()
                .find(|r| r.rule == rule.name)
                .and_then(|r| r.state);
            lines.push(format!(
                "{:<22} {:<8} evaluator {:<17} RuleState metric {:<17} alarm {} ({})",
                rule.name,
                rule.severity.as_str(),
                evaluated.as_deref().unwrap_or("-"),
                published.unwrap_or("-"),
                alarm_name,
                alarm_state.as_deref().unwrap_or("missing"),
            ));
            rows.push(json!({
                "rule": rule.name,
                "severity": rule.severity.as_str(),
                "evaluator": evaluated,
                "rule_state": published,
                "alarm": alarm_name,
                "alarm_state": alarm_state,
            }));
        }
        let missing = rows.iter().filter(|r| r["alarm_state"].is_null()).count();
        if missing > 0 {
            return Err(StepError::Failed(format!(
                "{missing} rule(s) have no CloudWatch alarm: {}",
                Value::Array(rows)
            )));
        }
        let in_alarm = rows.iter().filter(|r| r["evaluator"] == "ALARM").count();
        Ok(Done::new(
            format!(
                "{} rules, {in_alarm} in ALARM per the evaluator; each has a CloudWatch alarm on its {} metric notifying SNS topic {} (the emulator stores alarms but does not evaluate them)",
                rows.len(),
                m::RULE_STATE,
                names.alarm_topic()
            ),
            json!({"alarms": rows}),
        )
        .with_lines(lines))
    }

    async fn down(&mut self) -> Result<Done, StepError> {
        let report = {
            let _wait = self.progress.wait("deployer down: removing the stack");
            stack::down(&self.config_path).await?
        };
        self.deployed = false;
        let removed = report["summary"]["delete"].as_u64().unwrap_or(0);
        let calls = report["mutating_calls"].as_u64().unwrap_or(0);
        let (left, _) = stack::status(&self.config_path).await?;
        let functions_left = left["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["deployed"] == true)
            .count();
        let alarms_left = left["alarms"].as_array().map_or(0, Vec::len);
        if !left["distribution"].is_null() || functions_left > 0 || alarms_left > 0 {
            return Err(StepError::Failed(format!(
                "the stack is still there after down: {left}"
            )));
        }
        Ok(Done::new(
            format!(
                "deployer down removed {removed} resources with {calls} mutating calls; nothing of stack \"{}\" is left",
                report["stack"].as_str().unwrap_or_default()
            ),
            json!({"removed": removed, "mutating_calls": calls, "stack": report["stack"]}),
        ))
    }

    fn stop_emulator(&mut self) -> Done {
        let Some(mut emulator) = self.emulator.take() else {
            return Done::new("no emulator to stop".to_string(), json!({}));
        };
        context::set_local_endpoint(None);
        let endpoint = emulator.endpoint.clone();
        match emulator.stop() {
            Some(pid) => Done::new(
                format!("stopped the emulator at {endpoint} (pid {pid})"),
                json!({"endpoint": endpoint, "pid": pid, "stopped": true}),
            ),
            None => Done::new(
                format!("left the emulator at {endpoint} running, as the demo found it"),
                json!({"endpoint": endpoint, "pid": null, "stopped": false}),
            ),
        }
    }
}

/// What a user runs against a real account.
fn next_steps() -> Done {
    let commands = [
        (
            "deployer init --preset api --name myapp --origin-domain app.example.com",
            "write a commented proxy.toml (presets: deployer init --list)",
        ),
        ("deployer validate", "every problem of proxy.toml at once"),
        ("deployer plan", "what up would change; nothing is changed"),
        (
            "deployer up --wait",
            "builds the functions with cargo lambda (scripts/setup installs it) and deploys",
        ),
        ("deployer status", "distribution, functions, alarm states"),
        ("deployer monitor", "live traffic, latency and rule states"),
        (
            "deployer invalidate --paths '/*' --wait",
            "refresh the edge caches",
        ),
        (
            "deployer price --from-metrics --days 7 --compare",
            "monthly cost under each price class",
        ),
        ("deployer down", "remove everything the stack created"),
    ];
    let lines = commands
        .iter()
        .map(|(command, what)| format!("{command:<50} # {what}"))
        .collect();
    Done::new(
        "against a real account: configure AWS credentials (AWS_PROFILE, SSO or the environment), unset AWS_ENDPOINT_URL, then:".to_string(),
        json!({"commands": commands.iter().map(|(c, _)| c).collect::<Vec<_>>()}),
    )
    .with_lines(lines)
}
