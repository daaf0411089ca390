//! invsync adapters: the outside world behind the domain's ports.
//!
//! - [`fusion`]: `HttpFusionClient`, Oracle Fusion Cloud SCM REST (reqwest + rustls);
//! - [`wms`]: `HttpWmsClient`, the WMS contract in `docs/wms-api.openapi.yaml`;
//! - [`aws`]: DynamoDB stores (ledger, leases, lot map, review tasks, holds, run reports),
//!   SNS alerts and SQS fan-out.
//!
//! All mapping between wire formats and domain types lives here; nothing here decides
//! business rules.

pub mod aws;
pub mod fusion;
pub mod transport_policy;
pub mod wms;
mod worker;
