//! [`BaselineAppPorts`]: what the go-live baseline runs on in AWS (the `baseline` function and
//! the CLI's `invsync baseline ...`): every port of [`AppPorts`], plus the DC status table, the
//! baseline checkpoint table and Fusion's balance load (the same Fusion client).

use crate::config::ConfigError;
use crate::wiring::{App, AppPorts, SystemClock};
use adapters::aws::{DynamoBaselineCheckpoints, DynamoDcLease, DynamoDcStatus, DynamoIncidents, DynamoLotMap};
use adapters::aws::{DynamoReviewTasks, DynamoRunReports, DynamoSyncLedger, SnsAlertSink};
use adapters::fusion::HttpFusionClient;
use adapters::wms::HttpWmsClient;
use domain::golive::baseline::BaselinePorts;
use domain::golive::OutboxWatermark;
use domain::ids::DcCode;
use domain::ports::{DcStatusBoard, StoreError};
use domain::reconciliation::ReconcilePorts;
use domain::sync::SyncPorts;

/// The engines' ports plus the go-live tables, built once per process.
pub struct BaselineAppPorts {
    /// Fusion, the WMS, the engines' tables and the topic.
    pub ports: AppPorts,
    /// Each DC's go-live status (`DC_STATUS_TABLE`).
    pub status: DynamoDcStatus,
    /// Baseline plans and chunk checkpoints (`BASELINE_TABLE`).
    pub checkpoints: DynamoBaselineCheckpoints,
}

impl App {
    /// [`App::ports`] plus [`App::dc_status`] and [`App::baseline_checkpoints`].
    pub async fn baseline_ports(&self) -> Result<BaselineAppPorts, ConfigError> {
        Ok(BaselineAppPorts {
            ports: self.ports().await?,
            status: self.dc_status()?,
            checkpoints: self.baseline_checkpoints()?,
        })
    }
}

impl SyncPorts for BaselineAppPorts {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = DynamoSyncLedger;
    type Lots = DynamoLotMap;
    type Lease = DynamoDcLease;
    type Tasks = DynamoReviewTasks;
    type Alerts = SnsAlertSink;
    type Clock = SystemClock;

    fn fusion(&self) -> &Self::Fusion {
        &self.ports.fusion
    }
    fn wms(&self) -> &Self::Wms {
        &self.ports.wms
    }
    fn ledger(&self) -> &Self::Ledger {
        &self.ports.ledger
    }
    fn lots(&self) -> &Self::Lots {
        &self.ports.lots
    }
    fn lease(&self) -> &Self::Lease {
        &self.ports.lease
    }
    fn tasks(&self) -> &Self::Tasks {
        &self.ports.tasks
    }
    fn alerts(&self) -> &Self::Alerts {
        &self.ports.alerts
    }
    fn clock(&self) -> &Self::Clock {
        &self.ports.clock
    }
    async fn baseline_watermark(&self, dc: &DcCode) -> Result<Option<OutboxWatermark>, StoreError> {
        Ok(self.status.get(dc).await?.and_then(|r| r.watermark))
    }
}

impl ReconcilePorts for BaselineAppPorts {
    type Incidents = DynamoIncidents;
    type Runs = DynamoRunReports;

    fn incidents(&self) -> &Self::Incidents {
        &self.ports.incidents
    }
    fn runs(&self) -> &Self::Runs {
        &self.ports.runs
    }
}

impl BaselinePorts for BaselineAppPorts {
    type Status = DynamoDcStatus;
    type Checkpoints = DynamoBaselineCheckpoints;
    type Loader = HttpFusionClient;

    fn status(&self) -> &Self::Status {
        &self.status
    }
    fn checkpoints(&self) -> &Self::Checkpoints {
        &self.checkpoints
    }
    fn loader(&self) -> &Self::Loader {
        &self.ports.fusion
    }
}
