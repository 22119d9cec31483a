#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! `deployer init` with each preset against the emulator: the written file plans the
//! resources the preset describes, an existing file is only replaced with `--force`, and the
//! signing-api preset, brought up, reads back from CloudFront with the behaviours it
//! promises (key generation never cached, verification cached an hour keyed on the
//! signature-id header, manuscripts a day with the security headers) before `down`.

use std::collections::BTreeMap;

use aws_sdk_cloudfront::types::{CachePolicyConfig, DistributionConfig};
use cfrp_tests::deploy::{StackFile, deployer, down, up};
use cfrp_tests::{sdk_config, unique};
use serde_json::Value;

const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const SECURITY_HEADERS: &str = "67f7725c-6f97-4210-82d7-5512b31e9d03";

fn stack_name(prefix: &str) -> String {
    // Stack names are at most 32 characters of [a-z0-9-].
    unique(prefix).chars().take(32).collect()
}

fn config_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cfrp-preset-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("proxy.toml")
}

/// `deployer init --preset PRESET --name NAME [extra]` into a fresh directory.
fn init(preset: &str, name: &str, extra: &[&str]) -> StackFile {
    let path = config_path(name);
    let config = path.to_string_lossy().to_string();
    let mut args = vec![
        "--config", &config, "--output", "json", "init", "--preset", preset, "--name", name,
    ];
    args.extend_from_slice(extra);
    let report = deployer(&args).expect_code(0).json();
    assert_eq!(report["path"], config.as_str(), "{report:#}");
    assert_eq!(report["stack"], name, "{report:#}");
    StackFile {
        name: name.to_string(),
        bucket: format!("{name}-manuscripts"),
        path,
    }
}

/// `deployer plan --output json` of a stack nobody brought up: exit 2, nothing mutated.
fn plan(stack: &StackFile) -> Value {
    let report = cfrp_tests::deploy::plan(stack);
    assert_eq!(report["mode"], "plan", "{report:#}");
    assert_eq!(report["mutating_calls"], 0, "{report:#}");
    assert_eq!(report["summary"]["update"], 0, "{report:#}");
    assert_eq!(report["summary"]["delete"], 0, "{report:#}");
    report
}

/// The planned creations, by kind.
fn created(report: &Value) -> BTreeMap<String, Vec<String>> {
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for change in report["changes"].as_array().unwrap() {
        if change["action"] == "create" {
            kinds
                .entry(change["kind"].as_str().unwrap().to_string())
                .or_default()
                .push(change["name"].as_str().unwrap().to_string());
        }
    }
    kinds
}

fn count(kinds: &BTreeMap<String, Vec<String>>, kind: &str) -> usize {
    kinds.get(kind).map_or(0, Vec::len)
}

/// What every preset plans: one distribution, its log config, viewer-request function and
/// stream, the analyser and evaluator.
fn assert_common(kinds: &BTreeMap<String, Vec<String>>, name: &str) {
    assert_eq!(
        kinds["CloudFront distribution"],
        [format!("cfrp-{name}-distribution")],
        "{kinds:#?}"
    );
    assert_eq!(count(kinds, "real-time log config"), 1, "{kinds:#?}");
    assert_eq!(count(kinds, "CloudFront function"), 1, "{kinds:#?}");
    assert_eq!(count(kinds, "Kinesis stream"), 1, "{kinds:#?}");
    let functions = &kinds["Lambda function"];
    for f in ["log-analyser", "alarm-evaluator"] {
        assert!(
            functions.contains(&format!("cfrp-{name}-{f}")),
            "{functions:?}"
        );
    }
}

#[test]
fn api_preset_inits_and_plans_an_uncached_proxy() {
    let name = stack_name("pre-api");
    let stack = init("api", &name, &["--origin-domain", "api.cfrp-test.net"]);
    let text = std::fs::read_to_string(&stack.path).unwrap();
    assert!(text.contains("domain = \"api.cfrp-test.net\""));
    assert!(text.contains("# API responses depend on who asks"));
    let kinds = created(&plan(&stack));
    assert_common(&kinds, &name);
    assert_eq!(count(&kinds, "cache policy"), 0, "{kinds:#?}");
    assert_eq!(count(&kinds, "S3 bucket"), 0, "{kinds:#?}");
    assert!(!kinds["Lambda function"].contains(&format!("cfrp-{name}-invalidator")));
}

#[test]
fn static_preset_inits_and_plans_one_long_ttl_cache_policy() {
    let name = stack_name("pre-static");
    let stack = init("static", &name, &["--region", "eu-west-1"]);
    let report = plan(&stack);
    assert_eq!(report["region"], "eu-west-1");
    let kinds = created(&report);
    assert_common(&kinds, &name);
    assert_eq!(count(&kinds, "cache policy"), 1, "{kinds:#?}");
    // CachingOptimized brings the built-in cache-hit-ratio alarm.
    assert!(
        kinds["CloudWatch alarm"]
            .iter()
            .any(|a| a.contains("LowCacheHitRatio")),
        "{kinds:#?}"
    );
}

#[test]
fn microservices_preset_inits_with_per_origin_domains_and_plans() {
    let name = stack_name("pre-micro");
    let stack = init(
        "microservices",
        &name,
        &[
            "--origin-domain",
            "gateway.cfrp-test.net",
            "--origin-domain",
            "users=users.cfrp-test.net",
        ],
    );
    let text = std::fs::read_to_string(&stack.path).unwrap();
    assert!(text.contains("domain = \"users.cfrp-test.net\""));
    assert_eq!(
        text.matches("domain = \"gateway.cfrp-test.net\"").count(),
        3
    );
    let kinds = created(&plan(&stack));
    assert_common(&kinds, &name);
    assert_eq!(count(&kinds, "cache policy"), 1, "{kinds:#?}");

    // An origin id the preset lacks is refused, naming the ones it has.
    let other = config_path(&format!("{name}-x"));
    let run = deployer(&[
        "--config",
        &other.to_string_lossy(),
        "init",
        "--preset",
        "microservices",
        "--origin-domain",
        "billing=billing.cfrp-test.net",
    ])
    .expect_code(1);
    assert!(
        run.stderr.contains("no origin \"billing\""),
        "{}",
        run.stderr
    );
    assert!(!other.exists());
}

#[test]
fn init_lists_prints_and_refuses_to_overwrite_without_force() {
    let listing = deployer(&["--output", "json", "init", "--list"])
        .expect_code(0)
        .json();
    let names: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "static", "microservices", "signing-api"]);

    let printed = deployer(&["init", "--preset", "rainbow-crypto", "--stdout"]).expect_code(0);
    assert!(printed.stdout.starts_with("# Preset \"signing-api\""));

    let unknown = deployer(&["init", "--preset", "lambda", "--stdout"]).expect_code(1);
    assert!(
        unknown
            .stderr
            .contains("unknown preset \"lambda\"; use one of: api, static"),
        "{}",
        unknown.stderr
    );

    let name = stack_name("pre-force");
    let stack = init("api", &name, &[]);
    let config = stack.path.to_string_lossy().to_string();
    let before = std::fs::read_to_string(&stack.path).unwrap();
    let refused = deployer(&["--config", &config, "init", "--preset", "static"]).expect_code(1);
    assert!(
        refused.stderr.contains("already exists"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(std::fs::read_to_string(&stack.path).unwrap(), before);
    deployer(&[
        "--config", &config, "init", "--preset", "static", "--name", &name, "--force",
    ])
    .expect_code(0);
    assert!(
        std::fs::read_to_string(&stack.path)
            .unwrap()
            .starts_with("# Preset \"static\"")
    );
}

/// What the emulator holds for the signing-api stack, read before `down` and checked after
/// it, so a failed expectation still leaves nothing behind.
struct ReadBack {
    distribution: Option<DistributionConfig>,
    cache_policies: BTreeMap<String, Option<CachePolicyConfig>>,
    security_headers_policy: Option<String>,
}

async fn read_back(cloudfront: &aws_sdk_cloudfront::Client, distribution_id: &str) -> ReadBack {
    let distribution = cloudfront
        .get_distribution_config()
        .id(distribution_id)
        .send()
        .await
        .ok()
        .and_then(|out| out.distribution_config);
    let mut cache_policies = BTreeMap::new();
    let behaviors = distribution
        .as_ref()
        .and_then(|d| d.cache_behaviors())
        .map(|b| b.items().to_vec())
        .unwrap_or_default();
    for b in behaviors {
        let Some(id) = b.cache_policy_id() else {
            continue;
        };
        let policy = cloudfront
            .get_cache_policy_config()
            .id(id)
            .send()
            .await
            .ok()
            .and_then(|out| out.cache_policy_config);
        cache_policies.insert(b.path_pattern().to_string(), policy);
    }
    let security_headers_policy = cloudfront
        .get_response_headers_policy()
        .id(SECURITY_HEADERS)
        .send()
        .await
        .ok()
        .and_then(|out| out.response_headers_policy)
        .and_then(|p| p.response_headers_policy_config)
        .map(|c| c.name().to_string());
    ReadBack {
        distribution,
        cache_policies,
        security_headers_policy,
    }
}

/// The stack's custom cache policies still in the emulator.
async fn stack_cache_policies(cloudfront: &aws_sdk_cloudfront::Client, name: &str) -> Vec<String> {
    let list = cloudfront
        .list_cache_policies()
        .r#type(aws_sdk_cloudfront::types::CachePolicyType::Custom)
        .send()
        .await
        .unwrap();
    list.cache_policy_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.cache_policy())
        .filter_map(|p| p.cache_policy_config())
        .map(|c| c.name().to_string())
        .filter(|n| n.starts_with(&format!("cfrp-{name}-cache-")))
        .collect()
}

fn header_keys(policy: &CachePolicyConfig) -> Vec<String> {
    policy
        .parameters_in_cache_key_and_forwarded_to_origin()
        .and_then(|p| p.headers_config())
        .and_then(|h| h.headers())
        .map(|h| h.items().to_vec())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_api_preset_deploys_the_behaviours_it_describes() {
    let name = stack_name("pre-sign");
    // Through the alias, as users of the original toolkit would type it.
    let stack = init(
        "rainbow-crypto",
        &name,
        &["--origin-domain", "signing.cfrp-test.net"],
    );
    let kinds = created(&plan(&stack));
    assert_common(&kinds, &name);
    assert_eq!(count(&kinds, "cache policy"), 2, "{kinds:#?}");
    assert_eq!(kinds["S3 bucket"], std::slice::from_ref(&stack.bucket));
    assert!(kinds["Lambda function"].contains(&format!("cfrp-{name}-invalidator")));

    let report = up(&stack);
    let distribution_id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let got = read_back(&cloudfront, &distribution_id).await;
    down(&stack);
    let left = stack_cache_policies(&cloudfront, &name).await;

    let dc = got.distribution.expect("the distribution was read back");
    assert_eq!(
        dc.origins().unwrap().items()[0].domain_name(),
        "signing.cfrp-test.net"
    );
    let default = dc.default_cache_behavior().unwrap();
    assert_eq!(default.cache_policy_id(), Some(CACHING_DISABLED));
    assert_eq!(default.allowed_methods().unwrap().quantity(), 7);
    assert_eq!(default.viewer_protocol_policy().as_str(), "https-only");
    let behaviors = dc.cache_behaviors().unwrap().items();
    let patterns: Vec<&str> = behaviors.iter().map(|b| b.path_pattern()).collect();
    assert_eq!(patterns, ["/keys/*", "/verify/*", "/manuscripts/*"]);
    let by = |pattern: &str| {
        behaviors
            .iter()
            .find(|b| b.path_pattern() == pattern)
            .unwrap()
    };

    // Key generation: the managed CachingDisabled policy, every method.
    let keys = by("/keys/*");
    assert_eq!(keys.cache_policy_id(), Some(CACHING_DISABLED));
    assert_eq!(keys.allowed_methods().unwrap().quantity(), 7);
    let never = got.cache_policies["/keys/*"].as_ref().unwrap();
    assert_eq!(
        (never.min_ttl(), never.default_ttl(), never.max_ttl()),
        (0, Some(0), Some(0))
    );

    // Verification: a custom policy, one hour, keyed on the signature id header; the
    // origin sees only the cache key.
    let verify = by("/verify/*");
    assert_ne!(verify.cache_policy_id(), Some(CACHING_DISABLED));
    assert_eq!(verify.origin_request_policy_id().unwrap_or_default(), "");
    let policy = got.cache_policies["/verify/*"].as_ref().unwrap();
    assert_eq!(
        (policy.min_ttl(), policy.default_ttl(), policy.max_ttl()),
        (0, Some(3600), Some(3600))
    );
    assert_eq!(header_keys(policy), ["X-Signature-Id"]);
    let methods: Vec<&str> = verify
        .allowed_methods()
        .unwrap()
        .items()
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert_eq!(methods, ["GET", "HEAD", "OPTIONS"]);

    // Manuscripts: a day, the managed SecurityHeadersPolicy.
    let manuscripts = by("/manuscripts/*");
    let policy = got.cache_policies["/manuscripts/*"].as_ref().unwrap();
    assert_eq!(
        (policy.default_ttl(), policy.max_ttl()),
        (Some(86400), Some(86400))
    );
    assert!(header_keys(policy).is_empty());
    assert_eq!(
        manuscripts.response_headers_policy_id(),
        Some(SECURITY_HEADERS)
    );
    assert_eq!(
        got.security_headers_policy.as_deref(),
        Some("Managed-SecurityHeadersPolicy")
    );
    assert_ne!(manuscripts.cache_policy_id(), Some(CACHING_OPTIMIZED));

    // `down` took the custom policies with it.
    assert!(left.is_empty(), "{left:?}");
}
