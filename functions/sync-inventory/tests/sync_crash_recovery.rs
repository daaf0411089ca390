//! A crash between Fusion accepting a post and the ledger saying so never double-posts: a
//! connection dropped after Fusion processed the post is resolved by Source* lookup, and a
//! claim whose container died before the ledger write is recovered once its lease lapses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use domain::ledger::SyncState;
use domain::sync::{sync_dc, SyncSettings};
use std::time::Duration;
use support::*;
use test_harness::fusion_sim::{FaultStatus, Faults, ScriptedFault};
use test_harness::wms_sim::TxStatus;
use test_harness::{EnvOptions, TestEnv};

async fn spawn() -> TestEnv {
    TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 300,
        ..EnvOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_fusion_accepted_before_dropping_the_connection_is_synced_with_one_post() {
    let env = spawn().await;
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 30).unwrap();
    env.fusion.set_faults(Faults {
        fail_next: vec![ScriptedFault {
            endpoint: "POST inventoryStagedTransactions".into(),
            status: FaultStatus::Word("drop_after_accept".into()),
            count: 1,
        }],
        ..Faults::default()
    });
    let deps = deps(&env);

    sync_once(&env, &deps, &dc, "m-drop", "2026-11-26T23:00Z").await;

    assert!(env.fusion.faults().fail_next.is_empty(), "the scripted drop happened");
    assert_eq!(ledger_counts(&deps, &dc).await["synced"], txns.len());
    assert_eq!(
        staged_posts(&env),
        expected_lines(&txns, 50) as u64,
        "the dropped post was looked up, not re-posted"
    );
    assert_each_line_landed_once(&env, &txns).await;
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_dropped_connections_after_accept_never_double_post() {
    let env = spawn().await;
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 60).unwrap();
    env.fusion.set_faults(Faults {
        accept_then_drop_rate: 0.3,
        ..Faults::default()
    });
    let deps = deps(&env);

    sync_once(&env, &deps, &dc, "m-drops", "2026-11-26T23:00Z").await;

    assert_eq!(ledger_counts(&deps, &dc).await["synced"], txns.len());
    assert_eq!(staged_posts(&env), expected_lines(&txns, 50) as u64);
    assert_each_line_landed_once(&env, &txns).await;
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_died_before_the_ledger_write_is_recovered_by_source_lookup_after_its_lease() {
    let env = spawn().await;
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 40).unwrap();
    // A short transaction lease, long enough for one check run inside it.
    let settings = SyncSettings {
        txn_lease: chrono::Duration::seconds(4),
        ..SyncSettings::default()
    };
    // The first container posts everything but "dies" before confirming one transaction.
    // It is the last transaction captured, so its claim is among the last of the run.
    let mut crashing = TestPorts::new(&env, 1, false);
    crashing.ledger.only_for(&txns[txns.len() - 1].id);
    let deadline = chrono::Utc::now() + chrono::Duration::minutes(10);
    let first = sync_dc(&crashing, &settings, &dc, "run-crash", deadline).await.unwrap();
    assert_eq!(first.failed, 0, "{first:?}");
    assert!(first.skipped >= 1, "{first:?}");

    let stuck = crashing
        .inner
        .ledger
        .rows_by_state(&dc, SyncState::InFlight)
        .await
        .unwrap();
    assert_eq!(stuck.len(), 1, "exactly one claim left in flight: {stuck:?}");
    let stuck_id = stuck[0].txn.id().to_string();
    let lease_until = stuck[0].entry.lease_until.unwrap();
    let stuck_txn = txns.iter().find(|t| t.id == stuck_id).unwrap();
    let stuck_lines = expected_lines(std::slice::from_ref(stuck_txn), 50);
    let landed = env.fusion_landed_by_reference().await.unwrap();
    for line in 1..=stuck_lines {
        assert_eq!(
            landed.get(&format!("{stuck_id}#{line}")),
            Some(&1),
            "Fusion has the line"
        );
    }
    assert_eq!(
        env.wms.transaction(dc.as_str(), &stuck_id).unwrap().status,
        TxStatus::PendingSync,
        "the WMS keeps the reservation until the ledger says synced"
    );
    assert!(env.wms.reservations_count(dc.as_str()) >= 1);
    assert_eq!(staged_posts(&env), expected_lines(&txns, 50) as u64);

    // A second run inside the lease leaves the claim alone...
    let deps = deps_with(&env, settings.clone());
    sync_once(&env, &deps, &dc, "m-early", "2026-11-26T23:00Z").await;
    assert!(
        chrono::Utc::now() < lease_until,
        "the check run finished inside the lease"
    );
    assert_eq!(
        ledger_states(&deps, &dc, std::slice::from_ref(&stuck_id)).await[&stuck_id],
        Some(SyncState::InFlight),
        "a live claim is never taken over"
    );

    // ...and once the lease has lapsed, the next run finds the lines by Source* reference.
    let wait = (lease_until - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    sync_once(&env, &deps, &dc, "m-recover", "2026-11-27T00:00Z").await;

    assert_eq!(
        ledger_states(&deps, &dc, std::slice::from_ref(&stuck_id)).await[&stuck_id],
        Some(SyncState::Synced)
    );
    assert_eq!(
        staged_posts(&env),
        expected_lines(&txns, 50) as u64,
        "nothing posted twice"
    );
    assert_each_line_landed_once(&env, &txns).await;
    assert_eq!(ledger_counts(&deps, &dc).await["synced"], txns.len());
    assert_eq!(
        env.wms.transaction(dc.as_str(), &stuck_id).unwrap().status,
        TxStatus::Synced
    );
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0, "every reservation released");
}
