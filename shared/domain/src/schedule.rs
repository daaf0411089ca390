//! Schedule slots, run ids and the per-DC request message of both fan-outs (the hourly sync
//! and the 15-minute reconciliation).
//!
//! A schedule slot is the scheduled time floored to the schedule's period ([`period`]). Everything keyed by
//! it (SQS deduplication ids, reconciliation run ids) is the same for a double-fired schedule,
//! so a duplicate firing does nothing twice.

use crate::error::DomainError;
use crate::ids::DcCode;
use crate::ports::RunKind;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// The slot of `at` for a schedule of `period` (e.g. 1 hour, 15 minutes), as RFC 3339 UTC
/// minutes (`2026-11-26T23:00Z`).
pub fn slot(at: DateTime<Utc>, period: TimeDelta) -> Result<String, DomainError> {
    let floored = at.duration_trunc(period).map_err(|e| DomainError::InvalidConfig {
        name: "schedule period",
        reason: e.to_string(),
    })?;
    Ok(floored.format("%Y-%m-%dT%H:%MZ").to_string())
}

/// The period of `kind`'s schedule, which its slots are floored to: an hour for the sync, 15
/// minutes for the reconciliation.
pub fn period(kind: RunKind) -> TimeDelta {
    match kind {
        RunKind::Sync => TimeDelta::hours(1),
        RunKind::Reconcile => TimeDelta::minutes(15),
    }
}

/// Longest slot a sync request may carry. Why: `dc:slot` is the SQS FIFO deduplication id (at
/// most 128 characters) and part of run ids stored as DynamoDB keys.
pub const MAX_SLOT_LEN: usize = 80;

/// The SQS message that asks the sync function to sync one DC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The DC to sync.
    pub dc: DcCode,
    /// The schedule slot (or `manual-<id>` for an on-demand run).
    pub slot: String,
    /// `schedule` or `manual` (absent means `schedule`).
    #[serde(default = "default_trigger")]
    pub trigger: String,
}

/// The SQS message that asks the reconcile function to reconcile one DC: the same body and
/// rules as a [`SyncRequest`] (DC, slot, trigger), sent to the reconcile queue. Its run id is
/// [`SyncRequest::reconcile_run_id`].
pub type ReconcileRequest = SyncRequest;

fn default_trigger() -> String {
    "schedule".into()
}

impl SyncRequest {
    /// The FIFO deduplication id: DC + slot, so the same slot never sends a DC twice.
    pub fn dedup_id(&self) -> String {
        format!("{}:{}", self.dc, self.slot)
    }

    /// The run id of the sync this request starts.
    pub fn run_id(&self) -> String {
        format!("sync:{}:{}", self.dc, self.slot)
    }

    /// The run id of the reconciliation this request starts: `reconcile:<slot>`, the run id a
    /// one-invocation reconciliation of the same slot has, so a redelivered message, a
    /// double-fired schedule or both modes in one slot never adjust or alert twice.
    pub fn reconcile_run_id(&self) -> String {
        format!("reconcile:{}", self.slot)
    }

    /// Parses a message body, with a clear error for anything malformed: unknown fields, a
    /// slot longer than [`MAX_SLOT_LEN`] or with characters a deduplication id cannot hold, a
    /// trigger other than `schedule` or `manual`.
    pub fn parse(body: &str) -> Result<Self, DomainError> {
        let fail = |reason: String| DomainError::InvalidId {
            kind: "sync request message",
            value: crate::error::quote(body),
            reason,
        };
        let request: Self = serde_json::from_str(body).map_err(|e| fail(e.to_string()))?;
        let slot_ok = !request.slot.is_empty()
            && request.slot.chars().count() <= MAX_SLOT_LEN
            && request
                .slot
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !slot_ok {
            return Err(fail(format!(
                "slot must be 1 to {MAX_SLOT_LEN} letters, digits, '-', '_', '.' or ':'"
            )));
        }
        if !matches!(request.trigger.as_str(), "schedule" | "manual") {
            return Err(fail("trigger must be schedule or manual".into()));
        }
        Ok(request)
    }
}

/// One request per DC for a slot, in the given order, without duplicates.
pub fn fan_out(dcs: &[DcCode], slot: &str, trigger: &str) -> Vec<SyncRequest> {
    let mut seen = std::collections::BTreeSet::new();
    dcs.iter()
        .filter(|dc| seen.insert((*dc).clone()))
        .map(|dc| SyncRequest {
            dc: dc.clone(),
            slot: slot.to_string(),
            trigger: trigger.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_double_fired_schedule_lands_in_the_same_slot() {
        let hour = TimeDelta::hours(1);
        assert_eq!(slot(at("2026-11-26T23:00:00Z"), hour).unwrap(), "2026-11-26T23:00Z");
        assert_eq!(slot(at("2026-11-26T23:00:07Z"), hour).unwrap(), "2026-11-26T23:00Z");
        assert_eq!(slot(at("2026-11-26T23:59:59Z"), hour).unwrap(), "2026-11-26T23:00Z");
        assert_eq!(period(RunKind::Sync), hour);
        let quarter = period(RunKind::Reconcile);
        assert_eq!(quarter, TimeDelta::minutes(15));
        assert_eq!(slot(at("2026-11-26T23:44:10Z"), quarter).unwrap(), "2026-11-26T23:30Z");
    }

    #[test]
    fn fan_out_sends_each_dc_once_with_dc_and_slot_dedup_ids() {
        let dcs: Vec<DcCode> = ["DC01", "DC02", "DC01"]
            .iter()
            .map(|d| DcCode::parse(*d).unwrap())
            .collect();
        let reqs = fan_out(&dcs, "2026-11-26T23:00Z", "schedule");
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].dedup_id(), "DC01:2026-11-26T23:00Z");
        assert_eq!(reqs[1].run_id(), "sync:DC02:2026-11-26T23:00Z");
        assert_eq!(reqs[1].reconcile_run_id(), "reconcile:2026-11-26T23:00Z");
        let body = serde_json::to_string(&reqs[0]).unwrap();
        assert_eq!(SyncRequest::parse(&body).unwrap(), reqs[0]);
    }

    #[test]
    fn malformed_messages_get_a_clear_error() {
        for body in [
            "",
            "{",
            "{\"dc\":\"DC 01\",\"slot\":\"x\",\"trigger\":\"schedule\"}",
            "{\"dc\":\"DC01\"}",
            "[]",
            "{\"dc\":\"DC01\",\"slot\":\"a b\",\"trigger\":\"schedule\"}",
            "{\"dc\":\"DC01\",\"slot\":\"2026-11-26T23:00Z\",\"trigger\":\"cron\"}",
        ] {
            let e = SyncRequest::parse(body).unwrap_err().to_string();
            assert!(e.contains("invalid sync request message"), "{body}: {e}");
        }
    }
}
