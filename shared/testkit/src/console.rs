//! The console's ports on the in-memory fakes: [`InMemoryTasks`] as a `TaskBoard`,
//! [`InMemoryIncidents`] as an `IncidentBoard`, [`InMemoryLedger`] as a `LedgerBrowser`,
//! [`InMemoryRunReports`] as a `RunHistory`, [`FakeWms`] as a `HoldRelease`, and
//! [`InMemoryAudit`], an append-only audit trail. Lists page with a decimal offset cursor
//! ([`PageOf::slice`]); a cursor they cannot read is `StoreError::Corrupt`, as a store's would be.

use crate::{lock, FakeWms, InMemoryIncidents, InMemoryLedger, InMemoryRunReports, InMemoryTasks};
use chrono::{DateTime, Utc};
use domain::console::{AuditEntry, PageOf, PageRequest, Reason, TaskState, TaskStatus, UserId};
use domain::ids::{DcCode, ItemNumber};
use domain::ledger::SyncState;
use domain::ports::{
    AuditLog, BalanceKeyText, HoldRelease, IncidentBoard, IncidentRecord, LedgerBrowser, LedgerRow, RunHistory,
    RunKind, RunReport, StoreError, SyncLedger, TaskBoard, TaskFilter, TaskKey, TaskRecord, WmsError,
};
use std::sync::Mutex;

fn page<T>(rows: Vec<T>, request: &PageRequest) -> Result<PageOf<T>, StoreError> {
    PageOf::slice(rows, request).map_err(StoreError::Corrupt)
}

/// What people did about one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// First acknowledgement.
    pub acknowledged: Option<(UserId, DateTime<Utc>)>,
    /// First recorded hold release.
    pub released: Option<(UserId, DateTime<Utc>, Reason)>,
}

impl InMemoryTasks {
    fn console_record(r: &crate::TaskRecord) -> TaskRecord {
        TaskRecord {
            task: r.task.clone(),
            state: r.state.clone(),
            opened_at: r.opened_at,
            updated_at: r.updated_at,
            closed_reason: r.closed.as_ref().map(|(_, why)| why.clone()),
        }
    }
}

impl TaskBoard for InMemoryTasks {
    async fn list_tasks(
        &self,
        dc: &DcCode,
        filter: TaskFilter,
        request: &PageRequest,
    ) -> Result<PageOf<TaskRecord>, StoreError> {
        let mut rows: Vec<TaskRecord> = self
            .records()
            .iter()
            .filter(|r| &r.task.dc == dc)
            .map(Self::console_record)
            .filter(|r| filter.matches(r))
            .collect();
        rows.sort_by_key(|r| r.task.key.to_string());
        page(rows, request)
    }

    async fn task(&self, dc: &DcCode, key: &TaskKey) -> Result<Option<TaskRecord>, StoreError> {
        Ok(self
            .records()
            .iter()
            .rev()
            .find(|r| &r.task.dc == dc && &r.task.key == key)
            .map(Self::console_record))
    }

    async fn save_state(
        &self,
        dc: &DcCode,
        key: &TaskKey,
        state: &TaskState,
        expected_version: u64,
        closed_reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        let Some(r) = records
            .iter_mut()
            .rev()
            .find(|r| &r.task.dc == dc && &r.task.key == key)
        else {
            return Err(StoreError::Conflict(format!("no task {key} at {dc}")));
        };
        if r.closed.is_some() || r.state.version != expected_version {
            return Err(StoreError::Conflict(format!(
                "task {key} is at version {} (closed: {})",
                r.state.version,
                r.closed.is_some()
            )));
        }
        r.state = state.clone();
        r.updated_at = now;
        if state.status == TaskStatus::Closed {
            r.closed = Some((now, closed_reason.unwrap_or("closed").to_string()));
        }
        Ok(())
    }

    async fn count_active(&self, dc: &DcCode) -> Result<u64, StoreError> {
        Ok(self
            .records()
            .iter()
            .filter(|r| r.is_open() && &r.task.dc == dc)
            .count() as u64)
    }
}

impl InMemoryIncidents {
    fn record_of(&self, incident: domain::ports::Incident) -> IncidentRecord {
        let marks = lock(&self.marks).get(&incident.id).cloned().unwrap_or_default();
        IncidentRecord {
            incident,
            acknowledged: marks.acknowledged,
            hold_released: marks.released,
        }
    }

    fn open_by_key(&self, dc: &DcCode, key: &BalanceKeyText) -> Option<domain::ports::Incident> {
        self.open(dc).into_iter().find(|i| &i.key == key)
    }

    fn mark(&self, dc: &DcCode, key: &BalanceKeyText, f: impl FnOnce(&mut Marks) -> bool) -> bool {
        let Some(incident) = self.open_by_key(dc, key) else {
            return false;
        };
        let mut marks = lock(&self.marks);
        f(marks.entry(incident.id).or_default())
    }
}

impl IncidentBoard for InMemoryIncidents {
    async fn list_incidents(&self, dc: &DcCode, request: &PageRequest) -> Result<PageOf<IncidentRecord>, StoreError> {
        let mut open = self.open(dc);
        open.sort_by(|a, b| a.key.cmp(&b.key));
        let rows = open.into_iter().map(|i| self.record_of(i)).collect();
        page(rows, request)
    }

    async fn incident(&self, dc: &DcCode, key: &BalanceKeyText) -> Result<Option<IncidentRecord>, StoreError> {
        Ok(self.open_by_key(dc, key).map(|i| self.record_of(i)))
    }

    async fn acknowledge(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.mark(dc, key, |m| {
            m.acknowledged.is_none() && {
                m.acknowledged = Some((by.clone(), now));
                true
            }
        }))
    }

    async fn record_release(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        by: &UserId,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.mark(dc, key, |m| {
            m.released.is_none() && {
                m.released = Some((by.clone(), now, reason.clone()));
                true
            }
        }))
    }
}

impl LedgerBrowser for InMemoryLedger {
    async fn list_rows(
        &self,
        dc: &DcCode,
        state: SyncState,
        changed_before: Option<DateTime<Utc>>,
        request: &PageRequest,
    ) -> Result<PageOf<LedgerRow>, StoreError> {
        let rows = self
            .in_state(dc, state)
            .await?
            .into_iter()
            .filter(|r| changed_before.is_none_or(|b| r.updated_at < b))
            .collect();
        page(rows, request)
    }

    async fn count_rows(&self, dc: &DcCode, state: SyncState) -> Result<u64, StoreError> {
        Ok(self.in_state(dc, state).await?.len() as u64)
    }
}

impl RunHistory for InMemoryRunReports {
    async fn list_runs(
        &self,
        dc: &DcCode,
        kind: RunKind,
        request: &PageRequest,
    ) -> Result<PageOf<RunReport>, StoreError> {
        let mut rows: Vec<RunReport> = self
            .reports()
            .into_iter()
            .filter(|r| &r.dc == dc && r.kind == kind)
            .collect();
        rows.sort_by(|a, b| (b.started_at, &b.run_id).cmp(&(a.started_at, &a.run_id)));
        page(rows, request)
    }

    async fn runs_since(&self, dc: &DcCode, kind: RunKind, since: DateTime<Utc>) -> Result<Vec<RunReport>, StoreError> {
        let mut rows: Vec<RunReport> = self
            .reports()
            .into_iter()
            .filter(|r| &r.dc == dc && r.kind == kind && r.started_at >= since)
            .collect();
        rows.sort_by_key(|r| r.started_at);
        Ok(rows)
    }
}

impl HoldRelease for FakeWms {
    async fn release_hold(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        released_by: &UserId,
        reason: &Reason,
    ) -> Result<(), WmsError> {
        if FakeWms::release_hold(self, dc, item, &format!("{released_by}: {reason}")) {
            return Ok(());
        }
        let ever_held = self.hold_history(dc).iter().any(|(h, _)| &h.item == item);
        if ever_held {
            Ok(())
        } else {
            Err(WmsError::Rejected {
                status: 404,
                code: "no_hold".into(),
                message: format!("{item} was never held at {dc}"),
            })
        }
    }
}

/// An append-only audit trail in memory: put-if-absent by id, no update or delete.
#[derive(Debug, Default)]
pub struct InMemoryAudit {
    entries: Mutex<Vec<AuditEntry>>,
}

impl InMemoryAudit {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, in append order.
    pub fn entries(&self) -> Vec<AuditEntry> {
        lock(&self.entries).clone()
    }
}

impl AuditLog for InMemoryAudit {
    async fn append(&self, entry: &AuditEntry) -> Result<bool, StoreError> {
        let mut entries = lock(&self.entries);
        if entries.iter().any(|e| e.id == entry.id) {
            return Ok(false);
        }
        entries.push(entry.clone());
        Ok(true)
    }

    async fn list_audit(&self, dc: &DcCode, request: &PageRequest) -> Result<PageOf<AuditEntry>, StoreError> {
        let mut rows: Vec<AuditEntry> = self.entries().into_iter().filter(|e| &e.dc == dc).collect();
        rows.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        page(rows, request)
    }
}
