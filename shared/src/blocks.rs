//! The items of the stack's block table (DynamoDB, `cfrp-NAME-blocks`), written by the log
//! analyser (strikes), the alarm evaluator (automatic blocks) and `deployer block` (manual
//! ones), so all three agree on one layout.
//!
//! Key: partition `pk` and sort `sk`, both strings.
//! - A strike: `pk = "strike#<minute, Unix ms>"`, `sk = <client IP>`; one per client and minute
//!   at or above the level. Attributes `score`, `level`, `country`, `asn`, and `expires_at`
//!   (Unix seconds), the table's TTL attribute: DynamoDB deletes old strikes by itself.
//!   The evaluator reads a window with one Query per minute, never a Scan.
//! - A block-list entry: `pk = "block"`, `sk = <CIDR>`. Attributes `source` (`auto` or
//!   `manual`), `reason`, `added` and `until` (Unix seconds; no `until`: no expiry), and for
//!   automatic ones `score`, `country`, `asn`. Entries carry no TTL attribute on purpose: an
//!   entry deleted by TTL before the evaluator took its address off the IP set would leave a
//!   block nobody expires.

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
/// The TTL attribute (strikes only).
pub const TTL_ATTRIBUTE: &str = "expires_at";
pub const BLOCK_PARTITION: &str = "block";
/// Attributes strikes and automatic entries share (the analyser writes them on strikes, the
/// evaluator reads them there and copies them onto entries).
pub const SCORE: &str = "score";
pub const LEVEL: &str = "level";
pub const COUNTRY: &str = "country";
pub const ASN: &str = "asn";

/// The partition of one minute's strikes.
pub fn strike_partition(minute_ms: i64) -> String {
    format!("strike#{minute_ms}")
}

/// An item attribute's value: the two DynamoDB types the layout uses (string, number as its
/// decimal text). Each writer maps it to its own SDK's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    S(String),
    N(String),
}

/// A block-list entry as stored, in plain types: the one encoding `deployer block` and the
/// evaluator both read and write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockRecord {
    /// CIDR, e.g. `203.0.113.9/32`.
    pub address: String,
    /// `auto` or `manual`.
    pub source: String,
    pub reason: String,
    /// Unix seconds.
    pub added: i64,
    /// Unix seconds; None: no expiry.
    pub until: Option<i64>,
    pub score: Option<f64>,
    pub level: Option<String>,
    pub country: Option<String>,
    pub asn: Option<String>,
}

impl BlockRecord {
    /// The item's attributes, keys included; absent optional fields are left out.
    pub fn attributes(&self) -> Vec<(&'static str, Attribute)> {
        let mut attributes = vec![
            (PARTITION_KEY, Attribute::S(BLOCK_PARTITION.to_string())),
            (SORT_KEY, Attribute::S(self.address.clone())),
            ("source", Attribute::S(self.source.clone())),
            ("reason", Attribute::S(self.reason.clone())),
            ("added", Attribute::N(self.added.to_string())),
        ];
        let numbers = [
            ("until", self.until.map(|v| v.to_string())),
            (SCORE, self.score.map(|v| v.to_string())),
        ];
        attributes.extend(
            numbers
                .into_iter()
                .filter_map(|(key, value)| value.map(|v| (key, Attribute::N(v)))),
        );
        let strings = [
            (LEVEL, &self.level),
            (COUNTRY, &self.country),
            (ASN, &self.asn),
        ];
        attributes.extend(
            strings
                .into_iter()
                .filter_map(|(key, value)| value.clone().map(|v| (key, Attribute::S(v)))),
        );
        attributes
    }

    /// The entry an item holds, from its attributes by name; None when it has no address.
    /// A missing source reads as `manual` (the loop never evicts those for `max`).
    pub fn from_attributes(get: impl Fn(&str) -> Option<Attribute>) -> Option<BlockRecord> {
        let s = |key: &str| match get(key) {
            Some(Attribute::S(v)) => Some(v),
            _ => None,
        };
        let n = |key: &str| match get(key) {
            Some(Attribute::N(v)) => Some(v),
            _ => None,
        };
        Some(BlockRecord {
            address: s(SORT_KEY)?,
            source: s("source").unwrap_or_else(|| "manual".to_string()),
            reason: s("reason").unwrap_or_default(),
            added: n("added").and_then(|v| v.parse().ok()).unwrap_or_default(),
            until: n("until").and_then(|v| v.parse().ok()),
            score: n(SCORE).and_then(|v| v.parse().ok()),
            level: s(LEVEL),
            country: s(COUNTRY),
            asn: s(ASN),
        })
    }
}

/// A client's single address as a block-list CIDR (`/32` or `/128`); None when `ip` is not an
/// address.
pub fn host_cidr(ip: &str) -> Option<String> {
    let address: std::net::IpAddr = ip.parse().ok()?;
    Some(match address {
        std::net::IpAddr::V4(v4) => format!("{v4}/32"),
        std::net::IpAddr::V6(v6) => format!("{v6}/128"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_cidrs_are_canonical_and_refuse_non_addresses() {
        assert_eq!(host_cidr("203.0.113.9").as_deref(), Some("203.0.113.9/32"));
        assert_eq!(
            host_cidr("2001:DB8:0:0::1").as_deref(),
            Some("2001:db8::1/128")
        );
        assert_eq!(host_cidr("example.com"), None);
        assert_eq!(strike_partition(60_000), "strike#60000");
    }

    #[test]
    fn a_block_record_round_trips_through_its_attributes() {
        let record = BlockRecord {
            address: "203.0.113.9/32".to_string(),
            source: "auto".to_string(),
            reason: "CRITICAL or above in 3 of the last 5 minutes".to_string(),
            added: 1_795_100_400,
            until: Some(1_795_104_000),
            score: Some(14.5),
            level: Some("CRITICAL".to_string()),
            country: Some("NL".to_string()),
            asn: None,
        };
        let attributes = record.attributes();
        assert!(attributes.contains(&(PARTITION_KEY, Attribute::S("block".to_string()))));
        assert!(!attributes.iter().any(|(key, _)| *key == ASN));
        let get = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(BlockRecord::from_attributes(get), Some(record));
        // No address: not an entry; no source: manual.
        assert_eq!(BlockRecord::from_attributes(|_| None), None);
        let bare = BlockRecord::from_attributes(|key| {
            (key == SORT_KEY).then(|| Attribute::S("198.51.100.0/24".to_string()))
        });
        assert_eq!(bare.map(|r| r.source), Some("manual".to_string()));
    }
}
