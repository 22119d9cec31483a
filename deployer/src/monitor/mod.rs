//! `deployer monitor`: a live view of the stack's traffic, refreshed every `--interval` for
//! `--duration`: the analyser's rates, ratios and latency percentiles with sparklines over
//! `--window`, top countries and POPs, the evaluator's rule states, CloudFront's own
//! `AWS/CloudFront` metrics beside them, and with `[waf]` the web ACL's `AWS/WAFV2` totals
//! and its most blocking rules.
//!
//! Pure parts: [`query`] (what to ask CloudWatch), [`snapshot`] (answers → [`Snapshot`]),
//! [`render`] (snapshot → lines). I/O: [`fetch`] (CloudWatch calls) and the refresh loop here,
//! which draws on the alternate screen of a terminal (restored on exit, Ctrl-C and error by
//! [`Screen`]'s `Drop`), prints plain snapshots one after another when stdout is not a
//! terminal, or streams one JSON object per refresh with `--output json`.

pub mod canary;
pub mod fetch;
pub mod query;
pub mod render;
pub mod snapshot;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::Region;
use cfrp_config::StackConfig;
use cfrp_config::metrics as m;
use clap::Args;

pub use query::Target;
pub use snapshot::Snapshot;

use crate::cli::{Output, StackArgs};
use crate::commands::{CommandError, load_config};
use crate::context::Mode;
use crate::context::{CLOUDFRONT_REGION, Clients, Run};
use crate::error::DeployError;
use crate::ops::{exit, exit_codes_help, parse_duration};
use crate::resources::cloudfront;
use crate::session::Session;
use render::Style;

/// The longest `--duration`.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The longest `--window`: ListMetrics finds breakdown values active in the last 3 hours.
const MAX_WINDOW_MINUTES: u64 = 180;

#[derive(Debug, Clone, Args)]
#[command(after_help = HELP)]
pub struct MonitorArgs {
    /// How long to keep refreshing before exiting 0 (e.g. 30s, 10m, 1h; at most 24h).
    #[arg(long, default_value = "10m", value_parser = parse_run_duration)]
    pub duration: Duration,
    /// Time between refreshes (at least 1s).
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    pub interval: Duration,
    /// The window of the sparklines and of the top countries and POPs, in whole minutes
    /// (e.g. 15m, 1h; at most 3h).
    #[arg(long, default_value = "15m", value_parser = parse_window)]
    pub window: Duration,
    /// One refresh, printed as plain text (or one JSON object), then exit.
    #[arg(long)]
    pub once: bool,
    #[command(
        flatten,
        next_help_heading = "Stack flags (when there is no config file)"
    )]
    pub stack: StackArgs,
}

pub const HELP: &str = concat!(
    "Examples:\n",
    "  deployer monitor                                   # live view, 10 min, every 10 s\n",
    "  deployer monitor --duration 1h --interval 30s --window 1h\n",
    "  deployer monitor --once                            # one snapshot, for scripts\n",
    "  deployer monitor --output json --duration 5m | jq .analyser.requests_per_second.now\n",
    "\n",
    "On a terminal the view redraws in place (alternate screen) until --duration ends or\n",
    "Ctrl-C; otherwise snapshots are printed one after another without escape codes.\n",
    "Values are those of the latest minute with data; \"no data yet\" means nothing was\n",
    "published in the window. CloudFront's CacheHitRate, OriginLatency and 401/403/404/502/\n",
    "503/504 error rates exist only when the distribution's additional metrics are on\n",
    "([distribution] additional_metrics = true).\n",
    "\n",
    "--output json prints one object per refresh and line (NDJSON), flushed each time:\n",
    "  at, stack, region, distribution_id, distribution_domain, window_minutes\n",
    "  analyser: minute (the minute the values are from, null: no data yet),\n",
    "    requests_per_second, bytes_per_second, error_rate_4xx, error_rate_5xx,\n",
    "    cache_hit_ratio (percent), latency_p50_ms, latency_p95_ms, latency_p99_ms,\n",
    "    origin_latency_p95_ms — each {\"now\": number|null, \"history\": [one per minute]}\n",
    "  top_countries, top_edge_locations: [{name, requests, percent}] over the window\n",
    "  rules: [{rule, severity, state: OK|ALARM|INSUFFICIENT_DATA|null}]\n",
    "  canary: null, or while a staging distribution exists {primary_domain, staging_domain,\n",
    "    window_minutes, primary/staging: {requests, error_rate_5xx, cache_hit_ratio, p95_ms},\n",
    "    rules: [{rule, state (published), computed, detail}]}\n",
    "  cloudfront: minute, requests_per_second, bytes_per_second, error_rate_4xx,\n",
    "    error_rate_5xx, cache_hit_rate, origin_latency_p95_ms (same shape),\n",
    "    additional_metrics (bool), error_rate_by_status ({\"401\": same shape, ...})\n",
    "  waf (null without [waf]; AWS/WAFV2 in us-east-1): web_acl, minute, allowed_per_second,\n",
    "    blocked_per_second, counted_per_second, blocked_percent (same shape),\n",
    "    top_rules: [{rule, blocked, counted, percent_of_blocked}] over the window\n",
    "\n",
    exit_codes_help!()
);

fn parse_run_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d > MAX_DURATION {
        return Err("the duration must be at most 24h".to_string());
    }
    Ok(d)
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    // parse_duration refuses 0, so every interval is at least 1 s.
    parse_duration(text)
}

fn parse_window(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.as_secs() % 60 != 0 {
        return Err(format!("\"{text}\" is not whole minutes (e.g. 15m, 1h)"));
    }
    if d.as_secs() / 60 > MAX_WINDOW_MINUTES {
        return Err("the window must be at most 3h".to_string());
    }
    Ok(d)
}

/// The stack's distribution, found by its `cfrp:stack` tag.
pub async fn locate(run: &Run<'_>) -> Result<Target, DeployError> {
    let found = cloudfront::find_distribution(run).await?.ok_or_else(|| {
        DeployError::state(
            &format!("stack \"{}\"", run.names.stack()),
            "no distribution carries its cfrp:stack tag; run `deployer up` first",
        )
    })?;
    Ok(Target {
        id: found.id,
        domain: found.domain,
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One monitor snapshot of `target` over the last `window_minutes`: ListMetrics for the
/// countries and POPs, then GetMetricData in the stack's region and in us-east-1 at once.
pub async fn snapshot(
    config: &StackConfig,
    aws: &Clients,
    target: &Target,
    staging_domain: Option<&str>,
    window_minutes: u32,
) -> Result<Snapshot, DeployError> {
    let regional = &aws.cloudwatch;
    let global = aws_sdk_cloudwatch::Client::from_conf(
        regional
            .config()
            .to_builder()
            .region(Region::new(CLOUDFRONT_REGION))
            .build(),
    );
    let ns = config.metrics.namespace.as_str();
    let (countries, edge_locations) = tokio::try_join!(
        fetch::dimension_values(
            regional,
            ns,
            &target.domain,
            m::REQUESTS_BY_COUNTRY,
            m::DIM_COUNTRY
        ),
        fetch::dimension_values(
            regional,
            ns,
            &target.domain,
            m::REQUESTS_BY_EDGE_LOCATION,
            m::DIM_EDGE_LOCATION
        ),
    )?;
    let breakdowns = query::Breakdowns {
        countries,
        edge_locations,
    };
    let now = now_ms();
    let plan = query::plan(config, target, &breakdowns, window_minutes, now);
    // CloudFront's and the web ACL's metrics both live in us-east-1: one request for both.
    let us_east_1: Vec<_> = plan.cloudfront.iter().chain(&plan.waf).cloned().collect();
    let (stack_results, cloudfront_results) = tokio::try_join!(
        fetch::metric_data(regional, &plan.regional, plan.start_ms, plan.end_ms),
        fetch::metric_data(&global, &us_east_1, plan.start_ms, plan.end_ms),
    )?;
    let mut taken = snapshot::build(
        config,
        target,
        &plan,
        &breakdowns,
        &stack_results,
        &cloudfront_results,
        now,
    );
    if let Some(staging) = staging_domain
        && config.alarms.enabled
        && config.staging.canary.enabled
    {
        taken.canary = Some(canary::fetch(config, regional, &target.domain, staging, now).await?);
    }
    Ok(taken)
}

/// Where frames go: the alternate screen of a terminal, or plain text / JSON lines.
/// Leaving it (dropping it, on any exit path) restores the terminal.
pub struct Screen<'a> {
    out: &'a mut dyn Write,
    live: bool,
}

impl<'a> Screen<'a> {
    /// Enters the alternate screen and hides the cursor when `live`.
    pub fn new(mut out: &'a mut dyn Write, live: bool) -> std::io::Result<Screen<'a>> {
        if live {
            crossterm::execute!(
                &mut out,
                crossterm::terminal::EnterAlternateScreen,
                crossterm::cursor::Hide,
                crossterm::terminal::DisableLineWrap
            )?;
        }
        Ok(Screen { out, live })
    }

    /// Redraws the whole frame in place (live) or prints it followed by a blank line.
    pub fn frame(&mut self, lines: &[String]) -> std::io::Result<()> {
        if self.live {
            crossterm::queue!(&mut self.out, crossterm::cursor::MoveTo(0, 0))?;
            for line in lines {
                write!(self.out, "{line}")?;
                crossterm::queue!(
                    &mut self.out,
                    crossterm::terminal::Clear(crossterm::terminal::ClearType::UntilNewLine)
                )?;
                writeln!(self.out)?;
            }
            crossterm::queue!(
                &mut self.out,
                crossterm::terminal::Clear(crossterm::terminal::ClearType::FromCursorDown)
            )?;
        } else {
            for line in lines {
                writeln!(self.out, "{line}")?;
            }
            writeln!(self.out)?;
        }
        self.out.flush()
    }

    /// One JSON object on one line, flushed.
    pub fn json(&mut self, snapshot: &Snapshot) -> std::io::Result<()> {
        serde_json::to_writer(&mut *self.out, snapshot)?;
        writeln!(self.out)?;
        self.out.flush()
    }
}

impl Drop for Screen<'_> {
    fn drop(&mut self) {
        if self.live {
            let _ = crossterm::execute!(
                &mut self.out,
                crossterm::terminal::EnableLineWrap,
                crossterm::cursor::Show,
                crossterm::terminal::LeaveAlternateScreen
            );
        }
    }
}

/// `deployer monitor`.
pub async fn run(
    path: &Path,
    args: &MonitorArgs,
    session: &Session,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let config = load_config(path, &args.stack, session)?;
    let run = session.run(&config, Mode::Apply).await?;
    let target = locate(&run).await?;
    // Found once: `stage` and `rollback` take minutes, longer than most monitor runs.
    let staging = crate::resources::staging::find_staging(&run)
        .await?
        .map(|(found, _)| found.domain);
    let window_minutes = u32::try_from(args.window.as_secs() / 60).unwrap_or(15);
    let terminal = std::io::stdout().is_terminal();
    let live = session.output == Output::Text && terminal && !args.once;
    let style = Style {
        color: session.color,
        spark_width: spark_width(),
    };
    let deadline = Instant::now() + args.duration;
    // Installed at the first poll below, before anything is drawn; from then on Ctrl-C ends
    // the loop instead of the process, so the screen guard restores the terminal.
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut screen = Screen::new(out, live)?;
    loop {
        let taken = tokio::select! {
            taken = snapshot(&config, &run.aws, &target, staging.as_deref(), window_minutes) => taken?,
            _ = &mut ctrl_c => break,
        };
        if session.output == Output::Json {
            screen.json(&taken)?;
        } else {
            let mut lines = render::render(&taken, style);
            if live {
                lines.push(String::new());
                lines.push(format!(
                    "refreshing every {} s for {} s more · Ctrl-C to quit",
                    args.interval.as_secs(),
                    deadline.saturating_duration_since(Instant::now()).as_secs()
                ));
            }
            screen.frame(&lines)?;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if args.once || left.is_zero() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval.min(left)) => {}
            _ = &mut ctrl_c => break,
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    drop(screen);
    Ok(exit::OK)
}

/// Sparkline length from the terminal's width (the label and value take 32 columns).
fn spark_width() -> usize {
    crossterm::terminal::size()
        .map(|(columns, _)| usize::from(columns).saturating_sub(34).clamp(10, 180))
        .unwrap_or(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bounds() {
        assert_eq!(parse_window("15m"), Ok(Duration::from_secs(900)));
        assert!(parse_window("90s").is_err());
        assert!(parse_window("4h").is_err());
        assert!(parse_interval("0s").is_err());
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_run_duration("25h").is_err());
        assert_eq!(parse_run_duration("3s"), Ok(Duration::from_secs(3)));
    }

    #[test]
    fn plain_frames_carry_no_escape_codes() {
        let mut buffer = Vec::new();
        {
            let mut screen = Screen::new(&mut buffer, false).unwrap();
            screen.frame(&["a".to_string(), "b".to_string()]).unwrap();
        }
        assert_eq!(String::from_utf8(buffer).unwrap(), "a\nb\n\n");
    }

    #[test]
    fn the_live_screen_is_restored_when_dropped() {
        let mut buffer = Vec::new();
        {
            let mut screen = Screen::new(&mut buffer, true).unwrap();
            screen.frame(&["frame".to_string()]).unwrap();
        }
        let text = String::from_utf8(buffer).unwrap();
        assert!(text.starts_with("\u{1b}[?1049h"), "{text:?}");
        assert!(text.contains("\u{1b}[?25l"), "{text:?}");
        assert!(text.ends_with("\u{1b}[?25h\u{1b}[?1049l"), "{text:?}");
    }
}
