//! The console service on AWS (moto: the template's tables) and both simulators, through the
//! adapters an API function or CLI wires (`app::ConsolePortsApp`): every operation and every
//! authorization rule, the concurrent-resolve 409, an adjustment posted exactly once and closed
//! only when Fusion processed it, a retried failed transaction synced by the next run, a hold
//! release that reaches the WMS and is not placed again, and one audit entry per action with no
//! update path. Run with `scripts/test.sh -p console`.

// Why: the helpers below are test code too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters::fusion::TransactionMode;
use app::ConsolePortsApp;
use chrono::{Duration, Utc};
use console::{
    CloseRequest, ConsoleError, ConsoleService, ConsoleSettings, ReleaseRequest, ResolveRequest, RetryFilter, StuckKind,
};
use domain::console::{DcScope, PageRequest, Principal, Reason, Resolution, Role, TaskStatus, UserId};
use domain::ledger::SyncState;
use domain::ports::{AuditLog, RunKind, RunReport, RunReports, SyncLedger, TaskFilter, TaskKey, TaskKind};
use domain::reconciliation::{reconcile_dc, ReconcileSettings};
use domain::sync::{sync_dc, SyncSettings};
use domain::{DcCode, WmsTxnId};
use rust_decimal::Decimal;
use test_harness::fusion_sim::{FaultStatus, Faults, ScriptedFault};
use test_harness::wms_sim::{self, DriftRequest};
use test_harness::{EnvOptions, TestEnv};
use testkit::seed::{seed_console, SeedPlan};

fn who(name: &str, role: Role, dcs: &[&DcCode]) -> Principal {
    let scope = if dcs.is_empty() {
        DcScope::All
    } else {
        DcScope::Dcs(dcs.iter().map(|d| (*d).clone()).collect())
    };
    Principal::new(UserId::parse(name).unwrap(), role, scope)
}

fn reason(s: &str) -> Reason {
    Reason::parse(s).unwrap()
}

async fn spawn(mode: TransactionMode) -> (TestEnv, ConsoleService<ConsolePortsApp>) {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 200,
        transaction_mode: mode,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let svc = ConsoleService::new(env.console_ports().unwrap(), ConsoleSettings::default());
    (env, svc)
}

/// Moves a plain item's WMS balance at `dc` by `delta` (the `n`-th plain row with at least
/// 100 on hand); returns the item.
fn drift(env: &TestEnv, dc: &DcCode, n: usize, delta: i64) -> String {
    let row = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .filter(|b| {
            b.quantity >= Decimal::from(100)
                && env.wms.item(&b.item).map(|i| i.control) == Some(wms_sim::Control::Plain)
        })
        .nth(n)
        .expect("a plain row");
    env.wms
        .inject_drift(&DriftRequest {
            dc: dc.to_string(),
            item: row.item.clone(),
            subinventory: row.subinventory.clone(),
            lot: None,
            delta: delta.to_string(),
            expiration: None,
        })
        .unwrap();
    row.item
}

async fn reconcile(svc: &ConsoleService<ConsolePortsApp>, dc: &DcCode, run: &str) {
    reconcile_dc(
        svc.ports(),
        &ReconcileSettings::default(),
        dc,
        run,
        Utc::now() + Duration::minutes(10),
    )
    .await
    .unwrap();
}

async fn variance_task(svc: &ConsoleService<ConsolePortsApp>, dc: &DcCode, item: &str) -> TaskKey {
    let sup = who("lister", Role::Supervisor, &[]);
    let page = svc
        .list_tasks(
            Some(&sup),
            dc,
            TaskFilter {
                kind: Some(TaskKind::Variance),
                status: None,
            },
            &PageRequest::first(500),
        )
        .await
        .unwrap();
    page.items
        .iter()
        .find(|t| t.key.contains(&format!("/{item}/")))
        .map(|t| t.key.parse().unwrap())
        .unwrap_or_else(|| panic!("no variance task for {item}: {:?}", page.items))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_tasks_on_aws_follow_scope_roles_and_the_concurrent_resolve_409() {
    let (env, svc) = spawn(TransactionMode::Concurrent).await;
    let (dc1, dc2) = (env.dc(0), env.dc(1));
    let item = drift(&env, &dc1, 0, 12);
    let other = drift(&env, &dc1, 1, 15);
    reconcile(&svc, &dc1, "r1").await;
    let key = variance_task(&svc, &dc1, &item).await;
    let key2 = variance_task(&svc, &dc1, &other).await;

    let sup1 = who("ann", Role::Supervisor, &[&dc1]);
    let sup2 = who("sam", Role::Supervisor, &[&dc2]);
    let mgr = who("max", Role::Manager, &[&dc1]);
    let detail = svc.task_detail(Some(&sup1), &dc1, &key).await.unwrap();
    let figures = detail.figures.expect("a variance task records its figures");
    assert_eq!(figures.variance, Decimal::from(12));
    assert!(matches!(
        svc.task_detail(Some(&sup2), &dc1, &key).await,
        Err(ConsoleError::NotFound(_))
    ));
    let adjust = ResolveRequest {
        version: 0,
        resolution: Resolution::Adjust,
    };
    assert!(matches!(
        svc.resolve_task(Some(&sup2), &dc1, &key, &adjust).await,
        Err(ConsoleError::NotFound(_))
    ));
    assert!(matches!(
        svc.resolve_task(Some(&mgr), &dc1, &key, &adjust).await,
        Err(ConsoleError::Forbidden(_))
    ));
    assert!(matches!(
        svc.list_tasks(Some(&sup2), &dc1, TaskFilter::default(), &PageRequest::default())
            .await,
        Err(ConsoleError::Forbidden(_))
    ));
    assert_eq!(
        svc.resolve_task(None, &dc1, &key, &adjust).await.map(|_| ()),
        Err(ConsoleError::Unauthenticated)
    );

    // Two supervisors resolve the same version at once: one wins, one gets 409.
    let bob = who("bob", Role::Supervisor, &[&dc1]);
    let (a, b) = tokio::join!(
        svc.resolve_task(Some(&sup1), &dc1, &key, &adjust),
        svc.resolve_task(Some(&bob), &dc1, &key, &adjust),
    );
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one success: {a:?} {b:?}"
    );
    assert!([&a, &b].iter().any(|r| matches!(r, Err(ConsoleError::Conflict(_)))));
    let (winner, out) = match (a, b) {
        (Ok(out), _) => (&sup1, out),
        (_, Ok(out)) => (&bob, out),
        _ => unreachable!("one succeeded"),
    };
    let adj = out.adjustment.clone().expect("the adjustment row");
    assert_eq!(adj.quantity, Decimal::from(12));
    // Concurrent mode: Fusion has not processed it yet, so the task waits.
    assert_eq!(out.task.state.status, TaskStatus::Resolving);
    // A double click posts nothing more.
    let again = svc.resolve_task(Some(winner), &dc1, &key, &adjust).await.unwrap();
    assert_eq!(again.task.state.version, out.task.state.version);

    // Once Fusion processed it, the next reconciliation confirms it and a read closes the task.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    reconcile(&svc, &dc1, "r2").await;
    let row = svc
        .ports()
        .engine
        .ledger
        .get(&dc1, adj.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.entry.state, SyncState::Synced);
    let closed = svc.task_detail(Some(&sup1), &dc1, &key).await.unwrap();
    assert_eq!(closed.task.state.status, TaskStatus::Closed, "{closed:?}");
    let landed = env.fusion_landed_by_reference().await.unwrap();
    let posts: usize = landed
        .iter()
        .filter(|(r, _)| r.starts_with(adj.id.as_str()))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(posts, 1, "the adjustment landed exactly once: {landed:?}");

    // Claim, then resolve by recount with the version seen; a stale version is a 409.
    let claimed = svc.claim_task(Some(&sup1), &dc1, &key2).await.unwrap();
    assert_eq!(claimed.state.status, TaskStatus::Claimed);
    let stale = ResolveRequest {
        version: 0,
        resolution: Resolution::RecountRequested,
    };
    assert!(matches!(
        svc.resolve_task(Some(&sup1), &dc1, &key2, &stale).await,
        Err(ConsoleError::Conflict(_))
    ));
    let recount = ResolveRequest {
        version: claimed.state.version,
        resolution: Resolution::RecountRequested,
    };
    let done = svc.resolve_task(Some(&sup1), &dc1, &key2, &recount).await.unwrap();
    assert_eq!(done.task.state.status, TaskStatus::Closed);

    // One audit entry per action: resolve (winner), claim, resolve (recount).
    let audit = svc.list_audit(Some(&mgr), &dc1, &PageRequest::first(1)).await.unwrap();
    assert_eq!(audit.items.len(), 1);
    let mut all = audit.items.clone();
    let mut next = audit.next.clone();
    while let Some(c) = next {
        let page = svc
            .list_audit(Some(&mgr), &dc1, &PageRequest::after(1, c))
            .await
            .unwrap();
        all.extend(page.items);
        next = page.next;
    }
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    assert!(
        !svc.ports().audit.append(&all[0]).await.unwrap(),
        "the same entry is never written twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_failure_syncs_on_the_next_run_and_close_is_terminal_on_aws() {
    let (env, svc) = spawn(TransactionMode::Online).await;
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 1).unwrap();
    env.fusion.set_faults(Faults {
        fail_next: vec![ScriptedFault {
            endpoint: "POST inventoryStagedTransactions".into(),
            status: FaultStatus::Code(400),
            count: 1,
        }],
        ..Faults::default()
    });
    let settings = SyncSettings::default();
    let deadline = || Utc::now() + Duration::minutes(10);
    sync_dc(svc.ports(), &settings, &dc, "s1", deadline()).await.unwrap();
    let id = WmsTxnId::parse(txns[0].id.clone()).unwrap();
    let ops = who("ola", Role::Integration, &[]);
    let failed = svc
        .list_stuck(Some(&ops), &dc, StuckKind::SyncFailed, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 1, "{failed:?}");
    assert!(failed.items[0].error.is_some(), "Fusion's error text is shown");
    let sup = who("ann", Role::Supervisor, &[&dc]);
    assert!(matches!(
        svc.retry_txn(Some(&sup), &dc, &id).await,
        Err(ConsoleError::Forbidden(_))
    ));

    let retried = svc.retry_txn(Some(&ops), &dc, &id).await.unwrap();
    assert_eq!(retried.state, SyncState::PendingSync);
    svc.retry_txn(Some(&ops), &dc, &id).await.unwrap();
    sync_dc(svc.ports(), &settings, &dc, "s2", deadline()).await.unwrap();
    let row = svc.ports().engine.ledger.get(&dc, id.as_str()).await.unwrap().unwrap();
    assert_eq!(row.entry.state, SyncState::Synced);
    assert_eq!(
        env.wms.reservations_count(dc.as_str()),
        0,
        "the WMS released its reservation"
    );

    // Seeded failures (not in the outbox): retry all by filter, close one as handled outside.
    seed_console(
        svc.ports(),
        &SeedPlan {
            dcs: vec![dc.clone()],
            open_tasks: 0,
            holds: 0,
            failed_txns: 4,
            hold_items: Vec::new(),
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let closing = WmsTxnId::parse("SEED-F3").unwrap();
    let close = CloseRequest {
        reason: reason("keyed into Fusion by hand"),
    };
    let closed = svc.close_txn(Some(&ops), &dc, &closing, &close).await.unwrap();
    assert_eq!(closed.state, SyncState::HandledOutside);
    let out = svc
        .retry_matching(
            Some(&ops),
            &dc,
            &RetryFilter {
                state: SyncState::SyncFailed,
                item: None,
                error_contains: Some("seeded".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(out.retried.len(), 3);
    // The sync function saves its run's report (sync_dc itself does not): save one as it would.
    svc.ports()
        .engine
        .runs
        .save(&RunReport {
            dc: dc.clone(),
            run_id: "sync:s2".into(),
            kind: RunKind::Sync,
            started_at: Utc::now(),
            duration_ms: 5,
            figures: [("synced".to_string(), 1)].into(),
            notes: Vec::new(),
        })
        .await
        .unwrap();
    let dash = svc.dashboard(Some(&ops), &dc).await.unwrap();
    assert_eq!(dash.backlog[&SyncState::SyncFailed], 0);
    assert_eq!(dash.backlog[&SyncState::PendingSync], 3);
    assert_eq!(dash.last_sync.unwrap().figures["synced"], 1);
    let audit = svc.list_audit(Some(&ops), &dc, &PageRequest::first(50)).await.unwrap();
    assert_eq!(audit.items.len(), 5, "retry, close, three retries: {:?}", audit.items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_hold_reaches_the_wms_and_is_not_placed_again_on_aws() {
    let (env, svc) = spawn(TransactionMode::Online).await;
    let dc = env.dc(0);
    let item = drift(&env, &dc, 0, 80);
    reconcile(&svc, &dc, "r1").await;
    let mgr = who("max", Role::Manager, &[&dc]);
    let holds = svc.list_holds(Some(&mgr), &dc).await.unwrap();
    let hold = holds
        .iter()
        .find(|h| h.item.as_str() == item)
        .expect("the alert tier held the item");
    assert!(hold.incident.is_some());
    let sup = who("ann", Role::Supervisor, &[&dc]);
    let release = ReleaseRequest {
        reason: reason("counted; the WMS is right"),
    };
    assert!(matches!(
        svc.release_hold(Some(&sup), &dc, &hold.item, &release).await,
        Err(ConsoleError::Forbidden(_))
    ));
    let other_mgr = who("mia", Role::Manager, &[&env.dc(1)]);
    assert!(matches!(
        svc.release_hold(Some(&other_mgr), &dc, &hold.item, &release).await,
        Err(ConsoleError::NotFound(_))
    ));
    let out = svc.release_hold(Some(&mgr), &dc, &hold.item, &release).await.unwrap();
    assert!(out.released_now);
    assert!(
        env.wms.holds(dc.as_str()).iter().all(|h| h.item != item),
        "released at the WMS"
    );
    let again = svc.release_hold(Some(&mgr), &dc, &hold.item, &release).await.unwrap();
    assert!(!again.released_now);

    reconcile(&svc, &dc, "r2").await;
    assert!(
        env.wms.holds(dc.as_str()).iter().all(|h| h.item != item),
        "the same incident places no new hold"
    );
    let incidents = svc
        .list_incidents(Some(&mgr), &dc, &PageRequest::default())
        .await
        .unwrap();
    let incident = incidents
        .items
        .iter()
        .find(|i| i.incident.item.as_str() == item)
        .expect("the incident stays open while the variance does");
    assert!(incident.hold_released.is_some());
    let acked = svc
        .acknowledge_incident(Some(&mgr), &dc, &incident.incident.id)
        .await
        .unwrap();
    assert_eq!(acked.acknowledged.as_ref().unwrap().0.as_str(), "max");
    svc.acknowledge_incident(Some(&mgr), &dc, &incident.incident.id)
        .await
        .unwrap();

    let dash = svc.dashboard(Some(&sup), &dc).await.unwrap();
    assert!(dash.open_incidents >= 1);
    assert!(dash.last_reconcile.is_some());
    assert_eq!(dash.accuracy_24h.len(), 2);
    let runs = svc
        .list_runs(Some(&sup), &dc, RunKind::Reconcile, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(runs.items[0].run_id, "r2", "newest first");
    assert!(runs.next.is_some());
    let audit = svc.list_audit(Some(&sup), &dc, &PageRequest::first(50)).await.unwrap();
    assert_eq!(
        audit.items.len(),
        2,
        "one release, one acknowledgement: {:?}",
        audit.items
    );
}

#[test]
fn the_audit_trail_has_no_update_or_delete_path() {
    let p = adapters::aws::audit::PERMISSIONS;
    for forbidden in ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"] {
        assert!(!p.resource.contains(&forbidden), "{forbidden}");
    }
    let console = app::permissions::CONSOLE;
    assert!(console
        .iter()
        .filter(|u| u.resource == "AuditTable")
        .all(|u| u
            .permissions
            .resource
            .iter()
            .all(|a| ["dynamodb:PutItem", "dynamodb:GetItem"].contains(a))));
}
