//! The auto-block loop (`[waf.auto_block]`) with the real binaries against the emulator:
//! `deployer up` creates the block table and gives both functions their settings; generated
//! logs in which one client sends 20 % of the requests, 90 % of them errors, for 3 minutes
//! (and an allow-listed client does the same) go through the deployed Kinesis stream into
//! the built analyser, one batch a minute; the built evaluator's scheduled run then puts the
//! first on the block list IP set with an expiry and spares the second. Deployed first with
//! `mode = "count"`, the same run blocks nothing and reports the would-be block (log line and
//! metric); after an `up` with `mode = "block"` it blocks; a run after the expiry removes the
//! block, and a `deployer block add --hours 1` entry (listed beside the automatic one with its
//! source) likewise. A second `up` makes no DynamoDB change; `down` removes the table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_wafv2::types::Scope;
use cfrp_config::{EvaluatorSettings, Field, FunctionSettings, WafMode};
use cfrp_events::{Generate, generate_kinesis_event};
use cfrp_tests::deploy::{deployed, down, stack_file, up};
use cfrp_tests::fixtures::{kinesis_round_trip, pairs, stat_query};
use cfrp_tests::function_binary;
use cfrp_tests::runtime_api::{Outcome, run_bootstrap};

const ATTACKER: &str = "203.0.113.66";
const ALLOWED: &str = "198.51.100.9";

const AUTO_BLOCK: &str = r#"
[waf]
allow_list = ["198.51.100.0/24"]

[waf.auto_block]
level = "CRITICAL"
minutes = 3
window = 5
expiry = "1h"
max = 50
mode = "count"
"#;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn scheduled_event(epoch: i64) -> String {
    let time = DateTime::from_secs(epoch)
        .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
        .unwrap();
    serde_json::json!({
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "eu-west-1",
        "resources": [], "detail": {}
    })
    .to_string()
}

/// Generated lines for `minutes` minutes from `start`, with every fifth request from the
/// attacker and every fifth from the allow-listed client, 90 % of both clients' requests
/// answered 503; one group of lines per minute.
fn flood(start: u64, minutes: u64, domain: &str) -> Vec<Vec<String>> {
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 1024 * 1024,
        start_epoch: start,
        minutes,
        distribution_domain: domain.to_string(),
        ..Generate::default()
    });
    let fields = Field::default_set();
    let at = |field: Field| fields.iter().position(|f| *f == field).unwrap();
    let (ip, status, timestamp) = (at(Field::ClientIp), at(Field::Status), at(Field::Timestamp));
    let mut by_minute = vec![Vec::new(); minutes as usize];
    for (i, line) in generated.lines.iter().enumerate() {
        let mut values: Vec<String> = line.split('\t').map(str::to_string).collect();
        let client = match i % 5 {
            0 => Some(ATTACKER),
            1 => Some(ALLOWED),
            _ => None,
        };
        if let Some(client) = client {
            values[ip] = client.to_string();
            if (i / 5) % 10 != 0 {
                values[status] = "503".to_string();
            }
        }
        let second: f64 = values[timestamp].parse().unwrap();
        let minute = ((second as u64).saturating_sub(start) / 60).min(minutes - 1);
        by_minute[minute as usize].push(values.join("\t"));
    }
    by_minute
}

async fn block_set(waf: &aws_sdk_wafv2::Client, name: &str) -> Vec<String> {
    let sets = waf
        .list_ip_sets()
        .scope(Scope::Cloudfront)
        .limit(100)
        .send()
        .await
        .unwrap();
    let id = sets
        .ip_sets()
        .iter()
        .find(|s| s.name() == Some(name))
        .and_then(|s| s.id())
        .unwrap_or_else(|| panic!("no IP set {name}"))
        .to_string();
    let set = waf
        .get_ip_set()
        .name(name)
        .id(id)
        .scope(Scope::Cloudfront)
        .send()
        .await
        .unwrap();
    set.ip_set().unwrap().addresses().to_vec()
}

async fn run_evaluator(env: &[(String, String)], epoch: i64) -> cfrp_tests::runtime_api::Run {
    let run = run_bootstrap(
        &function_binary("cfrp-alarm-evaluator"),
        &pairs(env),
        &[scheduled_event(epoch)],
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert!(
        matches!(run.outcomes.first(), Some(Outcome::Response(_))),
        "{:?}\n{}",
        run.outcomes,
        run.stdout
    );
    run
}

/// The JSON log lines with this message.
fn log_lines(stdout: &str, message: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.contains(&format!("\"message\":\"{message}\"")))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flooding_client_is_blocked_with_an_expiry_an_allow_listed_one_is_not_and_expiry_unblocks()
 {
    let name: String = cfrp_tests::unique("ab").chars().take(32).collect();
    let stack = stack_file(&name, |t| format!("{t}\n{AUTO_BLOCK}"));
    let report = up(&stack);
    let deployed = deployed(stack, &report).await;
    let table = deployed.resource("blocks");
    let v4_set = deployed.resource("block-v4");
    let dynamodb = aws_sdk_dynamodb::Client::new(&deployed.config);
    let described = dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .table()
            .and_then(|t| t.billing_mode_summary())
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires_at")
    );
    // A second `up` makes no DynamoDB change.
    let before = cfrp_tests::requests_by_operation(&cfrp_tests::emulator().endpoint).unwrap();
    up(&deployed.stack);
    let after = cfrp_tests::requests_by_operation(&cfrp_tests::emulator().endpoint).unwrap();
    let changed: Vec<&String> = after
        .iter()
        .filter(|(op, n)| {
            op.starts_with("dynamodb:")
                && !["Describe", "Get", "List", "Query", "Scan"]
                    .iter()
                    .any(|read| op.contains(&format!(":{read}")))
                && before.get(*op).copied().unwrap_or_default() < **n
        })
        .map(|(op, _)| op)
        .collect();
    assert!(changed.is_empty(), "second up changed {changed:?}");
    let waf = aws_sdk_wafv2::Client::new(
        &deployed
            .config
            .to_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    let kinesis = aws_sdk_kinesis::Client::new(&deployed.config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);

    // ---- three minutes of logs, one analyser batch a minute, through the deployed stream
    let start = now_secs() / 60 * 60 - 180;
    let analyser_env = deployed.function_env("log-analyser").await;
    // All lines through the stream once, then one batch per minute of what came back (as
    // Lambda's batching window cuts a stream's records into batches over time).
    let lines: Vec<String> = flood(start, 3, &deployed.domain).concat();
    let payloads = kinesis_round_trip(&kinesis, &deployed.resource("realtime-logs"), &lines)
        .await
        .unwrap();
    assert_eq!(payloads.len(), lines.len());
    let timestamp = Field::default_set()
        .iter()
        .position(|f| *f == Field::Timestamp)
        .unwrap();
    let mut per_minute: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
    for payload in payloads {
        let text = String::from_utf8(payload.clone()).unwrap();
        let second: f64 = text
            .trim()
            .split('\t')
            .nth(timestamp)
            .unwrap()
            .parse()
            .unwrap();
        let minute = ((second as u64).saturating_sub(start) / 60).min(2);
        per_minute[minute as usize].push(payload);
    }
    let events: Vec<String> = per_minute
        .iter()
        .map(|batch| {
            cfrp_events::kinesis_event_from_payloads(
                batch.iter().map(Vec::as_slice),
                now_secs() as f64,
            )
        })
        .collect();
    let analysed = run_bootstrap(
        &function_binary("cfrp-log-analyser"),
        &pairs(&analyser_env),
        &events,
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert!(
        analysed
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Response(_))),
        "{:?}\n{}",
        analysed.outcomes,
        analysed.stdout
    );
    assert!(
        !analysed.stdout.contains("strikes not recorded"),
        "{}",
        analysed.stdout
    );
    let strikes = dynamodb.scan().table_name(&table).send().await.unwrap();
    let struck: std::collections::BTreeSet<(String, String)> = strikes
        .items()
        .iter()
        .map(|item| {
            let s = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            (s("pk"), s("sk"))
        })
        .collect();
    for minute in 0..3 {
        let pk = format!("strike#{}", (start + 60 * minute) * 1000);
        assert!(
            struck.contains(&(pk.clone(), ATTACKER.to_string())),
            "no strike {pk} for the attacker in {struck:?}\n{}",
            analysed.stdout
        );
    }

    let evaluator_env = deployed.function_env("alarm-evaluator").await;
    let now = (start + 185) as i64;

    // ---- count mode (as first deployed): nothing blocked, the would-be block logged and counted
    let counting = evaluator_env.clone();
    let run = run_evaluator(&counting, now).await;
    let would = log_lines(&run.stdout, "count mode: client would be blocked");
    assert_eq!(would.len(), 1, "{}", run.stdout);
    assert_eq!(would[0]["ip"], format!("{ATTACKER}/32"), "{}", run.stdout);
    assert_eq!(would[0]["mode"], "count");
    assert!(block_set(&waf, &v4_set).await.is_empty());
    let namespace = format!("CloudFrontProxy/{}", deployed.stack.name);
    let metric = |id: &str, name: &str| stat_query(id, &namespace, name, &[], "Sum", 60);
    let counts = cloudwatch
        .get_metric_data()
        .metric_data_queries(metric("would", "ClientsWouldBlock"))
        .start_time(DateTime::from_secs(now - 600))
        .end_time(DateTime::from_secs(now + 600))
        .send()
        .await
        .unwrap();
    let would_sum: f64 = counts
        .metric_data_results()
        .iter()
        .flat_map(|r| r.values().to_vec())
        .sum();
    assert_eq!(would_sum, 1.0);

    // ---- block mode, after `up` with `mode = "block"`: the attacker is blocked with an
    // expiry, the allow-listed client is not
    let text = std::fs::read_to_string(&deployed.stack.path).unwrap();
    std::fs::write(
        &deployed.stack.path,
        text.replace("mode = \"count\"", "mode = \"block\""),
    )
    .unwrap();
    up(&deployed.stack);
    let evaluator_env = deployed.function_env("alarm-evaluator").await;
    let settings = evaluator_env
        .iter()
        .find(|(k, _)| k == "CFRP_SETTINGS")
        .map(|(_, v)| EvaluatorSettings::from_env_value(v).unwrap())
        .unwrap();
    assert_eq!(settings.auto_block.unwrap().auto_block.mode, WafMode::Block);
    let run = run_evaluator(&evaluator_env, now).await;
    let blocked = log_lines(&run.stdout, "client blocked");
    assert_eq!(blocked.len(), 1, "{}", run.stdout);
    assert_eq!(blocked[0]["ip"], format!("{ATTACKER}/32"));
    assert_eq!(blocked[0]["expiry"], now + 3600, "{}", run.stdout);
    assert!(blocked[0]["score"].as_f64().unwrap() >= 10.0);
    assert!(
        run.stdout.contains(ALLOWED) && run.stdout.contains("allow list contains it"),
        "{}",
        run.stdout
    );
    let addresses = block_set(&waf, &v4_set).await;
    assert_eq!(addresses, [format!("{ATTACKER}/32")]);
    let entry = dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("block".to_string()))
        .key("sk", AttributeValue::S(format!("{ATTACKER}/32")))
        .send()
        .await
        .unwrap();
    let item = entry.item().unwrap();
    assert_eq!(item["source"].as_s().unwrap(), "auto");
    assert_eq!(item["until"].as_n().unwrap(), &(now + 3600).to_string());

    // A second run in the same minute adds nothing.
    let run = run_evaluator(&evaluator_env, now + 20).await;
    assert!(
        log_lines(&run.stdout, "client blocked").is_empty(),
        "{}",
        run.stdout
    );

    // ---- `deployer block`: a manual entry with an expiry beside the automatic one
    let config = deployed.stack.path.to_string_lossy().to_string();
    let block = |args: &[&str]| {
        let mut all = vec!["--config", config.as_str(), "--output", "json", "block"];
        all.extend_from_slice(args);
        cfrp_tests::deploy::deployer(&all).expect_code(0).json()
    };
    block(&[
        "add",
        "192.0.2.5/32",
        "--reason",
        "manual test",
        "--hours",
        "1",
    ]);
    let listed = block(&["list"]);
    let entries = listed["blocked"].as_array().unwrap();
    let find = |address: &str| {
        entries
            .iter()
            .find(|e| e["address"] == address)
            .unwrap_or_else(|| panic!("no {address} in {listed:#}"))
    };
    let auto = find(&format!("{ATTACKER}/32"));
    assert_eq!(auto["source"], "auto", "{listed:#}");
    assert_eq!(auto["expires"], now + 3600, "{listed:#}");
    assert!(
        auto["reason"]
            .as_str()
            .unwrap()
            .contains("3 of the last 5 minutes")
    );
    assert_eq!(find("192.0.2.5/32")["source"], "manual", "{listed:#}");
    assert_eq!(block_set(&waf, &v4_set).await.len(), 2);

    // ---- after both expiries the next run removes both, the manual one too
    let later = now + 3600 + 300;
    let run = run_evaluator(&evaluator_env, later).await;
    let unblocked = log_lines(&run.stdout, "client unblocked");
    assert_eq!(unblocked.len(), 2, "{}", run.stdout);
    assert!(
        unblocked.iter().all(|u| u["reason"] == "expired"),
        "{}",
        run.stdout
    );
    let sources: Vec<&str> = unblocked
        .iter()
        .filter_map(|u| u["source"].as_str())
        .collect();
    assert_eq!(sources, ["manual", "auto"], "{}", run.stdout);
    assert!(block_set(&waf, &v4_set).await.is_empty());
    let entry = dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("block".to_string()))
        .key("sk", AttributeValue::S(format!("{ATTACKER}/32")))
        .send()
        .await
        .unwrap();
    assert!(entry.item().is_none());

    // ---- down removes the table
    down(&deployed.stack);
    let gone = dynamodb.describe_table().table_name(&table).send().await;
    assert!(gone.is_err(), "{gone:?}");
}
