//! DC go-live statuses, their record, and the moves allowed between them.

use crate::console::UserId;
use crate::error::DomainError;
use crate::ids::DcCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a DC stands. A DC with no record is [`DcStatus::NotStarted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DcStatus {
    /// Nothing done yet: Fusion holds its old numbers; no sync, no reconciliation actions.
    NotStarted,
    /// A baseline plan was taken at an outbox watermark; nothing applied yet.
    Planned,
    /// The plan is being applied to Fusion (resumable); the outbox stays held at the watermark.
    Baselining,
    /// The applied baseline was verified by a dry-run reconciliation; ready to cut over.
    Verified,
    /// Cut over: synced hourly, reconciled with alerts, holds and corrections.
    Live,
    /// Taken out of `live` by a person (maintenance, incident): held like a DC not yet live.
    Maintenance,
}

impl DcStatus {
    /// Every status, in go-live order.
    pub const ALL: [DcStatus; 6] = [
        DcStatus::NotStarted,
        DcStatus::Planned,
        DcStatus::Baselining,
        DcStatus::Verified,
        DcStatus::Live,
        DcStatus::Maintenance,
    ];

    /// The stored name (`not_started`, `planned`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DcStatus::NotStarted => "not_started",
            DcStatus::Planned => "planned",
            DcStatus::Baselining => "baselining",
            DcStatus::Verified => "verified",
            DcStatus::Live => "live",
            DcStatus::Maintenance => "maintenance",
        }
    }

    /// Whether the hourly fan-out sends this DC a sync message. Only `live`: before cut-over
    /// the outbox is part of the baseline and must not post on top of it.
    pub fn syncs(self) -> bool {
        self == DcStatus::Live
    }

    /// Whether the reconciliation may act on this DC (auto-corrections, review tasks, alerts,
    /// holds). Only `live`: before cut-over every key differs and nothing must be held.
    pub fn acts_on_variances(self) -> bool {
        self == DcStatus::Live
    }

    /// Whether `self -> next` is an allowed move. Re-entering the same status is allowed for
    /// `planned` (a new plan replaces the old) and `baselining` (a resumed apply).
    /// `baselining -> planned` is a new plan after a verification that did not pass; the
    /// baseline allows it only once every chunk of the current plan is applied
    /// (`golive::baseline::take_plan`), so no chunk is in flight when its plan is replaced.
    pub fn may_become(self, next: DcStatus) -> bool {
        use DcStatus::*;
        matches!(
            (self, next),
            (NotStarted | Planned | Baselining | Verified | Maintenance, Planned)
                | (Planned | Baselining | Verified, Baselining)
                | (Baselining, Verified)
                | (Verified | Maintenance, Live)
                | (Live, Maintenance)
        )
    }
}

impl fmt::Display for DcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DcStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DcStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| DomainError::InvalidId {
                kind: "DC status",
                value: s.chars().take(40).collect(),
                reason: "must be one of not_started, planned, baselining, verified, live, maintenance".into(),
            })
    }
}

/// The WMS outbox position a baseline was taken at: transactions at or before it are part of
/// the baseline (never posted); those after it sync once the DC is live. The WMS contract's
/// per-DC `sequence`, increasing in capture order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OutboxWatermark(pub u64);

impl fmt::Display for OutboxWatermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A DC's stored status: what, who, when, why, and the version for conditional writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcStatusRecord {
    /// The DC.
    pub dc: DcCode,
    /// Where it stands.
    pub status: DcStatus,
    /// Who moved it there (a person, or the baseline function's own id).
    pub changed_by: UserId,
    /// When.
    pub changed_at: DateTime<Utc>,
    /// Why, as the person said it (required for `maintenance`).
    pub reason: Option<String>,
    /// The outbox watermark of the current baseline plan, once planned.
    pub watermark: Option<OutboxWatermark>,
    /// Incremented on every change; a write names the version it read.
    pub version: u64,
}

impl DcStatusRecord {
    /// The record of a DC nobody has touched: `not_started`, version 0.
    pub fn not_started(dc: DcCode, at: DateTime<Utc>) -> Result<Self, DomainError> {
        Ok(Self {
            dc,
            status: DcStatus::NotStarted,
            changed_by: UserId::parse("invsync")?,
            changed_at: at,
            reason: None,
            watermark: None,
            version: 0,
        })
    }
}

/// A requested move, checked by [`DcStatusRecord::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcStatusChange {
    /// The status asked for.
    pub to: DcStatus,
    /// Who asks.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// Why (required for `maintenance`).
    pub reason: Option<String>,
    /// A new watermark (set when moving to `planned`; kept otherwise).
    pub watermark: Option<OutboxWatermark>,
}

impl DcStatusRecord {
    /// The record after `change`, or why the move is refused. The caller writes it
    /// conditionally on `self.version`.
    pub fn apply(&self, change: DcStatusChange) -> Result<DcStatusRecord, DomainError> {
        let refuse = |reason: &str| DomainError::IllegalStatusChange {
            dc: self.dc.to_string(),
            from: self.status.as_str(),
            to: change.to.as_str(),
            reason: reason.into(),
        };
        if !self.status.may_become(change.to) {
            return Err(refuse("not a step of the go-live path"));
        }
        let reason = change
            .reason
            .clone()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if change.to == DcStatus::Maintenance && reason.is_none() {
            return Err(refuse("taking a DC out of live needs a reason"));
        }
        if change.to == DcStatus::Planned && change.watermark.is_none() {
            return Err(refuse("a plan needs its outbox watermark"));
        }
        Ok(DcStatusRecord {
            dc: self.dc.clone(),
            status: change.to,
            changed_by: change.by,
            changed_at: change.at,
            reason,
            watermark: change.watermark.or(self.watermark),
            version: self.version + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: DcStatus) -> DcStatusRecord {
        let mut r = DcStatusRecord::not_started(DcCode::parse("DC01").unwrap(), Utc::now()).unwrap();
        r.status = status;
        r
    }

    fn change(to: DcStatus) -> DcStatusChange {
        DcStatusChange {
            to,
            by: UserId::parse("ann").unwrap(),
            at: Utc::now(),
            reason: None,
            watermark: Some(OutboxWatermark(7)),
        }
    }

    #[test]
    fn the_go_live_path_moves_forward_one_step_at_a_time() {
        let mut r = rec(DcStatus::NotStarted);
        for to in [
            DcStatus::Planned,
            DcStatus::Baselining,
            DcStatus::Verified,
            DcStatus::Live,
        ] {
            r = r.apply(change(to)).unwrap();
            assert_eq!(r.status, to);
        }
        assert_eq!(r.version, 4);
        assert_eq!(r.watermark, Some(OutboxWatermark(7)));
    }

    #[test]
    fn a_dc_cannot_skip_verification_or_go_live_from_scratch() {
        assert!(rec(DcStatus::NotStarted).apply(change(DcStatus::Live)).is_err());
        assert!(rec(DcStatus::Baselining).apply(change(DcStatus::Live)).is_err());
        assert!(rec(DcStatus::Planned).apply(change(DcStatus::Verified)).is_err());
        assert!(rec(DcStatus::Live).apply(change(DcStatus::Planned)).is_err());
    }

    #[test]
    fn maintenance_needs_a_reason_and_returns_to_live() {
        let live = rec(DcStatus::Live);
        assert!(live.apply(change(DcStatus::Maintenance)).is_err());
        let mut c = change(DcStatus::Maintenance);
        c.reason = Some("  Fusion patching  ".into());
        let m = live.apply(c).unwrap();
        assert_eq!(m.reason.as_deref(), Some("Fusion patching"));
        assert!(!m.status.syncs() && !m.status.acts_on_variances());
        assert_eq!(m.apply(change(DcStatus::Live)).unwrap().status, DcStatus::Live);
    }

    #[test]
    fn only_live_syncs_and_acts() {
        for s in DcStatus::ALL {
            assert_eq!(s.syncs(), s == DcStatus::Live);
            assert_eq!(s.acts_on_variances(), s == DcStatus::Live);
            assert_eq!(s.as_str().parse::<DcStatus>().unwrap(), s);
        }
        assert!("LIVE".parse::<DcStatus>().is_err());
    }
}
