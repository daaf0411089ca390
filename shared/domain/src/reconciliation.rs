//! The 15-minute reconciliation of one DC: a three-way compare of WMS on-hand, Fusion on-hand
//! and in-flight transactions, then the tiered actions of architecture.md.
//!
//! Order of work in [`reconcile_dc`]:
//! 1. read what is in flight (unsettled ledger rows and the WMS outbox), the WMS balances, the
//!    Fusion on-hand, then what is in flight again; a transaction that appeared, vanished or
//!    moved between the two in-flight reads settled while the balances were read, so its keys
//!    are skipped for this run rather than reported as false variances;
//! 2. [`compare`] with the DC's thresholds;
//! 3. act (never in a dry run): small variances are corrected with an adjustment that goes
//!    through [`sync_transaction`] (same ledger, same two-phase commit, an id derived from run id
//!    and key so a rerun never adjusts twice); medium ones get one review task per key; large
//!    ones open an incident, and only a newly opened incident publishes one alert and places one
//!    hold on order releases; keys back to zero close their variance task and incident; orphaned
//!    ledger rows are retried or handed to a person;
//! 4. return and persist a [`ReconcileReport`].
//!
//! Holds are never released here: a person releases them.

use crate::error::{DomainError, Retryable};
use crate::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, Uom, WmsTxnId};
use crate::interface::{account_staged, StagedEffect};
use crate::ledger::SyncState;
use crate::ports::{
    Alert, AlertSink, Clock, FusionError, FusionInventory, Hold, Incident, Incidents, LedgerRow, ReviewTask,
    ReviewTasks, RunReport, RunReports, Severity, StoreError, SyncLedger, TaskChange, TaskKind, WarehouseSystem,
    WmsError,
};
use crate::reconcile::{compare, BalanceKey, Comparison, Snapshot, Thresholds, Tier, Variance};
use crate::sync::{publish_failure_alert, sync_transaction, SyncPorts, SyncReport, SyncSettings, TxnOutcome};
use crate::txn::{LotQuantity, NewTransaction, Tracking, TxnKind, WmsTransaction};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::stream::{self, StreamExt};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;
use tracing::{info, warn};

/// Prefix of the ids of adjustments the reconciliation posts. The WMS never saw these
/// transactions, so their outcome is never reported to it.
pub const ADJUSTMENT_ID_PREFIX: &str = "RC-";

/// Prefix of review-task keys that are about a balance key (`bal:<key>`).
pub const BALANCE_TASK_PREFIX: &str = "bal:";

/// Who places holds, as the WMS records it.
pub const HOLD_PLACED_BY: &str = "invsync";

/// Longest alert subject, in characters (SNS: under 100, ASCII).
pub const SUBJECT_MAX: usize = 99;

/// Longest first line of an alert body, in characters (one SMS).
pub const SMS_MAX: usize = 140;

/// Variances listed in a [`ReconcileReport`]; the counts always cover all of them.
pub const REPORT_VARIANCES_MAX: usize = 200;

/// Everything the reconciliation needs: the sync's ports plus incidents and run reports.
pub trait ReconcilePorts: SyncPorts {
    /// Incident records (one alert and hold per incident).
    type Incidents: Incidents;
    /// Run report storage.
    type Runs: RunReports;

    /// Incident records.
    fn incidents(&self) -> &Self::Incidents;
    /// Run report storage.
    fn runs(&self) -> &Self::Runs;
}

/// Tunables of a reconciliation run.
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// Thresholds of every DC without an override (default 5 / 50).
    pub thresholds: Thresholds,
    /// Per-DC threshold overrides.
    pub per_dc: BTreeMap<DcCode, Thresholds>,
    /// Compare and report only: no adjustment, task, incident, alert, hold, retry or saved report.
    pub dry_run: bool,
    /// Page size for WMS balances and outbox reads (at least 1 is used).
    pub page_size: usize,
    /// A retryable `sync_failed` row is retried while its attempts are below this cap;
    /// otherwise it gets a review task.
    pub orphan_retry_cap: u32,
    /// An `in_flight` row whose lease lapsed and that has not changed for this long is an
    /// orphan of a crashed invocation and is retried.
    pub stale_in_flight_after: Duration,
    /// Settings for the adjustments and retries that go through the sync path; its
    /// `concurrency` bounds parallel work and its `safety_margin` stops new work before the
    /// deadline.
    pub sync: SyncSettings,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            per_dc: BTreeMap::new(),
            dry_run: false,
            page_size: 500,
            orphan_retry_cap: 3,
            stale_in_flight_after: Duration::minutes(10),
            sync: SyncSettings::default(),
        }
    }
}

impl ReconcileSettings {
    /// The thresholds of `dc`: its override if configured, the default otherwise.
    pub fn thresholds_for(&self, dc: &DcCode) -> Thresholds {
        self.per_dc.get(dc).copied().unwrap_or(self.thresholds)
    }
}

/// A reconciliation run that could not compare at all (a read failed). Failures of single
/// actions are not errors: they are logged and counted in the [`ReconcileReport`].
#[derive(Debug, Clone, Error)]
pub enum ReconcileError {
    /// The ledger could not be read.
    #[error("reconciliation store read failed: {0}")]
    Store(#[from] StoreError),
    /// WMS balances or outbox could not be read.
    #[error("WMS read failed: {0}")]
    Wms(#[from] WmsError),
    /// Fusion on-hand could not be read.
    #[error("Fusion on-hand read failed: {0}")]
    Fusion(#[from] FusionError),
}

impl Retryable for ReconcileError {
    fn is_retryable(&self) -> bool {
        match self {
            ReconcileError::Store(e) => e.is_retryable(),
            ReconcileError::Wms(e) => e.is_retryable(),
            ReconcileError::Fusion(e) => e.is_retryable(),
        }
    }
}

/// What one reconciliation run of one DC found and did. In a dry run every action count is
/// zero and the tier counts say what would have been done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// DC.
    pub dc: String,
    /// Run id (derived from the schedule slot by the caller).
    pub run_id: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Keys compared (union of the three snapshots, less skipped keys).
    pub keys_compared: u64,
    /// Keys with zero variance.
    pub matched: u64,
    /// Keys skipped because a transaction settled while the snapshots were read.
    pub unsettled_skipped: u64,
    /// Transactions counted as in flight (present and unchanged in both in-flight reads).
    pub in_flight_txns: u64,
    /// Rows in Fusion's interface netted as in flight (ours, not tracked by the ledger).
    pub staged_rows_netted: u64,
    /// Pending rows in Fusion's interface staged by others (their keys skipped).
    pub staged_foreign_rows: u64,
    /// `accepted` transactions Fusion had processed, confirmed (`synced`) by this run.
    pub confirmed: u64,
    /// `accepted` transactions whose processing failed in Fusion (`sync_failed`, alerted).
    pub confirm_failed: u64,
    /// `accepted` transactions still unprocessed in Fusion.
    pub still_unprocessed: u64,
    /// Of `still_unprocessed`, those past the review age (a task is open).
    pub unprocessed_overdue: u64,
    /// Keys in the auto-correct tier.
    pub auto_correct: u64,
    /// Keys in the review tier.
    pub review: u64,
    /// Keys in the alert tier.
    pub alert: u64,
    /// Share of compared keys that matched (1 when nothing was compared).
    pub accuracy: Decimal,
    /// Adjustments this run moved to `synced` in Fusion.
    pub adjustments_posted: u64,
    /// Adjustments the ledger already had as synced (a rerun of the same run id).
    pub adjustments_already_posted: u64,
    /// Adjustments that failed (the sync path opened a review task when a person is needed).
    pub adjustments_failed: u64,
    /// Adjustments Fusion took into its interface and has not processed yet (`accepted`;
    /// confirmed by a later sync or reconciliation).
    pub adjustments_awaiting_fusion: u64,
    /// Adjustments left alone (claimed elsewhere, store hiccup, time budget).
    pub adjustments_skipped: u64,
    /// Auto-correct keys that could not be expressed as an adjustment (serials that do not
    /// explain the variance) and went to review instead.
    pub adjustments_to_review: u64,
    /// Review tasks opened (variance and orphan tasks).
    pub tasks_opened: u64,
    /// Open review tasks updated with fresh figures.
    pub tasks_updated: u64,
    /// Variance tasks closed because their key matched again.
    pub tasks_closed: u64,
    /// Incidents opened this run.
    pub incidents_opened: u64,
    /// Incidents closed because their key matched again.
    pub incidents_closed: u64,
    /// Alerts published.
    pub alerts_published: u64,
    /// Alerts or holds that failed (the incident is closed again so the next run retries).
    pub alerts_failed: u64,
    /// Holds placed on order releases.
    pub holds_placed: u64,
    /// Orphaned ledger rows retried through the sync path.
    pub orphans_retried: u64,
    /// Of `orphans_retried`, how many ended synced.
    pub orphans_recovered: u64,
    /// Orphaned ledger rows handed to a person (review task `txn:<id>`).
    pub orphans_to_review: u64,
    /// Outbox entries that could not be parsed (left to the sync, which reports them).
    pub malformed_outbox: u64,
    /// Single actions that failed on a store or channel error (logged, retried next run).
    pub action_errors: u64,
    /// Stopped acting before the deadline; the rest waits for the next run.
    pub stopped_early: bool,
    /// Whether the run report was persisted (never in a dry run).
    pub report_saved: bool,
    /// Variances in key order, at most [`REPORT_VARIANCES_MAX`].
    pub variances: Vec<Variance>,
    /// Whether `variances` was cut short.
    pub variances_truncated: bool,
    /// Run duration in milliseconds.
    pub duration_ms: u64,
}

impl ReconcileReport {
    /// The report's counts by name, as a [`RunReport`] stores them; accuracy is in basis points.
    pub fn figures(&self) -> BTreeMap<String, i64> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let accuracy_bp = (self.accuracy * Decimal::from(10_000))
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .unwrap_or(0);
        [
            ("keys_compared", n(self.keys_compared)),
            ("matched", n(self.matched)),
            ("unsettled_skipped", n(self.unsettled_skipped)),
            ("in_flight_txns", n(self.in_flight_txns)),
            ("staged_rows_netted", n(self.staged_rows_netted)),
            ("staged_foreign_rows", n(self.staged_foreign_rows)),
            ("confirmed", n(self.confirmed)),
            ("confirm_failed", n(self.confirm_failed)),
            ("still_unprocessed", n(self.still_unprocessed)),
            ("unprocessed_overdue", n(self.unprocessed_overdue)),
            ("auto_correct", n(self.auto_correct)),
            ("review", n(self.review)),
            ("alert", n(self.alert)),
            ("accuracy_bp", accuracy_bp),
            ("adjustments_posted", n(self.adjustments_posted)),
            ("adjustments_already_posted", n(self.adjustments_already_posted)),
            ("adjustments_failed", n(self.adjustments_failed)),
            ("adjustments_awaiting_fusion", n(self.adjustments_awaiting_fusion)),
            ("adjustments_skipped", n(self.adjustments_skipped)),
            ("adjustments_to_review", n(self.adjustments_to_review)),
            ("tasks_opened", n(self.tasks_opened)),
            ("tasks_updated", n(self.tasks_updated)),
            ("tasks_closed", n(self.tasks_closed)),
            ("incidents_opened", n(self.incidents_opened)),
            ("incidents_closed", n(self.incidents_closed)),
            ("alerts_published", n(self.alerts_published)),
            ("alerts_failed", n(self.alerts_failed)),
            ("holds_placed", n(self.holds_placed)),
            ("orphans_retried", n(self.orphans_retried)),
            ("orphans_recovered", n(self.orphans_recovered)),
            ("orphans_to_review", n(self.orphans_to_review)),
            ("malformed_outbox", n(self.malformed_outbox)),
            ("action_errors", n(self.action_errors)),
            ("stopped_early", i64::from(self.stopped_early)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// Reconciles one DC: reads, compares with the DC's thresholds and acts per tier (see the
/// module doc). New actions stop at `deadline - settings.sync.safety_margin`. A rerun with the
/// same `run_id` (a double-fired schedule) posts no second adjustment and no second alert.
/// Errors only when a read fails; nothing has been changed then.
pub async fn reconcile_dc<P: ReconcilePorts>(
    ports: &P,
    settings: &ReconcileSettings,
    dc: &DcCode,
    run_id: &str,
    deadline: DateTime<Utc>,
) -> Result<ReconcileReport, ReconcileError> {
    let started = ports.clock().now();
    let page_size = settings.page_size.max(1);
    let concurrency = settings.sync.concurrency.max(1);

    let confirmed = if settings.dry_run {
        None
    } else {
        Some(
            crate::confirm::confirm_accepted(ports, &settings.sync, dc)
                .await
                .map_err(|e| match e {
                    crate::sync::SyncError::Store(e) => ReconcileError::Store(e),
                    crate::sync::SyncError::Wms(e) => ReconcileError::Wms(e),
                    crate::sync::SyncError::NotConfigured(dc) => {
                        ReconcileError::Wms(WmsError::UnknownDc(dc.to_string()))
                    }
                })?,
        )
    };

    let mut before = read_in_flight(ports, dc, page_size, concurrency).await?;
    let wms = read_wms(ports, dc, page_size).await?;
    let staged_first = ports.fusion().staged(dc).await?;
    let fusion = read_fusion(ports, dc).await?;
    let staged_second = ports.fusion().staged(dc).await?;
    let mut after = read_in_flight(ports, dc, page_size, concurrency).await?;
    let staged = account_staged(dc, &mut before.txns, &mut after.txns, &staged_first, &staged_second);
    let mut settled = settle(&before.txns, &after.txns);
    settled.absorb(staged.clone());

    let comparison = compare(
        &wms.snapshot,
        &fusion.snapshot,
        &settled.in_flight,
        &settled.unsettled,
        &settings.thresholds_for(dc),
    );
    let mut report = summarize(dc, run_id, settings.dry_run, &comparison, &settled);
    report.malformed_outbox = after.malformed;
    report.staged_rows_netted = staged.rows_netted;
    report.staged_foreign_rows = staged.foreign_rows;
    if let Some(c) = confirmed {
        report.confirmed = c.confirmed;
        report.confirm_failed = c.failed;
        report.still_unprocessed = c.still_unprocessed;
        report.unprocessed_overdue = c.overdue;
        if c.failed > 0 {
            alert_confirm_failures(ports, &settings.sync, dc, run_id, c).await;
        }
    }

    if !settings.dry_run {
        let ctx = Ctx {
            ports,
            settings,
            dc,
            run_id,
            stop_at: deadline - settings.sync.safety_margin,
        };
        let facts = Facts {
            wms: &wms,
            fusion: &fusion,
            in_flight_serials: &settled.serials,
        };
        act(&ctx, &comparison, &settled.unsettled, &facts, &mut report).await;
        retry_orphans(&ctx, &after.ledger, &mut report).await;
    }

    report.duration_ms = elapsed_ms(started, ports.clock().now());
    if !settings.dry_run {
        report.report_saved = save_report(ports, dc, run_id, started, &report).await;
    }
    info!(
        dc = %dc, run_id, dry_run = report.dry_run, keys = report.keys_compared, matched = report.matched,
        auto_correct = report.auto_correct, review = report.review, alert = report.alert,
        unsettled = report.unsettled_skipped, stopped_early = report.stopped_early, "reconciliation finished"
    );
    Ok(report)
}

fn summarize(dc: &DcCode, run_id: &str, dry_run: bool, c: &Comparison, settled: &Settled) -> ReconcileReport {
    let count = |tier| c.of_tier(tier).count() as u64;
    ReconcileReport {
        dc: dc.to_string(),
        run_id: run_id.to_string(),
        dry_run,
        keys_compared: c.keys_compared as u64,
        matched: c.matched as u64,
        unsettled_skipped: c.unsettled_skipped as u64,
        in_flight_txns: settled.txns,
        auto_correct: count(Tier::AutoCorrect),
        review: count(Tier::Review),
        alert: count(Tier::Alert),
        accuracy: c.accuracy().round_dp(6),
        variances: c.variances.iter().take(REPORT_VARIANCES_MAX).cloned().collect(),
        variances_truncated: c.variances.len() > REPORT_VARIANCES_MAX,
        ..ReconcileReport::default()
    }
}

/// One transaction seen by an in-flight read, with its ledger state and version (`None`
/// when the ledger has not recorded it yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The transaction (the ledger's copy when recorded).
    pub txn: WmsTransaction,
    /// Ledger state and version at the read.
    pub state: Option<(SyncState, u64)>,
}

struct InFlightRead {
    txns: BTreeMap<WmsTxnId, Tracked>,
    ledger: Vec<LedgerRow>,
    malformed: u64,
}

async fn read_in_flight<P: ReconcilePorts>(
    ports: &P,
    dc: &DcCode,
    page_size: usize,
    concurrency: usize,
) -> Result<InFlightRead, ReconcileError> {
    let ledger: Vec<LedgerRow> = ports
        .ledger()
        .unsettled(dc)
        .await?
        .into_iter()
        .filter(|r| r.txn.dc == *dc)
        .collect();
    let mut txns: BTreeMap<WmsTxnId, Tracked> = ledger
        .iter()
        .map(|r| {
            let tracked = Tracked {
                txn: r.txn.clone(),
                state: Some((r.entry.state, r.entry.version)),
            };
            (r.txn.id.clone(), tracked)
        })
        .collect();
    let mut unknown: BTreeMap<WmsTxnId, WmsTransaction> = BTreeMap::new();
    let mut malformed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = ports.wms().outbox(dc, cursor.as_deref(), page_size).await?;
        for entry in page.items {
            match entry.txn {
                Ok(txn) if txn.dc == *dc && !txns.contains_key(&txn.id) => {
                    unknown.entry(txn.id.clone()).or_insert(txn);
                }
                Ok(_) => {}
                Err(_) => malformed += 1,
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let looked_up: Vec<Result<(WmsTransaction, Option<LedgerRow>), StoreError>> = stream::iter(unknown.into_values())
        .map(|txn| async move {
            let row = ports.ledger().get(dc, txn.id.as_str()).await?;
            Ok((txn, row))
        })
        .buffered(concurrency)
        .collect()
        .await;
    for result in looked_up {
        let (txn, row) = result?;
        let tracked = match row {
            Some(row) if row.entry.state == SyncState::Synced => continue,
            Some(row) => Tracked {
                state: Some((row.entry.state, row.entry.version)),
                txn: row.txn,
            },
            None => Tracked { txn, state: None },
        };
        txns.insert(tracked.txn.id.clone(), tracked);
    }
    Ok(InFlightRead {
        txns,
        ledger,
        malformed,
    })
}

/// What the two in-flight reads say together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Net effect of the transactions present and unchanged in both reads.
    pub in_flight: Snapshot,
    /// Keys touched by a transaction that appeared, vanished or changed between the reads.
    pub unsettled: BTreeSet<BalanceKey>,
    /// Serials moved by the in-flight transactions, per key.
    pub serials: BTreeMap<BalanceKey, BTreeSet<SerialNumber>>,
    /// Transactions counted in `in_flight`.
    pub txns: u64,
}

impl Settled {
    /// Adds what Fusion's interface contributes (see [`crate::interface`]).
    pub fn absorb(&mut self, staged: StagedEffect) {
        for (key, q) in staged.in_flight {
            *self.in_flight.entry(key).or_default() += q;
        }
        for (key, serials) in staged.serials {
            self.serials.entry(key).or_default().extend(serials);
        }
        self.unsettled.extend(staged.unsettled);
    }
}

/// One alert for `accepted` transactions whose processing failed in Fusion, as the sync
/// sends for a refusal at POST.
async fn alert_confirm_failures<P: ReconcilePorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    c: crate::confirm::ConfirmReport,
) {
    let mut figures = SyncReport {
        dc: dc.to_string(),
        run_id: run_id.to_string(),
        ..SyncReport::default()
    };
    c.fold_into(&mut figures, settings.alert_list_max);
    publish_failure_alert(ports, settings, dc, &figures).await;
}

/// Combines the in-flight reads taken before and after the balance reads. Linear in the
/// number of transactions (times log for the maps).
pub fn settle(before: &BTreeMap<WmsTxnId, Tracked>, after: &BTreeMap<WmsTxnId, Tracked>) -> Settled {
    let mut out = Settled::default();
    let touch = |out: &mut Settled, txn: &WmsTransaction| {
        for (key, _) in txn.net_effects() {
            out.unsettled.insert(key);
        }
    };
    for (id, b) in before {
        match after.get(id) {
            Some(a) if a.state == b.state => {
                out.txns += 1;
                for (key, q) in b.txn.net_effects() {
                    if let Tracking::Serials(serials) = &b.txn.tracking {
                        out.serials
                            .entry(key.clone())
                            .or_default()
                            .extend(serials.iter().cloned());
                    }
                    *out.in_flight.entry(key).or_default() += q;
                }
            }
            Some(a) => {
                touch(&mut out, &b.txn);
                touch(&mut out, &a.txn);
            }
            None => touch(&mut out, &b.txn),
        }
    }
    for (id, a) in after {
        if !before.contains_key(id) {
            touch(&mut out, &a.txn);
        }
    }
    out
}

/// One side's balances with the facts an adjustment needs, kept lean: UOM per item,
/// expiration per lot, serials only where there are some.
#[derive(Debug, Default)]
struct Side {
    snapshot: Snapshot,
    uoms: BTreeMap<ItemNumber, Uom>,
    expirations: BTreeMap<(ItemNumber, LotNumber), NaiveDate>,
    serials: BTreeMap<BalanceKey, BTreeSet<SerialNumber>>,
}

impl Side {
    fn add(
        &mut self,
        key: BalanceKey,
        quantity: Decimal,
        uom: &Uom,
        expiration: Option<NaiveDate>,
        serials: Vec<SerialNumber>,
    ) {
        if !self.uoms.contains_key(&key.item) {
            self.uoms.insert(key.item.clone(), uom.clone());
        }
        if let (Some(lot), Some(exp)) = (&key.lot, expiration) {
            self.expirations.entry((key.item.clone(), lot.clone())).or_insert(exp);
        }
        if !serials.is_empty() {
            self.serials.entry(key.clone()).or_default().extend(serials);
        }
        *self.snapshot.entry(key).or_default() += quantity;
    }
}

async fn read_wms<P: ReconcilePorts>(ports: &P, dc: &DcCode, page_size: usize) -> Result<Side, ReconcileError> {
    let mut side = Side::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = ports.wms().balances(dc, cursor.as_deref(), page_size).await?;
        for b in page.items {
            if b.key.dc == *dc {
                side.add(b.key, b.quantity, &b.uom, b.expiration, b.serials);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(side)
}

async fn read_fusion<P: ReconcilePorts>(ports: &P, dc: &DcCode) -> Result<Side, ReconcileError> {
    let mut side = Side::default();
    for row in ports.fusion().onhand(dc).await? {
        if row.dc == *dc {
            let key = BalanceKey::new(row.dc, row.item, row.subinventory, row.lot);
            side.add(key, row.quantity, &row.uom, row.expiration, row.serials);
        }
    }
    Ok(side)
}

struct Facts<'a> {
    wms: &'a Side,
    fusion: &'a Side,
    in_flight_serials: &'a BTreeMap<BalanceKey, BTreeSet<SerialNumber>>,
}

impl Facts<'_> {
    fn uom(&self, item: &ItemNumber) -> Option<Uom> {
        self.wms.uoms.get(item).or_else(|| self.fusion.uoms.get(item)).cloned()
    }

    fn key_facts(&self, key: &BalanceKey, uom: Uom) -> KeyFacts {
        let expiration = key.lot.as_ref().and_then(|lot| {
            let k = (key.item.clone(), lot.clone());
            self.wms
                .expirations
                .get(&k)
                .or_else(|| self.fusion.expirations.get(&k))
                .copied()
        });
        let serials = |m: &BTreeMap<BalanceKey, BTreeSet<SerialNumber>>| m.get(key).cloned().unwrap_or_default();
        KeyFacts {
            uom,
            expiration,
            wms_serials: serials(&self.wms.serials),
            fusion_serials: serials(&self.fusion.serials),
            in_flight_serials: serials(self.in_flight_serials),
        }
    }
}

struct Ctx<'a, P> {
    ports: &'a P,
    settings: &'a ReconcileSettings,
    dc: &'a DcCode,
    run_id: &'a str,
    stop_at: DateTime<Utc>,
}

impl<P: ReconcilePorts> Ctx<'_, P> {
    fn out_of_time(&self, report: &mut ReconcileReport) -> bool {
        if self.ports.clock().now() >= self.stop_at {
            if !report.stopped_early {
                warn!(dc = %self.dc, run_id = self.run_id, "time budget reached; remaining actions wait for the next run");
            }
            report.stopped_early = true;
        }
        report.stopped_early
    }
}

async fn act<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    comparison: &Comparison,
    unsettled: &BTreeSet<BalanceKey>,
    facts: &Facts<'_>,
    report: &mut ReconcileReport,
) {
    let fallback_uom = |v: &Variance| facts.uom(&v.key.item);
    let mut adjustments = Vec::new();
    for v in comparison.of_tier(Tier::AutoCorrect) {
        let Some(uom) = fallback_uom(v) else {
            review(ctx, v, None, Some("no UOM is known for the item"), report).await;
            report.adjustments_to_review += 1;
            continue;
        };
        match adjustment_for(
            ctx.run_id,
            v,
            &facts.key_facts(&v.key, uom.clone()),
            ctx.ports.clock().now(),
        ) {
            Ok(txn) => adjustments.push(txn),
            Err(reason) => {
                review(ctx, v, Some(&uom), Some(&reason), report).await;
                report.adjustments_to_review += 1;
            }
        }
    }
    post_adjustments(ctx, adjustments, report).await;
    for v in comparison.of_tier(Tier::Review) {
        if ctx.out_of_time(report) {
            return;
        }
        review(ctx, v, fallback_uom(v).as_ref(), None, report).await;
    }
    for v in comparison.of_tier(Tier::Alert) {
        if ctx.out_of_time(report) {
            return;
        }
        raise(ctx, v, fallback_uom(v).as_ref(), report).await;
    }
    if !ctx.out_of_time(report) {
        close_resolved(ctx, comparison, unsettled, report).await;
    }
}

async fn post_adjustments<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    adjustments: Vec<WmsTransaction>,
    report: &mut ReconcileReport,
) {
    let outcomes: Vec<TxnOutcome> = stream::iter(adjustments)
        .map(|txn| async move {
            if ctx.ports.clock().now() >= ctx.stop_at {
                return TxnOutcome::Deferred;
            }
            sync_transaction(ctx.ports, &ctx.settings.sync, txn, false).await
        })
        .buffer_unordered(ctx.settings.sync.concurrency.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        match outcome {
            TxnOutcome::Synced { .. } => report.adjustments_posted += 1,
            TxnOutcome::AlreadySynced { .. } => report.adjustments_already_posted += 1,
            TxnOutcome::Failed { failure, .. } | TxnOutcome::Malformed { failure, .. } => {
                warn!(dc = %ctx.dc, run_id = ctx.run_id, txn_id = %failure.id, reason = %failure.reason, "adjustment failed");
                report.adjustments_failed += 1;
            }
            TxnOutcome::Accepted { .. } => report.adjustments_awaiting_fusion += 1,
            TxnOutcome::Skipped { .. }
            | TxnOutcome::WaitingOnFusion
            | TxnOutcome::Systemic { .. }
            | TxnOutcome::Halted => report.adjustments_skipped += 1,
            TxnOutcome::Deferred => {
                report.adjustments_skipped += 1;
                report.stopped_early = true;
            }
        }
    }
}

async fn review<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    v: &Variance,
    uom: Option<&Uom>,
    why_not_corrected: Option<&str>,
    report: &mut ReconcileReport,
) {
    let task = review_task_for(v, uom, ctx.run_id, why_not_corrected);
    let now = ctx.ports.clock().now();
    match ctx.ports.tasks().open_or_update(&task, now).await {
        Ok(TaskChange::Opened) => report.tasks_opened += 1,
        Ok(TaskChange::Updated) => report.tasks_updated += 1,
        Err(e) => {
            warn!(dc = %ctx.dc, key = %v.key, error = %e, "variance review task could not be written");
            report.action_errors += 1;
        }
    }
}

async fn raise<P: ReconcilePorts>(ctx: &Ctx<'_, P>, v: &Variance, uom: Option<&Uom>, report: &mut ReconcileReport) {
    let ports = ctx.ports;
    let now = ports.clock().now();
    let incident = Incident {
        dc: ctx.dc.clone(),
        key: v.key.to_string(),
        item: v.key.item.clone(),
        id: incident_id(ctx.run_id, &v.key),
        opened_at: now,
    };
    match ports.incidents().open_if_absent(&incident).await {
        Ok(true) => report.incidents_opened += 1,
        Ok(false) => return,
        Err(e) => {
            warn!(dc = %ctx.dc, key = %v.key, error = %e, "incident could not be opened; retried next run");
            report.action_errors += 1;
            return;
        }
    }
    let hold = hold_for(v, &incident.id, uom);
    let held = match ports.wms().place_hold(ctx.dc, &hold).await {
        Ok(()) => {
            report.holds_placed += 1;
            Ok(())
        }
        Err(e) => Err(format!("hold on order releases failed: {e}")),
    };
    let alert = alert_for(v, &incident.id, uom, held.is_ok());
    let published = match ports.alerts().publish(&alert).await {
        Ok(()) => {
            report.alerts_published += 1;
            Ok(())
        }
        Err(e) => Err(format!("alert could not be published: {e}")),
    };
    if let Err(reason) = held.and(published) {
        // Why: the incident is what makes the alert once-only; closing it again when the hold
        // or the alert did not go through lets the next run open a fresh incident and retry
        // both (the hold is idempotent on the WMS side).
        warn!(dc = %ctx.dc, key = %v.key, reason = %reason, "alert-tier action incomplete; the next run retries");
        report.alerts_failed += 1;
        let reason = format!("{reason}; reopened by the next run");
        if let Err(e) = ports
            .incidents()
            .close(ctx.dc, &incident.key, &reason, ports.clock().now())
            .await
        {
            warn!(dc = %ctx.dc, key = %v.key, error = %e, "incident could not be closed after a failed alert");
            report.action_errors += 1;
        }
    }
}

async fn close_resolved<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    comparison: &Comparison,
    unsettled: &BTreeSet<BalanceKey>,
    report: &mut ReconcileReport,
) {
    let still_open: BTreeSet<String> = comparison
        .variances
        .iter()
        .map(|v| &v.key)
        .chain(unsettled.iter())
        .map(ToString::to_string)
        .collect();
    let reason = format!("variance returned to zero in run {}", ctx.run_id);
    let ports = ctx.ports;
    match ports.tasks().open_tasks(ctx.dc).await {
        Ok(tasks) => {
            for task in tasks {
                let Some(key) = task.key.strip_prefix(BALANCE_TASK_PREFIX) else {
                    continue;
                };
                if task.kind != TaskKind::Variance || still_open.contains(key) {
                    continue;
                }
                match ports
                    .tasks()
                    .close(ctx.dc, &task.key, &reason, ports.clock().now())
                    .await
                {
                    Ok(true) => report.tasks_closed += 1,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(dc = %ctx.dc, key = %task.key, error = %e, "resolved task could not be closed");
                        report.action_errors += 1;
                    }
                }
            }
        }
        Err(e) => {
            warn!(dc = %ctx.dc, error = %e, "open review tasks could not be listed");
            report.action_errors += 1;
        }
    }
    match ports.incidents().open_incidents(ctx.dc).await {
        Ok(incidents) => {
            for incident in incidents {
                if still_open.contains(&incident.key) {
                    continue;
                }
                match ports
                    .incidents()
                    .close(ctx.dc, &incident.key, &reason, ports.clock().now())
                    .await
                {
                    Ok(true) => report.incidents_closed += 1,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(dc = %ctx.dc, key = %incident.key, error = %e, "resolved incident could not be closed");
                        report.action_errors += 1;
                    }
                }
            }
        }
        Err(e) => {
            warn!(dc = %ctx.dc, error = %e, "open incidents could not be listed");
            report.action_errors += 1;
        }
    }
}

/// What the reconciliation does with an unsettled ledger row it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanAction {
    /// Not an orphan (pending, or in flight with a live lease): the sync handles it.
    Leave,
    /// Retry through the sync path: a retryable failure with attempts left, or an `in_flight`
    /// claim whose lease lapsed longer than `stale_in_flight_after` ago.
    Retry,
    /// A person must look: a permanent failure or attempts at the cap.
    Review,
}

/// Classifies one ledger row as an orphan (pure; see [`OrphanAction`]).
pub fn orphan_action(row: &LedgerRow, now: DateTime<Utc>, settings: &ReconcileSettings) -> OrphanAction {
    match row.entry.state {
        SyncState::SyncFailed => {
            let retryable = row.entry.failure.as_ref().is_some_and(|f| f.retryable);
            if retryable && row.entry.attempts < settings.orphan_retry_cap {
                OrphanAction::Retry
            } else {
                OrphanAction::Review
            }
        }
        SyncState::InFlight => {
            let lapsed = row.entry.lease_until.is_none_or(|l| l <= now);
            if lapsed && row.updated_at + settings.stale_in_flight_after <= now {
                OrphanAction::Retry
            } else {
                OrphanAction::Leave
            }
        }
        _ => OrphanAction::Leave,
    }
}

async fn retry_orphans<P: ReconcilePorts>(ctx: &Ctx<'_, P>, rows: &[LedgerRow], report: &mut ReconcileReport) {
    let now = ctx.ports.clock().now();
    let mut by_item: BTreeMap<&ItemNumber, Vec<&LedgerRow>> = BTreeMap::new();
    for row in rows {
        match orphan_action(row, now, ctx.settings) {
            OrphanAction::Leave => {}
            OrphanAction::Retry => by_item.entry(&row.txn.item).or_default().push(row),
            OrphanAction::Review => {
                if ctx.out_of_time(report) {
                    return;
                }
                orphan_task(ctx, row, report).await;
            }
        }
    }
    let groups: Vec<Vec<&LedgerRow>> = by_item
        .into_values()
        .map(|mut g| {
            g.sort_by(|a, b| (a.txn.occurred_at, &a.txn.id).cmp(&(b.txn.occurred_at, &b.txn.id)));
            g
        })
        .collect();
    let results: Vec<(u64, u64, bool)> = stream::iter(groups)
        .map(|group| retry_group(ctx, group))
        .buffer_unordered(ctx.settings.sync.concurrency.max(1))
        .collect()
        .await;
    for (retried, recovered, deferred) in results {
        report.orphans_retried += retried;
        report.orphans_recovered += recovered;
        report.stopped_early |= deferred;
    }
}

async fn retry_group<P: ReconcilePorts>(ctx: &Ctx<'_, P>, group: Vec<&LedgerRow>) -> (u64, u64, bool) {
    let (mut retried, mut recovered) = (0, 0);
    for row in group {
        if ctx.ports.clock().now() >= ctx.stop_at {
            return (retried, recovered, true);
        }
        let notify_wms = !is_adjustment(&row.txn.id);
        retried += 1;
        match sync_transaction(ctx.ports, &ctx.settings.sync, row.txn.clone(), notify_wms).await {
            TxnOutcome::Synced { .. } | TxnOutcome::AlreadySynced { .. } => recovered += 1,
            TxnOutcome::Failed { failure, escalated, .. } if failure.retryable && !escalated => break,
            TxnOutcome::Skipped { transient: true }
            | TxnOutcome::Accepted { .. }
            | TxnOutcome::WaitingOnFusion
            | TxnOutcome::Systemic { .. }
            | TxnOutcome::Halted => break,
            _ => {}
        }
    }
    (retried, recovered, false)
}

async fn orphan_task<P: ReconcilePorts>(ctx: &Ctx<'_, P>, row: &LedgerRow, report: &mut ReconcileReport) {
    let task = orphan_task_for(row);
    match ctx.ports.tasks().open_or_update(&task, ctx.ports.clock().now()).await {
        Ok(change) => {
            report.orphans_to_review += 1;
            match change {
                TaskChange::Opened => report.tasks_opened += 1,
                TaskChange::Updated => report.tasks_updated += 1,
            }
        }
        Err(e) => {
            warn!(dc = %ctx.dc, txn_id = %row.txn.id, error = %e, "orphan review task could not be written");
            report.action_errors += 1;
        }
    }
}

async fn save_report<P: ReconcilePorts>(
    ports: &P,
    dc: &DcCode,
    run_id: &str,
    started: DateTime<Utc>,
    report: &ReconcileReport,
) -> bool {
    let mut notes = Vec::new();
    if report.stopped_early {
        notes.push("stopped early: time budget".to_string());
    }
    if report.variances_truncated {
        notes.push(format!("variance list cut at {REPORT_VARIANCES_MAX}"));
    }
    if report.action_errors > 0 {
        notes.push(format!("{} action(s) failed; retried next run", report.action_errors));
    }
    let saved = RunReport {
        dc: dc.clone(),
        run_id: run_id.to_string(),
        kind: "reconcile".to_string(),
        started_at: started,
        duration_ms: report.duration_ms,
        figures: report.figures(),
        notes,
    };
    match ports.runs().save(&saved).await {
        Ok(()) => true,
        Err(e) => {
            warn!(dc = %dc, run_id, error = %e, "run report could not be saved");
            false
        }
    }
}

/// Whether a ledger transaction is a reconciliation adjustment (never reported to the WMS).
pub fn is_adjustment(id: &WmsTxnId) -> bool {
    id.as_str().starts_with(ADJUSTMENT_ID_PREFIX)
}

/// The review-task key of a balance key: `bal:<key>`.
pub fn balance_task_key(key: &BalanceKey) -> String {
    format!("{BALANCE_TASK_PREFIX}{key}")
}

/// The id of the adjustment for `key` in run `run_id`: `RC-` and 32 hex digits of a stable
/// hash of both, so the same run and key always give the same id (and the ledger refuses a
/// second adjustment) while different runs never collide in practice.
pub fn adjustment_id(run_id: &str, key: &BalanceKey) -> Result<WmsTxnId, DomainError> {
    WmsTxnId::parse(format!(
        "{ADJUSTMENT_ID_PREFIX}{}",
        hash128(&[run_id, &key.to_string()])
    ))
}

/// The id of the incident opened for `key` in run `run_id` (`INC-` and 16 hex digits); it is
/// the hold's reference.
pub fn incident_id(run_id: &str, key: &BalanceKey) -> String {
    let h = hash128(&[run_id, &key.to_string()]);
    format!("INC-{}", &h[..16])
}

/// FNV-1a over the parts (with a separator), twice with different offsets: stable across
/// builds and platforms, unlike `std`'s hasher.
fn hash128(parts: &[&str]) -> String {
    let fnv = |offset: u64| {
        let mut h = offset;
        for part in parts {
            for b in part.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    };
    format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
}

/// Facts about one key that an adjustment needs beyond its variance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// UOM (from the WMS balance row; Fusion's when the WMS has no row).
    pub uom: Uom,
    /// Lot expiration (the WMS's; Fusion's when the WMS has none).
    pub expiration: Option<NaiveDate>,
    /// Serials the WMS has on hand at the key.
    pub wms_serials: BTreeSet<SerialNumber>,
    /// Serials Fusion has on hand at the key.
    pub fusion_serials: BTreeSet<SerialNumber>,
    /// Serials moved by in-flight transactions at the key.
    pub in_flight_serials: BTreeSet<SerialNumber>,
}

/// The adjustment that corrects a variance: kind `Adjustment`, quantity = variance, the key's
/// subinventory, the lot with its expiration for lot keys, and for serial keys the serials
/// that differ between WMS and Fusion (not moved by an in-flight transaction) when they
/// exactly explain the variance. `Err` says why no adjustment can be built (the key then goes
/// to review). Its id is [`adjustment_id`].
pub fn adjustment_for(
    run_id: &str,
    v: &Variance,
    facts: &KeyFacts,
    now: DateTime<Utc>,
) -> Result<WmsTransaction, String> {
    let key = &v.key;
    let serial =
        !(facts.wms_serials.is_empty() && facts.fusion_serials.is_empty() && facts.in_flight_serials.is_empty());
    let tracking = match (&key.lot, serial) {
        (Some(_), true) => return Err("lot- and serial-controlled stock cannot be auto-corrected".into()),
        (Some(lot), false) => Tracking::Lots(vec![LotQuantity {
            lot: lot.clone(),
            quantity: v.variance.abs(),
            expiration: facts.expiration,
        }]),
        (None, true) => Tracking::Serials(explaining_serials(v.variance, facts)?),
        (None, false) => Tracking::None,
    };
    WmsTransaction::new(NewTransaction {
        id: adjustment_id(run_id, key).map_err(|e| e.to_string())?,
        dc: key.dc.clone(),
        kind: TxnKind::Adjustment,
        item: key.item.clone(),
        subinventory: key.subinventory.clone(),
        quantity: v.variance,
        uom: facts.uom.clone(),
        tracking,
        occurred_at: now,
    })
    .map_err(|e| e.to_string())
}

fn explaining_serials(variance: Decimal, facts: &KeyFacts) -> Result<Vec<SerialNumber>, String> {
    let (from, to) = if variance.is_sign_positive() {
        (&facts.wms_serials, &facts.fusion_serials)
    } else {
        (&facts.fusion_serials, &facts.wms_serials)
    };
    let diff: Vec<SerialNumber> = from
        .iter()
        .filter(|s| !to.contains(*s) && !facts.in_flight_serials.contains(*s))
        .cloned()
        .collect();
    if Decimal::from(diff.len() as u64) == variance.abs() {
        Ok(diff)
    } else {
        let side = if variance.is_sign_positive() {
            "WMS but not Fusion"
        } else {
            "Fusion but not the WMS"
        };
        Err(format!(
            "serial-controlled: {} serial(s) are in the {side}, which does not explain a variance of {}",
            diff.len(),
            variance.normalize()
        ))
    }
}

fn qty(q: Decimal, uom: Option<&Uom>) -> String {
    match uom {
        Some(u) => format!("{} {u}", q.normalize()),
        None => q.normalize().to_string(),
    }
}

fn place(key: &BalanceKey) -> String {
    match &key.lot {
        Some(lot) => format!("{}/{} lot {lot}", key.dc, key.subinventory),
        None => format!("{}/{}", key.dc, key.subinventory),
    }
}

/// The review task for a review-tier variance (or an auto-correct one that cannot be
/// expressed as an adjustment, with `why_not_corrected`): key `bal:<key>`, kind `Variance`,
/// the quantities in summary and detail.
pub fn review_task_for(v: &Variance, uom: Option<&Uom>, run_id: &str, why_not_corrected: Option<&str>) -> ReviewTask {
    let summary = format!(
        "Variance {} for {} at {}: WMS {}, Fusion {}, in flight {}",
        qty(v.variance, uom),
        v.key.item,
        place(&v.key),
        v.wms.normalize(),
        v.fusion.normalize(),
        v.in_flight.normalize()
    );
    let mut detail = format!(
        "WMS on-hand {}; Fusion on-hand {}; in flight (WMS transactions not yet in Fusion) {}; \
         variance = WMS - (Fusion + in flight) = {}. Found by reconciliation run {run_id}.",
        qty(v.wms, uom),
        qty(v.fusion, uom),
        qty(v.in_flight, uom),
        qty(v.variance, uom),
    );
    if let Some(why) = why_not_corrected {
        detail.push_str(&format!(" Not auto-corrected: {why}."));
    }
    detail
        .push_str(" Count the stock and correct the system that is wrong; the task closes when the variance is zero.");
    ReviewTask {
        dc: v.key.dc.clone(),
        key: balance_task_key(&v.key),
        kind: TaskKind::Variance,
        summary,
        detail,
    }
}

/// The review task for an orphaned ledger row a person must look at: key `txn:<id>`, kind
/// `SyncFailure`, with the attempts and the last failure.
pub fn orphan_task_for(row: &LedgerRow) -> ReviewTask {
    let t = &row.txn;
    let reason = row
        .entry
        .failure
        .as_ref()
        .map_or_else(|| "no failure recorded".to_string(), |f| f.reason.clone());
    ReviewTask {
        dc: t.dc.clone(),
        key: format!("txn:{}", t.id),
        kind: TaskKind::SyncFailure,
        summary: format!("{} did not sync", t.describe()),
        detail: format!(
            "item {}; ledger state {}; attempts {}; last failure: {reason}. Found by reconciliation.",
            t.item, row.entry.state, row.entry.attempts
        ),
    }
}

/// The hold on order releases for an alert-tier variance; `reference` is the incident id.
pub fn hold_for(v: &Variance, incident_id: &str, uom: Option<&Uom>) -> Hold {
    Hold {
        item: v.key.item.clone(),
        reason: format!(
            "invsync: variance {} at {} (WMS {}, Fusion {}, in flight {}) is above the alert threshold",
            qty(v.variance, uom),
            place(&v.key),
            v.wms.normalize(),
            v.fusion.normalize(),
            v.in_flight.normalize()
        ),
        placed_by: HOLD_PLACED_BY.to_string(),
        reference: incident_id.to_string(),
    }
}

/// The critical alert for an alert-tier variance. Subject: ASCII, at most [`SUBJECT_MAX`]
/// characters (the item number is shortened to fit). Body: a first line of at most
/// [`SMS_MAX`] characters, then DC, item, subinventory, lot, WMS / Fusion / in-flight
/// quantities, variance, what was done and the incident id. `held` says whether the hold on
/// order releases was placed.
pub fn alert_for(v: &Variance, incident_id: &str, uom: Option<&Uom>, held: bool) -> Alert {
    let key = &v.key;
    let variance = qty(v.variance, uom);
    let action = if held { "releases held" } else { "hold FAILED" };
    let subject = fit(
        |item| format!("invsync CRITICAL {} {item}: variance {variance}, {action}", key.dc),
        &ascii(key.item.as_str()),
        SUBJECT_MAX,
    );
    let first = fit(
        |item| {
            format!(
                "CRITICAL {} {item} {}: WMS {} Fusion {} in flight {}, variance {variance}; order {action}",
                key.dc,
                match &key.lot {
                    Some(lot) => format!("{} lot {lot}", key.subinventory),
                    None => key.subinventory.to_string(),
                },
                v.wms.normalize(),
                v.fusion.normalize(),
                v.in_flight.normalize()
            )
        },
        key.item.as_str(),
        SMS_MAX,
    );
    let done = if held {
        format!(
            "Order releases for {} at {} are held (reference {incident_id}) until a person releases them.",
            key.item, key.dc
        )
    } else {
        format!(
            "Placing the hold on order releases for {} at {} FAILED; the next run retries. Hold releases by hand if needed.",
            key.item, key.dc
        )
    };
    let body = format!(
        "{first}\n\nDC: {}\nItem: {}\nSubinventory: {}\nLot: {}\nWMS on-hand: {}\nFusion on-hand: {}\n\
         In flight (WMS transactions not yet in Fusion): {}\nVariance (WMS - (Fusion + in flight)): {variance}\n\
         Action: {done}\nIncident: {incident_id}\n",
        key.dc,
        key.item,
        key.subinventory,
        key.lot.as_ref().map_or("(none)", LotNumber::as_str),
        qty(v.wms, uom),
        qty(v.fusion, uom),
        qty(v.in_flight, uom),
    );
    Alert {
        dc: key.dc.clone(),
        severity: Severity::Critical,
        subject,
        body,
    }
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
        .collect()
}

/// Renders `line(item)` within `max` characters, shortening `item` with `...` first and
/// cutting the whole line only if that is not enough.
fn fit(line: impl Fn(&str) -> String, item: &str, max: usize) -> String {
    let full = line(item);
    let len = full.chars().count();
    if len <= max {
        return full;
    }
    let item_len = item.chars().count();
    let over = len - max;
    let shortened = if item_len > over + 3 {
        let keep: String = item.chars().take(item_len - over - 3).collect();
        line(&format!("{keep}..."))
    } else {
        line("...")
    };
    if shortened.chars().count() <= max {
        shortened
    } else {
        shortened.chars().take(max).collect()
    }
}

fn elapsed_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SubinventoryCode;
    use crate::ledger::{Failure, LedgerEntry};
    use rust_decimal_macros::dec;

    fn key(item: &str, lot: Option<&str>) -> BalanceKey {
        BalanceKey::new(
            DcCode::parse("DC03").unwrap(),
            ItemNumber::parse(item).unwrap(),
            SubinventoryCode::parse("STORES").unwrap(),
            lot.map(|l| LotNumber::parse(l).unwrap()),
        )
    }

    fn variance(k: BalanceKey, wms: Decimal, fusion: Decimal, in_flight: Decimal) -> Variance {
        let v = wms - (fusion + in_flight);
        Variance {
            key: k,
            wms,
            fusion,
            in_flight,
            variance: v,
            tier: Thresholds::default().classify(v),
        }
    }

    fn ea() -> Uom {
        Uom::parse("EA").unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn facts() -> KeyFacts {
        KeyFacts {
            uom: ea(),
            expiration: None,
            wms_serials: BTreeSet::new(),
            fusion_serials: BTreeSet::new(),
            in_flight_serials: BTreeSet::new(),
        }
    }

    fn serials(list: &[&str]) -> BTreeSet<SerialNumber> {
        list.iter().map(|s| SerialNumber::parse(*s).unwrap()).collect()
    }

    #[test]
    fn adjustment_ids_are_deterministic_valid_and_distinct() {
        let a = adjustment_id("reconcile-2026-01-01T00:15Z", &key("ITM-1", None)).unwrap();
        assert_eq!(
            a,
            adjustment_id("reconcile-2026-01-01T00:15Z", &key("ITM-1", None)).unwrap()
        );
        assert_ne!(
            a,
            adjustment_id("reconcile-2026-01-01T00:30Z", &key("ITM-1", None)).unwrap()
        );
        assert_ne!(
            a,
            adjustment_id("reconcile-2026-01-01T00:15Z", &key("ITM-1", Some("L1"))).unwrap()
        );
        assert!(a.as_str().starts_with(ADJUSTMENT_ID_PREFIX));
        assert!(a.as_str().len() <= WmsTxnId::MAX_LEN);
        assert!(is_adjustment(&a));
        let long = adjustment_id(&"r".repeat(500), &key(&"I".repeat(300), Some(&"L".repeat(80)))).unwrap();
        assert_eq!(long.as_str().len(), 35);
    }

    #[test]
    fn incident_ids_are_stable_per_run_and_key() {
        let k = key("ITM-1", None);
        assert_eq!(incident_id("r1", &k), incident_id("r1", &k));
        assert_ne!(incident_id("r1", &k), incident_id("r2", &k));
        assert!(incident_id("r1", &k).starts_with("INC-"));
    }

    #[test]
    fn a_small_plain_variance_becomes_a_signed_adjustment() {
        let v = variance(key("ITM-1", None), dec!(97), dec!(100), dec!(0));
        let t = adjustment_for("r1", &v, &facts(), now()).unwrap();
        assert_eq!(t.kind, TxnKind::Adjustment);
        assert_eq!(t.quantity, dec!(-3));
        assert_eq!(t.tracking, Tracking::None);
        assert_eq!(t.subinventory.as_str(), "STORES");
        assert_eq!(t.id, adjustment_id("r1", &v.key).unwrap());
        assert_eq!(t.net_effects(), vec![(v.key.clone(), dec!(-3))]);
    }

    #[test]
    fn a_lot_adjustment_carries_the_lot_and_its_expiration() {
        let v = variance(key("ITM-1", Some("L1")), dec!(12), dec!(10), dec!(0));
        let exp = NaiveDate::from_ymd_opt(2027, 3, 1);
        let f = KeyFacts {
            expiration: exp,
            ..facts()
        };
        let t = adjustment_for("r1", &v, &f, now()).unwrap();
        match &t.tracking {
            Tracking::Lots(lots) => {
                assert_eq!(lots.len(), 1);
                assert_eq!(lots[0].lot.as_str(), "L1");
                assert_eq!(lots[0].quantity, dec!(2));
                assert_eq!(lots[0].expiration, exp);
            }
            other => panic!("expected lots, got {other:?}"),
        }
        assert_eq!(t.net_effects(), vec![(v.key.clone(), dec!(2))]);
    }

    #[test]
    fn serial_differences_that_explain_the_variance_are_adjusted() {
        let v = variance(key("ITM-S", None), dec!(3), dec!(1), dec!(0));
        let f = KeyFacts {
            wms_serials: serials(&["S1", "S2", "S3"]),
            fusion_serials: serials(&["S1"]),
            ..facts()
        };
        let t = adjustment_for("r1", &v, &f, now()).unwrap();
        assert_eq!(
            t.tracking,
            Tracking::Serials(serials(&["S2", "S3"]).into_iter().collect())
        );

        let v = variance(key("ITM-S", None), dec!(0), dec!(2), dec!(-1));
        let f = KeyFacts {
            fusion_serials: serials(&["S1", "S2"]),
            in_flight_serials: serials(&["S1"]),
            ..facts()
        };
        let t = adjustment_for("r1", &v, &f, now()).unwrap();
        assert_eq!(t.quantity, dec!(-1));
        assert_eq!(t.tracking, Tracking::Serials(serials(&["S2"]).into_iter().collect()));
    }

    #[test]
    fn serial_differences_that_do_not_explain_the_variance_go_to_review() {
        let v = variance(key("ITM-S", None), dec!(2), dec!(1), dec!(0));
        let f = KeyFacts {
            wms_serials: serials(&["S1", "S3"]),
            fusion_serials: serials(&["S2"]),
            ..facts()
        };
        let err = adjustment_for("r1", &v, &f, now()).unwrap_err();
        assert!(err.contains("does not explain"), "{err}");
    }

    fn long_variance() -> Variance {
        variance(
            BalanceKey::new(
                DcCode::parse("DC-WITH-LONG-NAME").unwrap(),
                ItemNumber::parse(format!("ITEM-Ü{}", "X".repeat(294))).unwrap(),
                SubinventoryCode::parse("BULK-STORE").unwrap(),
                Some(LotNumber::parse("L".repeat(80)).unwrap()),
            ),
            dec!(1234567.891),
            dec!(100.5),
            dec!(-12.25),
        )
    }

    #[test]
    fn alert_subject_is_short_ascii_even_for_a_300_character_item() {
        let v = long_variance();
        let a = alert_for(&v, "INC-0123456789abcdef", Some(&ea()), true);
        assert!(a.subject.chars().count() < 100, "{} chars", a.subject.chars().count());
        assert!(a.subject.is_ascii());
        assert!(a.subject.contains("CRITICAL"));
        assert!(a.subject.contains("releases held"));
        let first = a.body.lines().next().unwrap();
        assert!(first.chars().count() <= SMS_MAX, "{} chars", first.chars().count());
        assert_eq!(a.severity, Severity::Critical);
        assert!(a.body.contains(v.key.item.as_str()));
    }

    #[test]
    fn alert_names_everything_a_manager_needs() {
        let v = variance(key("ITM-000042", Some("LOT-7")), dec!(27), dec!(100), dec!(0));
        let a = alert_for(&v, "INC-1", Some(&ea()), true);
        assert_eq!(
            a.subject,
            "invsync CRITICAL DC03 ITM-000042: variance -73 EA, releases held"
        );
        let first = a.body.lines().next().unwrap();
        assert!(first.chars().count() <= SMS_MAX);
        for needle in [
            "DC03",
            "ITM-000042",
            "STORES",
            "LOT-7",
            "WMS 27",
            "Fusion 100",
            "in flight 0",
            "-73 EA",
        ] {
            assert!(first.contains(needle), "first line lacks {needle}: {first}");
        }
        for needle in [
            "DC: DC03",
            "Item: ITM-000042",
            "Subinventory: STORES",
            "Lot: LOT-7",
            "WMS on-hand: 27 EA",
            "Fusion on-hand: 100 EA",
            "In flight (WMS transactions not yet in Fusion): 0 EA",
            "Variance (WMS - (Fusion + in flight)): -73 EA",
            "order releases held",
            "Order releases for ITM-000042 at DC03 are held (reference INC-1)",
        ] {
            assert!(a.body.contains(needle), "body lacks {needle}: {}", a.body);
        }
        let h = hold_for(&v, "INC-1", Some(&ea()));
        assert_eq!((h.placed_by.as_str(), h.reference.as_str()), ("invsync", "INC-1"));
        assert_eq!(h.item, v.key.item);
    }

    #[test]
    fn review_task_is_keyed_by_balance_and_names_the_quantities() {
        let v = variance(key("ITM-1", None), dec!(80), dec!(100), dec!(8));
        let t = review_task_for(&v, Some(&ea()), "r1", None);
        assert_eq!(t.key, "bal:DC03/ITM-1/STORES");
        assert_eq!(t.kind, TaskKind::Variance);
        for needle in ["WMS 80", "Fusion 100", "in flight 8", "-28 EA"] {
            assert!(t.summary.contains(needle), "{needle}: {}", t.summary);
        }
        assert!(t.detail.contains("r1"));
    }

    fn tracked(id: &str, q: Decimal, state: Option<(SyncState, u64)>) -> (WmsTxnId, Tracked) {
        let k = key("ITM-1", None);
        let txn = WmsTransaction::new(NewTransaction {
            id: WmsTxnId::parse(id).unwrap(),
            dc: k.dc,
            kind: TxnKind::Adjustment,
            item: k.item,
            subinventory: k.subinventory,
            quantity: q,
            uom: ea(),
            tracking: Tracking::None,
            occurred_at: now(),
        })
        .unwrap();
        (txn.id.clone(), Tracked { txn, state })
    }

    #[test]
    fn transactions_that_moved_between_reads_make_their_keys_unsettled() {
        let pending = Some((SyncState::PendingSync, 0));
        let before: BTreeMap<_, _> = [tracked("T1", dec!(3), pending), tracked("T2", dec!(4), None)].into();
        let after: BTreeMap<_, _> = [tracked("T1", dec!(3), pending), tracked("T2", dec!(4), None)].into();
        let s = settle(&before, &after);
        assert_eq!(s.in_flight.get(&key("ITM-1", None)), Some(&dec!(7)));
        assert!(s.unsettled.is_empty());
        assert_eq!(s.txns, 2);

        let after: BTreeMap<_, _> = [tracked("T1", dec!(3), Some((SyncState::InFlight, 1)))].into();
        let s = settle(&before, &after);
        assert!(s.unsettled.contains(&key("ITM-1", None)));
        assert_eq!(s.txns, 0);

        let s = settle(&BTreeMap::new(), &after);
        assert!(s.unsettled.contains(&key("ITM-1", None)));
    }

    fn row(state: SyncState, attempts: u32, retryable: Option<bool>, age_min: i64) -> LedgerRow {
        let (_, t) = tracked("T1", dec!(1), None);
        LedgerRow {
            txn: t.txn,
            entry: LedgerEntry {
                state,
                attempts,
                lease_until: (state == SyncState::InFlight)
                    .then(|| now() - Duration::minutes(age_min) + Duration::minutes(5)),
                failure: retryable.map(|retryable| Failure {
                    retryable,
                    reason: "x".into(),
                    systemic: false,
                }),
                fusion_refs: Vec::new(),
                version: u64::from(attempts),
            },
            updated_at: now() - Duration::minutes(age_min),
        }
    }

    #[test]
    fn orphans_are_retried_when_transient_and_reviewed_otherwise() {
        let s = ReconcileSettings::default();
        let cases = [
            (row(SyncState::SyncFailed, 1, Some(true), 1), OrphanAction::Retry),
            (row(SyncState::SyncFailed, 3, Some(true), 1), OrphanAction::Review),
            (row(SyncState::SyncFailed, 1, Some(false), 1), OrphanAction::Review),
            (row(SyncState::InFlight, 1, None, 30), OrphanAction::Retry),
            (row(SyncState::InFlight, 1, None, 2), OrphanAction::Leave),
            (row(SyncState::PendingSync, 0, None, 60), OrphanAction::Leave),
        ];
        for (r, want) in cases {
            assert_eq!(orphan_action(&r, now(), &s), want, "{:?}", r.entry);
        }
    }

    #[test]
    fn per_dc_thresholds_override_the_default() {
        let mut s = ReconcileSettings::default();
        let dc1 = DcCode::parse("DC01").unwrap();
        let dc2 = DcCode::parse("DC02").unwrap();
        let strict = Thresholds::new(dec!(1), dec!(10)).unwrap();
        s.per_dc.insert(dc2.clone(), strict);
        assert_eq!(s.thresholds_for(&dc1), Thresholds::default());
        assert_eq!(s.thresholds_for(&dc2), strict);
    }

    #[test]
    fn figures_carry_accuracy_in_basis_points() {
        let r = ReconcileReport {
            accuracy: dec!(0.98765),
            keys_compared: 3,
            ..ReconcileReport::default()
        };
        let f = r.figures();
        assert_eq!(f.get("accuracy_bp"), Some(&9877));
        assert_eq!(f.get("keys_compared"), Some(&3));
    }
}
