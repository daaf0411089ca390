//! [`DynamoReviewTasks`]: supervisor review tasks on the `ReviewTaskTable` of
//! `infra/template.yaml`.
//!
//! One item per `(dc, task_key)`: `status` (`open` | `closed`), `kind`, `summary`, `detail`,
//! `opened_at`, `updated_at`, and once closed `closed_at`, `closed_reason` and `expires_at`
//! (TTL, 90 days). Reopening a closed key replaces the closed item with a new open one, so at
//! most one open task per key exists by construction (one item per key).

use super::error::{store_error, WriteCounter};
use super::item::{expires, s, time, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::DcCode;
use domain::ports::{ReviewTask, ReviewTasks, StoreError, TaskChange, TaskKind};
use std::collections::HashMap;

/// How long closed tasks are kept before TTL removes them.
pub const CLOSED_RETENTION: TimeDelta = TimeDelta::days(90);

/// Rounds of update-then-create `open_or_update` tries before reporting a conflict. Each lost
/// round means another caller opened or closed the task in between; three in a row is a storm.
const OPEN_ROUNDS: usize = 3;

/// The IAM actions the [`ReviewTasks`] calls below need: `open_or_update` updates then puts,
/// `close` updates, `open_tasks` queries the table ([`query_open`]).
/// [`DynamoReviewTasks::record`] (a GetItem) is an operator's and tests' read: no role grants it.
pub const PERMISSIONS: Permissions =
    Permissions::on_resource(&["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]);

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

/// Review tasks in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoReviewTasks {
    client: Client,
    table: String,
    writes: WriteCounter,
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

fn record_from_item(item: &Item) -> Result<TaskRecord, StoreError> {
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
            key: r.str("task_key")?.to_string(),
            kind: r.parsed("kind", parse_kind)?,
            summary: r.str("summary")?.to_string(),
            detail: r.str("detail")?.to_string(),
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
            client,
            table: table.into(),
            writes,
        }
    }

    fn key(dc: &DcCode, key: &str) -> Item {
        HashMap::from([("dc".to_string(), s(dc.as_str())), ("task_key".to_string(), s(key))])
    }

    /// The stored task for `(dc, key)`, open or closed.
    pub async fn record(&self, dc: &DcCode, key: &str) -> Result<Option<TaskRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(dc, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        out.item().map(record_from_item).transpose()
    }

    /// Updates the open task; `Conflict` when none is open.
    async fn update_open(&self, task: &ReviewTask, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.writes.record();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&task.dc, &task.key)))
            .update_expression("SET kind = :kind, summary = :summary, detail = :detail, updated_at = :now")
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s("open"))
            .expression_attribute_values(":kind", s(kind_str(task.kind)))
            .expression_attribute_values(":summary", s(task.summary.as_str()))
            .expression_attribute_values(":detail", s(task.detail.as_str()))
            .expression_attribute_values(":now", time(now))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&format!("UpdateItem {} {}/{}", self.table, task.dc, task.key), e))
    }

    /// Creates an open task where none exists or the last one is closed; `Conflict` when one
    /// is open.
    async fn create_open(&self, task: &ReviewTask, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut item = Self::key(&task.dc, &task.key);
        item.extend([
            ("status".to_string(), s("open")),
            ("kind".to_string(), s(kind_str(task.kind))),
            ("summary".to_string(), s(task.summary.as_str())),
            ("detail".to_string(), s(task.detail.as_str())),
            ("opened_at".to_string(), time(now)),
            ("updated_at".to_string(), time(now)),
        ]);
        self.writes.record();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(task_key) OR #status = :closed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", s("closed"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&format!("PutItem {} {}/{}", self.table, task.dc, task.key), e))
    }
}

impl ReviewTasks for DynamoReviewTasks {
    async fn open_or_update(&self, task: &ReviewTask, now: DateTime<Utc>) -> Result<TaskChange, StoreError> {
        let mut last = None;
        for _ in 0..OPEN_ROUNDS {
            match self.update_open(task, now).await {
                Ok(()) => return Ok(TaskChange::Updated),
                Err(StoreError::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
            match self.create_open(task, now).await {
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

    async fn close(&self, dc: &DcCode, key: &str, reason: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.writes.record();
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(dc, key)))
            .update_expression(
                "SET #status = :closed, closed_reason = :reason, closed_at = :now, updated_at = :now, \
                 expires_at = :expires",
            )
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s("open"))
            .expression_attribute_values(":closed", s("closed"))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":expires", expires(now, CLOSED_RETENTION))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) => match store_error(&format!("UpdateItem {} {dc}/{key}", self.table), e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn open_tasks(&self, dc: &DcCode) -> Result<Vec<ReviewTask>, StoreError> {
        let items = query_open(&self.client, &self.table, dc).await?;
        items.iter().map(|i| record_from_item(i).map(|r| r.task)).collect()
    }
}

/// All items of `dc` whose `status` is `open` (Query on the hash key with a filter; closed
/// items are read too until TTL removes them).
pub(crate) async fn query_open(client: &Client, table: &str, dc: &DcCode) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .key_condition_expression("dc = :dc")
            .filter_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":dc", s(dc.as_str()))
            .expression_attribute_values(":open", s("open"))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| store_error(&format!("Query {table}"), e))?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(items),
        }
    }
}
