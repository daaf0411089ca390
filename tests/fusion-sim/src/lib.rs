//! Oracle Fusion Cloud SCM inventory REST simulator for invsync's integration tests.
//!
//! A stateful, in-memory stand-in for the Fusion resources the sync and reconcile functions
//! use (`inventoryOnhandBalances`, `inventoryStagedTransactions`,
//! `inventoryCompletedTransactions`, `inventoryBalanceTransactions`, `itemsV2`,
//! `inventoryItemLots`, `unitsOfMeasure`, batch), faithful to
//! `shared/reference/fusion-rest.md` including its failure modes, with fault injection and
//! request counters. Seeded from `sim-seed`, like the WMS simulator, so both start consistent.
//!
//! Switchable modes, set at start in [`SimConfig`] ([`Faults`] also at runtime through
//! `PUT /admin/faults`); the defaults keep the simulator's earlier behaviour except where noted:
//!
//! - REST framework version (fact sheet §1, §4): the `REST-Framework-Version` header, else
//!   [`SimConfig::default_framework_version`] (default 1). Before v3 expanded `lots` and
//!   `serials` are plain arrays; from v3 they are paged collections (first 25, `hasMore`, a
//!   self link to `…/{id}/child/{lots|serials}`, which pages the rest). Before v4 errors are
//!   the detail text as `text/plain`; from v4 JSON (`title`, `status`, `o:errorDetails`).
//!   Without the header errors are therefore plain text now (they used to be JSON).
//! - TransactionMode: Online processes in the POST; Concurrent rows are processed
//!   [`SimConfig::concurrent_delay`] (default 300 ms) after it; Background rows wait for
//!   [`SimConfig::process_interval`] (default none) or `POST /admin/process-staged` (optional
//!   body `{"max_rows": N}`: only the N oldest pending rows).
//! - Processing failures (fact sheet §3, §6): [`Faults::process_fail_rate`] (default 0) and
//!   [`Faults::fail_processing_refs`] (default none) fail rows at processing (ProcessFlag 3,
//!   `ErrorCode`, `ErrorExplanation`, the lot children's `ErrorCode`), as real validation
//!   failures at processing do.
//! - Units of measure (fact sheet §5): `sim_seed::SeedConfig::uom_style` (default `Upper`: EA,
//!   CS, KG, LB; `Mixed`: Ea, cs, Kg, Lb), compared exactly (case-sensitive).
//! - Optional resources: [`Faults::missing_resources`] (404) and
//!   [`Faults::forbidden_resources`] (403) (default none), for every method and batch part.
//! - Request faults: latency, rate limit (429), concurrency limit (429 beyond N requests in
//!   flight, [`Faults::max_in_flight`]), 500/503, hangs, resets, Online 408,
//!   accept-then-drop, `hasMore` lies, scripted next-N faults ([`Faults`]); gzip request
//!   bodies ([`SimConfig::accept_gzip_requests`]); negative on-hand
//!   ([`SimConfig::allow_negative_onhand`]).
//! - Rejected credentials: [`Faults::reject_credentials`] (default false) answers every API
//!   request 401, as after the integration user's password changed or expired.
//!
//! Layout: [`rest`] (envelope, `q`, errors, decimals), [`state`] (per-org indexes),
//! [`txn`] (transaction validation and application), [`sim`] (resource operations, one
//! submodule per resource family), [`faults`], [`api`] (the Fusion request path: framework
//! version, auth, faults, dispatch), [`http`] (shared state, auth, router), `admin` (the
//! `/admin` control API), `processor` (transaction-manager runs: on demand, on interval,
//! Concurrent), and [`FusionSim`] / [`RunningSim`] here.

mod admin;
pub mod api;
pub mod config;
pub mod faults;
pub mod http;
mod processor;

pub mod rest;
pub mod sim;
pub mod state;
pub mod txn;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{ProcessReport, SimConfig};
pub use faults::{FaultStatus, Faults, ScriptedFault, CONCURRENCY_REFUSED};
pub use rest::HasMoreLies;

use http::{lock, read, write, AuthConfig, Shared};
use sim::{Settings, SimState};
use txn::Rules;

/// A staged row waiting for the transaction manager ([`RunningSim::pending_staged`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// OrganizationCode.
    pub org: String,
    /// ItemNumber.
    pub item: String,
    /// SubinventoryCode.
    pub subinventory: String,
    /// TransferSubinventory of a transfer.
    pub transfer_subinventory: Option<String>,
    /// TransactionQuantity as posted (signed).
    pub quantity: Decimal,
    /// Lot lines as posted: lot number and quantity.
    pub lots: Vec<(String, Decimal)>,
    /// `SourceHeaderId` and `TransactionReference`, where given.
    pub references: Vec<String>,
}

/// Entry point: builds the seeded state and serves it.
#[derive(Debug)]
pub struct FusionSim;

/// A running simulator. Dropping it stops the server; [`RunningSim::shutdown`] stops it and
/// waits.
#[derive(Debug)]
pub struct RunningSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    seed_time: Duration,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    processor: Option<JoinHandle<()>>,
    concurrent: Option<JoinHandle<()>>,
}

impl FusionSim {
    /// Seeds the state from `config.seed`, binds `127.0.0.1:config.port` (0 = any free port)
    /// and starts serving in the background on the current tokio runtime.
    pub async fn start(config: SimConfig) -> anyhow::Result<RunningSim> {
        let seed_cfg = config.seed.clone();
        let rules = Rules {
            today: config.today.unwrap_or(seed_cfg.today),
            max_serials: config.max_serials_per_txn,
            allow_negative: config.allow_negative_onhand,
        };
        let settings = Settings {
            default_limit: config.default_limit,
            max_limit: config.max_limit,
            rules,
            concurrent_delay: config.concurrent_delay,
        };
        let started = Instant::now();
        let state = tokio::task::spawn_blocking(move || {
            let catalog = sim_seed::generate(&seed_cfg);
            SimState::new(&catalog, settings)
        })
        .await?;
        let seed_time = started.elapsed();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            sim: RwLock::new(state),
            faults: Mutex::new(faults::FaultEngine::new(config.faults.clone())),
            stats: Mutex::new(BTreeMap::new()),
            tokens: Mutex::new(HashMap::new()),
            auth: AuthConfig {
                user: config.user.clone(),
                password: config.password.clone(),
                roleless: config.roleless_users.clone(),
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                token_ttl: config.token_ttl,
            },
            base_url: format!("http://{addr}"),
            accept_gzip_requests: config.accept_gzip_requests,
            default_framework_version: config.default_framework_version,
            concurrent_wake: tokio::sync::Notify::new(),
            in_flight: std::sync::atomic::AtomicU32::new(0),
            peak_in_flight: std::sync::atomic::AtomicU32::new(0),
        });
        let (tx, rx) = oneshot::channel::<()>();
        let app = http::router(shared.clone());
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "fusion-sim server stopped");
            }
        });
        let processor = config
            .process_interval
            .map(|every| processor::spawn_interval(shared.clone(), every));
        let concurrent = Some(processor::spawn_concurrent(shared.clone()));
        Ok(RunningSim {
            shared,
            addr,
            seed_time,
            stop: Some(tx),
            server: Some(server),
            processor,
            concurrent,
        })
    }
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/fscmRestApi/resources/11.13.18.05`, the REST base.
    pub fn api_base(&self) -> String {
        format!("{}/fscmRestApi/resources/{}", self.shared.base_url, http::VERSION)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long generating and indexing the seed took.
    pub fn seed_time(&self) -> Duration {
        self.seed_time
    }

    /// On-hand quantity of `item` in `org`/`sub` (of one lot if given); zero when there is no row.
    pub fn onhand(&self, org: &str, item: &str, sub: &str, lot: Option<&str>) -> Decimal {
        let sim = read(&self.shared.sim);
        let (Some(o), Some(&i), Some(s)) = (
            sim.org_index(org),
            sim.master.by_number.get(item),
            state::sub_index(sub),
        ) else {
            return Decimal::ZERO;
        };
        let Some(b) = sim.orgs[o].bal(i as usize, s) else {
            return Decimal::ZERO;
        };
        match lot {
            Some(l) => b.lots.get(l).copied().unwrap_or_default(),
            None => b.qty,
        }
    }

    /// Serial numbers on hand for `item` in `org`/`sub`.
    pub fn serials(&self, org: &str, item: &str, sub: &str) -> Vec<String> {
        let sim = read(&self.shared.sim);
        match (
            sim.org_index(org),
            sim.master.by_number.get(item),
            state::sub_index(sub),
        ) {
            (Some(o), Some(&i), Some(s)) => sim.orgs[o]
                .bal(i as usize, s)
                .map(|b| b.serials.iter().cloned().collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Expiration date of a lot, if it exists.
    pub fn lot_expiration(&self, org: &str, item: &str, lot: &str) -> Option<NaiveDate> {
        let sim = read(&self.shared.sim);
        let o = sim.org_index(org)?;
        let i = *sim.master.by_number.get(item)?;
        sim.orgs[o].lots.get(&(i, lot.to_string())).copied()
    }

    /// Total on-hand of one organization (all items and subinventories).
    pub fn org_total(&self, org: &str) -> Decimal {
        let sim = read(&self.shared.sim);
        let Some(o) = sim.org_index(org) else {
            return Decimal::ZERO;
        };
        sim.orgs[o].rows.iter().flatten().flatten().map(|b| b.qty).sum()
    }

    /// Requests counted for `endpoint` (`"GET inventoryOnhandBalances"`,
    /// `"POST inventoryStagedTransactions"`, ...), including rejected and faulted ones.
    pub fn request_count(&self, endpoint: &str) -> u64 {
        lock(&self.shared.stats).get(endpoint).copied().unwrap_or(0)
    }

    /// All request counters.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.stats).clone()
    }

    /// Zeroes the request counters and the in-flight peak.
    pub fn reset_stats(&self) {
        lock(&self.shared.stats).clear();
        self.shared.peak_in_flight.store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// The most Fusion API requests in flight at once since start or the last
    /// [`Self::reset_stats`].
    pub fn peak_in_flight(&self) -> u32 {
        self.shared.peak_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).faults().clone()
    }

    /// Replaces the faults (and reseeds the fault RNG).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.faults).set(faults);
    }

    /// Runs the transaction manager over pending staged rows (injected processing failures
    /// apply).
    pub fn process_staged(&self) -> ProcessReport {
        processor::run(&self.shared, sim::Pick::All)
    }

    /// Runs the transaction manager over the `max_rows` oldest pending staged rows only.
    pub fn process_oldest(&self, max_rows: usize) -> ProcessReport {
        processor::run(&self.shared, sim::Pick::Oldest(max_rows))
    }

    /// Staged (interface) rows as the REST resource renders them.
    pub fn staged_rows(&self) -> Vec<Value> {
        let sim = read(&self.shared.sim);
        let ids: Vec<String> = sim.staged.keys().map(i64::to_string).collect();
        drop(sim);
        ids.iter()
            .filter_map(|id| self.api_get(&format!("inventoryStagedTransactions/{id}")))
            .collect()
    }

    /// Number of completed transactions.
    pub fn completed_count(&self) -> usize {
        write(&self.shared.sim).completed.len()
    }

    /// Sets the simulator's "today" (lot expiry).
    pub fn set_today(&self, today: NaiveDate) {
        write(&self.shared.sim).settings.rules.today = today;
    }

    /// Silently changes on-hand (no transaction recorded) to create drift: `delta` on the
    /// balance (and lot, if given; a new lot expires a year after today).
    pub fn adjust(
        &self,
        org: &str,
        item: &str,
        sub: &str,
        lot: Option<&str>,
        delta: Decimal,
    ) -> anyhow::Result<Decimal> {
        let v =
            serde_json::json!({"org": org, "item": item, "subinventory": sub, "lot": lot, "delta": delta.to_string()});
        let out = admin::adjust_direct(&mut write(&self.shared.sim), &v).map_err(|e| anyhow::anyhow!(e.detail))?;
        Ok(rest::parse_decimal(&out["quantity"]).unwrap_or_default())
    }

    /// How many times each (organization, item, subinventory) balance line was applied
    /// through `inventoryBalanceTransactions`.
    pub fn balance_applications(&self) -> BTreeMap<(String, String, String), u64> {
        write(&self.shared.sim).balance_applied.clone()
    }

    /// Items whose balance lines the processing step refuses from now on (replacing the list).
    pub fn refuse_balance_items(&self, items: &[&str]) {
        write(&self.shared.sim).refuse_balance_items = items.iter().map(|s| (*s).to_string()).collect();
    }

    /// Empties every on-hand balance of `org` (a Fusion that starts with nothing, before a
    /// go-live baseline). Returns how many balances were emptied.
    pub fn clear_onhand(&self, org: &str) -> usize {
        let mut sim = write(&self.shared.sim);
        let Some(o) = sim.org_index(org) else { return 0 };
        let state = &mut sim.orgs[o];
        let mut cleared = 0;
        for item in 0..state.rows.len() {
            for sub in 0..state::SUBS {
                if state.bal(item, sub).is_some() {
                    state.with_bal(item, sub, |b| *b = state::Bal::default());
                    cleared += 1;
                }
            }
        }
        cleared
    }

    /// Changes about `share` (0..=1) of `org`'s balances, chosen by `seed`, silently (no
    /// transaction recorded): a plain balance gains 1..=9, a lot balance loses its last lot
    /// and gains 1..=5 in its first, a serial balance loses one serial and gains a new one
    /// (same count, different serials). Returns how many balances were changed.
    pub fn scramble_onhand(&self, org: &str, seed: u64, share: f64) -> usize {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut sim = write(&self.shared.sim);
        let Some(o) = sim.org_index(org) else { return 0 };
        let state = &mut sim.orgs[o];
        let mut changed = 0;
        for item in 0..state.rows.len() {
            for sub in 0..state::SUBS {
                if state.bal(item, sub).is_none() || !rng.random_bool(share.clamp(0.0, 1.0)) {
                    continue;
                }
                let bump = Decimal::from(rng.random_range(1..=9u32));
                state.with_bal(item, sub, |b| {
                    if let Some(first) = b.lots.keys().next().cloned() {
                        if b.lots.len() > 1 {
                            if let Some((_, q)) = b.lots.pop_last() {
                                b.qty -= q;
                            }
                        }
                        *b.lots.entry(first).or_default() += bump;
                        b.qty += bump;
                    } else if let Some(s) = b.serials.pop_first() {
                        b.serials.insert(format!("{s}-X"));
                    } else {
                        b.qty += bump;
                    }
                });
                changed += 1;
            }
        }
        changed
    }

    /// Makes `item` unknown to `org` (item exists in the master but is not assigned).
    pub fn unassign_item(&self, org: &str, item: &str) {
        let mut sim = write(&self.shared.sim);
        if let (Some(o), Some(&i)) = (sim.org_index(org), sim.master.by_number.get(item)) {
            sim.orgs[o].unassigned.insert(i);
        }
    }

    /// Assigns `item` to `org` again (undoes [`Self::unassign_item`]).
    pub fn assign_item(&self, org: &str, item: &str) {
        let mut sim = write(&self.shared.sim);
        if let (Some(o), Some(&i)) = (sim.org_index(org), sim.master.by_number.get(item)) {
            sim.orgs[o].unassigned.remove(&i);
        }
    }

    /// Every non-zero on-hand quantity of `org` as `(item, subinventory, lot, quantity)`: one
    /// row per lot for lot-controlled items, one per item and subinventory otherwise. One lock
    /// for the whole organization (measuring a large seed key by key would take seconds).
    pub fn onhand_rows(&self, org: &str) -> Vec<(String, String, Option<String>, Decimal)> {
        let sim = read(&self.shared.sim);
        let Some(o) = sim.org_index(org) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, subs) in sim.orgs[o].rows.iter().enumerate() {
            let Some(item) = sim.master.items.get(i) else { continue };
            for (s, bal) in subs.iter().enumerate() {
                let Some(b) = bal else { continue };
                let sub = sim_seed::SUBINVENTORIES.get(s).copied().unwrap_or_default();
                if b.lots.is_empty() {
                    if !b.qty.is_zero() {
                        out.push((item.number.clone(), sub.to_string(), None, b.qty));
                    }
                } else {
                    for (lot, q) in &b.lots {
                        if !q.is_zero() {
                            out.push((item.number.clone(), sub.to_string(), Some(lot.clone()), *q));
                        }
                    }
                }
            }
        }
        out
    }

    /// Staged rows the transaction manager has not processed yet (ProcessFlag 1), as what
    /// they will change: organization, item, subinventory, signed quantity, lots and the
    /// references the poster gave (`SourceHeaderId`, `TransactionReference`).
    pub fn pending_staged(&self) -> Vec<PendingRow> {
        let sim = read(&self.shared.sim);
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        sim.staged
            .values()
            .filter(|r| r.process_flag == 1)
            .map(|r| PendingRow {
                org: r.req.org.clone(),
                item: r.req.item.clone(),
                subinventory: r.req.sub.clone(),
                transfer_subinventory: r.req.transfer_sub.clone(),
                quantity: r.req.qty,
                lots: r.req.lots.iter().map(|l| (l.lot.clone(), l.qty)).collect(),
                references: [text(&r.req.source_header_id), text(&r.req.reference)]
                    .into_iter()
                    .flatten()
                    .collect(),
            })
            .collect()
    }

    /// The Source* and reference texts of the completed transactions from index `from` on
    /// (in TransactionId order), and the index to pass next time: a caller follows what
    /// Fusion applied without reading the whole history again.
    pub fn completed_references_from(&self, from: usize) -> (Vec<String>, usize) {
        let sim = read(&self.shared.sim);
        let refs = sim
            .completed
            .get(from..)
            .unwrap_or_default()
            .iter()
            .flat_map(|c| c.source.values())
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect();
        (refs, sim.completed.len())
    }

    fn api_get(&self, path: &str) -> Option<Value> {
        let req = sim::ApiRequest {
            method: "GET".into(),
            segments: path.split('/').map(str::to_string).collect(),
            query: Vec::new(),
            body: None,
            base: self.api_base(),
            lies: HasMoreLies::None,
            stage_only: false,
            framework_version: self.shared.default_framework_version,
        };
        write(&self.shared.sim).handle(&req).ok().and_then(|r| r.body)
    }

    /// Stops the server, letting in-flight requests finish for up to two seconds.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        for p in [self.processor.take(), self.concurrent.take()].into_iter().flatten() {
            p.abort();
        }
        if let Some(s) = self.server.take() {
            let abort = s.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), s).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        for p in [self.processor.take(), self.concurrent.take()].into_iter().flatten() {
            p.abort();
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}
