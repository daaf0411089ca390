//! A full DC sync of a few thousand mixed WMS transactions through the real handler: every
//! transaction ends `synced`, every reservation is released, the outbox is empty, every line
//! landed in Fusion once, and Fusion's on-hand equals the WMS's at every touched key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use domain::ledger::SyncState;
use std::time::Instant;
use support::*;
use test_harness::wms_sim::TxStatus;
use test_harness::{EnvOptions, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_dc_sync_of_mixed_transactions_leaves_fusion_equal_to_the_wms() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 800,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 2_000).unwrap();
    assert_eq!(txns.len(), 2_000);
    let transfers = txns.iter().filter(|t| t.to_subinventory.is_some()).count();
    let lots = txns.iter().filter(|t| !t.lots.is_empty()).count();
    let serials = txns.iter().filter(|t| !t.serials.is_empty()).count();
    let plain = txns
        .iter()
        .filter(|t| t.lots.is_empty() && t.serials.is_empty())
        .count();
    assert!(
        transfers > 100 && lots > 100 && serials > 100 && plain > 100,
        "the mix covers every kind: transfers {transfers}, lot {lots}, serial {serials}, plain {plain}"
    );
    assert_eq!(env.wms.reservations_count(dc.as_str()), 2_000);

    let deps = deps(&env);
    let started = Instant::now();
    sync_once(&env, &deps, &dc, "m-full", "2026-11-26T23:00Z").await;
    eprintln!("synced 2,000 transactions in {:?}", started.elapsed());

    let synced: std::collections::BTreeSet<String> = deps
        .ports
        .ledger
        .rows_by_state(&dc, SyncState::Synced)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.txn.id().to_string())
        .collect();
    let missing: Vec<&String> = txns.iter().map(|t| &t.id).filter(|id| !synced.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} transactions not synced in the ledger, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let counts = ledger_counts(&deps, &dc).await;
    assert_eq!(counts["synced"], 2_000, "{counts:?}");
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0, "every reservation released");
    assert_eq!(env.wms.outbox_len(dc.as_str()), 0, "outbox drained");
    for t in &txns {
        assert_eq!(
            env.wms.transaction(dc.as_str(), &t.id).unwrap().status,
            TxStatus::Synced,
            "{}",
            t.id
        );
    }

    assert_eq!(
        staged_posts(&env),
        expected_lines(&txns, 50) as u64,
        "one staged POST per line, no retries on a healthy Fusion"
    );
    assert_each_line_landed_once(&env, &txns).await;
    let compared = assert_onhand_matches(&env, &dc, &touched_keys(&txns));
    assert!(compared > 1_000, "{compared} keys compared");
}
