//! Errors of a deployment, each naming the call and resource and what to do about it.

use std::path::PathBuf;

use aws_credential_types::provider::error::CredentialsError;
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
    /// No provider in the credential chain had credentials.
    #[error(
        "no AWS credentials found (for {call}): run `aws configure`, or name a configured profile with AWS_PROFILE or --profile"
    )]
    NoCredentials { call: String },
    /// The profile signs in through IAM Identity Center and its session is missing or expired.
    #[error(
        "the AWS SSO session {} has expired or was never started (for {call}): run `aws sso login{}`",
        profile.as_deref().map(|p| format!("of profile {p}")).unwrap_or_else(|| "in use".to_string()),
        profile.as_deref().map(|p| format!(" --profile {p}")).unwrap_or_default()
    )]
    SsoLogin {
        call: String,
        profile: Option<String>,
    },
    /// A credential provider failed for another reason (a broken profile, a failing
    /// credential_process, a timeout).
    #[error(
        "loading AWS credentials failed (for {call}): {detail}; check the profile (AWS_PROFILE or --profile) in ~/.aws/config, or run `aws configure`"
    )]
    Credentials { call: String, detail: String },
    /// AWS refused the credentials themselves (unknown key, bad signature, expired session token).
    #[error(
        "{call} was refused, the AWS credentials are not valid ({code}: {message}): renew them (`aws configure`, or `aws sso login` for an SSO profile) or pick another profile with AWS_PROFILE or --profile"
    )]
    CredentialsRefused {
        call: String,
        code: String,
        message: String,
    },
    /// No answer from the endpoint: nothing listens there, the network is down, or it timed out.
    #[error("could not reach {} for {call} ({detail}): {}",
        endpoint.as_deref().unwrap_or("AWS"),
        match endpoint {
            Some(_) => "start the emulator at AWS_ENDPOINT_URL or correct that address (unset it to reach AWS)",
            None => "check the network connection (for a local emulator, set AWS_ENDPOINT_URL to its address)",
        }
    )]
    Unreachable {
        call: String,
        /// `AWS_ENDPOINT_URL` when set (the SDK then sends every call there).
        endpoint: Option<String>,
        detail: String,
    },
    /// `down` could not empty the bucket: the objects S3 refused to delete, in every pass.
    #[error("{}", match undeleted.is_empty() {
        true => format!("S3 bucket {bucket} was not emptied after {passes} passes: objects are still being written to it; stop the writers and run `deployer down` again"),
        false => format!("S3 bucket {bucket} could not be emptied, {} object(s) were not deleted in {passes} passes: {}; allow their deletion (s3:DeleteObject, s3:DeleteObjectVersion; a bucket policy or object lock may deny it) or remove them, then run `deployer down` again", undeleted.len(), undeleted_list(undeleted)),
    })]
    NotEmptied {
        bucket: String,
        passes: usize,
        undeleted: Vec<crate::ports::s3::Undeleted>,
    },
    /// The caller's IAM policies do not allow the call.
    #[error(
        "{call} for {resource} was denied ({code}): allow the IAM action{} {} to the identity running the deployer{}",
        if actions.len() > 1 { "s" } else { "" },
        actions.join(" and "),
        if message.is_empty() { String::new() } else { format!(" (AWS said: {message})") }
    )]
    AccessDenied {
        call: String,
        resource: String,
        code: String,
        /// The IAM actions the call needs.
        actions: Vec<String>,
        message: String,
    },
}

/// How many undeleted objects an error names (the count covers the rest).
const NAMED_UNDELETED: usize = 10;

fn undeleted_list(undeleted: &[crate::ports::s3::Undeleted]) -> String {
    let mut named: Vec<String> = undeleted
        .iter()
        .take(NAMED_UNDELETED)
        .map(|u| {
            let version = u
                .object
                .version
                .as_deref()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default();
            format!("{}{version} ({}: {})", u.object.key, u.code, u.message)
        })
        .collect();
    if undeleted.len() > NAMED_UNDELETED {
        named.push(format!("and {} more", undeleted.len() - NAMED_UNDELETED));
    }
    named.join(", ")
}

/// What went wrong with an AWS call, as far as the person running the deployer can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No provider in the chain had credentials.
    NoCredentials,
    /// An SSO profile whose session (token cache) is missing or expired.
    SsoSession,
    /// Another credential provider failure, with what it said.
    Credentials(String),
    /// The service refused the credentials (code, message).
    CredentialsRefused(String, String),
    /// The request never got an answer (connection refused, DNS, timeout), with the cause.
    Unreachable(String),
    /// The service answered that the caller may not (code, message).
    Denied(String, String),
    /// Anything else: the service's own answer, kept as it is.
    Other,
}

/// Error codes services answer a caller without the IAM permission with (S3, SQS query:
/// AccessDenied; JSON services: AccessDeniedException; EC2-style: UnauthorizedOperation;
/// SNS: AuthorizationError).
const DENIED_CODES: [&str; 4] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
];

/// Error codes of credentials AWS does not accept (STS, the JSON services, S3).
const REFUSED_CREDENTIAL_CODES: [&str; 7] = [
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
];

/// Classifies an SDK error by its variant: credentials fail before the request is sent (the
/// SDK reports them as a dispatch failure whose cause is a `CredentialsError`), an endpoint
/// that does not answer is a dispatch failure with an I/O or timeout cause (or a timeout
/// error), a refusal is a service error with its code.
pub fn classify<E, R>(err: &SdkError<E, R>) -> Failure
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(credentials) = find_cause::<CredentialsError>(err) {
        return match credentials {
            CredentialsError::CredentialsNotLoaded(_) => Failure::NoCredentials,
            // aws-config's SSO errors are private types: their text is all there is to tell
            // an SSO session apart from another provider failure. A cached token past its
            // expiry is sent as it is, and the portal's GetRoleCredentials refuses it with
            // UnauthorizedException (its only 401; no other credential provider calls it).
            _ if causes(credentials).any(|c| {
                c.to_lowercase().contains("sso") || c.contains("UnauthorizedException")
            }) =>
            {
                Failure::SsoSession
            }
            other => Failure::Credentials(innermost(other)),
        };
    }
    match err {
        SdkError::DispatchFailure(dispatch) if dispatch.is_io() || dispatch.is_timeout() => {
            Failure::Unreachable(innermost(err))
        }
        SdkError::TimeoutError(_) => Failure::Unreachable("timed out".to_string()),
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let message = service.err().message().unwrap_or_default().to_string();
            if DENIED_CODES.contains(&code) {
                Failure::Denied(code.to_string(), message)
            } else if REFUSED_CREDENTIAL_CODES.contains(&code) {
                Failure::CredentialsRefused(code.to_string(), message)
            } else {
                Failure::Other
            }
        }
        _ => Failure::Other,
    }
}

/// The first error of type `T` in `err`'s chain of causes.
fn find_cause<'e, T: std::error::Error + 'static>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut next = Some(err);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}

/// The text of `err` and each of its causes, outermost first.
fn causes<'e>(err: &'e (dyn std::error::Error + 'static)) -> impl Iterator<Item = String> + 'e {
    std::iter::successors(Some(err), |e| e.source()).map(|e| e.to_string())
}

/// The innermost cause's text (`Connection refused (os error 111)`), the one a person can
/// act on; the outer ones are the SDK's wrappers ("dispatch failure", "io error").
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    causes(err).last().unwrap_or_default()
}

/// The IAM actions a call needs, where they are not named as the API operation is.
pub fn iam_actions(call: &str) -> Vec<String> {
    let actions: &[&str] = match call {
        "s3:ListObjectsV2" | "s3:HeadBucket" => &["s3:ListBucket"],
        "s3:ListObjectVersions" => &["s3:ListBucketVersions"],
        "s3:DeleteObjects" => &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "s3:GetBucketNotificationConfiguration" => &["s3:GetBucketNotification"],
        "s3:PutBucketNotificationConfiguration" => &["s3:PutBucketNotification"],
        "cloudfront:CreateDistributionWithTags" => {
            &["cloudfront:CreateDistribution", "cloudfront:TagResource"]
        }
        other => return vec![other.to_string()],
    };
    actions.iter().map(|a| a.to_string()).collect()
}

impl DeployError {
    /// Wraps an SDK error: the service's error code and message when it sent one, the HTTP
    /// status and body when it sent something else, the chain of causes (connection,
    /// credentials, timeout) otherwise.
    pub fn aws<E>(call: &str, resource: &str, err: SdkError<E>) -> DeployError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let call_name = call.to_string();
        match classify(&err) {
            Failure::NoCredentials => return DeployError::NoCredentials { call: call_name },
            Failure::SsoSession => {
                return DeployError::SsoLogin {
                    call: call_name,
                    profile: env_var("AWS_PROFILE"),
                };
            }
            Failure::Credentials(detail) => {
                return DeployError::Credentials {
                    call: call_name,
                    detail,
                };
            }
            Failure::CredentialsRefused(code, message) => {
                return DeployError::CredentialsRefused {
                    call: call_name,
                    code,
                    message,
                };
            }
            Failure::Unreachable(detail) => {
                return DeployError::Unreachable {
                    call: call_name,
                    endpoint: env_var("AWS_ENDPOINT_URL"),
                    detail,
                };
            }
            Failure::Denied(code, message) => {
                return DeployError::AccessDenied {
                    actions: iam_actions(call),
                    call: call_name,
                    resource: resource.to_string(),
                    code,
                    message,
                };
            }
            Failure::Other => {}
        }
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

    /// The error naming `profile` (from `--profile`, which the SDK reads without setting
    /// `AWS_PROFILE`) where the hint depends on the profile.
    pub fn for_profile(self, profile: Option<&str>) -> DeployError {
        match self {
            DeployError::SsoLogin { call, profile: env } => DeployError::SsoLogin {
                call,
                profile: profile.map(str::to_string).or(env),
            },
            other => other,
        }
    }

    pub fn state(resource: &str, message: impl Into<String>) -> DeployError {
        DeployError::State {
            resource: resource.to_string(),
            message: message.into(),
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

    type Sdk = SdkError<GetCallerIdentityError, ()>;

    fn service(code: &str, message: &str) -> Sdk {
        SdkError::service_error(
            GetCallerIdentityError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            ),
            (),
        )
    }

    /// The credential chain's failure as the SDK reports it: resolved before sending, so a
    /// dispatch failure of kind "other" whose cause is the `CredentialsError`.
    fn credentials(err: CredentialsError) -> Sdk {
        SdkError::dispatch_failure(ConnectorError::other(Box::new(err), None))
    }

    #[test]
    fn no_provider_with_credentials_is_no_credentials() {
        let err = credentials(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        ));
        assert_eq!(classify(&err), Failure::NoCredentials);
    }

    #[test]
    fn an_expired_or_missing_sso_token_is_an_sso_session_and_other_providers_are_not() {
        for text in [
            "the SSO token has expired and cannot be refreshed",
            "failed to read `/home/me/.aws/sso/cache/0123abcd.json`",
            "UnauthorizedException: Session token not found or invalid",
        ] {
            let err = credentials(CredentialsError::provider_error(std::io::Error::other(
                text,
            )));
            assert_eq!(classify(&err), Failure::SsoSession, "{text}");
        }
        let err = credentials(CredentialsError::provider_error(std::io::Error::other(
            "credential_process exited with 3",
        )));
        assert_eq!(
            classify(&err),
            Failure::Credentials("credential_process exited with 3".to_string())
        );
    }

    #[test]
    fn a_refused_connection_or_a_timeout_is_unreachable() {
        let refused = Sdk::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        ))));
        assert_eq!(
            classify(&refused),
            Failure::Unreachable("Connection refused (os error 111)".to_string())
        );
        let slow = Sdk::dispatch_failure(ConnectorError::timeout("connect timed out".into()));
        assert!(matches!(classify(&slow), Failure::Unreachable(_)));
        let attempt = Sdk::timeout_error("operation timed out");
        assert!(matches!(classify(&attempt), Failure::Unreachable(_)));
    }

    #[test]
    fn each_services_denial_code_is_denied_and_bad_credentials_are_refused() {
        for code in DENIED_CODES {
            assert_eq!(
                classify(&service(code, "not authorized")),
                Failure::Denied(code.to_string(), "not authorized".to_string())
            );
        }
        assert_eq!(
            classify(&service("InvalidClientTokenId", "bad key")),
            Failure::CredentialsRefused("InvalidClientTokenId".into(), "bad key".into())
        );
        assert_eq!(classify(&service("NoSuchBucket", "gone")), Failure::Other);
        assert_eq!(
            classify(&Sdk::construction_failure("missing field")),
            Failure::Other
        );
    }

    #[test]
    fn a_denial_names_the_iam_actions_of_the_call() {
        assert_eq!(
            iam_actions("cloudfront:CreateDistributionWithTags"),
            ["cloudfront:CreateDistribution", "cloudfront:TagResource"]
        );
        assert_eq!(iam_actions("s3:ListObjectsV2"), ["s3:ListBucket"]);
        assert_eq!(iam_actions("sqs:CreateQueue"), ["sqs:CreateQueue"]);
        let denied = DeployError::AccessDenied {
            call: "cloudfront:CreateDistributionWithTags".into(),
            resource: "cfrp-shop-distribution".into(),
            code: "AccessDenied".into(),
            actions: iam_actions("cloudfront:CreateDistributionWithTags"),
            message: "User: arn:aws:iam::123456789012:user/ci is not authorized".into(),
        };
        let text = denied.to_string();
        assert!(
            text.contains(
                "allow the IAM actions cloudfront:CreateDistribution and cloudfront:TagResource"
            ),
            "{text}"
        );
    }

    /// Every hint is one line that says what to run or set.
    #[test]
    fn each_message_is_one_line_with_what_to_do() {
        let call = || "sts:GetCallerIdentity".to_string();
        let cases = [
            (DeployError::NoCredentials { call: call() }, "aws configure"),
            (
                DeployError::SsoLogin {
                    call: call(),
                    profile: None,
                }
                .for_profile(Some("dev")),
                "aws sso login --profile dev",
            ),
            (
                DeployError::Unreachable {
                    call: call(),
                    endpoint: Some("http://127.0.0.1:9".into()),
                    detail: "Connection refused (os error 111)".into(),
                },
                "AWS_ENDPOINT_URL",
            ),
            (
                DeployError::Unreachable {
                    call: call(),
                    endpoint: None,
                    detail: "dns error".into(),
                },
                "AWS_ENDPOINT_URL",
            ),
            (
                DeployError::CredentialsRefused {
                    call: call(),
                    code: "ExpiredToken".into(),
                    message: "expired".into(),
                },
                "AWS_PROFILE",
            ),
        ];
        for (err, hint) in cases {
            let text = err.to_string();
            assert!(text.contains(hint) && !text.contains('\n'), "{text}");
        }
    }
}
