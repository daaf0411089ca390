//! `sync-inventory`: the SQS-triggered sync. Each message names one DC; the function drains
//! that DC's WMS outbox into Fusion through the ledger's two-phase commit and answers with
//! `ReportBatchItemFailures` (only messages worth retrying come back).
//!
//! Environment: the table/topic names and client settings of `lambda_kit::wiring` and
//! `lambda_kit::reports::sync_settings_from_env`.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let deps = sync_inventory::handler::Deps {
        ports: lambda_kit::wiring::AppPorts::from_env().await?,
        settings: lambda_kit::reports::sync_settings_from_env()?,
    };
    run(service_fn(|event: LambdaEvent<_>| {
        sync_inventory::handler::handle(&deps, event)
    }))
    .await
}
