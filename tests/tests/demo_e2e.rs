#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! `deployer demo --output json`, the built binary, end to end: every step reports ok, the
//! analyser's metrics are seen, the invalidator creates an invalidation, and afterwards
//! nothing is left: the emulator the demo started is gone (its pid and its port), and against
//! the test emulator (`AWS_ENDPOINT_URL` set, so the demo reuses it) no resource of the demo's
//! stack remains, also when the demo is interrupted with Ctrl-C (SIGINT) after `up`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_config::{Region, SdkConfig};
use cfrp_config::naming::STACK_TAG;
use cfrp_tests::{emulator, repo_root, sdk_config, workspace_binary};
use serde_json::Value;

/// A whole demo takes about 10 s here after the build; the issue allows 5 minutes.
const DEMO_TIMEOUT: Duration = Duration::from_secs(240);

/// Every step of a successful demo, in order.
const STEPS: [&str; 13] = [
    "prepare",
    "emulator",
    "up",
    "traffic",
    "analyser",
    "evaluator",
    "invalidator",
    "status",
    "monitor",
    "alarms",
    "down",
    "emulator-stop",
    "next",
];

struct DemoRun {
    code: i32,
    steps: Vec<Value>,
    stderr: String,
}

impl DemoRun {
    fn step(&self, name: &str) -> &Value {
        self.steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step {name}:\n{self}"))
    }

    fn stack(&self) -> String {
        self.step("prepare")["stack"].as_str().unwrap().to_string()
    }
}

impl std::fmt::Display for DemoRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exit code {}", self.code)?;
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        write!(f, "stderr:\n{}", self.stderr)
    }
}

/// Runs `deployer demo --output json`, with `AWS_ENDPOINT_URL` set to `endpoint` or unset,
/// sending SIGINT once the step `interrupt_after` has been reported.
fn run_demo(endpoint: Option<&str>, interrupt_after: Option<&str>) -> DemoRun {
    let deployer = workspace_binary("cfrp-deployer", "deployer");
    let root = repo_root();
    let mut command = Command::new(deployer);
    command
        .args(["demo", "--output", "json", "--workspace"])
        .arg(&root)
        .current_dir(&root)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("CFRP_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    let mut child = command.spawn().unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let mut steps = Vec::new();
    let mut interrupted = false;
    loop {
        match received.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let step: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if !interrupted && interrupt_after.is_some_and(|s| step["step"] == s) {
                    let status = Command::new("kill")
                        .args(["-INT", &child.id().to_string()])
                        .status()
                        .unwrap();
                    assert!(status.success());
                    interrupted = true;
                }
                steps.push(step);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "deployer demo did not finish within {DEMO_TIMEOUT:?}; steps so far: {steps:#?}"
            );
        }
    }
    let status = child.wait().unwrap();
    DemoRun {
        code: status.code().unwrap_or(-1),
        steps,
        stderr: stderr.join().unwrap(),
    }
}

fn assert_succeeded(run: &DemoRun) {
    assert_eq!(run.code, 0, "{run}");
    let names: Vec<&str> = run
        .steps
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(names, STEPS, "{run}");
    for step in &run.steps {
        assert_eq!(step["ok"], true, "{step}");
        assert!(
            step["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{step}"
        );
    }
    // Traffic went through the stream and every record came back as a published request.
    let traffic = run.step("traffic");
    let records = traffic["records"].as_u64().unwrap();
    assert!(records > 100, "{traffic}");
    assert_eq!(traffic["read_back"], records, "{traffic}");
    let analyser = run.step("analyser");
    assert_eq!(analyser["requests_published"], records, "{analyser}");
    // The monitor saw the metrics.
    let monitor = run.step("monitor");
    assert!(
        monitor["minutes_with_requests"].as_u64().unwrap() >= 1,
        "{monitor}"
    );
    let requests_now = monitor["snapshot"]["analyser"]["requests_per_second"]["now"].as_f64();
    assert!(requests_now.is_some_and(|r| r > 0.0), "{monitor}");
    // Every rule was evaluated and has its CloudWatch alarm.
    let evaluator = run.step("evaluator");
    let rules = evaluator["rules"].as_array().unwrap();
    assert!(!rules.is_empty(), "{evaluator}");
    let alarms = run.step("alarms")["alarms"].as_array().unwrap().clone();
    assert_eq!(alarms.len(), rules.len());
    assert!(alarms.iter().all(|a| a["alarm_state"].is_string()));
    // The uploads became one invalidation of their encoded paths.
    let invalidator = run.step("invalidator");
    assert!(
        invalidator["invalidation_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{invalidator}"
    );
    let paths: Vec<&str> = invalidator["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        paths.contains(&"/manuscripts/chapter%20one.html"),
        "{paths:?}"
    );
    assert!(paths.contains(&"/manuscripts/essays/"), "{paths:?}");
    // It ends with what to run against a real account.
    let next = run.step("next");
    assert!(
        next["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "deployer up --wait"),
        "{next}"
    );
}

#[test]
fn the_demo_starts_its_own_emulator_and_stops_it() {
    let run = run_demo(None, None);
    assert_succeeded(&run);
    let started = run.step("emulator");
    assert_eq!(started["started"], true, "{started}");
    let pid = started["pid"].as_u64().unwrap();
    let endpoint = started["endpoint"].as_str().unwrap();
    let stopped = run.step("emulator-stop");
    assert_eq!(stopped["stopped"], true, "{stopped}");
    assert_eq!(stopped["pid"], pid, "{stopped}");
    // The process is gone (reaped, not a zombie) and nothing listens on its port.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "emulator pid {pid} still exists"
    );
    let address = endpoint.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "something still listens on {address}"
    );
    // The scratch directory (config and stand-in packages) is removed.
    let config = run.step("prepare")["config"].as_str().unwrap().to_string();
    assert!(!std::path::Path::new(&config).exists(), "{config} is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_reuses_a_running_emulator_and_leaves_no_resource() {
    let endpoint = emulator().endpoint.clone();
    let run = tokio::task::spawn_blocking({
        let endpoint = endpoint.clone();
        move || run_demo(Some(&endpoint), None)
    })
    .await
    .unwrap();
    assert_succeeded(&run);
    let reused = run.step("emulator");
    assert_eq!(reused["started"], false, "{reused}");
    assert_eq!(reused["endpoint"], endpoint.as_str(), "{reused}");
    assert_eq!(run.step("emulator-stop")["stopped"], false);
    let region = run.step("prepare")["region"].as_str().unwrap().to_string();
    assert_eq!(leftovers(&run.stack(), &region).await, Vec::<String>::new());
    // The emulator it found is still there for its owner.
    assert!(std::net::TcpStream::connect(endpoint.trim_start_matches("http://")).is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_demo_still_removes_its_stack() {
    let endpoint = emulator().endpoint.clone();
    let run = tokio::task::spawn_blocking(move || run_demo(Some(&endpoint), Some("up")))
        .await
        .unwrap();
    assert_eq!(run.code, 130, "{run}");
    let failed: Vec<&Value> = run.steps.iter().filter(|s| s["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{run}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("interrupted"),
        "{run}"
    );
    let last = run.steps.last().unwrap();
    assert_eq!(last["step"], "emulator-stop", "{run}");
    let down = run.step("down");
    assert_eq!(down["ok"], true, "{run}");
    assert!(run.stderr.contains("interrupted during step"), "{run}");
    let region = run.step("prepare")["region"].as_str().unwrap().to_string();
    assert_eq!(leftovers(&run.stack(), &region).await, Vec::<String>::new());
}

async fn regional(region: &str) -> SdkConfig {
    sdk_config()
        .await
        .to_builder()
        .region(Region::new(region.to_string()))
        .build()
}

/// Everything of the stack still in the test emulator: resources named `cfrp-<stack>-…`,
/// its manuscripts bucket, and distributions tagged with it.
async fn leftovers(stack: &str, region: &str) -> Vec<String> {
    let prefix = format!("cfrp-{stack}-");
    let ours = |name: &str| name.starts_with(&prefix);
    let regional = regional(region).await;
    let global = sdk_config().await;
    let mut left = Vec::new();

    let kinesis = aws_sdk_kinesis::Client::new(&regional);
    for name in kinesis.list_streams().send().await.unwrap().stream_names() {
        if ours(name) {
            left.push(format!("kinesis stream {name}"));
        }
    }
    let lambda = aws_sdk_lambda::Client::new(&regional);
    for f in lambda.list_functions().send().await.unwrap().functions() {
        let name = f.function_name().unwrap_or_default();
        if ours(name) {
            left.push(format!("lambda function {name}"));
        }
    }
    for m in lambda
        .list_event_source_mappings()
        .send()
        .await
        .unwrap()
        .event_source_mappings()
    {
        if m.function_arn().unwrap_or_default().contains(&prefix) {
            left.push(format!("event source mapping {:?}", m.uuid()));
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&regional);
    for url in sqs.list_queues().send().await.unwrap().queue_urls() {
        if url.rsplit('/').next().is_some_and(ours) {
            left.push(format!("queue {url}"));
        }
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&regional)
            .force_path_style(true)
            .build(),
    );
    for bucket in s3.list_buckets().send().await.unwrap().buckets() {
        let name = bucket.name().unwrap_or_default();
        if name.starts_with(&format!("{stack}-")) || ours(name) {
            left.push(format!("bucket {name}"));
        }
    }
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&regional);
    for alarm in cloudwatch
        .describe_alarms()
        .send()
        .await
        .unwrap()
        .metric_alarms()
    {
        let name = alarm.alarm_name().unwrap_or_default();
        if ours(name) {
            left.push(format!("alarm {name}"));
        }
    }
    for dashboard in cloudwatch
        .list_dashboards()
        .send()
        .await
        .unwrap()
        .dashboard_entries()
    {
        let name = dashboard.dashboard_name().unwrap_or_default();
        if ours(name) {
            left.push(format!("dashboard {name}"));
        }
    }
    let sns = aws_sdk_sns::Client::new(&regional);
    for topic in sns.list_topics().send().await.unwrap().topics() {
        let arn = topic.topic_arn().unwrap_or_default();
        if arn.rsplit(':').next().is_some_and(ours) {
            left.push(format!("topic {arn}"));
        }
    }
    let events = aws_sdk_eventbridge::Client::new(&regional);
    for rule in events
        .list_rules()
        .name_prefix(&prefix)
        .send()
        .await
        .unwrap()
        .rules()
    {
        left.push(format!("schedule rule {:?}", rule.name()));
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(&regional);
    for group in logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/{prefix}"))
        .send()
        .await
        .unwrap()
        .log_groups()
    {
        left.push(format!("log group {:?}", group.log_group_name()));
    }
    let iam = aws_sdk_iam::Client::new(&global);
    for role in iam.list_roles().send().await.unwrap().roles() {
        if ours(role.role_name()) {
            left.push(format!("role {}", role.role_name()));
        }
    }
    let cloudfront = aws_sdk_cloudfront::Client::new(&global);
    let functions = cloudfront.list_functions().send().await.unwrap();
    for f in functions
        .function_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        if ours(f.name()) {
            left.push(format!("cloudfront function {}", f.name()));
        }
    }
    let log_configs = cloudfront.list_realtime_log_configs().send().await.unwrap();
    for c in log_configs
        .realtime_log_configs()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        if ours(c.name()) {
            left.push(format!("real-time log config {}", c.name()));
        }
    }
    let policies = cloudfront
        .list_cache_policies()
        .r#type(aws_sdk_cloudfront::types::CachePolicyType::Custom)
        .send()
        .await
        .unwrap();
    for p in policies
        .cache_policy_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let name = p
            .cache_policy()
            .and_then(|c| c.cache_policy_config())
            .map(|c| c.name())
            .unwrap_or_default();
        if ours(name) {
            left.push(format!("cache policy {name}"));
        }
    }
    let distributions = cloudfront.list_distributions().send().await.unwrap();
    for summary in distributions
        .distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let tags = cloudfront
            .list_tags_for_resource()
            .resource(summary.arn())
            .send()
            .await
            .unwrap();
        let tagged = tags.tags().is_some_and(|t| {
            t.items()
                .iter()
                .any(|tag| tag.key() == STACK_TAG && tag.value() == Some(stack))
        });
        if tagged {
            left.push(format!("distribution {}", summary.id()));
        }
    }
    left
}
