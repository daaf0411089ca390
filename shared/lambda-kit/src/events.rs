//! Reading the two kinds of invocation every scheduled function accepts ([`invocation`]): an
//! EventBridge scheduled event, or a manual JSON payload naming some DCs; and the invocation's
//! deadline ([`invocation_deadline`]). Refusals are [`HandlerError::invalid_event`]s.

use crate::error::HandlerError;
use chrono::{DateTime, Utc};
use domain::DcCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How a scheduled function was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation<M> {
    /// By an EventBridge schedule, at this time.
    Scheduled(DateTime<Utc>),
    /// By hand, with the function's manual payload.
    Manual(M),
}

/// `payload` as a scheduled event (see [`scheduled_time`]) or else as the function's manual
/// payload `M` (a struct with `deny_unknown_fields`, so another service's event is refused
/// rather than read as an empty manual run).
pub fn invocation<M: DeserializeOwned>(payload: &Value) -> Result<Invocation<M>, HandlerError> {
    if let Some(time) = scheduled_time(payload)? {
        return Ok(Invocation::Scheduled(time));
    }
    serde_json::from_value(payload.clone())
        .map(Invocation::Manual)
        .map_err(|e| HandlerError::invalid_event(format!("manual invocation is malformed: {e}")))
}

/// `Some(time)` when `payload` is an EventBridge scheduled event, `None` when it is not an
/// EventBridge event at all (a manual invocation, checked by its own strict parser).
///
/// Refused, with the reason: an EventBridge event of any other kind (an EC2 state change, an S3
/// notification through EventBridge: anything but source `aws.events` with detail-type
/// `Scheduled Event`), and a scheduled event whose `time` is missing or unreadable. Why: a
/// scheduled function acting on a stray event, or at "now" for a slot it cannot name, would run
/// DCs for the wrong slot.
pub fn scheduled_time(payload: &Value) -> Result<Option<DateTime<Utc>>, HandlerError> {
    let Some(detail_type) = payload.get("detail-type") else {
        return Ok(None);
    };
    let source = payload.get("source").and_then(Value::as_str).unwrap_or("");
    if detail_type.as_str() != Some("Scheduled Event") || source != "aws.events" {
        return Err(HandlerError::invalid_event(format!(
            "not a scheduled event (source {:?}, detail-type {}); only EventBridge schedules and the documented manual payload are accepted",
            clip(source),
            clip(&detail_type.to_string())
        )));
    }
    let time = payload
        .get("time")
        .and_then(Value::as_str)
        .ok_or_else(|| HandlerError::invalid_event("scheduled event has no time"))?;
    DateTime::parse_from_rfc3339(time)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| {
            HandlerError::invalid_event(format!("scheduled event has an unreadable time {:?}: {e}", clip(time)))
        })
}

/// Text from an event, cut to a length fit for an error message.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Longest manual `slot` accepted: it becomes part of SQS deduplication ids (at most 128
/// characters) and DynamoDB keys.
pub const MAX_SLOT_LEN: usize = 64;

/// A manual `slot` as given, if it is at most [`MAX_SLOT_LEN`] characters of letters, digits
/// and `- _ . :`.
pub fn check_slot(slot: &str) -> Result<(), HandlerError> {
    let ok = !slot.is_empty()
        && slot.chars().count() <= MAX_SLOT_LEN
        && slot.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(HandlerError::invalid_event(format!(
            "slot {:?} must be 1 to {MAX_SLOT_LEN} letters, digits, '-', '_', '.' or ':'",
            clip(slot)
        )))
    }
}

/// The DCs a manual invocation asked for (every configured DC when it named none). Naming a DC
/// that is not configured is refused, naming it.
pub fn select_dcs(configured: &[DcCode], requested: Option<Vec<DcCode>>) -> Result<Vec<DcCode>, HandlerError> {
    match requested {
        None => Ok(configured.to_vec()),
        Some(dcs) => match dcs.iter().find(|d| !configured.contains(d)) {
            Some(unknown) => Err(HandlerError::invalid_event(format!("DC {unknown} is not in DC_LIST"))),
            None => Ok(dcs),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_scheduled_events_with_a_readable_time_are_scheduled() {
        let scheduled = |extra: Value| {
            let mut e = json!({"detail-type": "Scheduled Event", "source": "aws.events"});
            if let (Some(m), Some(x)) = (e.as_object_mut(), extra.as_object()) {
                m.extend(x.clone());
            }
            e
        };
        let t = scheduled_time(&scheduled(json!({"time": "2026-11-26T23:00:04Z"})));
        assert_eq!(t.unwrap().unwrap().to_rfc3339(), "2026-11-26T23:00:04+00:00");
        let missing = scheduled_time(&scheduled(json!({}))).unwrap_err().to_string();
        assert!(missing.contains("no time"), "{missing}");
        assert!(scheduled_time(&scheduled(json!({"time": "yesterday"}))).is_err());
        let ec2 = json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "time": "2026-11-26T23:00:04Z"});
        let e = scheduled_time(&ec2).unwrap_err();
        assert_eq!(e.error_type(), "NonRetryable.InvalidEvent");
        let e = e.to_string();
        assert!(e.contains("aws.ec2") && e.contains("not a scheduled event"), "{e}");
        let spoofed = json!({"detail-type": "Scheduled Event", "source": "my.app", "time": "2026-11-26T23:00:04Z"});
        assert!(scheduled_time(&spoofed).is_err());
        assert_eq!(scheduled_time(&json!({"dcs": ["DC01"]})).unwrap(), None);
    }

    #[derive(Debug, PartialEq, Eq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Manual {
        dcs: Option<Vec<DcCode>>,
    }

    #[test]
    fn an_invocation_is_a_schedule_or_the_manual_payload_and_nothing_else() {
        let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events",
            "time": "2026-11-26T23:00:04Z"});
        assert!(matches!(invocation::<Manual>(&scheduled), Ok(Invocation::Scheduled(_))));
        assert_eq!(
            invocation::<Manual>(&json!({})).unwrap(),
            Invocation::Manual(Manual { dcs: None })
        );
        let s3 = json!({"Records": [{"eventSource": "aws:s3"}]});
        let e = invocation::<Manual>(&s3).unwrap_err();
        assert!(e.to_string().contains("malformed"), "{e}");
        assert_eq!(e.error_type(), "NonRetryable.InvalidEvent");
    }

    #[test]
    fn slots_fit_deduplication_ids() {
        assert!(check_slot("after-recount_2026-11-26T23:00").is_ok());
        assert!(check_slot("").is_err());
        assert!(check_slot(&"x".repeat(65)).is_err());
        assert!(check_slot("a b").is_err());
    }

    #[test]
    fn manual_runs_may_only_name_configured_dcs() {
        let dc = |s: &str| DcCode::parse(s).unwrap();
        let configured = vec![dc("DC01"), dc("DC02")];
        assert_eq!(select_dcs(&configured, None).unwrap().len(), 2);
        assert_eq!(
            select_dcs(&configured, Some(vec![dc("DC02")])).unwrap(),
            vec![dc("DC02")]
        );
        assert!(select_dcs(&configured, Some(vec![dc("DC09")]))
            .unwrap_err()
            .to_string()
            .contains("DC09"));
    }
}

/// Longest budget a Lambda invocation can have (the 15-minute function timeout limit).
const MAX_BUDGET_MS: u64 = 15 * 60 * 1000;

/// The invocation's deadline from the runtime's `Lambda-Runtime-Deadline-Ms` (epoch
/// milliseconds). Why: `cargo lambda watch` (1.9) sends the function timeout in milliseconds
/// instead of an epoch time; a value no larger than the 15-minute Lambda maximum is therefore
/// read as a budget from `now`. Anything else that cannot be a deadline (zero, out of range)
/// gets the 15-minute maximum, which the caller's safety margin still keeps well inside.
pub fn invocation_deadline(deadline_ms: u64, now: DateTime<Utc>) -> DateTime<Utc> {
    let budget = |ms: u64| now + chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(0));
    if deadline_ms > 0 && deadline_ms <= MAX_BUDGET_MS {
        return budget(deadline_ms);
    }
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .filter(|d| *d > now - chrono::Duration::days(1))
        .unwrap_or_else(|| budget(MAX_BUDGET_MS))
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[test]
    fn deadlines_are_read_as_epoch_millis_or_emulator_budgets() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let real = now + chrono::Duration::seconds(900);
        assert_eq!(
            invocation_deadline(u64::try_from(real.timestamp_millis()).unwrap(), now),
            real
        );
        assert_eq!(invocation_deadline(600_000, now), now + chrono::Duration::seconds(600));
        assert_eq!(invocation_deadline(0, now), now + chrono::Duration::minutes(15));
        assert_eq!(invocation_deadline(u64::MAX, now), now + chrono::Duration::minutes(15));
        let stale = u64::try_from((now - chrono::Duration::days(3)).timestamp_millis()).unwrap();
        assert_eq!(invocation_deadline(stale, now), now + chrono::Duration::minutes(15));
    }
}
