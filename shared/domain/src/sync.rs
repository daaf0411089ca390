//! The hourly sync of one DC: drain the WMS outbox into Fusion with the two-phase commit.
//!
//! For every outbox transaction: record it in the ledger (`pending_sync`), claim it with a
//! conditional write (`in_flight`, leased), map its lots, post its lines to Fusion (looking
//! each line up by its Source* reference first whenever an earlier attempt may have landed),
//! then `synced` or `sync_failed` in the ledger, and finally tell the WMS, which releases its
//! reservation only on `synced`.
//!
//! Transactions of one item are applied in WMS order (a pick must not reach Fusion before the
//! receipt it depends on); different items run concurrently up to
//! [`SyncSettings::concurrency`]. When the time budget runs short the run stops taking new
//! work and says so; untouched transactions stay `pending_sync` for the next message.

use crate::error::Retryable;
use crate::ids::{DcCode, ItemNumber};
use crate::ledger::{Failure, LedgerEntry, LedgerEvent, SyncState};
use crate::ports::{
    Alert, AlertSink, Clock, DcLease, FusionError, FusionInventory, Landed, LedgerRow, LotMap, MappedLot, OutboxItem,
    ReviewTask, ReviewTasks, Severity, StoreError, SyncLedger, SyncOutcome, TaskKind, WarehouseSystem, WmsError,
};
use crate::txn::{LotQuantity, Tracking, TxnKind, WmsTransaction};
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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
}

impl Retryable for SyncError {
    fn is_retryable(&self) -> bool {
        match self {
            SyncError::Store(e) => e.is_retryable(),
            SyncError::Wms(e) => e.is_retryable(),
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

struct Attempt {
    lines: u64,
    found: u64,
    fusion_ms: u64,
}

/// Syncs one DC until its outbox is drained or `deadline - safety_margin` is reached.
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
    let lease_until = deadline + settings.safety_margin;
    if !ports.lease().acquire(dc, run_id, started, lease_until).await? {
        info!(dc = %dc, run_id, "another invocation holds the DC lease; nothing to do");
        report.lease_busy = true;
        return Ok(report);
    }
    let result = drain(ports, settings, dc, run_id, deadline, &mut report).await;
    if let Err(e) = ports.lease().release(dc, run_id).await {
        warn!(dc = %dc, run_id, error = %e, "lease release failed; it expires on its own");
    }
    result?;
    // Why: architecture.md: a transient failure is retried with backoff (the Fusion client's
    // attempts) and "then `sync_failed` plus an alert"; the SNS topic is for sync failures. A
    // retryable failure also leaves WMS stock reserved until a later run, which an operator
    // must hear about (e.g. a Fusion outage). The alert says which failures will retry.
    if report.failed > 0 || report.malformed > 0 {
        publish_failure_alert(ports, settings, dc, &report).await;
    }
    report.duration_ms = elapsed_ms(started, ports.clock().now());
    info!(
        dc = %dc, run_id, seen = report.seen, synced = report.synced, failed = report.failed,
        deferred = report.deferred, stopped_early = report.stopped_early, "sync run finished"
    );
    Ok(report)
}

async fn drain<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    deadline: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let stop_at = deadline - settings.safety_margin;
    let mut cursor: Option<String> = None;
    // Items with a transaction that could not settle for a passing reason: their later
    // transactions, on this page or a later one, wait for the next run.
    let mut held: BTreeSet<ItemNumber> = BTreeSet::new();
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
        let results: Vec<(Option<ItemNumber>, bool, Vec<TxnOutcome>)> = stream::iter(groups)
            .map(|group| {
                let item = group.first().and_then(|e| e.txn.as_ref().ok()).map(|t| t.item.clone());
                let held_back = item.as_ref().is_some_and(|i| held.contains(i));
                async move {
                    let (blocked, outcomes) =
                        process_group(ports, settings, dc, run_id, stop_at, held_back, group).await;
                    (item, blocked, outcomes)
                }
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
        for (item, blocked, outcomes) in results {
            if let (Some(item), true) = (item, blocked) {
                held.insert(item);
            }
            for outcome in outcomes {
                tally(report, outcome, settings.alert_list_max);
            }
        }
        if report.deferred > 0 {
            report.stopped_early = true;
        }
        match page.next_cursor {
            Some(next) if !report.stopped_early => cursor = Some(next),
            _ => break,
        }
    }
    if report.stopped_early {
        warn!(dc = %dc, run_id, deferred = report.deferred, "time budget reached; remaining transactions wait for the next run");
    }
    Ok(())
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

/// Processes one item's transactions in WMS order. Returns whether the item is blocked (a
/// transaction failed for a passing reason, so later ones must wait) and the outcomes.
async fn process_group<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    stop_at: DateTime<Utc>,
    held_back: bool,
    group: Vec<OutboxItem>,
) -> (bool, Vec<TxnOutcome>) {
    let mut out = Vec::with_capacity(group.len());
    let mut blocked = held_back;
    for entry in group {
        if ports.clock().now() >= stop_at {
            out.push(TxnOutcome::Deferred);
            continue;
        }
        if blocked {
            out.push(TxnOutcome::Skipped { transient: true });
            continue;
        }
        let span = tracing::info_span!("txn", dc = %dc, run_id, txn_id = %entry.raw_id);
        let outcome = process_one(ports, settings, dc, entry).instrument(span).await;
        // A transient failure of an earlier transaction of the same item holds the later ones
        // back, so Fusion never sees them out of WMS order.
        blocked = matches!(
            &outcome,
            TxnOutcome::Failed { failure, escalated: false, .. } if failure.retryable
        ) || matches!(outcome, TxnOutcome::Skipped { transient: true });
        out.push(outcome);
    }
    (blocked, out)
}

async fn process_one<P: SyncPorts>(ports: &P, settings: &SyncSettings, dc: &DcCode, entry: OutboxItem) -> TxnOutcome {
    match entry.txn {
        Ok(txn) => sync_transaction(ports, settings, txn, true).await,
        Err(e) => malformed(ports, dc, &entry.raw_id, &e.to_string()).await,
    }
}

/// Moves one transaction through the ledger and into Fusion: record, claim (conditional
/// write), map lots, post every line (looking lines up first when an earlier attempt may have
/// landed), then confirm or fail. With `notify_wms` the outcome is reported to the WMS (sync);
/// without it (reconciliation adjustments, which the WMS never saw) it is not.
pub async fn sync_transaction<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    txn: WmsTransaction,
    notify_wms: bool,
) -> TxnOutcome {
    let now = ports.clock().now();
    let row = match ports.ledger().record_seen(&txn, now).await {
        Ok(row) => row,
        Err(e) => {
            warn!(error = %e, "ledger unavailable; transaction left for the next run");
            return TxnOutcome::Skipped { transient: true };
        }
    };
    match row.entry.state {
        SyncState::Synced => {
            let reported = !notify_wms || report_to_wms(ports, &row.txn, &synced_outcome(&row.entry)).await;
            return TxnOutcome::AlreadySynced { reported };
        }
        SyncState::ManualReview => return TxnOutcome::Skipped { transient: false },
        _ => {}
    }
    if row.entry.is_abandoned(now, settings.max_attempts) {
        return escalate(
            ports,
            &row,
            "every claim died before a verdict (attempts exhausted); check Fusion for its Source* reference before re-posting",
        )
        .await;
    }
    if row.entry.state == SyncState::SyncFailed
        && row.entry.failure.as_ref().is_some_and(|f| f.retryable)
        && row.entry.attempts >= settings.max_attempts
    {
        return escalate(ports, &row, "attempts exhausted").await;
    }
    let lease_until = now + settings.txn_lease;
    let claimed = match row.entry.apply(LedgerEvent::Claim {
        now,
        lease_until,
        max_attempts: settings.max_attempts,
    }) {
        Ok(next) => next,
        Err(_) => return TxnOutcome::Skipped { transient: false },
    };
    match ports.ledger().transition(&row, &claimed, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return TxnOutcome::Skipped { transient: false },
        Err(e) => {
            warn!(error = %e, "claim failed; transaction left for the next run");
            return TxnOutcome::Skipped { transient: true };
        }
    }
    let claimed_row = LedgerRow {
        txn: row.txn.clone(),
        entry: claimed,
        updated_at: now,
    };
    let mut attempt = Attempt {
        lines: 0,
        found: 0,
        fusion_ms: 0,
    };
    let result = post_lines(ports, settings, &claimed_row, &mut attempt).await;
    finish(ports, settings, claimed_row, result, attempt, notify_wms).await
}

async fn post_lines<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    row: &LedgerRow,
    attempt: &mut Attempt,
) -> Result<Vec<String>, Failure> {
    let txn = &row.txn;
    let info = ports
        .fusion()
        .item_info(&txn.dc, &txn.item)
        .await
        .map_err(|e| fusion_failure(&e))?;
    txn.check_against(&info).map_err(|e| Failure {
        retryable: false,
        reason: e.to_string(),
    })?;
    let mapped = map_lots(ports, txn).await?;
    let posts = mapped.to_posts(settings.serial_limit).map_err(|e| Failure {
        retryable: false,
        reason: e.to_string(),
    })?;
    let must_look_up = row.entry.must_look_up_before_post();
    let mut refs = Vec::with_capacity(posts.len());
    for post in &posts {
        let clock = ports.clock();
        if must_look_up {
            let t0 = clock.now();
            let landed = ports.fusion().find(&txn.dc, &post.source).await;
            attempt.fusion_ms += elapsed_ms(t0, clock.now());
            match landed.map_err(|e| fusion_failure(&e))? {
                Landed::NotFound => {}
                Landed::Staged { error: Some(err), .. } => {
                    return Err(Failure {
                        retryable: false,
                        reason: format!("Fusion could not process line {}: {err}", post.source),
                    })
                }
                landed => {
                    attempt.found += 1;
                    refs.push(confirm_landed(
                        post.transfer_subinventory.is_some(),
                        &post.source,
                        landed,
                    )?);
                    continue;
                }
            }
        }
        let t0 = clock.now();
        let receipt = ports.fusion().post(post).await;
        attempt.fusion_ms += elapsed_ms(t0, clock.now());
        let receipt = receipt.map_err(|e| fusion_failure(&e))?;
        attempt.lines += 1;
        if post.transfer_subinventory.is_some() && receipt.processed {
            // Why: the brief requires both the debit and the credit of a subinventory transfer
            // to be confirmed in Fusion before the WMS releases its reservation.
            let t0 = clock.now();
            let landed = ports.fusion().find(&txn.dc, &post.source).await;
            attempt.fusion_ms += elapsed_ms(t0, clock.now());
            refs.push(confirm_landed(
                true,
                &post.source,
                landed.map_err(|e| fusion_failure(&e))?,
            )?);
        } else {
            refs.push(receipt.interface_id.to_string());
        }
    }
    Ok(refs)
}

fn confirm_landed(transfer: bool, source: &crate::txn::SourceRef, landed: Landed) -> Result<String, Failure> {
    match landed {
        Landed::Completed { transaction_ids, sides } => {
            if transfer && sides < 2 {
                return Err(Failure {
                    retryable: false,
                    reason: format!(
                        "Fusion shows {sides} side(s) of subinventory transfer {source}; both the debit and the credit must land"
                    ),
                });
            }
            Ok(transaction_ids.join("+"))
        }
        Landed::Staged { interface_id, .. } => Ok(format!("staged:{interface_id}")),
        Landed::NotFound => Err(Failure {
            retryable: true,
            reason: format!("Fusion accepted line {source} but cannot find it by its Source* reference"),
        }),
    }
}

/// Maps every WMS lot of the transaction to its Fusion lot through the lot map, filling the
/// map on first sight: an existing Fusion lot must carry the WMS expiration date; a missing lot
/// is created for receipts and refused for issues.
async fn map_lots<P: SyncPorts>(ports: &P, txn: &WmsTransaction) -> Result<WmsTransaction, Failure> {
    let Tracking::Lots(lots) = &txn.tracking else {
        return Ok(txn.clone());
    };
    let store_failure = |e: StoreError| Failure {
        retryable: e.is_retryable() || matches!(e, StoreError::Conflict(_)),
        reason: format!("lot map: {e}"),
    };
    let mut mapped = Vec::with_capacity(lots.len());
    for l in lots {
        let known = ports
            .lots()
            .get(&txn.dc, &txn.item, &l.lot)
            .await
            .map_err(store_failure)?;
        let fusion_lot = match known {
            Some(m) => m,
            None => {
                let m = first_sight(ports, txn, l).await?;
                ports
                    .lots()
                    .put_if_absent(&txn.dc, &txn.item, &l.lot, &m)
                    .await
                    .map_err(store_failure)?
            }
        };
        if let (Some(wms), Some(fusion)) = (l.expiration, fusion_lot.expiration) {
            if wms != fusion {
                return Err(Failure {
                    retryable: false,
                    reason: format!(
                        "lot {} of {} expires {wms} in the WMS but {fusion} in Fusion",
                        l.lot, txn.item
                    ),
                });
            }
        }
        mapped.push(LotQuantity {
            lot: fusion_lot.fusion_lot,
            quantity: l.quantity,
            expiration: l.expiration.or(fusion_lot.expiration),
        });
    }
    let mut out = txn.clone();
    out.tracking = Tracking::Lots(mapped);
    Ok(out)
}

async fn first_sight<P: SyncPorts>(ports: &P, txn: &WmsTransaction, l: &LotQuantity) -> Result<MappedLot, Failure> {
    let found = ports
        .fusion()
        .lot(&txn.dc, &txn.item, &l.lot)
        .await
        .map_err(|e| fusion_failure(&e))?;
    if let Some(lot) = found {
        return Ok(MappedLot {
            fusion_lot: lot.number,
            expiration: lot.expiration,
        });
    }
    let adds_stock = match &txn.kind {
        TxnKind::SubinventoryTransfer { .. } => false,
        _ => txn.quantity.is_sign_positive(),
    };
    if !adds_stock {
        return Err(Failure {
            retryable: false,
            reason: format!(
                "lot {} of {} is unknown in Fusion and this transaction takes stock from it",
                l.lot, txn.item
            ),
        });
    }
    ports
        .fusion()
        .create_lot(&txn.dc, &txn.item, &l.lot, l.expiration)
        .await
        .map_err(|e| fusion_failure(&e))?;
    Ok(MappedLot {
        fusion_lot: l.lot.clone(),
        expiration: l.expiration,
    })
}

async fn finish<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    row: LedgerRow,
    result: Result<Vec<String>, Failure>,
    attempt: Attempt,
    notify_wms: bool,
) -> TxnOutcome {
    let now = ports.clock().now();
    match result {
        Ok(refs) => {
            let next = match row.entry.apply(LedgerEvent::Confirm { fusion_refs: refs }) {
                Ok(next) => next,
                Err(_) => return TxnOutcome::Skipped { transient: false },
            };
            if let Err(e) = ports.ledger().transition(&row, &next, now).await {
                // Fusion has the lines; the row stays in_flight and the next run finds them by
                // Source* reference instead of posting again.
                warn!(error = %e, "ledger confirm failed after Fusion accepted; recovery will confirm it");
                return TxnOutcome::Skipped { transient: true };
            }
            let reported = !notify_wms || report_to_wms(ports, &row.txn, &synced_outcome(&next)).await;
            TxnOutcome::Synced {
                lines: attempt.lines,
                found: attempt.found,
                fusion_ms: attempt.fusion_ms,
                reported,
            }
        }
        Err(failure) => {
            let next = match row.entry.apply(LedgerEvent::Fail(failure.clone())) {
                Ok(next) => next,
                Err(_) => return TxnOutcome::Skipped { transient: false },
            };
            if let Err(e) = ports.ledger().transition(&row, &next, now).await {
                warn!(error = %e, "ledger failure write failed; the lease lapses and recovery retries");
                return TxnOutcome::Skipped { transient: true };
            }
            let failed_row = LedgerRow {
                txn: row.txn,
                entry: next,
                updated_at: now,
            };
            let exhausted = failure.retryable && failed_row.entry.attempts >= settings.max_attempts;
            let mut escalated = false;
            if !failure.retryable || exhausted {
                open_task(ports, &failed_row, &failure.reason).await;
            }
            if exhausted {
                escalated = matches!(
                    escalate(ports, &failed_row, "attempts exhausted").await,
                    TxnOutcome::Failed { .. }
                );
            }
            let reported = !notify_wms
                || report_to_wms(
                    ports,
                    &failed_row.txn,
                    &SyncOutcome::Failed {
                        error: failure.reason.clone(),
                    },
                )
                .await;
            warn!(retryable = failure.retryable, reason = %failure.reason, "transaction failed to sync");
            TxnOutcome::Failed {
                failure: FailedTxn {
                    id: failed_row.txn.id.to_string(),
                    reason: failure.reason,
                    retryable: failure.retryable && !exhausted,
                },
                escalated,
                lines: attempt.lines,
                found: attempt.found,
                fusion_ms: attempt.fusion_ms,
                reported,
            }
        }
    }
}

async fn escalate<P: SyncPorts>(ports: &P, row: &LedgerRow, why: &str) -> TxnOutcome {
    let reason = match &row.entry.failure {
        Some(f) => format!("{why}; last failure: {}", f.reason),
        None => why.to_string(),
    };
    let next = match row.entry.apply(LedgerEvent::Escalate { reason: reason.clone() }) {
        Ok(next) => next,
        Err(_) => return TxnOutcome::Skipped { transient: false },
    };
    match ports.ledger().transition(row, &next, ports.clock().now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return TxnOutcome::Skipped { transient: false },
        Err(_) => return TxnOutcome::Skipped { transient: true },
    }
    open_task(ports, row, &reason).await;
    TxnOutcome::Failed {
        failure: FailedTxn {
            id: row.txn.id.to_string(),
            reason,
            retryable: false,
        },
        escalated: true,
        lines: 0,
        found: 0,
        fusion_ms: 0,
        reported: true,
    }
}

async fn malformed<P: SyncPorts>(ports: &P, dc: &DcCode, raw_id: &str, reason: &str) -> TxnOutcome {
    let task = ReviewTask {
        dc: dc.clone(),
        key: format!("txn:{raw_id}"),
        kind: TaskKind::SyncFailure,
        summary: format!("WMS transaction {raw_id} at {dc} is malformed and cannot sync"),
        detail: reason.to_string(),
    };
    if let Err(e) = ports.tasks().open_or_update(&task, ports.clock().now()).await {
        warn!(error = %e, "could not open review task for malformed transaction");
    }
    let outcome = SyncOutcome::Failed {
        error: format!("malformed transaction: {reason}"),
    };
    let reported = match ports.wms().report(dc, raw_id, &outcome).await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, "WMS did not take the failure report");
            false
        }
    };
    warn!(reason, "malformed outbox entry recorded for review");
    TxnOutcome::Malformed {
        failure: FailedTxn {
            id: raw_id.to_string(),
            reason: reason.to_string(),
            retryable: false,
        },
        reported,
    }
}

async fn open_task<P: SyncPorts>(ports: &P, row: &LedgerRow, reason: &str) {
    let t = &row.txn;
    let task = ReviewTask {
        dc: t.dc.clone(),
        key: format!("txn:{}", t.id),
        kind: TaskKind::SyncFailure,
        summary: format!(
            "{} {} of {} {} at {}/{} did not sync",
            t.kind.name(),
            t.id,
            t.quantity,
            t.uom,
            t.dc,
            t.subinventory
        ),
        detail: format!("item {}; attempts {}; reason: {reason}", t.item, row.entry.attempts),
    };
    if let Err(e) = ports.tasks().open_or_update(&task, ports.clock().now()).await {
        warn!(error = %e, "could not open review task");
    }
}

async fn report_to_wms<P: SyncPorts>(ports: &P, txn: &WmsTransaction, outcome: &SyncOutcome) -> bool {
    match ports.wms().report(&txn.dc, txn.id.as_str(), outcome).await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, "WMS did not take the outcome; it is reported again next run");
            false
        }
    }
}

fn synced_outcome(entry: &LedgerEntry) -> SyncOutcome {
    SyncOutcome::Synced {
        fusion_reference: entry.fusion_refs.join(","),
    }
}

fn fusion_failure(e: &FusionError) -> Failure {
    Failure {
        retryable: e.is_retryable(),
        reason: e.to_string(),
    }
}

async fn publish_failure_alert<P: SyncPorts>(ports: &P, settings: &SyncSettings, dc: &DcCode, report: &SyncReport) {
    let total = report.failed + report.malformed;
    let subject = format!("invsync {dc}: {total} transaction(s) failed to sync");
    let mut body = format!(
        "invsync {dc}: {total} WMS transaction(s) failed to sync to Fusion in run {}; WMS reservations are kept.\n\n",
        report.run_id
    );
    for f in report.failures.iter().take(settings.alert_list_max) {
        let kind = if f.retryable { "will retry" } else { "needs review" };
        body.push_str(&format!("- {} ({kind}): {}\n", f.id, f.reason));
    }
    if report.failures.len() as u64 > settings.alert_list_max as u64 || total > report.failures.len() as u64 {
        body.push_str("- ... see the review tasks for the rest\n");
    }
    body.push_str(&format!(
        "\nRun figures: seen {}, synced {}, failed {}, malformed {}, escalated {}.\n",
        report.seen, report.synced, report.failed, report.malformed, report.escalated
    ));
    let alert = Alert {
        dc: dc.clone(),
        severity: Severity::Warning,
        subject,
        body,
    };
    if let Err(e) = ports.alerts().publish(&alert).await {
        warn!(dc = %dc, error = %e, "failure alert could not be published");
    }
}

/// Adds one transaction's outcome to a report.
pub fn tally(report: &mut SyncReport, outcome: TxnOutcome, list_max: usize) {
    if !matches!(outcome, TxnOutcome::Deferred) {
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
