//! `[standard_logs]`: CloudFront standard access logs (v2) through CloudWatch Logs delivery,
//! checked for what CloudWatch Logs and CloudFront would refuse.

use std::collections::HashSet;

use super::{checked, choice};
use crate::checks;
use crate::error::Report;
use crate::reader::TableReader;
use crate::schema::{
    STANDARD_LOG_FIELDS, StandardLogs, StandardLogsDestination, StandardLogsFormat,
};

/// A CloudWatch Logs log group name (the API's pattern `[\.\-_/#A-Za-z0-9]+`, 1–512).
fn log_group_name(name: &str) -> Result<(), String> {
    let ok = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if ok {
        Ok(())
    } else {
        Err("a log group name: 1–512 of letters, digits and . _ - / #".to_string())
    }
}

/// A key prefix under the bucket: S3's safe key characters, no empty path segment.
fn key_prefix(prefix: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!-_.*'()/".contains(c))
        && prefix.split('/').all(|segment| !segment.is_empty());
    if ok {
        Ok(())
    } else {
        Err("a key prefix: 1–256 of letters, digits and ! - _ . * ' ( ) /, without a leading, trailing or doubled /".to_string())
    }
}

pub(super) fn read_standard_logs(mut t: TableReader, r: &mut Report) -> StandardLogs {
    let destination_given = t.contains("destination");
    let destination = choice(
        &mut t,
        "destination",
        r,
        StandardLogsDestination::parse,
        StandardLogsDestination::allowed(),
        StandardLogsDestination::S3,
    );
    if !destination_given {
        r.add(
            &t.path_of("destination"),
            t.span(),
            "missing; add `destination = \"s3\"` (with bucket) or `destination = \"cloudwatch_logs\"` (with log_group)",
        );
    }
    let bucket = checked(&mut t, "bucket", r, checks::bucket_name);
    let prefix = checked(&mut t, "prefix", r, key_prefix);
    let log_group = checked(&mut t, "log_group", r, log_group_name);
    match destination {
        StandardLogsDestination::S3 => {
            if let Some(group) = &log_group {
                r.add(&group.path, group.span.clone(), "log_group is for destination = \"cloudwatch_logs\"; with \"s3\" name the bucket (and prefix)");
            }
            if bucket.is_none() && !t.contains("bucket") && destination_given {
                r.add(
                    &t.path_of("bucket"),
                    t.span(),
                    "missing; destination \"s3\" needs the bucket's name: add `bucket = \"my-logs\"`",
                );
            }
        }
        StandardLogsDestination::CloudwatchLogs => {
            for at in [&bucket, &prefix].into_iter().flatten() {
                r.add(&at.path, at.span.clone(), "bucket and prefix are for destination = \"s3\"; with \"cloudwatch_logs\" name the log_group");
            }
            if log_group.is_none() && !t.contains("log_group") {
                r.add(
                    &t.path_of("log_group"),
                    t.span(),
                    "missing; destination \"cloudwatch_logs\" needs a log group in us-east-1: add `log_group = \"/aws/vendedlogs/cloudfront/NAME\"`",
                );
            }
        }
    }
    let format_at = t.contains("format").then(|| t.path_of("format"));
    let format = choice(
        &mut t,
        "format",
        r,
        StandardLogsFormat::parse,
        StandardLogsFormat::allowed(),
        StandardLogsFormat::Json,
    );
    if format == StandardLogsFormat::Parquet
        && destination != StandardLogsDestination::S3
        && let Some(path) = format_at
    {
        let span = t.string("format", r).and_then(|at| at.span);
        r.add(
            &path,
            span,
            "\"parquet\" is only delivered to S3; with \"cloudwatch_logs\" use one of: json, plain, w3c, raw",
        );
    }
    let fields = match t.strings("fields", r) {
        Some(listed) => {
            if listed.is_empty() {
                r.add(
                    &t.path_of("fields"),
                    t.span(),
                    "an empty list delivers nothing; name fields or remove the key for all of them",
                );
            }
            let mut seen = HashSet::new();
            let mut fields = Vec::new();
            for field in listed {
                if !STANDARD_LOG_FIELDS.contains(&field.value.as_str()) {
                    r.add(
                        &field.path,
                        field.span.clone(),
                        format!(
                            "\"{}\" is not a standard log field; use one of: {}",
                            field.value,
                            STANDARD_LOG_FIELDS.join(", ")
                        ),
                    );
                } else if !seen.insert(field.value.clone()) {
                    r.add(
                        &field.path,
                        field.span.clone(),
                        format!("\"{}\" is listed twice", field.value),
                    );
                } else {
                    fields.push(field.value);
                }
            }
            fields
        }
        None => STANDARD_LOG_FIELDS.iter().map(|f| f.to_string()).collect(),
    };
    t.finish(r);
    StandardLogs {
        destination,
        bucket: bucket.map(|at| at.value),
        prefix: prefix.map(|at| at.value),
        log_group: log_group.map(|at| at.value),
        format,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use crate::StackConfig;
    use crate::schema::{STANDARD_LOG_FIELDS, StandardLogsDestination, StandardLogsFormat};

    fn parse(section: &str) -> Result<StackConfig, String> {
        let text = format!(
            "name = \"shop\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n\n[standard_logs]\n{section}"
        );
        StackConfig::parse(&text, "proxy.toml").map_err(|e| e.to_string())
    }

    fn refused(section: &str) -> String {
        match parse(section) {
            Ok(config) => panic!("accepted: {:?}", config.standard_logs),
            Err(message) => message,
        }
    }

    #[test]
    fn an_s3_destination_with_defaults() {
        let config = parse("destination = \"s3\"\nbucket = \"shop-logs\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let logs = config.standard_logs.unwrap_or_else(|| panic!("no section"));
        assert_eq!(logs.destination, StandardLogsDestination::S3);
        assert_eq!(logs.bucket.as_deref(), Some("shop-logs"));
        assert_eq!(logs.format, StandardLogsFormat::Json);
        assert_eq!(logs.fields, STANDARD_LOG_FIELDS);
        assert!(parse("").is_err());
        let none = StackConfig::parse(
            "name = \"shop\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n",
            "proxy.toml",
        );
        assert!(none.is_ok_and(|c| c.standard_logs.is_none()));
    }

    #[test]
    fn a_log_group_destination_with_fields_and_format() {
        let config = parse("destination = \"cloudwatch_logs\"\nlog_group = \"/aws/vendedlogs/cloudfront/shop\"\nformat = \"plain\"\nfields = [\"date\", \"sc-status\"]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let logs = config
            .standard_logs
            .clone()
            .unwrap_or_else(|| panic!("no section"));
        assert_eq!(logs.destination, StandardLogsDestination::CloudwatchLogs);
        assert_eq!(logs.format, StandardLogsFormat::Plain);
        assert_eq!(logs.fields, ["date", "sc-status"]);
        // The config round-trips through its file form.
        assert!(config.validate().is_ok());
    }

    #[test]
    fn each_mistake_is_named_at_its_line_with_what_is_allowed() {
        let message = refused("destination = \"kinesis\"\nbucket = \"shop-logs\"\n");
        assert!(message.contains("standard_logs.destination"), "{message}");
        assert!(message.contains("proxy.toml:7:15"), "{message}");
        assert!(message.contains("s3, cloudwatch_logs"), "{message}");

        let message = refused("destination = \"s3\"\n");
        assert!(
            message.contains("standard_logs.bucket") && message.contains("missing"),
            "{message}"
        );

        let message =
            refused("destination = \"cloudwatch_logs\"\nlog_group = \"g\"\nformat = \"parquet\"\n");
        assert!(message.contains("standard_logs.format"), "{message}");
        assert!(message.contains("only delivered to S3"), "{message}");
        assert!(message.contains("proxy.toml:9:"), "{message}");

        let message = refused(
            "destination = \"cloudwatch_logs\"\nbucket = \"shop-logs\"\nlog_group = \"g\"\n",
        );
        assert!(
            message.contains("standard_logs.bucket")
                && message.contains("for destination = \"s3\""),
            "{message}"
        );

        let message = refused(
            "destination = \"s3\"\nbucket = \"shop-logs\"\nfields = [\"date\", \"sc-statuss\", \"date\"]\n",
        );
        assert!(message.contains("standard_logs.fields[1]"), "{message}");
        assert!(
            message.contains("\"sc-statuss\" is not a standard log field"),
            "{message}"
        );
        assert!(message.contains("cs(User-Agent)"), "{message}");
        assert!(
            message.contains("standard_logs.fields[2]") && message.contains("listed twice"),
            "{message}"
        );

        let message =
            refused("destination = \"s3\"\nbucket = \"shop-logs\"\nprefix = \"/logs/\"\n");
        assert!(message.contains("standard_logs.prefix"), "{message}");

        let message = refused("destination = \"s3\"\nbucket = \"shop-logs\"\nformats = \"json\"\n");
        assert!(message.contains("formats"), "{message}");
    }

    #[test]
    fn the_field_list_is_the_one_the_emulator_reads() {
        let file = include_str!("../../standard-log-fields.txt");
        let listed: Vec<&str> = file
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(listed, STANDARD_LOG_FIELDS);
    }
}
