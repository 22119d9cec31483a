#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! Continuous deployment through the real `deployer` binary against the emulator: `stage`
//! creates the staging distribution (CopyDistribution) and the policy on the primary, a
//! second `stage` makes no call, `plan --stage` shows the primary's fields staging changes,
//! `rollback` leaves the primary's config exactly as before `stage`, after `promote` the
//! primary's config equals the staging config except the fields CloudFront keeps apart, and
//! `down` removes the policy, then the staging distribution, then the primary.

use aws_sdk_cloudfront::types::DistributionConfig;
use cfrp_tests::deploy::{Deployed, deploy_example, deployer};
use cfrp_tests::sdk_config;

fn config_arg(deployed: &Deployed) -> String {
    deployed.stack.path.to_string_lossy().to_string()
}

async fn cloudfront() -> aws_sdk_cloudfront::Client {
    aws_sdk_cloudfront::Client::new(&sdk_config().await)
}

async fn config_of(cloudfront: &aws_sdk_cloudfront::Client, id: &str) -> DistributionConfig {
    cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap()
        .distribution_config
        .unwrap()
}

/// A config without the fields CloudFront keeps apart between a primary and its staging
/// distribution on promotion (aliases, the policy id, the staging flag) and the caller
/// reference each distribution keeps for life.
fn without_kept_apart(mut config: DistributionConfig) -> DistributionConfig {
    config.aliases = None;
    config.continuous_deployment_policy_id = None;
    config.staging = None;
    config.caller_reference = String::new();
    config
}

fn edit_comment(deployed: &Deployed, comment: &str) {
    let path = &deployed.stack.path;
    let text = std::fs::read_to_string(path).unwrap();
    let edited = text.replacen(
        "comment = \"Reverse proxy for the shop\"",
        &format!("comment = \"{comment}\""),
        1,
    );
    assert_ne!(text, edited, "the example's comment line moved");
    std::fs::write(path, edited).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stage_rollback_promote_and_down() {
    let deployed = deploy_example("stg").await;
    let config = config_arg(&deployed);
    let cloudfront = cloudfront().await;
    let primary_id = deployed.distribution_id.clone();
    let before = config_of(&cloudfront, &primary_id).await;
    assert!(
        !before.aliases().unwrap().items().is_empty(),
        "the example has aliases"
    );

    // stage: a staging distribution copied from the primary, carrying the changed config,
    // and a policy on the primary sending 5 % of requests to it.
    edit_comment(&deployed, "Staged change");
    let staged = deployer(&["--config", &config, "--output", "json", "stage", "--yes"])
        .expect_code(0)
        .json();
    let result = &staged["result"];
    let staging_id = result["staging_id"].as_str().unwrap().to_string();
    let policy_id = result["policy_id"].as_str().unwrap().to_string();
    let calls: Vec<String> = staged["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(
        calls[0].starts_with("cloudfront:CopyDistribution"),
        "{calls:?}"
    );
    let staging = config_of(&cloudfront, &staging_id).await;
    assert_eq!(staging.staging(), Some(true));
    assert_eq!(staging.comment(), "Staged change");
    assert!(staging.aliases().is_none_or(|a| a.items().is_empty()));
    let primary = config_of(&cloudfront, &primary_id).await;
    assert_eq!(
        primary.comment(),
        before.comment(),
        "stage changed the primary's config"
    );
    assert_eq!(
        primary.continuous_deployment_policy_id(),
        Some(policy_id.as_str())
    );
    let policy = cloudfront
        .get_continuous_deployment_policy()
        .id(&policy_id)
        .send()
        .await
        .unwrap();
    let policy = policy
        .continuous_deployment_policy()
        .unwrap()
        .continuous_deployment_policy_config()
        .unwrap();
    assert!(policy.enabled());
    let domain = result["staging_domain"].as_str().unwrap();
    assert_eq!(
        policy.staging_distribution_dns_names().unwrap().items(),
        [domain]
    );
    let weight = policy
        .traffic_config()
        .unwrap()
        .single_weight_config()
        .unwrap();
    assert!((weight.weight() - 0.05).abs() < 1e-6);

    // A second stage: nothing to change, no call.
    let again = deployer(&["--config", &config, "--output", "json", "stage", "--yes"])
        .expect_code(0)
        .json();
    assert_eq!(again["mutating_calls"], 0, "{again:#}");

    // plan --stage: the primary's fields the staged config changes.
    let diff = deployer(&["--config", &config, "--output", "json", "plan", "--stage"])
        .expect_code(2)
        .json();
    let text = diff.to_string();
    assert!(text.contains("Staged change"), "{diff:#}");

    // A weight over CloudFront's cap is refused before any call.
    let refused = deployer(&["--config", &config, "stage", "--weight", "0.2", "--yes"]);
    assert_ne!(refused.code, 0);

    // rollback: the policy disabled, detached and deleted; the primary as before stage.
    let rolled = deployer(&["--config", &config, "--output", "json", "rollback", "--yes"])
        .expect_code(0)
        .json();
    assert_eq!(rolled["result"]["policy_id"], policy_id.as_str());
    assert_eq!(config_of(&cloudfront, &primary_id).await, before);
    let gone = cloudfront
        .get_continuous_deployment_policy()
        .id(&policy_id)
        .send()
        .await;
    assert!(gone.is_err());

    // stage again (the staging distribution is reused), then promote.
    let staged = deployer(&["--config", &config, "--output", "json", "stage", "--yes"])
        .expect_code(0)
        .json();
    assert_eq!(staged["result"]["staging_id"], staging_id.as_str());
    let policy_id = staged["result"]["policy_id"].as_str().unwrap().to_string();
    deployer(&["--config", &config, "--output", "json", "promote", "--yes"]).expect_code(0);
    let primary = config_of(&cloudfront, &primary_id).await;
    let staging = config_of(&cloudfront, &staging_id).await;
    assert_eq!(
        without_kept_apart(primary.clone()),
        without_kept_apart(staging)
    );
    assert_eq!(primary.comment(), "Staged change");
    assert_eq!(primary.aliases(), before.aliases());
    assert_eq!(
        primary.continuous_deployment_policy_id(),
        Some(policy_id.as_str())
    );
    assert_ne!(primary.staging(), Some(true));
    assert_eq!(primary.caller_reference(), before.caller_reference());

    // status shows the staging distribution and the (now disabled) policy.
    let status = deployer(&["--config", &config, "--output", "json", "status"])
        .expect_code(0)
        .json();
    assert_eq!(status["staging"]["id"], staging_id.as_str(), "{status:#}");
    assert_eq!(status["staging"]["policy"]["enabled"], false);

    // down: the policy, then the staging distribution, then the primary.
    let down = deployer(&["--config", &config, "--output", "json", "down", "--yes"])
        .expect_code(0)
        .json();
    let calls: Vec<String> = down["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let at = |call: &str| {
        calls
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("no {call} in {calls:?}"))
    };
    let policy_gone = at(&format!(
        "cloudfront:DeleteContinuousDeploymentPolicy {policy_id}"
    ));
    let staging_gone = at(&format!("cloudfront:DeleteDistribution {staging_id}"));
    let primary_gone = at(&format!("cloudfront:DeleteDistribution {primary_id}"));
    assert!(
        policy_gone < staging_gone && staging_gone < primary_gone,
        "{calls:?}"
    );
    assert!(
        cloudfront
            .get_distribution()
            .id(&staging_id)
            .send()
            .await
            .is_err()
    );
    assert!(
        cloudfront
            .get_distribution()
            .id(&primary_id)
            .send()
            .await
            .is_err()
    );
}
