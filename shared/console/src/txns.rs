//! Failed and stuck transactions: list, retry one, retry all matching, close as handled
//! outside invsync.

use crate::types::{CloseRequest, RetryFilter, RetrySummary, StuckKind, TxnView};
use crate::{caller, ConsoleError, ConsoleService};
use domain::console::{authorize, Action, AuditEntry, AuditId, PageOf, PageRequest, Principal, Reason};
use domain::ids::{DcCode, WmsTxnId};
use domain::ledger::{LedgerEvent, SyncState};
use domain::ports::ConsolePorts;
use domain::ports::{Clock, LedgerBrowser, LedgerRow, StoreError, SyncLedger};
use domain::reconciliation::is_adjustment;
use domain::sync::sync_transaction;

/// What one operator step on a ledger row did.
enum Step {
    /// This call moved the row.
    Moved(LedgerRow),
    /// The row was already where the step takes it (a repeat) or moved by someone else.
    Unchanged(LedgerRow),
}

impl<P: ConsolePorts> ConsoleService<P> {
    /// One page of `dc`'s failed (`sync_failed`, `manual_review`) or stuck (`in_flight`,
    /// `accepted` unchanged for `stale_after`) transactions with Fusion's error text, oldest
    /// change first. Every role.
    pub async fn list_stuck(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        kind: StuckKind,
        page: &PageRequest,
    ) -> Result<PageOf<TxnView>, ConsoleError> {
        authorize(who, Action::ListFailedTxns, dc)?;
        let before = match kind {
            StuckKind::StaleInFlight | StuckKind::StaleAccepted => {
                Some(self.ports.clock().now() - self.settings.stale_after)
            }
            StuckKind::SyncFailed | StuckKind::ManualReview => None,
        };
        let rows = self.ports.browser().list_rows(dc, kind.state(), before, page).await?;
        Ok(rows.map(|r| TxnView::from(&r)))
    }

    /// Sends one `sync_failed` or `manual_review` transaction back to `pending_sync`
    /// (audited). A WMS transaction is posted by the next sync of the DC (it is still in the
    /// WMS outbox); an adjustment is posted now. A row already moved on (a repeat) is
    /// returned unchanged. Integration team.
    pub async fn retry_txn(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        id: &WmsTxnId,
    ) -> Result<TxnView, ConsoleError> {
        authorize(who, Action::RetryTxn, dc)?;
        let p = caller(who)?;
        let row = self.row(dc, id).await?;
        let row = match self.retry_row(p, row, Action::RetryTxn).await? {
            Step::Moved(row) | Step::Unchanged(row) => row,
        };
        Ok(TxnView::from(&row))
    }

    /// Retries every transaction of `dc` in `filter.state` (`sync_failed` or
    /// `manual_review`) matching the filter, up to `ConsoleSettings::retry_all_max`, one audit
    /// entry per row. Integration team.
    pub async fn retry_matching(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        filter: &RetryFilter,
    ) -> Result<RetrySummary, ConsoleError> {
        authorize(who, Action::RetryMatching, dc)?;
        let p = caller(who)?;
        if !filter.state.needs_operator() {
            return Err(ConsoleError::BadRequest(
                "retry all takes sync_failed or manual_review rows only".into(),
            ));
        }
        let needle = filter.error_contains.as_ref().map(|s| s.to_lowercase());
        let matches = |row: &LedgerRow| {
            filter.item.as_ref().is_none_or(|i| row.txn.item() == i)
                && needle.as_ref().is_none_or(|n| {
                    row.entry
                        .failure
                        .as_ref()
                        .is_some_and(|f| f.reason.to_lowercase().contains(n.as_str()))
                })
        };
        // Collect first, then move: moving rows while paging the state index would shift the
        // pages under the cursor.
        let mut candidates = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut truncated = false;
        loop {
            let got = self.ports.browser().list_rows(dc, filter.state, None, &page).await?;
            candidates.extend(got.items.into_iter().filter(|r| matches(r)));
            if candidates.len() >= self.settings.retry_all_max {
                truncated = candidates.len() > self.settings.retry_all_max || got.next.is_some();
                candidates.truncate(self.settings.retry_all_max);
                break;
            }
            match got.next {
                Some(c) => page = PageRequest::after(PageRequest::MAX_LIMIT, c),
                None => break,
            }
        }
        let mut summary = RetrySummary {
            retried: Vec::new(),
            skipped: 0,
            truncated,
        };
        for row in candidates {
            match self.retry_row(p, row, Action::RetryMatching).await? {
                Step::Moved(row) => summary.retried.push(TxnView::from(&row)),
                Step::Unchanged(_) => summary.skipped += 1,
            }
        }
        Ok(summary)
    }

    /// Closes one `sync_failed` or `manual_review` transaction as handled outside invsync
    /// with a reason (terminal, audited). A row already closed that way is returned
    /// unchanged. The WMS keeps the transaction in its outbox as `sync_failed`; the sync
    /// skips it. Integration team.
    pub async fn close_txn(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        id: &WmsTxnId,
        request: &CloseRequest,
    ) -> Result<TxnView, ConsoleError> {
        authorize(who, Action::CloseTxn, dc)?;
        let p = caller(who)?;
        let row = self.row(dc, id).await?;
        let event = LedgerEvent::HandledOutside {
            by: p.user.to_string(),
            reason: request.reason.to_string(),
        };
        let step = self
            .operator_step(
                p,
                row,
                event,
                Action::CloseTxn,
                SyncState::HandledOutside,
                Some(&request.reason),
            )
            .await?;
        let row = match step {
            Step::Moved(row) | Step::Unchanged(row) => row,
        };
        Ok(TxnView::from(&row))
    }

    async fn row(&self, dc: &DcCode, id: &WmsTxnId) -> Result<LedgerRow, ConsoleError> {
        self.ports
            .ledger()
            .get(dc, id.as_str())
            .await?
            .ok_or_else(|| ConsoleError::NotFound(format!("no transaction {id} at {dc}")))
    }

    async fn retry_row(&self, p: &Principal, row: LedgerRow, action: Action) -> Result<Step, ConsoleError> {
        let event = LedgerEvent::OperatorRetry { by: p.user.to_string() };
        let step = self
            .operator_step(p, row, event, action, SyncState::PendingSync, None)
            .await?;
        let Step::Moved(row) = step else {
            return Ok(step);
        };
        if !is_adjustment(row.txn.id()) {
            return Ok(Step::Moved(row));
        }
        // An adjustment was never in the WMS outbox, so no sync run would find it: post it now
        // through the same two-phase commit (idempotent by its id).
        sync_transaction(&self.ports, &self.settings.sync, row.txn.clone(), false).await;
        let row = self.row(row.txn.dc(), row.txn.id()).await?;
        Ok(Step::Moved(row))
    }

    /// Applies an operator event to `row` with a conditional write and audits it. A row not in
    /// a state the event applies to is returned unchanged (with the audit entry re-appended
    /// when it is already `target`, in case the first append was lost); a lost race re-reads.
    async fn operator_step(
        &self,
        p: &Principal,
        row: LedgerRow,
        event: LedgerEvent,
        action: Action,
        target_state: SyncState,
        reason: Option<&Reason>,
    ) -> Result<Step, ConsoleError> {
        let dc = row.txn.dc().clone();
        let target = format!("txn:{}", row.txn.id());
        let entry = |before: &LedgerRow, after: &LedgerRow| AuditEntry {
            id: AuditId::of(action, &target, after.entry.version),
            dc: dc.clone(),
            at: self.ports.clock().now(),
            actor: p.user.clone(),
            action,
            target: target.clone(),
            before: serde_json::to_value(TxnView::from(before)).ok(),
            after: serde_json::to_value(TxnView::from(after)).ok(),
            reason: reason.cloned(),
        };
        if !row.entry.state.needs_operator() {
            if row.entry.state != target_state {
                return match action {
                    Action::RetryMatching => Ok(Step::Unchanged(row)),
                    _ => Err(ConsoleError::Conflict(format!(
                        "transaction {} is {}; only sync_failed or manual_review rows can be retried or closed",
                        row.txn.id(),
                        row.entry.state
                    ))),
                };
            }
            return Ok(Step::Unchanged(row));
        }
        let next = row.entry.apply(event)?;
        let now = self.ports.clock().now();
        match self.ports.ledger().transition(&row, &next, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                let current = self.row(&dc, row.txn.id()).await?;
                return Ok(Step::Unchanged(current));
            }
            Err(e) => return Err(e.into()),
        }
        let after = LedgerRow {
            txn: row.txn.clone(),
            entry: next,
            updated_at: now,
        };
        self.audit(entry(&row, &after)).await?;
        Ok(Step::Moved(after))
    }
}
