use cfrp_alarm_evaluator::Evaluator;
use cfrp_alarm_evaluator::autoblock::AutoBlocker;
use cfrp_alarm_evaluator::autoblock::port::AwsBlockPort;
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
    let blocker = settings.auto_block.clone().map(|auto| AutoBlocker {
        settings: auto,
        namespace: settings.namespace.clone(),
        port: AwsBlockPort::new(&config),
    });
    let evaluator = Evaluator {
        settings,
        port: CloudWatchPort::new(aws_sdk_cloudwatch::Client::new(&config)),
    };
    let (evaluator, blocker) = (&evaluator, &blocker);
    lambda_runtime::run(service_fn(move |event| async move {
        // The auto-block run (`[waf.auto_block]`) after the rules, whatever they gave.
        let scheduled = cfrp_alarm_evaluator::autoblock::scheduled_time_ms(&event);
        let outcomes = evaluator.handle(event).await;
        if let (Some(blocker), Some(now_ms)) = (blocker, scheduled) {
            blocker.run(now_ms).await.inspect_err(|err| {
                tracing::error!(target: "auto_block", error = %err, "auto-block run failed; the next scheduled run tries again");
            })?;
        }
        outcomes
    }))
    .await
}
