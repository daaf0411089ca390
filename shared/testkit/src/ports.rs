//! [`FakePorts`]: every fake bundled as the sync engine's [`SyncPorts`] and the
//! reconciliation's [`ReconcilePorts`].

use crate::build::{self, DEFAULT_DC};
use crate::{
    FakeFusion, FakeWms, InMemoryAudit, InMemoryBaselineCheckpoints, InMemoryDcStatus, InMemoryIncidents,
    InMemoryLease, InMemoryLedger, InMemoryLotMap, InMemoryRunReports, InMemoryTasks, ManualClock, RecordingAlerts,
};
use chrono::{DateTime, Duration, Utc};
use domain::golive::baseline::BaselinePorts;
use domain::golive::OutboxWatermark;
use domain::ids::DcCode;
use domain::ports::{Clock, ConsolePorts};
use domain::ports::{DcStatusBoard, StoreError};
use domain::reconciliation::ReconcilePorts;
use domain::sync::SyncPorts;
use domain::txn::{ItemInfo, WmsTransaction};

/// All fakes for one test, for DC [`FakePorts::dc`] by default. Fields are public so a test
/// scripts and inspects each fake directly (`ports.fusion.fail_next_posts(..)`,
/// `ports.ledger.state_of(..)`).
#[derive(Debug)]
pub struct FakePorts {
    /// The DC the helpers below use (`DC01` unless built with [`FakePorts::for_dc`]).
    pub dc: DcCode,
    /// Fusion.
    pub fusion: FakeFusion,
    /// The WMS.
    pub wms: FakeWms,
    /// The sync ledger.
    pub ledger: InMemoryLedger,
    /// The lot map.
    pub lots: InMemoryLotMap,
    /// Per-DC leases.
    pub lease: InMemoryLease,
    /// Review tasks.
    pub tasks: InMemoryTasks,
    /// Incidents.
    pub incidents: InMemoryIncidents,
    /// Run reports.
    pub run_reports: InMemoryRunReports,
    /// Published alerts.
    pub alerts: RecordingAlerts,
    /// Time, starting at [`build::epoch`].
    pub clock: ManualClock,
    /// The console's audit trail.
    pub audit: InMemoryAudit,
    /// DC go-live statuses (empty: every DC `not_started`, no baseline watermark).
    pub status: InMemoryDcStatus,
    /// Baseline plans and chunk checkpoints.
    pub checkpoints: InMemoryBaselineCheckpoints,
}

impl Default for FakePorts {
    fn default() -> Self {
        Self::new()
    }
}

impl FakePorts {
    /// Empty fakes for `DC01` (known to the WMS, with an empty outbox).
    pub fn new() -> Self {
        Self::for_dc(&build::dc(DEFAULT_DC))
    }

    /// Empty fakes for `dc` (known to the WMS, with an empty outbox).
    pub fn for_dc(dc: &DcCode) -> Self {
        let wms = FakeWms::new();
        wms.add_dc(dc);
        Self {
            dc: dc.clone(),
            fusion: FakeFusion::new(),
            wms,
            ledger: InMemoryLedger::new(),
            lots: InMemoryLotMap::new(),
            lease: InMemoryLease::new(),
            tasks: InMemoryTasks::new(),
            incidents: InMemoryIncidents::new(),
            run_reports: InMemoryRunReports::new(),
            alerts: RecordingAlerts::new(),
            clock: ManualClock::new(),
            audit: InMemoryAudit::new(),
            status: InMemoryDcStatus::new(),
            checkpoints: InMemoryBaselineCheckpoints::new(),
        }
    }

    /// Adds an item to Fusion's item master for [`FakePorts::dc`] (see [`build::plain_item`],
    /// [`build::lot_item`], [`build::serial_item`]).
    pub fn add_item(&self, info: ItemInfo) -> &Self {
        self.fusion.add_item(&self.dc, info);
        self
    }

    /// Adds several items (see [`FakePorts::add_item`]).
    pub fn add_items(&self, infos: impl IntoIterator<Item = ItemInfo>) -> &Self {
        for info in infos {
            self.add_item(info);
        }
        self
    }

    /// Appends a transaction to its DC's WMS outbox.
    pub fn add_txn(&self, txn: WmsTransaction) -> &Self {
        self.wms.push_txn(txn);
        self
    }

    /// Appends several transactions to the WMS outbox, in order.
    pub fn add_txns(&self, txns: impl IntoIterator<Item = WmsTransaction>) -> &Self {
        for txn in txns {
            self.add_txn(txn);
        }
        self
    }

    /// A run deadline `minutes` from the clock's now (a Lambda's remaining time).
    pub fn deadline_in(&self, minutes: i64) -> DateTime<Utc> {
        self.clock.now() + Duration::minutes(minutes)
    }
}

impl SyncPorts for FakePorts {
    type Fusion = FakeFusion;
    type Wms = FakeWms;
    type Ledger = InMemoryLedger;
    type Lots = InMemoryLotMap;
    type Lease = InMemoryLease;
    type Tasks = InMemoryTasks;
    type Alerts = RecordingAlerts;
    type Clock = ManualClock;

    fn fusion(&self) -> &FakeFusion {
        &self.fusion
    }
    fn wms(&self) -> &FakeWms {
        &self.wms
    }
    fn ledger(&self) -> &InMemoryLedger {
        &self.ledger
    }
    fn lots(&self) -> &InMemoryLotMap {
        &self.lots
    }
    fn lease(&self) -> &InMemoryLease {
        &self.lease
    }
    fn tasks(&self) -> &InMemoryTasks {
        &self.tasks
    }
    fn alerts(&self) -> &RecordingAlerts {
        &self.alerts
    }
    fn clock(&self) -> &ManualClock {
        &self.clock
    }
    async fn baseline_watermark(&self, dc: &DcCode) -> Result<Option<OutboxWatermark>, StoreError> {
        Ok(self.status.get(dc).await?.and_then(|r| r.watermark))
    }
}

impl BaselinePorts for FakePorts {
    type Status = InMemoryDcStatus;
    type Checkpoints = InMemoryBaselineCheckpoints;
    type Loader = FakeFusion;

    fn status(&self) -> &InMemoryDcStatus {
        &self.status
    }
    fn checkpoints(&self) -> &InMemoryBaselineCheckpoints {
        &self.checkpoints
    }
    fn loader(&self) -> &FakeFusion {
        &self.fusion
    }
}

impl ReconcilePorts for FakePorts {
    type Incidents = InMemoryIncidents;
    type Runs = InMemoryRunReports;

    fn incidents(&self) -> &InMemoryIncidents {
        &self.incidents
    }
    fn runs(&self) -> &InMemoryRunReports {
        &self.run_reports
    }
}

impl ConsolePorts for FakePorts {
    type Board = InMemoryTasks;
    type IncidentBoard = InMemoryIncidents;
    type Audit = InMemoryAudit;
    type Browser = InMemoryLedger;
    type History = InMemoryRunReports;
    type Release = FakeWms;

    fn board(&self) -> &InMemoryTasks {
        &self.tasks
    }
    fn incident_board(&self) -> &InMemoryIncidents {
        &self.incidents
    }
    fn audit(&self) -> &InMemoryAudit {
        &self.audit
    }
    fn browser(&self) -> &InMemoryLedger {
        &self.ledger
    }
    fn history(&self) -> &InMemoryRunReports {
        &self.run_reports
    }
    fn release(&self) -> &FakeWms {
        &self.wms
    }
}
