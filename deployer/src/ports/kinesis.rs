//! Kinesis data streams: the port, its SDK adapter and the fake account's streams.

use std::collections::BTreeMap;

use aws_sdk_kinesis::types::{EncryptionType, ScalingType, StreamMode, StreamModeDetails};

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// How a stream's throughput is sized: by AWS as traffic comes (on-demand), or by the shard
/// count we set (provisioned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityMode {
    OnDemand,
    Provisioned,
}

/// The capacity a stream is created with: provisioned streams need their shard count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    OnDemand,
    Provisioned { shards: i32 },
}

impl Capacity {
    pub fn mode(self) -> CapacityMode {
        match self {
            Capacity::OnDemand => CapacityMode::OnDemand,
            Capacity::Provisioned { .. } => CapacityMode::Provisioned,
        }
    }
}

/// The status a stream accepts changes in; the others are CREATING, UPDATING and DELETING.
pub const ACTIVE: &str = "ACTIVE";
/// A stream being deleted: still listed, refusing changes, its name not yet free.
pub const DELETING: &str = "DELETING";

/// What `DescribeStreamSummary` tells of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    pub mode: CapacityMode,
    pub open_shards: i32,
    pub retention_hours: i32,
    /// The API's status name (`CREATING`, `UPDATING`, `ACTIVE`, `DELETING`).
    pub status: String,
    /// The KMS key server-side encryption uses (as it was given: key ARN or alias), None
    /// when the stream is not encrypted.
    pub kms_key: Option<String>,
}

impl StreamSummary {
    pub fn is_active(&self) -> bool {
        self.status == ACTIVE
    }

    pub fn is_deleting(&self) -> bool {
        self.status == DELETING
    }
}

/// Kinesis data streams, by name (UpdateStreamMode alone is addressed by ARN).
pub trait Streams: Send + Sync {
    /// The stream's summary, or None when no stream has that name.
    fn summary<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<StreamSummary>>;
    /// The stream's tags (the first page: up to 50, more than the deployer sets).
    fn tags<'a>(&'a self, name: &'a str) -> PortFuture<'a, Vec<(String, String)>>;
    /// Creates the stream; it is CREATING until a later read finds it ACTIVE.
    fn create<'a>(&'a self, name: &'a str, capacity: Capacity) -> PortFuture<'a, ()>;
    /// Switches the stream at `arn` to `mode`; `name` names it in errors.
    fn update_mode<'a>(
        &'a self,
        name: &'a str,
        arn: &'a str,
        mode: CapacityMode,
    ) -> PortFuture<'a, ()>;
    /// Scales a provisioned stream to `shards` (uniform scaling).
    fn update_shard_count<'a>(&'a self, name: &'a str, shards: i32) -> PortFuture<'a, ()>;
    fn increase_retention<'a>(&'a self, name: &'a str, hours: i32) -> PortFuture<'a, ()>;
    fn decrease_retention<'a>(&'a self, name: &'a str, hours: i32) -> PortFuture<'a, ()>;
    /// Turns on (or moves to another key) server-side encryption with the KMS key `key`
    /// (key ARN or alias); the stream is UPDATING until it has switched.
    fn start_encryption<'a>(&'a self, name: &'a str, key: &'a str) -> PortFuture<'a, ()>;
    /// Adds the tags, overwriting the values of keys the stream already has.
    fn add_tags<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()>;
    /// Deletes the stream with its consumers; a stream already gone is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
}

/// Kinesis through `aws-sdk-kinesis`.
pub struct SdkStreams(pub aws_sdk_kinesis::Client);

fn sdk_mode(mode: CapacityMode) -> StreamMode {
    match mode {
        CapacityMode::OnDemand => StreamMode::OnDemand,
        CapacityMode::Provisioned => StreamMode::Provisioned,
    }
}

impl Streams for SdkStreams {
    fn summary<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<StreamSummary>> {
        Box::pin(async move {
            let out = match self
                .0
                .describe_stream_summary()
                .stream_name(name)
                .send()
                .await
            {
                Ok(out) => out,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    return Ok(None);
                }
                Err(err) => {
                    return Err(DeployError::aws("kinesis:DescribeStreamSummary", name, err));
                }
            };
            // An answer without a summary tells nothing of the stream: taken as no stream.
            let Some(summary) = out.stream_description_summary else {
                return Ok(None);
            };
            // A stream without mode details predates on-demand streams: it is provisioned
            // only when it says so.
            let mode = match summary.stream_mode_details().map(|d| d.stream_mode()) {
                Some(StreamMode::Provisioned) => CapacityMode::Provisioned,
                _ => CapacityMode::OnDemand,
            };
            let kms_key = match summary.encryption_type() {
                Some(EncryptionType::Kms) => summary.key_id().map(str::to_string),
                _ => None,
            };
            Ok(Some(StreamSummary {
                mode,
                open_shards: summary.open_shard_count(),
                retention_hours: summary.retention_period_hours(),
                status: summary.stream_status().as_str().to_string(),
                kms_key,
            }))
        })
    }

    fn tags<'a>(&'a self, name: &'a str) -> PortFuture<'a, Vec<(String, String)>> {
        Box::pin(async move {
            let out = self
                .0
                .list_tags_for_stream()
                .stream_name(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:ListTagsForStream", name, e))?;
            Ok(out
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, name: &'a str, capacity: Capacity) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self
                .0
                .create_stream()
                .stream_name(name)
                .stream_mode_details(
                    StreamModeDetails::builder()
                        .stream_mode(sdk_mode(capacity.mode()))
                        .build()?,
                );
            // The shard count is for provisioned streams only; on-demand ones size themselves.
            if let Capacity::Provisioned { shards } = capacity {
                request = request.shard_count(shards);
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:CreateStream", name, e))?;
            Ok(())
        })
    }

    fn update_mode<'a>(
        &'a self,
        name: &'a str,
        arn: &'a str,
        mode: CapacityMode,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_stream_mode()
                .stream_arn(arn)
                .stream_mode_details(
                    StreamModeDetails::builder()
                        .stream_mode(sdk_mode(mode))
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:UpdateStreamMode", name, e))?;
            Ok(())
        })
    }

    fn update_shard_count<'a>(&'a self, name: &'a str, shards: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_shard_count()
                .stream_name(name)
                .target_shard_count(shards)
                .scaling_type(ScalingType::UniformScaling)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:UpdateShardCount", name, e))?;
            Ok(())
        })
    }

    fn increase_retention<'a>(&'a self, name: &'a str, hours: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .increase_stream_retention_period()
                .stream_name(name)
                .retention_period_hours(hours)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:IncreaseStreamRetentionPeriod", name, e))?;
            Ok(())
        })
    }

    fn decrease_retention<'a>(&'a self, name: &'a str, hours: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .decrease_stream_retention_period()
                .stream_name(name)
                .retention_period_hours(hours)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:DecreaseStreamRetentionPeriod", name, e))?;
            Ok(())
        })
    }

    fn start_encryption<'a>(&'a self, name: &'a str, key: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .start_stream_encryption()
                .stream_name(name)
                .encryption_type(EncryptionType::Kms)
                .key_id(key)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:StartStreamEncryption", name, e))?;
            Ok(())
        })
    }

    fn add_tags<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self.0.add_tags_to_stream().stream_name(name);
            for (key, value) in tags {
                request = request.tags(key, value);
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:AddTagsToStream", name, e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            // Consumers (other readers registered on the stream) would otherwise block it.
            gone_is_fine(
                self.0
                    .delete_stream()
                    .stream_name(name)
                    .enforce_consumer_deletion(true)
                    .send()
                    .await,
                |e| e.is_resource_not_found_exception(),
                "kinesis:DeleteStream",
                name,
            )
        })
    }
}

/// The fake account's streams, by name, and how long their changes take.
#[derive(Default)]
pub struct FakeStreams {
    streams: BTreeMap<String, FakeStream>,
    /// How many status reads a change is still in progress for (see [`FakeStream`]).
    settle_reads: u32,
}

/// A stream of the fake account. Time passes in status reads: after a change the stream is
/// CREATING or UPDATING, refusing further changes as AWS does, until it has answered
/// `settle_reads` more reads with that status; the next read finds it ACTIVE. So a step that
/// changes a stream twice without waiting in between is refused, and with the default of
/// no extra reads the first poll of a wait finds the stream ready (no sleep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeStream {
    pub mode: CapacityMode,
    pub open_shards: i32,
    pub retention_hours: i32,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    /// The server-side encryption key; None: not encrypted (a new stream's state).
    pub kms_key: Option<String>,
    /// Reads that still answer the in-progress status.
    pub reads_until_active: u32,
}

/// Shards AWS gives a new on-demand stream.
const ON_DEMAND_SHARDS: i32 = 4;
/// Retention of a new stream, and the shortest AWS allows.
const MIN_RETENTION_HOURS: i32 = 24;
/// The longest retention AWS allows (365 days).
const MAX_RETENTION_HOURS: i32 = 8760;

impl FakeAccount {
    pub fn stream(&self, name: &str) -> Option<FakeStream> {
        self.state().streams.streams.get(name).cloned()
    }

    /// Changes a stream behind the deployer's back, as someone in the console would.
    pub fn edit_stream(&self, name: &str, edit: impl FnOnce(&mut FakeStream)) {
        if let Some(stream) = self.state().streams.streams.get_mut(name) {
            edit(stream);
        }
    }

    /// From now on, a change to a stream is still in progress for `reads` more status reads
    /// (each poll of a wait that finds it so sleeps, so keep it to what a test needs).
    pub fn streams_settle_after(&self, reads: u32) {
        self.state().streams.settle_reads = reads;
    }

    fn stream_not_found(&self, operation: &str, name: &str) -> DeployError {
        refused(
            operation,
            name,
            &format!(
                "ResourceNotFoundException: Stream {name} under account {} not found.",
                self.account
            ),
        )
    }

    /// Applies `change` to the stream when it exists and is ACTIVE, as AWS requires of every
    /// change the deployer makes; the stream is UPDATING afterwards when `updates`.
    fn change_stream(
        &self,
        operation: &str,
        name: &str,
        updates: bool,
        change: impl FnOnce(&mut FakeStream) -> Result<(), DeployError>,
    ) -> Result<(), DeployError> {
        let mut state = self.state();
        let settle_reads = state.streams.settle_reads;
        let stream = state
            .streams
            .streams
            .get_mut(name)
            .ok_or_else(|| self.stream_not_found(operation, name))?;
        if stream.status != ACTIVE {
            return Err(refused(
                operation,
                name,
                &format!(
                    "ResourceInUseException: Stream {name} under account {} not ACTIVE, instead in state {}",
                    self.account, stream.status
                ),
            ));
        }
        change(stream)?;
        if updates {
            stream.status = "UPDATING".to_string();
            stream.reads_until_active = settle_reads;
        }
        Ok(())
    }
}

fn invalid(operation: &str, name: &str, message: String) -> DeployError {
    refused(
        operation,
        name,
        &format!("InvalidArgumentException: {message}"),
    )
}

fn check_retention(operation: &str, name: &str, hours: i32) -> Result<(), DeployError> {
    if !(MIN_RETENTION_HOURS..=MAX_RETENTION_HOURS).contains(&hours) {
        return Err(invalid(
            operation,
            name,
            format!(
                "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is out of range."
            ),
        ));
    }
    Ok(())
}

impl Streams for FakeAccount {
    fn summary<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<StreamSummary>> {
        Box::pin(async move {
            self.call("kinesis:DescribeStreamSummary", name)?;
            let mut state = self.state();
            let Some(stream) = state.streams.streams.get_mut(name) else {
                return Ok(None);
            };
            // A read is the fake's clock: a change in progress ends after its reads, and a
            // stream being deleted is gone after its reads.
            if stream.status != ACTIVE {
                if stream.reads_until_active > 0 {
                    stream.reads_until_active -= 1;
                } else if stream.status == DELETING {
                    state.streams.streams.remove(name);
                    return Ok(None);
                } else {
                    stream.status = ACTIVE.to_string();
                }
            }
            Ok(Some(StreamSummary {
                mode: stream.mode,
                open_shards: stream.open_shards,
                retention_hours: stream.retention_hours,
                status: stream.status.clone(),
                kms_key: stream.kms_key.clone(),
            }))
        })
    }

    fn tags<'a>(&'a self, name: &'a str) -> PortFuture<'a, Vec<(String, String)>> {
        Box::pin(async move {
            self.call("kinesis:ListTagsForStream", name)?;
            self.state()
                .streams
                .streams
                .get(name)
                .map(|s| s.tags.clone().into_iter().collect())
                .ok_or_else(|| self.stream_not_found("kinesis:ListTagsForStream", name))
        })
    }

    fn create<'a>(&'a self, name: &'a str, capacity: Capacity) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("kinesis:CreateStream", name)?;
            let mut state = self.state();
            // Stream names are unique in an account and region.
            if state.streams.streams.contains_key(name) {
                return Err(refused(
                    "kinesis:CreateStream",
                    name,
                    &format!(
                        "ResourceInUseException: Stream {name} under account {} already exists.",
                        self.account
                    ),
                ));
            }
            let open_shards = match capacity {
                Capacity::OnDemand => ON_DEMAND_SHARDS,
                Capacity::Provisioned { shards } if shards >= 1 => shards,
                Capacity::Provisioned { shards } => {
                    return Err(invalid(
                        "kinesis:CreateStream",
                        name,
                        format!("ShardCount {shards} is below the minimum of 1."),
                    ));
                }
            };
            let stream = FakeStream {
                mode: capacity.mode(),
                open_shards,
                retention_hours: MIN_RETENTION_HOURS,
                tags: BTreeMap::new(),
                status: "CREATING".to_string(),
                kms_key: None,
                reads_until_active: state.streams.settle_reads,
            };
            state.streams.streams.insert(name.to_string(), stream);
            Ok(())
        })
    }

    fn update_mode<'a>(
        &'a self,
        name: &'a str,
        arn: &'a str,
        mode: CapacityMode,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("kinesis:UpdateStreamMode", arn)?;
            // AWS finds the stream by its ARN: one of another account or region is not ours.
            let ours = format!("arn:aws:kinesis:{}:{}:stream/", self.region, self.account);
            let addressed = arn.strip_prefix(&ours).unwrap_or_default();
            if addressed != name {
                return Err(self.stream_not_found("kinesis:UpdateStreamMode", arn));
            }
            self.change_stream("kinesis:UpdateStreamMode", name, true, |stream| {
                // The shards stay: a provisioned stream starts from what on-demand had.
                stream.mode = mode;
                Ok(())
            })
        })
    }

    fn update_shard_count<'a>(&'a self, name: &'a str, shards: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let operation = "kinesis:UpdateShardCount";
            self.call(operation, name)?;
            self.change_stream(operation, name, true, |stream| {
                if stream.mode != CapacityMode::Provisioned {
                    return Err(refused(
                        operation,
                        name,
                        "ValidationException: UpdateShardCount is not supported for streams in ON_DEMAND mode.",
                    ));
                }
                // AWS scales at most to double, or down to half, the open shards per call.
                let current = stream.open_shards;
                if shards > current.saturating_mul(2) || shards.saturating_mul(2) < current {
                    return Err(refused(
                        operation,
                        name,
                        &format!(
                            "LimitExceededException: UpdateShardCount from {current} to {shards} shards: the target may be at most double and at least half the current shard count."
                        ),
                    ));
                }
                stream.open_shards = shards;
                Ok(())
            })
        })
    }

    fn increase_retention<'a>(&'a self, name: &'a str, hours: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let operation = "kinesis:IncreaseStreamRetentionPeriod";
            self.call(operation, name)?;
            check_retention(operation, name, hours)?;
            self.change_stream(operation, name, true, |stream| {
                if hours < stream.retention_hours {
                    return Err(invalid(
                        operation,
                        name,
                        format!(
                            "Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({} hours). Use DecreaseRetentionPeriod API.",
                            stream.retention_hours
                        ),
                    ));
                }
                stream.retention_hours = hours;
                Ok(())
            })
        })
    }

    fn decrease_retention<'a>(&'a self, name: &'a str, hours: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let operation = "kinesis:DecreaseStreamRetentionPeriod";
            self.call(operation, name)?;
            check_retention(operation, name, hours)?;
            self.change_stream(operation, name, true, |stream| {
                if hours > stream.retention_hours {
                    return Err(invalid(
                        operation,
                        name,
                        format!(
                            "Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({} hours). Use IncreaseRetentionPeriod API.",
                            stream.retention_hours
                        ),
                    ));
                }
                stream.retention_hours = hours;
                Ok(())
            })
        })
    }

    fn start_encryption<'a>(&'a self, name: &'a str, key: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let operation = "kinesis:StartStreamEncryption";
            self.call(operation, name)?;
            // AWS takes a key ARN, an alias ARN, an alias name or a key id.
            let shaped = key.starts_with("arn:aws:kms:") || key.starts_with("alias/");
            if !shaped {
                return Err(invalid(
                    operation,
                    name,
                    format!("KeyId {key} is not a KMS key id, key ARN, alias name or alias ARN."),
                ));
            }
            self.change_stream(operation, name, true, |stream| {
                stream.kms_key = Some(key.to_string());
                Ok(())
            })
        })
    }

    fn add_tags<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("kinesis:AddTagsToStream", name)?;
            // Tagging does not put the stream in UPDATING, but needs it ACTIVE.
            self.change_stream("kinesis:AddTagsToStream", name, false, |stream| {
                stream.tags.extend(tags);
                Ok(())
            })
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("kinesis:DeleteStream", name)?;
            // AWS keeps the stream DELETING for a while before its name is free again.
            let mut state = self.state();
            let reads = state.streams.settle_reads;
            if let Some(stream) = state.streams.streams.get_mut(name) {
                stream.status = DELETING.to_string();
                stream.reads_until_active = reads;
            }
            Ok(())
        })
    }
}
