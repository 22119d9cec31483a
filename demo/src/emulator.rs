//! The local AWS emulator the demo runs against: the one `AWS_ENDPOINT_URL` names when it
//! answers, or a new one started from the workspace's `.venv` (as `scripts/emulator` does).
//! A started emulator is stopped by [`Emulator::stop`], by `Drop` on every other exit path,
//! and — should this process be killed outright — by itself: it watches our pid.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::StepError;

/// The first start imports all of moto; on a busy 2-core machine that takes seconds.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a reachability check of `AWS_ENDPOINT_URL` may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines of the emulator's stderr kept for an error message.
const STDERR_LINES: usize = 20;

/// The emulator in use.
#[derive(Debug)]
pub struct Emulator {
    pub endpoint: String,
    /// Set when the demo started it (and so must stop it).
    child: Option<Child>,
    pid: Option<u32>,
}

impl Emulator {
    /// The pid of the emulator the demo started; `None` when it reuses one.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the demo started this emulator.
    pub fn started(&self) -> bool {
        self.pid.is_some()
    }

    /// Kills and reaps a started emulator; returns its pid when there was one to stop.
    pub fn stop(&mut self) -> Option<u32> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        let _ = child.wait();
        self.pid
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `AWS_ENDPOINT_URL` when it is set and something accepts connections there.
pub async fn reusable() -> Result<Option<String>, String> {
    let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| !e.trim().is_empty())
    else {
        return Ok(None);
    };
    let address = host_port(&endpoint).ok_or_else(|| {
        format!("AWS_ENDPOINT_URL={endpoint} is not an http(s)://HOST[:PORT] URL")
    })?;
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&address)).await {
        Ok(Ok(_)) => Ok(Some(endpoint.trim_end_matches('/').to_string())),
        Ok(Err(err)) => Err(format!(
            "AWS_ENDPOINT_URL={endpoint} does not answer ({err})"
        )),
        Err(_) => Err(format!(
            "AWS_ENDPOINT_URL={endpoint} did not answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// `HOST:PORT` of an `http(s)://HOST[:PORT][/...]` URL.
fn host_port(url: &str) -> Option<String> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, 80)
    } else {
        (url.strip_prefix("https://")?, 443)
    };
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    let has_port = match authority.rfind(':') {
        // `[::1]:4566` has a port, `[::1]` has not.
        Some(at) => !authority[at..].contains(']'),
        None => false,
    };
    Some(if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    })
}

/// The emulator at a known endpoint (nothing to stop).
pub fn existing(endpoint: String) -> Emulator {
    Emulator {
        endpoint,
        child: None,
        pid: None,
    }
}

/// Starts `<workspace>/.venv/bin/python -m cfrp_emulator.server --port 0` in
/// `<workspace>/tests/emulator` and waits for the endpoint it prints. `why` says why no
/// running emulator is used (for the message when none can be started either).
pub async fn start(workspace: &Path, why: &str) -> Result<Emulator, StepError> {
    let workspace = std::path::absolute(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    let python = workspace.join(".venv/bin/python");
    let server_dir = workspace.join("tests/emulator");
    if !python.exists() || !server_dir.is_dir() {
        return Err(StepError::Failed(format!(
            "{why} and there is no emulator to start: {} is missing; run scripts/setup in the repository first (it installs the pinned emulator into .venv), or pass --workspace DIR pointing at the checkout",
            if server_dir.is_dir() {
                python.display().to_string()
            } else {
                server_dir.display().to_string()
            }
        )));
    }
    let mut child = Command::new(&python)
        .args(["-m", "cfrp_emulator.server", "--port", "0", "--parent-pid"])
        .arg(std::process::id().to_string())
        .current_dir(&server_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| StepError::Failed(format!("could not start {}: {err}", python.display())))?;
    let pid = child.id();
    // From here the guard owns the process: any early return below kills it.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut emulator = Emulator {
        endpoint: String::new(),
        child: Some(child),
        pid: Some(pid),
    };
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    if let Some(stderr) = stderr {
        let tail = tail.clone();
        // The emulator logs every request to stderr: keep draining it so it never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == STDERR_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        });
    }
    let (sender, receiver) = tokio::sync::oneshot::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let read = reader.read_line(&mut first);
            let _ = sender.send(read.map(|_| first.trim().to_string()));
            // Drain whatever else it prints.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
    }
    let stderr_tail = || {
        tail.lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    };
    match tokio::time::timeout(START_TIMEOUT, receiver).await {
        Ok(Ok(Ok(line))) if line.starts_with("http://") => {
            emulator.endpoint = line;
            Ok(emulator)
        }
        Ok(_) => {
            emulator.stop();
            // Give the stderr reader a moment to collect the reason.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Err(StepError::Failed(format!(
                "the emulator exited without printing its endpoint; its stderr:\n{}",
                stderr_tail()
            )))
        }
        Err(_) => {
            emulator.stop();
            Err(StepError::Failed(format!(
                "the emulator did not print its endpoint within {} s; its stderr:\n{}",
                START_TIMEOUT.as_secs(),
                stderr_tail()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn endpoints_to_addresses() {
        assert_eq!(
            host_port("http://127.0.0.1:4566").as_deref(),
            Some("127.0.0.1:4566")
        );
        assert_eq!(
            host_port("http://localhost:5000/").as_deref(),
            Some("localhost:5000")
        );
        assert_eq!(
            host_port("https://example.com").as_deref(),
            Some("example.com:443")
        );
        assert_eq!(
            host_port("http://[::1]:4566").as_deref(),
            Some("[::1]:4566")
        );
        assert_eq!(host_port("http://[::1]").as_deref(), Some("[::1]:80"));
        assert_eq!(host_port("127.0.0.1:4566"), None);
        assert_eq!(host_port("http://"), None);
    }
}
