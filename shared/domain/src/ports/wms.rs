//! The WMS port: the contract in `docs/wms-api.openapi.yaml`.

use crate::error::{DomainError, Retryable};
use crate::ids::{DcCode, ItemNumber, SerialNumber, Uom};
use crate::txn::WmsTransaction;
use crate::variance::BalanceKey;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::future::Future;
use thiserror::Error;

/// A WMS call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WmsError {
    /// 4xx refusal with the WMS's error code and message.
    #[error("WMS refused the request (HTTP {status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The contract's machine code.
        code: String,
        /// The WMS's message.
        message: String,
    },
    /// 409 on an outcome report: the WMS already holds a different outcome.
    #[error("WMS holds a conflicting outcome: {0}")]
    Conflict(String),
    /// 429, 5xx, timeouts, lost connections.
    #[error("WMS unavailable: {0}")]
    Unavailable(String),
    /// 401/403.
    #[error("WMS refused the credentials (HTTP {0})")]
    Unauthorized(u16),
    /// Unknown DC.
    #[error("the WMS does not know DC {0}")]
    UnknownDc(String),
    /// An answer that makes no sense.
    #[error("WMS answered something that makes no sense: {0}")]
    InvalidResponse(String),
}

impl WmsError {
    /// Whether the WMS refused our credentials or access (401/403): not about one
    /// transaction, so it stops the DC's run.
    pub fn is_systemic(&self) -> bool {
        matches!(self, WmsError::Unauthorized(_))
    }
}

impl Retryable for WmsError {
    fn is_retryable(&self) -> bool {
        matches!(self, WmsError::Unavailable(_) | WmsError::InvalidResponse(_))
    }
}

/// One page of a cursor-paged WMS collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Cursor of the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// One outbox entry. A malformed entry is kept (with its raw id and the parse error) so it can
/// be recorded and reported instead of vanishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The id as the WMS sent it.
    pub raw_id: String,
    /// The parsed transaction, or why it could not be parsed.
    pub txn: Result<WmsTransaction, DomainError>,
    /// Whether the WMS already holds a `sync_failed` outcome for it.
    pub failed_before: bool,
    /// The contract's per-DC outbox `sequence` (increasing in capture order); `None` when the
    /// WMS sent none or an unreadable one. A go-live baseline's watermark is a sequence: an
    /// entry at or below it is part of the baseline and is never posted.
    pub sequence: Option<u64>,
}

/// The outcome reported back to the WMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Fusion accepted it: the WMS releases its reservation.
    Synced {
        /// Fusion reference(s), comma-separated.
        fusion_reference: String,
    },
    /// It failed: the WMS keeps its reservation.
    Failed {
        /// Why.
        error: String,
    },
}

/// One WMS on-hand row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WmsBalance {
    /// Key at the reconciliation grain.
    pub key: BalanceKey,
    /// Quantity.
    pub quantity: Decimal,
    /// UOM.
    pub uom: Uom,
    /// Lot expiration, when lot-controlled.
    pub expiration: Option<NaiveDate>,
    /// Serials on hand, when serial-controlled.
    pub serials: Vec<SerialNumber>,
}

/// A hold on order releases for an item at a DC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The item.
    pub item: ItemNumber,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// Incident reference.
    pub reference: String,
}

/// The legacy WMS, through the contract's thin adapter.
pub trait WarehouseSystem: Send + Sync {
    /// One page of the DC's pending-sync outbox, in WMS sequence order.
    fn outbox(
        &self,
        dc: &DcCode,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<OutboxItem>, WmsError>> + Send;

    /// Reports a transaction's outcome. Idempotent on the WMS side.
    fn report(&self, dc: &DcCode, id: &str, outcome: &SyncOutcome)
        -> impl Future<Output = Result<(), WmsError>> + Send;

    /// One page of the DC's on-hand balances.
    fn balances(
        &self,
        dc: &DcCode,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<WmsBalance>, WmsError>> + Send;

    /// Places a hold on order releases (idempotent).
    fn place_hold(&self, dc: &DcCode, hold: &Hold) -> impl Future<Output = Result<(), WmsError>> + Send;

    /// Active holds at a DC.
    fn holds(&self, dc: &DcCode) -> impl Future<Output = Result<Vec<Hold>, WmsError>> + Send;
}
