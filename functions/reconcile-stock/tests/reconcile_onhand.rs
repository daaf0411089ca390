//! How the reconciliation reads Fusion's on-hand: the pages of its first window are asked
//! together, sized by what the WMS read has answered by then, instead of waiting a round trip
//! for the first page's `totalResults`. The real reconciliation handler on moto and both
//! simulators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use test_harness::EnvOptions;

mod support;
use support::{live_dc01, n, reconcile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_on_hand_pages_are_asked_together_sized_by_the_wms() {
    let (env, deps) = live_dc01(EnvOptions {
        items: 2_000,
        // Why a latency: requests asked together overlap; one after the other they do not.
        fusion_faults: fusion_sim::Faults {
            latency_ms: 200,
            ..fusion_sim::Faults::default()
        },
        ..EnvOptions::default()
    })
    .await;
    let balance_rows: BTreeSet<(String, String)> = env
        .fusion
        .onhand_rows("DC01")
        .into_iter()
        .map(|(item, sub, _, _)| (item, sub))
        .collect();
    let pages = balance_rows.len().div_ceil(500) as u64;
    assert!((2..=8).contains(&pages), "{pages} pages of 500: one window");
    env.fusion.reset_stats();

    let r = reconcile(&deps, "2026-12-01T10:15:02Z").await;
    assert_eq!(n(&r, "matched"), n(&r, "keys_compared"), "{r}");
    let asked = env.fusion.request_count("GET inventoryOnhandBalances");
    assert!(
        asked == pages || asked == pages + 1,
        "{asked} requests for {pages} pages"
    );
    // Without the WMS's size the first page goes alone and the rest follow: pages - 1.
    assert_eq!(u64::from(env.fusion.peak_in_flight()), pages, "every page at once");
}
