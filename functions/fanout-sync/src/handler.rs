//! Maps a schedule or manual event to the fan-out: one sync request per DC on the sync queue.

use adapters::aws::{QueueError, SqsSyncQueue};
use chrono::TimeDelta;
use domain::schedule::{self, SyncRequest};
use domain::{DcCode, Retryable};
use lambda_kit::events::{self, Invocation};
use lambda_kit::{ErrorKind, HandlerError};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// Where sync requests go: the FIFO sync queue in production, a recording fake in tests.
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

/// The queue failed the fan-out (`Retryable.SyncQueue` when a retry can help).
pub const SYNC_QUEUE: ErrorKind = ErrorKind::new("SyncQueue");

/// What the handler needs, built once in `main`.
pub struct Deps<Q = SqsSyncQueue> {
    /// Every configured DC.
    pub dcs: Vec<DcCode>,
    /// The sync queue.
    pub queue: Q,
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
    /// The slot every request carries (its deduplication id is DC + slot).
    pub slot: String,
    /// What started the fan-out.
    pub trigger: Trigger,
    /// Requests the queue accepted.
    pub sent: usize,
    /// The DCs fanned out to.
    pub dcs: Vec<DcCode>,
}

/// A manual invocation: `{"dcs": ["DC01"], "slot": "adhoc-1"}`; both fields optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    dcs: Option<Vec<DcCode>>,
    slot: Option<String>,
}

/// Which DCs, which slot, which trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) dcs: Vec<DcCode>,
    pub(crate) slot: String,
    pub(crate) trigger: Trigger,
}

/// Sends one message per DC for the event's slot and answers what was sent. A refused event
/// is `NonRetryable.InvalidEvent`; a queue failure is `SyncQueue`, retryable when the queue
/// says so (nothing is sent twice: the queue deduplicates per DC and slot).
pub async fn handle<Q: SyncQueue>(deps: &Deps<Q>, event: LambdaEvent<Value>) -> Result<FanoutResponse, HandlerError> {
    let Plan { dcs, slot, trigger } = plan(&deps.dcs, &event.payload, &event.context.request_id)?;
    let requests = schedule::fan_out(&dcs, &slot, trigger.as_str());
    let sent = deps
        .queue
        .send(&requests)
        .await
        .map_err(|e| HandlerError::from_error(SYNC_QUEUE, &e))?;
    tracing::info!(slot, trigger = trigger.as_str(), sent, dcs = dcs.len(), "fan-out sent");
    lambda_kit::metrics::MetricSet::new(&[("function", "fanout-sync")])
        .count("SyncRequestsSent", sent as u64)
        .property("slot", slot.clone())
        .emit();
    Ok(FanoutResponse {
        slot,
        trigger,
        sent,
        dcs,
    })
}

/// A scheduled event's slot is its `time` floored to the hour, so a double-fired schedule
/// dedups; a manual run gets `manual-<slot or request id>`. Manual runs may only name
/// configured DCs.
pub(crate) fn plan(configured: &[DcCode], payload: &Value, request_id: &str) -> Result<Plan, HandlerError> {
    match events::invocation::<Manual>(payload)? {
        Invocation::Scheduled(time) => Ok(Plan {
            dcs: configured.to_vec(),
            slot: schedule::slot(time, TimeDelta::hours(1)).map_err(|e| HandlerError::invalid_event(e.to_string()))?,
            trigger: Trigger::Schedule,
        }),
        Invocation::Manual(manual) => {
            let dcs = events::select_dcs(configured, manual.dcs)?;
            if let Some(slot) = &manual.slot {
                events::check_slot(slot)?;
            }
            Ok(Plan {
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
