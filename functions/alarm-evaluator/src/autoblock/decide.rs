//! The auto-block decision, pure: strikes, the allow list, the block list's entries, the time
//! and the settings in; blocks, unblocks and would-blocks out. No I/O, so every rule of the
//! loop is a unit test.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use cfrp_config::{AutoBlock, WafMode};
use ipnet::IpNet;
use serde::Serialize;

/// One analyser strike: `ip` scored at or above the level in the batch of `minute_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Strike {
    pub ip: String,
    pub minute_ms: i64,
    pub score: f64,
    pub level: String,
    pub country: Option<String>,
    pub asn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Put there by this loop.
    Auto,
    /// Put there by `deployer block add`.
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        match text {
            "auto" => Some(Source::Auto),
            "manual" => Some(Source::Manual),
            _ => None,
        }
    }
}

/// One block-list entry as kept in the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// CIDR, e.g. `203.0.113.9/32`.
    pub address: String,
    pub source: Source,
    pub reason: String,
    /// Unix seconds.
    pub added: i64,
    /// Unix seconds; None: until removed by hand.
    pub until: Option<i64>,
    pub score: Option<f64>,
    pub level: Option<String>,
    pub country: Option<String>,
    pub asn: Option<String>,
}

impl Entry {
    fn expired(&self, now_s: i64) -> bool {
        self.until.is_some_and(|until| until <= now_s)
    }
}

/// Why an entry leaves the block list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnblockReason {
    /// Its expiry passed.
    Expired,
    /// More automatic blocks than `max`: the one expiring first goes.
    OverMax,
    /// The allow list now contains it.
    AllowListed,
}

impl UnblockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnblockReason::Expired => "expired",
            UnblockReason::OverMax => "over_max",
            UnblockReason::AllowListed => "allow_listed",
        }
    }
}

/// What one run does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// New automatic entries (block mode).
    pub blocks: Vec<Entry>,
    /// Entries to take off the list.
    pub unblocks: Vec<(Entry, UnblockReason)>,
    /// What block mode would have blocked (count mode).
    pub would_block: Vec<Entry>,
    /// Clients that qualified but are on the allow list.
    pub spared: Vec<String>,
    /// Live entries whose address is missing from the IP sets (a run that wrote the entry but
    /// failed before the IP set): put back.
    pub restores: Vec<String>,
}

/// Parses allow-list CIDRs (validated at config load; a bad one is skipped here).
pub fn allow_nets(allow_list: &[String]) -> Vec<IpNet> {
    allow_list.iter().filter_map(|c| c.parse().ok()).collect()
}

fn net_of(cidr: &str) -> Option<IpNet> {
    cidr.parse().ok()
}

fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|net| net.contains(&ip))
}

fn net_within(nets: &[IpNet], inner: &IpNet) -> bool {
    nets.iter().any(|net| net.contains(inner))
}

/// Decides one run at `now_ms`. `in_sets` are the block-list IP sets' addresses now.
///
/// - A client qualifies with strikes in at least `minutes` distinct minutes of the last
///   `window` (minute starts after `now − window` and not after `now`).
/// - Never an address the allow list contains (CIDR containment, IPv4 and IPv6), nor one an
///   entry or IP set address already covers.
/// - Block mode: new entries until `now + expiry`, highest score first; when live automatic
///   entries would exceed `max`, those expiring first are removed to make room, and never
///   more new entries than `max`.
/// - Count mode, or `enabled = false`: nothing is added (count mode reports would-blocks).
/// - Whatever the mode: expired entries (automatic and manual) are removed, and automatic
///   entries the allow list now contains.
pub fn decide(
    settings: &AutoBlock,
    strikes: &[Strike],
    allow: &[IpNet],
    entries: &[Entry],
    in_sets: &BTreeSet<String>,
    now_ms: i64,
) -> Decision {
    let now_s = now_ms.div_euclid(1000);
    let mut decision = Decision::default();
    let mut live: Vec<&Entry> = Vec::new();
    for entry in entries {
        if entry.expired(now_s) {
            decision
                .unblocks
                .push((entry.clone(), UnblockReason::Expired));
        } else if entry.source == Source::Auto
            && net_of(&entry.address).is_some_and(|net| net_within(allow, &net))
        {
            decision
                .unblocks
                .push((entry.clone(), UnblockReason::AllowListed));
        } else {
            live.push(entry);
        }
    }

    let covered: Vec<IpNet> = live
        .iter()
        .map(|e| e.address.as_str())
        .chain(in_sets.iter().map(String::as_str))
        .filter_map(net_of)
        .collect();

    // Distinct minutes per client within the window, and its strongest strike.
    let window_start = now_ms - i64::from(settings.window) * 60_000;
    let mut per_client: BTreeMap<&str, (BTreeSet<i64>, &Strike)> = BTreeMap::new();
    for strike in strikes {
        if strike.minute_ms <= window_start || strike.minute_ms > now_ms {
            continue;
        }
        let slot = per_client
            .entry(strike.ip.as_str())
            .or_insert_with(|| (BTreeSet::new(), strike));
        slot.0.insert(strike.minute_ms);
        if strike.score > slot.1.score {
            slot.1 = strike;
        }
    }
    let mut candidates = Vec::new();
    for (ip, (minutes, strongest)) in per_client {
        if minutes.len() < settings.minutes as usize {
            continue;
        }
        let Ok(address) = ip.parse::<IpAddr>() else {
            continue;
        };
        if contains(allow, address) {
            decision.spared.push(ip.to_string());
            continue;
        }
        if contains(&covered, address) {
            continue;
        }
        let Some(cidr) = cfrp_config::blocks::host_cidr(ip) else {
            continue;
        };
        candidates.push(Entry {
            address: cidr,
            source: Source::Auto,
            reason: format!(
                "{} or above in {} of the last {} minutes",
                settings.level,
                minutes.len(),
                settings.window
            ),
            added: now_s,
            until: Some(now_s + i64::from(settings.expiry_minutes) * 60),
            score: Some(strongest.score),
            level: Some(strongest.level.clone()),
            country: strongest.country.clone(),
            asn: strongest.asn.clone(),
        });
    }
    candidates.sort_by(|a, b| {
        b.score
            .unwrap_or_default()
            .total_cmp(&a.score.unwrap_or_default())
            .then_with(|| a.address.cmp(&b.address))
    });

    if settings.enabled && settings.mode == WafMode::Block {
        let max = settings.max as usize;
        candidates.truncate(max);
        let mut live_auto: Vec<&Entry> = live
            .iter()
            .copied()
            .filter(|e| e.source == Source::Auto)
            .collect();
        // Oldest expire first: the entry whose expiry comes soonest makes room.
        live_auto.sort_by_key(|e| (e.until.unwrap_or(i64::MAX), e.added));
        let excess = (live_auto.len() + candidates.len()).saturating_sub(max);
        let evicted: Vec<&Entry> = live_auto.into_iter().take(excess).collect();
        for entry in &evicted {
            decision
                .unblocks
                .push(((*entry).clone(), UnblockReason::OverMax));
        }
        live.retain(|e| !evicted.iter().any(|x| x.address == e.address));
        decision.blocks = candidates;
    } else if settings.enabled {
        decision.would_block = candidates;
    }

    decision.restores = live
        .iter()
        .filter(|e| !in_sets.contains(&e.address))
        .map(|e| e.address.clone())
        .collect();
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfrp_config::BlockLevel;

    const MINUTE: i64 = 60_000;
    /// 2026-12-02 15:00 UTC.
    const NOW: i64 = 1_795_100_400_000;

    fn settings() -> AutoBlock {
        AutoBlock {
            enabled: true,
            level: BlockLevel::Critical,
            minutes: 3,
            window: 5,
            expiry_minutes: 60,
            max: 100,
            mode: WafMode::Block,
        }
    }

    fn strike(ip: &str, minutes_ago: i64, score: f64) -> Strike {
        Strike {
            ip: ip.to_string(),
            minute_ms: NOW - minutes_ago * MINUTE,
            score,
            level: "CRITICAL".to_string(),
            country: Some("NL".to_string()),
            asn: Some("64500".to_string()),
        }
    }

    fn strikes(ip: &str, minutes_ago: &[i64]) -> Vec<Strike> {
        minutes_ago.iter().map(|m| strike(ip, *m, 12.0)).collect()
    }

    fn entry(address: &str, source: Source, until: Option<i64>) -> Entry {
        Entry {
            address: address.to_string(),
            source,
            reason: "test".to_string(),
            added: NOW / 1000 - 600,
            until,
            score: None,
            level: None,
            country: None,
            asn: None,
        }
    }

    fn run(
        settings: &AutoBlock,
        strikes: &[Strike],
        allow: &[&str],
        entries: &[Entry],
    ) -> Decision {
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        let in_sets = entries.iter().map(|e| e.address.clone()).collect();
        decide(
            settings,
            strikes,
            &allow_nets(&allow),
            entries,
            &in_sets,
            NOW,
        )
    }

    fn blocked(decision: &Decision) -> Vec<&str> {
        decision.blocks.iter().map(|e| e.address.as_str()).collect()
    }

    #[test]
    fn three_of_the_last_five_minutes_blocks_and_two_do_not() {
        let mut all = strikes("203.0.113.9", &[0, 2, 4]);
        all.extend(strikes("198.51.100.7", &[0, 1]));
        // Strikes five or more minutes ago are outside the window.
        all.extend(strikes("192.0.2.1", &[1, 5, 6]));
        // Two strikes in the same minute count once.
        all.extend(strikes("192.0.2.2", &[1, 1, 2]));
        let decision = run(&settings(), &all, &[], &[]);
        assert_eq!(blocked(&decision), ["203.0.113.9/32"]);
        let block = &decision.blocks[0];
        assert_eq!(block.until, Some(NOW / 1000 + 3600));
        assert_eq!(block.source, Source::Auto);
        assert_eq!(block.country.as_deref(), Some("NL"));
        assert_eq!(block.reason, "CRITICAL or above in 3 of the last 5 minutes");
        assert!(decision.unblocks.is_empty() && decision.would_block.is_empty());
    }

    #[test]
    fn allow_listed_addresses_are_never_blocked_v4_and_v6() {
        let mut all = strikes("203.0.113.9", &[0, 1, 2]);
        all.extend(strikes("2001:db8::42", &[0, 1, 2]));
        all.extend(strikes("2001:db9::1", &[0, 1, 2]));
        let decision = run(&settings(), &all, &["203.0.113.0/24", "2001:db8::/32"], &[]);
        assert_eq!(blocked(&decision), ["2001:db9::1/128"]);
        assert_eq!(decision.spared, ["2001:db8::42", "203.0.113.9"]);
    }

    #[test]
    fn an_auto_entry_the_allow_list_now_contains_is_removed_a_manual_one_stays() {
        let entries = [
            entry("203.0.113.9/32", Source::Auto, Some(NOW / 1000 + 60)),
            entry("203.0.113.10/32", Source::Manual, None),
        ];
        let decision = run(&settings(), &[], &["203.0.113.0/24"], &entries);
        assert_eq!(decision.unblocks.len(), 1);
        assert_eq!(decision.unblocks[0].0.address, "203.0.113.9/32");
        assert_eq!(decision.unblocks[0].1, UnblockReason::AllowListed);
    }

    #[test]
    fn already_blocked_or_covered_clients_are_not_added_again() {
        let mut all = strikes("203.0.113.9", &[0, 1, 2]);
        all.extend(strikes("198.51.100.7", &[0, 1, 2]));
        let entries = [
            entry("203.0.113.9/32", Source::Auto, Some(NOW / 1000 + 60)),
            entry("198.51.100.0/24", Source::Manual, None),
        ];
        let decision = run(&settings(), &all, &[], &entries);
        assert!(decision.blocks.is_empty(), "{decision:?}");
        assert!(decision.restores.is_empty());
    }

    #[test]
    fn max_removes_the_entries_expiring_first_and_caps_new_ones() {
        let mut s = settings();
        s.max = 2;
        let entries = [
            entry("192.0.2.1/32", Source::Auto, Some(NOW / 1000 + 300)),
            entry("192.0.2.2/32", Source::Auto, Some(NOW / 1000 + 100)),
            // Manual entries do not count toward the automatic maximum.
            entry("192.0.2.3/32", Source::Manual, Some(NOW / 1000 + 50)),
        ];
        let all = strikes("203.0.113.9", &[0, 1, 2]);
        let decision = run(&s, &all, &[], &entries);
        assert_eq!(blocked(&decision), ["203.0.113.9/32"]);
        let gone: Vec<(&str, UnblockReason)> = decision
            .unblocks
            .iter()
            .map(|(e, why)| (e.address.as_str(), *why))
            .collect();
        assert_eq!(gone, [("192.0.2.2/32", UnblockReason::OverMax)]);

        // More qualifying clients than max: the highest scores win, all old entries go.
        let mut all = Vec::new();
        for (ip, score) in [
            ("203.0.113.1", 11.0),
            ("203.0.113.2", 30.0),
            ("203.0.113.3", 20.0),
        ] {
            all.extend([0, 1, 2].map(|m| strike(ip, m, score)));
        }
        let decision = run(&s, &all, &[], &entries);
        assert_eq!(blocked(&decision), ["203.0.113.2/32", "203.0.113.3/32"]);
        assert_eq!(decision.unblocks.len(), 2);
    }

    #[test]
    fn count_mode_blocks_nothing_and_reports_what_it_would() {
        let mut s = settings();
        s.mode = WafMode::Count;
        let all = strikes("203.0.113.9", &[0, 1, 2]);
        let decision = run(&s, &all, &[], &[]);
        assert!(decision.blocks.is_empty());
        let would: Vec<&str> = decision
            .would_block
            .iter()
            .map(|e| e.address.as_str())
            .collect();
        assert_eq!(would, ["203.0.113.9/32"]);
        s.enabled = false;
        let decision = run(&s, &all, &[], &[]);
        assert!(decision.blocks.is_empty() && decision.would_block.is_empty());
    }

    #[test]
    fn expired_auto_and_manual_entries_are_removed_in_any_mode() {
        let entries = [
            entry("192.0.2.1/32", Source::Auto, Some(NOW / 1000)),
            entry("192.0.2.2/32", Source::Manual, Some(NOW / 1000 - 1)),
            entry("192.0.2.3/32", Source::Manual, Some(NOW / 1000 + 1)),
            entry("192.0.2.4/32", Source::Manual, None),
        ];
        for mode in [WafMode::Block, WafMode::Count] {
            let mut s = settings();
            s.mode = mode;
            let decision = run(&s, &[], &[], &entries);
            let gone: Vec<&str> = decision
                .unblocks
                .iter()
                .map(|(e, _)| e.address.as_str())
                .collect();
            assert_eq!(gone, ["192.0.2.1/32", "192.0.2.2/32"]);
            assert!(
                decision
                    .unblocks
                    .iter()
                    .all(|(_, why)| *why == UnblockReason::Expired)
            );
        }
        // A paused loop still expires.
        let mut s = settings();
        s.enabled = false;
        assert_eq!(run(&s, &[], &[], &entries).unblocks.len(), 2);
    }

    #[test]
    fn a_live_entry_missing_from_the_ip_set_is_restored() {
        let entries = [entry("192.0.2.1/32", Source::Auto, Some(NOW / 1000 + 60))];
        let decision = decide(&settings(), &[], &[], &entries, &BTreeSet::new(), NOW);
        assert_eq!(decision.restores, ["192.0.2.1/32"]);
    }
}
