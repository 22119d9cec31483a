//! The deployer: one idempotent `up` that provisions and wires the whole stack with direct
//! AWS SDK calls, `plan`, `down` and `status`.

pub mod cli;
pub mod commands;
pub mod context;
pub mod diff;
pub mod error;
pub mod init;
pub mod lease;
pub mod monitor;
pub mod ops;
pub mod package;
pub mod permissions;
pub mod plan;
pub mod ports;
pub mod price;
pub mod progress;
pub mod prompt;
pub mod resources;
pub mod session;
pub mod spec;
pub mod stack;
pub mod validate;
pub mod workflow;
