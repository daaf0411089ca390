//! [`DcStatusDesk`]: people reading and moving DC go-live statuses, with the console's rules
//! (authorization per DC, one audit entry per change). It needs only the DC status table and
//! the audit trail, so the CLI's `invsync dc ...` runs without Fusion or WMS credentials.

use crate::ConsoleError;
use chrono::{DateTime, Utc};
use domain::console::{authorize, Action, AuditEntry, AuditId, Principal, Reason};
use domain::golive::{declare_dc_live, move_dc, DcStatus, DcStatusChange, DcStatusRecord, MoveError};
use domain::ids::DcCode;
use domain::ports::{AuditLog, DcStatusBoard};
use tracing::warn;

/// What a person asks of a DC's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRequest {
    /// `live` -> `maintenance`: no sync, report-only reconciliation until resumed.
    Maintenance(Reason),
    /// `maintenance` -> `live`.
    Resume,
    /// `not_started` -> `live` without a baseline (a DC invsync synced before go-live
    /// statuses existed).
    DeclareLive(Reason),
}

/// DC statuses for people, over the status table `B` and the audit trail `A`.
#[derive(Debug, Clone)]
pub struct DcStatusDesk<B, A> {
    board: B,
    audit: A,
}

impl<B: DcStatusBoard, A: AuditLog> DcStatusDesk<B, A> {
    /// A desk over `board` and `audit`.
    pub fn new(board: B, audit: A) -> Self {
        Self { board, audit }
    }

    /// The status table.
    pub fn board(&self) -> &B {
        &self.board
    }

    /// Every DC of `dcs` with its record (`not_started`, version 0, for a DC without one), in
    /// the order given. Every role, for DCs in the caller's scope.
    pub async fn statuses(
        &self,
        who: Option<&Principal>,
        dcs: &[DcCode],
        now: DateTime<Utc>,
    ) -> Result<Vec<DcStatusRecord>, ConsoleError> {
        for dc in dcs {
            authorize(who, Action::ViewDcStatus, dc)?;
        }
        let stored = self.board.all().await?;
        dcs.iter()
            .map(|dc| match stored.iter().find(|r| &r.dc == dc) {
                Some(r) => Ok(r.clone()),
                None => {
                    DcStatusRecord::not_started(dc.clone(), now).map_err(|e| ConsoleError::BadRequest(e.to_string()))
                }
            })
            .collect()
    }

    /// Moves `dc` as `request` asks: checked by the domain's go-live rules, written only on the
    /// version read (someone else's move in between is a conflict), then audited
    /// (`change_dc_status`, target `dc:<dc>`, before and after). Managers and the integration
    /// team. A move the rules refuse is a bad request naming the statuses.
    pub async fn change(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        request: StatusRequest,
        now: DateTime<Utc>,
    ) -> Result<DcStatusRecord, ConsoleError> {
        authorize(who, Action::ChangeDcStatus, dc)?;
        let p = who.ok_or(ConsoleError::Unauthenticated)?;
        let before = self.board.get(dc).await?;
        let change = |to, reason: Option<&Reason>| DcStatusChange {
            to,
            by: p.user.clone(),
            at: now,
            reason: reason.map(|r| r.as_str().to_string()),
            watermark: None,
        };
        let moved = match &request {
            StatusRequest::Maintenance(reason) => {
                move_dc(&self.board, dc, change(DcStatus::Maintenance, Some(reason))).await
            }
            StatusRequest::Resume => {
                // Why checked here: `live` is also the end of a baseline (verified -> live),
                // which only `invsync baseline cutover` may do.
                let from = before.as_ref().map_or(DcStatus::NotStarted, |r| r.status);
                if from != DcStatus::Maintenance {
                    return Err(ConsoleError::BadRequest(format!(
                        "DC {dc} is {from}, not in maintenance: only a DC in maintenance resumes (a baselined DC goes live by `invsync baseline cutover`)"
                    )));
                }
                move_dc(&self.board, dc, change(DcStatus::Live, None)).await
            }
            StatusRequest::DeclareLive(reason) => {
                declare_dc_live(&self.board, dc, p.user.clone(), now, reason.as_str()).await
            }
        };
        let after = moved.map_err(|e| match e {
            MoveError::Refused(e) => ConsoleError::BadRequest(e.to_string()),
            MoveError::Conflict { .. } => ConsoleError::Conflict(e.to_string()),
            MoveError::Store(e) => e.into(),
        })?;
        let reason = match request {
            StatusRequest::Maintenance(r) | StatusRequest::DeclareLive(r) => Some(r),
            StatusRequest::Resume => None,
        };
        let target = format!("dc:{dc}");
        let entry = AuditEntry {
            id: AuditId::of(Action::ChangeDcStatus, &target, after.version),
            dc: dc.clone(),
            at: now,
            actor: p.user.clone(),
            action: Action::ChangeDcStatus,
            target,
            before: before.and_then(|b| serde_json::to_value(b).ok()),
            after: serde_json::to_value(&after).ok(),
            reason,
        };
        if let Err(e) = self.audit.append(&entry).await {
            warn!(id = entry.id.as_str(), error = %e, "audit entry could not be written");
            return Err(ConsoleError::Unavailable(format!(
                "DC {dc} is now {} but its audit entry could not be written ({e})",
                after.status
            )));
        }
        Ok(after)
    }
}
