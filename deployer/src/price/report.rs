//! Views of an [`Estimate`]: JSON with every line item per class, or a text table (and, with
//! `--compare`, all classes with a bar chart). Text rounds to cents; JSON keeps full values.

use std::io::{self, Write};

use super::{ClassEstimate, Estimate};

/// `12,345,678` (no fraction); fractions are rounded.
pub fn count(value: f64) -> String {
    let rounded = value.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A quantity: whole numbers with separators; fractions to 2 decimals from 1,000 up, else
/// to at most 4.
fn quantity(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        count(value)
    } else if value >= 1000.0 {
        let cents = (value * 100.0).round();
        format!(
            "{}.{:02}",
            count((cents / 100.0).trunc()),
            (cents % 100.0) as u64
        )
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Dollars rounded to cents; a non-zero amount under half a cent shows as `<$0.01`.
pub fn money(value: f64) -> String {
    if value > 0.0 && value < 0.005 {
        return "<$0.01".to_string();
    }
    let cents = (value * 100.0).round();
    let whole = count((cents / 100.0).trunc());
    format!("${whole}.{:02}", (cents % 100.0).abs() as u64)
}

fn unit_price(value: f64) -> String {
    let text = format!("{value:.10}");
    format!("${}", text.trim_end_matches('0').trim_end_matches('.'))
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

pub fn json(estimate: &Estimate, out: &mut dyn Write) -> io::Result<()> {
    let value = serde_json::to_value(estimate).map_err(io::Error::other)?;
    writeln!(out, "{value:#}")
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

pub fn text(
    estimate: &Estimate,
    compare: bool,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let style = Style { color };
    let t = &estimate.traffic;
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Monthly cost estimate for stack \"{}\" — CloudFront on-demand list prices read {}",
            estimate.stack, estimate.table.as_of
        ))
    )?;
    writeln!(
        out,
        "Traffic ({}): {} requests, {} GB, {} HTTPS, {} invalidation paths",
        t.source,
        count(t.requests),
        quantity(t.gb),
        percent(t.https_share),
        count(t.invalidation_paths as f64)
    )?;
    let geo: Vec<String> = t
        .geo
        .iter()
        .map(|s| {
            if s.viewer == s.region.id() {
                format!("{} {}", s.viewer, percent(s.share))
            } else {
                format!("{} {} ({})", s.viewer, percent(s.share), s.region.id())
            }
        })
        .collect();
    writeln!(out, "Viewers: {}", geo.join(", "))?;
    writeln!(out)?;
    if let Some(class) = estimate.class(estimate.price_class) {
        itemise(class, &style, out)?;
    }
    if compare {
        writeln!(out)?;
        comparison(estimate, &style, out)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", style.bold("Sources"))?;
    let p = &estimate.table;
    for (what, source) in [
        ("CloudFront", p.cloudfront),
        ("CloudFront requests", p.cloudfront_requests),
        ("Price classes", p.price_classes),
        ("Lambda", p.lambda),
        ("Kinesis", p.kinesis),
        ("CloudWatch", p.cloudwatch),
        ("Standard logs", p.standard_logs),
        ("Origin Shield", p.origin_shield),
    ] {
        writeln!(out, "  {what}: {source}")?;
    }
    writeln!(out, "{}", style.bold("Notes"))?;
    for note in &estimate.notes {
        writeln!(out, "  - {note}")?;
    }
    Ok(())
}

fn itemise(class: &ClassEstimate, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", style.bold(class.price_class.as_str()))?;
    let rows: Vec<[String; 4]> = class
        .line_items
        .iter()
        .map(|i| {
            [
                i.description.clone(),
                if i.unit.starts_with(|c: char| c.is_ascii_digit()) {
                    format!("{} × {}", quantity(i.quantity), i.unit)
                } else {
                    format!("{} {}", quantity(i.quantity), i.unit)
                },
                format!("{} / {}", unit_price(i.unit_price), i.unit),
                money(i.cost),
            ]
        })
        .collect();
    let header = [
        "Item".to_string(),
        "Quantity".to_string(),
        "Unit price".to_string(),
        "Cost".to_string(),
    ];
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String; 4]| {
        format!(
            "  {:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
    };
    writeln!(out, "{}", style.dim(&line(&header)))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    let total_width = widths.iter().sum::<usize>() + 6;
    for (label, value) in [
        ("CloudFront", class.cloudfront),
        ("Stack (Kinesis, Lambda)", class.stack),
    ] {
        writeln!(
            out,
            "  {label:<w$}{:>10}",
            money(value),
            w = total_width.saturating_sub(10)
        )?;
    }
    writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "{:<w$}{:>10}",
            "Total per month",
            money(class.total),
            w = total_width.saturating_sub(10)
        ))
    )?;
    if !class.outside.is_empty() {
        writeln!(
            out,
            "  Outside {}'s edge regions — served from a farther edge (higher latency), billed at {} rates:",
            class.price_class,
            class.outside[0].billed_as.id()
        )?;
        for o in &class.outside {
            writeln!(
                out,
                "    {} {} ({})",
                o.viewer,
                percent(o.share),
                o.region.id()
            )?;
        }
    }
    Ok(())
}

/// Eighths of a block, for bars drawn with plain Unicode block characters.
const PARTIAL: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const BAR_WIDTH: f64 = 40.0;

/// A bar of `value / max` of [`BAR_WIDTH`] cells.
pub fn bar(value: f64, max: f64) -> String {
    if max <= 0.0 || value <= 0.0 {
        return String::new();
    }
    let eighths = (value / max * BAR_WIDTH * 8.0).round() as usize;
    let mut text = "█".repeat(eighths / 8);
    text.push_str(PARTIAL[eighths % 8]);
    text
}

fn comparison(estimate: &Estimate, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", style.bold("All price classes"))?;
    writeln!(
        out,
        "{}",
        style.dim(&format!(
            "  {:<16}{:>14}{:>14}{:>14}  Viewers outside the class's edge regions",
            "Class", "CloudFront", "Stack", "Total"
        ))
    )?;
    for class in &estimate.classes {
        let outside: Vec<String> = class
            .outside
            .iter()
            .map(|o| format!("{} {}", o.viewer, percent(o.share)))
            .collect();
        let mark = if class.price_class == estimate.price_class {
            " *"
        } else {
            ""
        };
        writeln!(
            out,
            "  {:<16}{:>14}{:>14}{:>14}  {}",
            format!("{}{mark}", class.price_class),
            money(class.cloudfront),
            money(class.stack),
            money(class.total),
            if outside.is_empty() {
                "none".to_string()
            } else {
                outside.join(", ")
            }
        )?;
    }
    writeln!(out)?;
    let max = estimate
        .classes
        .iter()
        .map(|c| c.total)
        .fold(0.0_f64, f64::max);
    let min = estimate
        .classes
        .iter()
        .map(|c| c.total)
        .fold(f64::INFINITY, f64::min);
    for class in &estimate.classes {
        let bar = bar(class.total, max);
        let bar = if (class.total - min).abs() < 1e-9 {
            style.paint("32", &bar)
        } else {
            style.paint("36", &bar)
        };
        writeln!(
            out,
            "  {:<16}{bar} {}",
            class.price_class.as_str(),
            money(class.total)
        )?;
    }
    writeln!(
        out,
        "  {}",
        style.dim(
            "* itemised above. Viewers outside a class's edge regions are served from a farther edge (higher latency)."
        )
    )?;
    Ok(())
}
