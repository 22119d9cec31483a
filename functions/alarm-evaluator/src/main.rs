use cfrp_alarm_evaluator::Evaluator;
use cfrp_alarm_evaluator::port::CloudWatchPort;
use cfrp_config::{EvaluatorSettings, FunctionSettings};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    cfrp_function_support::init_json_logging();
    let settings = match EvaluatorSettings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the alarm evaluator");
            std::process::exit(1);
        }
    };
    // Client built once; no network call until the first evaluation.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let evaluator = Evaluator {
        settings,
        port: CloudWatchPort::new(aws_sdk_cloudwatch::Client::new(&config)),
    };
    let evaluator = &evaluator;
    lambda_runtime::run(service_fn(move |event| async move {
        evaluator.handle(event).await
    }))
    .await
}
