//! Cut-over: the outbox at or below the watermark becomes part of the baseline (`baselined`
//! in the ledger, `synced` with `baseline:<plan id>` at the WMS), then the DC goes live.

use super::status::{current_plan, move_to};
use super::*;
use crate::console::UserId;
use crate::golive::DcStatusRecord;
use crate::ledger::{FusionRef, LedgerEntry, LedgerEvent, SyncState};
use crate::ports::{Clock, LedgerRow, Recorded, SyncLedger, SyncOutcome, WarehouseSystem};
use crate::txn::WmsTransaction;
use serde::Serialize;
use tracing::{info, warn};

/// What settling the outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettleReport {
    /// Entries this call made `baselined` (new ledger rows, or rows moved from
    /// `pending_sync`, `sync_failed` or `manual_review`).
    pub baselined: u64,
    /// Entries already `baselined` (an earlier, interrupted settlement).
    pub already_baselined: u64,
    /// Entries the ledger already had as `synced` (posted before the plan): the WMS is told
    /// their own reference.
    pub already_synced: u64,
    /// Entries the WMS sent that could not be parsed: told `synced` with the baseline's
    /// reference too, since their effect is in the WMS balance the baseline loaded.
    pub malformed: u64,
    /// Outcomes the WMS took.
    pub wms_told: u64,
    /// Outcomes the WMS did not take (a later settlement tells it again).
    pub wms_failures: u64,
    /// Entries that cannot be settled: in flight or accepted in Fusion, handled outside, or
    /// without a sequence. `id: why`.
    pub blocked: Vec<String>,
}

/// Settles every outbox entry of the plan's DC with sequence <= the plan's watermark: a
/// `baselined` ledger row (never posted) and a `synced` outcome to the WMS with reference
/// `baseline:<plan id>`, so it releases its reservation. Idempotent: a repeat finds the rows
/// `baselined` and tells the WMS the same reference again (only entries still in the outbox
/// are seen). Entries after the watermark are left for the sync.
pub async fn settle_outbox<P: BaselinePorts>(ports: &P, plan: &BaselinePlan) -> Result<SettleReport, BaselineError> {
    let dc = &plan.dc;
    let reference = FusionRef::wms_reference(&[FusionRef::baseline(plan.id.as_str())]);
    let mut report = SettleReport::default();
    let mut cursor: Option<String> = None;
    'pages: loop {
        let page = ports.wms().outbox(dc, cursor.as_deref(), 500).await?;
        for e in &page.items {
            let Some(seq) = e.sequence else {
                report.blocked.push(format!("{}: no sequence", e.raw_id));
                continue;
            };
            if seq > plan.watermark.0 {
                break 'pages;
            }
            let told = match &e.txn {
                Err(_) => {
                    report.malformed += 1;
                    Some(reference.clone())
                }
                Ok(txn) => settle_one(ports, plan, txn, &mut report).await?,
            };
            if let Some(fusion_reference) = told {
                let outcome = SyncOutcome::Synced { fusion_reference };
                match ports.wms().report(dc, &e.raw_id, &outcome).await {
                    Ok(()) | Err(WmsError::Conflict(_)) => report.wms_told += 1,
                    Err(err) => {
                        warn!(dc = %dc, txn = %e.raw_id, error = %err, "WMS did not take the baseline outcome");
                        report.wms_failures += 1;
                    }
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    info!(
        dc = %dc, plan = %plan.id, baselined = report.baselined, already = report.already_baselined,
        wms_told = report.wms_told, blocked = report.blocked.len(), "outbox settled at the watermark"
    );
    Ok(report)
}

/// Makes one transaction's ledger row `baselined`; the reference to tell the WMS, or `None`
/// when it is blocked.
async fn settle_one<P: BaselinePorts>(
    ports: &P,
    plan: &BaselinePlan,
    txn: &WmsTransaction,
    report: &mut SettleReport,
) -> Result<Option<String>, BaselineError> {
    let now = ports.clock().now();
    let entry = LedgerEntry::baselined(plan.id.as_str());
    let row: LedgerRow = match ports.ledger().record_claimed(txn, &entry, now).await? {
        Recorded::Created(row) => {
            report.baselined += 1;
            return Ok(Some(FusionRef::wms_reference(&row.entry.fusion_refs)));
        }
        Recorded::Existing(row) => row,
    };
    match row.entry.state {
        SyncState::Baselined => {
            report.already_baselined += 1;
            Ok(Some(FusionRef::wms_reference(&row.entry.fusion_refs)))
        }
        SyncState::Synced => {
            report.already_synced += 1;
            Ok(Some(FusionRef::wms_reference(&row.entry.fusion_refs)))
        }
        SyncState::PendingSync | SyncState::SyncFailed | SyncState::ManualReview => {
            let next = row.entry.apply(LedgerEvent::Baseline {
                plan: plan.id.to_string(),
            });
            let next = next.map_err(|e| BaselineError::Inconsistent(e.to_string()))?;
            ports.ledger().transition(&row, &next, now).await?;
            report.baselined += 1;
            Ok(Some(FusionRef::wms_reference(&next.fusion_refs)))
        }
        other => {
            report.blocked.push(format!(
                "{}: ledger row is {other}; settle it in Fusion first",
                txn.id()
            ));
            Ok(None)
        }
    }
}

/// What the cut-over did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CutoverReport {
    /// DC.
    pub dc: DcCode,
    /// Plan.
    pub plan: PlanId,
    /// The final settlement of the outbox.
    pub settled: SettleReport,
    /// The DC's status record after the cut-over (`live`).
    pub status: DcStatusRecord,
}

/// Cuts `dc` over to plan `plan_id`: settles the outbox at or below the watermark once more
/// and moves the DC `verified -> live`. Refused (nothing moved) when the DC is not verified or
/// an entry cannot be settled. A DC already `live` on this plan answers as a repeat.
pub async fn cutover<P: BaselinePorts>(
    ports: &P,
    dc: &DcCode,
    plan_id: &PlanId,
    by: &UserId,
) -> Result<CutoverReport, BaselineError> {
    let (plan, record) = current_plan(ports, dc, plan_id).await?;
    if !matches!(record.status, DcStatus::Verified | DcStatus::Live) {
        return Err(BaselineError::WrongStatus {
            dc: dc.clone(),
            status: record.status,
            reason: "cut-over needs a verified baseline".into(),
        });
    }
    let settled = settle_outbox(ports, &plan).await?;
    let mut blocked = settled.blocked.clone();
    if settled.wms_failures > 0 {
        blocked.push(format!(
            "{} outcome(s) the WMS did not take; run cut-over again",
            settled.wms_failures
        ));
    }
    if !blocked.is_empty() {
        return Err(BaselineError::CutoverBlocked(blocked));
    }
    let status = move_to(ports, &record, DcStatus::Live, by, None).await?;
    info!(dc = %dc, plan = %plan_id, watermark = %plan.watermark, "DC cut over: live");
    Ok(CutoverReport {
        dc: dc.clone(),
        plan: plan_id.clone(),
        settled,
        status,
    })
}
