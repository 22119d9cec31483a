//! Errors of a deployment, each naming the call and resource and what to do about it.

use std::path::PathBuf;

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{call} for {resource} failed: {message}")]
    Aws {
        call: String,
        resource: String,
        message: String,
    },
    #[error("{resource}: {message}")]
    State { resource: String, message: String },
    #[error(
        "function package {path} not found: build it with `cargo lambda build --release --output-format zip` or point --artifacts at a directory holding <package>/bootstrap.zip"
    )]
    MissingArtifact { path: PathBuf },
    #[error("packaging failed: {0}")]
    Packaging(String),
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A request the deployer built is missing a required field: a bug in the deployer.
    #[error("internal error building a request: {0}")]
    Build(#[from] aws_sdk_cloudfront::error::BuildError),
    #[error(transparent)]
    Config(#[from] cfrp_config::ConfigError),
    /// The cloud no longer matches the plan being applied; nothing of that step was changed.
    #[error(
        "{what}; the cloud changed since the plan was made, so this step was not applied: run `deployer plan` again and review it"
    )]
    PlanMoved { what: String },
    /// More than one step of a plan failed (steps already running finish after a failure).
    #[error("{} steps failed:{}", failed.len(), failed.iter().map(|(step, error)| format!("\n  {step}: {error}")).collect::<String>())]
    Steps { failed: Vec<(String, String)> },
    #[error("timed out after {seconds} s waiting for {what}; run the command again to resume")]
    Timeout { what: String, seconds: u64 },
}

impl DeployError {
    /// Wraps an SDK error: the service's error code and message when it sent one, the HTTP
    /// status and body when it sent something else, the chain of causes (connection,
    /// credentials, timeout) otherwise.
    pub fn aws<E>(call: &str, resource: &str, err: SdkError<E>) -> DeployError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let message = match (&err, err.as_service_error()) {
            (_, Some(service)) if service.code().is_some() => format!(
                "{}: {}",
                service.code().unwrap_or_default(),
                service.message().unwrap_or_default()
            ),
            (SdkError::ServiceError(raw), _) => {
                let response = raw.raw();
                let body = response
                    .body()
                    .bytes()
                    .map(|b| {
                        String::from_utf8_lossy(b)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    })
                    .unwrap_or_default();
                format!("HTTP {}: {body}", response.status().as_u16())
            }
            _ => format!("{}", aws_sdk_sts::error::DisplayErrorContext(&err)),
        };
        DeployError::Aws {
            call: call.to_string(),
            resource: resource.to_string(),
            message,
        }
    }

    pub fn state(resource: &str, message: impl Into<String>) -> DeployError {
        DeployError::State {
            resource: resource.to_string(),
            message: message.into(),
        }
    }
}
