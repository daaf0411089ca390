//! The AWS side of a cycle, played in process: EventBridge firing the two schedules into the
//! real `fanout-sync` handler, an SQS FIFO queue (deduplication per DC and slot, redelivery
//! of returned messages, a dead-letter count), and the real `sync-inventory` and
//! `reconcile-stock` queue handlers invoked once per message, DCs in parallel.
//!
//! Delivery faults are played here: a lost message, a message delivered twice at once, and an
//! invocation that dies at a random step (its future is dropped mid-run, as a Lambda killed
//! by a timeout or an out-of-memory leaves its work).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ports::RunKind;
use domain::schedule::SyncRequest;
use domain::Retryable;
use fanout_sync::handler::SyncQueue;
use lambda_runtime::Context;
use serde_json::{json, Value};

/// Receives before a message goes to the dead-letter queue (the template's maxReceiveCount).
pub const MAX_RECEIVES: u32 = 3;

/// The in-process queue never fails a send.
#[derive(Debug, thiserror::Error)]
#[error("queue unavailable")]
pub struct QueueDown;

impl Retryable for QueueDown {
    fn is_retryable(&self) -> bool {
        true
    }
}

/// One SQS FIFO queue: deduplicates by DC and slot for the whole run (a simulated week is
/// far shorter than nothing; SQS's window is 5 minutes, but a slot never recurs), holds
/// messages until delivered.
#[derive(Debug, Default)]
pub struct FifoQueue {
    seen: Mutex<BTreeSet<String>>,
    ready: Mutex<VecDeque<Message>>,
}

/// A message and how often it was received.
#[derive(Debug, Clone)]
pub struct Message {
    /// The request.
    pub request: SyncRequest,
    /// Receives so far.
    pub receives: u32,
}

impl FifoQueue {
    /// Takes every ready message.
    pub fn drain(&self) -> Vec<Message> {
        lock(&self.ready).drain(..).collect()
    }

    /// Returns a message for redelivery (visibility timeout over); `false` when it has been
    /// received [`MAX_RECEIVES`] times and goes to the dead-letter queue instead.
    pub fn give_back(&self, message: Message) -> bool {
        if message.receives >= MAX_RECEIVES {
            return false;
        }
        lock(&self.ready).push_back(message);
        true
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SyncQueue for FifoQueue {
    type Error = QueueDown;

    async fn send(&self, requests: &[SyncRequest]) -> Result<usize, QueueDown> {
        let mut seen = lock(&self.seen);
        let mut ready = lock(&self.ready);
        for r in requests {
            if seen.insert(r.dedup_id()) {
                ready.push_back(Message {
                    request: r.clone(),
                    receives: 0,
                });
            }
        }
        Ok(requests.len())
    }
}

/// An EventBridge scheduled event at `at`; wrapped for the reconcile rule as its input
/// transformer does.
pub fn schedule_event(kind: RunKind, at: DateTime<Utc>) -> Value {
    let event = json!({
        "version": "0",
        "id": format!("sim-{}-{}", kind.as_str(), at.timestamp()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "us-east-1",
        "resources": [],
        "detail": {}
    });
    match kind {
        RunKind::Sync => event,
        RunKind::Reconcile => json!({"kind": "reconcile", "event": event}),
    }
}

/// An SQS event of one record carrying `message`.
pub fn sqs_event<T: serde::de::DeserializeOwned>(message: &Message, id: &str) -> anyhow::Result<T> {
    let body = serde_json::to_string(&message.request)?;
    let event = json!({"Records": [{
        "messageId": id,
        "receiptHandle": id,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": (message.receives + 1).to_string(),
            "MessageGroupId": message.request.dc.to_string(),
            "MessageDeduplicationId": message.request.dedup_id(),
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:invsync-sim.fifo",
        "awsRegion": "us-east-1"
    }]});
    Ok(serde_json::from_value(event)?)
}

/// A Lambda context with the 15-minute budget (the handlers read a deadline this small as a
/// budget from the simulated now).
pub fn context(request_id: &str) -> Context {
    let mut ctx = Context::default();
    ctx.request_id = request_id.to_string();
    ctx.deadline = 15 * 60 * 1000;
    ctx
}

/// How one delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The handler acknowledged the message.
    Done,
    /// The handler returned it as a batch item failure.
    Returned,
    /// The invocation died before answering.
    Crashed,
}

/// Runs `invoke` for every message (at most `concurrency` at once), the ones in `crash`
/// under a wall-clock budget of the paired milliseconds after which the invocation is dropped
/// where it stands. Answers each message's delivery, in the order of `messages`.
///
/// Each invocation is a task of its own, as each would be a Lambda of its own: polled
/// together in one task, 12 reconciliations parsed their pages on one core of two.
pub async fn deliver<F, Fut>(
    messages: Vec<Message>,
    crash: &[(usize, u64)],
    concurrency: usize,
    invoke: F,
) -> Vec<(Message, Delivery)>
where
    F: Fn(Message, String) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let mut out = Vec::with_capacity(messages.len());
    let mut batch = Vec::new();
    for (i, mut m) in messages.into_iter().enumerate() {
        m.receives += 1;
        let id = format!("{}-{}-{}", m.request.dedup_id(), m.receives, i);
        let crash_after = crash.iter().find(|(n, _)| *n == i).map(|(_, ms)| *ms);
        let fut = invoke(m.clone(), id);
        batch.push(tokio::spawn(async move {
            let d = match crash_after {
                Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), fut).await {
                    Ok(true) => Delivery::Done,
                    Ok(false) => Delivery::Returned,
                    Err(_) => Delivery::Crashed,
                },
                None if fut.await => Delivery::Done,
                None => Delivery::Returned,
            };
            (m, d)
        }));
        if batch.len() >= concurrency.max(1) {
            out.extend(joined(std::mem::take(&mut batch)).await);
        }
    }
    out.extend(joined(batch).await);
    out
}

/// The answers of spawned deliveries in their order; a panic in one is raised here, as it
/// was where the invocation ran.
async fn joined(tasks: Vec<tokio::task::JoinHandle<(Message, Delivery)>>) -> Vec<(Message, Delivery)> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok(answer) => out.push(answer),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}
