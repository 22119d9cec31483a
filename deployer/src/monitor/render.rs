//! A snapshot as lines of text: values with sparklines over the window, top countries and
//! POPs, rule states, CloudFront's own metrics beside the analyser's, and the web ACL's
//! (with `[waf]`). Pure; colours only
//! when the caller says so (a terminal without `NO_COLOR`).

use super::snapshot::{Series, Share, Snapshot};

/// The bars of a sparkline, lowest first.
pub const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// How a frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// The longest sparkline, in minutes (the newest are kept).
    pub spark_width: usize,
}

impl Style {
    pub const PLAIN: Style = Style {
        color: false,
        spark_width: 60,
    };

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// One bar per minute, scaled from 0 to the largest value; a gap where a minute has no data.
pub fn sparkline(values: &[Option<f64>]) -> String {
    let max = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if !v.is_finite() => ' ',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => {
                let level = (v.max(0.0) / max * (BARS.len() - 1) as f64).round() as usize;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// `1.23`, `45.6`, `1234`, `12.3k`, `4.56M`.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Bytes per second in decimal units: `512 B/s`, `1.5 kB/s`, `2.0 MB/s`.
pub fn bytes_rate(v: f64) -> String {
    let units = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"];
    let mut value = v;
    let mut unit = 0;
    while value.abs() >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

pub fn percent(v: f64) -> String {
    format!("{v:.1} %")
}

pub fn millis(v: f64) -> String {
    format!("{v:.0} ms")
}

/// `HH:MM` of an RFC 3339 timestamp.
fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..16).unwrap_or(rfc3339)
}

/// A section's heading, with its minute when it has data, or the heading and `empty` marked
/// "no data yet" (rather than zeros pretending to be data). True when there is data.
fn heading(
    lines: &mut Vec<String>,
    style: Style,
    title: &str,
    minute: &Option<String>,
    empty: &str,
) -> bool {
    match minute {
        None => {
            lines.push(style.bold(title));
            lines.push(format!("  {} — {empty}", style.paint("33", "no data yet")));
            false
        }
        Some(minute) => {
            lines.push(style.bold(&format!("{title}, minute {} UTC", clock(minute))));
            true
        }
    }
}

fn row(style: Style, label: &str, series: &Series, format: fn(f64) -> String) -> String {
    let value = series.now.map_or_else(|| "—".to_string(), format);
    let skip = series.history.len().saturating_sub(style.spark_width);
    let spark = sparkline(&series.history[skip..]);
    format!("  {label:<16}{value:>12}  {}", style.paint("36", &spark))
}

fn shares(style: Style, label: &str, shares: &[Share]) -> String {
    let listed = if shares.is_empty() {
        style.dim("no data yet")
    } else {
        shares
            .iter()
            .map(|s| format!("{} {:.1} %", style.bold(&s.name), s.percent))
            .collect::<Vec<_>>()
            .join("  ")
    };
    format!("  {label:<16}{listed}")
}

/// The frame for a snapshot.
pub fn render(snapshot: &Snapshot, style: Style) -> Vec<String> {
    let s = snapshot;
    let mut lines = vec![
        style.bold(&format!(
            "deployer monitor · stack {} ({}) · {} ({})",
            s.stack, s.region, s.distribution_domain, s.distribution_id
        )),
        style.dim(&format!(
            "{} · sparklines: one bar a minute over the last {} min",
            s.at, s.window_minutes
        )),
        String::new(),
    ];

    let a = &s.analyser;
    let empty = format!(
        "the log analyser has published nothing for {} in the last {} min",
        s.distribution_domain, s.window_minutes
    );
    if heading(
        &mut lines,
        style,
        "Analyser (real-time logs)",
        &a.minute,
        &empty,
    ) {
        lines.push(row(style, "requests/s", &a.requests_per_second, number));
        lines.push(row(style, "bytes/s", &a.bytes_per_second, bytes_rate));
        lines.push(row(style, "4xx rate", &a.error_rate_4xx, percent));
        lines.push(row(style, "5xx rate", &a.error_rate_5xx, percent));
        lines.push(row(style, "cache hit ratio", &a.cache_hit_ratio, percent));
        lines.push(row(style, "latency p50", &a.latency_p50_ms, millis));
        lines.push(row(style, "latency p95", &a.latency_p95_ms, millis));
        lines.push(row(style, "latency p99", &a.latency_p99_ms, millis));
        lines.push(row(style, "origin p95", &a.origin_latency_p95_ms, millis));
    }
    lines.push(shares(style, "top countries", &s.top_countries));
    lines.push(shares(style, "top POPs", &s.top_edge_locations));
    lines.push(String::new());

    lines.push(style.bold("Rules (alarm evaluator)"));
    if s.rules.is_empty() {
        lines.push(format!("  {}", style.dim("alarms are off for this stack")));
    }
    for rule in &s.rules {
        let state = match rule.state {
            Some("OK") => style.paint("32", "OK"),
            Some("ALARM") => style.paint("1;31", "ALARM"),
            Some(other) => style.paint("33", other),
            None => style.dim("no state yet"),
        };
        lines.push(format!(
            "  {:<26}{:<10}{state}",
            rule.rule,
            rule.severity.to_lowercase()
        ));
    }
    lines.push(String::new());

    if let Some(canary) = &s.canary {
        let mut canary_lines = super::canary::lines(canary).into_iter();
        if let Some(title) = canary_lines.next() {
            lines.push(style.bold(&title));
        }
        lines.extend(canary_lines);
        lines.push(String::new());
    }

    let c = &s.cloudfront;
    let empty = format!(
        "CloudFront has published no Requests for {} in the last {} min",
        s.distribution_id, s.window_minutes
    );
    if heading(
        &mut lines,
        style,
        "CloudFront (AWS/CloudFront, us-east-1)",
        &c.minute,
        &empty,
    ) {
        lines.push(row(style, "requests/s", &c.requests_per_second, number));
        lines.push(row(style, "bytes/s", &c.bytes_per_second, bytes_rate));
        lines.push(row(style, "4xx rate", &c.error_rate_4xx, percent));
        lines.push(row(style, "5xx rate", &c.error_rate_5xx, percent));
        if c.additional_metrics {
            lines.push(row(style, "cache hit rate", &c.cache_hit_rate, percent));
            lines.push(row(style, "origin p95", &c.origin_latency_p95_ms, millis));
            for (code, rate) in &c.error_rate_by_status {
                lines.push(row(style, &format!("{code} rate"), rate, percent));
            }
        }
    }
    if !c.additional_metrics {
        lines.push(format!(
            "  {}",
            style.dim(
                "cache hit rate, origin latency, error rates by status: not published — turn on the distribution's additional metrics ([distribution] additional_metrics = true)"
            )
        ));
    }
    if let Some(waf) = &s.waf {
        lines.push(String::new());
        let empty = format!(
            "WAF has published no request counts for web ACL {} in the last {} min",
            waf.web_acl, s.window_minutes
        );
        let title = format!("WAF (AWS/WAFV2, us-east-1) · web ACL {}", waf.web_acl);
        if heading(&mut lines, style, &title, &waf.minute, &empty) {
            lines.push(row(style, "allowed/s", &waf.allowed_per_second, number));
            lines.push(row(style, "blocked/s", &waf.blocked_per_second, number));
            lines.push(row(style, "counted/s", &waf.counted_per_second, number));
            lines.push(row(style, "blocked share", &waf.blocked_percent, percent));
            let listed = if waf.top_rules.is_empty() {
                style.dim("no rule blocked or counted in the window")
            } else {
                waf.top_rules
                    .iter()
                    .map(|r| {
                        let mut parts = Vec::new();
                        if r.blocked > 0.0 {
                            parts.push(format!(
                                "{} blocked ({:.1} %)",
                                number_whole(r.blocked),
                                r.percent_of_blocked
                            ));
                        }
                        if r.counted > 0.0 {
                            parts.push(format!("{} counted", number_whole(r.counted)));
                        }
                        format!("{} {}", style.bold(&r.rule), parts.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            lines.push(format!("  {:<16}{listed}", "top rules"));
        }
    }
    lines
}

/// A count of requests: whole below 10,000, then as [`number`] does.
fn number_whole(v: f64) -> String {
    if v.abs() < 1e4 {
        format!("{v:.0}")
    } else {
        number(v)
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::{CloudFront, RuleStatus, Traffic};
    use super::*;

    fn series(now: Option<f64>, history: &[Option<f64>]) -> Series {
        Series {
            now,
            history: history.to_vec(),
        }
    }

    #[test]
    fn sparklines_scale_from_zero_to_the_largest_value() {
        assert_eq!(
            sparkline(&[Some(0.0), Some(1.0), Some(3.5), Some(7.0)]),
            "▁▂▅█"
        );
        assert_eq!(sparkline(&[Some(2.0), None, Some(2.0)]), "█ █");
        assert_eq!(sparkline(&[Some(0.0), Some(0.0)]), "▁▁");
        assert_eq!(sparkline(&[None, None]), "  ");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[Some(f64::NAN), Some(1.0)]), " █");
    }

    #[test]
    fn numbers() {
        assert_eq!(number(2.0), "2.00");
        assert_eq!(number(45.67), "45.7");
        assert_eq!(number(1234.0), "1234");
        assert_eq!(number(12_345.0), "12.3k");
        assert_eq!(number(4_560_000.0), "4.56M");
        assert_eq!(bytes_rate(512.0), "512 B/s");
        assert_eq!(bytes_rate(1500.0), "1.5 kB/s");
        assert_eq!(bytes_rate(2_000_000.0), "2.0 MB/s");
        assert_eq!(percent(2.5), "2.5 %");
        assert_eq!(millis(179.6), "180 ms");
    }

    fn fixed() -> Snapshot {
        let h = |v: [Option<f64>; 4]| v.to_vec();
        Snapshot {
            at: "2023-11-14T22:14:35Z".to_string(),
            stack: "shop".to_string(),
            region: "eu-west-1".to_string(),
            distribution_id: "E1".to_string(),
            distribution_domain: "d1.cloudfront.net".to_string(),
            window_minutes: 4,
            analyser: Traffic {
                minute: Some("2023-11-14T22:13:00Z".to_string()),
                requests_per_second: series(Some(2.0), &h([Some(1.0), None, Some(0.5), Some(2.0)])),
                bytes_per_second: series(Some(1500.0), &h([None, None, None, Some(1500.0)])),
                error_rate_4xx: series(Some(5.0), &h([Some(0.0), None, None, Some(5.0)])),
                error_rate_5xx: series(Some(2.5), &h([None, None, None, Some(2.5)])),
                cache_hit_ratio: series(Some(75.0), &h([None, None, None, Some(75.0)])),
                latency_p50_ms: series(Some(40.0), &h([None, None, None, Some(40.0)])),
                latency_p95_ms: series(Some(180.0), &h([None, None, None, Some(180.0)])),
                latency_p99_ms: series(Some(450.0), &h([None, None, None, Some(450.0)])),
                origin_latency_p95_ms: series(None, &[None; 4]),
            },
            top_countries: vec![
                Share {
                    name: "US".to_string(),
                    requests: 30.0,
                    percent: 60.0,
                },
                Share {
                    name: "DE".to_string(),
                    requests: 10.0,
                    percent: 20.0,
                },
            ],
            top_edge_locations: Vec::new(),
            rules: vec![
                RuleStatus {
                    rule: "HighLatency".to_string(),
                    severity: "WARNING",
                    state: Some("ALARM"),
                },
                RuleStatus {
                    rule: "High5xxErrorRate".to_string(),
                    severity: "CRITICAL",
                    state: None,
                },
            ],
            cloudfront: CloudFront::default(),
            waf: None,
            canary: None,
        }
    }

    #[test]
    fn a_fixed_snapshot_renders_plainly() {
        let got = render(&fixed(), Style::PLAIN).join("\n");
        let want = "\
deployer monitor · stack shop (eu-west-1) · d1.cloudfront.net (E1)
2023-11-14T22:14:35Z · sparklines: one bar a minute over the last 4 min

Analyser (real-time logs), minute 22:13 UTC
  requests/s              2.00  ▅ ▃█
  bytes/s             1.5 kB/s     █
  4xx rate               5.0 %  ▁  █
  5xx rate               2.5 %     █
  cache hit ratio       75.0 %     █
  latency p50            40 ms     █
  latency p95           180 ms     █
  latency p99           450 ms     █
  origin p95                 —      
  top countries   US 60.0 %  DE 20.0 %
  top POPs        no data yet

Rules (alarm evaluator)
  HighLatency               warning   ALARM
  High5xxErrorRate          critical  no state yet

CloudFront (AWS/CloudFront, us-east-1)
  no data yet — CloudFront has published no Requests for E1 in the last 4 min
  cache hit rate, origin latency, error rates by status: not published — turn on the distribution's additional metrics ([distribution] additional_metrics = true)";
        assert_eq!(got, want, "\n{got}");
        assert!(!got.contains('\u{1b}'));
    }

    #[test]
    fn colours_only_when_asked_and_sparklines_keep_the_newest_minutes() {
        let style = Style {
            color: true,
            spark_width: 2,
        };
        let lines = render(&fixed(), style);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("\u{1b}[1;31mALARM\u{1b}[0m"))
        );
        let requests = lines.iter().find(|l| l.contains("requests/s")).unwrap();
        assert!(requests.contains("\u{1b}[36m▃█\u{1b}[0m"), "{requests}");
    }

    #[test]
    fn no_data_yet_rather_than_zeros() {
        let mut snapshot = fixed();
        snapshot.analyser = Traffic::default();
        let text = render(&snapshot, Style::PLAIN).join("\n");
        assert!(text.contains("no data yet — the log analyser has published nothing"));
        assert!(!text.contains("requests/s"));
    }

    #[test]
    fn the_canary_comparison_shows_only_while_staging_exists() {
        let mut snapshot = fixed();
        let text = render(&snapshot, Style::PLAIN).join("\n");
        assert!(!text.contains("Canary"), "{text}");
        let config = cfrp_config::StackConfig::for_origin("shop", "eu-west-1", "o.example.com");
        let end = 1_700_000_100_000;
        let mut results = super::super::snapshot::Results::new();
        results.insert("cs0".to_string(), vec![(end - 60_000, 100.0)]);
        results.insert("cs1".to_string(), vec![(end - 60_000, 8.0)]);
        results.insert("cr0".to_string(), vec![(end - 60_000, 1.0)]);
        snapshot.canary = Some(super::super::canary::build(
            &config,
            "d1.cloudfront.net",
            "d2.cloudfront.net",
            &results,
            end + 5_000,
        ));
        let text = render(&snapshot, Style::PLAIN).join("\n");
        assert!(text.contains("Canary (last 5 minutes)"), "{text}");
        assert!(text.contains("d2.cloudfront.net"), "{text}");
        assert!(text.contains("8.00 %"), "{text}");
        let alarm = text
            .lines()
            .find(|l| l.trim_start().starts_with("canary-5xx"))
            .unwrap_or_default();
        assert!(alarm.contains("ALARM"), "{text}");
        let json = serde_json::to_value(&snapshot).unwrap_or_default();
        assert_eq!(json["canary"]["staging"]["requests"], 100.0);
        assert_eq!(json["canary"]["rules"][0]["state"], "ALARM");
    }
}
