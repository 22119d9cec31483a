#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! The operator commands against the emulator, each through the real `deployer` binary:
//! `invalidate` (default and explicit paths, `--wait` to Completed, a bad path refused),
//! `update` (applied with `--yes` and read back, a second run makes no call, refused without
//! `--yes` when stdin is not a terminal, and on a terminal declined with "n" and applied with
//! "y"), `logging` on a distribution created directly with
//! the SDK (stream, role and log config created, every behaviour attached, the rest of the
//! config untouched, a second run makes no call; `--detach` restores the config exactly and
//! deletes those three), `dashboard` recreated after it was deleted,
//! and `completions`. Each test brings up its own stack and takes it down again.

use aws_sdk_cloudfront::types::DistributionConfig;
use cfrp_tests::deploy::{Deployed, deploy_example, deployer, down};
use cfrp_tests::pty::deployer_under_pty;
use cfrp_tests::sdk_config;

fn config_arg(deployed: &Deployed) -> String {
    deployed.stack.path.to_string_lossy().to_string()
}

async fn cloudfront() -> aws_sdk_cloudfront::Client {
    aws_sdk_cloudfront::Client::new(&sdk_config().await)
}

async fn invalidation_count(cloudfront: &aws_sdk_cloudfront::Client, id: &str) -> usize {
    cloudfront
        .list_invalidations()
        .distribution_id(id)
        .send()
        .await
        .unwrap()
        .invalidation_list()
        .map(|l| l.items().len())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn invalidate_default_and_explicit_paths_waits_for_completed_and_names_bad_paths() {
    let deployed = deploy_example("op-inv").await;
    let config = config_arg(&deployed);
    let cloudfront = cloudfront().await;
    let id = deployed.distribution_id.clone();

    // Default: everything, on the stack's distribution found by its tag.
    let first = deployer(&["--config", &config, "--output", "json", "invalidate"])
        .expect_code(0)
        .json();
    assert_eq!(first["distribution_id"], id.as_str(), "{first:#}");
    assert_eq!(first["paths"], serde_json::json!(["/*"]));
    assert_eq!(first["status"], "InProgress");
    assert_eq!(first["mutating_calls"], 1);
    let got = cloudfront
        .get_invalidation()
        .distribution_id(&id)
        .id(first["invalidation_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let batch = got.invalidation().unwrap().invalidation_batch().unwrap();
    assert_eq!(batch.paths().unwrap().items(), ["/*"]);
    assert_eq!(batch.caller_reference(), first["caller_reference"]);

    // Explicit paths by id, encoded as CloudFront requires, waiting until Completed.
    let second = deployer(&[
        "--output",
        "json",
        "invalidate",
        "--id",
        &id,
        "--paths",
        "/café menu.html",
        "/assets/*",
        "/caf%C3%A9%20menu.html",
        "--wait",
        "--timeout",
        "60s",
    ])
    .expect_code(0)
    .json();
    assert_eq!(
        second["paths"],
        serde_json::json!(["/caf%C3%A9%20menu.html", "/assets/*"]),
        "{second:#}"
    );
    assert_eq!(second["status"], "Completed");
    assert_ne!(second["caller_reference"], first["caller_reference"]);
    let got = cloudfront
        .get_invalidation()
        .distribution_id(&id)
        .id(second["invalidation_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.invalidation().unwrap().status(), "Completed");
    assert_eq!(
        got.invalidation()
            .unwrap()
            .invalidation_batch()
            .unwrap()
            .paths()
            .unwrap()
            .items(),
        ["/caf%C3%A9%20menu.html", "/assets/*"]
    );

    // Text mode with --wait shows the id and the final status.
    let text = deployer(&[
        "--config",
        &config,
        "invalidate",
        "--paths",
        "/index.html",
        "--wait",
    ])
    .expect_code(0);
    assert!(text.stdout.contains("Invalidation "), "{}", text.stdout);
    assert!(text.stdout.contains("Completed"), "{}", text.stdout);
    assert_eq!(invalidation_count(&cloudfront, &id).await, 3);

    // A bad path: exit 1 naming it, and nothing sent.
    let bad = deployer(&[
        "--config",
        &config,
        "invalidate",
        "--paths",
        "/fine.html",
        "images/*",
        "/a/*/b",
    ])
    .expect_code(1);
    assert!(bad.stderr.contains("\"images/*\""), "{}", bad.stderr);
    assert!(bad.stderr.contains("\"/a/*/b\""), "{}", bad.stderr);
    assert!(!bad.stderr.contains("\"/fine.html\""), "{}", bad.stderr);
    assert_eq!(invalidation_count(&cloudfront, &id).await, 3);

    down(&deployed.stack);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_changes_only_the_origin_with_yes_is_idempotent_refuses_without_a_terminal_and_asks_on_one()
 {
    let deployed = deploy_example("op-upd").await;
    let cloudfront = cloudfront().await;
    let id = deployed.distribution_id.clone();
    let before = distribution_config(&cloudfront, &id).await;
    let target = before
        .default_cache_behavior()
        .unwrap()
        .target_origin_id()
        .to_string();
    assert_eq!(target, "app");

    // Without --yes and without a terminal on stdin: refused, nothing changed.
    let refused = deployer(&[
        "update",
        "--id",
        &id,
        "--origin-domain",
        "new-app.shop.example.com",
    ])
    .expect_code(1);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(
        refused.stdout.contains("origins[app].domain"),
        "the diff is shown first: {}",
        refused.stdout
    );
    let unchanged = distribution_config(&cloudfront, &id).await;
    assert_eq!(unchanged, before);

    // With --yes: one UpdateDistribution; only that origin's domain differs.
    let applied = deployer(&[
        "--output",
        "json",
        "update",
        "--id",
        &id,
        "--origin-domain",
        "new-app.shop.example.com",
        "--yes",
    ])
    .expect_code(0)
    .json();
    assert_eq!(applied["applied"], true, "{applied:#}");
    assert_eq!(applied["origin_id"], "app");
    assert_eq!(applied["mutating_calls"], 1);
    assert_eq!(applied["changes"][0]["field"], "origins[app].domain");
    assert_eq!(applied["changes"][0]["from"], "app.shop.example.com");
    assert_eq!(applied["changes"][0]["to"], "new-app.shop.example.com");
    let after = distribution_config(&cloudfront, &id).await;
    let mut expected = before.clone();
    for origin in expected.origins.as_mut().unwrap().items.iter_mut() {
        if origin.id == "app" {
            origin.domain_name = "new-app.shop.example.com".to_string();
        }
    }
    assert_eq!(after, expected);

    // Again: nothing to change, no mutating call.
    let again = deployer(&[
        "--output",
        "json",
        "update",
        "--id",
        &id,
        "--origin-domain",
        "new-app.shop.example.com",
        "--yes",
    ])
    .expect_code(0)
    .json();
    assert_eq!(again["applied"], false, "{again:#}");
    assert_eq!(again["mutating_calls"], 0);

    // Another origin by id, while someone else changes the distribution in between (the
    // first UpdateDistribution answers PreconditionFailed): re-read and applied once more.
    cfrp_tests::inject_fault(&serde_json::json!({
        "method": "PUT",
        "path": format!("^/2020-05-31/distribution/{id}/config"),
        "status": 412,
        "content_type": "text/xml",
        "body": "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>PreconditionFailed</Code><Message>The precondition given in one or more of the request-header fields evaluated to false.</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "times": 1,
    }))
    .unwrap();
    let api = deployer(&[
        "--output",
        "json",
        "update",
        "--id",
        &id,
        "--origin-id",
        "api",
        "--origin-domain",
        "api2.shop.example.com",
        "-y",
    ])
    .expect_code(0)
    .json();
    assert_eq!(api["changes"][0]["from"], "api.shop.example.com", "{api:#}");
    assert_eq!(api["applied"], true);
    assert_eq!(
        api["mutating_calls"], 2,
        "one refused, one applied: {api:#}"
    );
    let origins = distribution_config(&cloudfront, &id)
        .await
        .origins
        .unwrap()
        .items;
    let domains: Vec<(&str, &str)> = origins
        .iter()
        .map(|o| (o.id.as_str(), o.domain_name.as_str()))
        .collect();
    assert_eq!(
        domains,
        [
            ("app", "new-app.shop.example.com"),
            ("api", "api2.shop.example.com")
        ]
    );
    // An unknown origin id names the ones there are.
    let unknown = deployer(&[
        "update",
        "--id",
        &id,
        "--origin-id",
        "nope",
        "--origin-domain",
        "x.example.com",
        "--yes",
    ])
    .expect_code(1);
    assert!(
        unknown.stderr.contains("app (new-app.shop.example.com)"),
        "{}",
        unknown.stderr
    );

    // On a terminal it shows the change and asks: "n" declines (exit 2, nothing sent), "y"
    // applies it.
    let command = [
        "update",
        "--id",
        &id,
        "--origin-domain",
        "tty-app.shop.example.com",
    ];
    let app_domain = || async {
        distribution_config(&cloudfront, &id)
            .await
            .origins
            .unwrap()
            .items
            .into_iter()
            .find(|o| o.id == "app")
            .unwrap()
            .domain_name
    };
    let asked = ["tty-app.shop.example.com", "Apply? [y/N]"];
    let declined = deployer_under_pty(&command, &asked, b"n\n");
    let output = declined["output"].as_str().unwrap_or_default();
    assert_eq!(declined["found"], true, "no prompt:\n{output}");
    assert_eq!(declined["code"], 2, "{declined:#}");
    assert_eq!(app_domain().await, "new-app.shop.example.com");
    let accepted = deployer_under_pty(&command, &asked, b"y\n");
    assert_eq!(accepted["code"], 0, "{accepted:#}");
    assert_eq!(app_domain().await, "tty-app.shop.example.com");

    down(&deployed.stack);
}

/// A distribution's current config, read back from the emulator.
async fn distribution_config(
    cloudfront: &aws_sdk_cloudfront::Client,
    id: &str,
) -> DistributionConfig {
    cloudfront
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap()
        .distribution_config
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn logging_attaches_to_a_foreign_distribution_touching_nothing_else_reruns_clean_and_detaches()
 {
    let global = sdk_config().await;
    let cloudfront = aws_sdk_cloudfront::Client::new(&global);
    let iam = aws_sdk_iam::Client::new(&global);
    let kinesis = aws_sdk_kinesis::Client::new(&global);
    let id = cfrp_tests::fixtures::hand_made_distribution(
        &cloudfront,
        &cfrp_tests::fixtures::HandMade {
            comment: "made by another tool",
            enabled: true,
            origins: &[
                ("web", "web.other.example.com"),
                ("img", "img.other.example.com"),
            ],
            behaviors: &[("/img/*", "img"), ("/api/*", "web")],
            tags: &[],
        },
    )
    .await;
    let before = distribution_config(&cloudfront, &id).await;
    let prefix = format!("cfrp-dist-{}", id.to_ascii_lowercase());
    let stream = format!("{prefix}-realtime-logs");
    let role = format!("{prefix}-cloudfront-logs");

    // A field CloudFront does not document: exit 1 naming it, nothing created.
    let bad = deployer(&[
        "logging",
        "--id",
        &id,
        "--fields",
        "timestamp,c-ip,bogus-field",
    ])
    .expect_code(1);
    assert!(bad.stderr.contains("\"bogus-field\""), "{}", bad.stderr);
    assert!(
        kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .is_err()
    );

    // Like `up`: the plan is shown, and without --yes and without a terminal nothing happens.
    let refused = deployer(&[
        "logging",
        "--id",
        &id,
        "--sampling-rate",
        "50",
        "--region",
        "us-east-1",
    ])
    .expect_code(1);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    for planned in [
        format!("+ Kinesis stream {stream}"),
        format!("+ IAM role {role}"),
        format!("~ CloudFront distribution {id}"),
        "cache_behaviors[*].realtime_log_config_arn: (none)".to_string(),
    ] {
        assert!(
            refused.stdout.contains(&planned),
            "{planned}: {}",
            refused.stdout
        );
    }
    assert!(
        kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .is_err(),
        "refused: no stream"
    );
    assert!(iam.get_role().role_name(&role).send().await.is_err());
    assert_eq!(distribution_config(&cloudfront, &id).await, before);

    let report = deployer(&[
        "--output",
        "json",
        "logging",
        "--id",
        &id,
        "--sampling-rate",
        "50",
        "--region",
        "us-east-1",
        "--yes",
    ])
    .expect_code(0)
    .json();
    assert_eq!(report["attached"], true, "{report:#}");
    assert_eq!(report["behaviors"], 3);
    let arn = report["realtime_log_config_arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.ends_with(&format!("realtime-log-config/{stream}")),
        "{arn}"
    );

    // The stream, the role and the log config exist as reported.
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let stream_arn = summary
        .stream_description_summary()
        .unwrap()
        .stream_arn()
        .to_string();
    assert_eq!(report["stream_arn"], stream_arn.as_str());
    iam.get_role().role_name(&role).send().await.unwrap();
    let log_config = cloudfront
        .get_realtime_log_config()
        .name(&stream)
        .send()
        .await
        .unwrap();
    let log_config = log_config.realtime_log_config().unwrap();
    assert_eq!(log_config.sampling_rate(), 50);
    let expected_fields: Vec<String> = cfrp_config::Field::default_set()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    assert_eq!(log_config.fields(), expected_fields.as_slice());
    let endpoint = log_config.end_points()[0].kinesis_stream_config().unwrap();
    assert_eq!(endpoint.stream_arn(), stream_arn);
    assert!(endpoint.role_arn().ends_with(&format!(":role/{role}")));

    // Every behaviour carries the log config; nothing else in the config changed.
    let after = distribution_config(&cloudfront, &id).await;
    let mut expected = before.clone();
    expected
        .default_cache_behavior
        .as_mut()
        .unwrap()
        .realtime_log_config_arn = Some(arn.clone());
    for behavior in expected
        .cache_behaviors
        .as_mut()
        .unwrap()
        .items
        .iter_mut()
        .flatten()
    {
        behavior.realtime_log_config_arn = Some(arn.clone());
    }
    assert_eq!(after, expected);

    // A second run finds everything in place: no mutating call.
    let again = deployer(&[
        "--output",
        "json",
        "logging",
        "--id",
        &id,
        "--sampling-rate",
        "50",
        "--region",
        "us-east-1",
    ])
    .expect_code(0)
    .json();
    // Nothing to change: no question, so no --yes needed.
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    assert_eq!(again["attached"], false);

    // --detach cannot be mixed with what only attaching takes.
    let mixed = deployer(&["logging", "--id", &id, "--detach", "--fields", "timestamp"]);
    assert_eq!(mixed.code, 2, "{}", mixed.stderr);
    assert!(mixed.stderr.contains("--fields"), "{}", mixed.stderr);

    // --detach gives the distribution its exact config back and deletes what `logging` made.
    let detached = deployer(&[
        "--output",
        "json",
        "logging",
        "--id",
        &id,
        "--detach",
        "--region",
        "us-east-1",
        "--yes",
    ])
    .expect_code(0)
    .json();
    assert_eq!(detached["detached"], true, "{detached:#}");
    let mutations: Vec<&str> = detached["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for call in [
        format!("cloudfront:UpdateDistribution {id}"),
        format!("cloudfront:DeleteRealtimeLogConfig {stream}"),
        format!("iam:DeleteRole {role}"),
        format!("kinesis:DeleteStream {stream}"),
    ] {
        assert!(
            mutations.contains(&call.as_str()),
            "{call} in {mutations:?}"
        );
    }
    let restored = distribution_config(&cloudfront, &id).await;
    assert_eq!(restored, before);
    assert!(
        cloudfront
            .get_realtime_log_config()
            .name(&stream)
            .send()
            .await
            .is_err()
    );
    assert!(iam.get_role().role_name(&role).send().await.is_err());
    assert!(
        kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .is_err()
    );
    // Nothing left to do the second time.
    let again =
        deployer(&["logging", "--id", &id, "--detach", "--region", "us-east-1"]).expect_code(0);
    assert!(
        again.stdout.contains("0 mutating call(s) made"),
        "{}",
        again.stdout
    );

    // Clean up the distribution (disabled first).
    let (config, etag) = {
        let got = cloudfront
            .get_distribution_config()
            .id(&id)
            .send()
            .await
            .unwrap();
        (got.distribution_config.unwrap(), got.e_tag.unwrap())
    };
    let mut disabled = config;
    disabled.enabled = false;
    let updated = cloudfront
        .update_distribution()
        .id(&id)
        .if_match(etag)
        .distribution_config(disabled)
        .send()
        .await
        .unwrap();
    cloudfront
        .delete_distribution()
        .id(&id)
        .if_match(updated.e_tag().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_is_recreated_after_deletion_and_prints_its_url() {
    let deployed = deploy_example("op-dash").await;
    let config = config_arg(&deployed);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&deployed.config);
    let name = deployed.resource("dashboard");
    cloudwatch
        .delete_dashboards()
        .dashboard_names(&name)
        .send()
        .await
        .unwrap();
    assert!(
        cloudwatch
            .get_dashboard()
            .dashboard_name(&name)
            .send()
            .await
            .is_err()
    );

    let report = deployer(&["--config", &config, "--output", "json", "dashboard"])
        .expect_code(0)
        .json();
    assert_eq!(report["name"], name.as_str(), "{report:#}");
    assert_eq!(report["changed"], true);
    assert_eq!(report["action"], "create");
    assert_eq!(
        report["url"],
        format!(
            "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#dashboards:name={name}",
            deployed.region
        )
        .as_str()
    );
    let body = cloudwatch
        .get_dashboard()
        .dashboard_name(&name)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(body.dashboard_body().unwrap()).unwrap();
    let widgets = body["widgets"].as_array().unwrap();
    assert!(widgets.len() >= 9, "{body:#}");
    assert!(
        body.to_string().contains(&deployed.distribution_id),
        "CloudFront's metrics are keyed by the distribution id"
    );

    // Unchanged the second time; text mode prints the URL.
    let again = deployer(&["--config", &config, "--output", "json", "dashboard"])
        .expect_code(0)
        .json();
    assert_eq!(again["changed"], false, "{again:#}");
    assert_eq!(again["mutating_calls"], 0);
    let text = deployer(&["--config", &config, "dashboard"]).expect_code(0);
    assert!(text.stdout.contains("unchanged"), "{}", text.stdout);
    assert!(
        text.stdout.contains("console.aws.amazon.com"),
        "{}",
        text.stdout
    );

    down(&deployed.stack);
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let bash = deployer(&["completions", "bash"]).expect_code(0);
    for subcommand in [
        "invalidate",
        "logging",
        "update",
        "dashboard",
        "completions",
        "up",
        "down",
        "demo",
    ] {
        assert!(
            bash.stdout.contains(subcommand),
            "bash script lacks {subcommand}"
        );
    }
    assert!(bash.stdout.contains("complete -F"), "{}", bash.stdout);
    for shell in ["zsh", "fish", "powershell"] {
        let script = deployer(&["completions", shell]).expect_code(0);
        assert!(script.stdout.contains("invalidate"), "{shell}");
    }
    let unknown = deployer(&["completions", "tcsh"]);
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains("tcsh"), "{}", unknown.stderr);
}
