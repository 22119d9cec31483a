//! S3 buckets: the port, its SDK adapter and the fake account's buckets.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, Event, EventBridgeConfiguration,
    FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, ObjectIdentifier, PublicAccessBlockConfiguration,
    QueueConfiguration, S3KeyFilter, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, TopicConfiguration,
};

use aws_sdk_s3::error::ProvideErrorMetadata;

use super::PortFuture;
use super::fake::{FakeAccount, refused};
use crate::error::DeployError;

/// One rule of a notification's key filter, as S3 spells it (`prefix` or `suffix`; S3 answers
/// `Prefix`, so compare names ignoring case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilterRule {
    pub name: Option<String>,
    pub value: Option<String>,
}

/// One entry of a bucket's notification configuration: which events go where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationEntry {
    pub id: Option<String>,
    /// The queue's, topic's or function's ARN.
    pub arn: String,
    /// Event types as S3 names them (`s3:ObjectCreated:*`, ...).
    pub events: Vec<String>,
    /// The key filter's rules; None when the entry has no filter.
    pub key_filter: Option<Vec<KeyFilterRule>>,
}

/// A bucket's whole notification configuration: S3 replaces it as one document, so what the
/// deployer does not manage (topics, functions, EventBridge, other queues) is carried along.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    pub queues: Vec<NotificationEntry>,
    pub topics: Vec<NotificationEntry>,
    pub functions: Vec<NotificationEntry>,
    /// Whether every event also goes to EventBridge.
    pub event_bridge: bool,
}

/// A bucket's Block Public Access settings (`PutPublicAccessBlock`): each blocks one way a
/// bucket can become public.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on: what the bucket `up` creates gets.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// Each setting by its API name (`BlockPublicAcls`, ...), with whether it is on.
    pub fn settings(&self) -> [(&'static str, bool); 4] {
        [
            ("BlockPublicAcls", self.block_public_acls),
            ("IgnorePublicAcls", self.ignore_public_acls),
            ("BlockPublicPolicy", self.block_public_policy),
            ("RestrictPublicBuckets", self.restrict_public_buckets),
        ]
    }
}

/// A bucket's default encryption (its first rule's default): SSE-S3 (`AES256`) or SSE-KMS
/// (`aws:kms`, with the key; None is S3's AWS-managed key `aws/s3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultEncryption {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`, as S3 spells it.
    pub algorithm: String,
    pub kms_key: Option<String>,
}

/// An object to delete: its key, and the version when the bucket keeps versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    pub key: String,
    pub version: Option<String>,
}

/// One page of a bucket listing, and where the next one starts (None: it was the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    pub objects: Vec<ObjectId>,
    /// For current keys the last key listed (ListObjectsV2's StartAfter); for versions the
    /// key and version-id markers S3 answered.
    pub next: Option<ObjectId>,
}

/// An object DeleteObjects did not delete, with S3's error code and message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeleted {
    pub object: ObjectId,
    pub code: String,
    pub message: String,
}

/// S3 buckets, by name.
pub trait Buckets: Send + Sync {
    /// Whether the bucket exists (and this account may see it).
    fn exists<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, bool>;
    /// The bucket's tags, or None when it has no tag set.
    fn tags<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<Vec<(String, String)>>>;
    /// Creates the bucket with `location` as its location constraint (None: no
    /// constraint, which only us-east-1 takes).
    fn create<'a>(&'a self, bucket: &'a str, location: Option<&'a str>) -> PortFuture<'a, ()>;
    /// Replaces the bucket's tag set.
    fn put_tags<'a>(&'a self, bucket: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()>;
    /// Whether the bucket keeps object versions (versioning Enabled, or Suspended after
    /// being enabled): deleting its keys then leaves versions and delete markers behind.
    fn versioned<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, bool>;
    /// A page (up to 1,000) of the bucket's objects from `from` on (the start when None):
    /// current keys (ListObjectsV2), or with `versions` every version and delete marker
    /// (ListObjectVersions).
    fn list_objects<'a>(
        &'a self,
        bucket: &'a str,
        versions: bool,
        from: Option<ObjectId>,
    ) -> PortFuture<'a, ObjectPage>;
    /// Deletes these objects (at most 1,000; a version when it is named); the objects S3
    /// answered it did not delete (it answers 200 and names them).
    fn delete_objects<'a>(
        &'a self,
        bucket: &'a str,
        objects: Vec<ObjectId>,
    ) -> PortFuture<'a, Vec<Undeleted>>;
    /// Deletes the (empty) bucket; a bucket already gone is not an error.
    fn delete<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, ()>;
    fn notifications<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Notifications>;
    /// Replaces the bucket's whole notification configuration.
    fn put_notifications<'a>(
        &'a self,
        bucket: &'a str,
        notifications: Notifications,
    ) -> PortFuture<'a, ()>;
    /// The bucket's Block Public Access settings, or None when it has none (S3 answers
    /// NoSuchPublicAccessBlockConfiguration).
    fn public_access_block<'a>(
        &'a self,
        bucket: &'a str,
    ) -> PortFuture<'a, Option<PublicAccessBlock>>;
    fn put_public_access_block<'a>(
        &'a self,
        bucket: &'a str,
        block: PublicAccessBlock,
    ) -> PortFuture<'a, ()>;
    /// The bucket's default encryption, or None when it has none (S3 answers
    /// ServerSideEncryptionConfigurationNotFoundError; AWS itself gives every bucket SSE-S3
    /// since 2023, emulators may not).
    fn encryption<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<DefaultEncryption>>;
    /// Replaces the bucket's default encryption with one rule.
    fn put_encryption<'a>(
        &'a self,
        bucket: &'a str,
        encryption: DefaultEncryption,
    ) -> PortFuture<'a, ()>;
    /// The bucket's policy document, or None when it has none (NoSuchBucketPolicy).
    fn policy<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<String>>;
    /// Replaces the bucket's policy.
    fn put_policy<'a>(&'a self, bucket: &'a str, policy: String) -> PortFuture<'a, ()>;
}

/// The service error's code, for S3 errors that have no modelled variant.
fn code_is<E: ProvideErrorMetadata>(err: &aws_sdk_s3::error::SdkError<E>, code: &str) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some(code)
}

/// S3 through `aws-sdk-s3`.
pub struct SdkBuckets(pub aws_sdk_s3::Client);

impl Buckets for SdkBuckets {
    fn exists<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, bool> {
        Box::pin(async move {
            match self.0.head_bucket().bucket(bucket).send().await {
                Ok(_) => Ok(true),
                Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
                // HEAD answers carry no body, so a 404 may come back unparsed.
                Err(err)
                    if err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() == 404) =>
                {
                    Ok(false)
                }
                Err(err) => Err(DeployError::aws("s3:HeadBucket", bucket, err)),
            }
        })
    }

    fn tags<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(async move {
            match self.0.get_bucket_tagging().bucket(bucket).send().await {
                Ok(out) => Ok(Some(
                    out.tag_set()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                )),
                // S3 answers a bucket without tags with this error (it has no modelled variant).
                Err(err)
                    if err.as_service_error().and_then(|e| e.code()) == Some("NoSuchTagSet") =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("s3:GetBucketTagging", bucket, err)),
            }
        })
    }

    fn create<'a>(&'a self, bucket: &'a str, location: Option<&'a str>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self.0.create_bucket().bucket(bucket);
            if let Some(location) = location {
                request = request.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(location))
                        .build(),
                );
            }
            request
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:CreateBucket", bucket, e))?;
            Ok(())
        })
    }

    fn put_tags<'a>(&'a self, bucket: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let mut tagging = Tagging::builder();
            for (k, v) in tags {
                tagging = tagging.tag_set(Tag::builder().key(k).value(v).build()?);
            }
            self.0
                .put_bucket_tagging()
                .bucket(bucket)
                .tagging(tagging.build()?)
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:PutBucketTagging", bucket, e))?;
            Ok(())
        })
    }

    fn versioned<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, bool> {
        Box::pin(async move {
            let out = self
                .0
                .get_bucket_versioning()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:GetBucketVersioning", bucket, e))?;
            // A bucket never versioned answers no status; a suspended one still holds versions.
            Ok(out.status().is_some())
        })
    }

    fn list_objects<'a>(
        &'a self,
        bucket: &'a str,
        versions: bool,
        from: Option<ObjectId>,
    ) -> PortFuture<'a, ObjectPage> {
        Box::pin(async move {
            if !versions {
                let listed = self
                    .0
                    .list_objects_v2()
                    .bucket(bucket)
                    .set_start_after(from.map(|f| f.key))
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("s3:ListObjectsV2", bucket, e))?;
                let objects: Vec<ObjectId> = listed
                    .contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .map(|key| ObjectId {
                        key: key.to_string(),
                        version: None,
                    })
                    .collect();
                let next = match listed.is_truncated() {
                    Some(true) => objects.last().cloned(),
                    _ => None,
                };
                return Ok(ObjectPage { objects, next });
            }
            let (key_marker, version_marker) = match from {
                Some(f) => (Some(f.key), f.version),
                None => (None, None),
            };
            let listed = self
                .0
                .list_object_versions()
                .bucket(bucket)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:ListObjectVersions", bucket, e))?;
            let versions = listed.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = listed
                .delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id()));
            let objects = versions
                .chain(markers)
                .filter_map(|(key, version)| {
                    Some(ObjectId {
                        key: key?.to_string(),
                        version: version.map(str::to_string),
                    })
                })
                .collect();
            let next = match (listed.is_truncated(), listed.next_key_marker()) {
                (Some(true), Some(key)) => Some(ObjectId {
                    key: key.to_string(),
                    version: listed.next_version_id_marker().map(str::to_string),
                }),
                _ => None,
            };
            Ok(ObjectPage { objects, next })
        })
    }

    fn delete_objects<'a>(
        &'a self,
        bucket: &'a str,
        objects: Vec<ObjectId>,
    ) -> PortFuture<'a, Vec<Undeleted>> {
        Box::pin(async move {
            let identifiers = objects
                .iter()
                .map(|o| {
                    ObjectIdentifier::builder()
                        .key(&o.key)
                        .set_version_id(o.version.clone())
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .0
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(identifiers))
                        // Only the failures are answered: a page of 1,000 deletions stays small.
                        .quiet(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:DeleteObjects", bucket, e))?;
            Ok(out
                .errors()
                .iter()
                .map(|e| Undeleted {
                    object: ObjectId {
                        key: e.key().unwrap_or_default().to_string(),
                        version: e.version_id().map(str::to_string),
                    },
                    code: e.code().unwrap_or_default().to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect())
        })
    }

    fn delete<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            match self.0.delete_bucket().bucket(bucket).send().await {
                Ok(_) => Ok(()),
                // DeleteBucket has no modelled "no such bucket" error: its code tells.
                Err(err)
                    if err.as_service_error().and_then(|e| e.code()) == Some("NoSuchBucket") =>
                {
                    Ok(())
                }
                Err(err) => Err(DeployError::aws("s3:DeleteBucket", bucket, err)),
            }
        })
    }

    fn notifications<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Notifications> {
        Box::pin(async move {
            let out = self
                .0
                .get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws("s3:GetBucketNotificationConfiguration", bucket, e)
                })?;
            Ok(port_notifications(
                out.queue_configurations(),
                out.topic_configurations(),
                out.lambda_function_configurations(),
                out.event_bridge_configuration().is_some(),
            ))
        })
    }

    fn put_notifications<'a>(
        &'a self,
        bucket: &'a str,
        notifications: Notifications,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(sdk_notifications(notifications)?)
                .send()
                .await
                .map_err(|e| {
                    DeployError::aws("s3:PutBucketNotificationConfiguration", bucket, e)
                })?;
            Ok(())
        })
    }

    fn public_access_block<'a>(
        &'a self,
        bucket: &'a str,
    ) -> PortFuture<'a, Option<PublicAccessBlock>> {
        Box::pin(async move {
            match self.0.get_public_access_block().bucket(bucket).send().await {
                Ok(out) => Ok(out
                    .public_access_block_configuration()
                    .map(|c| PublicAccessBlock {
                        block_public_acls: c.block_public_acls().unwrap_or(false),
                        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                        block_public_policy: c.block_public_policy().unwrap_or(false),
                        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                    })),
                Err(err) if code_is(&err, "NoSuchPublicAccessBlockConfiguration") => Ok(None),
                Err(err) => Err(DeployError::aws("s3:GetPublicAccessBlock", bucket, err)),
            }
        })
    }

    fn put_public_access_block<'a>(
        &'a self,
        bucket: &'a str,
        block: PublicAccessBlock,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(block.block_public_acls)
                        .ignore_public_acls(block.ignore_public_acls)
                        .block_public_policy(block.block_public_policy)
                        .restrict_public_buckets(block.restrict_public_buckets)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:PutPublicAccessBlock", bucket, e))?;
            Ok(())
        })
    }

    fn encryption<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<DefaultEncryption>> {
        Box::pin(async move {
            match self.0.get_bucket_encryption().bucket(bucket).send().await {
                Ok(out) => Ok(out
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|rule| rule.apply_server_side_encryption_by_default())
                    .map(|default| DefaultEncryption {
                        algorithm: default.sse_algorithm().as_str().to_string(),
                        kms_key: default.kms_master_key_id().map(str::to_string),
                    })),
                Err(err) if code_is(&err, "ServerSideEncryptionConfigurationNotFoundError") => {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("s3:GetBucketEncryption", bucket, err)),
            }
        })
    }

    fn put_encryption<'a>(
        &'a self,
        bucket: &'a str,
        encryption: DefaultEncryption,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(encryption.algorithm.as_str()))
                .set_kms_master_key_id(encryption.kms_key.clone())
                .build()?;
            // With a KMS key, an S3 Bucket Key cuts the KMS requests (and their cost) that
            // SSE-KMS makes per object.
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(encryption.kms_key.is_some())
                .build();
            self.0
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:PutBucketEncryption", bucket, e))?;
            Ok(())
        })
    }

    fn policy<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            match self.0.get_bucket_policy().bucket(bucket).send().await {
                Ok(out) => Ok(out.policy().map(str::to_string)),
                Err(err) if code_is(&err, "NoSuchBucketPolicy") => Ok(None),
                Err(err) => Err(DeployError::aws("s3:GetBucketPolicy", bucket, err)),
            }
        })
    }

    fn put_policy<'a>(&'a self, bucket: &'a str, policy: String) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .map_err(|e| DeployError::aws("s3:PutBucketPolicy", bucket, e))?;
            Ok(())
        })
    }
}

/// A bucket's notification configuration as S3 answered it, in the port's terms.
fn port_notifications(
    queues: &[QueueConfiguration],
    topics: &[TopicConfiguration],
    functions: &[LambdaFunctionConfiguration],
    event_bridge: bool,
) -> Notifications {
    Notifications {
        queues: queues
            .iter()
            .map(|q| entry(q.id(), q.queue_arn(), q.events(), q.filter()))
            .collect(),
        topics: topics
            .iter()
            .map(|t| entry(t.id(), t.topic_arn(), t.events(), t.filter()))
            .collect(),
        functions: functions
            .iter()
            .map(|f| entry(f.id(), f.lambda_function_arn(), f.events(), f.filter()))
            .collect(),
        event_bridge,
    }
}

/// The configuration to send: every entry as read (or made), in the same order.
fn sdk_notifications(
    notifications: Notifications,
) -> Result<NotificationConfiguration, DeployError> {
    let queues = notifications
        .queues
        .into_iter()
        .map(|q| {
            QueueConfiguration::builder()
                .set_id(q.id)
                .queue_arn(q.arn)
                .set_events(Some(sdk_events(&q.events)))
                .set_filter(q.key_filter.map(sdk_filter))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let topics = notifications
        .topics
        .into_iter()
        .map(|t| {
            TopicConfiguration::builder()
                .set_id(t.id)
                .topic_arn(t.arn)
                .set_events(Some(sdk_events(&t.events)))
                .set_filter(t.key_filter.map(sdk_filter))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let functions = notifications
        .functions
        .into_iter()
        .map(|f| {
            LambdaFunctionConfiguration::builder()
                .set_id(f.id)
                .lambda_function_arn(f.arn)
                .set_events(Some(sdk_events(&f.events)))
                .set_filter(f.key_filter.map(sdk_filter))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NotificationConfiguration::builder()
        .set_queue_configurations(Some(queues))
        .set_topic_configurations(Some(topics))
        .set_lambda_function_configurations(Some(functions))
        .set_event_bridge_configuration(
            notifications
                .event_bridge
                .then(|| EventBridgeConfiguration::builder().build()),
        )
        .build())
}

fn sdk_events(events: &[String]) -> Vec<Event> {
    events.iter().map(|e| Event::from(e.as_str())).collect()
}

/// An SDK notification entry (queue, topic or function) in the port's terms.
fn entry(
    id: Option<&str>,
    arn: &str,
    events: &[Event],
    filter: Option<&NotificationConfigurationFilter>,
) -> NotificationEntry {
    NotificationEntry {
        id: id.map(str::to_string),
        arn: arn.to_string(),
        events: events.iter().map(|e| e.as_str().to_string()).collect(),
        // A filter without a key filter (S3 never answers one) reads as one without rules.
        key_filter: filter.map(|f| {
            f.key()
                .map(|k| {
                    k.filter_rules()
                        .iter()
                        .map(|r| KeyFilterRule {
                            name: r.name().map(|n| n.as_str().to_string()),
                            value: r.value().map(str::to_string),
                        })
                        .collect()
                })
                .unwrap_or_default()
        }),
    }
}

fn sdk_filter(rules: Vec<KeyFilterRule>) -> NotificationConfigurationFilter {
    NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .set_filter_rules(Some(
                    rules
                        .into_iter()
                        .map(|r| {
                            FilterRule::builder()
                                .set_name(r.name.as_deref().map(FilterRuleName::from))
                                .set_value(r.value)
                                .build()
                        })
                        .collect(),
                ))
                .build(),
        )
        .build()
}

/// The fake account's buckets, by name.
pub type FakeBuckets = BTreeMap<String, FakeBucket>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeBucket {
    /// The location constraint it was created with (None: us-east-1's none).
    pub location: Option<String>,
    /// Empty: no tag set (S3 then answers GetBucketTagging with NoSuchTagSet).
    pub tags: Vec<(String, String)>,
    pub objects: BTreeSet<String>,
    /// Keys a bucket policy denies deleting: DeleteObjects reports each as AccessDenied.
    pub undeletable: BTreeSet<String>,
    /// Versioning enabled: a delete without a version then leaves a delete marker.
    pub versioned: bool,
    /// (key, version id) of every noncurrent version and delete marker; the current
    /// objects are `objects` (the fake gives them the version id "null").
    pub versions: BTreeSet<(String, String)>,
    pub notifications: Notifications,
    /// None: no Block Public Access configuration on the bucket.
    pub public_access_block: Option<PublicAccessBlock>,
    /// None: no default encryption (what moto answers for a new bucket; AWS gives SSE-S3).
    pub encryption: Option<DefaultEncryption>,
    pub policy: Option<String>,
}

/// What ListObjectsV2 answers at most, and DeleteObjects takes at most.
const PAGE: usize = 1000;

impl FakeAccount {
    pub fn bucket(&self, name: &str) -> Option<FakeBucket> {
        self.state().buckets.get(name).cloned()
    }

    /// Makes a bucket outside the deployer, as its owner would before the stack exists.
    pub fn add_bucket(&self, name: &str, bucket: FakeBucket) {
        self.state().buckets.insert(name.to_string(), bucket);
    }

    /// Changes a bucket behind the deployer's back, as someone in the console would.
    pub fn edit_bucket(&self, name: &str, edit: impl FnOnce(&mut FakeBucket)) {
        if let Some(bucket) = self.state().buckets.get_mut(name) {
            edit(bucket);
        }
    }

    /// The bucket as `edit` leaves it, or S3's NoSuchBucket answer to `operation`.
    fn with_bucket<T>(
        &self,
        operation: &str,
        name: &str,
        edit: impl FnOnce(&mut FakeBucket) -> Result<T, DeployError>,
    ) -> Result<T, DeployError> {
        match self.state().buckets.get_mut(name) {
            Some(bucket) => edit(bucket),
            None => Err(refused(
                operation,
                name,
                "NoSuchBucket: The specified bucket does not exist",
            )),
        }
    }
}

impl Buckets for FakeAccount {
    fn exists<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, bool> {
        Box::pin(async move {
            self.call("s3:HeadBucket", bucket)?;
            Ok(self.state().buckets.contains_key(bucket))
        })
    }

    fn tags<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(async move {
            self.call("s3:GetBucketTagging", bucket)?;
            self.with_bucket("s3:GetBucketTagging", bucket, |b| {
                Ok((!b.tags.is_empty()).then(|| b.tags.clone()))
            })
        })
    }

    fn create<'a>(&'a self, bucket: &'a str, location: Option<&'a str>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("s3:CreateBucket", bucket)?;
            // Outside us-east-1 the constraint must name the endpoint's region; us-east-1
            // takes none (and refuses its own name as one).
            let in_us_east_1 = self.region == "us-east-1";
            match location {
                None if !in_us_east_1 => {
                    return Err(refused(
                        "s3:CreateBucket",
                        bucket,
                        "IllegalLocationConstraintException: The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.",
                    ));
                }
                Some("us-east-1") if in_us_east_1 => {
                    return Err(refused(
                        "s3:CreateBucket",
                        bucket,
                        "InvalidLocationConstraint: The specified location-constraint is not valid",
                    ));
                }
                Some(other) if !in_us_east_1 && other != self.region => {
                    return Err(refused(
                        "s3:CreateBucket",
                        bucket,
                        &format!(
                            "IllegalLocationConstraintException: The {other} location constraint is incompatible for the region specific endpoint this request was sent to."
                        ),
                    ));
                }
                _ => {}
            }
            let mut state = self.state();
            if state.buckets.contains_key(bucket) {
                // us-east-1 answers success for a bucket the caller already owns (and
                // leaves it as it is); every other region refuses.
                if in_us_east_1 {
                    return Ok(());
                }
                return Err(refused(
                    "s3:CreateBucket",
                    bucket,
                    "BucketAlreadyOwnedByYou: Your previous request to create the named bucket succeeded and you already own it.",
                ));
            }
            state.buckets.insert(
                bucket.to_string(),
                FakeBucket {
                    location: location.map(str::to_string),
                    ..FakeBucket::default()
                },
            );
            Ok(())
        })
    }

    fn put_tags<'a>(&'a self, bucket: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("s3:PutBucketTagging", bucket)?;
            self.with_bucket("s3:PutBucketTagging", bucket, |b| {
                b.tags = tags;
                Ok(())
            })
        })
    }

    fn versioned<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, bool> {
        Box::pin(async move {
            self.call("s3:GetBucketVersioning", bucket)?;
            self.with_bucket("s3:GetBucketVersioning", bucket, |b| Ok(b.versioned))
        })
    }

    fn list_objects<'a>(
        &'a self,
        bucket: &'a str,
        versions: bool,
        from: Option<ObjectId>,
    ) -> PortFuture<'a, ObjectPage> {
        Box::pin(async move {
            let operation = if versions {
                "s3:ListObjectVersions"
            } else {
                "s3:ListObjectsV2"
            };
            self.call(operation, bucket)?;
            self.with_bucket(operation, bucket, |b| {
                let current = b.objects.iter().map(|key| ObjectId {
                    key: key.clone(),
                    version: versions.then(|| "null".to_string()),
                });
                let mut all: Vec<ObjectId> = current.collect();
                if versions {
                    all.extend(b.versions.iter().map(|(key, version)| ObjectId {
                        key: key.clone(),
                        version: Some(version.clone()),
                    }));
                    all.sort();
                }
                let after: Vec<ObjectId> = all
                    .into_iter()
                    .filter(|o| from.as_ref().is_none_or(|f| o > f))
                    .collect();
                let objects: Vec<ObjectId> = after.iter().take(PAGE).cloned().collect();
                let next = (after.len() > PAGE)
                    .then(|| objects.last().cloned())
                    .flatten();
                Ok(ObjectPage { objects, next })
            })
        })
    }

    fn delete_objects<'a>(
        &'a self,
        bucket: &'a str,
        objects: Vec<ObjectId>,
    ) -> PortFuture<'a, Vec<Undeleted>> {
        Box::pin(async move {
            self.call("s3:DeleteObjects", bucket)?;
            if objects.len() > PAGE {
                return Err(refused(
                    "s3:DeleteObjects",
                    bucket,
                    "MalformedXML: The XML you provided was not well-formed or did not validate against our published schema",
                ));
            }
            self.with_bucket("s3:DeleteObjects", bucket, |b| {
                let mut undeleted = Vec::new();
                for object in objects {
                    if b.undeletable.contains(&object.key) {
                        undeleted.push(Undeleted {
                            object,
                            code: "AccessDenied".to_string(),
                            message: "Access Denied".to_string(),
                        });
                        continue;
                    }
                    match object.version.as_deref() {
                        Some("null") => {
                            b.objects.remove(&object.key);
                        }
                        Some(version) => {
                            b.versions.remove(&(object.key, version.to_string()));
                        }
                        // A versioned bucket keeps the object and marks it deleted.
                        None if b.versioned => {
                            if b.objects.remove(&object.key) {
                                let marker = format!("marker-{}", b.versions.len());
                                b.versions
                                    .insert((object.key.clone(), format!("{marker}-old")));
                                b.versions.insert((object.key, marker));
                            }
                        }
                        None => {
                            b.objects.remove(&object.key);
                        }
                    }
                }
                Ok(undeleted)
            })
        })
    }

    fn delete<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("s3:DeleteBucket", bucket)?;
            let mut state = self.state();
            if state
                .buckets
                .get(bucket)
                .is_some_and(|b| !b.objects.is_empty() || !b.versions.is_empty())
            {
                return Err(refused(
                    "s3:DeleteBucket",
                    bucket,
                    "BucketNotEmpty: The bucket you tried to delete is not empty",
                ));
            }
            state.buckets.remove(bucket);
            Ok(())
        })
    }

    fn notifications<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Notifications> {
        Box::pin(async move {
            self.call("s3:GetBucketNotificationConfiguration", bucket)?;
            self.with_bucket("s3:GetBucketNotificationConfiguration", bucket, |b| {
                Ok(b.notifications.clone())
            })
        })
    }

    fn put_notifications<'a>(
        &'a self,
        bucket: &'a str,
        notifications: Notifications,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("s3:PutBucketNotificationConfiguration", bucket)?;
            self.with_bucket("s3:PutBucketNotificationConfiguration", bucket, |b| {
                b.notifications = notifications;
                Ok(())
            })
        })
    }
    fn public_access_block<'a>(
        &'a self,
        bucket: &'a str,
    ) -> PortFuture<'a, Option<PublicAccessBlock>> {
        Box::pin(async move {
            self.call("s3:GetPublicAccessBlock", bucket)?;
            self.with_bucket("s3:GetPublicAccessBlock", bucket, |b| {
                Ok(b.public_access_block)
            })
        })
    }

    fn put_public_access_block<'a>(
        &'a self,
        bucket: &'a str,
        block: PublicAccessBlock,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("s3:PutPublicAccessBlock", bucket)?;
            self.with_bucket("s3:PutPublicAccessBlock", bucket, |b| {
                b.public_access_block = Some(block);
                Ok(())
            })
        })
    }

    fn encryption<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<DefaultEncryption>> {
        Box::pin(async move {
            self.call("s3:GetBucketEncryption", bucket)?;
            self.with_bucket("s3:GetBucketEncryption", bucket, |b| {
                Ok(b.encryption.clone())
            })
        })
    }

    fn put_encryption<'a>(
        &'a self,
        bucket: &'a str,
        encryption: DefaultEncryption,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let operation = "s3:PutBucketEncryption";
            self.call(operation, bucket)?;
            // S3 takes a key only with SSE-KMS.
            if encryption.kms_key.is_some() && !encryption.algorithm.starts_with("aws:kms") {
                return Err(refused(
                    operation,
                    bucket,
                    "InvalidArgument: a KMS key id may only be given with aws:kms or aws:kms:dsse",
                ));
            }
            self.with_bucket(operation, bucket, |b| {
                b.encryption = Some(encryption);
                Ok(())
            })
        })
    }

    fn policy<'a>(&'a self, bucket: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("s3:GetBucketPolicy", bucket)?;
            self.with_bucket("s3:GetBucketPolicy", bucket, |b| Ok(b.policy.clone()))
        })
    }

    fn put_policy<'a>(&'a self, bucket: &'a str, policy: String) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let operation = "s3:PutBucketPolicy";
            self.call(operation, bucket)?;
            if serde_json::from_str::<serde_json::Value>(&policy).is_err() {
                return Err(refused(
                    operation,
                    bucket,
                    "MalformedPolicy: Policies must be valid JSON and the first byte must be '{'",
                ));
            }
            self.with_bucket(operation, bucket, |b| {
                // Block Public Access refuses a policy granting public access; ours only denies.
                b.policy = Some(policy);
                Ok(())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: Option<FilterRuleName>, value: Option<&str>) -> FilterRule {
        FilterRule::builder()
            .set_name(name)
            .set_value(value.map(str::to_string))
            .build()
    }

    fn key_filter(rules: Vec<FilterRule>) -> NotificationConfigurationFilter {
        NotificationConfigurationFilter::builder()
            .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
            .build()
    }

    /// What a bucket read back sends again unchanged: the adapter's part of "every other
    /// entry stays as it was" (S3 answers rule names capitalised, which the SDK keeps as
    /// unknown names).
    #[test]
    fn a_configuration_read_is_sent_back_as_it_was() -> Result<(), DeployError> {
        let queue = QueueConfiguration::builder()
            .id("someone-elses")
            .queue_arn("arn:aws:sqs:eu-west-1:123456789012:theirs")
            .events(Event::S3ObjectCreatedPut)
            .events(Event::from("s3:ObjectRemoved:*"))
            .filter(key_filter(vec![
                rule(Some(FilterRuleName::from("Prefix")), Some("in/")),
                rule(Some(FilterRuleName::Suffix), Some(".jpg")),
                rule(None, None),
            ]))
            .build()?;
        let topic = TopicConfiguration::builder()
            .topic_arn("arn:aws:sns:eu-west-1:123456789012:uploads")
            .events(Event::from("s3:ObjectRemoved:Delete"))
            .build()?;
        let function = LambdaFunctionConfiguration::builder()
            .id("thumbnails")
            .lambda_function_arn("arn:aws:lambda:eu-west-1:123456789012:function:thumbs")
            .events(Event::from("s3:ObjectCreated:Post"))
            .filter(key_filter(vec![]))
            .build()?;
        for event_bridge in [false, true] {
            let read = NotificationConfiguration::builder()
                .set_queue_configurations(Some(vec![queue.clone()]))
                .set_topic_configurations(Some(vec![topic.clone()]))
                .set_lambda_function_configurations(Some(vec![function.clone()]))
                .set_event_bridge_configuration(
                    event_bridge.then(|| EventBridgeConfiguration::builder().build()),
                )
                .build();
            let port = port_notifications(
                read.queue_configurations(),
                read.topic_configurations(),
                read.lambda_function_configurations(),
                read.event_bridge_configuration().is_some(),
            );
            assert_eq!(port.queues[0].key_filter.as_ref().map(Vec::len), Some(3));
            assert_eq!(port.event_bridge, event_bridge);
            assert_eq!(sdk_notifications(port)?, read);
        }
        Ok(())
    }

    /// Our entry goes out as the resource module built it before the port (prefix rule
    /// by the modelled name).
    #[test]
    fn our_entry_is_sent_with_the_modelled_prefix_rule() -> Result<(), DeployError> {
        let sent = sdk_notifications(Notifications {
            queues: vec![NotificationEntry {
                id: Some("cfrp-shop-manuscripts".into()),
                arn: "arn:aws:sqs:eu-west-1:123456789012:cfrp-shop-manuscripts".into(),
                events: vec!["s3:ObjectCreated:*".into(), "s3:ObjectRemoved:*".into()],
                key_filter: Some(vec![KeyFilterRule {
                    name: Some("prefix".into()),
                    value: Some("manuscripts/".into()),
                }]),
            }],
            ..Notifications::default()
        })?;
        let expected = QueueConfiguration::builder()
            .id("cfrp-shop-manuscripts")
            .queue_arn("arn:aws:sqs:eu-west-1:123456789012:cfrp-shop-manuscripts")
            .events(Event::from("s3:ObjectCreated:*"))
            .events(Event::from("s3:ObjectRemoved:*"))
            .filter(key_filter(vec![
                FilterRule::builder()
                    .name(FilterRuleName::Prefix)
                    .value("manuscripts/")
                    .build(),
            ]))
            .build()?;
        assert_eq!(sent.queue_configurations(), [expected]);
        assert_eq!(sent.event_bridge_configuration(), None);
        Ok(())
    }
}
