//! invsync domain core.
//!
//! Pure rules with no AWS, HTTP or async-runtime dependency (Cargo enforces it: see this
//! crate's `Cargo.toml`).
//!
//! Two engines drive everything, each a folder of files named for what they do and each with
//! one context struct its steps share:
//! - [`sync`]: the hourly sync of one DC, draining its WMS outbox into Fusion with the
//!   two-phase commit ([`sync::sync_dc`]; one transaction: [`sync::sync_transaction`]);
//!   [`confirm`] settles what Fusion accepted but had not processed yet;
//! - [`reconciliation`]: the 15-minute three-way compare of one DC and its tiered actions
//!   ([`reconciliation::reconcile_dc`]).
//!
//! The rules they apply:
//! - [`ids`]: identifier newtypes that can only hold valid values;
//! - [`quantity`]: exact decimal quantities and UOM precision;
//! - [`txn`]: WMS transactions, their rules and their Fusion staged-transaction form
//!   (serial chunking);
//! - [`ledger`]: the sync ledger state machine behind the two-phase commit;
//! - [`variance`]: the pure three-way variance compare and its tiers;
//! - [`interface`]: what Fusion's interface table adds to the in-flight picture;
//! - [`schedule`]: schedule slots, run ids and the sync request message;
//! - [`golive`]: each DC's go-live status (baseline, cut-over, live, maintenance);
//! - [`console`]: the operator console's rules (roles, task lifecycle, audit, paging);
//! - [`ports`]: the traits adapters implement (Fusion, WMS, stores, alerts);
//! - [`error`]: the error taxonomy; every error says whether it is retryable.

pub mod confirm;
pub mod console;
pub mod error;
pub mod golive;
pub mod ids;
pub mod interface;
pub mod ledger;
pub mod ports;
pub mod quantity;
pub mod reconciliation;
pub mod schedule;
pub mod sync;
pub mod txn;
pub mod variance;

pub use error::{DomainError, Retryable};
pub use ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom, WmsTxnId};
pub use ledger::{Failure, LedgerEntry, LedgerEvent, SyncState};
pub use txn::{
    FusionTxnType, ItemInfo, LotQuantity, NewTransaction, SourceRef, StagedPost, Tracking, TxnKind, WmsTransaction,
};
pub use variance::{BalanceKey, Comparison, Snapshot, Thresholds, Tier, Variance};
