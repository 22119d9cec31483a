//! `deployer price`: the monthly cost of a traffic profile under each CloudFront price class,
//! from an embedded table of published on-demand prices ([`table`]), plus the costs of the
//! stack's own resources (real-time logs, Kinesis, Lambda).
//!
//! The estimate is a value computed before anything is printed; the text table, the bar
//! chart and `--output json` are views of it. Arithmetic is plain `f64` on list prices with
//! no intermediate rounding; only the text view rounds (to cents). The same inputs always
//! give the same figures, which the tests pin to totals computed by hand.

pub mod cloudwatch;
pub mod geo;
pub mod logs;
pub mod metrics;
pub mod report;
pub mod table;
pub mod waf;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use cfrp_config::{Architecture, PriceClass, StackConfig, StreamMode};
use clap::Args;
use serde::Serialize;

use crate::cli::Output;
use crate::commands::CommandError;
use crate::error::DeployError;
use crate::session::Session;
use crate::spec::mappings;
use table::RegionGroup;

/// `deployer price` flags.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  deployer price --requests 50000000 --gb 2000 --geo US=0.6,DE=0.3,JP=0.1\n  deployer price --requests 10000000 --gb 500 --geo north-america=0.7,europe=0.3 --https-share 0.9 --compare\n  deployer price --from-metrics --days 7 --compare\n  deployer price --from-metrics --days 1 --output json\n\nPrices are CloudFront's published on-demand list prices (no Free Tier, no discounts);\nthe output names the table's sources and date and every assumption made."
)]
pub struct PriceArgs {
    /// Viewer requests per month.
    #[arg(
        long,
        required_unless_present = "from_metrics",
        conflicts_with = "from_metrics"
    )]
    pub requests: Option<u64>,
    /// Data served to viewers per month, in GB (2^30 bytes).
    #[arg(
        long,
        required_unless_present = "from_metrics",
        conflicts_with = "from_metrics"
    )]
    pub gb: Option<f64>,
    /// Share of requests made over HTTPS, from 0 to 1.
    #[arg(long, default_value_t = 1.0)]
    pub https_share: f64,
    /// Traffic by viewer country (ISO 3166-1 alpha-2) or price region, shares summing to 1:
    /// US=0.6,DE=0.3,JP=0.1 or north-america=0.7,europe=0.3 [default: north-america=1].
    /// Regions: north-america, europe, middle-east-africa, south-america, japan, australia,
    /// asia-pacific, india.
    #[arg(long, conflicts_with = "from_metrics")]
    pub geo: Option<String>,
    /// Invalidation paths per month (the first 1,000 are free).
    #[arg(long, default_value_t = 0)]
    pub invalidation_paths: u64,
    /// Read requests, bytes and countries from the analyser's CloudWatch metrics (the
    /// config's namespace and region) and scale them to a month.
    #[arg(long)]
    pub from_metrics: bool,
    /// With --from-metrics: the days of metrics to read, up to now.
    #[arg(long, default_value_t = 7, requires = "from_metrics", value_parser = clap::value_parser!(u32).range(1..=455))]
    pub days: u32,
    /// With --from-metrics: the analyser's Distribution dimension (the distribution's
    /// domain), needed when the namespace holds metrics of several distributions.
    #[arg(long, requires = "from_metrics")]
    pub distribution: Option<String>,
    /// The price class to itemise (default: the config's).
    #[arg(long)]
    pub price_class: Option<String>,
    /// Compare all price classes: a table, a bar chart, and the viewers each class leaves
    /// outside its edge regions.
    #[arg(long)]
    pub compare: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error(
        "--geo entry \"{entry}\": {problem}; expected COUNTRY=SHARE or REGION=SHARE separated by commas, e.g. US=0.6,DE=0.3,japan=0.1 (regions: {})",
        region_ids()
    )]
    GeoEntry { entry: String, problem: String },
    #[error("--geo shares sum to {sum}, expected 1")]
    GeoSum { sum: f64 },
    #[error("--https-share {0}: expected a number from 0 to 1")]
    HttpsShare(f64),
    #[error("--gb {0}: expected a finite number of GB, 0 or more")]
    Gb(f64),
    #[error("--price-class \"{0}\": expected PriceClass_100, PriceClass_200 or PriceClass_All")]
    PriceClass(String),
    #[error(
        "no {metric} data in namespace {namespace} (region {region}){detail} over the last {days} day(s); is the log analyser deployed and receiving traffic?"
    )]
    NoMetrics {
        metric: &'static str,
        namespace: String,
        region: String,
        detail: String,
        days: u32,
    },
    #[error(
        "namespace {namespace} holds metrics of {} distributions ({}); choose one with --distribution",
        .distributions.len(),
        .distributions.join(", ")
    )]
    SeveralDistributions {
        namespace: String,
        distributions: Vec<String>,
    },
    #[error("{0}")]
    Config(#[from] cfrp_config::ConfigError),
    #[error("{0}")]
    Deploy(#[from] DeployError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<PriceError> for CommandError {
    fn from(err: PriceError) -> CommandError {
        let flag = match &err {
            PriceError::Config(_) | PriceError::Deploy(_) | PriceError::Io(_) => None,
            PriceError::GeoEntry { .. } | PriceError::GeoSum { .. } => Some("--geo"),
            PriceError::HttpsShare(_) => Some("--https-share"),
            PriceError::Gb(_) => Some("--gb"),
            PriceError::PriceClass(_) => Some("--price-class"),
            PriceError::NoMetrics { .. } | PriceError::SeveralDistributions { .. } => {
                Some("--from-metrics")
            }
        };
        match (flag, err) {
            (_, PriceError::Config(e)) => CommandError::Config(e),
            (_, PriceError::Deploy(e)) => CommandError::Deploy(e),
            (_, PriceError::Io(e)) => CommandError::Io(e),
            (flag, e) => CommandError::Flag {
                flag: flag.unwrap_or("price"),
                // The message names the flag itself.
                message: e.to_string(),
            },
        }
    }
}

fn region_ids() -> String {
    RegionGroup::ALL.map(RegionGroup::id).join(", ")
}

/// One share of the traffic: a viewer country or a whole price region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    /// The country code or region name as given (or as the metrics named it).
    pub viewer: String,
    pub region: RegionGroup,
    /// True when the pricing page does not name the country and its region is assumed.
    pub assumed_region: bool,
    pub share: f64,
}

/// A month of traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traffic {
    pub requests: f64,
    pub gb: f64,
    pub https_share: f64,
    pub geo: Vec<Share>,
    pub invalidation_paths: u64,
    /// "flags", or where the metrics came from.
    pub source: String,
}

/// Parses `--geo`: `CODE=SHARE` or `region=SHARE` entries separated by commas.
pub fn parse_geo(text: &str) -> Result<Vec<Share>, PriceError> {
    let mut shares: Vec<Share> = Vec::new();
    for entry in text.split(',').map(str::trim) {
        let bad = |problem: &str| PriceError::GeoEntry {
            entry: entry.to_string(),
            problem: problem.to_string(),
        };
        if entry.is_empty() {
            return Err(bad("empty entry"));
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(bad("no \"=\""));
        };
        let (key, value) = (key.trim(), value.trim());
        let share: f64 = value
            .parse()
            .map_err(|_| bad(&format!("\"{value}\" is not a number")))?;
        if !share.is_finite() || !(0.0..=1.0).contains(&share) {
            return Err(bad(&format!("share {value} is outside 0 to 1")));
        }
        let (viewer, region, assumed_region) = if key.len() == 2 {
            let code = key.to_ascii_uppercase();
            if cfrp_config::checks::country_code(&code).is_err() {
                return Err(bad(&format!(
                    "\"{key}\" is not an ISO 3166-1 alpha-2 country code"
                )));
            }
            let mapping =
                geo::country(&code).ok_or_else(|| bad(&format!("no price region for {code}")))?;
            (code, mapping.group, mapping.assumed)
        } else {
            let region = RegionGroup::parse(key).ok_or_else(|| {
                bad(&format!(
                    "\"{key}\" is neither a country code nor a price region"
                ))
            })?;
            (region.id().to_string(), region, false)
        };
        if shares.iter().any(|s| s.viewer == viewer) {
            return Err(bad(&format!("{viewer} is given twice")));
        }
        shares.push(Share {
            viewer,
            region,
            assumed_region,
            share,
        });
    }
    let sum: f64 = shares.iter().map(|s| s.share).sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(PriceError::GeoSum { sum });
    }
    Ok(shares)
}

/// The traffic the flags describe.
pub fn traffic_from_flags(args: &PriceArgs) -> Result<Traffic, PriceError> {
    let gb = args.gb.unwrap_or(0.0);
    if !gb.is_finite() || gb < 0.0 {
        return Err(PriceError::Gb(gb));
    }
    check_https_share(args.https_share)?;
    let geo = match &args.geo {
        Some(text) => parse_geo(text)?,
        None => vec![Share {
            viewer: RegionGroup::NorthAmerica.id().to_string(),
            region: RegionGroup::NorthAmerica,
            assumed_region: false,
            share: 1.0,
        }],
    };
    Ok(Traffic {
        requests: args.requests.unwrap_or(0) as f64,
        gb,
        https_share: args.https_share,
        geo,
        invalidation_paths: args.invalidation_paths,
        source: "flags".to_string(),
    })
}

fn check_https_share(share: f64) -> Result<(), PriceError> {
    if share.is_finite() && (0.0..=1.0).contains(&share) {
        Ok(())
    } else {
        Err(PriceError::HttpsShare(share))
    }
}

/// Scales what the analyser published over `observed.days` days to a 730-hour month. The
/// analyser's counts already estimate all requests (it scales what a sampled log config logs by
/// 100 / rate), so nothing is scaled for sampling here. Countries the price table cannot
/// place (`Other` beyond the analyser's top N, `-`) are spread over the known ones in
/// proportion; bytes per country are not published, so each country's GB is its share of
/// requests times the total.
pub fn traffic_from_metrics(
    observed: &metrics::Observed,
    https_share: f64,
    invalidation_paths: u64,
    notes: &mut Vec<String>,
) -> Result<Traffic, PriceError> {
    check_https_share(https_share)?;
    let scale = |x: f64| x * table::HOURS_PER_MONTH / (f64::from(observed.days) * 24.0);
    let known: Vec<(&String, geo::Mapping, f64)> = observed
        .countries
        .iter()
        .filter_map(|(code, n)| geo::country(code).map(|m| (code, m, *n)))
        .filter(|(_, _, n)| *n > 0.0)
        .collect();
    let known_total: f64 = known.iter().map(|(_, _, n)| n).sum();
    let requests = observed.requests.max(known_total);
    let unplaced = requests - known_total;
    if unplaced > 0.0 && known_total > 0.0 {
        notes.push(format!(
            "{:.1}% of the requests had no placeable country (the analyser's \"Other\" beyond its top N, or none); they are spread over the known countries in proportion.",
            100.0 * unplaced / requests
        ));
    }
    let geo = if known_total > 0.0 {
        known
            .iter()
            .map(|(code, mapping, n)| Share {
                viewer: (*code).clone(),
                region: mapping.group,
                assumed_region: mapping.assumed,
                share: n / known_total,
            })
            .collect()
    } else {
        notes.push(
            "The metrics name no placeable country; all traffic is priced as north-america."
                .to_string(),
        );
        vec![Share {
            viewer: RegionGroup::NorthAmerica.id().to_string(),
            region: RegionGroup::NorthAmerica,
            assumed_region: true,
            share: 1.0,
        }]
    };
    notes.push(format!(
        "From CloudWatch: {} requests and {} bytes over {} day(s) (the analyser's estimates of all requests, whatever the log sampling), scaled × {} h / ({} × 24 h) to a month. Bytes by country are not published; each country's GB is its share of requests times the total (assumes equal average response sizes).",
        report::count(observed.requests),
        report::count(observed.bytes),
        observed.days,
        table::HOURS_PER_MONTH,
        observed.days,
    ));
    Ok(Traffic {
        requests: scale(requests),
        gb: scale(observed.bytes) / table::BYTES_PER_GB,
        https_share,
        geo,
        invalidation_paths,
        source: format!(
            "CloudWatch metrics of {} over the last {} day(s)",
            observed.distribution, observed.days
        ),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    DataTransfer,
    Requests,
    Invalidations,
    RealTimeLogs,
    Kinesis,
    Lambda,
    #[serde(rename = "cloudwatch")]
    CloudWatch,
    /// The `[waf]` web ACL ([`waf`]).
    Waf,
    /// CloudFront's Origin Shield requests ([`logs`]).
    OriginShield,
    /// Standard access logs (v2) delivered by CloudWatch vended logs ([`logs`]).
    StandardLogs,
}

impl Category {
    /// CloudFront's own charges, as opposed to the stack's resources.
    pub fn is_cloudfront(self) -> bool {
        matches!(
            self,
            Category::DataTransfer
                | Category::Requests
                | Category::Invalidations
                | Category::RealTimeLogs
                | Category::OriginShield
        )
    }
}

/// One priced quantity: `cost = quantity × unit_price`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineItem {
    pub category: Category,
    pub description: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub unit_price: f64,
    pub cost: f64,
}

fn item(
    category: Category,
    description: String,
    quantity: f64,
    unit: &'static str,
    unit_price: f64,
) -> LineItem {
    LineItem {
        category,
        description,
        quantity,
        unit,
        unit_price,
        cost: quantity * unit_price,
    }
}

/// Viewers a price class does not cover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outside {
    pub viewer: String,
    pub region: RegionGroup,
    pub share: f64,
    /// The region whose rates AWS bills these requests at.
    pub billed_as: RegionGroup,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassEstimate {
    pub price_class: PriceClass,
    pub regions: Vec<RegionGroup>,
    pub cloudfront: f64,
    pub stack: f64,
    pub total: f64,
    pub line_items: Vec<LineItem>,
    pub outside: Vec<Outside>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub table: table::Provenance,
    pub stack: String,
    pub stack_region: String,
    /// The class the config sets (or `--price-class`), itemised in the text view.
    pub price_class: PriceClass,
    pub traffic: Traffic,
    pub classes: Vec<ClassEstimate>,
    pub notes: Vec<String>,
}

impl Estimate {
    pub fn class(&self, class: PriceClass) -> Option<&ClassEstimate> {
        self.classes.iter().find(|c| c.price_class == class)
    }
}

/// Whether a price class has edges in a region (CloudFront Developer Guide, "Choose the
/// price class for a CloudFront distribution").
pub fn serves(class: PriceClass, region: RegionGroup) -> bool {
    match class {
        PriceClass::PriceClass100 => {
            matches!(region, RegionGroup::NorthAmerica | RegionGroup::Europe)
        }
        PriceClass::PriceClass200 => {
            !matches!(region, RegionGroup::SouthAmerica | RegionGroup::Australia)
        }
        PriceClass::PriceClassAll => true,
    }
}

/// The least expensive region of a class: AWS bills requests served from outside the class
/// at its rates.
pub fn least_expensive(class: PriceClass) -> RegionGroup {
    let key = |g: &RegionGroup| {
        let (http, https) = g.request_prices();
        (g.transfer_prices()[0], https, http)
    };
    RegionGroup::ALL
        .into_iter()
        .filter(|g| serves(class, *g))
        .min_by(|a, b| {
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .unwrap_or(RegionGroup::NorthAmerica)
}

/// `(tier index, GB in the tier, $ per GB)` for `gb` a month in one price region.
pub fn tiers(gb: f64, prices: [f64; 7]) -> Vec<(usize, f64, f64)> {
    let mut lower = 0.0;
    let mut out = Vec::new();
    for (i, upper) in table::TIER_UPPER_GB.iter().enumerate() {
        if gb <= lower {
            break;
        }
        out.push((i, gb.min(*upper) - lower, prices[i]));
        lower = *upper;
    }
    out
}

fn class_estimate(class: PriceClass, traffic: &Traffic, stack: &[LineItem]) -> ClassEstimate {
    let billed_as = least_expensive(class);
    let mut gb: BTreeMap<RegionGroup, f64> = BTreeMap::new();
    let mut requests: BTreeMap<RegionGroup, f64> = BTreeMap::new();
    let mut outside = Vec::new();
    for share in &traffic.geo {
        let region = if serves(class, share.region) {
            share.region
        } else {
            outside.push(Outside {
                viewer: share.viewer.clone(),
                region: share.region,
                share: share.share,
                billed_as,
            });
            billed_as
        };
        *gb.entry(region).or_default() += traffic.gb * share.share;
        *requests.entry(region).or_default() += traffic.requests * share.share;
    }
    let mut items = Vec::new();
    for (region, gb) in &gb {
        for (tier, quantity, price) in tiers(*gb, region.transfer_prices()) {
            items.push(item(
                Category::DataTransfer,
                format!(
                    "Data transfer out, {}, {}",
                    region.id(),
                    table::TIER_NAMES[tier]
                ),
                quantity,
                "GB",
                price,
            ));
        }
    }
    for (region, n) in &requests {
        let (http, https) = region.request_prices();
        let secure = n * traffic.https_share;
        let plain = n - secure;
        if secure > 0.0 {
            items.push(item(
                Category::Requests,
                format!("HTTPS requests, {}", region.id()),
                secure / 10_000.0,
                "10k requests",
                https,
            ));
        }
        if plain > 0.0 {
            items.push(item(
                Category::Requests,
                format!("HTTP requests, {}", region.id()),
                plain / 10_000.0,
                "10k requests",
                http,
            ));
        }
    }
    if traffic.invalidation_paths > 0 {
        items.push(item(
            Category::Invalidations,
            format!(
                "Invalidation paths beyond the free {} ({} requested)",
                report::count(table::FREE_INVALIDATION_PATHS as f64),
                report::count(traffic.invalidation_paths as f64)
            ),
            traffic
                .invalidation_paths
                .saturating_sub(table::FREE_INVALIDATION_PATHS) as f64,
            "path",
            table::INVALIDATION_PATH,
        ));
    }
    items.extend(stack.iter().cloned());
    let cloudfront: f64 = items
        .iter()
        .filter(|i| i.category.is_cloudfront())
        .map(|i| i.cost)
        .sum();
    let stack_total: f64 = items
        .iter()
        .filter(|i| !i.category.is_cloudfront())
        .map(|i| i.cost)
        .sum();
    ClassEstimate {
        price_class: class,
        regions: RegionGroup::ALL
            .into_iter()
            .filter(|g| serves(class, *g))
            .collect(),
        cloudfront,
        stack: stack_total,
        total: cloudfront + stack_total,
        line_items: items,
        outside,
    }
}

/// Evaluator runs a month for an EventBridge schedule expression.
fn schedule_runs(expression: &str, notes: &mut Vec<String>) -> f64 {
    let minutes = table::HOURS_PER_MONTH * 60.0;
    let rate = expression
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|inner| {
            let (count, unit) = inner.trim().split_once(' ')?;
            let count: f64 = count.parse().ok().filter(|c: &f64| *c > 0.0)?;
            let per_unit = match unit.trim() {
                "minute" | "minutes" => minutes,
                "hour" | "hours" => table::HOURS_PER_MONTH,
                "day" | "days" => table::HOURS_PER_MONTH / 24.0,
                _ => return None,
            };
            Some(per_unit / count)
        });
    rate.unwrap_or_else(|| {
        notes.push(format!(
            "The evaluator schedule \"{expression}\" is priced as once a minute (an upper bound)."
        ));
        minutes
    })
}

fn lambda_items(
    name: &str,
    invocations: f64,
    seconds: f64,
    config: &StackConfig,
    items: &mut Vec<LineItem>,
) {
    let (architecture, gb_second) = match config.functions.architecture {
        Architecture::Arm64 => ("arm64", table::LAMBDA_GB_SECOND_ARM64),
        Architecture::X86_64 => ("x86_64", table::LAMBDA_GB_SECOND_X86_64),
    };
    let memory = f64::from(config.functions.memory_mb);
    items.push(item(
        Category::Lambda,
        format!("Lambda {name}: {} invocations", report::count(invocations)),
        invocations / 1_000_000.0,
        "1M requests",
        table::LAMBDA_REQUESTS_PER_MILLION,
    ));
    items.push(item(
        Category::Lambda,
        format!(
            "Lambda {name}: duration ({architecture}, {} MB, {seconds} s each)",
            config.functions.memory_mb
        ),
        invocations * seconds * memory / 1024.0,
        "GB-second",
        gb_second,
    ));
}

/// Real-time logs, Kinesis and Lambda for a month of `traffic`; the same under every class.
fn stack_items(traffic: &Traffic, config: &StackConfig, notes: &mut Vec<String>) -> Vec<LineItem> {
    let mut items = Vec::new();
    let mut analyser_runs = 0.0;
    let mut evaluator_runs = 0.0;
    let logging = &config.logging;
    if logging.enabled {
        let lines = traffic.requests * f64::from(logging.sampling_rate) / 100.0;
        items.push(item(
            Category::RealTimeLogs,
            format!("Real-time log lines ({}% sampling)", logging.sampling_rate),
            lines / 1_000_000.0,
            "1M lines",
            table::REALTIME_LOG_LINES_PER_MILLION,
        ));
        match logging.stream_mode {
            StreamMode::OnDemand => {
                let gb = lines * table::KINESIS_BYTES_PER_LINE / table::BYTES_PER_GB;
                items.push(item(
                    Category::Kinesis,
                    "Kinesis on-demand stream".to_string(),
                    table::HOURS_PER_MONTH,
                    "stream-hour",
                    table::KINESIS_ON_DEMAND_STREAM_HOUR,
                ));
                items.push(item(
                    Category::Kinesis,
                    "Kinesis data in (1 KB per log line)".to_string(),
                    gb,
                    "GB",
                    table::KINESIS_ON_DEMAND_DATA_IN_GB,
                ));
                items.push(item(
                    Category::Kinesis,
                    "Kinesis data read by the analyser".to_string(),
                    gb,
                    "GB",
                    table::KINESIS_ON_DEMAND_DATA_OUT_GB,
                ));
            }
            StreamMode::Provisioned => {
                let shards = f64::from(logging.shards.unwrap_or(1));
                items.push(item(
                    Category::Kinesis,
                    format!("Kinesis provisioned stream ({shards} shard(s))"),
                    shards * table::HOURS_PER_MONTH,
                    "shard-hour",
                    table::KINESIS_SHARD_HOUR,
                ));
                items.push(item(
                    Category::Kinesis,
                    "Kinesis PUT payload units (one per log line)".to_string(),
                    lines / 1_000_000.0,
                    "1M units",
                    table::KINESIS_PUT_UNITS_PER_MILLION,
                ));
            }
        }
        let batch = f64::from(mappings::KINESIS_BATCH_SIZE);
        let windows =
            table::HOURS_PER_MONTH * 3600.0 / f64::from(mappings::KINESIS_BATCHING_WINDOW);
        let batches = (lines / batch).ceil().max(lines.min(windows));
        analyser_runs = batches;
        lambda_items(
            "log analyser",
            batches,
            table::ANALYSER_SECONDS_PER_BATCH,
            config,
            &mut items,
        );
    }
    if config.alarms.enabled {
        let runs = schedule_runs(&config.alarms.schedule, notes);
        evaluator_runs = runs;
        lambda_items(
            "alarm evaluator",
            runs,
            table::EVALUATOR_SECONDS_PER_RUN,
            config,
            &mut items,
        );
    }
    items.extend(waf::items(traffic, config));
    items.extend(logs::standard_logs_items(traffic, config));
    items.extend(logs::origin_shield_items(traffic, config));
    if config.manuscripts.is_some() && traffic.invalidation_paths > 0 {
        lambda_items(
            "invalidator",
            traffic.invalidation_paths as f64,
            table::INVALIDATOR_SECONDS_PER_BATCH,
            config,
            &mut items,
        );
    }
    // Each further service the stack bills prices its own items in its module: CloudWatch
    // here; WAF's web ACL and requests in `waf.rs` go beside it.
    items.extend(cloudwatch::items(
        config,
        analyser_runs,
        evaluator_runs,
        notes,
    ));
    items
}

/// The estimate of `traffic` for every price class, itemising `price_class`.
pub fn estimate(
    traffic: Traffic,
    config: &StackConfig,
    price_class: PriceClass,
    mut notes: Vec<String>,
) -> Estimate {
    let stack = stack_items(&traffic, config, &mut notes);
    let classes = PriceClass::ALL
        .iter()
        .map(|class| class_estimate(*class, &traffic, &stack))
        .collect();
    for share in traffic.geo.iter().filter(|s| s.assumed_region) {
        notes.push(format!(
            "{}: the pricing page does not name this country; priced as {} (assumed: the region of the nearest edges).",
            share.viewer,
            share.region.id()
        ));
    }
    notes.extend(standing_notes(config));
    Estimate {
        table: table::PROVENANCE,
        stack: config.name.clone(),
        stack_region: config.region.clone(),
        price_class,
        traffic,
        classes,
        notes,
    }
}

fn standing_notes(config: &StackConfig) -> Vec<String> {
    let mut notes = vec![
        format!(
            "Viewers outside a price class's regions are served from a farther edge in the class (higher latency); AWS bills those requests at the rate of the least expensive region in the class ({}), per the CloudFront Developer Guide.",
            least_expensive(PriceClass::PriceClass100).id()
        ),
        "Data-transfer volume tiers are measured per price region; 1 TB is taken as 1,024 GB and 1 PB as 1,024 TB (the page's \"500 TB + next 524 TB\" boundary).".to_string(),
        format!(
            "Kinesis and Lambda at US East (N. Virginia) list prices; the stack's region ({}) may differ.",
            config.region
        ),
        format!(
            "Assumptions, not published figures: each log line is billed as 1 KB in Kinesis; the analyser runs once per {} s batching window or per {} records, whichever gives more runs, {} s each; the evaluator {} s a run; the invalidator at most one {} s run per path.",
            mappings::KINESIS_BATCHING_WINDOW,
            report::count(f64::from(mappings::KINESIS_BATCH_SIZE)),
            table::ANALYSER_SECONDS_PER_BATCH,
            table::EVALUATOR_SECONDS_PER_RUN,
            table::INVALIDATOR_SECONDS_PER_BATCH
        ),
        "CloudWatch at US East (N. Virginia) list prices; GetMetricData made by `deployer monitor`, `deployer price --from-metrics` and the console is not counted (it depends on how often they are used).".to_string(),
        "Not included: the AWS Free Tier (CloudFront: 1 TB and 10,000,000 requests a month; and CloudWatch's own allowances), CloudWatch Logs for the functions' own logs, SQS, S3, EventBridge, SNS, data transfer to the origin, the origin itself, and taxes.".to_string(),
    ];
    notes.extend(feature_notes(config));
    notes
}

/// What the estimate assumes about `[standard_logs]` and Origin Shield, when the config has them.
fn feature_notes(config: &StackConfig) -> Vec<String> {
    let mut notes = Vec::new();
    if config.standard_logs.is_some() {
        notes.push("Standard logs (v2): every request's record taken as 1 KB (an assumption), delivery at CloudWatch's vended-log prices in us-east-1 (the source's region); Parquet conversion, S3 storage of the files and the log group's storage are not included.".to_string());
    }
    if config
        .origins
        .iter()
        .any(|o| o.origin_shield_region.is_some())
    {
        notes.push("Origin Shield: an upper bound, every request taken to reach Origin Shield (requests the edges answer from cache do not), split evenly over the origins.".to_string());
    }
    notes
}

/// Loads the config; without a file at the default path, a flags-only estimate uses the
/// stack defaults (and says so).
fn load_config(
    path: &Path,
    from_metrics: bool,
    notes: &mut Vec<String>,
) -> Result<StackConfig, PriceError> {
    if !path.exists() && !from_metrics && path == Path::new("proxy.toml") {
        notes.push(
            "No proxy.toml here: the stack defaults are assumed (PriceClass_100, 100% log sampling, on-demand stream, arm64 functions of 256 MB, evaluator every minute).".to_string(),
        );
        return Ok(StackConfig::for_origin(
            "proxy",
            "us-east-1",
            "origin.example.com",
        ));
    }
    Ok(StackConfig::load(path)?)
}

/// `deployer price`; its errors as every command's (a flag's own error names the flag).
pub async fn run(
    path: &Path,
    args: &PriceArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    Ok(price(path, args, session, out).await?)
}

async fn price(
    path: &Path,
    args: &PriceArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, PriceError> {
    let mut notes = Vec::new();
    let config = load_config(path, args.from_metrics, &mut notes)?;
    let price_class = match &args.price_class {
        Some(text) => {
            PriceClass::parse(text).ok_or_else(|| PriceError::PriceClass(text.clone()))?
        }
        None => config.distribution.price_class,
    };
    let traffic = if args.from_metrics {
        check_https_share(args.https_share)?;
        let clients = session.clients(&config.region).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let observed = metrics::read(
            &clients.cloudwatch,
            &config.metrics.namespace,
            &config.region,
            args.distribution.as_deref(),
            args.days,
            now,
        )
        .await?;
        traffic_from_metrics(
            &observed,
            args.https_share,
            args.invalidation_paths,
            &mut notes,
        )?
    } else {
        traffic_from_flags(args)?
    };
    let estimate = estimate(traffic, &config, price_class, notes);
    match session.output {
        Output::Json => report::json(&estimate, out)?,
        Output::Text => {
            report::text(&estimate, args.compare, session.color, out)?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests;
