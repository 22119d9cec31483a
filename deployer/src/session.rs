//! What every command shares, decided once in `main` (or by the demo): the output format,
//! colour, progress lines, the region to fall back on, and where the AWS clients point and
//! which credentials they use. Commands take a [`Session`] instead of reading the
//! environment themselves, so they all resolve these the same way.

use std::io::IsTerminal;

use crate::cli::Output;
use crate::context::{Clients, Mode, Run};
use crate::error::DeployError;
use crate::ops::Paint;
use crate::progress::Progress;
use cfrp_config::StackConfig;

/// The region when neither the config nor a flag names one, as the AWS CLI falls back.
pub const FALLBACK_REGION: &str = "us-east-1";

/// Where the clients send requests, and with which credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The standard chain: `--profile`/`AWS_PROFILE`, environment credentials, SSO, instance
    /// roles, and `AWS_ENDPOINT_URL` when set.
    Account { profile: Option<String> },
    /// A local emulator at this endpoint with dummy credentials: a real account's profile is
    /// never read, so nothing can reach it (the demo).
    Local { endpoint: String },
}

/// One command invocation's shared settings.
#[derive(Debug, Clone)]
pub struct Session {
    pub output: Output,
    pub target: Target,
    /// `AWS_REGION`, then `AWS_DEFAULT_REGION`, then [`FALLBACK_REGION`].
    pub default_region: String,
    /// Colour on stdout: text output to a terminal, `NO_COLOR` unset or empty.
    pub color: bool,
    /// Progress lines on stderr: text output, or `CFRP_PROGRESS` set.
    pub progress_lines: bool,
}

impl Session {
    /// The session of a command run from a shell: settings from the environment and flags.
    pub fn from_env(output: Output, profile: Option<String>) -> Session {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Session {
            output,
            target: Target::Account { profile },
            default_region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| FALLBACK_REGION.to_string()),
            color: output == Output::Text
                && std::io::stdout().is_terminal()
                && var("NO_COLOR").is_none(),
            progress_lines: output == Output::Text || std::env::var_os("CFRP_PROGRESS").is_some(),
        }
    }

    /// The same session aimed at a local emulator instead.
    pub fn local(&self, endpoint: &str) -> Session {
        Session {
            target: Target::Local {
                endpoint: endpoint.to_string(),
            },
            ..self.clone()
        }
    }

    /// The same session reporting in `output` (colour only for text to a terminal).
    pub fn with_output(&self, output: Output) -> Session {
        Session {
            output,
            color: self.color && output == Output::Text,
            progress_lines: self.progress_lines && output == Output::Text,
            ..self.clone()
        }
    }

    pub fn paint(&self) -> Paint {
        Paint::new(self.color)
    }

    pub fn progress(&self) -> Progress {
        Progress::new(self.progress_lines)
    }

    /// `explicit` (a flag), else the session's default region.
    pub fn region(&self, explicit: Option<&str>) -> String {
        explicit.map_or_else(|| self.default_region.clone(), str::to_string)
    }

    /// SDK clients for `region`.
    pub async fn clients(&self, region: &str) -> Clients {
        Clients::load(region, &self.target).await
    }

    /// SSM Parameter Store in `region`: where the stack's lease and pending secret live.
    pub async fn parameters(
        &self,
        region: &str,
    ) -> std::sync::Arc<dyn crate::ports::ssm::Parameters> {
        std::sync::Arc::new(crate::ports::ssm::SdkParameters(
            self.clients(region).await.ssm,
        ))
    }

    /// Clients, the account they act in, and a run of `mode` for `config`.
    pub async fn run<'a>(
        &self,
        config: &'a StackConfig,
        mode: Mode,
    ) -> Result<Run<'a>, DeployError> {
        let clients = self.clients(&config.region).await;
        Run::new(config, clients, mode, self.progress())
            .await
            .map_err(|e| e.for_profile(self.profile()))
    }

    /// The profile named by `--profile` or `AWS_PROFILE`, if any.
    pub fn profile(&self) -> Option<&str> {
        match &self.target {
            Target::Account { profile } => profile.as_deref(),
            Target::Local { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_is_never_coloured_and_a_local_session_keeps_the_rest() {
        let session = Session {
            output: Output::Text,
            target: Target::Account { profile: None },
            default_region: "eu-west-1".into(),
            color: true,
            progress_lines: true,
        };
        let json = session.with_output(Output::Json);
        assert!(!json.color && !json.progress_lines);
        assert_eq!(json.paint().red("x"), "x");
        let local = session.local("http://127.0.0.1:4566");
        assert_eq!(
            local.target,
            Target::Local {
                endpoint: "http://127.0.0.1:4566".into()
            }
        );
        assert_eq!(local.default_region, "eu-west-1");
        assert_eq!(local.region(Some("ap-south-1")), "ap-south-1");
        assert_eq!(local.region(None), "eu-west-1");
    }
}
