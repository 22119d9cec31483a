#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! `deployer import` against the emulator. (a) The round trip: a stack with origin groups,
//! error responses, its own response headers policy, cache key lists, Origin Shield, geo
//! restriction and a price class is brought `up`; `import --id` writes a config from the
//! distribution alone whose `plan` is clean. (b) Adoption: a distribution made by hand is
//! imported with `--adopt`; the next `plan` changes none of its origins or behaviours' own
//! settings, only adds what the stack adds (the origin-verify header, the viewer-request
//! function, the real-time log config); `up` converges it in place and `down` removes it.

use std::path::{Path, PathBuf};

use cfrp_tests::deploy::{DeployerRun, StackFile, artifacts, deployer, down, up};
use cfrp_tests::fixtures::{HandMade, hand_made_distribution};
use cfrp_tests::{sdk_config, unique};
use serde_json::Value;

fn stack_name(prefix: &str) -> String {
    unique(prefix).chars().take(32).collect()
}

fn dir_for(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfrp-import-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A stack with the distribution features `import` maps; the other sections at their
/// defaults, which is all a distribution can tell.
fn round_trip_stack(name: &str) -> StackFile {
    let text = format!(
        r#"name = "{name}"
region = "eu-west-1"
comment = "Import round trip"

[distribution]
price_class = "PriceClass_200"
additional_metrics = true

[distribution.geo_restriction]
mode = "deny"
countries = ["KP", "IR"]

[[origins]]
id = "app"
domain = "app.example.com"
origin_shield_region = "eu-west-1"

[[origins]]
id = "api"
domain = "api.example.com"
path = "/v1"
read_timeout_seconds = 45

[[origin_groups]]
id = "site"
primary = "app"
secondary = "api"
failover_status_codes = [502, 503]

[default_behavior]
origin = "app"
response_headers = "custom"

[[behaviors]]
path_pattern = "/pages/*"
origin = "site"
allowed_methods = "get-head"
caching = "disabled"

[[behaviors]]
path_pattern = "/static/*"
origin = "app"
caching = "custom"
ttl = {{ min = 0, default = 3600, max = 86400 }}
cache_key_headers = ["Accept-Language"]
cache_key_query_strings = "allow"
cache_key_query_string_names = ["v", "lang"]
origin_request = "none"

[[error_responses]]
code = 503
caching_min_ttl = 0

[[error_responses]]
code = 404
caching_min_ttl = 300
page = "/errors/404.html"
response_code = 404

[response_headers]
frame_options = "DENY"
referrer_policy = "same-origin"
content_type_options = true
remove_headers = ["X-Powered-By"]

[response_headers.hsts]
max_age_seconds = 31536000
include_subdomains = true

[[response_headers.custom_headers]]
name = "X-Served-By"
value = "cfrp"
override_origin = true
"#
    );
    let path = dir_for(name).join("proxy.toml");
    std::fs::write(&path, text).unwrap();
    StackFile {
        name: name.to_string(),
        bucket: String::new(),
        path,
    }
}

fn import(path: &Path, extra: &[&str]) -> DeployerRun {
    let config = path.to_string_lossy().to_string();
    let mut args = vec!["--config", &config, "--output", "json", "import"];
    args.extend_from_slice(extra);
    deployer(&args)
}

/// `deployer plan --output json` of `path`; exit code and report.
fn plan_of(path: &Path) -> (i32, Value) {
    let config = path.to_string_lossy().to_string();
    let artifacts = artifacts().to_string_lossy().to_string();
    let run = deployer(&[
        "--config",
        &config,
        "--output",
        "json",
        "plan",
        "--artifacts",
        &artifacts,
    ]);
    (run.code, run.json())
}

fn changes(report: &Value) -> Vec<Value> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_distribution_made_by_up_imports_to_a_config_whose_plan_is_clean() {
    let name = stack_name("import-rt");
    let stack = round_trip_stack(&name);
    let report = up(&stack);
    let id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();

    let imported = dir_for(&name).join("imported.toml");
    let _ = std::fs::remove_file(&imported);
    let run = import(&imported, &["--id", &id]).expect_code(0);
    let out = run.json();
    assert_eq!(out["stack"], name.as_str(), "{out:#}");
    assert_eq!(out["region"], "eu-west-1", "{out:#}");
    assert_eq!(out["valid"], true, "{out:#}");
    assert_eq!(out["unrepresentable"], serde_json::json!([]), "{out:#}");
    let text = std::fs::read_to_string(&imported).unwrap();
    for expected in [
        "price_class = \"PriceClass_200\"",
        "additional_metrics = true",
        "countries = [\"KP\", \"IR\"]",
        "origin_shield_region = \"eu-west-1\"",
        "[[origin_groups]]",
        "failover_status_codes = [502, 503]",
        "cache_key_query_string_names = [\"v\", \"lang\"]",
        "page = \"/errors/404.html\"",
        "frame_options = \"DENY\"",
        "[response_headers.hsts]",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }

    // The round trip: the imported config plans no change at all.
    let (code, planned) = plan_of(&imported);
    assert_eq!(changes(&planned), Vec::<Value>::new(), "{text}");
    assert_eq!(code, 0, "{planned:#}");

    // An existing file is kept unless --force.
    let again = import(&imported, &["--id", &id]).expect_code(1);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(&imported).unwrap(), text);
    import(&imported, &["--id", &id, "--force"]).expect_code(0);

    down(&stack);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_distribution_is_adopted_and_plan_shows_only_what_the_stack_adds() {
    let name = stack_name("import-adopt");
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let id = hand_made_distribution(
        &cloudfront,
        &HandMade {
            comment: "made in the console",
            enabled: true,
            origins: &[
                ("web", "web.legacy.example.com"),
                ("img", "img.legacy.example.com"),
            ],
            behaviors: &[("/img/*", "img"), ("/api/*", "web")],
            tags: &[],
        },
    )
    .await;
    let path = dir_for(&name).join("proxy.toml");
    let _ = std::fs::remove_file(&path);
    let out = import(
        &path,
        &[
            "--id",
            &id,
            "--adopt",
            "--name",
            &name,
            "--region",
            "eu-west-1",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(out["adopted"], "tagged", "{out:#}");
    assert_eq!(out["valid"], true, "{out:#}");

    let arn = cloudfront
        .get_distribution()
        .id(&id)
        .send()
        .await
        .unwrap()
        .distribution()
        .unwrap()
        .arn()
        .to_string();
    let tags: Vec<(String, String)> = cloudfront
        .list_tags_for_resource()
        .resource(&arn)
        .send()
        .await
        .unwrap()
        .tags()
        .map(|t| {
            t.items()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        tags.contains(&("cfrp:stack".into(), name.clone())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("cfrp:adopted".into(), id.clone())),
        "{tags:?}"
    );

    // plan: the distribution is updated, not created, and only with what the stack adds.
    let (code, planned) = plan_of(&path);
    assert_eq!(code, 2, "{planned:#}");
    let pending = changes(&planned);
    let distribution: Vec<&Value> = pending
        .iter()
        .filter(|c| c["kind"] == "CloudFront distribution")
        .collect();
    assert_eq!(distribution.len(), 1, "{planned:#}");
    assert_eq!(distribution[0]["action"], "update", "{planned:#}");
    let text = std::fs::read_to_string(&path).unwrap();
    // The emulator answers the hand-made origins without OriginSslProtocols, which the config
    // cannot say (it always names the TLS versions): import reports it, and that is the one
    // origin field plan may change besides what the stack adds.
    let reported: Vec<String> = out["unrepresentable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert_eq!(u["setting"], "no OriginSslProtocols", "{out:#}");
            format!("{}.tls", u["at"].as_str().unwrap())
        })
        .collect();
    for field in distribution[0]["changes"].as_array().unwrap() {
        let f = field["field"].as_str().unwrap();
        let added = f.ends_with(".header[X-Origin-Verify]")
            || f.ends_with(".realtime_log_config")
            || f.ends_with(".functions");
        let reported_tls = reported.iter().any(|r| r == f) && field["to"] == "TLSv1.2";
        assert!(
            added || reported_tls,
            "a change the stack does not add: {field:#}\n{text}"
        );
    }
    // Each origin gets the secret header, each behaviour the function and the log config.
    let fields: Vec<&str> = distribution[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    for expected in [
        "origins[web].header[X-Origin-Verify]",
        "origins[img].header[X-Origin-Verify]",
        "behaviors[default].functions",
        "behaviors[/img/*].realtime_log_config",
        "behaviors[/api/*].functions",
    ] {
        assert!(fields.contains(&expected), "{expected} not in {fields:?}");
    }
    for kind in ["CloudFront function", "real-time log config"] {
        assert!(
            pending
                .iter()
                .any(|c| c["kind"] == kind && c["action"] == "create"),
            "no {kind} created in {planned:#}"
        );
    }

    // up converges the distribution in place; its origins are untouched.
    let applied = up(&StackFile {
        name: name.clone(),
        bucket: String::new(),
        path: path.clone(),
    });
    let mutations: Vec<&str> = applied["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        mutations.contains(&format!("cloudfront:UpdateDistribution {id}").as_str()),
        "{applied:#}"
    );
    assert!(
        !mutations
            .iter()
            .any(|m| m.starts_with("cloudfront:CreateDistribution")),
        "{applied:#}"
    );
    let after = cloudfront
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap()
        .distribution_config()
        .cloned()
        .unwrap();
    let domains: Vec<&str> = after
        .origins()
        .unwrap()
        .items()
        .iter()
        .map(|o| o.domain_name())
        .collect();
    assert_eq!(
        domains,
        ["web.legacy.example.com", "img.legacy.example.com"]
    );
    assert!(
        after
            .origins()
            .unwrap()
            .items()
            .iter()
            .all(|o| o.custom_headers().is_some_and(|h| h
                .items()
                .iter()
                .any(|h| h.header_name() == "X-Origin-Verify")))
    );

    // down removes the adopted distribution with the rest of the stack.
    down(&StackFile {
        name: name.clone(),
        bucket: String::new(),
        path,
    });
    let gone = cloudfront.get_distribution().id(&id).send().await;
    assert!(gone.is_err(), "the adopted distribution is still there");
}
