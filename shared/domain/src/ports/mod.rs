//! Ports: what the domain needs from the outside world, named for the business role.
//! Adapters (the `adapters` crate, and in-memory fakes for tests) implement them.
//!
//! Methods return `impl Future + Send` so the domain stays free of any async runtime and
//! implementations may be plain `async fn`s.

pub mod console;
pub mod fusion;
pub mod golive;
pub mod keys;
pub mod ops;
pub mod store;
pub mod wms;

pub use console::{
    AuditLog, ConsolePorts, HoldRelease, IncidentBoard, IncidentRecord, LedgerBrowser, RunHistory, TaskBoard,
    TaskFilter, TaskRecord,
};
pub use fusion::{FusionError, FusionInventory, FusionLot, Landed, OnhandRow, PostReceipt, StagedLine, StagedStatus};
pub use golive::{BalanceLine, BalanceLoad, BalanceLoader, BaselineCheckpoints, DcStatusBoard, RefusedBalance};
pub use keys::{BalanceKeyText, IncidentId, RunId, RunKind, SystemicCause, TaskKey};
pub use ops::{
    Alert, AlertError, AlertSink, Incident, Incidents, ReviewTask, ReviewTasks, RunReport, RunReports, Severity,
    TaskChange, TaskKind,
};
pub use store::{Clock, DcLease, LedgerRow, LotMap, MappedLot, Recorded, StoreError, SyncLedger};
pub use wms::{Hold, OutboxItem, Page, SyncOutcome, WarehouseSystem, WmsBalance, WmsError};
