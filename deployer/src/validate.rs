//! `deployer validate`: every problem of a config file in one report.

use std::io::Write;

use cfrp_config::{ConfigError, StackConfig};
use serde_json::json;

use crate::cli::Output;

/// Process exit code: 0 when the file is valid, 1 when it has problems or cannot be read.
pub fn run(
    path: &std::path::Path,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, crate::commands::CommandError> {
    let result = StackConfig::load(path);
    match output {
        Output::Text => match &result {
            Ok(config) => writeln!(
                out,
                "{}: valid stack \"{}\" ({} origin{}, {} behaviour{}, {} alarm rule{})",
                path.display(),
                config.name,
                config.origins.len(),
                plural(config.origins.len()),
                config.behaviors.len() + 1,
                plural(config.behaviors.len() + 1),
                config.alarms.rules.len(),
                plural(config.alarms.rules.len()),
            )?,
            Err(err) => write!(out, "{}", with_newline(&err.to_string()))?,
        },
        Output::Json => {
            let value = match &result {
                Ok(config) => {
                    json!({"file": path.display().to_string(), "valid": true, "stack": config.name, "problems": []})
                }
                Err(err) => {
                    json!({"file": path.display().to_string(), "valid": false, "problems": problems_json(err)})
                }
            };
            writeln!(out, "{value:#}")?;
        }
    }
    Ok(if result.is_ok() { 0 } else { 1 })
}

fn problems_json(err: &ConfigError) -> serde_json::Value {
    match err {
        ConfigError::Invalid(report) => report
            .problems
            .iter()
            .map(|p| {
                json!({
                    "field": p.field,
                    "message": p.message,
                    "line": p.location.map(|l| l.line),
                    "column": p.location.map(|l| l.column),
                })
            })
            .collect(),
        ConfigError::Syntax {
            location, message, ..
        } => {
            json!([{"field": null, "message": message, "line": location.line, "column": location.column}])
        }
        other => {
            json!([{"field": null, "message": other.to_string(), "line": null, "column": null}])
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn with_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}
