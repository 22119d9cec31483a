//! CreateInvalidation behind a port: the CloudFront adapter and an in-memory one.

use std::sync::Mutex;

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

/// Why an invalidation was not created. Either way the batch's messages come back later
/// (SQS batch item failures), so nothing is lost; `retriable` only shapes the log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CreateInvalidation failed ({code}): {message}")]
pub struct InvalidationFailure {
    pub code: String,
    pub message: String,
    pub retriable: bool,
}

pub trait InvalidationApi {
    /// Creates (or, for a CallerReference already used with the same paths, returns) an
    /// invalidation and gives its id.
    fn create(
        &self,
        distribution_id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> impl std::future::Future<Output = Result<String, InvalidationFailure>> + Send;
}

#[derive(Debug, Clone)]
pub struct CloudFrontApi {
    client: aws_sdk_cloudfront::Client,
}

impl CloudFrontApi {
    pub fn new(client: aws_sdk_cloudfront::Client) -> Self {
        CloudFrontApi { client }
    }
}

impl InvalidationApi for CloudFrontApi {
    async fn create(
        &self,
        distribution_id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> Result<String, InvalidationFailure> {
        let failure = |code: &str, message: String, retriable: bool| InvalidationFailure {
            code: code.to_string(),
            message,
            retriable,
        };
        let paths = Paths::builder()
            .quantity(i32::try_from(paths.len()).unwrap_or(i32::MAX))
            .set_items(Some(paths.to_vec()))
            .build()
            .map_err(|err| failure("InvalidArgument", err.to_string(), false))?;
        let batch = InvalidationBatch::builder()
            .caller_reference(caller_reference)
            .paths(paths)
            .build()
            .map_err(|err| failure("InvalidArgument", err.to_string(), false))?;
        match self
            .client
            .create_invalidation()
            .distribution_id(distribution_id)
            .invalidation_batch(batch)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .invalidation()
                .map(|i| i.id().to_string())
                .unwrap_or_default()),
            Err(err) => {
                let service = err.as_service_error();
                let code = service
                    .and_then(aws_sdk_cloudfront::error::ProvideErrorMetadata::code)
                    .unwrap_or("Unknown")
                    .to_string();
                let retriable = service.is_none_or(|e| e.is_too_many_invalidations_in_progress())
                    || code == "Throttling";
                Err(failure(
                    &code,
                    aws_sdk_cloudfront::error::DisplayErrorContext(err).to_string(),
                    retriable,
                ))
            }
        }
    }
}

/// Records calls; can be told to answer with a failure. Like CloudFront, a repeated
/// CallerReference with the same paths returns the first invalidation.
#[derive(Debug, Default)]
pub struct MemoryApi {
    pub created: Mutex<Vec<(String, String, Vec<String>)>>,
    pub fail_with: Option<InvalidationFailure>,
    /// Fail only the first N calls with `fail_with` (0: every call).
    pub fail_times: Mutex<u32>,
    /// How many calls were made.
    pub calls: Mutex<u32>,
}

impl InvalidationApi for MemoryApi {
    async fn create(
        &self,
        distribution_id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> Result<String, InvalidationFailure> {
        let call = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            *calls += 1;
            *calls
        };
        if let Some(failure) = &self.fail_with {
            let times = *self.fail_times.lock().unwrap_or_else(|p| p.into_inner());
            if times == 0 || call <= times {
                return Err(failure.clone());
            }
        }
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = created
            .iter()
            .position(|(_, reference, _)| reference == caller_reference)
        {
            return Ok(format!("I{index}"));
        }
        created.push((
            distribution_id.to_string(),
            caller_reference.to_string(),
            paths.to_vec(),
        ));
        Ok(format!("I{}", created.len() - 1))
    }
}
