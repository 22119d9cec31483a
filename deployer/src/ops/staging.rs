//! `deployer stage`, `promote` and `rollback` (and `plan --stage`): CloudFront continuous
//! deployment for the stack. `stage` applies the config to a staging distribution (copied
//! from the primary the first time) and attaches a continuous deployment policy to the
//! primary sending a share of requests, or the requests with a header, to it; `promote`
//! copies the staging config onto the primary; `rollback` stops the traffic to staging and
//! removes the policy. Each shows its plan and asks first, and holds the stack's lease while
//! it applies.

use std::io::Write;
use std::path::Path;

use clap::Args;
use serde_json::json;

use super::{Operated, exit, exit_codes_help, plan_and_apply};
use crate::cli::{Output, PlanArgs, StackArgs};
use crate::commands::{CommandError, Question, load_config};
use crate::context::Mode;
use crate::ports::cloudfront::Traffic;
use crate::resources::canary;
use crate::resources::staging::{self, MAX_WEIGHT, STICKINESS};
use crate::session::Session;
use crate::workflow::Report;

const STAGE_HELP: &str = concat!(
    "Examples:\n",
    "  deployer stage                        # 5 % of requests to the staging distribution\n",
    "  deployer stage --weight 0.1 --session-stickiness --yes\n",
    "  deployer stage --header aws-cf-cd-canary=yes   # only requests with that header\n",
    "  deployer plan --stage                 # the primary's fields staging would change\n",
    "\n",
    "The weight is at most 0.15 (CloudFront's cap). Running it again with the same config and\n",
    "traffic changes nothing. Then `deployer promote` or `deployer rollback`.\n",
    "\n",
    exit_codes_help!()
);

const PROMOTE_HELP: &str = concat!(
    "Examples:\n",
    "  deployer promote --yes\n",
    "  deployer promote --discard --yes    # also remove the policy and the staging distribution\n",
    "\n",
    "The primary keeps its aliases and its policy id; CloudFront disables the policy, so all\n",
    "traffic goes to the primary again.\n",
    "\n",
    "Before promoting, the canary comparison is read: while the evaluator has a canary rule\n",
    "(canary-5xx, canary-latency, canary-hit-ratio) in ALARM, promote refuses with exit 1,\n",
    "naming the rule and its numbers, unless --force. A rule that is INSUFFICIENT_DATA (too\n",
    "little staging traffic) or not evaluated yet is reported as a warning and does not refuse.\n",
    "Afterwards the evaluator stops comparing staging (rollback does the same).\n",
    "\n",
    exit_codes_help!()
);

const ROLLBACK_HELP: &str = concat!(
    "Examples:\n",
    "  deployer rollback --yes\n",
    "\n",
    "The policy is disabled (no more traffic to staging), detached from the primary and\n",
    "deleted; the primary's config is left as it was before `stage`. The staging distribution\n",
    "is kept for the next `stage` (`deployer down` removes it).\n",
    "\n",
    exit_codes_help!()
);

#[derive(Debug, Clone, Args)]
#[command(after_help = STAGE_HELP)]
pub struct StageArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Share of requests sent to the staging distribution, 0 to 0.15 (default 0.05).
    #[arg(long, value_parser = parse_weight, conflicts_with = "header")]
    pub weight: Option<f32>,
    /// Send only requests carrying this header and value (NAME=VALUE; NAME starts with
    /// aws-cf-cd-, as CloudFront requires).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_header)]
    pub header: Option<(String, String)>,
    /// Keep a viewer on the distribution it was first sent to (idle 300 s, at most 600 s).
    #[arg(long, conflicts_with = "header")]
    pub session_stickiness: bool,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl StageArgs {
    pub fn traffic(&self) -> Traffic {
        match &self.header {
            Some((name, value)) => Traffic::Header {
                name: name.clone(),
                value: value.clone(),
            },
            None => Traffic::Weight {
                weight: self.weight.unwrap_or(0.05),
                stickiness: self.session_stickiness.then_some(STICKINESS),
            },
        }
    }
}

#[derive(Debug, Clone, Args)]
#[command(after_help = PROMOTE_HELP)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Then remove the policy and the staging distribution (default: keep them for the
    /// next change).
    #[arg(long)]
    pub discard: bool,
    /// Promote even while a canary rule (canary-5xx, canary-latency, canary-hit-ratio) is
    /// in ALARM.
    #[arg(long)]
    pub force: bool,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = ROLLBACK_HELP)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `--weight`: a share of requests CloudFront accepts (0 to 0.15).
pub fn parse_weight(text: &str) -> Result<f32, String> {
    let weight: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number such as 0.05"))?;
    if !(0.0..=MAX_WEIGHT).contains(&weight) {
        return Err(format!(
            "{text} is outside 0 to {MAX_WEIGHT}: CloudFront sends at most 15 % of requests to a staging distribution"
        ));
    }
    Ok(weight)
}

/// `--header NAME=VALUE`: NAME must start with `aws-cf-cd-` (CloudFront's rule).
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "\"{text}\" is not NAME=VALUE (e.g. aws-cf-cd-canary=yes)"
        ));
    };
    if !name.to_ascii_lowercase().starts_with("aws-cf-cd-") || name.len() <= "aws-cf-cd-".len() {
        return Err(format!(
            "header name \"{name}\" must start with aws-cf-cd- (CloudFront's rule), e.g. aws-cf-cd-canary"
        ));
    }
    if value.is_empty() {
        return Err(format!("header \"{name}\" needs a value after ="));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Prints an operator command's outcome: the JSON document, or the plan's end in text.
fn finish(
    command: &str,
    operated: &Operated<serde_json::Value>,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let report = operated.report();
    if session.output == Output::Json {
        let mut value = report.json();
        value["command"] = json!(command);
        value["result"] = operated.value().clone();
        value["declined"] = json!(matches!(operated, Operated::Declined { .. }));
        value["mutating_calls"] = json!(report.mutations().len());
        writeln!(out, "{value:#}")?;
    }
    match operated {
        Operated::Declined { .. } => return Ok(exit::DECLINED),
        _ if session.output == Output::Json => {}
        Operated::UpToDate { report, .. } => {
            report.write_text(out)?;
            writeln!(out, "Nothing to change; 0 mutating calls.")?;
        }
        Operated::Applied { report, .. } => writeln!(
            out,
            "{} {} mutating call(s) made.",
            session.paint().green("Applied."),
            report.mutations().len()
        )?,
    }
    Ok(exit::OK)
}

fn question(yes: bool) -> Question {
    Question {
        yes,
        prompt: "Apply?",
        declined: "Nothing applied.",
    }
}

pub async fn stage(
    path: &Path,
    args: &StageArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let traffic = args.traffic();
    let operated = plan_and_apply(
        session,
        &config,
        &super::LeaseScope::of(&config),
        ("stage", "stage"),
        &question(args.yes),
        out,
        async |run| {
            let staged = staging::stage(run, &traffic).await?;
            // The evaluator's canary rules compare the staging distribution from now on
            // ("" until a plan's staging distribution exists).
            let domain = staged.staging.as_ref().map_or("", |s| s.domain.as_str());
            canary::set_staging(run, Some(domain)).await?;
            Ok(json!({
                "primary_id": staged.primary_id,
                "staging_id": staged.staging.as_ref().map(|s| s.id.clone()),
                "staging_domain": staged.staging.as_ref().map(|s| s.domain.clone()),
                "policy_id": staged.policy_id,
            }))
        },
    )
    .await?;
    finish("stage", &operated, session, out)
}

pub async fn promote(
    path: &Path,
    args: &PromoteArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let operated = plan_and_apply(
        session,
        &config,
        &super::LeaseScope::of(&config),
        ("promote", "promote"),
        &question(args.yes),
        out,
        async |run| {
            let comparison = canary_gate(run, args.force).await?;
            let promoted = staging::promote(run, args.discard).await?;
            // No traffic goes to staging any more: the canary rules stop comparing it.
            canary::set_staging(run, None).await?;
            Ok(json!({
                "primary_id": promoted.primary_id,
                "staging_id": promoted.staging_id,
                "discarded": promoted.discarded,
                "canary": comparison,
            }))
        },
    )
    .await?;
    finish("promote", &operated, session, out)
}

pub async fn rollback(
    path: &Path,
    args: &RollbackArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let operated = plan_and_apply(
        session,
        &config,
        &super::LeaseScope::of(&config),
        ("rollback", "rollback"),
        &question(args.yes),
        out,
        async |run| {
            let removed = staging::rollback(run).await?;
            canary::set_staging(run, None).await?;
            Ok(json!({ "policy_id": removed }))
        },
    )
    .await?;
    finish("rollback", &operated, session, out)
}

/// The canary comparison before `promote`: refused (exit 1) while a canary rule the
/// evaluator published is in ALARM, unless `force`; rules without a verdict are reported as
/// warnings and do not refuse. None when the canary rules are off or nothing is staged.
async fn canary_gate(
    run: &crate::context::Run<'_>,
    force: bool,
) -> Result<Option<crate::monitor::canary::Comparison>, crate::error::DeployError> {
    use crate::monitor::canary as comparison;
    if !run.config.alarms.enabled || !run.config.staging.canary.enabled {
        return Ok(None);
    }
    let (Some(primary), Some((staging, _))) = (
        crate::resources::cloudfront::find_distribution(run).await?,
        staging::find_staging(run).await?,
    ) else {
        return Ok(None);
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let found = comparison::fetch(
        run.config,
        &run.aws.cloudwatch,
        &primary.domain,
        &staging.domain,
        now_ms,
    )
    .await?;
    if let Some(why) = comparison::refusal(&found) {
        if !force {
            return Err(crate::error::DeployError::state("promote refused", why));
        }
        run.warn(
            CANARY,
            &staging.domain,
            format!("--force: promoting although {why}"),
        );
    }
    for message in comparison::undecided(&found) {
        run.warn(CANARY, &staging.domain, message);
    }
    Ok(Some(found))
}

const CANARY: &str = "Canary";

/// `plan --stage`: the primary's fields the staging distribution would change, as a plan;
/// nothing is sent. Exit 2 when they differ, 0 when staging would equal the primary.
pub async fn plan_stage(
    path: &Path,
    args: &PlanArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.up.stack, session)?;
    let mut graph = cfrp_engine::Graph::new();
    graph.add("staging against primary", &[]);
    let run = session.run(&config, Mode::Plan).await?;
    staging::stage_diff(&run).await?;
    let plan = crate::plan::Plan::of(&run, &graph);
    let pending = plan.pending();
    let report = Report::planned(plan, None);
    match session.output {
        Output::Json => writeln!(out, "{:#}", report.json())?,
        Output::Text => report.write_text(out)?,
    }
    Ok(if pending { 2 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_capped_at_fifteen_percent() {
        assert_eq!(parse_weight("0.05"), Ok(0.05));
        assert_eq!(parse_weight("0.15"), Ok(0.15));
        assert!(parse_weight("0.16").unwrap_err().contains("0.15"));
        assert!(parse_weight("-0.1").is_err());
        assert!(parse_weight("five").unwrap_err().contains("not a number"));
    }

    #[test]
    fn headers_need_cloudfronts_prefix_and_a_value() {
        assert_eq!(
            parse_header("aws-cf-cd-canary=yes"),
            Ok(("aws-cf-cd-canary".to_string(), "yes".to_string()))
        );
        assert!(
            parse_header("x-canary=yes")
                .unwrap_err()
                .contains("aws-cf-cd-")
        );
        assert!(
            parse_header("aws-cf-cd-canary")
                .unwrap_err()
                .contains("NAME=VALUE")
        );
        assert!(
            parse_header("aws-cf-cd-canary=")
                .unwrap_err()
                .contains("value")
        );
    }
}
