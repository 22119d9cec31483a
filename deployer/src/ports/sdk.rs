//! The ports over the AWS SDK clients.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::{PortFuture, Queues};
use crate::error::DeployError;

/// SQS through `aws-sdk-sqs`.
pub struct SdkQueues(pub aws_sdk_sqs::Client);

impl Queues for SdkQueues {
    fn url<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            match self.0.get_queue_url().queue_name(name).send().await {
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
        })
    }

    fn attributes<'a>(&'a self, url: &'a str) -> PortFuture<'a, BTreeMap<String, String>> {
        Box::pin(async move {
            let out = self
                .0
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:GetQueueAttributes", url, e))?;
            Ok(out
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect())
        })
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        attributes: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            let out = self
                .0
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(
                    attributes
                        .into_iter()
                        .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v))
                        .collect(),
                ))
                .set_tags(Some(tags.into_iter().collect()))
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:CreateQueue", name, e))?;
            Ok(out.queue_url.unwrap_or_default())
        })
    }

    fn set_attributes<'a>(
        &'a self,
        url: &'a str,
        attributes: BTreeMap<String, String>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .set_queue_attributes()
                .queue_url(url)
                .set_attributes(Some(
                    attributes
                        .into_iter()
                        .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v))
                        .collect(),
                ))
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:SetQueueAttributes", url, e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, url: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            match self.0.delete_queue().queue_url(url).send().await {
                Ok(_) => Ok(()),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_queue_does_not_exist()) =>
                {
                    Ok(())
                }
                Err(err) => Err(DeployError::aws("sqs:DeleteQueue", url, err)),
            }
        })
    }
}
