//! The steps themselves: each does its part against the emulator and returns what it did.

use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use cfrp_config::{Function, StackConfig, metrics as m};
use serde_json::{Value, json};

use super::emulator;
use super::functions::{self, Binaries};
use super::stack::{self, Scratch};
use super::traffic;
use super::{Demo, Done, StepError, manuscripts};
use cfrp_deployer::cli::Output;
use cfrp_deployer::context::Clients;
use cfrp_deployer::error::DeployError;
use cfrp_deployer::monitor;
use cfrp_deployer::session::Session;

impl Demo<'_> {
    pub(super) fn aws(&self) -> Result<&Clients, StepError> {
        self.aws
            .as_ref()
            .ok_or_else(|| StepError::Failed("no AWS clients yet".to_string()))
    }

    /// The session aimed at the emulator (set by the `emulator` step).
    pub(super) fn local(&self) -> Result<&Session, StepError> {
        self.local
            .as_ref()
            .ok_or_else(|| StepError::Failed("no emulator yet".to_string()))
    }

    pub(super) fn config(&self) -> Result<&StackConfig, StepError> {
        self.config
            .as_ref()
            .ok_or_else(|| StepError::Failed("no config yet".to_string()))
    }

    pub(super) fn binaries(&self) -> Result<&Binaries, StepError> {
        self.binaries
            .as_ref()
            .ok_or_else(|| StepError::Failed("no function binaries yet".to_string()))
    }

    pub(super) fn endpoint(&self) -> Result<&str, StepError> {
        self.emulator
            .as_ref()
            .map(|e| e.endpoint.as_str())
            .ok_or_else(|| StepError::Failed("no emulator yet".to_string()))
    }

    pub(super) fn prepare(&mut self) -> Result<Done, StepError> {
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

    pub(super) async fn emulator(&mut self) -> Result<Done, StepError> {
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
        // Every client from here on, the in-process workflows' included, talks to it.
        let local = self
            .session
            .local(&emulator.endpoint)
            .with_output(Output::Json);
        let region = self.config()?.region.clone();
        self.aws = Some(local.clients(&region).await);
        self.local = Some(local);
        self.emulator = Some(emulator);
        Ok(Done::new(message, details))
    }

    pub(super) async fn up(&mut self) -> Result<Done, StepError> {
        self.deployed = true;
        let report = {
            let _wait = self.progress.wait("deployer up: provisioning the stack");
            stack::up(self.local()?, self.config()?, &self.packages).await?
        };
        let deployed = report.deployed.as_ref();
        let (Some(id), Some(domain)) = (
            deployed.and_then(|d| d.distribution_id.clone()),
            deployed.and_then(|d| d.domain_name.clone()),
        ) else {
            return Err(StepError::Failed(format!(
                "up reported no distribution: {}",
                report.json()
            )));
        };
        self.distribution_id = id;
        self.domain = domain;
        let created = report.plan.summary().create;
        let calls = report.mutations().len();
        Ok(Done::new(
            format!(
                "deployer up created {created} resources in {} with {calls} mutating calls; distribution {} at https://{}",
                report.plan.region, self.distribution_id, self.domain
            ),
            json!({
                "stack": report.plan.stack,
                "region": report.plan.region,
                "created": created,
                "mutating_calls": calls,
                "distribution_id": self.distribution_id,
                "domain_name": self.domain,
            }),
        ))
    }

    pub(super) async fn traffic(&mut self) -> Result<Done, StepError> {
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

    pub(super) async fn function_env(
        &self,
        function: Function,
    ) -> Result<Vec<(String, String)>, StepError> {
        stack::function_env(self.aws()?, self.config()?, function, self.endpoint()?).await
    }

    pub(super) async fn analyser(&mut self) -> Result<Done, StepError> {
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
    pub(super) async fn requests_published(
        &self,
        traffic: &traffic::Traffic,
    ) -> Result<u64, StepError> {
        let config = self.config()?;
        let query = cfrp_metric_data::Query {
            id: "requests".to_string(),
            namespace: config.metrics.namespace.clone(),
            metric: m::REQUESTS.to_string(),
            dimensions: vec![(m::DIM_DISTRIBUTION.to_string(), self.domain.clone())],
            stat: "Sum".to_string(),
            period_seconds: 60,
        };
        let start = i64::try_from(traffic.start_epoch).unwrap_or(0) - 60;
        let end = i64::try_from(traffic.end_epoch).unwrap_or(0) + 60;
        let data =
            cfrp_metric_data::fetch(&self.aws()?.cloudwatch, &[query], start * 1000, end * 1000)
                .await
                .map_err(|e| {
                    DeployError::aws("cloudwatch:GetMetricData", &config.metrics.namespace, e)
                })?;
        let sum: f64 = data.values().flatten().map(|(_, v)| v).sum();
        Ok(sum.round() as u64)
    }

    pub(super) async fn evaluator(&mut self) -> Result<Done, StepError> {
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

    pub(super) async fn invalidator(&mut self) -> Result<Done, StepError> {
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

    pub(super) async fn status(&mut self) -> Result<Done, StepError> {
        let (status, text) = stack::status(self.local()?, self.config()?).await?;
        let deployed = status.functions.iter().filter(|f| f.deployed).count();
        let mappings = status
            .functions
            .iter()
            .filter(|f| f.event_source_mapping.is_some())
            .count();
        let alarms = status.alarms.len();
        let distribution = status.distribution.as_ref();
        Ok(Done::new(
            format!(
                "deployer status: distribution {} {}, {deployed} functions, {mappings} event source mappings, {alarms} alarms",
                distribution.map_or("?", |d| d.id.as_str()),
                distribution.map_or("?", |d| d.status.as_str()),
            ),
            json!({"status": status}),
        )
        .with_lines(text.lines().map(str::to_string).collect()))
    }

    pub(super) async fn monitor(&mut self) -> Result<Done, StepError> {
        let config = self.config()?;
        let target = monitor::Target {
            id: self.distribution_id.clone(),
            domain: self.domain.clone(),
        };
        let window = u32::try_from(self.args.minutes + 6).unwrap_or(10);
        let snapshot = monitor::snapshot(config, self.aws()?, &target, None, window).await?;
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
            color: self.session.color,
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

    pub(super) async fn alarms(&mut self) -> Result<Done, StepError> {
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

    pub(super) async fn down(&mut self) -> Result<Done, StepError> {
        let report = {
            let _wait = self.progress.wait("deployer down: removing the stack");
            stack::down(self.local()?, self.config()?).await?
        };
        self.deployed = false;
        let removed = report.plan.summary().delete;
        let calls = report.mutations().len();
        let (left, _) = stack::status(self.local()?, self.config()?).await?;
        if !left.is_empty() {
            return Err(StepError::Failed(format!(
                "the stack is still there after down: {}",
                json!(left)
            )));
        }
        Ok(Done::new(
            format!(
                "deployer down removed {removed} resources with {calls} mutating calls; nothing of stack \"{}\" is left",
                report.plan.stack
            ),
            json!({"removed": removed, "mutating_calls": calls, "stack": report.plan.stack}),
        ))
    }

    pub(super) fn stop_emulator(&mut self) -> Done {
        let Some(mut emulator) = self.emulator.take() else {
            return Done::new("no emulator to stop".to_string(), json!({}));
        };
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
pub(super) fn next_steps() -> Done {
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
