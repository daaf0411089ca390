//! [`FakeWms`]: the WMS contract (`docs/wms-api.openapi.yaml`) in memory.

use crate::{lock, Faults};
use domain::error::DomainError;
use domain::ids::{DcCode, ItemNumber};
use domain::ports::{Hold, OutboxItem, Page, SyncOutcome, WarehouseSystem, WmsBalance, WmsError};
use domain::txn::WmsTransaction;
use domain::variance::BalanceKey;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Largest page the contract serves (`limit_too_large` above).
pub const MAX_LIMIT: usize = 5000;

/// Where a transaction stands on the WMS side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WmsTxnStatus {
    /// Waiting for sync, reservation held.
    PendingSync,
    /// A `sync_failed` outcome was reported; still in the outbox, reservation held.
    SyncFailed {
        /// The last reported error.
        last_error: String,
    },
    /// Synced: out of the outbox, reservation released.
    Synced {
        /// The reported Fusion reference.
        fusion_reference: String,
    },
}

/// One `report` call and what the WMS answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCall {
    /// DC.
    pub dc: DcCode,
    /// Transaction id.
    pub id: String,
    /// The outcome reported.
    pub outcome: SyncOutcome,
    /// The WMS's answer.
    pub result: Result<(), WmsError>,
}

#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    dc: DcCode,
    raw_id: String,
    txn: Result<WmsTransaction, DomainError>,
    status: WmsTxnStatus,
}

#[derive(Debug, Clone)]
struct HoldRecord {
    dc: DcCode,
    hold: Hold,
    released: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    dcs: BTreeSet<DcCode>,
    entries: Vec<Entry>,
    next_seq: u64,
    reports: Vec<ReportCall>,
    balances: BTreeMap<DcCode, BTreeMap<BalanceKey, WmsBalance>>,
    balance_cursors: Vec<BalanceKey>,
    holds: Vec<HoldRecord>,
    outbox_faults: Faults<WmsError>,
    report_faults: Faults<WmsError>,
    balance_faults: Faults<WmsError>,
    hold_faults: Faults<WmsError>,
    outbox_calls: u64,
    during_balances: std::collections::VecDeque<WmsTransaction>,
}

impl State {
    fn known(&self, dc: &DcCode) -> Result<(), WmsError> {
        if self.dcs.contains(dc) {
            Ok(())
        } else {
            Err(WmsError::UnknownDc(dc.to_string()))
        }
    }

    fn push(&mut self, dc: DcCode, raw_id: String, txn: Result<WmsTransaction, DomainError>) {
        self.next_seq += 1;
        self.dcs.insert(dc.clone());
        self.entries.push(Entry {
            seq: self.next_seq,
            dc,
            raw_id,
            txn,
            status: WmsTxnStatus::PendingSync,
        });
    }

    fn apply_report(&mut self, dc: &DcCode, id: &str, outcome: &SyncOutcome) -> Result<(), WmsError> {
        self.known(dc)?;
        let unprocessable = |code: &str, message: &str| WmsError::Rejected {
            status: 422,
            code: code.into(),
            message: message.into(),
        };
        match outcome {
            SyncOutcome::Synced { fusion_reference } if fusion_reference.trim().is_empty() => {
                return Err(unprocessable(
                    "fusion_reference_required",
                    "synced needs a fusion_reference",
                ))
            }
            SyncOutcome::Failed { error } if error.trim().is_empty() => {
                return Err(unprocessable("error_required", "sync_failed needs an error"))
            }
            _ => {}
        }
        let Some(entry) = self.entries.iter_mut().find(|e| &e.dc == dc && e.raw_id == id) else {
            return Err(WmsError::Rejected {
                status: 404,
                code: "unknown_transaction".into(),
                message: format!("no transaction {id:?} at {dc}"),
            });
        };
        match (&entry.status, outcome) {
            (WmsTxnStatus::Synced { fusion_reference: held }, SyncOutcome::Synced { fusion_reference }) => {
                if held == fusion_reference {
                    Ok(())
                } else {
                    Err(WmsError::Conflict(format!(
                        "{id} was already synced with fusion_reference {held}"
                    )))
                }
            }
            (WmsTxnStatus::Synced { .. }, SyncOutcome::Failed { .. }) => Err(WmsError::Conflict(format!(
                "{id} was already synced; it cannot fail afterwards"
            ))),
            (_, SyncOutcome::Synced { fusion_reference }) => {
                entry.status = WmsTxnStatus::Synced {
                    fusion_reference: fusion_reference.clone(),
                };
                Ok(())
            }
            (_, SyncOutcome::Failed { error }) => {
                entry.status = WmsTxnStatus::SyncFailed {
                    last_error: error.clone(),
                };
                Ok(())
            }
        }
    }
}

fn bad_request(code: &str, message: String) -> WmsError {
    WmsError::Rejected {
        status: 400,
        code: code.into(),
        message,
    }
}

fn check_limit(limit: usize) -> Result<(), WmsError> {
    match limit {
        0 => Err(bad_request("invalid_limit", "limit must be at least 1".into())),
        l if l > MAX_LIMIT => Err(bad_request(
            "limit_too_large",
            format!("limit {l} is above {MAX_LIMIT}"),
        )),
        _ => Ok(()),
    }
}

/// The WMS contract in memory.
///
/// Contract kept: the outbox lists `pending_sync` and `sync_failed` transactions of a DC in
/// WMS sequence order, cursor-paged by sequence (rows present throughout are returned exactly
/// once); a `synced` outcome removes a transaction from it. Outcomes are idempotent: the same
/// outcome again is accepted, `sync_failed` then `synced` is allowed, and `synced` then
/// `sync_failed` or a different `fusion_reference` is refused with `Conflict` and changes
/// nothing. Unknown DCs answer `UnknownDc`, unknown transactions 404 `unknown_transaction`.
/// `place_hold` keeps the original hold when the item is already held.
#[derive(Debug, Default)]
pub struct FakeWms {
    state: Mutex<State>,
}

impl FakeWms {
    /// A WMS with no DCs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `dc` known (it need not have any transaction or balance).
    pub fn add_dc(&self, dc: &DcCode) {
        lock(&self.state).dcs.insert(dc.clone());
    }

    /// Appends a transaction to its DC's outbox as `pending_sync`.
    pub fn push_txn(&self, txn: WmsTransaction) {
        lock(&self.state).push(txn.dc().clone(), txn.id().to_string(), Ok(txn));
    }

    /// Appends an outbox entry the adapter could not parse.
    pub fn push_malformed(&self, dc: &DcCode, raw_id: &str, error: DomainError) {
        lock(&self.state).push(dc.clone(), raw_id.to_string(), Err(error));
    }

    /// The WMS-side status of a transaction.
    pub fn status(&self, dc: &DcCode, id: &str) -> Option<WmsTxnStatus> {
        lock(&self.state)
            .entries
            .iter()
            .find(|e| &e.dc == dc && e.raw_id == id)
            .map(|e| e.status.clone())
    }

    /// Ids still in `dc`'s outbox (`pending_sync` or `sync_failed`), in sequence order.
    pub fn outbox_ids(&self, dc: &DcCode) -> Vec<String> {
        lock(&self.state)
            .entries
            .iter()
            .filter(|e| &e.dc == dc && !matches!(e.status, WmsTxnStatus::Synced { .. }))
            .map(|e| e.raw_id.clone())
            .collect()
    }

    /// Every `report` call, in order, with the WMS's answer.
    pub fn reports(&self) -> Vec<ReportCall> {
        lock(&self.state).reports.clone()
    }

    /// The `report` calls for one transaction id.
    pub fn reports_for(&self, id: &str) -> Vec<ReportCall> {
        lock(&self.state)
            .reports
            .iter()
            .filter(|r| r.id == id)
            .cloned()
            .collect()
    }

    /// `outbox` calls made, failed ones included.
    pub fn outbox_calls(&self) -> u64 {
        lock(&self.state).outbox_calls
    }

    /// Sets a balance row (replacing the row with its key).
    pub fn set_balance(&self, balance: WmsBalance) {
        let mut s = lock(&self.state);
        s.dcs.insert(balance.key.dc.clone());
        s.balances
            .entry(balance.key.dc.clone())
            .or_default()
            .insert(balance.key.clone(), balance);
    }

    /// Removes a balance row; `true` if there was one.
    pub fn remove_balance(&self, key: &BalanceKey) -> bool {
        lock(&self.state)
            .balances
            .get_mut(&key.dc)
            .is_some_and(|rows| rows.remove(key).is_some())
    }

    /// Releases the active hold of `item` at `dc`; `false` if none was active.
    pub fn release_hold(&self, dc: &DcCode, item: &ItemNumber, reason: &str) -> bool {
        let mut s = lock(&self.state);
        match s
            .holds
            .iter_mut()
            .find(|h| &h.dc == dc && &h.hold.item == item && h.released.is_none())
        {
            Some(h) => {
                h.released = Some(reason.to_string());
                true
            }
            None => false,
        }
    }

    /// Every hold ever placed with its release reason (`None` while active), in order.
    pub fn hold_history(&self, dc: &DcCode) -> Vec<(Hold, Option<String>)> {
        lock(&self.state)
            .holds
            .iter()
            .filter(|h| &h.dc == dc)
            .map(|h| (h.hold.clone(), h.released.clone()))
            .collect()
    }

    /// The next `n` `outbox` calls fail with `error`.
    pub fn fail_next_outbox(&self, n: usize, error: WmsError) {
        lock(&self.state).outbox_faults.push(n, error);
    }

    /// The next `n` `report` calls fail with `error` and change nothing.
    pub fn fail_next_reports(&self, n: usize, error: WmsError) {
        lock(&self.state).report_faults.push(n, error);
    }

    /// The next `n` `balances` calls fail with `error`.
    pub fn fail_next_balances(&self, n: usize, error: WmsError) {
        lock(&self.state).balance_faults.push(n, error);
    }

    /// Each of the next `balances` calls first captures one of `txns` into its DC's outbox,
    /// in order: the WMS working while its balances are read.
    pub fn capture_during_balance_reads(&self, txns: impl IntoIterator<Item = WmsTransaction>) {
        lock(&self.state).during_balances.extend(txns);
    }

    /// The next `n` `place_hold` or `holds` calls fail with `error`.
    pub fn fail_next_holds(&self, n: usize, error: WmsError) {
        lock(&self.state).hold_faults.push(n, error);
    }
}

impl WarehouseSystem for FakeWms {
    async fn outbox(&self, dc: &DcCode, cursor: Option<&str>, limit: usize) -> Result<Page<OutboxItem>, WmsError> {
        let mut s = lock(&self.state);
        s.outbox_calls += 1;
        if let Some(e) = s.outbox_faults.take() {
            return Err(e);
        }
        s.known(dc)?;
        check_limit(limit)?;
        let after = match cursor {
            None => 0,
            Some(c) => c
                .strip_prefix("seq:")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| bad_request("invalid_cursor", format!("cursor {c:?} was not issued by this WMS")))?,
        };
        let mut rows = s
            .entries
            .iter()
            .filter(|e| &e.dc == dc && e.seq > after && !matches!(e.status, WmsTxnStatus::Synced { .. }));
        let items: Vec<&Entry> = rows.by_ref().take(limit).collect();
        let more = rows.next().is_some();
        let next_cursor = match items.last() {
            Some(last) if more => Some(format!("seq:{}", last.seq)),
            _ => None,
        };
        Ok(Page {
            items: items
                .into_iter()
                .map(|e| OutboxItem {
                    raw_id: e.raw_id.clone(),
                    txn: e.txn.clone(),
                    failed_before: matches!(e.status, WmsTxnStatus::SyncFailed { .. }),
                    sequence: Some(e.seq),
                })
                .collect(),
            next_cursor,
        })
    }

    async fn report(&self, dc: &DcCode, id: &str, outcome: &SyncOutcome) -> Result<(), WmsError> {
        let mut s = lock(&self.state);
        let result = match s.report_faults.take() {
            Some(e) => Err(e),
            None => s.apply_report(dc, id, outcome),
        };
        s.reports.push(ReportCall {
            dc: dc.clone(),
            id: id.to_string(),
            outcome: outcome.clone(),
            result: result.clone(),
        });
        result
    }

    async fn balances(&self, dc: &DcCode, cursor: Option<&str>, limit: usize) -> Result<Page<WmsBalance>, WmsError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.balance_faults.take() {
            return Err(e);
        }
        if let Some(txn) = s.during_balances.pop_front() {
            s.push(txn.dc().clone(), txn.id().to_string(), Ok(txn));
        }
        s.known(dc)?;
        check_limit(limit)?;
        let after = match cursor {
            None => None,
            Some(c) => Some(
                c.strip_prefix("bal:")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|i| s.balance_cursors.get(i).cloned())
                    .ok_or_else(|| bad_request("invalid_cursor", format!("cursor {c:?} was not issued by this WMS")))?,
            ),
        };
        let empty = BTreeMap::new();
        let all = s.balances.get(dc).unwrap_or(&empty);
        let mut rows = all.iter().filter(|(k, _)| after.as_ref().is_none_or(|a| *k > a));
        let items: Vec<WmsBalance> = rows.by_ref().take(limit).map(|(_, b)| b.clone()).collect();
        let more = rows.next().is_some();
        let next_key = items.last().filter(|_| more).map(|b| b.key.clone());
        let next_cursor = next_key.map(|k| {
            s.balance_cursors.push(k);
            format!("bal:{}", s.balance_cursors.len() - 1)
        });
        Ok(Page { items, next_cursor })
    }

    async fn place_hold(&self, dc: &DcCode, hold: &Hold) -> Result<(), WmsError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.hold_faults.take() {
            return Err(e);
        }
        s.known(dc)?;
        let active = s
            .holds
            .iter()
            .any(|h| &h.dc == dc && h.hold.item == hold.item && h.released.is_none());
        if !active {
            s.holds.push(HoldRecord {
                dc: dc.clone(),
                hold: hold.clone(),
                released: None,
            });
        }
        Ok(())
    }

    async fn holds(&self, dc: &DcCode) -> Result<Vec<Hold>, WmsError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.hold_faults.take() {
            return Err(e);
        }
        s.known(dc)?;
        Ok(s.holds
            .iter()
            .filter(|h| &h.dc == dc && h.released.is_none())
            .map(|h| h.hold.clone())
            .collect())
    }
}
