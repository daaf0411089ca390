//! Go-live: where each DC stands on its way from Fusion's old numbers to invsync's hourly sync.
//!
//! A DC is baselined into Fusion once (plan, apply, verify), then cut over and made `live`.
//! Only a `live` DC is synced by the hourly fan-out or acted on by the reconciliation (alerts,
//! holds, corrections); every other status keeps the DC's outbox held so nothing posts on top of
//! a baseline in progress. [`status`] holds the statuses and the moves allowed between them; the
//! store behind them is the [`crate::ports::DcStatusBoard`] port. [`gate`] says what a status
//! lets the fan-out and the reconciliation do; [`moves`] moves a DC through the port, each
//! write conditional on the version read. [`baseline`] is the engine that takes a DC from
//! `not_started` to `live`; [`request`] is the message that drives it on the `baseline` function.

pub mod baseline;
pub mod gate;
pub mod moves;
pub mod request;
pub mod status;

pub use gate::{declare_live, reconcile_mode, select_for_sync, HeldDc, ReconcileMode, SyncSelection};
pub use moves::{declare_dc_live, move_dc, MoveError};
pub use request::ApplyRequest;
pub use status::{DcStatus, DcStatusChange, DcStatusRecord, OutboxWatermark};
