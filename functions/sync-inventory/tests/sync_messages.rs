//! What the handler does with messages it cannot run and with a short time budget: a
//! malformed body or an unknown DC is acknowledged with an alert (never looped through the
//! queue), and a run that reaches its deadline stops taking work, says so in its run report,
//! leaves the rest pending with reservations kept, and the next message finishes them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use domain::ledger::SyncState;
use domain::sync::SyncSettings;
use std::time::Duration;
use support::*;
use test_harness::fusion_sim::Faults;
use test_harness::wms_sim::TxStatus;
use test_harness::{EnvOptions, TestEnv};

async fn spawn(fusion_faults: Faults) -> TestEnv {
    TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 300,
        fusion_faults,
        ..EnvOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_acknowledged_with_an_alert_and_the_rest_of_the_batch_runs() {
    let env = spawn(Faults::default()).await;
    let dc = env.dc(0);
    let inbox = env.subscribe_alerts().await.unwrap();
    let txns = env.wms.generate_activity(Some(dc.as_str()), 10).unwrap();
    let deps = deps(&env);

    let resp = deliver_batch(
        &deps,
        "req-malformed",
        &[
            ("m-garbage", "{not json".to_string()),
            ("m-no-dc", r#"{"slot":"2026-11-26T23:00Z"}"#.to_string()),
            ("m-good", env.sync_message(&dc, "2026-11-26T23:00Z")),
        ],
        Duration::from_secs(600),
    )
    .await;

    assert!(
        resp.batch_item_failures.is_empty(),
        "malformed messages are acknowledged, never retried: {:?}",
        resp.batch_item_failures
    );
    assert_eq!(
        ledger_counts(&deps, &dc).await["synced"],
        txns.len(),
        "the good message ran"
    );
    let alerts = inbox.drain().await.unwrap();
    let malformed: Vec<_> = alerts.iter().filter(|a| a.subject.contains("malformed")).collect();
    assert_eq!(malformed.len(), 2, "one alert per malformed message: {alerts:?}");
    assert!(
        malformed.iter().any(|a| a.message.contains("{not json")),
        "{malformed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_an_unknown_dc_is_acknowledged_with_an_alert_not_looped() {
    let env = spawn(Faults::default()).await;
    let inbox = env.subscribe_alerts().await.unwrap();
    let deps = deps(&env);
    let unknown = domain::DcCode::parse("DC99").unwrap();

    let resp = deliver(
        &deps,
        "m-dc99",
        env.sync_message(&unknown, "2026-11-26T23:00Z"),
        Duration::from_secs(600),
    )
    .await;

    assert!(
        resp.batch_item_failures.is_empty(),
        "an unknown DC never succeeds, so the message must not loop: {:?}",
        resp.batch_item_failures
    );
    let alerts = inbox.drain().await.unwrap();
    assert!(
        alerts.iter().any(|a| a.dc == "DC99" && a.message.contains("DC99")),
        "{alerts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_out_of_time_stops_early_and_the_next_message_finishes() {
    // 100 ms per Fusion call: 120 transactions need far more than the 2 s budget.
    let env = spawn(Faults {
        latency_ms: 100,
        ..Faults::default()
    })
    .await;
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 120).unwrap();
    let settings = SyncSettings {
        safety_margin: chrono::Duration::milliseconds(500),
        ..SyncSettings::default()
    };
    let deps = deps_with(&env, settings);
    let slot = "2026-11-26T23:00Z";

    let resp = deliver_batch(
        &deps,
        "budget01-request",
        &[("m-short", env.sync_message(&dc, slot))],
        Duration::from_millis(2_500),
    )
    .await;
    assert!(resp.batch_item_failures.is_empty(), "stopping early is not a failure");

    let run_id = format!("sync:{dc}:{slot}:budget01");
    let report = deps
        .ports
        .runs
        .get(&dc, domain::ports::RunKind::Sync, &run_id)
        .await
        .unwrap()
        .unwrap();
    let deferred = report.figures["deferred"];
    assert!(deferred > 0, "{report:?}");
    assert!(report.notes.iter().any(|n| n.contains("stopped early")), "{report:?}");
    let synced = ledger_counts(&deps, &dc).await["synced"];
    assert!(synced < txns.len(), "{synced} synced");
    let synced_ids: std::collections::BTreeSet<String> = deps
        .ports
        .ledger
        .rows_by_state(&dc, SyncState::Synced)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.txn.id().to_string())
        .collect();
    let mut untouched = 0;
    for t in &txns {
        let wms = env.wms.transaction(dc.as_str(), &t.id).unwrap();
        if !synced_ids.contains(&t.id) {
            assert_eq!(wms.status, TxStatus::PendingSync, "{} keeps its reservation", t.id);
            untouched += 1;
        }
    }
    assert!(untouched as i64 >= deferred, "{untouched} pending, {deferred} deferred");
    assert_eq!(env.wms.reservations_count(dc.as_str()), untouched);

    sync_once(&env, &deps, &dc, "m-next", "2026-11-27T00:00Z").await;
    assert_eq!(ledger_counts(&deps, &dc).await["synced"], txns.len());
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0);
    assert_each_line_landed_once(&env, &txns).await;
}
