#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! Errors a person can act on, through the real `deployer` binary: no credentials, an SSO
//! profile that is not logged in, an endpoint that refuses connections, and a permission the
//! service denies each end in one line on stderr saying what to do, with exit code 1, and
//! neither SDK debug structures nor the credential chain's log lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cfrp_tests::deploy::{DeployerRun, artifacts, stack_file};
use cfrp_tests::{clear_faults, emulator, inject_fault, unique, workspace_binary};

/// Longer than the SDK's retries of a refused connection (6 attempts with backoff).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A home directory with empty AWS config and credentials files, and `config` as the
/// config file when given.
fn empty_home(config: &str) -> PathBuf {
    let home = std::env::temp_dir().join(unique("cfrp-home"));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), config).unwrap();
    std::fs::write(home.join(".aws/credentials"), "").unwrap();
    home
}

/// Runs `deployer ARGS` with nothing of this machine's AWS setup: only PATH, the given
/// HOME (and its config files), IMDS off so the chain cannot wait on a metadata service,
/// and `env`.
fn deployer_without_aws(home: &Path, env: &[(&str, &str)], args: &[&str]) -> DeployerRun {
    let mut command = Command::new(workspace_binary("cfrp-deployer", "deployer"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join(".aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            panic!("deployer {args:?} did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    DeployerRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `deployer --config <a stack> plan --artifacts <test packages>` with `env`.
fn plan_without_aws(home: &Path, env: &[(&str, &str)], extra: &[&str]) -> DeployerRun {
    let stack = stack_file(&unique("err"), |t| t);
    let config = stack.path.to_string_lossy().to_string();
    let artifacts = artifacts().to_string_lossy().to_string();
    let mut args = vec!["--config", config.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["plan", "--artifacts", artifacts.as_str()]);
    deployer_without_aws(home, env, &args)
}

/// Exit 1 and one line on stderr, holding `hint`, without SDK internals or log lines.
fn assert_one_actionable_line(run: &DeployerRun, hint: &str) {
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let stderr = run.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(hint), "{hint} missing from:\n{stderr}");
    for internal in [
        "DispatchFailure",
        "ConnectorError",
        "ConstructionFailure",
        "CredentialsError",
        "source:",
        "WARN",
        "INFO",
    ] {
        assert!(!stderr.contains(internal), "{internal} in:\n{stderr}");
    }
}

#[test]
fn no_credentials_anywhere_says_to_run_aws_configure() {
    let home = empty_home("");
    let run = plan_without_aws(&home, &[("AWS_ENDPOINT_URL", &emulator().endpoint)], &[]);
    assert_one_actionable_line(&run, "no AWS credentials found");
    assert!(run.stderr.contains("`aws configure`"), "{}", run.stderr);
    assert!(run.stderr.contains("AWS_PROFILE"), "{}", run.stderr);

    // -vv asks for the SDK's own lines: the credential chain's then reach stderr.
    let verbose = plan_without_aws(
        &home,
        &[("AWS_ENDPOINT_URL", &emulator().endpoint)],
        &["-vv"],
    );
    assert_eq!(verbose.code, 1);
    assert!(verbose.stderr.lines().count() > 1, "{}", verbose.stderr);
}

#[test]
fn an_sso_profile_without_a_session_says_to_log_in_with_that_profile() {
    // An IAM Identity Center profile; the home has no token cache (never logged in, or
    // the cache was cleared as `aws sso logout` does).
    let home = empty_home(
        "[profile dev]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Deployer\nregion = eu-west-1\n",
    );
    let run = plan_without_aws(
        &home,
        &[("AWS_ENDPOINT_URL", &emulator().endpoint)],
        &["--profile", "dev"],
    );
    assert_one_actionable_line(&run, "`aws sso login --profile dev`");

    let from_env = plan_without_aws(
        &home,
        &[
            ("AWS_ENDPOINT_URL", &emulator().endpoint),
            ("AWS_PROFILE", "dev"),
        ],
        &[],
    );
    assert_one_actionable_line(&from_env, "`aws sso login --profile dev`");
}

#[test]
fn an_sso_profile_whose_session_expired_says_to_log_in_again() {
    // Logged in once: the token cache holds an access token past its expiry and no
    // refresh token, as the AWS CLI leaves it for a legacy `sso_start_url` profile.
    let url = "https://example.awsapps.com/start";
    let home = empty_home(&format!(
        "[profile dev]\nsso_start_url = {url}\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Deployer\nregion = eu-west-1\n"
    ));
    // The cache file is named by the SHA-1 of the start URL (coreutils' sha1sum, so the
    // tests need no hashing crate).
    let mut sha1sum = Command::new("sha1sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut sha1sum.stdin.take().unwrap(), url.as_bytes()).unwrap();
    let digest = String::from_utf8(sha1sum.wait_with_output().unwrap().stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap().to_string();
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let token = serde_json::json!({
        "startUrl": url,
        "region": "us-east-1",
        "accessToken": "expired-token",
        "expiresAt": "2020-01-01T00:00:00Z",
    });
    std::fs::write(cache.join(format!("{digest}.json")), token.to_string()).unwrap();
    let run = plan_without_aws(
        &home,
        &[("AWS_ENDPOINT_URL", &emulator().endpoint)],
        &["--profile", "dev"],
    );
    assert_one_actionable_line(&run, "`aws sso login --profile dev`");
}

#[test]
fn an_endpoint_that_refuses_connections_names_it_and_aws_endpoint_url() {
    // A port nothing listens on: bound, read, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let home = empty_home("");
    let run = plan_without_aws(
        &home,
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
        &[],
    );
    assert_one_actionable_line(&run, &format!("could not reach {endpoint}"));
    assert!(run.stderr.contains("AWS_ENDPOINT_URL"), "{}", run.stderr);
    assert!(run.stderr.contains("Connection refused"), "{}", run.stderr);
}

#[test]
fn a_denied_call_names_the_iam_action_to_allow() {
    // ListDistributions is how every plan finds the stack's distribution; the first one
    // sent (this test process's emulator serves no other test of this file) is denied.
    inject_fault(&serde_json::json!({
        "method": "GET",
        "path": "^/2020-05-31/distribution$",
        "status": 403,
        "content_type": "text/xml",
        "body": "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudfront:ListDistributions</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "times": 1,
    }))
    .unwrap();
    let home = empty_home("");
    let run = plan_without_aws(
        &home,
        &[
            ("AWS_ENDPOINT_URL", &emulator().endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
        &[],
    );
    clear_faults().unwrap();
    assert_one_actionable_line(
        &run,
        "was denied (AccessDenied): allow the IAM action cloudfront:ListDistributions",
    );
}
