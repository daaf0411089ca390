//! What a sync run reports: per-transaction outcomes and the run's figures.

use super::*;
use crate::ports::RunId;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// DC.
    pub dc: DcCode,
    /// Run id.
    pub run_id: RunId,
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
    /// Of `skipped`, those left alone because the ledger refused a transition (logged).
    pub illegal_transitions: u64,
    /// Fusion lines posted.
    pub lines_posted: u64,
    /// Fusion lines found already landed by Source* lookup (never re-posted).
    pub lines_found_landed: u64,
    /// Milliseconds spent waiting on Fusion posts and lookups.
    pub fusion_ms: u64,
    /// Outcome reports the WMS did not take (retried next run).
    pub wms_report_failures: u64,
    /// Outbox entries at or below the DC's go-live baseline watermark (or without a sequence
    /// while the DC has one): part of the baseline, never posted. Normally 0: the cut-over
    /// marks them `baselined` and tells the WMS; a count here means the cut-over missed some.
    pub behind_watermark: u64,
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

impl SyncReport {
    /// The report of a run that has done nothing yet.
    pub fn new(dc: DcCode, run_id: impl Into<RunId>) -> Self {
        Self {
            dc,
            run_id: run_id.into(),
            seen: 0,
            synced: 0,
            accepted: 0,
            waiting_on_fusion: 0,
            confirmed: 0,
            still_unprocessed: 0,
            unprocessed_overdue: 0,
            already_synced: 0,
            failed: 0,
            failed_retryable: 0,
            escalated: 0,
            malformed: 0,
            skipped: 0,
            deferred: 0,
            illegal_transitions: 0,
            lines_posted: 0,
            lines_found_landed: 0,
            fusion_ms: 0,
            wms_report_failures: 0,
            behind_watermark: 0,
            lease_busy: false,
            systemic: None,
            halted: 0,
            outage: None,
            stopped_early: false,
            duration_ms: 0,
            failures: Vec::new(),
        }
    }

    /// The report's counts by name, as a run report stores them.
    pub fn figures(&self) -> std::collections::BTreeMap<String, i64> {
        [
            ("seen", self.seen),
            ("synced", self.synced),
            ("accepted", self.accepted),
            ("waiting_on_fusion", self.waiting_on_fusion),
            ("confirmed", self.confirmed),
            ("still_unprocessed", self.still_unprocessed),
            ("unprocessed_overdue", self.unprocessed_overdue),
            ("halted", self.halted),
            ("already_synced", self.already_synced),
            ("failed", self.failed),
            ("failed_retryable", self.failed_retryable),
            ("escalated", self.escalated),
            ("malformed", self.malformed),
            ("skipped", self.skipped),
            ("illegal_transitions", self.illegal_transitions),
            ("deferred", self.deferred),
            ("lines_posted", self.lines_posted),
            ("lines_found_landed", self.lines_found_landed),
            ("fusion_ms", self.fusion_ms),
            ("wms_report_failures", self.wms_report_failures),
            ("behind_watermark", self.behind_watermark),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), i64::try_from(v).unwrap_or(i64::MAX)))
        .collect()
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
    /// Left alone because the ledger state machine refused a transition (the row moved
    /// under us, or a bug); logged, and counted in [`SyncReport::illegal_transitions`] as well
    /// as in `skipped`.
    IllegalTransition {
        /// The refusal, e.g. `illegal transition: fail from synced`.
        reason: String,
    },
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
        TxnOutcome::IllegalTransition { .. } => {
            report.skipped += 1;
            report.illegal_transitions += 1;
        }
        TxnOutcome::Deferred => report.deferred += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_ledger_transition_is_counted_as_skipped_and_as_illegal() {
        let mut report = SyncReport::new(DcCode::parse("DC01").unwrap(), "r1");
        tally(
            &mut report,
            TxnOutcome::IllegalTransition {
                reason: "illegal transition: fail from synced".into(),
            },
            10,
        );
        assert_eq!((report.seen, report.skipped, report.illegal_transitions), (1, 1, 1));
        assert_eq!(report.figures().get("illegal_transitions"), Some(&1));
    }
}
