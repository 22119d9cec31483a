//! `up`, `plan`, `down` and `status`: load the config, run, report.

use std::io::Write;
use std::path::Path;

use cfrp_config::{OriginProtocol, PriceClass, StackConfig};

use crate::cli::{ApplyArgs, DownArgs, Output, PermissionsArgs, PlanArgs, StackArgs, UpArgs};
use crate::error::DeployError;
use crate::lease::{self, LeaseError};
use crate::package::{self, Source};
use crate::plan::{Plan, PlanFileError};
use crate::session::Session;
use crate::spec;
use crate::workflow::{self, Outcome, Report};

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
    /// Boxed: a lease error carries the holder's whole lease, and every command returns this
    /// type.
    #[error("{0}")]
    Lease(Box<crate::lease::LeaseError>),
}

impl From<crate::lease::LeaseError> for CommandError {
    fn from(error: crate::lease::LeaseError) -> Self {
        CommandError::Lease(Box::new(error))
    }
}

/// The stack config from the file, or from the one-command flags.
pub fn load_config(
    path: &Path,
    args: &StackArgs,
    session: &Session,
) -> Result<StackConfig, CommandError> {
    let mut config = match &args.origin_domain {
        None => StackConfig::load(path)?,
        Some(domain) => {
            let region = session.region(args.region.as_deref());
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

/// The config and the function packages of `plan` and `up`.
fn prepare(
    path: &Path,
    args: &UpArgs,
    session: &Session,
) -> Result<(StackConfig, package::Packages), CommandError> {
    let mut config = load_config(path, &args.stack, session)?;
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
        &session.progress(),
    )?;
    Ok((config, packages))
}

/// Prints `report` in the session's format.
fn print(report: &Report, session: &Session, out: &mut dyn Write) -> std::io::Result<()> {
    match session.output {
        Output::Json => writeln!(out, "{:#}", report.json()),
        Output::Text => report.write_text(out),
    }
}

/// Prints `report` with the config's weak choices: `config_warnings` in JSON, after the
/// report in text unless `shown` says they were printed already (before a question).
fn print_with_warnings(
    report: &Report,
    warnings: &cfrp_config::Warnings,
    shown: bool,
    session: &Session,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match session.output {
        Output::Json => {
            let mut value = report.json();
            value["config_warnings"] = crate::validate::warnings_json(warnings);
            writeln!(out, "{value:#}")
        }
        Output::Text => {
            report.write_text(out)?;
            if shown {
                Ok(())
            } else {
                crate::validate::write_warnings(warnings, out)
            }
        }
    }
}

/// `plan`. Exit codes: 0 nothing to change, 2 changes pending.
pub async fn plan(
    path: &Path,
    args: &PlanArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    if args.stage {
        return crate::ops::staging::plan_stage(path, args, session, out).await;
    }
    let (config, packages) = prepare(path, &args.up, session)?;
    let planned = workflow::plan_up(session, &config, &packages).await?;
    if let Some(file) = &args.out {
        planned.plan.save(file)?;
    }
    // The config's weak choices follow the plan, in both views. In JSON they are
    // `config_warnings` (field, line, column, message, as `validate` gives them): `warnings`
    // is the plan's own, about resources (kind, name, message).
    let warnings = crate::validate::warnings_of(path, &args.up.stack, &config);
    print_with_warnings(&planned, &warnings, false, session, out)?;
    if let Some(file) = &args.out
        && session.output == Output::Text
    {
        writeln!(
            out,
            "Plan saved to {}; `deployer up --plan {}` applies exactly it.",
            file.display(),
            file.display()
        )?;
    }
    Ok(if planned.plan.pending() { 2 } else { 0 })
}

/// `up`: the plan, shown and confirmed (or a saved plan, checked against the cloud), then
/// applied. Exit codes: 0 applied or nothing to change, 1 error or refusal, 2 declined.
pub async fn up(
    path: &Path,
    args: &ApplyArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let (config, packages) = prepare(path, &args.up, session)?;
    // The config's weak choices, as `validate` and `plan` give them: a person answering the
    // question sees them before answering.
    let warnings = crate::validate::warnings_of(path, &args.up.stack, &config);
    let mut warnings_shown = false;
    // Another run changing the stack: refused before planning (a read only); the lease
    // itself is taken after the question, so a no-op `up` changes nothing at all.
    let parameters = session.parameters(&config.region).await;
    lease::check_free(&*parameters, &config.name, lease::now()).await?;
    let planned = match workflow::plan_up(session, &config, &packages).await {
        Ok(planned) => planned,
        Err(err) => {
            eprintln!(
                "up stopped while planning, before any change (0 mutating calls); run `deployer up` again to resume"
            );
            return Err(err.into());
        }
    };
    let approved = match &args.plan {
        Some(file) => {
            let saved = Plan::load(file)?;
            let moved = saved.moved_since(&planned.plan);
            if !moved.is_empty() {
                return Err(PlanFileError::Moved {
                    path: file.clone(),
                    moved,
                }
                .into());
            }
            saved
        }
        None => planned.plan.clone(),
    };
    if !approved.pending() && !args.up.wait {
        let nothing = Report {
            plan: approved,
            outcome: Outcome::Applied {
                title: "Up to date",
                mutations: Vec::new(),
            },
            ..planned
        };
        print_with_warnings(&nothing, &warnings, false, session, out)?;
        return Ok(0);
    }
    if args.plan.is_none() && approved.pending() {
        let question = Question {
            yes: args.yes,
            prompt: "Apply?",
            declined: "Nothing applied.",
        };
        let shown = Report::planned(approved.clone(), planned.deployed.clone());
        let mut notes = Vec::new();
        crate::validate::write_warnings(&warnings, &mut notes)?;
        warnings_shown = session.output == Output::Text;
        let notes = String::from_utf8_lossy(&notes);
        if !show_notes_and_confirm(&shown, &notes, &question, session, out)? {
            return Ok(crate::ops::exit::DECLINED);
        }
    }
    let applied = lease::with_lease(parameters, &config.name, "up", async {
        Ok::<_, LeaseError>(
            workflow::apply_up(
                session,
                &config,
                &packages,
                &approved,
                &planned,
                args.up.wait,
            )
            .await,
        )
    })
    .await?;
    match applied {
        Ok(applied) => print_with_warnings(&applied, &warnings, warnings_shown, session, out)?,
        Err(stopped) => {
            // Say how far it got: the next `up` resumes from here.
            eprintln!(
                "up stopped after {} mutating call(s); run `deployer up` again to resume",
                stopped.mutations.len()
            );
            return Err(stopped.error.into());
        }
    }
    Ok(0)
}

/// `down`: what would be removed, confirmed, then removed. Exit codes as `up`'s.
pub async fn down(
    path: &Path,
    args: &DownArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let parameters = session.parameters(&config.region).await;
    lease::check_free(&*parameters, &config.name, lease::now()).await?;
    let planned = workflow::plan_down(session, &config).await?;
    if !planned.plan.pending() {
        print(&Report::planned(planned.plan, None), session, out)?;
        if session.output == Output::Text {
            writeln!(out, "Nothing to remove.")?;
        }
        return Ok(0);
    }
    let question = Question {
        yes: args.yes,
        prompt: "Remove all of it?",
        declined: "Nothing removed.",
    };
    let shown = Report::planned(planned.plan.clone(), None);
    if !show_and_confirm(&shown, &question, session, out)? {
        return Ok(crate::ops::exit::DECLINED);
    }
    let removed = lease::with_lease(parameters, &config.name, "down", async {
        Ok::<_, CommandError>(workflow::apply_down(session, &config, &planned).await?)
    })
    .await?;
    print(&removed, session, out)?;
    Ok(0)
}

/// What `up`, `down` and the operator commands ask before applying.
pub struct Question {
    /// `--yes`: the answer is given.
    pub yes: bool,
    pub prompt: &'static str,
    /// Said on stdout (text output) when the answer is no.
    pub declined: &'static str,
}

/// Shows the plan the question is about (on stdout as text, or on stderr when stdout carries
/// the JSON report and someone is asked), then asks it. Whether to apply.
pub fn show_and_confirm(
    shown: &Report,
    question: &Question,
    session: &Session,
    out: &mut dyn Write,
) -> Result<bool, CommandError> {
    show_notes_and_confirm(shown, "", question, session, out)
}

/// [`show_and_confirm`] with `notes` (text, e.g. the config's warnings) printed after the
/// plan and before the question.
pub fn show_notes_and_confirm(
    shown: &Report,
    notes: &str,
    question: &Question,
    session: &Session,
    out: &mut dyn Write,
) -> Result<bool, CommandError> {
    if session.output == Output::Text {
        shown.write_text(out)?;
        write!(out, "{notes}")?;
        out.flush()?;
    } else if !question.yes {
        let mut text = Vec::new();
        shown.write_text(&mut text)?;
        eprint!("{}{notes}", String::from_utf8_lossy(&text));
    }
    let yes = crate::prompt::confirm(question.yes, question.prompt)?;
    if !yes && session.output == Output::Text {
        writeln!(out, "{}", question.declined)?;
    }
    Ok(yes)
}

/// `status`.
pub async fn status(
    path: &Path,
    args: &StackArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, args, session)?;
    let status = workflow::status(session, &config).await?;
    match session.output {
        Output::Json => writeln!(out, "{:#}", serde_json::json!(status))?,
        Output::Text => status.write_text(out)?,
    }
    Ok(0)
}

/// `permissions`: the IAM policy document for the config, the same JSON in either output
/// (it is what IAM takes); makes no AWS call.
pub fn permissions(
    path: &Path,
    args: &PermissionsArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let account = match args.account_id.as_deref() {
        None => "*",
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => id,
        Some(id) => {
            return Err(CommandError::Flag {
                flag: "--account-id",
                message: format!("\"{id}\" is not a 12-digit AWS account id"),
            });
        }
    };
    let policy = crate::permissions::policy(&config, account);
    writeln!(out, "{policy:#}")?;
    Ok(0)
}
