//! Thin per-service modules: read what exists, compare with the spec, and (when applying)
//! make the calls that converge it. Every mutating call is counted through
//! [`Run::mutating`](crate::context::Run::mutating) just before it is sent.

pub mod cloudfront;
pub mod events;
pub mod iam;
pub mod kinesis;
pub mod lambda;
pub mod monitoring;
pub mod s3;
pub mod sqs;

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::DeployError;

/// Tags in one comparable line.
pub fn tag_text(tags: &[(String, String)]) -> String {
    let mut managed: Vec<String> = tags
        .iter()
        .filter(|(k, _)| k.starts_with("cfrp:"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    managed.sort();
    managed.join(",")
}

/// Polls `check` until it answers true, with backoff from 200 ms up to 10 s between polls
/// (fast against an emulator, polite against AWS), failing after `limit`.
pub async fn poll<F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<(), DeployError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, DeployError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        if check().await? {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err(DeployError::Timeout {
                what: what.to_string(),
                seconds: limit.as_secs(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Retries a create while AWS still says the just-created role is unknown or cannot be
/// assumed (IAM propagation takes seconds), counting each attempt as a mutating call.
pub async fn retry_while_role_propagates<T, E, F, Fut>(
    mut call: F,
    run: &crate::context::Run<'_>,
    operation: &str,
    name: &str,
) -> Result<T, DeployError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, aws_sdk_cloudfront::error::SdkError<E>>>,
    E: std::error::Error + aws_sdk_cloudfront::error::ProvideErrorMetadata + 'static,
{
    // Propagation usually takes a few seconds: the first retry comes after 1 s, then the
    // delay doubles up to 15 s, about a minute in all (7 attempts).
    let mut delay = Duration::from_secs(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        run.mutating(operation, name)?;
        match call().await {
            Ok(out) => return Ok(out),
            Err(err) => {
                let code = err
                    .as_service_error()
                    .and_then(|e| e.code())
                    .unwrap_or_default();
                let message = err
                    .as_service_error()
                    .and_then(|e| e.message())
                    .unwrap_or_default();
                let propagating =
                    matches!(code, "InvalidArgument" | "InvalidParameterValueException")
                        && message.to_ascii_lowercase().contains("role");
                if !propagating || attempt > 7 {
                    return Err(DeployError::aws(operation, name, err));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
    }
}

/// A call's result where "no such resource" is an answer, not a failure: `Ok(None)` when
/// `missing` recognises the service's error, the error (with call and resource) otherwise.
pub fn found<T, E>(
    result: Result<T, aws_sdk_sts::error::SdkError<E>>,
    missing: impl FnOnce(&E) -> bool,
    call: &str,
    name: &str,
) -> Result<Option<T>, DeployError>
where
    E: std::error::Error + aws_sdk_sts::error::ProvideErrorMetadata + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(err) if err.as_service_error().is_some_and(missing) => Ok(None),
        Err(err) => Err(DeployError::aws(call, name, err)),
    }
}
