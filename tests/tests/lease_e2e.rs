#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! One writer at a time, with the real binary against the emulator: of two `up` runs started
//! together exactly one applies and the other fails naming it; a killed `up` leaves a lease
//! that the next run reports, and that a run takes over once it has expired; `unlock --yes`
//! removes a lease. And the origin-verify secret: `up` never prints it, `secret show` does,
//! and a two-phase `secret rotate` switches every origin without a second `up` changing
//! anything.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cfrp_tests::deploy::{DeployerRun, StackFile, artifacts, deployer, down, stack_file, up};
use cfrp_tests::{emulator, sdk_config, unique, workspace_binary};

/// A short lease, so the killed run's lease expires within the test.
const TTL_SECONDS: u64 = 8;

fn stack(prefix: &str) -> StackFile {
    let name: String = unique(prefix).chars().take(32).collect();
    stack_file(&name, |t| t)
}

/// `deployer --config STACK --output json up --yes --artifacts …` started, not awaited.
fn spawn_up(stack: &StackFile, ttl: Option<u64>) -> (Child, PathBuf, PathBuf) {
    let out = std::env::temp_dir().join(format!("cfrp-lease-{}.out", unique("up")));
    let err = out.with_extension("err");
    let mut command = Command::new(workspace_binary("cfrp-deployer", "deployer"));
    command
        .args([
            "--config",
            &stack.path.to_string_lossy(),
            "--output",
            "json",
        ])
        .args(["up", "--yes", "--artifacts", &artifacts().to_string_lossy()])
        .env("AWS_ENDPOINT_URL", &emulator().endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("CFRP_CONFIG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    if let Some(ttl) = ttl {
        command.env("CFRP_LEASE_TTL_SECONDS", ttl.to_string());
    }
    (command.spawn().unwrap(), out, err)
}

fn finish((mut child, out, err): (Child, PathBuf, PathBuf)) -> (u32, DeployerRun) {
    let pid = child.id();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "up hung");
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = DeployerRun {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    (pid, run)
}

async fn ssm(stack: &StackFile) -> aws_sdk_ssm::Client {
    let _ = stack;
    let config = sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    aws_sdk_ssm::Client::new(&config)
}

async fn lease(ssm: &aws_sdk_ssm::Client, stack: &StackFile) -> Option<serde_json::Value> {
    let got = ssm
        .get_parameter()
        .name(format!("/cfrp/{}/lease", stack.name))
        .send()
        .await
        .ok()?;
    serde_json::from_str(got.parameter()?.value()?).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_ups_at_once_apply_once_and_a_killed_ups_lease_is_reported_expires_and_unlocks() {
    // Two runs started together: exactly one applies, the other names it.
    let racing = stack("lease-race");
    let ssm = ssm(&racing).await;
    let first = spawn_up(&racing, None);
    let second = spawn_up(&racing, None);
    let (first, second) = (finish(first), finish(second));
    let ((winner_pid, winner), (_, loser)) = if first.1.code == 0 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(winner.code, 0, "one up applies: {}", winner.stderr);
    assert_eq!(
        winner.json()["summary"]["create"].as_u64().map(|n| n > 0),
        Some(true)
    );
    assert_eq!(
        loser.code, 1,
        "the other fails: {}{}",
        loser.stdout, loser.stderr
    );
    assert!(
        loser
            .stderr
            .contains(&format!("(pid {winner_pid}) running `deployer up`")),
        "the refusal names the holder: {}",
        loser.stderr
    );
    assert!(loser.stderr.contains("expires at"), "{}", loser.stderr);
    assert!(
        loser.stderr.contains("`deployer unlock`"),
        "{}",
        loser.stderr
    );
    assert!(
        lease(&ssm, &racing).await.is_none(),
        "the winner released it"
    );
    secret_is_shown_only_when_asked_and_rotates_in_two_phases(&racing, &winner).await;
    down(&racing);

    // A run killed while it holds the lease leaves it behind.
    let killed = stack("lease-kill");
    let mut run = spawn_up(&killed, Some(TTL_SECONDS));
    let deadline = Instant::now() + Duration::from_secs(120);
    let held = loop {
        if let Some(held) = lease(&ssm, &killed).await {
            break held;
        }
        assert!(Instant::now() < deadline, "up never took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    run.0.kill().unwrap(); // SIGKILL: no chance to release
    let killed_pid = run.0.id();
    run.0.wait().unwrap();
    assert_eq!(held["pid"], killed_pid);
    assert_eq!(held["command"], "up");
    let config = killed.path.to_string_lossy().to_string();
    let artifacts = artifacts().to_string_lossy().to_string();
    let up_args = [
        "--config",
        &config,
        "--output",
        "json",
        "up",
        "--yes",
        "--artifacts",
        &artifacts,
    ];
    let refused = deployer(&up_args);
    // The lease expires TTL_SECONDS after its last renewal; the refusal comes first.
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("(pid {killed_pid}) running `deployer up`")),
        "{}",
        refused.stderr
    );
    // After expiry a run takes it over and converges what the killed run began.
    let expires = held["expires"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_secs(TTL_SECONDS + 1)).await;
    let taken = deployer(&up_args).expect_code(0);
    assert!(taken.json()["summary"].is_object());
    assert!(
        lease(&ssm, &killed).await.is_none(),
        "released after the run"
    );

    // `unlock --yes` removes a lease (here one written as a live run's would be).
    let record = serde_json::json!({
        "owner": "someone@elsewhere", "pid": 7, "command": "down",
        "started": expires, "expires": "2999-01-01T00:00:00Z", "token": "t",
    });
    ssm.put_parameter()
        .name(format!("/cfrp/{}/lease", killed.name))
        .value(record.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let blocked = deployer(&["--config", &config, "down", "--yes"]);
    assert_eq!(blocked.code, 1);
    assert!(
        blocked
            .stderr
            .contains("someone@elsewhere (pid 7) running `deployer down`")
    );
    // `update` on the stack's distribution by id takes the stack's lease, not one of its own.
    let id = taken.json()["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let update = deployer(&[
        "update",
        "--id",
        &id,
        "--origin-domain",
        "other.example.com",
        "--yes",
    ]);
    assert_eq!(update.code, 1, "{}{}", update.stdout, update.stderr);
    assert!(
        update
            .stderr
            .contains(&format!("stack \"{}\"", killed.name))
            && update
                .stderr
                .contains("someone@elsewhere (pid 7) running `deployer down`"),
        "{}",
        update.stderr
    );
    let shown = deployer(&["--output", "json", "unlock", "--id", &id]);
    assert_eq!(shown.code, 1, "no terminal, no --yes: {}", shown.stderr);
    let refused = deployer(&["--config", &config, "unlock"]);
    assert_eq!(refused.code, 1, "no terminal, no --yes: {}", refused.stderr);
    assert!(lease(&ssm, &killed).await.is_some(), "kept without --yes");
    let unlocked = deployer(&["--config", &config, "--output", "json", "unlock", "--yes"])
        .expect_code(0)
        .json();
    assert_eq!(unlocked["removed"], true);
    assert_eq!(unlocked["lease"]["owner"], "someone@elsewhere");
    assert!(lease(&ssm, &killed).await.is_none());
    down(&killed);
}

/// Every origin's origin-verify value, read from the emulator.
async fn origin_values(id: &str) -> Vec<String> {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let got = cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap();
    got.distribution_config()
        .unwrap()
        .origins()
        .unwrap()
        .items()
        .iter()
        .map(|o| {
            o.custom_headers()
                .unwrap()
                .items()
                .iter()
                .find(|h| h.header_name() == "X-Origin-Verify")
                .map(|h| h.header_value().to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// On a stack `up` (its run `applied`) created: the secret is in no output of `up`, `secret
/// show` prints the one the distribution carries, `secret rotate` makes a pending value and
/// changes nothing on the distribution, `--apply` puts it on every origin and removes it,
/// and `up` afterwards changes nothing.
async fn secret_is_shown_only_when_asked_and_rotates_in_two_phases(
    stack: &StackFile,
    applied: &DeployerRun,
) {
    let report = applied.json();
    let id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let values = origin_values(&id).await;
    assert!(values.len() >= 2 && values.iter().all(|v| v.len() == 64 && *v == values[0]));
    let current = values[0].clone();
    assert!(!applied.stdout.contains(&current) && !applied.stderr.contains(&current));
    let config = stack.path.to_string_lossy().to_string();
    let artifacts = artifacts().to_string_lossy().to_string();
    // `up` and `plan` as text: the secret is not there either; up says how to read it.
    let text = deployer(&[
        "--config",
        &config,
        "up",
        "--yes",
        "--artifacts",
        &artifacts,
    ])
    .expect_code(0);
    assert!(!text.stdout.contains(&current) && !text.stderr.contains(&current));
    assert!(
        text.stdout.contains("deployer secret show"),
        "{}",
        text.stdout
    );
    let shown = deployer(&["--config", &config, "--output", "json", "secret", "show"])
        .expect_code(0)
        .json();
    assert_eq!(shown["current"], current.as_str());
    assert_eq!(shown["pending"], serde_json::Value::Null);
    let shown_text = deployer(&["--config", &config, "secret", "show"]).expect_code(0);
    assert!(
        shown_text.stdout.contains(&current),
        "{}",
        shown_text.stdout
    );

    // Phase 1: a pending value, shown; the distribution still sends the current one.
    let begun = deployer(&["--config", &config, "--output", "json", "secret", "rotate"])
        .expect_code(0)
        .json();
    let next = begun["pending"].as_str().unwrap().to_string();
    assert_eq!(next.len(), 64);
    assert_ne!(next, current);
    assert_eq!(begun["current"], current.as_str());
    assert!(origin_values(&id).await.iter().all(|v| *v == current));
    let again = deployer(&["--config", &config, "--output", "json", "secret", "rotate"])
        .expect_code(0)
        .json();
    assert_eq!(
        again["pending"],
        next.as_str(),
        "phase 1 again keeps its value"
    );
    assert_eq!(again["created"], false);
    let shown = deployer(&["--config", &config, "--output", "json", "secret", "show"])
        .expect_code(0)
        .json();
    assert_eq!(
        (shown["current"].clone(), shown["pending"].clone()),
        (current.as_str().into(), next.as_str().into())
    );
    // `up` during a rotation keeps the current value.
    let during = up(stack);
    assert_eq!(during["mutating_calls"], 0, "{during:#}");

    // Phase 2: refused without a terminal and --yes, then applied.
    let refused = deployer(&["--config", &config, "secret", "rotate", "--apply"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(origin_values(&id).await.iter().all(|v| *v == current));
    let switched = deployer(&[
        "--config", &config, "--output", "json", "secret", "rotate", "--apply", "--yes",
    ])
    .expect_code(0);
    let switched_json = switched.json();
    assert_eq!(switched_json["switched"], true);
    let mutations: Vec<&str> = switched_json["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert_eq!(mutations.len(), 2, "{mutations:?}");
    assert!(mutations[0].starts_with("cloudfront:UpdateDistribution"));
    assert!(mutations[1].starts_with("ssm:DeleteParameter"));
    assert!(
        !switched.stdout.contains(&next),
        "the plan shows digests only"
    );
    assert!(origin_values(&id).await.iter().all(|v| *v == next));
    let shown = deployer(&["--config", &config, "--output", "json", "secret", "show"])
        .expect_code(0)
        .json();
    assert_eq!(shown["current"], next.as_str());
    assert_eq!(shown["pending"], serde_json::Value::Null);
    let after = up(stack);
    assert_eq!(after["mutating_calls"], 0, "{after:#}");
    // Nothing pending any more: --apply says what to do first.
    let nothing = deployer(&["--config", &config, "secret", "rotate", "--apply", "--yes"]);
    assert_eq!(nothing.code, 1);
    assert!(
        nothing.stderr.contains("deployer secret rotate"),
        "{}",
        nothing.stderr
    );
}
