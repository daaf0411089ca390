//! [`SimPorts`]: the real Fusion and WMS HTTP clients (against the simulators) with the
//! in-memory stores of `testkit` and a simulated clock, bundled as every port set the
//! handlers and the console need. Cheap to clone: every clone shares the same stores.

use std::sync::{Arc, Mutex};

use adapters::fusion::HttpFusionClient;
use adapters::wms::HttpWmsClient;
use app::ConfigError;
use domain::ports::{ConsolePorts, RunKind, RunReport, RunReports, StoreError};
use domain::reconciliation::ReconcilePorts;
use domain::sync::SyncPorts;
use domain::DcCode;
use sync_inventory::handler::SyncFunctionPorts;
use testkit::{
    InMemoryAudit, InMemoryIncidents, InMemoryLease, InMemoryLedger, InMemoryLotMap, InMemoryRunReports, InMemoryTasks,
    ManualClock, RecordingAlerts,
};

/// The stores and clients behind [`SimPorts`].
#[derive(Debug)]
pub struct Stores {
    /// Fusion (the simulator, over HTTP).
    pub fusion: HttpFusionClient,
    /// The WMS (the simulator, over HTTP).
    pub wms: HttpWmsClient,
    /// Sync ledger.
    pub ledger: InMemoryLedger,
    /// Lot map.
    pub lots: InMemoryLotMap,
    /// DC leases.
    pub lease: InMemoryLease,
    /// Review tasks.
    pub tasks: InMemoryTasks,
    /// Incidents.
    pub incidents: InMemoryIncidents,
    /// Run reports.
    pub runs: SavedRuns,
    /// Published alerts.
    pub alerts: RecordingAlerts,
    /// The console's audit trail.
    pub audit: InMemoryAudit,
    /// Simulated time.
    pub clock: ManualClock,
}

/// Run reports in memory, noting which reconciliations saved one since the last
/// [`SavedRuns::take_reconciled`]: a reconciliation that could not read both sides saves none.
#[derive(Debug, Default)]
pub struct SavedRuns {
    /// The reports.
    pub inner: InMemoryRunReports,
    reconciled: Mutex<Vec<DcCode>>,
}

impl SavedRuns {
    /// DCs whose reconciliation saved a report since the last call.
    pub fn take_reconciled(&self) -> Vec<DcCode> {
        std::mem::take(
            &mut *self
                .reconciled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl RunReports for SavedRuns {
    async fn save(&self, report: &RunReport) -> Result<(), StoreError> {
        self.inner.save(report).await?;
        if report.kind == RunKind::Reconcile {
            self.reconciled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(report.dc.clone());
        }
        Ok(())
    }
}

/// Every port over one set of [`Stores`].
#[derive(Debug, Clone)]
pub struct SimPorts(pub Arc<Stores>);

impl SimPorts {
    /// The stores.
    pub fn stores(&self) -> &Stores {
        &self.0
    }
}

impl SyncPorts for SimPorts {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = InMemoryLedger;
    type Lots = InMemoryLotMap;
    type Lease = InMemoryLease;
    type Tasks = InMemoryTasks;
    type Alerts = RecordingAlerts;
    type Clock = ManualClock;

    fn fusion(&self) -> &HttpFusionClient {
        &self.0.fusion
    }
    fn wms(&self) -> &HttpWmsClient {
        &self.0.wms
    }
    fn ledger(&self) -> &InMemoryLedger {
        &self.0.ledger
    }
    fn lots(&self) -> &InMemoryLotMap {
        &self.0.lots
    }
    fn lease(&self) -> &InMemoryLease {
        &self.0.lease
    }
    fn tasks(&self) -> &InMemoryTasks {
        &self.0.tasks
    }
    fn alerts(&self) -> &RecordingAlerts {
        &self.0.alerts
    }
    fn clock(&self) -> &ManualClock {
        &self.0.clock
    }
}

impl ReconcilePorts for SimPorts {
    type Incidents = InMemoryIncidents;
    type Runs = SavedRuns;

    fn incidents(&self) -> &InMemoryIncidents {
        &self.0.incidents
    }
    fn runs(&self) -> &SavedRuns {
        &self.0.runs
    }
}

impl SyncFunctionPorts for SimPorts {
    type Runs = SavedRuns;

    fn run_reports(&self) -> &SavedRuns {
        &self.0.runs
    }

    async fn reload_rejected_credentials(&self) -> Result<bool, ConfigError> {
        // Why: the credentials come from the settings, not a secret; nothing to re-read.
        Ok(false)
    }
}

impl ConsolePorts for SimPorts {
    type Board = InMemoryTasks;
    type IncidentBoard = InMemoryIncidents;
    type Audit = InMemoryAudit;
    type Browser = InMemoryLedger;
    type History = InMemoryRunReports;
    type Release = HttpWmsClient;

    fn board(&self) -> &InMemoryTasks {
        &self.0.tasks
    }
    fn incident_board(&self) -> &InMemoryIncidents {
        &self.0.incidents
    }
    fn audit(&self) -> &InMemoryAudit {
        &self.0.audit
    }
    fn browser(&self) -> &InMemoryLedger {
        &self.0.ledger
    }
    fn history(&self) -> &InMemoryRunReports {
        &self.0.runs.inner
    }
    fn release(&self) -> &HttpWmsClient {
        &self.0.wms
    }
}
