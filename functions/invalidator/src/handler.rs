//! The Lambda handler: SQS messages carrying S3 notifications → one invalidation per batch.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use cfrp_config::InvalidatorSettings;
use lambda_runtime::{Error, LambdaEvent};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::InvalidationApi;
use crate::paths::{KeyError, decode_event_key, paths_for_key};
use crate::plan::{Change, caller_reference, plan};

/// The parts of an S3 event notification the invalidator uses, read leniently: senders differ
/// in the fields they include (moto, for one, leaves out `userIdentity`, which
/// `aws_lambda_events::S3Event` requires), and a missing field we do not use must not turn a
/// real change into a dead letter.
#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<NotificationRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    #[serde(default)]
    event_name: String,
    s3: NotificationEntity,
}

#[derive(Debug, Deserialize)]
struct NotificationEntity {
    bucket: NotificationBucket,
    object: NotificationObject,
}

#[derive(Debug, Deserialize)]
struct NotificationBucket {
    name: String,
}

#[derive(Debug, Deserialize)]
struct NotificationObject {
    key: String,
    #[serde(default)]
    sequencer: String,
}

/// One changed object and the paths it invalidates.
type ChangedKey = (Change, Vec<String>);

pub struct Invalidator<A> {
    pub settings: InvalidatorSettings,
    pub api: A,
}

/// What one invocation did; logged as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub messages: usize,
    pub keys_seen: usize,
    pub test_events: usize,
    pub skipped_outside_prefix: usize,
    pub poison_messages: Vec<String>,
    pub paths_invalidated: Vec<String>,
    pub wildcards: usize,
    pub invalidation_id: Option<String>,
    pub caller_reference: Option<String>,
    pub failed_messages: usize,
    /// How often CreateInvalidation was retried because CloudFront was busy.
    pub retries: usize,
}

/// Why a message cannot be processed at all (it goes to the dead-letter queue after the
/// queue's maxReceiveCount deliveries).
#[derive(Debug, thiserror::Error)]
enum Poison {
    #[error("the body is not an S3 event notification: {0}")]
    NotS3Event(String),
    #[error("the notification is for bucket {found:?}, not {expected:?}")]
    WrongBucket { found: String, expected: String },
    #[error("key {key:?}: {source}")]
    BadKey { key: String, source: KeyError },
}

/// How throttled invalidations are retried: after `first_delay`, doubling up to
/// [`MAX_RETRY_DELAY`], while the next attempt still starts within `budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub first_delay: Duration,
    pub budget: Duration,
}

/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
/// Time kept back from the invocation's deadline for reporting the batch.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

impl Retry {
    /// No retry: one attempt.
    pub const NONE: Retry = Retry {
        first_delay: Duration::ZERO,
        budget: Duration::ZERO,
    };

    /// Retries within what is left of an invocation whose deadline is `deadline_ms` (epoch
    /// milliseconds, as the Lambda context gives it), less [`DEADLINE_MARGIN`].
    pub fn within(deadline_ms: u64, now_ms: u64) -> Retry {
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Retry {
            first_delay: Duration::from_secs(1),
            budget: left.saturating_sub(DEADLINE_MARGIN),
        }
    }
}

impl<A: InvalidationApi> Invalidator<A> {
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let now_ms = u64::try_from(cfrp_function_support::now_ms()).unwrap_or_default();
        let retry = Retry::within(event.context.deadline, now_ms);
        let (response, summary) = self.process_with(event.payload, retry).await;
        tracing::info!(
            target: "summary",
            messages = summary.messages,
            keys_seen = summary.keys_seen,
            paths_invalidated = serde_json::to_string(&summary.paths_invalidated).unwrap_or_default(),
            wildcards = summary.wildcards,
            invalidation_id = summary.invalidation_id.as_deref().unwrap_or(""),
            failed_messages = summary.failed_messages,
            retries = summary.retries,
            "manuscript changes processed"
        );
        Ok(response)
    }

    /// The whole invocation without logging and without retries: the response and what
    /// happened.
    pub async fn process(&self, event: SqsEvent) -> (SqsBatchResponse, Summary) {
        self.process_with(event, Retry::NONE).await
    }

    /// CreateInvalidation, retried with backoff while CloudFront answers that too many
    /// invalidations are in progress (or throttles), as long as `retry` allows: bursts of
    /// uploads then wait for earlier invalidations instead of landing in the dead-letter queue.
    async fn create_retrying(
        &self,
        reference: &str,
        paths: &[String],
        retry: Retry,
        summary: &mut Summary,
    ) -> Result<String, crate::api::InvalidationFailure> {
        let started = std::time::Instant::now();
        let mut delay = retry.first_delay;
        loop {
            match self
                .api
                .create(&self.settings.distribution_id, reference, paths)
                .await
            {
                Err(failure)
                    if failure.retriable
                        && !delay.is_zero()
                        && started.elapsed() + delay <= retry.budget =>
                {
                    summary.retries += 1;
                    tracing::info!(code = %failure.code, wait_ms = delay.as_millis() as u64, "CloudFront is busy; retrying the invalidation");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                other => return other,
            }
        }
    }

    /// [`Invalidator::process`] with throttled invalidations retried as `retry` allows.
    pub async fn process_with(&self, event: SqsEvent, retry: Retry) -> (SqsBatchResponse, Summary) {
        let manuscripts = &self.settings.manuscripts;
        let mut summary = Summary {
            messages: event.records.len(),
            ..Summary::default()
        };
        let mut failed: Vec<String> = Vec::new();
        let mut contributing: Vec<String> = Vec::new();
        let mut changes: Vec<Change> = Vec::new();
        let mut paths: Vec<String> = Vec::new();

        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.as_deref().unwrap_or_default();
            match self.read_message(body, &mut summary) {
                Ok(None) => {}
                Ok(Some(found)) => {
                    for (change, key_paths) in found {
                        changes.push(change);
                        paths.extend(key_paths);
                    }
                    contributing.push(id);
                }
                Err(poison) => {
                    tracing::warn!(message_id = %id, error = %poison, "poison message: reported as failed so it ends in the dead-letter queue");
                    summary.poison_messages.push(id.clone());
                    failed.push(id);
                }
            }
        }

        if !paths.is_empty() {
            let planned = plan(paths, &manuscripts.path_prefix);
            let reference = caller_reference(&changes, &planned.paths);
            match self
                .create_retrying(&reference, &planned.paths, retry, &mut summary)
                .await
            {
                Ok(invalidation) => {
                    summary.invalidation_id = Some(invalidation);
                    summary.paths_invalidated = planned.paths;
                    summary.wildcards = planned.wildcards;
                    summary.caller_reference = Some(reference);
                }
                Err(failure) => {
                    tracing::warn!(code = %failure.code, retriable = failure.retriable, error = %failure.message, "invalidation not created: the batch's messages are returned to the queue");
                    failed.extend(contributing);
                }
            }
        }
        summary.failed_messages = failed.len();
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        (response, summary)
    }

    /// `Ok(None)` for messages with nothing to invalidate (S3's test event, keys outside the
    /// prefix, other event types).
    fn read_message(
        &self,
        body: &str,
        summary: &mut Summary,
    ) -> Result<Option<Vec<ChangedKey>>, Poison> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| Poison::NotS3Event(e.to_string()))?;
        if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
            summary.test_events += 1;
            return Ok(None);
        }
        let event: Notification =
            serde_json::from_value(value).map_err(|e| Poison::NotS3Event(e.to_string()))?;
        if event.records.is_empty() {
            return Err(Poison::NotS3Event("no Records".to_string()));
        }
        let manuscripts = &self.settings.manuscripts;
        let mut found = Vec::new();
        for record in event.records {
            let bucket = record.s3.bucket.name;
            if bucket != manuscripts.bucket {
                return Err(Poison::WrongBucket {
                    found: bucket,
                    expected: manuscripts.bucket.clone(),
                });
            }
            let name = record.event_name.as_str();
            if !(name.starts_with("ObjectCreated:") || name.starts_with("ObjectRemoved:")) {
                continue;
            }
            let raw_key = record.s3.object.key;
            summary.keys_seen += 1;
            let key = decode_event_key(&raw_key).map_err(|source| Poison::BadKey {
                key: raw_key.clone(),
                source,
            })?;
            match paths_for_key(&key, &manuscripts.key_prefix, &manuscripts.path_prefix) {
                Ok(key_paths) => found.push((
                    Change {
                        bucket,
                        key,
                        sequencer: record.s3.object.sequencer,
                    },
                    key_paths,
                )),
                Err(KeyError::OutsidePrefix { .. }) => summary.skipped_outside_prefix += 1,
                Err(source) => return Err(Poison::BadKey { key, source }),
            }
        }
        Ok(if found.is_empty() { None } else { Some(found) })
    }
}
