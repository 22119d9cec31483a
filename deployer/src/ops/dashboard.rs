//! `deployer dashboard`: converges only the stack's CloudWatch dashboard (generated from the
//! config by `spec::dashboard`, the same body `up` writes) and prints its console URL.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::{exit, exit_codes_help};
use crate::cli::{Output, StackArgs};
use crate::commands::{CommandError, load_config};
use crate::context::Mode;
use crate::diff::Action;
use crate::error::DeployError;
use crate::resources::{cloudfront, monitoring};
use crate::session::Session;
use crate::spec;

/// `--help` text of `deployer dashboard` (its flags are the stack flags `status` takes).
pub const HELP: &str = concat!(
    "Examples:\n",
    "  deployer dashboard\n",
    "  deployer dashboard --config prod.toml --output json\n",
    "\n",
    "The dashboard is generated from the config: the analyser's metrics by distribution, the\n",
    "rule states, and CloudFront's own AWS/CloudFront metrics. `deployer up` writes it too.\n",
    "\n",
    exit_codes_help!()
);

pub async fn run(
    path: &Path,
    args: &StackArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, args, session)?;
    let run = session.run(&config, Mode::Apply).await?;
    let found = cloudfront::find_distribution(&run).await?.ok_or_else(|| {
        DeployError::state(
            &format!("stack \"{}\"", run.names.stack()),
            "no distribution carries its cfrp:stack tag; run `deployer up` first",
        )
    })?;
    let body = spec::dashboard::body(&config, &found.domain, &found.id);
    monitoring::converge_dashboard(&run, &body).await?;
    let name = run.names.dashboard();
    let action = run
        .changes()
        .last()
        .map(|c| c.action.clone())
        .unwrap_or(Action::Unchanged);
    let url = spec::dashboard::console_url(&run.region, &name);
    if session.output == Output::Json {
        let value = json!({
            "name": name,
            "url": url,
            "changed": action.is_change(),
            "action": action.label(),
            "distribution_id": found.id,
            "mutating_calls": run.mutations().len(),
        });
        writeln!(out, "{value:#}")?;
        return Ok(exit::OK);
    }
    let paint = session.paint();
    let what = match action {
        Action::Create => paint.green("created"),
        Action::Update { .. } => paint.green("updated"),
        _ => "unchanged".to_string(),
    };
    writeln!(out, "Dashboard {name} {what}: {}", paint.bold(&url))?;
    Ok(exit::OK)
}
