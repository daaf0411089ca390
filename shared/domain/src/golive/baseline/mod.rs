//! The go-live baseline of one DC: load the WMS's balances into Fusion once, safely and
//! resumably, then cut over so that nothing is counted twice.
//!
//! ```text
//! take_plan ──> planned ──apply_plan (chunks, resumable)──> baselining ──verify_baseline──> verified ──cutover──> live
//! ```
//!
//! 1. [`take_plan`]: reads the outbox watermark (the highest outbox `sequence`), the WMS
//!    balances (largest page), the watermark again (it must not have moved: the DC's outbox is
//!    held while it is not live, so a move means the WMS captured a transaction during the
//!    read and the read is retried), and Fusion on-hand; computes per (item, subinventory)
//!    the absolute target and the difference ([`compute_plan`], pure), stores the plan in
//!    chunks ([`crate::ports::BaselineCheckpoints`]) and moves the DC to `planned`. Taking a
//!    plan changes nothing in Fusion: it is the dry run ([`plan_csv`] renders it).
//! 2. [`apply_plan`]: sends each chunk not yet confirmed, `chunks_in_flight` at a time, and
//!    checkpoints it: `posting` (with a lease) before the request, `applied` with one
//!    outcome per line after it. A confirmed chunk is never sent again. A chunk found
//!    `posting` after its lease lapsed is ambiguous (`inventoryBalanceTransactions` has no
//!    GET): its lines are compared with Fusion on-hand; those already at their target are
//!    confirmed without a post, the others are sent again. Refused lines open one review task
//!    each with Fusion's text; the rest go on. Before `deadline - safety_margin` the apply stops
//!    between chunks and says there is more to do ([`ApplyReport::more_to_do`]). When every
//!    chunk is applied, the outbox at or below the watermark is settled (see 4).
//!    [`BaselineMode::Adjustments`] sends each key's difference as an adjustment through the
//!    sync's two-phase commit instead, for pods without the balance resource.
//! 3. [`verify_baseline`]: a dry-run reconciliation of the DC; passes with zero variances
//!    outside the refused lines and unknown items, and moves the DC to `verified`.
//! 4. [`cutover`]: settles the outbox again ([`settle_outbox`]: every entry with sequence <=
//!    watermark becomes a `baselined` ledger row, never posted, and the WMS is told `synced`
//!    with `baseline:<plan id>` so it releases its reservation), then moves the DC to `live`.
//!    From then on the hourly sync posts what came after the watermark; it also refuses, on
//!    its own, any entry at or below the watermark ([`crate::sync::SyncPorts::baseline_watermark`]).
//!
//! Why settle when the apply completes and not only at cut-over: from that moment the
//! entries' effect is in Fusion (inside the absolute balances), and the verifying
//! reconciliation would otherwise count them as still in flight.
//!
//! Files: `model` (plan, lines, chunks), `plan` (the pure compute and the read), `csv`,
//! `apply` and `adjust` (the two modes), `verify`, `cutover` (settling and going live),
//! `status` (status moves).

use crate::error::Retryable;
use crate::golive::DcStatus;
use crate::ids::DcCode;
use crate::ports::{BalanceLoader, BaselineCheckpoints, DcStatusBoard, FusionError, StoreError, WmsError};
use crate::reconciliation::{ReconcileError, ReconcilePorts};
use chrono::Duration;
use thiserror::Error;

mod adjust;
mod apply;
mod csv;
mod cutover;
mod model;
mod plan;
mod status;
mod verify;

pub use apply::{apply_plan, ApplyReport};
pub use csv::{plan_csv, CSV_HEADER};
pub use cutover::{cutover, settle_outbox, CutoverReport, SettleReport};
pub use model::{
    BaselineMode, BaselinePlan, ChunkProgress, ChunkRecord, ChunkState, ClassCounts, ItemClass, KeyDifference,
    LineResult, PlanId, PlanLine, PlanLot, PlanSummary, SUMMARY_LIST_MAX,
};
pub use plan::{compute_plan, read_watermark, take_plan, ComputedPlan, PlanInput, TakenPlan};
pub use status::{baseline_status, BaselineStatus};
pub use verify::{verify_baseline, VerifyReport};

/// Everything the baseline needs: the reconciliation's ports (Fusion, WMS, ledger, tasks,
/// clock, ...) plus the DC status table, the checkpoint table and Fusion's balance load.
pub trait BaselinePorts: ReconcilePorts {
    /// The DC status table.
    type Status: DcStatusBoard;
    /// The checkpoint table.
    type Checkpoints: BaselineCheckpoints;
    /// Fusion's `inventoryBalanceTransactions`.
    type Loader: BalanceLoader;

    /// The DC status table.
    fn status(&self) -> &Self::Status;
    /// The checkpoint table.
    fn checkpoints(&self) -> &Self::Checkpoints;
    /// Fusion's balance load.
    fn loader(&self) -> &Self::Loader;
}

/// Tunables of a baseline.
#[derive(Debug, Clone)]
pub struct BaselineSettings {
    /// Lines per chunk (one checkpoint, one request). Default 200, Oracle's default number of
    /// transactions per worker for initial balances (fact sheet §3).
    pub chunk_size: usize,
    /// Chunks sent at once (requests in flight towards Fusion). Default 4.
    pub chunks_in_flight: usize,
    /// How differences reach Fusion.
    pub mode: BaselineMode,
    /// A `posting` chunk's lease: after it, another invocation treats the chunk as ambiguous.
    /// Default 5 minutes (longer than one request with the client's retries).
    pub chunk_lease: Duration,
    /// Stop starting chunks this long before the deadline. Default 60 s.
    pub safety_margin: Duration,
    /// The balance read is retried this many times when the watermark moved during it.
    /// Default 3.
    pub watermark_retries: u32,
    /// WMS page size for balances and outbox (the contract's largest, 5,000).
    pub page_size: usize,
    /// After this many chunks in a row fail because Fusion is unavailable, the apply stops
    /// (the chunks stay ambiguous and are decided by the next run). Default 3.
    pub outage_after: usize,
    /// The reconciliation's settings for [`verify_baseline`] (forced to a dry run) and the
    /// sync's for adjustment mode.
    pub reconcile: crate::reconciliation::ReconcileSettings,
}

impl Default for BaselineSettings {
    fn default() -> Self {
        Self {
            chunk_size: 200,
            chunks_in_flight: 4,
            mode: BaselineMode::BalanceTransactions,
            chunk_lease: Duration::minutes(5),
            safety_margin: Duration::seconds(60),
            watermark_retries: 3,
            page_size: crate::reconciliation::WMS_MAX_PAGE_SIZE,
            outage_after: 3,
            reconcile: crate::reconciliation::ReconcileSettings::default(),
        }
    }
}

/// A baseline step that could not run. Per-line refusals are not errors (they are results
/// with review tasks).
#[derive(Debug, Clone, Error)]
pub enum BaselineError {
    /// A store (status, checkpoints, ledger) failed.
    #[error("baseline store failed: {0}")]
    Store(#[from] StoreError),
    /// The WMS could not be read or told.
    #[error("WMS failed: {0}")]
    Wms(#[from] WmsError),
    /// Fusion failed in a way that stops the step (credentials, role, on-hand unreadable).
    #[error("Fusion failed: {0}")]
    Fusion(#[from] FusionError),
    /// The verifying reconciliation could not read.
    #[error("verification could not read: {0}")]
    Reconcile(#[from] ReconcileError),
    /// `inventoryBalanceTransactions` answered 404: the resource is not enabled on this pod.
    #[error(
        "Fusion's inventoryBalanceTransactions is not enabled on this pod ({0}); take a plan with mode adjustments"
    )]
    ResourceMissing(String),
    /// The watermark kept moving while the balances were read.
    #[error("the outbox of {dc} kept moving during the balance read ({tries} tries); is the DC's outbox held?")]
    WatermarkMoving {
        /// DC.
        dc: DcCode,
        /// Reads tried.
        tries: u32,
    },
    /// No such plan.
    #[error("no baseline plan {0}")]
    NoPlan(String),
    /// The step does not fit where the DC stands (status, or the plan is not the DC's current
    /// one).
    #[error("DC {dc} is {status}: {reason}")]
    WrongStatus {
        /// DC.
        dc: DcCode,
        /// Its status.
        status: DcStatus,
        /// What the step needs.
        reason: String,
    },
    /// Cut-over found outbox entries at or below the watermark it cannot settle (in flight
    /// or accepted in Fusion, or without a sequence): listed, nothing moved to live.
    #[error("cut-over blocked by {} outbox entr(ies): {}", .0.len(), .0.join("; "))]
    CutoverBlocked(Vec<String>),
    /// A stored plan that makes no sense (chunk rows missing).
    #[error("baseline plan is inconsistent: {0}")]
    Inconsistent(String),
}

impl Retryable for BaselineError {
    fn is_retryable(&self) -> bool {
        match self {
            BaselineError::Store(e) => e.is_retryable() || matches!(e, StoreError::Conflict(_)),
            BaselineError::Wms(e) => e.is_retryable(),
            BaselineError::Fusion(e) => e.is_retryable(),
            BaselineError::Reconcile(e) => e.is_retryable(),
            BaselineError::WatermarkMoving { .. } => true,
            BaselineError::ResourceMissing(_)
            | BaselineError::NoPlan(_)
            | BaselineError::WrongStatus { .. }
            | BaselineError::CutoverBlocked(_)
            | BaselineError::Inconsistent(_) => false,
        }
    }
}

#[cfg(test)]
mod tests;
