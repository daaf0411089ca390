//! The sync engine (`domain::sync`) against the testkit's in-memory fakes: exactly-once posting
//! under redelivery, concurrency and crashes; retries, escalation and review tasks; per-item
//! ordering; the time budget; and re-reporting outcomes to the WMS.

use chrono::Duration;
use domain::ledger::{FusionRef, LedgerEvent, SyncState};
use domain::ports::{Clock, FusionError, FusionInventory, StoreError, SyncLedger, SyncOutcome, WmsError};
use domain::sync::{sync_dc, sync_transaction, SyncReport, SyncSettings, TxnOutcome};
use domain::txn::SourceRef;
use rust_decimal::Decimal;
use testkit::build::{self, date, lot_item, plain_item, serial_item, TxnBuilder};
use testkit::fusion::PostMatch;
use testkit::wms::WmsTxnStatus;
use testkit::FakePorts;

fn settings() -> SyncSettings {
    SyncSettings::default()
}

async fn run(ports: &FakePorts, run_id: &str) -> SyncReport {
    run_with(ports, &settings(), run_id).await
}

async fn run_with(ports: &FakePorts, settings: &SyncSettings, run_id: &str) -> SyncReport {
    match sync_dc(ports, settings, &ports.dc, run_id, ports.deadline_in(15)).await {
        Ok(report) => report,
        Err(e) => panic!("sync run {run_id} failed: {e}"),
    }
}

fn state(ports: &FakePorts, id: &str) -> Option<SyncState> {
    ports.ledger.state_of(&ports.dc, id)
}

fn wms_status(ports: &FakePorts, id: &str) -> Option<WmsTxnStatus> {
    ports.wms.status(&ports.dc, id)
}

fn source(id: &str, line: u32, lines: u32) -> SourceRef {
    SourceRef {
        txn: build::txn_id(id),
        line,
        lines,
    }
}

/// Plain receipt and issue, a lot receipt of a new lot, a 120-serial receipt and a transfer.
fn mixed_batch(ports: &FakePorts) {
    ports.add_items([
        plain_item("ITM-P"),
        lot_item("ITM-L"),
        serial_item("ITM-S"),
        plain_item("ITM-T"),
    ]);
    ports.add_txns([
        build::plain_receipt("T1", "ITM-P", 10),
        build::lot_receipt("T2", "ITM-L", "L1", 5, Some(date(2027, 3, 1))),
        build::serial_receipt("T3", "ITM-S", 120),
        build::transfer("T4", "ITM-T", "STORES", "PICK", 4),
        build::plain_issue("T5", "ITM-P", 3),
    ]);
}

const MIXED_IDS: [&str; 5] = ["T1", "T2", "T3", "T4", "T5"];

#[tokio::test]
async fn a_mixed_batch_of_every_kind_syncs_and_is_reported_to_the_wms() {
    let ports = FakePorts::new();
    mixed_batch(&ports);

    let report = run(&ports, "r1").await;

    assert_eq!((report.seen, report.synced, report.failed), (5, 5, 0), "{report:?}");
    assert_eq!(report.lines_posted, 7, "1 + 1 + 3 serial chunks + 1 + 1");
    assert!(!report.stopped_early && !report.lease_busy);
    for id in MIXED_IDS {
        assert_eq!(state(&ports, id), Some(SyncState::Synced), "{id}");
        let ledger_refs = FusionRef::wms_reference(&ports.ledger.row(&ports.dc, id).unwrap().entry.fusion_refs);
        assert_eq!(
            wms_status(&ports, id),
            Some(WmsTxnStatus::Synced {
                fusion_reference: ledger_refs
            }),
            "{id}"
        );
    }
    assert!(ports.wms.outbox_ids(&ports.dc).is_empty());
    assert_eq!(ports.fusion.max_posts_per_source(), 1);

    let chunks: Vec<usize> = ports.fusion.posts_of("T3").iter().map(|p| p.serials.len()).collect();
    assert_eq!(chunks, vec![50, 50, 20]);
    let all_serials: Vec<_> = ports
        .fusion
        .posts_of("T3")
        .into_iter()
        .flat_map(|p| p.serials)
        .collect();
    assert_eq!(all_serials, build::serials("T3-SN", 120));

    let (dc, l1) = (&ports.dc, build::lot("L1"));
    assert_eq!(
        ports.fusion.lots_created(),
        vec![(dc.clone(), build::item("ITM-L"), l1.clone())]
    );
    let mapped = ports.lots.mapping(dc, &build::item("ITM-L"), &l1).unwrap();
    assert_eq!(mapped.expiration, Some(date(2027, 3, 1)));

    let transfer_ref = ports.ledger.row(dc, "T4").unwrap().entry.fusion_refs;
    assert_eq!(transfer_ref.len(), 1);
    assert_eq!(
        transfer_ref[0].to_string().split('+').count(),
        2,
        "both sides of the transfer: {transfer_ref:?}"
    );

    let stores = build::sub("STORES");
    let pick = build::sub("PICK");
    assert_eq!(
        ports.fusion.onhand_quantity(dc, &build::item("ITM-P"), &stores, None),
        Decimal::from(7)
    );
    assert_eq!(
        ports.fusion.onhand_quantity(dc, &build::item("ITM-T"), &pick, None),
        Decimal::from(4)
    );
    assert!(ports.tasks.open(dc).is_empty());
    assert_eq!(ports.alerts.count(), 0);
}

#[tokio::test]
async fn a_redelivered_run_posts_each_line_exactly_once() {
    let ports = FakePorts::new();
    mixed_batch(&ports);

    let first = run(&ports, "msg-1").await;
    let calls = ports.fusion.post_calls();
    let second = run(&ports, "msg-1").await;

    assert_eq!(first.synced, 5);
    assert_eq!(
        (second.seen, second.synced, second.lines_posted),
        (0, 0, 0),
        "{second:?}"
    );
    assert_eq!(ports.fusion.post_calls(), calls);
    assert_eq!(ports.fusion.max_posts_per_source(), 1);
    assert_eq!(ports.fusion.posts().len(), 7);
}

#[tokio::test]
async fn two_concurrent_runs_for_one_dc_post_each_line_exactly_once() {
    let ports = FakePorts::new();
    mixed_batch(&ports);
    ports.fusion.set_yield_on_calls(true);
    let (s, dc, deadline) = (settings(), ports.dc.clone(), ports.deadline_in(15));

    let (a, b) = tokio::join!(
        sync_dc(&ports, &s, &dc, "run-a", deadline),
        sync_dc(&ports, &s, &dc, "run-b", deadline)
    );
    let (a, b) = (a.unwrap(), b.unwrap());

    assert!(
        a.lease_busy != b.lease_busy,
        "exactly one run holds the lease: {a:?} {b:?}"
    );
    assert_eq!(a.synced + b.synced, 5);
    assert_eq!(ports.fusion.max_posts_per_source(), 1);
    assert_eq!(ports.fusion.posts().len(), 7);
    assert_eq!(ports.lease.holder(&dc), None, "the lease is released");
}

#[tokio::test]
async fn two_concurrent_claims_of_one_transaction_post_it_once() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.fusion.set_yield_on_calls(true);
    let txn = build::plain_receipt("T1", "ITM-P", 2);
    let s = settings();

    let (a, b) = tokio::join!(
        sync_transaction(&ports, &s, txn.clone(), true),
        sync_transaction(&ports, &s, txn.clone(), true)
    );

    let synced = [&a, &b]
        .iter()
        .filter(|o| matches!(o, TxnOutcome::Synced { .. }))
        .count();
    assert_eq!(synced, 1, "{a:?} {b:?}");
    assert!(
        matches!(a, TxnOutcome::Skipped { transient: false }) || matches!(b, TxnOutcome::Skipped { transient: false })
    );
    assert_eq!(ports.fusion.post_count(&source("T1", 1, 1)), 1);
}

#[tokio::test]
async fn a_crash_after_fusion_accepted_is_recovered_by_lookup_not_a_repost() {
    let ports = FakePorts::new();
    ports.add_item(serial_item("ITM-S"));
    let txn = build::serial_issue("T1", "ITM-S", 120);
    ports.add_txn(txn.clone());
    let s = settings();

    // The crashed invocation: it claimed the row, posted line 1, lost the connection right
    // after Fusion accepted line 2, and died before touching the ledger again.
    let now = ports.clock.now();
    let seen = ports.ledger.record_seen(&txn, now).await.unwrap();
    let claimed = seen
        .entry
        .apply(LedgerEvent::Claim {
            now,
            lease_until: now + s.txn_lease,
            max_attempts: s.max_attempts,
        })
        .unwrap();
    ports.ledger.transition(&seen, &claimed, now).await.unwrap();
    let posts = txn.to_posts(s.serial_limit).unwrap();
    ports.fusion.post(&posts[0]).await.unwrap();
    ports.fusion.accept_then_error_next(1);
    assert!(matches!(
        ports.fusion.post(&posts[1]).await,
        Err(FusionError::Connection(_))
    ));

    let during_lease = run(&ports, "r1").await;
    assert_eq!(
        (during_lease.skipped, during_lease.lines_posted),
        (1, 0),
        "{during_lease:?}"
    );
    assert_eq!(state(&ports, "T1"), Some(SyncState::InFlight));

    ports.clock.advance(s.txn_lease + Duration::seconds(1));
    let recovered = run(&ports, "r2").await;

    assert_eq!(recovered.synced, 1, "{recovered:?}");
    assert_eq!((recovered.lines_found_landed, recovered.lines_posted), (2, 1));
    for line in 1..=3 {
        assert_eq!(ports.fusion.post_count(&source("T1", line, 3)), 1, "line {line}");
    }
    assert_eq!(state(&ports, "T1"), Some(SyncState::Synced));
    assert!(matches!(wms_status(&ports, "T1"), Some(WmsTxnStatus::Synced { .. })));
}

#[tokio::test]
async fn a_post_fusion_accepted_but_answered_with_an_error_is_found_on_retry_not_reposted() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.add_txn(build::plain_receipt("T1", "ITM-P", 4));
    ports.fusion.accept_then_error_next(1);

    let first = run(&ports, "r1").await;
    assert_eq!((first.failed, first.failed_retryable), (1, 1), "{first:?}");
    assert_eq!(state(&ports, "T1"), Some(SyncState::SyncFailed));

    let second = run(&ports, "r2").await;
    assert_eq!(
        (second.synced, second.lines_found_landed, second.lines_posted),
        (1, 1, 0)
    );
    assert_eq!(ports.fusion.post_count(&source("T1", 1, 1)), 1);
    assert!(matches!(wms_status(&ports, "T1"), Some(WmsTxnStatus::Synced { .. })));
}

#[tokio::test]
async fn a_transient_failure_leaves_sync_failed_retryable_and_a_later_run_syncs() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.add_txn(build::plain_receipt("T1", "ITM-P", 4));
    ports
        .fusion
        .fail_next_posts(1, FusionError::Unavailable { status: 503 });

    let first = run(&ports, "r1").await;

    assert_eq!((first.failed, first.failed_retryable, first.escalated), (1, 1, 0));
    let row = ports.ledger.row(&ports.dc, "T1").unwrap();
    assert_eq!((row.entry.state, row.entry.attempts), (SyncState::SyncFailed, 1));
    assert!(row.entry.failure.as_ref().unwrap().retryable);
    assert!(matches!(
        wms_status(&ports, "T1"),
        Some(WmsTxnStatus::SyncFailed { .. })
    ));
    assert!(
        ports.tasks.open(&ports.dc).is_empty(),
        "a retry needs no review task yet"
    );
    let alerts = ports.alerts.alerts();
    assert_eq!(alerts.len(), 1, "sync_failed plus an alert (architecture.md)");
    assert!(alerts[0].body.contains("T1 (will retry)"), "{}", alerts[0].body);

    let second = run(&ports, "r2").await;

    assert_eq!(second.synced, 1, "{second:?}");
    assert_eq!(state(&ports, "T1"), Some(SyncState::Synced));
    assert_eq!(ports.fusion.post_count(&source("T1", 1, 1)), 1);
    assert!(matches!(wms_status(&ports, "T1"), Some(WmsTxnStatus::Synced { .. })));
}

#[tokio::test]
async fn transient_failures_up_to_the_attempt_cap_go_to_manual_review_with_a_task_and_an_alert() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.add_txn(build::plain_receipt("T1", "ITM-P", 4));
    ports
        .fusion
        .fail_next_posts(3, FusionError::Throttled { retry_after_secs: None });

    let r1 = run(&ports, "r1").await;
    let r2 = run(&ports, "r2").await;
    assert_eq!((r1.failed_retryable, r2.failed_retryable), (1, 1));
    assert_eq!(
        ports.alerts.count(),
        2,
        "each failed run alerts (architecture.md: sync_failed plus an alert)"
    );
    let r3 = run(&ports, "r3").await;

    assert_eq!((r3.failed, r3.failed_retryable, r3.escalated), (1, 0, 1), "{r3:?}");
    let row = ports.ledger.row(&ports.dc, "T1").unwrap();
    assert_eq!((row.entry.state, row.entry.attempts), (SyncState::ManualReview, 3));
    assert!(row.entry.failure.unwrap().reason.contains("attempts exhausted"));
    let tasks = ports.tasks.open(&ports.dc);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].key, "txn:T1");
    let alerts = ports.alerts.alerts();
    assert_eq!(alerts.len(), 3);
    assert!(alerts[2].body.contains("T1 (needs review)"), "{}", alerts[2].body);
    assert_eq!(ports.fusion.posts().len(), 0);

    let calls = ports.fusion.post_calls();
    let r4 = run(&ports, "r4").await;
    assert_eq!(
        (r4.skipped, r4.failed),
        (1, 0),
        "manual review is left to the person: {r4:?}"
    );
    assert_eq!(ports.fusion.post_calls(), calls);
}

#[tokio::test]
async fn permanent_failures_go_straight_to_sync_failed_with_a_task_and_the_batch_goes_on() {
    let ports = FakePorts::new();
    ports.add_items([
        serial_item("ITM-S"),
        lot_item("ITM-L1"),
        lot_item("ITM-L2"),
        plain_item("ITM-OK"),
    ]);
    ports.fusion.add_lot(
        &ports.dc,
        &build::item("ITM-L2"),
        &build::lot("L7"),
        Some(date(2027, 1, 31)),
    );
    ports.add_txns([
        build::plain_receipt("T-UNKNOWN", "ITM-NOPE", 1),
        build::plain_receipt("T-SERIAL", "ITM-S", 2),
        build::lot_issue("T-LOT", "ITM-L1", "L9", 2, None),
        build::lot_receipt("T-EXPIRY", "ITM-L2", "L7", 3, Some(date(2027, 2, 28))),
        build::plain_receipt("T-OK", "ITM-OK", 5),
    ]);
    let expected = [
        ("T-UNKNOWN", "not found in Fusion"),
        ("T-SERIAL", "serial-controlled but no serials"),
        ("T-LOT", "L9 of ITM-L1 is unknown in Fusion"),
        ("T-EXPIRY", "expires 2027-02-28 in the WMS but 2027-01-31 in Fusion"),
    ];

    let report = run(&ports, "r1").await;

    assert_eq!(
        (report.synced, report.failed, report.failed_retryable),
        (1, 4, 0),
        "{report:?}"
    );
    assert_eq!(state(&ports, "T-OK"), Some(SyncState::Synced));
    for (id, reason) in expected {
        let row = ports.ledger.row(&ports.dc, id).unwrap();
        assert_eq!(
            (row.entry.state, row.entry.attempts),
            (SyncState::SyncFailed, 1),
            "{id}"
        );
        let failure = row.entry.failure.unwrap();
        assert!(!failure.retryable, "{id}");
        assert!(failure.reason.contains(reason), "{id}: {}", failure.reason);
        let task = ports.tasks.open_task(&ports.dc, &format!("txn:{id}")).unwrap();
        assert!(task.detail.contains(reason), "{id}: {}", task.detail);
        match wms_status(&ports, id) {
            Some(WmsTxnStatus::SyncFailed { last_error }) => assert!(last_error.contains(reason), "{last_error}"),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(ports.alerts.count(), 1);
    assert!(ports.fusion.posts_of("T-EXPIRY").is_empty() && ports.fusion.posts_of("T-LOT").is_empty());

    let calls = ports.fusion.post_calls();
    let again = run(&ports, "r2").await;
    assert_eq!((again.skipped, again.failed), (4, 0), "no retries: {again:?}");
    assert_eq!(ports.fusion.post_calls(), calls);
    for (id, _) in expected {
        assert_eq!(ports.ledger.row(&ports.dc, id).unwrap().entry.attempts, 1, "{id}");
    }
    assert_eq!(
        ports.tasks.records().len(),
        4,
        "one task per transaction, no duplicates"
    );
}

#[tokio::test]
async fn a_malformed_outbox_entry_is_reported_and_tasked_not_lost() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.add_txn(build::plain_receipt("T1", "ITM-P", 1));
    let broken = TxnBuilder::receipt("BAD-1", "ITM-P", 1)
        .quantity(0)
        .try_build()
        .unwrap_err();
    ports.wms.push_malformed(&ports.dc, "BAD-1", broken);
    ports.add_txn(build::plain_receipt("T2", "ITM-P", 1));

    let report = run(&ports, "r1").await;

    assert_eq!((report.malformed, report.synced), (1, 2), "{report:?}");
    let task = ports.tasks.open_task(&ports.dc, "txn:BAD-1").unwrap();
    assert!(task.detail.contains("must not be zero"), "{}", task.detail);
    match wms_status(&ports, "BAD-1") {
        Some(WmsTxnStatus::SyncFailed { last_error }) => assert!(last_error.contains("malformed"), "{last_error}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(ports.wms.outbox_ids(&ports.dc), vec!["BAD-1".to_string()]);
    let alerts = ports.alerts.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].body.contains("BAD-1"));
}

#[tokio::test]
async fn a_transient_failure_holds_back_that_items_later_transactions_but_not_other_items() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A"), plain_item("ITM-B")]);
    ports.add_txns([
        build::plain_receipt("A1", "ITM-A", 5),
        build::plain_receipt("B1", "ITM-B", 5),
        build::plain_issue("A2", "ITM-A", 2),
        build::plain_issue("B2", "ITM-B", 2),
    ]);
    ports
        .fusion
        .fail_posts(PostMatch::Txn(build::txn_id("A1")), 1, FusionError::Timeout);

    let first = run(&ports, "r1").await;

    assert_eq!(
        (first.synced, first.failed_retryable, first.skipped),
        (2, 1, 1),
        "{first:?}"
    );
    assert!(
        !first.stopped_early && first.deferred == 0,
        "holding back is not the time budget"
    );
    assert_eq!(state(&ports, "A1"), Some(SyncState::SyncFailed));
    assert_eq!(state(&ports, "A2"), None, "A2 never started");
    assert_eq!(wms_status(&ports, "A2"), Some(WmsTxnStatus::PendingSync));
    assert_eq!(state(&ports, "B2"), Some(SyncState::Synced));

    let second = run(&ports, "r2").await;

    assert_eq!(second.synced, 2, "{second:?}");
    let order: Vec<String> = ports.fusion.posts().iter().map(|p| p.source.txn.to_string()).collect();
    assert_eq!(order, vec!["B1", "B2", "A1", "A2"]);
}

#[tokio::test]
async fn a_held_back_item_stays_held_across_outbox_pages() {
    let ports = FakePorts::new();
    ports.add_items([plain_item("ITM-A"), plain_item("ITM-B")]);
    ports.add_txns([
        build::plain_receipt("A1", "ITM-A", 5),
        build::plain_receipt("B1", "ITM-B", 5),
        build::plain_issue("A2", "ITM-A", 2),
        build::plain_issue("B2", "ITM-B", 2),
    ]);
    ports
        .fusion
        .fail_posts(PostMatch::Item(build::item("ITM-A")), 1, FusionError::Timeout);
    let s = SyncSettings {
        page_size: 1,
        ..settings()
    };

    let report = run_with(&ports, &s, "r1").await;

    assert_eq!((report.seen, report.synced, report.skipped), (4, 2, 1), "{report:?}");
    assert_eq!(state(&ports, "A2"), None);
    assert!(ports.fusion.posts_of("A2").is_empty());
    assert_eq!(
        state(&ports, "B2"),
        Some(SyncState::Synced),
        "later pages are still read"
    );
}

#[tokio::test]
async fn a_deadline_already_within_the_safety_margin_stops_before_any_work() {
    let ports = FakePorts::new();
    mixed_batch(&ports);
    let deadline = ports.clock.now() + Duration::seconds(30);

    let report = sync_dc(&ports, &settings(), &ports.dc, "r1", deadline).await.unwrap();

    assert!(report.stopped_early);
    assert_eq!((report.seen, report.synced, report.deferred), (0, 0, 0), "{report:?}");
    assert_eq!(ports.fusion.post_calls(), 0);
    assert!(ports.ledger.rows().is_empty());
    assert_eq!(
        ports.wms.outbox_ids(&ports.dc).len(),
        5,
        "everything waits for the next run"
    );
}

#[tokio::test]
async fn the_time_budget_stops_early_with_deferred_counts_and_leaves_the_rest_pending() {
    let ports = FakePorts::new();
    let ids = ["T1", "T2", "T3", "T4", "T5"];
    for (i, id) in ids.iter().enumerate() {
        let item = format!("ITM-{i}");
        ports.add_item(plain_item(&item));
        ports.add_txn(build::plain_receipt(id, &item, 1));
    }
    ports.fusion.set_call_latency(&ports.clock, Duration::seconds(20));
    let s = SyncSettings {
        concurrency: 1,
        ..settings()
    };
    let deadline = ports.clock.now() + s.safety_margin + Duration::seconds(50);

    let report = sync_dc(&ports, &s, &ports.dc, "r1", deadline).await.unwrap();

    assert!(report.stopped_early, "{report:?}");
    assert_eq!((report.synced, report.deferred, report.seen), (3, 2, 3), "{report:?}");
    for id in &ids[..3] {
        assert_eq!(state(&ports, id), Some(SyncState::Synced), "{id}");
    }
    for id in &ids[3..] {
        assert_eq!(state(&ports, id), None, "{id}");
        assert_eq!(wms_status(&ports, id), Some(WmsTxnStatus::PendingSync), "{id}");
    }

    let next = run_with(&ports, &s, "r2").await;
    assert_eq!(next.synced, 2, "{next:?}");
    assert_eq!(ports.fusion.max_posts_per_source(), 1);
}

#[tokio::test]
async fn a_synced_row_whose_wms_report_failed_is_re_reported_next_run_without_posting() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.add_txn(build::plain_receipt("T1", "ITM-P", 3));
    ports
        .wms
        .fail_next_reports(1, WmsError::Unavailable("503 from the WMS adapter".into()));

    let first = run(&ports, "r1").await;

    assert_eq!((first.synced, first.wms_report_failures), (1, 1), "{first:?}");
    assert_eq!(state(&ports, "T1"), Some(SyncState::Synced));
    assert_eq!(wms_status(&ports, "T1"), Some(WmsTxnStatus::PendingSync));

    let calls = ports.fusion.post_calls();
    let second = run(&ports, "r2").await;

    assert_eq!(
        (second.already_synced, second.wms_report_failures),
        (1, 0),
        "{second:?}"
    );
    assert_eq!(ports.fusion.post_calls(), calls);
    let refs = FusionRef::wms_reference(&ports.ledger.row(&ports.dc, "T1").unwrap().entry.fusion_refs);
    assert_eq!(
        wms_status(&ports, "T1"),
        Some(WmsTxnStatus::Synced {
            fusion_reference: refs.clone()
        })
    );
    let reports = ports.wms.reports_for("T1");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[1].outcome, SyncOutcome::Synced { fusion_reference: refs });
}

#[tokio::test]
async fn a_transaction_synced_without_wms_notification_never_reports_to_the_wms_even_on_failure() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports
        .fusion
        .fail_next_posts(1, FusionError::Unavailable { status: 500 });

    let failed = sync_transaction(&ports, &settings(), build::plain_receipt("ADJ-1", "ITM-P", 1), false).await;
    let synced = sync_transaction(&ports, &settings(), build::plain_receipt("ADJ-2", "ITM-P", 1), false).await;

    assert!(
        matches!(failed, TxnOutcome::Failed { reported: true, .. }),
        "{failed:?}"
    );
    assert!(
        matches!(synced, TxnOutcome::Synced { reported: true, .. }),
        "{synced:?}"
    );
    assert!(ports.wms.reports().is_empty(), "{:?}", ports.wms.reports());
}

#[tokio::test]
async fn a_ledger_outage_on_record_leaves_the_transaction_pending_and_holds_its_item() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-A"));
    ports.add_txns([
        build::plain_receipt("A1", "ITM-A", 5),
        build::plain_issue("A2", "ITM-A", 2),
    ]);
    ports
        .ledger
        .fail_next_record_seen(1, StoreError::Unavailable("throttled".into()));

    let report = run(&ports, "r1").await;

    assert_eq!((report.skipped, report.synced), (2, 0), "{report:?}");
    assert!(ports.fusion.posts().is_empty());
    assert_eq!(
        ports.wms.outbox_ids(&ports.dc),
        vec!["A1".to_string(), "A2".to_string()]
    );
}

#[tokio::test]
async fn a_transaction_whose_every_claim_dies_goes_to_manual_review_without_another_post() {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    let txn = build::plain_receipt("T1", "ITM-P", 4);
    ports.add_txn(txn.clone());
    let s = settings();

    // Three invocations each claimed the row and died before any verdict.
    let mut now = ports.clock.now();
    let mut row = ports.ledger.record_seen(&txn, now).await.unwrap();
    for _ in 0..s.max_attempts {
        let claimed = row
            .entry
            .apply(LedgerEvent::Claim {
                now,
                lease_until: now + s.txn_lease,
                max_attempts: s.max_attempts,
            })
            .unwrap();
        ports.ledger.transition(&row, &claimed, now).await.unwrap();
        row = ports.ledger.get(txn.dc(), "T1").await.unwrap().unwrap();
        ports.clock.advance(s.txn_lease + Duration::seconds(1));
        now = ports.clock.now();
    }

    let report = run(&ports, "r-after").await;

    assert_eq!((report.escalated, report.lines_posted), (1, 0), "{report:?}");
    assert_eq!(state(&ports, "T1"), Some(SyncState::ManualReview));
    assert_eq!(ports.fusion.post_calls(), 0, "nothing re-posted blindly");
    assert_eq!(ports.tasks.open(txn.dc()).len(), 1, "a person gets a task");
    let again = run(&ports, "r-later").await;
    assert_eq!(
        (again.escalated, again.lines_posted, again.failed),
        (0, 0, 0),
        "{again:?}"
    );
}
