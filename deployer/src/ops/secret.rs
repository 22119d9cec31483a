//! `deployer secret`: the origin-verify secret (the `X-Origin-Verify` header CloudFront adds
//! to every origin request). `show` prints it, read from the distribution; `rotate` replaces
//! it without downtime in two phases:
//!
//! 1. `secret rotate` makes the next value and keeps it as pending, an SSM SecureString
//!    `/cfrp/<stack>/origin-verify/next`, and shows it: configure the origins to accept both.
//! 2. `secret rotate --apply` switches every origin of the distribution to the pending value
//!    (a plan, the question or `--yes`, the stack's lease) and removes the pending value: the
//!    origins may then drop the old one.
//!
//! `up` keeps whatever value the distribution carries, also during a rotation.

use std::io::Write;

use aws_sdk_cloudfront::types::{CustomHeaders, DistributionConfig, OriginCustomHeader};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{LeaseScope, Operated, exit, exit_codes_help, plan_and_apply};
use crate::cli::{Output, StackArgs};
use crate::commands::{CommandError, Question, load_config};
use crate::context::{Mode, Run};
use crate::diff::Action;
use crate::error::DeployError;
use crate::lease;
use crate::ports::ssm::Written;
use crate::resources::cloudfront;
use crate::session::Session;
use crate::spec::distribution::{self as spec, ORIGIN_VERIFY_HEADER};
use crate::spec::secret::origin_secrets;

const HELP: &str = concat!(
    "Examples:\n",
    "  deployer secret show                 # the value origins must check\n",
    "  deployer secret rotate               # phase 1: a new value, pending; origins accept both\n",
    "  deployer secret rotate --apply --yes # phase 2: CloudFront sends the new value\n",
    "\n",
    "The value is printed only by these commands: `up`, `plan` and their JSON show a digest.\n",
    "\n",
    exit_codes_help!()
);

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct SecretArgs {
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SecretCommand {
    /// Print the origin-verify value the distribution sends (and the pending next value
    /// during a rotation).
    Show(StackArgs),
    /// Phase 1: make the next value and keep it pending, to configure origins to accept it
    /// beside the current one; `--apply` (phase 2) switches CloudFront to it.
    Rotate(RotateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Phase 2: switch every origin to the pending value and remove it from SSM.
    #[arg(long)]
    pub apply: bool,
    /// Apply without asking (with --apply).
    #[arg(long, short = 'y', requires = "apply")]
    pub yes: bool,
}

/// The SSM parameter holding the pending value during a rotation.
pub fn pending_parameter(stack: &str) -> String {
    format!("/cfrp/{stack}/origin-verify/next")
}

/// Every origin given `secret` as its origin-verify header (added where missing).
pub fn with_secret(
    config: &DistributionConfig,
    secret: &str,
) -> Result<DistributionConfig, DeployError> {
    let mut config = config.clone();
    if let Some(origins) = config.origins.as_mut() {
        for origin in &mut origins.items {
            let mut headers: Vec<OriginCustomHeader> = origin
                .custom_headers
                .take()
                .and_then(|h| h.items)
                .unwrap_or_default();
            match headers
                .iter_mut()
                .find(|h| h.header_name.eq_ignore_ascii_case(ORIGIN_VERIFY_HEADER))
            {
                Some(header) => header.header_value = secret.to_string(),
                None => headers.push(
                    OriginCustomHeader::builder()
                        .header_name(ORIGIN_VERIFY_HEADER)
                        .header_value(secret)
                        .build()?,
                ),
            }
            origin.custom_headers = Some(
                CustomHeaders::builder()
                    .quantity(headers.len() as i32)
                    .set_items(Some(headers))
                    .build()?,
            );
        }
    }
    Ok(config)
}

fn no_distribution(stack: &str) -> DeployError {
    DeployError::state(
        &format!("stack {stack}"),
        "has no distribution (none tagged with the stack): run `deployer up` first",
    )
}

/// The distribution's id, config and ETag.
async fn distribution(run: &Run<'_>) -> Result<(String, DistributionConfig, String), DeployError> {
    let stack = run.names.stack().to_string();
    let found = cloudfront::find_distribution(run)
        .await?
        .ok_or_else(|| no_distribution(&stack))?;
    let (config, etag) = cloudfront::read_distribution_config(run, &found.id)
        .await?
        .ok_or_else(|| no_distribution(&stack))?;
    Ok((found.id, config, etag))
}

pub async fn run(
    path: &std::path::Path,
    args: &SecretArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    match &args.command {
        SecretCommand::Show(stack) => show(path, stack, session, out).await,
        SecretCommand::Rotate(rotate) if rotate.apply => apply(path, rotate, session, out).await,
        SecretCommand::Rotate(rotate) => begin(path, rotate, session, out).await,
    }
}

/// `secret show`.
async fn show(
    path: &std::path::Path,
    args: &StackArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, args, session)?;
    let run = session.run(&config, Mode::Plan).await?;
    let (id, distribution, _) = distribution(&run).await?;
    let origins = origin_secrets(&distribution);
    let current = crate::spec::secret::current(&distribution);
    let pending = run
        .ports
        .parameters
        .get(&pending_parameter(&config.name))
        .await?
        .map(|p| p.value);
    match session.output {
        Output::Json => writeln!(
            out,
            "{:#}",
            json!({
                "stack": config.name,
                "distribution_id": id,
                "header": ORIGIN_VERIFY_HEADER,
                "current": current,
                "origins": origins.iter().map(|(id, v)| json!({"id": id, "value": v})).collect::<Vec<_>>(),
                "pending": pending,
            })
        )?,
        Output::Text => {
            match &current {
                Some(value) => writeln!(
                    out,
                    "Distribution {id} sends `{ORIGIN_VERIFY_HEADER}: {value}` to every origin."
                )?,
                None => {
                    writeln!(
                        out,
                        "Distribution {id}'s origins do not all carry one value (`deployer up` gives them the value most carry):"
                    )?;
                    for (origin, value) in &origins {
                        writeln!(
                            out,
                            "  origin {origin}: {}",
                            value.as_deref().unwrap_or("(no header)")
                        )?;
                    }
                }
            }
            if let Some(pending) = &pending {
                writeln!(
                    out,
                    "Rotation pending: the next value is {pending}; origins should accept both until `deployer secret rotate --apply` switches CloudFront to it."
                )?;
            }
        }
    }
    Ok(exit::OK)
}

/// `secret rotate`, phase 1.
async fn begin(
    path: &std::path::Path,
    args: &RotateArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let run = session.run(&config, Mode::Plan).await?;
    let (id, distribution, _) = distribution(&run).await?;
    let name = pending_parameter(&config.name);
    let parameters = run.ports.parameters.clone();
    let (pending, created) =
        lease::with_lease(parameters.clone(), &config.name, "secret rotate", async {
            // A rotation already begun keeps its value: origins may be configured for it.
            if let Some(existing) = parameters.get(&name).await? {
                return Ok::<_, CommandError>((existing.value, false));
            }
            let next = cloudfront::new_secret()?;
            match parameters.put(&name, &next, true, false).await? {
                Written::Version(_) => Ok((next, true)),
                Written::AlreadyExists => {
                    let existing = parameters.get(&name).await?.ok_or_else(|| {
                        DeployError::state(&name, "created and deleted at once by another run")
                    })?;
                    Ok((existing.value, false))
                }
            }
        })
        .await?;
    let current = crate::spec::secret::current(&distribution);
    match session.output {
        Output::Json => writeln!(
            out,
            "{:#}",
            json!({
                "stack": config.name,
                "distribution_id": id,
                "header": ORIGIN_VERIFY_HEADER,
                "current": current,
                "pending": pending,
                "created": created,
            })
        )?,
        Output::Text => {
            writeln!(
                out,
                "{} next `{ORIGIN_VERIFY_HEADER}` value for distribution {id}: {pending}",
                if created {
                    "New pending"
                } else {
                    "Rotation already pending; the"
                }
            )?;
            if let Some(current) = &current {
                writeln!(out, "The current value (still sent): {current}")?;
            }
            writeln!(
                out,
                "Configure every origin to accept both values (README: \"The origin-verify secret\"), then run `deployer secret rotate --apply`."
            )?;
        }
    }
    Ok(exit::OK)
}

/// `secret rotate --apply`, phase 2.
async fn apply(
    path: &std::path::Path,
    args: &RotateArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let name = pending_parameter(&config.name);
    let question = Question {
        yes: args.yes,
        prompt: "Switch CloudFront to the new value?",
        declined: "Nothing applied.",
    };
    let step = "rotate the origin-verify secret";
    let operated = plan_and_apply(
        session,
        &config,
        &LeaseScope::of(&config),
        ("secret rotate --apply", step),
        &question,
        out,
        async |run| {
            let Some(pending) = run.ports.parameters.get(&name).await? else {
                // Nothing pending: done already (its value removed), or never begun.
                return Err(DeployError::state(
                    &name,
                    "no rotation is pending: `deployer secret rotate` makes the next value first",
                ));
            };
            let (id, current, etag) = distribution(run).await?;
            let desired = with_secret(&current, &pending.value)?;
            let action = run.decide(
                "CloudFront distribution",
                &run.names.caller_reference(),
                &spec::flatten(&desired),
                Some(&spec::flatten(&current)),
            );
            run.note("SSM parameter", &name, Action::Delete);
            if !run.applying() {
                return Ok(id);
            }
            if action.is_change() {
                run.mutating("cloudfront:UpdateDistribution", &id)?;
                run.ports
                    .cloudfront
                    .update_distribution(&id, &etag, desired)
                    .await?;
            }
            // Only once CloudFront carries the new value: a failed update keeps it pending.
            run.mutating("ssm:DeleteParameter", &name)?;
            run.ports.parameters.delete(&name).await?;
            Ok(id)
        },
    )
    .await?;
    let report = operated.report();
    match session.output {
        Output::Json => {
            let mut value = report.json();
            value["distribution_id"] = json!(operated.value());
            value["switched"] = json!(matches!(operated, Operated::Applied { .. }));
            writeln!(out, "{value:#}")?;
        }
        Output::Text => {
            if let Operated::Applied { report, .. } = &operated {
                report.write_text(out)?;
                writeln!(
                    out,
                    "CloudFront now sends the new value (to every edge once the distribution is Deployed); origins may stop accepting the old one after that."
                )?;
            }
        }
    }
    Ok(match operated {
        Operated::Declined { .. } => exit::DECLINED,
        _ => exit::OK,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::fake::FakeAccount;
    use crate::spec::secret::Choice;

    #[test]
    fn every_origin_gets_the_new_value_and_other_headers_stay() {
        let header = |name: &str, value: &str| {
            OriginCustomHeader::builder()
                .header_name(name)
                .header_value(value)
                .build()
                .expect("header")
        };
        let origin = |id: &str, headers: Vec<OriginCustomHeader>| {
            let mut origin = aws_sdk_cloudfront::types::Origin::builder()
                .id(id)
                .domain_name("app.example.com");
            if !headers.is_empty() {
                origin = origin.custom_headers(
                    CustomHeaders::builder()
                        .quantity(headers.len() as i32)
                        .set_items(Some(headers))
                        .build()
                        .expect("headers"),
                );
            }
            origin.build().expect("origin")
        };
        let config = DistributionConfig::builder()
            .caller_reference("cfrp-shop")
            .comment("")
            .enabled(true)
            .origins(
                aws_sdk_cloudfront::types::Origins::builder()
                    .quantity(2)
                    .items(origin(
                        "web",
                        vec![header("X-Team", "shop"), header("x-origin-verify", "old")],
                    ))
                    .items(origin("api", vec![]))
                    .build()
                    .expect("origins"),
            )
            .build()
            .expect("config");
        let rotated = with_secret(&config, "new").expect("rotated");
        let secrets = origin_secrets(&rotated);
        assert_eq!(
            secrets,
            vec![
                ("web".to_string(), Some("new".to_string())),
                ("api".to_string(), Some("new".to_string()))
            ]
        );
        let web = &rotated.origins.as_ref().expect("origins").items[0];
        let headers = web
            .custom_headers
            .as_ref()
            .and_then(|h| h.items.clone())
            .unwrap_or_default();
        assert_eq!(headers.len(), 2);
        assert!(
            headers
                .iter()
                .any(|h| h.header_name == "X-Team" && h.header_value == "shop")
        );
        // After rotation `up` keeps the rotated value.
        assert_eq!(
            crate::spec::secret::choose(Some(&rotated), || Err::<String, ()>(())),
            Ok(Choice::Kept("new".into()))
        );
    }

    #[tokio::test]
    async fn the_pending_value_is_a_secure_string_under_the_stack() {
        let fake = FakeAccount::new("eu-west-1", "123456789012");
        let parameters = fake.ports().parameters;
        let name = pending_parameter("shop");
        assert_eq!(name, "/cfrp/shop/origin-verify/next");
        parameters
            .put(&name, "next", true, false)
            .await
            .expect("put");
        assert_eq!(fake.parameter(&name).map(|p| p.secure), Some(true));
    }
}
