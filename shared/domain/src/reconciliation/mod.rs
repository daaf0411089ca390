//! The 15-minute reconciliation of one DC: a three-way compare of WMS on-hand, Fusion on-hand
//! and in-flight transactions, then the tiered actions of architecture.md.
//!
//! Order of work in [`reconcile_dc`]:
//! 1. read what is in flight (unsettled ledger rows and the WMS outbox), the WMS balances and
//!    the Fusion on-hand at the same time (into one compact table, `balances`; the WMS rows read
//!    by the time the on-hand read starts are its guess of the DC's size), then what is in
//!    flight again; a transaction that appeared, vanished or moved between the two in-flight
//!    reads settled while the balances were read, so its keys are skipped for this run rather
//!    than reported as false variances; while Fusion's interface and what is in flight are
//!    read the second time, the item and lot lookups of the likely adjustments are readied;
//! 2. compare with the DC's thresholds (what [`crate::variance::compare`] answers);
//! 3. act (never in a dry run): small variances are corrected with an adjustment that goes
//!    through [`sync_transaction`] (same ledger, same two-phase commit, an id derived from run id
//!    and key so a rerun never adjusts twice); medium ones get one review task per key; large
//!    ones open an incident, and only a newly opened incident publishes one alert and places one
//!    hold on order releases; keys back to zero close their variance task and incident (all
//!    four at once: they touch different keys); orphaned
//!    ledger rows are retried or handed to a person;
//! 4. return and persist a [`ReconcileReport`].
//!
//! [`reconcile_dc_at_status`] is the entry for scheduled runs: a DC that is not `live` (being
//! baselined, in maintenance) is reconciled report-only, as a dry run.
//!
//! Holds are never released here: a person releases them.
//!
//! Files: `read` (the in-flight and balance reads, and settling them), `balances` (both sides'
//! balances held compactly, their comparison and the facts an action reads), `actions` (acting per
//! tier), `orphans` (orphaned ledger rows), `adjustment` (the adjustment for a variance),
//! `messages` (tasks, holds and alerts), `ids` (ids derived from run and key), `ready` (the
//! likely adjustments' lookups, ahead), `report` (the run's report and its figures). `Ctx` is what every action of one run shares.

use crate::error::{DomainError, Retryable};
use crate::golive::{reconcile_mode, DcStatus, ReconcileMode};
use crate::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, Uom, WmsTxnId};
use crate::interface::{account_staged, StagedEffect};
use crate::ledger::SyncState;
use crate::ports::{
    Alert, AlertSink, BalanceKeyText, Clock, FusionError, FusionInventory, Hold, Incident, IncidentId, Incidents,
    LedgerRow, ReviewTask, ReviewTasks, RunKind, RunReport, RunReports, Severity, StoreError, SyncLedger, TaskChange,
    TaskKey, TaskKind, WarehouseSystem, WmsError,
};
use crate::sync::{
    publish_failure_alert, sync_transaction, PageHints, SyncPorts, SyncReport, SyncSettings, TxnOutcome,
};
use crate::txn::{LotQuantity, NewTransaction, Tracking, TxnKind, WmsTransaction};
use crate::variance::{variance, BalanceKey, Comparison, Snapshot, Thresholds, Tier, Variance};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::stream::{self, StreamExt};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;
use tracing::{info, warn};

mod actions;
mod adjustment;
mod balances;
mod ids;
mod messages;
mod orphans;
mod read;
mod ready;
mod report;
#[cfg(test)]
mod tests;

use actions::{act, alert_confirm_failures};
pub use adjustment::{adjustment_for, KeyFacts, NoAdjustment};
use balances::{Balances, Facts};
pub use ids::{adjustment_id, incident_id, is_adjustment};
pub use messages::{alert_for, hold_for, review_task_for};
use orphans::retry_orphans;
pub use orphans::{orphan_action, orphan_task_for, OrphanAction};
use read::{read_fusion, read_in_flight, read_wms};
pub use read::{settle, Settled, Tracked};
use ready::ready_adjustments;
pub use report::ReconcileReport;
use report::{save_report, summarize};

/// Prefix of the ids of adjustments the reconciliation posts. The WMS never saw these
/// transactions, so their outcome is never reported to it.
pub const ADJUSTMENT_ID_PREFIX: &str = "RC-";

/// Who places holds, as the WMS records it.
pub const HOLD_PLACED_BY: &str = "invsync";

/// The largest page of balances or outbox rows the WMS contract allows
/// (`docs/wms-api.openapi.yaml`, `limit`).
pub const WMS_MAX_PAGE_SIZE: usize = 5_000;

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
    /// Page size for WMS balances and outbox reads (at least 1 is used; default 5,000, the
    /// largest page the WMS contract allows).
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
            page_size: WMS_MAX_PAGE_SIZE,
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

    // The balances are read between two in-flight reads (see `settle`); the WMS and Fusion
    // are read at the same time, Fusion's on-hand between two reads of its interface.
    tracing::debug!(dc = %dc, run_id, "accepted transactions confirmed");
    let mut before = read_in_flight(ports, dc, page_size, concurrency).await?;
    tracing::debug!(dc = %dc, run_id, "in flight read (before)");
    let table = std::sync::Mutex::new(Balances::new(dc.clone()));
    let wms_rows = std::sync::atomic::AtomicUsize::new(0);
    let ((), staged_first) = futures::try_join!(
        async {
            read_wms(ports, dc, page_size, &table, &wms_rows).await?;
            tracing::debug!(dc = %dc, run_id, "WMS balances read");
            Ok::<_, ReconcileError>(())
        },
        async {
            let first = ports.fusion().staged(dc).await?;
            tracing::debug!(dc = %dc, run_id, "Fusion interface read (first)");
            // Why the WMS's rows so far: the WMS read started with the interface read, so by
            // now it has usually answered a page or more, and a DC's Fusion rows are about as
            // many as its WMS rows (fewer where Fusion nests lots in one balance row).
            let expected = match wms_rows.load(std::sync::atomic::Ordering::Relaxed) {
                0 => None,
                rows => Some(rows),
            };
            read_fusion(ports, dc, expected, &table).await?;
            tracing::debug!(dc = %dc, run_id, "Fusion on-hand read");
            Ok::<_, ReconcileError>(first)
        }
    )?;
    let balances = table.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    tracing::debug!(dc = %dc, run_id, keys = balances.len(), "balances read");
    let second_reads = async {
        let second = ports.fusion().staged(dc).await?;
        let after = read_in_flight(ports, dc, page_size, concurrency).await?;
        Ok::<_, ReconcileError>((second, after))
    };
    let ready = async {
        if settings.dry_run {
            PageHints::default()
        } else {
            ready_adjustments(ports, settings, dc, run_id, &balances, &before.txns).await
        }
    };
    let (second_reads, hints) = futures::join!(second_reads, ready);
    let (staged_second, mut after) = second_reads?;
    tracing::debug!(dc = %dc, run_id, "in flight read (after)");
    let staged = account_staged(dc, &mut before.txns, &mut after.txns, &staged_first, &staged_second);
    let mut settled = settle(&before.txns, &after.txns);
    settled.absorb(staged.clone());

    let comparison = balances.compare(&settled.in_flight, &settled.unsettled, &settings.thresholds_for(dc));
    let mut report = summarize(dc, run_id, settings.dry_run, &comparison, &settled);
    report.malformed_outbox = after.malformed;
    report.staged_rows_netted = staged.rows_netted;
    report.staged_foreign_rows = staged.foreign_rows;
    if let Some(c) = confirmed {
        report.confirmed = c.confirmed;
        report.confirm_failed = c.failed;
        report.still_unprocessed = c.still_unprocessed;
        report.unprocessed_overdue = c.overdue;
        report.illegal_transitions += c.illegal_transitions;
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
            balances: &balances,
            in_flight_serials: &settled.serials,
        };
        act(&ctx, &comparison, &settled.unsettled, &facts, &hints, &mut report).await;
        tracing::debug!(dc = %dc, run_id, "acted on variances");
        retry_orphans(&ctx, &after.ledger, &mut report).await;
    }
    free_elsewhere(balances);

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

/// Reconciles one DC as its go-live `status` allows (see [`crate::golive::reconcile_mode`]): a
/// live DC as [`reconcile_dc`] does; any other DC as a dry run (compare and report only: no
/// adjustment, task, incident, alert, hold, retry or saved report), the report's
/// `report_only` saying why. The caller reads `status` from the DC status table; a failed read
/// must fail the run, never be taken for `live`.
pub async fn reconcile_dc_at_status<P: ReconcilePorts>(
    ports: &P,
    settings: &ReconcileSettings,
    dc: &DcCode,
    status: DcStatus,
    run_id: &str,
    deadline: DateTime<Utc>,
) -> Result<ReconcileReport, ReconcileError> {
    match reconcile_mode(dc, status) {
        ReconcileMode::Act => reconcile_dc(ports, settings, dc, run_id, deadline).await,
        ReconcileMode::ReportOnly(why) => {
            let report_only = ReconcileSettings {
                dry_run: true,
                ..settings.clone()
            };
            let mut report = reconcile_dc(ports, &report_only, dc, run_id, deadline).await?;
            info!(dc = %dc, run_id, status = status.as_str(), "DC not live: reconciled report-only");
            report.report_only = Some(why);
            Ok(report)
        }
    }
}

/// What every action of one run shares: the ports, the settings, the DC and run, and when
/// new work stops.
struct Ctx<'a, P> {
    pub(super) ports: &'a P,
    pub(super) settings: &'a ReconcileSettings,
    pub(super) dc: &'a DcCode,
    pub(super) run_id: &'a str,
    pub(super) stop_at: DateTime<Utc>,
}

impl<P: ReconcilePorts> Ctx<'_, P> {
    pub(super) fn out_of_time(&self, report: &mut ReconcileReport) -> bool {
        if self.ports.clock().now() >= self.stop_at {
            if !report.stopped_early {
                warn!(dc = %self.dc, run_id = self.run_id, "time budget reached; remaining actions wait for the next run");
            }
            report.stopped_early = true;
        }
        report.stopped_early
    }
}

/// Frees `balances` on a thread of its own, or here when no thread can be started. Why: a large
/// DC's table holds a name per item and lot (150,000 allocations at 50,000 SKUs); freeing them
/// took about 25 ms that the report's write and the invocation's answer need not wait for.
fn free_elsewhere(balances: Balances) {
    // A failed spawn drops the closure, and the table with it, on this thread.
    let _ = std::thread::Builder::new()
        .name("free-balances".into())
        .spawn(move || drop(balances));
}

fn elapsed_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}
