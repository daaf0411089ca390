//! `reconcile-stock`: the 15-minute reconciliation. For every configured DC (in parallel,
//! bounded) it compares WMS on-hand, Fusion on-hand and in-flight transactions and acts by
//! tier: auto-correct, supervisor review, or alert and hold. A manual invocation may name DCs
//! and ask for a dry run.
//!
//! Environment: `DC_LIST`, `RECONCILE_CONCURRENCY` (4), the thresholds of
//! `lambda_kit::reports::reconcile_settings_from_env`, and the wiring's tables and clients.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let deps = reconcile_stock::handler::Deps {
        ports: lambda_kit::wiring::AppPorts::from_env().await?,
        settings: lambda_kit::reports::reconcile_settings_from_env()?,
        dcs: lambda_kit::config::dc_list("DC_LIST")?,
        concurrency: lambda_kit::config::parsed_or("RECONCILE_CONCURRENCY", 4usize)?,
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        reconcile_stock::handler::handle(&deps, event)
    }))
    .await
}
