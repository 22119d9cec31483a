//! The auto-block loop's scheduled half (`[waf.auto_block]`): each evaluator run reads the
//! strikes the log analysers wrote for the last N minutes, decides ([`decide::decide`]) and
//! writes the block list.
//!
//! Why this shape. Analysers run concurrently (one per shard, more with parallelisation) and
//! each sees only its batch; a client's M-of-N needs every batch's view, and WAF's IP set
//! takes one writer at a time (lock token). So analysers only put idempotent strike items
//! (one per client and minute, same key from any analyser: concurrent puts cannot conflict)
//! and one writer, this once-a-minute run, turns them into blocks. All state is in AWS: the
//! strikes and the entries (reason, expiry) in the stack's DynamoDB table, the addresses in
//! the IP sets; the function keeps nothing between runs.
//!
//! Updates that cannot be lost, and expiry that cannot be lost:
//! - an entry is written (conditional put, only if absent) *before* its address goes into
//!   the IP set, and deleted (conditional on being the entry read) only *after* its address
//!   left the set; a failure between the two leaves an entry whose address is missing (put
//!   back next run) or an expired entry whose address is gone (deleted next run), never an
//!   address without an entry to expire it;
//! - every IP set write carries the lock token of the read before it; refused as stale, the
//!   set is read again and the same change (add these, remove those) applied to what is
//!   there now, so a concurrent writer's addresses (`deployer block`, another run) stay.
//!
//! Entries are never deleted by DynamoDB's TTL (only strikes are): see
//! [`cfrp_config::blocks`]. Addresses in the IP sets without an entry (put there in the
//! console) are left alone.

pub mod decide;
pub mod port;

use std::collections::BTreeSet;

use cfrp_config::{AutoBlockSettings, WafMode};

use decide::{Decision, Entry, UnblockReason, allow_nets, decide};
use port::{BlockError, BlockPort, IpSet, Written};

pub const CLIENTS_BLOCKED: &str = "ClientsBlocked";
pub const CLIENTS_UNBLOCKED: &str = "ClientsUnblocked";
pub const CLIENTS_WOULD_BLOCK: &str = "ClientsWouldBlock";

/// How many times one IP set write is tried when WAF refuses it as stale.
const LOCK_ATTEMPTS: u32 = 5;

/// What one run did (returned for tests; each item was logged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    pub blocked: Vec<Entry>,
    pub unblocked: Vec<(Entry, UnblockReason)>,
    pub would_block: Vec<Entry>,
    pub restored: Vec<String>,
}

pub struct AutoBlocker<P> {
    pub settings: AutoBlockSettings,
    pub namespace: String,
    pub port: P,
}

fn is_v6(cidr: &str) -> bool {
    cidr.contains(':')
}

impl<P: BlockPort + Sync> AutoBlocker<P> {
    /// One run at the schedule's event time.
    pub async fn run(&self, now_ms: i64) -> Result<RunReport, BlockError> {
        let s = &self.settings;
        let minute = now_ms - now_ms.rem_euclid(60_000);
        let minutes: Vec<i64> = (0..i64::from(s.auto_block.window))
            .map(|k| minute - k * 60_000)
            .collect();
        let strikes = self.port.strikes(&s.table, &minutes).await?;
        let entries = self.port.entries(&s.table).await?;
        let v4 = self.port.ip_set(&s.ip_set_v4).await?;
        let v6 = self.port.ip_set(&s.ip_set_v6).await?;
        let in_sets: BTreeSet<String> = v4.addresses.iter().chain(&v6.addresses).cloned().collect();
        let allow = allow_nets(&s.allow_list);
        let Decision {
            blocks,
            unblocks,
            would_block,
            spared,
            restores,
        } = decide(&s.auto_block, &strikes, &allow, &entries, &in_sets, now_ms);
        for ip in &spared {
            tracing::info!(target: "auto_block", ip = %ip, "qualified for a block but the allow list contains it: not blocked");
        }

        // Entries first, so that no address reaches the set without an entry to expire it.
        let mut blocked = Vec::new();
        for entry in blocks {
            match self.port.put_entry(&s.table, &entry).await? {
                Written::Done => blocked.push(entry),
                // Another run created it meanwhile; that run adds the address.
                Written::Stale => {}
            }
        }
        let mut adds: Vec<String> = blocked.iter().map(|e| e.address.clone()).collect();
        adds.extend(restores.iter().cloned());
        let removes: Vec<String> = unblocks.iter().map(|(e, _)| e.address.clone()).collect();
        for (set, v6) in [(v4, false), (v6, true)] {
            let add: Vec<&String> = adds.iter().filter(|a| is_v6(a) == v6).collect();
            let remove: Vec<&String> = removes.iter().filter(|a| is_v6(a) == v6).collect();
            if !add.is_empty() || !remove.is_empty() {
                self.apply(set, &add, &remove).await?;
            }
        }
        let mode = s.auto_block.mode.as_str();
        for entry in &blocked {
            tracing::warn!(
                target: "block",
                ip = %entry.address,
                country = entry.country.as_deref().unwrap_or("-"),
                asn = entry.asn.as_deref().unwrap_or("-"),
                score = entry.score.unwrap_or_default(),
                level = entry.level.as_deref().unwrap_or("-"),
                rule = %entry.reason,
                expiry = entry.until.unwrap_or_default(),
                mode,
                "client blocked"
            );
        }
        let mut unblocked = Vec::new();
        for (entry, why) in unblocks {
            // After the address left the set; a stale entry was replaced meanwhile: keep it.
            if self.port.delete_entry(&s.table, &entry).await? == Written::Done {
                tracing::info!(
                    target: "unblock",
                    ip = %entry.address,
                    country = entry.country.as_deref().unwrap_or("-"),
                    asn = entry.asn.as_deref().unwrap_or("-"),
                    score = entry.score.unwrap_or_default(),
                    source = entry.source.as_str(),
                    rule = %entry.reason,
                    reason = why.as_str(),
                    expiry = entry.until.unwrap_or_default(),
                    mode,
                    "client unblocked"
                );
                unblocked.push((entry, why));
            }
        }
        if s.auto_block.mode == WafMode::Count {
            for entry in &would_block {
                tracing::warn!(
                    target: "would_block",
                    ip = %entry.address,
                    country = entry.country.as_deref().unwrap_or("-"),
                    asn = entry.asn.as_deref().unwrap_or("-"),
                    score = entry.score.unwrap_or_default(),
                    level = entry.level.as_deref().unwrap_or("-"),
                    rule = %entry.reason,
                    expiry = entry.until.unwrap_or_default(),
                    mode,
                    "count mode: client would be blocked"
                );
            }
        }
        for address in &restores {
            tracing::info!(target: "auto_block", ip = %address, "entry without its address in the IP set (an earlier run stopped half way): address put back");
        }
        self.port
            .publish_counts(
                &self.namespace,
                &[
                    (CLIENTS_BLOCKED, blocked.len() as f64),
                    (CLIENTS_UNBLOCKED, unblocked.len() as f64),
                    (CLIENTS_WOULD_BLOCK, would_block.len() as f64),
                ],
                minute,
            )
            .await?;
        Ok(RunReport {
            blocked,
            unblocked,
            would_block,
            restored: restores,
        })
    }

    /// Adds and removes addresses on one set with the lock token of a fresh read, re-read and
    /// re-applied when a concurrent writer got in between.
    async fn apply(
        &self,
        mut set: IpSet,
        add: &[&String],
        remove: &[&String],
    ) -> Result<(), BlockError> {
        for attempt in 1..=LOCK_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                set = self.port.ip_set(&set.name).await?;
            }
            let mut addresses: BTreeSet<String> = set.addresses.iter().cloned().collect();
            for a in remove {
                addresses.remove(*a);
            }
            for a in add {
                addresses.insert((*a).clone());
            }
            let addresses: Vec<String> = addresses.into_iter().collect();
            if self.port.update_ip_set(&set, &addresses).await? == Written::Done {
                return Ok(());
            }
        }
        Err(BlockError::LockConflicts(LOCK_ATTEMPTS, set.name))
    }
}

/// The event's time when it is the schedule's event (what the rules accept too); None
/// otherwise, and then nothing is blocked or unblocked.
pub fn scheduled_time_ms(
    event: &lambda_runtime::LambdaEvent<
        aws_lambda_events::event::cloudwatch_events::CloudWatchEvent,
    >,
) -> Option<i64> {
    let payload = &event.payload;
    (payload.detail_type.as_deref() == Some("Scheduled Event")
        && payload.source.as_deref() == Some("aws.events"))
    .then(|| payload.time.timestamp_millis())
}
