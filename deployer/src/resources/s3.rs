//! The manuscripts bucket and its notification to the manuscripts queue. A bucket that
//! already exists is used as it is; only a bucket this stack created (tagged with it) is ever
//! removed. Our notification entry is merged into the bucket's configuration, leaving every
//! other entry as it was.

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Event, FilterRule, FilterRuleName,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    Tag, Tagging,
};

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;

const BUCKET: &str = "S3 bucket";
const NOTIFICATION: &str = "bucket notification";

/// Whether the bucket exists, and whether this stack created it.
async fn observe_bucket(run: &Run<'_>, bucket: &str) -> Result<Option<bool>, DeployError> {
    match run.aws.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
        Err(err)
            if err
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(DeployError::aws("s3:HeadBucket", bucket, err)),
    }
    let ours = match run.aws.s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .any(|t| t.key() == cfrp_config::naming::STACK_TAG && t.value() == run.names.stack()),
        // NoSuchTagSet: a bucket without tags is not ours.
        Err(_) => false,
    };
    Ok(Some(ours))
}

pub async fn converge_bucket(run: &Run<'_>, bucket: &str) -> Result<(), DeployError> {
    let desired = fields([("exists", "true")]);
    let observed = observe_bucket(run, bucket).await?.map(|_| desired.clone());
    let action = run.decide(BUCKET, bucket, &desired, observed.as_ref());
    if !run.applying() || action != Action::Create {
        return Ok(());
    }
    let mut request = run.aws.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that takes no location constraint.
    if run.region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(run.region.as_str()))
                .build(),
        );
    }
    run.mutating("s3:CreateBucket", bucket)?;
    request
        .send()
        .await
        .map_err(|e| DeployError::aws("s3:CreateBucket", bucket, e))?;
    let mut tagging = Tagging::builder();
    for (k, v) in run.tags() {
        tagging = tagging.tag_set(Tag::builder().key(k).value(v).build()?);
    }
    run.mutating("s3:PutBucketTagging", bucket)?;
    run.aws
        .s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging.build()?)
        .send()
        .await
        .map_err(|e| DeployError::aws("s3:PutBucketTagging", bucket, e))?;
    Ok(())
}

/// Removes the bucket only when this stack created it, with its objects (they were
/// uploaded for this stack's invalidations).
pub async fn remove_bucket(run: &Run<'_>, bucket: &str) -> Result<(), DeployError> {
    if observe_bucket(run, bucket).await? != Some(true) {
        return Ok(());
    }
    run.note(BUCKET, bucket, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    loop {
        let listed = run
            .aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| DeployError::aws("s3:ListObjectsV2", bucket, e))?;
        let keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        if keys.is_empty() {
            break;
        }
        let objects = keys
            .iter()
            .map(|k| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(k)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        run.mutating("s3:DeleteObjects", bucket)?;
        run.aws
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(
                aws_sdk_s3::types::Delete::builder()
                    .set_objects(Some(objects))
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| DeployError::aws("s3:DeleteObjects", bucket, e))?;
    }
    run.mutating("s3:DeleteBucket", bucket)?;
    run.aws
        .s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| DeployError::aws("s3:DeleteBucket", bucket, e))?;
    Ok(())
}

fn entry_fields(q: &QueueConfiguration) -> Fields {
    let mut events: Vec<&str> = q.events().iter().map(Event::as_str).collect();
    events.sort_unstable();
    let prefix = q
        .filter()
        .and_then(|f| f.key())
        .map(|k| {
            k.filter_rules()
                .iter()
                .filter(|r| {
                    r.name()
                        .is_some_and(|n| n.as_str().eq_ignore_ascii_case("prefix"))
                })
                .filter_map(|r| r.value())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    fields([
        ("queue", q.queue_arn().to_string()),
        ("events", events.join(",")),
        ("prefix", prefix),
    ])
}

async fn notification(
    run: &Run<'_>,
    bucket: &str,
) -> Result<NotificationConfiguration, DeployError> {
    let out = run
        .aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| DeployError::aws("s3:GetBucketNotificationConfiguration", bucket, e))?;
    Ok(NotificationConfiguration::builder()
        .set_queue_configurations(Some(out.queue_configurations().to_vec()))
        .set_topic_configurations(Some(out.topic_configurations().to_vec()))
        .set_lambda_function_configurations(Some(out.lambda_function_configurations().to_vec()))
        .set_event_bridge_configuration(out.event_bridge_configuration().cloned())
        .build())
}

async fn put_notification(
    run: &Run<'_>,
    bucket: &str,
    config: NotificationConfiguration,
) -> Result<(), DeployError> {
    run.mutating("s3:PutBucketNotificationConfiguration", bucket)?;
    run.aws
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        .send()
        .await
        .map_err(|e| DeployError::aws("s3:PutBucketNotificationConfiguration", bucket, e))?;
    Ok(())
}

pub async fn converge_notification(
    run: &Run<'_>,
    bucket: &str,
    prefix: &str,
    queue_arn: &str,
) -> Result<(), DeployError> {
    let id = run.names.manuscripts_queue();
    let ours = QueueConfiguration::builder()
        .id(&id)
        .queue_arn(queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .events(Event::from("s3:ObjectRemoved:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(
                            FilterRule::builder()
                                .name(FilterRuleName::Prefix)
                                .value(prefix)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()?;
    let label = format!("{bucket} → {id}");
    let current = match observe_bucket(run, bucket).await? {
        Some(_) => Some(notification(run, bucket).await?),
        None => None,
    };
    let observed = current.as_ref().and_then(|c| {
        c.queue_configurations()
            .iter()
            .find(|q| q.id() == Some(id.as_str()))
            .map(entry_fields)
    });
    let action = run.decide(
        NOTIFICATION,
        &label,
        &entry_fields(&ours),
        observed.as_ref(),
    );
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let current = current.unwrap_or_else(|| NotificationConfiguration::builder().build());
    let mut queues: Vec<QueueConfiguration> = current
        .queue_configurations()
        .iter()
        .filter(|q| q.id() != Some(id.as_str()))
        .cloned()
        .collect();
    queues.push(ours);
    let merged = current.to_builder_with_queues(queues);
    put_notification(run, bucket, merged).await
}

pub async fn remove_notification(run: &Run<'_>, bucket: &str) -> Result<(), DeployError> {
    let id = run.names.manuscripts_queue();
    if observe_bucket(run, bucket).await?.is_none() {
        return Ok(());
    }
    let current = notification(run, bucket).await?;
    if !current
        .queue_configurations()
        .iter()
        .any(|q| q.id() == Some(id.as_str()))
    {
        return Ok(());
    }
    run.note(NOTIFICATION, &format!("{bucket} → {id}"), Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    let queues: Vec<QueueConfiguration> = current
        .queue_configurations()
        .iter()
        .filter(|q| q.id() != Some(id.as_str()))
        .cloned()
        .collect();
    let rest = current.to_builder_with_queues(queues);
    put_notification(run, bucket, rest).await
}

trait WithQueues {
    fn to_builder_with_queues(&self, queues: Vec<QueueConfiguration>) -> NotificationConfiguration;
}

impl WithQueues for NotificationConfiguration {
    /// The same configuration (topics, functions, EventBridge kept) with other queues.
    fn to_builder_with_queues(&self, queues: Vec<QueueConfiguration>) -> NotificationConfiguration {
        NotificationConfiguration::builder()
            .set_queue_configurations(Some(queues))
            .set_topic_configurations(Some(self.topic_configurations().to_vec()))
            .set_lambda_function_configurations(Some(
                self.lambda_function_configurations().to_vec(),
            ))
            .set_event_bridge_configuration(self.event_bridge_configuration().cloned())
            .build()
    }
}
