//! The hourly sync of one DC: drain the WMS outbox into Fusion with the two-phase commit.
//!
//! A run first confirms what Fusion accepted earlier but had not processed (`accepted` rows,
//! see [`crate::confirm`]). Then, for every outbox transaction: record it in the ledger
//! (`pending_sync`), claim it with a conditional write (`in_flight`, leased), map its lots,
//! post its lines to Fusion (looking each line up by its Source* reference first whenever an
//! earlier attempt may have landed), then `synced` (Fusion processed every line), `accepted`
//! (a line waits in Fusion's interface) or `sync_failed` in the ledger, and finally tell the
//! WMS, which releases its reservation only on `synced`.
//!
//! Transactions of one item are applied in WMS order (a pick must not reach Fusion before the
//! receipt it depends on): a later transaction of an item waits while an earlier one is
//! unconfirmed in Fusion or failed for a passing reason. Different items run concurrently up
//! to [`SyncSettings::concurrency`]. When the time budget runs short the run stops taking new
//! work and says so; untouched transactions stay `pending_sync` for the next message.
//!
//! A systemic failure (Fusion refuses the credentials or the integration user's role) stops
//! the run at once: the claimed transaction goes back to `pending_sync`, nothing is failed or
//! reported to the WMS, and the run reports the cause in [`SyncReport::systemic`] so the
//! caller returns the message for retry; one critical alert names the cause.

use crate::error::Retryable;
use crate::ids::{DcCode, ItemNumber};
use crate::ledger::{Failure, LedgerEntry, LedgerEvent, SyncState};
use crate::ports::{
    Alert, AlertSink, Clock, DcLease, FusionError, FusionInventory, Landed, LedgerRow, LotMap, MappedLot, OutboxItem,
    ReviewTask, ReviewTasks, Severity, StoreError, SyncLedger, SyncOutcome, TaskChange, TaskKind, WarehouseSystem,
    WmsError,
};
use crate::txn::{LotQuantity, Tracking, TxnKind, WmsTransaction};
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use thiserror::Error;
use tracing::{info, warn, Instrument};

/// Everything the sync needs from the outside world.
pub trait SyncPorts: Send + Sync {
    /// Fusion.
    type Fusion: FusionInventory;
    /// The WMS.
    type Wms: WarehouseSystem;
    /// The ledger.
    type Ledger: SyncLedger;
    /// The lot map.
    type Lots: LotMap;
    /// Per-DC leases.
    type Lease: DcLease;
    /// Review tasks.
    type Tasks: ReviewTasks;
    /// Alerts.
    type Alerts: AlertSink;
    /// Time.
    type Clock: Clock;

    /// Fusion.
    fn fusion(&self) -> &Self::Fusion;
    /// The WMS.
    fn wms(&self) -> &Self::Wms;
    /// The ledger.
    fn ledger(&self) -> &Self::Ledger;
    /// The lot map.
    fn lots(&self) -> &Self::Lots;
    /// Per-DC leases.
    fn lease(&self) -> &Self::Lease;
    /// Review tasks.
    fn tasks(&self) -> &Self::Tasks;
    /// Alerts.
    fn alerts(&self) -> &Self::Alerts;
    /// Time.
    fn clock(&self) -> &Self::Clock;
}

/// Tunables of a sync run.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Claims per transaction before it goes to manual review (the brief: 3).
    pub max_attempts: u32,
    /// Serials per Fusion call (the brief: at most 50).
    pub serial_limit: usize,
    /// Items posted concurrently (bounded so one DC cannot flood Fusion).
    pub concurrency: usize,
    /// Outbox page size.
    pub page_size: usize,
    /// Lease on one in-flight transaction; after it, a crashed claim may be recovered.
    pub txn_lease: Duration,
    /// Stop taking new work this long before the deadline.
    pub safety_margin: Duration,
    /// Failed transactions listed in one alert.
    pub alert_list_max: usize,
    /// The DCs this deployment syncs (`DC_LIST`); a request for any other DC is refused
    /// without touching anything. `None` serves every DC the WMS knows.
    pub dcs: Option<BTreeSet<DcCode>>,
    /// After this many transactions in a row fail because Fusion is unavailable (5xx,
    /// throttling, timeouts outlasting the client's retries), the run stops: the rest stay
    /// pending for the next run instead of failing one by one during an outage. Default 3.
    pub outage_after: usize,
    /// An `accepted` transaction Fusion has not processed after this long gets a review task
    /// ("Fusion has not processed this transaction"); it keeps waiting for Fusion.
    pub unprocessed_review_after: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            serial_limit: 50,
            concurrency: 8,
            page_size: 200,
            txn_lease: Duration::minutes(5),
            safety_margin: Duration::seconds(60),
            alert_list_max: 20,
            unprocessed_review_after: Duration::hours(2),
            outage_after: 3,
            dcs: None,
        }
    }
}

/// A failed transaction, for reports and alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedTxn {
    /// WMS id.
    pub id: String,
    /// Why.
    pub reason: String,
    /// Whether a later run may succeed.
    pub retryable: bool,
    /// Whether the cause was Fusion's availability (counts toward stopping the run).
    pub outage: bool,
}

/// What one sync run of one DC did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// DC.
    pub dc: String,
    /// Run id.
    pub run_id: String,
    /// Outbox transactions looked at.
    pub seen: u64,
    /// Transactions this run moved to `synced`.
    pub synced: u64,
    /// Transactions this run posted that Fusion took into its interface but has not processed
    /// yet (`accepted`); a later run or reconciliation confirms them.
    pub accepted: u64,
    /// Transactions not posted because an earlier transaction of the same item is still
    /// unconfirmed in Fusion (per-item order); they are posted once it is processed.
    pub waiting_on_fusion: u64,
    /// Earlier `accepted` transactions this run found processed by Fusion (now `synced`).
    pub confirmed: u64,
    /// Earlier `accepted` transactions still unprocessed in Fusion.
    pub still_unprocessed: u64,
    /// Of `still_unprocessed`, how many are older than the review age (a task is open).
    pub unprocessed_overdue: u64,
    /// Transactions the ledger already had as `synced` (outcome re-reported to the WMS).
    pub already_synced: u64,
    /// Transactions that failed this run (permanent or attempts exhausted included).
    pub failed: u64,
    /// Of `failed`, how many may succeed on a later run.
    pub failed_retryable: u64,
    /// Transactions moved to manual review.
    pub escalated: u64,
    /// Outbox entries that could not be parsed.
    pub malformed: u64,
    /// Transactions left alone (claimed elsewhere, waiting in review, store hiccup, or held
    /// behind an earlier transaction of the same item that failed for a passing reason).
    pub skipped: u64,
    /// Transactions not started because time ran short.
    pub deferred: u64,
    /// Fusion lines posted.
    pub lines_posted: u64,
    /// Fusion lines found already landed by Source* lookup (never re-posted).
    pub lines_found_landed: u64,
    /// Milliseconds spent waiting on Fusion posts and lookups.
    pub fusion_ms: u64,
    /// Outcome reports the WMS did not take (retried next run).
    pub wms_report_failures: u64,
    /// Another invocation held the DC lease; nothing was done.
    pub lease_busy: bool,
    /// The run stopped for a systemic cause (credentials or role refused by Fusion or the
    /// WMS); the message must be retried once the cause is fixed. Never holds a secret.
    pub systemic: Option<String>,
    /// Transactions not started because the run stopped for a systemic cause or an outage.
    pub halted: u64,
    /// The run stopped because Fusion looked unavailable (`outage_after` failures in a row);
    /// the last failure's text. The remaining transactions wait for the next run.
    pub outage: Option<String>,
    /// Stopped before the outbox was drained (time budget); the rest waits for the next run.
    pub stopped_early: bool,
    /// Run duration in milliseconds.
    pub duration_ms: u64,
    /// Failures of this run (capped at `alert_list_max` entries).
    pub failures: Vec<FailedTxn>,
}

/// A sync run that could not run at all. Per-transaction failures are not errors: they are
/// recorded in the ledger and counted in the [`SyncReport`].
#[derive(Debug, Clone, Error)]
pub enum SyncError {
    /// The ledger or lease store failed.
    #[error("sync store failed: {0}")]
    Store(#[from] StoreError),
    /// The WMS outbox could not be read.
    #[error("WMS outbox unreadable: {0}")]
    Wms(#[from] WmsError),
    /// The DC is not in this deployment's `DC_LIST`: nothing was done.
    #[error("DC {0} is not in DC_LIST; this deployment does not sync it")]
    NotConfigured(DcCode),
}

impl SyncError {
    /// Whether the cause is systemic (the WMS refused the credentials): the run could not
    /// start and the message should be retried once the cause is fixed.
    pub fn is_systemic(&self) -> bool {
        matches!(self, SyncError::Wms(e) if e.is_systemic())
    }
}

impl Retryable for SyncError {
    fn is_retryable(&self) -> bool {
        match self {
            SyncError::Store(e) => e.is_retryable(),
            SyncError::Wms(e) => e.is_retryable() || e.is_systemic(),
            SyncError::NotConfigured(_) => false,
        }
    }
}

/// What happened to one transaction in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// This run moved it to `synced`.
    Synced {
        /// Lines posted to Fusion.
        lines: u64,
        /// Lines found already landed by Source* lookup.
        found: u64,
        /// Milliseconds waiting on Fusion.
        fusion_ms: u64,
        /// Whether the WMS took the outcome (always true when the WMS is not notified).
        reported: bool,
    },
    /// Fusion took every line into its interface; at least one awaits processing
    /// (`accepted`). The WMS is not told yet and keeps its reservation.
    Accepted {
        /// Lines posted to Fusion.
        lines: u64,
        /// Lines found already landed by Source* lookup.
        found: u64,
        /// Milliseconds waiting on Fusion.
        fusion_ms: u64,
    },
    /// Not posted: the transaction itself, or an earlier one of the same item, is still
    /// unconfirmed in Fusion.
    WaitingOnFusion,
    /// A systemic failure (credentials, role) ended the attempt; the row is back in
    /// `pending_sync` and the run must stop.
    Systemic {
        /// What Fusion or the WMS said; never a secret.
        reason: String,
    },
    /// Not started: the run stopped for a systemic cause.
    Halted,
    /// The ledger already had it as `synced`.
    AlreadySynced {
        /// Whether the WMS took the re-reported outcome.
        reported: bool,
    },
    /// It failed this run.
    Failed {
        /// Why.
        failure: FailedTxn,
        /// Moved to manual review.
        escalated: bool,
        /// Lines posted to Fusion before the failure.
        lines: u64,
        /// Lines found already landed.
        found: u64,
        /// Milliseconds waiting on Fusion.
        fusion_ms: u64,
        /// Whether the WMS took the outcome.
        reported: bool,
    },
    /// The outbox entry could not be parsed.
    Malformed {
        /// Why.
        failure: FailedTxn,
        /// Whether the WMS took the failure report.
        reported: bool,
    },
    /// Left alone: claimed elsewhere, in review, or (`transient`) a store hiccup or held
    /// behind an earlier transaction of the same item that could not settle this run.
    Skipped {
        /// Left for a passing reason: later transactions of the same item wait.
        transient: bool,
    },
    /// Not started: time ran short.
    Deferred,
}

mod notify;
mod transaction;

pub(crate) use notify::{
    clear_systemic, malformed, open_task, publish_failure_alert, publish_systemic_alert, report_to_wms, synced_outcome,
};
pub(crate) use transaction::fail_row;
pub use transaction::sync_transaction;

/// Syncs one DC until its outbox is drained, `deadline - safety_margin` is reached, or a
/// systemic failure stops it ([`SyncReport::systemic`]).
pub async fn sync_dc<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    deadline: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    let started = ports.clock().now();
    let mut report = SyncReport {
        dc: dc.to_string(),
        run_id: run_id.to_string(),
        ..SyncReport::default()
    };
    if settings.dcs.as_ref().is_some_and(|dcs| !dcs.contains(dc)) {
        warn!(dc = %dc, run_id, "sync requested for a DC outside DC_LIST; refused");
        return Err(SyncError::NotConfigured(dc.clone()));
    }
    let lease_until = deadline + settings.safety_margin;
    if !ports.lease().acquire(dc, run_id, started, lease_until).await? {
        info!(dc = %dc, run_id, "another invocation holds the DC lease; nothing to do");
        report.lease_busy = true;
        return Ok(report);
    }
    let result = match crate::confirm::confirm_accepted(ports, settings, dc).await {
        Ok(confirmed) => {
            let waiting = confirmed.fold_into(&mut report, settings.alert_list_max);
            if report.systemic.is_some() {
                Ok(())
            } else {
                drain(ports, settings, dc, run_id, deadline, waiting, &mut report).await
            }
        }
        Err(e) => Err(e),
    };
    if let Err(e) = ports.lease().release(dc, run_id).await {
        warn!(dc = %dc, run_id, error = %e, "lease release failed; it expires on its own");
    }
    if let Err(e) = &result {
        if e.is_systemic() {
            publish_systemic_alert(ports, dc, run_id, &e.to_string()).await;
        }
    }
    result?;
    if let Some(cause) = &report.systemic {
        publish_systemic_alert(ports, dc, run_id, cause).await;
    } else {
        clear_systemic(ports, dc).await;
    }
    if report.systemic.is_none() && (report.failed > 0 || report.malformed > 0) {
        // Why: architecture.md: a transient failure is retried with backoff (the Fusion
        // client's attempts) and "then `sync_failed` plus an alert"; the SNS topic is for
        // sync failures. A retryable failure also leaves WMS stock reserved until a later run,
        // which an operator must hear about. The alert says which failures will retry.
        publish_failure_alert(ports, settings, dc, &report).await;
    }
    report.duration_ms = elapsed_ms(started, ports.clock().now());
    info!(
        dc = %dc, run_id, seen = report.seen, synced = report.synced, accepted = report.accepted,
        waiting_on_fusion = report.waiting_on_fusion, confirmed = report.confirmed, failed = report.failed,
        deferred = report.deferred, stopped_early = report.stopped_early, systemic = ?report.systemic,
        "sync run finished"
    );
    Ok(report)
}

/// Why an item's later transactions are not posted in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// An earlier transaction of the item is in Fusion's interface, not yet processed.
    Unconfirmed,
    /// An earlier transaction failed for a passing reason.
    Failed,
}

async fn drain<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    deadline: DateTime<Utc>,
    waiting: BTreeSet<ItemNumber>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let stop_at = deadline - settings.safety_margin;
    let mut cursor: Option<String> = None;
    // Items whose later transactions, on this page or a later one, wait for the next run.
    let mut held: BTreeMap<ItemNumber, Hold> = waiting.into_iter().map(|i| (i, Hold::Unconfirmed)).collect();
    let halt = AtomicBool::new(false);
    let outage_streak = AtomicUsize::new(0);
    loop {
        if ports.clock().now() >= stop_at {
            report.stopped_early = true;
            break;
        }
        let page = ports
            .wms()
            .outbox(dc, cursor.as_deref(), settings.page_size.max(1))
            .await?;
        let groups = group_by_item(page.items);
        let run = GroupRun {
            dc,
            run_id,
            stop_at,
            halt: &halt,
            outage_streak: &outage_streak,
            outage_after: settings.outage_after.max(1),
        };
        let results: Vec<(Option<ItemNumber>, Option<Hold>, Vec<TxnOutcome>)> = stream::iter(groups)
            .map(|group| {
                let item = group.first().and_then(|e| e.txn.as_ref().ok()).map(|t| t.item.clone());
                let held_back = item.as_ref().and_then(|i| held.get(i).copied());
                let run = &run;
                async move {
                    let (hold, outcomes) = process_group(ports, settings, run, held_back, group).await;
                    (item, hold, outcomes)
                }
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
        for (item, hold, outcomes) in results {
            if let (Some(item), Some(hold)) = (item, hold) {
                held.insert(item, hold);
            }
            for outcome in outcomes {
                match &outcome {
                    TxnOutcome::Systemic { reason } => {
                        report.systemic.get_or_insert_with(|| reason.clone());
                    }
                    TxnOutcome::Failed { failure, .. }
                        if failure.retryable && outage_streak.load(Ordering::SeqCst) >= run.outage_after =>
                    {
                        report.outage = Some(failure.reason.clone());
                    }
                    _ => {}
                }
                tally(report, outcome, settings.alert_list_max);
            }
        }
        if report.deferred > 0 {
            report.stopped_early = true;
        }
        match page.next_cursor {
            Some(next) if !report.stopped_early && !halt.load(Ordering::SeqCst) => cursor = Some(next),
            _ => break,
        }
    }
    if let Some(cause) = &report.systemic {
        warn!(dc = %dc, run_id, cause = %cause, halted = report.halted, "run stopped for a systemic failure; transactions stay pending");
    } else if let Some(cause) = &report.outage {
        warn!(dc = %dc, run_id, cause = %cause, halted = report.halted, "Fusion looks unavailable; run stopped, transactions stay pending");
    } else if report.stopped_early {
        warn!(dc = %dc, run_id, deferred = report.deferred, "time budget reached; remaining transactions wait for the next run");
    }
    Ok(())
}

/// What every item group of one outbox page shares.
struct GroupRun<'a> {
    dc: &'a DcCode,
    run_id: &'a str,
    stop_at: DateTime<Utc>,
    /// Set when a transaction met a systemic failure or Fusion looks unavailable: no group
    /// starts another transaction.
    halt: &'a AtomicBool,
    /// Transactions in a row that failed because Fusion is unavailable.
    outage_streak: &'a AtomicUsize,
    /// Streak that stops the run.
    outage_after: usize,
}

/// Groups outbox entries by item, keeping WMS order inside each group and the order of first
/// appearance between groups. Malformed entries each form their own group.
fn group_by_item(items: Vec<OutboxItem>) -> Vec<Vec<OutboxItem>> {
    let mut order: Vec<Vec<OutboxItem>> = Vec::new();
    let mut index: BTreeMap<ItemNumber, usize> = BTreeMap::new();
    for entry in items {
        let key = entry.txn.as_ref().ok().map(|t| t.item.clone());
        match key.and_then(|k| index.get(&k).copied().map(|i| (k, i))) {
            Some((_, i)) => order[i].push(entry),
            None => {
                if let Ok(t) = &entry.txn {
                    index.insert(t.item.clone(), order.len());
                }
                order.push(vec![entry]);
            }
        }
    }
    order
}

/// Processes one item's transactions in WMS order. Returns why the item's later
/// transactions must wait (if they must) and the outcomes.
async fn process_group<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    run: &GroupRun<'_>,
    held_back: Option<Hold>,
    group: Vec<OutboxItem>,
) -> (Option<Hold>, Vec<TxnOutcome>) {
    let mut out = Vec::with_capacity(group.len());
    let mut hold = held_back;
    for entry in group {
        if run.halt.load(Ordering::SeqCst) {
            out.push(TxnOutcome::Halted);
            continue;
        }
        if ports.clock().now() >= run.stop_at {
            out.push(TxnOutcome::Deferred);
            continue;
        }
        match hold {
            Some(Hold::Unconfirmed) => {
                out.push(TxnOutcome::WaitingOnFusion);
                continue;
            }
            Some(Hold::Failed) => {
                out.push(TxnOutcome::Skipped { transient: true });
                continue;
            }
            None => {}
        }
        let span = tracing::info_span!("txn", dc = %run.dc, run_id = run.run_id, txn_id = %entry.raw_id);
        let outcome = process_one(ports, settings, run.dc, entry).instrument(span).await;
        // Later transactions of the same item wait behind one Fusion has not processed yet
        // or one that failed for a passing reason, so Fusion never sees them out of WMS order.
        hold = match &outcome {
            TxnOutcome::Accepted { .. } | TxnOutcome::WaitingOnFusion => Some(Hold::Unconfirmed),
            TxnOutcome::Failed {
                failure,
                escalated: false,
                ..
            } if failure.retryable => Some(Hold::Failed),
            TxnOutcome::Skipped { transient: true } => Some(Hold::Failed),
            TxnOutcome::Systemic { .. } => {
                run.halt.store(true, Ordering::SeqCst);
                Some(Hold::Failed)
            }
            _ => None,
        };
        let streak = match &outcome {
            TxnOutcome::Failed { failure, .. } if failure.outage => {
                run.outage_streak.fetch_add(1, Ordering::SeqCst) + 1
            }
            TxnOutcome::Synced { .. } | TxnOutcome::Accepted { .. } | TxnOutcome::AlreadySynced { .. } => {
                run.outage_streak.store(0, Ordering::SeqCst);
                0
            }
            _ => 0,
        };
        if streak >= run.outage_after {
            run.halt.store(true, Ordering::SeqCst);
        }
        out.push(outcome);
    }
    (hold, out)
}

async fn process_one<P: SyncPorts>(ports: &P, settings: &SyncSettings, dc: &DcCode, entry: OutboxItem) -> TxnOutcome {
    match entry.txn {
        Ok(txn) => sync_transaction(ports, settings, txn, true).await,
        Err(e) => malformed(ports, dc, &entry.raw_id, &e.to_string()).await,
    }
}

/// Adds one transaction's outcome to a report.
pub fn tally(report: &mut SyncReport, outcome: TxnOutcome, list_max: usize) {
    if !matches!(
        outcome,
        TxnOutcome::Deferred | TxnOutcome::Halted | TxnOutcome::Systemic { .. }
    ) {
        report.seen += 1;
    }
    let push = |report: &mut SyncReport, f: FailedTxn| {
        if report.failures.len() < list_max {
            report.failures.push(f);
        }
    };
    match outcome {
        TxnOutcome::Synced {
            lines,
            found,
            fusion_ms,
            reported,
        } => {
            report.synced += 1;
            report.lines_posted += lines;
            report.lines_found_landed += found;
            report.fusion_ms += fusion_ms;
            report.wms_report_failures += u64::from(!reported);
        }
        TxnOutcome::Accepted {
            lines,
            found,
            fusion_ms,
        } => {
            report.accepted += 1;
            report.lines_posted += lines;
            report.lines_found_landed += found;
            report.fusion_ms += fusion_ms;
        }
        TxnOutcome::WaitingOnFusion => report.waiting_on_fusion += 1,
        TxnOutcome::Systemic { .. } | TxnOutcome::Halted => report.halted += 1,
        TxnOutcome::AlreadySynced { reported } => {
            report.already_synced += 1;
            report.wms_report_failures += u64::from(!reported);
        }
        TxnOutcome::Failed {
            failure,
            escalated,
            lines,
            found,
            fusion_ms,
            reported,
        } => {
            report.failed += 1;
            report.failed_retryable += u64::from(failure.retryable);
            report.escalated += u64::from(escalated);
            report.lines_posted += lines;
            report.lines_found_landed += found;
            report.fusion_ms += fusion_ms;
            report.wms_report_failures += u64::from(!reported);
            push(report, failure);
        }
        TxnOutcome::Malformed { failure, reported } => {
            report.malformed += 1;
            report.wms_report_failures += u64::from(!reported);
            push(report, failure);
        }
        TxnOutcome::Skipped { .. } => report.skipped += 1,
        TxnOutcome::Deferred => report.deferred += 1,
    }
}

fn elapsed_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}
