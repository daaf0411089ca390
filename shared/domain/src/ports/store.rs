//! Persistence ports: the sync ledger, leases and the lot map.

use crate::error::Retryable;
use crate::ids::{DcCode, ItemNumber, LotNumber};
use crate::ledger::{LedgerEntry, SyncState};
use crate::txn::WmsTransaction;
use chrono::{DateTime, NaiveDate, Utc};
use std::future::Future;
use thiserror::Error;

/// A store call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// A conditional write lost: someone else changed the row first. Not retryable as such:
    /// re-read the row and decide again.
    #[error("conditional write lost: {0}")]
    Conflict(String),
    /// Throttling, 5xx, timeouts.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row that cannot be read back (schema drift, manual edits).
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A ledger row: the transaction and where its sync stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// The transaction as first seen.
    pub txn: WmsTransaction,
    /// The sync state.
    pub entry: LedgerEntry,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What [`SyncLedger::record_claimed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The row was created with the given entry: the caller holds its claim.
    Created(LedgerRow),
    /// A row existed; it is returned as stored, unchanged.
    Existing(LedgerRow),
}

/// The DynamoDB sync ledger (or a fake).
pub trait SyncLedger: Send + Sync {
    /// Records a transaction seen in the outbox as `pending_sync` unless a row exists; returns
    /// the stored row either way.
    fn record_seen(
        &self,
        txn: &WmsTransaction,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<LedgerRow, StoreError>> + Send;

    /// Records a transaction first seen in the outbox directly as `entry` (already claimed:
    /// `in_flight`, leased) in one conditional write, unless a row exists: then the stored row
    /// is returned untouched and the caller decides from it. Why: one write instead of two
    /// (record, then claim) on the normal path, with the same guarantee, since only the
    /// writer that created the row holds its claim.
    fn record_claimed(
        &self,
        txn: &WmsTransaction,
        entry: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;

    /// Reads one row.
    fn get(&self, dc: &DcCode, id: &str) -> impl Future<Output = Result<Option<LedgerRow>, StoreError>> + Send;

    /// Writes `next` only if the stored version is still `row.entry.version`; `Conflict` otherwise.
    fn transition(
        &self,
        row: &LedgerRow,
        next: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rows of a DC in one state, oldest change first.
    fn in_state(
        &self,
        dc: &DcCode,
        state: SyncState,
    ) -> impl Future<Output = Result<Vec<LedgerRow>, StoreError>> + Send;

    /// Rows of a DC not yet settled in Fusion (`pending_sync`, `in_flight`, `accepted`,
    /// `sync_failed`).
    fn unsettled(&self, dc: &DcCode) -> impl Future<Output = Result<Vec<LedgerRow>, StoreError>> + Send;
}

/// A per-DC lease so two invocations never sync the same DC at once.
pub trait DcLease: Send + Sync {
    /// Takes the lease for `owner` until `until` if it is free or expired at `now`.
    /// `Ok(false)` when someone else holds it.
    fn acquire(
        &self,
        dc: &DcCode,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Releases the lease if `owner` still holds it.
    fn release(&self, dc: &DcCode, owner: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A WMS lot mapped to its Fusion lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedLot {
    /// Fusion lot number.
    pub fusion_lot: LotNumber,
    /// Expiration date Fusion holds.
    pub expiration: Option<NaiveDate>,
}

/// The lot mapping table (WMS lot id <-> Fusion lot number), filled on first sight.
pub trait LotMap: Send + Sync {
    /// The mapping, if recorded.
    fn get(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        wms_lot: &LotNumber,
    ) -> impl Future<Output = Result<Option<MappedLot>, StoreError>> + Send;

    /// Records a mapping unless one exists; returns the stored mapping either way.
    fn put_if_absent(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        wms_lot: &LotNumber,
        mapped: &MappedLot,
    ) -> impl Future<Output = Result<MappedLot, StoreError>> + Send;
}

/// The current time (a port so tests can move it).
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}
