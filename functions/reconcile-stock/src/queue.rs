//! The per-DC mode: an SQS batch of reconcile requests from the 15-minute fan-out (one DC per
//! message, MessageGroupId = DC), answered with `ReportBatchItemFailures`; and [`handle_any`],
//! which routes an invocation to this mode or to the one-invocation mode of
//! [`crate::handler::handle`].
//!
//! A request's run id is `reconcile:<slot>` ([`ReconcileRequest::reconcile_run_id`]), the run
//! id the one-invocation mode gives the same slot: a redelivered message, a double-fired
//! schedule, or both modes in one slot find the adjustments already posted (their ids derive
//! from run id and key) and the incidents already open, and act no second time.

use crate::handler::{reconcile_one, Deps};
use crate::metrics::reconcile_metrics;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::ports::DcStatusBoard;
use domain::ports::{Alert, AlertSink, Clock, Severity};
use domain::reconciliation::ReconcilePorts;
use domain::schedule::ReconcileRequest;
use domain::{DcCode, Retryable};
use lambda_kit::{ErrorKind, HandlerError};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{error, info, warn};

/// The answer could not be serialized (`NonRetryable.Answer`; never expected).
pub const ANSWER: ErrorKind = ErrorKind::new("Answer");

/// Whether a message goes back to the queue.
#[derive(Debug, PartialEq, Eq)]
enum Disposition {
    Done,
    Retry,
}

/// Reconciles the DC of each message in order. A message whose run failed for a reason worth
/// retrying, and every later message of the batch (FIFO order), come back as batch item
/// failures (after the queue's maxReceiveCount, the dead-letter queue); a message that can
/// never succeed (malformed, a DC outside `DC_LIST`, a read no retry fixes) is logged,
/// alerted and acknowledged. Never fails the invocation as a whole.
pub async fn handle_messages<P: ReconcilePorts, S: DcStatusBoard>(
    deps: &Deps<P, S>,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    let deadline = lambda_kit::events::invocation_deadline(event.context.deadline, deps.ports.clock().now());
    let mut response = SqsBatchResponse::default();
    let mut retry_rest = false;
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        if retry_rest || process(deps, record, deadline).await == Disposition::Retry {
            retry_rest = true;
            response.add_failure(id);
        }
    }
    response
}

async fn process<P: ReconcilePorts, S: DcStatusBoard>(
    deps: &Deps<P, S>,
    record: &SqsMessage,
    deadline: DateTime<Utc>,
) -> Disposition {
    let body = record.body.as_deref().unwrap_or_default();
    let request = match ReconcileRequest::parse(body) {
        Ok(r) => r,
        Err(e) => {
            error!(message_id = ?record.message_id, error = %e, "malformed reconcile message acknowledged");
            alert(deps, None, "malformed reconcile message", &e.to_string()).await;
            return Disposition::Done;
        }
    };
    if !deps.dcs.contains(&request.dc) {
        let why = format!("DC {} is not in DC_LIST", request.dc);
        error!(dc = %request.dc, "reconcile message for a DC outside DC_LIST acknowledged");
        alert(deps, Some(&request.dc), "reconcile request refused", &why).await;
        return Disposition::Done;
    }
    let run_id = request.reconcile_run_id();
    match reconcile_one(deps, &deps.settings, &request.dc, &run_id, deadline).await {
        Ok(report) => {
            reconcile_metrics(&report).emit();
            info!(
                dc = %request.dc, run_id, keys = report.keys_compared, stopped_early = report.stopped_early,
                report_only = report.report_only.as_deref().unwrap_or(""), "reconcile message done"
            );
            Disposition::Done
        }
        Err(e) if e.is_retryable() => {
            warn!(dc = %request.dc, run_id, error = %e, "reconciliation failed; message returned for retry");
            Disposition::Retry
        }
        Err(e) => {
            error!(dc = %request.dc, run_id, error = %e, "reconciliation cannot succeed; acknowledged");
            alert(deps, Some(&request.dc), "reconciliation failed", &e.to_string()).await;
            Disposition::Done
        }
    }
}

async fn alert<P: ReconcilePorts, S>(deps: &Deps<P, S>, dc: Option<&DcCode>, what: &str, detail: &str) {
    let Some(dc) = dc.cloned().or_else(|| DcCode::parse("UNKNOWN").ok()) else {
        return;
    };
    let alert = Alert {
        subject: format!("invsync {dc}: {what}"),
        body: format!(
            "invsync {dc}: {what}. {detail}\nThe message was acknowledged and will not be retried; fix the cause (the next 15-minute run reconciles the DC again)."
        ),
        dc,
        severity: Severity::Warning,
        elastic: None,
    };
    if let Err(e) = deps.ports.alerts().publish(&alert).await {
        warn!(error = %e, "alert could not be published");
    }
}

/// Whether `payload` is an SQS event (records from `aws:sqs`).
fn is_sqs(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

/// Routes an invocation: an SQS event to [`handle_messages`] (answering its batch response),
/// anything else to the one-invocation mode [`crate::handler::handle`] (a manual run, or a
/// schedule's event as the local run sends it), with that mode's answer and errors.
pub async fn handle_any<P: ReconcilePorts, S: DcStatusBoard>(
    deps: &Deps<P, S>,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let answer = if is_sqs(&event.payload) {
        let LambdaEvent { payload, context } = event;
        let sqs: SqsEvent = serde_json::from_value(payload)
            .map_err(|e| HandlerError::invalid_event(format!("SQS event is malformed: {e}")))?;
        serde_json::to_value(handle_messages(deps, LambdaEvent::new(sqs, context)).await)
    } else {
        serde_json::to_value(crate::handler::handle(deps, event).await?)
    };
    answer.map_err(|e| HandlerError::new(ANSWER, false, format!("answer not serializable: {e}")))
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
