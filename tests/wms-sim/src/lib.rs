//! Stateful simulator of the legacy WMS as invsync sees it: the `/v1` HTTP JSON contract of
//! `docs/wms-api.openapi.yaml` (balances, pending-sync outbox, sync outcomes, holds,
//! reservations) over in-memory DCs seeded from `sim-seed`, plus an `/admin` API for tests.
//!
//! Admin API (no auth; simulator only, not part of the WMS contract):
//! - `POST /admin/activity {"dc": "DC01"|null, "count": N}` generates N transactions now
//!   (picks, receipts with new lots/serials, cycle-count adjustments, transfers); returns
//!   `{"count", "ids", "transactions"}`.
//! - `POST /admin/drift {"dc","item","subinventory","lot","delta","expiration"?}` silently
//!   changes one on-hand row (never the outbox); returns the [`AppliedDrift`].
//! - `POST /admin/drift/bands {"dc"?, "small", "medium", "large", "seed"}` drifts distinct
//!   keys by band (`|delta|` 1..=4, 5..=50, 51..=200); returns `{"applied": [AppliedDrift]}`.
//! - `GET /admin/state` per-DC counters; `GET /admin/stats` / `POST /admin/stats/reset`
//!   request counters per endpoint (names like `POST outcome`, `GET balances`).
//! - `PUT /admin/faults` / `GET /admin/faults`: [`Faults`] applied to `/v1` calls.
//!
//! Layout: [`model`] wire types, [`error`] the contract's error body, `state` the WMS rules,
//! `activity` the activity generator, `drift` drift injection, `http` the router.
//! Start it with [`WmsSim::start`]; the returned [`RunningWms`] serves until dropped or
//! [`RunningWms::shutdown`].

pub mod error;
pub mod model;

mod activity;
mod drift;
mod http;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
pub use sim_seed::{Control, Item, SeedConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use http::EndpointStats;
pub use model::*;
pub use state::{DEFAULT_LIMIT, MAX_LIMIT, SUBINVENTORIES};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct WmsConfig {
    /// Seed data; the Fusion simulator fed the same config starts consistent.
    pub seed: SeedConfig,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Accepted `X-Api-Key` value.
    pub api_key: Option<String>,
    /// Accepted `Authorization: Bearer` token. With neither credential set, `/v1` is open.
    pub bearer_token: Option<String>,
    /// Background activity across all DCs, in transactions per hour; 0 disables it.
    pub rate_per_hour: f64,
}

/// The API key [`WmsConfig::default`] and [`WmsConfig::small`] accept.
pub const DEFAULT_API_KEY: &str = "wms-sim-key";

impl Default for WmsConfig {
    fn default() -> Self {
        Self {
            seed: SeedConfig::default(),
            port: 0,
            api_key: Some(DEFAULT_API_KEY.to_string()),
            bearer_token: None,
            rate_per_hour: 0.0,
        }
    }
}

impl WmsConfig {
    /// A config with `dcs` DCs of `items` items each and everything else default.
    pub fn small(dcs: usize, items: usize) -> Self {
        Self {
            seed: SeedConfig {
                dcs,
                items,
                ..SeedConfig::default()
            },
            ..Self::default()
        }
    }
}

/// Entry point.
#[derive(Debug)]
pub struct WmsSim;

impl WmsSim {
    /// Seeds the DCs, binds 127.0.0.1:`config.port` and serves until the handle is dropped or
    /// shut down. Fails only if the port cannot be bound.
    pub async fn start(config: WmsConfig) -> std::io::Result<RunningWms> {
        let started = Instant::now();
        let seed = config.seed.clone();
        let store = tokio::task::spawn_blocking(move || state::Store::seed(&seed))
            .await
            .map_err(std::io::Error::other)?;
        let seeding_time = started.elapsed();
        let shared = Arc::new(http::Shared::new(
            store,
            http::Auth {
                api_key: config.api_key.clone(),
                bearer_token: config.bearer_token.clone(),
            },
            config.seed.seed,
        ));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut server_stop = stop_rx.clone();
        let router = http::router(shared.clone());
        let server = tokio::spawn(async move {
            let stopped = async move {
                let _ = server_stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
                tracing::error!(error = %e, "wms-sim server stopped");
            }
        });
        let driver =
            (config.rate_per_hour > 0.0).then(|| tokio::spawn(drive(shared.clone(), config.rate_per_hour, stop_rx)));
        Ok(RunningWms {
            base_url: format!("http://{addr}"),
            addr,
            shared,
            stop: stop_tx,
            server: Some(server),
            driver,
            seeding_time,
            api_key: config.api_key,
        })
    }
}

async fn drive(shared: Arc<http::Shared>, rate_per_hour: f64, mut stop: watch::Receiver<bool>) {
    let tick = Duration::from_millis(100);
    let per_tick = rate_per_hour * tick.as_secs_f64() / 3600.0;
    let mut carry = 0.0f64;
    let mut interval = tokio::time::interval(tick);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        carry += per_tick;
        let due = carry.floor();
        carry -= due;
        if due >= 1.0 {
            let _ = shared.store.generate(None, due as usize);
        }
    }
}

/// A running simulator. Dropping it stops the server and the activity driver.
#[derive(Debug)]
pub struct RunningWms {
    base_url: String,
    addr: SocketAddr,
    shared: Arc<http::Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    driver: Option<JoinHandle<()>>,
    seeding_time: Duration,
    api_key: Option<String>,
}

impl std::fmt::Debug for http::Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("dcs", &self.store.master.dcs)
            .finish_non_exhaustive()
    }
}

impl RunningWms {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The accepted API key, if any.
    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// How long seeding the DCs took.
    pub fn seeding_time(&self) -> Duration {
        self.seeding_time
    }

    /// DC codes in order.
    pub fn dcs(&self) -> Vec<String> {
        self.shared.store.master.dcs.clone()
    }

    /// The item master entry for an item number.
    pub fn item(&self, number: &str) -> Option<Item> {
        self.shared
            .store
            .master
            .item(number, "item")
            .ok()
            .map(|(_, i)| i.clone())
    }

    /// The balance row of one key, if the row exists.
    pub fn balance(&self, dc: &str, item: &str, subinventory: &str, lot: Option<&str>) -> Option<BalanceRow> {
        let guard = self.shared.store.dc(dc).ok()?;
        let (index, _) = self.shared.store.master.item(item, "item").ok()?;
        let key = (index, state::sub_index(subinventory)?, lot.map(str::to_string));
        guard
            .balances
            .get(&key)
            .map(|row| state::Dc::row_to_wire(&self.shared.store.master, &key, row))
    }

    /// On-hand of one key; zero when the row does not exist, `None` for an unknown DC.
    pub fn on_hand(&self, dc: &str, item: &str, subinventory: &str, lot: Option<&str>) -> Option<Decimal> {
        drop(self.shared.store.dc(dc).ok()?);
        Some(
            self.balance(dc, item, subinventory, lot)
                .map(|b| b.quantity)
                .unwrap_or_default(),
        )
    }

    /// Every balance row of a DC in paging order (empty for an unknown DC).
    pub fn balances(&self, dc: &str) -> Vec<BalanceRow> {
        let Ok(guard) = self.shared.store.dc(dc) else {
            return Vec::new();
        };
        guard
            .balances
            .iter()
            .map(|(k, r)| state::Dc::row_to_wire(&self.shared.store.master, k, r))
            .collect()
    }

    /// Outbox entries (pending and failed) of a DC.
    pub fn outbox_len(&self, dc: &str) -> usize {
        self.shared.store.dc(dc).map(|g| g.outbox.len()).unwrap_or(0)
    }

    /// Reservations held at a DC.
    pub fn reservations_count(&self, dc: &str) -> usize {
        self.shared.store.dc(dc).map(|g| g.reservations.len()).unwrap_or(0)
    }

    /// Reservations held at a DC, in sequence order.
    pub fn reservations(&self, dc: &str) -> Vec<Reservation> {
        self.shared
            .store
            .dc(dc)
            .map(|g| g.reservation_summary().items)
            .unwrap_or_default()
    }

    /// Active holds at a DC.
    pub fn holds(&self, dc: &str) -> Vec<Hold> {
        self.shared.store.dc(dc).map(|g| g.active_holds()).unwrap_or_default()
    }

    /// A transaction by id, whatever its status.
    pub fn transaction(&self, dc: &str, id: &str) -> Option<Transaction> {
        self.shared.store.dc(dc).ok()?.transactions.get(id).cloned()
    }

    /// Per-DC counters (as `GET /admin/state`).
    pub fn summary(&self) -> Vec<DcSummary> {
        http::summaries(&self.shared.store)
    }

    /// Request counters by endpoint (as `GET /admin/stats`).
    pub fn stats(&self) -> std::collections::BTreeMap<String, EndpointStats> {
        self.shared.stats()
    }

    /// Captures a transaction as `POST /v1/dcs/{dc}/transactions` does.
    pub fn capture(&self, dc: &str, tx: NewTransaction) -> Result<Transaction, ApiError> {
        let mut guard = self.shared.store.dc(dc)?;
        Ok(guard.capture(&self.shared.store.master, tx)?.transaction)
    }

    /// Records a sync outcome as `POST .../transactions/{id}/outcome` does.
    pub fn report_outcome(&self, dc: &str, id: &str, outcome: &OutcomeRequest) -> Result<Transaction, ApiError> {
        self.shared.store.dc(dc)?.outcome(id, outcome)
    }

    /// Generates `count` activity transactions now at `dc` (or random DCs); as `POST /admin/activity`.
    pub fn generate_activity(&self, dc: Option<&str>, count: usize) -> Result<Vec<Transaction>, ApiError> {
        self.shared.store.generate(dc, count)
    }

    /// Applies one silent drift; as `POST /admin/drift`.
    pub fn inject_drift(&self, drift: &DriftRequest) -> Result<AppliedDrift, ApiError> {
        let mut guard = self.shared.store.dc(&drift.dc)?;
        drift::apply(&mut guard, &self.shared.store.master, drift)
    }

    /// Picks `small`/`medium`/`large` distinct (DC, item) keys deterministically from `seed`
    /// and drifts each by a delta in its band (1..=4, 5..=50, 51..=200, sign random but never
    /// below zero); returns exactly what was applied. As `POST /admin/drift/bands`.
    pub fn inject_drift_bands(&self, request: &DriftBandsRequest) -> Result<Vec<AppliedDrift>, ApiError> {
        drift::apply_bands(&self.shared.store, request)
    }

    /// Replaces the fault-injection settings; as `PUT /admin/faults`.
    pub fn set_faults(&self, faults: Faults) -> Result<(), ApiError> {
        self.shared.set_faults(faults)
    }

    /// Stops the driver and the server and waits for the server to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(driver) = self.driver.take() {
            let _ = driver.await;
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningWms {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(driver) = self.driver.take() {
            driver.abort();
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
