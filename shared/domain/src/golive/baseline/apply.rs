//! Applying a plan chunk by chunk, checkpointed, resumable, never sending a confirmed chunk
//! again (see the module doc of [`super`] for the rules).

use super::cutover::settle_outbox;
use super::status::{current_plan, move_to};
use super::*;
use crate::console::UserId;
use crate::error::Retryable;
use crate::ids::{ItemNumber, LotNumber, SerialNumber, SubinventoryCode};
use crate::ports::{
    BalanceLoad, BalanceLoader, BaselineCheckpoints, Clock, FusionInventory, OnhandRow, ReviewTask, ReviewTasks,
    TaskKey, TaskKind,
};
use crate::variance::BalanceKey;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tracing::{info, warn};

/// What one apply run did, and whether there is more to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// DC.
    pub dc: DcCode,
    /// Plan.
    pub plan: PlanId,
    /// Chunks in the plan.
    pub chunks_total: u32,
    /// Chunks applied, earlier runs included.
    pub chunks_applied: u32,
    /// Chunks this run applied.
    pub chunks_this_run: u32,
    /// Lines in the plan.
    pub lines_total: u64,
    /// Lines with an outcome, earlier runs included.
    pub lines_done: u64,
    /// Lines this run applied.
    pub lines_applied: u64,
    /// Lines this run found at their target in an ambiguous chunk (not sent again).
    pub lines_already_at_target: u64,
    /// Lines this run left waiting for Fusion's processing (adjustment mode).
    pub lines_awaiting_fusion: u64,
    /// Lines this run saw refused (each has a review task).
    pub lines_refused: u64,
    /// Ambiguous chunks (found `posting` after their lease) this run decided.
    pub ambiguous_decided: u32,
    /// Requests to Fusion's balance resource this run.
    pub requests: u64,
    /// Chunks another invocation is posting (their lease has not lapsed).
    pub busy_elsewhere: u32,
    /// Chunks whose post failed without an answer (they are decided by the next run).
    pub chunks_unanswered: u32,
    /// Not every chunk is applied yet: call again (a Lambda continues itself).
    pub more_to_do: bool,
    /// Why the run stopped before the end, when it did (time budget, Fusion unavailable).
    pub stopped: Option<String>,
    /// The outbox settlement done when the last chunk was applied.
    pub settled: Option<SettleReport>,
}

/// A chunk's work for this run: its record and, for an ambiguous chunk, the outcomes already
/// decided from Fusion on-hand (`Some`) for lines that must not be sent again.
struct Work {
    chunk: ChunkRecord,
    known: Vec<Option<LineResult>>,
    ambiguous: bool,
}

pub(super) enum ChunkOutcome {
    Applied {
        results: Vec<LineResult>,
        requests: usize,
        ambiguous: bool,
    },
    NotStarted,
    Busy,
    Unanswered {
        requests: usize,
    },
    Halt(BaselineError),
}

/// What every chunk of one run shares.
struct Ctx<'a, P> {
    ports: &'a P,
    settings: &'a BaselineSettings,
    plan: &'a BaselinePlan,
    stop_at: DateTime<Utc>,
    halt: AtomicBool,
    outage_streak: AtomicUsize,
}

/// Applies the chunks of `plan_id` not yet confirmed, until all are or
/// `deadline - settings.safety_margin`. Moves the DC `planned -> baselining` first; when the
/// last chunk is applied, settles the outbox at or below the watermark ([`settle_outbox`]).
/// Safe to run again at any time, after a crash or alongside another run.
pub async fn apply_plan<P: BaselinePorts>(
    ports: &P,
    settings: &BaselineSettings,
    dc: &DcCode,
    plan_id: &PlanId,
    by: &UserId,
    deadline: DateTime<Utc>,
) -> Result<ApplyReport, BaselineError> {
    let (plan, record) = current_plan(ports, dc, plan_id).await?;
    match record.status {
        DcStatus::Planned | DcStatus::Baselining => {
            move_to(ports, &record, DcStatus::Baselining, by, None).await?;
        }
        DcStatus::Verified | DcStatus::Live => {}
        other => {
            return Err(BaselineError::WrongStatus {
                dc: dc.clone(),
                status: other,
                reason: "apply needs a planned DC".into(),
            })
        }
    }
    let chunks = ports.checkpoints().chunks(dc, plan_id).await?;
    if chunks.len() != plan.chunks as usize {
        return Err(BaselineError::Inconsistent(format!(
            "plan {plan_id} has {} chunk rows, its header says {}",
            chunks.len(),
            plan.chunks
        )));
    }
    let now = ports.clock().now();
    let mut report = ApplyReport {
        dc: dc.clone(),
        plan: plan_id.clone(),
        chunks_total: plan.chunks,
        chunks_applied: 0,
        chunks_this_run: 0,
        lines_total: chunks.iter().map(|c| c.lines.len() as u64).sum(),
        lines_done: 0,
        lines_applied: 0,
        lines_already_at_target: 0,
        lines_awaiting_fusion: 0,
        lines_refused: 0,
        ambiguous_decided: 0,
        requests: 0,
        busy_elsewhere: 0,
        chunks_unanswered: 0,
        more_to_do: false,
        stopped: None,
        settled: None,
    };
    let mut work = Vec::new();
    let mut ambiguous = Vec::new();
    for chunk in chunks {
        match &chunk.state {
            ChunkState::Applied => {
                report.chunks_applied += 1;
                report.lines_done += chunk.lines.len() as u64;
            }
            ChunkState::Posting { lease_until } if *lease_until > now => report.busy_elsewhere += 1,
            ChunkState::Posting { .. } => ambiguous.push(chunk),
            ChunkState::Pending => {
                let known = vec![None; chunk.lines.len()];
                work.push(Work {
                    chunk,
                    known,
                    ambiguous: false,
                });
            }
        }
    }
    if !ambiguous.is_empty() {
        let decided = decide_ambiguous(ports, &plan, ambiguous).await?;
        work.splice(0..0, decided);
    }
    let ctx = Ctx {
        ports,
        settings,
        plan: &plan,
        stop_at: deadline - settings.safety_margin,
        halt: AtomicBool::new(false),
        outage_streak: AtomicUsize::new(0),
    };
    let outcomes: Vec<ChunkOutcome> = stream::iter(work)
        .map(|w| post_chunk(&ctx, w))
        .buffered(settings.chunks_in_flight.max(1))
        .collect()
        .await;
    let mut fatal = None;
    for outcome in outcomes {
        match outcome {
            ChunkOutcome::Applied {
                results,
                requests,
                ambiguous,
            } => {
                report.chunks_applied += 1;
                report.chunks_this_run += 1;
                report.lines_done += results.len() as u64;
                report.requests += requests as u64;
                report.ambiguous_decided += u32::from(ambiguous);
                for r in &results {
                    match r {
                        LineResult::Applied => report.lines_applied += 1,
                        LineResult::AlreadyAtTarget => report.lines_already_at_target += 1,
                        LineResult::AwaitingFusion => report.lines_awaiting_fusion += 1,
                        LineResult::Refused { .. } => report.lines_refused += 1,
                    }
                }
            }
            ChunkOutcome::NotStarted => {
                report.stopped.get_or_insert_with(|| "time budget reached".into());
            }
            ChunkOutcome::Busy => report.busy_elsewhere += 1,
            ChunkOutcome::Unanswered { requests } => {
                report.chunks_unanswered += 1;
                report.requests += requests as u64;
            }
            ChunkOutcome::Halt(e) => {
                report.stopped = Some(e.to_string());
                fatal.get_or_insert(e);
            }
        }
    }
    report.more_to_do = report.chunks_applied < report.chunks_total;
    if let Some(e) = fatal {
        warn!(dc = %dc, plan = %plan_id, error = %e, "baseline apply stopped");
        if !e.is_retryable() || report.chunks_this_run == 0 {
            return Err(e);
        }
    }
    if !report.more_to_do {
        report.settled = Some(settle_outbox(ports, &plan).await?);
    }
    info!(
        dc = %dc, plan = %plan_id, applied = report.chunks_applied, total = report.chunks_total,
        this_run = report.chunks_this_run, refused = report.lines_refused, more_to_do = report.more_to_do,
        stopped = ?report.stopped, "baseline apply run finished"
    );
    Ok(report)
}

/// Decides the lines of ambiguous chunks from one read of Fusion on-hand: a line already at
/// its target is `AlreadyAtTarget` and is not sent again; the others are.
async fn decide_ambiguous<P: BaselinePorts>(
    ports: &P,
    plan: &BaselinePlan,
    chunks: Vec<ChunkRecord>,
) -> Result<Vec<Work>, BaselineError> {
    let keys: BTreeSet<(ItemNumber, SubinventoryCode)> = chunks
        .iter()
        .flat_map(|c| c.lines.iter().map(|l| (l.item.clone(), l.subinventory.clone())))
        .collect();
    let mut held: BTreeMap<(ItemNumber, SubinventoryCode), Held> = BTreeMap::new();
    if plan.mode == BaselineMode::BalanceTransactions {
        let rows: Vec<OnhandRow> = ports.fusion().onhand(&plan.dc).await?;
        for r in rows {
            let k = (r.item, r.subinventory);
            if keys.contains(&k) {
                let h = held.entry(k).or_default();
                h.total += r.quantity;
                if let Some(lot) = r.lot {
                    *h.lots.entry(lot).or_default() += r.quantity;
                }
                h.serials.extend(r.serials);
            }
        }
    }
    Ok(chunks
        .into_iter()
        .map(|chunk| {
            let known = chunk
                .lines
                .iter()
                .map(|l| {
                    let empty = Held::default();
                    let h = held.get(&(l.item.clone(), l.subinventory.clone())).unwrap_or(&empty);
                    // Adjustment mode needs no read: the ledger's ids make a re-send idempotent.
                    (plan.mode == BaselineMode::BalanceTransactions && h.at_target(l))
                        .then_some(LineResult::AlreadyAtTarget)
                })
                .collect();
            Work {
                chunk,
                known,
                ambiguous: true,
            }
        })
        .collect())
}

/// Fusion's on-hand of one (item, subinventory).
#[derive(Default)]
struct Held {
    total: Decimal,
    lots: BTreeMap<LotNumber, Decimal>,
    serials: BTreeSet<SerialNumber>,
}

impl Held {
    fn at_target(&self, l: &PlanLine) -> bool {
        let lots_match = l
            .lots
            .iter()
            .all(|lot| self.lots.get(&lot.lot).copied().unwrap_or_default() == lot.wms)
            && self
                .lots
                .iter()
                .all(|(lot, q)| q.is_zero() || l.lots.iter().any(|x| &x.lot == lot));
        let serials: BTreeSet<&SerialNumber> = l.serials.iter().collect();
        self.total == l.target && lots_match && self.serials.iter().collect::<BTreeSet<_>>() == serials
    }
}

async fn post_chunk<P: BaselinePorts>(ctx: &Ctx<'_, P>, w: Work) -> ChunkOutcome {
    let (ports, settings, plan) = (ctx.ports, ctx.settings, ctx.plan);
    let now = ports.clock().now();
    if ctx.halt.load(Ordering::SeqCst) || now >= ctx.stop_at {
        return ChunkOutcome::NotStarted;
    }
    let Work {
        chunk,
        mut known,
        ambiguous,
    } = w;
    let mut posting = chunk.clone();
    posting.state = ChunkState::Posting {
        lease_until: now + settings.chunk_lease,
    };
    posting.attempts += 1;
    posting.updated_at = now;
    posting.version = chunk.version + 1;
    match ports.checkpoints().put_chunk(&posting, chunk.version).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return ChunkOutcome::Busy,
        Err(e) => return halt(ctx, e.into()),
    }
    let to_send: Vec<usize> = (0..posting.lines.len()).filter(|&i| known[i].is_none()).collect();
    let mut requests = 0;
    if !to_send.is_empty() {
        let sent = match plan.mode {
            BaselineMode::BalanceTransactions => send_balances(ctx, &posting, &to_send).await,
            BaselineMode::Adjustments => {
                super::adjust::send_adjustments(ports, settings, plan, &posting, &to_send).await
            }
        };
        match sent {
            Ok((results, n)) => {
                requests = n;
                for (i, r) in to_send.iter().zip(results) {
                    known[*i] = Some(r);
                }
            }
            Err(outcome) => return outcome,
        }
    }
    let results: Vec<LineResult> = known
        .into_iter()
        .map(|r| r.unwrap_or(LineResult::AlreadyAtTarget))
        .collect();
    for (line, result) in posting.lines.iter().zip(&results) {
        if let LineResult::Refused { reason } = result {
            let task = refused_task(plan, line, reason);
            if let Err(e) = ports.tasks().open_or_update(&task, ports.clock().now()).await {
                return halt(ctx, e.into());
            }
        }
    }
    let mut applied = posting.clone();
    applied.state = ChunkState::Applied;
    applied.results = results.clone();
    applied.updated_at = ports.clock().now();
    applied.version = posting.version + 1;
    match ports.checkpoints().put_chunk(&applied, posting.version).await {
        Ok(()) => ChunkOutcome::Applied {
            results,
            requests,
            ambiguous,
        },
        Err(StoreError::Conflict(_)) => ChunkOutcome::Busy,
        Err(e) => halt(ctx, e.into()),
    }
}

fn halt<P>(ctx: &Ctx<'_, P>, e: BaselineError) -> ChunkOutcome {
    ctx.halt.store(true, Ordering::SeqCst);
    ChunkOutcome::Halt(e)
}

/// Sends the lines `to_send` of `chunk` as absolute balances. `Err` is the chunk's outcome
/// when Fusion gave no per-line answer.
async fn send_balances<P: BaselinePorts>(
    ctx: &Ctx<'_, P>,
    chunk: &ChunkRecord,
    to_send: &[usize],
) -> Result<(Vec<LineResult>, usize), ChunkOutcome> {
    let lines: Vec<_> = to_send.iter().map(|&i| chunk.lines[i].balance_line()).collect();
    match ctx.ports.loader().load_balances(&ctx.plan.dc, &lines).await {
        Ok(load) => {
            ctx.outage_streak.store(0, Ordering::SeqCst);
            Ok((line_results(&lines, &load), load.requests))
        }
        Err(FusionError::NotFound(what)) => Err(halt(ctx, BaselineError::ResourceMissing(what))),
        Err(e) if e.is_systemic() => Err(halt(ctx, e.into())),
        Err(FusionError::Rejected { detail, .. }) => {
            // The whole request was refused before any line was applied (a 400 on the body).
            let reason = format!("Fusion refused the request: {detail}");
            Ok((vec![LineResult::Refused { reason }; lines.len()], 1))
        }
        Err(e) => {
            warn!(dc = %ctx.plan.dc, plan = %ctx.plan.id, chunk = chunk.index, error = %e,
                "balance post got no answer; the chunk is decided from on-hand by the next run");
            let streak = ctx.outage_streak.fetch_add(1, Ordering::SeqCst) + 1;
            if streak >= ctx.settings.outage_after.max(1) {
                ctx.halt.store(true, Ordering::SeqCst);
            }
            Err(ChunkOutcome::Unanswered { requests: 1 })
        }
    }
}

/// Each sent line's result: refused when Fusion's answer names its item and subinventory.
fn line_results(lines: &[crate::ports::BalanceLine], load: &BalanceLoad) -> Vec<LineResult> {
    let refused: BTreeMap<(&str, &str), &str> = load
        .refused
        .iter()
        .map(|r| ((r.item.as_str(), r.subinventory.as_str()), r.detail.as_str()))
        .collect();
    lines
        .iter()
        .map(|l| match refused.get(&(l.item.as_str(), l.subinventory.as_str())) {
            Some(reason) => LineResult::Refused {
                reason: (*reason).to_string(),
            },
            None => LineResult::Applied,
        })
        .collect()
}

/// The review task of a refused line (one per item and subinventory; a re-run updates it).
pub(super) fn refused_task(plan: &BaselinePlan, line: &PlanLine, reason: &str) -> ReviewTask {
    let key = BalanceKey::new(plan.dc.clone(), line.item.clone(), line.subinventory.clone(), None);
    ReviewTask {
        dc: plan.dc.clone(),
        key: TaskKey::balance(&key),
        kind: TaskKind::Variance,
        summary: format!(
            "Baseline {}: Fusion refused the balance of {} in {}",
            plan.id, line.item, line.subinventory
        ),
        detail: format!(
            "Target {} {} (Fusion held {} at plan time). Fusion said: {reason}. Fix the cause, then set the \
             balance in Fusion by hand or take a new plan; verification leaves this line out.",
            line.target.normalize(),
            line.uom,
            line.fusion.normalize()
        ),
        figures: None,
    }
}
