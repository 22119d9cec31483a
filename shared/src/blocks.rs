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

/// The partition of one minute's strikes.
pub fn strike_partition(minute_ms: i64) -> String {
    format!("strike#{minute_ms}")
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
}
