//! The Kinesis data stream CloudFront writes real-time logs to.

use std::time::Duration;

use cfrp_config::StreamMode as ConfigMode;

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::ports::kinesis::{Capacity, CapacityMode};
use crate::resources::{poll, tag_text};

const KIND: &str = "Kinesis stream";

/// The key the stream is encrypted with when the config names none: Kinesis's AWS-managed
/// key, which needs no key policy or grants of ours.
pub const AWS_MANAGED_KEY: &str = "alias/aws/kinesis";

/// The KMS key the stream should be encrypted with.
fn desired_key(run: &Run<'_>) -> String {
    run.config
        .encryption
        .kms_key_arn
        .clone()
        .unwrap_or_else(|| AWS_MANAGED_KEY.to_string())
}

/// The encryption field: `KMS <key>`, or `none`.
fn encryption_text(key: Option<&str>) -> String {
    key.map_or_else(|| "none".to_string(), |key| format!("KMS {key}"))
}

fn desired(run: &Run<'_>) -> Fields {
    let logging = &run.config.logging;
    let capacity = match (logging.stream_mode, logging.shards) {
        (ConfigMode::Provisioned, Some(shards)) => format!("provisioned, {shards} shards"),
        (ConfigMode::Provisioned, None) => "provisioned, 1 shards".to_string(),
        (ConfigMode::OnDemand, _) => "on-demand".to_string(),
    };
    fields([
        ("capacity", capacity),
        ("encryption", encryption_text(Some(&desired_key(run)))),
        ("retention_hours", logging.retention_hours.to_string()),
        ("tags", tag_text(&run.tags())),
    ])
}

/// What should a stream being deleted mean to the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deleting {
    /// Absent, once its name is free (`up` is about to create it again).
    WaitUntilGone,
    /// Absent at once (`down`: it is going away already).
    Absent,
}

async fn observe(
    run: &Run<'_>,
    name: &str,
    deleting: Deleting,
) -> Result<Option<(Fields, bool)>, DeployError> {
    let streams = &run.ports.streams;
    let Some(summary) = streams.summary(name).await? else {
        return Ok(None);
    };
    if summary.is_deleting() {
        // Going away (a `down` moments ago): it counts as absent. Its name is free only once
        // it is gone, so a run that will create it again waits for that first.
        if run.applying() && deleting == Deleting::WaitUntilGone {
            wait_gone(run, name).await?;
        }
        return Ok(None);
    }
    let capacity = match summary.mode {
        CapacityMode::Provisioned => {
            format!("provisioned, {} shards", summary.open_shards)
        }
        CapacityMode::OnDemand => "on-demand".to_string(),
    };
    let tags = streams.tags(name).await?;
    Ok(Some((
        fields([
            ("capacity", capacity),
            ("encryption", encryption_text(summary.kms_key.as_deref())),
            ("retention_hours", summary.retention_hours.to_string()),
            ("tags", tag_text(&tags)),
        ]),
        summary.is_active(),
    )))
}

pub async fn converge(run: &Run<'_>) -> Result<(), DeployError> {
    let streams = &run.ports.streams;
    let name = run.names.log_stream();
    let desired = desired(run);
    let observed = observe(run, &name, Deleting::WaitUntilGone).await?;
    let action = run.decide(KIND, &name, &desired, observed.as_ref().map(|(f, _)| f));
    if !run.applying() {
        return Ok(());
    }
    let logging = run.config.logging.clone();
    let provisioned = logging.stream_mode == ConfigMode::Provisioned;
    let shards = logging.shards.unwrap_or(1) as i32;
    // Kinesis refuses every change to a stream that is not ACTIVE: one a stopped run left
    // CREATING (right after CreateStream) or UPDATING (mid-scaling) is waited for first.
    let settling = observed.as_ref().is_some_and(|(_, active)| !active);
    let changes = match action {
        Action::Unchanged => {
            if settling {
                wait_active(run, &name).await?;
            }
            return Ok(());
        }
        Action::Create => {
            let capacity = if provisioned {
                Capacity::Provisioned { shards }
            } else {
                Capacity::OnDemand
            };
            run.mutating("kinesis:CreateStream", &name)?;
            streams.create(&name, capacity).await?;
            wait_active(run, &name).await?;
            // Re-read: an interrupted run resumes from whatever the stream has now.
            let Some((now, _)) = observe(run, &name, Deleting::WaitUntilGone).await? else {
                return Err(DeployError::state(
                    &name,
                    "the stream vanished after creation",
                ));
            };
            match crate::diff::compare(&desired, Some(&now)) {
                Action::Update { changes } => changes,
                _ => return Ok(()),
            }
        }
        Action::Update { changes } => {
            if settling {
                wait_active(run, &name).await?;
            }
            changes
        }
        Action::Delete => return Ok(()),
    };
    for change in changes {
        match change.field.as_str() {
            "capacity" => {
                let mode = if provisioned {
                    CapacityMode::Provisioned
                } else {
                    CapacityMode::OnDemand
                };
                let current_is_provisioned = change
                    .from
                    .as_deref()
                    .is_some_and(|f| f.starts_with("provisioned"));
                if current_is_provisioned != provisioned {
                    let arn = run_stream_arn(run, &name);
                    run.mutating("kinesis:UpdateStreamMode", &name)?;
                    streams.update_mode(&name, &arn, mode).await?;
                    wait_active(run, &name).await?;
                }
                if provisioned {
                    scale(run, &name, shards).await?;
                }
            }
            "retention_hours" => {
                let current: i32 = change
                    .from
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(24);
                let wanted = logging.retention_hours as i32;
                if wanted > current {
                    run.mutating("kinesis:IncreaseStreamRetentionPeriod", &name)?;
                    streams.increase_retention(&name, wanted).await?;
                } else {
                    run.mutating("kinesis:DecreaseStreamRetentionPeriod", &name)?;
                    streams.decrease_retention(&name, wanted).await?;
                }
                wait_active(run, &name).await?;
            }
            "encryption" => {
                // StartStreamEncryption needs the stream ACTIVE and leaves it UPDATING.
                let key = desired_key(run);
                run.mutating("kinesis:StartStreamEncryption", &name)?;
                streams.start_encryption(&name, &key).await?;
                wait_active(run, &name).await?;
            }
            "tags" => {
                run.mutating("kinesis:AddTagsToStream", &name)?;
                streams.add_tags(&name, run.tags()).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Scales the provisioned stream to `target` shards. UpdateShardCount goes at most to double,
/// or down to half, the open shards per call, so a bigger change (on-demand's 4 shards to 1,
/// or 1 shard to 8) is made in steps, each waited for; no call when the count is right.
async fn scale(run: &Run<'_>, name: &str, target: i32) -> Result<(), DeployError> {
    if target < 1 {
        return Err(DeployError::state(
            name,
            format!("a stream cannot have {target} shards"),
        ));
    }
    // Read, not taken from the plan: after a switch from on-demand the plan knew no count.
    let Some(summary) = run.ports.streams.summary(name).await? else {
        return Err(DeployError::state(
            name,
            "the stream vanished before it could be scaled",
        ));
    };
    let mut open = summary.open_shards.max(1);
    while open != target {
        let step = target.clamp((open + 1) / 2, open.saturating_mul(2));
        run.mutating("kinesis:UpdateShardCount", name)?;
        run.ports.streams.update_shard_count(name, step).await?;
        wait_active(run, name).await?;
        open = step;
    }
    Ok(())
}

fn run_stream_arn(run: &Run<'_>, name: &str) -> String {
    run.arn("kinesis", &format!("stream/{name}"))
}

async fn wait_active(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let wait = run
        .progress
        .wait(&format!("stream {name} to become ACTIVE"));
    poll(
        &format!("stream {name} to become ACTIVE"),
        Duration::from_secs(300),
        || async {
            // A stream that is gone will not become ACTIVE: failing now says so.
            let Some(summary) = run.ports.streams.summary(name).await? else {
                return Err(DeployError::state(
                    name,
                    "the stream vanished while waiting for it to become ACTIVE",
                ));
            };
            wait.set(&format!("stream {name}: {}", summary.status));
            Ok(summary.is_active())
        },
    )
    .await
}

async fn wait_gone(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let what = format!("stream {name} to finish deleting");
    let _wait = run.progress.wait(&what);
    poll(&what, Duration::from_secs(300), || async {
        Ok(run.ports.streams.summary(name).await?.is_none())
    })
    .await
}

pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.log_stream();
    if observe(run, &name, Deleting::Absent).await?.is_none() {
        return Ok(());
    }
    run.note(KIND, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("kinesis:DeleteStream", &name)?;
    run.ports.streams.delete(&name).await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::fake::FakeAccount;
    use crate::ports::kinesis::{FakeStream, Streams};
    use cfrp_config::Logging;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";
    const STREAM: &str = "cfrp-shop-realtime-logs";
    const ARN: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/cfrp-shop-realtime-logs";

    /// The example stack with its logging settings edited by `edit`.
    fn config(edit: impl FnOnce(&mut Logging)) -> StackConfig {
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        edit(&mut config.logging);
        config
    }

    fn on_demand(_: &mut Logging) {}

    fn provisioned(shards: u32) -> impl FnOnce(&mut Logging) {
        move |logging| {
            logging.stream_mode = ConfigMode::Provisioned;
            logging.shards = Some(shards);
        }
    }

    /// Converges the stream of `config` in `mode` against `account`; the decisions and the
    /// mutating calls.
    async fn converge_with(
        account: &FakeAccount,
        mode: Mode,
        config: &StackConfig,
    ) -> (Result<(), DeployError>, Vec<Change>, Vec<String>) {
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        let result = converge(&run).await;
        (result, run.changes(), run.mutations())
    }

    fn calls(operations: &[&str]) -> Vec<String> {
        operations
            .iter()
            .map(|operation| format!("{operation} {STREAM}"))
            .collect()
    }

    fn stream_of(account: &FakeAccount) -> FakeStream {
        account.stream(STREAM).expect("the stream exists")
    }

    /// How many times the stream's status was read so far.
    fn status_reads(account: &FakeAccount) -> usize {
        account
            .calls()
            .iter()
            .filter(|c| c.starts_with("kinesis:DescribeStreamSummary "))
            .count()
    }

    fn managed_tags() -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "cfrp:managed-by".to_string(),
                "cloudfront-reverse-proxy".to_string(),
            ),
            ("cfrp:stack".to_string(), "shop".to_string()),
        ])
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_nothing_and_up_creates_the_stream_and_tags_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        let (result, changes, mutations) = converge_with(&account, Mode::Plan, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].kind.as_str(), changes[0].name.as_str()),
            (KIND, STREAM)
        );
        assert_eq!(changes[0].action, Action::Create);
        assert!(mutations.is_empty() && account.mutating_calls().is_empty());
        assert!(account.stream(STREAM).is_none());

        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        // CreateStream takes no tags here: they follow once the stream is ACTIVE.
        assert_eq!(
            mutations,
            calls(&[
                "kinesis:CreateStream",
                "kinesis:StartStreamEncryption",
                "kinesis:AddTagsToStream",
            ])
        );
        assert_eq!(account.mutating_calls(), mutations);
        let stream = stream_of(&account);
        assert_eq!(stream.mode, CapacityMode::OnDemand);
        assert_eq!(stream.retention_hours, 24);
        assert_eq!(stream.status, "ACTIVE");
        assert_eq!(stream.tags, managed_tags());
        assert_eq!(
            stream.kms_key.as_deref(),
            Some(AWS_MANAGED_KEY),
            "encrypted with Kinesis's AWS-managed key by default"
        );
    }

    #[tokio::test]
    async fn a_configured_key_is_a_field_diff_and_one_start_encryption_on_the_active_stream() {
        const KEY: &str =
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &config(on_demand)).await;
        let mut keyed = config(on_demand);
        keyed.encryption.kms_key_arn = Some(KEY.to_string());
        // A stream still UPDATING refuses StartStreamEncryption: the run waits first.
        account.edit_stream(STREAM, |s| {
            s.status = "UPDATING".into();
            s.reads_until_active = 1;
        });
        let expected = Action::Update {
            changes: vec![FieldChange {
                field: "encryption".into(),
                from: Some(format!("KMS {AWS_MANAGED_KEY}")),
                to: Some(format!("KMS {KEY}")),
            }],
        };
        let (result, changes, mutations) = converge_with(&account, Mode::Plan, &keyed).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, expected);
        assert!(mutations.is_empty());
        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &keyed).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, expected);
        assert_eq!(mutations, calls(&["kinesis:StartStreamEncryption"]));
        assert_eq!(stream_of(&account).kms_key.as_deref(), Some(KEY));
        let (_, changes, mutations) = converge_with(&account, Mode::Apply, &keyed).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(mutations.is_empty());
    }

    #[tokio::test]
    async fn a_provisioned_stream_is_created_with_its_shards_then_given_its_retention() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(|logging| {
            provisioned(2)(logging);
            logging.retention_hours = 48;
        });
        let (result, _, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            mutations,
            calls(&[
                "kinesis:CreateStream",
                "kinesis:StartStreamEncryption",
                "kinesis:IncreaseStreamRetentionPeriod",
                "kinesis:AddTagsToStream",
            ])
        );
        let stream = stream_of(&account);
        assert_eq!(
            (stream.mode, stream.open_shards, stream.retention_hours),
            (CapacityMode::Provisioned, 2, 48)
        );
        assert_eq!(stream.status, "ACTIVE");
    }

    #[tokio::test]
    async fn a_converged_stream_is_unchanged_and_costs_no_call() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(provisioned(2));
        let _ = converge_with(&account, Mode::Apply, &config).await;
        let before = account.mutating_calls().len();
        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn retention_changed_by_hand_is_one_field_and_one_decrease_of_only_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        let _ = converge_with(&account, Mode::Apply, &config).await;
        account.edit_stream(STREAM, |s| s.retention_hours = 72);
        let drift = Action::Update {
            changes: vec![FieldChange {
                field: "retention_hours".into(),
                from: Some("72".into()),
                to: Some("24".into()),
            }],
        };

        let before = account.mutating_calls();
        let (result, changes, mutations) = converge_with(&account, Mode::Plan, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, drift);
        assert!(mutations.is_empty());
        assert_eq!(account.mutating_calls(), before, "a plan changes nothing");

        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, drift);
        assert_eq!(mutations, calls(&["kinesis:DecreaseStreamRetentionPeriod"]));
        let stream = stream_of(&account);
        assert_eq!(stream.retention_hours, 24);
        let (_, changes, _) = converge_with(&account, Mode::Apply, &config).await;
        assert_eq!(changes[0].action, Action::Unchanged);
    }

    #[tokio::test]
    async fn a_tag_removed_by_hand_is_put_back_alone() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        let _ = converge_with(&account, Mode::Apply, &config).await;
        account.edit_stream(STREAM, |s| {
            s.tags.remove("cfrp:stack");
        });
        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "tags".into(),
                    from: Some("cfrp:managed-by=cloudfront-reverse-proxy".into()),
                    to: Some("cfrp:managed-by=cloudfront-reverse-proxy,cfrp:stack=shop".into()),
                }]
            }
        );
        assert_eq!(mutations, calls(&["kinesis:AddTagsToStream"]));
        let stream = stream_of(&account);
        assert_eq!(stream.tags, managed_tags());
    }

    #[tokio::test]
    async fn more_shards_in_the_config_is_one_shard_count_update() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &config(provisioned(1))).await;
        let (result, changes, mutations) =
            converge_with(&account, Mode::Apply, &config(provisioned(2))).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "capacity".into(),
                    from: Some("provisioned, 1 shards".into()),
                    to: Some("provisioned, 2 shards".into()),
                }]
            }
        );
        assert_eq!(mutations, calls(&["kinesis:UpdateShardCount"]));
        let stream = stream_of(&account);
        assert_eq!(
            (stream.mode, stream.open_shards),
            (CapacityMode::Provisioned, 2)
        );
    }

    #[tokio::test]
    async fn provisioned_to_on_demand_is_one_mode_switch_by_the_streams_arn() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &config(provisioned(2))).await;
        let (result, _, mutations) = converge_with(&account, Mode::Apply, &config(on_demand)).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(mutations, calls(&["kinesis:UpdateStreamMode"]));
        assert!(
            account
                .calls()
                .contains(&format!("kinesis:UpdateStreamMode {ARN}")),
            "{:?}",
            account.calls()
        );
        let stream = stream_of(&account);
        assert_eq!(stream.mode, CapacityMode::OnDemand);
        assert_eq!(stream.status, "ACTIVE", "the switch was waited for");
    }

    #[tokio::test]
    async fn a_stream_still_updating_is_waited_for_and_left_alone() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        let _ = converge_with(&account, Mode::Apply, &config).await;
        // Still UPDATING when the run reads it, ACTIVE at the wait's first poll.
        account.edit_stream(STREAM, |s| {
            s.status = "UPDATING".into();
            s.reads_until_active = 1;
        });
        let reads_before = status_reads(&account);
        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(mutations.is_empty());
        assert_eq!(
            status_reads(&account),
            reads_before + 2,
            "the run read the stream, then waited for it"
        );
        assert_eq!(stream_of(&account).status, "ACTIVE");
    }

    #[tokio::test]
    async fn on_demand_to_one_provisioned_shard_switches_mode_then_halves_the_shards() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &config(on_demand)).await;
        assert_eq!(stream_of(&account).open_shards, 4);
        let (result, changes, mutations) =
            converge_with(&account, Mode::Apply, &config(provisioned(1))).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "capacity".into(),
                    from: Some("on-demand".into()),
                    to: Some("provisioned, 1 shards".into()),
                }]
            }
        );
        // 4 → 1 in one call is below half: AWS refuses it, so 4 → 2 → 1.
        assert_eq!(
            mutations,
            calls(&[
                "kinesis:UpdateStreamMode",
                "kinesis:UpdateShardCount",
                "kinesis:UpdateShardCount",
            ])
        );
        let stream = stream_of(&account);
        assert_eq!(
            (stream.mode, stream.open_shards, stream.status.as_str()),
            (CapacityMode::Provisioned, 1, "ACTIVE")
        );
        let (_, changes, _) = converge_with(&account, Mode::Apply, &config(provisioned(1))).await;
        assert_eq!(changes[0].action, Action::Unchanged);
    }

    #[tokio::test]
    async fn on_demand_to_as_many_provisioned_shards_only_switches_mode() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &config(on_demand)).await;
        let (result, _, mutations) =
            converge_with(&account, Mode::Apply, &config(provisioned(4))).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(mutations, calls(&["kinesis:UpdateStreamMode"]));
        let stream = stream_of(&account);
        assert_eq!(
            (stream.mode, stream.open_shards),
            (CapacityMode::Provisioned, 4)
        );
    }

    #[tokio::test]
    async fn one_shard_to_five_doubles_then_makes_the_rest() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &config(provisioned(1))).await;
        let (result, _, mutations) =
            converge_with(&account, Mode::Apply, &config(provisioned(5))).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            mutations,
            calls(&[
                "kinesis:UpdateShardCount",
                "kinesis:UpdateShardCount",
                "kinesis:UpdateShardCount",
            ])
        );
        assert_eq!(stream_of(&account).open_shards, 5);
    }

    #[tokio::test]
    async fn a_stream_a_stopped_run_left_creating_is_waited_for_before_it_is_tagged() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        // The earlier run stopped right after CreateStream: the stream is still CREATING
        // when this run reads it, and ACTIVE at the next read.
        account.streams_settle_after(1);
        let created = Streams::create(&account, STREAM, Capacity::OnDemand).await;
        assert!(created.is_ok(), "{created:?}");
        let config = config(on_demand);
        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert!(
            matches!(&changes[0].action, Action::Update { changes } if changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>() == ["encryption", "tags"]),
            "{changes:?}"
        );
        assert_eq!(
            mutations,
            calls(&["kinesis:StartStreamEncryption", "kinesis:AddTagsToStream"])
        );
        let stream = stream_of(&account);
        assert_eq!(stream.tags, managed_tags());
        assert_eq!(stream.kms_key.as_deref(), Some(AWS_MANAGED_KEY));
    }

    #[tokio::test]
    async fn remove_deletes_once_and_then_finds_nothing_to_do() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        let _ = converge_with(&account, Mode::Apply, &config).await;

        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(remove(&plan).await.is_ok());
        assert_eq!(plan.changes()[0].action, Action::Delete);
        assert!(plan.mutations().is_empty());
        assert!(account.stream(STREAM).is_some(), "a plan deletes nothing");

        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&run).await.is_ok());
        assert_eq!(run.changes()[0].action, Action::Delete);
        assert_eq!(run.mutations(), calls(&["kinesis:DeleteStream"]));
        assert_eq!(
            account.stream(STREAM).map(|s| s.status),
            Some("DELETING".to_string()),
            "AWS takes a while to delete a stream"
        );

        // Still DELETING, or gone: either way there is nothing left to delete.
        let again = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&again).await.is_ok());
        assert!(again.changes().is_empty() && again.mutations().is_empty());
        assert!(account.stream(STREAM).is_none());
    }

    #[tokio::test]
    async fn up_right_after_down_waits_for_the_deleting_stream_to_go_then_creates_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        let _ = converge_with(&account, Mode::Apply, &config).await;
        // Deleting takes two more status reads: one for the plan, one for `up`'s first look.
        account.streams_settle_after(2);
        let down = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&down).await.is_ok());

        // A plan shows the stream as to be created, and waits for nothing.
        let (result, changes, _) = converge_with(&account, Mode::Plan, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);

        assert_eq!(
            account.stream(STREAM).map(|s| s.status),
            Some("DELETING".to_string())
        );

        account.streams_settle_after(0);
        let reads_before = status_reads(&account);
        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            mutations,
            calls(&[
                "kinesis:CreateStream",
                "kinesis:StartStreamEncryption",
                "kinesis:AddTagsToStream",
            ])
        );
        // The first read saw it DELETING, the wait's read saw it gone, then the create's.
        assert!(status_reads(&account) - reads_before >= 3);
        assert_eq!(stream_of(&account).status, "ACTIVE");
    }

    #[tokio::test]
    async fn tagging_that_fails_after_the_create_is_reported_and_the_next_run_finishes_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        account.fail("kinesis:AddTagsToStream", 1);
        let (result, _, mutations) = converge_with(&account, Mode::Apply, &config).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("kinesis:AddTagsToStream for {STREAM} failed")),
            "{message}"
        );
        assert_eq!(
            mutations,
            calls(&[
                "kinesis:CreateStream",
                "kinesis:StartStreamEncryption",
                "kinesis:AddTagsToStream",
            ])
        );
        let stream = stream_of(&account);
        assert!(stream.tags.is_empty());

        let (result, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert!(
            matches!(&changes[0].action, Action::Update { changes } if changes.len() == 1 && changes[0].field == "tags"),
            "{changes:?}"
        );
        assert_eq!(mutations, calls(&["kinesis:AddTagsToStream"]));
        let (_, changes, mutations) = converge_with(&account, Mode::Apply, &config).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(mutations.is_empty());
    }

    #[tokio::test]
    async fn a_create_that_fails_leaves_nothing_and_the_next_run_creates_the_stream() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config(on_demand);
        account.fail("kinesis:CreateStream", 1);
        let (result, _, _) = converge_with(&account, Mode::Apply, &config).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("kinesis:CreateStream for {STREAM} failed")),
            "{message}"
        );
        assert!(account.stream(STREAM).is_none());
        let (result, changes, _) = converge_with(&account, Mode::Apply, &config).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(changes[0].action, Action::Create);
        assert!(
            account
                .stream(STREAM)
                .is_some_and(|s| s.tags == managed_tags())
        );
    }
}
