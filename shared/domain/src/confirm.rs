//! Confirmation of `accepted` transactions: Fusion took their lines into its interface
//! (Background or Concurrent mode, or an Online post answered 408) and has not processed them
//! yet. "Synced" means Fusion processed it (architecture.md), so each such line is checked:
//!
//! - still in the organization's interface and pending: it keeps waiting, its item stays held
//!   (per-item order), and after [`SyncSettings::unprocessed_review_after`] a review task says
//!   "Fusion has not processed this transaction";
//! - in the interface with a processing error (ProcessFlag 3): `sync_failed` with Fusion's own
//!   text, a review task and an alert, exactly like a refusal at POST;
//! - gone from the interface: looked up by its Source* reference among completed transactions
//!   (both sides for a transfer); found, the line is processed; not found, the row failed
//!   (retryable) so the next sync looks it up once more and posts it again.
//!
//! When every line is processed the row becomes `synced` and, for WMS transactions (not
//! reconciliation adjustments), the WMS is told, which releases its reservation.
//!
//! The sync runs this at the start of every run of a DC, and the reconciliation before it
//! reads anything.

use crate::ids::{DcCode, ItemNumber};
use crate::ledger::{Failure, FusionRef, LedgerEvent, SyncState};
use crate::ports::Clock;
use crate::ports::TaskKey;
use crate::ports::{FusionInventory, Landed, LedgerRow, ReviewTask, ReviewTasks, StagedStatus, SyncLedger, TaskKind};
use crate::reconciliation::is_adjustment;
use crate::sync::{
    fail_row, illegal_transition, report_to_wms, synced_outcome, tally, FailedTxn, SyncError, SyncPorts, SyncReport,
    SyncSettings, TxnOutcome,
};
use crate::txn::{SourceRef, TxnKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

/// What one confirmation pass over a DC's `accepted` rows found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfirmReport {
    /// `accepted` rows looked at.
    pub checked: u64,
    /// Rows Fusion had processed: now `synced`.
    pub confirmed: u64,
    /// Rows whose processing failed in Fusion (or whose staged row vanished): now
    /// `sync_failed`.
    pub failed: u64,
    /// Rows still waiting for Fusion's processing.
    pub still_unprocessed: u64,
    /// Of `still_unprocessed`, rows older than the review age (a review task is open).
    pub overdue: u64,
    /// The failures (capped by the caller's list size when folded into a run report).
    pub failures: Vec<FailedTxn>,
    /// Outcomes the WMS did not take (re-reported by a later run from the outbox).
    pub wms_report_failures: u64,
    /// Rows left alone because the ledger refused a transition (logged).
    pub illegal_transitions: u64,
    /// Items with a row still unconfirmed: their later transactions must wait.
    #[serde(skip)]
    pub waiting_items: BTreeSet<ItemNumber>,
    /// A systemic failure (credentials, role) stopped the pass.
    pub systemic: Option<String>,
    /// Fusion's interface could not be read; nothing was confirmed and every `accepted` row's
    /// item waits.
    pub unreadable: Option<String>,
}

impl ConfirmReport {
    /// Adds the pass's figures to a sync run's report and returns the items that must wait.
    pub fn fold_into(self, report: &mut SyncReport, list_max: usize) -> BTreeSet<ItemNumber> {
        report.confirmed += self.confirmed;
        report.still_unprocessed += self.still_unprocessed;
        report.unprocessed_overdue += self.overdue;
        report.failed += self.failed;
        report.failed_retryable += self.failures.iter().filter(|f| f.retryable).count() as u64;
        report.wms_report_failures += self.wms_report_failures;
        report.illegal_transitions += self.illegal_transitions;
        for f in self.failures {
            if report.failures.len() < list_max {
                report.failures.push(f);
            }
        }
        if let Some(cause) = self.systemic {
            report.systemic.get_or_insert(cause);
        }
        self.waiting_items
    }
}

/// The verdict on one line of an `accepted` row.
enum Line {
    /// Processed; the reference to keep.
    Done(FusionRef),
    /// Still pending in Fusion's interface, or its state could not be read this time.
    Waiting,
    /// Processing failed, or the staged row vanished without a completed transaction.
    Failed(Failure),
    /// Credentials or role refused.
    Systemic(String),
}

/// Checks every `accepted` row of `dc` against Fusion (see the module docs). Errors only when
/// the ledger cannot be read; Fusion trouble leaves rows waiting.
pub async fn confirm_accepted<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
) -> Result<ConfirmReport, SyncError> {
    let rows = ports.ledger().in_state(dc, SyncState::Accepted).await?;
    let mut report = ConfirmReport::default();
    if rows.is_empty() {
        return Ok(report);
    }
    let staged: BTreeMap<i64, StagedStatus> = match ports.fusion().staged(dc).await {
        Ok(lines) => lines.into_iter().map(|l| (l.interface_id, l.status)).collect(),
        Err(e) => {
            warn!(dc = %dc, error = %e, rows = rows.len(), "Fusion's interface unreadable; accepted transactions keep waiting");
            if e.is_systemic() {
                report.systemic = Some(e.to_string());
            } else {
                report.unreadable = Some(e.to_string());
            }
            report.checked = rows.len() as u64;
            report.still_unprocessed = rows.len() as u64;
            report.waiting_items = rows.into_iter().map(|r| r.txn.item().clone()).collect();
            return Ok(report);
        }
    };
    for row in rows {
        report.checked += 1;
        if report.systemic.is_some() {
            report.still_unprocessed += 1;
            report.waiting_items.insert(row.txn.item().clone());
            continue;
        }
        settle_row(ports, settings, row, &staged, &mut report).await;
    }
    info!(
        dc = %dc, checked = report.checked, confirmed = report.confirmed, failed = report.failed,
        waiting = report.still_unprocessed, overdue = report.overdue, "accepted transactions checked"
    );
    Ok(report)
}

async fn settle_row<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    row: LedgerRow,
    staged: &BTreeMap<i64, StagedStatus>,
    report: &mut ConfirmReport,
) {
    let lines = u32::try_from(row.entry.fusion_refs.len()).unwrap_or(u32::MAX);
    let mut refs = Vec::with_capacity(row.entry.fusion_refs.len());
    let mut waiting = false;
    let mut failure: Option<Failure> = None;
    for (i, fusion_ref) in row.entry.fusion_refs.iter().enumerate() {
        let source = SourceRef {
            txn: row.txn.id().clone(),
            line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            lines,
        };
        match line_state(ports, &row, fusion_ref, &source, staged).await {
            Line::Done(r) => refs.push(r),
            Line::Waiting => {
                waiting = true;
                refs.push(fusion_ref.clone());
            }
            Line::Failed(f) => {
                failure.get_or_insert(f);
            }
            Line::Systemic(cause) => {
                report.systemic = Some(cause);
                waiting = true;
            }
        }
    }
    let notify_wms = !is_adjustment(row.txn.id());
    if let (Some(f), None) = (failure, &report.systemic) {
        let dc = row.txn.dc().clone();
        let outcome = fail_row(ports, settings, row, f, &Default::default(), notify_wms).await;
        record_failure(report, &dc, outcome);
        return;
    }
    if waiting {
        wait(ports, settings, &row, report).await;
        return;
    }
    let next = match row.entry.apply(LedgerEvent::Confirm { fusion_refs: refs }) {
        Ok(next) => next,
        Err(e) => {
            record_failure(report, row.txn.dc(), illegal_transition(&row, &e));
            return;
        }
    };
    if let Err(e) = ports.ledger().transition(&row, &next, ports.clock().now()).await {
        warn!(txn_id = %row.txn.id(), error = %e, "confirmation not written; the next pass confirms it");
        report.still_unprocessed += 1;
        report.waiting_items.insert(row.txn.item().clone());
        return;
    }
    report.confirmed += 1;
    info!(txn_id = %row.txn.id(), refs = ?next.fusion_refs, "Fusion processed the transaction; synced");
    if notify_wms && !report_to_wms(ports, &row.txn, &synced_outcome(&next)).await {
        report.wms_report_failures += 1;
    }
}

/// Counts one settled row's outcome (`dc` is the row's).
fn record_failure(report: &mut ConfirmReport, dc: &DcCode, outcome: TxnOutcome) {
    let mut figures = SyncReport::new(dc.clone(), "");
    tally(&mut figures, outcome, usize::MAX);
    report.failed += figures.failed;
    report.wms_report_failures += figures.wms_report_failures;
    report.illegal_transitions += figures.illegal_transitions;
    report.failures.extend(figures.failures);
}

/// Keeps a row waiting: holds its item, and past the review age opens (or refreshes) its
/// review task.
async fn wait<P: SyncPorts>(ports: &P, settings: &SyncSettings, row: &LedgerRow, report: &mut ConfirmReport) {
    report.still_unprocessed += 1;
    report.waiting_items.insert(row.txn.item().clone());
    let now = ports.clock().now();
    if now - row.updated_at < settings.unprocessed_review_after {
        return;
    }
    report.overdue += 1;
    let t = &row.txn;
    let hours = (now - row.updated_at).num_minutes() as f64 / 60.0;
    let task = ReviewTask {
        dc: t.dc().clone(),
        key: TaskKey::txn(t.id()),
        kind: TaskKind::SyncFailure,
        summary: format!("Fusion has not processed this transaction: {}", t.describe()),
        detail: format!(
            "item {}; accepted into Fusion's interface {hours:.1} h ago (staged rows {}); later transactions of the item wait. Check Manage Pending Transactions in Fusion and that the Manage Inventory Transactions job runs.",
            t.item(),
            row.entry
                .fusion_refs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        figures: None,
    };
    if let Err(e) = ports.tasks().open_or_update(&task, now).await {
        warn!(txn_id = %t.id(), error = %e, "could not open the unprocessed-transaction task");
    }
}

async fn line_state<P: SyncPorts>(
    ports: &P,
    row: &LedgerRow,
    fusion_ref: &FusionRef,
    source: &SourceRef,
    staged: &BTreeMap<i64, StagedStatus>,
) -> Line {
    let Some(interface_id) = fusion_ref.staged_interface_id() else {
        return Line::Done(fusion_ref.clone());
    };
    match staged.get(&interface_id) {
        Some(StagedStatus::Pending) => return Line::Waiting,
        Some(StagedStatus::Failed { error }) => return Line::Failed(processing_failed(source, error)),
        None => {}
    }
    // Gone from the interface: processed (or deleted). Completed transactions say which.
    let transfer = matches!(row.txn.kind(), TxnKind::SubinventoryTransfer { .. });
    match ports.fusion().find(row.txn.dc(), source).await {
        Ok(Landed::Completed { transaction_ids, sides }) => {
            if transfer && sides < 2 {
                return Line::Failed(Failure {
                    retryable: false,
                    reason: format!(
                        "Fusion shows {sides} side(s) of subinventory transfer {source}; both the debit and the credit must land"
                    ),
                    systemic: false,
                });
            }
            Line::Done(FusionRef::Processed(transaction_ids))
        }
        Ok(Landed::Staged { error: None, .. }) => Line::Waiting,
        Ok(Landed::Staged { error: Some(e), .. }) => Line::Failed(processing_failed(source, &e)),
        Ok(Landed::NotFound) => Line::Failed(Failure {
            retryable: true,
            reason: format!(
                "Fusion no longer holds staged row {interface_id} of {source} and shows no completed transaction for it (deleted or purged in Fusion?); it will be looked up again and re-posted"
            ),
            systemic: false,
        }),
        Err(e) if e.is_systemic() => Line::Systemic(e.to_string()),
        Err(e) => {
            warn!(%source, error = %e, "completed-transaction lookup failed; the line keeps waiting");
            Line::Waiting
        }
    }
}

fn processing_failed(source: &SourceRef, error: &str) -> Failure {
    Failure {
        retryable: false,
        reason: format!("Fusion could not process line {source}: {error}"),
        systemic: false,
    }
}
