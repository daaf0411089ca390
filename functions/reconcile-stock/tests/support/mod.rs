//! Helpers shared by the reconcile-stock integration tests: calling the real handler with the
//! scheduled event's JSON, reading a DC's report from its answer, and drifting a WMS balance.
// Why dead_code: each test binary uses a part of these.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use domain::reconciliation::ReconcileSettings;
use reconcile_stock::handler::{handle, Deps};
use serde_json::Value;
use std::time::Duration;
use test_harness::{context, EnvOptions, TestEnv};
use wms_sim::{AppliedDrift, BalanceRow, DriftRequest};

/// The scheduled event fixture.
pub const SCHEDULED: &str = include_str!("../../../../events/reconcile-stock/scheduled.json");

/// An environment of `options` (one DC) with DC01 live, and the handler's dependencies for
/// it with the default settings, 2 DCs' work at once.
pub async fn live_dc01(options: EnvOptions) -> (TestEnv, Deps) {
    let env = TestEnv::spawn(EnvOptions { dcs: 1, ..options }).await.unwrap();
    let dc = env.dc(0);
    env.mark_live(std::slice::from_ref(&dc)).await.unwrap();
    let deps = Deps {
        ports: env.ports().unwrap(),
        settings: ReconcileSettings::default(),
        dcs: vec![dc],
        concurrency: 2,
        statuses: env.dc_status().unwrap(),
    };
    (env, deps)
}

/// Runs the scheduled event fired at `time` (RFC 3339) and answers DC01's report; panics when
/// DC01 has none or it failed.
pub async fn reconcile(deps: &Deps, time: &str) -> Value {
    let mut event: Value = serde_json::from_str(SCHEDULED).unwrap();
    event["time"] = Value::String(time.to_string());
    let resp = handle(
        deps,
        lambda_runtime::LambdaEvent::new(event, context("req-reconcile", Duration::from_secs(600))),
    )
    .await
    .unwrap();
    let resp = serde_json::to_value(resp).unwrap();
    let r = resp["dcs"]["DC01"].clone();
    assert!(r.is_object() && r.get("error").is_none(), "{resp}");
    r
}

/// A count of a report; panics when it is missing.
pub fn n(r: &Value, field: &str) -> u64 {
    r[field].as_u64().unwrap_or_else(|| panic!("{field} missing in {r}"))
}

/// Moves the WMS balance `row` of `dc` by `delta` (Fusion untouched).
pub fn drift(env: &TestEnv, dc: &str, row: &BalanceRow, delta: i64) -> AppliedDrift {
    env.wms
        .inject_drift(&DriftRequest {
            dc: dc.to_string(),
            item: row.item.clone(),
            subinventory: row.subinventory.clone(),
            lot: row.lot.as_ref().map(|l| l.number.clone()),
            delta: delta.to_string(),
            expiration: None,
        })
        .unwrap()
}
