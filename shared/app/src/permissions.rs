//! What each function's code calls in AWS, per resource of `infra/template.yaml`: the adapters
//! a function wires, each with the [`Permissions`] it declares next to its calls.
//!
//! `tools/template-check` compares this with the function's role (exactly: nothing missing,
//! nothing extra beyond what Lambda itself needs), and the IAM-enforced integration tests run
//! each function under its role. A function that starts using another adapter adds it here.

use adapters::aws::{
    audit, baseline, baseline_queue, dc_status, incidents, item_cache, lease, ledger, lot_map, review_tasks,
    run_reports, sns, sqs, Permissions,
};

/// One resource a function's code uses: its logical id in the template and what the adapter
/// declares for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uses {
    /// Logical id in `infra/template.yaml` (`LedgerTable`, `AlertTopic`, ...).
    pub resource: &'static str,
    /// The adapter's declared actions.
    pub permissions: Permissions,
}

const fn uses(resource: &'static str, permissions: Permissions) -> Uses {
    Uses { resource, permissions }
}

/// fanout-sync: the per-DC fan-outs onto the sync queue (hourly, live DCs only, so it scans
/// the DC statuses) and the reconcile queue (every 15 minutes).
pub const FANOUT_SYNC: &[Uses] = &[
    uses("SyncQueue", sqs::PERMISSIONS),
    uses("ReconcileQueue", sqs::PERMISSIONS),
    uses("DcStatusTable", dc_status::SCAN_PERMISSIONS),
];

/// sync-inventory: the sync engine's ports ([`crate::wiring::AppPorts`] as `SyncPorts`), the
/// Fusion client's item cache, its run reports and the two secrets read at cold start. Not the
/// incidents: only reconciliation holds.
pub const SYNC_INVENTORY: &[Uses] = &[
    uses("LedgerTable", ledger::PERMISSIONS),
    uses("LotMapTable", lot_map::PERMISSIONS),
    uses("ItemCacheTable", item_cache::PERMISSIONS),
    uses("LeaseTable", lease::PERMISSIONS),
    uses("ReviewTaskTable", review_tasks::PERMISSIONS),
    uses("RunTable", run_reports::PERMISSIONS),
    uses("AlertTopic", sns::PERMISSIONS),
    uses("FusionSecret", crate::secrets::SECRET_PERMISSIONS),
    uses("WmsApiKeySecret", crate::secrets::SECRET_PERMISSIONS),
];

/// reconcile-stock: everything sync-inventory uses plus the incidents, and the DC's go-live
/// status (a DC not live is reconciled report-only).
pub const RECONCILE_STOCK: &[Uses] = &[
    uses("DcStatusTable", dc_status::READ_PERMISSIONS),
    uses("LedgerTable", ledger::PERMISSIONS),
    uses("LotMapTable", lot_map::PERMISSIONS),
    uses("LeaseTable", lease::PERMISSIONS),
    uses("ReviewTaskTable", review_tasks::PERMISSIONS),
    uses("IncidentTable", incidents::PERMISSIONS),
    uses("RunTable", run_reports::PERMISSIONS),
    uses("AlertTopic", sns::PERMISSIONS),
    uses("FusionSecret", crate::secrets::SECRET_PERMISSIONS),
    uses("WmsApiKeySecret", crate::secrets::SECRET_PERMISSIONS),
];

/// The operator console (`console::ConsoleService` over [`crate::console::ConsolePortsApp`]):
/// everything reconcile-stock uses (an adjustment goes through the sync path), the console's
/// reads (one task, one incident, run history by time) and the append-only audit trail
/// (PutItem, GetItem, Query; never UpdateItem or DeleteItem). The `console-api` function's role
/// must grant exactly this.
pub const CONSOLE: &[Uses] = &[
    uses("LedgerTable", ledger::PERMISSIONS),
    uses("LotMapTable", lot_map::PERMISSIONS),
    uses("LeaseTable", lease::PERMISSIONS),
    uses("ReviewTaskTable", review_tasks::CONSOLE_PERMISSIONS),
    uses("IncidentTable", incidents::CONSOLE_PERMISSIONS),
    uses("RunTable", run_reports::PERMISSIONS),
    uses("RunTable", run_reports::HISTORY_PERMISSIONS),
    uses("AuditTable", audit::PERMISSIONS),
    uses("AlertTopic", sns::PERMISSIONS),
    uses("FusionSecret", crate::secrets::SECRET_PERMISSIONS),
    uses("WmsApiKeySecret", crate::secrets::SECRET_PERMISSIONS),
];

/// baseline: the go-live apply of one DC per message (`BaselineAppPorts`): everything
/// reconcile-stock uses (its verification is a dry-run reconciliation, adjustment mode goes
/// through the sync path, refused lines open review tasks), the DC status table (read and
/// moved), the checkpoint table, and its own queue to continue itself.
pub const BASELINE: &[Uses] = &[
    uses("DcStatusTable", dc_status::WRITE_PERMISSIONS),
    uses("BaselineTable", baseline::PERMISSIONS),
    uses("BaselineQueue", baseline_queue::PERMISSIONS),
    uses("LedgerTable", ledger::PERMISSIONS),
    uses("LotMapTable", lot_map::PERMISSIONS),
    uses("LeaseTable", lease::PERMISSIONS),
    uses("ReviewTaskTable", review_tasks::PERMISSIONS),
    uses("IncidentTable", incidents::PERMISSIONS),
    uses("RunTable", run_reports::PERMISSIONS),
    uses("AlertTopic", sns::PERMISSIONS),
    uses("FusionSecret", crate::secrets::SECRET_PERMISSIONS),
    uses("WmsApiKeySecret", crate::secrets::SECRET_PERMISSIONS),
];

/// Every function binary with what its code uses.
pub const FUNCTIONS: &[(&str, &[Uses])] = &[
    ("fanout-sync", FANOUT_SYNC),
    ("sync-inventory", SYNC_INVENTORY),
    ("reconcile-stock", RECONCILE_STOCK),
    ("console-api", CONSOLE),
    ("baseline", BASELINE),
];

/// What the binary `function` uses, if it is one of [`FUNCTIONS`].
pub fn of(function: &str) -> Option<&'static [Uses]> {
    FUNCTIONS.iter().find(|(name, _)| *name == function).map(|(_, u)| *u)
}
