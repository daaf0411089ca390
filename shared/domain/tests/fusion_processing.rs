//! "Synced" means Fusion processed it: the sync and confirmation engines on the in-memory
//! fakes when Fusion stages rows (Background/Concurrent, 408), fails them at processing,
//! leaves them unprocessed for hours, or refuses the credentials.

use chrono::Duration;
use domain::confirm::confirm_accepted;
use domain::ledger::SyncState;
use domain::ports::{FusionError, Severity};
use domain::sync::{sync_dc, SyncReport, SyncSettings};
use testkit::build::{self, plain_item};
use testkit::fusion::PostMode;
use testkit::wms::WmsTxnStatus;
use testkit::FakePorts;

async fn run(ports: &FakePorts, run_id: &str) -> SyncReport {
    match sync_dc(
        ports,
        &SyncSettings::default(),
        &ports.dc,
        run_id,
        ports.deadline_in(15),
    )
    .await
    {
        Ok(report) => report,
        Err(e) => panic!("sync run {run_id} failed: {e}"),
    }
}

fn state(ports: &FakePorts, id: &str) -> Option<SyncState> {
    ports.ledger.state_of(&ports.dc, id)
}

#[tokio::test]
async fn a_staged_row_is_accepted_not_synced_and_the_wms_keeps_its_reservation() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A")]);
    ports.add_txns([build::plain_receipt("T1", "ITM-A", 10)]);
    ports.fusion.set_post_mode(PostMode::Staged);

    let report = run(&ports, "r1").await;

    assert_eq!((report.synced, report.accepted, report.failed), (0, 1, 0), "{report:?}");
    assert_eq!(state(&ports, "T1"), Some(SyncState::Accepted));
    assert_eq!(
        ports.wms.status(&ports.dc, "T1"),
        Some(WmsTxnStatus::PendingSync),
        "nothing reported to the WMS yet"
    );
    assert_eq!(ports.wms.outbox_ids(&ports.dc), vec!["T1".to_string()]);

    ports.fusion.process_staged(|_| None);
    let report = run(&ports, "r2").await;
    assert_eq!((report.confirmed, report.synced), (1, 0), "{report:?}");
    assert_eq!(state(&ports, "T1"), Some(SyncState::Synced));
    assert!(matches!(
        ports.wms.status(&ports.dc, "T1"),
        Some(WmsTxnStatus::Synced { .. })
    ));
    assert_eq!(ports.fusion.max_posts_per_source(), 1, "never posted twice");
}

#[tokio::test]
async fn processing_failures_become_sync_failed_with_fusions_text_a_task_and_one_alert() {
    let ports = FakePorts::new();
    let ids: Vec<String> = (0..20).map(|i| format!("T{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let item = format!("ITM-{i:02}");
        ports.add_items([plain_item(&item)]);
        ports.add_txns([build::plain_receipt(id, &item, 5)]);
    }
    ports.fusion.set_post_mode(PostMode::Staged);
    let first = run(&ports, "r1").await;
    assert_eq!(first.accepted, 20);

    let failing = ["T03", "T11"];
    let (processed, failed) = ports.fusion.process_staged(|p| {
        failing
            .contains(&p.source.txn.as_str())
            .then(|| "INV-PROC: the item's material status does not allow this transaction".to_string())
    });
    assert_eq!((processed, failed), (18, 2));
    let alerts_before = ports.alerts.count();

    let report = run(&ports, "r2").await;

    assert_eq!((report.confirmed, report.failed), (18, 2), "{report:?}");
    for id in &ids {
        let want = if failing.contains(&id.as_str()) {
            SyncState::SyncFailed
        } else {
            SyncState::Synced
        };
        assert_eq!(state(&ports, id), Some(want), "{id}");
    }
    for id in failing {
        let row = ports.ledger.row(&ports.dc, id).unwrap();
        let failure = row.entry.failure.unwrap();
        assert!(!failure.retryable);
        assert!(failure.reason.contains("material status"), "{}", failure.reason);
        let task = ports
            .tasks
            .open_task(&ports.dc, &format!("txn:{id}"))
            .expect("review task");
        assert!(task.detail.contains("material status"), "{}", task.detail);
        assert!(matches!(
            ports.wms.status(&ports.dc, id),
            Some(WmsTxnStatus::SyncFailed { .. })
        ));
    }
    let alerts = &ports.alerts.alerts()[alerts_before..];
    assert_eq!(alerts.len(), 1, "one alert for the run: {alerts:?}");
    assert!(alerts[0].body.contains("T03") && alerts[0].body.contains("T11"));
}

#[tokio::test]
async fn a_later_transaction_of_an_item_waits_until_fusion_processed_the_earlier_one() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A"), plain_item("ITM-B")]);
    ports.fusion.set_post_mode(PostMode::Staged);
    ports.add_txns([build::plain_receipt("R1", "ITM-A", 10)]);
    run(&ports, "r1").await;
    assert_eq!(state(&ports, "R1"), Some(SyncState::Accepted));

    ports.fusion.set_post_mode(PostMode::Processed);
    ports.add_txns([
        build::plain_issue("I1", "ITM-A", 4),
        build::plain_receipt("B1", "ITM-B", 2),
    ]);
    let report = run(&ports, "r2").await;
    assert_eq!(report.waiting_on_fusion, 2, "R1 itself and I1 wait: {report:?}");
    assert_eq!(report.synced, 1, "the other item is not held: {report:?}");
    assert_eq!(state(&ports, "I1"), None, "not even claimed");
    assert!(ports.fusion.posts_of("I1").is_empty(), "the issue was not posted");

    ports.fusion.process_staged(|_| None);
    let report = run(&ports, "r3").await;
    assert_eq!((report.confirmed, report.synced), (1, 1), "{report:?}");
    assert_eq!(state(&ports, "I1"), Some(SyncState::Synced));
    let on_hand = ports
        .fusion
        .onhand_quantity(&ports.dc, &build::item("ITM-A"), &build::sub("STORES"), None);
    assert_eq!(on_hand, rust_decimal::Decimal::from(6));
}

#[tokio::test]
async fn a_row_fusion_leaves_unprocessed_past_the_review_age_gets_one_task_and_keeps_waiting() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A")]);
    ports.add_txns([build::plain_receipt("T1", "ITM-A", 10)]);
    ports.fusion.set_post_mode(PostMode::Staged);
    run(&ports, "r1").await;

    ports.clock.advance(Duration::minutes(90));
    let c = confirm_accepted(&ports, &SyncSettings::default(), &ports.dc)
        .await
        .unwrap();
    assert_eq!((c.still_unprocessed, c.overdue), (1, 0));
    assert!(ports.tasks.open_task(&ports.dc, "txn:T1").is_none());

    ports.clock.advance(Duration::minutes(31));
    let report = run(&ports, "r2").await;
    assert_eq!(
        (report.still_unprocessed, report.unprocessed_overdue),
        (1, 1),
        "{report:?}"
    );
    let task = ports.tasks.open_task(&ports.dc, "txn:T1").expect("task");
    assert!(
        task.summary.contains("Fusion has not processed this transaction"),
        "{}",
        task.summary
    );
    run(&ports, "r3").await;
    assert_eq!(ports.tasks.open(&ports.dc).len(), 1, "refreshed, not duplicated");
    assert_eq!(state(&ports, "T1"), Some(SyncState::Accepted));
}

#[tokio::test]
async fn rejected_credentials_stop_the_run_fail_nothing_and_alert_once() {
    let ports = FakePorts::new();
    let ids: Vec<String> = (0..30).map(|i| format!("T{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let item = format!("ITM-{i:02}");
        ports.add_items([plain_item(&item)]);
        ports.add_txns([build::plain_receipt(id, &item, 1)]);
    }
    ports.fusion.fail_next_posts(100, FusionError::Unauthorized);

    let report = run(&ports, "r1").await;

    assert!(
        report.systemic.as_deref().is_some_and(|c| c.contains("401")),
        "{report:?}"
    );
    assert_eq!((report.failed, report.synced), (0, 0), "{report:?}");
    assert!(
        ports.fusion.post_calls() <= 8,
        "at most one post per concurrent item: {}",
        ports.fusion.post_calls()
    );
    for id in &ids {
        assert_eq!(
            state(&ports, id).unwrap_or(SyncState::PendingSync),
            SyncState::PendingSync,
            "{id}"
        );
        assert_eq!(
            ports.wms.status(&ports.dc, id),
            Some(WmsTxnStatus::PendingSync),
            "{id}: nothing reported to the WMS"
        );
    }
    let keys: Vec<String> = ports
        .tasks
        .open(&ports.dc)
        .into_iter()
        .map(|t| t.key.to_string())
        .collect();
    assert_eq!(
        keys,
        vec!["systemic:fusion".to_string()],
        "one incident task, no task per transaction"
    );
    let alerts = ports.alerts.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert!(alerts[0].body.contains("FUSION_SECRET_ARN"), "{}", alerts[0].body);

    // The secret is fixed: everything syncs, nothing was spent from the attempt budget.
    ports.fusion.clear_post_failures();
    let fixed = run_until_drained(&ports).await;
    assert_eq!(fixed, 30);
    assert!(
        ports.tasks.open(&ports.dc).is_empty(),
        "the first run that got through closed the incident"
    );
    for id in &ids {
        assert_eq!(state(&ports, id), Some(SyncState::Synced), "{id}");
        assert_eq!(ports.ledger.row(&ports.dc, id).unwrap().entry.attempts, 1, "{id}");
    }
}

/// Runs until the outbox is empty (the first run may still consume queued faults).
async fn run_until_drained(ports: &FakePorts) -> u64 {
    let mut synced = 0;
    for i in 0..5 {
        let report = run(ports, &format!("drain{i}")).await;
        synced += report.synced;
        if ports.wms.outbox_ids(&ports.dc).is_empty() {
            break;
        }
    }
    synced
}

#[tokio::test]
async fn an_outage_stops_the_run_after_a_few_failures_instead_of_failing_every_transaction() {
    let ports = FakePorts::new();
    let ids: Vec<String> = (0..40).map(|i| format!("T{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let item = format!("ITM-{i:02}");
        ports.add_items([plain_item(&item)]);
        ports.add_txns([build::plain_receipt(id, &item, 1)]);
    }
    ports
        .fusion
        .fail_next_posts(1000, FusionError::Unavailable { status: 503 });
    let settings = SyncSettings::default();

    let report = run(&ports, "r1").await;

    assert!(
        report.outage.as_deref().is_some_and(|c| c.contains("503")),
        "{report:?}"
    );
    assert!(report.systemic.is_none(), "an outage is not a credential incident");
    assert!(
        report.failed >= settings.outage_after as u64
            && report.failed < settings.outage_after as u64 + settings.concurrency as u64,
        "a few failures, not all 40: {report:?}"
    );
    assert_eq!(report.failed + report.halted, 40, "{report:?}");
    let pending = ids
        .iter()
        .filter(|id| state(&ports, id).is_none_or(|s| s == SyncState::PendingSync))
        .count() as u64;
    assert_eq!(pending, report.halted, "the rest stay pending, untouched");
    let alerts = ports.alerts.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].body.contains("Fusion looks unavailable"),
        "{}",
        alerts[0].body
    );

    ports.fusion.clear_post_failures();
    assert_eq!(run_until_drained(&ports).await, 40);
}

#[tokio::test]
async fn a_wms_that_refuses_the_credentials_stops_the_run_with_one_critical_alert() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A")]);
    ports.add_txns([build::plain_receipt("T1", "ITM-A", 1)]);
    ports
        .wms
        .fail_next_outbox(2, domain::ports::WmsError::Unauthorized(401));

    for run in ["r1", "r2"] {
        let err = sync_dc(&ports, &SyncSettings::default(), &ports.dc, run, ports.deadline_in(15))
            .await
            .unwrap_err();
        assert!(err.is_systemic(), "{err}");
        assert!(domain::Retryable::is_retryable(&err), "the message is retried");
    }
    assert_eq!(state(&ports, "T1"), None, "nothing claimed");
    let alerts = ports.alerts.alerts();
    assert_eq!(alerts.len(), 1, "one alert per incident: {alerts:?}");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert!(alerts[0].body.contains("WMS_API_KEY_SECRET_ARN"), "{}", alerts[0].body);

    let report = run(&ports, "r3").await;
    assert_eq!(report.synced, 1);
    assert!(ports.tasks.open(&ports.dc).is_empty(), "the incident closed");
}

#[tokio::test]
async fn a_dc_outside_dc_list_is_refused_and_nothing_is_touched() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A")]);
    ports.add_txns([build::plain_receipt("T1", "ITM-A", 1)]);
    let settings = SyncSettings {
        dcs: Some([build::dc("DC02")].into_iter().collect()),
        ..SyncSettings::default()
    };
    let err = sync_dc(&ports, &settings, &ports.dc, "r1", ports.deadline_in(15))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DC_LIST"), "{err}");
    assert!(!domain::Retryable::is_retryable(&err), "acknowledged, not looped");
    assert_eq!(ports.wms.outbox_calls(), 0);
    assert_eq!(state(&ports, "T1"), None);
}
