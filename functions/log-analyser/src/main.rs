use cfrp_config::{AnalyserSettings, FunctionSettings};
use cfrp_log_analyser::Analyser;
use cfrp_log_analyser::event::KinesisBatch;
use cfrp_log_analyser::invocation::{ParseBodyLayer, ParsedBatches};
use cfrp_log_analyser::sink::CloudWatchSink;
use cfrp_log_analyser::strikes::DynamoStrikes;
use lambda_runtime::layers::TracingLayer;
use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};

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
    let strikes = settings.strikes.clone();
    let mut analyser = Analyser::new(
        settings,
        CloudWatchSink::new(aws_sdk_cloudwatch::Client::new(&config)),
    );
    if let Some(settings) = strikes {
        analyser = analyser.with_strikes(Box::new(DynamoStrikes {
            client: aws_sdk_dynamodb::Client::new(&config),
            settings,
        }));
    }
    let analyser = &analyser;
    // The body is read into a `KinesisBatch` once, ahead of the runtime's own deserialisation
    // (see invocation.rs); the handler takes it back by request id.
    let batches = ParsedBatches::default();
    let handler_batches = batches.clone();
    let handler = service_fn(move |event: LambdaEvent<KinesisBatch>| {
        let event = handler_batches.take(event);
        async move { analyser.handle(event).await }
    });
    // As `lambda_runtime::run` builds it, plus the body layer inside the tracing span.
    Runtime::new(handler)
        .layer(ParseBodyLayer::new(batches))
        .layer(TracingLayer::new())
        .run()
        .await
}
