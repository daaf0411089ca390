//! [`GoLivePorts`]: the go-live baseline engine's ports for one DC: the real Fusion and WMS
//! HTTP clients, every table in memory (the testkit's fakes, which keep the DynamoDB
//! adapters' conditions), the wall clock. [`start_sims`] starts both simulators from one seed.

use std::time::Duration;

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsAuth, WmsConfig};
use chrono::{DateTime, Utc};
use domain::golive::baseline::BaselinePorts;
use domain::golive::OutboxWatermark;
use domain::ids::DcCode;
use domain::ports::{Clock, DcStatusBoard, StoreError};
use domain::reconciliation::ReconcilePorts;
use domain::sync::SyncPorts;
use fusion_sim::{FusionSim, RunningSim, SimConfig};
use secrecy::SecretString;
use sim_seed::SeedConfig;
use testkit::{
    InMemoryBaselineCheckpoints, InMemoryDcStatus, InMemoryIncidents, InMemoryLease, InMemoryLedger, InMemoryLotMap,
    InMemoryRunReports, InMemoryTasks, RecordingAlerts,
};
use wms_sim::{RunningWms, WmsSim};

/// The Fusion simulator's password for `integration.user`.
pub const FUSION_PASSWORD: &str = "Welcome1";

/// Starts the Fusion simulator (every request delayed `fusion_latency_ms`) and the WMS
/// simulator from one seed of `dcs` DCs and `items` items: both start with the same balances.
pub async fn start_sims(
    dcs: usize,
    items: usize,
    seed: u64,
    fusion_latency_ms: u64,
) -> anyhow::Result<(RunningSim, RunningWms)> {
    let seed = SeedConfig {
        dcs,
        items,
        seed,
        ..SeedConfig::default()
    };
    let fusion = FusionSim::start(SimConfig {
        seed: seed.clone(),
        password: FUSION_PASSWORD.into(),
        faults: fusion_sim::Faults {
            latency_ms: fusion_latency_ms,
            ..fusion_sim::Faults::default()
        },
        ..SimConfig::default()
    })
    .await?;
    let wms = WmsSim::start(wms_sim::WmsConfig {
        seed,
        ..wms_sim::WmsConfig::default()
    })
    .await?;
    Ok((fusion, wms))
}

/// The DC codes of the seed's first `n` organizations.
pub fn dc_codes(n: usize) -> anyhow::Result<Vec<DcCode>> {
    Ok((0..n)
        .map(|i| DcCode::parse(sim_seed::org(i).code))
        .collect::<Result<_, _>>()?)
}

/// A Fusion client for the simulator, `in_flight` requests at once.
pub fn fusion_client(sim: &RunningSim, in_flight: usize) -> anyhow::Result<HttpFusionClient> {
    let mut cfg = FusionConfig::new(
        sim.url(),
        Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from(FUSION_PASSWORD),
        },
    );
    cfg.max_in_flight = in_flight;
    cfg.max_in_flight_ceiling = in_flight.max(cfg.max_in_flight_ceiling);
    cfg.request_timeout = Duration::from_secs(30);
    cfg.retry_base_delay = Duration::from_millis(5);
    Ok(HttpFusionClient::new(cfg)?)
}

/// A WMS client for the simulator.
pub fn wms_client(wms: &RunningWms) -> anyhow::Result<HttpWmsClient> {
    let cfg = WmsConfig::new(
        wms.base_url(),
        WmsAuth::ApiKey(SecretString::from(wms.api_key().unwrap_or_default().to_string())),
    )?;
    Ok(HttpWmsClient::new(cfg)?)
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// One DC's baseline ports: HTTP clients, in-memory tables (public, so a test can inspect
/// them or hand them to a resumed run).
#[derive(Debug)]
pub struct GoLivePorts {
    /// Fusion (also the balance loader).
    pub fusion: HttpFusionClient,
    /// The WMS.
    pub wms: HttpWmsClient,
    /// Ledger.
    pub ledger: InMemoryLedger,
    /// Lot map.
    pub lots: InMemoryLotMap,
    /// Leases.
    pub lease: InMemoryLease,
    /// Review tasks.
    pub tasks: InMemoryTasks,
    /// Alerts.
    pub alerts: RecordingAlerts,
    /// Incidents.
    pub incidents: InMemoryIncidents,
    /// Run reports.
    pub runs: InMemoryRunReports,
    /// DC statuses.
    pub status: InMemoryDcStatus,
    /// Baseline checkpoints.
    pub checkpoints: InMemoryBaselineCheckpoints,
    /// Clock.
    pub clock: WallClock,
}

impl GoLivePorts {
    /// Ports over `fusion` and `wms` with empty tables.
    pub fn new(fusion: HttpFusionClient, wms: HttpWmsClient) -> Self {
        Self {
            fusion,
            wms,
            ledger: InMemoryLedger::new(),
            lots: InMemoryLotMap::new(),
            lease: InMemoryLease::new(),
            tasks: InMemoryTasks::new(),
            alerts: RecordingAlerts::new(),
            incidents: InMemoryIncidents::new(),
            runs: InMemoryRunReports::new(),
            status: InMemoryDcStatus::new(),
            checkpoints: InMemoryBaselineCheckpoints::new(),
            clock: WallClock,
        }
    }
}

impl SyncPorts for GoLivePorts {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = InMemoryLedger;
    type Lots = InMemoryLotMap;
    type Lease = InMemoryLease;
    type Tasks = InMemoryTasks;
    type Alerts = RecordingAlerts;
    type Clock = WallClock;

    fn fusion(&self) -> &HttpFusionClient {
        &self.fusion
    }
    fn wms(&self) -> &HttpWmsClient {
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
    fn clock(&self) -> &WallClock {
        &self.clock
    }
    async fn baseline_watermark(&self, dc: &DcCode) -> Result<Option<OutboxWatermark>, StoreError> {
        Ok(self.status.get(dc).await?.and_then(|r| r.watermark))
    }
}

impl ReconcilePorts for GoLivePorts {
    type Incidents = InMemoryIncidents;
    type Runs = InMemoryRunReports;

    fn incidents(&self) -> &InMemoryIncidents {
        &self.incidents
    }
    fn runs(&self) -> &InMemoryRunReports {
        &self.runs
    }
}

impl BaselinePorts for GoLivePorts {
    type Status = InMemoryDcStatus;
    type Checkpoints = InMemoryBaselineCheckpoints;
    type Loader = HttpFusionClient;

    fn status(&self) -> &InMemoryDcStatus {
        &self.status
    }
    fn checkpoints(&self) -> &InMemoryBaselineCheckpoints {
        &self.checkpoints
    }
    fn loader(&self) -> &HttpFusionClient {
        &self.fusion
    }
}
