//! Turning run outcomes into persisted run reports, metrics and settings from the environment.

use crate::config::{self, ConfigError};
use crate::metrics::{MetricSet, Unit};
use chrono::{DateTime, Duration, Utc};
use domain::ports::RunReport;
use domain::sync::{SyncReport, SyncSettings};
use domain::DcCode;
use std::collections::BTreeMap;

/// [`SyncSettings`] from `SYNC_MAX_ATTEMPTS` (3), `SERIAL_LIMIT` (50), `SYNC_CONCURRENCY` (8),
/// `SYNC_PAGE_SIZE` (200), `SYNC_TXN_LEASE_SECS` (300) and `SYNC_SAFETY_MARGIN_SECS` (60).
pub fn sync_settings_from_env() -> Result<SyncSettings, ConfigError> {
    let d = SyncSettings::default();
    Ok(SyncSettings {
        max_attempts: config::parsed_or("SYNC_MAX_ATTEMPTS", d.max_attempts)?,
        serial_limit: config::parsed_or("SERIAL_LIMIT", d.serial_limit)?,
        concurrency: config::parsed_or("SYNC_CONCURRENCY", d.concurrency)?,
        page_size: config::parsed_or("SYNC_PAGE_SIZE", d.page_size)?,
        txn_lease: Duration::seconds(config::parsed_or("SYNC_TXN_LEASE_SECS", d.txn_lease.num_seconds())?),
        safety_margin: Duration::seconds(config::parsed_or(
            "SYNC_SAFETY_MARGIN_SECS",
            d.safety_margin.num_seconds(),
        )?),
        alert_list_max: d.alert_list_max,
    })
}

/// The persisted run record of one DC sync.
pub fn sync_run_report(dc: &DcCode, report: &SyncReport, started_at: DateTime<Utc>) -> RunReport {
    let figures: BTreeMap<String, i64> = [
        ("seen", report.seen),
        ("synced", report.synced),
        ("already_synced", report.already_synced),
        ("failed", report.failed),
        ("failed_retryable", report.failed_retryable),
        ("escalated", report.escalated),
        ("malformed", report.malformed),
        ("skipped", report.skipped),
        ("deferred", report.deferred),
        ("lines_posted", report.lines_posted),
        ("lines_found_landed", report.lines_found_landed),
        ("fusion_ms", report.fusion_ms),
        ("wms_report_failures", report.wms_report_failures),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), i64::try_from(v).unwrap_or(i64::MAX)))
    .collect();
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
    if report.lease_busy {
        notes.push("another invocation held the DC lease; nothing done".into());
    }
    RunReport {
        dc: dc.clone(),
        run_id: report.run_id.clone(),
        kind: "sync".into(),
        started_at,
        duration_ms: report.duration_ms,
        figures,
        notes,
    }
}

/// EMF metrics of one DC sync: transactions synced, failed, retried, Fusion latency, duration.
pub fn sync_metrics(report: &SyncReport) -> MetricSet {
    let posted = report.lines_posted.max(1);
    MetricSet::new(&[("dc", &report.dc), ("function", "sync-inventory")])
        .count("TransactionsSynced", report.synced)
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
        .property("run_id", report.run_id.clone())
        .property("stopped_early", report.stopped_early)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_report_carries_counts_and_says_when_work_was_left() {
        let dc = DcCode::parse("DC01").unwrap();
        let r = SyncReport {
            dc: "DC01".into(),
            run_id: "sync:DC01:x".into(),
            seen: 10,
            synced: 7,
            failed: 1,
            deferred: 2,
            stopped_early: true,
            ..SyncReport::default()
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
