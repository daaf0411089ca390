//! Collection behaviour: paging, caps, hasMore lies, q filters, expansion, item lookups.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use fusion_sim::{Faults, FusionSim, HasMoreLies, SimConfig};
use rust_decimal::Decimal;
use serde_json::Value;
use sim_seed::{Control, SeedConfig};
use std::str::FromStr;

fn rows_of_dc01(env: &Env) -> usize {
    let mut set = std::collections::BTreeSet::new();
    for b in env.catalog.balances_of(0) {
        if !b.quantity.is_zero() {
            set.insert((b.item, b.subinventory.clone()));
        }
    }
    set.len()
}

#[tokio::test]
async fn default_page_is_25_with_truthful_has_more_and_total_results_only_on_request() {
    let env = start().await;
    let v = env.get_json("inventoryOnhandBalances?q=OrganizationCode=DC01").await;
    assert_eq!(v["count"], 25);
    assert_eq!(v["limit"], 25);
    assert_eq!(v["offset"], 0);
    assert_eq!(v["hasMore"], true);
    assert!(v.get("totalResults").is_none());
    assert!(v["links"].is_array());
    assert!(v["items"][0]["links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("/inventoryOnhandBalances/"));
    let total = rows_of_dc01(&env);
    let v = env
        .get_json(&format!(
            "inventoryOnhandBalances?q=OrganizationCode=DC01&totalResults=true&limit=10&offset={}",
            total - 3
        ))
        .await;
    assert_eq!(v["totalResults"], total);
    assert_eq!(v["count"], 3);
    assert_eq!(v["hasMore"], false);
}

#[tokio::test]
async fn limit_is_silently_capped_at_the_configured_maximum() {
    let env = start_with(SimConfig {
        seed: common::small_seed(),
        max_limit: 100,
        ..SimConfig::default()
    })
    .await;
    let v = env.get_json("inventoryOnhandBalances?limit=1000").await;
    assert_eq!(v["limit"], 100);
    assert_eq!(v["count"], 100);
    let env = start().await;
    let v = env.get_json("inventoryOnhandBalances?limit=1000").await;
    assert_eq!(v["limit"], 500);
    assert_eq!(v["count"], 500);
}

#[tokio::test]
async fn pages_are_stable_and_cover_every_row_exactly_once_across_orgs() {
    let env = start().await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let v = env
            .get_json(&format!(
                "inventoryOnhandBalances?limit=37&offset={offset}&onlyData=true"
            ))
            .await;
        let items = v["items"].as_array().unwrap();
        for i in items {
            assert!(i.get("links").is_none());
            seen.push((
                i["OrganizationCode"].as_str().unwrap().to_string(),
                i["InventoryItemId"].as_i64().unwrap(),
                i["SubinventoryCode"].as_str().unwrap().to_string(),
            ));
        }
        offset += items.len();
        if v["hasMore"] == false {
            break;
        }
    }
    assert!(v_is_sorted(&seen));
    let dedup: std::collections::BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(dedup.len(), seen.len());
    assert!(seen.iter().any(|s| s.0 == "DC02"));
    assert_eq!(seen.iter().filter(|s| s.0 == "DC01").count(), rows_of_dc01(&env));
}

fn v_is_sorted(rows: &[(String, i64, String)]) -> bool {
    let order = |s: &str| sim_seed::SUBINVENTORIES.iter().position(|x| *x == s).unwrap();
    rows.windows(2)
        .all(|w| (&w[0].0, w[0].1, order(&w[0].2)) < (&w[1].0, w[1].1, order(&w[1].2)))
}

#[tokio::test]
async fn has_more_lies_true_on_last_page_and_omitted() {
    let env = start().await;
    env.sim.set_faults(Faults {
        hasmore_lies: HasMoreLies::TrueOnLastPage,
        ..Faults::default()
    });
    let v = env
        .get_json("inventoryOnhandBalances?q=OrganizationCode=DC01&offset=100000")
        .await;
    assert_eq!(v["count"], 0);
    assert_eq!(v["hasMore"], true);
    env.sim.set_faults(Faults {
        hasmore_lies: HasMoreLies::Omit,
        ..Faults::default()
    });
    let v = env.get_json("inventoryOnhandBalances?q=OrganizationCode=DC01").await;
    assert!(v.get("hasMore").is_none());
    assert_eq!(v["count"], 25);
}

#[tokio::test]
async fn q_filters_by_org_item_and_subinventory_and_rejects_unknown_attributes() {
    let env = start().await;
    let (item, sub, qty) = env.item_with(Control::Plain, None);
    let v = env
        .get_json(&format!(
            "inventoryOnhandBalances?q=OrganizationCode=DC01;ItemNumber='{item}';SubinventoryCode=\"{sub}\""
        ))
        .await;
    assert_eq!(v["count"], 1);
    let row = &v["items"][0];
    assert_eq!(row["ItemNumber"], item.as_str());
    assert_eq!(row["SubinventoryCode"], sub.as_str());
    assert_eq!(row["OrganizationId"], 300_000);
    assert_eq!(Decimal::from_str(&row["PrimaryQuantity"].to_string()).unwrap(), qty);
    assert!(row["PrimaryUOMCode"].is_string());
    let v = env
        .get_json("inventoryOnhandBalances?q=OrganizationCode=DC02;SubinventoryCode=PICK&limit=500")
        .await;
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items
        .iter()
        .all(|i| i["SubinventoryCode"] == "PICK" && i["OrganizationCode"] == "DC02"));
    let r = env.get("inventoryOnhandBalances?q=Bogus=1").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_error_shape(&body, 400);
    let v = env.get_json("inventoryOnhandBalances?q=OrganizationCode=DC99").await;
    assert_eq!(v["count"], 0);
}

#[tokio::test]
async fn expand_shows_lots_with_expiry_and_serials_and_self_links_resolve() {
    let env = start().await;
    let (item, sub, _) = env.item_with(Control::Lot, None);
    // No REST-Framework-Version header: framework v1, expanded children as plain arrays.
    let v = env
        .get_json_v(
            &format!(
                "inventoryOnhandBalances?q=OrganizationCode=DC01;ItemNumber={item};SubinventoryCode={sub}&expand=lots"
            ),
            None,
        )
        .await;
    let row = &v["items"][0];
    assert!(row.get("serials").is_none());
    let lots = row["lots"].as_array().unwrap();
    let want = env.lots_of(&item, &sub);
    assert_eq!(lots.len(), want.len());
    for (lot, q, exp) in &want {
        let l = lots.iter().find(|l| l["LotNumber"] == lot.as_str()).unwrap();
        assert_eq!(l["ExpirationDate"], exp.format("%Y-%m-%d").to_string());
        assert_eq!(Decimal::from_str(&l["PrimaryQuantity"].to_string()).unwrap(), *q);
    }
    let href = row["links"][0]["href"].as_str().unwrap().to_string();
    let one: Value = env
        .http
        .get(format!("{href}/child/lots"))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["count"], want.len());

    let (sitem, ssub, sq) = env.item_with(Control::Serial, None);
    let v = env
        .get_json_v(
            &format!(
                "inventoryOnhandBalances?q=OrganizationCode=DC01;ItemNumber={sitem};SubinventoryCode={ssub}&expand=all"
            ),
            None,
        )
        .await;
    let serials = v["items"][0]["serials"].as_array().unwrap();
    assert_eq!(Decimal::from(serials.len() as u64), sq);
    assert!(serials[0]["SerialNumber"].as_str().unwrap().starts_with("SN01"));
}

#[tokio::test]
async fn latest_alias_and_unknown_resources() {
    let env = start().await;
    let r = env
        .http
        .get(format!(
            "{}/fscmRestApi/resources/latest/inventoryOnhandBalances?limit=1",
            env.sim.url()
        ))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = env.get("noSuchResource").await;
    assert_eq!(r.status(), 404);
    assert_error_shape(&r.json().await.unwrap(), 404);
}

#[tokio::test]
async fn items_uoms_and_lots_lookups() {
    let env = start().await;
    let (lot_item, _, _) = env.item_with(Control::Lot, None);
    let v = env
        .get_json(&format!("itemsV2?q=ItemNumber='{lot_item}';OrganizationCode=DC01"))
        .await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["items"][0]["LotControlCode"], 2);
    assert_eq!(v["items"][0]["SerialNumberControlCode"], 1);
    let (ser_item, _, _) = env.item_with(Control::Serial, None);
    let v = env
        .get_json(&format!("itemsV2?q=ItemNumber={ser_item};OrganizationCode=DC02"))
        .await;
    assert_eq!(v["items"][0]["SerialNumberControlCode"], 5);
    assert_eq!(v["items"][0]["PrimaryUOMCode"], "EA");
    let v = env.get_json("itemsV2?q=ItemNumber=NOPE").await;
    assert_eq!(v["count"], 0);

    let v = env.get_json("unitsOfMeasure?q=UOMCode=KG").await;
    assert_eq!(v["items"][0]["DecimalPrecision"], 3);
    let v = env.get_json("unitsOfMeasure").await;
    assert_eq!(v["count"], 4);

    let v = env
        .get_json(&format!(
            "inventoryItemLots?q=OrganizationCode=DC01;ItemNumber={lot_item}"
        ))
        .await;
    assert!(v["count"].as_u64().unwrap() >= 1);
    let body = serde_json::json!({"OrganizationCode":"DC01","ItemNumber":lot_item,"LotNumber":"NEWLOT-1","ExpirationDate":"2027-06-30"});
    let r = env.post("inventoryItemLots", &body).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        env.sim
            .lot_expiration("DC01", &lot_item, "NEWLOT-1")
            .unwrap()
            .to_string(),
        "2027-06-30"
    );
    let r = env.post("inventoryItemLots", &body).await;
    assert_eq!(r.status(), 400);
    assert_eq!(err_code(&r.json().await.unwrap()), "INV-1028");
    let v = env
        .get_json(&format!(
            "inventoryItemLots?q=OrganizationCode=DC01;ItemNumber={lot_item};LotNumber=NEWLOT-1"
        ))
        .await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["items"][0]["ExpirationDate"], "2027-06-30");
}

#[tokio::test]
async fn paging_50000_items_at_limit_500_matches_the_catalog() {
    let cfg = SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items: 50_000,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    };
    let catalog = sim_seed::generate(&cfg.seed);
    let sim = FusionSim::start(cfg).await.unwrap();
    eprintln!("seeded 1x50k in {:?}", sim.seed_time());
    let http = reqwest::Client::new();
    let want_total: Decimal = catalog.balances.iter().map(|b| b.quantity).sum();
    let mut want_rows = std::collections::BTreeSet::new();
    for b in catalog.balances.iter().filter(|b| !b.quantity.is_zero()) {
        want_rows.insert((b.item, b.subinventory.clone()));
    }
    let (mut offset, mut rows, mut total) = (0usize, 0usize, Decimal::ZERO);
    let started = std::time::Instant::now();
    loop {
        let v: Value = http
            .get(format!("{}/inventoryOnhandBalances", sim.api_base()))
            .query(&[
                ("q", "OrganizationCode=DC01"),
                ("limit", "500"),
                ("offset", &offset.to_string()),
                ("onlyData", "true"),
            ])
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap();
        assert!(items.len() <= 500);
        for i in items {
            total += Decimal::from_str(&i["PrimaryQuantity"].to_string()).unwrap();
        }
        rows += items.len();
        offset += items.len();
        if items.len() < 500 {
            break;
        }
    }
    eprintln!("paged {rows} rows in {:?}", started.elapsed());
    assert_eq!(rows, want_rows.len());
    assert_eq!(total, want_total);
    assert_eq!(sim.org_total("DC01"), want_total);
    sim.shutdown().await;
}
