//! The built invalidator binary under the Runtime API emulator: `deployer up` wires the
//! stack's bucket → queue; uploads and deletes become real S3 → SQS notifications in the
//! emulator, the bootstrap runs with the environment the deployer gave the function, and the
//! result is checked with ListInvalidations / GetInvalidation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::time::Duration;

use cfrp_config::{FunctionSettings, InvalidatorSettings};
use cfrp_events::sqs_event_from_messages;
use cfrp_tests::deploy::deploy_example;
use cfrp_tests::fixtures::{pairs, receive_all};
use cfrp_tests::runtime_api::{Outcome, run_bootstrap};
use cfrp_tests::{clear_faults, function_binary, inject_fault, s3_client, sdk_config};

struct Setup {
    distribution_id: String,
    bucket: String,
    queue_url: String,
    queue_arn: String,
    region: String,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    /// CFRP_SETTINGS exactly as deployed.
    settings: String,
}

async fn setup() -> Setup {
    let deployed = deploy_example("inv").await;
    let sqs = aws_sdk_sqs::Client::new(&deployed.config);
    let queue = deployed.resource("manuscripts");
    let queue_url = sqs
        .get_queue_url()
        .queue_name(&queue)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let settings = deployed
        .function_env("invalidator")
        .await
        .into_iter()
        .find(|(k, _)| k == "CFRP_SETTINGS")
        .map(|(_, v)| v)
        .unwrap();
    let parsed = InvalidatorSettings::from_env_value(&settings).unwrap();
    assert_eq!(parsed.distribution_id, deployed.distribution_id);
    // S3 announces a new notification with an s3:TestEvent; drain it like Lambda would.
    let _ = receive_all(&sqs, &queue_url).await.unwrap();
    Setup {
        s3: s3_client(&deployed.config),
        sqs,
        distribution_id: deployed.distribution_id.clone(),
        bucket: deployed.stack.bucket.clone(),
        queue_url,
        queue_arn: format!("arn:aws:sqs:{}:123456789012:{queue}", deployed.region),
        region: deployed.region.clone(),
        settings,
    }
}

async fn run(setup: &Setup, events: &[String]) -> Vec<Outcome> {
    let env = cfrp_tests::fixtures::function_env(&setup.settings);
    let run = run_bootstrap(
        &function_binary("cfrp-invalidator"),
        &pairs(&env),
        events,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(
        run.stdout.contains("manuscript changes processed"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    run.outcomes
}

#[tokio::test]
async fn uploads_and_deletes_become_exactly_one_invalidation_even_when_delivered_twice() {
    let setup = setup().await;
    let config = sdk_config().await;
    let s3 = &setup.s3;
    for key in [
        "manuscripts/chapter one.html",
        "manuscripts/essays/café.html",
        "manuscripts/essays/index.html",
        "outside/ignored.html",
    ] {
        s3.put_object()
            .bucket(&setup.bucket)
            .key(key)
            .body(b"<html></html>".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(&setup.bucket)
        .key("manuscripts/chapter one.html")
        .send()
        .await
        .unwrap();
    let messages = receive_all(&setup.sqs, &setup.queue_url).await.unwrap();
    assert!(messages.len() >= 4, "{} messages", messages.len());
    let event = sqs_event_from_messages(&messages, &setup.queue_arn, &setup.region);

    let outcomes = run(&setup, &[event.clone(), event]).await;
    for outcome in &outcomes {
        match outcome {
            Outcome::Response(r) => assert_eq!(r["batchItemFailures"], serde_json::json!([])),
            other => panic!("{other:?}"),
        }
    }

    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let list = cloudfront
        .list_invalidations()
        .distribution_id(&setup.distribution_id)
        .send()
        .await
        .unwrap();
    let items = list
        .invalidation_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    let invalidation = cloudfront
        .get_invalidation()
        .distribution_id(&setup.distribution_id)
        .id(items[0].id())
        .send()
        .await
        .unwrap();
    let mut paths = invalidation
        .invalidation()
        .unwrap()
        .invalidation_batch()
        .unwrap()
        .paths()
        .unwrap()
        .items()
        .to_vec();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "/manuscripts/chapter%20one.html",
            "/manuscripts/essays/",
            "/manuscripts/essays/caf%C3%A9.html",
            "/manuscripts/essays/index.html"
        ]
    );
}

#[tokio::test]
async fn too_many_invalidations_in_progress_fails_the_messages_for_a_retry() {
    let setup = setup().await;
    let s3 = &setup.s3;
    s3.put_object()
        .bucket(&setup.bucket)
        .key("manuscripts/busy.html")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let messages = receive_all(&setup.sqs, &setup.queue_url).await.unwrap();
    let event = sqs_event_from_messages(&messages, &setup.queue_arn, &setup.region);
    let body = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>TooManyInvalidationsInProgress</Code><Message>Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.</Message></Error><RequestId>r</RequestId></ErrorResponse>";
    inject_fault(&serde_json::json!({
        "method": "POST",
        "path": format!("/2020-05-31/distribution/{}/invalidation$", setup.distribution_id),
        "status": 400,
        "body": body,
        "times": -1,
    }))
    .unwrap();
    let outcomes = run(&setup, &[event]).await;
    clear_faults().unwrap();
    let Outcome::Response(response) = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    let expected: Vec<&str> = messages
        .iter()
        .filter(|m| !m.body.contains("s3:TestEvent"))
        .map(|m| m.message_id.as_str())
        .collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(failed, expected);
}
