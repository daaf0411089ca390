//! Maps a schedule or manual event to reconciliation runs of the DCs. Each DC's go-live status
//! is read first ([`reconcile_one`]): a DC that is not live is reconciled report-only.

use crate::metrics::reconcile_metrics;
use adapters::aws::DynamoDcStatus;
use app::AppPorts;
use chrono::TimeDelta;
use domain::golive::DcStatus;
use domain::ports::Clock;
use domain::ports::DcStatusBoard;
use domain::reconciliation::{
    reconcile_dc_at_status, ReconcileError, ReconcilePorts, ReconcileReport, ReconcileSettings,
};
use domain::{schedule, DcCode, Retryable};
use futures::stream::{self, StreamExt};
use lambda_kit::events::{self, Invocation};
use lambda_kit::{ErrorKind, HandlerError};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tracing::{error, info};

/// Every DC failed for a reason a retry may fix (`Retryable.EveryDcFailed`).
pub const EVERY_DC_FAILED: ErrorKind = ErrorKind::new("EveryDcFailed");

/// What the handler needs, built once in `main`.
pub struct Deps<P = AppPorts, S = DynamoDcStatus> {
    /// Every port.
    pub ports: P,
    /// Thresholds and tunables.
    pub settings: ReconcileSettings,
    /// Every configured DC.
    pub dcs: Vec<DcCode>,
    /// DCs reconciled at once.
    pub concurrency: usize,
    /// Each DC's go-live status: a DC that is not live is reconciled report-only.
    pub statuses: S,
}

/// Reconciles `dc` as its go-live status allows (`domain::reconciliation::reconcile_dc_at_status`).
/// A status read that fails fails the DC's run (retryable when the table is unavailable): a DC
/// is never assumed live.
pub async fn reconcile_one<P: ReconcilePorts, S: DcStatusBoard>(
    deps: &Deps<P, S>,
    settings: &ReconcileSettings,
    dc: &DcCode,
    run_id: &str,
    deadline: chrono::DateTime<chrono::Utc>,
) -> Result<ReconcileReport, ReconcileError> {
    let status = deps.statuses.get(dc).await?.map_or(DcStatus::NotStarted, |r| r.status);
    reconcile_dc_at_status(&deps.ports, settings, dc, status, run_id, deadline).await
}

/// The handler's answer: the run and, per DC, its report or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileResponse {
    /// Shared by every DC of the invocation.
    pub run_id: String,
    /// Nothing was changed; the reports say what would have been.
    pub dry_run: bool,
    /// Per DC.
    pub dcs: BTreeMap<DcCode, DcOutcome>,
}

/// What happened to one DC, serialized as the report itself or `{"error", "retryable"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DcOutcome {
    /// Reconciled.
    Reconciled(Box<ReconcileReport>),
    /// Failed; the other DCs were still reconciled.
    Failed {
        /// Why.
        error: String,
        /// Whether the next run may succeed without a fix.
        retryable: bool,
    },
}

/// A manual invocation: `{"dcs": ["DC01"], "dry_run": true, "slot": "after-recount"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    dcs: Option<Vec<DcCode>>,
    #[serde(default)]
    dry_run: bool,
    slot: Option<String>,
}

/// What to run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) dcs: Vec<DcCode>,
    pub(crate) run_id: String,
    pub(crate) dry_run: bool,
}

/// Reconciles the planned DCs (at most `concurrency` at once) and answers a per-DC summary.
/// Fails only for a refused event (`NonRetryable.InvalidEvent`) or when every DC failed for a
/// retryable reason (`Retryable.EveryDcFailed`), so the scheduler's retry can help.
pub async fn handle<P: ReconcilePorts, S: DcStatusBoard>(
    deps: &Deps<P, S>,
    event: LambdaEvent<Value>,
) -> Result<ReconcileResponse, HandlerError> {
    let plan = plan(&deps.dcs, &event.payload, &event.context.request_id)?;
    let deadline = events::invocation_deadline(event.context.deadline, deps.ports.clock().now());
    let mut settings = deps.settings.clone();
    settings.dry_run = plan.dry_run;
    let results: Vec<(DcCode, Result<ReconcileReport, ReconcileError>)> = stream::iter(plan.dcs.iter().cloned())
        .map(|dc| {
            let settings = &settings;
            let run_id = &plan.run_id;
            async move {
                let r = reconcile_one(deps, settings, &dc, run_id, deadline).await;
                (dc, r)
            }
        })
        .buffer_unordered(deps.concurrency.max(1))
        .collect()
        .await;
    let attempted = results.len();
    let mut retryable_failures = 0;
    let mut dcs = BTreeMap::new();
    for (dc, result) in results {
        let outcome = match result {
            Ok(report) => {
                reconcile_metrics(&report).emit();
                DcOutcome::Reconciled(Box::new(report))
            }
            Err(e) => {
                error!(dc = %dc, run_id = %plan.run_id, error = %e, "reconciliation of DC failed");
                retryable_failures += usize::from(e.is_retryable());
                DcOutcome::Failed {
                    error: e.to_string(),
                    retryable: e.is_retryable(),
                }
            }
        };
        dcs.insert(dc, outcome);
    }
    if attempted > 0 && retryable_failures == attempted {
        return Err(HandlerError::new(
            EVERY_DC_FAILED,
            true,
            format!("every DC failed to reconcile (run {}); retry", plan.run_id),
        ));
    }
    info!(run_id = %plan.run_id, dcs = attempted, dry_run = plan.dry_run, "reconciliation done");
    Ok(ReconcileResponse {
        run_id: plan.run_id,
        dry_run: plan.dry_run,
        dcs,
    })
}

/// A scheduled event reconciles every DC with the run id of its 15-minute slot (a double-fired
/// schedule shares it, so nothing is adjusted or alerted twice); a manual one may name
/// configured DCs and ask for a dry run.
pub(crate) fn plan(configured: &[DcCode], payload: &Value, request_id: &str) -> Result<Plan, HandlerError> {
    match events::invocation::<Manual>(payload)? {
        Invocation::Scheduled(time) => Ok(Plan {
            dcs: configured.to_vec(),
            run_id: format!(
                "reconcile:{}",
                schedule::slot(time, TimeDelta::minutes(15)).map_err(|e| HandlerError::invalid_event(e.to_string()))?
            ),
            dry_run: false,
        }),
        Invocation::Manual(manual) => {
            let dcs = events::select_dcs(configured, manual.dcs)?;
            if let Some(slot) = &manual.slot {
                events::check_slot(slot)?;
            }
            let slot = manual.slot.unwrap_or_else(|| request_id.to_string());
            let suffix = if manual.dry_run { ":dry" } else { "" };
            Ok(Plan {
                dcs,
                run_id: format!("reconcile:manual-{slot}{suffix}"),
                dry_run: manual.dry_run,
            })
        }
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
pub(crate) mod tests;
