//! `sync-inventory`: the SQS-triggered sync. Each message names one DC; the function drains
//! that DC's WMS outbox into Fusion through the ledger's two-phase commit and answers with
//! `ReportBatchItemFailures` (only messages worth retrying come back).
//!
//! Environment: the resource names, secret ARNs and sync tunables of `app::names`, and the
//! Fusion and WMS client settings their adapters read.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let app = app::App::from_env().await;
    let config = app::SyncInventoryConfig::from_env(app.env())?;
    let deps = sync_inventory::handler::Deps {
        ports: app.ports().await?,
        settings: config.settings,
    };
    run(service_fn(|event: LambdaEvent<_>| {
        sync_inventory::handler::handle(&deps, event)
    }))
    .await
}
