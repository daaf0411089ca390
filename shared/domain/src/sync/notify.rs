//! What a sync tells people and the WMS: review tasks, outcome reports, failure alerts.

use super::*;
use crate::ledger::FusionRef;
use crate::ports::{SystemicCause, TaskKey};

pub(crate) async fn malformed<P: SyncPorts>(ports: &P, dc: &DcCode, raw_id: &str, reason: &str) -> TxnOutcome {
    let task = ReviewTask {
        dc: dc.clone(),
        key: TaskKey::txn(raw_id),
        kind: TaskKind::SyncFailure,
        summary: format!("WMS transaction {raw_id} at {dc} is malformed and cannot sync"),
        detail: reason.to_string(),
        figures: None,
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
            outage: false,
        },
        reported,
    }
}

pub(crate) async fn open_task<P: SyncPorts>(ports: &P, row: &LedgerRow, reason: &str) {
    let t = &row.txn;
    let task = ReviewTask {
        dc: t.dc().clone(),
        key: TaskKey::txn(t.id()),
        kind: TaskKind::SyncFailure,
        summary: format!("{} did not sync", t.describe()),
        detail: format!("item {}; attempts {}; reason: {reason}", t.item(), row.entry.attempts),
        figures: None,
    };
    if let Err(e) = ports.tasks().open_or_update(&task, ports.clock().now()).await {
        warn!(error = %e, "could not open review task");
    }
}

pub(crate) async fn report_to_wms<P: SyncPorts>(ports: &P, txn: &WmsTransaction, outcome: &SyncOutcome) -> bool {
    match ports.wms().report(txn.dc(), txn.id().as_str(), outcome).await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, "WMS did not take the outcome; it is reported again next run");
            false
        }
    }
}

pub(crate) fn synced_outcome(entry: &LedgerEntry) -> SyncOutcome {
    SyncOutcome::Synced {
        fusion_reference: FusionRef::wms_reference(&entry.fusion_refs),
    }
}

pub(crate) async fn publish_failure_alert<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    report: &SyncReport,
) {
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
    if let Some(cause) = &report.outage {
        body.push_str(&format!(
            "\nFusion looks unavailable ({cause}); the run stopped and {} transaction(s) stay pending for the next run.\n",
            report.halted
        ));
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
        elastic: None,
    };
    if let Err(e) = ports.alerts().publish(&alert).await {
        warn!(dc = %dc, error = %e, "failure alert could not be published");
    }
}

/// The review-task key that records an open systemic incident of a DC (one per cause).
fn systemic_key(cause: &str) -> TaskKey {
    TaskKey::Systemic(if cause.contains("WMS") {
        SystemicCause::Wms
    } else {
        SystemicCause::Fusion
    })
}

/// Records a run stopped by a systemic failure as one incident: a review task keyed by the
/// cause, and one critical alert when that task is opened (a redelivered message or the next
/// hourly run while the cause persists updates the task, it does not alert again).
/// Transactions stay pending; nothing was failed for it.
pub(crate) async fn publish_systemic_alert<P: SyncPorts>(ports: &P, dc: &DcCode, run_id: &str, cause: &str) {
    let fix = if cause.contains("WMS") {
        "Check the WMS API key (the secret named by WMS_API_KEY_SECRET_ARN, or WMS_API_KEY) and the WMS adapter's access rules."
    } else if cause.contains("role or privilege") || cause.contains("403") {
        "Grant the Fusion integration user the inventory roles it needs (Fusion answered 403: authenticated, not authorized)."
    } else {
        "Fix the Fusion integration user's credentials in the secret named by FUSION_SECRET_ARN (password or OAuth2 client secret) and check that the user is not locked."
    };
    let now = ports.clock().now();
    let task = ReviewTask {
        dc: dc.clone(),
        key: systemic_key(cause),
        kind: TaskKind::SyncFailure,
        summary: format!("invsync cannot sync {dc}: {cause}"),
        detail: format!("last seen in run {run_id}. {fix} Transactions stay pending until it is fixed."),
        figures: None,
    };
    match ports.tasks().open_or_update(&task, now).await {
        Ok(TaskChange::Updated) => {
            warn!(dc = %dc, run_id, cause, "systemic failure persists; incident already alerted");
            return;
        }
        Ok(TaskChange::Opened) => {}
        Err(e) => warn!(dc = %dc, error = %e, "systemic incident not recorded; alerting anyway"),
    }
    let alert = Alert {
        dc: dc.clone(),
        severity: Severity::Critical,
        subject: format!("invsync {dc}: sync stopped, credentials or access refused"),
        body: format!(
            "invsync {dc}: run {run_id} stopped at once: {cause}.\n\nNo transaction was failed or reported to the WMS for it: every transaction stays pending (WMS reservations kept) and the sync message is retried. {fix}\nThe next run after the fix syncs everything that waited and closes this incident.\n"
        ),
        elastic: None,
    };
    if let Err(e) = ports.alerts().publish(&alert).await {
        warn!(dc = %dc, error = %e, "systemic alert could not be published");
    }
}

/// Closes the DC's systemic incidents after a run that met no systemic failure.
pub(crate) async fn clear_systemic<P: SyncPorts>(ports: &P, dc: &DcCode) {
    let now = ports.clock().now();
    for cause in SystemicCause::ALL {
        let key = TaskKey::Systemic(cause);
        match ports
            .tasks()
            .close(dc, &key, "a later run got through: the cause is fixed", now)
            .await
        {
            Ok(true) => info!(dc = %dc, %key, "systemic incident closed"),
            Ok(false) => {}
            Err(e) => warn!(dc = %dc, %key, error = %e, "systemic incident not closed; the next run retries"),
        }
    }
}
