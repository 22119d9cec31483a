//! The stack configuration shared by the deployer and the Lambda functions: the config file's
//! schema and validation, the real-time log field list, the metric catalog, alert rules,
//! resource naming, and the settings handed to each function.

pub mod blocks;
pub mod canary;
pub mod checks;
mod error;
pub mod fields;
pub mod invalidation;
mod load;
pub mod metrics;
pub mod naming;
pub mod presets;
mod reader;
pub mod rules;
mod schema;
pub mod settings;
pub mod warnings;

pub use error::{ConfigError, Location, Problem, Problems};
pub use fields::Field;
pub use naming::{Function, Names};
pub use schema::*;
pub use settings::{
    AnalyserSettings, AutoBlockSettings, EvaluatorSettings, FunctionSettings, InvalidatorSettings,
    StrikeSettings,
};
pub use warnings::{Warning, Warnings};
