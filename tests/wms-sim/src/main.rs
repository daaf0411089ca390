//! `wms-sim`: runs the WMS simulator on 127.0.0.1 until Ctrl-C. The first stdout line is
//! `listening on http://127.0.0.1:PORT`, so scripts can wait for it and read the port.

use anyhow::Context;
use clap::Parser;
use wms_sim::{SeedConfig, WmsConfig, WmsSim};

/// Stateful simulator of the legacy WMS HTTP JSON contract.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, env = "WMS_SIM_PORT", default_value_t = 0)]
    port: u16,
    /// Seed for data and activity.
    #[arg(long, env = "WMS_SIM_SEED", default_value_t = 42)]
    seed: u64,
    /// Number of DCs.
    #[arg(long, env = "WMS_SIM_DCS", default_value_t = 12)]
    dcs: usize,
    /// Items per DC.
    #[arg(long, env = "WMS_SIM_ITEMS", default_value_t = 50_000)]
    items: usize,
    /// Seed date lots expire after (YYYY-MM-DD).
    #[arg(long, env = "WMS_SIM_TODAY", default_value = "2026-11-01")]
    today: chrono::NaiveDate,
    /// Spelling of UOM codes: `upper` (EA, CS, KG, LB) or `mixed` (Ea, cs, Kg, Lb); use the
    /// same as the Fusion simulator.
    #[arg(long, env = "WMS_SIM_UOM_STYLE", default_value = "upper")]
    uom_style: sim_seed::UomStyle,
    /// Accepted X-Api-Key value.
    #[arg(long, env = "WMS_SIM_API_KEY", default_value = wms_sim::DEFAULT_API_KEY)]
    api_key: String,
    /// Accepted Authorization: Bearer token (optional).
    #[arg(long, env = "WMS_SIM_BEARER_TOKEN")]
    bearer_token: Option<String>,
    /// Disable authentication on /v1.
    #[arg(long)]
    no_auth: bool,
    /// Background activity across all DCs, transactions per hour (0 = off).
    #[arg(long, env = "WMS_SIM_RATE_PER_HOUR", default_value_t = 0.0)]
    rate_per_hour: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = WmsConfig {
        seed: SeedConfig {
            seed: args.seed,
            dcs: args.dcs,
            items: args.items,
            today: args.today,
            uom_style: args.uom_style,
        },
        port: args.port,
        api_key: (!args.no_auth).then_some(args.api_key),
        bearer_token: args.bearer_token.filter(|_| !args.no_auth),
        rate_per_hour: args.rate_per_hour,
    };
    let wms = WmsSim::start(config).await.context("starting the WMS simulator")?;
    println!("listening on {}", wms.base_url());
    tracing::info!(
        seeding_ms = wms.seeding_time().as_millis() as u64,
        dcs = args.dcs,
        items = args.items,
        "seeded"
    );
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    wms.shutdown().await;
    Ok(())
}
