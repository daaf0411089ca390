//! Orphaned ledger rows: retried through the sync path or handed to a person.

use super::*;

/// What the reconciliation does with an unsettled ledger row it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanAction {
    /// Not an orphan (a pending WMS transaction, or in flight with a live lease): the sync
    /// handles it.
    Leave,
    /// Retry through the sync path: a retryable failure with attempts left, an `in_flight`
    /// claim whose lease lapsed longer than `stale_in_flight_after` ago, or a pending
    /// adjustment (released by a systemic failure).
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
        // Why: the hourly sync drains the WMS outbox, and an adjustment (the reconciliation's
        // or the console's) is not in it. One released back to pending by a systemic failure
        // (credentials refused, an outage) would wait for nobody, while every reconciliation
        // counted it in flight and so hid its key's variance.
        SyncState::PendingSync if is_adjustment(row.txn.id()) => OrphanAction::Retry,
        _ => OrphanAction::Leave,
    }
}

pub(super) async fn retry_orphans<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    rows: &[LedgerRow],
    report: &mut ReconcileReport,
) {
    let now = ctx.ports.clock().now();
    let mut by_item: BTreeMap<&ItemNumber, Vec<&LedgerRow>> = BTreeMap::new();
    for row in rows {
        match orphan_action(row, now, ctx.settings) {
            OrphanAction::Leave => {}
            OrphanAction::Retry => by_item.entry(row.txn.item()).or_default().push(row),
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
            g.sort_by(|a, b| (a.txn.occurred_at(), &a.txn.id()).cmp(&(b.txn.occurred_at(), &b.txn.id())));
            g
        })
        .collect();
    // Why by index: a closure taking `Vec<&LedgerRow>` is inferred over every lifetime, and
    // rustc then cannot prove the reconciliation's future `Send` (rust-lang/rust#102211), which
    // a caller that spawns it needs.
    let results: Vec<GroupRetry> = stream::iter(0..groups.len())
        .map(|i| retry_group(ctx, groups[i].clone()))
        .buffer_unordered(ctx.settings.sync.concurrency.max(1))
        .collect()
        .await;
    for r in results {
        report.orphans_retried += r.retried;
        report.orphans_recovered += r.recovered;
        report.illegal_transitions += r.illegal;
        report.stopped_early |= r.deferred;
    }
}

/// What retrying one item's orphans did.
#[derive(Debug, Default)]
pub(super) struct GroupRetry {
    retried: u64,
    recovered: u64,
    illegal: u64,
    deferred: bool,
}

pub(super) async fn retry_group<P: ReconcilePorts>(ctx: &Ctx<'_, P>, group: Vec<&LedgerRow>) -> GroupRetry {
    let mut out = GroupRetry::default();
    for row in group {
        if ctx.ports.clock().now() >= ctx.stop_at {
            out.deferred = true;
            return out;
        }
        let notify_wms = !is_adjustment(row.txn.id());
        out.retried += 1;
        match sync_transaction(ctx.ports, &ctx.settings.sync, row.txn.clone(), notify_wms).await {
            TxnOutcome::Synced { .. } | TxnOutcome::AlreadySynced { .. } => out.recovered += 1,
            TxnOutcome::IllegalTransition { .. } => out.illegal += 1,
            TxnOutcome::Failed { failure, escalated, .. } if failure.retryable && !escalated => break,
            TxnOutcome::Skipped { transient: true }
            | TxnOutcome::Accepted { .. }
            | TxnOutcome::WaitingOnFusion
            | TxnOutcome::Systemic { .. }
            | TxnOutcome::Halted => break,
            _ => {}
        }
    }
    out
}

pub(super) async fn orphan_task<P: ReconcilePorts>(ctx: &Ctx<'_, P>, row: &LedgerRow, report: &mut ReconcileReport) {
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
            warn!(dc = %ctx.dc, txn_id = %row.txn.id(), error = %e, "orphan review task could not be written");
            report.action_errors += 1;
        }
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
        dc: t.dc().clone(),
        key: TaskKey::txn(t.id()),
        kind: TaskKind::SyncFailure,
        summary: format!("{} did not sync", t.describe()),
        detail: format!(
            "item {}; ledger state {}; attempts {}; last failure: {reason}. Found by reconciliation.",
            t.item(),
            row.entry.state,
            row.entry.attempts
        ),
        figures: None,
    }
}
