//! Maps an SQS batch of apply requests to baseline runs, one DC per message, and continues an
//! apply that ran out of time by sending the next request on the function's own queue.
//!
//! Per message:
//! 1. malformed, or a DC outside `DC_LIST`: logged, alerted, acknowledged (no retry helps);
//! 2. [`apply_plan`] until the invocation deadline less the settings' safety margin; it
//!    resumes from the checkpoints, so a redelivered message never applies a confirmed chunk
//!    again;
//! 3. more to do and progress made: the next request (`from_chunk` = chunks applied) goes on
//!    the queue and the message is acknowledged; more to do and no progress (every open chunk
//!    busy in another run, or unanswered): the message comes back for retry (the queue's
//!    visibility timeout spaces the tries; after maxReceiveCount, its DLQ);
//! 4. every chunk applied: [`verify_baseline`] if time remains (the DC becomes `verified`
//!    when it passes), else a last request whose run only verifies.
//!
//! A failure a retry can fix (a store, Fusion or the WMS unavailable) returns the message; one
//! it cannot (the DC is not planned, the plan is not the current one) is alerted and
//! acknowledged.

use adapters::aws::{QueueError, SqsBaselineQueue};
use app::BaselineAppPorts;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::golive::baseline::{apply_plan, verify_baseline, ApplyReport, BaselinePorts, BaselineSettings};
use domain::golive::ApplyRequest;
use domain::ports::{Alert, AlertSink, Clock, Severity};
use domain::{DcCode, Retryable};
use lambda_kit::metrics::MetricSet;
use lambda_runtime::LambdaEvent;
use std::convert::Infallible;
use std::future::Future;
use tracing::{error, info, warn};

/// Where the next apply request goes: the function's FIFO queue, or a recording fake.
pub trait Continuation: Send + Sync {
    /// Why a send failed.
    type Error: std::error::Error + Retryable + Send + Sync + 'static;

    /// Sends `request` (deduplicated by plan and progress).
    fn send(&self, request: &ApplyRequest) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl Continuation for SqsBaselineQueue {
    type Error = QueueError;

    async fn send(&self, request: &ApplyRequest) -> Result<(), QueueError> {
        SqsBaselineQueue::send(self, request).await
    }
}

/// What the handler needs, built once in `main`.
pub struct Deps<P = BaselineAppPorts, Q = SqsBaselineQueue> {
    /// Every port of the baseline.
    pub ports: P,
    /// Chunk size, chunks in flight, mode, lease, safety margin.
    pub settings: BaselineSettings,
    /// The function's own queue.
    pub queue: Q,
    /// The DCs a request may name (`DC_LIST`).
    pub dcs: Vec<DcCode>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied as far as time allowed; the next request was sent.
    Continued(ApplyRequest),
    /// Every chunk applied and the baseline verified (`passed` or not).
    Verified {
        /// Whether the DC is now `verified`.
        passed: bool,
        /// Variances outside refused lines and unknown items.
        outside: u64,
    },
    /// Refused for good (logged and alerted).
    Refused(String),
    /// Returned for retry.
    Retry(String),
}

/// Processes each message in order (one DC per message; the queue's group is the DC). Failed
/// messages worth retrying, and every later one of the batch (FIFO), come back.
pub async fn handle<P: BaselinePorts, Q: Continuation>(
    deps: &Deps<P, Q>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Infallible> {
    let deadline = lambda_kit::events::invocation_deadline(event.context.deadline, deps.ports.clock().now());
    let mut response = SqsBatchResponse::default();
    let mut retry_rest = false;
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        if retry_rest || matches!(process(deps, record, deadline).await, Outcome::Retry(_)) {
            retry_rest = true;
            response.add_failure(id);
        }
    }
    Ok(response)
}

/// One message (see the module doc).
pub async fn process<P: BaselinePorts, Q: Continuation>(
    deps: &Deps<P, Q>,
    record: &SqsMessage,
    deadline: DateTime<Utc>,
) -> Outcome {
    let body = record.body.as_deref().unwrap_or_default();
    let request = match ApplyRequest::parse(body) {
        Ok(r) => r,
        Err(e) => return refuse(deps, None, format!("malformed apply request: {e}")).await,
    };
    let dc = request.dc.clone();
    if !deps.dcs.contains(&dc) {
        return refuse(deps, Some(&dc), format!("DC {dc} is not in DC_LIST")).await;
    }
    let report = match apply_plan(&deps.ports, &deps.settings, &dc, &request.plan, &request.by, deadline).await {
        Ok(r) => r,
        Err(e) if e.is_retryable() => return retry(&dc, format!("apply failed: {e}")),
        Err(e) => return refuse(deps, Some(&dc), format!("apply of plan {} failed: {e}", request.plan)).await,
    };
    metrics(&report);
    info!(
        dc = %dc, plan = %request.plan, chunks_applied = report.chunks_applied, chunks_total = report.chunks_total,
        this_run = report.chunks_this_run, refused = report.lines_refused, more_to_do = report.more_to_do,
        "baseline apply run done"
    );
    if report.more_to_do {
        if report.chunks_applied <= request.from_chunk && report.chunks_this_run == 0 {
            let why = report
                .stopped
                .clone()
                .unwrap_or_else(|| "no chunk could be applied in this run".into());
            return retry(&dc, why);
        }
        return continue_with(deps, &request, report.chunks_applied).await;
    }
    let stop_at = deadline - deps.settings.safety_margin;
    if deps.ports.clock().now() >= stop_at {
        // Why a message of its own: a verification reads both systems in full and must not
        // start with no time left.
        return continue_with(deps, &request, report.chunks_total).await;
    }
    match verify_baseline(&deps.ports, &deps.settings, &dc, &request.plan, &request.by, deadline).await {
        Ok(v) => {
            info!(dc = %dc, plan = %request.plan, passed = v.passed, outside = v.outside, "baseline verified");
            MetricSet::new(&[("dc", dc.as_str()), ("function", "baseline")])
                .count("BaselineVerifyOutside", v.outside)
                .property("passed", v.passed)
                .emit();
            Outcome::Verified {
                passed: v.passed,
                outside: v.outside,
            }
        }
        Err(e) if e.is_retryable() => retry(&dc, format!("verification failed: {e}")),
        Err(e) => {
            refuse(
                deps,
                Some(&dc),
                format!("verification of plan {} failed: {e}", request.plan),
            )
            .await
        }
    }
}

async fn continue_with<P: BaselinePorts, Q: Continuation>(
    deps: &Deps<P, Q>,
    request: &ApplyRequest,
    from_chunk: u32,
) -> Outcome {
    let next = ApplyRequest {
        from_chunk,
        ..request.clone()
    };
    match deps.queue.send(&next).await {
        Ok(()) => {
            info!(dc = %next.dc, plan = %next.plan, from_chunk, "baseline continues in a new invocation");
            Outcome::Continued(next)
        }
        // Why retry the message rather than fail: the apply is checkpointed, so running this
        // request again costs only the reads; the continuation is sent by that run.
        Err(e) => retry(&request.dc, format!("continuation not sent: {e}")),
    }
}

fn retry(dc: &DcCode, why: String) -> Outcome {
    warn!(dc = %dc, why, "baseline request returned for retry");
    Outcome::Retry(why)
}

async fn refuse<P: BaselinePorts, Q>(deps: &Deps<P, Q>, dc: Option<&DcCode>, why: String) -> Outcome {
    error!(dc = ?dc.map(DcCode::as_str), why, "baseline request acknowledged without effect");
    if let Some(dc) = dc.cloned().or_else(|| DcCode::parse("UNKNOWN").ok()) {
        let alert = Alert {
            subject: format!("invsync {dc}: baseline request refused"),
            body: format!(
                "invsync {dc}: a baseline apply request was refused and will not be retried. {why}\nCheck `invsync baseline status --dc {dc}`."
            ),
            dc,
            severity: Severity::Warning,
            elastic: None,
        };
        if let Err(e) = deps.ports.alerts().publish(&alert).await {
            warn!(error = %e, "alert could not be published");
        }
    }
    Outcome::Refused(why)
}

fn metrics(r: &ApplyReport) {
    MetricSet::new(&[("dc", r.dc.as_str()), ("function", "baseline")])
        .count("BaselineChunksThisRun", u64::from(r.chunks_this_run))
        .count("BaselineLinesDone", r.lines_done)
        .count("BaselineLinesRefused", r.lines_refused)
        .count("BaselineFusionRequests", r.requests)
        .property("plan", r.plan.as_str())
        .property("more_to_do", r.more_to_do)
        .emit();
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
