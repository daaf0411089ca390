//! The hourly sync of one DC: drain the WMS outbox into Fusion with the two-phase commit.
//!
//! A run first confirms what Fusion accepted earlier but had not processed (`accepted` rows,
//! see [`crate::confirm`]). Then, for every outbox transaction: record it in the ledger
//! (`pending_sync`), claim it with a conditional write (`in_flight`, leased), map its lots,
//! post its lines to Fusion (looking each line up by its Source* reference first whenever an
//! earlier attempt may have landed), then `synced` (Fusion processed every line), `accepted`
//! (a line waits in Fusion's interface) or `sync_failed` in the ledger, and finally tell the
//! WMS, which releases its reservation only on `synced`.
//!
//! Transactions of one item are applied in WMS order (a pick must not reach Fusion before the
//! receipt it depends on): a later transaction of an item waits while an earlier one is
//! unconfirmed in Fusion or failed for a passing reason. Different items run concurrently up
//! to [`SyncSettings::concurrency`]. When the time budget runs short the run stops taking new
//! work and says so; untouched transactions stay `pending_sync` for the next message.
//!
//! A systemic failure (Fusion refuses the credentials or the integration user's role) stops
//! the run at once: the claimed transaction goes back to `pending_sync`, nothing is failed or
//! reported to the WMS, and the run reports the cause in [`SyncReport::systemic`] so the
//! caller returns the message for retry; one critical alert names the cause.
//!
//! Files: `drain` (pages, item groups and the run's context `Run`), `transaction` (one
//! transaction through the two-phase commit), `lots` (lot mapping), `notify` (review tasks,
//! WMS outcome reports, alerts), `report` (outcomes and the run's figures). A ledger
//! transition the state machine refuses after our own claim is logged and counted
//! ([`SyncReport::illegal_transitions`]).

use crate::error::Retryable;
use crate::golive::OutboxWatermark;
use crate::ids::{DcCode, ItemNumber};
use crate::ledger::{Failure, LedgerEntry, LedgerEvent, SyncState};
use crate::ports::{
    Alert, AlertSink, Clock, DcLease, FusionError, FusionInventory, Landed, LedgerRow, LotMap, MappedLot, OutboxItem,
    ReviewTask, ReviewTasks, Severity, StoreError, SyncLedger, SyncOutcome, TaskChange, TaskKind, WarehouseSystem,
    WmsError,
};
use crate::txn::{LotQuantity, Tracking, WmsTransaction};
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use thiserror::Error;
use tracing::{info, warn, Instrument};

/// Everything the sync needs from the outside world.
pub trait SyncPorts: Send + Sync {
    /// Fusion.
    type Fusion: FusionInventory;
    /// The WMS.
    type Wms: WarehouseSystem;
    /// The ledger.
    type Ledger: SyncLedger;
    /// The lot map.
    type Lots: LotMap;
    /// Per-DC leases.
    type Lease: DcLease;
    /// Review tasks.
    type Tasks: ReviewTasks;
    /// Alerts.
    type Alerts: AlertSink;
    /// Time.
    type Clock: Clock;

    /// Fusion.
    fn fusion(&self) -> &Self::Fusion;
    /// The WMS.
    fn wms(&self) -> &Self::Wms;
    /// The ledger.
    fn ledger(&self) -> &Self::Ledger;
    /// The lot map.
    fn lots(&self) -> &Self::Lots;
    /// Per-DC leases.
    fn lease(&self) -> &Self::Lease;
    /// Review tasks.
    fn tasks(&self) -> &Self::Tasks;
    /// Alerts.
    fn alerts(&self) -> &Self::Alerts;
    /// Time.
    fn clock(&self) -> &Self::Clock;

    /// The DC's go-live baseline watermark, if it was baselined: the sync never posts an
    /// outbox entry at or below it (defence in depth behind the cut-over, which marks those
    /// entries `baselined` and tells the WMS). Ports that hold the DC status table answer
    /// from its record ([`crate::golive::DcStatusRecord::watermark`]); the default, for ports
    /// without one (a DC never baselined), answers `None`. A read failure stops the run
    /// before anything is posted.
    fn baseline_watermark(
        &self,
        dc: &DcCode,
    ) -> impl std::future::Future<Output = Result<Option<OutboxWatermark>, StoreError>> + Send {
        let _ = dc;
        async { Ok(None) }
    }
}

/// Tunables of a sync run.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Claims per transaction before it goes to manual review (the brief: 3).
    pub max_attempts: u32,
    /// Serials per Fusion call (the brief: at most 50).
    pub serial_limit: usize,
    /// Items posted concurrently (bounded so one DC cannot flood Fusion).
    pub concurrency: usize,
    /// Outbox page size.
    pub page_size: usize,
    /// Lease on one in-flight transaction; after it, a crashed claim may be recovered.
    pub txn_lease: Duration,
    /// Stop taking new work this long before the deadline.
    pub safety_margin: Duration,
    /// Failed transactions listed in one alert.
    pub alert_list_max: usize,
    /// The DCs this deployment syncs (`DC_LIST`); a request for any other DC is refused
    /// without touching anything. `None` serves every DC the WMS knows.
    pub dcs: Option<BTreeSet<DcCode>>,
    /// After this many transactions in a row fail because Fusion is unavailable (5xx,
    /// throttling, timeouts outlasting the client's retries), the run stops: the rest stay
    /// pending for the next run instead of failing one by one during an outage. Default 3.
    pub outage_after: usize,
    /// An `accepted` transaction Fusion has not processed after this long gets a review task
    /// ("Fusion has not processed this transaction"); it keeps waiting for Fusion.
    pub unprocessed_review_after: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            serial_limit: 50,
            concurrency: 8,
            page_size: 200,
            txn_lease: Duration::minutes(5),
            safety_margin: Duration::seconds(60),
            alert_list_max: 20,
            unprocessed_review_after: Duration::hours(2),
            outage_after: 3,
            dcs: None,
        }
    }
}

/// A sync run that could not run at all. Per-transaction failures are not errors: they are
/// recorded in the ledger and counted in the [`SyncReport`].
#[derive(Debug, Clone, Error)]
pub enum SyncError {
    /// The ledger or lease store failed.
    #[error("sync store failed: {0}")]
    Store(#[from] StoreError),
    /// The WMS outbox could not be read.
    #[error("WMS outbox unreadable: {0}")]
    Wms(#[from] WmsError),
    /// The DC is not in this deployment's `DC_LIST`: nothing was done.
    #[error("DC {0} is not in DC_LIST; this deployment does not sync it")]
    NotConfigured(DcCode),
}

impl SyncError {
    /// Whether the cause is systemic (the WMS refused the credentials): the run could not
    /// start and the message should be retried once the cause is fixed.
    pub fn is_systemic(&self) -> bool {
        matches!(self, SyncError::Wms(e) if e.is_systemic())
    }
}

impl Retryable for SyncError {
    fn is_retryable(&self) -> bool {
        match self {
            SyncError::Store(e) => e.is_retryable(),
            SyncError::Wms(e) => e.is_retryable() || e.is_systemic(),
            SyncError::NotConfigured(_) => false,
        }
    }
}

mod drain;
mod lots;
mod notify;
mod report;
mod transaction;

use drain::{drain, Run};
pub use report::{tally, FailedTxn, SyncReport, TxnOutcome};

pub(crate) use lots::{ready_lookups, PageHints};
pub(crate) use notify::{
    clear_systemic, malformed, open_task, publish_failure_alert, publish_systemic_alert, report_to_wms, synced_outcome,
};
pub use transaction::sync_transaction;
pub(crate) use transaction::sync_transaction_in_page;
pub(crate) use transaction::{fail_row, illegal_transition};

/// Syncs one DC until its outbox is drained, `deadline - safety_margin` is reached, or a
/// systemic failure stops it ([`SyncReport::systemic`]).
pub async fn sync_dc<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    deadline: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    let started = ports.clock().now();
    let mut report = SyncReport::new(dc.clone(), run_id);
    if settings.dcs.as_ref().is_some_and(|dcs| !dcs.contains(dc)) {
        warn!(dc = %dc, run_id, "sync requested for a DC outside DC_LIST; refused");
        return Err(SyncError::NotConfigured(dc.clone()));
    }
    let lease_until = deadline + settings.safety_margin;
    if !ports.lease().acquire(dc, run_id, started, lease_until).await? {
        info!(dc = %dc, run_id, "another invocation holds the DC lease; nothing to do");
        report.lease_busy = true;
        return Ok(report);
    }
    let result = match ports.baseline_watermark(dc).await {
        Err(e) => Err(SyncError::Store(e)),
        Ok(watermark) => match crate::confirm::confirm_accepted(ports, settings, dc).await {
            Ok(confirmed) => {
                let waiting = confirmed.fold_into(&mut report, settings.alert_list_max);
                if report.systemic.is_some() {
                    Ok(())
                } else {
                    let mut run = Run::new(ports, settings, dc, run_id, deadline);
                    run.watermark = watermark;
                    drain(&run, waiting, &mut report).await
                }
            }
            Err(e) => Err(e),
        },
    };
    if let Err(e) = ports.lease().release(dc, run_id).await {
        warn!(dc = %dc, run_id, error = %e, "lease release failed; it expires on its own");
    }
    if let Err(e) = &result {
        if e.is_systemic() {
            publish_systemic_alert(ports, dc, run_id, &e.to_string()).await;
        }
    }
    result?;
    if let Some(cause) = &report.systemic {
        publish_systemic_alert(ports, dc, run_id, cause).await;
    } else {
        clear_systemic(ports, dc).await;
    }
    if report.systemic.is_none() && (report.failed > 0 || report.malformed > 0) {
        // Why: architecture.md: a transient failure is retried with backoff (the Fusion
        // client's attempts) and "then `sync_failed` plus an alert"; the SNS topic is for
        // sync failures. A retryable failure also leaves WMS stock reserved until a later run,
        // which an operator must hear about. The alert says which failures will retry.
        publish_failure_alert(ports, settings, dc, &report).await;
    }
    report.duration_ms = elapsed_ms(started, ports.clock().now());
    info!(
        dc = %dc, run_id, seen = report.seen, synced = report.synced, accepted = report.accepted,
        waiting_on_fusion = report.waiting_on_fusion, confirmed = report.confirmed, failed = report.failed,
        deferred = report.deferred, stopped_early = report.stopped_early, systemic = ?report.systemic,
        "sync run finished"
    );
    Ok(report)
}

fn elapsed_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}
