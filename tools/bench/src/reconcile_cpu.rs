//! `reconcile-cpu-bench`: the CPU one DC's reconciliation spends on reading (HTTP client,
//! JSON parsing, flattening into the compact balance table) and comparing, isolated from the
//! simulators that answer it.
//!
//! Both simulators run on a runtime of their own (their own threads) with no latency; the
//! real `domain::reconciliation::reconcile_dc` runs as a dry run (read and compare, no action)
//! on a single-threaded runtime on the main thread, with the real Fusion and WMS HTTP clients
//! and in-memory stores, so that thread's CPU time is invsync's alone: the WMS balances in
//! pages of 5,000, Fusion's on-hand in pages of 500 (lots and serials expanded), both
//! interface reads, the in-flight reads and the comparison. Printed per round: keys compared,
//! wall time and thread CPU time, and the best round's CPU time per 100,000 keys.
//!
//! `cargo run --release -p invsync-bench --bin reconcile-cpu-bench -- --items 100000`
//! Options: `--items` (SKUs of the one DC, 100,000), `--rounds` (3), `--in-flight` (Fusion
//! requests in flight, 8).

use std::time::{Duration, Instant};

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsAuth, WmsConfig};
use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use domain::ports::Clock;
use domain::reconciliation::{reconcile_dc, ReconcilePorts, ReconcileSettings};
use domain::sync::SyncPorts;
use domain::DcCode;
use fusion_sim::{FusionSim, SimConfig};
use secrecy::SecretString;
use sim_seed::SeedConfig;
use testkit::{
    InMemoryIncidents, InMemoryLease, InMemoryLedger, InMemoryLotMap, InMemoryRunReports, InMemoryTasks,
    RecordingAlerts,
};
use wms_sim::WmsSim;

/// The wall clock.
#[derive(Debug, Clone, Copy)]
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The reconciliation's ports: the real clients, every store in memory.
struct Ports {
    fusion: HttpFusionClient,
    wms: HttpWmsClient,
    ledger: InMemoryLedger,
    lots: InMemoryLotMap,
    lease: InMemoryLease,
    tasks: InMemoryTasks,
    alerts: RecordingAlerts,
    incidents: InMemoryIncidents,
    runs: InMemoryRunReports,
}

impl SyncPorts for Ports {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = InMemoryLedger;
    type Lots = InMemoryLotMap;
    type Lease = InMemoryLease;
    type Tasks = InMemoryTasks;
    type Alerts = RecordingAlerts;
    type Clock = WallClock;

    fn fusion(&self) -> &Self::Fusion {
        &self.fusion
    }
    fn wms(&self) -> &Self::Wms {
        &self.wms
    }
    fn ledger(&self) -> &Self::Ledger {
        &self.ledger
    }
    fn lots(&self) -> &Self::Lots {
        &self.lots
    }
    fn lease(&self) -> &Self::Lease {
        &self.lease
    }
    fn tasks(&self) -> &Self::Tasks {
        &self.tasks
    }
    fn alerts(&self) -> &Self::Alerts {
        &self.alerts
    }
    fn clock(&self) -> &Self::Clock {
        &WallClock
    }
}

impl ReconcilePorts for Ports {
    type Incidents = InMemoryIncidents;
    type Runs = InMemoryRunReports;

    fn incidents(&self) -> &Self::Incidents {
        &self.incidents
    }
    fn runs(&self) -> &Self::Runs {
        &self.runs
    }
}

/// CPU time of the calling thread (first field of schedstat, nanoseconds).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(text.split_whitespace().next()?.parse().ok()?))
}

fn main() -> anyhow::Result<()> {
    let (mut items, mut rounds, mut in_flight) = (100_000usize, 3usize, 8usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        let n: usize = value.parse().with_context(|| format!("{flag} {value}"))?;
        match flag.as_str() {
            "--items" => items = n,
            "--rounds" => rounds = n.max(1),
            "--in-flight" => in_flight = n.max(1),
            other => {
                return Err(anyhow!(
                    "unknown option {other}; use --items N --rounds N --in-flight N"
                ))
            }
        }
    }
    let seed = SeedConfig {
        dcs: 1,
        items,
        ..SeedConfig::default()
    };
    // The simulators' runtime: their threads, not the measured one.
    let sims = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let setup = Instant::now();
    let (fusion, wms) = sims.block_on(async {
        let fusion = FusionSim::start(SimConfig {
            seed: seed.clone(),
            ..SimConfig::default()
        })
        .await?;
        let wms = WmsSim::start(wms_sim::WmsConfig {
            seed: seed.clone(),
            ..wms_sim::WmsConfig::default()
        })
        .await?;
        Ok::<_, anyhow::Error>((fusion, wms))
    })?;
    let dc = DcCode::parse(sim_seed::org(0).code)?;
    let rows = wms.balances(dc.as_str()).len();
    println!(
        "setup: 1 DC x {items} items ({rows} WMS balance rows) in {:.1} s; Fusion {in_flight} requests in flight, no latency",
        setup.elapsed().as_secs_f64()
    );

    let measured = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut best: Option<(Duration, u64)> = None;
    for round in 1..=rounds {
        let mut cfg = FusionConfig::new(
            fusion.url(),
            Credentials::Basic {
                user: "integration.user".into(),
                password: SecretString::from("Welcome1"),
            },
        );
        cfg.max_in_flight = in_flight;
        cfg.request_timeout = Duration::from_secs(120);
        let wms_cfg = WmsConfig::new(
            wms.base_url(),
            WmsAuth::ApiKey(SecretString::from(wms.api_key().unwrap_or_default().to_string())),
        )?;
        let ports = Ports {
            fusion: HttpFusionClient::new(cfg)?,
            wms: HttpWmsClient::new(wms_cfg)?,
            ledger: InMemoryLedger::new(),
            lots: InMemoryLotMap::new(),
            lease: InMemoryLease::default(),
            tasks: InMemoryTasks::new(),
            alerts: RecordingAlerts::new(),
            incidents: InMemoryIncidents::new(),
            runs: InMemoryRunReports::new(),
        };
        let settings = ReconcileSettings {
            dry_run: true,
            ..ReconcileSettings::default()
        };
        let cpu0 = thread_cpu().ok_or_else(|| anyhow!("no /proc/thread-self/schedstat"))?;
        let t0 = Instant::now();
        let report = measured.block_on(reconcile_dc(
            &ports,
            &settings,
            &dc,
            &format!("cpu-bench-{round}"),
            Utc::now() + chrono::Duration::minutes(15),
        ))?;
        let wall = t0.elapsed();
        let cpu = thread_cpu().unwrap_or(cpu0).saturating_sub(cpu0);
        println!(
            "round {round}: {} keys compared ({} matched) in {:.2} s wall, {:.2} s CPU of the reconciliation's thread",
            report.keys_compared,
            report.matched,
            wall.as_secs_f64(),
            cpu.as_secs_f64()
        );
        if best.is_none_or(|(b, _)| cpu < b) {
            best = Some((cpu, report.keys_compared));
        }
    }
    if let Some((cpu, keys)) = best {
        println!(
            "reading + parsing + comparing: best round {:.2} s CPU for {keys} keys = {:.2} s per 100,000 keys",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 100_000.0 / keys.max(1) as f64
        );
    }
    drop(sims);
    Ok(())
}
