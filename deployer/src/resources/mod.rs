//! Thin per-service modules: read what exists, compare with the spec, and (when applying)
//! make the calls that converge it. Every mutating call is counted through
//! [`Run::mutating`](crate::context::Run::mutating) just before it is sent.

pub mod canary;
pub mod cloudfront;
pub mod dynamodb;
pub mod events;
pub mod headers;
pub mod iam;
pub mod kinesis;
pub mod lambda;
pub mod metrics_subscription;
pub mod monitoring;
pub mod s3;
pub mod sqs;
pub mod staging;
pub mod standard_logs;
pub mod waf;

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

/// The wait before the first retry of a create refused while its role propagates; it doubles
/// up to 15 times this. Unit tests against the fake account need no real wait.
const ROLE_RETRY_FIRST_DELAY: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_secs(1)
};

/// Whether AWS refused a call because the role it names is not usable yet: a role created
/// seconds ago is unknown to Lambda or CloudFront, or cannot be assumed, until IAM has
/// propagated it. The error's message is `Code: text` as [`DeployError::aws`] writes it.
pub fn role_not_ready(error: &DeployError) -> bool {
    let DeployError::Aws { message, .. } = error else {
        return false;
    };
    let Some((code, text)) = message.split_once(": ") else {
        return false;
    };
    matches!(code, "InvalidArgument" | "InvalidParameterValueException")
        && text.to_ascii_lowercase().contains("role")
}

/// Retries a create while AWS still says the just-created role is unknown or cannot be
/// assumed (IAM propagation takes seconds), counting each attempt as a mutating call.
pub async fn retry_while_role_propagates<T, F, Fut>(
    mut call: F,
    run: &crate::context::Run<'_>,
    operation: &str,
    name: &str,
) -> Result<T, DeployError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeployError>>,
{
    // Propagation usually takes a few seconds: the first retry comes after 1 s, then the
    // delay doubles up to 15 s, about a minute in all (7 retries).
    let mut delay = ROLE_RETRY_FIRST_DELAY;
    let mut attempt = 0;
    loop {
        attempt += 1;
        run.mutating(operation, name)?;
        match call().await {
            Ok(out) => return Ok(out),
            Err(err) if role_not_ready(&err) && attempt <= 7 => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(ROLE_RETRY_FIRST_DELAY * 15);
            }
            Err(err) => return Err(err),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_naming_the_role_counts_as_propagation() {
        let refusal = |message: &str| DeployError::Aws {
            call: "lambda:CreateFunction".into(),
            resource: "cfrp-shop-alarm-evaluator".into(),
            message: message.into(),
        };
        for waited in [
            "InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.",
            "InvalidArgument: Real-time log configuration role ARN is not valid",
        ] {
            assert!(role_not_ready(&refusal(waited)), "{waited}");
        }
        for failed in [
            "InvalidParameterValueException: Unzipped size must be smaller than 262144000 bytes",
            "ResourceConflictException: Function already exist: the-role",
            "InvalidArgument: The stream ARN is not valid",
            "AccessDenied: the role may not be assumed",
        ] {
            assert!(!role_not_ready(&refusal(failed)), "{failed}");
        }
        assert!(!role_not_ready(&DeployError::state("x", "role")));
    }
}
