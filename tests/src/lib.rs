//! Test harness: one local AWS emulator per test process, and SDK clients pointed at it.
//!
//! The emulator is moto server with the project's extensions (`tests/emulator`), installed by
//! `scripts/setup` into `.venv`. When `CFRP_EMULATOR_ENDPOINT` is set the harness uses that
//! running emulator instead of starting one. A started emulator watches this process and exits
//! with it, so no test run leaves one behind.

pub mod deploy;
pub mod fixtures;
pub mod pty;
/// The Lambda Runtime API emulator, its own crate so the deployer's demo uses it too.
pub use cfrp_runtime_api as runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the emulator may take to start (first start imports all of moto).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("the emulator's virtualenv is missing ({0}); run scripts/setup first")]
    NoVirtualenv(PathBuf),
    #[error("could not start the emulator: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("the emulator did not answer within {0:?}")]
    Timeout(Duration),
}

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    pub endpoint: String,
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared emulator of this test process, started on first use.
pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| match start() {
        Ok(emulator) => emulator,
        Err(err) => panic!("{err}"),
    })
}

fn start() -> Result<Emulator, HarnessError> {
    if let Ok(endpoint) = std::env::var("CFRP_EMULATOR_ENDPOINT") {
        return Ok(Emulator { endpoint });
    }
    spawn_emulator(&[])
}

/// Starts an emulator of this process's own with the server's `extra` flags (for example the
/// latency model's `--latency aws --scale 0.1`); it exits with this process.
pub fn spawn_emulator(extra: &[&str]) -> Result<Emulator, HarnessError> {
    let root = repo_root();
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return Err(HarnessError::NoVirtualenv(python));
    }
    let port_file =
        std::env::temp_dir().join(format!("cfrp-emulator-{}.endpoint", std::process::id()));
    let _ = std::fs::remove_file(&port_file);
    let mut child = Command::new(python)
        .args(["-m", "cfrp_emulator.server", "--port", "0", "--port-file"])
        .arg(&port_file)
        .args(["--parent-pid", &std::process::id().to_string()])
        .args(extra)
        .current_dir(root.join("tests/emulator"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            let _ = std::fs::remove_file(&port_file);
            return Ok(Emulator {
                endpoint: text.trim().to_string(),
            });
        }
        if Instant::now() > deadline || child.try_wait()?.is_some() {
            let _ = child.kill();
            return Err(HarnessError::Timeout(START_TIMEOUT));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An SDK config for the emulator: test credentials, us-east-1, the emulator's endpoint,
/// bounded timeouts and retries so a broken emulator fails a test instead of hanging it.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let emulator = emulator();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&emulator.endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "cfrp-tests",
        ))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .connect_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}

/// S3 pointed at a local endpoint needs path-style addressing (no bucket subdomains).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// A name no other test uses, for resources in the shared emulator.
pub fn unique(prefix: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// The debug build of a function's binary (`functions/<name>`), built on first use so a test
/// run of this crate alone still finds it.
pub fn function_binary(package: &str) -> PathBuf {
    workspace_binary(package, package)
}

/// The debug build of binary `bin` of workspace package `package`. On first use every binary
/// of the workspace is built in one `cargo build --workspace --bins`. Under `scripts/test`, which
/// has built every test target first and says so with `CFRP_TEST_TARGETS_BUILT=1`, the test
/// targets are selected too: that activates the dev-dependencies, so features unify exactly as in
/// `cargo test --workspace`, the dependencies already built are reused and only the binaries are
/// compiled (`--bins` alone unifies features without the dev-dependencies and recompiles much of
/// the dependency tree: about six minutes on two cores). Outside it `--tests` would rebuild every
/// stale test target on each change, so a developer's run builds the binaries alone.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let root = repo_root();
    let binary = root.join("target/debug").join(bin);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !*built {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut command = Command::new(cargo);
        command
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(&root);
        if std::env::var_os("CFRP_TEST_TARGETS_BUILT").is_some_and(|v| v == "1") {
            command.arg("--tests");
        }
        // `cargo test` sets CARGO_PKG_*, CARGO_MANIFEST_DIR and friends for test processes;
        // build scripts that track the environment would see them and rebuild everything.
        for (key, _) in std::env::vars() {
            if key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR" {
                command.env_remove(key);
            }
        }
        match command.status() {
            Ok(s) if s.success() => *built = true,
            other => panic!("building the workspace binaries for {package} failed: {other:?}"),
        }
    }
    binary
}

/// Makes the emulator answer matching requests with an error (see
/// `tests/emulator/cfrp_emulator/faults.py`). Returns when the emulator has the fault.
pub fn inject_fault(fault: &serde_json::Value) -> std::io::Result<()> {
    control_faults("POST", &fault.to_string()).map(|_| ())
}

/// Removes every injected fault.
pub fn clear_faults() -> std::io::Result<()> {
    control_faults("DELETE", "").map(|_| ())
}

// A one-line HTTP/1.1 exchange with the local emulator; std's TcpStream keeps the harness
// free of a second HTTP client stack for two control calls.
/// The faults the emulator still holds, each with its remaining `times` (0 once used up).
pub fn faults() -> std::io::Result<serde_json::Value> {
    let answer = control_faults("GET", "")?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).map_err(std::io::Error::other)
}

fn control_faults(method: &str, body: &str) -> std::io::Result<String> {
    control(&emulator().endpoint, method, "/_cfrp/faults", body)
}

/// How many AWS requests the emulator at `endpoint` has answered so far.
pub fn requests_answered(endpoint: &str) -> std::io::Result<u64> {
    let answer = control(endpoint, "GET", "/_cfrp/requests", "")?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(body).map_err(std::io::Error::other)?;
    value["requests"]
        .as_u64()
        .ok_or_else(|| std::io::Error::other(format!("no request count in {body}")))
}

/// The AWS requests the emulator at `endpoint` has answered so far, by `service:Operation`
/// (the service models' names; `unidentified` for a request no model or header named).
pub fn requests_by_operation(
    endpoint: &str,
) -> std::io::Result<std::collections::BTreeMap<String, u64>> {
    let answer = control(endpoint, "GET", "/_cfrp/requests", "")?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(body).map_err(std::io::Error::other)?;
    let operations = value["operations"]
        .as_object()
        .ok_or_else(|| std::io::Error::other(format!("no operations in {body}")))?;
    Ok(operations
        .iter()
        .map(|(name, count)| (name.clone(), count.as_u64().unwrap_or_default()))
        .collect())
}

/// One control request to the emulator's own `/_cfrp/...` endpoints; the whole answer.
fn control(endpoint: &str, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
        Ok(answer)
    } else {
        Err(std::io::Error::other(format!(
            "emulator control {path} refused: {answer}"
        )))
    }
}
