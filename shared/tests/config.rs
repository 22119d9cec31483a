//! The config crate seen from outside: whole files in, a config or one report of every
//! problem out.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::{
    CachingMode, ConfigError, Field, GeoMode, OriginProtocol, PriceClass, StackConfig, StreamMode,
};

const EXAMPLE: &str = include_str!("../examples/proxy.toml");
const EVERY_MISTAKE: &str = include_str!("fixtures/every-mistake.toml");

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

#[test]
fn the_example_is_valid_and_keeps_every_setting() {
    let config = StackConfig::parse(EXAMPLE, "proxy.toml").unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.name, "shop");
    assert_eq!(config.region, "eu-west-1");
    assert_eq!(config.distribution.price_class, PriceClass::PriceClass100);
    assert_eq!(config.distribution.geo_restriction.mode, GeoMode::Deny);
    assert_eq!(config.origins.len(), 2);
    assert_eq!(config.origins[1].path, "/v1");
    assert_eq!(config.origins[1].protocol, OriginProtocol::HttpsOnly);
    assert_eq!(config.behaviors[1].caching, CachingMode::Custom);
    assert_eq!(
        config.behaviors[1].ttl.as_ref().map(|t| t.default),
        Some(86_400)
    );
    assert_eq!(config.logging.stream_mode, StreamMode::OnDemand);
    assert_eq!(config.logging.fields, Field::default_set());
    assert_eq!(config.metrics.namespace, "CloudFrontProxy/shop");
    let errors: Vec<(u16, u64)> = config
        .error_responses
        .iter()
        .map(|e| (e.code, e.caching_min_ttl))
        .collect();
    assert_eq!(errors, [(500, 0), (502, 0)]);
    assert!(config.origin_groups.is_empty());
    assert_eq!(config.metrics.app_headers, vec!["x-operation-type"]);
    // Built-in rules plus the file's own.
    assert!(config.alarms.rules.iter().any(|r| r.name == "HighLatency"));
    assert!(
        config
            .alarms
            .rules
            .iter()
            .any(|r| r.name == "SlowOrigin" && r.threshold == 800.0)
    );
    assert_eq!(
        config.manuscripts.as_ref().map(|m| m.bucket.as_str()),
        Some("shop-manuscripts")
    );
}

#[test]
fn a_minimal_file_gets_the_reverse_proxy_defaults() {
    let config = StackConfig::parse(
        "name = \"api\"\n[[origins]]\nid = \"o\"\ndomain = \"api.example.com\"\n",
        "p.toml",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let origin = &config.origins[0];
    assert_eq!(origin.protocol, OriginProtocol::HttpsOnly);
    assert_eq!(
        (
            origin.https_port,
            origin.read_timeout_seconds,
            origin.keepalive_timeout_seconds
        ),
        (443, 30, 5)
    );
    assert_eq!(origin.tls_versions, vec![cfrp_config::OriginTls::TlsV1_2]);
    let behavior = &config.default_behavior;
    assert_eq!(
        behavior.viewer_protocol,
        cfrp_config::ViewerProtocol::RedirectToHttps
    );
    assert_eq!(behavior.allowed_methods, cfrp_config::AllowedMethods::All);
    assert_eq!(behavior.cached_methods, cfrp_config::CachedMethods::GetHead);
    assert_eq!(
        behavior.origin_request,
        cfrp_config::OriginRequest::AllViewerExceptHost
    );
    assert!(behavior.compress);
    assert_eq!(
        config.distribution.http_version,
        cfrp_config::HttpVersion::Http2And3
    );
    assert!(config.distribution.ipv6);
    assert_eq!(config.distribution.price_class, PriceClass::PriceClass100);
    assert_eq!(config.distribution.minimum_viewer_tls, "TLSv1.2_2021");
}

#[test]
fn every_kind_of_mistake_is_reported_at_once_with_line_and_column() {
    let found = problems(EVERY_MISTAKE);
    let expect = [
        ("name", 1, 8, "lower-case"),
        ("region", 2, 10, "AWS region"),
        ("colour", 3, 1, "unknown key `colour`"),
        ("distribution.price_class", 6, 15, "PriceClass_100"),
        ("distribution.aliases[0]", 7, 12, "DNS name"),
        ("distribution.certificate_arn", 8, 19, "us-east-1"),
        ("distribution.minimum_viewer_tls", 9, 22, "TLSv1.2_2021"),
        (
            "distribution.geo_restriction.countries[1]",
            13,
            20,
            "ISO 3166-1",
        ),
        (
            "distribution.geo_restriction.countries[2]",
            13,
            26,
            "ISO 3166-1",
        ),
        ("origins[0].domain", 17, 10, "DNS name"),
        ("origins[0].path", 18, 8, "starts with /"),
        ("origins[0].protocol", 19, 12, "https-only"),
        ("origins[0].https_port", 20, 14, "1–65535"),
        ("origins[0].read_timeout_seconds", 21, 24, "1–180"),
        (
            "origins[0].keepalive_timeout_seconds",
            22,
            29,
            "expected a whole number, found a string",
        ),
        ("origins[0].tls_versions[0]", 23, 17, "TLSv1.2"),
        (
            "default_behavior.origin",
            26,
            10,
            "no origin has id \"missing-origin\"",
        ),
        ("default_behavior.caching", 27, 11, "disabled"),
        ("behaviors[0].path_pattern", 30, 16, "default behaviour"),
        ("behaviors[0].ttl", 31, 7, "min (100) <= default (10)"),
        ("logging.fields[2]", 34, 32, "did you mean \"sc-status\""),
        ("logging.fields[4]", 34, 59, "listed twice"),
        ("logging.sampling_rate", 35, 17, "1–100"),
        ("metrics.namespace", 38, 13, "AWS/"),
        ("alarms.email", 41, 9, "e-mail"),
        ("alarms.schedule", 42, 12, "rate(1 minute)"),
        ("alarms.rules[0].metric", 46, 10, "not a metric"),
        (
            "alarms.rules[0].expression",
            47,
            14,
            "\"Nope\" is not a metric",
        ),
        ("alarms.rules[0].statistic", 48, 13, "percentile"),
        ("alarms.rules[0].threshold", 49, 13, "expected a number"),
        ("manuscripts.bucket", 54, 10, "S3 bucket name"),
        ("functions.log_retention_days", 58, 22, "retention"),
        ("functions.memory_mb", 59, 13, "128–10240"),
        ("encryption.kms_key_arn", 62, 15, "not an alias"),
    ];
    for (field, line, column, words) in expect {
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
    // Problems without a single position still name their field.
    assert!(
        found
            .iter()
            .any(|(f, l, c, _)| f == "manuscripts.key_prefix" && *l == 55 && *c == 14),
        "{found:?}"
    );
    for field in [
        "alarms.rules[0]",
        "alarms.rules[0].datapoints_to_alarm",
        "logging.fields",
    ] {
        assert!(
            found.iter().any(|(f, ..)| f == field),
            "no problem for {field}: {found:?}"
        );
    }
}

#[test]
fn the_report_renders_file_line_column_field_and_message() {
    let err = StackConfig::parse(EVERY_MISTAKE, "proxy.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.starts_with("proxy.toml has "), "{err}");
    assert!(
        err.contains(
            "proxy.toml:20:14: origins[0].https_port: 70000 is out of range; allowed 1–65535"
        ),
        "{err}"
    );
}

#[test]
fn syntax_errors_point_at_the_spot() {
    match StackConfig::parse("name = \"a\"\n[[origins]\n", "p.toml") {
        Err(ConfigError::Syntax { location, .. }) => assert_eq!(location.line, 2),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn missing_required_keys_are_named() {
    let found = problems("[[origins]]\nport = 1\n");
    let fields: Vec<&str> = found.iter().map(|p| p.0.as_str()).collect();
    assert!(fields.contains(&"name"), "{found:?}");
    assert!(fields.contains(&"origins[0].id"), "{found:?}");
    assert!(fields.contains(&"origins[0].domain"), "{found:?}");
    assert!(fields.contains(&"origins[0].port"), "{found:?}");
}

#[test]
fn the_file_form_round_trips() {
    let config = StackConfig::parse(EXAMPLE, "proxy.toml").unwrap_or_else(|err| panic!("{err}"));
    let text = config.to_toml().unwrap_or_else(|err| panic!("{err}"));
    let again =
        StackConfig::parse(&text, "written.toml").unwrap_or_else(|err| panic!("{err}\n{text}"));
    // Built-in rules are written out, so the written file turns `default_rules` off.
    let mut expected = config.clone();
    expected.alarms.default_rules = false;
    assert_eq!(again, expected);
}

#[test]
fn the_one_command_form_is_valid() {
    let config = StackConfig::for_origin("myapp", "us-east-1", "myapp.example.com");
    config.validate().unwrap_or_else(|err| panic!("{err}"));
    let mut bad = config.clone();
    bad.origins[0].domain = "not a domain".to_string();
    assert!(bad.validate().is_err());
}

fn rule_names(config: &StackConfig) -> Vec<&str> {
    config
        .alarms
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect()
}

#[test]
fn built_in_rules_follow_caching_and_the_throughput_baseline() {
    let minimal = "name = \"api\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n";
    let api = StackConfig::parse(minimal, "proxy.toml").unwrap();
    assert_eq!(
        rule_names(&api),
        [
            "HighLatency",
            "LowSuccessRate",
            "High5xxErrorRate",
            "HighThreatClients",
            "ThroughputDegradation"
        ],
        "nothing caches, so no cache-hit rule"
    );
    let throughput = api
        .alarms
        .rules
        .iter()
        .find(|r| r.name == "ThroughputDegradation")
        .unwrap();
    assert_eq!(throughput.expression.as_deref(), Some("Requests / 60"));
    assert_eq!(throughput.threshold, 1.0);

    let example = StackConfig::parse(EXAMPLE, "proxy.toml").unwrap();
    assert!(
        rule_names(&example).contains(&"LowCacheHitRatio"),
        "/static/* caches"
    );

    let custom = format!("{minimal}[alarms]\nthroughput_baseline_rps = 25\n");
    let custom = StackConfig::parse(&custom, "proxy.toml").unwrap();
    let throughput = custom
        .alarms
        .rules
        .iter()
        .find(|r| r.name == "ThroughputDegradation")
        .unwrap();
    assert_eq!(throughput.threshold, 25.0);

    let off = format!("{minimal}[alarms]\nthroughput_baseline_rps = 0\n");
    let off = StackConfig::parse(&off, "proxy.toml").unwrap();
    assert!(!rule_names(&off).contains(&"ThroughputDegradation"));

    let negative = format!("{minimal}[alarms]\nthroughput_baseline_rps = -2.5\n");
    let found = problems(&negative);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alarms.throughput_baseline_rps");
    assert!(found[0].3.contains("requests per second"), "{found:?}");
}

#[test]
fn pipeline_alarms_default_on_and_take_their_thresholds_with_ranges() {
    let minimal = "name = \"api\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n";
    let defaults = StackConfig::parse(minimal, "proxy.toml").unwrap();
    assert_eq!(
        defaults.alarms.pipeline,
        cfrp_config::PipelineAlarms::default()
    );
    assert!(defaults.alarms.pipeline.enabled);

    let set = format!(
        "{minimal}[alarms.pipeline]\niterator_age_seconds = 120\nfunction_errors = 3\nmalformed_records = 0\n"
    );
    let set = StackConfig::parse(&set, "proxy.toml").unwrap();
    assert_eq!(set.alarms.pipeline.iterator_age_seconds, 120);
    assert_eq!(set.alarms.pipeline.function_errors, 3);
    assert_eq!(set.alarms.pipeline.malformed_records, 0);

    let off = format!("{minimal}[alarms.pipeline]\nenabled = false\n");
    assert!(
        !StackConfig::parse(&off, "proxy.toml")
            .unwrap()
            .alarms
            .pipeline
            .enabled
    );

    let bad = format!("{minimal}[alarms.pipeline]\niterator_age_seconds = 5\nqueue_depth = 1\n");
    let found = problems(&bad);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "alarms.pipeline.iterator_age_seconds");
    assert_eq!((found[0].1, found[0].2), (6, 24), "{found:?}");
    assert!(found[0].3.contains("60–86400 seconds"), "{found:?}");
    assert_eq!(found[1].0, "alarms.pipeline.queue_depth", "{found:?}");
}

#[test]
fn additional_metrics_are_off_by_default_on_when_asked_and_a_wrong_type_is_located() {
    let base = "name = \"m\"\n\n[[origins]]\nid = \"o\"\ndomain = \"app.example.com\"\n";
    let off = StackConfig::parse(base, "proxy.toml").unwrap_or_else(|err| panic!("{err}"));
    assert!(!off.distribution.additional_metrics);
    let on = format!("{base}\n[distribution]\nadditional_metrics = true\n");
    let on = StackConfig::parse(&on, "proxy.toml").unwrap_or_else(|err| panic!("{err}"));
    assert!(on.distribution.additional_metrics);
    // The file form keeps it, and leaves it out when off.
    assert!(on.to_toml().unwrap().contains("additional_metrics = true"));
    assert!(!off.to_toml().unwrap().contains("additional_metrics"));
    let wrong = format!("{base}\n[distribution]\nadditional_metrics = \"yes\"\n");
    let found = problems(&wrong);
    assert_eq!(found.len(), 1, "{found:?}");
    let (field, line, column, message) = &found[0];
    assert_eq!(field, "distribution.additional_metrics");
    assert_eq!((*line, *column), (8, 22));
    assert!(message.contains("true or false"), "{message}");
}

#[test]
fn staging_canary_thresholds_default_parse_round_trip_and_are_located_when_wrong() {
    let minimal = "name = \"api\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n";
    let defaults = StackConfig::parse(minimal, "proxy.toml").unwrap();
    assert_eq!(defaults.staging.canary, cfrp_config::Canary::default());
    assert!(!defaults.to_toml().unwrap().contains("[staging"));

    let set = format!(
        "{minimal}[staging.canary]\nerror_rate_margin = 2\nlatency_p95_factor = 1.25\nhit_ratio_margin = 5.5\nmin_requests = 50\nevaluation_minutes = 10\ndatapoints_to_alarm = 4\n"
    );
    let set = StackConfig::parse(&set, "proxy.toml").unwrap();
    let c = &set.staging.canary;
    assert_eq!(c.error_rate_margin, 2.0);
    assert_eq!(c.latency_p95_factor, 1.25);
    assert_eq!(c.hit_ratio_margin, 5.5);
    assert_eq!(
        (c.min_requests, c.evaluation_minutes, c.datapoints_to_alarm),
        (50, 10, 4)
    );
    // The file form `init` writes reads back the same.
    let again = StackConfig::parse(&set.to_toml().unwrap(), "proxy.toml").unwrap();
    assert_eq!(again.staging, set.staging);
    assert!(set.validate().is_ok());

    let bad = format!(
        "{minimal}[staging.canary]\nlatency_p95_factor = 0.5\nmin_requests = 0\nevaluation_minutes = 2\ndatapoints_to_alarm = 3\nmargin = 1\n"
    );
    let found = problems(&bad);
    assert_eq!(found.len(), 4, "{found:?}");
    let of = |field: &str| {
        found
            .iter()
            .find(|p| p.0 == format!("staging.canary.{field}"))
            .unwrap_or_else(|| panic!("no problem for {field}: {found:?}"))
    };
    assert_eq!(
        (of("latency_p95_factor").1, of("latency_p95_factor").2),
        (6, 22)
    );
    assert!(
        of("latency_p95_factor").3.contains("allowed 1–100"),
        "{found:?}"
    );
    assert!(
        of("min_requests").3.contains("0 is out of range"),
        "{found:?}"
    );
    assert!(
        of("datapoints_to_alarm")
            .3
            .contains("more than evaluation_minutes (2)"),
        "{found:?}"
    );
    of("margin");

    let taken = format!(
        "{minimal}[[alarms.rules]]\nname = \"canary-5xx\"\nmetric = \"Status5xx\"\nstatistic = \"Sum\"\ncomparison = \">\"\nthreshold = 1\n"
    );
    let found = problems(&taken);
    assert!(
        found.iter().any(|p| p.3.contains("built-in canary rule")),
        "{found:?}"
    );
}
