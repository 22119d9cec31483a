//! `deployer validate`: every problem of a config file in one report, then the weak choices
//! it makes (warnings, which leave the exit code at 0).

use std::io::Write;
use std::path::Path;

use cfrp_config::{ConfigError, StackConfig, Warnings};
use serde_json::json;

use crate::cli::{Output, StackArgs};

/// Process exit code: 0 when the file is valid, 1 when it has problems or cannot be read.
pub fn run(
    path: &Path,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, crate::commands::CommandError> {
    let result = StackConfig::load_with_warnings(path);
    match output {
        Output::Text => match &result {
            Ok((config, warnings)) => {
                writeln!(
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
                )?;
                write_warnings(warnings, out)?;
            }
            Err(err) => write!(out, "{}", with_newline(&err.to_string()))?,
        },
        Output::Json => {
            let value = match &result {
                Ok((config, warnings)) => {
                    json!({"file": path.display().to_string(), "valid": true, "stack": config.name, "problems": [], "warnings": warnings_json(warnings)})
                }
                Err(err) => {
                    json!({"file": path.display().to_string(), "valid": false, "problems": problems_json(err), "warnings": []})
                }
            };
            writeln!(out, "{value:#}")?;
        }
    }
    Ok(if result.is_ok() { 0 } else { 1 })
}

/// The warnings of the config `plan` runs on: located in the file, or from the flags.
pub fn warnings_of(path: &Path, args: &StackArgs, config: &StackConfig) -> Warnings {
    match &args.origin_domain {
        Some(_) => Warnings::of(config, "<flags>", None),
        None => {
            let source = std::fs::read_to_string(path).ok();
            Warnings::of(config, &path.display().to_string(), source.as_deref())
        }
    }
}

/// The text view: nothing when there are none.
pub fn write_warnings(warnings: &Warnings, out: &mut dyn Write) -> std::io::Result<()> {
    if warnings.is_empty() {
        Ok(())
    } else {
        write!(out, "{warnings}")
    }
}

/// The JSON view: `[{field, line, column, message}]`.
pub fn warnings_json(warnings: &Warnings) -> serde_json::Value {
    warnings
        .warnings
        .iter()
        .map(|w| {
            json!({
                "field": w.field,
                "line": w.location.map(|l| l.line),
                "column": w.location.map(|l| l.column),
                "message": w.message,
            })
        })
        .collect()
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
