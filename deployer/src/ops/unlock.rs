//! `deployer unlock`: shows the lease another run left on the stack and removes it after
//! confirmation, for a run that died holding it (a live run's lease also expires by itself).

use std::io::Write;

use clap::Args;
use serde_json::json;

use super::{exit, exit_codes_help, parse_distribution_id};
use crate::cli::{Output, StackArgs};
use crate::commands::{CommandError, Question, load_config};
use crate::lease::{self, Found};
use crate::session::Session;

const HELP: &str = concat!(
    "Examples:\n",
    "  deployer unlock                      # the stack of proxy.toml: shows the lease and asks\n",
    "  deployer unlock --yes --output json\n",
    "  deployer unlock --id E2EXAMPLE1ABC   # the lease `logging`/`update` take on a distribution\n",
    "\n",
    "Remove a lease only when the run holding it is dead: two runs changing one stack at once\n",
    "can leave it half-changed. Without --yes it asks on a terminal and refuses (exit 1) when\n",
    "stdin is not a terminal.\n",
    "\n",
    exit_codes_help!()
);

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The lease `logging` and `update` take on this distribution: its stack's when it carries
    /// a stack's tag, else its own.
    #[arg(long, value_parser = parse_distribution_id)]
    pub id: Option<String>,
    /// Remove without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub async fn run(
    path: &std::path::Path,
    args: &UnlockArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let (stack, region) = match &args.id {
        Some(id) => {
            let config = super::operator_config(
                &format!("dist-{}", id.to_ascii_lowercase()),
                &session.region(args.stack.region.as_deref()),
            );
            let scope = super::distribution_lease_of(session, &config, id).await?;
            (scope.stack, scope.region)
        }
        None => {
            let config = load_config(path, &args.stack, session)?;
            (config.name, config.region)
        }
    };
    let parameters = session.parameters(&region).await;
    let parameter = lease::parameter_name(&stack);
    let found = lease::read(&*parameters, &stack).await?;
    let lease_json = |found: &Option<(Found, i64)>| match found {
        Some((Found::Record(record), _)) => json!(record),
        Some((Found::Unreadable(raw), _)) => json!({ "unreadable": raw }),
        None => serde_json::Value::Null,
    };
    let Some((holder, _)) = &found else {
        match session.output {
            Output::Json => writeln!(
                out,
                "{:#}",
                json!({"stack": stack, "parameter": parameter, "lease": null, "removed": false})
            )?,
            Output::Text => writeln!(out, "Stack \"{stack}\" has no lease: nothing to remove.")?,
        }
        return Ok(exit::OK);
    };
    let expired = matches!(holder, Found::Record(r) if r.expired(lease::now()));
    let shown = format!(
        "Stack \"{stack}\" is leased ({parameter}) by {}{}.",
        holder.describe(),
        if expired { " (expired)" } else { "" }
    );
    // As `up` shows its plan: on stdout as text, on stderr when stdout carries JSON and
    // someone is asked.
    let question = Question {
        yes: args.yes,
        prompt: "Remove the lease?",
        declined: "Lease kept.",
    };
    if session.output == Output::Text {
        writeln!(out, "{shown}")?;
        out.flush()?;
    } else if !question.yes {
        eprintln!("{shown}");
    }
    if !crate::prompt::confirm(question.yes, question.prompt)? {
        if session.output == Output::Text {
            writeln!(out, "{}", question.declined)?;
        }
        return Ok(exit::DECLINED);
    }
    parameters.delete(&parameter).await?;
    match session.output {
        Output::Json => writeln!(
            out,
            "{:#}",
            json!({"stack": stack, "parameter": parameter, "lease": lease_json(&found), "removed": true})
        )?,
        Output::Text => writeln!(out, "Lease removed.")?,
    }
    Ok(exit::OK)
}
