//! A property over random fault schedules, on the in-memory fakes: whatever Fusion, the ledger
//! and the WMS do wrong for a few hourly runs (outages, throttling, timeouts, posts accepted then
//! the connection lost, crashes between the post and the ledger write, staged rows processed
//! later, WMS reports lost), once the faults stop and the runs converge:
//!
//! - no Source* reference is posted twice;
//! - no transaction is lost: each is `synced` (every line in Fusion), or in `manual_review`
//!   with an open review task and either every line in Fusion or none (a person checks Fusion
//!   by Source* reference before anything is posted again);
//! - Fusion's on-hand change per key equals the change of the WMS transactions that reached it
//!   (nothing applied twice, nothing missing);
//! - Fusion never shows more than the WMS minus what is still unsettled (no phantom
//!   availability).
//!
//! Cases: `INVSYNC_PROPTEST_CASES` (48 by default, what CI runs). The release figure is
//! `INVSYNC_PROPTEST_CASES=1000 cargo test --release -p domain --test fault_schedules`.
//! A failure prints the shrunk fault schedule.

use chrono::Duration;
use domain::ledger::SyncState;
use domain::ports::{FusionError, OnhandRow, StoreError, WmsError};
use domain::sync::{sync_dc, SyncSettings};
use domain::txn::WmsTransaction;
use domain::variance::BalanceKey;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use testkit::build::{self, plain_item};
use testkit::fusion::PostMode;
use testkit::FakePorts;

/// One fault, armed before a run.
#[derive(Debug, Clone)]
enum Fault {
    /// The next `n` posts fail with Fusion unavailable (5xx after the client's retries).
    PostsUnavailable(usize),
    /// The next `n` posts time out (the outcome is unknown to the caller).
    PostsTimeout(usize),
    /// The next `n` posts are throttled past the retry budget.
    PostsThrottled(usize),
    /// The next `n` posts land in Fusion, then the connection drops.
    AcceptThenDrop(usize),
    /// The next `n` Source* lookups fail.
    FindsFail(usize),
    /// The next `n` item lookups fail.
    ItemLookupsFail(usize),
    /// The next `n` ledger writes fail: a crash between steps.
    LedgerWritesFail(usize),
    /// The next `n` outcome reports to the WMS are lost.
    WmsReportsLost(usize),
    /// This run's posts are staged, not processed (Background mode).
    Staged,
    /// Fusion's processing job runs before this run.
    ProcessStaged,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (1usize..6).prop_map(Fault::PostsUnavailable),
        (1usize..4).prop_map(Fault::PostsTimeout),
        (1usize..4).prop_map(Fault::PostsThrottled),
        (1usize..4).prop_map(Fault::AcceptThenDrop),
        (1usize..3).prop_map(Fault::FindsFail),
        (1usize..3).prop_map(Fault::ItemLookupsFail),
        (1usize..4).prop_map(Fault::LedgerWritesFail),
        (1usize..4).prop_map(Fault::WmsReportsLost),
        Just(Fault::Staged),
        Just(Fault::ProcessStaged),
    ]
}

/// Faults per faulty run, for up to four hourly runs.
fn schedule() -> impl Strategy<Value = Vec<Vec<Fault>>> {
    prop::collection::vec(prop::collection::vec(fault(), 0..4), 1..5)
}

const ITEMS: usize = 8;

/// Receipts, issues within stock and transfers over a few items, several per item so order
/// matters.
fn transactions(seed: u64) -> Vec<WmsTransaction> {
    let mut out = Vec::new();
    for i in 0..24u64 {
        let item = format!("ITM-{}", (i * 7 + seed) % ITEMS as u64);
        let id = format!("T{i:03}");
        let txn = match (i + seed) % 3 {
            0 => build::plain_receipt(&id, &item, 5 + (i % 4) as i64),
            1 => build::plain_issue(&id, &item, 1 + (i % 3) as i64),
            _ => build::transfer(&id, &item, "STORES", "PICK", 2),
        };
        out.push(txn);
    }
    out
}

fn arm(ports: &FakePorts, fault: &Fault) {
    let f = &ports.fusion;
    match fault {
        Fault::PostsUnavailable(n) => f.fail_next_posts(*n, FusionError::Unavailable { status: 503 }),
        Fault::PostsTimeout(n) => f.fail_next_posts(*n, FusionError::Timeout),
        Fault::PostsThrottled(n) => f.fail_next_posts(
            *n,
            FusionError::Throttled {
                retry_after_secs: Some(1),
            },
        ),
        Fault::AcceptThenDrop(n) => f.accept_then_error_next(*n),
        Fault::FindsFail(n) => f.fail_next_finds(*n, FusionError::Timeout),
        Fault::ItemLookupsFail(n) => f.fail_next_item_info(*n, FusionError::Unavailable { status: 502 }),
        Fault::LedgerWritesFail(n) => ports
            .ledger
            .fail_next_transitions(*n, StoreError::Unavailable("container died".into())),
        Fault::WmsReportsLost(n) => ports
            .wms
            .fail_next_reports(*n, WmsError::Unavailable("adapter restarted".into())),
        Fault::Staged => f.set_post_mode(PostMode::Staged),
        Fault::ProcessStaged => {
            f.process_staged(|_| None);
        }
    }
}

fn run_once(rt: &tokio::runtime::Runtime, ports: &FakePorts, run: &str) {
    // Why: a run that cannot read the outbox or its ledger is an error for the caller to retry
    // (the message returns to the queue); the property only needs the runs that do go.
    let _ = rt.block_on(sync_dc(
        ports,
        &SyncSettings::default(),
        &ports.dc,
        run,
        ports.deadline_in(15),
    ));
    ports.clock.advance(Duration::hours(1));
}

fn check(seed: u64, schedule: &[Vec<Fault>]) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let ports = FakePorts::new();
    let initial = Decimal::from(100);
    for i in 0..ITEMS {
        let item = format!("ITM-{i}");
        ports.add_item(plain_item(&item));
        ports.fusion.set_onhand(OnhandRow {
            dc: ports.dc.clone(),
            item: build::item(&item),
            subinventory: build::sub("STORES"),
            lot: None,
            expiration: None,
            serials: vec![],
            quantity: initial,
            uom: build::uom("EA"),
        });
    }
    let txns = transactions(seed);
    ports.add_txns(txns.clone());

    for (i, faults) in schedule.iter().enumerate() {
        ports.fusion.set_post_mode(PostMode::Processed);
        for f in faults {
            arm(&ports, f);
        }
        run_once(&rt, &ports, &format!("faulty-{i}"));
    }
    // The faults stop; Fusion processes what it staged; hourly runs converge.
    ports.fusion.clear_post_failures();
    ports.fusion.set_post_mode(PostMode::Processed);
    for i in 0..8 {
        ports.fusion.process_staged(|_| None);
        run_once(&rt, &ports, &format!("calm-{i}"));
        if ports.wms.outbox_ids(&ports.dc).is_empty() {
            break;
        }
    }

    prop_assert!(
        ports.fusion.max_posts_per_source() <= 1,
        "a Source* reference was posted twice"
    );
    prop_assert!(
        !ports.fusion.posts().is_empty(),
        "the runs posted nothing: the property would be vacuous"
    );
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    // Effects Fusion must hold: synced transactions, and those in manual review that did land
    // (a person checks Fusion by Source* reference before anything is posted again).
    let mut landed_effect: BTreeMap<BalanceKey, Decimal> = BTreeMap::new();
    // Effects still only in the WMS: transactions in manual review that never reached Fusion.
    let mut unsettled_effect: BTreeMap<BalanceKey, Decimal> = BTreeMap::new();
    for t in &txns {
        let state = ports.ledger.state_of(&ports.dc, t.id().as_str());
        let lines = t.to_posts(50).map_err(|e| TestCaseError::fail(e.to_string()))?.len();
        let landed_lines = ports
            .fusion
            .accepted()
            .iter()
            .filter(|a| a.post.source.txn == *t.id() && a.mode == PostMode::Processed)
            .count();
        let into = match state {
            Some(SyncState::Synced) => {
                prop_assert_eq!(landed_lines, lines, "{} synced but not every line is in Fusion", t.id());
                &mut landed_effect
            }
            Some(SyncState::ManualReview) => {
                let task = ports.tasks.open_task(&ports.dc, &format!("txn:{}", t.id()));
                prop_assert!(task.is_some(), "{} in manual review without a task", t.id());
                prop_assert!(
                    landed_lines == 0 || landed_lines == lines,
                    "{} in manual review landed {} of {} lines",
                    t.id(),
                    landed_lines,
                    lines
                );
                if landed_lines == lines {
                    &mut landed_effect
                } else {
                    &mut unsettled_effect
                }
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "{} lost: {other:?} after convergence",
                    t.id()
                )))
            }
        };
        *states.entry(format!("{state:?}")).or_default() += 1;
        for (key, q) in t.net_effects() {
            *into.entry(key).or_default() += q;
        }
    }
    if std::env::var_os("INVSYNC_PROPTEST_TRACE").is_some() {
        eprintln!(
            "faults {schedule:?}: end states {states:?}, posts {}",
            ports.fusion.posts().len()
        );
    }
    for i in 0..ITEMS {
        for sub in ["STORES", "PICK"] {
            let item = build::item(&format!("ITM-{i}"));
            let s = build::sub(sub);
            let key = BalanceKey::new(ports.dc.clone(), item.clone(), s.clone(), None);
            let base = if sub == "STORES" { initial } else { Decimal::ZERO };
            let fusion = ports.fusion.onhand_quantity(&ports.dc, &item, &s, None);
            let want = base + landed_effect.get(&key).copied().unwrap_or_default();
            prop_assert_eq!(
                fusion,
                want,
                "Fusion on-hand of {} differs from the WMS transactions that reached it",
                key
            );
            let unsettled = unsettled_effect.get(&key).copied().unwrap_or_default();
            let wms = want + unsettled;
            // Fusion may lag the WMS only by what is still in flight there.
            prop_assert!(
                fusion <= wms - unsettled,
                "phantom availability at {}: Fusion {} WMS {}",
                key,
                fusion,
                wms
            );
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("INVSYNC_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn after_any_fault_schedule_the_runs_converge_without_loss_duplicates_or_phantom_stock(
        seed in 0u64..1000,
        schedule in schedule(),
    ) {
        check(seed, &schedule)?;
    }
}

/// Found by the property: Source* lookups failing on three attempts escalate a transfer that did
/// land; it is in manual review (a person checks Fusion), and Fusion holds it exactly once.
#[test]
fn regression_lookups_failing_on_two_runs() {
    let schedule = vec![vec![Fault::FindsFail(1)], vec![Fault::FindsFail(2)]];
    if let Err(e) = check(0, &schedule) {
        panic!("{e}");
    }
}
