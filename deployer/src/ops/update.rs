//! `deployer update`: points one origin of an existing distribution at a new domain. A plan
//! like `up`'s: the change is shown first and asked about (unless `--yes`), then applied only
//! if the distribution still needs exactly it; the update carries the ETag it was read with
//! and is re-read and re-applied when someone changed the distribution in between.

use std::cell::Cell;
use std::io::Write;

use cfrp_config::checks;
use clap::Args;
use serde_json::json;

use super::{
    Operated, distribution_lease_of, exit, exit_codes_help, operator_config, parse_distribution_id,
    plan_and_apply,
};
use crate::cli::Output;
use crate::commands::{CommandError, Question};
use crate::diff::{Action, FieldChange};
use crate::error::DeployError;
use crate::resources::cloudfront;
use crate::session::Session;

const HELP: &str = concat!(
    "Examples:\n",
    "  deployer update --id E2EXAMPLE1ABC --origin-domain new-app.example.com\n",
    "  deployer update --id E2EXAMPLE1ABC --origin-id api --origin-domain api2.example.com --yes --wait\n",
    "\n",
    "Without --yes it asks \"Apply? [y/N]\" on a terminal, and refuses (exit 1) when stdin is not\n",
    "a terminal. Running it again with the same domain changes nothing.\n",
    "\n",
    exit_codes_help!()
);

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct UpdateArgs {
    /// The distribution to change.
    #[arg(long, value_parser = parse_distribution_id)]
    pub id: String,
    /// The origin's new domain name (e.g. app.example.com).
    #[arg(long, value_name = "HOST")]
    pub origin_domain: String,
    /// Which origin to change when there are several (default: the default behaviour's).
    #[arg(long)]
    pub origin_id: Option<String>,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Wait until CloudFront has deployed the change, showing progress.
    #[arg(long)]
    pub wait: bool,
}

/// What updating found and did.
struct Updating {
    origin_id: String,
    old_domain: String,
    /// This run changed the origin.
    applied: bool,
}

pub async fn run(
    args: &UpdateArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    checks::domain_name(&args.origin_domain).map_err(|rule| CommandError::Flag {
        flag: "--origin-domain",
        message: format!("\"{}\" is not {rule}", args.origin_domain),
    })?;
    let id = &args.id;
    let config = operator_config(
        &format!("dist-{}", id.to_ascii_lowercase()),
        &session.region(None),
    );
    let question = Question {
        yes: args.yes,
        prompt: "Apply?",
        declined: "Nothing applied.",
    };
    let step = format!("update distribution {id}");
    let lease = distribution_lease_of(session, &config, id).await?;
    let operated = plan_and_apply(
        session,
        &config,
        &lease,
        ("update", &step),
        &question,
        out,
        async |run| {
            let Some((current, _)) = cloudfront::read_distribution_config(run, id).await? else {
                return Err(DeployError::state(
                    &format!("distribution {id}"),
                    "no such distribution in this account",
                ));
            };
            let origins: Vec<(String, String)> = current
                .origins()
                .map(|o| o.items())
                .unwrap_or_default()
                .iter()
                .map(|o| (o.id().to_string(), o.domain_name().to_string()))
                .collect();
            let origin_id = match &args.origin_id {
                Some(wanted) => wanted.clone(),
                None => current
                    .default_cache_behavior()
                    .map(|b| b.target_origin_id().to_string())
                    .unwrap_or_default(),
            };
            let Some((_, old_domain)) = origins.iter().find(|(o, _)| *o == origin_id) else {
                return Err(DeployError::state(
                    "--origin-id",
                    format!(
                        "distribution {id} has no origin \"{origin_id}\"; its origins are {}",
                        origins
                            .iter()
                            .map(|(o, d)| format!("{o} ({d})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            let action = if *old_domain == args.origin_domain {
                Action::Unchanged
            } else {
                Action::Update {
                    changes: vec![FieldChange {
                        field: format!("origins[{origin_id}].domain"),
                        from: Some(old_domain.clone()),
                        to: Some(args.origin_domain.clone()),
                    }],
                }
            };
            let needed = action.is_change();
            run.note("CloudFront distribution", id, action);
            if !needed || !run.applying() {
                return Ok(Updating {
                    origin_id,
                    old_domain: old_domain.clone(),
                    applied: false,
                });
            }
            let missing = Cell::new(false);
            let applied = cloudfront::edit_distribution(run, id, |c| {
                let origin = c
                    .origins
                    .as_mut()
                    .and_then(|o| o.items.iter_mut().find(|o| o.id == origin_id));
                match origin {
                    None => {
                        missing.set(true);
                        false
                    }
                    Some(o) if o.domain_name == args.origin_domain => false,
                    Some(o) => {
                        o.domain_name.clone_from(&args.origin_domain);
                        true
                    }
                }
            })
            .await?;
            if missing.get() {
                return Err(DeployError::state(
                    &format!("distribution {id}"),
                    format!(
                        "origin \"{origin_id}\" was removed while we were asking; nothing applied"
                    ),
                ));
            }
            if applied && args.wait {
                cloudfront::wait_deployed(run, id).await?;
            }
            Ok(Updating {
                origin_id,
                old_domain: old_domain.clone(),
                applied,
            })
        },
    )
    .await?;
    let report = operated.report();
    let done = operated.value();
    if session.output == Output::Json {
        let changes: Vec<&FieldChange> = report
            .plan
            .changes
            .iter()
            .flat_map(|c| match &c.action {
                Action::Update { changes } => changes.iter().collect(),
                _ => Vec::new(),
            })
            .collect();
        let value = json!({
            "distribution_id": id,
            "origin_id": done.origin_id,
            "changes": changes,
            "applied": done.applied,
            "declined": matches!(operated, Operated::Declined { .. }),
            "mutating_calls": report.mutations().len(),
            "mutations": report.mutations(),
        });
        writeln!(out, "{value:#}")?;
    }
    let paint = session.paint();
    match &operated {
        Operated::Declined { .. } => return Ok(exit::DECLINED),
        _ if session.output == Output::Json => {}
        Operated::UpToDate { .. } => writeln!(
            out,
            "Distribution {id}: origin {} already points at {}; nothing to change.",
            done.origin_id, done.old_domain
        )?,
        Operated::Applied { .. } => writeln!(
            out,
            "{} {} mutating call(s) made.",
            if done.applied {
                paint.green("Applied.")
            } else {
                "Someone else made the same change meanwhile; nothing to apply.".to_string()
            },
            report.mutations().len()
        )?,
    }
    Ok(exit::OK)
}
