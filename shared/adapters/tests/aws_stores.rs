//! The DynamoDB stores against an AWS emulator: conditional writes, races, queries by state,
//! leases, the lot map, review tasks, incidents, run reports and the write counter.

mod aws_support;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_support::{at, dc, receipt, TestEnv};
use domain::ledger::FusionRef;
use domain::ports::RunKind;
use domain::ports::{
    DcLease, Incident, Incidents, LotMap, MappedLot, ReviewTask, ReviewTasks, RunReport, RunReports, StoreError,
    SyncLedger, TaskChange, TaskKind,
};
use domain::{Failure, ItemNumber, LedgerEvent, LotNumber, SyncState};
use std::collections::BTreeSet;
use std::sync::Arc;

fn claim(now: i64) -> LedgerEvent {
    LedgerEvent::Claim {
        now: at(now),
        lease_until: at(now + 300),
        max_attempts: 3,
    }
}

#[tokio::test]
async fn record_seen_creates_a_row_once_and_then_returns_the_stored_one() {
    let env = TestEnv::spawn().await;
    let ledger = env.ledger();
    let txn = receipt("DC01", "DC01-0001");

    let first = ledger.record_seen(&txn, at(0)).await.unwrap();
    assert_eq!(first.entry.state, SyncState::PendingSync);
    assert_eq!(first.entry.version, 0);
    let claimed = first.entry.apply(claim(1)).unwrap();
    ledger.transition(&first, &claimed, at(1)).await.unwrap();

    let again = ledger.record_seen(&txn, at(2)).await.unwrap();
    assert_eq!(again.entry, claimed, "a second sighting must not reset the row");
    assert_eq!(again.txn, txn);
    assert_eq!(again.updated_at, at(1));
    assert_eq!(ledger.get(&dc("DC01"), "DC01-0001").await.unwrap(), Some(again));
    assert_eq!(ledger.get(&dc("DC01"), "DC01-missing").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_from_one_version_let_exactly_one_win() {
    let env = TestEnv::spawn().await;
    let ledger = Arc::new(env.ledger());
    let row = ledger.record_seen(&receipt("DC01", "DC01-0002"), at(0)).await.unwrap();

    let mut racers = Vec::new();
    for i in 0..10 {
        let (ledger, row) = (ledger.clone(), row.clone());
        racers.push(tokio::spawn(async move {
            let next = row.entry.apply(claim(i)).unwrap();
            ledger.transition(&row, &next, at(i)).await
        }));
    }
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one invocation may move the row");
    let stored = ledger.get(&dc("DC01"), "DC01-0002").await.unwrap().unwrap();
    assert_eq!(
        (stored.entry.state, stored.entry.version, stored.entry.attempts),
        (SyncState::InFlight, 1, 1)
    );

    let stale = row.entry.apply(claim(99)).unwrap();
    assert!(matches!(
        ledger.transition(&row, &stale, at(99)).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn unsettled_finds_pending_in_flight_and_failed_rows_but_not_settled_ones() {
    let env = TestEnv::spawn().await;
    let ledger = env.ledger();
    let pending = ledger.record_seen(&receipt("DC01", "P-1"), at(0)).await.unwrap();
    let in_flight = ledger.record_seen(&receipt("DC01", "F-1"), at(0)).await.unwrap();
    let failed = ledger.record_seen(&receipt("DC01", "X-1"), at(0)).await.unwrap();
    let synced = ledger.record_seen(&receipt("DC01", "S-1"), at(0)).await.unwrap();
    ledger.record_seen(&receipt("DC02", "P-2"), at(0)).await.unwrap();

    let move_row = |row: domain::ports::LedgerRow, events: Vec<LedgerEvent>| {
        let ledger = &ledger;
        async move {
            let mut row = row;
            for (i, event) in events.into_iter().enumerate() {
                let next = row.entry.apply(event).unwrap();
                let now = at(10 + i as i64);
                ledger.transition(&row, &next, now).await.unwrap();
                row = ledger.get(row.txn.dc(), row.txn.id().as_str()).await.unwrap().unwrap();
                assert_eq!(row.entry, next);
            }
            row
        }
    };
    move_row(in_flight, vec![claim(1)]).await;
    let failure = Failure {
        retryable: false,
        reason: "Item ITM-1 is not valid in organization DC01".into(),
        systemic: false,
    };
    let failed = move_row(failed, vec![claim(1), LedgerEvent::Fail(failure.clone())]).await;
    assert_eq!(failed.entry.failure, Some(failure));
    assert_eq!(failed.entry.lease_until, None);
    let synced = move_row(
        synced,
        vec![
            claim(1),
            LedgerEvent::Confirm {
                fusion_refs: vec![FusionRef::processed_id(300100), "300101+300102".parse().unwrap()],
            },
        ],
    )
    .await;
    assert_eq!(
        synced.entry.fusion_refs,
        vec![FusionRef::processed_id(300100), "300101+300102".parse().unwrap()]
    );

    let unsettled: BTreeSet<String> = ledger
        .unsettled(&dc("DC01"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.txn.id().to_string())
        .collect();
    assert_eq!(unsettled, BTreeSet::from(["P-1".into(), "F-1".into(), "X-1".into()]));
    assert_eq!(pending.entry.state, SyncState::PendingSync);

    let settled = ledger.rows_by_state(&dc("DC01"), SyncState::Synced).await.unwrap();
    assert_eq!(settled, vec![synced]);
    let stale = ledger
        .rows_by_state_before(&dc("DC01"), SyncState::InFlight, at(11))
        .await
        .unwrap();
    assert_eq!(stale.len(), 1);
    assert!(ledger
        .rows_by_state_before(&dc("DC01"), SyncState::InFlight, at(10))
        .await
        .unwrap()
        .is_empty());

    let raw = env
        .dynamodb
        .get_item()
        .table_name(env.table("LedgerTable"))
        .key("dc", AttributeValue::S("DC01".into()))
        .key("txn_id", AttributeValue::S("S-1".into()))
        .send()
        .await
        .unwrap();
    let expires = raw
        .item()
        .and_then(|i| i.get("expires_at"))
        .and_then(|v| v.as_n().ok())
        .cloned();
    let want = (at(11) + chrono::TimeDelta::days(30)).timestamp().to_string();
    assert_eq!(expires, Some(want), "synced rows expire 30 days after syncing");
    let unexpiring = env
        .dynamodb
        .get_item()
        .table_name(env.table("LedgerTable"))
        .key("dc", AttributeValue::S("DC01".into()))
        .key("txn_id", AttributeValue::S("X-1".into()))
        .send()
        .await
        .unwrap();
    assert!(unexpiring.item().is_some_and(|i| !i.contains_key("expires_at")));
}

#[tokio::test]
async fn unreadable_ledger_rows_are_reported_as_corrupt() {
    let env = TestEnv::spawn().await;
    env.dynamodb
        .put_item()
        .table_name(env.table("LedgerTable"))
        .item("dc", AttributeValue::S("DC01".into()))
        .item("txn_id", AttributeValue::S("BAD-1".into()))
        .item("txn", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();
    match env.ledger().get(&dc("DC01"), "BAD-1").await {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("BAD-1") && message.contains("txn"), "{message}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lease_is_exclusive_until_it_lapses_and_only_its_owner_releases_it() {
    let env = TestEnv::spawn().await;
    let lease = env.lease();
    let dc01 = dc("DC01");

    assert!(lease.acquire(&dc01, "inv-a", at(0), at(60)).await.unwrap());
    assert!(!lease.acquire(&dc01, "inv-b", at(10), at(70)).await.unwrap());
    assert!(
        lease.acquire(&dc01, "inv-a", at(20), at(80)).await.unwrap(),
        "the owner renews"
    );
    assert!(!lease.acquire(&dc01, "inv-b", at(79), at(140)).await.unwrap());
    assert!(
        lease.acquire(&dc("DC02"), "inv-b", at(79), at(140)).await.unwrap(),
        "leases are per DC"
    );
    assert!(
        lease.acquire(&dc01, "inv-b", at(80), at(140)).await.unwrap(),
        "a lapsed lease is taken over"
    );

    lease.release(&dc01, "inv-a").await.unwrap();
    assert_eq!(
        lease.holder(&dc01).await.unwrap().map(|h| h.0),
        Some("inv-b".to_string())
    );
    assert!(!lease.acquire(&dc01, "inv-a", at(90), at(150)).await.unwrap());
    lease.release(&dc01, "inv-b").await.unwrap();
    assert_eq!(lease.holder(&dc01).await.unwrap(), None);
    assert!(lease.acquire(&dc01, "inv-a", at(91), at(151)).await.unwrap());
}

#[tokio::test]
async fn the_lot_map_keeps_the_first_mapping_it_sees() {
    let env = TestEnv::spawn().await;
    let lots = env.lot_map();
    let (dc01, item) = (dc("DC01"), ItemNumber::parse("ITM-7 #blue").unwrap());
    let wms_lot = LotNumber::parse("W-LOT-1").unwrap();
    let first = MappedLot {
        fusion_lot: LotNumber::parse("F-LOT-1").unwrap(),
        expiration: chrono::NaiveDate::from_ymd_opt(2031, 1, 31),
    };
    let second = MappedLot {
        fusion_lot: LotNumber::parse("F-LOT-2").unwrap(),
        expiration: None,
    };

    assert_eq!(lots.get(&dc01, &item, &wms_lot).await.unwrap(), None);
    assert_eq!(lots.put_if_absent(&dc01, &item, &wms_lot, &first).await.unwrap(), first);
    assert_eq!(
        lots.put_if_absent(&dc01, &item, &wms_lot, &second).await.unwrap(),
        first
    );
    assert_eq!(lots.get(&dc01, &item, &wms_lot).await.unwrap(), Some(first));
    assert_eq!(
        lots.put_if_absent(&dc("DC02"), &item, &wms_lot, &second).await.unwrap(),
        second,
        "mappings are per DC"
    );
}

fn variance_task(detail: &str) -> ReviewTask {
    ReviewTask {
        dc: dc("DC01"),
        key: "bal:DC01/ITM-1/STORES".parse().unwrap_or_else(|e| panic!("{e}")),
        kind: TaskKind::Variance,
        summary: "ITM-1 in STORES is off by 12 EA".into(),
        detail: detail.into(),
        figures: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_review_task_opens_never_duplicate_and_closed_tasks_reopen() {
    let env = TestEnv::spawn().await;
    let tasks = Arc::new(env.review_tasks());

    let mut callers = Vec::new();
    for i in 0..10 {
        let tasks = tasks.clone();
        callers.push(tokio::spawn(async move {
            tasks.open_or_update(&variance_task(&format!("run {i}")), at(i)).await
        }));
    }
    let mut changes = Vec::new();
    for caller in callers {
        changes.push(caller.await.unwrap().unwrap());
    }
    assert_eq!(
        changes.iter().filter(|c| **c == TaskChange::Opened).count(),
        1,
        "{changes:?}"
    );
    assert_eq!(changes.iter().filter(|c| **c == TaskChange::Updated).count(), 9);
    let open = tasks.open_tasks(&dc("DC01")).await.unwrap();
    assert_eq!(open.len(), 1);

    assert!(tasks
        .close(&dc("DC01"), &open[0].key, "variance back to zero", at(100))
        .await
        .unwrap());
    assert!(!tasks.close(&dc("DC01"), &open[0].key, "again", at(101)).await.unwrap());
    assert!(tasks.open_tasks(&dc("DC01")).await.unwrap().is_empty());
    let record = tasks.record(&dc("DC01"), &open[0].key).await.unwrap().unwrap();
    assert_eq!(record.status, adapters::aws::TaskStatus::Closed);
    assert_eq!(record.closed_reason.as_deref(), Some("variance back to zero"));
    assert_eq!(record.closed_at, Some(at(100)));

    let change = tasks
        .open_or_update(&variance_task("back again"), at(200))
        .await
        .unwrap();
    assert_eq!(change, TaskChange::Opened);
    assert_eq!(
        tasks
            .open_or_update(&variance_task("still off"), at(201))
            .await
            .unwrap(),
        TaskChange::Updated
    );
    let open = tasks.open_tasks(&dc("DC01")).await.unwrap();
    assert_eq!(open, vec![variance_task("still off")]);
    let record = tasks.record(&dc("DC01"), &open[0].key).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.closed_reason),
        (adapters::aws::TaskStatus::Open, None)
    );
}

#[tokio::test]
async fn every_task_key_shape_is_stored_as_its_text_and_read_back() {
    let env = TestEnv::spawn().await;
    let tasks = env.review_tasks();
    let keys = [
        "txn:DC01-0001",
        "txn:not a valid id",
        "bal:DC01/ITM/WITH/SLASHES/STORES/L1",
        "systemic:fusion",
        "systemic:wms",
    ];
    for (i, key) in keys.iter().enumerate() {
        let task = ReviewTask {
            key: key.parse().unwrap(),
            ..variance_task("shape")
        };
        assert_eq!(
            tasks.open_or_update(&task, at(i as i64)).await.unwrap(),
            TaskChange::Opened
        );
        let stored = env
            .dynamodb
            .get_item()
            .table_name(env.table("ReviewTaskTable"))
            .key("dc", AttributeValue::S("DC01".into()))
            .key("task_key", AttributeValue::S((*key).into()))
            .send()
            .await
            .unwrap();
        assert!(stored.item().is_some(), "{key} stored under its text");
    }
    let open: BTreeSet<String> = tasks
        .open_tasks(&dc("DC01"))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.key.to_string())
        .collect();
    assert_eq!(open, keys.iter().map(|k| k.to_string()).collect());
}

#[tokio::test]
async fn an_incident_opens_once_until_it_is_closed() {
    let env = TestEnv::spawn().await;
    let incidents = env.incidents();
    let incident = Incident {
        dc: dc("DC01"),
        key: "DC01/ITM-9/STORES".parse().unwrap(),
        item: ItemNumber::parse("ITM-9").unwrap(),
        id: "INC-1".parse().unwrap(),
        opened_at: at(0),
    };

    assert!(incidents.open_if_absent(&incident).await.unwrap());
    let later = Incident {
        id: "INC-2".parse().unwrap(),
        opened_at: at(900),
        ..incident.clone()
    };
    assert!(
        !incidents.open_if_absent(&later).await.unwrap(),
        "one alert per incident"
    );
    let open = incidents.open_incidents(&dc("DC01")).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id.as_str(), "INC-1");

    assert!(incidents
        .close(&dc("DC01"), &incident.key, "released by J. Smith", at(1000))
        .await
        .unwrap());
    assert!(!incidents
        .close(&dc("DC01"), &incident.key, "again", at(1001))
        .await
        .unwrap());
    assert!(incidents.open_incidents(&dc("DC01")).await.unwrap().is_empty());
    assert!(
        incidents.open_if_absent(&later).await.unwrap(),
        "a new incident after the last one closed"
    );
    assert_eq!(
        incidents.open_incidents(&dc("DC01")).await.unwrap()[0].id.as_str(),
        "INC-2"
    );
}

#[tokio::test]
async fn run_reports_round_trip_and_saving_twice_is_harmless() {
    let env = TestEnv::spawn().await;
    let reports = env.run_reports();
    let report = RunReport {
        dc: dc("DC01"),
        run_id: "reconcile:DC01:2030-03-01T08:00Z".into(),
        kind: RunKind::Reconcile,
        started_at: at(0),
        duration_ms: 4_200,
        figures: [("auto_corrected".to_string(), 3), ("variance_units".to_string(), -12)].into(),
        notes: vec!["stopped early: time budget".into()],
    };
    reports.save(&report).await.unwrap();
    reports.save(&report).await.unwrap();
    assert_eq!(
        reports
            .get(&dc("DC01"), RunKind::Reconcile, report.run_id.as_str())
            .await
            .unwrap(),
        Some(report)
    );
}

#[tokio::test]
async fn the_write_counter_counts_every_write_request_including_lost_ones() {
    let env = TestEnv::spawn().await;
    let ledger = env.ledger();
    let txn = receipt("DC01", "W-1");
    assert_eq!(env.writes.get(), 0);
    let row = ledger.record_seen(&txn, at(0)).await.unwrap();
    ledger.record_seen(&txn, at(1)).await.unwrap();
    let next = row.entry.apply(claim(2)).unwrap();
    ledger.transition(&row, &next, at(2)).await.unwrap();
    assert!(ledger.transition(&row, &next, at(3)).await.is_err());
    ledger.get(txn.dc(), txn.id().as_str()).await.unwrap();
    ledger.unsettled(txn.dc()).await.unwrap();
    assert_eq!(env.writes.get(), 4, "two puts and two updates; reads are not counted");
    env.lease().acquire(txn.dc(), "me", at(0), at(9)).await.unwrap();
    assert_eq!(env.writes.get(), 5, "stores built from one counter share it");
}
