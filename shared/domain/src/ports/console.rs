//! The console's ports: the reads and guarded writes the operator console needs beyond what
//! the engines use (task lifecycle, incident acknowledgement and release, the audit trail,
//! ledger and run-report browsing, hold release at the WMS). Separate traits so the engines'
//! ports stay as they are; the same adapters implement both.

use crate::console::{AuditEntry, PageOf, PageRequest, Reason, TaskState, TaskStatus, UserId};
use crate::ids::{DcCode, ItemNumber};
use crate::ledger::SyncState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::future::Future;

use super::keys::{BalanceKeyText, RunKind, TaskKey};
use super::ops::{Incident, ReviewTask, RunReport, TaskKind};
use super::store::{LedgerRow, StoreError};
use super::wms::WmsError;

/// A review task with its console state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRecord {
    /// The task as last opened or updated by the engines.
    pub task: ReviewTask,
    /// The console lifecycle (status, version, claim, resolution).
    pub state: TaskState,
    /// When the current task for the key was opened.
    pub opened_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Why it was closed (by the automation or a person).
    pub closed_reason: Option<String>,
}

/// Which tasks a list returns (the DC is a separate argument).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this kind.
    pub kind: Option<TaskKind>,
    /// Only this status; `None`: every status except `closed`.
    pub status: Option<TaskStatus>,
}

impl TaskFilter {
    /// Whether `record` passes the filter.
    pub fn matches(&self, record: &TaskRecord) -> bool {
        self.kind.is_none_or(|k| k == record.task.kind)
            && match self.status {
                Some(s) => s == record.state.status,
                None => record.state.status.is_active(),
            }
    }
}

/// The review tasks as the console sees them (the same records `ReviewTasks` writes).
pub trait TaskBoard: Send + Sync {
    /// One page of `dc`'s tasks passing `filter`, in key order.
    fn list_tasks(
        &self,
        dc: &DcCode,
        filter: TaskFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Result<PageOf<TaskRecord>, StoreError>> + Send;

    /// The stored task for `(dc, key)`, active or closed.
    fn task(&self, dc: &DcCode, key: &TaskKey) -> impl Future<Output = Result<Option<TaskRecord>, StoreError>> + Send;

    /// Writes `state` only while the stored version is `expected_version` (a record written
    /// by the engines before the console existed counts as version 0); `Conflict` otherwise.
    /// A `closed` state closes the record with `closed_reason`.
    fn save_state(
        &self,
        dc: &DcCode,
        key: &TaskKey,
        state: &TaskState,
        expected_version: u64,
        closed_reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many of `dc`'s tasks are not closed.
    fn count_active(&self, dc: &DcCode) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// An open incident with what people did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRecord {
    /// The incident.
    pub incident: Incident,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<(UserId, DateTime<Utc>)>,
    /// Who released its hold, when and why. The reconciliation never places the hold again for
    /// this incident; a new incident places a new one.
    pub hold_released: Option<(UserId, DateTime<Utc>, Reason)>,
}

/// Incidents as the console sees them.
pub trait IncidentBoard: Send + Sync {
    /// One page of `dc`'s open incidents, in key order.
    fn list_incidents(
        &self,
        dc: &DcCode,
        page: &PageRequest,
    ) -> impl Future<Output = Result<PageOf<IncidentRecord>, StoreError>> + Send;

    /// The open incident for `(dc, key)`.
    fn incident(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
    ) -> impl Future<Output = Result<Option<IncidentRecord>, StoreError>> + Send;

    /// Records the first acknowledgement of the open incident; `Ok(false)` when it was
    /// already acknowledged (the first one is kept) or none is open.
    fn acknowledge(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that a person released the incident's hold; `Ok(false)` when a release was
    /// already recorded (the first is kept) or none is open.
    fn record_release(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        by: &UserId,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The append-only audit trail. No update or delete exists.
pub trait AuditLog: Send + Sync {
    /// Appends `entry` unless one with its id exists; `Ok(false)` then (a repeat).
    fn append(&self, entry: &AuditEntry) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// One page of `dc`'s entries, newest first.
    fn list_audit(
        &self,
        dc: &DcCode,
        page: &PageRequest,
    ) -> impl Future<Output = Result<PageOf<AuditEntry>, StoreError>> + Send;
}

/// Ledger reads for people.
pub trait LedgerBrowser: Send + Sync {
    /// One page of `dc`'s rows in `state`, oldest change first; with `changed_before`, only
    /// rows last changed before it (stale `in_flight` / `accepted`).
    fn list_rows(
        &self,
        dc: &DcCode,
        state: SyncState,
        changed_before: Option<DateTime<Utc>>,
        page: &PageRequest,
    ) -> impl Future<Output = Result<PageOf<LedgerRow>, StoreError>> + Send;

    /// How many of `dc`'s rows are in `state`.
    fn count_rows(&self, dc: &DcCode, state: SyncState) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Run report reads.
pub trait RunHistory: Send + Sync {
    /// One page of `dc`'s reports of `kind`, newest first.
    fn list_runs(
        &self,
        dc: &DcCode,
        kind: RunKind,
        page: &PageRequest,
    ) -> impl Future<Output = Result<PageOf<RunReport>, StoreError>> + Send;

    /// Every report of `dc` and `kind` started at or after `since`, oldest first.
    fn runs_since(
        &self,
        dc: &DcCode,
        kind: RunKind,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<RunReport>, StoreError>> + Send;
}

/// Releasing a hold at the WMS (`POST /v1/dcs/{dc}/holds/{item}/release`).
pub trait HoldRelease: Send + Sync {
    /// Releases `item`'s hold at `dc` (idempotent at the WMS: a second release returns the
    /// first). `Rejected` with code `no_hold` when the item was never held.
    fn release_hold(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        released_by: &UserId,
        reason: &Reason,
    ) -> impl Future<Output = Result<(), WmsError>> + Send;
}

/// Everything the console service needs: the reconciliation's ports (an adjustment or a retry
/// goes through the sync path) and the console's own reads and guarded writes. One adapter
/// bundle (AWS, or testkit's `FakePorts`) implements it.
pub trait ConsolePorts: crate::reconciliation::ReconcilePorts {
    /// Review tasks with their console state.
    type Board: TaskBoard;
    /// Incidents with acknowledgement and release.
    type IncidentBoard: IncidentBoard;
    /// The audit trail.
    type Audit: AuditLog;
    /// Ledger browsing.
    type Browser: LedgerBrowser;
    /// Run report reads.
    type History: RunHistory;
    /// Hold release at the WMS.
    type Release: HoldRelease;

    /// Review tasks with their console state.
    fn board(&self) -> &Self::Board;
    /// Incidents with acknowledgement and release.
    fn incident_board(&self) -> &Self::IncidentBoard;
    /// The audit trail.
    fn audit(&self) -> &Self::Audit;
    /// Ledger browsing.
    fn browser(&self) -> &Self::Browser;
    /// Run report reads.
    fn history(&self) -> &Self::History;
    /// Hold release at the WMS.
    fn release(&self) -> &Self::Release;
}
