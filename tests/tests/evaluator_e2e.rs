//! The built alarm-evaluator binary under the Runtime API emulator: datapoints put into the
//! emulator's CloudWatch, a scheduled event, and the rule states read back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use cfrp_config::{
    Comparison, EvaluatorSettings, FunctionSettings, MissingData, Rule, Severity, metrics as m,
};
use cfrp_tests::fixtures::{function_env, pairs, stat_query};
use cfrp_tests::runtime_api::{Outcome, RuntimeApiError, run_bootstrap};
use cfrp_tests::{function_binary, sdk_config, unique};

fn scheduled_event(epoch: i64) -> String {
    let time = DateTime::from_secs(epoch)
        .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
        .unwrap();
    serde_json::json!({
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/cfrp-shop-evaluate"], "detail": {}
    })
    .to_string()
}

fn rule(name: &str) -> Rule {
    Rule {
        name: name.to_string(),
        metric: Some(m::STATUS_5XX.to_string()),
        expression: None,
        statistic: "Sum".to_string(),
        period_seconds: 60,
        comparison: Comparison::GreaterThan,
        threshold: 10.0,
        datapoints_to_alarm: 2,
        evaluation_periods: 3,
        missing_data: MissingData::NotBreaching,
        severity: Severity::Critical,
        action: "check the origin".to_string(),
    }
}

fn env_for(settings: &EvaluatorSettings) -> Vec<(String, String)> {
    function_env(&settings.to_env_value().unwrap())
}

#[tokio::test]
async fn datapoints_become_rule_states_in_cloudwatch() {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    let namespace = format!("E2E/{}", unique("eval"));
    let domain = format!("{}.cloudfront.net", unique("d"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60;
    let dimension = Dimension::builder()
        .name(m::DIM_DISTRIBUTION)
        .value(&domain)
        .build();
    for (minutes_ago, errors) in [(3, 1.0), (2, 30.0), (1, 40.0)] {
        cloudwatch
            .put_metric_data()
            .namespace(&namespace)
            .metric_data(
                MetricDatum::builder()
                    .metric_name(m::STATUS_5XX)
                    .dimensions(dimension.clone())
                    .timestamp(DateTime::from_secs(now - 60 * minutes_ago))
                    .value(errors)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let settings = EvaluatorSettings {
        canary: None,
        auto_block: None,
        stack: "shop".to_string(),
        namespace: namespace.clone(),
        distribution_id: Some("E1".to_string()),
        distribution_domain: Some(domain.clone()),
        rules: vec![
            rule("Errors"),
            Rule {
                threshold: 1000.0,
                ..rule("Calm")
            },
        ],
    };
    let env = env_for(&settings);
    let env = pairs(&env);
    let run = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &env,
        &[scheduled_event(now + 5)],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let Outcome::Response(outcomes) = &run.outcomes[0] else {
        panic!("{:?}\n{}", run.outcomes, run.stdout)
    };
    assert_eq!(outcomes[0]["state"], "ALARM", "{outcomes}");
    assert_eq!(outcomes[1]["state"], "OK", "{outcomes}");
    assert!(
        run.stdout.contains("\"message\":\"rule evaluated\""),
        "{}",
        run.stdout
    );

    let state = |rule: &str| {
        stat_query(
            &format!("s{}", rule.to_lowercase()),
            &namespace,
            m::RULE_STATE,
            &[(m::DIM_RULE, rule)],
            "Maximum",
            60,
        )
    };
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(state("Errors"))
        .metric_data_queries(state("Calm"))
        .start_time(DateTime::from_secs(now - 300))
        .end_time(DateTime::from_secs(now + 60))
        .send()
        .await
        .unwrap();
    let value = |id: &str| {
        data.metric_data_results()
            .iter()
            .find(|r| r.id() == Some(id))
            .map(|r| r.values().to_vec())
            .unwrap_or_default()
    };
    assert_eq!(value("serrors"), vec![1.0]);
    assert_eq!(value("scalm"), vec![0.0]);

    // A second run one minute later reads the previous states back and logs no transition.
    let again = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &env,
        &[scheduled_event(now + 65)],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let Outcome::Response(outcomes) = &again.outcomes[0] else {
        panic!("{:?}", again.outcomes)
    };
    assert_eq!(outcomes[0]["previous"], "ALARM", "{outcomes}");
}

/// CloudFront publishes its metrics in us-east-1 only. An evaluator in eu-west-1 with a rule on
/// `CloudFront:5xxErrorRate` must read them there: with datapoints in us-east-1 and none in its
/// own region, the rule goes to ALARM (it saw no data before the fix).
#[tokio::test]
async fn a_rule_on_cloudfront_metrics_reads_them_in_us_east_1_from_another_region() {
    let us_east_1 = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    let eu_west_1 = aws_sdk_cloudwatch::Client::new(
        &sdk_config()
            .await
            .to_builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build(),
    );
    let distribution_id = unique("E").replace('-', "");
    let namespace = format!("E2E/{}", unique("eval-cf"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60;
    for minutes_ago in [3, 2, 1] {
        us_east_1
            .put_metric_data()
            .namespace(m::CLOUDFRONT_NAMESPACE)
            .metric_data(
                MetricDatum::builder()
                    .metric_name("5xxErrorRate")
                    .dimensions(
                        Dimension::builder()
                            .name("DistributionId")
                            .value(&distribution_id)
                            .build(),
                    )
                    .dimensions(Dimension::builder().name("Region").value("Global").build())
                    .timestamp(DateTime::from_secs(now - 60 * minutes_ago))
                    .value(8.0)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let settings = EvaluatorSettings {
        canary: None,
        auto_block: None,
        stack: "shop".to_string(),
        namespace: namespace.clone(),
        distribution_id: Some(distribution_id),
        distribution_domain: Some("d1.cloudfront.net".to_string()),
        rules: vec![Rule {
            metric: Some("CloudFront:5xxErrorRate".to_string()),
            statistic: "Average".to_string(),
            threshold: 5.0,
            ..rule("EdgeErrors")
        }],
    };
    let mut env = env_for(&settings);
    for (key, value) in &mut env {
        if key == "AWS_REGION" {
            *value = "eu-west-1".to_string();
        }
    }
    let run = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &pairs(&env),
        &[scheduled_event(now + 5)],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let Outcome::Response(outcomes) = &run.outcomes[0] else {
        panic!("{:?}\n{}", run.outcomes, run.stdout)
    };
    assert_eq!(outcomes[0]["state"], "ALARM", "{outcomes}\n{}", run.stdout);
    // The rule's state is published in the function's own region, where its alarm is.
    let data = eu_west_1
        .get_metric_data()
        .metric_data_queries(stat_query(
            "state",
            &namespace,
            m::RULE_STATE,
            &[(m::DIM_RULE, "EdgeErrors")],
            "Maximum",
            60,
        ))
        .start_time(DateTime::from_secs(now - 300))
        .end_time(DateTime::from_secs(now + 60))
        .send()
        .await
        .unwrap();
    let states: Vec<f64> = data
        .metric_data_results()
        .iter()
        .flat_map(|r| r.values().to_vec())
        .collect();
    assert_eq!(states, vec![1.0]);
}

#[tokio::test]
async fn an_unreachable_cloudwatch_fails_the_invocation_with_a_reason() {
    let settings = EvaluatorSettings {
        canary: None,
        auto_block: None,
        stack: "shop".to_string(),
        namespace: format!("E2E/{}", unique("down")),
        distribution_id: None,
        distribution_domain: None,
        rules: vec![rule("Errors")],
    };
    let mut env = env_for(&settings);
    env[1].1 = "http://127.0.0.1:9".to_string();
    let env = pairs(&env);
    let result = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &env,
        &[scheduled_event(1_800_000_000)],
        Duration::from_secs(90),
    )
    .await;
    match result {
        Ok(run) => {
            let Outcome::Error(error) = &run.outcomes[0] else {
                panic!("{:?}", run.outcomes)
            };
            assert!(error.to_string().contains("GetMetricData"), "{error}");
            assert!(
                run.stdout.contains("no rule state written"),
                "{}",
                run.stdout
            );
        }
        Err(RuntimeApiError::Timeout { .. }) => {
            panic!("the function did not give up on an unreachable CloudWatch in time")
        }
        Err(other) => panic!("{other}"),
    }
}

/// After `deployer up`, the deployed evaluator (run with the environment the deployer gave it)
/// turns 5xx datapoints into an ALARM state, and the CloudWatch alarm the deployer made for
/// that rule watches exactly that state metric and notifies the stack's SNS topic.
#[tokio::test]
async fn after_deployer_up_the_rule_alarm_watches_what_the_evaluator_writes() {
    let deployed = cfrp_tests::deploy::deploy_example("ev").await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let env = deployed.function_env("alarm-evaluator").await;
    let settings = env
        .iter()
        .find(|(k, _)| k == "CFRP_SETTINGS")
        .map(|(_, v)| EvaluatorSettings::from_env_value(v).unwrap())
        .unwrap();
    assert_eq!(
        settings.distribution_domain.as_deref(),
        Some(deployed.domain.as_str())
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60;
    let dimension = Dimension::builder()
        .name(m::DIM_DISTRIBUTION)
        .value(&deployed.domain)
        .build();
    for minutes_ago in 1..=5 {
        cloudwatch
            .put_metric_data()
            .namespace(&settings.namespace)
            .metric_data(
                MetricDatum::builder()
                    .metric_name(m::ERROR_RATE_5XX)
                    .dimensions(dimension.clone())
                    .timestamp(DateTime::from_secs(now - 60 * minutes_ago))
                    .value(5.0)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let run = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &pairs(&env),
        &[scheduled_event(now + 5)],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let Outcome::Response(outcomes) = &run.outcomes[0] else {
        panic!("{:?}\n{}", run.outcomes, run.stdout)
    };
    let verdict = outcomes
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "High5xxErrorRate")
        .unwrap_or_else(|| panic!("{outcomes}"));
    assert_eq!(verdict["state"], "ALARM", "{verdict}");

    let alarms = cloudwatch
        .describe_alarms()
        .alarm_names(deployed.resource("rule-High5xxErrorRate"))
        .send()
        .await
        .unwrap();
    let alarm = &alarms.metric_alarms()[0];
    let topic = format!(
        "arn:aws:sns:{}:123456789012:{}",
        deployed.region,
        deployed.resource("alarms")
    );
    assert_eq!(alarm.alarm_actions(), std::slice::from_ref(&topic));
    assert_eq!(alarm.ok_actions(), std::slice::from_ref(&topic));
    let sns = aws_sdk_sns::Client::new(&deployed.config);
    sns.get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    // Read the alarm's own state query back: it sees the evaluator's ALARM (1).
    let state_query = alarm
        .metrics()
        .iter()
        .find(|q| q.metric_stat().is_some())
        .cloned()
        .unwrap();
    let in_alarm = alarm.metrics().iter().find_map(|q| q.expression()).unwrap();
    assert_eq!(in_alarm, "IF(state == 1, 1, 0)");
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(
            aws_sdk_cloudwatch::types::MetricDataQuery::builder()
                .id("state")
                .set_metric_stat(state_query.metric_stat().cloned())
                .return_data(true)
                .build(),
        )
        .start_time(DateTime::from_secs(now - 300))
        .end_time(DateTime::from_secs(now + 60))
        .send()
        .await
        .unwrap();
    let values: Vec<f64> = data
        .metric_data_results()
        .iter()
        .flat_map(|r| r.values().to_vec())
        .collect();
    assert_eq!(values, vec![1.0], "{data:?}");
    assert!(
        alarm.threshold() == Some(1.0)
            && alarm.comparison_operator().map(|c| c.as_str())
                == Some("GreaterThanOrEqualToThreshold")
    );
}
