//! `up`, `plan`, `down` and `status`: load the config, run, report.

use std::io::Write;
use std::path::Path;

use cfrp_config::{Function, OriginProtocol, PriceClass, StackConfig};
use serde_json::json;

use crate::cli::{ApplyArgs, DownArgs, Output, PlanArgs, StackArgs, UpArgs};
use crate::context::{Clients, Mode, Run};
use crate::diff::Action;
use crate::error::DeployError;
use crate::package::{self, Source};
use crate::plan::{Plan, PlanFileError};
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
    #[error("{0}")]
    PlanFile(#[from] PlanFileError),
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
    Ok(Run::new(config, clients, mode, progress(output)).await?)
}

/// Progress lines on stderr for text output, or when `CFRP_PROGRESS` asks for them.
fn progress(output: Output) -> Progress {
    Progress::new(output == Output::Text || std::env::var_os("CFRP_PROGRESS").is_some())
}

/// The config and the function packages of `plan` and `up`.
fn prepare(
    path: &Path,
    args: &UpArgs,
    output: Output,
) -> Result<(StackConfig, package::Packages), CommandError> {
    let mut config = load_config(path, &args.stack)?;
    if args.x86_64 {
        config.functions.architecture = cfrp_config::Architecture::X86_64;
    }
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
        &progress(output),
    )?;
    Ok((config, packages))
}

/// Reads everything and decides, changing nothing: the plan and what is known of the
/// distribution.
async fn make_plan(
    config: &StackConfig,
    packages: &package::Packages,
    profile: Option<&str>,
    output: Output,
) -> Result<(Plan, stack::Converged), CommandError> {
    let run = start(config, profile, Mode::Plan, output).await?;
    let converged = stack::converge(&run, packages, false).await?;
    Ok((Plan::of(&run, &converged.graph), converged))
}

/// `plan`. Exit codes: 0 nothing to change, 2 changes pending.
pub async fn plan(
    path: &Path,
    args: &PlanArgs,
    profile: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let (config, packages) = prepare(path, &args.up, output)?;
    let (plan, planned) = make_plan(&config, &packages, profile, output).await?;
    if let Some(file) = &args.out {
        plan.save(file)?;
    }
    let timing = [("plan", &planned.timing)];
    report(
        &plan,
        &Outcome::Planned,
        Some(&planned.deployed),
        &timing,
        output,
        out,
    )?;
    if let Some(file) = &args.out
        && output == Output::Text
    {
        writeln!(
            out,
            "Plan saved to {}; `deployer up --plan {}` applies exactly it.",
            file.display(),
            file.display()
        )?;
    }
    Ok(if plan.pending() { 2 } else { 0 })
}

/// `up`: the plan, shown and confirmed (or a saved plan, checked against the cloud), then
/// applied. Exit codes: 0 applied or nothing to change, 1 error or refusal, 2 declined.
pub async fn up(
    path: &Path,
    args: &ApplyArgs,
    profile: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let (config, packages) = prepare(path, &args.up, output)?;
    let (plan, planned) = match make_plan(&config, &packages, profile, output).await {
        Ok(planned) => planned,
        Err(err) => {
            eprintln!(
                "up stopped while planning, before any change (0 mutating calls); run `deployer up` again to resume"
            );
            return Err(err);
        }
    };
    let approved = match &args.plan {
        Some(file) => {
            let saved = Plan::load(file)?;
            let moved = saved.moved_since(&plan);
            if !moved.is_empty() {
                return Err(PlanFileError::Moved {
                    path: file.clone(),
                    moved,
                }
                .into());
            }
            saved
        }
        None => plan,
    };
    let deployed = &planned.deployed;
    let planning = [("plan", &planned.timing)];
    if !approved.pending() && !args.up.wait {
        let nothing = Outcome::Applied {
            title: "Up to date",
            mutations: Vec::new(),
        };
        report(&approved, &nothing, Some(deployed), &planning, output, out)?;
        return Ok(0);
    }
    if args.plan.is_none() && approved.pending() {
        let question = Question {
            yes: args.yes,
            prompt: "Apply?",
            declined: "Nothing applied.",
        };
        if !show_and_confirm(&approved, Some(deployed), &question, output, out)? {
            return Ok(crate::ops::exit::DECLINED);
        }
    }
    let mut run = start(&config, profile, Mode::Apply, output).await?;
    run.approve(&approved.changes);
    let converged = match stack::converge(&run, &packages, args.up.wait).await {
        Ok(converged) => converged,
        Err(err) => {
            // Say how far it got: the next `up` resumes from here.
            eprintln!(
                "up stopped after {} mutating call(s); run `deployer up` again to resume",
                run.mutations().len()
            );
            return Err(err.into());
        }
    };
    let applied = Plan::of(&run, &converged.graph);
    report(
        &applied,
        &Outcome::Applied {
            title: "Applied",
            mutations: run.mutations(),
        },
        Some(&converged.deployed),
        &[("plan", &planned.timing), ("apply", &converged.timing)],
        output,
        out,
    )?;
    Ok(0)
}

/// `down`: what would be removed, confirmed, then removed. Exit codes as `up`'s.
pub async fn down(
    path: &Path,
    args: &DownArgs,
    profile: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack)?;
    let plan_run = start(&config, profile, Mode::Plan, output).await?;
    let (graph, planning) = stack::remove(&plan_run).await?;
    let plan = Plan::of(&plan_run, &graph);
    if !plan.pending() {
        report(&plan, &Outcome::Planned, None, &[], output, out)?;
        if output == Output::Text {
            writeln!(out, "Nothing to remove.")?;
        }
        return Ok(0);
    }
    let question = Question {
        yes: args.yes,
        prompt: "Remove all of it?",
        declined: "Nothing removed.",
    };
    if !show_and_confirm(&plan, None, &question, output, out)? {
        return Ok(crate::ops::exit::DECLINED);
    }
    let mut run = start(&config, profile, Mode::Apply, output).await?;
    run.approve(&plan.changes);
    let (graph, applying) = stack::remove(&run).await?;
    report(
        &Plan::of(&run, &graph),
        &Outcome::Applied {
            title: "Removed",
            mutations: run.mutations(),
        },
        None,
        &[("plan", &planning), ("apply", &applying)],
        output,
        out,
    )?;
    Ok(0)
}

/// What `up` and `down` ask before applying.
struct Question {
    /// `--yes`: the answer is given.
    yes: bool,
    prompt: &'static str,
    /// Said on stdout (text output) when the answer is no.
    declined: &'static str,
}

/// Shows the plan the question is about (on stdout as text, or on stderr when stdout carries
/// the JSON report and someone is asked), then asks it. Whether to apply.
fn show_and_confirm(
    plan: &Plan,
    deployed: Option<&stack::Deployed>,
    question: &Question,
    output: Output,
    out: &mut dyn Write,
) -> Result<bool, CommandError> {
    if output == Output::Text {
        report(plan, &Outcome::Planned, deployed, &[], output, out)?;
        out.flush()?;
    } else if !question.yes {
        let mut text = Vec::new();
        report(
            plan,
            &Outcome::Planned,
            deployed,
            &[],
            Output::Text,
            &mut text,
        )?;
        eprint!("{}", String::from_utf8_lossy(&text));
    }
    let yes = crate::prompt::confirm(question.yes, question.prompt)?;
    if !yes && output == Output::Text {
        writeln!(out, "{}", question.declined)?;
    }
    Ok(yes)
}

/// Whether a report shows a plan or what was done.
enum Outcome {
    Planned,
    Applied {
        title: &'static str,
        mutations: Vec<String>,
    },
}

/// The text and JSON views of a plan, or of what applying it did. `timing` names the phases
/// (planning, applying) that ran the stack's graph, for the JSON view.
fn report(
    plan: &Plan,
    outcome: &Outcome,
    deployed: Option<&stack::Deployed>,
    timing: &[(&str, &stack::Timing)],
    output: Output,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let summary = plan.summary();
    let applied = matches!(outcome, Outcome::Applied { .. });
    if output == Output::Json {
        let mutations = match outcome {
            Outcome::Planned => Vec::new(),
            Outcome::Applied { mutations, .. } => mutations.clone(),
        };
        // Each step's seconds in the last phase that ran it.
        let seconds = timing
            .last()
            .map(|(_, t)| t.step_seconds.clone())
            .unwrap_or_default();
        let timing: serde_json::Map<String, serde_json::Value> = timing
            .iter()
            .map(|(phase, t)| (phase.to_string(), json!(t)))
            .collect();
        let steps: Vec<serde_json::Value> = plan
            .steps
            .iter()
            .map(|s| {
                let mut step = json!({"id": s.id, "name": s.name, "depends_on": s.depends_on});
                if let Some(seconds) = seconds.get(s.id) {
                    step["seconds"] = json!(seconds);
                }
                step
            })
            .collect();
        let value = json!({
            "stack": plan.stack,
            "region": plan.region,
            "account": plan.account,
            "mode": if applied { "apply" } else { "plan" },
            "config_sha256": plan.config_sha256,
            "steps": steps,
            "changes": plan.changes,
            "summary": summary,
            "mutating_calls": mutations.len(),
            "mutations": mutations,
            "distribution": deployed,
            "timing": timing,
        });
        return writeln!(out, "{value:#}");
    }
    let title = match outcome {
        Outcome::Planned => "Plan",
        Outcome::Applied { title, .. } => title,
    };
    writeln!(
        out,
        "{title} for stack \"{}\" (region {}, account {}):",
        plan.stack, plan.region, plan.account
    )?;
    for change in &plan.changes {
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
        "{} to create, {} to update, {} to delete, {} unchanged.",
        summary.create, summary.update, summary.delete, summary.unchanged
    )?;
    if let Outcome::Applied { mutations, .. } = outcome {
        writeln!(out, "{} mutating call(s) made.", mutations.len())?;
    }
    if let Some(d) = deployed
        && let (Some(id), Some(domain)) = (&d.distribution_id, &d.domain_name)
    {
        writeln!(
            out,
            "Distribution {id}: https://{domain} ({})",
            d.status.as_deref().unwrap_or("unknown")
        )?;
        if applied {
            writeln!(
                out,
                "Origins receive `{ORIGIN_VERIFY_HEADER}: {}`; reject requests without it, e.g. nginx:\n  if ($http_x_origin_verify != \"{}\") {{ return 403; }}",
                d.origin_secret, d.origin_secret
            )?;
            writeln!(
                out,
                "Dashboard: {}",
                spec::dashboard::console_url(
                    &plan.region,
                    &cfrp_config::Names::new(&plan.stack).dashboard(),
                )
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
