//! `deployer import --id DIST`: writes a commented `proxy.toml` describing an existing
//! distribution (the mapping is `spec::import`, pure), naming every setting the config
//! cannot hold; with `--adopt` it tags the distribution so the stack owns it from then on.
//!
//! Reads: the distribution's config and tags, the custom cache and response headers policies
//! its behaviours reference, the stack's real-time log config when the distribution uses it,
//! and its monitoring subscription. Adopting writes three tags (`cfrp:stack`,
//! `cfrp:managed-by`, `cfrp:adopted` = the distribution's id) under the stack's lease; `up`
//! then finds the distribution as the stack's although its caller reference is not the
//! stack's (see `resources::cloudfront::find_with_config`).

use std::io::Write;
use std::path::Path;

use cfrp_config::naming::{ADOPTED_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, STACK_TAG};
use cfrp_config::{Names, StackConfig, checks};
use clap::Args;
use serde_json::json;

use super::{exit, exit_codes_help, operator_config, parse_distribution_id};
use crate::cli::Output;
use crate::commands::CommandError;
use crate::context::{Mode, Run};
use crate::error::DeployError;
use crate::ports::cloudfront::CachePolicy;
use crate::session::Session;
use crate::spec::import::{Imported, Observed, Unrepresentable, import, stack_of};

const HELP: &str = concat!(
    "Examples:\n",
    "  deployer import --id E2EXAMPLE1ABC\n",
    "  deployer import --id E2EXAMPLE1ABC --name shop --region eu-west-1 --config shop.toml\n",
    "  deployer import --id E2EXAMPLE1ABC --adopt     # then: deployer plan\n",
    "\n",
    "The file gets the distribution's origins, behaviours, policies, aliases, certificate,\n",
    "price class, geo restriction, WAF web ACL, error responses, origin groups, Origin Shield\n",
    "and additional metrics; what it cannot hold is marked NOT IMPORTED in it and listed.\n",
    "An existing file is only replaced with --force. With --adopt the distribution is tagged\n",
    "for the stack: `up` then changes it (and `down` deletes it) like one it created.\n",
    "\n",
    exit_codes_help!()
);

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct ImportArgs {
    /// The distribution to describe.
    #[arg(long, value_parser = parse_distribution_id)]
    pub id: String,
    /// The stack name to write (default: the distribution's `cfrp:stack` tag, else its id in
    /// lower case).
    #[arg(long)]
    pub name: Option<String>,
    /// The stack's region (default: the region of the stack's log stream when the
    /// distribution has one, else AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// Tag the distribution for the stack, so `plan` and `up` treat it as the stack's.
    #[arg(long)]
    pub adopt: bool,
    /// Overwrite the config file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// What the import read and wrote.
#[derive(Debug, Clone)]
pub struct Described {
    pub stack: String,
    pub region: String,
    pub imported: Imported,
}

/// Reads distribution `id` and what it references, and maps it (`spec::import`). `name` and
/// `region` override the stack name and region the distribution suggests.
pub async fn describe(
    run: &Run<'_>,
    id: &str,
    name: Option<&str>,
    region: Option<&str>,
) -> Result<Described, DeployError> {
    let cloudfront = &run.ports.cloudfront;
    let Some((config, _)) = cloudfront.distribution_config(id).await? else {
        return Err(DeployError::state(
            &format!("distribution {id}"),
            "no such distribution in this account (check --id and the credentials' account)",
        ));
    };
    let tags = cloudfront.distribution_tags(id).await?.unwrap_or_default();
    let stack = match name {
        Some(name) => name.to_string(),
        None => stack_of(&tags)
            .map(str::to_string)
            .unwrap_or_else(|| id.to_ascii_lowercase()),
    };
    checks::stack_name(&stack).map_err(|rule| {
        DeployError::state("--name", format!("\"{stack}\" is not a stack name: {rule}"))
    })?;
    let names = Names::new(&stack);
    let views = behaviours(&config);
    let uses_own_log = views.iter().filter_map(|(_, _, log)| *log).any(|arn| {
        arn.ends_with(&format!(
            "realtime-log-config/{}",
            names.realtime_log_config()
        ))
    });
    let log_config = if uses_own_log {
        cloudfront
            .log_config(&names.realtime_log_config())
            .await?
            .map(|c| c.settings)
    } else {
        None
    };
    // The stack's region is where its stream is; its log config names the stream.
    let stream_region = log_config.as_ref().and_then(|s| {
        s.stream_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
    });
    let region = region
        .map(str::to_string)
        .or(stream_region)
        .unwrap_or_else(|| run.config.region.clone());
    let wanted_cache: Vec<&str> = views
        .iter()
        .filter_map(|(cache, _, _)| *cache)
        .filter(|id| !is_managed_cache_policy(id))
        .collect();
    let cache_policies: Vec<CachePolicy> = if wanted_cache.is_empty() {
        Vec::new()
    } else {
        cloudfront
            .cache_policies("")
            .await?
            .into_iter()
            .filter(|p| wanted_cache.contains(&p.id.as_str()))
            .collect()
    };
    let mut headers = Vec::new();
    for (_, policy, _) in &views {
        let Some(policy) =
            policy.filter(|p| *p != crate::spec::distribution::managed::SECURITY_HEADERS)
        else {
            continue;
        };
        if headers.iter().any(|(id, _)| id == policy) {
            continue;
        }
        if let Some(found) = cloudfront.response_headers_policy_by_id(policy).await? {
            headers.push((found.id, found.config));
        }
    }
    let additional_metrics = run
        .ports
        .metrics_subscriptions
        .subscription(id)
        .await?
        .unwrap_or(false);
    let imported = import(&Observed {
        id,
        config: &config,
        stack: &stack,
        region: &region,
        cache_policies: &cache_policies,
        response_headers_policies: &headers,
        log_config: log_config.as_ref(),
        additional_metrics,
    });
    Ok(Described {
        stack,
        region,
        imported,
    })
}

/// Each behaviour's (cache policy, response headers policy, real-time log config).
type PolicyRefs<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn behaviours(c: &aws_sdk_cloudfront::types::DistributionConfig) -> Vec<PolicyRefs<'_>> {
    let mut refs = Vec::new();
    if let Some(b) = c.default_cache_behavior() {
        refs.push((
            b.cache_policy_id(),
            b.response_headers_policy_id(),
            b.realtime_log_config_arn(),
        ));
    }
    for b in c.cache_behaviors().map(|b| b.items()).unwrap_or_default() {
        refs.push((
            b.cache_policy_id(),
            b.response_headers_policy_id(),
            b.realtime_log_config_arn(),
        ));
    }
    refs.into_iter()
        .map(|(a, b, c)| {
            (
                a.filter(|v| !v.is_empty()),
                b.filter(|v| !v.is_empty()),
                c.filter(|v| !v.is_empty()),
            )
        })
        .collect()
}

fn is_managed_cache_policy(id: &str) -> bool {
    use crate::spec::distribution::managed;
    [
        managed::CACHING_DISABLED,
        managed::CACHING_OPTIMIZED,
        managed::USE_ORIGIN_CACHE_CONTROL_HEADERS,
    ]
    .contains(&id)
}

/// What adopting found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adopted {
    /// Tagged now.
    Tagged,
    /// The stack created it (its caller reference is the stack's), or it was adopted before.
    AlreadyTheStacks,
}

/// Checks distribution `id` can become stack `stack`'s, then tags it (`arn` is its ARN).
/// Refuses a distribution of another stack, and a stack that already has a distribution.
pub async fn adopt(
    run: &Run<'_>,
    id: &str,
    arn: &str,
    stack: &str,
) -> Result<Adopted, DeployError> {
    let cloudfront = &run.ports.cloudfront;
    let names = Names::new(stack);
    let what = format!("distribution {id}");
    let Some((config, _)) = cloudfront.distribution_config(id).await? else {
        return Err(DeployError::state(
            &what,
            "no such distribution in this account",
        ));
    };
    let tags = cloudfront.distribution_tags(id).await?.unwrap_or_default();
    match stack_of(&tags) {
        Some(other) if other != stack => {
            return Err(DeployError::state(
                &what,
                format!(
                    "it carries the tag {STACK_TAG}={other}: it belongs to stack \"{other}\"; import it with --name {other}, or remove the tag first if that stack is gone"
                ),
            ));
        }
        Some(_)
            if config.caller_reference() == names.caller_reference()
                || tags.iter().any(|(k, v)| k == ADOPTED_TAG && v == id) =>
        {
            return Ok(Adopted::AlreadyTheStacks);
        }
        _ => {}
    }
    for other in cloudfront.distributions_tagged(STACK_TAG, stack).await? {
        if other.id == id {
            continue;
        }
        let Some((other_config, _)) = cloudfront.distribution_config(&other.id).await? else {
            continue;
        };
        let other_tags = cloudfront
            .distribution_tags(&other.id)
            .await?
            .unwrap_or_default();
        if other_config.caller_reference() == names.caller_reference()
            || other_tags
                .iter()
                .any(|(k, v)| k == ADOPTED_TAG && *v == other.id)
        {
            return Err(DeployError::state(
                &what,
                format!(
                    "stack \"{stack}\" already has distribution {}: a stack has one; import with another --name, or `deployer down` that stack first",
                    other.id
                ),
            ));
        }
    }
    run.mutating("cloudfront:TagResource", id)?;
    cloudfront
        .tag_distribution(
            arn,
            vec![
                (STACK_TAG.to_string(), stack.to_string()),
                (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
                (ADOPTED_TAG.to_string(), id.to_string()),
            ],
        )
        .await?;
    Ok(Adopted::Tagged)
}

pub async fn run(
    path: &Path,
    args: &ImportArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let id = &args.id;
    let fallback = session.region(args.region.as_deref());
    // Read with a config for the distribution only; the stack's comes from what is read.
    let reading = operator_config(&format!("dist-{}", id.to_ascii_lowercase()), &fallback);
    let described = {
        let run = session.run(&reading, Mode::Plan).await?;
        describe(&run, id, args.name.as_deref(), args.region.as_deref()).await?
    };
    // A bug in the mapping must not leave a file `plan` cannot read: the loader checks it.
    let problems = match StackConfig::parse(&described.imported.text, &path.display().to_string()) {
        Ok(_) => None,
        Err(err) => Some(err.to_string()),
    };
    write_new(path, &described.imported.text, args.force)?;
    let adopted = if args.adopt && problems.is_none() {
        let stack_config = StackConfig::parse(&described.imported.text, "<import>")?;
        let parameters = session.parameters(&stack_config.region).await;
        let adopted = crate::lease::with_lease(parameters, &described.stack, "import", async {
            let run = session.run(&stack_config, Mode::Apply).await?;
            let arn = run.global_arn("cloudfront", &format!("distribution/{id}"));
            Ok::<_, CommandError>(adopt(&run, id, &arn, &described.stack).await?)
        })
        .await?;
        Some(adopted)
    } else {
        None
    };
    report(
        path,
        args,
        &described,
        problems.as_deref(),
        adopted.as_ref(),
        session.output,
        out,
    )?;
    Ok(if problems.is_some() {
        exit::ERROR
    } else {
        exit::OK
    })
}

fn report(
    path: &Path,
    args: &ImportArgs,
    d: &Described,
    problems: Option<&str>,
    adopted: Option<&Adopted>,
    output: Output,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let lost = &d.imported.unrepresentable;
    match output {
        Output::Json => writeln!(
            out,
            "{:#}",
            json!({
                "path": path.display().to_string(),
                "distribution_id": args.id,
                "stack": d.stack,
                "region": d.region,
                "unrepresentable": lost,
                "valid": problems.is_none(),
                "problems": problems,
                "adopted": adopted.map(|a| match a {
                    Adopted::Tagged => "tagged",
                    Adopted::AlreadyTheStacks => "already the stack's",
                }),
            })
        ),
        Output::Text => {
            writeln!(
                out,
                "Wrote {} from distribution {}: stack \"{}\" in {}.",
                path.display(),
                args.id,
                d.stack,
                d.region
            )?;
            if lost.is_empty() {
                writeln!(out, "Every setting of the distribution is in the file.")?;
            } else {
                writeln!(
                    out,
                    "Not imported ({}; marked NOT IMPORTED in the file):",
                    lost.len()
                )?;
                for Unrepresentable {
                    at,
                    setting,
                    instead,
                } in lost
                {
                    writeln!(out, "  {at}: {setting} ({instead})")?;
                }
            }
            if let Some(problems) = problems {
                writeln!(
                    out,
                    "The file does not validate; fix it before `plan` (nothing was adopted):\n{problems}"
                )?;
            }
            match adopted {
                Some(Adopted::Tagged) => writeln!(
                    out,
                    "Adopted: tagged {STACK_TAG}={}, {ADOPTED_TAG}={}; `up` now changes it and `down` deletes it.",
                    d.stack, args.id
                )?,
                Some(Adopted::AlreadyTheStacks) => {
                    writeln!(out, "Already stack \"{}\"'s distribution.", d.stack)?
                }
                None => {}
            }
            let flag = if path == Path::new("proxy.toml") {
                String::new()
            } else {
                format!(" --config {}", path.display())
            };
            writeln!(out, "Next: deployer validate{flag}; deployer plan{flag}")
        }
    }
}

/// Writes the file; an existing one only with `force`.
fn write_new(path: &Path, text: &str, force: bool) -> Result<(), CommandError> {
    crate::init::write_file(path, text, force, "or --config FILE to write another file")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::cloudfront::{CloudFront, LogConfigSettings};
    use crate::ports::fake::FakeAccount;
    use crate::spec::distribution::{Inputs, build, cache_policy};

    const ACCOUNT: &str = "123456789012";

    const STACK: &str = r#"
name = "edge"
region = "eu-west-1"
comment = "Edge"

[distribution]
price_class = "PriceClass_All"

[[origins]]
id = "app"
domain = "app.example.com"

[default_behavior]
origin = "app"
response_headers = "custom"

[[behaviors]]
path_pattern = "/static/*"
origin = "app"
caching = "custom"
cache_key_headers = ["Accept-Language"]
origin_request = "none"

[response_headers]
frame_options = "SAMEORIGIN"
remove_headers = ["X-Powered-By"]
"#;

    fn stack() -> StackConfig {
        StackConfig::parse(STACK, "edge.toml").expect("valid")
    }

    /// The stack's distribution as `up` leaves it in the fake account, with its cache and
    /// response headers policies and log config; its id.
    async fn deployed(account: &FakeAccount) -> String {
        let config = stack();
        let policy = cache_policy("edge", &config.behaviors[0])
            .expect("builds")
            .expect("custom caching");
        let cache_id = account
            .create_cache_policy(policy)
            .await
            .expect("created")
            .expect("an id");
        let headers = crate::spec::headers::response_headers_policy(&config)
            .expect("builds")
            .expect("custom headers");
        let headers_id = account
            .create_response_headers_policy(headers)
            .await
            .expect("created")
            .expect("an id");
        let log_arn = account
            .create_log_config(
                "cfrp-edge-realtime-logs",
                &LogConfigSettings {
                    sampling_rate: 100,
                    fields: config
                        .logging
                        .fields
                        .iter()
                        .map(|f| f.name().to_string())
                        .collect(),
                    stream_arn: format!(
                        "arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/cfrp-edge-logs"
                    ),
                    role_arn: format!("arn:aws:iam::{ACCOUNT}:role/cfrp-edge-cloudfront-logs"),
                },
            )
            .await
            .expect("created")
            .expect("an arn");
        let keys = vec![("/static/*".to_string(), cache_id)];
        let distribution = build(
            &config,
            &Inputs {
                caller_reference: "cfrp-edge-distribution",
                origin_secret: "s3cret",
                realtime_log_config_arn: Some(&log_arn),
                viewer_request_function_arn: &format!(
                    "arn:aws:cloudfront::{ACCOUNT}:function/cfrp-edge-viewer-request"
                ),
                custom_cache_policies: &keys,
                web_acl_arn: None,
                response_headers_policy: Some(&headers_id),
            },
        )
        .expect("builds");
        account
            .create_distribution(distribution, Names::new("edge").tags())
            .await
            .expect("created")
            .id
    }

    async fn hand_made(account: &FakeAccount, tags: Vec<(String, String)>) -> String {
        let reference = format!("made-in-the-console-{}", account.mutating_calls().len());
        let mut config = operator_config("hand", "us-east-1");
        config.origins[0].domain = "legacy.example.com".into();
        let distribution = build(
            &config,
            &Inputs {
                caller_reference: &reference,
                origin_secret: "unused",
                realtime_log_config_arn: None,
                viewer_request_function_arn: "",
                custom_cache_policies: &[],
                web_acl_arn: None,
                response_headers_policy: None,
            },
        )
        .expect("builds");
        account
            .create_distribution(distribution, tags)
            .await
            .expect("created")
            .id
    }

    #[tokio::test]
    async fn describe_reads_the_policies_and_log_config_the_distribution_references() {
        let account = FakeAccount::new("us-east-1", ACCOUNT);
        let id = deployed(&account).await;
        let made = account.mutating_calls().len();
        let reading = operator_config("dist-x", "us-east-1");
        let run = Run::offline(&reading, account.ports(), ACCOUNT, Mode::Plan);
        let described = describe(&run, &id, None, None).await.expect("described");
        // The stack's name from its tag, its region from its stream's ARN.
        assert_eq!(described.stack, "edge");
        assert_eq!(described.region, "eu-west-1");
        assert!(described.imported.unrepresentable.is_empty());
        let again = StackConfig::parse(&described.imported.text, "i.toml")
            .unwrap_or_else(|e| panic!("{e}\n{}", described.imported.text));
        let original = stack();
        assert_eq!(again.default_behavior, original.default_behavior);
        assert_eq!(again.behaviors, original.behaviors);
        assert_eq!(again.response_headers, original.response_headers);
        assert_eq!(again.origins, original.origins);
        assert_eq!(again.distribution, original.distribution);
        assert_eq!(again.logging, original.logging);
        // Only reads.
        assert_eq!(account.mutating_calls().len(), made);
        // --name and --region win over what the distribution suggests.
        let named = describe(&run, &id, Some("shop"), Some("us-west-2"))
            .await
            .expect("described");
        assert!(
            named
                .imported
                .text
                .contains("name = \"shop\"\nregion = \"us-west-2\"\n")
        );
        let missing = describe(&run, "E404", None, None).await;
        assert!(
            missing
                .as_ref()
                .is_err_and(|e| e.to_string().contains("no such distribution")),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn adopt_tags_the_distribution_and_the_stack_then_finds_it_as_its_own() {
        let account = FakeAccount::new("us-east-1", ACCOUNT);
        let id = hand_made(&account, Vec::new()).await;
        let reading = operator_config("dist-x", "us-east-1");
        let run = Run::offline(&reading, account.ports(), ACCOUNT, Mode::Plan);
        let described = describe(&run, &id, Some("legacy"), Some("eu-west-1"))
            .await
            .expect("described");
        let config = StackConfig::parse(&described.imported.text, "legacy.toml")
            .unwrap_or_else(|e| panic!("{e}\n{}", described.imported.text));
        let before = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(
            crate::resources::cloudfront::find_distribution(&before)
                .await
                .expect("read")
                .is_none()
        );
        let apply = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let arn = apply.global_arn("cloudfront", &format!("distribution/{id}"));
        assert_eq!(
            adopt(&apply, &id, &arn, "legacy").await.expect("adopted"),
            Adopted::Tagged
        );
        let tags = account.distribution(&id).expect("exists").tags;
        for (k, v) in [
            ("cfrp:stack", "legacy"),
            ("cfrp:managed-by", "cloudfront-reverse-proxy"),
            ("cfrp:adopted", id.as_str()),
        ] {
            assert!(tags.contains(&(k.to_string(), v.to_string())), "{tags:?}");
        }
        assert_eq!(
            apply.mutations(),
            vec![format!("cloudfront:TagResource {id}")]
        );
        let found = crate::resources::cloudfront::find_distribution(&before)
            .await
            .expect("read");
        assert_eq!(found.map(|f| f.id), Some(id.clone()));
        // A second adopt changes nothing.
        assert_eq!(
            adopt(&apply, &id, &arn, "legacy").await.expect("adopted"),
            Adopted::AlreadyTheStacks
        );
        assert_eq!(apply.mutations().len(), 1);
    }

    #[tokio::test]
    async fn adopt_refuses_another_stacks_distribution_and_a_stack_that_has_one() {
        let account = FakeAccount::new("us-east-1", ACCOUNT);
        let theirs = hand_made(&account, Names::new("other").tags()).await;
        let config = operator_config("legacy", "us-east-1");
        let apply = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let refused = adopt(&apply, &theirs, "arn", "legacy").await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("belongs to stack \"other\"")),
            "{refused:?}"
        );
        let first = hand_made(&account, Vec::new()).await;
        let arn = apply.global_arn("cloudfront", &format!("distribution/{first}"));
        adopt(&apply, &first, &arn, "legacy")
            .await
            .expect("adopted");
        let second = hand_made(&account, Vec::new()).await;
        let arn = apply.global_arn("cloudfront", &format!("distribution/{second}"));
        let refused = adopt(&apply, &second, &arn, "legacy").await;
        assert!(
            refused.as_ref().is_err_and(|e| e
                .to_string()
                .contains(&format!("already has distribution {first}"))),
            "{refused:?}"
        );
        assert!(
            account
                .distribution(&second)
                .expect("exists")
                .tags
                .is_empty()
        );
    }

    #[test]
    fn the_text_report_lists_what_was_not_imported_and_the_adoption() {
        let args = ImportArgs {
            id: "E2EXAMPLE1ABC".into(),
            name: None,
            region: None,
            adopt: true,
            force: false,
        };
        let described = Described {
            stack: "legacy".into(),
            region: "eu-west-1".into(),
            imported: Imported {
                text: String::new(),
                unrepresentable: vec![Unrepresentable {
                    at: "origins[web]".into(),
                    setting: "origin custom header X-Api-Key".into(),
                    instead: "`up` removes this header".into(),
                }],
            },
        };
        let mut out = Vec::new();
        report(
            Path::new("legacy.toml"),
            &args,
            &described,
            None,
            Some(&Adopted::Tagged),
            Output::Text,
            &mut out,
        )
        .expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("Wrote legacy.toml from distribution E2EXAMPLE1ABC: stack \"legacy\" in eu-west-1.\n"), "{text}");
        assert!(text.contains("Not imported (1; marked NOT IMPORTED in the file):\n  origins[web]: origin custom header X-Api-Key (`up` removes this header)\n"), "{text}");
        assert!(
            text.contains("Adopted: tagged cfrp:stack=legacy, cfrp:adopted=E2EXAMPLE1ABC;"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Next: deployer validate --config legacy.toml; deployer plan --config legacy.toml\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_existing_file_is_only_replaced_with_force() {
        let dir = std::env::temp_dir().join(format!("cfrp-import-{}", std::process::id()));
        let path = dir.join("proxy.toml");
        let _ = std::fs::remove_file(&path);
        write_new(&path, "first", false).expect("written");
        let refused = write_new(&path, "second", false);
        assert!(
            matches!(&refused, Err(CommandError::Flag { flag: "--force", message }) if message.contains("already exists")),
            "{refused:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("first")
        );
        write_new(&path, "third", true).expect("forced");
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("third")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
