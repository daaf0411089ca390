//! `reconcile-stock`: the 15-minute reconciliation. Each SQS message of the reconcile queue
//! names one DC (the fan-out sends one per DC, so DCs run in parallel invocations and none
//! holds more than one DC); the function compares that DC's WMS on-hand, Fusion on-hand and
//! in-flight transactions and acts by tier: auto-correct, supervisor review, or alert and hold.
//! Invoked directly, it reconciles the DCs asked for in one invocation (in parallel, bounded):
//! a manual run may name DCs and ask for a dry run. A DC whose go-live status is not `live`
//! (`DC_STATUS_TABLE`) is reconciled report-only: no corrections, tasks, alerts or holds.
//!
//! Environment: `DC_STATUS_TABLE`, `DC_LIST`, `RECONCILE_CONCURRENCY` (the direct mode), the thresholds and the
//! resource names of `app::names`, and the Fusion and WMS client settings their adapters read.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let app = app::App::from_env().await;
    let config = app::ReconcileStockConfig::from_env(app.env())?;
    let deps = reconcile_stock::handler::Deps {
        ports: app.ports().await?,
        settings: config.settings,
        dcs: config.dcs,
        concurrency: config.concurrency,
        statuses: app.dc_status()?,
    };
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        reconcile_stock::queue::handle_any(&deps, event)
    }))
    .await
}
