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
        // Removals go in a write of their own, before the additions: an addition WAF refuses
        // (a full set, an address it does not take) must not keep expired blocks in place.
        let mut after_removals = Vec::new();
        for (set, v6) in [(v4, false), (v6, true)] {
            let remove: Vec<&String> = removes.iter().filter(|a| is_v6(a) == v6).collect();
            if remove.is_empty() {
                after_removals.push((set, v6));
            } else {
                let name = set.name.clone();
                self.apply(set, &[], &remove).await?;
                // A fresh read: the write above spent the set's lock token.
                after_removals.push((self.port.ip_set(&name).await?, v6));
            }
        }
        let mut not_added: BTreeSet<String> = BTreeSet::new();
        for (set, v6) in after_removals {
            let add: Vec<&String> = adds.iter().filter(|a| is_v6(a) == v6).collect();
            if add.is_empty() {
                continue;
            }
            let name = set.name.clone();
            if let Err(err) = self.apply(set, &add, &[]).await {
                // Their entries stay, so the next run tries again; this run's removals stand.
                let addresses = serde_json::to_string(&add).unwrap_or_default();
                tracing::error!(target: "auto_block", ip_set = %name, addresses = %addresses, error = %err, "addresses not added to the block list this run (entries kept, tried again next run)");
                not_added.extend(add.into_iter().cloned());
            }
        }
        blocked.retain(|e| !not_added.contains(&e.address));
        let restores: Vec<String> = restores
            .into_iter()
            .filter(|a| !not_added.contains(a))
            .collect();
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

/// The event's time when it is the schedule's event (the rules' own check); None otherwise,
/// and then nothing is blocked or unblocked.
pub fn scheduled_time_ms(
    event: &lambda_runtime::LambdaEvent<
        aws_lambda_events::event::cloudwatch_events::CloudWatchEvent,
    >,
) -> Option<i64> {
    crate::handler::scheduled_time_ms(&event.payload)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use cfrp_config::{AutoBlock, BlockLevel};

    use super::decide::Source;
    use super::port::IpSet;
    use super::*;

    const NOW: i64 = 1_795_100_400_000;

    /// The table and the two sets in memory; a set refuses (as WAF does when it is full or
    /// an address is malformed) any write containing an address of `refused`.
    #[derive(Default)]
    struct FakeBlocks {
        strikes: Vec<decide::Strike>,
        entries: Mutex<BTreeMap<String, Entry>>,
        sets: Mutex<BTreeMap<String, (Vec<String>, u32)>>,
        refused: Vec<String>,
    }

    impl BlockPort for FakeBlocks {
        async fn strikes(
            &self,
            _table: &str,
            minutes_ms: &[i64],
        ) -> Result<Vec<decide::Strike>, BlockError> {
            Ok(self
                .strikes
                .iter()
                .filter(|s| minutes_ms.contains(&s.minute_ms))
                .cloned()
                .collect())
        }
        async fn entries(&self, _table: &str) -> Result<Vec<Entry>, BlockError> {
            Ok(self.entries.lock().map_or_else(
                |_| Vec::new(),
                |entries| entries.values().cloned().collect(),
            ))
        }
        async fn put_entry(&self, _table: &str, entry: &Entry) -> Result<Written, BlockError> {
            let mut entries = self.entries.lock().map_err(|_| lock("entries"))?;
            if entries.contains_key(&entry.address) {
                return Ok(Written::Stale);
            }
            entries.insert(entry.address.clone(), entry.clone());
            Ok(Written::Done)
        }
        async fn delete_entry(&self, _table: &str, entry: &Entry) -> Result<Written, BlockError> {
            let mut entries = self.entries.lock().map_err(|_| lock("entries"))?;
            Ok(match entries.get(&entry.address) {
                Some(kept) if kept.added == entry.added => {
                    entries.remove(&entry.address);
                    Written::Done
                }
                _ => Written::Stale,
            })
        }
        async fn ip_set(&self, name: &str) -> Result<IpSet, BlockError> {
            let sets = self.sets.lock().map_err(|_| lock("sets"))?;
            let (addresses, version) = sets.get(name).cloned().unwrap_or_default();
            Ok(IpSet {
                name: name.to_string(),
                id: format!("id-{name}"),
                description: String::new(),
                addresses,
                lock_token: version.to_string(),
            })
        }
        async fn update_ip_set(
            &self,
            set: &IpSet,
            addresses: &[String],
        ) -> Result<Written, BlockError> {
            let mut sets = self.sets.lock().map_err(|_| lock("sets"))?;
            let slot = sets.entry(set.name.clone()).or_default();
            if slot.1.to_string() != set.lock_token {
                return Ok(Written::Stale);
            }
            if let Some(bad) = addresses.iter().find(|a| self.refused.contains(a)) {
                return Err(BlockError::Aws {
                    operation: "wafv2:UpdateIPSet",
                    resource: set.name.clone(),
                    message: format!("WAFInvalidParameterException: {bad}"),
                });
            }
            *slot = (addresses.to_vec(), slot.1 + 1);
            Ok(Written::Done)
        }
        async fn publish_counts(
            &self,
            _namespace: &str,
            _counts: &[(&'static str, f64)],
            _timestamp_ms: i64,
        ) -> Result<(), BlockError> {
            Ok(())
        }
    }

    fn lock(what: &str) -> BlockError {
        BlockError::Aws {
            operation: "test",
            resource: what.to_string(),
            message: "poisoned".to_string(),
        }
    }

    fn entry(address: &str, until: i64) -> Entry {
        Entry {
            address: address.to_string(),
            source: Source::Manual,
            reason: "scraper".to_string(),
            added: NOW / 1000 - 7200,
            until: Some(until),
            score: None,
            level: None,
            country: None,
            asn: None,
        }
    }

    fn blocker(fake: FakeBlocks) -> AutoBlocker<FakeBlocks> {
        AutoBlocker {
            settings: AutoBlockSettings {
                table: "cfrp-shop-blocks".to_string(),
                auto_block: AutoBlock {
                    enabled: true,
                    level: BlockLevel::Critical,
                    minutes: 3,
                    window: 5,
                    expiry_minutes: 60,
                    max: 100,
                    mode: WafMode::Block,
                },
                allow_list: Vec::new(),
                ip_set_v4: "v4".to_string(),
                ip_set_v6: "v6".to_string(),
            },
            namespace: "NS".to_string(),
            port: fake,
        }
    }

    #[tokio::test]
    async fn a_refused_addition_leaves_the_runs_removals_made_and_the_entry_for_next_run() {
        let now_s = NOW / 1000;
        let expired = entry("198.51.100.7/32", now_s - 60);
        let live = entry("192.0.2.1/32", now_s + 3600);
        let strikes = (0..3)
            .map(|k| decide::Strike {
                ip: "203.0.113.9".to_string(),
                minute_ms: NOW - k * 60_000,
                score: 14.0,
                level: "CRITICAL".to_string(),
                country: None,
                asn: None,
            })
            .collect();
        let fake = FakeBlocks {
            strikes,
            // The live entry's address is missing from the set (restored), and WAF refuses
            // the new block's address (say the set is full).
            refused: vec!["203.0.113.9/32".to_string()],
            ..FakeBlocks::default()
        };
        for e in [&expired, &live] {
            fake.entries
                .lock()
                .map(|mut m| m.insert(e.address.clone(), e.clone()))
                .ok();
        }
        fake.sets
            .lock()
            .map(|mut m| m.insert("v4".to_string(), (vec![expired.address.clone()], 7)))
            .ok();
        let blocker = blocker(fake);
        let report = match blocker.run(NOW).await {
            Ok(report) => report,
            Err(err) => panic!("{err}"),
        };
        // The expired address left the set and its entry is gone, though the addition failed.
        assert_eq!(report.unblocked.len(), 1);
        let set = blocker.port.ip_set("v4").await.map(|s| s.addresses).ok();
        assert_eq!(set, Some(Vec::<String>::new()));
        let entries = blocker.port.entries("t").await.unwrap_or_default();
        let addresses: Vec<&str> = entries.iter().map(|e| e.address.as_str()).collect();
        // The new block's entry stays for the next run to add; nothing claims it was blocked.
        assert_eq!(addresses, vec!["192.0.2.1/32", "203.0.113.9/32"]);
        assert!(report.blocked.is_empty());
        assert!(report.restored.is_empty());
    }
}
