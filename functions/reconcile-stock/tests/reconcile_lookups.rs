//! What an adjustment asks Fusion before its post: the likely adjustments' item and lot
//! lookups are made ahead, at once, while the second reads run, and the adjustment itself
//! makes none; the items' units are asked beside them. The real reconciliation handler on
//! moto and both simulators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use test_harness::EnvOptions;

mod support;
use support::{drift, live_dc01, n, reconcile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_post_after_their_lookups_are_made_ahead_in_one_batch_each() {
    let (env, deps) = live_dc01(EnvOptions {
        items: 300,
        ..EnvOptions::default()
    })
    .await;
    let dc = env.dc(0);
    // Two small drifts: a lot of a lot-controlled item, and a plain item in another unit.
    let rows = env.wms.balances(dc.as_str());
    let lot_row = rows
        .iter()
        .find(|b| b.lot.is_some() && b.serials.is_empty())
        .expect("a lot row");
    let plain_row = rows
        .iter()
        .find(|b| b.lot.is_none() && b.serials.is_empty() && b.item != lot_row.item)
        .expect("a plain row");
    drift(&env, dc.as_str(), lot_row, 3);
    drift(&env, dc.as_str(), plain_row, -2);
    env.fusion.reset_stats();

    let r = reconcile(&deps, "2026-12-01T10:15:02Z").await;
    assert_eq!(n(&r, "auto_correct"), 2, "{r}");
    assert_eq!(n(&r, "adjustments_posted"), 2, "{r}");
    let stats = env.fusion.stats();
    let asked = |endpoint: &str| stats.get(endpoint).copied().unwrap_or(0);
    // Ahead: one batch of itemsV2 parts for both items, one of inventoryItemLots parts.
    assert_eq!(asked("POST batch"), 2, "{stats:?}");
    // The adjustments asked nothing of their own before posting.
    assert_eq!(asked("GET itemsV2"), 0, "{stats:?}");
    assert_eq!(asked("GET inventoryItemLots"), 0, "{stats:?}");
    assert_eq!(asked("POST inventoryStagedTransactions"), 2, "{stats:?}");
    // Each unit of the two items asked once, beside the items rather than after them.
    let units: std::collections::BTreeSet<&str> = [lot_row, plain_row].iter().map(|r| r.uom.as_str()).collect();
    assert_eq!(asked("GET unitsOfMeasure"), units.len() as u64, "{stats:?}");
    // Fusion now matches the WMS on both keys.
    for row in [lot_row, plain_row] {
        let lot = row.lot.as_ref().map(|l| l.number.as_str());
        let wms = env
            .wms
            .balances(dc.as_str())
            .into_iter()
            .find(|b| {
                b.item == row.item
                    && b.subinventory == row.subinventory
                    && b.lot.as_ref().map(|l| l.number.as_str()) == lot
            })
            .unwrap();
        assert_eq!(
            env.fusion.onhand(dc.as_str(), &row.item, &row.subinventory, lot),
            wms.quantity,
            "{} {}",
            row.item,
            row.subinventory
        );
    }

    // Nothing likely to adjust: nothing is looked up ahead.
    env.fusion.reset_stats();
    let r = reconcile(&deps, "2026-12-01T10:30:02Z").await;
    assert_eq!(n(&r, "auto_correct"), 0, "{r}");
    assert_eq!(env.fusion.request_count("POST batch"), 0, "{:?}", env.fusion.stats());
}
