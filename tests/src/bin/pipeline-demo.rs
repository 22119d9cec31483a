//! The main job end to end against the local emulator: `deployer up` provisions and wires
//! the example stack; realistic CloudFront real-time log records go into the stream it
//! created, are read back as a Lambda event and analysed by the real log-analyser binary
//! under the Lambda Runtime API, with the environment the deployer gave the function; the
//! metrics are read back; the alarm evaluator's verdicts land on the state metrics the
//! deployed alarms watch; a manuscript upload to the deployed bucket reaches the deployed
//! queue and the invalidator binary turns it into an invalidation; `deployer status`, then
//! `deployer down` removes it all. Run through `scripts/demo`.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
use cfrp_config::{StackConfig, metrics as m};
use cfrp_events::{Generate, generate_kinesis_event, sqs_event_from_messages};
use cfrp_tests::deploy::{Deployed, artifacts, deployed, deployer, stack_file};
use cfrp_tests::fixtures::{kinesis_round_trip, pairs, receive_all, stat_query};
use cfrp_tests::runtime_api::{Outcome, Run, run_bootstrap};
use cfrp_tests::{emulator, function_binary, s3_client};

/// Runs one deployed function's binary on one event, with the environment the deployer gave
/// the function, and insists on a response.
async fn invoke(
    stack: &Deployed,
    function: &str,
    event: String,
) -> anyhow::Result<(serde_json::Value, Run)> {
    let env = stack.function_env(function).await;
    let package = format!("cfrp-{function}");
    let run = run_bootstrap(
        &function_binary(&package),
        &pairs(&env),
        &[event],
        Duration::from_secs(60),
    )
    .await?;
    match run.outcomes.first() {
        Some(Outcome::Response(response)) => Ok((response.clone(), run)),
        other => bail!("{package} failed: {other:?}\n{}{}", run.stdout, run.stderr),
    }
}

/// Runs the deployer, shows its output indented, fails on a non-zero exit.
fn show_deployer(args: &[&str]) -> anyhow::Result<String> {
    let run = deployer(args);
    for line in run.stdout.lines() {
        println!("   | {line}");
    }
    if run.code != 0 {
        bail!(
            "deployer {args:?} exited with {}:\n{}",
            run.code,
            run.stderr
        );
    }
    Ok(run.stdout)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config_path = cfrp_tests::repo_root().join("shared/examples/proxy.toml");
    let stack = StackConfig::load(&config_path)?;
    println!(
        "1. config {}: stack \"{}\", {} real-time log fields",
        config_path.display(),
        stack.name,
        stack.logging.fields.len()
    );

    let file = stack_file(&stack.name, |text| text);
    let config = file.path.to_string_lossy().to_string();
    let packages = artifacts().to_string_lossy().to_string();
    println!(
        "2. deployer up against the emulator at {} (the emulator stores function code but never runs it, so small\n   packages stand in; the real binaries run locally below):",
        emulator().endpoint
    );
    show_deployer(&["--config", &config, "up", "--artifacts", &packages])?;
    let status = deployer(&["--config", &config, "--output", "json", "status"]);
    let status: serde_json::Value =
        serde_json::from_str(&status.stdout).context("deployer status --output json")?;
    let deployed = deployed(file.clone(), &status).await;
    let kinesis = aws_sdk_kinesis::Client::new(&deployed.config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let stream = stack.names().log_stream();

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let minute = now / 60 * 60;
    let domain = deployed.domain.as_str();
    let generated = generate_kinesis_event(&Generate {
        max_event_bytes: 1024 * 1024,
        start_epoch: minute - 240,
        minutes: 4,
        fields: stack.logging.fields.clone(),
        distribution_domain: domain.to_string(),
        ..Generate::default()
    });
    let payloads = kinesis_round_trip(&kinesis, &stream, &generated.lines).await?;
    let event =
        cfrp_events::kinesis_event_from_payloads(payloads.iter().map(Vec::as_slice), now as f64);
    println!(
        "3. put {} realistic real-time log records (4 minutes of traffic for {domain}) into {stream} and read {} back: a {} KB Lambda event",
        generated.records,
        payloads.len(),
        event.len() / 1024
    );

    let (_, run) = invoke(&deployed, "log-analyser", event).await?;
    let summary = run
        .stdout
        .lines()
        .find(|l| l.contains("batch analysed"))
        .unwrap_or_default();
    println!(
        "4. ran the log-analyser binary under the Lambda Runtime API (init {} ms, debug build); its summary log line:\n   {summary}",
        run.init_duration.map_or(0, |d| d.as_millis())
    );

    let namespace = &stack.metrics.namespace;
    let dims = [(m::DIM_DISTRIBUTION, domain)];
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(stat_query(
            "requests",
            namespace,
            m::REQUESTS,
            &dims,
            "Sum",
            60,
        ))
        .metric_data_queries(stat_query(
            "errors5xx",
            namespace,
            m::STATUS_5XX,
            &dims,
            "Sum",
            60,
        ))
        .metric_data_queries(stat_query(
            "hits",
            namespace,
            m::CACHE_HITS,
            &dims,
            "Sum",
            60,
        ))
        .metric_data_queries(stat_query(
            "p95",
            namespace,
            m::TIME_TAKEN,
            &dims,
            "p95",
            60,
        ))
        .start_time(DateTime::from_secs((minute - 600) as i64))
        .end_time(DateTime::from_secs((minute + 60) as i64))
        .send()
        .await?;
    let series = |id: &str| {
        data.metric_data_results()
            .iter()
            .find(|r| r.id() == Some(id))
            .map(|r| (r.timestamps().to_vec(), r.values().to_vec()))
            .unwrap_or_default()
    };
    let (stamps, requests) = series("requests");
    let (_, errors) = series("errors5xx");
    let (_, hits) = series("hits");
    let (_, p95) = series("p95");
    println!("5. metrics read back from CloudWatch ({namespace}), per minute:");
    println!(
        "   {:<22} {:>9} {:>6} {:>6} {:>14}",
        "minute (UTC)", "requests", "5xx", "hits", "p95 latency"
    );
    for (i, stamp) in stamps.iter().enumerate() {
        let at = |values: &[f64]| values.get(i).copied().unwrap_or_default();
        println!(
            "   {:<22} {:>9} {:>6} {:>6} {:>11.1} ms",
            stamp.fmt(DateTimeFormat::DateTime)?,
            at(&requests),
            at(&errors),
            at(&hits),
            at(&p95)
        );
    }
    let published: f64 = requests.iter().sum();
    if published as usize != generated.records {
        bail!(
            "published {published} requests, expected {}",
            generated.records
        );
    }
    println!("   every record is accounted for ({published} requests).");

    let scheduled = serde_json::json!({
        "version": "0", "id": "demo", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "region": "us-east-1", "resources": [], "detail": {},
        "time": DateTime::from_secs((minute + 5) as i64).fmt(DateTimeFormat::DateTime)?,
    });
    let (outcomes, _) = invoke(&deployed, "alarm-evaluator", scheduled.to_string()).await?;
    println!(
        "6. ran the alarm-evaluator binary on a scheduled event; rule states (published as {}, watched by the\n   CloudWatch alarm of each rule, which notifies SNS topic {}):",
        m::RULE_STATE,
        stack.names().alarm_topic()
    );
    for outcome in outcomes.as_array().into_iter().flatten() {
        let values: Vec<String> = outcome["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                v.as_f64()
                    .map_or_else(|| "-".to_string(), |x| format!("{x:.1}"))
            })
            .collect();
        println!(
            "   {:<18} {:<18} last periods [{}]",
            outcome["rule"].as_str().unwrap_or_default(),
            outcome["state"].as_str().unwrap_or_default(),
            values.join(", ")
        );
    }

    let (id, paths) = manuscripts(&deployed, &stack).await?;
    println!(
        "7. uploaded manuscripts/chapter one.html and manuscripts/essays/index.html to {}; S3 notified {},\n   and the invalidator binary created invalidation {id} for {paths:?}",
        deployed.stack.bucket,
        stack.names().manuscripts_queue()
    );

    println!("8. deployer status:");
    show_deployer(&["--config", &config, "status"])?;
    println!("9. deployer down:");
    show_deployer(&["--config", &config, "down"])?;
    let left = deployer(&["--config", &config, "--output", "json", "status"]);
    if !left.stdout.contains("\"distribution\": null") {
        bail!("the stack is still there after down:\n{}", left.stdout);
    }
    println!("   nothing of stack \"{}\" is left.", stack.name);
    Ok(())
}

/// Deployed bucket → deployed queue → invalidator binary → CloudFront invalidation.
async fn manuscripts(
    deployed: &Deployed,
    stack: &StackConfig,
) -> anyhow::Result<(String, Vec<String>)> {
    let manuscripts = stack
        .manuscripts
        .clone()
        .context("the example config has a [manuscripts] section")?;
    let cloudfront = aws_sdk_cloudfront::Client::new(&deployed.config);
    let s3 = s3_client(&deployed.config);
    let sqs = aws_sdk_sqs::Client::new(&deployed.config);
    let queue = stack.names().manuscripts_queue();
    let queue_url = sqs
        .get_queue_url()
        .queue_name(&queue)
        .send()
        .await?
        .queue_url
        .context("no queue url")?;
    let queue_arn = format!("arn:aws:sqs:{}:123456789012:{queue}", deployed.region);
    let keys =
        ["chapter one.html", "essays/index.html"].map(|k| format!("{}{k}", manuscripts.key_prefix));
    for key in &keys {
        s3.put_object()
            .bucket(&manuscripts.bucket)
            .key(key)
            .body(b"<html></html>".to_vec().into())
            .send()
            .await?;
    }
    let messages = receive_all(&sqs, &queue_url).await?;
    invoke(
        deployed,
        "invalidator",
        sqs_event_from_messages(&messages, &queue_arn, &deployed.region),
    )
    .await?;
    let list = cloudfront
        .list_invalidations()
        .distribution_id(&deployed.distribution_id)
        .send()
        .await?;
    let id = list
        .invalidation_list()
        .and_then(|l| l.items().first())
        .map(|i| i.id().to_string())
        .context("no invalidation was created")?;
    let invalidation = cloudfront
        .get_invalidation()
        .distribution_id(&deployed.distribution_id)
        .id(&id)
        .send()
        .await?;
    let paths = invalidation
        .invalidation()
        .and_then(|i| i.invalidation_batch())
        .and_then(|b| b.paths())
        .map(|p| p.items().to_vec())
        .unwrap_or_default();
    Ok((id, paths))
}
