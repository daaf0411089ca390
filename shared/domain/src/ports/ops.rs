//! Operational ports: review tasks, alerts, incidents (one alert and hold per incident) and
//! run reports.

use crate::error::Retryable;
use crate::ids::{DcCode, ItemNumber};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::future::Future;
use thiserror::Error;

use super::keys::{BalanceKeyText, IncidentId, RunId, RunKind, TaskKey};
use super::store::StoreError;

/// Why a person must look at something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A transaction that cannot sync without a person (permanent Fusion error, bad data,
    /// attempts exhausted).
    SyncFailure,
    /// A stock variance in the review tier.
    Variance,
}

/// A supervisor review task. At most one open task exists per `(dc, key)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewTask {
    /// DC.
    pub dc: DcCode,
    /// What the task is about (stored as `txn:<wms id>`, `bal:<balance key>`,
    /// `systemic:<system>`).
    pub key: TaskKey,
    /// Kind.
    pub kind: TaskKind,
    /// One line a supervisor reads first.
    pub summary: String,
    /// Details (quantities, Fusion's error text, what was tried).
    pub detail: String,
    /// The figures of a variance task (WMS vs Fusion vs in flight), so the console can show
    /// them and build an adjustment; `None` for other kinds.
    #[serde(default)]
    pub figures: Option<crate::console::VarianceFigures>,
}

/// What `open_or_update` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskChange {
    /// A new task was opened.
    Opened,
    /// The open task was updated with the new detail.
    Updated,
}

/// The review task list (DynamoDB or a fake).
pub trait ReviewTasks: Send + Sync {
    /// Opens a task, or updates the open one for the same `(dc, key)`; never a duplicate.
    fn open_or_update(
        &self,
        task: &ReviewTask,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TaskChange, StoreError>> + Send;

    /// Closes the open task for `(dc, key)` with a reason; `Ok(false)` when none was open.
    fn close(
        &self,
        dc: &DcCode,
        key: &TaskKey,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Open tasks of a DC.
    fn open_tasks(&self, dc: &DcCode) -> impl Future<Output = Result<Vec<ReviewTask>, StoreError>> + Send;
}

/// How urgent an alert is (an SNS message attribute, so managers can filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Needs attention today (sync failures).
    Warning,
    /// Needs attention now (alert-tier variance, order releases held).
    Critical,
}

impl Severity {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// An alert for people (email and SMS through SNS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// DC (message attribute `dc`).
    pub dc: DcCode,
    /// Severity (message attribute `severity`).
    pub severity: Severity,
    /// Email subject: the content only; each channel fits it to its own limits.
    pub subject: String,
    /// Body. When `elastic` is set, its first line is written as one text message.
    pub body: String,
    /// Text in `subject` and in the body's first line that a channel with length limits
    /// shortens first (with `...`) before cutting anything else: the item number of a
    /// variance alert, which may be 300 characters long. An alert with an elastic part has a
    /// first line meant as a text message (fitted to one SMS by the channel); `None` leaves
    /// the first line as it is.
    #[serde(default)]
    pub elastic: Option<String>,
}

/// Publishing an alert failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AlertError {
    /// Throttling, 5xx, timeouts.
    #[error("alert channel unavailable: {0}")]
    Unavailable(String),
    /// Refused (bad topic, too long, permissions).
    #[error("alert refused: {0}")]
    Rejected(String),
}

impl Retryable for AlertError {
    fn is_retryable(&self) -> bool {
        matches!(self, AlertError::Unavailable(_))
    }
}

/// Where alerts go (SNS topic or a fake).
pub trait AlertSink: Send + Sync {
    /// Publishes one alert.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), AlertError>> + Send;
}

/// An open incident: an alert-tier variance that was alerted and held. One per `(dc, key)`
/// until closed, so a variance alerts once, not once per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// DC.
    pub dc: DcCode,
    /// The balance key the incident is about.
    pub key: BalanceKeyText,
    /// Item held.
    pub item: ItemNumber,
    /// Incident id (used as the hold reference).
    pub id: IncidentId,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
}

/// Incident records.
pub trait Incidents: Send + Sync {
    /// Opens the incident unless one is open for `(dc, key)`; `Ok(true)` when this call opened it.
    fn open_if_absent(&self, incident: &Incident) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Closes the open incident for `(dc, key)` with a reason; `Ok(false)` when none was open.
    fn close(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Open incidents of a DC.
    fn open_incidents(&self, dc: &DcCode) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send;
}

/// A persisted summary of one sync or reconciliation run for one DC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// DC.
    pub dc: DcCode,
    /// Run id.
    pub run_id: RunId,
    /// Which engine ran.
    pub kind: RunKind,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Figures (counts by name), serialized as a map.
    pub figures: std::collections::BTreeMap<String, i64>,
    /// Free-text notes (e.g. "stopped early: time budget").
    pub notes: Vec<String>,
}

/// Run report storage.
pub trait RunReports: Send + Sync {
    /// Saves a report (idempotent per `(dc, kind, run_id)`).
    fn save(&self, report: &RunReport) -> impl Future<Output = Result<(), StoreError>> + Send;
}
