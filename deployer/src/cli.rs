//! Flags and subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    about = "Put a CloudFront distribution in front of a web app or API, with real-time log metrics, alarms and cache invalidation",
    after_help = "Examples:\n  deployer validate --config proxy.toml\n  deployer validate --output json"
)]
pub struct Cli {
    /// The stack's config file.
    #[arg(long, global = true, default_value = "proxy.toml", env = "CFRP_CONFIG")]
    pub config: PathBuf,

    /// Human-readable text, or JSON for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a config file and print every problem (exit 1 when there is one).
    Validate,
}
