//! Maps an SQS batch of sync requests to `domain::sync::sync_dc` runs, answering with
//! `ReportBatchItemFailures`.

use crate::report::{sync_metrics, sync_run_report};
use app::{AppPorts, ConfigError};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::ports::{Alert, AlertSink, Clock, RunReports, Severity};
use domain::schedule::SyncRequest;
use domain::sync::{sync_dc, SyncPorts, SyncSettings};
use domain::{DcCode, Retryable};
use lambda_runtime::LambdaEvent;
use std::convert::Infallible;
use std::future::Future;
use tracing::{error, info, warn};

/// The ports the sync handler needs: the sync engine's, where run reports go, and a way to
/// re-read credentials Fusion rejected.
pub trait SyncFunctionPorts: SyncPorts {
    /// Run report storage.
    type Runs: RunReports;

    /// Run report storage.
    fn run_reports(&self) -> &Self::Runs;

    /// When Fusion rejected the credentials and they come from a secret, reads the secret again
    /// (`Ok(true)`); otherwise does nothing. Called before every message, so it must cost
    /// nothing when there is nothing to do.
    fn reload_rejected_credentials(&self) -> impl Future<Output = Result<bool, ConfigError>> + Send;
}

impl SyncFunctionPorts for AppPorts {
    type Runs = adapters::aws::DynamoRunReports;

    fn run_reports(&self) -> &Self::Runs {
        &self.runs
    }

    fn reload_rejected_credentials(&self) -> impl Future<Output = Result<bool, ConfigError>> + Send {
        self.reload_fusion_secret_if_rejected()
    }
}

/// What the handler needs, built once in `main`.
pub struct Deps<P = AppPorts> {
    /// Every port.
    pub ports: P,
    /// Sync tunables.
    pub settings: SyncSettings,
}

/// Whether a message goes back to the queue.
#[derive(Debug, PartialEq, Eq)]
enum Disposition {
    Done,
    Retry,
}

/// Processes each message in order. A message that failed for a reason worth retrying, and
/// every later message of the batch (FIFO order must hold), are returned as batch item
/// failures; a message that can never succeed is recorded, alerted and acknowledged. Never
/// fails the invocation as a whole: every outcome is per message.
pub async fn handle<P: SyncFunctionPorts>(
    deps: &Deps<P>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Infallible> {
    let now = deps.ports.clock().now();
    let deadline = lambda_kit::events::invocation_deadline(event.context.deadline, now);
    let invocation = event.context.request_id.clone();
    tracing::debug!(deadline = %deadline, budget_ms = (deadline - now).num_milliseconds(), "invocation budget");
    let mut response = SqsBatchResponse::default();
    let mut retry_rest = false;
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        if retry_rest || process(deps, record, &invocation, deadline).await == Disposition::Retry {
            retry_rest = true;
            response.add_failure(id);
        }
    }
    Ok(response)
}

async fn process<P: SyncFunctionPorts>(
    deps: &Deps<P>,
    record: &SqsMessage,
    invocation: &str,
    deadline: DateTime<Utc>,
) -> Disposition {
    let body = record.body.as_deref().unwrap_or_default();
    let request = match SyncRequest::parse(body) {
        Ok(r) => r,
        Err(e) => {
            error!(message_id = ?record.message_id, error = %e, "malformed sync message acknowledged");
            alert(deps, None, "malformed sync message", &e.to_string()).await;
            return Disposition::Done;
        }
    };
    if let Err(e) = deps.ports.reload_rejected_credentials().await {
        warn!(dc = %request.dc, error = %e, "the Fusion secret could not be read again; the held rejection stays");
    }
    let short: String = invocation.chars().take(8).collect();
    let run_id = format!("{}:{short}", request.run_id());
    let started = deps.ports.clock().now();
    match sync_dc(&deps.ports, &deps.settings, &request.dc, &run_id, deadline).await {
        Ok(mut report) => {
            report.duration_ms = u64::try_from((deps.ports.clock().now() - started).num_milliseconds()).unwrap_or(0);
            sync_metrics(&report).emit();
            if let Err(e) = deps
                .ports
                .run_reports()
                .save(&sync_run_report(&request.dc, &report, started))
                .await
            {
                warn!(dc = %request.dc, run_id, error = %e, "run report not saved");
            }
            if let Some(cause) = &report.systemic {
                // Why: a systemic failure (credentials, role) is not the message's fault; it is
                // retried (and dead-lettered after the queue's maxReceiveCount) while the
                // transactions stay pending. The critical alert was sent by the run.
                warn!(dc = %request.dc, run_id, cause = %cause, "sync run stopped for a systemic failure; message returned for retry");
                return Disposition::Retry;
            }
            info!(dc = %request.dc, run_id, synced = report.synced, accepted = report.accepted, failed = report.failed, stopped_early = report.stopped_early, "sync message done");
            Disposition::Done
        }
        Err(e) if e.is_retryable() => {
            warn!(dc = %request.dc, run_id, error = %e, "sync run failed; message returned for retry");
            Disposition::Retry
        }
        Err(e) => {
            error!(dc = %request.dc, run_id, error = %e, "sync run cannot succeed; acknowledged");
            alert(deps, Some(&request.dc), "sync run failed", &e.to_string()).await;
            Disposition::Done
        }
    }
}

async fn alert<P: SyncFunctionPorts>(deps: &Deps<P>, dc: Option<&DcCode>, what: &str, detail: &str) {
    let Some(dc) = dc.cloned().or_else(|| DcCode::parse("UNKNOWN").ok()) else {
        return;
    };
    let alert = Alert {
        subject: format!("invsync {dc}: {what}"),
        body: format!(
            "invsync {dc}: {what}. {detail}\nThe message was acknowledged and will not be retried; fix the cause and run the fan-out again for this DC."
        ),
        dc,
        severity: Severity::Warning,
        elastic: None,
    };
    if let Err(e) = deps.ports.alerts().publish(&alert).await {
        warn!(error = %e, "alert could not be published");
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
