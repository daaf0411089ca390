//! Reading the two kinds of invocation every scheduled function accepts: an EventBridge
//! scheduled event, or a manual JSON payload naming some DCs.

use chrono::{DateTime, Utc};
use domain::DcCode;
use serde_json::Value;

/// `Some(time)` when `payload` is an EventBridge scheduled event (its `time`, or `now` when
/// absent), `None` for anything else (a manual invocation). An unreadable `time` is an error.
pub fn scheduled_time(payload: &Value, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
    if payload.get("detail-type").is_none() {
        return Ok(None);
    }
    let time = payload
        .get("time")
        .and_then(Value::as_str)
        .map(DateTime::parse_from_rfc3339)
        .transpose()
        .map_err(|e| format!("scheduled event has an unreadable time: {e}"))?
        .map_or(now, |t| t.with_timezone(&Utc));
    Ok(Some(time))
}

/// The DCs a manual invocation asked for (every configured DC when it named none). Naming a DC
/// that is not configured is refused, naming it.
pub fn select_dcs(configured: &[DcCode], requested: Option<Vec<DcCode>>) -> Result<Vec<DcCode>, String> {
    match requested {
        None => Ok(configured.to_vec()),
        Some(dcs) => match dcs.iter().find(|d| !configured.contains(d)) {
            Some(unknown) => Err(format!("DC {unknown} is not in DC_LIST")),
            None => Ok(dcs),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_events_give_their_time_and_manual_ones_none() {
        let now = Utc::now();
        let t = scheduled_time(
            &json!({"detail-type": "Scheduled Event", "time": "2026-11-26T23:00:04Z"}),
            now,
        );
        assert_eq!(t.unwrap().unwrap().to_rfc3339(), "2026-11-26T23:00:04+00:00");
        assert_eq!(
            scheduled_time(&json!({"detail-type": "Scheduled Event"}), now).unwrap(),
            Some(now)
        );
        assert!(scheduled_time(&json!({"detail-type": "x", "time": "yesterday"}), now).is_err());
        assert_eq!(scheduled_time(&json!({"dcs": ["DC01"]}), now).unwrap(), None);
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
