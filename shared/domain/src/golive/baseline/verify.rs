//! Verifying an applied baseline: a dry-run reconciliation of the DC that must show no
//! variance outside the lines Fusion refused and the items it does not know.

use super::status::{current_plan, move_to};
use super::*;
use crate::console::UserId;
use crate::ids::{ItemNumber, SubinventoryCode};
use crate::ports::{BaselineCheckpoints, FusionInventory};
use crate::reconciliation::{reconcile_dc, ReconcileReport};
use crate::variance::Variance;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use tracing::info;

/// What the verifying reconciliation found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// DC.
    pub dc: DcCode,
    /// Plan.
    pub plan: PlanId,
    /// Zero variances outside the refused lines and unknown items.
    pub passed: bool,
    /// Variances of keys whose line Fusion refused (each has a review task).
    pub excluded_refused: u64,
    /// Variances of items Fusion does not know (listed in the plan).
    pub excluded_unknown: u64,
    /// Variances that count against the baseline (all of them when the reconciliation's
    /// list was cut short and the rest could not be told apart).
    pub outside: u64,
    /// The listed variances that count against it.
    pub variances: Vec<Variance>,
    /// The dry-run reconciliation's report.
    pub reconcile: ReconcileReport,
}

use serde::Serialize;

/// Runs the dry-run reconciliation of `dc` for plan `plan_id` (every chunk must be applied)
/// and, when it passes, moves the DC `baselining -> verified`. Changes nothing else. A DC
/// already `verified` or `live` may be verified again; its status stays.
pub async fn verify_baseline<P: BaselinePorts>(
    ports: &P,
    settings: &BaselineSettings,
    dc: &DcCode,
    plan_id: &PlanId,
    by: &UserId,
    deadline: DateTime<Utc>,
) -> Result<VerifyReport, BaselineError> {
    let (_plan, record) = current_plan(ports, dc, plan_id).await?;
    if !matches!(
        record.status,
        DcStatus::Baselining | DcStatus::Verified | DcStatus::Live
    ) {
        return Err(BaselineError::WrongStatus {
            dc: dc.clone(),
            status: record.status,
            reason: "verification needs an applied baseline".into(),
        });
    }
    let chunks = ports.checkpoints().chunks(dc, plan_id).await?;
    let open = chunks.iter().filter(|c| c.state != ChunkState::Applied).count();
    if open > 0 {
        return Err(BaselineError::WrongStatus {
            dc: dc.clone(),
            status: record.status,
            reason: format!(
                "the apply is not finished: {open} of {} chunks not applied",
                chunks.len()
            ),
        });
    }
    let refused: BTreeSet<(ItemNumber, SubinventoryCode)> = chunks
        .iter()
        .flat_map(|c| c.lines.iter().zip(&c.results))
        .filter(|(_, r)| matches!(r, LineResult::Refused { .. }))
        .map(|(l, _)| (l.item.clone(), l.subinventory.clone()))
        .collect();
    let mut rec = settings.reconcile.clone();
    rec.dry_run = true;
    let run_id = format!("baseline-verify:{plan_id}");
    let reconcile = reconcile_dc(ports, &rec, dc, &run_id, deadline).await?;
    let (mut excluded_refused, mut excluded_unknown) = (0u64, 0u64);
    let mut variances = Vec::new();
    for v in &reconcile.variances {
        if refused.contains(&(v.key.item.clone(), v.key.subinventory.clone())) {
            excluded_refused += 1;
        } else if matches!(
            ports.fusion().item_info(dc, &v.key.item).await,
            Err(FusionError::NotFound(_))
        ) {
            excluded_unknown += 1;
        } else {
            variances.push(v.clone());
        }
    }
    let total = reconcile.auto_correct + reconcile.review + reconcile.alert;
    let outside = total.saturating_sub(excluded_refused + excluded_unknown);
    let passed = outside == 0;
    if passed && record.status == DcStatus::Baselining {
        move_to(ports, &record, DcStatus::Verified, by, None).await?;
    }
    info!(dc = %dc, plan = %plan_id, passed, outside, excluded_refused, excluded_unknown, "baseline verified");
    Ok(VerifyReport {
        dc: dc.clone(),
        plan: plan_id.clone(),
        passed,
        excluded_refused,
        excluded_unknown,
        outside,
        variances,
        reconcile,
    })
}
