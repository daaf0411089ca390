//! The go-live baseline on the testkit's fakes: plan, apply, verify and cut over; refused
//! lines; a deadline; a crash at any point resumed without applying a line twice; adjustment
//! mode; the sync's own refusal to post behind the watermark.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use domain::golive::baseline::{
    apply_plan, baseline_status, cutover, take_plan, verify_baseline, BaselineError, BaselineMode, BaselineSettings,
    LineResult, PlanId,
};
use domain::golive::{DcStatus, OutboxWatermark};
use domain::ledger::SyncState;
use domain::ports::{BaselineCheckpoints, Clock, FusionError, OnhandRow, SyncOutcome, WmsBalance};
use domain::sync::{sync_dc, SyncSettings};
use domain::variance::BalanceKey;
use futures::executor::block_on;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use testkit::build::{self, lot_item, plain_item, serial_item};
use testkit::{BalanceFault, FakePorts, TxnBuilder, WmsTxnStatus};

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn wms_row(p: &FakePorts, item: &str, sub: &str, lot: Option<&str>, qty: i64, serials: Vec<domain::ids::SerialNumber>) {
    p.wms.set_balance(WmsBalance {
        key: BalanceKey::new(p.dc.clone(), build::item(item), build::sub(sub), lot.map(build::lot)),
        quantity: Decimal::from(qty),
        uom: build::uom("EA"),
        expiration: lot.map(|_| build::date(2027, 6, 30)),
        serials,
    });
}

fn fusion_row(
    p: &FakePorts,
    item: &str,
    sub: &str,
    lot: Option<&str>,
    qty: i64,
    serials: Vec<domain::ids::SerialNumber>,
) {
    p.fusion.set_onhand(OnhandRow {
        dc: p.dc.clone(),
        item: build::item(item),
        subinventory: build::sub(sub),
        lot: lot.map(build::lot),
        expiration: lot.map(|_| build::date(2027, 6, 30)),
        serials,
        quantity: Decimal::from(qty),
        uom: build::uom("EA"),
    });
}

/// A DC with 40 plain, 12 lot (two lots each) and 8 serial items in two subinventories.
/// With `differ` set, Fusion starts with the WMS's numbers except for about one key in five
/// (quantities, missing lots, swapped serials); otherwise Fusion starts empty.
fn seed(p: &FakePorts, seed: u64, differ: bool) {
    let mut r = Lcg(seed);
    for i in 0..60 {
        let (name, kind) = match i {
            0..=39 => (format!("P{i:03}"), 0),
            40..=51 => (format!("L{i:03}"), 1),
            _ => (format!("S{i:03}"), 2),
        };
        p.add_item(match kind {
            0 => plain_item(&name),
            1 => lot_item(&name),
            _ => serial_item(&name),
        });
        for sub in ["STOCK", "PICK"] {
            let changed = differ && r.below(5) == 0;
            match kind {
                0 => {
                    let q = 1 + r.below(90) as i64;
                    wms_row(p, &name, sub, None, q, Vec::new());
                    if differ {
                        fusion_row(
                            p,
                            &name,
                            sub,
                            None,
                            if changed { q + 3 - r.below(7) as i64 } else { q },
                            Vec::new(),
                        );
                    }
                }
                1 => {
                    for l in ["A", "B"] {
                        let lot = format!("{name}-{l}");
                        let q = 1 + r.below(40) as i64;
                        wms_row(p, &name, sub, Some(&lot), q, Vec::new());
                        if differ && !(changed && l == "B") {
                            fusion_row(p, &name, sub, Some(&lot), if changed { q + 2 } else { q }, Vec::new());
                        }
                    }
                }
                _ => {
                    let n = 1 + r.below(5) as usize;
                    let s = build::serials(&format!("{name}-{sub}"), n + 1);
                    wms_row(p, &name, sub, None, n as i64, s[..n].to_vec());
                    if differ {
                        let f = if changed { s[1..].to_vec() } else { s[..n].to_vec() };
                        fusion_row(p, &name, sub, None, f.len() as i64, f);
                    }
                }
            }
        }
    }
}

fn ann() -> domain::console::UserId {
    build::user("ann")
}

fn settings() -> BaselineSettings {
    BaselineSettings {
        chunk_size: 25,
        chunks_in_flight: 3,
        ..BaselineSettings::default()
    }
}

/// Every (item, subinventory, lot) Fusion holds, with quantities and serials.
fn fusion_state(p: &FakePorts) -> BTreeMap<String, String> {
    block_on(domain::ports::FusionInventory::onhand(&p.fusion, &p.dc))
        .unwrap()
        .into_iter()
        .map(|r| {
            let serials: Vec<String> = r.serials.iter().map(ToString::to_string).collect();
            (
                format!("{}|{}|{:?}", r.item, r.subinventory, r.lot.map(|l| l.to_string())),
                format!("{}|{}", r.quantity.normalize(), serials.join(" ")),
            )
        })
        .collect()
}

/// Every WMS key with its quantity and serials (what Fusion must hold after the baseline).
fn wms_state(p: &FakePorts) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = block_on(domain::ports::WarehouseSystem::balances(
            &p.wms,
            &p.dc,
            cursor.as_deref(),
            5000,
        ))
        .unwrap();
        for b in page.items {
            let serials: Vec<String> = b.serials.iter().map(ToString::to_string).collect();
            out.insert(
                format!(
                    "{}|{}|{:?}",
                    b.key.item,
                    b.key.subinventory,
                    b.key.lot.map(|l| l.to_string())
                ),
                format!("{}|{}", b.quantity.normalize(), serials.join(" ")),
            );
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

fn apply_to_end(p: &FakePorts, s: &BaselineSettings, plan: &PlanId) {
    for _ in 0..50 {
        let r = block_on(apply_plan(p, s, &p.dc, plan, &ann(), p.deadline_in(15))).unwrap();
        if !r.more_to_do {
            return;
        }
        p.clock.advance(Duration::minutes(10));
    }
    panic!("apply never finished");
}

#[test]
fn a_dc_is_planned_applied_verified_and_cut_over_without_counting_the_outbox_twice() {
    let p = FakePorts::new();
    seed(&p, 7, true);
    // 1. Two WMS transactions captured before the plan: already in the WMS balances.
    p.add_txn(build::plain_receipt("T-BEFORE-1", "P001", 4));
    p.add_txn(build::plain_issue("T-BEFORE-2", "P002", 1));
    let s = settings();
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    assert_eq!(taken.plan.watermark, OutboxWatermark(2));
    assert!(taken.plan.summary.lines_to_apply > 0 && taken.plan.summary.lines_matching > 0);
    assert_eq!(p.status.status_of(&p.dc), DcStatus::Planned);
    assert_eq!(p.fusion.balance_calls(), 0, "a plan changes nothing in Fusion");

    // 2. A transaction captured after the plan, during the baseline.
    let before: i64 = wms_state(&p)["P003|STOCK|None"]
        .split('|')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    p.add_txn(TxnBuilder::receipt("T-AFTER", "P003", 6).subinventory("STOCK").build());
    wms_row(&p, "P003", "STOCK", None, before + 6, Vec::new());

    apply_to_end(&p, &s, &taken.plan.id);
    assert_eq!(p.status.status_of(&p.dc), DcStatus::Baselining);
    assert!(
        p.fusion.balance_applications().values().all(|&n| n == 1),
        "a line applied twice"
    );
    assert_eq!(
        p.fusion.balance_applications().len() as u64,
        taken.plan.summary.lines_to_apply
    );
    // The outbox at or below the watermark is settled once the last chunk is applied.
    assert_eq!(p.ledger.state_of(&p.dc, "T-BEFORE-1"), Some(SyncState::Baselined));
    assert!(matches!(
        p.wms.status(&p.dc, "T-BEFORE-2"),
        Some(WmsTxnStatus::Synced { fusion_reference }) if fusion_reference == format!("baseline:{}", taken.plan.id)
    ));
    assert_eq!(p.wms.outbox_ids(&p.dc), vec!["T-AFTER".to_string()]);
    assert!(
        p.fusion.posts().is_empty(),
        "nothing went through the staged-transaction path"
    );

    // 3. Verify: the post-watermark receipt is in flight, so nothing differs.
    let v = block_on(verify_baseline(
        &p,
        &s,
        &p.dc,
        &taken.plan.id,
        &ann(),
        p.deadline_in(15),
    ))
    .unwrap();
    assert!(v.passed, "{v:?}");
    assert_eq!(v.outside, 0);
    assert_eq!(p.status.status_of(&p.dc), DcStatus::Verified);
    assert!(p.alerts.alerts().is_empty() && p.tasks.open(&p.dc).is_empty());

    // 4. Cut over, then the hourly sync posts only what came after the watermark, once.
    let c = block_on(cutover(&p, &p.dc, &taken.plan.id, &ann())).unwrap();
    assert_eq!(c.status.status, DcStatus::Live);
    let r1 = block_on(sync_dc(
        &p,
        &SyncSettings::default(),
        &p.dc,
        "sync-1",
        p.deadline_in(15),
    ))
    .unwrap();
    let r2 = block_on(sync_dc(
        &p,
        &SyncSettings::default(),
        &p.dc,
        "sync-2",
        p.deadline_in(15),
    ))
    .unwrap();
    assert_eq!((r1.synced, r2.synced, r1.behind_watermark), (1, 0, 0));
    let posted: Vec<String> = p.fusion.posts().iter().map(|x| x.source.txn.to_string()).collect();
    assert_eq!(posted, ["T-AFTER"]);
    assert_eq!(p.fusion.max_posts_per_source(), 1);
    assert_eq!(
        fusion_state(&p),
        wms_state(&p),
        "Fusion equals the WMS after cut-over and sync"
    );
}

#[test]
fn a_baseline_from_an_empty_fusion_loads_every_key() {
    let p = FakePorts::new();
    seed(&p, 11, false);
    let s = settings();
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    assert_eq!(taken.plan.summary.lines_matching, 0);
    assert_eq!(taken.plan.summary.lots_to_create_count, 12 * 2 * 2);
    apply_to_end(&p, &s, &taken.plan.id);
    assert_eq!(fusion_state(&p), wms_state(&p));
    let v = block_on(verify_baseline(
        &p,
        &s,
        &p.dc,
        &taken.plan.id,
        &ann(),
        p.deadline_in(15),
    ))
    .unwrap();
    assert!(v.passed && v.reconcile.keys_compared > 0, "{v:?}");
}

#[test]
fn refused_lines_get_one_review_task_each_and_the_rest_is_applied() {
    let p = FakePorts::new();
    seed(&p, 3, false);
    // Fusion refuses serial counts that do not match: make two serial lines inconsistent.
    wms_row(&p, "S052", "STOCK", None, 3, build::serials("BAD-A", 2));
    wms_row(&p, "S053", "PICK", None, 1, build::serials("BAD-B", 2));
    let s = settings();
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    apply_to_end(&p, &s, &taken.plan.id);
    let tasks = p.tasks.open(&p.dc);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(tasks.iter().all(|t| t.detail.contains("serial numbers don't match")));
    let chunks = block_on(p.checkpoints.chunks(&p.dc, &taken.plan.id)).unwrap();
    let refused = chunks
        .iter()
        .flat_map(|c| &c.results)
        .filter(|r| matches!(r, LineResult::Refused { .. }))
        .count();
    assert_eq!(refused, 2);
    assert_eq!(
        p.fusion.balance_applications().len() as u64,
        taken.plan.summary.lines_to_apply - 2
    );
    let v = block_on(verify_baseline(
        &p,
        &s,
        &p.dc,
        &taken.plan.id,
        &ann(),
        p.deadline_in(15),
    ))
    .unwrap();
    assert!(v.passed, "refused lines are left out of the verdict: {v:?}");
    assert!(v.excluded_refused >= 2);
}

#[test]
fn an_apply_stops_between_chunks_at_its_deadline_and_a_later_run_finishes() {
    let p = FakePorts::new();
    seed(&p, 5, false);
    p.fusion.set_call_latency(&p.clock, Duration::seconds(40));
    let s = BaselineSettings {
        chunks_in_flight: 1,
        ..settings()
    };
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    assert!(taken.plan.chunks >= 4);
    let first = block_on(apply_plan(
        &p,
        &s,
        &p.dc,
        &taken.plan.id,
        &ann(),
        p.clock.now() + Duration::minutes(3),
    ))
    .unwrap();
    assert!(first.more_to_do);
    assert!(first.chunks_this_run >= 1 && first.chunks_applied < first.chunks_total);
    assert_eq!(first.stopped.as_deref(), Some("time budget reached"));
    apply_to_end(&p, &s, &taken.plan.id);
    assert!(p.fusion.balance_applications().values().all(|&n| n == 1));
    let st = block_on(baseline_status(&p, &p.dc)).unwrap();
    assert_eq!(st.chunks_applied() as u32, taken.plan.chunks);
    assert_eq!(st.lines_done(), st.lines_total());
}

/// Applies the plan with a crash injected at the `k`-th state-changing call (a checkpoint
/// write, or a balance post that fails before Fusion applies it or after), then resumes
/// until done.
fn crash_and_resume(seed_no: u64) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let p = FakePorts::new();
    seed(&p, 100 + seed_no, true);
    let s = BaselineSettings {
        chunk_size: 10,
        ..settings()
    };
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    let mut r = Lcg(seed_no);
    let chunks = u64::from(taken.plan.chunks);
    match r.below(3) {
        0 => p.checkpoints.fail_writes_after(r.below(2 * chunks)),
        1 => p.fusion.balance_faults(
            std::iter::repeat_n(None, r.below(chunks) as usize)
                .chain([Some(BalanceFault::ApplyThenFail(FusionError::Timeout))])
                .map(|f| {
                    f.unwrap_or(BalanceFault::FailBefore(FusionError::Throttled {
                        retry_after_secs: None,
                    }))
                }),
        ),
        _ => p
            .fusion
            .balance_faults([BalanceFault::FailBefore(FusionError::Unavailable { status: 503 })]),
    }
    // The crashed run: it may return an error or stop early; either way it is abandoned.
    let crashed = block_on(apply_plan(&p, &s, &p.dc, &taken.plan.id, &ann(), p.deadline_in(15)));
    assert!(
        !matches!(&crashed, Ok(r) if !r.more_to_do),
        "seed {seed_no}: the injected crash did not stop the run"
    );
    p.checkpoints.heal();
    p.clock.advance(Duration::minutes(10));
    apply_to_end(&p, &s, &taken.plan.id);
    let twice: Vec<_> = p
        .fusion
        .balance_applications()
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "seed {seed_no}: applied twice: {twice:?}");
    (fusion_state(&p), wms_state(&p))
}

#[test]
fn an_apply_crashed_at_any_point_resumes_to_the_same_fusion_state_without_applying_a_line_twice() {
    for seed_no in 0..24 {
        let (fusion, wms) = crash_and_resume(seed_no);
        assert_eq!(fusion, wms, "seed {seed_no}");
    }
}

#[test]
fn a_post_whose_answer_was_lost_is_decided_from_on_hand_not_sent_again() {
    let p = FakePorts::new();
    seed(&p, 9, true);
    let s = BaselineSettings {
        chunks_in_flight: 1,
        ..settings()
    };
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    p.fusion
        .balance_faults([BalanceFault::ApplyThenFail(FusionError::Unavailable { status: 408 })]);
    let first = block_on(apply_plan(&p, &s, &p.dc, &taken.plan.id, &ann(), p.deadline_in(15))).unwrap();
    assert_eq!(first.chunks_unanswered, 1);
    assert!(first.more_to_do);
    // Within the lease another run leaves the chunk alone.
    let busy = block_on(apply_plan(&p, &s, &p.dc, &taken.plan.id, &ann(), p.deadline_in(15))).unwrap();
    assert_eq!(busy.busy_elsewhere, 1);
    p.clock.advance(Duration::minutes(6));
    let calls = p.fusion.balance_calls();
    let resumed = block_on(apply_plan(&p, &s, &p.dc, &taken.plan.id, &ann(), p.deadline_in(15))).unwrap();
    assert_eq!(resumed.ambiguous_decided, 1);
    assert!(resumed.lines_already_at_target > 0);
    assert_eq!(p.fusion.balance_calls(), calls, "the decided chunk was not sent again");
    assert!(!resumed.more_to_do);
    assert!(p.fusion.balance_applications().values().all(|&n| n == 1));
}

#[test]
fn a_pod_without_the_balance_resource_is_told_to_use_adjustments_and_adjustment_mode_converges() {
    let p = FakePorts::new();
    seed(&p, 21, true);
    p.fusion.set_balance_resource_missing(true);
    let s = settings();
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    let err = block_on(apply_plan(&p, &s, &p.dc, &taken.plan.id, &ann(), p.deadline_in(15))).unwrap_err();
    assert!(matches!(err, BaselineError::ResourceMissing(_)), "{err}");

    let p = FakePorts::new();
    seed(&p, 21, true);
    p.fusion.set_balance_resource_missing(true);
    let s = BaselineSettings {
        mode: BaselineMode::Adjustments,
        ..settings()
    };
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    assert_eq!(taken.plan.mode, BaselineMode::Adjustments);
    apply_to_end(&p, &s, &taken.plan.id);
    // Re-running a finished apply posts nothing more.
    let posts = p.fusion.posts().len();
    block_on(apply_plan(&p, &s, &p.dc, &taken.plan.id, &ann(), p.deadline_in(15))).unwrap();
    assert_eq!(p.fusion.posts().len(), posts);
    assert_eq!(p.fusion.max_posts_per_source(), 1);
    let v = block_on(verify_baseline(
        &p,
        &s,
        &p.dc,
        &taken.plan.id,
        &ann(),
        p.deadline_in(15),
    ))
    .unwrap();
    // Swapped serials (same count) cannot be one adjustment: those lines are refused with a
    // task each and left out of the verdict; everything else matches.
    assert!(v.passed, "{v:?}");
    assert_eq!(p.fusion.balance_applications().len(), 0);
}

#[test]
fn the_sync_never_posts_an_outbox_entry_at_or_below_the_baseline_watermark() {
    let p = FakePorts::new();
    p.add_item(plain_item("P1"));
    p.add_txn(build::plain_receipt("T1", "P1", 1));
    p.add_txn(build::plain_receipt("T2", "P1", 2));
    p.add_txn(build::plain_receipt("T3", "P1", 3));
    // Live with watermark 2, but the cut-over never settled T1 and T2 (defence in depth).
    let rec = block_on(domain::ports::DcStatusBoard::get(&p.status, &p.dc)).unwrap();
    assert!(rec.is_none());
    p.status.set(&p.dc, DcStatus::Live, p.clock.now());
    let mut r = block_on(domain::ports::DcStatusBoard::get(&p.status, &p.dc))
        .unwrap()
        .unwrap();
    let v = r.version;
    r.watermark = Some(OutboxWatermark(2));
    r.version += 1;
    block_on(domain::ports::DcStatusBoard::put(&p.status, &r, v)).unwrap();
    let report = block_on(sync_dc(&p, &SyncSettings::default(), &p.dc, "s1", p.deadline_in(15))).unwrap();
    assert_eq!((report.synced, report.behind_watermark), (1, 2));
    let posted: Vec<String> = p.fusion.posts().iter().map(|x| x.source.txn.to_string()).collect();
    assert_eq!(posted, ["T3"]);
    assert_eq!(p.ledger.state_of(&p.dc, "T1"), None);
}

#[test]
fn a_plan_is_refused_while_an_apply_runs_and_a_cut_over_before_verification_is_refused() {
    let p = FakePorts::new();
    seed(&p, 1, false);
    // Slow Fusion and a short budget: the first run stops with chunks still to apply.
    p.fusion.set_call_latency(&p.clock, Duration::seconds(40));
    let s = BaselineSettings {
        chunks_in_flight: 1,
        ..settings()
    };
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    let first = block_on(apply_plan(
        &p,
        &s,
        &p.dc,
        &taken.plan.id,
        &ann(),
        p.clock.now() + Duration::minutes(3),
    ))
    .unwrap();
    assert!(
        first.more_to_do && first.chunks_applied < first.chunks_total,
        "{first:?}"
    );
    let err = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap_err();
    assert!(
        matches!(
            err,
            BaselineError::WrongStatus {
                status: DcStatus::Baselining,
                ..
            }
        ),
        "{err}"
    );
    let err = block_on(cutover(&p, &p.dc, &taken.plan.id, &ann())).unwrap_err();
    assert!(
        matches!(err, BaselineError::WrongStatus { .. }),
        "cut-over before verify: {err}"
    );
}

#[test]
fn after_a_verification_that_did_not_pass_a_new_plan_sends_only_what_still_differs_and_the_dc_goes_live() {
    let p = FakePorts::new();
    seed(&p, 9, true);
    let s = settings();
    let first = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    // During the baseline the WMS captures a receipt (after the first plan's watermark).
    let wms_qty = |key: &str| -> i64 { wms_state(&p)[key].split('|').next().unwrap().parse().unwrap() };
    let p5 = wms_qty("P005|STOCK|None");
    p.add_txn(
        TxnBuilder::receipt("T-BETWEEN", "P005", 3)
            .subinventory("STOCK")
            .build(),
    );
    wms_row(&p, "P005", "STOCK", None, p5 + 3, Vec::new());
    apply_to_end(&p, &s, &first.plan.id);
    // Someone keys a change into Fusion by hand: the verification does not pass.
    let p4 = wms_qty("P004|PICK|None");
    fusion_row(&p, "P004", "PICK", None, p4 + 20, Vec::new());
    let v = block_on(verify_baseline(
        &p,
        &s,
        &p.dc,
        &first.plan.id,
        &ann(),
        p.deadline_in(15),
    ))
    .unwrap();
    assert!(!v.passed && v.outside > 0, "{v:?}");
    assert_eq!(p.status.status_of(&p.dc), DcStatus::Baselining);
    let after_first = p.fusion.balance_applications().values().sum::<usize>() as u64;
    assert_eq!(after_first, first.plan.summary.lines_to_apply);

    // Half an hour later, a new plan: only the hand-keyed key and the receipt's key still differ.
    p.clock.advance(Duration::minutes(30));
    let second = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    assert_eq!(p.status.status_of(&p.dc), DcStatus::Planned);
    assert!(second.plan.watermark > first.plan.watermark);
    assert_eq!(second.plan.summary.lines_to_apply, 2, "{:?}", second.plan.summary);
    apply_to_end(&p, &s, &second.plan.id);
    let total = p.fusion.balance_applications().values().sum::<usize>() as u64;
    assert_eq!(total, after_first + 2, "only what still differed was sent");
    // The receipt is inside the second baseline: baselined, never posted.
    assert_eq!(p.ledger.state_of(&p.dc, "T-BETWEEN"), Some(SyncState::Baselined));
    let v = block_on(verify_baseline(
        &p,
        &s,
        &p.dc,
        &second.plan.id,
        &ann(),
        p.deadline_in(15),
    ))
    .unwrap();
    assert!(v.passed, "{v:?}");
    // The first plan is no longer the DC's: it cannot be cut over.
    assert!(block_on(cutover(&p, &p.dc, &first.plan.id, &ann())).is_err());
    let c = block_on(cutover(&p, &p.dc, &second.plan.id, &ann())).unwrap();
    assert_eq!(c.status.status, DcStatus::Live);
    let r = block_on(sync_dc(
        &p,
        &SyncSettings::default(),
        &p.dc,
        "sync-1",
        p.deadline_in(15),
    ))
    .unwrap();
    assert_eq!((r.synced, r.behind_watermark), (0, 0), "{r:?}");
    assert!(p.fusion.posts().is_empty(), "nothing posted as a transaction");
    assert_eq!(fusion_state(&p), wms_state(&p));
}

#[test]
fn a_wms_report_of_a_baselined_transaction_names_the_plan() {
    let p = FakePorts::new();
    seed(&p, 2, true);
    p.add_txn(build::plain_receipt("T-B", "P004", 2));
    let s = settings();
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    apply_to_end(&p, &s, &taken.plan.id);
    let reports = p.wms.reports_for("T-B");
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].outcome,
        SyncOutcome::Synced {
            fusion_reference: format!("baseline:{}", taken.plan.id)
        }
    );
}

#[test]
fn a_balance_read_during_which_the_outbox_moved_is_read_again_and_a_restless_outbox_is_refused() {
    let p = FakePorts::new();
    seed(&p, 4, false);
    p.add_txn(build::plain_receipt("T-0", "P001", 1));
    // The WMS captures a transaction while the first balance read runs: the read is repeated
    // and the watermark covers it.
    p.wms
        .capture_during_balance_reads([build::plain_receipt("T-1", "P001", 1)]);
    let s = settings();
    let taken = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap();
    assert_eq!(taken.plan.watermark, OutboxWatermark(2));

    let p = FakePorts::new();
    seed(&p, 4, false);
    let restless = (0..10).map(|i| build::plain_receipt(&format!("R-{i}"), "P001", 1));
    p.wms.capture_during_balance_reads(restless);
    let err = block_on(take_plan(&p, &s, &p.dc, &ann())).unwrap_err();
    assert!(matches!(err, BaselineError::WatermarkMoving { tries: 4, .. }), "{err}");
    assert_eq!(p.status.status_of(&p.dc), DcStatus::NotStarted, "nothing stored");
}
