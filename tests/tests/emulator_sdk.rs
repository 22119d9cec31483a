//! The real Rust AWS SDK against the extended emulator: the APIs moto lacks (real-time log
//! configs, policies, CloudFront Function publishing) and CloudWatch over RPCv2 CBOR.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    EndPoint, FunctionConfig, FunctionRuntime, FunctionStage, KinesisStreamConfig,
};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit,
    Statistic,
};
use cfrp_config::Field;
use cfrp_tests::{sdk_config, unique};

fn kinesis_endpoint() -> EndPoint {
    let kinesis = KinesisStreamConfig::builder()
        .role_arn("arn:aws:iam::123456789012:role/cf-logs")
        .stream_arn("arn:aws:kinesis:us-east-1:123456789012:stream/logs")
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    EndPoint::builder()
        .stream_type("Kinesis")
        .kinesis_stream_config(kinesis)
        .build()
        .unwrap_or_else(|err| panic!("{err}"))
}

#[tokio::test]
async fn realtime_log_config_create_read_delete_with_the_config_crates_fields() {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let name = unique("rt");
    let fields: Vec<String> = Field::default_set()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let created = cloudfront
        .create_realtime_log_config()
        .name(&name)
        .sampling_rate(100)
        .set_fields(Some(fields.clone()))
        .end_points(kinesis_endpoint())
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let arn = created
        .realtime_log_config()
        .map(|c| c.arn().to_string())
        .unwrap_or_default();
    assert!(
        arn.ends_with(&format!("realtime-log-config/{name}")),
        "{arn}"
    );

    let read = cloudfront
        .get_realtime_log_config()
        .arn(&arn)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let config = read
        .realtime_log_config()
        .unwrap_or_else(|| panic!("no config"));
    assert_eq!(config.fields(), fields.as_slice());
    assert_eq!(config.sampling_rate(), 100);

    let listed = cloudfront
        .list_realtime_log_configs()
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    assert!(
        listed
            .realtime_log_configs()
            .is_some_and(|l| l.items().iter().any(|c| c.name() == name))
    );

    cloudfront
        .delete_realtime_log_config()
        .name(&name)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let gone = cloudfront
        .get_realtime_log_config()
        .name(&name)
        .send()
        .await;
    let err = gone
        .err()
        .map(|e| e.into_service_error())
        .unwrap_or_else(|| panic!("still there"));
    assert!(err.is_no_such_realtime_log_config(), "{err:?}");
}

#[tokio::test]
async fn realtime_log_config_rejects_an_undocumented_field() {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let result = cloudfront
        .create_realtime_log_config()
        .name(unique("rt-bad"))
        .sampling_rate(100)
        .fields("timestamp")
        .fields("c_ip")
        .end_points(kinesis_endpoint())
        .send()
        .await;
    let err = result
        .err()
        .map(|e| e.into_service_error())
        .unwrap_or_else(|| panic!("accepted"));
    assert!(err.is_invalid_argument(), "{err:?}");
}

#[tokio::test]
async fn cloudfront_function_is_created_published_to_live_and_deleted() {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let name = unique("viewer-request");
    let code = b"function handler(event) { return event.request; }".to_vec();
    let config = FunctionConfig::builder()
        .comment("test")
        .runtime(FunctionRuntime::CloudfrontJs20)
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let created = cloudfront
        .create_function()
        .name(&name)
        .function_config(config)
        .function_code(Blob::new(code.clone()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let etag = created.e_tag().unwrap_or_default().to_string();
    assert!(!etag.is_empty());

    let published = cloudfront
        .publish_function()
        .name(&name)
        .if_match(&etag)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let stage = published
        .function_summary()
        .and_then(|s| s.function_metadata())
        .and_then(|m| m.stage().cloned());
    assert_eq!(stage, Some(FunctionStage::Live));

    let live = cloudfront
        .get_function()
        .name(&name)
        .stage(FunctionStage::Live)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    assert_eq!(
        live.function_code().map(|b| b.as_ref().to_vec()),
        Some(code)
    );

    let stale = cloudfront
        .publish_function()
        .name(&name)
        .if_match("stale")
        .send()
        .await;
    let err = stale
        .err()
        .map(|e| e.into_service_error())
        .unwrap_or_else(|| panic!("stale ETag accepted"));
    assert!(err.is_precondition_failed(), "{err:?}");

    cloudfront
        .delete_function()
        .name(&name)
        .if_match(&etag)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let gone = cloudfront.describe_function().name(&name).send().await;
    assert!(
        gone.err()
            .map(|e| e.into_service_error())
            .is_some_and(|e| e.is_no_such_function_exists())
    );
}

#[tokio::test]
async fn managed_policies_resolve_by_their_published_ids() {
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk_config().await);
    let policy = cloudfront
        .get_cache_policy()
        .id("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let name = policy
        .cache_policy()
        .and_then(|p| p.cache_policy_config())
        .map(|c| c.name().to_string());
    assert_eq!(name.as_deref(), Some("Managed-CachingDisabled"));
    let security = cloudfront
        .get_response_headers_policy()
        .id("67f7725c-6f97-4210-82d7-5512b31e9d03")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    assert!(security.e_tag().is_some());
}

#[tokio::test]
async fn cloudwatch_over_cbor_metrics_alarms_and_dashboards() {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    let namespace = format!("Test/{}", unique("cw"));
    let minute = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        / 60
        * 60) as i64;
    let dimension = Dimension::builder()
        .name("DistributionId")
        .value("E123")
        .build();
    cloudwatch
        .put_metric_data()
        .namespace(&namespace)
        .metric_data(
            MetricDatum::builder()
                .metric_name("TimeTaken")
                .dimensions(dimension.clone())
                .timestamp(DateTime::from_secs(minute))
                .values(12.0)
                .values(250.0)
                .counts(9.0)
                .counts(1.0)
                .unit(StandardUnit::Milliseconds)
                .build(),
        )
        .metric_data(
            MetricDatum::builder()
                .metric_name("Requests")
                .dimensions(dimension.clone())
                .timestamp(DateTime::from_secs(minute))
                .value(10.0)
                .unit(StandardUnit::Count)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));

    let query = |id: &str, metric: &str, stat: &str| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace(&namespace)
                            .metric_name(metric)
                            .dimensions(dimension.clone())
                            .build(),
                    )
                    .period(60)
                    .stat(stat)
                    .build(),
            )
            .build()
    };
    let data = cloudwatch
        .get_metric_data()
        .metric_data_queries(query("samples", "TimeTaken", "SampleCount"))
        .metric_data_queries(query("requests", "Requests", "Sum"))
        .start_time(DateTime::from_secs(minute - 300))
        .end_time(DateTime::from_secs(minute + 300))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let value = |id: &str| {
        data.metric_data_results()
            .iter()
            .find(|r| r.id() == Some(id))
            .map(|r| r.values().to_vec())
    };
    assert_eq!(value("samples"), Some(vec![10.0]));
    assert_eq!(value("requests"), Some(vec![10.0]));
    let stamp = data
        .metric_data_results()
        .first()
        .and_then(|r| r.timestamps().first().map(|t| t.secs()));
    assert_eq!(stamp, Some(minute));

    let listed = cloudwatch
        .list_metrics()
        .namespace(&namespace)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let mut names: Vec<&str> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name())
        .collect();
    names.sort_unstable();
    assert_eq!(names, vec!["Requests", "TimeTaken"]);

    let alarm = unique("alarm");
    cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm)
        .namespace(&namespace)
        .metric_name("Requests")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(3)
        .datapoints_to_alarm(2)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .alarm_actions("arn:aws:sns:us-east-1:123456789012:alarms")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_names(&alarm)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let found = alarms
        .metric_alarms()
        .first()
        .unwrap_or_else(|| panic!("alarm not found"));
    assert_eq!(found.threshold(), Some(5.0));
    assert_eq!(found.datapoints_to_alarm(), Some(2));
    assert_eq!(
        found.alarm_actions(),
        ["arn:aws:sns:us-east-1:123456789012:alarms".to_string()]
    );

    let dashboard = unique("dash");
    let body = serde_json::json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {"metrics": [[namespace, "Requests"]], "region": "us-east-1", "stat": "Sum", "period": 60}}]});
    let put = cloudwatch
        .put_dashboard()
        .dashboard_name(&dashboard)
        .dashboard_body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    assert!(put.dashboard_validation_messages().is_empty());
    let got = cloudwatch
        .get_dashboard()
        .dashboard_name(&dashboard)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    assert_eq!(got.dashboard_name(), Some(dashboard.as_str()));
}

#[tokio::test]
async fn cloudwatch_errors_keep_their_code_through_the_bridge() {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    let result = cloudwatch
        .get_dashboard()
        .dashboard_name(unique("missing"))
        .send()
        .await;
    let err = result
        .err()
        .map(|e| e.into_service_error())
        .unwrap_or_else(|| panic!("found a missing dashboard"));
    assert!(err.is_dashboard_not_found_error(), "{err:?}");
}

#[tokio::test]
async fn s3_uses_path_style_against_the_emulator() {
    let s3 = cfrp_tests::s3_client(&sdk_config().await);
    let bucket = unique("bucket");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    s3.put_object()
        .bucket(&bucket)
        .key("manuscripts/a b.html")
        .body(b"hi".to_vec().into())
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    assert_eq!(
        listed.contents().first().and_then(|o| o.key()),
        Some("manuscripts/a b.html")
    );
}
