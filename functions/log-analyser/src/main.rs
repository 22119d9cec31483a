use cfrp_config::{AnalyserSettings, FunctionSettings};
use cfrp_log_analyser::Analyser;
use cfrp_log_analyser::event::KinesisBatch;
use cfrp_log_analyser::sink::CloudWatchSink;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    cfrp_function_support::init_json_logging();
    let settings = match AnalyserSettings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the log analyser");
            std::process::exit(1);
        }
    };
    // Client built once; no network call happens until the first PutMetricData.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let analyser = Analyser::new(
        settings,
        CloudWatchSink::new(aws_sdk_cloudwatch::Client::new(&config)),
    );
    let analyser = &analyser;
    // The event as `KinesisBatch`: `KinesisEvent`'s shape, data kept base64 (see event.rs).
    lambda_runtime::run(service_fn(
        move |event: lambda_runtime::LambdaEvent<KinesisBatch>| async move {
            analyser.handle(event).await
        },
    ))
    .await
}
