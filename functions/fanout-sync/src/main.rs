//! `fanout-sync`: the hourly (or on-demand) fan-out. An EventBridge scheduled event, or a manual
//! invocation naming some DCs, becomes one SQS FIFO message per DC for the sync function
//! (MessageGroupId = DC, deduplication id = DC + schedule slot).
//!
//! Environment: `DC_LIST` (comma-separated DC codes), `SYNC_QUEUE_URL`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let sdk = adapters::aws::config::load().await;
    let deps = fanout_sync::handler::Deps {
        dcs: lambda_kit::config::dc_list("DC_LIST")?,
        queue: adapters::aws::SqsSyncQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            lambda_kit::config::required("SYNC_QUEUE_URL")?,
        ),
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        fanout_sync::handler::handle(&deps, event)
    }))
    .await
}
