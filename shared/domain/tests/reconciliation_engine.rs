//! The reconciliation engine against the testkit's in-memory fakes: every tier ends in exactly
//! its action, reruns create nothing new, in-flight stock is not variance, and a dry run
//! touches nothing.

use chrono::{Duration, NaiveDate};
use domain::golive::DcStatus;
use domain::ids::{DcCode, ItemNumber, LotNumber, SerialNumber};
use domain::ledger::{Failure, FusionRef, LedgerEntry, SyncState};
use domain::ports::{
    Clock, FusionError, FusionInventory, FusionLot, Landed, LedgerRow, OnhandRow, PostReceipt, Severity, SyncOutcome,
    WarehouseSystem, WmsBalance,
};
use domain::reconciliation::{
    adjustment_id, reconcile_dc, reconcile_dc_at_status, ReconcilePorts, ReconcileReport, ReconcileSettings,
};
use domain::sync::SyncPorts;
use domain::txn::{ItemInfo, SourceRef, StagedPost, WmsTransaction};
use domain::variance::{BalanceKey, Thresholds, Tier};
use futures::executor::block_on;
use rust_decimal::Decimal;
use std::sync::Mutex;
use testkit::build::{self, lot_item, plain_item, serial_item};
use testkit::{
    FakePorts, FakeWms, InMemoryIncidents, InMemoryLease, InMemoryLedger, InMemoryLotMap, InMemoryRunReports,
    InMemoryTasks, ManualClock, RecordingAlerts, TxnBuilder,
};

/// The testkit's fakes as [`ReconcilePorts`]. Fusion calls go through this wrapper so a test
/// can make a transaction settle while the reconciliation reads Fusion on-hand.
struct Ports {
    fake: FakePorts,
    settle_during_onhand: Mutex<Option<WmsTransaction>>,
}

impl Ports {
    fn new() -> Self {
        Self::for_dc("DC01")
    }

    fn for_dc(dc: &str) -> Self {
        Self {
            fake: FakePorts::for_dc(&build::dc(dc)),
            settle_during_onhand: Mutex::new(None),
        }
    }

    fn dc(&self) -> DcCode {
        self.fake.dc.clone()
    }

    fn key(&self, item: &str, sub: &str, lot: Option<&str>) -> BalanceKey {
        BalanceKey::new(self.dc(), build::item(item), build::sub(sub), lot.map(build::lot))
    }

    fn wms_has(&self, item: &str, sub: &str, lot: Option<&str>, quantity: i64) {
        self.wms_has_with(item, sub, lot, quantity, Vec::new(), None);
    }

    fn wms_has_with(
        &self,
        item: &str,
        sub: &str,
        lot: Option<&str>,
        quantity: i64,
        serials: Vec<SerialNumber>,
        expiration: Option<NaiveDate>,
    ) {
        self.fake.wms.set_balance(WmsBalance {
            key: self.key(item, sub, lot),
            quantity: Decimal::from(quantity),
            uom: build::uom("EA"),
            expiration,
            serials,
        });
    }

    fn fusion_has(&self, item: &str, sub: &str, lot: Option<&str>, quantity: i64) {
        self.fusion_has_with(item, sub, lot, quantity, Vec::new());
    }

    fn fusion_has_with(&self, item: &str, sub: &str, lot: Option<&str>, quantity: i64, serials: Vec<SerialNumber>) {
        self.fake.fusion.set_onhand(OnhandRow {
            dc: self.dc(),
            item: build::item(item),
            subinventory: build::sub(sub),
            lot: lot.map(build::lot),
            expiration: None,
            serials,
            quantity: Decimal::from(quantity),
            uom: build::uom("EA"),
        });
    }

    fn fusion_qty(&self, item: &str, sub: &str, lot: Option<&str>) -> Decimal {
        self.fake.fusion.onhand_quantity(
            &self.dc(),
            &build::item(item),
            &build::sub(sub),
            lot.map(build::lot).as_ref(),
        )
    }

    fn add_item(&self, info: ItemInfo) {
        self.fake.add_item(info);
    }

    fn run(&self, run_id: &str) -> ReconcileReport {
        self.run_with(&ReconcileSettings::default(), run_id)
    }

    fn run_with(&self, settings: &ReconcileSettings, run_id: &str) -> ReconcileReport {
        let deadline = self.fake.deadline_in(10);
        match block_on(reconcile_dc(self, settings, &self.dc(), run_id, deadline)) {
            Ok(report) => report,
            Err(e) => panic!("reconciliation failed: {e}"),
        }
    }

    fn open_task_keys(&self) -> Vec<String> {
        self.fake
            .tasks
            .open(&self.dc())
            .into_iter()
            .map(|t| t.key.to_string())
            .collect()
    }

    fn active_holds(&self) -> Vec<domain::ports::Hold> {
        self.fake
            .wms
            .hold_history(&self.dc())
            .into_iter()
            .filter(|(_, released)| released.is_none())
            .map(|(h, _)| h)
            .collect()
    }
}

impl FusionInventory for Ports {
    async fn item_info(&self, dc: &DcCode, item: &ItemNumber) -> Result<ItemInfo, FusionError> {
        self.fake.fusion.item_info(dc, item).await
    }

    async fn lot(&self, dc: &DcCode, item: &ItemNumber, lot: &LotNumber) -> Result<Option<FusionLot>, FusionError> {
        self.fake.fusion.lot(dc, item, lot).await
    }

    async fn create_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
        expiration: Option<NaiveDate>,
    ) -> Result<(), FusionError> {
        self.fake.fusion.create_lot(dc, item, lot, expiration).await
    }

    async fn post(&self, post: &StagedPost) -> Result<PostReceipt, FusionError> {
        self.fake.fusion.post(post).await
    }

    async fn find(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        self.fake.fusion.find(dc, source).await
    }

    async fn completed(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        self.fake.fusion.completed(dc, source).await
    }

    async fn staged(&self, dc: &DcCode) -> Result<Vec<domain::ports::StagedLine>, FusionError> {
        self.fake.fusion.staged(dc).await
    }

    async fn onhand(&self, dc: &DcCode) -> Result<Vec<OnhandRow>, FusionError> {
        let settling = self.settle_during_onhand.lock().ok().and_then(|mut s| s.take());
        if let Some(txn) = settling {
            // The hourly sync lands `txn` in Fusion and settles it while this run reads.
            for (key, q) in txn.net_effects() {
                let now = self
                    .fake
                    .fusion
                    .onhand_quantity(&key.dc, &key.item, &key.subinventory, key.lot.as_ref());
                self.fake.fusion.set_onhand(OnhandRow {
                    dc: key.dc,
                    item: key.item,
                    subinventory: key.subinventory,
                    lot: key.lot,
                    expiration: None,
                    serials: Vec::new(),
                    quantity: now + q,
                    uom: txn.uom().clone(),
                });
            }
            self.fake.ledger.put_row(LedgerRow {
                txn: txn.clone(),
                entry: LedgerEntry {
                    state: SyncState::Synced,
                    attempts: 1,
                    lease_until: None,
                    failure: None,
                    fusion_refs: vec![FusionRef::processed_id(900)],
                    version: 2,
                },
                updated_at: self.fake.clock.now(),
            });
            let synced = SyncOutcome::Synced {
                fusion_reference: "900".into(),
            };
            let _ = self.fake.wms.report(txn.dc(), txn.id().as_str(), &synced).await;
        }
        self.fake.fusion.onhand(dc).await
    }
}

impl SyncPorts for Ports {
    type Fusion = Ports;
    type Wms = FakeWms;
    type Ledger = InMemoryLedger;
    type Lots = InMemoryLotMap;
    type Lease = InMemoryLease;
    type Tasks = InMemoryTasks;
    type Alerts = RecordingAlerts;
    type Clock = ManualClock;

    fn fusion(&self) -> &Ports {
        self
    }
    fn wms(&self) -> &FakeWms {
        &self.fake.wms
    }
    fn ledger(&self) -> &InMemoryLedger {
        &self.fake.ledger
    }
    fn lots(&self) -> &InMemoryLotMap {
        &self.fake.lots
    }
    fn lease(&self) -> &InMemoryLease {
        &self.fake.lease
    }
    fn tasks(&self) -> &InMemoryTasks {
        &self.fake.tasks
    }
    fn alerts(&self) -> &RecordingAlerts {
        &self.fake.alerts
    }
    fn clock(&self) -> &ManualClock {
        &self.fake.clock
    }
}

impl ReconcilePorts for Ports {
    type Incidents = InMemoryIncidents;
    type Runs = InMemoryRunReports;

    fn incidents(&self) -> &InMemoryIncidents {
        &self.fake.incidents
    }
    fn runs(&self) -> &InMemoryRunReports {
        &self.fake.run_reports
    }
}

/// One key of each tier plus a matching one: ITM-S small (-3), ITM-M medium (+12), ITM-L large
/// (-73), ITM-OK matched.
fn one_key_per_tier() -> Ports {
    let p = Ports::new();
    for item in ["ITM-S", "ITM-M", "ITM-L", "ITM-OK"] {
        p.add_item(plain_item(item));
    }
    p.wms_has("ITM-S", "STORES", None, 97);
    p.fusion_has("ITM-S", "STORES", None, 100);
    p.wms_has("ITM-M", "STORES", None, 62);
    p.fusion_has("ITM-M", "STORES", None, 50);
    p.wms_has("ITM-L", "STORES", None, 27);
    p.fusion_has("ITM-L", "STORES", None, 100);
    p.wms_has("ITM-OK", "STORES", None, 40);
    p.fusion_has("ITM-OK", "STORES", None, 40);
    p
}

#[test]
fn a_small_drift_is_auto_corrected_and_fusion_then_equals_the_wms() {
    let p = one_key_per_tier();
    let r = p.run("r1");
    assert_eq!((r.keys_compared, r.matched, r.auto_correct), (4, 1, 1));
    assert_eq!(r.adjustments_posted, 1);
    assert_eq!(p.fusion_qty("ITM-S", "STORES", None), Decimal::from(97));

    let id = adjustment_id("r1", &p.key("ITM-S", "STORES", None)).unwrap();
    assert_eq!(p.fake.ledger.state_of(&p.dc(), id.as_str()), Some(SyncState::Synced));
    let posts = p.fake.fusion.posts_of(id.as_str());
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].quantity, Decimal::from(-3));
    assert!(
        p.fake.wms.reports_for(id.as_str()).is_empty(),
        "the WMS never hears of adjustments"
    );
}

#[test]
fn a_rerun_of_the_same_run_id_never_adjusts_twice() {
    let p = one_key_per_tier();
    p.run("r1");
    let posts = p.fake.fusion.post_calls();
    p.fusion_has("ITM-S", "STORES", None, 100);
    let again = p.run("r1");
    assert_eq!(again.auto_correct, 1);
    assert_eq!(again.adjustments_posted, 0);
    assert_eq!(again.adjustments_already_posted, 1);
    assert_eq!(p.fake.fusion.post_calls(), posts);
}

#[test]
fn a_medium_drift_opens_one_review_task_per_key() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    p.wms_has("ITM-A", "STORES", None, 60);
    p.fusion_has("ITM-A", "STORES", None, 50);
    p.wms_has("ITM-A", "PICK", None, 0);
    p.fusion_has("ITM-A", "PICK", None, 20);
    let r = p.run("r1");
    assert_eq!((r.review, r.tasks_opened), (2, 2));
    assert_eq!(
        p.open_task_keys(),
        vec!["bal:DC01/ITM-A/PICK".to_string(), "bal:DC01/ITM-A/STORES".to_string()]
    );
    let task = p.fake.tasks.open_task(&p.dc(), "bal:DC01/ITM-A/PICK").unwrap();
    for needle in ["WMS 0", "Fusion 20", "in flight 0", "-20 EA"] {
        assert!(task.summary.contains(needle), "{needle}: {}", task.summary);
    }

    let again = p.run("r2");
    assert_eq!((again.tasks_opened, again.tasks_updated), (0, 2));
    assert_eq!(p.fake.tasks.records().len(), 2, "updated, not duplicated");
}

/// One SMS. The SNS adapter fits a variance alert's first line to it; this alert's content
/// already fits.
const SMS_MAX: usize = 140;

#[test]
fn a_large_drift_publishes_one_alert_and_places_one_hold_per_key() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-000042"));
    p.add_item(plain_item("ITM-000043"));
    p.wms_has("ITM-000042", "STORES", None, 27);
    p.fusion_has("ITM-000042", "STORES", None, 100);
    p.wms_has("ITM-000043", "STORES", None, 500);
    let r = p.run("r1");
    assert_eq!(
        (r.alert, r.incidents_opened, r.alerts_published, r.holds_placed),
        (2, 2, 2, 2)
    );

    let alerts = p.fake.alerts.alerts();
    assert_eq!(alerts.len(), 2);
    let a = &alerts[0];
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(
        a.subject,
        "invsync CRITICAL DC01 ITM-000042: variance -73 EA, releases held"
    );
    assert!(a.body.lines().next().unwrap().chars().count() <= SMS_MAX);
    assert!(a.body.contains("order releases held"));

    let holds = p.active_holds();
    assert_eq!(holds.len(), 2);
    let incidents = p.fake.incidents.open(&p.dc());
    assert_eq!(incidents.len(), 2);
    assert!(holds.iter().all(|h| h.placed_by == "invsync"));
    assert!(holds.iter().all(|h| incidents
        .iter()
        .any(|i| i.id.as_str() == h.reference && i.item == h.item)));

    let again = p.run("r2");
    assert_eq!(
        (
            again.alert,
            again.incidents_opened,
            again.alerts_published,
            again.holds_placed
        ),
        (2, 0, 0, 0)
    );
    assert_eq!(p.fake.alerts.count(), 2, "one alert per incident, not per run");
    assert_eq!(p.fake.wms.hold_history(&p.dc()).len(), 2);
}

#[test]
fn a_second_run_with_nothing_changed_creates_nothing_new() {
    let p = one_key_per_tier();
    let first = p.run("r1");
    assert_eq!(
        (first.adjustments_posted, first.tasks_opened, first.incidents_opened),
        (1, 1, 1)
    );
    let posts = p.fake.fusion.post_calls();

    let second = p.run("r2");
    assert_eq!(second.auto_correct, 0, "the adjustment fixed the small drift");
    assert_eq!(second.adjustments_posted, 0);
    assert_eq!(second.tasks_opened, 0);
    assert_eq!(second.incidents_opened, 0);
    assert_eq!(second.alerts_published, 0);
    assert_eq!(second.holds_placed, 0);
    assert_eq!(p.fake.fusion.post_calls(), posts);
    assert_eq!(p.fake.tasks.records().len(), 1);
    assert_eq!(p.fake.incidents.records().len(), 1);
    assert_eq!(p.fake.alerts.count(), 1);
    assert_eq!(p.fake.run_reports.reports().len(), 2);
}

#[test]
fn pending_outbox_transactions_with_no_drift_report_zero_variance() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    p.add_item(lot_item("ITM-B"));
    p.fake.add_txns([
        build::plain_receipt("T1", "ITM-A", 10),
        build::transfer("T2", "ITM-A", "STORES", "PICK", 4),
        TxnBuilder::issue("T3", "ITM-B", 3).lot("L1", 3, None).build(),
    ]);
    p.wms_has("ITM-A", "STORES", None, 106);
    p.wms_has("ITM-A", "PICK", None, 4);
    p.fusion_has("ITM-A", "STORES", None, 100);
    p.wms_has("ITM-B", "STORES", Some("L1"), 7);
    p.fusion_has("ITM-B", "STORES", Some("L1"), 10);

    let r = p.run("r1");
    assert_eq!(r.in_flight_txns, 3);
    assert_eq!((r.keys_compared, r.matched, r.unsettled_skipped), (3, 3, 0));
    assert!(r.variances.is_empty(), "{:?}", r.variances);
    assert_eq!(r.accuracy, Decimal::ONE);
    assert!(p.fake.fusion.posts().is_empty());
    assert!(p.fake.tasks.records().is_empty());
}

#[test]
fn a_transaction_that_settles_during_the_reads_is_skipped_not_reported() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    let receipt = build::plain_receipt("T1", "ITM-A", 10);
    p.fake.add_txn(receipt.clone());
    p.wms_has("ITM-A", "STORES", None, 110);
    p.fusion_has("ITM-A", "STORES", None, 100);
    if let Ok(mut s) = p.settle_during_onhand.lock() {
        *s = Some(receipt);
    }

    let r = p.run("r1");
    assert_eq!((r.unsettled_skipped, r.keys_compared), (1, 0));
    assert!(r.variances.is_empty());
    assert!(p.fake.tasks.records().is_empty());

    let next = p.run("r2");
    assert_eq!((next.keys_compared, next.matched), (1, 1));
}

#[test]
fn a_lot_level_variance_is_found_and_corrected_at_lot_level() {
    let p = Ports::new();
    p.add_item(lot_item("ITM-L"));
    let exp = Some(build::date(2027, 6, 30));
    p.fake
        .fusion
        .add_lot(&p.dc(), &build::item("ITM-L"), &build::lot("L1"), exp);
    p.fake
        .fusion
        .add_lot(&p.dc(), &build::item("ITM-L"), &build::lot("L2"), exp);
    p.wms_has_with("ITM-L", "STORES", Some("L1"), 10, Vec::new(), exp);
    p.wms_has_with("ITM-L", "STORES", Some("L2"), 5, Vec::new(), exp);
    p.fusion_has("ITM-L", "STORES", Some("L1"), 12);
    p.fusion_has("ITM-L", "STORES", Some("L2"), 3);

    let r = p.run("r1");
    let found: Vec<(Option<String>, Decimal)> = r
        .variances
        .iter()
        .map(|v| (v.key.lot.as_ref().map(ToString::to_string), v.variance))
        .collect();
    assert_eq!(
        found,
        vec![
            (Some("L1".into()), Decimal::from(-2)),
            (Some("L2".into()), Decimal::from(2))
        ],
        "item totals match, the lots do not"
    );
    assert_eq!(r.adjustments_posted, 2);
    assert_eq!(p.fusion_qty("ITM-L", "STORES", Some("L1")), Decimal::from(10));
    assert_eq!(p.fusion_qty("ITM-L", "STORES", Some("L2")), Decimal::from(5));
    for post in p.fake.fusion.posts() {
        assert_eq!(post.lots.len(), 1);
        assert_eq!(post.lots[0].expiration, exp);
    }
}

#[test]
fn a_serial_drift_is_adjusted_with_the_serials_that_differ() {
    let p = Ports::new();
    p.add_item(serial_item("ITM-SN"));
    let all = build::serials("SN", 3);
    p.wms_has_with("ITM-SN", "STORES", None, 3, all.clone(), None);
    p.fusion_has_with("ITM-SN", "STORES", None, 1, all[..1].to_vec());

    let r = p.run("r1");
    assert_eq!(r.adjustments_posted, 1);
    let posts = p.fake.fusion.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].serials, all[1..].to_vec());
    assert_eq!(p.fusion_qty("ITM-SN", "STORES", None), Decimal::from(3));
}

#[test]
fn a_serial_drift_the_serials_do_not_explain_goes_to_review() {
    let p = Ports::new();
    p.add_item(serial_item("ITM-SN"));
    let all = build::serials("SN", 3);
    p.wms_has_with("ITM-SN", "STORES", None, 2, vec![all[0].clone(), all[2].clone()], None);
    p.fusion_has_with("ITM-SN", "STORES", None, 1, vec![all[1].clone()]);

    let r = p.run("r1");
    assert_eq!(
        (r.auto_correct, r.adjustments_posted, r.adjustments_to_review),
        (1, 0, 1)
    );
    assert!(p.fake.fusion.posts().is_empty());
    let task = p.fake.tasks.open_task(&p.dc(), "bal:DC01/ITM-SN/STORES").unwrap();
    assert!(task.detail.contains("does not explain"), "{}", task.detail);
}

#[test]
fn a_dry_run_changes_nothing_anywhere() {
    let p = one_key_per_tier();
    let settings = ReconcileSettings {
        dry_run: true,
        ..ReconcileSettings::default()
    };
    let r = p.run_with(&settings, "r1");
    assert!(r.dry_run);
    assert_eq!(
        (r.keys_compared, r.matched, r.auto_correct, r.review, r.alert),
        (4, 1, 1, 1, 1)
    );
    assert_eq!(r.variances.len(), 3);
    assert_eq!(
        (
            r.adjustments_posted,
            r.tasks_opened,
            r.incidents_opened,
            r.alerts_published,
            r.holds_placed
        ),
        (0, 0, 0, 0, 0)
    );
    assert!(!r.report_saved);
    assert!(p.fake.fusion.posts().is_empty());
    assert!(p.fake.ledger.rows().is_empty());
    assert!(p.fake.tasks.records().is_empty());
    assert!(p.fake.incidents.records().is_empty());
    assert_eq!(p.fake.alerts.count(), 0);
    assert!(p.fake.wms.hold_history(&p.dc()).is_empty());
    assert!(p.fake.run_reports.reports().is_empty());
    assert_eq!(p.fusion_qty("ITM-S", "STORES", None), Decimal::from(100));
}

#[test]
fn a_dc_that_is_not_live_is_reconciled_report_only_whatever_its_drift() {
    for status in DcStatus::ALL.into_iter().filter(|s| *s != DcStatus::Live) {
        let p = one_key_per_tier();
        let deadline = p.fake.deadline_in(10);
        let settings = ReconcileSettings::default();
        let r = block_on(reconcile_dc_at_status(&p, &settings, &p.dc(), status, "r1", deadline)).unwrap();
        assert!(r.dry_run, "{status}");
        assert_eq!(
            (r.auto_correct, r.review, r.alert),
            (1, 1, 1),
            "{status}: still compared"
        );
        let why = r.report_only.clone().unwrap_or_default();
        assert!(why.contains(status.as_str()) && why.contains("not live"), "{why}");
        assert_eq!(
            (
                r.adjustments_posted,
                r.tasks_opened,
                r.incidents_opened,
                r.alerts_published,
                r.holds_placed
            ),
            (0, 0, 0, 0, 0),
            "{status}"
        );
        assert!(p.fake.fusion.posts().is_empty(), "{status}");
        assert!(p.fake.tasks.records().is_empty(), "{status}");
        assert_eq!(p.fake.alerts.count(), 0, "{status}");
        assert!(p.fake.wms.hold_history(&p.dc()).is_empty(), "{status}");
    }

    // The same DC live acts on the same drift.
    let p = one_key_per_tier();
    let deadline = p.fake.deadline_in(10);
    let r = block_on(reconcile_dc_at_status(
        &p,
        &ReconcileSettings::default(),
        &p.dc(),
        DcStatus::Live,
        "r1",
        deadline,
    ))
    .unwrap();
    assert_eq!((r.dry_run, r.report_only.as_deref()), (false, None));
    assert_eq!((r.adjustments_posted, r.alerts_published, r.holds_placed), (1, 1, 1));
}

#[test]
fn a_key_whose_variance_returned_to_zero_closes_its_task_and_incident_with_the_reason() {
    let p = one_key_per_tier();
    p.run("r1");
    p.wms_has("ITM-M", "STORES", None, 50);
    p.fusion_has("ITM-L", "STORES", None, 27);

    let r = p.run("r2");
    assert_eq!((r.tasks_closed, r.incidents_closed), (1, 1));
    let closed = p.fake.tasks.records().into_iter().next().unwrap().closed;
    assert_eq!(
        closed.map(|(_, reason)| reason),
        Some("variance returned to zero in run r2".to_string())
    );
    let (_, closed) = p.fake.incidents.records().into_iter().next().unwrap();
    assert_eq!(
        closed.map(|(_, reason)| reason),
        Some("variance returned to zero in run r2".to_string())
    );
    assert_eq!(
        p.active_holds().len(),
        1,
        "a person releases the hold, never the automation"
    );
}

#[test]
fn a_per_dc_threshold_override_changes_the_tier() {
    let settings_for = |dc: &str| {
        let mut s = ReconcileSettings::default();
        s.per_dc
            .insert(build::dc(dc), Thresholds::new(Decimal::ONE, Decimal::from(2)).unwrap());
        s
    };
    let drifted = |dc: &str| {
        let p = Ports::for_dc(dc);
        p.add_item(plain_item("ITM-A"));
        p.wms_has("ITM-A", "STORES", None, 103);
        p.fusion_has("ITM-A", "STORES", None, 100);
        p
    };
    let strict = drifted("DC02");
    let r = strict.run_with(&settings_for("DC02"), "r1");
    assert_eq!(r.variances[0].tier, Tier::Alert);
    assert_eq!(strict.fake.alerts.count(), 1);

    let default = drifted("DC03");
    let r = default.run_with(&settings_for("DC02"), "r1");
    assert_eq!(r.variances[0].tier, Tier::AutoCorrect);
    assert_eq!(r.adjustments_posted, 1);
    assert_eq!(default.fake.alerts.count(), 0);
}

#[test]
fn orphans_are_retried_when_transient_and_handed_to_a_person_otherwise() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    let failed_row = |txn: WmsTransaction, retryable: bool| LedgerRow {
        txn,
        entry: LedgerEntry {
            state: SyncState::SyncFailed,
            attempts: 1,
            lease_until: None,
            failure: Some(Failure {
                retryable,
                reason: if retryable {
                    "Fusion is unavailable (HTTP 503)"
                } else {
                    "invalid subinventory"
                }
                .into(),
                systemic: false,
            }),
            fusion_refs: Vec::new(),
            version: 2,
        },
        updated_at: build::epoch(),
    };
    let transient = build::plain_receipt("T1", "ITM-A", 5);
    let permanent = build::plain_receipt("T2", "ITM-A", 7);
    p.fake.add_txns([transient.clone(), permanent.clone()]);
    p.fake.ledger.put_row(failed_row(transient, true));
    p.fake.ledger.put_row(failed_row(permanent, false));
    p.wms_has("ITM-A", "STORES", None, 12);

    let r = p.run("r1");
    assert_eq!((r.orphans_retried, r.orphans_recovered, r.orphans_to_review), (1, 1, 1));
    assert_eq!(p.fake.ledger.state_of(&p.dc(), "T1"), Some(SyncState::Synced));
    assert_eq!(p.fusion_qty("ITM-A", "STORES", None), Decimal::from(5));
    assert!(
        !p.fake.wms.reports_for("T1").is_empty(),
        "the WMS hears about its own transactions"
    );
    assert!(p.fake.tasks.open_task(&p.dc(), "txn:T2").is_some());
    assert!(r.variances.is_empty(), "both were in flight while compared");
}

#[test]
fn an_adjustment_released_by_refused_credentials_is_posted_by_the_next_run() {
    // The simulation found this: an adjustment whose post met refused credentials went back to
    // pending; the sync never sees it (not in the WMS outbox), every run counted it in flight,
    // so the key's variance stayed hidden and nothing corrected Fusion.
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    p.wms_has("ITM-A", "STORES", None, 12);
    p.fusion_has("ITM-A", "STORES", None, 7);
    let adjustment = build::TxnBuilder::adjustment("RC-released", "ITM-A", 5).build();
    p.fake.ledger.put_row(LedgerRow {
        txn: adjustment,
        entry: LedgerEntry {
            state: SyncState::PendingSync,
            attempts: 1,
            lease_until: None,
            failure: None,
            fusion_refs: Vec::new(),
            version: 2,
        },
        updated_at: build::epoch(),
    });

    let r = p.run("r1");
    assert_eq!((r.orphans_retried, r.orphans_recovered), (1, 1));
    assert_eq!(p.fake.ledger.state_of(&p.dc(), "RC-released"), Some(SyncState::Synced));
    assert_eq!(p.fusion_qty("ITM-A", "STORES", None), Decimal::from(12));
    assert!(
        p.fake.wms.reports_for("RC-released").is_empty(),
        "the WMS never had this transaction"
    );

    let r = p.run("r2");
    assert!(r.variances.is_empty());
    assert_eq!(r.orphans_retried, 0);
    assert_eq!(p.fake.fusion.max_posts_per_source(), 1);
}

#[test]
fn a_stale_in_flight_claim_is_recovered_without_posting_twice() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    let txn = build::plain_receipt("T1", "ITM-A", 5);
    p.fake.add_txn(txn.clone());
    p.fake.ledger.put_row(LedgerRow {
        txn,
        entry: LedgerEntry {
            state: SyncState::InFlight,
            attempts: 1,
            lease_until: Some(build::epoch() - Duration::minutes(25)),
            failure: None,
            fusion_refs: Vec::new(),
            version: 1,
        },
        updated_at: build::epoch() - Duration::minutes(30),
    });
    p.wms_has("ITM-A", "STORES", None, 5);

    let r = p.run("r1");
    assert_eq!((r.orphans_retried, r.orphans_recovered), (1, 1));
    assert_eq!(p.fake.ledger.state_of(&p.dc(), "T1"), Some(SyncState::Synced));
    assert_eq!(p.fake.fusion.max_posts_per_source(), 1);
}

#[test]
fn an_alert_that_could_not_be_published_is_retried_by_the_next_run_once() {
    let p = Ports::new();
    p.add_item(plain_item("ITM-A"));
    p.wms_has("ITM-A", "STORES", None, 200);
    p.fake
        .alerts
        .fail_next(1, domain::ports::AlertError::Unavailable("SNS throttled".into()));

    let r = p.run("r1");
    assert_eq!((r.alerts_published, r.alerts_failed), (0, 1));
    assert!(p.fake.incidents.open(&p.dc()).is_empty());

    let r = p.run("r2");
    assert_eq!((r.incidents_opened, r.alerts_published), (1, 1));
    let r = p.run("r3");
    assert_eq!(r.alerts_published, 0);
    assert_eq!(p.fake.alerts.count(), 1);
    assert_eq!(p.active_holds().len(), 1);
}

#[test]
fn a_run_report_is_saved_with_the_figures() {
    let p = one_key_per_tier();
    p.run("r1");
    let saved = p.fake.run_reports.reports();
    assert_eq!(saved.len(), 1);
    let report = &saved[0];
    assert_eq!((report.kind.as_str(), report.run_id.as_str()), ("reconcile", "r1"));
    assert_eq!(report.figures.get("keys_compared"), Some(&4));
    assert_eq!(report.figures.get("accuracy_bp"), Some(&2500));
    assert_eq!(report.figures.get("alerts_published"), Some(&1));
}

#[test]
fn fifty_thousand_keys_reconcile_in_one_pass() {
    let p = Ports::new();
    for i in 0..50_000 {
        let item = format!("ITM-{i:06}");
        p.wms_has(&item, "STORES", None, 10);
        p.fusion_has(&item, "STORES", None, if i % 10_000 == 0 { 20 } else { 10 });
    }
    let r = p.run("r1");
    assert_eq!((r.keys_compared, r.matched, r.review), (50_000, 49_995, 5));
}

#[test]
fn an_adjustment_fusion_refuses_goes_to_review_and_is_not_posted_again() {
    let p = Ports::new();
    p.wms_has("ITM-UNKNOWN", "STORES", None, 2);

    let r = p.run("r1");
    assert_eq!((r.auto_correct, r.adjustments_posted, r.adjustments_failed), (1, 0, 1));
    let id = adjustment_id("r1", &p.key("ITM-UNKNOWN", "STORES", None)).unwrap();
    assert_eq!(
        p.fake.ledger.state_of(&p.dc(), id.as_str()),
        Some(SyncState::SyncFailed)
    );
    assert!(p.fake.tasks.open_task(&p.dc(), &format!("txn:{id}")).is_some());

    let again = p.run("r2");
    assert_eq!((again.adjustments_posted, again.adjustments_failed), (0, 0));
    assert_eq!(
        again.in_flight_txns, 1,
        "the refused adjustment explains the variance until a person acts"
    );
    assert!(p.fake.fusion.posts().is_empty());
}
