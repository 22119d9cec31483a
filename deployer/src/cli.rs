//! Flags and subcommands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// The flags every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Globals {
    /// The stack's config file.
    #[arg(long, global = true, default_value = "proxy.toml", env = "CFRP_CONFIG")]
    pub config: PathBuf,

    /// Human-readable text, or JSON for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// The AWS profile to use (default: AWS_PROFILE or the default profile).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Log the AWS SDK's own messages to stderr (-v warnings, -vv debug); RUST_LOG picks
    /// them finely.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Globals {
    /// The log filter when RUST_LOG (or CFRP_LOG) does not name one: nothing by default, so
    /// the SDK's credential-chain warnings stay off stderr unless asked for.
    pub fn log_filter(&self) -> &'static str {
        match self.verbose {
            0 => "off",
            1 => "warn",
            2 => "debug",
            _ => "trace",
        }
    }
}

/// The deployer's top-level help: its examples and where AWS settings come from.
pub const AFTER_HELP: &str = "Examples:\n  deployer validate --config proxy.toml\n  deployer plan --out plan.json\n  deployer up --plan plan.json\n  deployer up --yes --wait\n  deployer up --origin-domain myapp.example.com --price-class PriceClass_100\n  deployer status --output json\n  deployer price --requests 50000000 --gb 2000 --geo US=0.6,DE=0.3,JP=0.1 --compare\n  deployer down --yes\n  deployer demo                # everything above against a local emulator\n\nAWS credentials, region and endpoint come from the standard chain (AWS_PROFILE or --profile,\nAWS_REGION, AWS_ENDPOINT_URL for a local emulator).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// The deployer's subcommands (the binary adds `demo`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a config file and print every problem (exit 1 when there is one).
    Validate,
    /// Show the plan, ask, then create or converge every resource of the stack (idempotent;
    /// re-run to resume). `--yes` skips the question; `--plan FILE` applies a saved plan.
    Up(ApplyArgs),
    /// Show what `up` would change, without changing anything (exit 2 when changes are
    /// pending); `--out FILE` saves the plan for `up --plan FILE`.
    Plan(PlanArgs),
    /// Show what would be removed, ask, then remove every resource the stack created, in
    /// reverse order (re-run to resume). `--yes` skips the question.
    Down(DownArgs),
    /// Show the distribution, functions, event source mappings and alarm states.
    Status(StackArgs),
    /// Print the least-privilege IAM policy (JSON) an operator needs to run `plan`, `up` and
    /// `down` for this config, scoped to the stack's resources.
    #[command(
        after_help = "Examples:\n  deployer permissions --config proxy.toml --account-id 123456789012 > policy.json\n  aws iam create-policy --policy-name cfrp-shop-operator --policy-document file://policy.json\n\nWithout --account-id the ARNs name any account (`*`). No AWS call is made."
    )]
    Permissions(PermissionsArgs),
    /// Invalidate paths in CloudFront's edge caches (default: everything, /*).
    Invalidate(crate::ops::invalidate::InvalidateArgs),
    /// Attach real-time logging (stream, role, log config) to an existing distribution.
    Logging(crate::ops::logging::LoggingArgs),
    /// Point an existing distribution's origin at a new domain, after showing the change.
    Update(crate::ops::update::UpdateArgs),
    /// Show the lease a run holds on the stack (one writer at a time) and remove it after
    /// confirmation, when that run is dead.
    Unlock(crate::ops::unlock::UnlockArgs),
    /// The `[waf]` web ACL's block list: `list` with reasons and expiry, `add`, `remove`.
    Block(crate::ops::block::BlockArgs),
    /// The origin-verify secret: `show` prints it; `rotate` makes the next value (phase 1)
    /// and `rotate --apply` switches CloudFront to it (phase 2).
    Secret(crate::ops::secret::SecretArgs),
    /// Apply the config to a staging distribution and send a share of requests (or those
    /// with a header) to it through a continuous deployment policy on the primary.
    Stage(crate::ops::staging::StageArgs),
    /// Copy the staging distribution's config onto the primary (it keeps its aliases).
    Promote(crate::ops::staging::PromoteArgs),
    /// Stop sending traffic to the staging distribution and remove the policy.
    Rollback(crate::ops::staging::RollbackArgs),
    /// (Re)create the stack's CloudWatch dashboard from the config and print its URL.
    #[command(after_help = crate::ops::dashboard::HELP)]
    Dashboard(StackArgs),
    /// Print a shell completion script: bash, zsh, fish or powershell.
    #[command(after_help = crate::ops::completions::HELP)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a commented proxy.toml describing an existing distribution (what the config
    /// cannot hold is named); `--adopt` tags the distribution so the stack owns it.
    Import(crate::ops::import::ImportArgs),
    /// Write a commented proxy.toml from a preset: api, static, microservices, signing-api.
    #[command(
        after_help = "Examples:\n  deployer init --list\n  deployer init --preset api --name shop-api --origin-domain api.mycompany.com\n  deployer init --preset microservices --origin-domain gateway.mycompany.com --origin-domain users=users.mycompany.com\n  deployer init --preset signing-api --stdout\n  deployer init --preset static --config site.toml --force"
    )]
    Init(crate::init::InitArgs),
    /// Monthly cost of a traffic profile (flags or the analyser's metrics) under each price
    /// class, from CloudFront's published on-demand prices.
    Price(crate::price::PriceArgs),
    /// A live view of the stack's traffic: rates, error rates, cache hits, latency
    /// percentiles with sparklines, top countries and POPs, rule states and CloudFront's own
    /// metrics; `--output json` streams one object per refresh.
    Monitor(crate::monitor::MonitorArgs),
}

/// Where the stack's config comes from: the file, or the one-command flags.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// Build the config from flags instead of the file: the origin's domain name.
    #[arg(long)]
    pub origin_domain: Option<String>,
    /// Stack name when the config comes from flags.
    #[arg(long, default_value = "proxy", requires = "origin_domain")]
    pub name: String,
    /// Path prefix CloudFront adds to origin requests (e.g. /v1).
    #[arg(long, requires = "origin_domain")]
    pub origin_path: Option<String>,
    /// https-only, http-only or match-viewer.
    #[arg(long, requires = "origin_domain")]
    pub origin_protocol: Option<String>,
    #[arg(long, requires = "origin_domain")]
    pub http_port: Option<u16>,
    #[arg(long, requires = "origin_domain")]
    pub https_port: Option<u16>,
    /// PriceClass_100, PriceClass_200 or PriceClass_All.
    #[arg(long, requires = "origin_domain")]
    pub price_class: Option<String>,
    #[arg(long, requires = "origin_domain")]
    pub comment: Option<String>,
    /// An alternate domain name (repeatable); needs --certificate-arn.
    #[arg(long, requires = "origin_domain")]
    pub cname: Vec<String>,
    /// ACM certificate (us-east-1) covering the --cname names.
    #[arg(long, requires = "origin_domain")]
    pub certificate_arn: Option<String>,
    /// Region of the stack's regional resources (overrides the config file's).
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Wait until CloudFront has deployed the distribution, showing progress.
    #[arg(long)]
    pub wait: bool,
    /// Use prebuilt zips (DIR/<package>/bootstrap.zip, cargo-lambda's layout) instead of
    /// building the functions with cargo-lambda.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// The workspace to build the functions in (default: the current directory).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Build and run the functions on x86_64 instead of the config's architecture
    /// (arm64 by default).
    #[arg(long = "x86-64")]
    pub x86_64: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub up: UpArgs,
    /// Also save the plan to FILE (JSON) for `deployer up --plan FILE`, which applies exactly
    /// it or refuses when the config or the cloud moved since.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Show instead the primary's fields a staging distribution with this config would
    /// change (`deployer stage`); nothing is built or sent.
    #[arg(long, conflicts_with = "out")]
    pub stage: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub up: UpArgs,
    /// Apply without asking (for scripts and CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Apply the plan saved by `deployer plan --out FILE`, without asking: refused, with what
    /// moved, when the config or the cloud changed since it was made.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PermissionsArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The 12-digit account the policy is for (default: `*`, any account).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Remove without asking (for scripts and CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
}
