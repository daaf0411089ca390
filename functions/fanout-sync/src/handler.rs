//! Maps a schedule or manual event to a fan-out: one request per DC, on the sync queue
//! (hourly) or on the reconcile queue (every 15 minutes). Which one is the event's `kind`.
//!
//! The sync fan-out sends only to DCs whose go-live status syncs (`live`, read from the DC
//! status table once per run); the others are held, listed in the answer, logged on one line
//! and counted (`SyncHeldDcs`). The reconcile fan-out goes to every DC: the reconciliation
//! itself is report-only for a DC that is not live.

use adapters::aws::{DynamoDcStatus, QueueError, SqsSyncQueue};
use domain::golive::{select_for_sync, HeldDc};
use domain::ports::{DcStatusBoard, RunKind};
use domain::schedule::{self, SyncRequest};
use domain::{DcCode, Retryable};
use lambda_kit::events::{self, Invocation};
use lambda_kit::{ErrorKind, HandlerError};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// Where per-DC requests go: a FIFO queue (sync or reconcile) in production, a recording fake
/// in tests.
pub trait SyncQueue: Send + Sync {
    /// Why a send failed.
    type Error: std::error::Error + Retryable + Send + Sync + 'static;

    /// Sends every request (deduplicated by the queue per DC and slot) and answers how many
    /// were sent. An error means some may not have been sent; sending them all again is safe.
    fn send(&self, requests: &[SyncRequest]) -> impl Future<Output = Result<usize, Self::Error>> + Send;
}

impl SyncQueue for SqsSyncQueue {
    type Error = QueueError;

    async fn send(&self, requests: &[SyncRequest]) -> Result<usize, QueueError> {
        SqsSyncQueue::send(self, requests).await
    }
}

/// The sync queue failed the fan-out (`Retryable.SyncQueue` when a retry can help).
pub const SYNC_QUEUE: ErrorKind = ErrorKind::new("SyncQueue");

/// The reconcile queue failed the fan-out (`Retryable.ReconcileQueue` when a retry can help),
/// or is not configured (`NonRetryable.ReconcileQueue`).
pub const RECONCILE_QUEUE: ErrorKind = ErrorKind::new("ReconcileQueue");

/// The DC status table could not be read (`Retryable.DcStatus` when a retry can help): the
/// sync fan-out sends nothing rather than guess which DCs are live.
pub const DC_STATUS: ErrorKind = ErrorKind::new("DcStatus");

/// What the handler needs, built once in `main`.
pub struct Deps<Q = SqsSyncQueue, S = DynamoDcStatus> {
    /// Every configured DC.
    pub dcs: Vec<DcCode>,
    /// The sync queue.
    pub queue: Q,
    /// The reconcile queue; `None` refuses a reconcile fan-out (not configured).
    pub reconcile_queue: Option<Q>,
    /// Each DC's go-live status: only `live` DCs get a sync request.
    pub statuses: S,
}

/// What started the fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// An EventBridge schedule.
    Schedule,
    /// A manual invocation.
    Manual,
}

impl Trigger {
    /// `schedule` or `manual`, as sync requests carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }
}

/// The handler's answer: what was sent for which slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FanoutResponse {
    /// Which fan-out; absent for the sync's (its answer predates the reconcile fan-out).
    #[serde(skip_serializing_if = "is_sync")]
    pub kind: RunKind,
    /// The slot every request carries (its deduplication id is DC + slot).
    pub slot: String,
    /// What started the fan-out.
    pub trigger: Trigger,
    /// Requests the queue accepted.
    pub sent: usize,
    /// The DCs fanned out to.
    pub dcs: Vec<DcCode>,
    /// DCs of a sync fan-out left out because they are not live, with their status (absent
    /// when none was).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldDc>,
}

fn is_sync(kind: &RunKind) -> bool {
    *kind == RunKind::Sync
}

/// A manual invocation: `{"dcs": ["DC01"], "slot": "adhoc-1", "kind": "reconcile"}`, every
/// field optional (`kind` defaults to `sync`); or what the 15-minute schedule's rule sends,
/// `{"kind": "reconcile", "event": <the scheduled event>}` (an input transformer wrapping the
/// whole event, so its time names the slot as for the hourly schedule).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    dcs: Option<Vec<DcCode>>,
    slot: Option<String>,
    kind: Option<RunKind>,
    event: Option<Value>,
}

/// Which fan-out, which DCs, which slot, which trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) kind: RunKind,
    pub(crate) dcs: Vec<DcCode>,
    pub(crate) slot: String,
    pub(crate) trigger: Trigger,
}

/// Sends one message per DC for the event's slot, on the queue of its kind, and answers what
/// was sent. A refused event is `NonRetryable.InvalidEvent`; a queue failure is `SyncQueue` or
/// `ReconcileQueue`, retryable when the queue says so (nothing is sent twice: the queue
/// deduplicates per DC and slot).
pub async fn handle<Q: SyncQueue, S: DcStatusBoard>(
    deps: &Deps<Q, S>,
    event: LambdaEvent<Value>,
) -> Result<FanoutResponse, HandlerError> {
    let Plan {
        kind,
        dcs,
        slot,
        trigger,
    } = plan(&deps.dcs, &event.payload, &event.context.request_id)?;
    let (dcs, held) = match kind {
        RunKind::Sync => live_only(&deps.statuses, dcs, &slot).await?,
        RunKind::Reconcile => (dcs, Vec::new()),
    };
    let requests = schedule::fan_out(&dcs, &slot, trigger.as_str());
    let (queue, error_kind, metric) = match kind {
        RunKind::Sync => (Some(&deps.queue), SYNC_QUEUE, "SyncRequestsSent"),
        RunKind::Reconcile => (deps.reconcile_queue.as_ref(), RECONCILE_QUEUE, "ReconcileRequestsSent"),
    };
    let queue = queue.ok_or_else(|| {
        HandlerError::new(
            RECONCILE_QUEUE,
            false,
            "no reconcile queue is configured (RECONCILE_QUEUE_URL)".to_string(),
        )
    })?;
    let sent = queue
        .send(&requests)
        .await
        .map_err(|e| HandlerError::from_error(error_kind, &e))?;
    tracing::info!(
        kind = kind.as_str(),
        slot,
        trigger = trigger.as_str(),
        sent,
        dcs = dcs.len(),
        "fan-out sent"
    );
    lambda_kit::metrics::MetricSet::new(&[("function", "fanout-sync")])
        .count(metric, sent as u64)
        .property("slot", slot.clone())
        .emit();
    Ok(FanoutResponse {
        kind,
        slot,
        trigger,
        sent,
        dcs,
        held,
    })
}

/// The live DCs of `dcs` and the held ones (one log line and one metric for the held, however
/// many). A failed status read fails the fan-out: a DC is never assumed live.
async fn live_only<S: DcStatusBoard>(
    statuses: &S,
    dcs: Vec<DcCode>,
    slot: &str,
) -> Result<(Vec<DcCode>, Vec<HeldDc>), HandlerError> {
    let records = statuses
        .all()
        .await
        .map_err(|e| HandlerError::from_error(DC_STATUS, &e))?;
    let selection = select_for_sync(&dcs, &records);
    if !selection.held.is_empty() {
        let listed: Vec<String> = selection
            .held
            .iter()
            .map(|h| format!("{}:{}", h.dc, h.status))
            .collect();
        tracing::info!(slot, held = selection.held.len(), dcs = %listed.join(","), "DCs not live: no sync request");
        lambda_kit::metrics::MetricSet::new(&[("function", "fanout-sync")])
            .count("SyncHeldDcs", selection.held.len() as u64)
            .property("slot", slot.to_string())
            .property("held", listed.join(","))
            .emit();
    }
    Ok((selection.live, selection.held))
}

/// A scheduled event's slot is its `time` floored to its kind's period (an hour for the sync,
/// 15 minutes for the reconciliation), so a double-fired schedule dedups; a manual run gets
/// `manual-<slot or request id>`. Manual runs may only name configured DCs.
pub(crate) fn plan(configured: &[DcCode], payload: &Value, request_id: &str) -> Result<Plan, HandlerError> {
    let scheduled = |kind: RunKind, time| -> Result<Plan, HandlerError> {
        Ok(Plan {
            kind,
            dcs: configured.to_vec(),
            slot: schedule::slot(time, schedule::period(kind))
                .map_err(|e| HandlerError::invalid_event(e.to_string()))?,
            trigger: Trigger::Schedule,
        })
    };
    match events::invocation::<Manual>(payload)? {
        Invocation::Scheduled(time) => scheduled(RunKind::Sync, time),
        Invocation::Manual(Manual {
            event: Some(event),
            kind,
            dcs: None,
            slot: None,
        }) => match events::scheduled_time(&event)? {
            Some(time) => scheduled(kind.unwrap_or(RunKind::Sync), time),
            None => Err(HandlerError::invalid_event(
                "`event` is not an EventBridge scheduled event",
            )),
        },
        Invocation::Manual(Manual { event: Some(_), .. }) => Err(HandlerError::invalid_event(
            "`event` (a schedule's) cannot be given with `dcs` or `slot`",
        )),
        Invocation::Manual(manual) => {
            let dcs = events::select_dcs(configured, manual.dcs)?;
            if let Some(slot) = &manual.slot {
                events::check_slot(slot)?;
            }
            Ok(Plan {
                kind: manual.kind.unwrap_or(RunKind::Sync),
                dcs,
                slot: format!("manual-{}", manual.slot.unwrap_or_else(|| request_id.to_string())),
                trigger: Trigger::Manual,
            })
        }
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
