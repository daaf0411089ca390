//! The simulated world: both simulators started from one seed, the real clients invsync
//! uses pointed at them, the in-memory stores, and the simulated clock.

use std::sync::Arc;
use std::time::Duration;

use adapters::fusion::item_cache::InMemoryItemCache;
use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsAuth, WmsConfig};
use anyhow::anyhow;
use chrono::{DateTime, NaiveTime, Utc};
use domain::DcCode;
use fusion_sim::{FusionSim, RunningSim, SimConfig};
use secrecy::SecretString;
use sim_seed::SeedConfig;
use testkit::ManualClock;
use wms_sim::{RunningWms, WmsSim};

use crate::ports::{SimPorts, Stores};
use crate::settings::Settings;

/// Both simulators, the ports over them, and the DCs.
#[derive(Debug)]
pub struct World {
    /// The settings of the run.
    pub settings: Settings,
    /// The Fusion simulator.
    pub fusion: RunningSim,
    /// The WMS simulator.
    pub wms: RunningWms,
    /// Every port.
    pub ports: SimPorts,
    /// DC codes, `DC01` first.
    pub codes: Vec<String>,
    /// The same as DC codes.
    pub dcs: Vec<DcCode>,
    /// Simulated time at minute 0.
    pub start: DateTime<Utc>,
}

impl World {
    /// Seeds and starts both simulators, and builds the clients and stores over them.
    pub async fn start(settings: &Settings) -> anyhow::Result<Self> {
        let seed = SeedConfig {
            seed: settings.seed,
            dcs: settings.dcs,
            items: settings.items,
            today: settings.start,
            ..SeedConfig::default()
        };
        let fusion = FusionSim::start(SimConfig {
            seed: seed.clone(),
            faults: crate::faults::fusion_faults(settings, &[], 0),
            ..SimConfig::default()
        })
        .await?;
        let wms = WmsSim::start(wms_sim::WmsConfig {
            seed: seed.clone(),
            ..wms_sim::WmsConfig::default()
        })
        .await?;
        let mut cfg = FusionConfig::new(
            fusion.url(),
            Credentials::Basic {
                user: "integration.user".into(),
                password: SecretString::from("Welcome1"),
            },
        );
        // Why: simulated time stands still during a request, so the client's wall-clock
        // waits (back-off, Retry-After, the hold after rejected credentials) would only slow
        // the run; the attempts themselves still happen.
        cfg.retry_base_delay = Duration::from_millis(1);
        cfg.retry_max_delay = Duration::from_millis(2);
        cfg.max_retry_after = Duration::from_millis(2);
        cfg.auth_rejection_hold = Duration::from_millis(1);
        cfg.request_timeout = Duration::from_secs(60);
        let client =
            HttpFusionClient::new(cfg)?.with_item_cache(Arc::new(InMemoryItemCache::new(chrono::TimeDelta::hours(24))));
        let wms_cfg = WmsConfig::new(
            wms.base_url(),
            WmsAuth::ApiKey(SecretString::from(wms.api_key().unwrap_or_default().to_string())),
        )?;
        let start = settings.start.and_time(NaiveTime::MIN).and_utc();
        let ports = SimPorts(Arc::new(Stores {
            fusion: client,
            wms: HttpWmsClient::new(wms_cfg)?,
            ledger: Default::default(),
            lots: Default::default(),
            lease: Default::default(),
            tasks: Default::default(),
            incidents: Default::default(),
            runs: Default::default(),
            alerts: Default::default(),
            audit: Default::default(),
            clock: ManualClock::at(start),
        }));
        let codes: Vec<String> = (0..settings.dcs).map(|i| sim_seed::org(i).code).collect();
        let dcs = codes
            .iter()
            .map(|c| DcCode::parse(c.as_str()).map_err(|e| anyhow!("{e}")))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            settings: settings.clone(),
            fusion,
            wms,
            ports,
            codes,
            dcs,
            start,
        })
    }

    /// Simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        domain::ports::Clock::now(&self.ports.stores().clock)
    }

    /// Index of a DC code.
    pub fn dc_index(&self, code: &str) -> Option<usize> {
        self.codes.iter().position(|c| c == code)
    }

    /// Stops both simulators.
    pub async fn shutdown(self) {
        self.fusion.shutdown().await;
        self.wms.shutdown().await;
    }
}
