//! A DC sync's outcome as its persisted run report and its CloudWatch EMF metrics.

use chrono::{DateTime, Utc};
use domain::ports::RunReport;
use domain::sync::SyncReport;
use domain::DcCode;
use lambda_kit::metrics::{MetricSet, Unit};

/// The persisted run record of one DC sync.
pub fn sync_run_report(dc: &DcCode, report: &SyncReport, started_at: DateTime<Utc>) -> RunReport {
    let figures = report.figures();
    let mut notes: Vec<String> = report
        .failures
        .iter()
        .map(|f| format!("{}: {}", f.id, f.reason))
        .collect();
    if report.stopped_early {
        notes.push(format!(
            "stopped early at the time budget; {} transaction(s) wait for the next run",
            report.deferred
        ));
    }
    if report.waiting_on_fusion > 0 {
        notes.push(format!(
            "{} transaction(s) waited: an earlier transaction of the same item is not yet processed by Fusion",
            report.waiting_on_fusion
        ));
    }
    if let Some(cause) = &report.systemic {
        notes.push(format!(
            "stopped at once for a systemic failure ({cause}); {} transaction(s) stay pending and the message is retried",
            report.halted
        ));
    }
    if let Some(cause) = &report.outage {
        notes.push(format!(
            "stopped: Fusion looks unavailable ({cause}); {} transaction(s) stay pending",
            report.halted
        ));
    }
    if report.lease_busy {
        notes.push("another invocation held the DC lease; nothing done".into());
    }
    RunReport {
        dc: dc.clone(),
        run_id: report.run_id.clone(),
        kind: domain::ports::RunKind::Sync,
        started_at,
        duration_ms: report.duration_ms,
        figures,
        notes,
    }
}

/// EMF metrics of one DC sync: transactions synced, failed, retried, Fusion latency, duration.
pub fn sync_metrics(report: &SyncReport) -> MetricSet {
    let posted = report.lines_posted.max(1);
    MetricSet::new(&[("dc", report.dc.as_str()), ("function", "sync-inventory")])
        .count("TransactionsSynced", report.synced)
        .count("TransactionsAccepted", report.accepted)
        .count("TransactionsConfirmed", report.confirmed)
        .count("TransactionsUnprocessed", report.still_unprocessed)
        .count("TransactionsUnprocessedOverdue", report.unprocessed_overdue)
        .count("TransactionsWaitingOnFusion", report.waiting_on_fusion)
        .count("SystemicFailures", u64::from(report.systemic.is_some()))
        .count("TransactionsFailed", report.failed + report.malformed)
        .count("TransactionsRetryable", report.failed_retryable)
        .count("TransactionsEscalated", report.escalated)
        .count("TransactionsDeferred", report.deferred)
        .count("FusionLinesPosted", report.lines_posted)
        .metric(
            "FusionLatency",
            Unit::Milliseconds,
            report.fusion_ms as f64 / posted as f64,
        )
        .metric("SyncDuration", Unit::Milliseconds, report.duration_ms as f64)
        .property("run_id", report.run_id.as_str())
        .property("stopped_early", report.stopped_early)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_report_carries_counts_and_says_when_work_was_left() {
        let dc = DcCode::parse("DC01").unwrap();
        let r = SyncReport {
            seen: 10,
            synced: 7,
            failed: 1,
            deferred: 2,
            stopped_early: true,
            ..SyncReport::new(dc.clone(), "sync:DC01:x")
        };
        let rr = sync_run_report(&dc, &r, Utc::now());
        assert_eq!(rr.figures["synced"], 7);
        assert_eq!(rr.figures["deferred"], 2);
        assert!(rr
            .notes
            .iter()
            .any(|n| n.contains("2 transaction(s) wait for the next run")));
        let m = sync_metrics(&r).to_json();
        assert_eq!(m["TransactionsSynced"], 7.0);
        assert_eq!(m["dc"], "DC01");
    }
}
