//! Go-live: where each DC stands on its way from Fusion's old numbers to invsync's hourly sync.
//!
//! A DC is baselined into Fusion once (plan, apply, verify), then cut over and made `live`.
//! Only a `live` DC is synced by the hourly fan-out or acted on by the reconciliation (alerts,
//! holds, corrections); every other status keeps the DC's outbox held so nothing posts on top of
//! a baseline in progress. [`status`] holds the statuses and the moves allowed between them; the
//! store behind them is the [`crate::ports::DcStatusBoard`] port. [`baseline`] is the engine
//! that takes a DC from `not_started` to `live`.

pub mod baseline;
pub mod status;

pub use status::{DcStatus, DcStatusChange, DcStatusRecord, OutboxWatermark};
