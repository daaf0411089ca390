//! What a sync tells people and the WMS: review tasks, outcome reports, failure alerts.

use super::*;

pub(crate) async fn malformed<P: SyncPorts>(ports: &P, dc: &DcCode, raw_id: &str, reason: &str) -> TxnOutcome {
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

pub(crate) async fn open_task<P: SyncPorts>(ports: &P, row: &LedgerRow, reason: &str) {
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

pub(crate) async fn report_to_wms<P: SyncPorts>(ports: &P, txn: &WmsTransaction, outcome: &SyncOutcome) -> bool {
    match ports.wms().report(&txn.dc, txn.id.as_str(), outcome).await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, "WMS did not take the outcome; it is reported again next run");
            false
        }
    }
}

pub(crate) fn synced_outcome(entry: &LedgerEntry) -> SyncOutcome {
    SyncOutcome::Synced {
        fusion_reference: entry.fusion_refs.join(","),
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

/// One critical alert for a run stopped by a systemic failure: what was refused and which
/// setting to fix. Transactions stay pending; nothing was failed for it.
pub(crate) async fn publish_systemic_alert<P: SyncPorts>(ports: &P, dc: &DcCode, run_id: &str, cause: &str) {
    let fix = if cause.contains("WMS") {
        "Check the WMS API key (the secret named by WMS_API_KEY_SECRET_ARN, or WMS_API_KEY) and the WMS adapter's access rules."
    } else if cause.contains("role or privilege") || cause.contains("403") {
        "Grant the Fusion integration user the inventory roles it needs (Fusion answered 403: authenticated, not authorized)."
    } else {
        "Fix the Fusion integration user's credentials in the secret named by FUSION_SECRET_ARN (password or OAuth2 client secret) and check that the user is not locked."
    };
    let alert = Alert {
        dc: dc.clone(),
        severity: Severity::Critical,
        subject: format!("invsync {dc}: sync stopped, credentials or access refused"),
        body: format!(
            "invsync {dc}: run {run_id} stopped at once: {cause}.\n\nNo transaction was failed or reported to the WMS for it: every transaction stays pending (WMS reservations kept) and the sync message is retried. {fix}\nThe next run after the fix syncs everything that waited.\n"
        ),
    };
    if let Err(e) = ports.alerts().publish(&alert).await {
        warn!(dc = %dc, error = %e, "systemic alert could not be published");
    }
}
