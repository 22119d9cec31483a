//! A Lambda Runtime API emulator: runs a built `bootstrap` the way Lambda does and hands it
//! events over the documented protocol (`GET /2018-06-01/runtime/invocation/next`,
//! `POST .../invocation/{id}/response`, `POST .../invocation/{id}/error`,
//! `POST /2018-06-01/runtime/init/error`).
//!
//! The process gets Lambda's environment (`AWS_LAMBDA_RUNTIME_API`, function name, memory,
//! version, log group and stream) plus the caller's variables. Every wait is bounded.
//!
//! Used by the cross-crate tests (`cfrp_tests::runtime_api` re-exports it) and by
//! `deployer demo`, which run the functions' real binaries locally because the AWS emulator
//! stores function code but never runs it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::Notify;

const PREFIX: &str = "/2018-06-01/runtime";

/// What one invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(serde_json::Value),
    Error(serde_json::Value),
}

/// Everything a run of the bootstrap produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    /// Set when the function reported an init error instead of asking for work.
    pub init_error: Option<serde_json::Value>,
    /// From process start to its first `/next` request: Lambda's init phase.
    pub init_duration: Option<Duration>,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("could not run {binary}: {source}")]
    Spawn {
        binary: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the function did not finish {pending} invocation(s) within {timeout:?}; stderr:\n{stderr}"
    )]
    Timeout {
        pending: usize,
        timeout: Duration,
        stderr: String,
    },
    #[error("the function exited before finishing its invocations ({status}); stderr:\n{stderr}")]
    Exited {
        status: String,
        stdout: String,
        stderr: String,
    },
    #[error("the Runtime API server failed: {0}")]
    Server(#[from] std::io::Error),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    outcomes: Vec<(String, Outcome)>,
    init_error: Option<serde_json::Value>,
    first_next: Option<Instant>,
}

/// Runs `binary` under the Runtime API, invoking it once per payload in order.
pub async fn run_bootstrap(
    binary: &Path,
    env: &[(&str, &str)],
    payloads: &[String],
    timeout: Duration,
) -> Result<Run, RuntimeApiError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let state = Arc::new(Mutex::new(State {
        queue: payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("00000000-0000-4000-8000-{i:012}"), p.clone()))
            .collect(),
        ..State::default()
    }));
    let changed = Arc::new(Notify::new());
    let server = tokio::spawn(serve(listener, state.clone(), changed.clone()));

    let started = Instant::now();
    let mut command = tokio::process::Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            binary
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("function"),
        )
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/local")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| RuntimeApiError::Spawn {
        binary: binary.display().to_string(),
        source,
    })?;

    let expected = payloads.len();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut exit_status = None;
    let finished = loop {
        {
            let s = state
                .lock()
                .map_err(|_| std::io::Error::other("state poisoned"))?;
            // With no payloads, the run ends once the function has asked for work (init done).
            let done = s.outcomes.len() >= expected && (expected > 0 || s.first_next.is_some());
            if done || s.init_error.is_some() {
                break true;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            exit_status = Some(status);
            break state
                .lock()
                .map(|s| s.outcomes.len() >= expected)
                .unwrap_or(false);
        }
        // Wake on Runtime API traffic, or every 50 ms to notice an exited process.
        let tick = tokio::time::Instant::now() + Duration::from_millis(50);
        if tokio::time::timeout_at(tick.min(deadline), changed.notified())
            .await
            .is_err()
            && tokio::time::Instant::now() >= deadline
        {
            break false;
        }
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    server.abort();
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout).await;
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr).await;
    }
    let s = state
        .lock()
        .map_err(|_| std::io::Error::other("state poisoned"))?;
    if !finished && s.init_error.is_none() {
        if let Some(status) = exit_status {
            return Err(RuntimeApiError::Exited {
                status: status.to_string(),
                stdout,
                stderr,
            });
        }
        return Err(RuntimeApiError::Timeout {
            pending: expected - s.outcomes.len(),
            timeout,
            stderr: format!("{stderr}{stdout}"),
        });
    }
    Ok(Run {
        outcomes: s.outcomes.iter().map(|(_, o)| o.clone()).collect(),
        init_error: s.init_error.clone(),
        init_duration: s.first_next.map(|t| t.duration_since(started)),
        stdout,
        stderr,
    })
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>, changed: Arc<Notify>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        let changed = changed.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(request, state.clone(), changed.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = || {
        serde_json::from_slice(&body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
        })
    };

    if method == hyper::Method::GET && path == format!("{PREFIX}/invocation/next") {
        let next = {
            let Ok(mut s) = state.lock() else {
                return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR, "state"));
            };
            s.first_next.get_or_insert_with(Instant::now);
            s.queue.pop_front()
        };
        changed.notify_one();
        let Some((id, payload)) = next else {
            // No more work: like Lambda, keep the function waiting (it is killed after).
            std::future::pending::<()>().await;
            return Ok(reply(StatusCode::NO_CONTENT, ""));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() + 60_000);
        let mut response = reply(StatusCode::OK, payload);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", id.clone()),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:local".to_string(),
            ),
            ("lambda-runtime-trace-id", format!("Root=1-00000000-{id}")),
            ("content-type", "application/json".to_string()),
        ] {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        }
        return Ok(response);
    }
    if method == hyper::Method::POST && path == format!("{PREFIX}/init/error") {
        if let Ok(mut s) = state.lock() {
            s.init_error = Some(json());
        }
        changed.notify_one();
        return Ok(reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}"));
    }
    if method == hyper::Method::POST
        && let Some(rest) = path.strip_prefix(&format!("{PREFIX}/invocation/"))
        && let Some((id, kind)) = rest.split_once('/')
    {
        let outcome = match kind {
            "response" => Outcome::Response(json()),
            "error" => Outcome::Error(json()),
            _ => return Ok(reply(StatusCode::NOT_FOUND, "")),
        };
        if let Ok(mut s) = state.lock() {
            s.outcomes.push((id.to_string(), outcome));
        }
        changed.notify_one();
        return Ok(reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}"));
    }
    Ok(reply(StatusCode::NOT_FOUND, "unknown Runtime API path"))
}
