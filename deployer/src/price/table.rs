//! The embedded price table: CloudFront's published on-demand prices and the costs of the
//! stack's own resources (Kinesis, Lambda), in US dollars.
//!
//! Every figure is a published list price; assumptions (durations, record sizes, units) are
//! named as such here and repeated in the command's notes. Volume discounts, savings plans,
//! private pricing, taxes and the AWS Free Tier are not applied.

use serde::Serialize;

/// Where the figures come from and when they were read.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Provenance {
    pub as_of: &'static str,
    pub cloudfront: &'static str,
    pub cloudfront_requests: &'static str,
    pub price_classes: &'static str,
    pub lambda: &'static str,
    pub kinesis: &'static str,
    pub cloudwatch: &'static str,
    /// `[standard_logs]` delivery and Origin Shield ([`super::logs`]).
    pub standard_logs: &'static str,
    pub origin_shield: &'static str,
}

pub const PROVENANCE: Provenance = Provenance {
    as_of: "2026-11-26",
    cloudfront: "https://aws.amazon.com/cloudfront/pricing/ (data transfer out per region and tier; invalidations $0.005/path beyond 1,000 free; real-time logs $0.01 per 1,000,000 lines, also in https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/cloudfront.html)",
    cloudfront_requests: "taken from infracost's CloudFront golden test output (which prices from the AWS Price List API); the stored copy of https://aws.amazon.com/cloudfront/pricing/ available here ended before its request table",
    price_classes: "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/PriceClass.html",
    lambda: "US East (N. Virginia) list prices as quoted by secondary pages citing https://aws.amazon.com/lambda/pricing/",
    kinesis: "US East (N. Virginia) list prices from infracost's Kinesis golden test output; the stored copy of https://aws.amazon.com/kinesis/data-streams/pricing/ shows no figures",
    cloudwatch: "https://aws.amazon.com/cloudwatch/pricing/ (US East: custom metrics $0.30/$0.10/$0.05/$0.02 per metric-month by volume tier; PutMetricData $0.01 per 1,000 requests; GetMetricData $0.01 per 1,000 metrics requested; alarms $0.10 per standard-resolution and $0.30 per high-resolution alarm metric; dashboards $3.00 a month); CloudFront's additional metrics: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/viewing-cloudfront-metrics.html (up to 8 metrics per distribution, billed as CloudWatch custom metrics)",
    standard_logs: "CloudWatch vended logs, US East (the source's region): to S3 $0.25/$0.15/$0.075/$0.05 per GB, to CloudWatch Logs $0.50/$0.25/$0.10/$0.05 per GB over 10 TB/20 TB/20 TB/the rest, as quoted by aws-samples/sample-cfm-tips-mcp from https://aws.amazon.com/cloudwatch/pricing/ (not confirmed against the page itself)",
    origin_shield: "https://aws.amazon.com/cloudfront/pricing/ (Origin Shield requests per 10,000: $0.0075 US, $0.0090 Europe and Asia Pacific, $0.0160 South America; not confirmed: the stored copy of the page ended before that table)",
};

/// The hours in a billing month, as AWS's pricing pages and calculator count them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Bytes in a GB as AWS bills data transfer (2^30).
pub const BYTES_PER_GB: f64 = 1_073_741_824.0;

/// CloudFront's price regions, in the order of the pricing page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionGroup {
    NorthAmerica,
    Europe,
    MiddleEastAfrica,
    SouthAmerica,
    Japan,
    Australia,
    AsiaPacific,
    India,
}

impl RegionGroup {
    pub const ALL: [RegionGroup; 8] = [
        RegionGroup::NorthAmerica,
        RegionGroup::Europe,
        RegionGroup::MiddleEastAfrica,
        RegionGroup::SouthAmerica,
        RegionGroup::Japan,
        RegionGroup::Australia,
        RegionGroup::AsiaPacific,
        RegionGroup::India,
    ];

    /// The name `--geo` accepts.
    pub const fn id(self) -> &'static str {
        match self {
            RegionGroup::NorthAmerica => "north-america",
            RegionGroup::Europe => "europe",
            RegionGroup::MiddleEastAfrica => "middle-east-africa",
            RegionGroup::SouthAmerica => "south-america",
            RegionGroup::Japan => "japan",
            RegionGroup::Australia => "australia",
            RegionGroup::AsiaPacific => "asia-pacific",
            RegionGroup::India => "india",
        }
    }

    /// The pricing page's column heading.
    pub const fn title(self) -> &'static str {
        match self {
            RegionGroup::NorthAmerica => "United States, Mexico, and Canada",
            RegionGroup::Europe => "Europe, Israel, and Türkiye",
            RegionGroup::MiddleEastAfrica => "South Africa, Kenya, Nigeria, and Middle East",
            RegionGroup::SouthAmerica => "South America",
            RegionGroup::Japan => "Japan",
            RegionGroup::Australia => "Australia and New Zealand",
            RegionGroup::AsiaPacific => {
                "Hong Kong, Indonesia, Philippines, Singapore, South Korea, Taiwan, Thailand, Malaysia, and Vietnam"
            }
            RegionGroup::India => "India",
        }
    }

    pub fn parse(text: &str) -> Option<RegionGroup> {
        let text = text.to_ascii_lowercase();
        RegionGroup::ALL.into_iter().find(|g| g.id() == text)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Data transfer out to the internet, $ per GB, for each tier of [`TIER_UPPER_GB`].
    pub fn transfer_prices(self) -> [f64; 7] {
        TRANSFER_OUT[self.index()]
    }

    /// (HTTP, HTTPS) requests, $ per 10,000.
    pub fn request_prices(self) -> (f64, f64) {
        REQUESTS_PER_10K[self.index()]
    }
}

/// Upper bounds of the data-transfer tiers, cumulative GB per month per price region:
/// first 10 TB, next 40 TB, next 100 TB, next 350 TB, next 524 TB, next 4 PB, over 5 PB.
/// Assumption: 1 TB = 1,024 GB and 1 PB = 1,024 TB, as the page's "500 TB + next 524 TB"
/// boundary (= 1 PB) implies. Usage tiers are measured separately for each region.
pub const TIER_UPPER_GB: [f64; 7] = [
    10.0 * 1024.0,
    50.0 * 1024.0,
    150.0 * 1024.0,
    500.0 * 1024.0,
    1024.0 * 1024.0,
    5.0 * 1024.0 * 1024.0,
    f64::INFINITY,
];

pub const TIER_NAMES: [&str; 7] = [
    "first 10 TB",
    "next 40 TB",
    "next 100 TB",
    "next 350 TB",
    "next 524 TB",
    "next 4 PB",
    "over 5 PB",
];

/// Regional data transfer out to the internet, $ per GB; rows in [`RegionGroup::ALL`] order,
/// columns the tiers of [`TIER_UPPER_GB`].
const TRANSFER_OUT: [[f64; 7]; 8] = [
    [0.085, 0.080, 0.060, 0.040, 0.030, 0.025, 0.020], // United States, Mexico, Canada
    [0.085, 0.080, 0.060, 0.040, 0.030, 0.025, 0.020], // Europe, Israel, Türkiye
    [0.110, 0.105, 0.090, 0.080, 0.060, 0.050, 0.040], // South Africa, Kenya, Nigeria, Middle East
    [0.110, 0.105, 0.090, 0.080, 0.060, 0.050, 0.040], // South America
    [0.114, 0.089, 0.086, 0.084, 0.080, 0.070, 0.060], // Japan
    [0.114, 0.098, 0.094, 0.092, 0.090, 0.085, 0.080], // Australia, New Zealand
    [0.120, 0.100, 0.095, 0.090, 0.080, 0.070, 0.060], // Hong Kong ... Vietnam
    [0.109, 0.085, 0.082, 0.080, 0.078, 0.075, 0.072], // India
];

/// (HTTP, HTTPS) requests, $ per 10,000; rows in [`RegionGroup::ALL`] order.
const REQUESTS_PER_10K: [(f64, f64); 8] = [
    (0.0075, 0.0100), // United States, Mexico, Canada
    (0.0090, 0.0120), // Europe, Israel, Türkiye
    (0.0090, 0.0120), // South Africa, Kenya, Nigeria, Middle East
    (0.0160, 0.0220), // South America
    (0.0090, 0.0120), // Japan
    (0.0090, 0.0125), // Australia, New Zealand
    (0.0090, 0.0120), // Hong Kong ... Vietnam
    (0.0090, 0.0120), // India
];

/// Invalidation paths free each month, and the price of each path beyond them.
pub const FREE_INVALIDATION_PATHS: u64 = 1_000;
pub const INVALIDATION_PATH: f64 = 0.005;

/// Real-time logs: $ per 1,000,000 log lines CloudFront publishes.
pub const REALTIME_LOG_LINES_PER_MILLION: f64 = 0.01;

/// Lambda (US East): $ per 1,000,000 requests, and $ per GB-second of the first duration
/// tier (arm64: first 7.5 billion GB-s a month; x86_64: first 6 billion).
pub const LAMBDA_REQUESTS_PER_MILLION: f64 = 0.20;
pub const LAMBDA_GB_SECOND_ARM64: f64 = 0.000_013_333_4;
pub const LAMBDA_GB_SECOND_X86_64: f64 = 0.000_016_666_7;

/// Kinesis Data Streams on-demand (US East): $ per stream-hour, per GB written, per GB read.
pub const KINESIS_ON_DEMAND_STREAM_HOUR: f64 = 0.04;
pub const KINESIS_ON_DEMAND_DATA_IN_GB: f64 = 0.08;
pub const KINESIS_ON_DEMAND_DATA_OUT_GB: f64 = 0.04;
/// Kinesis provisioned (US East): $ per shard-hour and per 1,000,000 PUT payload units
/// (25 KB each).
pub const KINESIS_SHARD_HOUR: f64 = 0.015;
pub const KINESIS_PUT_UNITS_PER_MILLION: f64 = 0.014;

/// Assumption: Kinesis bills each record rounded up to 1 KB; a real-time log line of the
/// default field set is under 1 KB, so each line is billed as 1 KB (1,024 bytes).
pub const KINESIS_BYTES_PER_LINE: f64 = 1024.0;

/// Assumptions for the stack's functions (no published figure exists; measure yours):
/// billed duration per invocation, seconds.
pub const ANALYSER_SECONDS_PER_BATCH: f64 = 0.2;
pub const EVALUATOR_SECONDS_PER_RUN: f64 = 0.5;
pub const INVALIDATOR_SECONDS_PER_BATCH: f64 = 0.5;

/// CloudWatch custom metrics (US East), $ per metric-month: first 10,000, next 240,000,
/// next 750,000, over 1,000,000 (cumulative upper bounds).
pub const CLOUDWATCH_METRIC_TIERS: [(f64, f64); 4] = [
    (10_000.0, 0.30),
    (250_000.0, 0.10),
    (1_000_000.0, 0.05),
    (f64::INFINITY, 0.02),
];
pub const CLOUDWATCH_METRIC_TIER_NAMES: [&str; 4] = [
    "first 10,000",
    "next 240,000",
    "next 750,000",
    "over 1,000,000",
];
/// CloudWatch API requests (PutMetricData among them), $ per 1,000 requests.
pub const CLOUDWATCH_REQUESTS_PER_THOUSAND: f64 = 0.01;
/// GetMetricData, $ per 1,000 metrics requested.
pub const CLOUDWATCH_GET_METRIC_DATA_PER_THOUSAND_METRICS: f64 = 0.01;
/// Alarms, $ per alarm metric-month: standard (60 s) and high (10 s) resolution.
pub const CLOUDWATCH_ALARM_METRIC_STANDARD: f64 = 0.10;
pub const CLOUDWATCH_ALARM_METRIC_HIGH_RESOLUTION: f64 = 0.30;
/// A dashboard, $ a month.
pub const CLOUDWATCH_DASHBOARD_MONTH: f64 = 3.00;
/// The metrics CloudFront's additional metrics add per distribution: CacheHitRate,
/// OriginLatency and the 401, 403, 404, 502, 503 and 504 error rates.
pub const CLOUDFRONT_ADDITIONAL_METRICS: f64 = 8.0;
