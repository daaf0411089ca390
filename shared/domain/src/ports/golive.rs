//! The go-live ports: each DC's status (`not_started` ... `live`), read by the fan-out and the
//! reconciliation, moved by the baseline flow and by people; Fusion's balance load; and the
//! baseline's checkpoint table.

use crate::golive::baseline::{BaselinePlan, ChunkProgress, ChunkRecord, PlanId};
use crate::golive::DcStatusRecord;
use crate::ids::{DcCode, ItemNumber, SerialNumber, SubinventoryCode, Uom};
use crate::ports::{FusionError, StoreError};
use crate::txn::LotQuantity;
use rust_decimal::Decimal;
use std::future::Future;

/// The DC status table (or a fake). A DC with no row is `not_started`.
pub trait DcStatusBoard: Send + Sync {
    /// The DC's record, `None` when nobody has touched it (read it as `not_started`).
    fn get(&self, dc: &DcCode) -> impl Future<Output = Result<Option<DcStatusRecord>, StoreError>> + Send;

    /// Every DC that has a record.
    fn all(&self) -> impl Future<Output = Result<Vec<DcStatusRecord>, StoreError>> + Send;

    /// Writes `next` only if the stored version is still `expected_version` (0: no row yet);
    /// `StoreError::Conflict` otherwise, so two people or two invocations moving the same DC get
    /// one success and one conflict.
    fn put(&self, next: &DcStatusRecord, expected_version: u64) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One absolute balance for `inventoryBalanceTransactions` ("Synchronize Inventory Balances
/// from 3PL/WMS": Fusion creates the adjustments to reach it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceLine {
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: SubinventoryCode,
    /// Absolute on-hand quantity (not a delta); never negative.
    pub quantity: Decimal,
    /// Primary UOM.
    pub uom: Uom,
    /// Lot balances of a lot-controlled item (summing to `quantity`).
    pub lots: Vec<LotQuantity>,
    /// Serials on hand of a serial-controlled item.
    pub serials: Vec<SerialNumber>,
}

/// A balance line Fusion refused, as its answer names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedBalance {
    /// Item number as Fusion echoed it.
    pub item: String,
    /// Subinventory as Fusion echoed it.
    pub subinventory: String,
    /// Fusion's text (`ErrorMessage`, else `ErrorCode`).
    pub detail: String,
}

/// What Fusion answered to one [`BalanceLoader::load_balances`] call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceLoad {
    /// HTTP requests it took.
    pub requests: usize,
    /// Lines Fusion refused; every other line was applied.
    pub refused: Vec<RefusedBalance>,
    /// `ReturnMessageText` of answers whose `ReturnStatus` was not SUCCESS.
    pub messages: Vec<String>,
}

/// Loads absolute balances into Fusion (`inventoryBalanceTransactions`, fact sheet §3).
pub trait BalanceLoader: Send + Sync {
    /// Sends `lines` of `dc` with `SubmitForProcessing: Yes`. `Ok` means Fusion answered: each
    /// line is applied unless listed in [`BalanceLoad::refused`]. An `Err` after the request
    /// may have reached Fusion (a 408, 5xx or lost connection) leaves the lines' fate unknown:
    /// the resource has no GET, so the caller decides by reading on-hand. Implementations
    /// retry only failures that happened before Fusion processed anything (429, 503 refusals,
    /// refused connections). `NotFound` (404) means the resource is not enabled on the pod.
    fn load_balances(
        &self,
        dc: &DcCode,
        lines: &[BalanceLine],
    ) -> impl Future<Output = Result<BalanceLoad, FusionError>> + Send;
}

/// The baseline checkpoint table: plan headers and their chunk rows. Every write is
/// conditional, so a resumed or concurrent apply never loses or repeats a chunk's outcome.
pub trait BaselineCheckpoints: Send + Sync {
    /// Stores a new plan: its chunk rows (each only if absent), then its header (only if
    /// absent), so a plan whose header is readable is complete. `Conflict` when the header
    /// exists.
    fn create_plan(
        &self,
        plan: &BaselinePlan,
        chunks: &[ChunkRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A plan's header.
    fn plan(&self, dc: &DcCode, id: &PlanId) -> impl Future<Output = Result<Option<BaselinePlan>, StoreError>> + Send;

    /// The DC's newest plan header.
    fn latest_plan(&self, dc: &DcCode) -> impl Future<Output = Result<Option<BaselinePlan>, StoreError>> + Send;

    /// Every chunk row of a plan, lines included, in index order.
    fn chunks(&self, dc: &DcCode, id: &PlanId) -> impl Future<Output = Result<Vec<ChunkRecord>, StoreError>> + Send;

    /// Every chunk's progress, without the lines (cheaper for `status`).
    fn progress(&self, dc: &DcCode, id: &PlanId)
        -> impl Future<Output = Result<Vec<ChunkProgress>, StoreError>> + Send;

    /// Writes `next` only if the stored chunk's version is still `expected_version`;
    /// `Conflict` otherwise.
    fn put_chunk(
        &self,
        next: &ChunkRecord,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
