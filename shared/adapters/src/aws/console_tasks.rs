//! The console's view of the review task and incident tables: `TaskBoard` on
//! [`DynamoReviewTasks`] and `IncidentBoard` on [`DynamoIncidents`].
//!
//! Task attributes added by the console: `console_state` (the `TaskState` as JSON),
//! `console_status` (`open` | `claimed` | `resolving`, for list filters) and `version` (a
//! number, the optimistic-concurrency guard; absent on a task the console never touched, which
//! counts as version 0). `status` stays `open` until the task closes, so the engines'
//! `open_or_update` and `close` keep working on claimed and resolving tasks.
//!
//! Incident attributes added by the console: `acknowledged_by` / `acknowledged_at` and
//! `released_by` / `released_at` / `release_reason`, each written once (conditional on its
//! absence) while the incident is open.

use super::incidents::{incident_from_item, DynamoIncidents};
use super::item::{expires, n, s, time, Item, Reader};
use super::review_tasks::{record_from_item, DynamoReviewTasks, TaskStatus as StoredStatus, CLOSED_RETENTION};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::console::{PageOf, PageRequest, Reason, TaskState, TaskStatus, UserId};
use domain::ids::DcCode;
use domain::ports::{
    BalanceKeyText, IncidentBoard, IncidentRecord, StoreError, TaskBoard, TaskFilter, TaskKey, TaskKind, TaskRecord,
};

fn task_record(item: &Item) -> Result<TaskRecord, StoreError> {
    let stored = record_from_item(item)?;
    let r = Reader::new(item, "review task");
    let mut state: TaskState = r
        .opt_str("console_state")?
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| r.corrupt("console_state", e))?
        .unwrap_or_default();
    if stored.status == StoredStatus::Closed {
        state.status = TaskStatus::Closed;
    }
    Ok(TaskRecord {
        task: stored.task,
        state,
        opened_at: stored.opened_at,
        updated_at: stored.updated_at,
        closed_reason: stored.closed_reason,
    })
}

fn kind_str(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::SyncFailure => "sync_failure",
        TaskKind::Variance => "variance",
    }
}

impl TaskBoard for DynamoReviewTasks {
    async fn list_tasks(
        &self,
        dc: &DcCode,
        filter: TaskFilter,
        page: &PageRequest,
    ) -> Result<PageOf<TaskRecord>, StoreError> {
        let mut clauses = Vec::new();
        let mut values: Vec<(&str, AttributeValue)> = Vec::new();
        match filter.status {
            None => {
                clauses.push("#status = :open");
                values.push((":open", s("open")));
            }
            Some(TaskStatus::Closed) => {
                clauses.push("#status = :closed");
                values.push((":closed", s("closed")));
            }
            Some(TaskStatus::Open) => {
                clauses.push("#status = :open AND (attribute_not_exists(console_status) OR console_status = :open)");
                values.push((":open", s("open")));
            }
            Some(other) => {
                clauses.push("#status = :open AND console_status = :cs");
                values.push((":open", s("open")));
                values.push((":cs", s(other.as_str())));
            }
        }
        if let Some(kind) = filter.kind {
            clauses.push("kind = :kind");
            values.push((":kind", s(kind_str(kind))));
        }
        let (items, next) = self
            .records
            .page(dc, &clauses.join(" AND "), &[], &values, page)
            .await?;
        Ok(PageOf {
            items: items.iter().map(task_record).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn task(&self, dc: &DcCode, key: &TaskKey) -> Result<Option<TaskRecord>, StoreError> {
        self.records
            .get(dc, &key.to_string())
            .await?
            .as_ref()
            .map(task_record)
            .transpose()
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
        let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut set = vec![
            "console_state = :state",
            "console_status = :cs",
            "#version = :version",
            "updated_at = :now",
        ];
        let closing = state.status == TaskStatus::Closed;
        if closing {
            set.extend([
                "#status = :closed",
                "closed_reason = :reason",
                "closed_at = :now",
                "expires_at = :expires",
            ]);
        }
        let guard = if expected_version == 0 {
            "#status = :open AND (attribute_not_exists(#version) OR #version = :expected)"
        } else {
            "#status = :open AND #version = :expected"
        };
        let mut update = self
            .records
            .client()
            .update_item()
            .table_name(self.records.table())
            .set_key(Some(self.records.key(dc, &key.to_string())))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(guard)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":open", s("open"))
            .expression_attribute_values(":expected", n(expected_version))
            .expression_attribute_values(":state", s(json))
            .expression_attribute_values(":cs", s(state.status.as_str()))
            .expression_attribute_values(":version", n(state.version))
            .expression_attribute_values(":now", time(now));
        if closing {
            update = update
                .expression_attribute_values(":closed", s("closed"))
                .expression_attribute_values(":reason", s(closed_reason.unwrap_or("closed")))
                .expression_attribute_values(":expires", expires(now, CLOSED_RETENTION));
        }
        self.records.count_write();
        update
            .send()
            .await
            .map(|_| ())
            .map_err(|e| super::error::store_error(&format!("UpdateItem {} {dc}/{key}", self.records.table()), e))
    }

    async fn count_active(&self, dc: &DcCode) -> Result<u64, StoreError> {
        self.records.count_open(dc).await
    }
}

fn incident_record(item: &Item) -> Result<IncidentRecord, StoreError> {
    let incident = incident_from_item(item)?;
    let r = Reader::new(item, "incident");
    let user = |attr: &str| -> Result<Option<UserId>, StoreError> {
        r.opt_str(attr)?
            .map(UserId::parse)
            .transpose()
            .map_err(|e| r.corrupt(attr, e))
    };
    let acknowledged = match (user("acknowledged_by")?, r.opt_time("acknowledged_at")?) {
        (Some(by), Some(at)) => Some((by, at)),
        _ => None,
    };
    let reason = r
        .opt_str("release_reason")?
        .map(Reason::parse)
        .transpose()
        .map_err(|e| r.corrupt("release_reason", e))?;
    let hold_released = match (user("released_by")?, r.opt_time("released_at")?, reason) {
        (Some(by), Some(at), Some(reason)) => Some((by, at, reason)),
        _ => None,
    };
    Ok(IncidentRecord {
        incident,
        acknowledged,
        hold_released,
    })
}

impl DynamoIncidents {
    /// Sets `attributes` on the open incident unless `guard_attr` is already set; `Ok(false)`
    /// when it is, or when no incident is open.
    async fn mark_once(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        guard_attr: &str,
        attributes: &[(&str, AttributeValue)],
    ) -> Result<bool, StoreError> {
        let set: Vec<String> = attributes.iter().map(|(name, _)| format!("{name} = :{name}")).collect();
        let records = &self.records;
        let mut update = records
            .client()
            .update_item()
            .table_name(records.table())
            .set_key(Some(records.key(dc, key.as_str())))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(format!("#status = :open AND attribute_not_exists({guard_attr})"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s("open"));
        for (name, value) in attributes {
            update = update.expression_attribute_values(format!(":{name}"), value.clone());
        }
        records.count_write();
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) => match super::error::store_error(&format!("UpdateItem {} {dc}/{key}", records.table()), e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }
}

impl IncidentBoard for DynamoIncidents {
    async fn list_incidents(&self, dc: &DcCode, page: &PageRequest) -> Result<PageOf<IncidentRecord>, StoreError> {
        let (items, next) = self
            .records
            .page(dc, "#status = :open", &[], &[(":open", s("open"))], page)
            .await?;
        Ok(PageOf {
            items: items.iter().map(incident_record).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn incident(&self, dc: &DcCode, key: &BalanceKeyText) -> Result<Option<IncidentRecord>, StoreError> {
        let item = self.records.get(dc, key.as_str()).await?;
        match item {
            Some(item)
                if item
                    .get("status")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|v| v == "open") =>
            {
                incident_record(&item).map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn acknowledge(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.mark_once(
            dc,
            key,
            "acknowledged_by",
            &[("acknowledged_by", s(by.as_str())), ("acknowledged_at", time(now))],
        )
        .await
    }

    async fn record_release(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        by: &UserId,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.mark_once(
            dc,
            key,
            "released_by",
            &[
                ("released_by", s(by.as_str())),
                ("released_at", time(now)),
                ("release_reason", s(reason.as_str())),
            ],
        )
        .await
    }
}
