//! WMS client: [`HttpWmsClient`] speaks the HTTP JSON contract of `docs/wms-api.openapi.yaml`
//! and implements [`domain::ports::WarehouseSystem`].
//!
//! - [`config`]: [`WmsConfig`] (base URL, API key or bearer token, timeouts, retries, page
//!   size), read from `WMS_*` environment variables by [`WmsConfig::from_env`];
//! - `client`: the HTTP calls, retries with backoff and `Retry-After`, and the mapping of
//!   statuses to [`WmsError`](domain::ports::WmsError);
//! - `wire`: contract JSON to domain types. A malformed outbox entry is returned as an
//!   [`OutboxItem`](domain::ports::OutboxItem) carrying its parse error, never dropped and
//!   never failing its page;
//! - `balance_page`: the fast read of a balance page, falling back to `wire` for anything it
//!   does not take.

pub mod config;

mod balance_page;
mod client;
mod wire;

pub use client::HttpWmsClient;
pub use config::{RetryPolicy, WmsAuth, WmsConfig, MAX_PAGE_SIZE};
