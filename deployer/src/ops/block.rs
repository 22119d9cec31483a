//! `deployer block list|add|remove`: the `[waf]` web ACL's block list.
//!
//! What WAF blocks is the block-list IP sets' addresses (`cfrp-NAME-block-v4`, `-v6`), and
//! nothing else decides it. Why and until when an address is there is kept beside them in
//! the SSM parameter `/cfrp/NAME/block-list` (JSON: address → reason, added, expires), since
//! an IP set holds only addresses and a 256-character description. Every IP set write sends
//! the lock token of the read before it and is retried when WAF refuses it as stale, so a
//! concurrent writer's change is never lost from the set; the notes parameter is written
//! after the set, last writer wins (a lost note loses a reason, never a block).
//!
//! With `[waf.auto_block]` the notes live in the stack's block table instead (DynamoDB, one
//! item per address, beside the loop's own entries: see `cfrp_config::blocks`), `list` shows
//! both with their source, and the alarm evaluator's next scheduled run after an expiry
//! removes the address and its entry, for `block add --hours` entries and automatic ones
//! alike. An entry is written before its address goes into the set and deleted after it
//! left, so no address is ever without the entry that expires it. Without `[waf.auto_block]`
//! an expiry is recorded and shown (`list` marks expired entries) but nothing removes the
//! address by itself: `block remove` does.

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::exit;
use crate::cli::{Output, StackArgs};
use crate::commands::{CommandError, load_config};
use crate::error::DeployError;
use crate::ports::dynamodb::{BlockItem, SdkTables, Tables};
use crate::ports::wafv2::{SdkWebAcls, WebAcls};
use crate::resources::waf::with_lock_retries;
use crate::session::Session;

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  deployer block list\n  deployer block add 203.0.113.9/32 --reason \"scraper, 40 req/s\" --hours 1\n  deployer block remove 203.0.113.9/32 --output json\n\nNeeds a [waf] section and a stack `up` created. An address on the config's allow_list is\nrefused: the allow-list rule runs first, so blocking it would do nothing."
)]
pub struct BlockArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(subcommand)]
    pub action: BlockAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BlockAction {
    /// The blocked addresses with their reasons and expiry.
    List,
    /// Put an address range (CIDR) on the block list.
    Add {
        /// E.g. 203.0.113.9/32 or 2001:db8::/64.
        address: String,
        /// Why (kept with the entry).
        #[arg(long)]
        reason: String,
        /// Hours until the entry expires. With [waf.auto_block] the evaluator's next
        /// scheduled run after it removes the address; without, `list` shows it expired and
        /// `block remove` takes it off.
        #[arg(long)]
        hours: Option<u32>,
    },
    /// Take an address range off the block list.
    Remove { address: String },
}

/// One note of the block list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub reason: String,
    /// Unix seconds.
    pub added: i64,
    /// Unix seconds; None: no expiry.
    pub expires: Option<i64>,
    /// `manual`, or `auto` for the `[waf.auto_block]` loop's entries (in the block table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The client's anomaly score when the loop blocked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// The notes parameter's name.
pub fn notes_parameter(stack: &str) -> String {
    format!("/cfrp/{stack}/block-list")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn flag(message: String) -> CommandError {
    CommandError::Flag {
        flag: "address",
        message,
    }
}

pub async fn run(
    path: &std::path::Path,
    args: &BlockArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let Some(waf) = &config.waf else {
        return Err(DeployError::state(
            &config.name,
            "the config has no [waf] section, so the stack has no block list; add [waf] and run `deployer up`",
        )
        .into());
    };
    let names = config.names();
    let sets = SdkWebAcls(session.clients(&config.region).await.wafv2);
    let parameters = session.parameters(&config.region).await;
    let parameter = notes_parameter(&config.name);
    // With [waf.auto_block] the notes are the block table's entries (see the module doc).
    let table = config.auto_block_settings().map(|auto| auto.table);
    let tables = SdkTables(session.clients(&config.region).await.dynamodb);
    let mut notes: BTreeMap<String, Note> = match &table {
        Some(table) => tables
            .blocks(table)
            .await?
            .into_iter()
            .map(|item| {
                (
                    item.address.clone(),
                    Note {
                        reason: item.reason,
                        added: item.added,
                        expires: item.until,
                        source: Some(item.source),
                        score: item.score,
                    },
                )
            })
            .collect(),
        None => match parameters.get(&parameter).await? {
            Some(found) => serde_json::from_str(&found.value).unwrap_or_default(),
            None => BTreeMap::new(),
        },
    };
    let set_of = |ipv6: bool| names.waf_ip_set("block", ipv6);
    let find = |name: String| {
        let sets = &sets;
        async move {
            sets.find_ip_set(&name).await?.ok_or_else(|| {
                DeployError::state(&name, "no such IP set; run `deployer up` first to create the web ACL and its block list")
            })
        }
    };
    match &args.action {
        BlockAction::List => {
            let mut blocked = Vec::new();
            for ipv6 in [false, true] {
                let found = find(set_of(ipv6)).await?;
                if let Some(set) = sets.ip_set(&found).await? {
                    blocked.extend(set.addresses);
                }
            }
            blocked.sort();
            let at = now();
            let entries: Vec<serde_json::Value> = blocked
                .iter()
                .map(|address| {
                    let note = notes.get(address);
                    json!({
                        "address": address,
                        "reason": note.map(|n| n.reason.clone()),
                        "added": note.map(|n| n.added),
                        "expires": note.and_then(|n| n.expires),
                        "expired": note.and_then(|n| n.expires).is_some_and(|e| e <= at),
                        "source": note.and_then(|n| n.source.clone()),
                        "score": note.and_then(|n| n.score),
                    })
                })
                .collect();
            match session.output {
                Output::Json => writeln!(
                    out,
                    "{:#}",
                    json!({"stack": config.name, "blocked": entries})
                )?,
                Output::Text => {
                    if entries.is_empty() {
                        writeln!(out, "Stack \"{}\" blocks no address.", config.name)?;
                    }
                    for entry in &entries {
                        let expires = match entry["expires"].as_i64() {
                            Some(e) if e <= at => format!("expired {} min ago", (at - e) / 60),
                            Some(e) => format!("expires in {} min", (e - at) / 60),
                            None => "no expiry".to_string(),
                        };
                        let source = match entry["source"].as_str() {
                            Some("auto") => "auto: ",
                            _ => "",
                        };
                        writeln!(
                            out,
                            "{}  {source}{}  ({expires})",
                            entry["address"].as_str().unwrap_or_default(),
                            entry["reason"].as_str().unwrap_or("(no reason recorded)")
                        )?;
                    }
                }
            }
            Ok(exit::OK)
        }
        BlockAction::Add {
            address,
            reason,
            hours,
        } => {
            let ipv6 = cfrp_config::checks::cidr(address)
                .map_err(|rule| flag(format!("\"{address}\" is not valid; expected {rule}")))?;
            if waf.allow_list.contains(address) {
                return Err(flag(format!(
                    "\"{address}\" is on the config's allow_list, whose rule runs before the block list: blocking it would do nothing; take it off allow_list first"
                )));
            }
            let found = find(set_of(ipv6)).await?;
            let at = now();
            let note = Note {
                reason: reason.clone(),
                added: at,
                expires: hours.map(|h| at + i64::from(h) * 3600),
                source: table.as_ref().map(|_| "manual".to_string()),
                score: None,
            };
            // The entry before the address: the evaluator can always expire what is blocked.
            if let Some(table) = &table {
                tables
                    .put_block(
                        table,
                        &BlockItem {
                            address: address.clone(),
                            source: "manual".to_string(),
                            reason: reason.clone(),
                            added: at,
                            until: note.expires,
                            ..BlockItem::default()
                        },
                    )
                    .await?;
            }
            let changed = edit(&sets, &found, |addresses| {
                if addresses.contains(address) {
                    false
                } else {
                    addresses.push(address.clone());
                    true
                }
            })
            .await?;
            notes.insert(address.clone(), note);
            if table.is_none() {
                parameters
                    .put(
                        &parameter,
                        &serde_json::to_string(&notes).unwrap_or_default(),
                        false,
                        true,
                    )
                    .await?;
            }
            report(out, session.output, &config.name, address, "added", changed)
        }
        BlockAction::Remove { address } => {
            let ipv6 = cfrp_config::checks::cidr(address)
                .map_err(|rule| flag(format!("\"{address}\" is not valid; expected {rule}")))?;
            let found = find(set_of(ipv6)).await?;
            let changed = edit(&sets, &found, |addresses| {
                let before = addresses.len();
                addresses.retain(|a| a != address);
                addresses.len() != before
            })
            .await?;
            if let Some(table) = &table {
                // After the address left the set.
                if notes.remove(address).is_some() {
                    tables.delete_block(table, address).await?;
                }
            } else if notes.remove(address).is_some() {
                parameters
                    .put(
                        &parameter,
                        &serde_json::to_string(&notes).unwrap_or_default(),
                        false,
                        true,
                    )
                    .await?;
            }
            report(
                out,
                session.output,
                &config.name,
                address,
                "removed",
                changed,
            )
        }
    }
}

/// Reads the set, applies `change` to its addresses and writes them back with the read's lock
/// token (re-read and retried when someone wrote in between); whether anything changed.
async fn edit(
    sets: &SdkWebAcls,
    found: &crate::ports::wafv2::Found,
    change: impl Fn(&mut Vec<String>) -> bool,
) -> Result<bool, DeployError> {
    let change = &change;
    with_lock_retries(&found.name, move || async move {
        let set = sets
            .ip_set(found)
            .await?
            .ok_or_else(|| DeployError::state(&found.name, "the IP set is gone"))?;
        let mut addresses = set.addresses.clone();
        if !change(&mut addresses) {
            return Ok(false);
        }
        sets.update_ip_set(found, &addresses, &set.description, &set.lock_token)
            .await?;
        Ok(true)
    })
    .await
}

fn report(
    out: &mut dyn Write,
    output: Output,
    stack: &str,
    address: &str,
    what: &str,
    changed: bool,
) -> Result<i32, CommandError> {
    match output {
        Output::Json => writeln!(
            out,
            "{:#}",
            json!({"stack": stack, "address": address, "action": what, "changed": changed})
        )?,
        Output::Text if changed => {
            writeln!(out, "{address}: {what} (block list of stack \"{stack}\").")?
        }
        Output::Text => writeln!(out, "{address}: already {what}; nothing changed.")?,
    }
    Ok(exit::OK)
}
