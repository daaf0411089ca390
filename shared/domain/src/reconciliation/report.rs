//! The run's report: what a reconciliation found and did, its figures, and saving it.

use super::*;
use crate::ports::RunId;

/// What one reconciliation run of one DC found and did. In a dry run every action count is
/// zero and the tier counts say what would have been done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// DC.
    pub dc: DcCode,
    /// Run id (derived from the schedule slot by the caller).
    pub run_id: RunId,
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
    /// Adjustments, orphan retries and confirmations left alone because the ledger refused a
    /// transition (logged).
    pub illegal_transitions: u64,
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
    /// Set when the DC's go-live status made this run report-only (the DC is not live): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_only: Option<String>,
}

impl ReconcileReport {
    /// Adds what `part` did (its action counts and whether it stopped early) to this report;
    /// its findings are not added. Used to fold the reports of actions run side by side.
    pub fn add_actions(&mut self, part: &ReconcileReport) {
        // Every field named, so that a new one has to be placed here or there.
        let ReconcileReport {
            dc: _,
            run_id: _,
            dry_run: _,
            keys_compared: _,
            matched: _,
            unsettled_skipped: _,
            in_flight_txns: _,
            staged_rows_netted: _,
            staged_foreign_rows: _,
            confirmed: _,
            confirm_failed: _,
            still_unprocessed: _,
            unprocessed_overdue: _,
            auto_correct: _,
            review: _,
            alert: _,
            accuracy: _,
            variances: _,
            variances_truncated: _,
            duration_ms: _,
            report_only: _,
            report_saved: _,
            adjustments_posted,
            adjustments_already_posted,
            adjustments_failed,
            adjustments_awaiting_fusion,
            adjustments_skipped,
            adjustments_to_review,
            tasks_opened,
            tasks_updated,
            tasks_closed,
            incidents_opened,
            incidents_closed,
            alerts_published,
            alerts_failed,
            holds_placed,
            orphans_retried,
            orphans_recovered,
            orphans_to_review,
            malformed_outbox,
            action_errors,
            illegal_transitions,
            stopped_early,
        } = part;
        self.adjustments_posted += adjustments_posted;
        self.adjustments_already_posted += adjustments_already_posted;
        self.adjustments_failed += adjustments_failed;
        self.adjustments_awaiting_fusion += adjustments_awaiting_fusion;
        self.adjustments_skipped += adjustments_skipped;
        self.adjustments_to_review += adjustments_to_review;
        self.tasks_opened += tasks_opened;
        self.tasks_updated += tasks_updated;
        self.tasks_closed += tasks_closed;
        self.incidents_opened += incidents_opened;
        self.incidents_closed += incidents_closed;
        self.alerts_published += alerts_published;
        self.alerts_failed += alerts_failed;
        self.holds_placed += holds_placed;
        self.orphans_retried += orphans_retried;
        self.orphans_recovered += orphans_recovered;
        self.orphans_to_review += orphans_to_review;
        self.malformed_outbox += malformed_outbox;
        self.action_errors += action_errors;
        self.illegal_transitions += illegal_transitions;
        self.stopped_early |= stopped_early;
    }

    /// The report of a run that has found and done nothing yet.
    pub fn new(dc: DcCode, run_id: impl Into<RunId>, dry_run: bool) -> Self {
        Self {
            dc,
            run_id: run_id.into(),
            dry_run,
            keys_compared: 0,
            matched: 0,
            unsettled_skipped: 0,
            in_flight_txns: 0,
            staged_rows_netted: 0,
            staged_foreign_rows: 0,
            confirmed: 0,
            confirm_failed: 0,
            still_unprocessed: 0,
            unprocessed_overdue: 0,
            auto_correct: 0,
            review: 0,
            alert: 0,
            accuracy: Decimal::ZERO,
            adjustments_posted: 0,
            adjustments_already_posted: 0,
            adjustments_failed: 0,
            adjustments_awaiting_fusion: 0,
            adjustments_skipped: 0,
            adjustments_to_review: 0,
            tasks_opened: 0,
            tasks_updated: 0,
            tasks_closed: 0,
            incidents_opened: 0,
            incidents_closed: 0,
            alerts_published: 0,
            alerts_failed: 0,
            holds_placed: 0,
            orphans_retried: 0,
            orphans_recovered: 0,
            orphans_to_review: 0,
            malformed_outbox: 0,
            action_errors: 0,
            illegal_transitions: 0,
            stopped_early: false,
            report_saved: false,
            variances: Vec::new(),
            variances_truncated: false,
            duration_ms: 0,
            report_only: None,
        }
    }

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
            ("illegal_transitions", n(self.illegal_transitions)),
            ("stopped_early", i64::from(self.stopped_early)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

pub(super) fn summarize(
    dc: &DcCode,
    run_id: &str,
    dry_run: bool,
    c: &Comparison,
    settled: &Settled,
) -> ReconcileReport {
    let count = |tier| c.of_tier(tier).count() as u64;
    ReconcileReport {
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
        ..ReconcileReport::new(dc.clone(), run_id, dry_run)
    }
}

pub(super) async fn save_report<P: ReconcilePorts>(
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
        run_id: RunId::from(run_id),
        kind: RunKind::Reconcile,
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

#[cfg(test)]
mod add_actions_tests {
    use super::*;

    #[test]
    fn action_counts_add_up_and_findings_stay() {
        let dc = DcCode::parse("DC01").unwrap();
        let mut whole = ReconcileReport::new(dc.clone(), "run-1", false);
        whole.keys_compared = 10;
        whole.adjustments_to_review = 1;
        let mut adjusted = ReconcileReport::new(dc.clone(), "run-1", false);
        adjusted.adjustments_posted = 2;
        adjusted.keys_compared = 99;
        let mut raised = ReconcileReport::new(dc, "run-1", false);
        raised.incidents_opened = 1;
        raised.holds_placed = 1;
        raised.alerts_published = 1;
        raised.stopped_early = true;
        whole.add_actions(&adjusted);
        whole.add_actions(&raised);
        assert_eq!(whole.keys_compared, 10, "findings are the whole run's");
        assert_eq!(whole.adjustments_posted, 2);
        assert_eq!(whole.adjustments_to_review, 1);
        assert_eq!(
            (whole.incidents_opened, whole.holds_placed, whole.alerts_published),
            (1, 1, 1)
        );
        assert!(whole.stopped_early);
    }
}
