//! The DC status moves the baseline makes, and what `status` shows of a baseline.

use super::*;
use crate::console::UserId;
use crate::golive::{DcStatusChange, DcStatusRecord, OutboxWatermark};
use crate::ports::{BaselineCheckpoints, Clock, DcStatusBoard};

/// Where a DC's baseline stands: its status record, its newest plan and every chunk's
/// progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineStatus {
    /// The DC's status record (a `not_started` record when nobody touched it).
    pub record: DcStatusRecord,
    /// The newest plan, if any.
    pub plan: Option<BaselinePlan>,
    /// Its chunks' progress, in index order.
    pub chunks: Vec<ChunkProgress>,
}

impl BaselineStatus {
    /// Chunks applied.
    pub fn chunks_applied(&self) -> usize {
        self.chunks.iter().filter(|c| c.state == "applied").count()
    }

    /// Lines in the plan.
    pub fn lines_total(&self) -> u64 {
        self.chunks.iter().map(|c| c.lines).sum()
    }

    /// Lines with an outcome (applied chunks' lines).
    pub fn lines_done(&self) -> u64 {
        self.chunks
            .iter()
            .filter(|c| c.state == "applied")
            .map(|c| c.lines)
            .sum()
    }

    /// Lines refused.
    pub fn lines_refused(&self) -> u64 {
        self.chunks.iter().map(|c| c.refused).sum()
    }
}

/// The DC's status record, newest plan and chunk progress. Reads only.
pub async fn baseline_status<P: BaselinePorts>(ports: &P, dc: &DcCode) -> Result<BaselineStatus, BaselineError> {
    let record = current(ports, dc).await?;
    let plan = ports.checkpoints().latest_plan(dc).await?;
    let chunks = match &plan {
        Some(p) => ports.checkpoints().progress(dc, &p.id).await?,
        None => Vec::new(),
    };
    Ok(BaselineStatus { record, plan, chunks })
}

/// The DC's record, or a `not_started` one.
pub(super) async fn current<P: BaselinePorts>(ports: &P, dc: &DcCode) -> Result<DcStatusRecord, BaselineError> {
    match ports.status().get(dc).await? {
        Some(r) => Ok(r),
        None => Ok(DcStatusRecord::not_started(dc.clone(), ports.clock().now())
            .map_err(|e| BaselineError::Inconsistent(format!("cannot build a not_started record: {e}")))?),
    }
}

/// Moves `record` to `to` with a conditional write; a record already at `to` (with the same
/// watermark) is returned unchanged, so a repeated step is a no-op.
pub(super) async fn move_to<P: BaselinePorts>(
    ports: &P,
    record: &DcStatusRecord,
    to: DcStatus,
    by: &UserId,
    watermark: Option<OutboxWatermark>,
) -> Result<DcStatusRecord, BaselineError> {
    if record.status == to && (watermark.is_none() || watermark == record.watermark) {
        return Ok(record.clone());
    }
    let next = record
        .apply(DcStatusChange {
            to,
            by: by.clone(),
            at: ports.clock().now(),
            reason: None,
            watermark,
        })
        .map_err(|e| BaselineError::WrongStatus {
            dc: record.dc.clone(),
            status: record.status,
            reason: e.to_string(),
        })?;
    ports.status().put(&next, record.version).await?;
    Ok(next)
}

/// The plan, checked to be `dc`'s current one: the DC's status carries its watermark and the
/// plan is the DC's newest.
pub(super) async fn current_plan<P: BaselinePorts>(
    ports: &P,
    dc: &DcCode,
    id: &PlanId,
) -> Result<(BaselinePlan, DcStatusRecord), BaselineError> {
    let plan = ports
        .checkpoints()
        .plan(dc, id)
        .await?
        .ok_or_else(|| BaselineError::NoPlan(id.to_string()))?;
    let record = current(ports, dc).await?;
    let newest = ports.checkpoints().latest_plan(dc).await?;
    if newest.as_ref().map(|p| &p.id) != Some(id) || record.watermark != Some(plan.watermark) {
        return Err(BaselineError::WrongStatus {
            dc: dc.clone(),
            status: record.status,
            reason: format!(
                "plan {id} is not the DC's current plan (newest {}, status watermark {})",
                newest.map_or("none".to_string(), |p| p.id.to_string()),
                record.watermark.map_or("none".to_string(), |w| w.to_string())
            ),
        });
    }
    Ok((plan, record))
}
