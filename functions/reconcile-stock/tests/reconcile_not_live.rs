//! The reconciliation of DCs that are not live, on moto and both simulators: a DC being
//! baselined whose WMS and Fusion differ by more than 50 units gets no SNS alert, no WMS hold,
//! no review task and no correction, and its report says why; the same drift on a live DC is
//! alerted and held as usual.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use domain::golive::{move_dc, DcStatus, DcStatusChange, OutboxWatermark};
use domain::ports::{Incidents, ReviewTasks};
use domain::reconciliation::ReconcileSettings;
use reconcile_stock::handler::{handle, Deps};
use serde_json::Value;
use std::time::Duration;
use test_harness::{context, EnvOptions, TestEnv};
use wms_sim::DriftBandsRequest;

fn change(to: DcStatus) -> DcStatusChange {
    DcStatusChange {
        to,
        by: domain::console::UserId::parse("ops.ann").unwrap(),
        at: Utc::now(),
        reason: None,
        watermark: Some(OutboxWatermark(0)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baselining_dc_with_a_drift_over_50_gets_no_alert_hold_or_task_while_a_live_one_does() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 150,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let (live, baselining) = (env.dc(0), env.dc(1));
    env.mark_live(std::slice::from_ref(&live)).await.unwrap();
    let board = env.dc_status().unwrap();
    move_dc(&board, &baselining, change(DcStatus::Planned)).await.unwrap();
    move_dc(&board, &baselining, change(DcStatus::Baselining))
        .await
        .unwrap();
    let inbox = env.subscribe_alerts().await.unwrap();
    let drifts = env
        .wms
        .inject_drift_bands(&DriftBandsRequest {
            dc: None,
            small: 1,
            medium: 1,
            large: 2,
            seed: 5,
        })
        .unwrap();
    assert!(drifts.iter().any(|d| d.dc == baselining.as_str()), "{drifts:?}");

    let deps = Deps {
        ports: env.ports().unwrap(),
        settings: ReconcileSettings::default(),
        dcs: vec![live.clone(), baselining.clone()],
        concurrency: 2,
        statuses: env.dc_status().unwrap(),
    };
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/reconcile-stock/scheduled.json")).unwrap();
    event["time"] = Value::String("2026-11-26T23:15:02Z".into());
    let resp = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, context("req-not-live", Duration::from_secs(600))),
    )
    .await
    .unwrap();
    let resp = serde_json::to_value(resp).unwrap();

    // 1. The baselining DC: compared, found, reported, and nothing done.
    let b = &resp["dcs"][baselining.as_str()];
    let n = |r: &Value, k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {r}"));
    assert!(n(b, "alert") >= 1, "the large drift is found: {b}");
    assert_eq!(b["dry_run"], Value::Bool(true), "{b}");
    assert!(
        b["report_only"]
            .as_str()
            .is_some_and(|w| w.contains("baselining") && w.contains("not live")),
        "{b}"
    );
    for k in [
        "adjustments_posted",
        "tasks_opened",
        "incidents_opened",
        "alerts_published",
        "holds_placed",
    ] {
        assert_eq!(n(b, k), 0, "{k}: {b}");
    }
    assert!(env.wms.holds(baselining.as_str()).is_empty());
    assert!(deps.ports.tasks.open_tasks(&baselining).await.unwrap().is_empty());
    assert!(deps
        .ports
        .incidents
        .open_incidents(&baselining)
        .await
        .unwrap()
        .is_empty());

    // 2. The live DC: the same kind of drift is alerted and held.
    let l = &resp["dcs"][live.as_str()];
    assert!(l.get("report_only").is_none(), "{l}");
    assert_eq!(n(l, "holds_placed"), n(l, "alert"), "{l}");
    assert!(n(l, "alerts_published") >= 1, "{l}");

    // 3. Every alert on the topic is the live DC's.
    let alerts = inbox.drain().await.unwrap();
    assert_eq!(alerts.len() as u64, n(l, "alerts_published"));
    assert!(alerts.iter().all(|a| a.dc == live.as_str()), "{alerts:?}");
}
