//! What a sync asks Fusion before posting: a page's item master facts and its unmapped lots in
//! batch requests (one per 100 items or lots), none per transaction, and nothing at all for
//! an item another container already put in the shared item cache. Counted in the Fusion
//! simulator's request log; moto holds the ledger, the lot map and the item cache.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use chrono::TimeDelta;
use domain::sync::{sync_dc, SyncSettings};
use test_harness::{EnvOptions, TestEnv};

fn count(env: &TestEnv, endpoint: &str) -> u64 {
    env.fusion.stats().get(endpoint).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_looked_up_in_batches_and_the_next_container_asks_only_for_new_items() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 400,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    let deadline = || chrono::Utc::now() + chrono::Duration::minutes(10);

    let first = env.wms.generate_activity(Some(dc.as_str()), 150).unwrap();
    let first_items: BTreeSet<String> = first.iter().map(|t| t.item.clone()).collect();
    let ports = env
        .ports()
        .unwrap()
        .with_item_cache(env.item_cache(TimeDelta::hours(24)).unwrap());
    env.fusion.reset_stats();
    sync_dc(&ports, &SyncSettings::default(), &dc, "sync:page-1", deadline())
        .await
        .unwrap();
    assert_eq!(env.wms.outbox_len(dc.as_str()), 0, "everything synced");
    let stats = env.fusion.stats();
    assert_eq!(count(&env, "GET itemsV2"), 0, "no item looked up on its own: {stats:?}");
    assert_eq!(
        count(&env, "BATCH GET itemsV2"),
        first_items.len() as u64,
        "each of the page's items asked once: {stats:?}"
    );
    assert_eq!(
        count(&env, "GET inventoryItemLots"),
        0,
        "no lot looked up on its own: {stats:?}"
    );
    let lot_parts = count(&env, "BATCH GET inventoryItemLots");
    assert_eq!(
        count(&env, "POST batch"),
        first_items.len().div_ceil(100) as u64 + lot_parts.div_ceil(100),
        "one page: one batch per 100 items and one per 100 unmapped lots: {stats:?}"
    );

    // The next run, in a new container: only items the cache has not seen go to Fusion.
    let second = env.wms.generate_activity(Some(dc.as_str()), 150).unwrap();
    let new_items: BTreeSet<String> = second
        .iter()
        .map(|t| t.item.clone())
        .filter(|i| !first_items.contains(i))
        .collect();
    let ports = env
        .ports()
        .unwrap()
        .with_item_cache(env.item_cache(TimeDelta::hours(24)).unwrap());
    env.fusion.reset_stats();
    sync_dc(&ports, &SyncSettings::default(), &dc, "sync:page-2", deadline())
        .await
        .unwrap();
    assert_eq!(env.wms.outbox_len(dc.as_str()), 0, "everything synced");
    let stats = env.fusion.stats();
    assert_eq!(count(&env, "GET itemsV2"), 0, "{stats:?}");
    assert_eq!(
        count(&env, "BATCH GET itemsV2"),
        new_items.len() as u64,
        "items the first container learned came from the shared cache: {stats:?}"
    );
}
