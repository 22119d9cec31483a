//! `deployer validate` as a user runs it: the real binary, exit codes and output.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::process::Command;

fn deployer(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|err| panic!("{err}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_valid_file_exits_zero() {
    let (code, out) = deployer(&["validate", "--config", "../shared/examples/proxy.toml"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("valid stack \"shop\" (2 origins, 3 behaviours"),
        "{out}"
    );
}

#[test]
fn every_problem_is_printed_with_its_position_and_the_exit_code_is_one() {
    let (code, out) = deployer(&[
        "validate",
        "--config",
        "../shared/tests/fixtures/every-mistake.toml",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("every-mistake.toml:20:14: origins[0].https_port: 70000 is out of range"),
        "{out}"
    );
    assert!(
        out.contains("every-mistake.toml:34:32: logging.fields[2]"),
        "{out}"
    );
    assert!(
        out.lines().filter(|l| l.starts_with("  ")).count() >= 30,
        "{out}"
    );
}

#[test]
fn json_output_lists_problems_for_scripts() {
    let (code, out) = deployer(&[
        "validate",
        "--output",
        "json",
        "--config",
        "../shared/tests/fixtures/every-mistake.toml",
    ]);
    assert_eq!(code, 1);
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"));
    assert_eq!(value["valid"], false);
    let problems = value["problems"].as_array().cloned().unwrap_or_default();
    assert!(
        problems
            .iter()
            .any(|p| p["field"] == "origins[0].https_port" && p["line"] == 20 && p["column"] == 14)
    );
}

#[test]
fn a_missing_file_says_how_to_get_one() {
    let (code, out) = deployer(&["validate", "--config", "no-such.toml"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("cannot read config file no-such.toml") && out.contains("--config"),
        "{out}"
    );
}

#[test]
fn weak_choices_are_warnings_after_the_ok_line_and_the_exit_code_stays_zero() {
    let (code, out) = deployer(&[
        "validate",
        "--config",
        "../shared/tests/fixtures/weak-choices.toml",
    ]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("valid stack \"weak\""), "{out}");
    assert_eq!(
        lines[1],
        "../shared/tests/fixtures/weak-choices.toml has 5 warnings (valid, but weaker than it could be):"
    );
    let expected = [
        "weak-choices.toml:10:12: origins[0].protocol: \"http-only\": CloudFront sends every request to this origin over plain HTTP, so the X-Origin-Verify secret travels in clear",
        "weak-choices.toml:15:12: origins[1].protocol: \"match-viewer\": viewers on plain HTTP (default_behavior allows them)",
        "weak-choices.toml:16:28: origins[1].tls_versions[1]: \"TLSv1\" lets CloudFront connect to this origin with a protocol older than TLS 1.2",
        "weak-choices.toml:20:19: default_behavior.viewer_protocol: \"allow-all\": viewers may use plain HTTP",
        "weak-choices.toml: distribution.aliases: none: viewers use the *.cloudfront.net name with CloudFront's default certificate, for which CloudFront applies security policy TLSv1",
    ];
    for (line, want) in lines[2..].iter().zip(expected) {
        assert!(line.contains(want), "{line}\n  wanted: {want}");
    }
    assert_eq!(lines.len(), 7, "{out}");
}

#[test]
fn json_output_lists_warnings_with_their_positions() {
    let (code, out) = deployer(&[
        "validate",
        "--output",
        "json",
        "--config",
        "../shared/tests/fixtures/weak-choices.toml",
    ]);
    assert_eq!(code, 0, "{out}");
    let value: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"));
    assert_eq!(value["valid"], true);
    assert_eq!(value["problems"], serde_json::json!([]));
    let warnings = value["warnings"].as_array().cloned().unwrap_or_default();
    let fields: Vec<&str> = warnings
        .iter()
        .filter_map(|w| w["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "origins[0].protocol",
            "origins[1].protocol",
            "origins[1].tls_versions[1]",
            "default_behavior.viewer_protocol",
            "distribution.aliases",
        ]
    );
    assert_eq!(warnings[2]["line"], 16);
    assert_eq!(warnings[2]["column"], 28);
    assert!(warnings[4]["line"].is_null() && warnings[4]["column"].is_null());
    assert!(
        warnings[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("set protocol = \"https-only\""))
    );
}

#[test]
fn the_example_stack_has_no_warnings() {
    let (code, out) = deployer(&["validate", "--config", "../shared/examples/proxy.toml"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
}
