use cfrp_config::{FunctionSettings, InvalidatorSettings};
use cfrp_invalidator::Invalidator;
use cfrp_invalidator::api::CloudFrontApi;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    cfrp_function_support::init_json_logging();
    let settings = match InvalidatorSettings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the invalidator");
            std::process::exit(1);
        }
    };
    // Client built once; no network call until the first CreateInvalidation.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let invalidator = Invalidator {
        settings,
        api: CloudFrontApi::new(aws_sdk_cloudfront::Client::new(&config)),
    };
    let invalidator = &invalidator;
    lambda_runtime::run(service_fn(move |event| async move {
        invalidator.handle(event).await
    }))
    .await
}
