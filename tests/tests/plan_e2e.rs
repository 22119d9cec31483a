//! The plan/apply workflow against the emulator, through the real binary: a saved plan applied
//! exactly, a saved plan refused when the config or the cloud moved, `up` refused without a
//! terminal and without `--yes`, and the prompt under a pseudo-terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use cfrp_tests::deploy::{StackFile, artifacts, deployer, down, stack_file, up};
use cfrp_tests::pty::deployer_under_pty;
use cfrp_tests::{sdk_config, unique};
use serde_json::Value;

fn stack(prefix: &str) -> StackFile {
    let name: String = unique(prefix).chars().take(32).collect();
    stack_file(&name, |t| t)
}

fn config(stack: &StackFile) -> String {
    stack.path.to_string_lossy().to_string()
}

fn plan_file(stack: &StackFile) -> String {
    stack
        .path
        .with_file_name("plan.json")
        .to_string_lossy()
        .to_string()
}

/// `deployer plan --out FILE` (exit 2: changes pending); its JSON report.
fn plan_out(stack: &StackFile) -> Value {
    let art = artifacts().to_string_lossy().to_string();
    let (config, file) = (config(stack), plan_file(stack));
    deployer(&[
        "--config",
        &config,
        "--output",
        "json",
        "plan",
        "--artifacts",
        &art,
        "--out",
        &file,
    ])
    .expect_code(2)
    .json()
}

/// `(kind, name, action)` of every change a report lists that is not `unchanged`.
fn changed(report: &Value) -> BTreeSet<(String, String, String)> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// How many resources a plan of the stack would create now (all of them: nothing exists).
fn creates_pending(stack: &StackFile) -> u64 {
    let report = cfrp_tests::deploy::plan(stack);
    report["summary"]["create"].as_u64().unwrap()
}

#[test]
fn a_saved_plan_is_applied_exactly_and_then_there_is_nothing_left_to_do() {
    let stack = stack("plan-exact");
    let planned = plan_out(&stack);
    assert!(changed(&planned).len() > 30, "{planned:#}");
    // The saved file is the plan value: steps with their dependencies, every decision.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(plan_file(&stack)).unwrap()).unwrap();
    assert_eq!(saved["format"], 1);
    assert!(saved["steps"].as_array().unwrap().len() > 10);
    assert!(
        saved["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| !s["depends_on"].as_array().unwrap().is_empty())
    );

    let (config, file) = (config(&stack), plan_file(&stack));
    let art = artifacts().to_string_lossy().to_string();
    let applied = deployer(&[
        "--config",
        &config,
        "--output",
        "json",
        "up",
        "--plan",
        &file,
        "--artifacts",
        &art,
    ])
    .expect_code(0)
    .json();
    assert_eq!(applied["mode"], "apply");
    // Exactly what the plan listed, resource by resource and action by action.
    assert_eq!(changed(&applied), changed(&planned));
    assert!(
        applied["mutating_calls"].as_u64().unwrap() >= 45,
        "{applied:#}"
    );
    // Every step reports how long it took.
    assert!(
        applied["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["seconds"].is_number())
    );

    // Applied: the same file no longer describes the cloud, and a new plan finds nothing.
    let again = deployer(&[
        "--config",
        &config,
        "up",
        "--plan",
        &file,
        "--artifacts",
        &art,
    ])
    .expect_code(1);
    assert!(
        again.stderr.contains("no longer applies"),
        "{}",
        again.stderr
    );
    deployer(&["--config", &config, "plan", "--artifacts", &art]).expect_code(0);
    down(&stack);
}

#[test]
fn a_saved_plan_is_refused_when_one_config_field_changed() {
    let stack = stack("plan-config");
    let before = plan_out(&stack);
    let text = std::fs::read_to_string(&stack.path).unwrap();
    std::fs::write(
        &stack.path,
        text.replace("sampling_rate = 100", "sampling_rate = 50"),
    )
    .unwrap();
    let (config, file) = (config(&stack), plan_file(&stack));
    let art = artifacts().to_string_lossy().to_string();
    let refused = deployer(&[
        "--config",
        &config,
        "up",
        "--plan",
        &file,
        "--artifacts",
        &art,
    ])
    .expect_code(1);
    assert!(
        refused
            .stderr
            .contains("config field logging.sampling_rate changed: 100 → 50"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );
    // Nothing was made: a plan still creates everything.
    assert_eq!(
        creates_pending(&stack),
        before["summary"]["create"].as_u64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_when_the_distribution_changed_behind_its_back() {
    let stack = stack("plan-cloud");
    let report = up(&stack);
    let id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A pending change, saved as a plan.
    let text = std::fs::read_to_string(&stack.path).unwrap();
    std::fs::write(
        &stack.path,
        text.replace("read_timeout_seconds = 30", "read_timeout_seconds = 45"),
    )
    .unwrap();
    let planned = plan_out(&stack);
    assert_eq!(changed(&planned).len(), 1, "{planned:#}");

    // Someone edits the distribution's comment in the console.
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let got = cloudfront
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap();
    let mut edited = got.distribution_config.unwrap();
    edited.comment = "edited by hand".to_string();
    cloudfront
        .update_distribution()
        .id(&id)
        .if_match(got.e_tag.unwrap())
        .distribution_config(edited)
        .send()
        .await
        .unwrap();

    let (config, file) = (config(&stack), plan_file(&stack));
    let art = artifacts().to_string_lossy().to_string();
    let refused = deployer(&[
        "--config",
        &config,
        "up",
        "--plan",
        &file,
        "--artifacts",
        &art,
    ])
    .expect_code(1);
    assert!(
        refused.stderr.contains("CloudFront distribution cfrp-")
            && refused.stderr.contains("was changed outside this plan"),
        "{}",
        refused.stderr
    );
    // The hand edit is still there: the refused plan sent nothing.
    let after = cloudfront
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(after.distribution_config.unwrap().comment, "edited by hand");
    down(&stack);
}

#[test]
fn up_without_a_terminal_and_without_yes_is_refused_and_changes_nothing() {
    // One weak choice, which `plan` reports after the plan in both views.
    let name: String = unique("plan-notty").chars().take(32).collect();
    let stack = stack_file(&name, |t| {
        t.replace(
            "tls_versions = [\"TLSv1.2\"]",
            "tls_versions = [\"TLSv1.2\", \"TLSv1.1\"]",
        )
    });
    let before = creates_pending(&stack);
    let art = artifacts().to_string_lossy().to_string();
    let config = config(&stack);
    let planned = cfrp_tests::deploy::plan(&stack);
    let warnings = planned["config_warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{planned:#}");
    assert_eq!(warnings[0]["field"], "origins[0].tls_versions[1]");
    assert_eq!(warnings[0]["line"], 26);
    assert_eq!(warnings[0]["column"], 28);
    let text = deployer(&["--config", &config, "plan", "--artifacts", &art]).expect_code(2);
    assert!(
        text.stdout
            .contains(":26:28: origins[0].tls_versions[1]: \"TLSv1.1\" lets CloudFront connect"),
        "{}",
        text.stdout
    );
    let refused = deployer(&["--config", &config, "up", "--artifacts", &art]).expect_code(1);
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    // The plan it refused to apply was shown, and the weak choice with it, before the
    // question.
    assert!(refused.stdout.contains("to create"), "{}", refused.stdout);
    assert!(
        refused
            .stdout
            .contains(":26:28: origins[0].tls_versions[1]: \"TLSv1.1\" lets CloudFront connect"),
        "{}",
        refused.stdout
    );
    assert_eq!(creates_pending(&stack), before);
    // `down` asks the same way.
    let down_refused = deployer(&["--config", &config, "down"]);
    // Nothing exists, so there is nothing to ask about.
    assert_eq!(down_refused.code, 0, "{}", down_refused.stderr);
    assert!(down_refused.stdout.contains("Nothing to remove"));
}

#[test]
fn on_a_terminal_n_applies_nothing_and_y_applies_the_plan() {
    let stack = stack("plan-tty");
    let before = creates_pending(&stack);
    let art = artifacts().to_string_lossy().to_string();
    let config = config(&stack);
    let command = ["--config", config.as_str(), "up", "--artifacts", &art];
    let asked = ["to create", "Apply? [y/N]"];
    let declined = deployer_under_pty(&command, &asked, b"n\n");
    let output = declined["output"].as_str().unwrap_or_default();
    assert_eq!(declined["found"], true, "no prompt:\n{output}");
    assert_eq!(declined["code"], 2, "{declined:#}");
    assert!(output.contains("Nothing applied"), "{output}");
    assert_eq!(creates_pending(&stack), before);

    let accepted = deployer_under_pty(&command, &asked, b"y\n");
    assert_eq!(accepted["code"], 0, "{accepted:#}");
    let output = accepted["output"].as_str().unwrap_or_default();
    assert!(output.contains("Applied for stack"), "{output}");
    deployer(&["--config", &config, "plan", "--artifacts", &art]).expect_code(0);

    // `down` on a terminal: "n" keeps everything, `--yes` removes it.
    let declined = deployer_under_pty(
        &["--config", config.as_str(), "down"],
        &["to delete", "Remove all of it? [y/N]"],
        b"n\n",
    );
    assert_eq!(declined["code"], 2, "{declined:#}");
    deployer(&["--config", &config, "plan", "--artifacts", &art]).expect_code(0);
    down(&stack);
    assert_eq!(creates_pending(&stack), before);
}
