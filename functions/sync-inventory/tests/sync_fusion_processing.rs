//! "Synced" means Fusion processed it, end to end: the real handler on moto and both
//! simulators, with Fusion processing rows in the Background (some failing), an Online post
//! answered 408 ahead of a dependent issue, rejected credentials, and mixed-case UOM codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use adapters::fusion::TransactionMode;
use domain::ledger::SyncState;
use domain::ports::ReviewTasks;
use domain::ports::SyncLedger;
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::collections::BTreeSet;
use std::time::Duration;
use support::*;
use test_harness::fusion_sim::faults::PROCESS_FAIL_EXPLANATION;
use test_harness::fusion_sim::{FaultStatus, Faults, ScriptedFault};
use test_harness::wms_sim::{NewTransaction, Transaction, TxStatus};
use test_harness::{EnvOptions, TestEnv};

async fn states(deps: &sync_inventory::handler::Deps, dc: &domain::DcCode, txns: &[Transaction]) -> Vec<SyncState> {
    let mut out = Vec::new();
    for t in txns {
        let row = deps.ports.ledger.get(dc, &t.id).await.unwrap();
        out.push(row.map_or(SyncState::PendingSync, |r| r.entry.state));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_processing_failures_are_detected_alerted_and_never_left_synced() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 200,
        transaction_mode: TransactionMode::Background,
        fusion_faults: Faults {
            process_fail_rate: 0.1,
            rng_seed: 11,
            ..Faults::default()
        },
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let inbox = env.subscribe_alerts().await.unwrap();
    let txns = env.wms.generate_activity(Some(dc.as_str()), 120).unwrap();
    let deps = deps(&env);

    sync_once(&env, &deps, &dc, "m-1", "2026-11-30T01:00Z").await;
    let first = states(&deps, &dc, &txns).await;
    assert!(
        !first.contains(&SyncState::Synced),
        "nothing is synced before Fusion processed it"
    );
    assert!(first.contains(&SyncState::Accepted));
    assert_eq!(
        env.wms.reservations_count(dc.as_str()),
        txns.len(),
        "every reservation held"
    );

    // Fusion's job runs between syncs; each sync confirms, fails or posts what waited.
    for i in 0..12 {
        env.fusion.process_staged();
        sync_once(
            &env,
            &deps,
            &dc,
            &format!("m-{}", i + 2),
            &format!("2026-11-30T{:02}:00Z", i + 2),
        )
        .await;
        let now = states(&deps, &dc, &txns).await;
        if now
            .iter()
            .all(|s| matches!(s, SyncState::Synced | SyncState::SyncFailed))
        {
            break;
        }
    }
    let end = states(&deps, &dc, &txns).await;
    let (synced, failed): (Vec<_>, Vec<_>) = txns.iter().zip(&end).partition(|(_, s)| **s == SyncState::Synced);
    assert!(
        failed.iter().all(|(_, s)| **s == SyncState::SyncFailed),
        "every transaction settled: {:?}",
        failed.iter().map(|(t, s)| (&t.id, s)).collect::<Vec<_>>()
    );
    assert!(!failed.is_empty(), "10% processing failures were injected");

    // Exactly the rows Fusion failed at processing are sync_failed, with Fusion's own text.
    let fusion_failed: BTreeSet<String> = env
        .fusion
        .staged_rows()
        .iter()
        .filter(|r| r["ProcessFlag"].as_i64() == Some(3))
        .filter_map(|r| {
            r["TransactionReference"]
                .as_str()
                .map(|s| s.split('#').next().unwrap_or(s).to_string())
        })
        .collect();
    let ours_failed: BTreeSet<String> = failed.iter().map(|(t, _)| t.id.clone()).collect();
    assert_eq!(ours_failed, fusion_failed, "sync_failed equals what Fusion failed");
    let mut random = 0;
    for (t, _) in &failed {
        let row = deps.ports.ledger.get(&dc, &t.id).await.unwrap().unwrap();
        let failure = row.entry.failure.unwrap();
        assert!(!failure.retryable, "{}: {failure:?}", t.id);
        assert!(
            failure.reason.contains("could not process"),
            "{}: {}",
            t.id,
            failure.reason
        );
        random += usize::from(failure.reason.contains(PROCESS_FAIL_EXPLANATION));
        let wms = env.wms.transaction(dc.as_str(), &t.id).unwrap();
        assert_eq!(wms.status, TxStatus::SyncFailed, "{}", t.id);
    }
    assert!(random > 0, "the injected failures carry Fusion's explanation");
    for (t, _) in &synced {
        assert_eq!(
            env.wms.transaction(dc.as_str(), &t.id).unwrap().status,
            TxStatus::Synced
        );
    }
    assert_eq!(
        env.wms.reservations_count(dc.as_str()),
        failed.len(),
        "only the failed keep their reservation"
    );

    let tasks = deps.ports.tasks.open_tasks(&dc).await.unwrap();
    for (t, _) in &failed {
        assert!(
            tasks.iter().any(|k| k.key == format!("txn:{}", t.id)),
            "no task for {}",
            t.id
        );
    }
    let alerts = inbox.drain().await.unwrap();
    let alerted: BTreeSet<&str> = failed
        .iter()
        .filter(|(t, _)| alerts.iter().any(|a| a.message.contains(&t.id)))
        .map(|(t, _)| t.id.as_str())
        .collect();
    assert!(!alerted.is_empty(), "processing failures are alerted: {alerts:?}");
    assert_each_line_landed_once(&env, &txns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_408_holds_the_items_next_transaction_until_fusion_applied_the_first() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 200,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let row = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .find(|b| b.lot.is_none() && b.serials.is_empty() && b.subinventory == "STORES" && b.quantity > Decimal::ZERO)
        .expect("a plain balance");
    let capture = |kind: &str, quantity: Decimal| {
        env.wms
            .capture(
                dc.as_str(),
                NewTransaction {
                    kind: kind.into(),
                    item: row.item.clone(),
                    subinventory: "STORES".into(),
                    quantity: quantity.to_string(),
                    uom: row.uom.clone(),
                    ..NewTransaction::default()
                },
            )
            .unwrap()
    };
    // The issue needs the receipt: without it, Fusion would go negative and refuse it.
    let receipt = capture("misc_receipt", Decimal::from(10));
    let issue = capture("misc_issue", -(row.quantity + Decimal::from(5)));
    env.fusion.set_faults(Faults {
        fail_next: vec![ScriptedFault {
            endpoint: "POST inventoryStagedTransactions".into(),
            status: FaultStatus::Code(408),
            count: 1,
        }],
        ..Faults::default()
    });
    let deps = deps(&env);

    sync_once(&env, &deps, &dc, "m-1", "2026-11-30T01:00Z").await;
    let s = states(&deps, &dc, &[receipt.clone(), issue.clone()]).await;
    assert_eq!(s, vec![SyncState::Accepted, SyncState::PendingSync], "the issue waits");
    assert_eq!(
        staged_posts(&env),
        1,
        "the issue was not posted behind the staged receipt"
    );

    env.fusion.process_staged();
    sync_once(&env, &deps, &dc, "m-2", "2026-11-30T02:00Z").await;
    let s = states(&deps, &dc, &[receipt.clone(), issue.clone()]).await;
    assert_eq!(s, vec![SyncState::Synced, SyncState::Synced]);
    let key = [(row.item.clone(), "STORES".to_string(), None)].into_iter().collect();
    assert_onhand_matches(&env, &dc, &key);
    assert_each_line_landed_once(&env, &[receipt, issue]).await;
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_fusion_password_fails_nothing_alerts_once_and_everything_syncs_once_fixed() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 200,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let inbox = env.subscribe_alerts().await.unwrap();
    let txns = env.wms.generate_activity(Some(dc.as_str()), 40).unwrap();
    let mut wrong = env.fusion_config();
    wrong.credentials = adapters::fusion::Credentials::Basic {
        user: "integration.user".into(),
        password: SecretString::from("not-the-password"),
    };
    let bad = sync_inventory::handler::Deps {
        ports: env.ports_with(wrong).unwrap(),
        settings: domain::sync::SyncSettings::default(),
    };
    env.fusion.reset_stats();

    let resp = deliver(
        &bad,
        "m-1",
        env.sync_message(&dc, "2026-11-30T01:00Z"),
        Duration::from_secs(600),
    )
    .await;
    assert_eq!(resp.batch_item_failures.len(), 1, "the message returns for retry");
    let logins: u64 = env.fusion.stats().values().sum();
    assert!(
        logins <= 2,
        "at most 2 login attempts per run, saw {logins}: {:?}",
        env.fusion.stats()
    );
    // A redelivery to the same container sends nothing: the rejection is held.
    let resp = deliver(
        &bad,
        "m-1",
        env.sync_message(&dc, "2026-11-30T01:00Z"),
        Duration::from_secs(600),
    )
    .await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert_eq!(
        env.fusion.stats().values().sum::<u64>(),
        logins,
        "no login while the rejection holds"
    );

    for (t, s) in txns.iter().zip(states(&bad, &dc, &txns).await) {
        assert_eq!(s, SyncState::PendingSync, "{}", t.id);
        let wms = env.wms.transaction(dc.as_str(), &t.id).unwrap();
        assert_eq!(
            wms.status,
            TxStatus::PendingSync,
            "{}: nothing reported to the WMS",
            t.id
        );
    }
    let tasks = bad.ports.tasks.open_tasks(&dc).await.unwrap();
    let keys: Vec<String> = tasks.iter().map(|t| t.key.to_string()).collect();
    assert_eq!(
        keys,
        vec!["systemic:fusion"],
        "one incident task, no task per transaction"
    );
    let alerts = inbox.drain().await.unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "one critical alert for the incident, not one per delivery: {alerts:?}"
    );
    assert!(alerts
        .iter()
        .all(|a| a.severity == "critical" && a.message.contains("FUSION_SECRET_ARN")));

    // The secret is fixed (a container with the right password): everything syncs.
    let good = deps(&env);
    sync_once(&env, &good, &dc, "m-2", "2026-11-30T02:00Z").await;
    for (t, s) in txns.iter().zip(states(&good, &dc, &txns).await) {
        assert_eq!(s, SyncState::Synced, "{}", t.id);
        let row = good.ports.ledger.get(&dc, &t.id).await.unwrap().unwrap();
        assert_eq!(row.entry.attempts, 1, "{}: the rejected runs cost no attempt", t.id);
    }
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0);
    assert_each_line_landed_once(&env, &txns).await;
    assert!(
        good.ports.tasks.open_tasks(&dc).await.unwrap().is_empty(),
        "the incident closed itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_whose_uom_is_mixed_case_sync_exactly() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 200,
        uom_style: test_harness::sim_seed::UomStyle::Mixed,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 60).unwrap();
    assert!(txns.iter().any(|t| t.uom == "Ea"), "the seed uses Ea");
    let deps = deps(&env);
    sync_once(&env, &deps, &dc, "m-1", "2026-11-30T01:00Z").await;
    for (t, s) in txns.iter().zip(states(&deps, &dc, &txns).await) {
        assert_eq!(s, SyncState::Synced, "{} in {}", t.id, t.uom);
    }
    assert_onhand_matches(&env, &dc, &touched_keys(&txns));
}
