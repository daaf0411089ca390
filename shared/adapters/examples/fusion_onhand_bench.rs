//! Reads a whole 50,000-item organization through `HttpFusionClient` from the Fusion simulator
//! with 100 ms added latency, and prints requests (from `/admin/stats`) and wall time, with a
//! fixed 8 requests in flight (the default start) and, for comparison, one at a time.
//!
//! `cargo run --release -p adapters --example fusion_onhand_bench`

use std::time::{Duration, Instant};

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use domain::DcCode;
use fusion_sim::{Faults, FusionSim, SimConfig};
use rust_decimal::Decimal;
use secrecy::SecretString;
use sim_seed::SeedConfig;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sim = FusionSim::start(SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items: 50_000,
            ..SeedConfig::default()
        },
        faults: Faults {
            latency_ms: 100,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await?;
    println!(
        "sim: 1 org x 50,000 items, 100 ms latency, seeded in {:?}",
        sim.seed_time()
    );
    let dc = DcCode::parse("DC01")?;
    let admin = reqwest::Client::new();
    for max_in_flight in [8, 1] {
        let mut cfg = FusionConfig::new(
            sim.url(),
            Credentials::Basic {
                user: "integration.user".into(),
                password: SecretString::from("Welcome1"),
            },
        );
        cfg.max_in_flight = max_in_flight;
        // A fixed bound, so the two runs compare 8 against 1 (the sim never refuses).
        cfg.adaptive_concurrency = false;
        cfg.request_timeout = Duration::from_secs(30);
        let client = HttpFusionClient::new(cfg)?;
        admin.post(format!("{}/admin/stats/reset", sim.url())).send().await?;
        let started = Instant::now();
        let rows = client.onhand(&dc).await?;
        let wall = started.elapsed();
        let stats: serde_json::Value = admin
            .get(format!("{}/admin/stats", sim.url()))
            .send()
            .await?
            .json()
            .await?;
        let requests = stats
            .get("GET inventoryOnhandBalances")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let total: Decimal = rows.iter().map(|r| r.quantity).sum();
        let matches = total == sim.org_total("DC01");
        println!(
            "max_in_flight={max_in_flight}: {} rows (lot grain), {requests} requests, wall {:.2} s, total {total} {}",
            rows.len(),
            wall.as_secs_f64(),
            if matches { "= sim total" } else { "!= sim total" }
        );
    }
    sim.shutdown().await;
    Ok(())
}
