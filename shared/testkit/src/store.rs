//! In-memory persistence ports: the sync ledger, per-DC leases and the lot map.

use crate::{lock, Faults};
use chrono::{DateTime, Utc};
use domain::ids::{DcCode, ItemNumber, LotNumber};
use domain::ledger::{LedgerEntry, SyncState};
use domain::ports::{DcLease, LedgerRow, LotMap, MappedLot, Recorded, StoreError, SyncLedger};
use domain::txn::WmsTransaction;
use std::collections::BTreeMap;
use std::sync::Mutex;

type RowKey = (DcCode, String);

#[derive(Debug, Default)]
struct LedgerState {
    rows: BTreeMap<RowKey, LedgerRow>,
    record_faults: Faults<StoreError>,
    transition_faults: Faults<StoreError>,
    transitions: u64,
}

/// The sync ledger in memory, keyed by `(dc, WMS id)`, with the DynamoDB adapter's conditions:
/// `record_seen` is put-if-absent and `transition` writes only if the stored version is still
/// `row.entry.version` (otherwise, or when the row is missing, `StoreError::Conflict`).
#[derive(Debug, Default)]
pub struct InMemoryLedger {
    state: Mutex<LedgerState>,
}

impl InMemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `row` as is, replacing any row with its key (test set-up: a crashed `in_flight`
    /// row, a `synced` row, ...).
    pub fn put_row(&self, row: LedgerRow) {
        let key = (row.txn.dc().clone(), row.txn.id().to_string());
        lock(&self.state).rows.insert(key, row);
    }

    /// The row of `(dc, id)`.
    pub fn row(&self, dc: &DcCode, id: &str) -> Option<LedgerRow> {
        lock(&self.state).rows.get(&(dc.clone(), id.to_string())).cloned()
    }

    /// The state of `(dc, id)`'s row.
    pub fn state_of(&self, dc: &DcCode, id: &str) -> Option<SyncState> {
        self.row(dc, id).map(|r| r.entry.state)
    }

    /// Every row, ordered by DC and id.
    pub fn rows(&self) -> Vec<LedgerRow> {
        lock(&self.state).rows.values().cloned().collect()
    }

    /// Successful transitions so far.
    pub fn transitions(&self) -> u64 {
        lock(&self.state).transitions
    }

    /// The next `n` `record_seen` or `record_claimed` calls fail with `error`.
    pub fn fail_next_record_seen(&self, n: usize, error: StoreError) {
        lock(&self.state).record_faults.push(n, error);
    }

    /// The next `n` `transition` calls fail with `error` without writing.
    pub fn fail_next_transitions(&self, n: usize, error: StoreError) {
        lock(&self.state).transition_faults.push(n, error);
    }
}

impl SyncLedger for InMemoryLedger {
    async fn record_seen(&self, txn: &WmsTransaction, now: DateTime<Utc>) -> Result<LedgerRow, StoreError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.record_faults.take() {
            return Err(e);
        }
        let row = s
            .rows
            .entry((txn.dc().clone(), txn.id().to_string()))
            .or_insert_with(|| LedgerRow {
                txn: txn.clone(),
                entry: LedgerEntry::pending(),
                updated_at: now,
            });
        Ok(row.clone())
    }

    async fn record_claimed(
        &self,
        txn: &WmsTransaction,
        entry: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.record_faults.take() {
            return Err(e);
        }
        let key = (txn.dc().clone(), txn.id().to_string());
        if let Some(row) = s.rows.get(&key) {
            return Ok(Recorded::Existing(row.clone()));
        }
        let row = LedgerRow {
            txn: txn.clone(),
            entry: entry.clone(),
            updated_at: now,
        };
        s.rows.insert(key, row.clone());
        s.transitions += 1;
        Ok(Recorded::Created(row))
    }

    async fn get(&self, dc: &DcCode, id: &str) -> Result<Option<LedgerRow>, StoreError> {
        Ok(self.row(dc, id))
    }

    async fn transition(&self, row: &LedgerRow, next: &LedgerEntry, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.transition_faults.take() {
            return Err(e);
        }
        let key = (row.txn.dc().clone(), row.txn.id().to_string());
        let Some(stored) = s.rows.get_mut(&key) else {
            return Err(StoreError::Conflict(format!("no ledger row {}/{}", key.0, key.1)));
        };
        if stored.entry.version != row.entry.version {
            return Err(StoreError::Conflict(format!(
                "ledger row {}/{} is at version {}, not {}",
                key.0, key.1, stored.entry.version, row.entry.version
            )));
        }
        stored.entry = next.clone();
        stored.updated_at = now;
        s.transitions += 1;
        Ok(())
    }

    async fn in_state(&self, dc: &DcCode, state: SyncState) -> Result<Vec<LedgerRow>, StoreError> {
        let mut rows: Vec<LedgerRow> = lock(&self.state)
            .rows
            .values()
            .filter(|r| r.txn.dc() == dc && r.entry.state == state)
            .cloned()
            .collect();
        rows.sort_by_key(|r| r.updated_at);
        Ok(rows)
    }

    async fn unsettled(&self, dc: &DcCode) -> Result<Vec<LedgerRow>, StoreError> {
        Ok(lock(&self.state)
            .rows
            .values()
            .filter(|r| r.txn.dc() == dc && r.entry.state.is_unsettled())
            .cloned()
            .collect())
    }
}

#[derive(Debug, Default)]
struct LeaseState {
    held: BTreeMap<DcCode, (String, DateTime<Utc>)>,
    acquired: u64,
    refused: u64,
}

/// Per-DC leases in memory, with the DynamoDB adapter's rule: `acquire` succeeds when the
/// lease is absent, lapsed (`until <= now`) or already held by the same owner (renewal).
#[derive(Debug, Default)]
pub struct InMemoryLease {
    state: Mutex<LeaseState>,
}

impl InMemoryLease {
    /// No leases held.
    pub fn new() -> Self {
        Self::default()
    }

    /// The holder of `dc`'s lease and its expiry (possibly lapsed).
    pub fn holder(&self, dc: &DcCode) -> Option<(String, DateTime<Utc>)> {
        lock(&self.state).held.get(dc).cloned()
    }

    /// `(granted, refused)` acquire calls so far.
    pub fn acquire_counts(&self) -> (u64, u64) {
        let s = lock(&self.state);
        (s.acquired, s.refused)
    }
}

impl DcLease for InMemoryLease {
    async fn acquire(
        &self,
        dc: &DcCode,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut s = lock(&self.state);
        let free = match s.held.get(dc) {
            None => true,
            Some((holder, expiry)) => *expiry <= now || holder == owner,
        };
        if free {
            s.held.insert(dc.clone(), (owner.to_string(), until));
            s.acquired += 1;
        } else {
            s.refused += 1;
        }
        Ok(free)
    }

    async fn release(&self, dc: &DcCode, owner: &str) -> Result<(), StoreError> {
        let mut s = lock(&self.state);
        if s.held.get(dc).is_some_and(|(holder, _)| holder == owner) {
            s.held.remove(dc);
        }
        Ok(())
    }
}

type LotKey = (DcCode, ItemNumber, LotNumber);

/// The lot map in memory; `put_if_absent` keeps the first mapping.
#[derive(Debug, Default)]
pub struct InMemoryLotMap {
    lots: Mutex<BTreeMap<LotKey, MappedLot>>,
}

impl InMemoryLotMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a mapping, replacing any (test set-up).
    pub fn insert(&self, dc: &DcCode, item: &ItemNumber, wms_lot: &LotNumber, mapped: MappedLot) {
        lock(&self.lots).insert((dc.clone(), item.clone(), wms_lot.clone()), mapped);
    }

    /// The mapping of a WMS lot.
    pub fn mapping(&self, dc: &DcCode, item: &ItemNumber, wms_lot: &LotNumber) -> Option<MappedLot> {
        lock(&self.lots)
            .get(&(dc.clone(), item.clone(), wms_lot.clone()))
            .cloned()
    }

    /// How many mappings are recorded.
    pub fn len(&self) -> usize {
        lock(&self.lots).len()
    }

    /// Whether no mapping is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LotMap for InMemoryLotMap {
    async fn get(&self, dc: &DcCode, item: &ItemNumber, wms_lot: &LotNumber) -> Result<Option<MappedLot>, StoreError> {
        Ok(self.mapping(dc, item, wms_lot))
    }

    async fn put_if_absent(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        wms_lot: &LotNumber,
        mapped: &MappedLot,
    ) -> Result<MappedLot, StoreError> {
        Ok(lock(&self.lots)
            .entry((dc.clone(), item.clone(), wms_lot.clone()))
            .or_insert_with(|| mapped.clone())
            .clone())
    }
}
