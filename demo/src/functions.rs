//! The three functions' real binaries, found next to the deployer's own executable and run
//! on one event each under the Lambda Runtime API emulator (`cfrp-runtime-api`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cfrp_config::Function;
use cfrp_runtime_api::{Outcome, Run, run_bootstrap};

use super::StepError;
use cfrp_deployer::spec::package;

/// No invocation in the demo may take longer (the debug analyser needs about a second).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(90);

/// The built binary of each function.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
}

impl Binaries {
    /// The directory of the running deployer (`target/debug` or `target/release`), checked
    /// to hold all three function binaries.
    pub fn beside_deployer() -> Result<Binaries, StepError> {
        let exe = std::env::current_exe()
            .map_err(|e| StepError::Failed(format!("cannot tell where the deployer is: {e}")))?;
        let dir = exe
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| StepError::Failed(format!("{} has no directory", exe.display())))?;
        let binaries = Binaries { dir };
        let missing: Vec<String> = Function::ALL
            .into_iter()
            .map(|f| binaries.path(f))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            let release = binaries.dir.file_name().is_some_and(|n| n == "release");
            return Err(StepError::Failed(format!(
                "the function binaries the demo runs are missing: {}; build them with `cargo build{} --workspace --bins` (scripts/demo does)",
                missing.join(", "),
                if release { " --release" } else { "" }
            )));
        }
        Ok(binaries)
    }

    pub fn path(&self, function: Function) -> PathBuf {
        self.dir.join(package(function))
    }
}

/// What one invocation answered, with the run's logs.
#[derive(Debug)]
pub struct Invoked {
    pub response: serde_json::Value,
    pub run: Run,
}

/// Runs `function`'s binary on `event` with `env`; a response is success, anything else
/// (an error response, an init error, a crash, a timeout) fails with the function's logs.
pub async fn invoke(
    binaries: &Binaries,
    function: Function,
    env: &[(String, String)],
    event: String,
) -> Result<Invoked, StepError> {
    let binary = binaries.path(function);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = run_bootstrap(&binary, &pairs, &[event], INVOKE_TIMEOUT).await?;
    if let Some(error) = &run.init_error {
        return Err(StepError::Failed(format!(
            "{} failed to initialise: {error}\n{}",
            package(function),
            tail(&run)
        )));
    }
    match run.outcomes.first() {
        Some(Outcome::Response(response)) => Ok(Invoked {
            response: response.clone(),
            run,
        }),
        Some(Outcome::Error(error)) => Err(StepError::Failed(format!(
            "{} returned an error: {error}\n{}",
            package(function),
            tail(&run)
        ))),
        None => Err(StepError::Failed(format!(
            "{} answered nothing\n{}",
            package(function),
            tail(&run)
        ))),
    }
}

/// The last lines the function logged.
fn tail(run: &Run) -> String {
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(15)
        .collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// The first JSON log line of a run whose `message` is `message`.
pub fn log_line(run: &Run, message: &str) -> Option<serde_json::Value> {
    run.stdout
        .lines()
        .chain(run.stderr.lines())
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|v| {
            v["message"] == message || v["fields"]["message"] == message || v["msg"] == message
        })
}
