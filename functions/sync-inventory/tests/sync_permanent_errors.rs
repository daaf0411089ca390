//! Permanent Fusion refusals (an item Fusion does not know at the DC, an expired lot, a serial
//! Fusion does not have) end `sync_failed` with Fusion's reason and a review task, are never
//! retried, keep their WMS reservations, and do not stop the rest of the batch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use adapters::aws::DynamoReviewTasks;
use domain::ledger::SyncState;
use domain::ports::{ReviewTasks, SyncLedger};
use std::collections::BTreeSet;
use support::*;
use test_harness::sim_seed::{self, Control};
use test_harness::wms_sim::{NewLotLine, NewTransaction, Transaction, TxStatus};
use test_harness::{EnvOptions, TestEnv};

const ITEMS: usize = 300;

/// The first seed item of `control` not in `avoid`.
fn item_of(env: &TestEnv, control: Control, avoid: &BTreeSet<String>) -> sim_seed::Item {
    (0..ITEMS)
        .map(|i| sim_seed::item(env.seed.seed, i))
        .find(|it| it.control == control && !avoid.contains(&it.number))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusals_end_sync_failed_with_a_review_task_and_the_rest_syncs() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: ITEMS,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let inbox = env.subscribe_alerts().await.unwrap();
    let generated = env.wms.generate_activity(Some(dc.as_str()), 80).unwrap();
    let mut touched: BTreeSet<String> = generated.iter().map(|t| t.item.clone()).collect();

    // 1. Unknown item: Fusion no longer has a plain item of the batch assigned to the DC.
    let unknown_item = generated
        .iter()
        .find(|t| t.lots.is_empty() && t.serials.is_empty())
        .unwrap()
        .item
        .clone();
    env.fusion.unassign_item(dc.as_str(), &unknown_item);

    // 2. Expired lot: the WMS captured a receipt into a lot that expired before Fusion's today.
    let lot_item = item_of(&env, Control::Lot, &touched);
    touched.insert(lot_item.number.clone());
    let expired = env
        .wms
        .capture(
            dc.as_str(),
            NewTransaction {
                kind: "misc_receipt".into(),
                item: lot_item.number.clone(),
                subinventory: "STORES".into(),
                quantity: "5".into(),
                uom: lot_item.uom.clone(),
                lots: vec![NewLotLine {
                    lot: "LEXPIRED-1".into(),
                    quantity: "5".into(),
                    expiration: Some(env.seed.today - chrono::Duration::days(30)),
                }],
                ..NewTransaction::default()
            },
        )
        .unwrap();

    // 3. Serial mismatch: the WMS issues a serial Fusion does not have on hand.
    let serial_item = item_of(&env, Control::Serial, &touched);
    let row = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .find(|b| b.item == serial_item.number && !b.serials.is_empty())
        .unwrap();
    let serial = row.serials[0].clone();
    env.fusion_remove_serials(dc.as_str(), &row.item, &row.subinventory, std::slice::from_ref(&serial))
        .await
        .unwrap();
    let mismatch = env
        .wms
        .capture(
            dc.as_str(),
            NewTransaction {
                kind: "misc_issue".into(),
                item: row.item.clone(),
                subinventory: row.subinventory.clone(),
                quantity: "-1".into(),
                uom: row.uom.clone(),
                serials: vec![serial.clone()],
                ..NewTransaction::default()
            },
        )
        .unwrap();

    let mut txns: Vec<Transaction> = generated.clone();
    txns.push(expired.clone());
    txns.push(mismatch.clone());
    let (bad, good): (Vec<Transaction>, Vec<Transaction>) = txns
        .iter()
        .cloned()
        .partition(|t| t.item == unknown_item || t.id == expired.id || t.id == mismatch.id);
    assert!(bad.len() >= 3);

    let deps = deps(&env);
    sync_once(&env, &deps, &dc, "m-1", "2026-11-26T23:00Z").await;

    // The rest of the batch synced, and Fusion matches the WMS where it was touched.
    for t in &good {
        let row = deps.ports.ledger.get(&dc, &t.id).await.unwrap().unwrap();
        assert_eq!(row.entry.state, SyncState::Synced, "{}: {:?}", t.id, row.entry);
        assert_eq!(
            env.wms.transaction(dc.as_str(), &t.id).unwrap().status,
            TxStatus::Synced
        );
    }
    assert_onhand_matches(&env, &dc, &touched_keys(&good));
    assert_each_line_landed_once(&env, &good).await;

    // Each refusal: sync_failed, not retryable, Fusion's reason, WMS reservation kept.
    let expect_in_reason = |t: &Transaction| -> String {
        if t.id == expired.id {
            "LEXPIRED-1".into()
        } else if t.id == mismatch.id {
            serial.clone()
        } else {
            unknown_item.clone()
        }
    };
    for t in &bad {
        let row = deps.ports.ledger.get(&dc, &t.id).await.unwrap().unwrap();
        assert_eq!(row.entry.state, SyncState::SyncFailed, "{}: {:?}", t.id, row.entry);
        assert_eq!(row.entry.attempts, 1);
        let failure = row.entry.failure.unwrap();
        assert!(!failure.retryable, "{}: {failure:?}", t.id);
        assert!(
            failure.reason.contains(&expect_in_reason(t)),
            "{}: reason names the cause: {}",
            t.id,
            failure.reason
        );
        let wms = env.wms.transaction(dc.as_str(), &t.id).unwrap();
        assert_eq!(wms.status, TxStatus::SyncFailed, "{}", t.id);
        assert!(wms.last_error.is_some_and(|e| e.contains(&expect_in_reason(t))));
    }
    assert_eq!(
        env.wms.reservations_count(dc.as_str()),
        bad.len(),
        "only the refused keep their reservation"
    );
    let landed = env.fusion_landed_by_reference().await.unwrap();
    for t in &bad {
        assert!(!landed.contains_key(&format!("{}#1", t.id)), "{} never landed", t.id);
    }

    // A review task per refusal, naming the reason.
    let tasks_store: &DynamoReviewTasks = &deps.ports.tasks;
    let tasks = tasks_store.open_tasks(&dc).await.unwrap();
    for t in &bad {
        let task = tasks
            .iter()
            .find(|task| task.key == format!("txn:{}", t.id))
            .unwrap_or_else(|| panic!("no review task for {}: {tasks:?}", t.id));
        assert!(task.detail.contains(&expect_in_reason(t)), "{task:?}");
    }
    assert_eq!(tasks.len(), bad.len(), "{tasks:?}");

    // Never retried: at most one staged POST per refused transaction (the unknown item may be
    // refused before any post), and none on the next run.
    let posts = staged_posts(&env);
    let good_lines = expected_lines(&good, 50) as u64;
    assert!(
        posts >= good_lines && posts <= good_lines + bad.len() as u64,
        "{posts} staged POSTs for {good_lines} good lines and {} refusals",
        bad.len()
    );
    sync_once(&env, &deps, &dc, "m-2", "2026-11-27T00:00Z").await;
    assert_eq!(staged_posts(&env), posts, "a permanent refusal is never posted again");
    assert_eq!(
        tasks_store.open_tasks(&dc).await.unwrap().len(),
        bad.len(),
        "no duplicate tasks"
    );

    // Someone was told.
    let alerts = inbox.drain().await.unwrap();
    let alert = alerts
        .iter()
        .find(|a| a.dc == dc.as_str() && a.message.contains(&expired.id))
        .unwrap_or_else(|| panic!("no alert naming the refusals: {alerts:?}"));
    assert!(alert.message.contains(&mismatch.id), "{}", alert.message);
}
