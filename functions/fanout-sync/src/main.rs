//! `fanout-sync`: the hourly and the 15-minute (or on-demand) fan-outs. An EventBridge
//! scheduled event, or a manual invocation naming some DCs, becomes one SQS FIFO message per DC
//! (MessageGroupId = DC, deduplication id = DC + schedule slot): for the sync function, or for
//! the reconcile function when the event's `kind` is `reconcile`.
//!
//! Only DCs whose go-live status is `live` get a sync message (`DC_STATUS_TABLE`).
//!
//! Environment: `DC_LIST`, `SYNC_QUEUE_URL`, `RECONCILE_QUEUE_URL` and `DC_STATUS_TABLE`
//! (`app::names`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let app = app::App::from_env().await;
    let config = app::FanoutConfig::from_env(app.env())?;
    let deps = fanout_sync::handler::Deps {
        dcs: config.dcs,
        queue: app.sync_queue()?,
        reconcile_queue: app.reconcile_queue(),
        statuses: app.dc_status()?,
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        fanout_sync::handler::handle(&deps, event)
    }))
    .await
}
