//! The everyday operator commands beside `up`, `plan`, `down` and `status`: `invalidate`,
//! `logging`, `update`, `dashboard` and `completions`. Each parses its flags here, does its
//! AWS calls through `resources::*`, and reports as text or as one JSON document.

pub mod block;
pub mod completions;
pub mod dashboard;
pub mod import;
pub mod invalidate;
pub mod logging;
pub mod secret;
pub mod staging;
pub mod unlock;
pub mod update;

use std::io::Write;
use std::time::Duration;

use cfrp_config::StackConfig;
use cfrp_engine::Graph;

use crate::commands::{CommandError, Question, show_and_confirm};
use crate::context::{Mode, Run};
use crate::error::DeployError;
use crate::plan::Plan;
use crate::session::Session;
use crate::workflow::{Outcome, Report};

/// Exit codes scripts can rely on, shared by every operator command.
pub mod exit {
    /// Done, or nothing needed doing.
    pub const OK: i32 = 0;
    /// An error: a bad flag, an AWS failure, a refusal, a timeout.
    pub const ERROR: i32 = 1;
    /// Nothing applied: the change was declined at the confirmation prompt.
    pub const DECLINED: i32 = 2;
}

/// The exit-code table ending each command's `--help` (a macro so `concat!` can use it).
macro_rules! exit_codes_help {
    () => {
        "Exit codes:\n  0  done, or nothing needed doing\n  1  error (bad value, AWS failure, refusal, timeout); the message says what to do\n  2  nothing applied: the change was declined at the prompt, or the command line did not parse"
    };
}
pub(crate) use exit_codes_help;

/// A config for commands aimed at a distribution by id rather than at a stack: the stack
/// name only names the resources such a command creates.
pub fn operator_config(name: &str, region: &str) -> StackConfig {
    StackConfig::for_origin(name, region, "origin.invalid")
}

/// Whose lease a command takes: the stack's name and the region whose SSM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseScope {
    pub stack: String,
    pub region: String,
}

impl LeaseScope {
    /// The lease of the stack `config` describes.
    pub fn of(config: &StackConfig) -> LeaseScope {
        LeaseScope {
            stack: config.name.clone(),
            region: config.region.clone(),
        }
    }
}

/// The lease a command aimed at distribution `id` takes (`update`, `logging`, `unlock --id`).
/// A distribution carrying a stack's `cfrp:stack` tag takes that stack's lease, so the
/// command and an `up` or `down` of the stack exclude each other; the stack's lease lives in
/// the region of its stream, which its real-time log config names. Any other distribution
/// (or a tagged one whose log config is gone) has a lease of its own, `dist-<id>`, in
/// `region`. The tag alone decides: taking the lease of a stack that only claims the
/// distribution costs a wait at most, and never changes that stack.
pub async fn distribution_lease(
    cloudfront: &dyn crate::ports::cloudfront::CloudFront,
    id: &str,
    region: &str,
) -> Result<LeaseScope, DeployError> {
    let own = LeaseScope {
        stack: format!("dist-{}", id.to_ascii_lowercase()),
        region: region.to_string(),
    };
    let tags = cloudfront.distribution_tags(id).await?.unwrap_or_default();
    let Some((_, stack)) = tags
        .iter()
        .find(|(key, _)| key == cfrp_config::naming::STACK_TAG)
    else {
        return Ok(own);
    };
    let log_config = cfrp_config::naming::Names::new(stack).realtime_log_config();
    let stream_region = cloudfront.log_config(&log_config).await?.and_then(|found| {
        // arn:aws:kinesis:REGION:ACCOUNT:stream/NAME
        found
            .settings
            .stream_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
    });
    Ok(LeaseScope {
        stack: stack.clone(),
        region: stream_region.unwrap_or_else(|| region.to_string()),
    })
}

/// [`distribution_lease`] through the session's clients in `config`'s region.
pub async fn distribution_lease_of(
    session: &Session,
    config: &StackConfig,
    id: &str,
) -> Result<LeaseScope, CommandError> {
    let run = session.run(config, Mode::Plan).await?;
    Ok(distribution_lease(&*run.ports.cloudfront, id, &config.region).await?)
}

/// How an operator command's plan ended.
#[derive(Debug)]
pub enum Operated<T> {
    /// Nothing to change; the plan's reads and what the work returned.
    UpToDate { report: Report, value: T },
    /// Changes were shown and the answer was no.
    Declined { report: Report, value: T },
    /// The shown changes were applied.
    Applied { report: Report, value: T },
}

impl<T> Operated<T> {
    pub fn report(&self) -> &Report {
        match self {
            Operated::UpToDate { report, .. }
            | Operated::Declined { report, .. }
            | Operated::Applied { report, .. } => report,
        }
    }

    pub fn value(&self) -> &T {
        match self {
            Operated::UpToDate { value, .. }
            | Operated::Declined { value, .. }
            | Operated::Applied { value, .. } => value,
        }
    }
}

/// An operator command (`logging`, `update`) through the machinery `up` uses: `work` runs
/// once planning (reads and decisions; a mutating call is refused), the plan is shown and
/// the question asked (`yes` answers it; without a terminal it is refused), then `work` runs
/// again applying, approved to do only what was shown: a decision that moved meanwhile stops
/// it before its first call. `step` names the one step of the plan.
/// The apply holds the lease on `config.name` for `command` ([`crate::lease`]); a live
/// lease of another run refuses the command before it plans.
pub async fn plan_and_apply<T>(
    session: &Session,
    config: &StackConfig,
    lease: &LeaseScope,
    (command, step): (&str, &str),
    question: &Question,
    out: &mut dyn Write,
    work: impl AsyncFn(&Run<'_>) -> Result<T, DeployError>,
) -> Result<Operated<T>, CommandError> {
    let mut graph = Graph::new();
    graph.add(step, &[]);
    let parameters = session.parameters(&lease.region).await;
    crate::lease::check_free(&*parameters, &lease.stack, crate::lease::now()).await?;
    let planning = session.run(config, Mode::Plan).await?;
    let planned = work(&planning).await?;
    let plan = Plan::of(&planning, &graph);
    if !plan.pending() {
        return Ok(Operated::UpToDate {
            report: Report::planned(plan, None),
            value: planned,
        });
    }
    let shown = Report::planned(plan, None);
    if !show_and_confirm(&shown, question, session, out)? {
        return Ok(Operated::Declined {
            report: shown,
            value: planned,
        });
    }
    let (run, applied) = crate::lease::with_lease(parameters, &lease.stack, command, async {
        let mut run = session.run(config, Mode::Apply).await?;
        run.approve(&shown.plan.changes);
        let applied = work(&run).await?;
        Ok::<_, CommandError>((run, applied))
    })
    .await?;
    Ok(Operated::Applied {
        report: Report {
            plan: Plan::of(&run, &graph),
            outcome: Outcome::Applied {
                title: "Applied",
                mutations: run.mutations(),
            },
            deployed: None,
            timing: Vec::new(),
        },
        value: applied,
    })
}

/// ANSI colours for text output, only when stdout is a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    /// Colours on or off (see [`Session::color`](crate::session::Session::color)).
    pub fn new(enabled: bool) -> Paint {
        Paint { enabled }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
}

/// Parses `90s`, `15m`, `1h` or plain seconds (`600`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration such as 90s, 15m or 1h"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value.saturating_mul(60),
        "h" => value.saturating_mul(3600),
        _ => {
            return Err(format!(
                "\"{text}\" is not a duration such as 90s, 15m or 1h"
            ));
        }
    };
    if seconds == 0 {
        return Err("the duration must be more than zero".to_string());
    }
    Ok(Duration::from_secs(seconds))
}

/// Checks a distribution id's form (CloudFront ids are upper-case letters and digits).
pub fn parse_distribution_id(text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(text.to_string())
    } else {
        Err(format!(
            "\"{text}\" is not a CloudFront distribution id (upper-case letters and digits, e.g. E2EXAMPLE1ABC)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn distribution_ids() {
        assert!(parse_distribution_id("E2EXAMPLE1ABC").is_ok());
        assert!(parse_distribution_id("e2example").is_err());
        assert!(parse_distribution_id("").is_err());
    }

    #[tokio::test]
    async fn a_distribution_of_a_stack_takes_that_stacks_lease_in_its_streams_region() {
        use crate::ports::cloudfront::{CloudFront, LogConfigSettings};
        use aws_sdk_cloudfront::types::DistributionConfig;
        let account = crate::ports::fake::FakeAccount::new("us-east-1", "123456789012");
        let config = |reference: &str| {
            DistributionConfig::builder()
                .caller_reference(reference)
                .comment("")
                .enabled(true)
                .build()
                .expect("caller reference, comment and enabled are set")
        };
        let tagged = account
            .create_distribution(config("a"), vec![("cfrp:stack".into(), "shop".into())])
            .await
            .expect("created");
        let untagged = account
            .create_distribution(config("b"), Vec::new())
            .await
            .expect("created");
        // Tagged, no log config: the stack's lease, in the region asked.
        assert_eq!(
            distribution_lease(&account, &tagged.id, "us-east-1")
                .await
                .ok(),
            Some(LeaseScope {
                stack: "shop".into(),
                region: "us-east-1".into()
            })
        );
        let settings = LogConfigSettings {
            sampling_rate: 100,
            fields: vec!["timestamp".into()],
            stream_arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/cfrp-shop-logs".into(),
            role_arn: "arn:aws:iam::123456789012:role/cfrp-shop-cloudfront-logs".into(),
        };
        account
            .create_log_config("cfrp-shop-realtime-logs", &settings)
            .await
            .expect("created");
        // With the stack's log config: the region of the stack's stream.
        assert_eq!(
            distribution_lease(&account, &tagged.id, "us-east-1")
                .await
                .ok(),
            Some(LeaseScope {
                stack: "shop".into(),
                region: "eu-west-1".into()
            })
        );
        let own = distribution_lease(&account, &untagged.id, "us-east-1")
            .await
            .ok();
        assert_eq!(
            own,
            Some(LeaseScope {
                stack: format!("dist-{}", untagged.id.to_ascii_lowercase()),
                region: "us-east-1".into()
            })
        );
        // A distribution that does not exist has no stack.
        assert_eq!(
            distribution_lease(&account, "E404", "us-east-1")
                .await
                .map(|s| s.stack)
                .ok(),
            Some("dist-e404".to_string())
        );
    }

    #[test]
    fn paint_is_plain_when_off() {
        assert_eq!(Paint::new(false).red("x"), "x");
        assert_eq!(Paint::new(true).red("x"), "\u{1b}[31mx\u{1b}[0m");
    }
}
