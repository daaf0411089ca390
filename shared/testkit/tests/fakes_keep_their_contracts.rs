//! The fakes honour the port contracts the engines rely on.

use chrono::Duration;
use domain::ledger::{LedgerEvent, SyncState};
use domain::ports::{
    Clock, DcLease, FusionError, FusionInventory, Landed, ReviewTask, ReviewTasks, StoreError, SyncLedger, SyncOutcome,
    TaskChange, TaskKind, WarehouseSystem, WmsError,
};
use testkit::build::{self, plain_item};
use testkit::wms::WmsTxnStatus;
use testkit::{FakePorts, ManualClock};

#[tokio::test]
async fn the_ledger_refuses_a_transition_from_a_stale_version() {
    let ports = FakePorts::new();
    let now = ports.clock.now();
    let txn = build::plain_receipt("T1", "ITM-P", 1);
    let row = ports.ledger.record_seen(&txn, now).await.unwrap();
    let claim = LedgerEvent::Claim {
        now,
        lease_until: now + Duration::minutes(5),
        max_attempts: 3,
    };
    let next = row.entry.apply(claim).unwrap();

    ports.ledger.transition(&row, &next, now).await.unwrap();
    let again = ports.ledger.transition(&row, &next, now).await;

    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let stored = ports.ledger.record_seen(&txn, now).await.unwrap();
    assert_eq!((stored.entry.state, stored.entry.version), (SyncState::InFlight, 1));
}

#[tokio::test]
async fn a_lease_is_exclusive_until_it_lapses_or_is_released() {
    let ports = FakePorts::new();
    let (dc, now) = (ports.dc.clone(), ports.clock.now());
    let until = now + Duration::minutes(10);

    assert!(ports.lease.acquire(&dc, "a", now, until).await.unwrap());
    assert!(!ports.lease.acquire(&dc, "b", now, until).await.unwrap());
    assert!(ports.lease.acquire(&dc, "a", now, until).await.unwrap(), "renewal");
    assert!(ports
        .lease
        .acquire(&dc, "b", until, until + Duration::minutes(1))
        .await
        .unwrap());
    ports.lease.release(&dc, "a").await.unwrap();
    assert_eq!(ports.lease.holder(&dc).map(|h| h.0), Some("b".to_string()));
}

#[tokio::test]
async fn one_open_task_per_key_and_a_closed_key_opens_afresh() {
    let ports = FakePorts::new();
    let now = ports.clock.now();
    let task = ReviewTask {
        dc: ports.dc.clone(),
        key: "bal:x".parse().unwrap(),
        kind: TaskKind::Variance,
        summary: "s".into(),
        detail: "d".into(),
        figures: None,
    };

    assert_eq!(
        ports.tasks.open_or_update(&task, now).await.unwrap(),
        TaskChange::Opened
    );
    assert_eq!(
        ports.tasks.open_or_update(&task, now).await.unwrap(),
        TaskChange::Updated
    );
    assert!(ports
        .tasks
        .close(&ports.dc, &"bal:x".parse().unwrap(), "back to zero", now)
        .await
        .unwrap());
    assert!(!ports
        .tasks
        .close(&ports.dc, &"bal:x".parse().unwrap(), "again", now)
        .await
        .unwrap());
    assert_eq!(
        ports.tasks.open_or_update(&task, now).await.unwrap(),
        TaskChange::Opened
    );
    assert_eq!(ports.tasks.records().len(), 2);
    assert_eq!(ports.tasks.open(&ports.dc).len(), 1);
}

#[tokio::test]
async fn fusion_finds_accepted_posts_and_scripts_failures() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-T"));
    let txn = build::transfer("T1", "ITM-T", "STORES", "PICK", 2);
    let post = txn.to_posts(50).unwrap().remove(0);

    assert!(matches!(
        ports.fusion.item_info(&ports.dc, &build::item("NOPE")).await,
        Err(FusionError::NotFound(_))
    ));
    assert_eq!(
        ports.fusion.find(&ports.dc, &post.source).await.unwrap(),
        Landed::NotFound
    );
    ports.fusion.fail_next_posts(1, FusionError::Timeout);
    assert_eq!(ports.fusion.post(&post).await, Err(FusionError::Timeout));
    assert_eq!(ports.fusion.post_count(&post.source), 0);
    ports.fusion.accept_then_error_next(1);
    assert!(matches!(
        ports.fusion.post(&post).await,
        Err(FusionError::Connection(_))
    ));
    assert_eq!(ports.fusion.post_count(&post.source), 1);
    match ports.fusion.find(&ports.dc, &post.source).await.unwrap() {
        Landed::Completed { sides, .. } => assert_eq!(sides, 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(ports.fusion.post_calls(), 2);
}

#[tokio::test]
async fn the_wms_outbox_pages_by_cursor_and_outcomes_follow_the_contract() {
    let ports = FakePorts::new();
    for i in 1..=5 {
        ports.add_txn(build::plain_receipt(&format!("T{i}"), "ITM-P", 1));
    }
    let dc = ports.dc.clone();
    let synced = |r: &str| SyncOutcome::Synced {
        fusion_reference: r.into(),
    };
    let failed = SyncOutcome::Failed { error: "e".into() };

    let p1 = ports.wms.outbox(&dc, None, 2).await.unwrap();
    let p2 = ports.wms.outbox(&dc, p1.next_cursor.as_deref(), 2).await.unwrap();
    ports.wms.report(&dc, "T5", &synced("9")).await.unwrap();
    let p3 = ports.wms.outbox(&dc, p2.next_cursor.as_deref(), 2).await.unwrap();
    let ids: Vec<String> = [p1, p2, p3]
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.raw_id.clone()))
        .collect();
    assert_eq!(ids, ["T1", "T2", "T3", "T4"]);

    ports.wms.report(&dc, "T1", &failed).await.unwrap();
    assert!(ports.wms.outbox(&dc, None, 1).await.unwrap().items[0].failed_before);
    ports.wms.report(&dc, "T1", &synced("7")).await.unwrap();
    ports.wms.report(&dc, "T1", &synced("7")).await.unwrap();
    assert!(matches!(
        ports.wms.report(&dc, "T1", &synced("8")).await,
        Err(WmsError::Conflict(_))
    ));
    assert!(matches!(
        ports.wms.report(&dc, "T1", &failed).await,
        Err(WmsError::Conflict(_))
    ));
    assert_eq!(
        ports.wms.status(&dc, "T1"),
        Some(WmsTxnStatus::Synced {
            fusion_reference: "7".into()
        })
    );
    assert!(matches!(
        ports.wms.report(&dc, "NOPE", &failed).await,
        Err(WmsError::Rejected { status: 404, .. })
    ));
    assert!(matches!(
        ports.wms.outbox(&build::dc("DC99"), None, 1).await,
        Err(WmsError::UnknownDc(_))
    ));
}

#[test]
fn clones_of_a_manual_clock_share_its_time() {
    let clock = ManualClock::new();
    let other = clock.clone();
    let later = clock.advance(Duration::minutes(3));
    assert_eq!(other.now(), later);
    assert_eq!(later - build::epoch(), Duration::minutes(3));
}
