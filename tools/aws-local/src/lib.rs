//! AWS on a local emulator (moto, LocalStack), shared by the integration tests
//! (`tests/harness`, the AWS adapter tests) and `tools/local-driver`. No function links this
//! crate: it holds everything that exists only because the AWS parts run on an emulator here.
//!
//! - [`provision`]: creates the tables, queues and topic `infra/template.yaml` declares, uniquely
//!   named per run, and names what it made ([`Provisioned`]);
//! - [`one_at_a_time`]: an SDK HTTP client that serializes requests, restoring the per-item
//!   atomicity moto lacks;
//! - [`calls`]: an SDK HTTP client that records every AWS call (who, what, on which resource);
//! - [`iam`]: a function's session under a role made from its template policy, on the
//!   IAM-enforcing emulator, and the check that it called nothing beyond that role;
//! - [`alerts`]: an SQS queue subscribed to the alert topic, standing in for the managers' email
//!   and SMS.

pub mod alerts;
pub mod calls;
pub mod iam;
pub mod one_at_a_time;
pub mod provision;

pub use alerts::{AlertInbox, ReceivedAlert};
pub use one_at_a_time::OneAtATime;
pub use provision::{provision, ProvisionError, ProvisionOptions, Provisioned, ProvisionedResource, ResourceKind};
