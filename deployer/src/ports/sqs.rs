//! SQS queues: the port, its SDK adapter and the fake account's queues.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// SQS queues, by name and URL; attributes by their API names (`VisibilityTimeout`, ...).
pub trait Queues: Send + Sync {
    /// The queue's URL, or None when no queue has that name.
    fn url<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>>;
    /// Every attribute of the queue at `url`.
    fn attributes<'a>(&'a self, url: &'a str) -> PortFuture<'a, BTreeMap<String, String>>;
    /// Creates the queue; its URL.
    fn create<'a>(
        &'a self,
        name: &'a str,
        attributes: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String>;
    fn set_attributes<'a>(
        &'a self,
        url: &'a str,
        attributes: BTreeMap<String, String>,
    ) -> PortFuture<'a, ()>;
    /// Deletes the queue; a queue already gone is not an error.
    fn delete<'a>(&'a self, url: &'a str) -> PortFuture<'a, ()>;
}

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
            gone_is_fine(
                self.0.delete_queue().queue_url(url).send().await,
                |e| e.is_queue_does_not_exist(),
                "sqs:DeleteQueue",
                url,
            )
        })
    }
}

/// The fake account's queues, by name.
pub type FakeQueues = BTreeMap<String, FakeQueue>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeQueue {
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
}

impl FakeAccount {
    pub fn queue(&self, name: &str) -> Option<FakeQueue> {
        self.state().queues.get(name).cloned()
    }

    /// Changes a queue behind the deployer's back, as someone in the console would.
    pub fn edit_queue(&self, name: &str, edit: impl FnOnce(&mut FakeQueue)) {
        if let Some(queue) = self.state().queues.get_mut(name) {
            edit(queue);
        }
    }

    fn queue_url(&self, name: &str) -> String {
        format!(
            "https://sqs.{}.amazonaws.com/{}/{name}",
            self.region, self.account
        )
    }

    fn queue_name(url: &str) -> String {
        url.rsplit('/').next().unwrap_or_default().to_string()
    }
}

impl Queues for FakeAccount {
    fn url<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<String>> {
        Box::pin(async move {
            self.call("sqs:GetQueueUrl", name)?;
            let exists = self.state().queues.contains_key(name);
            Ok(exists.then(|| self.queue_url(name)))
        })
    }

    fn attributes<'a>(&'a self, url: &'a str) -> PortFuture<'a, BTreeMap<String, String>> {
        Box::pin(async move {
            self.call("sqs:GetQueueAttributes", url)?;
            let name = Self::queue_name(url);
            self.state()
                .queues
                .get(&name)
                .map(|q| q.attributes.clone())
                .ok_or_else(|| refused("sqs:GetQueueAttributes", url, "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist."))
        })
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        attributes: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            self.call("sqs:CreateQueue", name)?;
            let mut state = self.state();
            // SQS: creating an existing queue with other attributes is an error; with the
            // same attributes it answers the existing queue's URL.
            if let Some(existing) = state.queues.get(name)
                && existing.attributes != attributes
            {
                return Err(refused(
                    "sqs:CreateQueue",
                    name,
                    "QueueAlreadyExists: A queue already exists with the same name and a different value for attribute(s)",
                ));
            }
            state
                .queues
                .insert(name.to_string(), FakeQueue { attributes, tags });
            Ok(self.queue_url(name))
        })
    }

    fn set_attributes<'a>(
        &'a self,
        url: &'a str,
        attributes: BTreeMap<String, String>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sqs:SetQueueAttributes", url)?;
            let name = Self::queue_name(url);
            let mut state = self.state();
            let queue = state.queues.get_mut(&name).ok_or_else(|| {
                refused(
                    "sqs:SetQueueAttributes",
                    url,
                    "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.",
                )
            })?;
            queue.attributes.extend(attributes);
            // As SQS: an empty KmsMasterKeyId removes the key.
            if queue
                .attributes
                .get("KmsMasterKeyId")
                .is_some_and(|k| k.is_empty())
            {
                queue.attributes.remove("KmsMasterKeyId");
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, url: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sqs:DeleteQueue", url)?;
            self.state().queues.remove(&Self::queue_name(url));
            Ok(())
        })
    }
}
