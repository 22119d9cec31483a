//! SNS topics and their subscriptions: the port, its SDK adapter and the fake account's topics.

use std::collections::BTreeMap;

use super::PortFuture;
use super::fake::{FakeAccount, refused};
use crate::error::DeployError;

/// One subscription of a topic, confirmed or still pending confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// `email`, `sqs`, `lambda`, ...
    pub protocol: String,
    /// The address, queue or function it delivers to (AWS may leave it out).
    pub endpoint: Option<String>,
}

/// SNS topics, by ARN (created by name).
pub trait Topics: Send + Sync {
    /// Whether the topic exists.
    fn exists<'a>(&'a self, arn: &'a str) -> PortFuture<'a, bool>;
    /// Creates the topic; its ARN. A topic of that name that exists already with the same
    /// tags is answered, not an error.
    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, String>;
    /// Every subscription of the topic, those pending confirmation included.
    fn subscriptions<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Vec<Subscription>>;
    /// Subscribes `endpoint` to the topic; an e-mail subscription stays pending until its
    /// owner confirms it.
    fn subscribe<'a>(
        &'a self,
        arn: &'a str,
        protocol: &'a str,
        endpoint: &'a str,
    ) -> PortFuture<'a, ()>;
    /// Deletes the topic and its subscriptions; a topic already gone is not an error.
    fn delete<'a>(&'a self, arn: &'a str) -> PortFuture<'a, ()>;
    /// The topic's server-side encryption key (`KmsMasterKeyId`), or None when it has none;
    /// the outer None when there is no such topic.
    fn kms_key<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Option<Option<String>>>;
    /// Sets the topic's `KmsMasterKeyId`; an empty key turns encryption off.
    fn set_kms_key<'a>(&'a self, arn: &'a str, key: &'a str) -> PortFuture<'a, ()>;
}

/// SNS through `aws-sdk-sns`.
pub struct SdkTopics(pub aws_sdk_sns::Client);

impl Topics for SdkTopics {
    fn exists<'a>(&'a self, arn: &'a str) -> PortFuture<'a, bool> {
        Box::pin(async move {
            match self.0.get_topic_attributes().topic_arn(arn).send().await {
                Ok(_) => Ok(true),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_not_found_exception()) =>
                {
                    Ok(false)
                }
                Err(err) => Err(DeployError::aws("sns:GetTopicAttributes", arn, err)),
            }
        })
    }

    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, String> {
        Box::pin(async move {
            let mut request = self.0.create_topic().name(name);
            for (k, v) in tags {
                request = request.tags(aws_sdk_sns::types::Tag::builder().key(k).value(v).build()?);
            }
            let out = request
                .send()
                .await
                .map_err(|e| DeployError::aws("sns:CreateTopic", name, e))?;
            Ok(out.topic_arn.unwrap_or_default())
        })
    }

    fn kms_key<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Option<Option<String>>> {
        Box::pin(async move {
            match self.0.get_topic_attributes().topic_arn(arn).send().await {
                Ok(out) => Ok(Some(
                    out.attributes()
                        .and_then(|a| a.get("KmsMasterKeyId"))
                        .filter(|key| !key.is_empty())
                        .cloned(),
                )),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(err) => Err(DeployError::aws("sns:GetTopicAttributes", arn, err)),
            }
        })
    }

    fn set_kms_key<'a>(&'a self, arn: &'a str, key: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .set_topic_attributes()
                .topic_arn(arn)
                .attribute_name("KmsMasterKeyId")
                .attribute_value(key)
                .send()
                .await
                .map_err(|e| DeployError::aws("sns:SetTopicAttributes", arn, e))?;
            Ok(())
        })
    }

    fn subscriptions<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Vec<Subscription>> {
        Box::pin(async move {
            // A page holds up to 100 subscriptions; the rest follow the token.
            let mut subscriptions = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_subscriptions_by_topic()
                    .topic_arn(arn)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("sns:ListSubscriptionsByTopic", arn, e))?;
                subscriptions.extend(out.subscriptions().iter().map(|s| Subscription {
                    protocol: s.protocol().unwrap_or_default().to_string(),
                    endpoint: s.endpoint().map(str::to_string),
                }));
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    return Ok(subscriptions);
                }
            }
        })
    }

    fn subscribe<'a>(
        &'a self,
        arn: &'a str,
        protocol: &'a str,
        endpoint: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .subscribe()
                .topic_arn(arn)
                .protocol(protocol)
                .endpoint(endpoint)
                .send()
                .await
                .map_err(|e| DeployError::aws("sns:Subscribe", endpoint, e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, arn: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            // DeleteTopic answers success for a topic that does not exist.
            self.0
                .delete_topic()
                .topic_arn(arn)
                .send()
                .await
                .map_err(|e| DeployError::aws("sns:DeleteTopic", arn, e))?;
            Ok(())
        })
    }
}

/// The fake account's topics, by ARN.
pub type FakeTopics = BTreeMap<String, FakeTopic>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeTopic {
    pub name: String,
    pub tags: Vec<(String, String)>,
    pub subscriptions: Vec<FakeSubscription>,
    /// Empty: not encrypted.
    pub kms_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeSubscription {
    pub protocol: String,
    pub endpoint: String,
    /// An e-mail subscription stays pending until its owner follows the link AWS mails;
    /// ListSubscriptionsByTopic lists it meanwhile.
    pub pending_confirmation: bool,
}

const TOPIC_NOT_FOUND: &str = "NotFound: Topic does not exist";

impl FakeAccount {
    pub fn topic(&self, arn: &str) -> Option<FakeTopic> {
        self.state().topics.get(arn).cloned()
    }

    /// Changes a topic behind the deployer's back, as someone in the console would.
    pub fn edit_topic(&self, arn: &str, edit: impl FnOnce(&mut FakeTopic)) {
        if let Some(topic) = self.state().topics.get_mut(arn) {
            edit(topic);
        }
    }

    fn topic_arn(&self, name: &str) -> String {
        format!("arn:aws:sns:{}:{}:{name}", self.region, self.account)
    }
}

impl Topics for FakeAccount {
    fn exists<'a>(&'a self, arn: &'a str) -> PortFuture<'a, bool> {
        Box::pin(async move {
            self.call("sns:GetTopicAttributes", arn)?;
            Ok(self.state().topics.contains_key(arn))
        })
    }

    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, String> {
        Box::pin(async move {
            self.call("sns:CreateTopic", name)?;
            let arn = self.topic_arn(name);
            let mut state = self.state();
            match state.topics.get(&arn) {
                // SNS: creating an existing topic answers its ARN, unless the tags differ.
                Some(existing) if existing.tags != tags => Err(refused(
                    "sns:CreateTopic",
                    name,
                    "InvalidParameter: Invalid parameter: Tags Reason: Topic already exists with different tags",
                )),
                Some(_) => Ok(arn),
                None => {
                    state.topics.insert(
                        arn.clone(),
                        FakeTopic {
                            name: name.to_string(),
                            tags,
                            subscriptions: Vec::new(),
                            kms_key: String::new(),
                        },
                    );
                    Ok(arn)
                }
            }
        })
    }

    fn subscriptions<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Vec<Subscription>> {
        Box::pin(async move {
            self.call("sns:ListSubscriptionsByTopic", arn)?;
            let state = self.state();
            let topic = state
                .topics
                .get(arn)
                .ok_or_else(|| refused("sns:ListSubscriptionsByTopic", arn, TOPIC_NOT_FOUND))?;
            Ok(topic
                .subscriptions
                .iter()
                .map(|s| Subscription {
                    protocol: s.protocol.clone(),
                    endpoint: Some(s.endpoint.clone()),
                })
                .collect())
        })
    }

    fn subscribe<'a>(
        &'a self,
        arn: &'a str,
        protocol: &'a str,
        endpoint: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sns:Subscribe", endpoint)?;
            let mut state = self.state();
            let topic = state
                .topics
                .get_mut(arn)
                .ok_or_else(|| refused("sns:Subscribe", endpoint, TOPIC_NOT_FOUND))?;
            // Subscribing an endpoint again answers the subscription it has.
            if !topic
                .subscriptions
                .iter()
                .any(|s| s.protocol == protocol && s.endpoint == endpoint)
            {
                topic.subscriptions.push(FakeSubscription {
                    protocol: protocol.to_string(),
                    endpoint: endpoint.to_string(),
                    pending_confirmation: protocol == "email",
                });
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, arn: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sns:DeleteTopic", arn)?;
            self.state().topics.remove(arn);
            Ok(())
        })
    }
    fn kms_key<'a>(&'a self, arn: &'a str) -> PortFuture<'a, Option<Option<String>>> {
        Box::pin(async move {
            self.call("sns:GetTopicAttributes", arn)?;
            Ok(self
                .state()
                .topics
                .get(arn)
                .map(|t| (!t.kms_key.is_empty()).then(|| t.kms_key.clone())))
        })
    }

    fn set_kms_key<'a>(&'a self, arn: &'a str, key: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("sns:SetTopicAttributes", arn)?;
            let mut state = self.state();
            let topic = state
                .topics
                .get_mut(arn)
                .ok_or_else(|| refused("sns:SetTopicAttributes", arn, TOPIC_NOT_FOUND))?;
            topic.kms_key = key.to_string();
            Ok(())
        })
    }
}
