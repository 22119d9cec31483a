#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! WAF's own metrics of the stack's web ACL, against the emulator with the real binaries: a
//! stack in eu-west-1 with `[waf]` and an alarm rule on `WAF:BlockedRequests`; `AWS/WAFV2`
//! datums put in us-east-1 only, with the dimensions WAF gives a CLOUDFRONT-scope web ACL
//! (`WebACL` = its metric name, `Rule` = a rule's metric name or `ALL`, no `Region`). Then:
//! `deployer monitor` shows the web ACL's totals and its most blocking rules (JSON and text);
//! the dashboard `up` wrote has the WAF widgets in us-east-1; and the deployed evaluator,
//! running in eu-west-1 with the environment the deployer gave it, puts the rule in ALARM.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use cfrp_config::metrics as m;
use cfrp_tests::deploy::{deployed, deployer, down, stack_file, up};
use cfrp_tests::fixtures::pairs;
use cfrp_tests::function_binary;
use cfrp_tests::runtime_api::{Outcome, run_bootstrap};
use serde_json::Value;

const WAF: &str = r#"
[waf]

[[waf.managed_rule_groups]]
name = "AWSManagedRulesCommonRuleSet"
mode = "count"

[[alarms.rules]]
name = "ManyBlocked"
metric = "WAF:BlockedRequests"
statistic = "Sum"
comparison = ">"
threshold = 50
datapoints_to_alarm = 2
evaluation_periods = 3
severity = "WARNING"
action = "Look at the web ACL's top blocking rules (deployer monitor)"
"#;

fn waf_datum(metric: &str, web_acl: &str, rule: &str, minute_s: i64, value: f64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(metric)
        .dimensions(Dimension::builder().name("Rule").value(rule).build())
        .dimensions(Dimension::builder().name("WebACL").value(web_acl).build())
        .timestamp(DateTime::from_secs(minute_s))
        .unit(StandardUnit::Count)
        .value(value)
        .build()
}

fn scheduled_event(epoch: i64) -> String {
    let time = DateTime::from_secs(epoch)
        .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
        .unwrap();
    serde_json::json!({
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/evaluate"], "detail": {}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn waf_metrics_in_us_east_1_reach_monitor_the_dashboard_and_an_alarm_rule() {
    let name: String = cfrp_tests::unique("wafm").chars().take(32).collect();
    let stack = stack_file(&name, |t| format!("{t}\n{WAF}"));
    let report = up(&stack);
    let deployed = deployed(stack, &report).await;
    assert_eq!(deployed.region, "eu-west-1");
    let web_acl = deployed.resource("web-acl");
    let config = deployed.stack.path.to_string_lossy().to_string();

    // Before WAF published anything: the WAF section says so, in JSON and text.
    let empty =
        deployer(&["--config", &config, "--output", "json", "monitor", "--once"]).expect_code(0);
    let first: Value = serde_json::from_str(empty.stdout.trim()).unwrap();
    assert_eq!(first["waf"]["web_acl"], web_acl.as_str(), "{first:#}");
    assert_eq!(first["waf"]["minute"], Value::Null);

    // Three minutes of WAF traffic, in us-east-1 only: 600 requests a minute, 60 blocked
    // (45 by the rate rule, 15 by the block list), 12 counted by the count-mode group.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60;
    let mut data = Vec::new();
    for minutes_ago in 1..=3 {
        let minute = now - 60 * minutes_ago;
        data.extend([
            waf_datum(m::WAF_ALLOWED, &web_acl, "ALL", minute, 540.0),
            waf_datum(m::WAF_BLOCKED, &web_acl, "ALL", minute, 60.0),
            waf_datum(m::WAF_COUNTED, &web_acl, "ALL", minute, 12.0),
            waf_datum(m::WAF_BLOCKED, &web_acl, "rate-limit", minute, 45.0),
            waf_datum(m::WAF_BLOCKED, &web_acl, "block-list", minute, 15.0),
            waf_datum(
                m::WAF_COUNTED,
                &web_acl,
                "AWSManagedRulesCommonRuleSet",
                minute,
                12.0,
            ),
        ]);
    }
    let us_east_1 = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&deployed.config)
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    us_east_1
        .put_metric_data()
        .namespace(m::WAF_NAMESPACE)
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();

    // ---- monitor, JSON: the totals of the latest minute and the top rules over the window
    let run =
        deployer(&["--config", &config, "--output", "json", "monitor", "--once"]).expect_code(0);
    let snapshot: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let waf = &snapshot["waf"];
    assert!(waf["minute"].is_string(), "{waf:#}");
    assert_eq!(waf["allowed_per_second"]["now"], 9.0, "{waf:#}");
    assert_eq!(waf["blocked_per_second"]["now"], 1.0, "{waf:#}");
    assert_eq!(waf["counted_per_second"]["now"], 0.2, "{waf:#}");
    assert_eq!(waf["blocked_percent"]["now"], 10.0, "{waf:#}");
    let top: Vec<(&str, f64, f64)> = waf["top_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap(),
                r["blocked"].as_f64().unwrap(),
                r["counted"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        [
            ("rate-limit", 135.0, 0.0),
            ("block-list", 45.0, 0.0),
            ("AWSManagedRulesCommonRuleSet", 0.0, 36.0)
        ],
        "{waf:#}"
    );
    assert_eq!(waf["top_rules"][0]["percent_of_blocked"], 75.0);

    // ---- monitor, text: the same values
    let text = deployer(&["--config", &config, "monitor", "--once"]).expect_code(0);
    assert!(
        text.stdout.contains(&format!(
            "WAF (AWS/WAFV2, us-east-1) · web ACL {web_acl}, minute"
        )),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(
            "rate-limit 135 blocked (75.0 %)  block-list 45 blocked (25.0 %)  AWSManagedRulesCommonRuleSet 36 counted"
        ),
        "{}",
        text.stdout
    );

    // ---- the dashboard `up` wrote carries the web ACL's widgets, read in us-east-1
    let regional = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let dashboard = regional
        .get_dashboard()
        .dashboard_name(deployed.resource("dashboard"))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(dashboard.dashboard_body().unwrap()).unwrap();
    let waf_widgets: Vec<&Value> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.to_string().contains("AWS/WAFV2"))
        .collect();
    assert_eq!(waf_widgets.len(), 3, "{body:#}");
    assert!(
        waf_widgets
            .iter()
            .all(|w| w["properties"]["region"] == "us-east-1")
    );
    assert!(waf_widgets[0].to_string().contains(&web_acl));

    // ---- the deployed evaluator, in eu-west-1, reads the rule's metric in us-east-1
    let env = deployed.function_env("alarm-evaluator").await;
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
    let rule = outcomes
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "ManyBlocked")
        .unwrap_or_else(|| panic!("{outcomes:#}"));
    assert_eq!(rule["state"], "ALARM", "{rule:#}\n{}", run.stdout);
    assert_eq!(rule["values"], serde_json::json!([60.0, 60.0, 60.0]));

    down(&deployed.stack);
}
