//! `[waf.auto_block]`'s analyser half: one strike item per (client, minute) at or above the
//! level, put into the stack's block table (layout in [`cfrp_config::blocks`]). A strike has
//! the same key whichever analyser writes it, so concurrent analysers and retried batches
//! overwrite, never conflict; the evaluator's scheduled run turns M of N minutes of strikes
//! into blocks.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use cfrp_config::{StrikeSettings, blocks};

use crate::anomaly::Offender;

#[derive(Debug, thiserror::Error)]
#[error("dynamodb:BatchWriteItem on {table} failed: {message}")]
pub struct StrikeError {
    pub table: String,
    pub message: String,
}

pub type StrikeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StrikeError>> + Send + 'a>>;

pub trait StrikeStore: Send + Sync {
    /// Puts every strike (minute, client) of the batch.
    fn put<'a>(&'a self, strikes: &'a [(i64, Offender)]) -> StrikeFuture<'a>;
}

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;
/// Unprocessed items (throttling) are sent again this many times.
const ATTEMPTS: u32 = 4;

pub struct DynamoStrikes {
    pub client: aws_sdk_dynamodb::Client,
    pub settings: StrikeSettings,
}

/// One strike as an item.
pub fn strike_item(
    minute_ms: i64,
    offender: &Offender,
    keep_minutes: u32,
) -> HashMap<String, AttributeValue> {
    let expires_at = minute_ms / 1000 + i64::from(keep_minutes) * 60;
    let mut item = HashMap::from([
        (
            blocks::PARTITION_KEY.to_string(),
            AttributeValue::S(blocks::strike_partition(minute_ms)),
        ),
        (
            blocks::SORT_KEY.to_string(),
            AttributeValue::S(offender.ip.clone()),
        ),
        (
            blocks::SCORE.to_string(),
            AttributeValue::N(offender.score.to_string()),
        ),
        (
            blocks::LEVEL.to_string(),
            AttributeValue::S(offender.level.as_str().to_string()),
        ),
        (
            blocks::TTL_ATTRIBUTE.to_string(),
            AttributeValue::N(expires_at.to_string()),
        ),
    ]);
    for (key, value) in [
        (blocks::COUNTRY, &offender.country),
        (blocks::ASN, &offender.asn),
    ] {
        if let Some(value) = value {
            item.insert(key.to_string(), AttributeValue::S(value.clone()));
        }
    }
    item
}

impl DynamoStrikes {
    async fn write(&self, strikes: &[(i64, Offender)]) -> Result<(), StrikeError> {
        let table = &self.settings.table;
        let error = |message: String| StrikeError {
            table: table.clone(),
            message,
        };
        for chunk in strikes.chunks(BATCH) {
            let mut requests = chunk
                .iter()
                .map(|(minute, offender)| {
                    PutRequest::builder()
                        .set_item(Some(strike_item(
                            *minute,
                            offender,
                            self.settings.keep_minutes,
                        )))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(|e| error(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for attempt in 1..=ATTEMPTS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .map_err(|e| {
                        error(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
                    })?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut items| items.remove(table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt == ATTEMPTS {
                    return Err(error(format!(
                        "{} strikes still unprocessed after {ATTEMPTS} attempts (throttled)",
                        requests.len()
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }
}

impl StrikeStore for DynamoStrikes {
    fn put<'a>(&'a self, strikes: &'a [(i64, Offender)]) -> StrikeFuture<'a> {
        Box::pin(self.write(strikes))
    }
}
