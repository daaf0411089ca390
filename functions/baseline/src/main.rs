//! `baseline`: the go-live apply of one DC per SQS message (`{"dc", "plan", "from_chunk",
//! "by"}`). It applies the DC's baseline plan from its checkpoints on
//! (`domain::golive::baseline::apply_plan`) until the Lambda deadline is near, sends itself
//! the next request on its FIFO queue (group = DC, deduplication id = plan and progress), and
//! verifies the baseline once every chunk is applied (the DC becomes `verified` when it
//! passes). Cut-over stays a person's step (`invsync baseline cutover`).
//!
//! Environment: `DC_LIST`, `DC_STATUS_TABLE`, `BASELINE_TABLE`, `BASELINE_QUEUE_URL`, the
//! `BASELINE_*` tunables, the resource names of `app::names`, and the Fusion and WMS client
//! settings their adapters read.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_kit::logging::init();
    let app = app::App::from_env().await;
    let deps = baseline::handler::Deps {
        ports: app.baseline_ports().await?,
        settings: app::settings::baseline_settings(app.env())?,
        queue: app.baseline_queue()?,
        dcs: app.env().dc_list(app::names::DC_LIST)?,
    };
    run(service_fn(|event: LambdaEvent<_>| {
        baseline::handler::handle(&deps, event)
    }))
    .await
}
