//! The canary with the real binaries: `deployer up` and `stage` against the emulator, log
//! records of the primary and of the staging distribution through the deployed stream to the
//! built analyser, the built evaluator (with the settings `stage` gave it) putting the
//! canary rules' states into CloudWatch, and `deployer promote` refusing while `canary-5xx`
//! is in ALARM and promoting once staging is as healthy as the primary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use cfrp_config::{AnalyserSettings, EvaluatorSettings, Field, FunctionSettings};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_tests::deploy::{Deployed, deploy_example, deployer};
use cfrp_tests::fixtures::{kinesis_round_trip, pairs};
use cfrp_tests::function_binary;
use cfrp_tests::runtime_api::{Outcome, run_bootstrap};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn scheduled_event(epoch: i64) -> String {
    let time = DateTime::from_secs(epoch)
        .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
        .unwrap();
    serde_json::json!({
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/cfrp-canary-evaluate"], "detail": {}
    })
    .to_string()
}

fn settings_of<S: FunctionSettings>(env: &[(String, String)]) -> S {
    env.iter()
        .find(|(k, _)| k == "CFRP_SETTINGS")
        .map(|(_, v)| S::from_env_value(v).unwrap())
        .unwrap()
}

/// Five minutes of generated records for `domain` from `start`, `per_100` of every 100
/// requests in each minute answered 503 (the rest 200).
fn traffic(fields: &[Field], domain: &str, start: i64, per_100: usize) -> Vec<String> {
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 1536 * 1024,
        fields: fields.to_vec(),
        start_epoch: start as u64,
        minutes: 5,
        distribution_domain: domain.to_string(),
        ..Generate::default()
    });
    let at = |field: Field| fields.iter().position(|f| *f == field).unwrap();
    let (timestamp, status) = (at(Field::Timestamp), at(Field::Status));
    let mut seen: HashMap<i64, usize> = HashMap::new();
    generated
        .lines
        .iter()
        .map(|line| {
            let mut values: Vec<String> = line.split('\t').map(str::to_string).collect();
            let minute = values[timestamp].parse::<f64>().unwrap() as i64 / 60;
            let n = seen.entry(minute).or_default();
            // Spread evenly: a request fails when it takes the minute's count of failures
            // (n · per_100 / 100, rounded down) one higher.
            let fails = (*n + 1) * per_100 / 100 > *n * per_100 / 100;
            values[status] = if fails { "503" } else { "200" }.to_string();
            *n += 1;
            values.join("\t")
        })
        .collect()
}

/// The lines through the deployed stream into the built analyser.
async fn analyse(deployed: &Deployed, lines: &[String]) {
    let kinesis = aws_sdk_kinesis::Client::new(&deployed.config);
    let payloads = kinesis_round_trip(&kinesis, &deployed.resource("realtime-logs"), lines)
        .await
        .unwrap();
    // The stream is read from its start: only this call's records are new.
    let new: std::collections::HashSet<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let payloads: Vec<Vec<u8>> = payloads
        .into_iter()
        .filter(|p| new.contains(p.as_slice()))
        .collect();
    assert_eq!(payloads.len(), lines.len());
    let event = cfrp_events::kinesis_event_from_payloads(
        payloads.iter().map(Vec::as_slice),
        now_secs() as f64,
    );
    let env = deployed.function_env("log-analyser").await;
    let run = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &pairs(&env),
        &[event],
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    match &run.outcomes[..] {
        [Outcome::Response(r)] => {
            assert_eq!(
                r["batchItemFailures"],
                serde_json::json!([]),
                "{}",
                run.stdout
            )
        }
        other => panic!("{other:?}\n{}", run.stdout),
    }
}

/// The built evaluator, with the environment the deployer gave it, at `epoch`; its outcome
/// for `rule` and its log.
async fn evaluate(deployed: &Deployed, epoch: i64, rule: &str) -> (serde_json::Value, String) {
    let env = deployed.function_env("alarm-evaluator").await;
    let run = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &pairs(&env),
        &[scheduled_event(epoch)],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let Outcome::Response(outcomes) = &run.outcomes[0] else {
        panic!("{:?}\n{}", run.outcomes, run.stdout)
    };
    let outcome = outcomes
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} outcome in {outcomes:#}\n{}", run.stdout))
        .clone();
    (outcome, run.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_canary_blocks_promote_and_a_healthy_one_promotes() {
    let deployed = deploy_example("cny").await;
    let config = deployed.stack.path.to_string_lossy().to_string();

    let staged = deployer(&["--config", &config, "--output", "json", "stage", "--yes"])
        .expect_code(0)
        .json();
    let staging_domain = staged["result"]["staging_domain"]
        .as_str()
        .unwrap()
        .to_string();
    // `stage` named the staging distribution in the evaluator's settings.
    let settings: EvaluatorSettings = settings_of(&deployed.function_env("alarm-evaluator").await);
    assert_eq!(
        settings.canary.as_ref().map(|c| c.staging_domain.as_str()),
        Some(staging_domain.as_str())
    );
    assert_eq!(
        settings.distribution_domain.as_deref(),
        Some(deployed.domain.as_str())
    );
    // A second `stage` changes nothing, the evaluator's settings included.
    let again = deployer(&["--config", &config, "--output", "json", "stage", "--yes"])
        .expect_code(0)
        .json();
    assert_eq!(again["mutating_calls"], 0, "{again:#}");

    let fields =
        settings_of::<AnalyserSettings>(&deployed.function_env("log-analyser").await).fields;
    let now = now_secs() / 60 * 60;

    // Ten to five minutes ago: staging answers 8 % 5xx, the primary 1 %.
    let bad_start = now - 600;
    let mut lines = traffic(&fields, &deployed.domain, bad_start, 1);
    lines.extend(traffic(&fields, &staging_domain, bad_start, 8));
    analyse(&deployed, &lines).await;
    let (outcome, log) = evaluate(&deployed, bad_start + 300 + 5, "canary-5xx").await;
    assert_eq!(outcome["state"], "ALARM", "{outcome:#}\n{log}");
    assert!(
        log.contains("\"rule\":\"canary-5xx\"") && log.contains("\"message\":\"rule evaluated\""),
        "{log}"
    );
    assert!(
        outcome["action"]
            .as_str()
            .unwrap()
            .contains("latest counted minute: staging"),
        "{outcome:#}"
    );
    let (latency, _) = evaluate(&deployed, bad_start + 300 + 5, "canary-latency").await;
    assert_eq!(latency["state"], "OK", "{latency:#}");

    let refused = deployer(&["--config", &config, "--output", "json", "promote", "--yes"]);
    assert_eq!(
        refused.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        refused.stdout, refused.stderr
    );
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(said.contains("canary-5xx is in ALARM"), "{said}");
    assert!(said.contains("--force"), "{said}");
    // Nothing was promoted: the policy still sends traffic to staging.
    let settings: EvaluatorSettings = settings_of(&deployed.function_env("alarm-evaluator").await);
    assert!(settings.canary.is_some());

    // The last five minutes: both at 1 %.
    let good_start = now - 300;
    let mut lines = traffic(&fields, &deployed.domain, good_start, 1);
    lines.extend(traffic(&fields, &staging_domain, good_start, 1));
    analyse(&deployed, &lines).await;
    let (outcome, log) = evaluate(&deployed, now + 5, "canary-5xx").await;
    assert_eq!(outcome["state"], "OK", "{outcome:#}\n{log}");
    assert_eq!(outcome["previous"], "ALARM", "{outcome:#}");
    assert!(
        log.contains("\"message\":\"rule changed state\""),
        "one line for the transition: {log}"
    );

    // status shows the comparison of the same minutes.
    let status = deployer(&["--config", &config, "--output", "json", "status"])
        .expect_code(0)
        .json();
    let canary = &status["canary"];
    assert_eq!(
        canary["staging_domain"],
        staging_domain.as_str(),
        "{status:#}"
    );
    assert!(
        canary["staging"]["requests"].as_f64().unwrap() > 0.0,
        "{canary:#}"
    );
    let rate = canary["staging"]["error_rate_5xx"].as_f64().unwrap();
    assert!((0.5..=1.5).contains(&rate), "{canary:#}");
    assert_eq!(canary["rules"][0]["rule"], "canary-5xx");
    assert_eq!(canary["rules"][0]["state"], "OK", "{canary:#}");

    let promoted = deployer(&["--config", &config, "--output", "json", "promote", "--yes"])
        .expect_code(0)
        .json();
    assert_eq!(promoted["result"]["canary"]["rules"][0]["state"], "OK");
    // Staging gets no traffic any more: the evaluator stops comparing it.
    let settings: EvaluatorSettings = settings_of(&deployed.function_env("alarm-evaluator").await);
    assert_eq!(settings.canary, None);

    cfrp_tests::deploy::down(&deployed.stack);
}
