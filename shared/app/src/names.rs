//! Every environment variable the functions read, declared once. `infra/template.yaml` sets
//! them; `tests/template-check` reads the string literals of this file to check that the
//! template sets what the code reads.
//!
//! The Fusion and WMS client settings (`FUSION_*`, `WMS_*` besides the two secret ARNs) are
//! declared by their adapters' configuration readers, `adapters::fusion::FusionConfig` and
//! `adapters::wms::WmsConfig`, which own those clients' contracts.

// Resources: physical names the template passes to every function.

/// `LedgerTable`: the sync ledger.
pub const LEDGER_TABLE: &str = "LEDGER_TABLE";
/// `LotMapTable`: WMS lot to Fusion lot.
pub const LOT_MAP_TABLE: &str = "LOT_MAP_TABLE";
/// `ReviewTaskTable`: supervisor review tasks.
pub const REVIEW_TASK_TABLE: &str = "REVIEW_TASK_TABLE";
/// `LeaseTable`: one sync per DC at a time.
pub const LEASE_TABLE: &str = "LEASE_TABLE";
/// `RunTable`: run reports.
pub const RUN_TABLE: &str = "RUN_TABLE";
/// `IncidentTable`: alert-tier variances and their holds.
pub const INCIDENT_TABLE: &str = "INCIDENT_TABLE";
/// `AuditTable`: the console's append-only audit trail (console only).
pub const AUDIT_TABLE: &str = "AUDIT_TABLE";
/// `ItemCacheTable`: Fusion item master facts shared by the sync's containers. Set for
/// sync-inventory only; without it the Fusion client caches items in its process alone.
pub const ITEM_CACHE_TABLE: &str = "ITEM_CACHE_TABLE";
/// `BaselineTable`: go-live baseline plans and chunk checkpoints (the baseline function and
/// the CLI that drives it).
pub const BASELINE_TABLE: &str = "BASELINE_TABLE";
/// Go-live baseline: lines per chunk (200).
pub const BASELINE_CHUNK_SIZE: &str = "BASELINE_CHUNK_SIZE";
/// Go-live baseline: chunks sent to Fusion at once per DC (4).
pub const BASELINE_CHUNKS_IN_FLIGHT: &str = "BASELINE_CHUNKS_IN_FLIGHT";
/// Go-live baseline: `balance_transactions` (default) or `adjustments` (pods without
/// `inventoryBalanceTransactions`).
pub const BASELINE_MODE: &str = "BASELINE_MODE";
/// Go-live baseline: lease of a chunk being posted, in seconds (300).
pub const BASELINE_CHUNK_LEASE_SECS: &str = "BASELINE_CHUNK_LEASE_SECS";
/// Go-live baseline: stop starting chunks this long before the deadline, in seconds (60).
pub const BASELINE_SAFETY_MARGIN_SECS: &str = "BASELINE_SAFETY_MARGIN_SECS";
/// Lifetime of an item cache entry, in seconds (86400).
pub const ITEM_CACHE_TTL_SECS: &str = "ITEM_CACHE_TTL_SECS";
/// `DcStatusTable`: each DC's go-live status (fanout-sync, reconcile-stock, the CLI).
pub const DC_STATUS_TABLE: &str = "DC_STATUS_TABLE";
/// `AlertTopic` ARN.
pub const ALERT_TOPIC_ARN: &str = "ALERT_TOPIC_ARN";
/// `SyncQueue` URL (fanout-sync only).
pub const SYNC_QUEUE_URL: &str = "SYNC_QUEUE_URL";
/// `BaselineQueue` URL: apply requests of the `baseline` function (it sends itself the next
/// one before its time runs out; `invsync baseline apply --via-lambda` sends the first).
pub const BASELINE_QUEUE_URL: &str = "BASELINE_QUEUE_URL";
/// `ReconcileQueue` URL (fanout-sync only): where the 15-minute fan-out sends one
/// reconciliation request per DC.
pub const RECONCILE_QUEUE_URL: &str = "RECONCILE_QUEUE_URL";

// Secrets read at cold start.

/// ARN of the Fusion password or client secret. When set, `FUSION_PASSWORD` /
/// `FUSION_CLIENT_SECRET` are not read.
pub const FUSION_SECRET_ARN: &str = "FUSION_SECRET_ARN";
/// ARN of the WMS API key. When set, its value stands in for [`WMS_API_KEY`].
pub const WMS_API_KEY_SECRET_ARN: &str = "WMS_API_KEY_SECRET_ARN";
/// The WMS API key as `adapters::wms::WmsConfig` reads it; named here because the wiring
/// substitutes the secret's value for it.
pub const WMS_API_KEY: &str = "WMS_API_KEY";

// Which DCs.

/// Comma-separated DC codes (`DC01,DC02`): the DCs fanned out and reconciled; for
/// sync-inventory, when set, the only DCs a message may name.
pub const DC_LIST: &str = "DC_LIST";

// Sync tunables (`domain::sync::SyncSettings`).

/// Attempts per transaction before a review task (3).
pub const SYNC_MAX_ATTEMPTS: &str = "SYNC_MAX_ATTEMPTS";
/// Serials per Fusion post (50).
pub const SERIAL_LIMIT: &str = "SERIAL_LIMIT";
/// Transactions of one DC posted at once (8).
pub const SYNC_CONCURRENCY: &str = "SYNC_CONCURRENCY";
/// WMS outbox page size (200).
pub const SYNC_PAGE_SIZE: &str = "SYNC_PAGE_SIZE";
/// How long a claimed transaction is held, in seconds (300).
pub const SYNC_TXN_LEASE_SECS: &str = "SYNC_TXN_LEASE_SECS";
/// Seconds before the Lambda deadline at which a run stops taking work (60).
pub const SYNC_SAFETY_MARGIN_SECS: &str = "SYNC_SAFETY_MARGIN_SECS";
/// Minutes after which a transaction Fusion has not processed gets a review task (120).
pub const SYNC_UNPROCESSED_REVIEW_MINUTES: &str = "SYNC_UNPROCESSED_REVIEW_MINUTES";
/// Transactions failing in a row because Fusion is unavailable before the run stops (3).
pub const SYNC_OUTAGE_AFTER: &str = "SYNC_OUTAGE_AFTER";

// Reconciliation tunables (`domain::reconciliation::ReconcileSettings`).

/// DCs reconciled at once (4).
pub const RECONCILE_CONCURRENCY: &str = "RECONCILE_CONCURRENCY";
/// Variances below this are corrected automatically (5).
pub const VARIANCE_AUTO_CORRECT_BELOW: &str = "VARIANCE_AUTO_CORRECT_BELOW";
/// Variances above this alert and hold (50).
pub const VARIANCE_ALERT_ABOVE: &str = "VARIANCE_ALERT_ABOVE";
/// Per-DC overrides, `DC03=2:20,DC07=1:10` (`auto_correct_below:alert_above`).
pub const VARIANCE_THRESHOLDS_PER_DC: &str = "VARIANCE_THRESHOLDS_PER_DC";
/// Retries of an orphaned transaction before a review task (3).
pub const RECONCILE_ORPHAN_RETRY_CAP: &str = "RECONCILE_ORPHAN_RETRY_CAP";
/// Seconds after which an in-flight transaction counts as stale (900).
pub const RECONCILE_STALE_IN_FLIGHT_SECS: &str = "RECONCILE_STALE_IN_FLIGHT_SECS";
