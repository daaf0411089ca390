//! The Fusion Cloud SCM inventory port.

use crate::error::{DomainError, Retryable};
use crate::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use crate::txn::{ItemInfo, SourceRef, StagedPost};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::future::Future;
use thiserror::Error;

/// A Fusion call that failed. Retryable: throttling, 5xx, 408, timeouts, lost connections and
/// nonsense answers (the sync looks the Source* reference up before any re-post, so retrying
/// an ambiguous outcome is safe). Permanent: validation (400), credentials (401 after a token
/// refresh), roles (403), not found (404), and input refused before any call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FusionError {
    /// 400 and other validation refusals, with Fusion's error detail.
    #[error("Fusion rejected the request (HTTP {status}): {detail}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Fusion's `o:errorDetails[].detail` text (or the plain-text body).
        detail: String,
    },
    /// 429.
    #[error("Fusion throttled the request (HTTP 429)")]
    Throttled {
        /// Seconds from Retry-After, if given.
        retry_after_secs: Option<u64>,
    },
    /// 5xx or 408.
    #[error("Fusion is unavailable (HTTP {status})")]
    Unavailable {
        /// HTTP status.
        status: u16,
    },
    /// No answer within the request timeout.
    #[error("Fusion did not answer in time")]
    Timeout,
    /// The connection failed or was reset.
    #[error("connection to Fusion failed: {0}")]
    Connection(String),
    /// 401 even after a fresh token or with Basic credentials.
    #[error("Fusion refused the credentials (HTTP 401)")]
    Unauthorized,
    /// 403: the integration user lacks a role or privilege.
    #[error("the Fusion integration user lacks a role or privilege (HTTP 403)")]
    Forbidden,
    /// 404, or a lookup that found nothing that must exist (unknown item).
    #[error("not found in Fusion: {0}")]
    NotFound(String),
    /// An answer that makes no sense (unparseable JSON, impossible values).
    #[error("Fusion answered something that makes no sense: {0}")]
    InvalidResponse(String),
    /// Refused before any HTTP call.
    #[error("refused before calling Fusion: {0}")]
    InvalidInput(#[from] DomainError),
}

impl FusionError {
    /// Whether the failure is about Fusion or our access to it rather than about one
    /// transaction: the credentials (401) or the integration user's roles (403). Such a
    /// failure stops the DC's run instead of failing transactions one by one.
    pub fn is_systemic(&self) -> bool {
        matches!(self, FusionError::Unauthorized | FusionError::Forbidden)
    }
}

impl Retryable for FusionError {
    fn is_retryable(&self) -> bool {
        matches!(
            self,
            FusionError::Throttled { .. }
                | FusionError::Unavailable { .. }
                | FusionError::Timeout
                | FusionError::Connection(_)
                | FusionError::InvalidResponse(_)
        )
    }
}

/// What Fusion said when a staged transaction was posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostReceipt {
    /// `TransactionInterfaceId` of the staged row.
    pub interface_id: i64,
    /// Whether Fusion reported the row processed (Online mode) rather than waiting in the
    /// interface.
    pub processed: bool,
}

/// Whether an earlier post of one line is in Fusion, found by its Source* reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// Nothing staged or completed carries the reference: safe to post.
    NotFound,
    /// Completed material transaction(s). A subinventory transfer is only complete when both
    /// the debit and the credit are there (`sides == 2`).
    Completed {
        /// Fusion `TransactionId`s.
        transaction_ids: Vec<String>,
        /// How many sides (rows) were found.
        sides: usize,
    },
    /// Still in the interface table: must not be re-posted.
    Staged {
        /// `TransactionInterfaceId`.
        interface_id: i64,
        /// Fusion's error text when processing failed (ProcessFlag 3).
        error: Option<String>,
    },
}

/// Where a row in Fusion's interface (`inventoryStagedTransactions`) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StagedStatus {
    /// Waiting for Fusion's transaction manager (ProcessFlag 1, or no flag).
    Pending,
    /// Processing failed (ProcessFlag 3): Fusion's own text, lot- and serial-level errors
    /// included. The row stays in the interface until someone fixes or deletes it.
    Failed {
        /// `ErrorCode`/`ErrorExplanation` and the children's errors, as Fusion wrote them.
        error: String,
    },
}

/// One row of an organization's interface: not yet part of Fusion on-hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedLine {
    /// `TransactionInterfaceId`.
    pub interface_id: i64,
    /// The Source* reference when invsync posted the row (its `SourceCode` is ours and the
    /// reference parses); `None` for rows other systems or people staged.
    pub source: Option<SourceRef>,
    /// Item.
    pub item: ItemNumber,
    /// Subinventory (source of a transfer).
    pub subinventory: SubinventoryCode,
    /// Destination of a subinventory transfer.
    pub transfer_subinventory: Option<SubinventoryCode>,
    /// Signed quantity as it will change the subinventory (issues negative; a transfer's
    /// quantity is what leaves `subinventory`, positive).
    pub quantity: Decimal,
    /// Lots and their unsigned quantities.
    pub lots: Vec<(LotNumber, Decimal)>,
    /// Serial numbers.
    pub serials: Vec<SerialNumber>,
    /// Processing state.
    pub status: StagedStatus,
}

/// A Fusion lot of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FusionLot {
    /// Fusion lot number.
    pub number: LotNumber,
    /// Expiration date.
    pub expiration: Option<NaiveDate>,
}

/// One Fusion on-hand row flattened to the reconciliation grain (lot-level rows for
/// lot-controlled items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnhandRow {
    /// Organization.
    pub dc: DcCode,
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: SubinventoryCode,
    /// Lot, when lot-controlled.
    pub lot: Option<LotNumber>,
    /// Lot expiration, when known.
    pub expiration: Option<NaiveDate>,
    /// Serial numbers on hand, when serial-controlled.
    pub serials: Vec<SerialNumber>,
    /// Primary quantity.
    pub quantity: Decimal,
    /// Primary UOM.
    pub uom: Uom,
}

/// Oracle Fusion Cloud SCM inventory, as the sync and reconciliation use it.
pub trait FusionInventory: Send + Sync {
    /// Item master facts for an item in an organization (cached by implementations).
    /// Unknown item: `NotFound`.
    fn item_info(&self, dc: &DcCode, item: &ItemNumber) -> impl Future<Output = Result<ItemInfo, FusionError>> + Send;

    /// Readies the item master facts of `items` in `dc` so that [`FusionInventory::item_info`]
    /// answers them without a request of its own (the sync calls it once per outbox page; an
    /// implementation asks for all the misses at once). Optional: an error only means each
    /// item is looked up on its own later, so callers log it as a warning and go on. The
    /// default does nothing.
    fn prefetch_items(
        &self,
        dc: &DcCode,
        items: &[ItemNumber],
    ) -> impl Future<Output = Result<(), FusionError>> + Send {
        let _ = (dc, items);
        async { Ok(()) }
    }

    /// Readies the facts of the units of measure `uoms` (their decimal precision) so that
    /// item lookups made meanwhile or soon after do not ask for them again. Optional, like
    /// [`FusionInventory::prefetch_items`]; the default does nothing.
    fn prefetch_units(&self, uoms: &[Uom]) -> impl Future<Output = Result<(), FusionError>> + Send {
        let _ = uoms;
        async { Ok(()) }
    }

    /// A lot of an item, if Fusion has it.
    fn lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
    ) -> impl Future<Output = Result<Option<FusionLot>, FusionError>> + Send;

    /// Readies what Fusion says about each (item, lot) of `lots` in `dc` so that
    /// [`FusionInventory::lot`] answers them without a request of its own for a short while
    /// (the sync calls it once per outbox page with the lots its lot map does not know).
    /// Optional, like [`FusionInventory::prefetch_items`]; the default does nothing.
    fn prefetch_lots(
        &self,
        dc: &DcCode,
        lots: &[(ItemNumber, LotNumber)],
    ) -> impl Future<Output = Result<(), FusionError>> + Send {
        let _ = (dc, lots);
        async { Ok(()) }
    }

    /// Creates a lot.
    fn create_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
        expiration: Option<NaiveDate>,
    ) -> impl Future<Output = Result<(), FusionError>> + Send;

    /// Posts one staged transaction (Online mode). Not idempotent on Fusion's side: callers
    /// must call [`FusionInventory::find`] before any re-post.
    fn post(&self, post: &StagedPost) -> impl Future<Output = Result<PostReceipt, FusionError>> + Send;

    /// Looks a line up by its Source* reference in staged and completed transactions.
    fn find(&self, dc: &DcCode, source: &SourceRef) -> impl Future<Output = Result<Landed, FusionError>> + Send;

    /// Looks a line Fusion answered as processed up among completed transactions only (one
    /// read instead of [`FusionInventory::find`]'s two): `Completed` or `NotFound`.
    fn completed(&self, dc: &DcCode, source: &SourceRef) -> impl Future<Output = Result<Landed, FusionError>> + Send;

    /// Every row of the organization's interface that is not processed yet (pending or
    /// failed), lots and serials included. A short or unreadable answer is an error, never a
    /// partial list: callers treat the list as complete.
    fn staged(&self, dc: &DcCode) -> impl Future<Output = Result<Vec<StagedLine>, FusionError>> + Send;

    /// Every on-hand row of an organization, lots and serials included.
    fn onhand(&self, dc: &DcCode) -> impl Future<Output = Result<Vec<OnhandRow>, FusionError>> + Send;

    /// The rows [`Self::onhand`] answers, handed to `sink` a page at a time as they arrive, so
    /// a caller that keeps a digest of them never holds every row at once. On an error some
    /// pages may have been handed over already; the caller discards them. `expected_rows` is
    /// how many rows the caller guesses the organization holds (`None` when it cannot tell):
    /// a paging reader may ask for more pages at once with it; a wrong guess may cost requests,
    /// never rows. The default ignores it and hands over [`Self::onhand`] as one page.
    fn onhand_pages<F>(
        &self,
        dc: &DcCode,
        expected_rows: Option<usize>,
        mut sink: F,
    ) -> impl Future<Output = Result<(), FusionError>> + Send
    where
        F: FnMut(Vec<OnhandRow>) + Send,
    {
        let _ = expected_rows;
        async move {
            sink(self.onhand(dc).await?);
            Ok(())
        }
    }
}
