//! Maps a schedule or manual event to the fan-out.

use adapters::aws::SqsSyncQueue;
use chrono::TimeDelta;
use domain::{schedule, DcCode};
use lambda_kit::events;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

/// What the handler needs, built once in `main`.
pub struct Deps {
    /// Every configured DC.
    pub dcs: Vec<DcCode>,
    /// The sync queue.
    pub queue: SqsSyncQueue,
}

/// A manual invocation: `{"dcs": ["DC01"], "slot": "adhoc-1"}`; both fields optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    dcs: Option<Vec<DcCode>>,
    slot: Option<String>,
}

/// Sends one message per DC for the event's slot and answers what was sent.
pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (dcs, slot, trigger) = plan(&deps.dcs, &event.payload, &event.context.request_id)?;
    let requests = schedule::fan_out(&dcs, &slot, trigger);
    let sent = deps.queue.send(&requests).await?;
    tracing::info!(slot, trigger, sent, dcs = dcs.len(), "fan-out sent");
    lambda_kit::metrics::MetricSet::new(&[("function", "fanout-sync")])
        .count("SyncRequestsSent", sent as u64)
        .property("slot", slot.clone())
        .emit();
    Ok(json!({"slot": slot, "trigger": trigger, "sent": sent, "dcs": dcs}))
}

/// Which DCs, which slot, which trigger. A scheduled event's slot is its `time` floored to the
/// hour, so a double-fired schedule dedups; a manual run gets `manual-<slot or request id>`.
/// Manual runs may only name configured DCs.
fn plan(
    configured: &[DcCode],
    payload: &Value,
    request_id: &str,
) -> Result<(Vec<DcCode>, String, &'static str), Error> {
    if let Some(time) = events::scheduled_time(payload)? {
        return Ok((
            configured.to_vec(),
            schedule::slot(time, TimeDelta::hours(1))?,
            "schedule",
        ));
    }
    let manual: Manual =
        serde_json::from_value(payload.clone()).map_err(|e| format!("manual invocation is malformed: {e}"))?;
    let dcs = events::select_dcs(configured, manual.dcs)?;
    if let Some(slot) = &manual.slot {
        events::check_slot(slot)?;
    }
    let slot = format!("manual-{}", manual.slot.unwrap_or_else(|| request_id.to_string()));
    Ok((dcs, slot, "manual"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dcs() -> Vec<DcCode> {
        ["DC01", "DC02", "DC03"]
            .iter()
            .map(|d| DcCode::parse(*d).unwrap())
            .collect()
    }

    #[test]
    fn a_scheduled_event_targets_every_dc_in_its_hour_slot() {
        let event: Value = serde_json::from_str(include_str!("../../../events/fanout-sync/scheduled.json")).unwrap();
        let (d, slot, trigger) = plan(&dcs(), &event, "req-1").unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(slot, "2026-11-26T23:00Z");
        assert_eq!(trigger, "schedule");
    }

    #[test]
    fn a_manual_event_names_configured_dcs_only() {
        let event: Value = serde_json::from_str(include_str!("../../../events/fanout-sync/manual.json")).unwrap();
        let (d, slot, trigger) = plan(&dcs(), &event, "req-1").unwrap();
        assert_eq!(d.iter().map(|d| d.as_str()).collect::<Vec<_>>(), vec!["DC02"]);
        assert_eq!(slot, "manual-rerun-after-outage");
        assert_eq!(trigger, "manual");
        let bad = json!({"dcs": ["DC09"]});
        assert!(plan(&dcs(), &bad, "r").unwrap_err().to_string().contains("DC09"));
        let garbage = json!({"dcs": "DC01", "extra": 1});
        assert!(plan(&dcs(), &garbage, "r")
            .unwrap_err()
            .to_string()
            .contains("malformed"));
        let (all, slot, _) = plan(&dcs(), &json!({}), "req-9").unwrap();
        assert_eq!((all.len(), slot.as_str()), (3, "manual-req-9"));
    }

    #[test]
    fn other_events_and_schedules_without_a_time_are_refused() {
        let ec2 = json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "time": "2026-11-26T23:00:04Z", "detail": {"state": "running"}});
        assert!(plan(&dcs(), &ec2, "r")
            .unwrap_err()
            .to_string()
            .contains("not a scheduled event"));
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]});
        assert!(plan(&dcs(), &s3, "r").unwrap_err().to_string().contains("malformed"));
        let untimed = json!({"detail-type": "Scheduled Event", "source": "aws.events"});
        assert!(plan(&dcs(), &untimed, "r").unwrap_err().to_string().contains("no time"));
        let long_slot = json!({"slot": "x".repeat(200)});
        assert!(plan(&dcs(), &long_slot, "r").unwrap_err().to_string().contains("slot"));
    }
}
