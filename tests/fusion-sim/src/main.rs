//! `fusion-sim`: runs the Fusion Cloud SCM inventory simulator on 127.0.0.1 until Ctrl-C.
//! The first stdout line is `listening on http://127.0.0.1:PORT`.

use std::time::Duration;

use clap::Parser;
use fusion_sim::{Faults, FusionSim, SimConfig};
use sim_seed::SeedConfig;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(name = "fusion-sim", about = "Oracle Fusion Cloud SCM inventory REST simulator")]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed shared with the WMS simulator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of DCs (organizations DC01..).
    #[arg(long, default_value_t = 12)]
    dcs: usize,
    /// Items per DC.
    #[arg(long, default_value_t = 50_000)]
    items: usize,
    /// Seed "today" (YYYY-MM-DD); lots expire relative to it.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// Latency added to every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Basic-auth user.
    #[arg(long, default_value = "integration.user")]
    user: String,
    /// Basic-auth password.
    #[arg(long, default_value = "Welcome1")]
    password: String,
    /// OAuth2 client id.
    #[arg(long, default_value = "invsync-client")]
    client_id: String,
    /// OAuth2 client secret.
    #[arg(long, default_value = "invsync-secret")]
    client_secret: String,
    /// Bearer token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Page size cap.
    #[arg(long, default_value_t = 500)]
    max_limit: usize,
    /// Allow issues below zero on-hand.
    #[arg(long)]
    allow_negative_onhand: bool,
    /// Process Background/Concurrent staged rows every N milliseconds (0 = only via admin).
    #[arg(long, default_value_t = 0)]
    process_interval_ms: u64,
    /// Spelling of UOM codes: `upper` (EA, CS, KG, LB) or `mixed` (Ea, cs, Kg, Lb).
    #[arg(long, default_value = "upper")]
    uom_style: sim_seed::UomStyle,
    /// REST framework version of requests without a REST-Framework-Version header.
    #[arg(long, default_value_t = 1)]
    default_framework_version: u32,
    /// Milliseconds after its POST a Concurrent (mode 2) staged row is processed.
    #[arg(long, default_value_t = 300)]
    concurrent_delay_ms: u64,
    /// Initial faults as JSON (same shape as `PUT /admin/faults`).
    #[arg(long)]
    faults: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let mut seed = SeedConfig {
        seed: a.seed,
        dcs: a.dcs,
        items: a.items,
        uom_style: a.uom_style,
        ..SeedConfig::default()
    };
    if let Some(t) = a.today {
        seed.today = t;
    }
    let mut faults: Faults = match &a.faults {
        Some(j) => serde_json::from_str(j)?,
        None => Faults::default(),
    };
    if a.latency_ms > 0 {
        faults.latency_ms = a.latency_ms;
    }
    let cfg = SimConfig {
        seed,
        port: a.port,
        user: a.user,
        password: a.password,
        client_id: a.client_id,
        client_secret: a.client_secret,
        token_ttl: Duration::from_secs(a.token_ttl_secs),
        max_limit: a.max_limit,
        allow_negative_onhand: a.allow_negative_onhand,
        faults,
        process_interval: (a.process_interval_ms > 0).then(|| Duration::from_millis(a.process_interval_ms)),
        default_framework_version: a.default_framework_version,
        concurrent_delay: Duration::from_millis(a.concurrent_delay_ms),
        ..SimConfig::default()
    };
    let sim = FusionSim::start(cfg).await?;
    println!("listening on {}", sim.url());
    eprintln!("seeded in {:?}; API base {}", sim.seed_time(), sim.api_base());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
