//! `up`, `plan`, `down` and `status`: load the config, run, report.

use std::io::Write;
use std::path::Path;

use cfrp_config::{Function, OriginProtocol, PriceClass, StackConfig};
use serde_json::json;

use crate::cli::{Output, StackArgs, UpArgs};
use crate::context::{Clients, Mode, Run};
use crate::diff::{Action, Change};
use crate::error::DeployError;
use crate::package::{self, Source};
use crate::progress::Progress;
use crate::resources::{cloudfront, lambda};
use crate::spec::{self, Arns, distribution::ORIGIN_VERIFY_HEADER};
use crate::stack;

/// Errors of a command: a config the user must fix, or a deployment failure.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Config(#[from] cfrp_config::ConfigError),
    #[error("{0}")]
    Deploy(#[from] DeployError),
    #[error("{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The stack config from the file, or from the one-command flags.
pub fn load_config(path: &Path, args: &StackArgs) -> Result<StackConfig, CommandError> {
    let mut config = match &args.origin_domain {
        None => StackConfig::load(path)?,
        Some(domain) => {
            let region = args
                .region
                .clone()
                .or_else(|| std::env::var("AWS_REGION").ok())
                .unwrap_or_else(|| "us-east-1".to_string());
            let mut config = StackConfig::for_origin(&args.name, &region, domain);
            let origin = &mut config.origins[0];
            if let Some(path) = &args.origin_path {
                origin.path = path.clone();
            }
            if let Some(protocol) = &args.origin_protocol {
                origin.protocol =
                    OriginProtocol::parse(protocol).ok_or_else(|| CommandError::Flag {
                        flag: "--origin-protocol",
                        message: format!(
                            "\"{protocol}\" is not one of https-only, http-only, match-viewer"
                        ),
                    })?;
            }
            if let Some(port) = args.http_port {
                origin.http_port = port;
            }
            if let Some(port) = args.https_port {
                origin.https_port = port;
            }
            if let Some(class) = &args.price_class {
                config.distribution.price_class =
                    PriceClass::parse(class).ok_or_else(|| CommandError::Flag {
                        flag: "--price-class",
                        message: format!(
                            "\"{class}\" is not one of PriceClass_100, PriceClass_200, PriceClass_All"
                        ),
                    })?;
            }
            if let Some(comment) = &args.comment {
                config.comment = comment.clone();
            }
            config.distribution.aliases = args.cname.clone();
            config.distribution.certificate_arn = args.certificate_arn.clone();
            config.validate()?;
            return Ok(config);
        }
    };
    if let Some(region) = &args.region {
        config.region = region.clone();
        config.validate()?;
    }
    Ok(config)
}

async fn start<'a>(
    config: &'a StackConfig,
    profile: Option<&str>,
    mode: Mode,
    output: Output,
) -> Result<Run<'a>, CommandError> {
    let clients = Clients::load(&config.region, profile).await;
    let progress =
        Progress::new(output == Output::Text || std::env::var_os("CFRP_PROGRESS").is_some());
    Ok(Run::new(config, clients, mode, progress).await?)
}

/// `up` and `plan`. Exit codes: 0 done / nothing to change, 2 (plan) changes pending.
pub async fn up(
    path: &Path,
    args: &UpArgs,
    mode: Mode,
    profile: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let mut config = load_config(path, &args.stack)?;
    if args.x86_64 {
        config.functions.architecture = cfrp_config::Architecture::X86_64;
    }
    let run = start(&config, profile, mode, output).await?;
    let source = match &args.artifacts {
        Some(dir) => Source::Artifacts(dir.clone()),
        None => Source::Build {
            workspace: args.workspace.clone(),
        },
    };
    let packages = package::load(
        &source,
        &spec::functions(&config),
        config.functions.architecture,
        &run.progress,
    )?;
    let result = stack::converge(&run, &packages, args.wait).await;
    let deployed = match result {
        Ok(deployed) => deployed,
        Err(err) => {
            // Say how far it got: the next `up` resumes from here.
            if mode == Mode::Apply {
                eprintln!(
                    "up stopped after {} mutating call(s); run `deployer up` again to resume",
                    run.mutations().len()
                );
            }
            return Err(err.into());
        }
    };
    let title = if mode == Mode::Apply {
        "Applied"
    } else {
        "Plan"
    };
    report(&run, title, Some(&deployed), output, out)?;
    let pending = run.changes().iter().any(|c| c.action.is_change());
    Ok(if mode == Mode::Plan && pending { 2 } else { 0 })
}

/// `down`.
pub async fn down(
    path: &Path,
    args: &StackArgs,
    profile: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, args)?;
    let run = start(&config, profile, Mode::Apply, output).await?;
    stack::remove(&run).await?;
    report(&run, "Removed", None, output, out)?;
    Ok(0)
}

fn counts(changes: &[Change]) -> [usize; 4] {
    let mut n = [0; 4];
    for c in changes {
        let i = match c.action {
            Action::Create => 0,
            Action::Update { .. } => 1,
            Action::Delete => 2,
            Action::Unchanged => 3,
        };
        n[i] += 1;
    }
    n
}

fn report(
    run: &Run<'_>,
    title: &str,
    deployed: Option<&stack::Deployed>,
    output: Output,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let [create, update, delete, unchanged] = counts(&run.changes());
    if output == Output::Json {
        let value = json!({
            "stack": run.names.stack(),
            "region": run.region,
            "account": run.account,
            "mode": if run.applying() { "apply" } else { "plan" },
            "changes": run.changes(),
            "summary": { "create": create, "update": update, "delete": delete, "unchanged": unchanged },
            "mutating_calls": run.mutations().len(),
            "mutations": run.mutations(),
            "distribution": deployed,
        });
        return writeln!(out, "{value:#}");
    }
    writeln!(
        out,
        "{title} for stack \"{}\" (region {}, account {}):",
        run.names.stack(),
        run.region,
        run.account
    )?;
    for change in &run.changes() {
        let mark = match change.action {
            Action::Create => "+",
            Action::Update { .. } => "~",
            Action::Delete => "-",
            Action::Unchanged => continue,
        };
        writeln!(out, "  {mark} {} {}", change.kind, change.name)?;
        if let Action::Update { changes } = &change.action {
            for field in changes {
                writeln!(
                    out,
                    "      {}: {} → {}",
                    field.field,
                    shorten(field.from.as_deref()),
                    shorten(field.to.as_deref())
                )?;
            }
        }
    }
    writeln!(
        out,
        "{create} to create, {update} to update, {delete} to delete, {unchanged} unchanged."
    )?;
    if run.applying() {
        writeln!(out, "{} mutating call(s) made.", run.mutations().len())?;
    }
    if let Some(d) = deployed
        && let (Some(id), Some(domain)) = (&d.distribution_id, &d.domain_name)
    {
        writeln!(
            out,
            "Distribution {id}: https://{domain} ({})",
            d.status.as_deref().unwrap_or("unknown")
        )?;
        if run.applying() {
            writeln!(
                out,
                "Origins receive `{ORIGIN_VERIFY_HEADER}: {}`; reject requests without it, e.g. nginx:\n  if ($http_x_origin_verify != \"{}\") {{ return 403; }}",
                d.origin_secret, d.origin_secret
            )?;
            writeln!(
                out,
                "Dashboard: {}",
                spec::dashboard::console_url(&run.region, &run.names.dashboard())
            )?;
        }
    }
    Ok(())
}

/// Long values (policies, dashboard bodies) cut to one readable line.
fn shorten(value: Option<&str>) -> String {
    match value {
        None => "(none)".to_string(),
        Some(v) if v.chars().count() > 100 => {
            let head: String = v.chars().take(97).collect();
            format!("\"{head}…\"")
        }
        Some(v) => format!("\"{v}\""),
    }
}

/// `status`.
pub async fn status(
    path: &Path,
    args: &StackArgs,
    profile: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, args)?;
    let run = start(&config, profile, Mode::Plan, output).await?;
    let found = cloudfront::find_distribution(&run).await?;
    let arns = Arns::new(&config, &run.account, found.as_ref().map(|f| f.id.as_str()));
    let mut distribution = serde_json::Value::Null;
    if let Some(f) = &found {
        let got = run
            .aws
            .cloudfront
            .get_distribution()
            .id(&f.id)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:GetDistribution", &f.id, e))?;
        let d = got.distribution();
        let dc = d.and_then(|d| d.distribution_config());
        let origins: Vec<serde_json::Value> = dc
            .and_then(|c| c.origins())
            .map(|o| o.items())
            .unwrap_or_default()
            .iter()
            .map(|o| json!({"id": o.id(), "domain": o.domain_name(), "path": o.origin_path().unwrap_or_default()}))
            .collect();
        distribution = json!({
            "id": f.id,
            "domain_name": f.domain,
            "status": d.map(|d| d.status()).unwrap_or_default(),
            "enabled": dc.map(|c| c.enabled()),
            "aliases": dc.and_then(|c| c.aliases()).map(|a| a.items().to_vec()).unwrap_or_default(),
            "origins": origins,
        });
    }
    let mut functions = Vec::new();
    for function in spec::functions(&config) {
        let name = run.names.lambda(function);
        let observed = lambda::observe_function(&run, &name).await?;
        let source = match function {
            Function::LogAnalyser => Some(arns.stream.clone()),
            Function::Invalidator => Some(arns.manuscripts_queue.clone()),
            Function::AlarmEvaluator => None,
        };
        let mapping = match (&observed, source) {
            (Some(_), Some(source)) => lambda::observe_mapping(&run, &name, &source)
                .await?
                .map(|(_, _, state)| json!({"source": source, "state": state})),
            _ => None,
        };
        functions.push(json!({
            "function": name,
            "deployed": observed.is_some(),
            "last_modified": observed.map(|(_, modified)| modified),
            "event_source_mapping": mapping,
        }));
    }
    let alarms = run
        .aws
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(run.names.alarm(""))
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudwatch:DescribeAlarms", &run.names.alarm(""), e))?;
    let alarms: Vec<serde_json::Value> = alarms
        .metric_alarms()
        .iter()
        .map(|a| json!({"alarm": a.alarm_name(), "state": a.state_value().map(|s| s.as_str())}))
        .collect();
    let value = json!({
        "stack": run.names.stack(),
        "region": run.region,
        "distribution": distribution,
        "functions": functions,
        "alarms": alarms,
    });
    if output == Output::Json {
        writeln!(out, "{value:#}")?;
        return Ok(0);
    }
    writeln!(
        out,
        "Stack \"{}\" (region {})",
        run.names.stack(),
        run.region
    )?;
    match &found {
        None => writeln!(out, "  distribution: not deployed")?,
        Some(_) => {
            writeln!(
                out,
                "  distribution {} https://{} — {}{}",
                value["distribution"]["id"].as_str().unwrap_or_default(),
                value["distribution"]["domain_name"]
                    .as_str()
                    .unwrap_or_default(),
                value["distribution"]["status"].as_str().unwrap_or_default(),
                if value["distribution"]["enabled"] == json!(false) {
                    " (disabled)"
                } else {
                    ""
                }
            )?;
            for alias in value["distribution"]["aliases"]
                .as_array()
                .into_iter()
                .flatten()
            {
                writeln!(out, "    alias {}", alias.as_str().unwrap_or_default())?;
            }
            for origin in value["distribution"]["origins"]
                .as_array()
                .into_iter()
                .flatten()
            {
                writeln!(
                    out,
                    "    origin {} → {}{}",
                    origin["id"].as_str().unwrap_or_default(),
                    origin["domain"].as_str().unwrap_or_default(),
                    origin["path"].as_str().unwrap_or_default()
                )?;
            }
        }
    }
    for f in value["functions"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  function {}: {}{}",
            f["function"].as_str().unwrap_or_default(),
            f["last_modified"]
                .as_str()
                .map_or("not deployed".to_string(), |m| format!("last modified {m}")),
            f["event_source_mapping"]["state"]
                .as_str()
                .map_or(String::new(), |s| format!(", event source mapping {s}"))
        )?;
    }
    for a in value["alarms"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  alarm {}: {}",
            a["alarm"].as_str().unwrap_or_default(),
            a["state"].as_str().unwrap_or_default()
        )?;
    }
    Ok(0)
}
