//! [`DynamoReviewTasks`]: supervisor review tasks on the `ReviewTaskTable` of
//! `infra/template.yaml`.
//!
//! One item per `(dc, task_key)`: `status` (`open` | `closed`), `kind`, `summary`, `detail`,
//! `opened_at`, `updated_at`, and once closed `closed_at`, `closed_reason` and `expires_at`
//! (TTL, 90 days), `figures` (JSON, variance tasks), and the console's `console_state` (the
//! `TaskState` as JSON), `console_status` and `version` (see `aws/console_tasks.rs`). Reopening a closed key replaces the closed item with a new open one, so at
//! most one open task per key exists by construction (one item per key). The table shape is
//! shared with incidents: `OpenClosedTable` (`aws/open_closed.rs`).

use super::error::WriteCounter;
use super::item::{s, time, Item, Reader};
use super::open_closed::{self, OpenClosedTable};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::DcCode;
use domain::ports::{ReviewTask, ReviewTasks, StoreError, TaskChange, TaskKey, TaskKind};
use std::collections::HashMap;
use std::str::FromStr;

/// How long closed tasks are kept before TTL removes them.
pub const CLOSED_RETENTION: TimeDelta = TimeDelta::days(90);

/// Rounds of update-then-create `open_or_update` tries before reporting a conflict. Each lost
/// round means another caller opened or closed the task in between; three in a row is a storm.
const OPEN_ROUNDS: usize = 3;

/// The IAM actions the [`ReviewTasks`] calls below need: `open_or_update` updates then puts,
/// `close` updates, `open_tasks` queries the table (those of an `OpenClosedTable` (`aws/open_closed.rs`)).
/// [`DynamoReviewTasks::record`] (a GetItem) is an operator's and tests' read: no role grants it.
pub const PERMISSIONS: Permissions = Permissions::on_resource(open_closed::ACTIONS);

/// What the console's `TaskBoard` calls (`aws/console_tasks.rs`) need: those of
/// [`PERMISSIONS`] and GetItem (one task).
pub const CONSOLE_PERMISSIONS: Permissions = Permissions::on_resource(&[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
]);

/// Whether a task is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for a supervisor.
    Open,
    /// Closed (automatically or by a person) with a reason.
    Closed,
}

/// A stored task with its status and timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The task as last opened or updated.
    pub task: ReviewTask,
    /// Open or closed.
    pub status: TaskStatus,
    /// When the current (or last) task for the key was opened.
    pub opened_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was closed.
    pub closed_reason: Option<String>,
}

/// Review tasks in DynamoDB: an `OpenClosedTable` (`aws/open_closed.rs`) keyed by `task_key`.
#[derive(Debug, Clone)]
pub struct DynamoReviewTasks {
    pub(crate) records: OpenClosedTable,
}

fn kind_str(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::SyncFailure => "sync_failure",
        TaskKind::Variance => "variance",
    }
}

fn parse_kind(value: &str) -> Result<TaskKind, String> {
    match value {
        "sync_failure" => Ok(TaskKind::SyncFailure),
        "variance" => Ok(TaskKind::Variance),
        other => Err(format!("unknown task kind {other:?}")),
    }
}

/// The figures as JSON text (`null` for tasks without).
fn figures(task: &ReviewTask) -> aws_sdk_dynamodb::types::AttributeValue {
    s(serde_json::to_string(&task.figures).unwrap_or_else(|_| "null".into()))
}

pub(crate) fn record_from_item(item: &Item) -> Result<TaskRecord, StoreError> {
    let what = format!(
        "review task {}/{}",
        item.get("dc").and_then(|v| v.as_s().ok()).map_or("?", String::as_str),
        item.get("task_key")
            .and_then(|v| v.as_s().ok())
            .map_or("?", String::as_str)
    );
    let r = Reader::new(item, &what);
    Ok(TaskRecord {
        task: ReviewTask {
            dc: r.parsed("dc", DcCode::parse)?,
            key: r.parsed("task_key", TaskKey::from_str)?,
            kind: r.parsed("kind", parse_kind)?,
            summary: r.str("summary")?.to_string(),
            detail: r.str("detail")?.to_string(),
            figures: r
                .opt_str("figures")?
                .map(serde_json::from_str::<Option<domain::console::VarianceFigures>>)
                .transpose()
                .map_err(|e| r.corrupt("figures", e))?
                .flatten(),
        },
        status: r.parsed("status", |v| match v {
            "open" => Ok(TaskStatus::Open),
            "closed" => Ok(TaskStatus::Closed),
            other => Err(format!("unknown status {other:?}")),
        })?,
        opened_at: r.time("opened_at")?,
        updated_at: r.time("updated_at")?,
        closed_at: r.opt_time("closed_at")?,
        closed_reason: r.opt_str("closed_reason")?.map(str::to_string),
    })
}

impl DynamoReviewTasks {
    /// Review tasks on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            records: OpenClosedTable::new(client, table, writes, "task_key", CLOSED_RETENTION, true),
        }
    }

    /// The stored task for `(dc, key)`, open or closed.
    pub async fn record(&self, dc: &DcCode, key: &TaskKey) -> Result<Option<TaskRecord>, StoreError> {
        self.records
            .get(dc, &key.to_string())
            .await?
            .as_ref()
            .map(record_from_item)
            .transpose()
    }
}

impl ReviewTasks for DynamoReviewTasks {
    async fn open_or_update(&self, task: &ReviewTask, now: DateTime<Utc>) -> Result<TaskChange, StoreError> {
        let key = task.key.to_string();
        let mut last = None;
        for _ in 0..OPEN_ROUNDS {
            let update = [
                ("kind", s(kind_str(task.kind))),
                ("summary", s(task.summary.as_str())),
                ("detail", s(task.detail.as_str())),
                ("figures", figures(task)),
                ("updated_at", time(now)),
            ];
            match self.records.update_open(&task.dc, &key, &update).await {
                Ok(()) => return Ok(TaskChange::Updated),
                Err(StoreError::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
            let open = HashMap::from([
                ("kind".to_string(), s(kind_str(task.kind))),
                ("summary".to_string(), s(task.summary.as_str())),
                ("detail".to_string(), s(task.detail.as_str())),
                ("figures".to_string(), figures(task)),
                ("opened_at".to_string(), time(now)),
                ("updated_at".to_string(), time(now)),
            ]);
            match self.records.create_open(&task.dc, &key, open).await {
                Ok(()) => return Ok(TaskChange::Opened),
                Err(StoreError::Conflict(e)) => last = Some(e),
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Conflict(format!(
            "review task {}/{} kept changing under {OPEN_ROUNDS} rounds of open_or_update: {}",
            task.dc,
            task.key,
            last.unwrap_or_default()
        )))
    }

    async fn close(&self, dc: &DcCode, key: &TaskKey, reason: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.records.close(dc, &key.to_string(), reason, now).await
    }

    async fn open_tasks(&self, dc: &DcCode) -> Result<Vec<ReviewTask>, StoreError> {
        let items = self.records.open_items(dc).await?;
        items.iter().map(|i| record_from_item(i).map(|r| r.task)).collect()
    }
}
