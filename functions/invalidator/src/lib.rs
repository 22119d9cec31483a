//! The manuscript invalidator: S3 object changes (through SQS) become one batched,
//! idempotent CloudFront invalidation per invocation. Key mapping and planning are pure;
//! CloudFront sits behind [`api::InvalidationApi`].

pub mod api;
pub mod handler;
pub mod paths;
pub mod plan;

pub use handler::Invalidator;
