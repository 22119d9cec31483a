//! Generated CloudFront real-time log records through the deployed Kinesis stream: put, then
//! read back from every shard as Lambda's poller would, into the event the analyser gets.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use cfrp_config::StackConfig;
use cfrp_events::{Generate, generate_kinesis_event, kinesis_event_from_payloads};

use super::StepError;
use cfrp_deployer::context::Clients;
use cfrp_deployer::error::DeployError;

/// PutRecords takes at most 500 records a call.
const PUT_BATCH: usize = 500;
/// A generated event stays well under Lambda's 6 MB payload limit.
const EVENT_BYTES: usize = 1024 * 1024;

/// What went through the stream.
#[derive(Debug)]
pub struct Traffic {
    pub stream: String,
    pub records: usize,
    pub read_back: usize,
    /// The Kinesis event for the analyser.
    pub event: String,
    /// Epoch seconds of the first minute of traffic, and the minute after the last.
    pub start_epoch: u64,
    pub end_epoch: u64,
}

/// `minutes` minutes of traffic for `domain`, ending at the current minute.
pub async fn through_stream(
    aws: &Clients,
    config: &StackConfig,
    domain: &str,
    minutes: u64,
) -> Result<Traffic, StepError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let minute = now / 60 * 60;
    let start_epoch = minute - minutes * 60;
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: EVENT_BYTES,
        start_epoch,
        minutes,
        fields: config.logging.fields.clone(),
        distribution_domain: domain.to_string(),
        ..Generate::default()
    });
    let stream = config.names().log_stream();
    for (batch_index, batch) in generated.lines.chunks(PUT_BATCH).enumerate() {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(i, line)| {
                PutRecordsRequestEntry::builder()
                    .partition_key((batch_index * PUT_BATCH + i).to_string())
                    .data(Blob::new(line.as_bytes()))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StepError::Failed(format!("building PutRecords: {e}")))?;
        let put = aws
            .kinesis
            .put_records()
            .stream_name(&stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| DeployError::aws("kinesis:PutRecords", &stream, e))?;
        if put.failed_record_count().unwrap_or(0) > 0 {
            return Err(StepError::Failed(format!(
                "kinesis:PutRecords into {stream}: {} of {} records failed",
                put.failed_record_count().unwrap_or(0),
                batch.len()
            )));
        }
    }
    let payloads = read_back(aws, &stream, generated.records).await?;
    let event = kinesis_event_from_payloads(payloads.iter().map(Vec::as_slice), now as f64);
    Ok(Traffic {
        stream,
        records: generated.records,
        read_back: payloads.len(),
        event,
        start_epoch,
        end_epoch: minute + 60,
    })
}

/// Every record of every shard from the start (one GetRecords page after another).
async fn read_back(
    aws: &Clients,
    stream: &str,
    expected: usize,
) -> Result<Vec<Vec<u8>>, StepError> {
    let shards = aws
        .kinesis
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| DeployError::aws("kinesis:ListShards", stream, e))?;
    let mut payloads = Vec::new();
    for shard in shards.shards() {
        let iterator = aws
            .kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(|e| DeployError::aws("kinesis:GetShardIterator", stream, e))?;
        let mut next = iterator.shard_iterator().map(str::to_string);
        // A page per call; an empty page means the shard is read to its end.
        while let Some(current) = next.take() {
            let records = aws
                .kinesis
                .get_records()
                .shard_iterator(&current)
                .limit(10_000)
                .send()
                .await
                .map_err(|e| DeployError::aws("kinesis:GetRecords", stream, e))?;
            if records.records().is_empty() {
                break;
            }
            payloads.extend(records.records().iter().map(|r| r.data().as_ref().to_vec()));
            if payloads.len() >= expected {
                break;
            }
            next = records.next_shard_iterator().map(str::to_string);
        }
    }
    Ok(payloads)
}
