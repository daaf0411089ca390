//! The typed requests and responses of the console operations (serde, so an HTTP layer and
//! the CLI's `--json` print them as they are).

use chrono::{DateTime, Utc};
use domain::console::{AuditEntry, Reason, Resolution, TaskState, VarianceFigures};
use domain::ids::{DcCode, ItemNumber, WmsTxnId};
use domain::ledger::SyncState;
use domain::ports::{IncidentId, IncidentRecord, LedgerRow, RunId, RunReport, TaskKind, TaskRecord};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One ledger transaction as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxnView {
    /// DC.
    pub dc: DcCode,
    /// Transaction id (WMS id, or `RC-...` for adjustments).
    pub id: WmsTxnId,
    /// Kind (`receipt`, `adjustment`, ...).
    pub kind: String,
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: String,
    /// Signed quantity.
    pub quantity: Decimal,
    /// UOM.
    pub uom: String,
    /// Ledger state.
    pub state: SyncState,
    /// Posting attempts so far.
    pub attempts: u32,
    /// Fusion's own error text (or the automation's cause) of the last failure.
    pub error: Option<String>,
    /// Whether the automation considers the last failure retryable.
    pub retryable: Option<bool>,
    /// Ledger row version (changes with every transition).
    pub version: u64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&LedgerRow> for TxnView {
    fn from(row: &LedgerRow) -> Self {
        let t = &row.txn;
        Self {
            dc: t.dc().clone(),
            id: t.id().clone(),
            kind: serde_json::to_value(t.kind())
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", t.kind())),
            item: t.item().clone(),
            subinventory: t.subinventory().to_string(),
            quantity: t.quantity(),
            uom: t.uom().to_string(),
            state: row.entry.state,
            attempts: row.entry.attempts,
            error: row.entry.failure.as_ref().map(|f| f.reason.clone()),
            retryable: row.entry.failure.as_ref().map(|f| f.retryable),
            version: row.entry.version,
            updated_at: row.updated_at,
        }
    }
}

/// A review task in a list or after an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskView {
    /// DC.
    pub dc: DcCode,
    /// Key (`bal:...`, `txn:...`, `systemic:...`): the task's id within its DC.
    pub key: String,
    /// Kind.
    pub kind: TaskKind,
    /// One line.
    pub summary: String,
    /// Console state: status, version (send it back to resolve), claim, resolution.
    pub state: TaskState,
    /// When opened.
    pub opened_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Why it was closed.
    pub closed_reason: Option<String>,
}

impl From<&TaskRecord> for TaskView {
    fn from(r: &TaskRecord) -> Self {
        Self {
            dc: r.task.dc.clone(),
            key: r.task.key.to_string(),
            kind: r.task.kind,
            summary: r.task.summary.clone(),
            state: r.state.clone(),
            opened_at: r.opened_at,
            updated_at: r.updated_at,
            closed_reason: r.closed_reason.clone(),
        }
    }
}

/// One task with why it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDetail {
    /// The task.
    pub task: TaskView,
    /// Full text (quantities, Fusion's error text, what was tried).
    pub detail: String,
    /// WMS vs Fusion vs in flight at the key, as recorded when the task was last updated
    /// (variance tasks).
    pub figures: Option<VarianceFigures>,
    /// The ledger transactions behind it: the unsettled and failed ones of the task's item
    /// at the DC (for a `txn:` task, that transaction first), and the task's adjustment.
    pub transactions: Vec<TxnView>,
}

/// How to resolve a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveRequest {
    /// The task version the caller saw (`TaskState::version`); a stale one is a 409.
    pub version: u64,
    /// How.
    pub resolution: Resolution,
}

/// What resolving did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolveOutcome {
    /// The task after the action (`resolving` until Fusion processed an adjustment).
    pub task: TaskView,
    /// The adjustment posted (or found already posted) for `Resolution::Adjust`.
    pub adjustment: Option<TxnView>,
}

/// An active hold with the incident it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldView {
    /// DC.
    pub dc: DcCode,
    /// Item held.
    pub item: ItemNumber,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// Reference (the incident id for holds invsync placed).
    pub reference: String,
    /// The open incident it belongs to, if any.
    pub incident: Option<IncidentId>,
}

/// A hold release request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    /// Why (required).
    pub reason: Reason,
}

/// What releasing did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldReleased {
    /// DC.
    pub dc: DcCode,
    /// Item.
    pub item: ItemNumber,
    /// The incident that records the release (the reconciliation then places no new hold for
    /// it), when the hold was invsync's.
    pub incident: Option<IncidentRecord>,
    /// Whether this request did it (`false`: it was already released).
    pub released_now: bool,
}

/// Which failed or stuck transactions to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StuckKind {
    /// `sync_failed`.
    #[default]
    SyncFailed,
    /// `manual_review`.
    ManualReview,
    /// `in_flight` unchanged for longer than `ConsoleSettings::stale_after`.
    StaleInFlight,
    /// `accepted` unchanged for longer than `ConsoleSettings::stale_after`.
    StaleAccepted,
}

impl StuckKind {
    /// The ledger state listed.
    pub fn state(self) -> SyncState {
        match self {
            StuckKind::SyncFailed => SyncState::SyncFailed,
            StuckKind::ManualReview => SyncState::ManualReview,
            StuckKind::StaleInFlight => SyncState::InFlight,
            StuckKind::StaleAccepted => SyncState::Accepted,
        }
    }
}

/// Which failed transactions "retry all" takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryFilter {
    /// `sync_failed` or `manual_review` (stale rows are the automation's to retry).
    pub state: SyncState,
    /// Only this item.
    #[serde(default)]
    pub item: Option<ItemNumber>,
    /// Only failures whose text contains this (case-insensitive).
    #[serde(default)]
    pub error_contains: Option<String>,
}

/// What "retry all" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetrySummary {
    /// Rows moved back to `pending_sync` (or posted, for adjustments).
    pub retried: Vec<TxnView>,
    /// Matching rows another caller moved first.
    pub skipped: u64,
    /// Whether the cap (`ConsoleSettings::retry_all_max`) stopped it before the end.
    pub truncated: bool,
}

/// A reason-only request (close a transaction as handled outside invsync).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    /// Why.
    pub reason: Reason,
}

/// One accuracy point of the dashboard chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccuracyPoint {
    /// Reconciliation start.
    pub at: DateTime<Utc>,
    /// Keys matching, in basis points (10,000 = every key matched).
    pub accuracy_bp: i64,
    /// Keys compared.
    pub keys_compared: i64,
}

/// A run report summary for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: RunId,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Duration.
    pub duration_ms: u64,
    /// Figures by name.
    pub figures: BTreeMap<String, i64>,
    /// Notes.
    pub notes: Vec<String>,
}

impl From<&RunReport> for RunSummary {
    fn from(r: &RunReport) -> Self {
        Self {
            run_id: r.run_id.clone(),
            started_at: r.started_at,
            duration_ms: r.duration_ms,
            figures: r.figures.clone(),
            notes: r.notes.clone(),
        }
    }
}

/// The per-DC dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    /// DC.
    pub dc: DcCode,
    /// When it was read.
    pub at: DateTime<Utc>,
    /// The last sync run.
    pub last_sync: Option<RunSummary>,
    /// The last reconciliation run.
    pub last_reconcile: Option<RunSummary>,
    /// Ledger rows by state (`synced` and `handled_outside` are not counted: they only grow).
    pub backlog: BTreeMap<SyncState, u64>,
    /// Tasks not closed.
    pub open_tasks: u64,
    /// Holds active at the WMS.
    pub active_holds: u64,
    /// Open incidents.
    pub open_incidents: u64,
    /// Reconciliation accuracy over the last 24 hours, oldest first.
    pub accuracy_24h: Vec<AccuracyPoint>,
    /// Reconciliation accuracy over the last 7 days, oldest first.
    pub accuracy_7d: Vec<AccuracyPoint>,
}

/// An audit page (re-exported for the API and CLI).
pub type AuditPage = domain::console::PageOf<AuditEntry>;
