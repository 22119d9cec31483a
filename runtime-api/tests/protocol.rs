#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! The Runtime API emulator against a bootstrap that speaks the protocol by hand: this test
//! binary itself, re-run by `run_bootstrap` with `ROLE` set, so the crate is tested without
//! any function crate. Each role plays one behaviour of a Lambda runtime.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use cfrp_runtime_api::{Outcome, RuntimeApiError, run_bootstrap};
use serde_json::json;

/// Set in the re-run process: which bootstrap behaviour to play.
const ROLE: &str = "CFRP_RUNTIME_API_TEST_ROLE";
const PREFIX: &str = "/2018-06-01/runtime";

/// One HTTP/1.1 exchange (`Connection: close`); returns the response head and body.
fn exchange(api: &str, method: &str, path: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(api).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.to_string(), body.to_string())
}

/// `GET .../invocation/next`: the request id and the event.
fn next(api: &str) -> (String, String) {
    let (head, body) = exchange(api, "GET", &format!("{PREFIX}/invocation/next"), "");
    let id = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("lambda-runtime-aws-request-id")
                .then(|| value.trim().to_string())
        })
        .unwrap();
    (id, body)
}

/// The bootstrap side. Does nothing in a normal test run; in the re-run process it plays
/// its role until it is killed or exits.
#[test]
fn bootstrap() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap();
    match role.as_str() {
        "echo" => loop {
            let (id, event) = next(&api);
            let answer = json!({"echo": serde_json::from_str::<serde_json::Value>(&event).unwrap(), "from": std::env::var("GREETING").unwrap_or_default()});
            exchange(
                &api,
                "POST",
                &format!("{PREFIX}/invocation/{id}/response"),
                &answer.to_string(),
            );
        },
        "fail" => loop {
            let (id, _) = next(&api);
            exchange(
                &api,
                "POST",
                &format!("{PREFIX}/invocation/{id}/error"),
                r#"{"errorType":"Boom","errorMessage":"it broke"}"#,
            );
        },
        "init-error" => {
            exchange(
                &api,
                "POST",
                &format!("{PREFIX}/init/error"),
                r#"{"errorType":"Config","errorMessage":"no settings"}"#,
            );
            std::thread::sleep(Duration::from_secs(60));
        }
        "exit" => {
            eprintln!("giving up");
            std::process::exit(3);
        }
        "hang" => std::thread::sleep(Duration::from_secs(60)),
        other => panic!("unknown role {other}"),
    }
}

/// Whether this process is the re-run bootstrap (the driving tests then do nothing).
fn in_bootstrap() -> bool {
    std::env::var_os(ROLE).is_some()
}

fn this_binary() -> PathBuf {
    std::env::current_exe().unwrap()
}

/// Runs this binary as the bootstrap (only its `bootstrap` test, so the others do not run in
/// the child) — `run_bootstrap` passes no arguments, so a wrapper script adds them.
async fn run_role(
    role: &str,
    payloads: &[String],
    timeout: Duration,
) -> Result<cfrp_runtime_api::Run, RuntimeApiError> {
    let dir = std::env::temp_dir().join(format!("cfrp-runtime-api-{}-{role}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("bootstrap");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{}' --exact bootstrap --nocapture --test-threads 1\n",
            this_binary().display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let result = run_bootstrap(
        &script,
        &[(ROLE, role), ("GREETING", "hello")],
        payloads,
        timeout,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[tokio::test]
async fn each_event_is_handed_over_in_order_and_each_response_collected() {
    if in_bootstrap() {
        return;
    }
    let payloads = vec![r#"{"n":1}"#.to_string(), r#"{"n":2}"#.to_string()];
    let run = run_role("echo", &payloads, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        run.outcomes,
        vec![
            Outcome::Response(json!({"echo": {"n": 1}, "from": "hello"})),
            Outcome::Response(json!({"echo": {"n": 2}, "from": "hello"})),
        ]
    );
    assert!(run.init_error.is_none());
    assert!(run.init_duration.is_some());
}

#[tokio::test]
async fn an_error_response_is_an_outcome() {
    if in_bootstrap() {
        return;
    }
    let run = run_role("fail", &["{}".to_string()], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        run.outcomes,
        vec![Outcome::Error(
            json!({"errorType": "Boom", "errorMessage": "it broke"})
        )]
    );
}

#[tokio::test]
async fn an_init_error_ends_the_run() {
    if in_bootstrap() {
        return;
    }
    let run = run_role("init-error", &["{}".to_string()], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        run.init_error,
        Some(json!({"errorType": "Config", "errorMessage": "no settings"}))
    );
    assert!(run.outcomes.is_empty());
}

#[tokio::test]
async fn a_process_that_exits_early_is_an_error_with_its_output() {
    if in_bootstrap() {
        return;
    }
    let err = run_role("exit", &["{}".to_string()], Duration::from_secs(30))
        .await
        .unwrap_err();
    match err {
        RuntimeApiError::Exited { status, stderr, .. } => {
            assert!(status.contains('3'), "{status}");
            assert!(stderr.contains("giving up"), "{stderr}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_function_that_never_asks_for_work_times_out() {
    if in_bootstrap() {
        return;
    }
    let started = std::time::Instant::now();
    let err = run_role("hang", &["{}".to_string()], Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RuntimeApiError::Timeout { pending: 1, .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
