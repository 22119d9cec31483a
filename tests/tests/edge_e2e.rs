#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! Origin failover, custom error responses and Origin Shield against the emulator: the
//! example stack with an origin group behind a GET/HEAD behaviour, error responses and Origin
//! Shield on one origin is brought `up`; GetDistributionConfig reads each field back as the
//! config says; a second `up` makes no mutating call; a changed error caching time is one
//! field in `plan` and one UpdateDistribution in `up`; `down` leaves nothing of the stack.

use aws_sdk_cloudfront::types::DistributionConfig;
use cfrp_tests::deploy::{StackFile, down, plan, stack_file, up};
use cfrp_tests::{sdk_config, unique};
use serde_json::{Value, json};

fn stack_name(prefix: &str) -> String {
    // Stack names are at most 32 characters of [a-z0-9-].
    unique(prefix).chars().take(32).collect()
}

/// The example stack with the edge settings; `ttl_503` is the 503's error caching time.
fn edge_stack(name: &str, ttl_503: u32) -> StackFile {
    stack_file(name, |text| {
        let text = text
            .replace(
                "path = \"/v1\"\n",
                "path = \"/v1\"\norigin_shield_region = \"eu-west-1\"\n\n[[origin_groups]]\nid = \"site\"\nprimary = \"app\"\nsecondary = \"api\"\nfailover_status_codes = [502, 503, 504]\n",
            );
        assert!(
            text.contains("origin_shield_region"),
            "the example changed: {text}"
        );
        format!(
            "{text}
[[behaviors]]
path_pattern = \"/pages/*\"
origin = \"site\"
allowed_methods = \"get-head\"
caching = \"disabled\"

[[error_responses]]
code = 503
caching_min_ttl = {ttl_503}

[[error_responses]]
code = 404
caching_min_ttl = 300
page = \"/errors/404.html\"
response_code = 404
"
        )
    })
}

async fn distribution_config(
    cloudfront: &aws_sdk_cloudfront::Client,
    id: &str,
) -> DistributionConfig {
    cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap()
        .distribution_config()
        .cloned()
        .expect("a distribution config")
}

/// What of the stack is still in the emulator: its distribution (by caller reference),
/// its CloudFront function and cache policies, its stream and Lambda functions.
async fn leftovers(
    cloudfront: &aws_sdk_cloudfront::Client,
    name: &str,
    region: &str,
) -> Vec<String> {
    let prefix = format!("cfrp-{name}-");
    let mut left = Vec::new();
    let distributions = cloudfront.list_distributions().send().await.unwrap();
    for d in distributions
        .distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let config = distribution_config(cloudfront, d.id()).await;
        if config.caller_reference().starts_with(&prefix) {
            left.push(format!("distribution {}", d.id()));
        }
    }
    let functions = cloudfront.list_functions().send().await.unwrap();
    for f in functions
        .function_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        if f.name().starts_with(&prefix) {
            left.push(format!("function {}", f.name()));
        }
    }
    let policies = cloudfront
        .list_cache_policies()
        .r#type(aws_sdk_cloudfront::types::CachePolicyType::Custom)
        .send()
        .await
        .unwrap();
    for p in policies
        .cache_policy_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let policy_name = p
            .cache_policy()
            .and_then(|p| p.cache_policy_config())
            .map(|c| c.name())
            .unwrap_or_default();
        if policy_name.starts_with(&prefix) {
            left.push(format!("cache policy {policy_name}"));
        }
    }
    let regional = sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build();
    let kinesis = aws_sdk_kinesis::Client::new(&regional);
    for stream in kinesis.list_streams().send().await.unwrap().stream_names() {
        if stream.starts_with(&prefix) {
            left.push(format!("stream {stream}"));
        }
    }
    let lambda = aws_sdk_lambda::Client::new(&regional);
    for f in lambda.list_functions().send().await.unwrap().functions() {
        let function = f.function_name().unwrap_or_default();
        if function.starts_with(&prefix) {
            left.push(format!("lambda {function}"));
        }
    }
    left
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_error_responses_and_origin_shield_are_deployed_read_back_and_removed() {
    let name = stack_name("edge");
    let stack = edge_stack(&name, 0);

    // ---- plan shows the new settings as fields of the distribution it creates
    let planned = plan(&stack);
    let distribution = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "CloudFront distribution")
        .cloned()
        .unwrap_or_else(|| panic!("no distribution in {planned:#}"));
    assert_eq!(distribution["action"], "create", "{distribution:#}");

    let report = up(&stack);
    let distribution_id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);

    // ---- read back field by field
    let dc = distribution_config(&cloudfront, &distribution_id).await;
    let groups = dc.origin_groups().unwrap();
    assert_eq!(groups.quantity(), 1);
    let group = &groups.items()[0];
    assert_eq!(group.id(), "site");
    let members: Vec<&str> = group
        .members()
        .unwrap()
        .items()
        .iter()
        .map(|m| m.origin_id())
        .collect();
    assert_eq!(members, ["app", "api"], "primary first");
    assert_eq!(
        group
            .failover_criteria()
            .unwrap()
            .status_codes()
            .unwrap()
            .items(),
        [502, 503, 504]
    );
    let pages = dc
        .cache_behaviors()
        .unwrap()
        .items()
        .iter()
        .find(|b| b.path_pattern() == "/pages/*")
        .expect("the /pages/* behaviour");
    assert_eq!(pages.target_origin_id(), "site");
    let methods: Vec<&str> = pages
        .allowed_methods()
        .unwrap()
        .items()
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert_eq!(methods, ["GET", "HEAD"]);
    // The viewer-request function and the real-time log config apply behind a group too.
    assert_eq!(pages.function_associations().unwrap().quantity(), 1);
    assert!(
        pages
            .realtime_log_config_arn()
            .unwrap_or_default()
            .ends_with(&format!("cfrp-{name}-realtime-logs"))
    );

    let errors = dc.custom_error_responses().unwrap();
    // The example's own 500 and 502, and the two added here.
    let mut codes: Vec<i32> = errors.items().iter().map(|e| e.error_code()).collect();
    codes.sort_unstable();
    assert_eq!(codes, [404, 500, 502, 503]);
    assert_eq!(errors.quantity(), 4);
    let by_code = |code: i32| {
        errors
            .items()
            .iter()
            .find(|e| e.error_code() == code)
            .unwrap_or_else(|| panic!("no error response for {code}"))
    };
    let unavailable = by_code(503);
    assert_eq!(unavailable.error_caching_min_ttl(), Some(0));
    assert_eq!(unavailable.response_page_path().unwrap_or_default(), "");
    assert_eq!(unavailable.response_code().unwrap_or_default(), "");
    assert_eq!(by_code(502).error_caching_min_ttl(), Some(0));
    let missing = by_code(404);
    assert_eq!(missing.error_caching_min_ttl(), Some(300));
    assert_eq!(missing.response_page_path(), Some("/errors/404.html"));
    assert_eq!(missing.response_code(), Some("404"));

    let origins = dc.origins().unwrap().items();
    let origin = |id: &str| origins.iter().find(|o| o.id() == id).unwrap();
    let shield = origin("api").origin_shield().unwrap();
    assert!(shield.enabled());
    assert_eq!(shield.origin_shield_region(), Some("eu-west-1"));
    assert!(!origin("app").origin_shield().is_some_and(|s| s.enabled()));
    // Both members of the group carry the one origin-verify secret.
    let secret = |id: &str| {
        origin(id)
            .custom_headers()
            .unwrap()
            .items()
            .iter()
            .find(|h| h.header_name() == "X-Origin-Verify")
            .map(|h| h.header_value().to_string())
    };
    assert!(secret("app").is_some_and(|s| s.len() == 64));
    assert_eq!(secret("app"), secret("api"));

    // ---- a second up changes nothing
    let again = up(&stack);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");

    // ---- a changed error caching time is one field in plan, one update in up
    let changed = edge_stack(&name, 5);
    let planned = plan(&changed);
    let updates: Vec<&Value> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .collect();
    assert_eq!(updates.len(), 1, "{planned:#}");
    assert_eq!(updates[0]["kind"], "CloudFront distribution");
    assert_eq!(
        updates[0]["changes"],
        json!([{"field": "error_responses[503].caching_min_ttl", "from": "0s", "to": "5s"}])
    );
    let applied = up(&changed);
    assert_eq!(
        applied["mutations"],
        json!([format!("cloudfront:UpdateDistribution {distribution_id}")]),
        "{applied:#}"
    );
    let after = distribution_config(&cloudfront, &distribution_id).await;
    let ttl = after
        .custom_error_responses()
        .unwrap()
        .items()
        .iter()
        .find(|e| e.error_code() == 503)
        .and_then(|e| e.error_caching_min_ttl());
    assert_eq!(ttl, Some(5));
    assert_eq!(after.origin_groups().unwrap().quantity(), 1);

    // ---- down leaves nothing of the stack
    down(&changed);
    let region = report["region"].as_str().unwrap_or("eu-west-1").to_string();
    let left = leftovers(&cloudfront, &name, &region).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}
