//! Function settings: what the deployer writes into the environment comes back identical and
//! re-validated at function init.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::{
    AnalyserSettings, ConfigError, EvaluatorSettings, FunctionSettings, InvalidatorSettings,
    StackConfig,
};

fn example() -> StackConfig {
    StackConfig::parse(include_str!("../examples/proxy.toml"), "proxy.toml")
        .unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn settings_round_trip_through_the_environment_value() {
    let config = example();
    let analyser = config.analyser_settings();
    let value = analyser
        .to_env_value()
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        AnalyserSettings::from_env_value(&value).unwrap_or_else(|err| panic!("{err}")),
        analyser
    );

    let evaluator = config.evaluator_settings(Some("E123"), Some("d111111abcdef8.cloudfront.net"));
    let value = evaluator
        .to_env_value()
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        EvaluatorSettings::from_env_value(&value).unwrap_or_else(|err| panic!("{err}")),
        evaluator
    );

    let invalidator = config
        .invalidator_settings("E123")
        .unwrap_or_else(|| panic!("manuscripts configured"));
    let value = invalidator
        .to_env_value()
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        InvalidatorSettings::from_env_value(&value).unwrap_or_else(|err| panic!("{err}")),
        invalidator
    );
}

#[test]
fn tampered_settings_fail_validation_at_init() {
    let mut analyser = example().analyser_settings();
    analyser.namespace = "AWS/Stolen".to_string();
    let value = serde_json::to_string(&analyser).unwrap_or_default();
    match AnalyserSettings::from_env_value(&value) {
        Err(ConfigError::Settings { message, .. }) => {
            assert!(message.contains("namespace"), "{message}")
        }
        other => panic!("expected a settings error, got {other:?}"),
    }
    assert!(AnalyserSettings::from_env_value("{\"stack\":1}").is_err());
}

#[test]
fn settings_larger_than_lambdas_environment_limit_are_refused() {
    let mut evaluator = example().evaluator_settings(None, None);
    let rule = evaluator.rules[0].clone();
    evaluator.rules = (0..100)
        .map(|i| {
            let mut r = rule.clone();
            r.name = format!("Rule{i}");
            r
        })
        .collect();
    let err = evaluator
        .to_env_value()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("4 KB"), "{err}");
}
