//! A manuscript upload to the deployed bucket, the S3 notification the deployed queue
//! received, and the event Lambda's SQS poller would hand the invalidator.

use cfrp_config::StackConfig;
use cfrp_events::{SqsMessage, sqs_event_from_messages};

use super::StepError;
use cfrp_deployer::context::Clients;
use cfrp_deployer::error::DeployError;

/// The keys the demo uploads under the manuscripts prefix: a space (S3 encodes it as `+`)
/// and a directory index (which also invalidates the directory).
pub const KEYS: [&str; 2] = ["chapter one.html", "essays/index.html"];

/// What was uploaded and the event built from the queue.
#[derive(Debug)]
pub struct Uploaded {
    pub bucket: String,
    pub keys: Vec<String>,
    pub queue: String,
    pub messages: usize,
    pub event: String,
}

pub async fn upload(aws: &Clients, config: &StackConfig) -> Result<Uploaded, StepError> {
    let manuscripts = config.manuscripts.as_ref().ok_or_else(|| {
        StepError::Failed("the demo config has no [manuscripts] section".to_string())
    })?;
    let bucket = manuscripts.bucket.clone();
    let keys: Vec<String> = KEYS
        .iter()
        .map(|k| format!("{}{k}", manuscripts.key_prefix))
        .collect();
    for key in &keys {
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .content_type("text/html")
            .body(b"<html><body>A new chapter.</body></html>".to_vec().into())
            .send()
            .await
            .map_err(|e| DeployError::aws("s3:PutObject", &format!("{bucket}/{key}"), e))?;
    }
    let queue = config.names().manuscripts_queue();
    let queue_url = aws
        .sqs
        .get_queue_url()
        .queue_name(&queue)
        .send()
        .await
        .map_err(|e| DeployError::aws("sqs:GetQueueUrl", &queue, e))?
        .queue_url
        .ok_or_else(|| StepError::Failed(format!("sqs:GetQueueUrl for {queue}: no URL")))?;
    let queue_arn = queue_arn(aws, &queue, &queue_url).await?;
    let messages = receive(aws, &queue, &queue_url, keys.len()).await?;
    if messages.is_empty() {
        return Err(StepError::Failed(format!(
            "no S3 notification reached {queue} after uploading {} object(s) to {bucket}",
            keys.len()
        )));
    }
    let event = sqs_event_from_messages(&messages, &queue_arn, &config.region);
    Ok(Uploaded {
        bucket,
        keys,
        queue,
        messages: messages.len(),
        event,
    })
}

async fn queue_arn(aws: &Clients, queue: &str, url: &str) -> Result<String, StepError> {
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| DeployError::aws("sqs:GetQueueAttributes", queue, e))?;
    attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| StepError::Failed(format!("sqs:GetQueueAttributes for {queue}: no ARN")))
}

/// Messages waiting in the queue: long polls of a second until `want` arrived or nothing
/// more comes (at most five polls).
async fn receive(
    aws: &Clients,
    queue: &str,
    url: &str,
    want: usize,
) -> Result<Vec<SqsMessage>, StepError> {
    let mut out = Vec::new();
    for _ in 0..5 {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| DeployError::aws("sqs:ReceiveMessage", queue, e))?;
        let batch = received.messages();
        if batch.is_empty() && !out.is_empty() {
            break;
        }
        out.extend(batch.iter().map(|m| SqsMessage {
            message_id: m.message_id().unwrap_or_default().to_string(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
            body: m.body().unwrap_or_default().to_string(),
        }));
        if out.len() >= want {
            break;
        }
    }
    Ok(out)
}

/// The newest invalidation of the distribution: its id, status and paths.
pub async fn latest_invalidation(
    aws: &Clients,
    distribution_id: &str,
) -> Result<(String, String, Vec<String>), StepError> {
    let list = aws
        .cloudfront
        .list_invalidations()
        .distribution_id(distribution_id)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:ListInvalidations", distribution_id, e))?;
    let summary = list
        .invalidation_list()
        .and_then(|l| l.items().first())
        .ok_or_else(|| {
            StepError::Failed(format!(
                "the invalidator answered but distribution {distribution_id} has no invalidation"
            ))
        })?;
    let id = summary.id().to_string();
    let got = aws
        .cloudfront
        .get_invalidation()
        .distribution_id(distribution_id)
        .id(&id)
        .send()
        .await
        .map_err(|e| DeployError::aws("cloudfront:GetInvalidation", &id, e))?;
    let invalidation = got.invalidation();
    let status = invalidation
        .map(|i| i.status().to_string())
        .unwrap_or_default();
    let paths = invalidation
        .and_then(|i| i.invalidation_batch())
        .and_then(|b| b.paths())
        .map(|p| p.items().to_vec())
        .unwrap_or_default();
    Ok((id, status, paths))
}
