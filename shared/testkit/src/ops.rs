//! In-memory operational ports: review tasks, incidents, run reports and a recording alert
//! sink.

use crate::{lock, Faults};
use chrono::{DateTime, Utc};
use domain::ids::DcCode;
use domain::ports::{
    Alert, AlertError, AlertSink, BalanceKeyText, Incident, Incidents, ReviewTask, ReviewTasks, RunId, RunKind,
    RunReport, RunReports, StoreError, TaskChange, TaskKey,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// When and why a task or incident was closed; `None` while open.
pub type Closed = Option<(DateTime<Utc>, String)>;

/// One review task as stored, with its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The task as last opened or updated.
    pub task: ReviewTask,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// `open_or_update` calls that updated it after opening.
    pub updates: u32,
    /// The console's lifecycle state (status, version, claim, resolution).
    pub state: domain::console::TaskState,
    /// Last change (engine update or console action).
    pub updated_at: DateTime<Utc>,
    /// When and why it was closed.
    pub closed: Closed,
}

impl TaskRecord {
    /// Whether the task is open.
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
}

/// Review tasks in memory: at most one open task per `(dc, key)`; closed tasks are kept, and a
/// later `open_or_update` for the same key opens a new one.
#[derive(Debug, Default)]
pub struct InMemoryTasks {
    pub(crate) records: Mutex<Vec<TaskRecord>>,
}

impl InMemoryTasks {
    /// No tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every task ever opened, open or closed, in opening order.
    pub fn records(&self) -> Vec<TaskRecord> {
        lock(&self.records).clone()
    }

    /// The open tasks of `dc`, in opening order.
    pub fn open(&self, dc: &DcCode) -> Vec<ReviewTask> {
        lock(&self.records)
            .iter()
            .filter(|r| r.is_open() && &r.task.dc == dc)
            .map(|r| r.task.clone())
            .collect()
    }

    /// The open task for `(dc, key)`, the key given as stored (`bal:DC01/ITM-1/STORES`).
    pub fn open_task(&self, dc: &DcCode, key: &str) -> Option<ReviewTask> {
        lock(&self.records)
            .iter()
            .find(|r| r.is_open() && &r.task.dc == dc && r.task.key == key)
            .map(|r| r.task.clone())
    }
}

impl ReviewTasks for InMemoryTasks {
    async fn open_or_update(&self, task: &ReviewTask, now: DateTime<Utc>) -> Result<TaskChange, StoreError> {
        let mut records = lock(&self.records);
        if let Some(r) = records
            .iter_mut()
            .find(|r| r.is_open() && r.task.dc == task.dc && r.task.key == task.key)
        {
            r.task = task.clone();
            r.updates += 1;
            r.updated_at = now;
            return Ok(TaskChange::Updated);
        }
        records.push(TaskRecord {
            task: task.clone(),
            opened_at: now,
            updates: 0,
            state: domain::console::TaskState::open(),
            updated_at: now,
            closed: None,
        });
        Ok(TaskChange::Opened)
    }

    async fn close(&self, dc: &DcCode, key: &TaskKey, reason: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut records = lock(&self.records);
        match records
            .iter_mut()
            .find(|r| r.is_open() && &r.task.dc == dc && &r.task.key == key)
        {
            Some(r) => {
                r.closed = Some((now, reason.to_string()));
                r.state.status = domain::console::TaskStatus::Closed;
                r.updated_at = now;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn open_tasks(&self, dc: &DcCode) -> Result<Vec<ReviewTask>, StoreError> {
        Ok(self.open(dc))
    }
}

/// Incidents in memory: at most one open incident per `(dc, key)`; closed ones are kept with
/// their reason.
#[derive(Debug, Default)]
pub struct InMemoryIncidents {
    records: Mutex<Vec<(Incident, Closed)>>,
    /// Acknowledgements and releases by incident id (`console` module).
    pub(crate) marks: Mutex<BTreeMap<domain::ports::IncidentId, crate::console::Marks>>,
}

impl InMemoryIncidents {
    /// No incidents.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every incident with its closing time and reason (`None` while open), in opening order.
    pub fn records(&self) -> Vec<(Incident, Closed)> {
        lock(&self.records).clone()
    }

    /// The open incidents of `dc`.
    pub fn open(&self, dc: &DcCode) -> Vec<Incident> {
        lock(&self.records)
            .iter()
            .filter(|(i, closed)| closed.is_none() && &i.dc == dc)
            .map(|(i, _)| i.clone())
            .collect()
    }
}

impl Incidents for InMemoryIncidents {
    async fn open_if_absent(&self, incident: &Incident) -> Result<bool, StoreError> {
        let mut records = lock(&self.records);
        if records
            .iter()
            .any(|(i, closed)| closed.is_none() && i.dc == incident.dc && i.key == incident.key)
        {
            return Ok(false);
        }
        records.push((incident.clone(), None));
        Ok(true)
    }

    async fn close(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut records = lock(&self.records);
        match records
            .iter_mut()
            .find(|(i, closed)| closed.is_none() && &i.dc == dc && &i.key == key)
        {
            Some((_, closed)) => {
                *closed = Some((now, reason.to_string()));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn open_incidents(&self, dc: &DcCode) -> Result<Vec<Incident>, StoreError> {
        Ok(self.open(dc))
    }
}

/// Run reports in memory, one per `(dc, kind, run_id)` (a second save replaces the first).
#[derive(Debug, Default)]
pub struct InMemoryRunReports {
    reports: Mutex<BTreeMap<(DcCode, RunKind, RunId), RunReport>>,
}

impl InMemoryRunReports {
    /// No reports.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored report, ordered by DC, kind and run id.
    pub fn reports(&self) -> Vec<RunReport> {
        lock(&self.reports).values().cloned().collect()
    }
}

impl RunReports for InMemoryRunReports {
    async fn save(&self, report: &RunReport) -> Result<(), StoreError> {
        lock(&self.reports).insert((report.dc.clone(), report.kind, report.run_id.clone()), report.clone());
        Ok(())
    }
}

#[derive(Debug, Default)]
struct AlertState {
    published: Vec<Alert>,
    faults: Faults<AlertError>,
}

/// An alert sink that records what was published; can be scripted to fail.
#[derive(Debug, Default)]
pub struct RecordingAlerts {
    state: Mutex<AlertState>,
}

impl RecordingAlerts {
    /// Nothing published.
    pub fn new() -> Self {
        Self::default()
    }

    /// Published alerts, in order (failed publishes are not recorded).
    pub fn alerts(&self) -> Vec<Alert> {
        lock(&self.state).published.clone()
    }

    /// How many alerts were published.
    pub fn count(&self) -> usize {
        lock(&self.state).published.len()
    }

    /// The next `n` publishes fail with `error`.
    pub fn fail_next(&self, n: usize, error: AlertError) {
        lock(&self.state).faults.push(n, error);
    }
}

impl AlertSink for RecordingAlerts {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.faults.take() {
            return Err(e);
        }
        s.published.push(alert.clone());
        Ok(())
    }
}
