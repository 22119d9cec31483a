//! `deployer update`: points one origin of an existing distribution at a new domain. Shows
//! the change first and asks before applying it (unless `--yes`); the update carries the
//! ETag it was read with and is re-read and re-applied when someone changed the distribution
//! in between.

use std::cell::Cell;
use std::io::Write;

use cfrp_config::checks;
use clap::Args;
use serde_json::json;

use super::{exit, exit_codes_help, operator_config, parse_distribution_id};
use crate::cli::Output;
use crate::commands::CommandError;
use crate::context::Mode;
use crate::diff::FieldChange;
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
    let config = operator_config("operator", &session.region(None));
    let run = session.run(&config, Mode::Apply).await?;
    let Some((current, _)) = cloudfront::read_distribution_config(&run, id).await? else {
        return Err(DeployError::state(
            &format!("distribution {id}"),
            "no such distribution in this account",
        )
        .into());
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
        return Err(CommandError::Flag {
            flag: "--origin-id",
            message: format!(
                "distribution {id} has no origin \"{origin_id}\"; its origins are {}",
                origins
                    .iter()
                    .map(|(o, d)| format!("{o} ({d})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let change = FieldChange {
        field: format!("origins[{origin_id}].domain"),
        from: Some(old_domain.clone()),
        to: Some(args.origin_domain.clone()),
    };
    let paint = session.paint();
    let report = |out: &mut dyn Write,
                  run: &crate::context::Run<'_>,
                  changes: &[&FieldChange],
                  applied: bool,
                  declined: bool|
     -> std::io::Result<()> {
        if session.output != Output::Json {
            return Ok(());
        }
        let value = json!({
            "distribution_id": id,
            "origin_id": origin_id,
            "changes": changes,
            "applied": applied,
            "declined": declined,
            "mutating_calls": run.mutations().len(),
            "mutations": run.mutations(),
        });
        writeln!(out, "{value:#}")
    };
    if *old_domain == args.origin_domain {
        if session.output == Output::Text {
            writeln!(
                out,
                "Distribution {id}: origin {origin_id} already points at {old_domain}; nothing to change."
            )?;
        }
        report(out, &run, &[], false, false)?;
        return Ok(exit::OK);
    }
    // The diff goes to stdout in text mode and to stderr beside the prompt in JSON mode.
    let diff = format!(
        "  ~ CloudFront distribution {id}\n      {}: {} → {}",
        change.field,
        paint.red(&format!("\"{old_domain}\"")),
        paint.green(&format!("\"{}\"", args.origin_domain))
    );
    if session.output == Output::Text {
        writeln!(out, "{diff}")?;
        out.flush()?;
    } else if !args.yes {
        eprintln!("{diff}");
    }
    if !crate::prompt::confirm(args.yes, "Apply?")? {
        if session.output == Output::Text {
            writeln!(out, "Nothing applied.")?;
        }
        report(out, &run, &[&change], false, true)?;
        return Ok(exit::DECLINED);
    }
    let missing = Cell::new(false);
    let applied = cloudfront::edit_distribution(&run, id, |c| {
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
            format!("origin \"{origin_id}\" was removed while we were asking; nothing applied"),
        )
        .into());
    }
    if applied && args.wait {
        cloudfront::wait_deployed(&run, id).await?;
    }
    if session.output == Output::Text {
        writeln!(
            out,
            "{} {} mutating call(s) made.",
            if applied {
                paint.green("Applied.")
            } else {
                "Someone else made the same change meanwhile; nothing to apply.".to_string()
            },
            run.mutations().len()
        )?;
    }
    report(out, &run, &[&change], applied, false)?;
    Ok(exit::OK)
}
