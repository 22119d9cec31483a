//! The Kinesis data stream CloudFront writes real-time logs to.

use std::time::Duration;

use aws_sdk_kinesis::types::{ScalingType, StreamMode, StreamModeDetails, StreamStatus};
use cfrp_config::StreamMode as ConfigMode;

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::resources::{found, poll, tag_text};

const KIND: &str = "Kinesis stream";

fn desired(run: &Run<'_>) -> Fields {
    let logging = &run.config.logging;
    let capacity = match (logging.stream_mode, logging.shards) {
        (ConfigMode::Provisioned, Some(shards)) => format!("provisioned, {shards} shards"),
        (ConfigMode::Provisioned, None) => "provisioned, 1 shards".to_string(),
        (ConfigMode::OnDemand, _) => "on-demand".to_string(),
    };
    fields([
        ("capacity", capacity),
        ("retention_hours", logging.retention_hours.to_string()),
        ("tags", tag_text(&run.tags())),
    ])
}

async fn observe(run: &Run<'_>, name: &str) -> Result<Option<(Fields, bool)>, DeployError> {
    let Some(out) = found(
        run.aws
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "kinesis:DescribeStreamSummary",
        name,
    )?
    else {
        return Ok(None);
    };
    let summary = out.stream_description_summary;
    let Some(s) = summary else {
        return Ok(None);
    };
    let capacity = match s.stream_mode_details().map(|d| d.stream_mode()) {
        Some(StreamMode::Provisioned) => {
            format!("provisioned, {} shards", s.open_shard_count())
        }
        _ => "on-demand".to_string(),
    };
    let tags = run
        .aws
        .kinesis
        .list_tags_for_stream()
        .stream_name(name)
        .send()
        .await
        .map_err(|e| DeployError::aws("kinesis:ListTagsForStream", name, e))?;
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let active = *s.stream_status() == StreamStatus::Active;
    Ok(Some((
        fields([
            ("capacity", capacity),
            ("retention_hours", s.retention_period_hours().to_string()),
            ("tags", tag_text(&tags)),
        ]),
        active,
    )))
}

pub async fn converge(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.log_stream();
    let desired = desired(run);
    let observed = observe(run, &name).await?;
    let action = run.decide(KIND, &name, &desired, observed.as_ref().map(|(f, _)| f));
    if !run.applying() {
        return Ok(());
    }
    let logging = run.config.logging.clone();
    let provisioned = logging.stream_mode == ConfigMode::Provisioned;
    let shards = logging.shards.unwrap_or(1) as i32;
    let changes = match action {
        Action::Unchanged => {
            if observed.is_some_and(|(_, active)| !active) {
                wait_active(run, &name).await?;
            }
            return Ok(());
        }
        Action::Create => {
            let mode = if provisioned {
                StreamMode::Provisioned
            } else {
                StreamMode::OnDemand
            };
            let mut request = run
                .aws
                .kinesis
                .create_stream()
                .stream_name(&name)
                .stream_mode_details(StreamModeDetails::builder().stream_mode(mode).build()?);
            if provisioned {
                request = request.shard_count(shards);
            }
            run.mutating("kinesis:CreateStream", &name)?;
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:CreateStream", &name, e))?;
            wait_active(run, &name).await?;
            // Re-read: an interrupted run resumes from whatever the stream has now.
            let Some((now, _)) = observe(run, &name).await? else {
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
        Action::Update { changes } => changes,
        Action::Delete => return Ok(()),
    };
    for change in changes {
        match change.field.as_str() {
            "capacity" => {
                let mode = if provisioned {
                    StreamMode::Provisioned
                } else {
                    StreamMode::OnDemand
                };
                let current_is_provisioned = change
                    .from
                    .as_deref()
                    .is_some_and(|f| f.starts_with("provisioned"));
                if current_is_provisioned != provisioned {
                    let arn = run_stream_arn(run, &name);
                    run.mutating("kinesis:UpdateStreamMode", &name)?;
                    run.aws
                        .kinesis
                        .update_stream_mode()
                        .stream_arn(arn)
                        .stream_mode_details(
                            StreamModeDetails::builder().stream_mode(mode).build()?,
                        )
                        .send()
                        .await
                        .map_err(|e| DeployError::aws("kinesis:UpdateStreamMode", &name, e))?;
                    wait_active(run, &name).await?;
                }
                if provisioned {
                    run.mutating("kinesis:UpdateShardCount", &name)?;
                    run.aws
                        .kinesis
                        .update_shard_count()
                        .stream_name(&name)
                        .target_shard_count(shards)
                        .scaling_type(ScalingType::UniformScaling)
                        .send()
                        .await
                        .map_err(|e| DeployError::aws("kinesis:UpdateShardCount", &name, e))?;
                    wait_active(run, &name).await?;
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
                    run.aws
                        .kinesis
                        .increase_stream_retention_period()
                        .stream_name(&name)
                        .retention_period_hours(wanted)
                        .send()
                        .await
                        .map_err(|e| {
                            DeployError::aws("kinesis:IncreaseStreamRetentionPeriod", &name, e)
                        })?;
                } else {
                    run.mutating("kinesis:DecreaseStreamRetentionPeriod", &name)?;
                    run.aws
                        .kinesis
                        .decrease_stream_retention_period()
                        .stream_name(&name)
                        .retention_period_hours(wanted)
                        .send()
                        .await
                        .map_err(|e| {
                            DeployError::aws("kinesis:DecreaseStreamRetentionPeriod", &name, e)
                        })?;
                }
                wait_active(run, &name).await?;
            }
            "tags" => {
                let mut request = run.aws.kinesis.add_tags_to_stream().stream_name(&name);
                for (k, v) in run.tags() {
                    request = request.tags(k, v);
                }
                run.mutating("kinesis:AddTagsToStream", &name)?;
                request
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("kinesis:AddTagsToStream", &name, e))?;
            }
            _ => {}
        }
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
            let out = run
                .aws
                .kinesis
                .describe_stream_summary()
                .stream_name(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:DescribeStreamSummary", name, e))?;
            let status = out
                .stream_description_summary()
                .map(|s| s.stream_status().clone())
                .unwrap_or(StreamStatus::Creating);
            wait.set(&format!("stream {name}: {}", status.as_str()));
            Ok(status == StreamStatus::Active)
        },
    )
    .await
}

pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.log_stream();
    if observe(run, &name).await?.is_none() {
        return Ok(());
    }
    run.note(KIND, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("kinesis:DeleteStream", &name)?;
    found(
        run.aws
            .kinesis
            .delete_stream()
            .stream_name(&name)
            .enforce_consumer_deletion(true)
            .send()
            .await,
        |e| e.is_resource_not_found_exception(),
        "kinesis:DeleteStream",
        &name,
    )?;
    Ok(())
}
