//! Review tasks: list, detail, claim, resolve (see the crate doc).

use crate::types::{ResolveOutcome, ResolveRequest, TaskDetail, TaskView, TxnView};
use crate::{caller, ConsoleError, ConsoleService};
use domain::console::{authorize, Action, AuditEntry, AuditId, PageOf, PageRequest, Principal, Resolution};
use domain::console::{TaskState, TaskStatus, Transition};
use domain::ids::{DcCode, WmsTxnId};
use domain::ledger::SyncState;
use domain::ports::ConsolePorts;
use domain::ports::{
    Clock, FusionInventory, LedgerBrowser, LedgerRow, SyncLedger, TaskBoard, TaskFilter, TaskKey, TaskKind, TaskRecord,
};
use domain::reconciliation::{adjustment_for, KeyFacts};
use domain::sync::sync_transaction;
use domain::variance::{Tier, Variance};
use domain::WmsTransaction;
use std::collections::BTreeSet;

/// The audit target of a task.
fn target(key: &TaskKey) -> String {
    format!("task:{key}")
}

/// Distinguishes the task opened now from an earlier one with the same key (a reopened key
/// starts at version 0 again).
fn generation(record: &TaskRecord, version: u64) -> String {
    format!("{}/v{version}", record.opened_at.timestamp_millis())
}

fn json<T: serde::Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

impl<P: ConsolePorts> ConsoleService<P> {
    /// One page of `dc`'s review tasks passing `filter` (default: every task not closed).
    /// Supervisor or manager.
    pub async fn list_tasks(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        filter: TaskFilter,
        page: &PageRequest,
    ) -> Result<PageOf<TaskView>, ConsoleError> {
        authorize(who, Action::ListTasks, dc)?;
        let records = self.ports.board().list_tasks(dc, filter, page).await?;
        Ok(records.map(|r| TaskView::from(&r)))
    }

    /// One task with its figures and the ledger transactions behind it. A `resolving` task
    /// whose adjustment Fusion has processed is closed by this read. Supervisor or manager.
    pub async fn task_detail(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        key: &TaskKey,
    ) -> Result<TaskDetail, ConsoleError> {
        authorize(who, Action::ViewTask, dc)?;
        let record = self.record(dc, key).await?;
        let record = self.settle_if_processed(record).await?;
        let transactions = self.transactions_behind(&record).await?;
        Ok(TaskDetail {
            task: TaskView::from(&record),
            detail: record.task.detail.clone(),
            figures: record.task.figures.clone(),
            transactions,
        })
    }

    /// Claims a task for the caller. Claiming a task one holds already changes nothing.
    /// Supervisor.
    pub async fn claim_task(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        key: &TaskKey,
    ) -> Result<TaskView, ConsoleError> {
        authorize(who, Action::ClaimTask, dc)?;
        let p = caller(who)?;
        let record = self.record(dc, key).await?;
        let (record, entry) = match record.state.claim(&p.user)? {
            Transition::Changed(next) => {
                let now = self.ports.clock().now();
                self.ports
                    .board()
                    .save_state(dc, key, &next, record.state.version, None, now)
                    .await?;
                let entry = self.task_entry(p, &record, &next, Action::ClaimTask, None);
                (with_state(record, next, now), entry)
            }
            Transition::Unchanged => {
                let entry = self.task_entry(p, &record, &record.state, Action::ClaimTask, None);
                (record, entry)
            }
        };
        self.audit(entry).await?;
        Ok(TaskView::from(&record))
    }

    /// Resolves a task seen at `request.version` (a stale version is a 409 Conflict; the same
    /// request repeated changes nothing). `Adjust` needs a variance task with figures on an
    /// item that is not serial-controlled; it posts the adjustment (idempotent by its id) and
    /// closes the task at once if Fusion processed it, otherwise the task stays `resolving`.
    /// Supervisor.
    pub async fn resolve_task(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        key: &TaskKey,
        request: &ResolveRequest,
    ) -> Result<ResolveOutcome, ConsoleError> {
        authorize(who, Action::ResolveTask, dc)?;
        let p = caller(who)?;
        let record = self.record(dc, key).await?;
        let adjustment = match request.resolution {
            Resolution::Adjust => Some(self.adjustment(&record, request.version).await?),
            _ => None,
        };
        let adjustment_id = adjustment.as_ref().map(|t| t.id().clone());
        let transition = record
            .state
            .resolve(&p.user, &request.resolution, request.version, adjustment_id.as_ref())?;
        let now = self.ports.clock().now();
        let record = match transition {
            Transition::Changed(next) => {
                let reason = closed_reason(&request.resolution, p);
                let closing = next.status == TaskStatus::Closed;
                self.ports
                    .board()
                    .save_state(dc, key, &next, request.version, closing.then_some(reason.as_str()), now)
                    .await?;
                let entry = self.task_entry(p, &record, &next, Action::ResolveTask, Some(&request.resolution));
                self.audit(entry).await?;
                let mut r = with_state(record, next, now);
                if closing {
                    r.closed_reason = Some(reason);
                }
                r
            }
            Transition::Unchanged => {
                let entry = self.task_entry(
                    p,
                    &record,
                    &record.state,
                    Action::ResolveTask,
                    Some(&request.resolution),
                );
                self.audit(entry).await?;
                record
            }
        };
        let Some(txn) = adjustment else {
            return Ok(ResolveOutcome {
                task: TaskView::from(&record),
                adjustment: None,
            });
        };
        // Posting is idempotent by the adjustment's id (the ledger row): a repeat finds the
        // row and at most claims what is still claimable; it never posts a second time.
        let id = txn.id().clone();
        sync_transaction(&self.ports, &self.settings.sync, txn, false).await;
        let record = self.settle_if_processed(record).await?;
        let row = self.ports.ledger().get(dc, id.as_str()).await?;
        Ok(ResolveOutcome {
            task: TaskView::from(&record),
            adjustment: row.as_ref().map(TxnView::from),
        })
    }

    pub(crate) async fn record(&self, dc: &DcCode, key: &TaskKey) -> Result<TaskRecord, ConsoleError> {
        self.ports
            .board()
            .task(dc, key)
            .await?
            .ok_or_else(|| ConsoleError::NotFound(format!("no task {key} at {dc}")))
    }

    /// Closes a `resolving` task whose adjustment Fusion processed (`synced`); anything else
    /// is returned as it is. A lost race (someone else settled it) re-reads.
    pub(crate) async fn settle_if_processed(&self, record: TaskRecord) -> Result<TaskRecord, ConsoleError> {
        let (TaskStatus::Resolving, Some(id)) = (record.state.status, record.state.adjustment.clone()) else {
            return Ok(record);
        };
        let dc = record.task.dc.clone();
        let processed = self
            .ports
            .ledger()
            .get(&dc, id.as_str())
            .await?
            .is_some_and(|row| row.entry.state == SyncState::Synced);
        if !processed {
            return Ok(record);
        }
        let Transition::Changed(next) = record.state.settle() else {
            return Ok(record);
        };
        let now = self.ports.clock().now();
        let reason = format!("adjustment {id} processed by Fusion");
        match self
            .ports
            .board()
            .save_state(&dc, &record.task.key, &next, record.state.version, Some(&reason), now)
            .await
        {
            Ok(()) => {
                let mut r = with_state(record, next, now);
                r.closed_reason = Some(reason);
                Ok(r)
            }
            Err(domain::ports::StoreError::Conflict(_)) => self.record(&dc, &record.task.key).await,
            Err(e) => Err(e.into()),
        }
    }

    /// The adjustment a task resolved at `version` posts: kind `Adjustment`, the variance as
    /// recorded in the task, id derived from the task's generation and `version`.
    async fn adjustment(&self, record: &TaskRecord, version: u64) -> Result<WmsTransaction, ConsoleError> {
        let figures = match (&record.task.kind, &record.task.figures) {
            (TaskKind::Variance, Some(f)) => f,
            _ => {
                return Err(ConsoleError::BadRequest(
                    "only a variance task with recorded figures can be resolved by an adjustment".into(),
                ))
            }
        };
        if figures.variance.is_zero() {
            return Err(ConsoleError::BadRequest(
                "the recorded variance is zero: nothing to adjust".into(),
            ));
        }
        let info = self
            .ports
            .fusion()
            .item_info(&figures.key.dc, &figures.key.item)
            .await?;
        if figures.serial_controlled || info.serial_controlled {
            return Err(ConsoleError::BadRequest(
                "serial-controlled item: an adjustment needs the serials; correct it in the WMS or Fusion".into(),
            ));
        }
        let uom = figures.uom.clone().unwrap_or_else(|| info.primary_uom.clone());
        let variance = Variance {
            key: figures.key.clone(),
            wms: figures.wms,
            fusion: figures.fusion,
            in_flight: figures.in_flight,
            variance: figures.variance,
            tier: Tier::Review,
        };
        let facts = KeyFacts {
            uom,
            expiration: figures.expiration,
            wms_serials: BTreeSet::new(),
            fusion_serials: BTreeSet::new(),
            in_flight_serials: BTreeSet::new(),
        };
        let run = format!("console/{}", generation(record, version));
        adjustment_for(&run, &variance, &facts, self.ports.clock().now())
            .map_err(|e| ConsoleError::BadRequest(format!("no adjustment can be built: {e}")))
    }

    /// The ledger rows behind a task: its transaction (`txn:` tasks), its adjustment, and the
    /// item's failed and unsettled rows at the DC.
    async fn transactions_behind(&self, record: &TaskRecord) -> Result<Vec<TxnView>, ConsoleError> {
        let dc = &record.task.dc;
        let mut rows: Vec<LedgerRow> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        if let TaskKey::Txn(id) = &record.task.key {
            ids.push(id.clone());
        }
        if let Some(adj) = &record.state.adjustment {
            ids.push(adj.to_string());
        }
        for id in &ids {
            if let Some(row) = self.ports.ledger().get(dc, id).await? {
                rows.push(row);
            }
        }
        let item = record
            .task
            .figures
            .as_ref()
            .map(|f| f.key.item.clone())
            .or_else(|| rows.first().map(|r| r.txn.item().clone()));
        if let Some(item) = item {
            for state in [
                SyncState::PendingSync,
                SyncState::InFlight,
                SyncState::Accepted,
                SyncState::SyncFailed,
                SyncState::ManualReview,
            ] {
                let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
                loop {
                    let got = self.ports.browser().list_rows(dc, state, None, &page).await?;
                    rows.extend(
                        got.items
                            .into_iter()
                            .filter(|r| r.txn.item() == &item && !ids.iter().any(|i| i == r.txn.id().as_str())),
                    );
                    match got.next {
                        Some(c) => page = PageRequest::after(PageRequest::MAX_LIMIT, c),
                        None => break,
                    }
                }
            }
        }
        Ok(rows.iter().map(TxnView::from).collect())
    }

    fn task_entry(
        &self,
        p: &Principal,
        record: &TaskRecord,
        after: &TaskState,
        action: Action,
        resolution: Option<&Resolution>,
    ) -> AuditEntry {
        let reason = match resolution {
            Some(Resolution::Close { reason }) => Some(reason.clone()),
            _ => None,
        };
        AuditEntry {
            id: AuditId::of(action, &target(&record.task.key), generation(record, after.version)),
            dc: record.task.dc.clone(),
            at: self.ports.clock().now(),
            actor: p.user.clone(),
            action,
            target: target(&record.task.key),
            before: json(&record.state),
            after: json(after),
            reason,
        }
    }
}

fn with_state(mut record: TaskRecord, state: TaskState, now: chrono::DateTime<chrono::Utc>) -> TaskRecord {
    record.state = state;
    record.updated_at = now;
    record
}

fn closed_reason(resolution: &Resolution, p: &Principal) -> String {
    match resolution {
        Resolution::Adjust => format!("resolved by adjustment by {}", p.user),
        Resolution::RecountRequested => format!("WMS count wrong, recount requested by {}", p.user),
        Resolution::Close { reason } => format!("closed by {}: {reason}", p.user),
    }
}

/// The adjustment id a task resolved at `version` gets (for tests and the API's docs).
pub fn adjustment_id_for(record: &TaskRecord, version: u64) -> Option<WmsTxnId> {
    let key = &record.task.figures.as_ref()?.key;
    domain::reconciliation::adjustment_id(&format!("console/{}", generation(record, version)), key).ok()
}
