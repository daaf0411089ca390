//! Rows staged in Fusion's interface and not yet processed are in flight, not variances: the
//! real reconciliation handler on moto and both simulators, with Fusion in Background mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters::fusion::TransactionMode;
use domain::sync::{sync_dc, SyncSettings};
use serde_json::Value;
use test_harness::EnvOptions;

mod support;
use support::{live_dc01, n, reconcile};

fn assert_no_variance(r: &Value) {
    assert_eq!(r["variances"].as_array().map(Vec::len), Some(0), "{r}");
    for field in [
        "auto_correct",
        "review",
        "alert",
        "adjustments_posted",
        "incidents_opened",
        "holds_placed",
    ] {
        assert_eq!(n(r, field), 0, "{field}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_staged_unprocessed_rows_raise_no_variance_before_or_after_fusion_processes_them() {
    let (env, deps) = live_dc01(EnvOptions {
        items: 300,
        transaction_mode: TransactionMode::Background,
        ..EnvOptions::default()
    })
    .await;
    let dc = env.dc(0);
    let inbox = env.subscribe_alerts().await.unwrap();
    env.wms.generate_activity(Some(dc.as_str()), 70).unwrap();
    let deadline = chrono::Utc::now() + chrono::Duration::minutes(5);
    let sync = sync_dc(&deps.ports, &SyncSettings::default(), &dc, "sync:1", deadline)
        .await
        .unwrap();
    assert!(sync.accepted >= 50, "at least 50 rows staged: {sync:?}");
    let staged = env.fusion.staged_rows().len();
    assert_eq!(
        staged as u64, sync.accepted,
        "every accepted post waits in the interface"
    );

    let r = reconcile(&deps, "2026-11-30T01:15:02Z").await;
    assert_no_variance(&r);
    assert_eq!(n(&r, "still_unprocessed"), sync.accepted, "{r}");

    // Fusion processes half; the reconciliation confirms those and still sees no variance.
    let half = staged / 2;
    let processed = env.fusion.process_oldest(half);
    assert_eq!(processed.processed, half);
    let r = reconcile(&deps, "2026-11-30T01:30:02Z").await;
    assert_no_variance(&r);
    assert_eq!(n(&r, "confirmed"), half as u64, "{r}");

    // A row someone staged in Fusion by hand: its key is skipped, never corrected.
    let row = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .find(|b| b.lot.is_none() && b.serials.is_empty() && b.subinventory == "BULK")
        .unwrap();
    reqwest::Client::new()
        .post(format!("{}/inventoryStagedTransactions", env.fusion.api_base()))
        .basic_auth("integration.user", Some("Welcome1"))
        .json(&serde_json::json!({
            "OrganizationCode": dc.as_str(), "ItemNumber": row.item, "SubinventoryCode": "BULK",
            "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": 3,
            "TransactionUnitOfMeasure": row.uom, "TransactionMode": 3, "SourceCode": "MANUAL",
            "SourceHeaderId": "X1", "SourceLineId": 1, "TransactionReference": "by hand",
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let r = reconcile(&deps, "2026-11-30T01:45:02Z").await;
    assert_no_variance(&r);
    assert_eq!(n(&r, "staged_foreign_rows"), 1, "{r}");

    // All processed: confirmed, and Fusion equals the WMS without any correction.
    env.fusion.process_staged();
    let r = reconcile(&deps, "2026-11-30T02:00:02Z").await;
    assert_eq!(n(&r, "still_unprocessed"), 0, "{r}");
    let variances = r["variances"].as_array().unwrap();
    assert!(
        variances.iter().all(|v| v["key"]["item"] == row.item.as_str()),
        "only the hand-made receipt differs: {r}"
    );
    let alerts = inbox.drain().await.unwrap();
    assert!(alerts.iter().all(|a| !a.message.contains("variance")), "{alerts:?}");
}
