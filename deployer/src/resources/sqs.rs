//! SQS queues: the manuscripts queue with its dead-letter queue, and the analyser's
//! on-failure destination.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sqs::types::QueueAttributeName;

use crate::context::Run;
use crate::diff::{Action, Fields};
use crate::error::DeployError;
use crate::resources::found;
use crate::spec::policy::canonical;

const KIND: &str = "SQS queue";

/// A queue and the attributes we manage (JSON-valued ones compare in canonical form).
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub name: String,
    pub attributes: BTreeMap<QueueAttributeName, String>,
}

fn comparable(name: &QueueAttributeName, value: &str) -> String {
    match name {
        QueueAttributeName::Policy | QueueAttributeName::RedrivePolicy => canonical(value),
        _ => value.to_string(),
    }
}

async fn queue_url(run: &Run<'_>, name: &str) -> Result<Option<String>, DeployError> {
    match run.aws.sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(err) => Err(DeployError::aws("sqs:GetQueueUrl", name, err)),
    }
}

/// The queue's attributes (`which` of them, or `All`).
async fn attributes(
    run: &Run<'_>,
    name: &str,
    url: &str,
    which: QueueAttributeName,
) -> Result<HashMap<QueueAttributeName, String>, DeployError> {
    let out = run
        .aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(which)
        .send()
        .await
        .map_err(|e| DeployError::aws("sqs:GetQueueAttributes", name, e))?;
    Ok(out.attributes.unwrap_or_default())
}

pub async fn converge(run: &Run<'_>, spec: &QueueSpec) -> Result<(), DeployError> {
    let desired: Fields = spec
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), comparable(k, v)))
        .collect();
    let url = queue_url(run, &spec.name).await?;
    let observed = match &url {
        None => None,
        Some(url) => Some(
            attributes(run, &spec.name, url, QueueAttributeName::All)
                .await?
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), comparable(k, v)))
                .collect::<Fields>(),
        ),
    };
    let action = run.decide(KIND, &spec.name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    match (action, url) {
        (Action::Create, _) => {
            run.mutating("sqs:CreateQueue", &spec.name)?;
            run.aws
                .sqs
                .create_queue()
                .queue_name(&spec.name)
                .set_attributes(Some(spec.attributes.clone().into_iter().collect()))
                .set_tags(Some(run.tags().into_iter().collect()))
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:CreateQueue", &spec.name, e))?;
        }
        (Action::Update { changes }, Some(url)) => {
            let changed: HashMap<QueueAttributeName, String> = spec
                .attributes
                .iter()
                .filter(|(k, _)| changes.iter().any(|c| c.field == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            run.mutating("sqs:SetQueueAttributes", &spec.name)?;
            run.aws
                .sqs
                .set_queue_attributes()
                .queue_url(url)
                .set_attributes(Some(changed))
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:SetQueueAttributes", &spec.name, e))?;
        }
        _ => {}
    }
    Ok(())
}

pub async fn remove(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let Some(url) = queue_url(run, name).await? else {
        return Ok(());
    };
    run.note(KIND, name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("sqs:DeleteQueue", name)?;
    found(
        run.aws.sqs.delete_queue().queue_url(url).send().await,
        |e| e.is_queue_does_not_exist(),
        "sqs:DeleteQueue",
        name,
    )?;
    Ok(())
}

/// The bucket a queue accepts S3 notifications from, read from the queue's policy (the
/// `aws:SourceArn` condition `up` writes): how `up` finds the bucket to unhook when the
/// manuscripts feature was turned off and the config no longer names it.
pub async fn source_bucket(run: &Run<'_>, name: &str) -> Result<Option<String>, DeployError> {
    let Some(url) = queue_url(run, name).await? else {
        return Ok(None);
    };
    let attributes = attributes(run, name, &url, QueueAttributeName::Policy).await?;
    let policy = attributes
        .get(&QueueAttributeName::Policy)
        .map(String::as_str)
        .unwrap_or_default();
    Ok(bucket_in_policy(policy))
}

/// The first `arn:aws:s3:::<bucket>` source ARN a queue policy's conditions allow.
fn bucket_in_policy(policy: &str) -> Option<String> {
    let document: serde_json::Value = serde_json::from_str(&canonical(policy)).ok()?;
    let statements = match &document["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    statements.iter().find_map(|statement| {
        ["ArnEquals", "ArnLike"].iter().find_map(|operator| {
            statement["Condition"][operator]["aws:SourceArn"]
                .as_str()?
                .strip_prefix("arn:aws:s3:::")
                .filter(|bucket| !bucket.is_empty())
                .map(str::to_string)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_bucket_comes_from_the_policy_up_writes() {
        let policy = crate::spec::policy::queue_from_bucket(
            "arn:aws:sqs:eu-west-1:123456789012:q",
            "arn:aws:s3:::shop-manuscripts",
            "123456789012",
        );
        assert_eq!(
            bucket_in_policy(&policy.to_string()).as_deref(),
            Some("shop-manuscripts")
        );
        assert_eq!(bucket_in_policy(""), None);
        assert_eq!(
            bucket_in_policy(r#"{"Statement": {"Condition": {}}}"#),
            None
        );
    }
}
