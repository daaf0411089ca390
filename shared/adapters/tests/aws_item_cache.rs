//! The item master cache on the emulator's `ItemCacheTable` behind the Fusion client, against
//! the Fusion simulator: entries expire, two containers share them, an item Fusion refuses as
//! unknown is removed, and a page of items costs one batch request per 100 items (counted in
//! the simulator's request log).

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use std::sync::Arc;
use std::time::Duration;

use adapters::aws::{DynamoItemCache, WriteCounter};
use adapters::fusion::item_cache::SharedItemCache;
use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use aws_support::{at, dc, TestEnv};
use chrono::{DateTime, TimeDelta};
use domain::ports::{FusionError, FusionInventory};
use domain::txn::{FusionTxnType, ItemInfo, SourceRef, StagedPost};
use domain::{ItemNumber, SubinventoryCode, Uom, WmsTxnId};
use fusion_sim::{FusionSim, RunningSim, SimConfig};
use rust_decimal_macros::dec;
use secrecy::SecretString;
use sim_seed::{Catalog, Control, SeedConfig};

const PASSWORD: &str = "Pa55-w0rd-XYZZY";

async fn sim(items: usize) -> (RunningSim, Catalog) {
    let cfg = SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items,
            ..SeedConfig::default()
        },
        password: PASSWORD.into(),
        ..SimConfig::default()
    };
    let catalog = sim_seed::generate(&cfg.seed);
    (FusionSim::start(cfg).await.expect("sim starts"), catalog)
}

/// A container: its own DynamoDB client on the table, its own Fusion client.
async fn container(env: &TestEnv, sim: &RunningSim, ttl: TimeDelta) -> (HttpFusionClient, DynamoItemCache) {
    let sdk = aws_support::sdk().await;
    let cache = DynamoItemCache::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        env.table("ItemCacheTable"),
        ttl,
        WriteCounter::new(),
    );
    let mut cfg = FusionConfig::new(
        sim.url(),
        Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from(PASSWORD),
        },
    );
    cfg.request_timeout = Duration::from_secs(5);
    cfg.retry_base_delay = Duration::from_millis(5);
    let client = HttpFusionClient::new(cfg)
        .unwrap()
        .with_item_cache(Arc::new(cache.clone()));
    (client, cache)
}

fn item(number: &str) -> ItemNumber {
    ItemNumber::parse(number).unwrap()
}

fn info(number: &str) -> ItemInfo {
    ItemInfo {
        item: item(number),
        lot_controlled: true,
        serial_controlled: false,
        primary_uom: Uom::parse("Ea").unwrap(),
        uom_scale: 2,
    }
}

fn requests(sim: &RunningSim, endpoint: &str) -> u64 {
    sim.stats().get(endpoint).copied().unwrap_or(0)
}

fn receipt_of(catalog: &Catalog, index: usize) -> StagedPost {
    let it = &catalog.items[index];
    StagedPost {
        source: SourceRef {
            txn: WmsTxnId::parse("DC01-CACHE-1").unwrap(),
            line: 1,
            lines: 1,
        },
        dc: dc("DC01"),
        item: item(&it.number),
        subinventory: SubinventoryCode::parse("STORES").unwrap(),
        transfer_subinventory: None,
        txn_type: FusionTxnType::MiscellaneousReceipt,
        quantity: dec!(5),
        uom: Uom::parse(it.uom.clone()).unwrap(),
        lots: Vec::new(),
        serials: Vec::new(),
        transaction_date: DateTime::from_timestamp(1_793_000_000, 0).unwrap(),
    }
}

#[tokio::test]
async fn entries_expire_after_the_ttl_and_can_be_forgotten() {
    let env = TestEnv::spawn().await;
    let sdk = aws_support::sdk().await;
    let cache = DynamoItemCache::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        env.table("ItemCacheTable"),
        TimeDelta::seconds(60),
        WriteCounter::new(),
    );
    let d = dc("DC01");
    let infos: Vec<ItemInfo> = (0..30).map(|i| info(&format!("TTL-{i:03}"))).collect();
    cache.put_many(&d, &infos, at(0)).await.unwrap();
    let keys: Vec<ItemNumber> = infos.iter().map(|i| i.item.clone()).collect();

    let mut fresh = cache.get_many(&d, &keys, at(59)).await.unwrap();
    fresh.sort_by(|a, b| a.item.cmp(&b.item));
    assert_eq!(fresh, infos, "read back exactly, every key of the page in one call");
    assert!(
        cache.get_many(&dc("DC02"), &keys, at(1)).await.unwrap().is_empty(),
        "entries are per organization"
    );
    assert!(
        cache.get_many(&d, &keys, at(60)).await.unwrap().is_empty(),
        "expired entries are misses even before DynamoDB's TTL sweep"
    );

    cache.forget(&d, &keys[0]).await.unwrap();
    let left = cache.get_many(&d, &keys, at(1)).await.unwrap();
    assert_eq!(left.len(), 29);
    assert!(left.iter().all(|i| i.item != keys[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_container_reads_what_the_first_learned_and_a_refusal_as_unknown_removes_it() {
    let env = TestEnv::spawn().await;
    let (sim, catalog) = sim(50).await;
    let (first, _) = container(&env, &sim, TimeDelta::hours(24)).await;
    let (second, cache) = container(&env, &sim, TimeDelta::hours(24)).await;
    let d = dc("DC01");
    let plain = catalog.items.iter().position(|i| i.control == Control::Plain).unwrap();
    let number = item(&catalog.items[plain].number);

    let learned = first.item_info(&d, &number).await.unwrap();
    assert_eq!(requests(&sim, "GET itemsV2"), 1);
    sim.reset_stats();
    assert_eq!(second.item_info(&d, &number).await.unwrap(), learned);
    assert!(
        sim.stats().is_empty(),
        "the second container asked Fusion nothing: {:?}",
        sim.stats()
    );

    // Fusion stops knowing the item in DC01; the cache still says it is there until a post is
    // refused for it.
    sim.unassign_item("DC01", number.as_str());
    let refused = second.post(&receipt_of(&catalog, plain)).await;
    assert!(
        matches!(&refused, Err(FusionError::Rejected { detail, .. }) if detail.contains("isn't assigned")),
        "{refused:?}"
    );
    assert!(
        cache
            .get_many(&d, std::slice::from_ref(&number), chrono::Utc::now())
            .await
            .unwrap()
            .is_empty(),
        "the refusal removed the shared entry"
    );
    let (third, _) = container(&env, &sim, TimeDelta::hours(24)).await;
    sim.reset_stats();
    let again = third.item_info(&d, &number).await;
    assert!(matches!(again, Err(FusionError::NotFound(_))), "{again:?}");
    assert_eq!(requests(&sim, "GET itemsV2"), 1, "Fusion was asked again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_items_is_one_batch_request_per_hundred_and_then_none() {
    let env = TestEnv::spawn().await;
    let (sim, catalog) = sim(300).await;
    let (first, cache) = container(&env, &sim, TimeDelta::hours(24)).await;
    let d = dc("DC01");
    let mut page: Vec<ItemNumber> = catalog.items.iter().take(148).map(|i| item(&i.number)).collect();
    page.extend([item("NOPE-1"), item("NOPE-2")]);
    page.push(page[0].clone());

    first.prefetch_items(&d, &page).await.unwrap();
    let stats = sim.stats();
    assert_eq!(
        requests(&sim, "POST batch"),
        2,
        "150 distinct items: two batches of at most 100: {stats:?}"
    );
    assert_eq!(requests(&sim, "BATCH GET itemsV2"), 150, "{stats:?}");
    assert_eq!(requests(&sim, "GET itemsV2"), 0, "{stats:?}");
    let uoms = requests(&sim, "GET unitsOfMeasure");

    sim.reset_stats();
    for number in &page[..148] {
        let got = first.item_info(&d, number).await.unwrap();
        let seeded = catalog.items.iter().find(|i| i.number == number.as_str()).unwrap();
        assert_eq!(got.lot_controlled, seeded.control == Control::Lot);
        assert_eq!(got.serial_controlled, seeded.control == Control::Serial);
        assert_eq!(got.uom_scale, seeded.scale);
    }
    let unknown = first.item_info(&d, &item("NOPE-1")).await;
    assert!(matches!(unknown, Err(FusionError::NotFound(_))), "{unknown:?}");
    assert!(
        sim.stats().is_empty(),
        "every answer came from the page's lookup: {:?}",
        sim.stats()
    );
    assert_eq!(
        cache.get_many(&d, &page, chrono::Utc::now()).await.unwrap().len(),
        148,
        "known items written to the shared cache, unknown ones not"
    );

    // A new container (the next run) asks Fusion for none of them, nor for their UOMs.
    let (next, _) = container(&env, &sim, TimeDelta::hours(24)).await;
    next.prefetch_items(&d, &page[..148]).await.unwrap();
    for number in &page[..148] {
        next.item_info(&d, number).await.unwrap();
    }
    assert!(
        sim.stats().is_empty(),
        "{:?} (first run also asked {uoms} UOMs)",
        sim.stats()
    );
}
