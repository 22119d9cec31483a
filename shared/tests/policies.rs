//! Cache keys and the stack's own response headers policy, seen from a config file: what is
//! read, and every problem at its line and column with what to change.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::{
    ConfigError, CorsMethod, FrameOption, KeyItems, ReferrerPolicy, ResponseHeaders, StackConfig,
    presets,
};

const HEAD: &str = r#"
name = "shop"
region = "eu-west-1"

[[origins]]
id = "app"
domain = "app.example.com"
"#;

fn parse(body: &str) -> Result<StackConfig, ConfigError> {
    StackConfig::parse(&format!("{HEAD}{body}"), "proxy.toml")
}

/// (field, line, column, message) of each problem; lines count from the body's first line.
fn problems(body: &str) -> Vec<(String, usize, usize, String)> {
    let head_lines = HEAD.matches('\n').count();
    match parse(body) {
        Err(ConfigError::Invalid(report)) => report
            .problems
            .into_iter()
            .map(|p| {
                let at = p
                    .location
                    .unwrap_or(cfrp_config::Location { line: 0, column: 0 });
                (
                    p.field,
                    at.line.saturating_sub(head_lines),
                    at.column,
                    p.message,
                )
            })
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

const POLICY: &str = r#"
[default_behavior]
response_headers = "custom"

[response_headers]
content_security_policy = "default-src 'self'"
frame_options = "SAMEORIGIN"
referrer_policy = "strict-origin-when-cross-origin"
content_type_options = true
remove_headers = ["Server", "X-Powered-By"]
server_timing_sampling_rate = 2.5

[response_headers.hsts]
max_age_seconds = 63072000
include_subdomains = true
preload = true

[response_headers.cors]
allow_origins = ["https://app.example.com"]
allow_methods = ["GET", "HEAD", "OPTIONS"]
allow_headers = ["Content-Type", "Authorization"]
expose_headers = ["X-Request-Id"]
allow_credentials = true
max_age_seconds = 600

[[response_headers.custom_headers]]
name = "X-Served-By"
value = "cloudfront"
override_origin = false
"#;

#[test]
fn a_full_response_headers_policy_is_read_with_every_setting() {
    let config = parse(POLICY).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.default_behavior.response_headers,
        ResponseHeaders::Custom
    );
    let p = config.response_headers.clone().unwrap();
    assert!(p.override_origin, "security headers override by default");
    assert_eq!(p.frame_options, Some(FrameOption::SameOrigin));
    assert_eq!(
        p.referrer_policy,
        Some(ReferrerPolicy::StrictOriginWhenCrossOrigin)
    );
    assert!(p.content_type_options);
    assert_eq!(p.remove_headers, ["Server", "X-Powered-By"]);
    assert_eq!(p.server_timing_sampling_rate, Some(2.5));
    let hsts = p.hsts.unwrap();
    assert_eq!(
        (hsts.max_age_seconds, hsts.include_subdomains, hsts.preload),
        (63_072_000, true, true)
    );
    let cors = p.cors.unwrap();
    assert_eq!(
        cors.allow_methods,
        [CorsMethod::Get, CorsMethod::Head, CorsMethod::Options]
    );
    assert!(cors.allow_credentials && cors.origin_override);
    assert_eq!(cors.max_age_seconds, Some(600));
    assert_eq!(cors.expose_headers, ["X-Request-Id"]);
    assert_eq!(p.custom_headers[0].name, "X-Served-By");
    assert!(!p.custom_headers[0].override_origin);
    // The file form (what `validate` of a config built in code goes through) round-trips.
    let again = StackConfig::parse(&config.to_toml().unwrap(), "again").unwrap();
    assert_eq!(again.response_headers, config.response_headers);
}

#[test]
fn credentials_with_any_origin_are_refused_at_the_line_of_allow_credentials() {
    let found = problems(
        r#"
[default_behavior]
response_headers = "custom"

[response_headers.cors]
allow_origins = ["*"]
allow_headers = ["*"]
allow_credentials = true
"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    let (field, line, column, message) = &found[0];
    assert_eq!(field, "response_headers.cors.allow_credentials");
    assert_eq!((*line, *column), (8, 21));
    assert!(
        message.contains("list the origins in allow_origins"),
        "{message}"
    );
}

#[test]
fn each_response_headers_mistake_is_named_where_it_stands() {
    let found = problems(
        r#"
[default_behavior]
response_headers = "custom"

[response_headers]
frame_options = "ALLOW"
remove_headers = ["Content-Length", "X-Amz-Cf-Pop", "Server", "server"]
server_timing_sampling_rate = 101
referrer_policy = "never"

[response_headers.cors]
allow_origins = ["https://app.example.com/path"]
allow_methods = ["FETCH"]
allow_headers = []
"#,
    );
    let fields: Vec<(&str, usize)> = found.iter().map(|p| (p.0.as_str(), p.1)).collect();
    assert_eq!(
        fields,
        [
            ("response_headers.frame_options", 6),
            ("response_headers.remove_headers[0]", 7),
            ("response_headers.remove_headers[1]", 7),
            ("response_headers.remove_headers[3]", 7),
            ("response_headers.server_timing_sampling_rate", 8),
            ("response_headers.referrer_policy", 9),
            ("response_headers.cors.allow_methods", 11),
            ("response_headers.cors.allow_headers", 11),
            ("response_headers.cors.allow_origins[0]", 12),
            ("response_headers.cors.allow_methods[0]", 13),
        ],
        "{found:#?}"
    );
    assert!(found[0].3.contains("DENY, SAMEORIGIN"));
    assert!(
        found[1]
            .3
            .contains("CloudFront cannot remove \"Content-Length\"")
    );
    assert!(found[3].3.contains("listed twice"));
    assert!(found[4].3.contains("0–100"));
}

#[test]
fn custom_without_a_policy_and_a_policy_nobody_uses_are_both_reported() {
    let found = problems(
        r#"
[default_behavior]
response_headers = "custom"
"#,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2),
        ("default_behavior.response_headers", 3, 20)
    );
    assert!(found[0].3.contains("no [response_headers] section"));

    let found = problems(
        r#"
[response_headers]
content_type_options = true
"#,
    );
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0.as_str(), found[0].1), ("response_headers", 2));
    assert!(found[0].3.contains("no behaviour uses this policy"));
}

#[test]
fn the_quotas_on_custom_and_removed_headers_are_checked() {
    let custom: String = (0..11)
        .map(|i| format!("[[response_headers.custom_headers]]\nname = \"X-H{i}\"\nvalue = \"v\"\n"))
        .collect();
    let found = problems(&format!(
        "[default_behavior]\nresponse_headers = \"custom\"\n[response_headers]\nremove_headers = [{}]\n{custom}",
        (0..11)
            .map(|i| format!("\"X-R{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let messages: Vec<&str> = found.iter().map(|p| p.3.as_str()).collect();
    assert_eq!(
        messages,
        [
            "11 headers; a response headers policy removes at most 10",
            "11 headers; a response headers policy adds at most 10"
        ],
        "{found:#?}"
    );
}

#[test]
fn cache_key_lists_are_read_with_their_mode() {
    let config = parse(
        r#"
[default_behavior]
caching = "custom"
origin_request = "none"
cache_key_query_strings = "allow"
cache_key_query_string_names = ["page", "sort"]
cache_key_cookies = "deny"
cache_key_cookie_names = ["_ga"]
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let b = &config.default_behavior;
    assert_eq!(b.cache_key_query_strings, KeyItems::Allow);
    assert_eq!(b.cache_key_query_string_names, ["page", "sort"]);
    assert_eq!(b.cache_key_cookies, KeyItems::Deny);
    assert_eq!(b.cache_key_cookie_names, ["_ga"]);
    let again = StackConfig::parse(&config.to_toml().unwrap(), "again").unwrap();
    assert_eq!(again.default_behavior, config.default_behavior);
}

#[test]
fn cache_key_mistakes_name_the_key_and_the_fix() {
    let found = problems(
        r#"
[default_behavior]
caching = "optimized"
cache_key_cookies = "all"

[[behaviors]]
path_pattern = "/a/*"
caching = "custom"
origin_request = "none"
cache_key_query_strings = "allow"
cache_key_cookies = "none"
cache_key_cookie_names = ["a", "a b"]
"#,
    );
    let fields: Vec<&str> = found.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        fields,
        [
            "default_behavior.cache_key_cookies",
            "behaviors[0].cache_key_query_string_names",
            "behaviors[0].cache_key_cookie_names",
            "behaviors[0].cache_key_cookie_names[1]",
        ],
        "{found:#?}"
    );
    assert!(
        found[0]
            .3
            .contains("only applies with caching = \"custom\"")
    );
    assert!(found[1].3.contains("add cache_key_query_string_names"));
    assert!(
        found[2]
            .3
            .contains("only applies with cache_key_cookies = \"allow\" or \"deny\"")
    );
}

#[test]
fn a_cached_behaviour_forwarding_cookies_it_does_not_key_on_is_refused_with_the_fix() {
    for (origin_request, cookies) in [
        ("all-viewer-except-host", "cache_key_cookies = \"none\""),
        (
            "all-viewer",
            "cache_key_cookies = \"allow\"\ncache_key_cookie_names = [\"session\"]",
        ),
    ] {
        let found = problems(&format!(
            "[default_behavior]\ncaching = \"custom\"\nttl = {{ min = 0, default = 60, max = 600 }}\norigin_request = \"{origin_request}\"\n{cookies}\n"
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        let (field, line, column, message) = &found[0];
        assert_eq!(field, "default_behavior.origin_request");
        assert_eq!((*line, *column), (4, 18));
        assert!(message.contains("one viewer's cookies could be served to another"));
        assert!(message.contains("set cache_key_cookies = \"all\", or origin_request = \"none\""));
    }
    // Keyed on every cookie, not forwarding them, or not caching: valid.
    for ok in [
        "caching = \"custom\"\ncache_key_cookies = \"all\"",
        "caching = \"custom\"\norigin_request = \"none\"",
        "caching = \"custom\"\nttl = { min = 0, default = 0, max = 0 }",
        "caching = \"disabled\"",
    ] {
        let text = format!("[default_behavior]\n{ok}\n");
        assert!(parse(&text).is_ok(), "{ok}: {:?}", parse(&text).err());
    }
    // The default behaviour of a config without [default_behavior] caches nothing.
    assert!(parse("").is_ok());
}

#[test]
fn managed_caching_optimized_forwarding_cookies_is_a_warning_not_an_error() {
    let text = format!(
        "{HEAD}[default_behavior]\ncaching = \"optimized\"\norigin_request = \"all-viewer\"\n"
    );
    let config = StackConfig::parse(&text, "proxy.toml").unwrap_or_else(|e| panic!("{e}"));
    let warnings = cfrp_config::Warnings::of(&config, "proxy.toml", Some(&text));
    let found: Vec<&cfrp_config::Warning> = warnings
        .warnings
        .iter()
        .filter(|w| w.field == "default_behavior.origin_request")
        .collect();
    assert_eq!(found.len(), 1, "{warnings}");
    assert!(found[0].message.contains("CachingOptimized"));
    // origin-headers caches only what the origin marks cacheable: no warning.
    let text = text.replace("optimized", "origin-headers");
    let config = StackConfig::parse(&text, "proxy.toml").unwrap();
    let warnings = cfrp_config::Warnings::of(&config, "proxy.toml", Some(&text));
    assert!(
        warnings
            .warnings
            .iter()
            .all(|w| w.field != "default_behavior.origin_request")
    );
}

#[test]
fn the_presets_and_the_example_still_validate() {
    for preset in presets::PRESETS {
        preset
            .config()
            .unwrap_or_else(|e| panic!("preset {}: {e}", preset.name));
    }
    StackConfig::parse(include_str!("../examples/proxy.toml"), "proxy.toml")
        .unwrap_or_else(|e| panic!("{e}"));
}
