//! Measures seeding at the design point (12 DCs x 50,000 items); run with `--ignored`.
#![allow(clippy::unwrap_used, missing_docs)]

use fusion_sim::{FusionSim, SimConfig};
use sim_seed::SeedConfig;

#[tokio::test]
#[ignore = "slow: seeds 12 x 50,000 items"]
async fn seeding_12_dcs_of_50000_items_is_timed() {
    let seed = SeedConfig::default();
    let started = std::time::Instant::now();
    let catalog = sim_seed::generate(&seed);
    eprintln!(
        "sim_seed::generate alone: {:?} ({} balances)",
        started.elapsed(),
        catalog.balances.len()
    );
    drop(catalog);
    let sim = FusionSim::start(SimConfig {
        seed,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    eprintln!("generate + index (FusionSim::start): {:?}", sim.seed_time());
    assert!(sim.org_total("DC12") > rust_decimal::Decimal::ZERO);
    sim.shutdown().await;
}
