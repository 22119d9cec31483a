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
