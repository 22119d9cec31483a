//! CloudWatch Logs log delivery (vended logs), which carries CloudFront's standard access
//! logs (v2): a delivery source (the distribution, log type ACCESS_LOGS), a delivery
//! destination (an S3 bucket or a log group) and the delivery pairing them. CloudFront's
//! sources live in us-east-1 whatever the stack's region, so the SDK adapter's client is
//! aimed there.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::types::{DeliveryDestinationConfiguration, OutputFormat};

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;
use crate::resources::found;

/// A delivery source as CloudWatch Logs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySource {
    pub resource_arns: Vec<String>,
    pub log_type: String,
}

/// A delivery destination as CloudWatch Logs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDestination {
    pub arn: String,
    /// `json`, `plain`, `w3c`, `raw` or `parquet`; None when it was created without one.
    pub output_format: Option<String>,
    /// The bucket (with its prefix) or log group the logs go to.
    pub resource_arn: String,
}

/// A delivery: one source to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub source_name: String,
    pub destination_arn: String,
    pub record_fields: Vec<String>,
}

/// CloudWatch Logs deliveries, their sources and destinations, by name (deliveries by id).
pub trait Deliveries: Send + Sync {
    fn source<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<DeliverySource>>;
    /// Creates the source (tagged), or updates one of that name (then without tags: CloudWatch
    /// Logs takes tags only at creation).
    fn put_source<'a>(
        &'a self,
        name: &'a str,
        resource_arn: &'a str,
        log_type: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()>;
    /// Deletes the source; one already gone is not an error. CloudWatch Logs refuses it while
    /// a delivery uses the source.
    fn delete_source<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
    fn destination<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<DeliveryDestination>>;
    /// Creates the destination (tagged) and answers its ARN.
    fn put_destination<'a>(
        &'a self,
        name: &'a str,
        output_format: &'a str,
        resource_arn: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String>;
    /// Deletes the destination; one already gone is not an error. CloudWatch Logs refuses it
    /// while a delivery uses the destination.
    fn delete_destination<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
    /// The deliveries whose source is `source_name`.
    fn deliveries_of<'a>(&'a self, source_name: &'a str) -> PortFuture<'a, Vec<Delivery>>;
    /// Creates the delivery and answers its id.
    fn create_delivery<'a>(
        &'a self,
        source_name: &'a str,
        destination_arn: &'a str,
        record_fields: &'a [String],
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String>;
    /// Deletes the delivery; one already gone is not an error.
    fn delete_delivery<'a>(&'a self, id: &'a str) -> PortFuture<'a, ()>;
}

/// CloudWatch Logs in us-east-1 through `aws-sdk-cloudwatchlogs`.
pub struct SdkDeliveries(pub aws_sdk_cloudwatchlogs::Client);

impl Deliveries for SdkDeliveries {
    fn source<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<DeliverySource>> {
        Box::pin(async move {
            let out = found(
                self.0.get_delivery_source().name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "logs:GetDeliverySource",
                name,
            )?;
            Ok(out
                .and_then(|out| out.delivery_source)
                .map(|s| DeliverySource {
                    resource_arns: s.resource_arns().to_vec(),
                    log_type: s.log_type().unwrap_or_default().to_string(),
                }))
        })
    }

    fn put_source<'a>(
        &'a self,
        name: &'a str,
        resource_arn: &'a str,
        log_type: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let tags = (!tags.is_empty()).then(|| tags.into_iter().collect());
            self.0
                .put_delivery_source()
                .name(name)
                .resource_arn(resource_arn)
                .log_type(log_type)
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| DeployError::aws("logs:PutDeliverySource", name, e))?;
            Ok(())
        })
    }

    fn delete_source<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_delivery_source().name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "logs:DeleteDeliverySource",
                name,
            )
        })
    }

    fn destination<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<DeliveryDestination>> {
        Box::pin(async move {
            let out = found(
                self.0.get_delivery_destination().name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "logs:GetDeliveryDestination",
                name,
            )?;
            Ok(out
                .and_then(|out| out.delivery_destination)
                .map(|d| DeliveryDestination {
                    arn: d.arn().unwrap_or_default().to_string(),
                    output_format: d.output_format().map(|f| f.as_str().to_string()),
                    resource_arn: d
                        .delivery_destination_configuration()
                        .map(|c| c.destination_resource_arn().to_string())
                        .unwrap_or_default(),
                }))
        })
    }

    fn put_destination<'a>(
        &'a self,
        name: &'a str,
        output_format: &'a str,
        resource_arn: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            const OPERATION: &str = "logs:PutDeliveryDestination";
            let configuration = DeliveryDestinationConfiguration::builder()
                .destination_resource_arn(resource_arn)
                .build()
                .map_err(|e| DeployError::state(name, e.to_string()))?;
            let tags = (!tags.is_empty()).then(|| tags.into_iter().collect());
            let out = self
                .0
                .put_delivery_destination()
                .name(name)
                .output_format(OutputFormat::from(output_format))
                .delivery_destination_configuration(configuration)
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| DeployError::aws(OPERATION, name, e))?;
            out.delivery_destination()
                .and_then(|d| d.arn())
                .map(str::to_string)
                .ok_or_else(|| DeployError::state(name, "PutDeliveryDestination answered no ARN"))
        })
    }

    fn delete_destination<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_delivery_destination().name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "logs:DeleteDeliveryDestination",
                name,
            )
        })
    }

    fn deliveries_of<'a>(&'a self, source_name: &'a str) -> PortFuture<'a, Vec<Delivery>> {
        Box::pin(async move {
            let mut pages = self.0.describe_deliveries().into_paginator().send();
            let mut deliveries = Vec::new();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| DeployError::aws("logs:DescribeDeliveries", source_name, e))?;
                deliveries.extend(
                    page.deliveries()
                        .iter()
                        .filter(|d| d.delivery_source_name() == Some(source_name))
                        .map(|d| Delivery {
                            id: d.id().unwrap_or_default().to_string(),
                            source_name: source_name.to_string(),
                            destination_arn: d
                                .delivery_destination_arn()
                                .unwrap_or_default()
                                .to_string(),
                            record_fields: d.record_fields().to_vec(),
                        }),
                );
            }
            Ok(deliveries)
        })
    }

    fn create_delivery<'a>(
        &'a self,
        source_name: &'a str,
        destination_arn: &'a str,
        record_fields: &'a [String],
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            const OPERATION: &str = "logs:CreateDelivery";
            let tags = (!tags.is_empty()).then(|| tags.into_iter().collect());
            let out = self
                .0
                .create_delivery()
                .delivery_source_name(source_name)
                .delivery_destination_arn(destination_arn)
                .set_record_fields(Some(record_fields.to_vec()))
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| DeployError::aws(OPERATION, source_name, e))?;
            out.delivery()
                .and_then(|d| d.id())
                .map(str::to_string)
                .ok_or_else(|| DeployError::state(source_name, "CreateDelivery answered no id"))
        })
    }

    fn delete_delivery<'a>(&'a self, id: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_delivery().id(id).send().await,
                |e| e.is_resource_not_found_exception(),
                "logs:DeleteDelivery",
                id,
            )
        })
    }
}

// ------------------------------------------------------------------ the fake

/// The fake account's deliveries, with what CloudWatch Logs checks.
#[derive(Default)]
pub struct FakeDeliveries {
    sources: BTreeMap<String, FakeSource>,
    destinations: BTreeMap<String, FakeDestination>,
    deliveries: BTreeMap<String, Delivery>,
    next_id: u32,
}

#[derive(Debug, Clone)]
pub struct FakeSource {
    pub source: DeliverySource,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct FakeDestination {
    pub destination: DeliveryDestination,
    pub tags: Vec<(String, String)>,
}

/// The log types CloudWatch Logs accepts for a CloudFront distribution's delivery source.
const CLOUDFRONT_LOG_TYPES: [&str; 2] = ["ACCESS_LOGS", "CONNECTION_LOGS"];
const OUTPUT_FORMATS: [&str; 5] = ["json", "plain", "w3c", "raw", "parquet"];

impl FakeAccount {
    /// The delivery source of that name, as the fake holds it.
    pub fn delivery_source(&self, name: &str) -> Option<FakeSource> {
        self.state().deliveries.sources.get(name).cloned()
    }

    pub fn delivery_destination(&self, name: &str) -> Option<FakeDestination> {
        self.state().deliveries.destinations.get(name).cloned()
    }

    /// Every delivery the fake holds.
    pub fn all_deliveries(&self) -> Vec<Delivery> {
        self.state()
            .deliveries
            .deliveries
            .values()
            .cloned()
            .collect()
    }
}

impl Deliveries for FakeAccount {
    fn source<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<DeliverySource>> {
        Box::pin(async move {
            self.call("logs:GetDeliverySource", name)?;
            Ok(self.delivery_source(name).map(|s| s.source))
        })
    }

    fn put_source<'a>(
        &'a self,
        name: &'a str,
        resource_arn: &'a str,
        log_type: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "logs:PutDeliverySource";
            self.call(OPERATION, name)?;
            if !resource_arn.starts_with("arn:aws:cloudfront::") {
                return Err(refused(
                    OPERATION,
                    name,
                    "ResourceNotFoundException: Cannot access provided service.",
                ));
            }
            if !CLOUDFRONT_LOG_TYPES.contains(&log_type) {
                return Err(refused(
                    OPERATION,
                    name,
                    "ValidationException: This service is not allowed for this LogSource.",
                ));
            }
            let mut state = self.state();
            if let Some(existing) = state.deliveries.sources.get(name) {
                if !tags.is_empty() {
                    return Err(refused(
                        OPERATION,
                        name,
                        "ConflictException: Tags can only be provided when a resource is being created, not updated.",
                    ));
                }
                if !existing
                    .source
                    .resource_arns
                    .iter()
                    .any(|a| a == resource_arn)
                {
                    return Err(refused(
                        OPERATION,
                        name,
                        "ConflictException: Update to existing Delivery Source with new ResourceId is not allowed. Please create a new Delivery Source instead.",
                    ));
                }
            }
            state.deliveries.sources.insert(
                name.to_string(),
                FakeSource {
                    source: DeliverySource {
                        resource_arns: vec![resource_arn.to_string()],
                        log_type: log_type.to_string(),
                    },
                    tags,
                },
            );
            Ok(())
        })
    }

    fn delete_source<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "logs:DeleteDeliverySource";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            if state
                .deliveries
                .deliveries
                .values()
                .any(|d| d.source_name == name)
            {
                return Err(refused(
                    OPERATION,
                    name,
                    "ConflictException: The delivery source is in use by a delivery; delete the delivery first.",
                ));
            }
            state.deliveries.sources.remove(name);
            Ok(())
        })
    }

    fn destination<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<DeliveryDestination>> {
        Box::pin(async move {
            self.call("logs:GetDeliveryDestination", name)?;
            Ok(self.delivery_destination(name).map(|d| d.destination))
        })
    }

    fn put_destination<'a>(
        &'a self,
        name: &'a str,
        output_format: &'a str,
        resource_arn: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            const OPERATION: &str = "logs:PutDeliveryDestination";
            self.call(OPERATION, name)?;
            if !OUTPUT_FORMATS.contains(&output_format) {
                return Err(refused(
                    OPERATION,
                    name,
                    &format!(
                        "ValidationException: 1 validation error detected: Value '{output_format}' at 'outputFormat' failed to satisfy constraint: Member must satisfy enum value set: [w3c, raw, json, plain, parquet]"
                    ),
                ));
            }
            let mut state = self.state();
            if let Some(existing) = state.deliveries.destinations.get(name) {
                if !tags.is_empty() {
                    return Err(refused(
                        OPERATION,
                        name,
                        "ConflictException: Tags can only be provided when a resource is being created, not updated.",
                    ));
                }
                if existing.destination.output_format.as_deref() != Some(output_format) {
                    return Err(refused(
                        OPERATION,
                        name,
                        "ValidationException: Update to existing Delivery Destination with new Output Format is not allowed. Please create a new Delivery Destination instead.",
                    ));
                }
            }
            // The stack's deliveries live in us-east-1, whatever the fake's own region.
            let arn = format!(
                "arn:aws:logs:{}:{}:delivery-destination:{name}",
                crate::context::CLOUDFRONT_REGION,
                self.account
            );
            state.deliveries.destinations.insert(
                name.to_string(),
                FakeDestination {
                    destination: DeliveryDestination {
                        arn: arn.clone(),
                        output_format: Some(output_format.to_string()),
                        resource_arn: resource_arn.to_string(),
                    },
                    tags,
                },
            );
            Ok(arn)
        })
    }

    fn delete_destination<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "logs:DeleteDeliveryDestination";
            self.call(OPERATION, name)?;
            let mut state = self.state();
            let Some(arn) = state
                .deliveries
                .destinations
                .get(name)
                .map(|d| d.destination.arn.clone())
            else {
                return Ok(());
            };
            if state
                .deliveries
                .deliveries
                .values()
                .any(|d| d.destination_arn == arn)
            {
                return Err(refused(
                    OPERATION,
                    name,
                    "ConflictException: The delivery destination is in use by a delivery; delete the delivery first.",
                ));
            }
            state.deliveries.destinations.remove(name);
            Ok(())
        })
    }

    fn deliveries_of<'a>(&'a self, source_name: &'a str) -> PortFuture<'a, Vec<Delivery>> {
        Box::pin(async move {
            self.call("logs:DescribeDeliveries", source_name)?;
            Ok(self
                .all_deliveries()
                .into_iter()
                .filter(|d| d.source_name == source_name)
                .collect())
        })
    }

    fn create_delivery<'a>(
        &'a self,
        source_name: &'a str,
        destination_arn: &'a str,
        record_fields: &'a [String],
        _tags: Vec<(String, String)>,
    ) -> PortFuture<'a, String> {
        Box::pin(async move {
            const OPERATION: &str = "logs:CreateDelivery";
            self.call(OPERATION, source_name)?;
            let mut state = self.state();
            if !state.deliveries.sources.contains_key(source_name) {
                return Err(refused(
                    OPERATION,
                    source_name,
                    "ResourceNotFoundException: Requested Delivery Source does not exist in this account.",
                ));
            }
            if !state
                .deliveries
                .destinations
                .values()
                .any(|d| d.destination.arn == destination_arn)
            {
                return Err(refused(
                    OPERATION,
                    source_name,
                    "ResourceNotFoundException: Requested Delivery Destination does not exist in this account.",
                ));
            }
            if state
                .deliveries
                .deliveries
                .values()
                .any(|d| d.source_name == source_name && d.destination_arn == destination_arn)
            {
                return Err(refused(
                    OPERATION,
                    source_name,
                    "ConflictException: The specified Delivery already exists",
                ));
            }
            state.deliveries.next_id += 1;
            let id = format!("fakedelivery{:04}", state.deliveries.next_id);
            state.deliveries.deliveries.insert(
                id.clone(),
                Delivery {
                    id: id.clone(),
                    source_name: source_name.to_string(),
                    destination_arn: destination_arn.to_string(),
                    record_fields: record_fields.to_vec(),
                },
            );
            Ok(id)
        })
    }

    fn delete_delivery<'a>(&'a self, id: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("logs:DeleteDelivery", id)?;
            self.state().deliveries.deliveries.remove(id);
            Ok(())
        })
    }
}
