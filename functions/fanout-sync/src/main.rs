//! `fanout-sync`: the hourly (or on-demand) fan-out. An EventBridge scheduled event, or a manual
//! invocation naming some DCs, becomes one SQS FIFO message per DC for the sync function
//! (MessageGroupId = DC, deduplication id = DC + schedule slot).
//!
//! Environment: `DC_LIST` and `SYNC_QUEUE_URL` (`app::names`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let app = app::App::from_env().await;
    let config = app::FanoutConfig::from_env(app.env())?;
    let deps = fanout_sync::handler::Deps {
        dcs: config.dcs,
        queue: app.sync_queue()?,
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        fanout_sync::handler::handle(&deps, event)
    }))
    .await
}
