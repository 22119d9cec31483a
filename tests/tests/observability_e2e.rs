#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! The distribution's additional metrics against the emulator: `plan` shows the monitoring
//! subscription, `up` creates it (read back through the SDK), a second `up` makes no
//! mutating call, turning it off deletes it, and `down` removes it before the distribution
//! and leaves nothing.

use cfrp_tests::deploy::{down, plan, stack_file, up};
use cfrp_tests::{sdk_config, unique};
use serde_json::Value;

const KIND: &str = "CloudFront additional metrics";

fn stack_name(prefix: &str) -> String {
    unique(prefix).chars().take(32).collect()
}

fn with_metrics(on: bool) -> impl Fn(String) -> String {
    move |text: String| {
        text.replace(
            "ipv6 = true\n",
            &format!("ipv6 = true\nadditional_metrics = {on}\n"),
        )
    }
}

/// The report's decisions on the subscription, as `action name`.
fn decisions(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == KIND)
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["name"].as_str().unwrap()
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

async fn subscription(
    cloudfront: &aws_sdk_cloudfront::Client,
    id: &str,
) -> Result<Option<String>, String> {
    match cloudfront
        .get_monitoring_subscription()
        .distribution_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .monitoring_subscription()
            .and_then(|s| s.realtime_metrics_subscription_config())
            .map(|c| {
                c.realtime_metrics_subscription_status()
                    .as_str()
                    .to_string()
            })),
        Err(err) => {
            let service = err.into_service_error();
            if service.is_no_such_monitoring_subscription() {
                Ok(None)
            } else {
                Err(service.meta().code().unwrap_or_default().to_string())
            }
        }
    }
}

#[tokio::test]
async fn additional_metrics_are_created_read_back_unchanged_turned_off_and_removed_by_down() {
    let name = stack_name("metrics");
    let reference = format!("cfrp-{name}-distribution");
    let on = stack_file(&name, with_metrics(true));
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);

    // ---- plan shows it; up creates it after the distribution
    let planned = plan(&on);
    assert_eq!(decisions(&planned), [format!("create {reference}")]);
    let report = up(&on);
    assert_eq!(decisions(&report), [format!("create {reference}")]);
    let id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let calls = mutations(&report);
    let created = calls
        .iter()
        .position(|c| *c == format!("cloudfront:CreateMonitoringSubscription {id}"))
        .unwrap_or_else(|| panic!("{calls:#?}"));
    let distribution = calls
        .iter()
        .position(|c| c.starts_with("cloudfront:CreateDistributionWithTags"))
        .unwrap();
    assert!(distribution < created, "{calls:#?}");
    assert_eq!(
        subscription(&cloudfront, &id).await.unwrap().as_deref(),
        Some("Enabled")
    );

    // ---- a second up changes nothing
    let again = up(&on);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    assert_eq!(decisions(&again), [format!("unchanged {reference}")]);

    // ---- turned off: plan lists the deletion, up deletes it
    let off = stack_file(&name, with_metrics(false));
    let planned = plan(&off);
    assert_eq!(decisions(&planned), [format!("delete {reference}")]);
    let turned_off = up(&off);
    assert_eq!(
        mutations(&turned_off),
        [format!("cloudfront:DeleteMonitoringSubscription {id}")]
    );
    assert_eq!(subscription(&cloudfront, &id).await.unwrap(), None);
    let quiet = up(&off);
    assert_eq!(quiet["mutating_calls"], 0, "{quiet:#}");
    assert!(decisions(&quiet).is_empty(), "{quiet:#}");

    // ---- on again, then down: the subscription goes before the distribution is disabled
    // (both configs live at the same path: the stack's file is written again)
    let on = stack_file(&name, with_metrics(true));
    up(&on);
    assert_eq!(
        subscription(&cloudfront, &id).await.unwrap().as_deref(),
        Some("Enabled")
    );
    let removed = down(&on);
    assert_eq!(decisions(&removed), [format!("delete {reference}")]);
    let calls = mutations(&removed);
    let deleted = calls
        .iter()
        .position(|c| *c == format!("cloudfront:DeleteMonitoringSubscription {id}"))
        .unwrap_or_else(|| panic!("{calls:#?}"));
    let disabled = calls
        .iter()
        .position(|c| *c == format!("cloudfront:UpdateDistribution {id}"))
        .unwrap_or_else(|| panic!("{calls:#?}"));
    assert!(deleted < disabled, "{calls:#?}");
    // The distribution is gone, and its subscription with it.
    let gone = subscription(&cloudfront, &id).await.unwrap_err();
    assert!(gone.contains("NoSuchDistribution"), "{gone}");
}
