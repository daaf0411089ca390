//! invsync Lambda plumbing shared by every function binary: JSON logs ([`logging`]), CloudWatch
//! embedded-metric-format metrics ([`metrics`]) and typed configuration from the environment
//! ([`config`]), the wiring of adapters into the domain ports ([`wiring`]) and what each function's
//! role must grant for them ([`permissions`]). Function `main`s call these once at cold start; handlers stay thin.

pub mod config;
pub mod events;
pub mod logging;
pub mod metrics;
pub mod permissions;
pub mod reports;
pub mod wiring;
