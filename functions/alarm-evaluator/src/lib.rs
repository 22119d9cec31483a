//! The scheduled alarm evaluator: alert rules over CloudWatch metrics, each rule's state
//! published as a metric that a CloudWatch alarm (with SNS actions) watches. Evaluation and
//! query planning are pure; CloudWatch sits behind [`port::MetricsPort`].

pub mod autoblock;
pub mod canary;
pub mod evaluate;
pub mod handler;
pub mod port;
pub mod queries;

pub use handler::Evaluator;
