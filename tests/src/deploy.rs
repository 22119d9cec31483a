//! Running the real `deployer` binary against the emulator: a stack config per test, small
//! deployment packages, and the deployer's JSON report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{emulator, repo_root, workspace_binary};

/// No deployer run in a test may take longer than this.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// A stack config written to a temporary directory.
#[derive(Debug, Clone)]
pub struct StackFile {
    pub name: String,
    pub bucket: String,
    pub path: PathBuf,
}

/// The example stack (`shared/examples/proxy.toml`) under a new name and manuscripts
/// bucket, with `edit` applied to the text.
pub fn stack_file(name: &str, edit: impl Fn(String) -> String) -> StackFile {
    let example = std::fs::read_to_string(repo_root().join("shared/examples/proxy.toml"))
        .unwrap_or_else(|e| panic!("reading the example config: {e}"));
    let bucket = format!("{name}-manuscripts");
    let text = example
        .replace("name = \"shop\"", &format!("name = \"{name}\""))
        .replace(
            "bucket = \"shop-manuscripts\"",
            &format!("bucket = \"{bucket}\""),
        );
    let text = edit(text);
    let dir = std::env::temp_dir().join(format!("cfrp-stack-{name}"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let path = dir.join("proxy.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    StackFile {
        name: name.to_string(),
        bucket,
        path,
    }
}

/// A directory of deployment packages in cargo-lambda's layout. The emulator stores code
/// but never runs it (function tests run the real bootstraps under the Runtime API
/// emulator), so each zip holds a small `bootstrap` naming its function.
pub fn artifacts() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cfrp-artifacts-{}", std::process::id()));
        for package in [
            "cfrp-log-analyser",
            "cfrp-alarm-evaluator",
            "cfrp-invalidator",
        ] {
            write_zip(&dir.join(package), &format!("#!/bin/sh\necho {package}\n"));
        }
        dir
    })
}

/// Writes `DIR/bootstrap.zip` with one executable `bootstrap` file.
pub fn write_zip(dir: &Path, script: &str) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let file = std::fs::File::create(dir.join("bootstrap.zip"))
        .unwrap_or_else(|e| panic!("creating bootstrap.zip: {e}"));
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)
        .unwrap_or_else(|e| panic!("zip: {e}"));
    zip.write_all(script.as_bytes())
        .unwrap_or_else(|e| panic!("zip: {e}"));
    zip.finish().unwrap_or_else(|e| panic!("zip: {e}"));
}

/// One finished deployer run.
#[derive(Debug)]
pub struct DeployerRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl DeployerRun {
    /// The `--output json` report.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "deployer output is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panics with the output unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> DeployerRun {
        assert_eq!(
            self.code, code,
            "deployer exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `deployer ARGS` against the emulator, bounded by [`RUN_TIMEOUT`].
pub fn deployer(args: &[&str]) -> DeployerRun {
    deployer_at(&emulator().endpoint, args, RUN_TIMEOUT)
}

/// Runs `deployer ARGS` against the emulator at `endpoint`, killed after `timeout`.
pub fn deployer_at(endpoint: &str, args: &[&str], timeout: Duration) -> DeployerRun {
    let binary = workspace_binary("cfrp-deployer", "deployer");
    let out_file = tempfile_path("stdout");
    let err_file = tempfile_path("stderr");
    let mut child = Command::new(binary)
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("CFRP_CONFIG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&err_file).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("starting the deployer: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!("deployer {args:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let run = DeployerRun {
        code: status.code().unwrap_or(-1),
        stdout: read(&out_file),
        stderr: read(&err_file),
    };
    let _ = std::fs::remove_file(out_file);
    let _ = std::fs::remove_file(err_file);
    run
}

fn tempfile_path(kind: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cfrp-deployer-{}.{kind}", crate::unique("run")))
}

/// `deployer up --output json` of a stack file, expected to succeed; returns the report.
pub fn up(stack: &StackFile) -> serde_json::Value {
    with_artifacts(stack, "up", 0)
}

/// `deployer plan --output json` of a stack file with changes pending (exit 2); the report.
pub fn plan(stack: &StackFile) -> serde_json::Value {
    with_artifacts(stack, "plan", 2)
}

/// `deployer --config <stack> --output json <command> --artifacts <test packages>`, expected
/// to exit with `code`; the JSON report.
fn with_artifacts(stack: &StackFile, command: &str, code: i32) -> serde_json::Value {
    let config = stack.path.to_string_lossy().to_string();
    let artifacts = artifacts().to_string_lossy().to_string();
    let mut args = vec![
        "--config",
        &config,
        "--output",
        "json",
        command,
        "--artifacts",
        &artifacts,
    ];
    if command == "up" {
        // Nobody is at a terminal to confirm: the tests approve their own stacks' plans.
        args.push("--yes");
    }
    deployer(&args).expect_code(code).json()
}

/// `deployer down --output json`, expected to succeed.
pub fn down(stack: &StackFile) -> serde_json::Value {
    let config = stack.path.to_string_lossy().to_string();
    deployer(&["--config", &config, "--output", "json", "down", "--yes"])
        .expect_code(0)
        .json()
}

/// A stack the deployer brought up in the emulator, as the function tests use it.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub stack: StackFile,
    pub region: String,
    pub distribution_id: String,
    pub domain: String,
    /// The SDK config for the stack's region.
    pub config: aws_config::SdkConfig,
}

/// Writes the example stack under a fresh name and runs `deployer up` for it.
pub async fn deploy_example(prefix: &str) -> Deployed {
    let name: String = crate::unique(prefix).chars().take(32).collect();
    let stack = stack_file(&name, |t| t);
    let report = up(&stack);
    deployed(stack, &report).await
}

/// The stack as a `deployer up` or `deployer status` JSON report describes it.
pub async fn deployed(stack: StackFile, report: &serde_json::Value) -> Deployed {
    let region = report["region"].as_str().unwrap_or("eu-west-1").to_string();
    let distribution = &report["distribution"];
    let text = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|k| distribution[k].as_str())
            .unwrap_or_else(|| panic!("no distribution {keys:?} in {report:#}"))
            .to_string()
    };
    let config = crate::sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new(region.clone()))
        .build();
    Deployed {
        distribution_id: text(["distribution_id", "id"]),
        domain: text(["domain_name", "domain_name"]),
        stack,
        region,
        config,
    }
}

impl Deployed {
    pub fn resource(&self, suffix: &str) -> String {
        format!("cfrp-{}-{suffix}", self.stack.name)
    }

    /// The environment Lambda gives the deployed function: its variables exactly as the
    /// deployer set them, plus region, credentials and the emulator's endpoint.
    pub async fn function_env(&self, function: &str) -> Vec<(String, String)> {
        let lambda = aws_sdk_lambda::Client::new(&self.config);
        let configuration = lambda
            .get_function_configuration()
            .function_name(self.resource(function))
            .send()
            .await
            .unwrap_or_else(|e| panic!("reading the deployed {function}: {e}"));
        let mut env: Vec<(String, String)> = configuration
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        env.extend([
            ("AWS_ENDPOINT_URL".to_string(), emulator().endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
            ("AWS_REGION".to_string(), self.region.clone()),
            (
                "AWS_LAMBDA_FUNCTION_NAME".to_string(),
                self.resource(function),
            ),
        ]);
        env
    }
}
