//! AWS adapters: DynamoDB stores behind the domain's persistence and operations ports, SNS
//! alerts and SQS fan-out. (Creating those resources locally from `infra/template.yaml` is
//! `tools/aws-local`'s, which no function links.)
//!
//! - [`config`]: the SDK configuration, endpoint from the standard environment
//!   (`AWS_ENDPOINT_URL`), so the same code runs against moto, LocalStack and AWS;
//! - [`ledger`], [`lease`], [`lot_map`], [`review_tasks`], [`incidents`], [`run_reports`]:
//!   one DynamoDB table each, every state change a conditional write; review tasks and
//!   incidents share one open/closed record table with TTL (`open_closed`); [`item_cache`]: the
//!   Fusion item master facts shared by every container, with TTL; [`dc_status`]: each DC's
//!   go-live status, every move a put conditional on the version read;
//! - [`baseline`]: go-live baseline plans and chunk checkpoints (conditional puts on a
//!   version);
//! - [`audit`]: the console's append-only audit trail (put-if-absent, no update path);
//!   lists page with an opaque cursor (`LastEvaluatedKey`, encoded);
//! - [`sns`]: [`SnsAlertSink`]; [`sqs`]: [`SqsSyncQueue`], the per-DC fan-out;
//!   [`baseline_queue`]: [`SqsBaselineQueue`], the baseline function's apply requests;
//! - [`WriteCounter`]: how many DynamoDB write requests the stores made (benchmarks);
//! - [`Permissions`]: the IAM actions each adapter declares next to its calls (`PERMISSIONS` in
//!   each module), which tools/template-check compares with the roles.
//!
//! Error mapping (DynamoDB): `ConditionalCheckFailedException` is
//! [`StoreError::Conflict`](domain::ports::StoreError::Conflict); throttling, 5xx, timeouts and
//! connection failures are `Unavailable`; rows that cannot be read back, and writes DynamoDB
//! refuses as invalid, are `Corrupt`.

pub mod audit;
pub mod baseline;
pub mod baseline_queue;
pub mod config;
mod console_tasks;
mod cursor;
pub mod dc_status;
mod error;
pub mod incidents;
mod item;
pub mod item_cache;
pub mod lease;
pub mod ledger;
pub mod lot_map;
mod open_closed;
pub mod permissions;
pub mod review_tasks;
pub mod run_reports;
pub mod sns;
pub mod sqs;

pub use audit::DynamoAuditLog;
pub use baseline::DynamoBaselineCheckpoints;
pub use baseline_queue::SqsBaselineQueue;
pub use dc_status::DynamoDcStatus;
pub use error::WriteCounter;
pub use incidents::DynamoIncidents;
pub use item_cache::DynamoItemCache;
pub use lease::DynamoDcLease;
pub use ledger::DynamoSyncLedger;
pub use lot_map::DynamoLotMap;
pub use permissions::Permissions;
pub use review_tasks::{DynamoReviewTasks, TaskRecord, TaskStatus};
pub use run_reports::DynamoRunReports;
pub use sns::SnsAlertSink;
pub use sqs::{QueueError, SqsSyncQueue};
