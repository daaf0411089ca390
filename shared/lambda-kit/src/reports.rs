//! Turning run outcomes into persisted run reports, metrics and settings from the environment.

use crate::config::{self, ConfigError, Lookup};
use crate::metrics::{MetricSet, Unit};
use chrono::{DateTime, Duration, Utc};
use domain::ports::RunReport;
use domain::sync::{SyncReport, SyncSettings};
use domain::DcCode;
use std::collections::BTreeMap;

/// [`SyncSettings`] from `SYNC_MAX_ATTEMPTS` (3), `SERIAL_LIMIT` (50), `SYNC_CONCURRENCY` (8),
/// `SYNC_PAGE_SIZE` (200), `SYNC_TXN_LEASE_SECS` (300), `SYNC_SAFETY_MARGIN_SECS` (60) and
/// `SYNC_UNPROCESSED_REVIEW_MINUTES` (120: a transaction Fusion has not processed after this
/// long gets a review task) and `SYNC_OUTAGE_AFTER` (3: transactions failing in a row because
/// Fusion is unavailable before the run stops).
pub fn sync_settings_from_env() -> Result<SyncSettings, ConfigError> {
    sync_settings_from_lookup(&config::process_env)
}

/// [`sync_settings_from_env`] over any variable source (the local driver passes the
/// environment it gives the functions).
pub fn sync_settings_from_lookup(get: Lookup<'_>) -> Result<SyncSettings, ConfigError> {
    let d = SyncSettings::default();
    Ok(SyncSettings {
        max_attempts: config::parsed_or_in(get, "SYNC_MAX_ATTEMPTS", d.max_attempts)?,
        serial_limit: config::parsed_or_in(get, "SERIAL_LIMIT", d.serial_limit)?,
        concurrency: config::parsed_or_in(get, "SYNC_CONCURRENCY", d.concurrency)?,
        page_size: config::parsed_or_in(get, "SYNC_PAGE_SIZE", d.page_size)?,
        txn_lease: Duration::seconds(config::parsed_or_in(
            get,
            "SYNC_TXN_LEASE_SECS",
            d.txn_lease.num_seconds(),
        )?),
        safety_margin: Duration::seconds(config::parsed_or_in(
            get,
            "SYNC_SAFETY_MARGIN_SECS",
            d.safety_margin.num_seconds(),
        )?),
        alert_list_max: d.alert_list_max,
        outage_after: config::parsed_or_in(get, "SYNC_OUTAGE_AFTER", d.outage_after)?,
        dcs: match get("DC_LIST") {
            Some(text) => Some(config::parse_dc_list("DC_LIST", &text)?.into_iter().collect()),
            None => None,
        },
        unprocessed_review_after: Duration::minutes(config::parsed_or_in(
            get,
            "SYNC_UNPROCESSED_REVIEW_MINUTES",
            d.unprocessed_review_after.num_minutes(),
        )?),
    })
}

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

/// [`ReconcileSettings`](domain::reconciliation::ReconcileSettings) from the environment:
/// `VARIANCE_AUTO_CORRECT_BELOW` (5), `VARIANCE_ALERT_ABOVE` (50), `VARIANCE_THRESHOLDS_PER_DC`
/// (`DC03=2:20,DC07=1:10`: per-DC `auto_correct_below:alert_above` overrides),
/// `RECONCILE_ORPHAN_RETRY_CAP` (3), `RECONCILE_STALE_IN_FLIGHT_SECS` (900), plus the sync
/// settings used for adjustments and orphan retries.
pub fn reconcile_settings_from_env() -> Result<domain::reconciliation::ReconcileSettings, ConfigError> {
    reconcile_settings_from_lookup(&config::process_env)
}

/// [`reconcile_settings_from_env`] over any variable source.
pub fn reconcile_settings_from_lookup(
    get: Lookup<'_>,
) -> Result<domain::reconciliation::ReconcileSettings, ConfigError> {
    use domain::reconciliation::ReconcileSettings;
    use domain::Thresholds;
    use rust_decimal::Decimal;
    let d = ReconcileSettings::default();
    let invalid = |name: &str, reason: String| ConfigError::Invalid {
        name: name.to_string(),
        reason,
    };
    let thresholds = Thresholds::new(
        config::parsed_or_in::<Decimal>(get, "VARIANCE_AUTO_CORRECT_BELOW", d.thresholds.auto_correct_below)?,
        config::parsed_or_in::<Decimal>(get, "VARIANCE_ALERT_ABOVE", d.thresholds.alert_above)?,
    )
    .map_err(|e| invalid("VARIANCE_ALERT_ABOVE", e.to_string()))?;
    let per_dc = parse_per_dc(&get("VARIANCE_THRESHOLDS_PER_DC").unwrap_or_default())
        .map_err(|reason| invalid("VARIANCE_THRESHOLDS_PER_DC", reason))?;
    Ok(ReconcileSettings {
        thresholds,
        per_dc,
        orphan_retry_cap: config::parsed_or_in(get, "RECONCILE_ORPHAN_RETRY_CAP", d.orphan_retry_cap)?,
        stale_in_flight_after: Duration::seconds(config::parsed_or_in(
            get,
            "RECONCILE_STALE_IN_FLIGHT_SECS",
            d.stale_in_flight_after.num_seconds(),
        )?),
        sync: sync_settings_from_lookup(get)?,
        ..d
    })
}

/// Parses `DC03=2:20,DC07=1:10` into per-DC thresholds.
pub fn parse_per_dc(text: &str) -> Result<BTreeMap<DcCode, domain::Thresholds>, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (dc, range) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not DC=low:high"))?;
        let (low, high) = range
            .split_once(':')
            .ok_or_else(|| format!("{part:?} is not DC=low:high"))?;
        let dc = DcCode::parse(dc.trim()).map_err(|e| e.to_string())?;
        let parse = |s: &str| domain::quantity::parse_decimal(s, "variance threshold").map_err(|e| e.to_string());
        let t = domain::Thresholds::new(parse(low)?, parse(high)?).map_err(|e| e.to_string())?;
        out.insert(dc, t);
    }
    Ok(out)
}

/// EMF metrics of one DC reconciliation: keys compared, variances per tier, accuracy, actions.
pub fn reconcile_metrics(r: &domain::reconciliation::ReconcileReport) -> MetricSet {
    let accuracy: f64 = r.accuracy.to_string().parse().unwrap_or(0.0);
    MetricSet::new(&[("dc", r.dc.as_str()), ("function", "reconcile-stock")])
        .count("KeysCompared", r.keys_compared)
        .count("KeysMatched", r.matched)
        .count("VarianceAutoCorrect", r.auto_correct)
        .count("VarianceReview", r.review)
        .count("VarianceAlert", r.alert)
        .metric("Accuracy", Unit::Percent, accuracy * 100.0)
        .count("AdjustmentsPosted", r.adjustments_posted)
        .count("ReviewTasksOpened", r.tasks_opened)
        .count("AlertsPublished", r.alerts_published)
        .count("HoldsPlaced", r.holds_placed)
        .metric("ReconcileDuration", Unit::Milliseconds, r.duration_ms as f64)
        .property("run_id", r.run_id.clone())
        .property("dry_run", r.dry_run)
}

#[cfg(test)]
mod per_dc_tests {
    use super::*;

    #[test]
    fn per_dc_overrides_parse_and_refuse_clearly() {
        let m = parse_per_dc("DC03=2:20, DC07=1:10").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[&DcCode::parse("DC03").unwrap()].alert_above,
            rust_decimal::Decimal::from(20)
        );
        assert!(parse_per_dc("DC03=20:2").unwrap_err().contains("below"));
        assert!(parse_per_dc("DC03").is_err());
        assert!(parse_per_dc("").unwrap().is_empty());
    }

    #[test]
    fn settings_read_any_variable_source() {
        let vars: BTreeMap<&str, &str> = [
            ("SYNC_CONCURRENCY", "3"),
            ("RECONCILE_ORPHAN_RETRY_CAP", "7"),
            ("VARIANCE_THRESHOLDS_PER_DC", "DC03=2:20"),
        ]
        .into();
        let get = |k: &str| vars.get(k).map(|v| v.to_string());
        let sync = sync_settings_from_lookup(&get).unwrap();
        assert_eq!(sync.concurrency, 3);
        assert_eq!(sync.max_attempts, SyncSettings::default().max_attempts);
        let reconcile = reconcile_settings_from_lookup(&get).unwrap();
        assert_eq!(reconcile.orphan_retry_cap, 7);
        assert_eq!(reconcile.sync.concurrency, 3);
        assert_eq!(reconcile.per_dc.len(), 1);
        let bad = |k: &str| (k == "SYNC_PAGE_SIZE").then(|| "many".to_string());
        let e = sync_settings_from_lookup(&bad).unwrap_err().to_string();
        assert!(e.contains("SYNC_PAGE_SIZE"), "{e}");
    }
}
