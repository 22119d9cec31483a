//! `deployer invalidate`: removes paths from CloudFront's edge caches, optionally waiting
//! until CloudFront reports the invalidation Completed.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cfrp_config::invalidation::{
    MAX_FILE_PATHS_IN_PROGRESS, MAX_WILDCARD_PATHS_IN_PROGRESS, is_wildcard, normalise_path,
};
use clap::Args;
use serde_json::json;

use super::{exit, exit_codes_help, operator_config, parse_distribution_id, parse_duration};
use crate::cli::{Output, StackArgs};
use crate::commands::{CommandError, load_config};
use crate::context::Mode;
use crate::error::DeployError;
use crate::resources::{cloudfront, poll};
use crate::session::Session;

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct InvalidateArgs {
    /// Paths to invalidate, each starting with `/`; `*` only as the last character. Give them
    /// plain (`"/café menu.html"`) or URL-encoded; they are encoded as CloudFront requires.
    #[arg(long, num_args = 1.., value_name = "PATH", default_values_t = [String::from("/*")])]
    pub paths: Vec<String>,
    /// The distribution to invalidate (default: the stack's, found by its `cfrp:stack` tag).
    #[arg(long, value_parser = parse_distribution_id)]
    pub id: Option<String>,
    /// Wait until CloudFront reports the invalidation Completed, showing progress.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits before giving up (e.g. 90s, 15m, 1h).
    #[arg(long, default_value = "15m", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
    #[command(
        flatten,
        next_help_heading = "Stack flags (when there is no config file)"
    )]
    pub stack: StackArgs,
}

const HELP: &str = concat!(
    "Examples:\n",
    "  deployer invalidate                               # everything: /*\n",
    "  deployer invalidate --paths /index.html '/assets/*' --wait\n",
    "  deployer invalidate --id E2EXAMPLE1ABC --paths '/docs/*' --output json\n",
    "\n",
    "The first 1,000 paths a month are free, then each path is billed; a wildcard path counts\n",
    "as one. Per distribution, up to 3,000 file paths and 15 wildcard paths may be in progress\n",
    "at once. With --wait, a timeout exits 1 while CloudFront carries on with the invalidation.\n",
    "\n",
    exit_codes_help!()
);

/// Checks and encodes the paths: every bad path is named; duplicates are dropped.
pub fn prepare_paths(given: &[String]) -> Result<Vec<String>, CommandError> {
    let mut paths: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for path in given {
        match normalise_path(path) {
            Ok(encoded) if !paths.contains(&encoded) => paths.push(encoded),
            Ok(_) => {}
            Err(err) => problems.push(err.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(CommandError::Flag {
            flag: "--paths",
            message: problems.join("; "),
        });
    }
    let wildcards = paths.iter().filter(|p| is_wildcard(p)).count();
    let files = paths.len() - wildcards;
    if wildcards > MAX_WILDCARD_PATHS_IN_PROGRESS || files > MAX_FILE_PATHS_IN_PROGRESS {
        return Err(CommandError::Flag {
            flag: "--paths",
            message: format!(
                "{files} file path(s) and {wildcards} wildcard path(s); CloudFront allows at most {MAX_FILE_PATHS_IN_PROGRESS} and {MAX_WILDCARD_PATHS_IN_PROGRESS} in progress per distribution (use a wildcard such as /dir/* to cover many files)"
            ),
        });
    }
    Ok(paths)
}

/// A caller reference no other invalidation has: the time in nanoseconds and random bits.
fn caller_reference() -> Result<String, DeployError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| {
        DeployError::state(
            "caller reference",
            format!("no randomness from the OS: {e}"),
        )
    })?;
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("cfrp-invalidate-{nanos}-{random}"))
}

pub async fn run(
    path: &Path,
    args: &InvalidateArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let paths = prepare_paths(&args.paths)?;
    let config = match &args.id {
        Some(_) => operator_config("operator", &session.region(args.stack.region.as_deref())),
        None => load_config(path, &args.stack, session)?,
    };
    let run = session.run(&config, Mode::Apply).await?;
    let distribution_id = match &args.id {
        Some(id) => id.clone(),
        None => {
            cloudfront::find_distribution(&run)
                .await?
                .ok_or_else(|| {
                    DeployError::state(
                        &format!("stack \"{}\"", run.names.stack()),
                        "no distribution carries its cfrp:stack tag; run `deployer up` first or pass --id",
                    )
                })?
                .id
        }
    };
    let reference = caller_reference()?;
    let created =
        cloudfront::create_invalidation(&run, &distribution_id, &paths, &reference).await?;
    let paint = session.paint();
    if session.output == Output::Text {
        writeln!(
            out,
            "Invalidation {} of distribution {distribution_id}: {} ({} path(s): {})",
            paint.bold(&created.id),
            created.status,
            paths.len(),
            paths.join(" ")
        )?;
        out.flush()?;
    }
    let mut status = created.status.clone();
    if args.wait && status != "Completed" {
        let what = format!("invalidation {} to complete", created.id);
        let wait = run.progress.wait(&what);
        let last = std::cell::RefCell::new(status.clone());
        let result = poll(&what, args.timeout, || async {
            let now = cloudfront::invalidation_status(&run, &distribution_id, &created.id).await?;
            wait.set(&format!("invalidation {}: {now}", created.id));
            let done = now == "Completed";
            *last.borrow_mut() = now;
            Ok(done)
        })
        .await;
        let last = last.into_inner();
        drop(wait);
        match result {
            Ok(()) => status = "Completed".to_string(),
            Err(DeployError::Timeout { seconds, .. }) => {
                return Err(DeployError::state(
                    &format!("invalidation {}", created.id),
                    format!(
                        "still {last} after {seconds} s; CloudFront goes on with it: check with `aws cloudfront get-invalidation --distribution-id {distribution_id} --id {}` or raise --timeout",
                        created.id
                    ),
                )
                .into());
            }
            Err(err) => return Err(err.into()),
        }
    }
    if session.output == Output::Json {
        let value = json!({
            "distribution_id": distribution_id,
            "invalidation_id": created.id,
            "status": status,
            "paths": paths,
            "caller_reference": reference,
            "waited": args.wait,
            "mutating_calls": run.mutations().len(),
        });
        writeln!(out, "{value:#}")?;
    } else if args.wait {
        writeln!(out, "Invalidation {}: {}", created.id, paint.green(&status))?;
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_path_is_named_and_duplicates_dropped() {
        let err = prepare_paths(&["/ok".into(), "nope".into(), "/a*/b".into()]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"nope\""), "{text}");
        assert!(text.contains("\"/a*/b\""), "{text}");
        assert!(!text.contains("\"/ok\""), "{text}");
        assert_eq!(
            prepare_paths(&["/a b".into(), "/a%20b".into(), "/*".into()]).unwrap(),
            vec!["/a%20b", "/*"]
        );
        let sixteen: Vec<String> = (0..16).map(|i| format!("/d{i}/*")).collect();
        assert!(prepare_paths(&sixteen).is_err());
    }
}
