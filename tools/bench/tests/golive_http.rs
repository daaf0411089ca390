//! The go-live baseline over real HTTP: both simulators, the real Fusion and WMS clients, the
//! engine of `domain::golive::baseline`, in-memory tables.
//!
//! - three DCs, one from an empty Fusion and two from a Fusion that differs in about 20% of
//!   its balances (lots and serials included), each planned, applied, verified and cut over
//!   while the WMS keeps capturing transactions; then the hourly sync posts exactly those,
//!   once, and a reconciliation finds nothing;
//! - an apply killed at random points (its future dropped mid-flight, with lost answers and
//!   408s from Fusion) for 20 seeds: every resumed run ends with Fusion equal to the WMS and
//!   no balance line applied twice;
//! - lines Fusion's processing refuses get one review task each; the rest are applied.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::Utc;
use domain::golive::baseline::{
    apply_plan, cutover, take_plan, verify_baseline, BaselinePlan, BaselineSettings, PlanId,
};
use domain::golive::DcStatus;
use domain::ids::DcCode;
use domain::reconciliation::{reconcile_dc, ReconcileSettings};
use domain::sync::{sync_dc, SyncSettings};
use fusion_sim::{FaultStatus, RunningSim, ScriptedFault};
use invsync_bench::golive::{dc_codes, fusion_client, start_sims, wms_client, GoLivePorts};
use wms_sim::RunningWms;

fn user() -> domain::console::UserId {
    domain::console::UserId::parse("go-live").unwrap()
}

fn deadline() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(15)
}

async fn apply_to_end(p: &GoLivePorts, s: &BaselineSettings, dc: &DcCode, plan: &PlanId) {
    for _ in 0..40 {
        let r = apply_plan(p, s, dc, plan, &user(), deadline()).await.unwrap();
        if !r.more_to_do {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the apply of {plan} never finished");
}

/// Every WMS balance of `dc` equals Fusion's (quantity, and serials).
fn assert_fusion_equals_wms(fusion: &RunningSim, wms: &RunningWms, dc: &DcCode, what: &str) {
    let rows = wms.balances(dc.as_str());
    assert!(!rows.is_empty());
    for b in rows {
        let lot = b.lot.as_ref().map(|l| l.number.as_str());
        assert_eq!(
            fusion.onhand(dc.as_str(), &b.item, &b.subinventory, lot),
            b.quantity,
            "{what}: {dc} {} {} {lot:?}",
            b.item,
            b.subinventory
        );
        if !b.serials.is_empty() {
            assert_eq!(
                fusion.serials(dc.as_str(), &b.item, &b.subinventory),
                b.serials,
                "{what}"
            );
        }
    }
}

fn staged_posts(fusion: &RunningSim) -> u64 {
    fusion.request_count("POST inventoryStagedTransactions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_dcs_go_live_from_empty_and_differing_fusion_and_the_outbox_after_the_watermark_syncs_once() {
    let (fusion, wms) = start_sims(3, 120, 42, 0).await.unwrap();
    let dcs = dc_codes(3).unwrap();
    assert!(fusion.clear_onhand(dcs[0].as_str()) > 0);
    assert!(fusion.scramble_onhand(dcs[1].as_str(), 1, 0.2) > 0);
    assert!(fusion.scramble_onhand(dcs[2].as_str(), 2, 0.2) > 0);
    let s = BaselineSettings {
        chunk_size: 40,
        ..BaselineSettings::default()
    };
    for dc in &dcs {
        let p = GoLivePorts::new(fusion_client(&fusion, 8).unwrap(), wms_client(&wms).unwrap());
        let posts_before = staged_posts(&fusion);
        // 1. Plan (a dry run: nothing changes in Fusion).
        let taken = take_plan(&p, &s, dc, &user()).await.unwrap();
        let summary = &taken.plan.summary;
        assert!(summary.lines_to_apply > 0, "{dc}: {summary:?}");
        assert_eq!(
            fusion
                .balance_applications()
                .keys()
                .filter(|k| k.0 == dc.as_str())
                .count(),
            0
        );
        // 2. The WMS keeps working during the baseline.
        let during = wms.generate_activity(Some(dc.as_str()), 6).unwrap();
        assert!(during.iter().all(|t| t.sequence > taken.plan.watermark.0));
        // 3. Apply, verify, cut over; nothing is posted as a transaction before cut-over.
        apply_to_end(&p, &s, dc, &taken.plan.id).await;
        let v = verify_baseline(&p, &s, dc, &taken.plan.id, &user(), deadline())
            .await
            .unwrap();
        assert!(v.passed, "{dc}: {:?}", v.variances);
        assert_eq!(
            staged_posts(&fusion),
            posts_before,
            "none of the WMS transactions was posted before cut-over"
        );
        let c = cutover(&p, dc, &taken.plan.id, &user()).await.unwrap();
        assert_eq!(c.status.status, DcStatus::Live);
        // 4. The hourly sync posts what came after the watermark, once.
        let first = sync_dc(&p, &SyncSettings::default(), dc, "sync-1", deadline())
            .await
            .unwrap();
        assert_eq!(
            (first.synced, first.failed, first.behind_watermark),
            (6, 0, 0),
            "{first:?}"
        );
        let again = sync_dc(&p, &SyncSettings::default(), dc, "sync-2", deadline())
            .await
            .unwrap();
        assert_eq!(again.synced + again.already_synced, 0, "{again:?}");
        assert_eq!(wms.outbox_len(dc.as_str()), 0);
        // 5. The reconciliation finds nothing to do: no variance, no alert, no hold.
        let rec = reconcile_dc(&p, &ReconcileSettings::default(), dc, "rec-1", deadline())
            .await
            .unwrap();
        assert_eq!(rec.auto_correct + rec.review + rec.alert, 0, "{:?}", rec.variances);
        assert!(p.alerts.alerts().is_empty());
        assert!(wms.holds(dc.as_str()).is_empty());
        assert_fusion_equals_wms(&fusion, &wms, dc, "after cut-over");
    }
    let posts = staged_posts(&fusion);
    assert!(posts >= 18, "every DC's 6 transactions were posted: {posts}");
    let twice: Vec<_> = fusion
        .balance_applications()
        .into_iter()
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(twice.is_empty(), "{twice:?}");
    fusion.shutdown().await;
    wms.shutdown().await;
}

/// A DC whose apply is killed after `kill_ms` (its future dropped), with `fault` scripted on
/// one balance request, then resumed until done.
async fn killed_and_resumed(seed: u64) -> bool {
    let (fusion, wms) = start_sims(1, 60, 1000 + seed, 10).await.unwrap();
    let dc = dc_codes(1).unwrap().remove(0);
    fusion.scramble_onhand(dc.as_str(), seed, 0.5);
    let s = BaselineSettings {
        chunk_size: 4,
        chunks_in_flight: 2,
        chunk_lease: chrono::Duration::milliseconds(400),
        ..BaselineSettings::default()
    };
    let p = GoLivePorts::new(fusion_client(&fusion, 4).unwrap(), wms_client(&wms).unwrap());
    let taken = take_plan(&p, &s, &dc, &user()).await.unwrap();
    let plan: &BaselinePlan = &taken.plan;
    let status = match seed % 4 {
        0 => FaultStatus::Word("408".into()),
        1 => FaultStatus::Word("drop_after_accept".into()),
        2 => FaultStatus::Code(503),
        _ => FaultStatus::Word("reset".into()),
    };
    let mut faults = fusion.faults();
    faults.fail_next = vec![ScriptedFault {
        endpoint: "inventoryBalanceTransactions".into(),
        status,
        count: 1 + (seed % 3) as u32,
    }];
    fusion.set_faults(faults);
    // Every request takes at least 10 ms and the chunks go two at a time: the whole apply takes
    // longer than the latest kill.
    let kill_after = Duration::from_millis(3 + (seed * 37) % 70);
    let killed = tokio::time::timeout(kill_after, apply_plan(&p, &s, &dc, &plan.id, &user(), deadline())).await;
    // The lease of any chunk the killed run held lapses; its requests have long finished.
    tokio::time::sleep(Duration::from_millis(450)).await;
    apply_to_end(&p, &s, &dc, &plan.id).await;
    let twice: Vec<_> = fusion
        .balance_applications()
        .into_iter()
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "seed {seed} (killed: {}): applied twice {twice:?}",
        killed.is_err()
    );
    assert_eq!(
        fusion.balance_applications().len() as u64,
        plan.summary.lines_to_apply,
        "seed {seed}: every line applied once"
    );
    assert_fusion_equals_wms(&fusion, &wms, &dc, &format!("seed {seed}"));
    fusion.shutdown().await;
    wms.shutdown().await;
    killed.is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_at_random_points_resumes_to_the_wms_state_without_applying_a_line_twice() {
    let mut killed = 0;
    for seed in 0..20 {
        killed += usize::from(killed_and_resumed(seed).await);
    }
    println!("{killed} of 20 runs were killed before they finished");
    assert!(
        killed >= 12,
        "only {killed} of 20 runs were killed before they finished"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_fusion_refuses_get_a_review_task_each_and_the_rest_is_applied() {
    let (fusion, wms) = start_sims(1, 80, 7, 0).await.unwrap();
    let dc = dc_codes(1).unwrap().remove(0);
    fusion.clear_onhand(dc.as_str());
    let p = GoLivePorts::new(fusion_client(&fusion, 8).unwrap(), wms_client(&wms).unwrap());
    let s = BaselineSettings {
        chunk_size: 25,
        ..BaselineSettings::default()
    };
    let taken = take_plan(&p, &s, &dc, &user()).await.unwrap();
    let chunks = domain::ports::BaselineCheckpoints::chunks(&p.checkpoints, &dc, &taken.plan.id)
        .await
        .unwrap();
    let refused: Vec<String> = chunks
        .iter()
        .flat_map(|c| c.lines.iter())
        .map(|l| l.item.to_string())
        .take(2)
        .collect();
    let refused_refs: Vec<&str> = refused.iter().map(String::as_str).collect();
    fusion.refuse_balance_items(&refused_refs);
    apply_to_end(&p, &s, &dc, &taken.plan.id).await;
    let refused_lines = chunks
        .iter()
        .flat_map(|c| c.lines.iter())
        .filter(|l| refused.contains(&l.item.to_string()))
        .count();
    let tasks = p.tasks.open(&dc);
    assert_eq!(tasks.len(), refused_lines, "{tasks:?}");
    assert!(tasks.iter().all(|t| t.detail.contains("cycle count")), "{tasks:?}");
    assert_eq!(
        fusion.balance_applications().len() as u64,
        taken.plan.summary.lines_to_apply - refused_lines as u64
    );
    let v = verify_baseline(&p, &s, &dc, &taken.plan.id, &user(), deadline())
        .await
        .unwrap();
    assert!(v.passed && v.excluded_refused > 0, "{v:?}");
    fusion.shutdown().await;
    wms.shutdown().await;
}
