//! DynamoDB tables (the `[waf.auto_block]` block table): the port, its SDK adapter and the
//! fake account's tables; and the block-list entries `deployer block` reads and writes in it.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, Tag, TimeToLiveSpecification,
};
use cfrp_config::blocks;

use super::PortFuture;
use super::fake::FakeAccount;
use crate::error::DeployError;

/// A table as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub arn: String,
    /// `CREATING`, `ACTIVE`, …
    pub status: String,
    /// `PAY_PER_REQUEST` (on-demand) or `PROVISIONED`.
    pub billing: String,
    /// `name:TYPE:HASH|RANGE`, in key order.
    pub key: Vec<String>,
    /// The TTL attribute when TTL is enabled.
    pub ttl_attribute: Option<String>,
}

/// One block-list entry as `deployer block` shows it (the item layout of
/// [`cfrp_config::blocks`]).
pub type BlockItem = blocks::BlockRecord;

pub trait Tables: Send + Sync {
    fn describe<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Table>>;
    /// On demand, keys `pk` (hash) and `sk` (range), both strings.
    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, String>;
    fn enable_ttl<'a>(&'a self, name: &'a str, attribute: &'a str) -> PortFuture<'a, ()>;
    /// A table already gone is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
    fn blocks<'a>(&'a self, name: &'a str) -> PortFuture<'a, Vec<BlockItem>>;
    /// Writes the entry (replacing one of the same address).
    fn put_block<'a>(&'a self, name: &'a str, item: &'a BlockItem) -> PortFuture<'a, ()>;
    fn delete_block<'a>(&'a self, name: &'a str, address: &'a str) -> PortFuture<'a, ()>;
}

pub struct SdkTables(pub aws_sdk_dynamodb::Client);

fn key_text(element: &KeySchemaElement, types: &BTreeMap<String, String>) -> String {
    let name = element.attribute_name();
    format!(
        "{name}:{}:{}",
        types.get(name).map(String::as_str).unwrap_or("?"),
        element.key_type().as_str()
    )
}

/// The key the loop's items need.
pub fn desired_key() -> Vec<String> {
    vec![
        format!("{}:S:HASH", blocks::PARTITION_KEY),
        format!("{}:S:RANGE", blocks::SORT_KEY),
    ]
}

fn item_of(entry: &BlockItem) -> HashMap<String, AttributeValue> {
    entry
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

fn entry_of(item: &HashMap<String, AttributeValue>) -> Option<BlockItem> {
    BlockItem::from_attributes(|key| match item.get(key)? {
        AttributeValue::S(v) => Some(blocks::Attribute::S(v.clone())),
        AttributeValue::N(v) => Some(blocks::Attribute::N(v.clone())),
        _ => None,
    })
}

impl Tables for SdkTables {
    fn describe<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Table>> {
        Box::pin(async move {
            let out = crate::resources::found(
                self.0.describe_table().table_name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "dynamodb:DescribeTable",
                name,
            )?;
            let Some(table) = out.and_then(|out| out.table) else {
                return Ok(None);
            };
            let types: BTreeMap<String, String> = table
                .attribute_definitions()
                .iter()
                .map(|d| {
                    (
                        d.attribute_name().to_string(),
                        d.attribute_type().as_str().to_string(),
                    )
                })
                .collect();
            let ttl = self
                .0
                .describe_time_to_live()
                .table_name(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("dynamodb:DescribeTimeToLive", name, e))?;
            let ttl_attribute = ttl.time_to_live_description().and_then(|d| {
                matches!(
                    d.time_to_live_status(),
                    Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
                        | Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling)
                )
                .then(|| d.attribute_name().unwrap_or_default().to_string())
            });
            Ok(Some(Table {
                arn: table.table_arn().unwrap_or_default().to_string(),
                status: table
                    .table_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                // Tables created on demand report it in the billing mode summary; one
                // without a summary was created provisioned.
                billing: table
                    .billing_mode_summary()
                    .and_then(|b| b.billing_mode())
                    .map_or("PROVISIONED".to_string(), |b| b.as_str().to_string()),
                key: table
                    .key_schema()
                    .iter()
                    .map(|k| key_text(k, &types))
                    .collect(),
                ttl_attribute,
            }))
        })
    }

    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, String> {
        Box::pin(async move {
            let attribute = |n: &str| {
                AttributeDefinition::builder()
                    .attribute_name(n)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
            };
            let key = |n: &str, t: KeyType| {
                KeySchemaElement::builder()
                    .attribute_name(n)
                    .key_type(t)
                    .build()
            };
            let tags = tags
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .0
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(attribute(blocks::PARTITION_KEY)?)
                .attribute_definitions(attribute(blocks::SORT_KEY)?)
                .key_schema(key(blocks::PARTITION_KEY, KeyType::Hash)?)
                .key_schema(key(blocks::SORT_KEY, KeyType::Range)?)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| DeployError::aws("dynamodb:CreateTable", name, e))?;
            Ok(out
                .table_description()
                .and_then(|t| t.table_arn())
                .unwrap_or_default()
                .to_string())
        })
    }

    fn enable_ttl<'a>(&'a self, name: &'a str, attribute: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(attribute)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| DeployError::aws("dynamodb:UpdateTimeToLive", name, e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            super::gone_is_fine(
                self.0.delete_table().table_name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "dynamodb:DeleteTable",
                name,
            )
        })
    }

    fn blocks<'a>(&'a self, name: &'a str) -> PortFuture<'a, Vec<BlockItem>> {
        Box::pin(async move {
            let mut entries = Vec::new();
            let mut start = None;
            loop {
                let out = self
                    .0
                    .query()
                    .table_name(name)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", blocks::PARTITION_KEY)
                    .expression_attribute_values(
                        ":pk",
                        AttributeValue::S(blocks::BLOCK_PARTITION.to_string()),
                    )
                    .set_exclusive_start_key(start)
                    .send()
                    .await;
                let out = match crate::resources::found(
                    out,
                    |e| e.is_resource_not_found_exception(),
                    "dynamodb:Query",
                    name,
                )? {
                    Some(out) => out,
                    None => {
                        return Err(DeployError::state(
                            name,
                            "the block table [waf.auto_block] keeps its entries in does not exist yet; run `deployer up` to create it",
                        ));
                    }
                };
                entries.extend(out.items().iter().filter_map(entry_of));
                start = out.last_evaluated_key.filter(|k| !k.is_empty());
                if start.is_none() {
                    return Ok(entries);
                }
            }
        })
    }

    fn put_block<'a>(&'a self, name: &'a str, item: &'a BlockItem) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_item()
                .table_name(name)
                .set_item(Some(item_of(item)))
                .send()
                .await
                .map_err(|e| DeployError::aws("dynamodb:PutItem", name, e))?;
            Ok(())
        })
    }

    fn delete_block<'a>(&'a self, name: &'a str, address: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .delete_item()
                .table_name(name)
                .key(
                    blocks::PARTITION_KEY,
                    AttributeValue::S(blocks::BLOCK_PARTITION.to_string()),
                )
                .key(blocks::SORT_KEY, AttributeValue::S(address.to_string()))
                .send()
                .await
                .map_err(|e| DeployError::aws("dynamodb:DeleteItem", name, e))?;
            Ok(())
        })
    }
}

/// The fake account's tables.
#[derive(Debug, Default)]
pub struct FakeTables {
    tables: BTreeMap<String, (Table, BTreeMap<String, BlockItem>)>,
}

impl Tables for FakeAccount {
    fn describe<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Table>> {
        Box::pin(async move {
            self.call("dynamodb:DescribeTable", name)?;
            Ok(self.state().tables.tables.get(name).map(|(t, _)| t.clone()))
        })
    }

    fn create<'a>(&'a self, name: &'a str, _tags: Vec<(String, String)>) -> PortFuture<'a, String> {
        Box::pin(async move {
            self.call("dynamodb:CreateTable", name)?;
            let arn = format!(
                "arn:aws:dynamodb:{}:{}:table/{name}",
                self.region, self.account
            );
            let mut state = self.state();
            if state.tables.tables.contains_key(name) {
                return Err(super::fake::refused(
                    "dynamodb:CreateTable",
                    name,
                    "ResourceInUseException: Table already exists",
                ));
            }
            let table = Table {
                arn: arn.clone(),
                status: "ACTIVE".to_string(),
                billing: "PAY_PER_REQUEST".to_string(),
                key: desired_key(),
                ttl_attribute: None,
            };
            state
                .tables
                .tables
                .insert(name.to_string(), (table, BTreeMap::new()));
            Ok(arn)
        })
    }

    fn enable_ttl<'a>(&'a self, name: &'a str, attribute: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("dynamodb:UpdateTimeToLive", name)?;
            if let Some((table, _)) = self.state().tables.tables.get_mut(name) {
                table.ttl_attribute = Some(attribute.to_string());
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("dynamodb:DeleteTable", name)?;
            self.state().tables.tables.remove(name);
            Ok(())
        })
    }

    fn blocks<'a>(&'a self, name: &'a str) -> PortFuture<'a, Vec<BlockItem>> {
        Box::pin(async move {
            self.call("dynamodb:Query", name)?;
            Ok(self
                .state()
                .tables
                .tables
                .get(name)
                .map(|(_, items)| items.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    fn put_block<'a>(&'a self, name: &'a str, item: &'a BlockItem) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("dynamodb:PutItem", name)?;
            if let Some((_, items)) = self.state().tables.tables.get_mut(name) {
                items.insert(item.address.clone(), item.clone());
            }
            Ok(())
        })
    }

    fn delete_block<'a>(&'a self, name: &'a str, address: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("dynamodb:DeleteItem", name)?;
            if let Some((_, items)) = self.state().tables.tables.get_mut(name) {
                items.remove(address);
            }
            Ok(())
        })
    }
}
