#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! The stack's own response headers policy and a custom cache policy with query string and
//! cookie lists, against the emulator: `up` creates both and points the behaviours at them
//! (read back through the SDK field by field), a second `up` makes no mutating call, a changed
//! setting is one field in `plan` and one update in `up`, and `down` detaches and deletes
//! both, leaving nothing.

use aws_config::Region;
use cfrp_tests::deploy::{down, plan, stack_file, up};
use cfrp_tests::{sdk_config, unique};
use serde_json::{Value, json};

const RESPONSE_HEADERS: &str = r#"
[response_headers]
content_security_policy = "default-src 'self'; img-src 'self' data:"
frame_options = "DENY"
referrer_policy = "strict-origin-when-cross-origin"
content_type_options = true
remove_headers = ["Server", "X-Powered-By"]
server_timing_sampling_rate = 12.5

[response_headers.hsts]
max_age_seconds = 63072000
include_subdomains = true
preload = true

[response_headers.cors]
allow_origins = ["https://app.shop.example.com", "https://admin.shop.example.com"]
allow_methods = ["GET", "HEAD", "OPTIONS"]
allow_headers = ["Content-Type", "Authorization"]
expose_headers = ["X-Request-Id"]
allow_credentials = true
max_age_seconds = 600
origin_override = true

[[response_headers.custom_headers]]
name = "X-Served-By"
value = "shop-edge"
override_origin = false
"#;

fn with_policies(text: String, frame: &str) -> String {
    let text = text
        .replace(
            "[default_behavior]\norigin = \"app\"\ncaching = \"disabled\"\n",
            "[default_behavior]\norigin = \"app\"\ncaching = \"disabled\"\nresponse_headers = \"custom\"\n",
        )
        .replace(
            "cache_key_headers = [\"Accept-Language\"]\n",
            "cache_key_headers = [\"Accept-Language\"]\ncache_key_query_strings = \"allow\"\ncache_key_query_string_names = [\"v\", \"lang\"]\ncache_key_cookies = \"allow\"\ncache_key_cookie_names = [\"locale\"]\nresponse_headers = \"custom\"\n",
        );
    assert!(
        text.contains("cache_key_cookie_names"),
        "the example changed"
    );
    assert!(text.matches("response_headers = \"custom\"").count() == 2);
    format!(
        "{text}\n{}",
        RESPONSE_HEADERS.replace(
            "frame_options = \"DENY\"",
            &format!("frame_options = \"{frame}\"")
        )
    )
}

async fn policy_id(cloudfront: &aws_sdk_cloudfront::Client, name: &str) -> Option<String> {
    let list = cloudfront
        .list_response_headers_policies()
        .r#type(aws_sdk_cloudfront::types::ResponseHeadersPolicyType::Custom)
        .send()
        .await
        .unwrap();
    list.response_headers_policy_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.response_headers_policy())
        .find(|p| {
            p.response_headers_policy_config()
                .is_some_and(|c| c.name() == name)
        })
        .map(|p| p.id().to_string())
}

async fn stack_cache_policies(cloudfront: &aws_sdk_cloudfront::Client, stack: &str) -> usize {
    let list = cloudfront
        .list_cache_policies()
        .r#type(aws_sdk_cloudfront::types::CachePolicyType::Custom)
        .send()
        .await
        .unwrap();
    let prefix = format!("cfrp-{stack}-cache-");
    list.cache_policy_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.cache_policy())
        .filter(|p| {
            p.cache_policy_config()
                .is_some_and(|c| c.name().starts_with(&prefix))
        })
        .count()
}

#[tokio::test]
async fn own_response_headers_and_cache_key_lists_are_created_read_back_and_removed() {
    let name: String = unique("pol").chars().take(32).collect();
    let stack = stack_file(&name, |t| with_policies(t, "DENY"));
    let config = sdk_config()
        .await
        .to_builder()
        .region(Region::new("eu-west-1"))
        .build();
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let policy_name = format!("cfrp-{name}-headers");

    // ---- up from nothing
    let report = up(&stack);
    let created: Vec<&Value> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "response headers policy")
        .collect();
    assert_eq!(created.len(), 1, "{report:#}");
    assert_eq!(created[0]["action"], "create");
    assert_eq!(created[0]["name"], policy_name.as_str());
    let distribution_id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();

    // The response headers policy, field by field.
    let id = policy_id(&cloudfront, &policy_name)
        .await
        .expect("the stack's response headers policy exists");
    let read = cloudfront
        .get_response_headers_policy()
        .id(&id)
        .send()
        .await
        .unwrap();
    let policy = read
        .response_headers_policy()
        .unwrap()
        .response_headers_policy_config()
        .unwrap();
    assert_eq!(
        policy.comment(),
        Some(format!("cloudfront-reverse-proxy {name}").as_str())
    );
    let security = policy.security_headers_config().unwrap();
    let csp = security.content_security_policy().unwrap();
    assert_eq!(
        csp.content_security_policy(),
        "default-src 'self'; img-src 'self' data:"
    );
    assert!(csp.r#override());
    assert_eq!(
        security.frame_options().unwrap().frame_option().as_str(),
        "DENY"
    );
    assert_eq!(
        security
            .referrer_policy()
            .unwrap()
            .referrer_policy()
            .as_str(),
        "strict-origin-when-cross-origin"
    );
    assert!(security.content_type_options().unwrap().r#override());
    let hsts = security.strict_transport_security().unwrap();
    assert_eq!(hsts.access_control_max_age_sec(), 63_072_000);
    assert_eq!(hsts.include_subdomains(), Some(true));
    assert_eq!(hsts.preload(), Some(true));
    let cors = policy.cors_config().unwrap();
    assert_eq!(
        cors.access_control_allow_origins().unwrap().items(),
        [
            "https://app.shop.example.com",
            "https://admin.shop.example.com"
        ]
    );
    let methods: Vec<&str> = cors
        .access_control_allow_methods()
        .unwrap()
        .items()
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert_eq!(methods, ["GET", "HEAD", "OPTIONS"]);
    assert_eq!(
        cors.access_control_allow_headers().unwrap().items(),
        ["Content-Type", "Authorization"]
    );
    assert_eq!(
        cors.access_control_expose_headers().unwrap().items(),
        ["X-Request-Id"]
    );
    assert!(cors.access_control_allow_credentials());
    assert_eq!(cors.access_control_max_age_sec(), Some(600));
    assert!(cors.origin_override());
    let timing = policy.server_timing_headers_config().unwrap();
    assert!(timing.enabled());
    assert_eq!(timing.sampling_rate(), Some(12.5));
    let custom = &policy.custom_headers_config().unwrap().items()[0];
    assert_eq!(
        (custom.header(), custom.value(), custom.r#override()),
        ("X-Served-By", "shop-edge", false)
    );
    let removed: Vec<&str> = policy
        .remove_headers_config()
        .unwrap()
        .items()
        .iter()
        .map(|h| h.header())
        .collect();
    assert_eq!(removed, ["Server", "X-Powered-By"]);

    // The behaviours point at it; /static/* at its cache policy with the lists.
    let dc = cloudfront
        .get_distribution_config()
        .id(&distribution_id)
        .send()
        .await
        .unwrap();
    let dc = dc.distribution_config().unwrap();
    assert_eq!(
        dc.default_cache_behavior()
            .unwrap()
            .response_headers_policy_id(),
        Some(id.as_str())
    );
    let behaviors = dc.cache_behaviors().unwrap().items();
    let statics = behaviors
        .iter()
        .find(|b| b.path_pattern() == "/static/*")
        .unwrap();
    assert_eq!(statics.response_headers_policy_id(), Some(id.as_str()));
    let api = behaviors
        .iter()
        .find(|b| b.path_pattern() == "/api/*")
        .unwrap();
    assert_eq!(
        api.response_headers_policy_id(),
        Some("67f7725c-6f97-4210-82d7-5512b31e9d03"),
        "behaviours that do not ask for it keep the managed SecurityHeadersPolicy"
    );
    assert_eq!(statics.origin_request_policy_id().unwrap_or_default(), "");
    let cache = cloudfront
        .get_cache_policy()
        .id(statics.cache_policy_id().unwrap())
        .send()
        .await
        .unwrap();
    let cache = cache.cache_policy().unwrap().cache_policy_config().unwrap();
    assert_eq!(
        (cache.min_ttl(), cache.default_ttl(), cache.max_ttl()),
        (0, Some(86_400), Some(31_536_000))
    );
    let key = cache
        .parameters_in_cache_key_and_forwarded_to_origin()
        .unwrap();
    let query = key.query_strings_config().unwrap();
    assert_eq!(query.query_string_behavior().as_str(), "whitelist");
    assert_eq!(query.query_strings().unwrap().items(), ["v", "lang"]);
    let cookies = key.cookies_config().unwrap();
    assert_eq!(cookies.cookie_behavior().as_str(), "whitelist");
    assert_eq!(cookies.cookies().unwrap().items(), ["locale"]);
    assert_eq!(
        key.headers_config().unwrap().headers().unwrap().items(),
        ["Accept-Language"]
    );

    // ---- a second up changes nothing
    let again = up(&stack);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");

    // ---- one setting changed: one field in plan, one policy update in up
    let reframed = stack_file(&name, |t| with_policies(t, "SAMEORIGIN"));
    let planned = plan(&reframed);
    let changed: Vec<&Value> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .collect();
    assert_eq!(changed.len(), 1, "{planned:#}");
    assert_eq!(changed[0]["kind"], "response headers policy");
    assert_eq!(
        changed[0]["changes"],
        json!([{"field": "frame_options", "from": "DENY (override)", "to": "SAMEORIGIN (override)"}])
    );
    let applied = up(&reframed);
    assert_eq!(
        applied["mutations"],
        json!([format!(
            "cloudfront:UpdateResponseHeadersPolicy {policy_name}"
        )]),
        "{applied:#}"
    );

    // ---- down: detached with the distribution, then deleted; nothing left
    let gone = down(&reframed);
    let deleted: Vec<String> = gone["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| {
            format!(
                "{} {}",
                c["kind"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        deleted.contains(&format!("response headers policy {policy_name}")),
        "{gone:#}"
    );
    assert_eq!(policy_id(&cloudfront, &policy_name).await, None);
    assert_eq!(stack_cache_policies(&cloudfront, &name).await, 0);
    let distribution = cloudfront
        .get_distribution()
        .id(&distribution_id)
        .send()
        .await;
    assert!(distribution.is_err(), "the distribution is gone");
    let twice = down(&reframed);
    assert_eq!(twice["mutating_calls"], 0, "{twice:#}");
}
