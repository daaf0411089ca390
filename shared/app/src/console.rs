//! Wiring for the operator console: [`ConsolePortsApp`], the engines' [`AppPorts`] plus the
//! audit trail, as `domain::ports::ConsolePorts`, so an HTTP function or a CLI builds a
//! `console::ConsoleService` from the environment with [`App::console_ports`].
//!
//! The same DynamoDB adapters serve the console's reads and guarded writes (`TaskBoard` on the
//! review tasks, `IncidentBoard` on the incidents, `LedgerBrowser` on the ledger, `RunHistory`
//! on the run reports) and the WMS client releases holds. What the console's role must grant:
//! [`crate::permissions::CONSOLE`].

use crate::config::ConfigError;
use crate::names;
use crate::wiring::{App, AppPorts, SystemClock};
use adapters::aws::{
    DynamoAuditLog, DynamoDcLease, DynamoIncidents, DynamoLotMap, DynamoReviewTasks, DynamoRunReports,
    DynamoSyncLedger, SnsAlertSink,
};
use adapters::fusion::HttpFusionClient;
use adapters::wms::HttpWmsClient;
use domain::ports::ConsolePorts;
use domain::reconciliation::ReconcilePorts;
use domain::sync::SyncPorts;

impl App {
    /// The audit trail (`AUDIT_TABLE`).
    pub fn audit(&self) -> Result<DynamoAuditLog, ConfigError> {
        Ok(DynamoAuditLog::new(
            self.dynamodb().clone(),
            self.env().required(names::AUDIT_TABLE)?,
            self.writes().clone(),
        ))
    }

    /// Every port the console needs: [`App::ports`] and [`App::audit`].
    pub async fn console_ports(&self) -> Result<ConsolePortsApp, ConfigError> {
        Ok(ConsolePortsApp {
            audit: self.audit()?,
            engine: self.ports().await?,
        })
    }
}

/// The console's ports on AWS and the two HTTP clients.
pub struct ConsolePortsApp {
    /// The engines' ports (an adjustment or a retry goes through the sync path).
    pub engine: AppPorts,
    /// The audit trail.
    pub audit: DynamoAuditLog,
}

impl ConsolePortsApp {
    /// Bundles `engine` with `audit` (tests and tools that build the stores themselves).
    pub fn new(engine: AppPorts, audit: DynamoAuditLog) -> Self {
        Self { engine, audit }
    }
}

impl SyncPorts for ConsolePortsApp {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = DynamoSyncLedger;
    type Lots = DynamoLotMap;
    type Lease = DynamoDcLease;
    type Tasks = DynamoReviewTasks;
    type Alerts = SnsAlertSink;
    type Clock = SystemClock;

    fn fusion(&self) -> &Self::Fusion {
        &self.engine.fusion
    }
    fn wms(&self) -> &Self::Wms {
        &self.engine.wms
    }
    fn ledger(&self) -> &Self::Ledger {
        &self.engine.ledger
    }
    fn lots(&self) -> &Self::Lots {
        &self.engine.lots
    }
    fn lease(&self) -> &Self::Lease {
        &self.engine.lease
    }
    fn tasks(&self) -> &Self::Tasks {
        &self.engine.tasks
    }
    fn alerts(&self) -> &Self::Alerts {
        &self.engine.alerts
    }
    fn clock(&self) -> &Self::Clock {
        &self.engine.clock
    }
}

impl ReconcilePorts for ConsolePortsApp {
    type Incidents = DynamoIncidents;
    type Runs = DynamoRunReports;

    fn incidents(&self) -> &Self::Incidents {
        &self.engine.incidents
    }
    fn runs(&self) -> &Self::Runs {
        &self.engine.runs
    }
}

impl ConsolePorts for ConsolePortsApp {
    type Board = DynamoReviewTasks;
    type IncidentBoard = DynamoIncidents;
    type Audit = DynamoAuditLog;
    type Browser = DynamoSyncLedger;
    type History = DynamoRunReports;
    type Release = HttpWmsClient;

    fn board(&self) -> &Self::Board {
        &self.engine.tasks
    }
    fn incident_board(&self) -> &Self::IncidentBoard {
        &self.engine.incidents
    }
    fn audit(&self) -> &Self::Audit {
        &self.audit
    }
    fn browser(&self) -> &Self::Browser {
        &self.engine.ledger
    }
    fn history(&self) -> &Self::History {
        &self.engine.runs
    }
    fn release(&self) -> &Self::Release {
        &self.engine.wms
    }
}
