//! What `[standard_logs]` and Origin Shield add to the bill.
//!
//! Standard access logs (v2) are CloudWatch vended logs: CloudWatch bills their delivery per
//! GB in the region of the delivery source, us-east-1 for CloudFront, tiered by the month's
//! volume: to S3 $0.25 per GB for the first 10 TB, $0.15 the next 20 TB, $0.075 the next
//! 20 TB, $0.05 above 50 TB; to CloudWatch Logs $0.50, $0.25, $0.10, $0.05 over the same
//! tiers. Source: the Amazon CloudWatch pricing page ("Vended Logs", US East (N. Virginia)),
//! as quoted by aws-samples/sample-cfm-tips-mcp (`cloudwatch_service_vended_log.py`); the
//! page itself was not in the reference corpus, so the figures are not confirmed against it.
//! Not priced: Parquet conversion (billed per GB on top), S3 storage of the files, and the
//! log group's storage.
//!
//! Origin Shield: CloudFront bills each request that reaches Origin Shield, per 10,000, at
//! the rate of the Origin Shield region: $0.0075 in the United States, $0.0090 in Europe,
//! Japan, Australia, Singapore, South Korea and India, $0.0160 in South America. Source: the
//! Amazon CloudFront pricing page ("Origin Shield request pricing"), from memory of the page:
//! the reference corpus held the page's data-transfer table but not this one, so these
//! figures are unconfirmed.

use cfrp_config::{StackConfig, StandardLogsDestination};

use super::{Category, LineItem, Traffic, item, table};

/// The month's volume tiers of vended logs, in GB (1 TB = 1,024 GB): 10 TB, 20 TB, 20 TB,
/// then the rest.
const TIER_GB: [f64; 3] = [10.0 * 1024.0, 20.0 * 1024.0, 20.0 * 1024.0];
const TIER_NAMES: [&str; 4] = ["first 10 TB", "next 20 TB", "next 20 TB", "over 50 TB"];
pub const VENDED_TO_S3_PER_GB: [f64; 4] = [0.25, 0.15, 0.075, 0.05];
pub const VENDED_TO_CLOUDWATCH_LOGS_PER_GB: [f64; 4] = [0.50, 0.25, 0.10, 0.05];

/// Bytes a standard log record is taken to have (an assumption, like Kinesis' 1 KB per
/// real-time log line): CloudFront's 33 default fields of a typical request come to a few
/// hundred bytes, more with long URLs, user agents and cookies.
pub const STANDARD_LOG_BYTES_PER_RECORD: f64 = 1024.0;

/// Origin Shield's price per 10,000 requests for an Origin Shield region.
pub fn origin_shield_per_10k(region: &str) -> f64 {
    match region {
        "us-east-1" | "us-east-2" | "us-west-2" => 0.0075,
        "sa-east-1" => 0.0160,
        // Europe (Frankfurt, Ireland, London), Mumbai, Seoul, Singapore, Sydney, Tokyo.
        _ => 0.0090,
    }
}

/// `gb` split over the vended-logs tiers: (tier, GB in it, price).
fn tiered(gb: f64, prices: [f64; 4]) -> Vec<(usize, f64, f64)> {
    let mut left = gb;
    let mut out = Vec::new();
    for (tier, price) in prices.iter().enumerate() {
        if left <= 0.0 {
            break;
        }
        let size = TIER_GB.get(tier).copied().unwrap_or(f64::INFINITY);
        let here = left.min(size);
        out.push((tier, here, *price));
        left -= here;
    }
    out
}

/// The delivery of every request's standard log record (none without `[standard_logs]`).
pub fn standard_logs_items(traffic: &Traffic, config: &StackConfig) -> Vec<LineItem> {
    let Some(logs) = &config.standard_logs else {
        return Vec::new();
    };
    let gb = traffic.requests * STANDARD_LOG_BYTES_PER_RECORD / table::BYTES_PER_GB;
    let (prices, to) = match logs.destination {
        StandardLogsDestination::S3 => (VENDED_TO_S3_PER_GB, "S3"),
        StandardLogsDestination::CloudwatchLogs => {
            (VENDED_TO_CLOUDWATCH_LOGS_PER_GB, "CloudWatch Logs")
        }
    };
    tiered(gb, prices)
        .into_iter()
        .map(|(tier, quantity, price)| {
            item(
                Category::StandardLogs,
                format!(
                    "Standard logs delivered to {to} (1 KB per request), {}",
                    TIER_NAMES[tier]
                ),
                quantity,
                "GB",
                price,
            )
        })
        .collect()
}

/// Requests through each origin's Origin Shield. The estimate cannot see which behaviour
/// takes how much traffic nor how much the edges answer from cache, so each origin is taken
/// to receive an equal share of all requests and every one of them to reach its Origin
/// Shield: an upper bound (exact for one origin with caching disabled).
pub fn origin_shield_items(traffic: &Traffic, config: &StackConfig) -> Vec<LineItem> {
    let origins = config.origins.len().max(1) as f64;
    config
        .origins
        .iter()
        .filter_map(|origin| {
            let region = origin.origin_shield_region.as_deref()?;
            Some(item(
                Category::OriginShield,
                format!(
                    "Origin Shield requests, {region}, origin {} (1/{origins} of all requests, none answered at the edge)",
                    origin.id
                ),
                traffic.requests / origins / 10_000.0,
                "10k requests",
                origin_shield_per_10k(region),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(requests: f64) -> Traffic {
        Traffic {
            requests,
            gb: 0.0,
            https_share: 1.0,
            geo: Vec::new(),
            invalidation_paths: 0,
            source: "flags".to_string(),
        }
    }

    fn config(extra: &str) -> StackConfig {
        let text = format!(
            "name = \"shop\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{extra}"
        );
        match StackConfig::parse(&text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        }
    }

    fn total(items: &[LineItem]) -> f64 {
        items.iter().map(|i| i.cost).sum()
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "got {actual}, expected {expected}"
        );
    }

    #[test]
    fn standard_logs_to_s3_in_the_first_tier() {
        // 100,000,000 requests × 1,024 B / 2^30 = 95.367431640625 GB × $0.25 = $23.84185791015625.
        let items = standard_logs_items(
            &traffic(100_000_000.0),
            &config("[standard_logs]\ndestination = \"s3\"\nbucket = \"shop-logs\"\n"),
        );
        assert_eq!(items.len(), 1);
        assert_close(items[0].quantity, 95.367431640625);
        assert_close(total(&items), 23.84185791015625);
    }

    #[test]
    fn standard_logs_to_cloudwatch_logs_across_tiers() {
        // 2^30 × 15 × 1,024 requests of 1 KB = 15 TB = 15,360 GB:
        //   10,240 GB × $0.50 = 5,120.00; 5,120 GB × $0.25 = 1,280.00 → $6,400.00.
        let requests = 15.0 * 1024.0 * 1_073_741_824.0 / 1024.0;
        let items = standard_logs_items(
            &traffic(requests),
            &config(
                "[standard_logs]\ndestination = \"cloudwatch_logs\"\nlog_group = \"/aws/vendedlogs/cloudfront/shop\"\n",
            ),
        );
        assert_eq!(items.len(), 2);
        assert_close(items[0].quantity, 10_240.0);
        assert_close(items[1].quantity, 5_120.0);
        assert_close(total(&items), 6_400.0);
    }

    #[test]
    fn standard_logs_above_50_tb_use_all_four_tiers() {
        // 60 TB to S3: 10,240 × 0.25 + 20,480 × 0.15 + 20,480 × 0.075 + 10,240 × 0.05
        //            = 2,560 + 3,072 + 1,536 + 512 = $7,680.
        let requests = 60.0 * 1024.0 * 1_073_741_824.0 / 1024.0;
        let items = standard_logs_items(
            &traffic(requests),
            &config("[standard_logs]\ndestination = \"s3\"\nbucket = \"shop-logs\"\n"),
        );
        assert_eq!(items.len(), 4);
        assert_close(total(&items), 7_680.0);
    }

    #[test]
    fn origin_shield_is_priced_per_origin_by_its_region() {
        // Two origins, one shielded in eu-west-1: 20,000,000 / 2 = 10,000,000 requests
        // = 1,000 × 10k × $0.0090 = $9.00.
        let two = config(
            "[[origins]]\nid = \"api\"\ndomain = \"api.example.com\"\norigin_shield_region = \"eu-west-1\"\n",
        );
        let items = origin_shield_items(&traffic(20_000_000.0), &two);
        assert_eq!(items.len(), 1);
        assert_close(total(&items), 9.0);
        // One origin shielded in us-east-1: 20,000,000 / 10,000 × $0.0075 = $15.00.
        let one = config("");
        let mut shielded = one.clone();
        shielded.origins[0].origin_shield_region = Some("us-east-1".to_string());
        assert_close(
            total(&origin_shield_items(&traffic(20_000_000.0), &shielded)),
            15.0,
        );
        assert_eq!(origin_shield_per_10k("sa-east-1"), 0.0160);
        assert!(origin_shield_items(&traffic(1e9), &one).is_empty());
        assert!(standard_logs_items(&traffic(1e9), &one).is_empty());
    }
}
