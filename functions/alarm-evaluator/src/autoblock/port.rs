//! The auto-block loop's outside systems: the block table (DynamoDB), the block-list IP sets
//! (WAFv2, scope CLOUDFRONT, us-east-1) and CloudWatch for its counts, behind one port.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_wafv2::types::Scope;
use cfrp_config::blocks;

use super::decide::{Entry, Source, Strike};

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("{operation} on {resource} failed: {message}")]
    Aws {
        operation: &'static str,
        resource: String,
        message: String,
    },
    #[error(
        "the block list IP set {0} does not exist in WAF (scope CLOUDFRONT); run `deployer up` so the stack creates it"
    )]
    MissingIpSet(String),
    #[error(
        "WAF refused {0} writes in a row to {1} because another writer changed it in between (WAFOptimisticLockException); the next scheduled run tries again"
    )]
    LockConflicts(u32, String),
}

impl BlockError {
    fn aws(operation: &'static str, resource: &str, err: impl std::fmt::Display) -> BlockError {
        BlockError::Aws {
            operation,
            resource: resource.to_string(),
            message: err.to_string(),
        }
    }
}

/// An IP set as read: its addresses and what a write needs (the lock token of this read).
#[derive(Debug, Clone, PartialEq)]
pub struct IpSet {
    pub name: String,
    pub id: String,
    pub description: String,
    pub addresses: Vec<String>,
    pub lock_token: String,
}

/// A write's outcome when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// Refused: the item or set changed since it was read (conditional check or stale lock
    /// token).
    Stale,
}

pub trait BlockPort {
    /// The strikes of these minutes (one partition each).
    fn strikes(
        &self,
        table: &str,
        minutes_ms: &[i64],
    ) -> impl Future<Output = Result<Vec<Strike>, BlockError>> + Send;
    fn entries(&self, table: &str) -> impl Future<Output = Result<Vec<Entry>, BlockError>> + Send;
    /// Creates the entry unless one for its address exists (then `Stale`).
    fn put_entry(
        &self,
        table: &str,
        entry: &Entry,
    ) -> impl Future<Output = Result<Written, BlockError>> + Send;
    /// Deletes the entry if it is still the one read (same `added`); `Stale` otherwise.
    fn delete_entry(
        &self,
        table: &str,
        entry: &Entry,
    ) -> impl Future<Output = Result<Written, BlockError>> + Send;
    fn ip_set(&self, name: &str) -> impl Future<Output = Result<IpSet, BlockError>> + Send;
    /// Replaces the set's addresses; `Stale` when its lock token is.
    fn update_ip_set(
        &self,
        set: &IpSet,
        addresses: &[String],
    ) -> impl Future<Output = Result<Written, BlockError>> + Send;
    /// Count metrics (no dimensions) at `timestamp_ms`.
    fn publish_counts(
        &self,
        namespace: &str,
        counts: &[(&'static str, f64)],
        timestamp_ms: i64,
    ) -> impl Future<Output = Result<(), BlockError>> + Send;
}

/// The SDK adapter.
#[derive(Debug, Clone)]
pub struct AwsBlockPort {
    dynamodb: aws_sdk_dynamodb::Client,
    /// In us-east-1: WAF keeps CLOUDFRONT-scope resources there.
    wafv2: aws_sdk_wafv2::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl AwsBlockPort {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        let wafv2 = aws_sdk_wafv2::Client::from_conf(
            aws_sdk_wafv2::config::Builder::from(config)
                .region(aws_sdk_wafv2::config::Region::new(
                    cfrp_metric_data::GLOBAL_REGION,
                ))
                .build(),
        );
        AwsBlockPort {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            wafv2,
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }
}

fn s(item: &HashMap<String, AttributeValue>, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn n<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, key: &str) -> Option<T> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// An entry as an item (the layout of [`cfrp_config::blocks`]).
pub fn entry_item(entry: &Entry) -> HashMap<String, AttributeValue> {
    let record = blocks::BlockRecord {
        address: entry.address.clone(),
        source: entry.source.as_str().to_string(),
        reason: entry.reason.clone(),
        added: entry.added,
        until: entry.until,
        score: entry.score,
        level: entry.level.clone(),
        country: entry.country.clone(),
        asn: entry.asn.clone(),
    };
    record
        .attributes()
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                blocks::Attribute::S(v) => AttributeValue::S(v),
                blocks::Attribute::N(v) => AttributeValue::N(v),
            };
            (key.to_string(), value)
        })
        .collect()
}

/// An item as an entry; None when it is not one (no address).
pub fn item_entry(item: &HashMap<String, AttributeValue>) -> Option<Entry> {
    let record = blocks::BlockRecord::from_attributes(|key| match item.get(key)? {
        AttributeValue::S(v) => Some(blocks::Attribute::S(v.clone())),
        AttributeValue::N(v) => Some(blocks::Attribute::N(v.clone())),
        _ => None,
    })?;
    Some(Entry {
        address: record.address,
        // An unknown source is treated as manual: the loop never evicts it for `max`.
        source: Source::parse(&record.source).unwrap_or(Source::Manual),
        reason: record.reason,
        added: record.added,
        until: record.until,
        score: record.score,
        level: record.level,
        country: record.country,
        asn: record.asn,
    })
}

impl AwsBlockPort {
    async fn query(
        &self,
        table: &str,
        partition: String,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, BlockError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamodb
                .query()
                .table_name(table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", blocks::PARTITION_KEY)
                .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                // Strongly consistent: a run must see the entries and strikes written just
                // before it (an eventually consistent read could miss an entry another
                // writer just deleted or created, and restore or skip on stale facts).
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    BlockError::aws(
                        "dynamodb:Query",
                        table,
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    )
                })?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

impl BlockPort for AwsBlockPort {
    async fn strikes(&self, table: &str, minutes_ms: &[i64]) -> Result<Vec<Strike>, BlockError> {
        let mut strikes = Vec::new();
        for minute in minutes_ms {
            for item in self.query(table, blocks::strike_partition(*minute)).await? {
                if let Some(ip) = s(&item, blocks::SORT_KEY) {
                    strikes.push(Strike {
                        ip,
                        minute_ms: *minute,
                        score: n(&item, blocks::SCORE).unwrap_or_default(),
                        level: s(&item, blocks::LEVEL).unwrap_or_default(),
                        country: s(&item, blocks::COUNTRY),
                        asn: s(&item, blocks::ASN),
                    });
                }
            }
        }
        Ok(strikes)
    }

    async fn entries(&self, table: &str) -> Result<Vec<Entry>, BlockError> {
        Ok(self
            .query(table, blocks::BLOCK_PARTITION.to_string())
            .await?
            .iter()
            .filter_map(item_entry)
            .collect())
    }

    async fn put_entry(&self, table: &str, entry: &Entry) -> Result<Written, BlockError> {
        let result = self
            .dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(entry_item(entry)))
            .condition_expression("attribute_not_exists(#sk)")
            .expression_attribute_names("#sk", blocks::SORT_KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::Stale)
            }
            Err(e) => Err(BlockError::aws(
                "dynamodb:PutItem",
                table,
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )),
        }
    }

    async fn delete_entry(&self, table: &str, entry: &Entry) -> Result<Written, BlockError> {
        let result = self
            .dynamodb
            .delete_item()
            .table_name(table)
            .key(
                blocks::PARTITION_KEY,
                AttributeValue::S(blocks::BLOCK_PARTITION.to_string()),
            )
            .key(blocks::SORT_KEY, AttributeValue::S(entry.address.clone()))
            .condition_expression("#added = :added")
            .expression_attribute_names("#added", "added")
            .expression_attribute_values(":added", AttributeValue::N(entry.added.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::Stale)
            }
            Err(e) => Err(BlockError::aws(
                "dynamodb:DeleteItem",
                table,
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            )),
        }
    }

    async fn ip_set(&self, name: &str) -> Result<IpSet, BlockError> {
        let mut marker: Option<String> = None;
        let id = loop {
            let out = self
                .wafv2
                .list_ip_sets()
                .scope(Scope::Cloudfront)
                .limit(100)
                .set_next_marker(marker.clone())
                .send()
                .await
                .map_err(|e| {
                    BlockError::aws(
                        "wafv2:ListIPSets",
                        name,
                        aws_sdk_wafv2::error::DisplayErrorContext(e),
                    )
                })?;
            if let Some(set) = out.ip_sets().iter().find(|s| s.name() == Some(name)) {
                break set.id().unwrap_or_default().to_string();
            }
            marker = out.next_marker().map(str::to_string);
            if marker.is_none() || out.ip_sets().is_empty() {
                return Err(BlockError::MissingIpSet(name.to_string()));
            }
        };
        let out = self
            .wafv2
            .get_ip_set()
            .name(name)
            .id(&id)
            .scope(Scope::Cloudfront)
            .send()
            .await
            .map_err(|e| {
                BlockError::aws(
                    "wafv2:GetIPSet",
                    name,
                    aws_sdk_wafv2::error::DisplayErrorContext(e),
                )
            })?;
        let lock_token = out.lock_token().unwrap_or_default().to_string();
        let set = out
            .ip_set
            .ok_or_else(|| BlockError::MissingIpSet(name.to_string()))?;
        Ok(IpSet {
            name: name.to_string(),
            id,
            description: set.description().unwrap_or_default().to_string(),
            addresses: set.addresses().to_vec(),
            lock_token,
        })
    }

    async fn update_ip_set(
        &self,
        set: &IpSet,
        addresses: &[String],
    ) -> Result<Written, BlockError> {
        let mut request = self
            .wafv2
            .update_ip_set()
            .name(&set.name)
            .id(&set.id)
            .scope(Scope::Cloudfront)
            .set_addresses(Some(addresses.to_vec()))
            .lock_token(&set.lock_token);
        // UpdateIPSet replaces the description too: send back the one the deployer set.
        if !set.description.is_empty() {
            request = request.description(&set.description);
        }
        match request.send().await {
            Ok(_) => Ok(Written::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_waf_optimistic_lock_exception()) =>
            {
                Ok(Written::Stale)
            }
            Err(e) => Err(BlockError::aws(
                "wafv2:UpdateIPSet",
                &set.name,
                aws_sdk_wafv2::error::DisplayErrorContext(e),
            )),
        }
    }

    async fn publish_counts(
        &self,
        namespace: &str,
        counts: &[(&'static str, f64)],
        timestamp_ms: i64,
    ) -> Result<(), BlockError> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{MetricDatum, StandardUnit};
        let datums = counts
            .iter()
            .map(|(name, value)| {
                MetricDatum::builder()
                    .metric_name(*name)
                    .value(*value)
                    .unit(StandardUnit::Count)
                    .timestamp(DateTime::from_millis(timestamp_ms))
                    .build()
            })
            .collect();
        self.cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(datums))
            .send()
            .await
            .map_err(|e| {
                BlockError::aws(
                    "cloudwatch:PutMetricData",
                    namespace,
                    aws_sdk_cloudwatch::error::DisplayErrorContext(e),
                )
            })?;
        Ok(())
    }
}
