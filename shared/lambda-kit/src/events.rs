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
