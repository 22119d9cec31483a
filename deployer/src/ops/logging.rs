//! `deployer logging`: attaches CloudFront real-time logging to an existing distribution that
//! this tool did not create. Without `--stream-arn` it creates the Kinesis stream, the role
//! CloudFront writes with and the real-time log config, with the same resource code `up`
//! uses and names derived from the distribution id, so a second run makes no change. In the
//! distribution it sets only each cache behaviour's `RealtimeLogConfigArn`.
//!
//! `--detach` undoes it: the log config comes off every behaviour that carries it (behaviours
//! logging elsewhere are left alone), then the log config, the role and the stream named
//! after the distribution are deleted. A stream or role that was given by ARN is not ours
//! and stays.

use std::io::Write;

use aws_sdk_cloudfront::types::DistributionConfig;
use cfrp_config::{Field, checks};
use clap::Args;
use serde_json::json;

use super::{
    Operated, Paint, distribution_lease_of, exit, exit_codes_help, operator_config,
    parse_distribution_id, plan_and_apply,
};
use crate::cli::Output;
use crate::commands::{CommandError, Question};
use crate::diff::Action;
use crate::error::DeployError;
use crate::resources::{cloudfront, iam, kinesis};
use crate::session::Session;
use crate::spec::{Arns, policy};

const HELP: &str = concat!(
    "Examples:\n",
    "  deployer logging --id E2EXAMPLE1ABC                # shows the plan and asks\n",
    "  deployer logging --id E2EXAMPLE1ABC --yes          # for scripts\n",
    "  deployer logging --id E2EXAMPLE1ABC --sampling-rate 10 --fields timestamp,c-ip,sc-status,time-taken\n",
    "  deployer logging --id E2EXAMPLE1ABC --stream-arn arn:aws:kinesis:us-east-1:123456789012:stream/logs\n",
    "\n",
    "Resources it creates are named cfrp-dist-<id>-…: the Kinesis stream (on-demand, 24 h) and\n",
    "the real-time log config cfrp-dist-<id>-realtime-logs, and the IAM role\n",
    "cfrp-dist-<id>-cloudfront-logs. Run it again to converge; a second run changes nothing.\n",
    "Like `up`, it shows what it will change and asks first; --yes answers for scripts, and\n",
    "without --yes and without a terminal it refuses (exit 1) and changes nothing.\n",
    "\n",
    "  deployer logging --id E2EXAMPLE1ABC --detach\n",
    "takes the log config off the distribution's cache behaviours and deletes those three\n",
    "resources (a stream or role given by ARN stays); pass the same --region as when attaching.\n",
    "\n",
    exit_codes_help!()
);

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct LoggingArgs {
    /// The distribution to attach real-time logging to.
    #[arg(long, value_parser = parse_distribution_id)]
    pub id: String,
    /// An existing Kinesis data stream to log to (default: create one for the distribution).
    #[arg(long, value_name = "ARN")]
    pub stream_arn: Option<String>,
    /// An existing role CloudFront may assume to write to the stream (default: create one
    /// allowed to write to that stream only).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Percent of viewer requests logged, 1–100.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub sampling_rate: u8,
    /// Fields in record order, comma-separated or repeated (default: the analyser's fields).
    #[arg(long, value_delimiter = ',', value_name = "FIELD")]
    pub fields: Vec<String>,
    /// Region of the Kinesis stream it creates (default: AWS_REGION, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Remove what this command attached instead: the log config comes off the cache
    /// behaviours, and the log config, role and stream it created are deleted.
    #[arg(long, conflicts_with_all = ["stream_arn", "role_arn", "fields", "sampling_rate"])]
    pub detach: bool,
    /// Apply without asking (for scripts and CI); without it, and without a terminal to
    /// ask on, nothing is changed.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The fields by CloudFront name; an unknown name is an error that names it.
pub fn parse_fields(given: &[String]) -> Result<Vec<Field>, CommandError> {
    if given.is_empty() {
        return Ok(Field::default_set());
    }
    let mut fields = Vec::new();
    for name in given.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let field = Field::from_name(name).ok_or_else(|| CommandError::Flag {
            flag: "--fields",
            message: format!(
                "\"{name}\" is not a CloudFront real-time log field; the documented fields are {}",
                Field::ALL
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    if fields.is_empty() {
        return Err(CommandError::Flag {
            flag: "--fields",
            message: "no field given".to_string(),
        });
    }
    Ok(fields)
}

fn check_arn(flag: &'static str, arn: &str, service: &str) -> Result<(), CommandError> {
    let parsed = checks::arn(arn).map_err(|message| CommandError::Flag { flag, message })?;
    if parsed.service != service {
        return Err(CommandError::Flag {
            flag,
            message: format!("\"{arn}\" is not a {service} ARN"),
        });
    }
    Ok(())
}

/// Sets `arn` on the default and every cache behaviour; answers whether anything changed.
pub fn attach(config: &mut DistributionConfig, arn: &str) -> bool {
    let mut changed = false;
    if let Some(default) = config.default_cache_behavior.as_mut()
        && default.realtime_log_config_arn.as_deref() != Some(arn)
    {
        default.realtime_log_config_arn = Some(arn.to_string());
        changed = true;
    }
    if let Some(behaviors) = config.cache_behaviors.as_mut() {
        for behavior in behaviors.items.iter_mut().flatten() {
            if behavior.realtime_log_config_arn.as_deref() != Some(arn) {
                behavior.realtime_log_config_arn = Some(arn.to_string());
                changed = true;
            }
        }
    }
    changed
}

/// Clears the log config named `log_config_name` (matched by its ARN's resource part) from
/// the default and every cache behaviour; answers whether anything changed.
pub fn detach(config: &mut DistributionConfig, log_config_name: &str) -> bool {
    let suffix = format!(":realtime-log-config/{log_config_name}");
    let mut changed = false;
    let mut clear = |arn: &mut Option<String>| {
        if arn.as_deref().is_some_and(|a| a.ends_with(&suffix)) {
            *arn = None;
            changed = true;
        }
    };
    if let Some(default) = config.default_cache_behavior.as_mut() {
        clear(&mut default.realtime_log_config_arn);
    }
    if let Some(behaviors) = config.cache_behaviors.as_mut() {
        for behavior in behaviors.items.iter_mut().flatten() {
            clear(&mut behavior.realtime_log_config_arn);
        }
    }
    changed
}

/// What attaching found and did.
struct Attaching {
    arns: Arns,
    log_config_arn: String,
    /// Cache behaviours of the distribution, the default one included.
    behaviours: usize,
    /// This run put the log config on the behaviours.
    attached: bool,
}

pub async fn run(
    args: &LoggingArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    if args.detach {
        return run_detach(args, session, out).await;
    }
    let fields = parse_fields(&args.fields)?;
    if let Some(arn) = &args.stream_arn {
        check_arn("--stream-arn", arn, "kinesis")?;
    }
    if let Some(arn) = &args.role_arn {
        check_arn("--role-arn", arn, "iam")?;
    }
    if let Some(region) = &args.region {
        checks::region(region).map_err(|message| CommandError::Flag {
            flag: "--region",
            message,
        })?;
    }
    let id = &args.id;
    let mut config = operator_config(
        &format!("dist-{}", id.to_ascii_lowercase()),
        &session.region(args.region.as_deref()),
    );
    config.logging.fields = fields;
    config.logging.sampling_rate = args.sampling_rate;
    let question = Question {
        yes: args.yes,
        prompt: "Apply?",
        declined: "Nothing applied.",
    };
    let step = format!("attach real-time logging to {id}");
    let lease = distribution_lease_of(session, &config, id).await?;
    let operated = plan_and_apply(
        session,
        &config,
        &lease,
        ("logging", &step),
        &question,
        out,
        async |run| {
            let Some((existing, _)) = cloudfront::read_distribution_config(run, id).await? else {
                return Err(no_such_distribution(id));
            };
            let mut arns = Arns::new(run.config, &run.account, Some(id));
            match &args.stream_arn {
                Some(arn) => arns.stream.clone_from(arn),
                None => kinesis::converge(run).await?,
            }
            match &args.role_arn {
                Some(arn) => arns.cloudfront_logs_role.clone_from(arn),
                None => {
                    let role = iam::RoleSpec {
                        name: run.names.cloudfront_logs_role(),
                        description: format!(
                            "CloudFront writes real-time logs of distribution {id}"
                        ),
                        trust: policy::trust("cloudfront.amazonaws.com", &run.account),
                        policy: policy::cloudfront_logs(&arns),
                    };
                    iam::converge(run, &role).await?;
                }
            }
            let log_config_arn = cloudfront::converge_log_config(run, &arns).await?;
            let behaviours = 1 + existing
                .cache_behaviors()
                .map(|b| b.items().len())
                .unwrap_or_default();
            // Decided on the config just read, before any call, as every step decides.
            let needed = attach(&mut existing.clone(), &log_config_arn);
            let action = if needed {
                Action::Update {
                    changes: vec![crate::diff::FieldChange {
                        field: "cache_behaviors[*].realtime_log_config_arn".to_string(),
                        from: None,
                        to: Some(log_config_arn.clone()),
                    }],
                }
            } else {
                Action::Unchanged
            };
            run.note(DISTRIBUTION, id, action);
            let attached = needed
                && run.applying()
                && cloudfront::edit_distribution(run, id, |c| attach(c, &log_config_arn)).await?;
            Ok(Attaching {
                arns,
                log_config_arn,
                behaviours,
                attached,
            })
        },
    )
    .await?;
    let report = operated.report();
    let done = operated.value();
    if session.output == Output::Json {
        let value = json!({
            "distribution_id": id,
            "realtime_log_config_arn": done.log_config_arn,
            "stream_arn": done.arns.stream,
            "role_arn": done.arns.cloudfront_logs_role,
            "sampling_rate": args.sampling_rate,
            "fields": config.logging.fields,
            "behaviors": done.behaviours,
            "attached": done.attached,
            "declined": matches!(operated, Operated::Declined { .. }),
            "changes": report.plan.changes,
            "mutating_calls": report.mutations().len(),
            "mutations": report.mutations(),
        });
        writeln!(out, "{value:#}")?;
    }
    match operated {
        Operated::Declined { .. } => return Ok(exit::DECLINED),
        _ if session.output == Output::Json => return Ok(exit::OK),
        _ => {}
    }
    print_changes(out, &report.plan.changes, session.paint())?;
    writeln!(
        out,
        "Distribution {id}: real-time logging {} on {} cache behaviour(s), {}% sampled, {} field(s)\n  log config {}\n  stream {}\n{} mutating call(s) made.",
        if done.attached {
            "attached"
        } else {
            "already attached"
        },
        done.behaviours,
        args.sampling_rate,
        config.logging.fields.len(),
        done.log_config_arn,
        done.arns.stream,
        report.mutations().len()
    )?;
    Ok(exit::OK)
}

const DISTRIBUTION: &str = "CloudFront distribution";

fn no_such_distribution(id: &str) -> DeployError {
    DeployError::state(
        &format!("distribution {id}"),
        "no such distribution in this account",
    )
}

/// One line per change made (created, updated, deleted), in the order made.
fn print_changes(
    out: &mut dyn Write,
    changes: &[crate::diff::Change],
    paint: Paint,
) -> std::io::Result<()> {
    for change in changes.iter().filter(|c| c.action.is_change()) {
        writeln!(
            out,
            "  {} {} {}",
            paint.green(change.action.label()),
            change.kind,
            change.name
        )?;
    }
    Ok(())
}

/// What detaching found and did.
struct Detaching {
    distribution_exists: bool,
    /// This run took the log config off the behaviours.
    detached: bool,
}

async fn run_detach(
    args: &LoggingArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    if let Some(region) = &args.region {
        checks::region(region).map_err(|message| CommandError::Flag {
            flag: "--region",
            message,
        })?;
    }
    let id = &args.id;
    let config = operator_config(
        &format!("dist-{}", id.to_ascii_lowercase()),
        &session.region(args.region.as_deref()),
    );
    let question = Question {
        yes: args.yes,
        prompt: "Detach and delete?",
        declined: "Nothing removed.",
    };
    let step = format!("detach real-time logging from {id}");
    let lease = distribution_lease_of(session, &config, id).await?;
    let operated = plan_and_apply(
        session,
        &config,
        &lease,
        ("logging --detach", &step),
        &question,
        out,
        async |run| {
            let log_config = run.names.realtime_log_config();
            // A distribution deleted meanwhile has nothing to detach; what `logging` created for
            // it is still removed.
            let existing = cloudfront::read_distribution_config(run, id).await?;
            let distribution_exists = existing.is_some();
            let needed = existing.is_some_and(|(mut c, _)| detach(&mut c, &log_config));
            if needed {
                run.note(
                    DISTRIBUTION,
                    id,
                    Action::Update {
                        changes: vec![crate::diff::FieldChange {
                            field: "cache_behaviors[*].realtime_log_config_arn".to_string(),
                            from: Some(log_config.clone()),
                            to: None,
                        }],
                    },
                );
            }
            let detached = needed
                && run.applying()
                && cloudfront::edit_distribution(run, id, |c| detach(c, &log_config)).await?;
            // The order `down` uses: the log config only once no behaviour refers to it.
            cloudfront::remove_log_config(run).await?;
            let role = run.names.cloudfront_logs_role();
            iam::remove(run, &role).await?;
            kinesis::remove(run).await?;
            Ok(Detaching {
                distribution_exists,
                detached,
            })
        },
    )
    .await?;
    let report = operated.report();
    let done = operated.value();
    if session.output == Output::Json {
        let value = json!({
            "distribution_id": id,
            "distribution_exists": done.distribution_exists,
            "detached": done.detached,
            "declined": matches!(operated, Operated::Declined { .. }),
            "changes": report.plan.changes,
            "mutating_calls": report.mutations().len(),
            "mutations": report.mutations(),
        });
        writeln!(out, "{value:#}")?;
    }
    match operated {
        Operated::Declined { .. } => return Ok(exit::DECLINED),
        _ if session.output == Output::Json => return Ok(exit::OK),
        _ => {}
    }
    print_changes(out, &report.plan.changes, session.paint())?;
    let state = if !done.distribution_exists {
        "not found; removed what logging had created for it"
    } else if done.detached {
        "real-time logging detached"
    } else {
        "no behaviour carried this tool's log config"
    };
    writeln!(
        out,
        "Distribution {id}: {state}.\n{} mutating call(s) made.",
        report.mutations().len()
    )?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudfront::types::{CacheBehavior, CacheBehaviors, DefaultCacheBehavior};

    #[test]
    fn fields_default_to_the_analysers_and_unknown_names_are_named() {
        assert_eq!(parse_fields(&[]).unwrap(), Field::default_set());
        assert_eq!(
            parse_fields(&["timestamp".into(), "c-ip".into()]).unwrap(),
            vec![Field::Timestamp, Field::ClientIp]
        );
        let err = parse_fields(&["timestamp".into(), "c-country-code".into()]).unwrap_err();
        assert!(err.to_string().contains("\"c-country-code\""), "{err}");
    }

    #[test]
    fn attach_sets_every_behaviour_once() {
        let behavior = |pattern: &str| {
            CacheBehavior::builder()
                .path_pattern(pattern)
                .target_origin_id("o")
                .viewer_protocol_policy("redirect-to-https".into())
                .build()
                .unwrap()
        };
        let mut config = DistributionConfig::builder()
            .caller_reference("r")
            .comment("")
            .enabled(true)
            .default_cache_behavior(
                DefaultCacheBehavior::builder()
                    .target_origin_id("o")
                    .viewer_protocol_policy("redirect-to-https".into())
                    .build()
                    .unwrap(),
            )
            .cache_behaviors(
                CacheBehaviors::builder()
                    .quantity(2)
                    .items(behavior("/a/*"))
                    .items(behavior("/b/*"))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert!(attach(&mut config, "arn:x"));
        assert!(!attach(&mut config, "arn:x"));
        let attached = config.clone();
        let behaviors = config.cache_behaviors().unwrap().items();
        assert!(
            behaviors
                .iter()
                .all(|b| b.realtime_log_config_arn() == Some("arn:x"))
        );
        assert_eq!(
            config
                .default_cache_behavior()
                .unwrap()
                .realtime_log_config_arn(),
            Some("arn:x")
        );
        // Detaching clears exactly this tool's log config, and only once.
        let ours =
            "arn:aws:cloudfront::123456789012:realtime-log-config/cfrp-dist-e1-realtime-logs";
        let mut config = attached;
        attach(&mut config, ours);
        if let Some(b) = config
            .cache_behaviors
            .as_mut()
            .and_then(|b| b.items.as_mut())
            .and_then(|items| items.get_mut(1))
        {
            b.realtime_log_config_arn =
                Some("arn:aws:cloudfront::1:realtime-log-config/theirs".into());
        }
        assert!(detach(&mut config, "cfrp-dist-e1-realtime-logs"));
        assert!(!detach(&mut config, "cfrp-dist-e1-realtime-logs"));
        let arns: Vec<Option<&str>> = std::iter::once(
            config
                .default_cache_behavior()
                .unwrap()
                .realtime_log_config_arn(),
        )
        .chain(
            config
                .cache_behaviors()
                .unwrap()
                .items()
                .iter()
                .map(|b| b.realtime_log_config_arn()),
        )
        .collect();
        assert_eq!(
            arns,
            vec![
                None,
                None,
                Some("arn:aws:cloudfront::1:realtime-log-config/theirs")
            ]
        );
    }
}
