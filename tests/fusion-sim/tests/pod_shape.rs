//! The pod's shape: mixed-case units of measure compared exactly, and optional resources
//! that are missing (404) or not granted (403).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use fusion_sim::{Faults, SimConfig};
use serde_json::{json, Value};
use sim_seed::{Control, SeedConfig, UomStyle};

fn mixed_seed() -> SeedConfig {
    SeedConfig {
        uom_style: UomStyle::Mixed,
        ..small_seed()
    }
}

fn receipt(item: &str, sub: &str, uom: &str) -> Value {
    json!({
        "OrganizationCode": "DC01", "ItemNumber": item, "SubinventoryCode": sub,
        "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": 2,
        "TransactionUnitOfMeasure": uom, "TransactionDate": "2026-11-01",
        "SourceCode": "WMS", "SourceHeaderId": 9500, "SourceLineId": 1, "TransactionMode": 1,
    })
}

fn codes(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UOMCode"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn mixed_case_uoms_are_listed_as_stored_and_compared_exactly() {
    let env = start_with(SimConfig {
        seed: mixed_seed(),
        ..SimConfig::default()
    })
    .await;
    assert_eq!(codes(&env.get_json("unitsOfMeasure").await), ["Ea", "cs", "Kg", "Lb"]);
    assert_eq!(env.get_json("unitsOfMeasure?q=UOMCode=EA").await["count"], 0);
    let kg = env.get_json("unitsOfMeasure?q=UOMCode=Kg").await;
    assert_eq!(kg["items"][0]["DecimalPrecision"], 3);
    assert_eq!(env.get_json("unitsOfMeasure/Ea").await["UnitOfMeasure"], "Each");
    assert_eq!(env.get("unitsOfMeasure/EA").await.status(), 404);

    let (item, sub, before) = env.item_with(Control::Plain, Some("Ea"));
    let v = env
        .get_json(&format!("itemsV2?q=ItemNumber={item};OrganizationCode=DC01"))
        .await;
    assert_eq!(v["items"][0]["PrimaryUOMCode"], "Ea");
    let v = env
        .get_json(&format!(
            "inventoryOnhandBalances?q=OrganizationCode=DC01;ItemNumber={item};SubinventoryCode={sub}"
        ))
        .await;
    assert_eq!(v["items"][0]["PrimaryUOMCode"], "Ea");
    for wrong in ["EA", "ea", "eA"] {
        let (s, v) = env.stage(&receipt(&item, &sub, wrong)).await;
        assert_eq!(s, 400, "{wrong}: {v}");
        assert_eq!(assert_error_shape(&v, 400), "INV-1009");
    }
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before);
    let (s, v) = env.stage(&receipt(&item, &sub, "Ea")).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        env.sim.onhand("DC01", &item, &sub, None),
        before + rust_decimal::Decimal::TWO
    );
    let v = env
        .get_json("inventoryCompletedTransactions?q=SourceHeaderId=9500")
        .await;
    assert_eq!(v["items"][0]["TransactionUnitOfMeasure"], "Ea");

    let body = json!({"OrganizationCode": "DC01", "SubmitForProcessing": "Yes", "transactionLines": [
        {"ItemNumber": item, "SubinventoryCode": sub, "Quantity": 5, "UOMCode": "EA"},
    ]});
    let v: Value = env
        .post("inventoryBalanceTransactions", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["FailedRecordsCount"], 1);
    assert_eq!(v["transactionLines"][0]["ErrorCode"], "INV-1009");

    // The default style is unchanged: upper case, and "Ea" is then the wrong spelling.
    let up = start().await;
    assert_eq!(codes(&up.get_json("unitsOfMeasure").await), ["EA", "CS", "KG", "LB"]);
    let (item, sub, _) = up.item_with(Control::Plain, Some("EA"));
    assert_eq!(up.stage(&receipt(&item, &sub, "Ea")).await.0, 400);
}

#[tokio::test]
async fn missing_and_forbidden_resources_answer_404_and_403_for_every_method() {
    let env = start_with(SimConfig {
        seed: small_seed(),
        faults: Faults {
            missing_resources: vec!["unitsOfMeasure".into()],
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let r = env.get("unitsOfMeasure").await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_error_shape(&body, 404);
    assert_eq!(
        body["o:errorDetails"][0]["detail"],
        "The requested resource unitsOfMeasure doesn't exist."
    );
    assert_eq!(env.get("unitsOfMeasure/EA").await.status(), 404);
    assert_eq!(
        env.post("unitsOfMeasure", &json!({"UOMCode": "BX"})).await.status(),
        404
    );
    let r = env.get_v("unitsOfMeasure", None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.text().await.unwrap(),
        "The requested resource unitsOfMeasure doesn't exist."
    );
    assert_eq!(env.get("itemsV2?limit=1").await.status(), 200);

    // At runtime, with only the new fields in the body.
    let r = env
        .http
        .put(format!("{}/admin/faults", env.sim.url()))
        .json(&json!({"forbidden_resources": ["inventoryItemLots"], "missing_resources": ["inventoryOrganizations"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Faults = env
        .http
        .get(format!("{}/admin/faults", env.sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got.forbidden_resources, vec!["inventoryItemLots"]);
    assert_eq!(got.missing_resources, vec!["inventoryOrganizations"]);
    assert_eq!(env.get("unitsOfMeasure").await.status(), 200);
    assert_eq!(env.get("inventoryOrganizations").await.status(), 404);
    let r = env.get("inventoryItemLots?q=OrganizationCode=DC01").await;
    assert_eq!(r.status(), 403);
    assert_error_shape(&r.json().await.unwrap(), 403);
    let (item, _, _) = env.item_with(Control::Lot, None);
    let lot =
        json!({"OrganizationCode": "DC01", "ItemNumber": item, "LotNumber": "X1", "ExpirationDate": "2027-01-01"});
    assert_eq!(env.post("inventoryItemLots", &lot).await.status(), 403);
    assert_eq!(env.sim.lot_expiration("DC01", &item, "X1"), None);

    // A batch part addressing a refused resource fails the batch like any other part.
    let r = env
        .http
        .post(env.base.clone())
        .basic_auth(USER, Some(PASS))
        .header("Content-Type", "application/vnd.oracle.adf.batch+json")
        .body(
            json!({"parts": [
                {"id": "a", "path": "/itemsV2?limit=1", "operation": "get"},
                {"id": "b", "path": "/inventoryItemLots", "operation": "get"},
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["parts"].as_array().unwrap().len(), 1);
    assert_eq!(v["parts"][0]["id"], "b");
    assert_eq!(v["parts"][0]["status"], 403);
}
