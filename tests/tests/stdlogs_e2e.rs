#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! Standard access logs (v2) against the emulator: `plan` shows the delivery source,
//! destination and delivery; `up` creates them in us-east-1 after the distribution (read back
//! field by field through the SDK); a second `up` makes no mutating call; a new format
//! replaces the destination and the delivery; `down` deletes the delivery, the destination
//! and the source, in that order and before the distribution, and leaves nothing.

use cfrp_tests::deploy::{down, plan, stack_file, up};
use cfrp_tests::{sdk_config, unique};
use serde_json::Value;

const KINDS: [&str; 3] = [
    "Log delivery source",
    "Log delivery destination",
    "Log delivery",
];

fn stack_name(prefix: &str) -> String {
    unique(prefix).chars().take(32).collect()
}

fn with_logs(format: &'static str) -> impl Fn(String) -> String {
    move |text: String| {
        format!(
            "{text}\n[standard_logs]\ndestination = \"s3\"\nbucket = \"access-logs-bucket\"\nprefix = \"cdn\"\nformat = \"{format}\"\nfields = [\"date\", \"time\", \"c-ip\", \"sc-status\", \"cs-uri-stem\"]\n"
        )
    }
}

/// The report's decisions on the standard logs, as `action kind`.
fn decisions(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| KINDS.contains(&c["kind"].as_str().unwrap()))
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["kind"].as_str().unwrap()
            )
        })
        .collect()
}

fn mutations(report: &Value) -> Vec<String> {
    report["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

/// Where the first call starting with `prefix` is in `calls`.
fn at(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {calls:#?}"))
}

#[tokio::test]
async fn standard_logs_are_created_read_back_unchanged_replaced_and_removed_by_down() {
    let name = stack_name("stdlogs");
    let logs_name = format!("cfrp-{name}-access-logs");
    let stack = stack_file(&name, with_logs("json"));
    // The deployer's clients for CloudFront's log delivery are in us-east-1, as sdk_config.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);

    // ---- plan shows all three; up creates them after the distribution
    let planned = plan(&stack);
    assert_eq!(
        decisions(&planned),
        KINDS.map(|k| format!("create {k}")).to_vec()
    );
    let report = up(&stack);
    let id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let calls = mutations(&report);
    let distribution = at(&calls, "cloudfront:CreateDistributionWithTags");
    let source = at(&calls, "logs:PutDeliverySource");
    let destination = at(&calls, "logs:PutDeliveryDestination");
    let delivery = at(&calls, "logs:CreateDelivery");
    assert!(
        distribution < source && source < delivery && destination < delivery,
        "{calls:#?}"
    );

    let read = logs
        .get_delivery_source()
        .name(&logs_name)
        .send()
        .await
        .unwrap();
    let read = read.delivery_source().unwrap();
    assert_eq!(read.log_type(), Some("ACCESS_LOGS"));
    assert_eq!(read.service(), Some("cloudfront"));
    assert_eq!(
        read.resource_arns(),
        [format!(
            "arn:aws:cloudfront::123456789012:distribution/{id}"
        )]
    );
    let read = logs
        .get_delivery_destination()
        .name(&logs_name)
        .send()
        .await
        .unwrap();
    let read_destination = read.delivery_destination().unwrap();
    assert_eq!(
        read_destination.output_format().map(|f| f.as_str()),
        Some("json")
    );
    assert_eq!(
        read_destination
            .delivery_destination_configuration()
            .unwrap()
            .destination_resource_arn(),
        "arn:aws:s3:::access-logs-bucket/cdn"
    );
    let destination_arn = read_destination.arn().unwrap().to_string();
    assert!(
        destination_arn.starts_with("arn:aws:logs:us-east-1:"),
        "{destination_arn}"
    );
    let deliveries = logs.describe_deliveries().send().await.unwrap();
    let ours: Vec<_> = deliveries
        .deliveries()
        .iter()
        .filter(|d| d.delivery_source_name() == Some(logs_name.as_str()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(
        ours[0].delivery_destination_arn(),
        Some(destination_arn.as_str())
    );
    assert_eq!(
        ours[0].record_fields(),
        ["date", "time", "c-ip", "sc-status", "cs-uri-stem"]
    );

    // ---- a second up changes nothing
    let again = up(&stack);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    assert_eq!(
        decisions(&again),
        KINDS.map(|k| format!("unchanged {k}")).to_vec()
    );

    // ---- a new format: plan shows the field, up replaces destination and delivery
    let w3c = stack_file(&name, with_logs("w3c"));
    let planned = plan(&w3c);
    let change = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "Log delivery destination")
        .unwrap();
    assert_eq!(change["action"], "update", "{change:#}");
    assert!(
        change["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "output_format" && f["from"] == "json" && f["to"] == "w3c"),
        "{change:#}"
    );
    let replaced = mutations(&up(&w3c));
    let kinds: Vec<&str> = replaced
        .iter()
        .map(|c| c.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "logs:DeleteDelivery",
            "logs:DeleteDeliveryDestination",
            "logs:PutDeliveryDestination",
            "logs:CreateDelivery"
        ]
    );
    let read = logs
        .get_delivery_destination()
        .name(&logs_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.delivery_destination()
            .and_then(|d| d.output_format())
            .map(|f| f.as_str()),
        Some("w3c")
    );

    // ---- down: delivery, destination, source, then the distribution; nothing left
    let removed = down(&w3c);
    assert_eq!(
        decisions(&removed),
        [
            "delete Log delivery",
            "delete Log delivery destination",
            "delete Log delivery source"
        ]
    );
    let calls = mutations(&removed);
    let delivery = at(&calls, "logs:DeleteDelivery ");
    let destination = at(&calls, "logs:DeleteDeliveryDestination");
    let source = at(&calls, "logs:DeleteDeliverySource");
    let disabled = at(&calls, &format!("cloudfront:UpdateDistribution {id}"));
    assert!(
        delivery < destination && destination < source && source < disabled,
        "{calls:#?}"
    );
    let gone = logs.get_delivery_source().name(&logs_name).send().await;
    assert!(
        gone.unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let gone = logs
        .get_delivery_destination()
        .name(&logs_name)
        .send()
        .await;
    assert!(
        gone.unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let deliveries = logs.describe_deliveries().send().await.unwrap();
    assert!(
        deliveries
            .deliveries()
            .iter()
            .all(|d| d.delivery_source_name() != Some(logs_name.as_str())),
        "{deliveries:?}"
    );
}
