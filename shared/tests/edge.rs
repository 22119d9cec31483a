//! `[[origin_groups]]`, `[[error_responses]]` and `origin_shield_region`: read with their
//! defaults, and every mistake reported at its line and column with what is allowed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::{AllowedMethods, ConfigError, ErrorResponse, OriginGroup, StackConfig};

fn problems(text: &str) -> Vec<(String, usize, usize, String)> {
    match StackConfig::parse(text, "proxy.toml") {
        Err(ConfigError::Invalid(report)) => report
            .problems
            .into_iter()
            .map(|p| {
                let at = p
                    .location
                    .unwrap_or(cfrp_config::Location { line: 0, column: 0 });
                (p.field, at.line, at.column, p.message)
            })
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn assert_problem(
    found: &[(String, usize, usize, String)],
    field: &str,
    line: usize,
    column: usize,
    words: &str,
) {
    assert!(
        found
            .iter()
            .any(|(f, l, c, m)| f == field && *l == line && *c == column && m.contains(words)),
        "no problem {field} at {line}:{column} mentioning {words:?}; got:\n{}",
        found
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const VALID: &str = r#"name = "edge"

[[origins]]
id = "blue"
domain = "blue.example.com"
origin_shield_region = "eu-west-1"

[[origins]]
id = "green"
domain = "green.example.com"

[[origin_groups]]
id = "site"
primary = "blue"
secondary = "green"

[[origin_groups]]
id = "pages"
primary = "green"
secondary = "blue"
failover_status_codes = [404, 403]

[default_behavior]
origin = "site"
allowed_methods = "get-head"

[[behaviors]]
path_pattern = "/pages/*"
origin = "pages"
allowed_methods = "get-head-options"

[[behaviors]]
path_pattern = "/write/*"
origin = "blue"

[[error_responses]]
code = 503
caching_min_ttl = 0

[[error_responses]]
code = 404
page = "/errors/404.html"
response_code = 200

[[error_responses]]
code = 500
"#;

#[test]
fn groups_error_responses_and_origin_shield_are_read_with_their_defaults() {
    let config = StackConfig::parse(VALID, "proxy.toml").expect("valid");
    assert_eq!(
        config.origin_groups,
        vec![
            OriginGroup {
                id: "site".into(),
                primary: "blue".into(),
                secondary: "green".into(),
                failover_status_codes: vec![500, 502, 503, 504],
            },
            OriginGroup {
                id: "pages".into(),
                primary: "green".into(),
                secondary: "blue".into(),
                failover_status_codes: vec![404, 403],
            },
        ]
    );
    assert_eq!(config.default_behavior.origin, "site");
    assert_eq!(
        config.default_behavior.allowed_methods,
        AllowedMethods::GetHead
    );
    assert_eq!(config.behaviors[0].origin, "pages");
    assert_eq!(
        config.error_responses,
        vec![
            ErrorResponse {
                code: 503,
                caching_min_ttl: 0,
                page: None,
                response_code: None
            },
            ErrorResponse {
                code: 404,
                caching_min_ttl: 10,
                page: Some("/errors/404.html".into()),
                response_code: Some(200)
            },
            ErrorResponse {
                code: 500,
                caching_min_ttl: 10,
                page: None,
                response_code: None
            },
        ]
    );
    assert_eq!(
        config.origins[0].origin_shield_region.as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(config.origins[1].origin_shield_region, None);
    // The file form reads back the same (validate() of a built config goes through it).
    let again = StackConfig::parse(&config.to_toml().expect("serialises"), "again.toml")
        .expect("the file form is valid");
    assert_eq!(again.origin_groups, config.origin_groups);
    assert_eq!(again.error_responses, config.error_responses);
    assert_eq!(again.origins, config.origins);
}

#[test]
fn a_config_without_them_has_none() {
    let config = StackConfig::parse(
        "name = \"plain\"\n[[origins]]\nid = \"o\"\ndomain = \"o.example.com\"\n",
        "proxy.toml",
    )
    .expect("valid");
    assert!(config.origin_groups.is_empty());
    assert!(config.error_responses.is_empty());
    assert_eq!(config.origins[0].origin_shield_region, None);
    let text = config.to_toml().expect("serialises");
    assert!(
        !text.contains("origin_groups")
            && !text.contains("error_responses")
            && !text.contains("origin_shield"),
        "{text}"
    );
}

const GROUP_MISTAKES: &str = r#"name = "edge"

[[origins]]
id = "blue"
domain = "blue.example.com"
origin_shield_region = "eu-north-1"

[[origins]]
id = "green"
domain = "green.example.com"

[[origin_groups]]
id = "blue"
primary = "blue"
secondary = "purple"

[[origin_groups]]
id = "site"
primary = "green"
secondary = "green"
failover_status_codes = [429, 503, 503, "500"]

[[origin_groups]]
id = "site"
primary = "blue"
secondary = "green"
failover_status_codes = []

[[origin_groups]]
primary = "blue"
secondary = "green"

[default_behavior]
origin = "site"

[[behaviors]]
path_pattern = "/a/*"
origin = "site"
allowed_methods = "all"

[[behaviors]]
path_pattern = "/b/*"
origin = "nowhere"
"#;

#[test]
fn every_group_and_shield_mistake_is_reported_at_its_line_and_column() {
    let found = problems(GROUP_MISTAKES);
    assert_problem(
        &found,
        "origins[0].origin_shield_region",
        6,
        24,
        "not a region CloudFront offers Origin Shield in; use one of us-east-2, us-east-1",
    );
    assert_problem(
        &found,
        "origin_groups[0].id",
        13,
        6,
        "already an origin's id",
    );
    assert_problem(
        &found,
        "origin_groups[0].secondary",
        15,
        13,
        "no origin has id \"purple\"",
    );
    assert_problem(
        &found,
        "origin_groups[1].secondary",
        20,
        13,
        "is the primary too",
    );
    assert_problem(
        &found,
        "origin_groups[1].failover_status_codes[0]",
        21,
        26,
        "429 is not a status code CloudFront fails over on; use some of 400, 403, 404, 416, 500, 502, 503, 504",
    );
    assert_problem(
        &found,
        "origin_groups[1].failover_status_codes[2]",
        21,
        36,
        "listed twice",
    );
    assert_problem(
        &found,
        "origin_groups[1].failover_status_codes[3]",
        21,
        41,
        "expected a whole number",
    );
    assert_problem(&found, "origin_groups[2].id", 24, 6, "used twice");
    assert_problem(
        &found,
        "origin_groups[2].failover_status_codes",
        23,
        1,
        "name at least one status code",
    );
    assert_problem(
        &found,
        "origin_groups[3].id",
        29,
        1,
        "missing; add `id = ...`",
    );
    // The default behaviour allows every method unless told otherwise: the problem points
    // at the behaviour's table, with the fix.
    assert_problem(
        &found,
        "default_behavior.allowed_methods",
        33,
        1,
        "set allowed_methods = \"get-head\" or \"get-head-options\"",
    );
    assert_problem(
        &found,
        "behaviors[0].allowed_methods",
        39,
        19,
        "routes to origin group \"site\" and allows every method",
    );
    assert_problem(
        &found,
        "behaviors[1].origin",
        43,
        10,
        "no origin has id \"nowhere\"",
    );
}

const ERROR_MISTAKES: &str = r#"name = "edge"

[[origins]]
id = "o"
domain = "o.example.com"

[[error_responses]]
code = 418

[[error_responses]]
code = 503
caching_min_ttl = -1

[[error_responses]]
code = 503
response_code = 200

[[error_responses]]
code = 404
page = "errors/404.html"
response_code = 302

[[error_responses]]
code = 403
page = "/403.html"

[[error_responses]]
caching_min_ttl = 5
"#;

#[test]
fn every_error_response_mistake_is_reported_at_its_line_and_column() {
    let found = problems(ERROR_MISTAKES);
    assert_problem(
        &found,
        "error_responses[0].code",
        8,
        8,
        "418 is not an error code CloudFront lets you configure; use one of 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504",
    );
    assert_problem(
        &found,
        "error_responses[1].caching_min_ttl",
        12,
        19,
        "out of range; allowed 0–31536000 seconds",
    );
    assert_problem(
        &found,
        "error_responses[2].code",
        15,
        8,
        "503 has an error response already",
    );
    assert_problem(
        &found,
        "error_responses[2].response_code",
        16,
        17,
        "only applies with a page",
    );
    assert_problem(&found, "error_responses[3].page", 20, 8, "starts with /");
    assert_problem(
        &found,
        "error_responses[3].response_code",
        21,
        17,
        "302 is not a code CloudFront answers an error page with",
    );
    assert_problem(
        &found,
        "error_responses[4].page",
        25,
        8,
        "needs response_code too",
    );
    assert_problem(
        &found,
        "error_responses[5].code",
        27,
        1,
        "missing; add `code = 503`",
    );
}
