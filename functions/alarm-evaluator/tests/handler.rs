//! The evaluator on the sample scheduled event (events/eventbridge-schedule.json, 22:16:00Z,
//! i.e. epoch 1700000160), with metrics served from memory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use cfrp_alarm_evaluator::Evaluator;
use cfrp_alarm_evaluator::evaluate::State;
use cfrp_alarm_evaluator::port::MemoryPort;
use cfrp_config::{Comparison, EvaluatorSettings, MissingData, Rule, Severity};

const END: i64 = 1_700_000_160_000;

fn rule(
    name: &str,
    metric: Option<&str>,
    expression: Option<&str>,
    comparison: Comparison,
    threshold: f64,
) -> Rule {
    Rule {
        name: name.to_string(),
        metric: metric.map(str::to_string),
        expression: expression.map(str::to_string),
        statistic: "Sum".to_string(),
        period_seconds: 60,
        comparison,
        threshold,
        datapoints_to_alarm: 2,
        evaluation_periods: 3,
        missing_data: MissingData::Missing,
        severity: Severity::Critical,
        action: "page someone".to_string(),
    }
}

fn settings() -> EvaluatorSettings {
    EvaluatorSettings {
        canary: None,
        auto_block: None,
        stack: "shop".to_string(),
        namespace: "CloudFrontProxy/shop".to_string(),
        distribution_id: Some("E1".to_string()),
        distribution_domain: Some("d1.cloudfront.net".to_string()),
        rules: vec![
            rule(
                "Busy",
                Some("Requests"),
                None,
                Comparison::GreaterThan,
                100.0,
            ),
            rule(
                "LowSuccess",
                None,
                Some("100 * (1 - Status5xx / Requests)"),
                Comparison::LessThan,
                99.5,
            ),
            rule(
                "Quiet",
                Some("Status4xx"),
                None,
                Comparison::GreaterThan,
                0.0,
            ),
        ],
    }
}

fn event() -> CloudWatchEvent {
    serde_json::from_str(cfrp_events::EVENTBRIDGE_SCHEDULE).unwrap()
}

fn port() -> MemoryPort {
    let mut port = MemoryPort::default();
    let minute = |k: i64| END - k * 60_000;
    port.results
        .insert("r0".into(), vec![(minute(2), 150.0), (minute(1), 200.0)]);
    // Expression inputs: Status5xx (m0) and Requests (m1).
    port.results.insert(
        "r1m0".into(),
        vec![(minute(3), 0.0), (minute(2), 2.0), (minute(1), 5.0)],
    );
    port.results.insert(
        "r1m1".into(),
        vec![(minute(3), 100.0), (minute(2), 100.0), (minute(1), 200.0)],
    );
    port.results.insert("s0".into(), vec![(minute(1), 0.0)]);
    port
}

#[tokio::test]
async fn rules_get_verdicts_states_are_published_and_transitions_known() {
    let evaluator = Evaluator {
        settings: settings(),
        port: port(),
    };
    let outcomes = evaluator.evaluate(&event()).await.unwrap();
    assert_eq!(outcomes[0].state, State::Alarm);
    assert_eq!(outcomes[0].previous, Some(State::Ok));
    assert_eq!(outcomes[0].values, vec![None, Some(150.0), Some(200.0)]);
    // 100, 98, 97.5 percent: two of three below 99.5.
    assert_eq!(outcomes[1].state, State::Alarm);
    assert_eq!(
        outcomes[1].values,
        vec![Some(100.0), Some(98.0), Some(97.5)]
    );
    assert_eq!(outcomes[2].state, State::InsufficientData);
    let published = evaluator.port.published.lock().unwrap();
    assert_eq!(published.len(), 3);
    assert!(published.iter().all(|s| s.timestamp_ms == END));
    assert_eq!(published[0].state, State::Alarm);
}

#[tokio::test]
async fn an_unreachable_cloudwatch_writes_no_state() {
    let evaluator = Evaluator {
        settings: settings(),
        port: MemoryPort {
            fail_fetch: true,
            ..MemoryPort::default()
        },
    };
    let err = evaluator.evaluate(&event()).await.unwrap_err();
    assert!(err.to_string().contains("GetMetricData"), "{err}");
    assert!(evaluator.port.published.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_malformed_scheduled_event_is_refused_with_a_reason() {
    let evaluator = Evaluator {
        settings: settings(),
        port: port(),
    };
    let mut wrong = event();
    wrong.detail_type = Some("Object Created".to_string());
    let err = evaluator.evaluate(&wrong).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not an EventBridge scheduled event"),
        "{err}"
    );
    assert!(evaluator.port.published.lock().unwrap().is_empty());
    assert!(serde_json::from_str::<CloudWatchEvent>("{\"time\": \"yesterday\"}").is_err());
}

#[tokio::test]
async fn with_a_staging_distribution_the_canary_rules_are_published_after_the_others() {
    let mut settings = settings();
    settings.canary = Some(cfrp_config::canary::CanarySettings {
        staging_domain: "d2.cloudfront.net".to_string(),
        thresholds: cfrp_config::Canary::default(),
    });
    let mut port = port();
    let minutes = |v: f64| (1..=5).map(|k| (END - k * 60_000, v)).collect::<Vec<_>>();
    // Requests, Status5xx, CacheHits, p95 of the primary (cp) and of staging (cs): staging
    // fails 8 % of 100 requests a minute, the primary 1 % of 1000.
    for (id, v) in [
        ("cp0", 1000.0),
        ("cp1", 10.0),
        ("cp2", 0.0),
        ("cp3", 120.0),
        ("cs0", 100.0),
        ("cs1", 8.0),
        ("cs2", 0.0),
        ("cs3", 120.0),
    ] {
        port.results.insert(id.into(), minutes(v));
    }
    let evaluator = Evaluator { settings, port };
    let outcomes = evaluator.evaluate(&event()).await.unwrap();
    let names: Vec<&str> = outcomes.iter().map(|o| o.rule.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Busy",
            "LowSuccess",
            "Quiet",
            "canary-5xx",
            "canary-latency",
            "canary-hit-ratio"
        ]
    );
    assert_eq!(outcomes[3].state, State::Alarm);
    assert_eq!(outcomes[4].state, State::Ok);
    let published = evaluator.port.published.lock().unwrap();
    assert_eq!(published.len(), 6);
    assert_eq!(published[3].rule, "canary-5xx");
    assert_eq!(published[3].state, State::Alarm);
    assert!(published.iter().all(|s| s.timestamp_ms == END));
}
