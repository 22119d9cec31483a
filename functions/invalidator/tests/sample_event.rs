//! The invalidator on the sample SQS event (events/sqs-s3-manuscripts.json).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use aws_lambda_events::event::sqs::SqsEvent;
use cfrp_config::{InvalidatorSettings, Manuscripts};
use cfrp_invalidator::Invalidator;
use cfrp_invalidator::api::{InvalidationFailure, MemoryApi};
use cfrp_invalidator::handler::Retry;

fn settings() -> InvalidatorSettings {
    InvalidatorSettings {
        stack: "shop".to_string(),
        distribution_id: "E2EXAMPLE".to_string(),
        manuscripts: Manuscripts {
            bucket: "shop-manuscripts".to_string(),
            key_prefix: "manuscripts/".to_string(),
            path_prefix: "/manuscripts/".to_string(),
            batch_window_seconds: 30,
        },
    }
}

fn event() -> SqsEvent {
    serde_json::from_str(cfrp_events::SQS_S3_MANUSCRIPTS).unwrap()
}

fn ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn one_invalidation_with_every_expected_path() {
    let invalidator = Invalidator {
        settings: settings(),
        api: MemoryApi::default(),
    };
    let (response, summary) = invalidator.process(event()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.messages, 6);
    assert_eq!(summary.keys_seen, 5);
    assert_eq!(summary.test_events, 1);
    let created = invalidator.api.created.lock().unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, "E2EXAMPLE");
    assert_eq!(
        created[0].2,
        vec![
            "/manuscripts/chapter%20one.html",
            "/manuscripts/essays/",
            "/manuscripts/essays/caf%C3%A9%20&%20cr%C3%A8me.html",
            "/manuscripts/essays/index.html",
            "/manuscripts/old/draft%231%3F.html",
            "/manuscripts/reports/100%25%20growth.pdf",
        ]
    );
}

#[tokio::test]
async fn the_same_event_delivered_twice_creates_one_invalidation() {
    let invalidator = Invalidator {
        settings: settings(),
        api: MemoryApi::default(),
    };
    let (_, first) = invalidator.process(event()).await;
    let (_, second) = invalidator.process(event()).await;
    assert_eq!(first.caller_reference, second.caller_reference);
    assert_eq!(first.invalidation_id, second.invalidation_id);
    assert_eq!(invalidator.api.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn too_many_invalidations_in_progress_returns_the_messages_to_the_queue() {
    let api = MemoryApi {
        fail_with: Some(InvalidationFailure {
            code: "TooManyInvalidationsInProgress".to_string(),
            message: "slow down".to_string(),
            retriable: true,
        }),
        ..MemoryApi::default()
    };
    let invalidator = Invalidator {
        settings: settings(),
        api,
    };
    let event = event();
    let with_keys: Vec<String> = event
        .records
        .iter()
        .filter(|m| !m.body.as_deref().unwrap_or("").contains("TestEvent"))
        .map(|m| m.message_id.clone().unwrap())
        .collect();
    let (response, summary) = invalidator.process(event).await;
    assert_eq!(ids(&response), with_keys);
    assert_eq!(summary.invalidation_id, None);
}

fn busy() -> InvalidationFailure {
    InvalidationFailure {
        code: "TooManyInvalidationsInProgress".to_string(),
        message: "too many invalidations in progress".to_string(),
        retriable: true,
    }
}

#[tokio::test]
async fn a_busy_distribution_is_retried_with_backoff_within_the_budget() {
    let invalidator = Invalidator {
        settings: settings(),
        api: MemoryApi {
            fail_with: Some(busy()),
            fail_times: std::sync::Mutex::new(2),
            ..MemoryApi::default()
        },
    };
    let retry = Retry {
        first_delay: std::time::Duration::from_millis(10),
        budget: std::time::Duration::from_secs(5),
    };
    let (response, summary) = invalidator.process_with(event(), retry).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(summary.retries, 2);
    assert!(summary.invalidation_id.is_some());
    assert_eq!(*invalidator.api.calls.lock().unwrap(), 3);
}

#[tokio::test]
async fn still_busy_when_the_budget_runs_out_reports_the_messages_as_failures() {
    let invalidator = Invalidator {
        settings: settings(),
        api: MemoryApi {
            fail_with: Some(busy()),
            ..MemoryApi::default()
        },
    };
    let retry = Retry {
        first_delay: std::time::Duration::from_millis(20),
        budget: std::time::Duration::from_millis(100),
    };
    let started = std::time::Instant::now();
    let (response, summary) = invalidator.process_with(event(), retry).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert!(!response.batch_item_failures.is_empty());
    assert!(summary.retries >= 1 && summary.retries <= 3, "{summary:?}");
    assert_eq!(summary.invalidation_id, None);
    // An invocation with no time left makes one attempt.
    assert_eq!(
        Retry::within(1_000, 2_000).budget,
        std::time::Duration::ZERO
    );
}

#[tokio::test]
async fn poison_messages_fail_alone() {
    let invalidator = Invalidator {
        settings: settings(),
        api: MemoryApi::default(),
    };
    let mut event = event();
    let mut not_s3 = event.records[0].clone();
    not_s3.message_id = Some("poison-1".to_string());
    not_s3.body = Some("{\"hello\":\"world\"}".to_string());
    let mut wrong_bucket = event.records[0].clone();
    wrong_bucket.message_id = Some("poison-2".to_string());
    wrong_bucket.body = wrong_bucket
        .body
        .map(|b| b.replace("shop-manuscripts", "someone-else"));
    event.records.push(not_s3);
    event.records.push(wrong_bucket);
    let (response, summary) = invalidator.process(event).await;
    assert_eq!(ids(&response), vec!["poison-1", "poison-2"]);
    assert_eq!(summary.paths_invalidated.len(), 6);
    assert_eq!(invalidator.api.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_test_event_alone_invalidates_nothing() {
    let invalidator = Invalidator {
        settings: settings(),
        api: MemoryApi::default(),
    };
    let mut event = event();
    event
        .records
        .retain(|m| m.body.as_deref().unwrap_or("").contains("s3:TestEvent"));
    let (response, summary) = invalidator.process(event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(summary.test_events, 1);
    assert!(invalidator.api.created.lock().unwrap().is_empty());
}
