//! The `deployer` command line: parsing and wiring. Commands live in their own modules.

pub mod cli;
pub mod validate;
