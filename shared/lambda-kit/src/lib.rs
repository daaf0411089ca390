//! invsync Lambda plumbing shared by every function binary, and nothing else: JSON logs
//! ([`logging`]), CloudWatch embedded-metric-format metrics ([`metrics`]), reading the events a
//! function accepts and its deadline ([`events`]), and the errors Lambda records
//! ([`error::HandlerError`], a `Diagnostic` whose `error_type` says whether a retry can help).
//!
//! Configuration and the wiring of adapters into ports live in the `app` crate, which knows
//! nothing about Lambda.

pub mod error;
pub mod events;
pub mod logging;
pub mod metrics;

pub use error::{ErrorKind, HandlerError};
