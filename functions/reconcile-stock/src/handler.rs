//! Maps a schedule or manual event to reconciliation runs of the DCs.

use chrono::{TimeDelta, Utc};
use domain::reconciliation::{reconcile_dc, ReconcileReport, ReconcileSettings};
use domain::{schedule, DcCode, Retryable};
use futures::stream::{self, StreamExt};
use lambda_kit::events;
use lambda_kit::reports::reconcile_metrics;
use lambda_kit::wiring::AppPorts;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{error, info};

/// What the handler needs, built once in `main`.
pub struct Deps {
    /// Every port.
    pub ports: AppPorts,
    /// Thresholds and tunables.
    pub settings: ReconcileSettings,
    /// Every configured DC.
    pub dcs: Vec<DcCode>,
    /// DCs reconciled at once.
    pub concurrency: usize,
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
struct Plan {
    dcs: Vec<DcCode>,
    run_id: String,
    dry_run: bool,
}

/// Reconciles the planned DCs and answers a per-DC summary. Errors only when every DC failed
/// for a retryable reason, so the scheduler's retry can help.
pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let plan = plan(&deps.dcs, &event.payload, &event.context.request_id)?;
    let deadline = lambda_kit::events::invocation_deadline(event.context.deadline, Utc::now());
    let mut settings = deps.settings.clone();
    settings.dry_run = plan.dry_run;
    let results: Vec<(DcCode, Result<ReconcileReport, domain::reconciliation::ReconcileError>)> =
        stream::iter(plan.dcs.iter().cloned())
            .map(|dc| {
                let settings = &settings;
                let run_id = &plan.run_id;
                async move {
                    let r = reconcile_dc(&deps.ports, settings, &dc, run_id, deadline).await;
                    (dc, r)
                }
            })
            .buffer_unordered(deps.concurrency.max(1))
            .collect()
            .await;
    let mut summary = serde_json::Map::new();
    let mut retryable_failures = 0;
    for (dc, result) in &results {
        match result {
            Ok(report) => {
                reconcile_metrics(report).emit();
                summary.insert(dc.to_string(), serde_json::to_value(report)?);
            }
            Err(e) => {
                error!(dc = %dc, run_id = %plan.run_id, error = %e, "reconciliation of DC failed");
                retryable_failures += usize::from(e.is_retryable());
                summary.insert(
                    dc.to_string(),
                    json!({"error": e.to_string(), "retryable": e.is_retryable()}),
                );
            }
        }
    }
    if !results.is_empty() && retryable_failures == results.len() {
        return Err(format!("every DC failed to reconcile (run {}); retry", plan.run_id).into());
    }
    info!(run_id = %plan.run_id, dcs = results.len(), dry_run = plan.dry_run, "reconciliation done");
    Ok(json!({"run_id": plan.run_id, "dry_run": plan.dry_run, "dcs": summary}))
}

/// A scheduled event reconciles every DC with the run id of its 15-minute slot (a double-fired
/// schedule shares it, so nothing is adjusted or alerted twice); a manual one may name
/// configured DCs and ask for a dry run.
fn plan(configured: &[DcCode], payload: &Value, request_id: &str) -> Result<Plan, Error> {
    if let Some(time) = events::scheduled_time(payload)? {
        return Ok(Plan {
            dcs: configured.to_vec(),
            run_id: format!("reconcile:{}", schedule::slot(time, TimeDelta::minutes(15))?),
            dry_run: false,
        });
    }
    let manual: Manual =
        serde_json::from_value(payload.clone()).map_err(|e| format!("manual invocation is malformed: {e}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dcs() -> Vec<DcCode> {
        ["DC01", "DC02"].iter().map(|d| DcCode::parse(*d).unwrap()).collect()
    }

    #[test]
    fn a_scheduled_event_runs_every_dc_in_its_quarter_hour_slot() {
        let event: Value =
            serde_json::from_str(include_str!("../../../events/reconcile-stock/scheduled.json")).unwrap();
        let p = plan(&dcs(), &event, "r").unwrap();
        assert_eq!(p.run_id, "reconcile:2026-11-26T23:15Z");
        assert_eq!(p.dcs.len(), 2);
        assert!(!p.dry_run);
    }

    #[test]
    fn a_manual_dry_run_names_dcs_and_gets_its_own_run_id() {
        let event: Value =
            serde_json::from_str(include_str!("../../../events/reconcile-stock/manual-dry-run.json")).unwrap();
        let p = plan(&dcs(), &event, "r").unwrap();
        assert_eq!(p.dcs.iter().map(|d| d.as_str()).collect::<Vec<_>>(), vec!["DC01"]);
        assert!(p.dry_run);
        assert_eq!(p.run_id, "reconcile:manual-after-recount:dry");
        assert!(plan(&dcs(), &json!({"dcs": ["DC99"]}), "r").is_err());
        assert!(plan(&dcs(), &json!({"dry_run": "yes"}), "r").is_err());
    }
}
