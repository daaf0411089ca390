//! invsync domain core.
//!
//! Pure rules with no AWS, HTTP or async-runtime dependency (Cargo enforces it: see this
//! crate's `Cargo.toml`):
//! - [`ids`]: identifier newtypes that can only hold valid values;
//! - [`quantity`]: exact decimal quantities and UOM precision;
//! - [`txn`]: WMS transactions, their rules and their Fusion staged-transaction form
//!   (serial chunking);
//! - [`ledger`]: the sync ledger state machine behind the two-phase commit;
//! - [`sync`], [`confirm`]: the hourly sync of a DC and the confirmation of what Fusion
//!   accepted but had not processed yet;
//! - [`reconcile`]: the three-way variance and its tiers;
//! - [`error`]: the error taxonomy; every error says whether it is retryable.

pub mod confirm;
pub mod error;
pub mod ids;
pub mod interface;
pub mod ledger;
pub mod ports;
pub mod quantity;
pub mod reconcile;
pub mod reconciliation;
pub mod schedule;
pub mod sync;
pub mod txn;

pub use error::{DomainError, Retryable};
pub use ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom, WmsTxnId};
pub use ledger::{Failure, LedgerEntry, LedgerEvent, SyncState};
pub use reconcile::{BalanceKey, Comparison, Snapshot, Thresholds, Tier, Variance};
pub use txn::{
    FusionTxnType, ItemInfo, LotQuantity, NewTransaction, SourceRef, StagedPost, Tracking, TxnKind, WmsTransaction,
};
