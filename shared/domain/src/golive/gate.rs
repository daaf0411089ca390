//! What a DC's go-live status lets the hourly sync and the reconciliation do: the fan-out
//! sends sync requests only for DCs whose status [`DcStatus::syncs`]; the reconciliation of a
//! DC whose status does not [`DcStatus::acts_on_variances`] is report-only.

use super::status::{DcStatus, DcStatusRecord};
use crate::console::UserId;
use crate::error::DomainError;
use crate::ids::DcCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A configured DC the hourly fan-out leaves out, and the status that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldDc {
    /// The DC.
    pub dc: DcCode,
    /// Its status (never `live`).
    pub status: DcStatus,
}

/// The DCs of one hourly fan-out, split by status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncSelection {
    /// DCs that get a sync request, in the order they were configured.
    pub live: Vec<DcCode>,
    /// DCs left out, in the order they were configured.
    pub held: Vec<HeldDc>,
}

/// Splits `dcs` (the fan-out's DCs) by the statuses in `records`: a DC without a record is
/// `not_started` and held. Records of DCs not in `dcs` are ignored.
pub fn select_for_sync(dcs: &[DcCode], records: &[DcStatusRecord]) -> SyncSelection {
    let by_dc: BTreeMap<&DcCode, DcStatus> = records.iter().map(|r| (&r.dc, r.status)).collect();
    let mut out = SyncSelection::default();
    for dc in dcs {
        let status = by_dc.get(dc).copied().unwrap_or(DcStatus::NotStarted);
        if status.syncs() {
            out.live.push(dc.clone());
        } else {
            out.held.push(HeldDc { dc: dc.clone(), status });
        }
    }
    out
}

/// How the reconciliation may treat a DC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconcileMode {
    /// Live: compare and act by tier (corrections, review tasks, alerts, holds).
    Act,
    /// Not live: compare and report only, as a dry run; the text says why.
    ReportOnly(String),
}

/// The reconciliation mode `status` allows for `dc`.
pub fn reconcile_mode(dc: &DcCode, status: DcStatus) -> ReconcileMode {
    if status.acts_on_variances() {
        ReconcileMode::Act
    } else {
        ReconcileMode::ReportOnly(format!(
            "DC {dc} is {status}, not live: report only (no corrections, review tasks, alerts or holds)"
        ))
    }
}

/// A DC declared `live` without a baseline: one that invsync synced before go-live statuses
/// existed (the upgrade to this release), or a simulator's DC in a local run. Allowed only from
/// `not_started` (a DC with no record), with a reason; anything else goes the go-live path
/// ([`DcStatusRecord::apply`]). The caller writes it conditionally on `current.version`.
pub fn declare_live(
    current: &DcStatusRecord,
    by: UserId,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<DcStatusRecord, DomainError> {
    let refuse = |why: &str| DomainError::IllegalStatusChange {
        dc: current.dc.to_string(),
        from: current.status.as_str(),
        to: DcStatus::Live.as_str(),
        reason: why.into(),
    };
    if current.status != DcStatus::NotStarted {
        return Err(refuse(
            "only a DC not started may be declared live; this one is on the go-live path",
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(refuse("declaring a DC live without a baseline needs a reason"));
    }
    Ok(DcStatusRecord {
        dc: current.dc.clone(),
        status: DcStatus::Live,
        changed_by: by,
        changed_at: at,
        reason: Some(reason.to_string()),
        watermark: current.watermark,
        version: current.version + 1,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::Utc;

    fn dc(s: &str) -> DcCode {
        DcCode::parse(s).unwrap()
    }

    fn rec(d: &str, status: DcStatus) -> DcStatusRecord {
        let mut r = DcStatusRecord::not_started(dc(d), Utc::now()).unwrap();
        r.status = status;
        r
    }

    #[test]
    fn only_live_dcs_are_selected_and_a_dc_without_a_record_is_held_as_not_started() {
        let dcs = [dc("DC01"), dc("DC02"), dc("DC03"), dc("DC04")];
        let records = [
            rec("DC04", DcStatus::Live),
            rec("DC02", DcStatus::Baselining),
            rec("DC01", DcStatus::Live),
            rec("DC09", DcStatus::Live),
        ];
        let s = select_for_sync(&dcs, &records);
        assert_eq!(s.live, [dc("DC01"), dc("DC04")]);
        assert_eq!(
            s.held,
            [
                HeldDc {
                    dc: dc("DC02"),
                    status: DcStatus::Baselining
                },
                HeldDc {
                    dc: dc("DC03"),
                    status: DcStatus::NotStarted
                }
            ]
        );
    }

    #[test]
    fn every_status_but_live_reconciles_report_only_and_says_why() {
        for status in DcStatus::ALL {
            match reconcile_mode(&dc("DC05"), status) {
                ReconcileMode::Act => assert_eq!(status, DcStatus::Live),
                ReconcileMode::ReportOnly(why) => {
                    assert_ne!(status, DcStatus::Live);
                    assert!(why.contains("DC05") && why.contains(status.as_str()), "{why}");
                }
            }
        }
    }

    #[test]
    fn only_a_dc_not_started_may_be_declared_live_and_only_with_a_reason() {
        let by = UserId::parse("ops").unwrap();
        let fresh = rec("DC01", DcStatus::NotStarted);
        let live = declare_live(&fresh, by.clone(), Utc::now(), " synced before go-live tracking ").unwrap();
        assert_eq!((live.status, live.version), (DcStatus::Live, 1));
        assert_eq!(live.reason.as_deref(), Some("synced before go-live tracking"));
        assert!(declare_live(&fresh, by.clone(), Utc::now(), "  ").is_err());
        for status in DcStatus::ALL.into_iter().filter(|s| *s != DcStatus::NotStarted) {
            assert!(
                declare_live(&rec("DC01", status), by.clone(), Utc::now(), "why").is_err(),
                "{status}"
            );
        }
    }
}
