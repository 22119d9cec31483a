//! The real-time log analyser: CloudFront real-time log records from Kinesis into CloudWatch
//! metrics. Parsing, aggregation and scoring are pure; CloudWatch sits behind [`sink`].

pub mod aggregate;
pub mod anomaly;
pub mod datum;
pub mod event;
pub mod handler;
pub mod invocation;
pub mod sink;
pub mod sketch;
pub mod strikes;

pub use cfrp_log_record as record;
pub use handler::Analyser;
