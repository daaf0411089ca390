//! The console service on the testkit's fakes: every authorization rule, the task lifecycle
//! with its 409, resolving by adjustment (posted once, closed only once Fusion processed it),
//! retry and close of failed transactions, hold release that the next reconciliation respects,
//! and one audit entry per action.

// Fixture helpers outside #[test] fns unwrap literals that are valid by construction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use console::{
    CloseRequest, ConsoleError, ConsoleService, ConsoleSettings, ReleaseRequest, ResolveRequest, RetryFilter, StuckKind,
};
use domain::console::{DcScope, PageRequest, Principal, Reason, Resolution, Role, TaskStatus, UserId};
use domain::ids::DcCode;
use domain::ledger::SyncState;
use domain::ports::{Clock, FusionError, OnhandRow, RunKind, RunReport, RunReports, TaskFilter, TaskKey, WmsBalance};
use domain::reconciliation::{reconcile_dc, ReconcileSettings};
use domain::sync::{sync_dc, SyncSettings};
use domain::variance::BalanceKey;
use rust_decimal::Decimal;
use testkit::build::{self, plain_item};
use testkit::seed::{seed_console, SeedPlan};
use testkit::{FakePorts, PostMode, TxnBuilder};

fn dc(s: &str) -> DcCode {
    build::dc(s)
}

fn who(name: &str, role: Role, dcs: &[&str]) -> Principal {
    let scope = if dcs.is_empty() {
        DcScope::All
    } else {
        DcScope::Dcs(dcs.iter().map(|d| dc(d)).collect())
    };
    Principal::new(UserId::parse(name).unwrap(), role, scope)
}

fn service() -> ConsoleService<FakePorts> {
    let ports = FakePorts::for_dc(&dc("DC01"));
    ports.wms.add_dc(&dc("DC02"));
    ConsoleService::new(ports, ConsoleSettings::default())
}

async fn seeded() -> ConsoleService<FakePorts> {
    let svc = service();
    let now = svc.ports().clock.now();
    seed_console(svc.ports(), &SeedPlan::small(2, 3), now).await.unwrap();
    for n in 0..6 {
        svc.ports().add_item(plain_item(&format!("SEED-T{n}")));
        svc.ports()
            .fusion
            .add_item(&dc("DC02"), plain_item(&format!("SEED-T{n}")));
    }
    svc
}

fn task_key(dc_code: &str, n: usize) -> TaskKey {
    TaskKey::balance(&BalanceKey::new(
        dc(dc_code),
        build::item(&format!("SEED-T{n}")),
        build::sub("STORES"),
        None,
    ))
}

fn reason(s: &str) -> Reason {
    Reason::parse(s).unwrap()
}

#[tokio::test]
async fn a_supervisor_of_dc01_cannot_read_or_resolve_dc02s_tasks() {
    let svc = seeded().await;
    let sup = who("ann", Role::Supervisor, &["DC01"]);
    // Seeded round-robin: even tasks at DC01, odd ones at DC02.
    let theirs = task_key("DC02", 1);
    assert!(matches!(
        svc.task_detail(Some(&sup), &dc("DC02"), &theirs).await,
        Err(ConsoleError::NotFound(_))
    ));
    let req = ResolveRequest {
        version: 0,
        resolution: Resolution::RecountRequested,
    };
    assert!(matches!(
        svc.resolve_task(Some(&sup), &dc("DC02"), &theirs, &req).await,
        Err(ConsoleError::NotFound(_))
    ));
    assert!(matches!(
        svc.list_tasks(Some(&sup), &dc("DC02"), TaskFilter::default(), &PageRequest::default())
            .await,
        Err(ConsoleError::Forbidden(_))
    ));
    let mine = svc
        .list_tasks(Some(&sup), &dc("DC01"), TaskFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 3);
    assert!(mine.items.iter().all(|t| t.dc == dc("DC01")));
    assert!(svc.ports().audit.entries().is_empty(), "refused calls leave no audit");
}

#[tokio::test]
async fn a_wrong_role_is_forbidden_and_nobody_is_unauthenticated() {
    let svc = seeded().await;
    let d = dc("DC01");
    let key = task_key("DC01", 0);
    let mgr = who("max", Role::Manager, &["DC01"]);
    let ops = who("ola", Role::Integration, &[]);
    let sup = who("ann", Role::Supervisor, &["DC01"]);
    let forbidden = |r: Result<(), ConsoleError>| assert!(matches!(r, Err(ConsoleError::Forbidden(_))), "{r:?}");
    forbidden(svc.claim_task(Some(&mgr), &d, &key).await.map(|_| ()));
    forbidden(svc.claim_task(Some(&ops), &d, &key).await.map(|_| ()));
    let item = build::item("SEED-H0");
    let rel = ReleaseRequest {
        reason: reason("counted"),
    };
    forbidden(svc.release_hold(Some(&sup), &d, &item, &rel).await.map(|_| ()));
    forbidden(svc.release_hold(Some(&ops), &d, &item, &rel).await.map(|_| ()));
    let id = build::txn_id("SEED-F0");
    forbidden(svc.retry_txn(Some(&sup), &d, &id).await.map(|_| ()));
    forbidden(svc.retry_txn(Some(&mgr), &d, &id).await.map(|_| ()));
    forbidden(
        svc.list_tasks(Some(&ops), &d, TaskFilter::default(), &PageRequest::default())
            .await
            .map(|_| ()),
    );
    assert_eq!(
        svc.dashboard(None, &d).await.map(|_| ()),
        Err(ConsoleError::Unauthenticated)
    );
    assert_eq!(
        svc.claim_task(None, &d, &key).await.map(|_| ()),
        Err(ConsoleError::Unauthenticated)
    );
    for p in [&mgr, &ops, &sup] {
        svc.dashboard(Some(p), &d).await.unwrap();
        svc.list_runs(Some(p), &d, domain::ports::RunKind::Sync, &PageRequest::default())
            .await
            .unwrap();
        svc.list_audit(Some(p), &d, &PageRequest::default()).await.unwrap();
        svc.list_stuck(Some(p), &d, StuckKind::SyncFailed, &PageRequest::default())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn claiming_twice_is_one_claim_and_one_audit_entry() {
    let svc = seeded().await;
    let sup = who("ann", Role::Supervisor, &["DC01"]);
    let key = task_key("DC01", 0);
    let first = svc.claim_task(Some(&sup), &dc("DC01"), &key).await.unwrap();
    let second = svc.claim_task(Some(&sup), &dc("DC01"), &key).await.unwrap();
    assert_eq!(first.state, second.state);
    assert_eq!((first.state.status, first.state.version), (TaskStatus::Claimed, 1));
    assert_eq!(svc.ports().audit.entries().len(), 1);
    let bob = who("bob", Role::Supervisor, &["DC01"]);
    assert!(matches!(
        svc.claim_task(Some(&bob), &dc("DC01"), &key).await,
        Err(ConsoleError::Conflict(_))
    ));
}

#[tokio::test]
async fn two_concurrent_resolves_of_one_version_give_one_success_and_one_conflict() {
    let svc = seeded().await;
    let key = task_key("DC01", 2);
    let ann = who("ann", Role::Supervisor, &["DC01"]);
    let bob = who("bob", Role::Supervisor, &[]);
    let close = |r: &str| ResolveRequest {
        version: 0,
        resolution: Resolution::Close { reason: reason(r) },
    };
    let d = dc("DC01");
    let (ra, rb) = (close("fixed in WMS"), close("not real"));
    let (a, b) = tokio::join!(
        svc.resolve_task(Some(&ann), &d, &key, &ra),
        svc.resolve_task(Some(&bob), &d, &key, &rb),
    );
    let oks = [&a, &b].iter().filter(|r| r.is_ok()).count();
    let conflicts = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(ConsoleError::Conflict(_))))
        .count();
    assert_eq!((oks, conflicts), (1, 1), "{a:?} {b:?}");
    assert_eq!(svc.ports().audit.entries().len(), 1);
    let detail = svc.task_detail(Some(&ann), &dc("DC01"), &key).await.unwrap();
    assert_eq!(detail.task.state.status, TaskStatus::Closed);
}

#[tokio::test]
async fn resolving_by_adjustment_posts_once_and_closes_only_when_fusion_processed_it() {
    let svc = seeded().await;
    let d = dc("DC01");
    let key = task_key("DC01", 0);
    let sup = who("ann", Role::Supervisor, &["DC01"]);
    svc.ports().fusion.set_post_mode(PostMode::Staged);
    let req = ResolveRequest {
        version: 0,
        resolution: Resolution::Adjust,
    };
    let first = svc.resolve_task(Some(&sup), &d, &key, &req).await.unwrap();
    let again = svc.resolve_task(Some(&sup), &d, &key, &req).await.unwrap();
    assert_eq!(first.task.state.status, TaskStatus::Resolving);
    assert_eq!(again.task.state, first.task.state);
    let adj = first.adjustment.clone().unwrap();
    assert_eq!(adj.state, SyncState::Accepted);
    assert_eq!(adj.quantity, Decimal::from(10));
    assert_eq!(
        svc.ports().fusion.posts_of(adj.id.as_str()).len(),
        1,
        "posted exactly once"
    );
    assert_eq!(svc.ports().audit.entries().len(), 1);

    // Still resolving while Fusion has not processed it.
    let detail = svc.task_detail(Some(&sup), &d, &key).await.unwrap();
    assert_eq!(detail.task.state.status, TaskStatus::Resolving);
    assert!(detail.transactions.iter().any(|t| t.id == adj.id));

    svc.ports().fusion.process_staged(|_| None);
    sync_dc(
        svc.ports(),
        &SyncSettings::default(),
        &d,
        "run-2",
        svc.ports().deadline_in(10),
    )
    .await
    .unwrap();
    assert_eq!(
        svc.ports().ledger.state_of(&d, adj.id.as_str()),
        Some(SyncState::Synced)
    );
    let detail = svc.task_detail(Some(&sup), &d, &key).await.unwrap();
    assert_eq!(detail.task.state.status, TaskStatus::Closed);
    assert_eq!(svc.ports().fusion.posts_of(adj.id.as_str()).len(), 1);
    // A third click after closing answers as before, and posts nothing.
    svc.resolve_task(Some(&sup), &d, &key, &req).await.unwrap();
    assert_eq!(svc.ports().fusion.posts_of(adj.id.as_str()).len(), 1);
}

#[tokio::test]
async fn an_adjustment_processed_at_once_closes_the_task_in_the_same_call() {
    let svc = seeded().await;
    let sup = who("ann", Role::Supervisor, &["DC02"]);
    let key = task_key("DC02", 1);
    let out = svc
        .resolve_task(
            Some(&sup),
            &dc("DC02"),
            &key,
            &ResolveRequest {
                version: 0,
                resolution: Resolution::Adjust,
            },
        )
        .await
        .unwrap();
    assert_eq!(out.task.state.status, TaskStatus::Closed);
    assert_eq!(out.adjustment.unwrap().state, SyncState::Synced);
}

#[tokio::test]
async fn a_retried_failed_transaction_is_posted_by_the_next_sync() {
    let svc = service();
    let p = svc.ports();
    let d = dc("DC01");
    p.add_item(plain_item("ITM-1"));
    p.add_txn(TxnBuilder::receipt("T1", "ITM-1", 4).build());
    p.fusion.fail_next_posts(
        1,
        FusionError::Rejected {
            status: 400,
            detail: "JBO-1: subinventory STORES is disabled".into(),
        },
    );
    sync_dc(p, &SyncSettings::default(), &d, "run-1", p.deadline_in(10))
        .await
        .unwrap();
    assert_eq!(p.ledger.state_of(&d, "T1"), Some(SyncState::SyncFailed));
    let ops = who("ola", Role::Integration, &[]);
    let listed = svc
        .list_stuck(Some(&ops), &d, StuckKind::SyncFailed, &PageRequest::default())
        .await
        .unwrap();
    assert!(listed.items[0].error.as_deref().unwrap().contains("STORES is disabled"));

    // A later sync leaves a permanent failure alone.
    sync_dc(p, &SyncSettings::default(), &d, "run-2", p.deadline_in(10))
        .await
        .unwrap();
    assert_eq!(p.ledger.state_of(&d, "T1"), Some(SyncState::SyncFailed));

    let id = build::txn_id("T1");
    let retried = svc.retry_txn(Some(&ops), &d, &id).await.unwrap();
    assert_eq!(retried.state, SyncState::PendingSync);
    svc.retry_txn(Some(&ops), &d, &id).await.unwrap();
    assert_eq!(p.audit.entries().len(), 1, "a second click is no second retry");
    sync_dc(p, &SyncSettings::default(), &d, "run-3", p.deadline_in(10))
        .await
        .unwrap();
    assert_eq!(p.ledger.state_of(&d, "T1"), Some(SyncState::Synced));
}

#[tokio::test]
async fn retry_all_moves_only_matching_rows_and_close_is_terminal() {
    let svc = seeded().await;
    let ops = who("ola", Role::Integration, &[]);
    let d = dc("DC01");
    let filter = RetryFilter {
        state: SyncState::SyncFailed,
        item: Some(build::item("SEED-I0")),
        error_contains: Some("jbo-27014".into()),
    };
    let out = svc.retry_matching(Some(&ops), &d, &filter).await.unwrap();
    assert_eq!(out.retried.len(), 1);
    assert_eq!(out.retried[0].id.as_str(), "SEED-F0");
    let again = svc.retry_matching(Some(&ops), &d, &filter).await.unwrap();
    assert!(again.retried.is_empty());

    let id = build::txn_id("SEED-F2");
    let close = CloseRequest {
        reason: reason("keyed into Fusion by hand"),
    };
    let closed = svc.close_txn(Some(&ops), &d, &id, &close).await.unwrap();
    assert_eq!(closed.state, SyncState::HandledOutside);
    svc.close_txn(Some(&ops), &d, &id, &close).await.unwrap();
    assert!(matches!(
        svc.retry_txn(Some(&ops), &d, &id).await,
        Err(ConsoleError::Conflict(_))
    ));
    assert_eq!(svc.ports().audit.entries().len(), 2);
}

#[tokio::test]
async fn a_released_hold_stays_released_until_a_new_incident() {
    let svc = service();
    let p = svc.ports();
    let d = dc("DC01");
    p.add_item(plain_item("ITM-9"));
    p.wms.set_balance(WmsBalance {
        key: BalanceKey::new(d.clone(), build::item("ITM-9"), build::sub("STORES"), None),
        quantity: Decimal::from(500),
        uom: build::uom("EA"),
        expiration: None,
        serials: Vec::new(),
    });
    p.fusion.set_onhand(OnhandRow {
        dc: d.clone(),
        item: build::item("ITM-9"),
        subinventory: build::sub("STORES"),
        lot: None,
        expiration: None,
        serials: Vec::new(),
        quantity: Decimal::from(100),
        uom: build::uom("EA"),
    });
    let settings = ReconcileSettings::default();
    reconcile_dc(p, &settings, &d, "r1", p.deadline_in(10)).await.unwrap();
    assert_eq!(p.wms.hold_history(&d).len(), 1);
    let mgr = who("max", Role::Manager, &["DC01"]);
    let holds = svc.list_holds(Some(&mgr), &d).await.unwrap();
    assert!(holds[0].incident.is_some());
    let rel = ReleaseRequest {
        reason: reason("counted, the WMS is right"),
    };
    let out = svc
        .release_hold(Some(&mgr), &d, &build::item("ITM-9"), &rel)
        .await
        .unwrap();
    assert!(out.released_now);
    assert!(out.incident.unwrap().hold_released.is_some());
    let again = svc
        .release_hold(Some(&mgr), &d, &build::item("ITM-9"), &rel)
        .await
        .unwrap();
    assert!(!again.released_now);
    p.clock.advance(Duration::minutes(15));
    reconcile_dc(p, &settings, &d, "r2", p.deadline_in(10)).await.unwrap();
    assert!(
        svc.list_holds(Some(&mgr), &d).await.unwrap().is_empty(),
        "not placed again"
    );
    assert_eq!(p.wms.hold_history(&d).len(), 1);

    let incidents = svc
        .list_incidents(Some(&mgr), &d, &PageRequest::default())
        .await
        .unwrap();
    let id = incidents.items[0].incident.id.clone();
    let acked = svc.acknowledge_incident(Some(&mgr), &d, &id).await.unwrap();
    assert_eq!(acked.acknowledged.unwrap().0.as_str(), "max");
    svc.acknowledge_incident(Some(&mgr), &d, &id).await.unwrap();
    let audit = svc.list_audit(Some(&mgr), &d, &PageRequest::default()).await.unwrap();
    assert_eq!(audit.items.len(), 2, "one release and one acknowledgement");
}

#[tokio::test]
async fn the_dashboard_counts_what_is_open_and_charts_reconciliation_accuracy() {
    let svc = seeded().await;
    let p = svc.ports();
    let d = dc("DC01");
    let started = p.clock.now() - Duration::hours(30);
    for (run, at, bp) in [
        ("r-old", started, 9_000),
        ("r-new", p.clock.now() - Duration::hours(1), 9_950),
    ] {
        p.run_reports
            .save(&RunReport {
                dc: d.clone(),
                run_id: run.into(),
                kind: RunKind::Reconcile,
                started_at: at,
                duration_ms: 10,
                figures: [("accuracy_bp".to_string(), bp), ("keys_compared".to_string(), 100)].into(),
                notes: Vec::new(),
            })
            .await
            .unwrap();
    }
    let ops = who("ola", Role::Integration, &[]);
    let dash = svc.dashboard(Some(&ops), &d).await.unwrap();
    assert_eq!(dash.open_tasks, 3);
    assert_eq!(dash.active_holds, 3);
    assert_eq!(dash.open_incidents, 3);
    assert_eq!(dash.backlog[&SyncState::SyncFailed], 3);
    assert_eq!(dash.accuracy_24h.len(), 1);
    assert_eq!(dash.accuracy_24h[0].accuracy_bp, 9_950);
    assert_eq!(dash.accuracy_7d.len(), 2);
    assert_eq!(dash.last_reconcile.as_ref().unwrap().run_id, "r-new");
    serde_json::to_string(&dash).unwrap();
}

#[tokio::test]
async fn lists_page_with_an_opaque_cursor_and_refuse_a_forged_one() {
    let svc = seeded().await;
    let sup = who("ann", Role::Supervisor, &[]);
    let d = dc("DC01");
    let first = svc
        .list_tasks(Some(&sup), &d, TaskFilter::default(), &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let next = svc
        .list_tasks(
            Some(&sup),
            &d,
            TaskFilter::default(),
            &PageRequest::after(2, first.next.clone().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert!(next.next.is_none());
    let forged = PageRequest::after(2, domain::console::Cursor::new("nonsense"));
    assert!(matches!(
        svc.list_tasks(Some(&sup), &d, TaskFilter::default(), &forged).await,
        Err(ConsoleError::BadRequest(_))
    ));
}

#[tokio::test]
async fn the_benchmark_plan_seeds_on_the_fakes_and_every_list_answers() {
    let svc = service();
    let plan = SeedPlan::benchmark();
    for d in &plan.dcs {
        svc.ports().wms.add_dc(d);
    }
    let seeded = seed_console(svc.ports(), &plan, svc.ports().clock.now()).await.unwrap();
    assert_eq!(
        (seeded.tasks.len(), seeded.incidents.len(), seeded.failed.len()),
        (5_000, 500, 2_000)
    );
    let ops = who("ola", Role::Integration, &[]);
    let sup = who("ann", Role::Supervisor, &[]);
    let d = dc("DC07");
    let dash = svc.dashboard(Some(&ops), &d).await.unwrap();
    assert_eq!((dash.open_tasks, dash.active_holds), (417, 42));
    let tasks = svc
        .list_tasks(Some(&sup), &d, TaskFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(tasks.items.len(), 50);
    assert!(tasks.next.is_some());
    let failed = svc
        .list_stuck(Some(&ops), &d, StuckKind::SyncFailed, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 50);
    assert_eq!(svc.list_holds(Some(&sup), &d).await.unwrap().len(), 42);
}

#[tokio::test]
async fn a_transaction_handled_outside_is_no_longer_in_flight_for_the_reconciliation() {
    let svc = service();
    let p = svc.ports();
    let d = dc("DC01");
    p.add_item(plain_item("ITM-5"));
    p.add_txn(TxnBuilder::receipt("T5", "ITM-5", 4).build());
    p.fusion.fail_next_posts(
        1,
        FusionError::Rejected {
            status: 400,
            detail: "JBO-2: period closed".into(),
        },
    );
    sync_dc(p, &SyncSettings::default(), &d, "s1", p.deadline_in(10))
        .await
        .unwrap();
    // Someone keys the receipt into Fusion by hand: both systems now hold 10.
    let key = BalanceKey::new(d.clone(), build::item("ITM-5"), build::sub("STORES"), None);
    p.wms.set_balance(WmsBalance {
        key: key.clone(),
        quantity: Decimal::from(10),
        uom: build::uom("EA"),
        expiration: None,
        serials: Vec::new(),
    });
    p.fusion.set_onhand(OnhandRow {
        dc: d.clone(),
        item: build::item("ITM-5"),
        subinventory: build::sub("STORES"),
        lot: None,
        expiration: None,
        serials: Vec::new(),
        quantity: Decimal::from(10),
        uom: build::uom("EA"),
    });
    let ops = who("ola", Role::Integration, &[]);
    svc.close_txn(
        Some(&ops),
        &d,
        &build::txn_id("T5"),
        &CloseRequest {
            reason: reason("keyed into Fusion by hand after the period reopened"),
        },
    )
    .await
    .unwrap();
    let report = reconcile_dc(p, &ReconcileSettings::default(), &d, "r1", p.deadline_in(10))
        .await
        .unwrap();
    assert_eq!(
        (report.matched, report.auto_correct, report.adjustments_posted),
        (1, 0, 0)
    );
}
