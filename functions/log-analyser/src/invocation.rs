//! The event read once, straight from the invocation's bytes.
//!
//! lambda_runtime deserialises every event through serde_path_to_error, which allocates a
//! `String` per object key, or, with the event taken as one raw value, scans, validates and
//! copies all ~6 MB once more before [`KinesisBatch`] reads it. On the benchmark batch that
//! extra pass was about a fifth of the handler's time. [`ParseBodyLayer`] sits in front of the
//! runtime's deserialisation: it reads the invocation body into a [`KinesisBatch`] itself, keeps
//! it in [`ParsedBatches`] under the request id, and hands the runtime an empty event in its
//! place; the handler then takes the batch back with [`ParsedBatches::take`].
//!
//! A body it cannot read goes through untouched, so the runtime reports the error exactly as it
//! would without the layer (what was expected, at which line and column).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{LambdaEvent, LambdaInvocation};

use crate::event::KinesisBatch;

/// What the runtime deserialises in place of a body the layer has already read: an event
/// without records.
pub const READ_BODY_PLACEHOLDER: &[u8] = br#"{"Records":[]}"#;

/// Batches read by [`ParseBodyLayer`], waiting for their handler call, by request id.
#[derive(Clone, Default)]
pub struct ParsedBatches {
    // One entry at a time with the sequential runtime; keyed by request id so that concurrent
    // invocations (Lambda managed instances) cannot take each other's batch.
    waiting: Arc<Mutex<HashMap<String, KinesisBatch>>>,
}

impl ParsedBatches {
    fn put(&self, request_id: String, batch: KinesisBatch) {
        self.lock().insert(request_id, batch);
    }

    /// The invocation's event: the batch the layer read for it, or else the payload the
    /// runtime deserialised (a body the layer passed through).
    pub fn take(&self, event: LambdaEvent<KinesisBatch>) -> LambdaEvent<KinesisBatch> {
        match self.lock().remove(&event.context.request_id) {
            Some(batch) => LambdaEvent::new(batch, event.context),
            None => event,
        }
    }

    /// How many batches wait for their handler call.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KinesisBatch>> {
        // A panic while holding the lock cannot leave the map half-updated (single inserts
        // and removes), so a poisoned lock is still usable.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads each invocation's body into a [`KinesisBatch`] before the runtime deserialises it.
#[derive(Clone)]
pub struct ParseBodyLayer {
    batches: ParsedBatches,
}

impl ParseBodyLayer {
    pub fn new(batches: ParsedBatches) -> Self {
        ParseBodyLayer { batches }
    }
}

impl<S> Layer<S> for ParseBodyLayer {
    type Service = ParseBody<S>;

    fn layer(&self, inner: S) -> ParseBody<S> {
        ParseBody {
            inner,
            batches: self.batches.clone(),
        }
    }
}

/// The service [`ParseBodyLayer`] builds.
#[derive(Clone)]
pub struct ParseBody<S> {
    inner: S,
    batches: ParsedBatches,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for ParseBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        if let Ok(batch) = KinesisBatch::from_slice(&invocation.body) {
            self.batches
                .put(invocation.context.request_id.clone(), batch);
            invocation.body = bytes::Bytes::from_static(READ_BODY_PLACEHOLDER);
        }
        self.inner.call(invocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Ready;

    /// The runtime's side: records what reached it and deserialises it as the runtime does.
    #[derive(Clone, Default)]
    struct Runtime {
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    /// A request id and what the runtime's deserialisation made of the body.
    type Seen = (String, Result<KinesisBatch, String>);

    impl Service<LambdaInvocation> for Runtime {
        type Response = ();
        type Error = std::convert::Infallible;
        type Future = Ready<Result<(), Self::Error>>;

        fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
            let deserializer = &mut serde_json::Deserializer::from_slice(&invocation.body);
            let payload = serde_path_to_error::deserialize::<_, KinesisBatch>(deserializer)
                .map_err(|err| err.to_string());
            self.seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((invocation.context.request_id.clone(), payload));
            std::future::ready(Ok(()))
        }
    }

    fn invocation(request_id: &str, body: &'static [u8]) -> LambdaInvocation {
        let mut context = lambda_runtime::Context::default();
        context.request_id = request_id.to_string();
        LambdaInvocation {
            parts: http::Response::new(()).into_parts().0,
            body: bytes::Bytes::from_static(body),
            context,
        }
    }

    const EVENT: &[u8] =
        br#"{"Records":[{"kinesis":{"data":"aGVsbG8="}},{"kinesis":{"data":"d29ybGQ="}}]}"#;

    #[test]
    fn a_readable_body_is_read_once_and_handed_to_the_handler_by_request_id() {
        let batches = ParsedBatches::default();
        let runtime = Runtime::default();
        let mut service = ParseBodyLayer::new(batches.clone()).layer(runtime.clone());
        assert_eq!(
            service.call(invocation("req-1", EVENT)).into_inner(),
            Ok(())
        );

        let seen = runtime.seen.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, "req-1");
        let placeholder = seen[0].1.clone().unwrap_or_default();
        assert!(
            placeholder.is_empty(),
            "the runtime gets an event without records"
        );
        assert_eq!(batches.len(), 1);

        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-1".to_string();
        let event = batches.take(LambdaEvent::new(placeholder, context));
        let payloads: Vec<Option<&[u8]>> =
            crate::event::KinesisRecords::payloads(&event.payload).collect();
        assert_eq!(payloads, [Some(&b"hello"[..]), Some(&b"world"[..])]);
        assert!(batches.is_empty(), "taken batches do not linger");
    }

    #[test]
    fn an_unreadable_body_reaches_the_runtime_untouched_and_fails_there() {
        let batches = ParsedBatches::default();
        let runtime = Runtime::default();
        let mut service = ParseBodyLayer::new(batches.clone()).layer(runtime.clone());
        assert_eq!(
            service
                .call(invocation("req-2", br#"{"Records":{"not":"a list"}}"#))
                .into_inner(),
            Ok(())
        );

        assert!(batches.is_empty());
        let seen = runtime.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let error = seen[0].1.clone().err().unwrap_or_default();
        assert!(error.contains("a list of Kinesis records"), "{error}");
    }

    #[test]
    fn another_invocations_batch_is_never_taken() {
        let batches = ParsedBatches::default();
        let mut service = ParseBodyLayer::new(batches.clone()).layer(Runtime::default());
        assert_eq!(
            service.call(invocation("req-a", EVENT)).into_inner(),
            Ok(())
        );
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-b".to_string();
        let event = batches.take(LambdaEvent::new(KinesisBatch::default(), context));
        assert!(event.payload.is_empty());
        assert_eq!(batches.len(), 1);
    }
}
