//! Staged, completed and balance transactions, validation rules, and batch all-or-none.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use fusion_sim::{Faults, SimConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sim_seed::Control;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn txn(item: &str, sub: &str, kind: &str, qty: Value, uom: &str) -> Value {
    json!({
        "OrganizationCode": "DC01", "ItemNumber": item, "SubinventoryCode": sub,
        "TransactionTypeName": kind, "TransactionQuantity": qty, "TransactionUnitOfMeasure": uom,
        "TransactionDate": "2026-11-01T10:00:00Z", "SourceCode": "WMS", "SourceHeaderId": 7001,
        "SourceLineId": 1, "TransactionReference": "WMS-TX-1", "TransactionMode": 1,
    })
}

fn uom_of(env: &Env, item: &str) -> String {
    env.catalog.items.iter().find(|i| i.number == item).unwrap().uom.clone()
}

#[tokio::test]
async fn online_receipt_and_issue_update_onhand_and_create_completed_rows() {
    let env = start().await;
    let (item, sub, before) = env.item_with(Control::Plain, Some("KG"));
    let (s, v) = env
        .stage(&txn(&item, &sub, "miscellaneous receipt", json!(1.005), "KG"))
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(v["TransactionInterfaceId"].as_i64().unwrap() > 0);
    assert_eq!(v["TransactionQuantity"].to_string(), "1.005");
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before + d("1.005"));
    assert!(env.sim.staged_rows().is_empty());
    let (s, _) = env
        .stage(&txn(&item, &sub, "Miscellaneous Issue", json!("-0.5"), "KG"))
        .await;
    assert_eq!(s, 201);
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before + d("0.505"));
    let v = env
        .get_json(&format!(
            "inventoryCompletedTransactions?q=SourceCode=WMS;SourceHeaderId=7001;ItemNumber={item}"
        ))
        .await;
    assert_eq!(v["count"], 2);
    assert_eq!(v["items"][0]["TransactionTypeName"], "Miscellaneous Receipt");
    assert_eq!(v["items"][1]["TransactionQuantity"].to_string(), "-0.5");
    assert_eq!(v["items"][1]["TransactionReference"], "WMS-TX-1");
    assert!(v["items"][0]["TransactionId"].as_i64().unwrap() < v["items"][1]["TransactionId"].as_i64().unwrap());
}

#[tokio::test]
async fn online_transfer_moves_lots_and_yields_two_linked_completed_rows() {
    let env = start().await;
    let (item, sub, before) = env.item_with(Control::Lot, None);
    let uom = uom_of(&env, &item);
    let (lot, lq, _) = env.lots_of(&item, &sub)[0].clone();
    let to = if sub == "BULK" { "RETURNS" } else { "BULK" };
    let to_before = env.sim.onhand("DC01", &item, to, None);
    let mut body = txn(&item, &sub, "Subinventory Transfer", json!(lq.to_string()), &uom);
    body["TransferSubinventory"] = json!(to);
    body["lots"] = json!([{"LotNumber": lot, "TransactionQuantity": lq.to_string()}]);
    let (s, v) = env.stage(&body).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before - lq);
    assert_eq!(env.sim.onhand("DC01", &item, to, Some(&lot)), lq);
    assert_eq!(env.sim.onhand("DC01", &item, to, None), to_before + lq);
    // Framework v2: expanded children as plain arrays.
    let v = env
        .get_json_v(
            &format!("inventoryCompletedTransactions?q=ItemNumber={item};SourceLineId=1&expand=lots"),
            Some("2"),
        )
        .await;
    let rows = v["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let (debit, credit) = (&rows[0], &rows[1]);
    assert_eq!(debit["SubinventoryCode"], sub.as_str());
    assert_eq!(debit["TransferSubinventory"], to);
    assert!(debit["TransactionQuantity"].as_f64().unwrap() < 0.0);
    assert_eq!(credit["SubinventoryCode"], to);
    assert!(credit["TransactionQuantity"].as_f64().unwrap() > 0.0);
    assert_eq!(debit["TransferTransactionId"], credit["TransactionId"]);
    assert_eq!(credit["TransferTransactionId"], debit["TransactionId"]);
    assert_eq!(credit["SourceHeaderId"], debit["SourceHeaderId"]);
    assert_eq!(credit["lots"][0]["LotNumber"], lot.as_str());
}

#[tokio::test]
async fn serial_transfer_moves_serials_and_receipt_creates_new_lots_and_serials() {
    let env = start().await;
    let (item, sub, _) = env.item_with(Control::Serial, None);
    let serial = env.serials_of(&item, &sub)[0].clone();
    let to = if sub == "RETURNS" { "BULK" } else { "RETURNS" };
    let mut body = txn(&item, &sub, "Subinventory Transfer", json!(-1), "EA");
    body["TransferSubinventory"] = json!(to);
    body["serials"] = json!([{"FmSerialNumber": serial, "ToSerialNumber": serial}]);
    assert_eq!(env.stage(&body).await.0, 201);
    assert!(env.serials_of(&item, to).contains(&serial));
    assert!(!env.serials_of(&item, &sub).contains(&serial));

    let mut body = txn(&item, "STORES", "Miscellaneous Receipt", json!(3), "EA");
    body["serials"] = json!([{"FmSerialNumber": "NEW0098", "ToSerialNumber": "NEW0100"}]);
    let (s, v) = env.stage(&body).await;
    assert_eq!(s, 201, "{v}");
    assert!(env.serials_of(&item, "STORES").contains(&"NEW0099".to_string()));

    let (litem, lsub, _) = env.item_with(Control::Lot, None);
    let mut body = txn(&litem, &lsub, "Miscellaneous Receipt", json!(5), &uom_of(&env, &litem));
    body["lots"] = json!([{"LotNumber": "FRESH-1", "TransactionQuantity": 5, "LotExpirationDate": "2027-12-31"}]);
    assert_eq!(env.stage(&body).await.0, 201);
    assert_eq!(env.sim.onhand("DC01", &litem, &lsub, Some("FRESH-1")), d("5"));
    assert_eq!(
        env.sim.lot_expiration("DC01", &litem, "FRESH-1").unwrap().to_string(),
        "2027-12-31"
    );
}

/// Posts `body`, expects 400 with `code`, and checks nothing changed.
async fn rejects(env: &Env, body: Value, code: &str) {
    let before = (
        env.sim.org_total("DC01"),
        env.sim.completed_count(),
        env.sim.staged_rows().len(),
    );
    let (s, v) = env.stage(&body).await;
    assert_eq!(s, 400, "expected {code}, got {v}");
    assert_eq!(assert_error_shape(&v, 400), code, "{v}");
    let after = (
        env.sim.org_total("DC01"),
        env.sim.completed_count(),
        env.sim.staged_rows().len(),
    );
    assert_eq!(before, after, "state changed on rejected {code}");
}

#[tokio::test]
async fn every_validation_rule_answers_400_with_its_code_and_changes_nothing() {
    let env = start().await;
    let (p, psub, pq) = env.item_with(Control::Plain, Some("EA"));
    let (kg, kgsub, _) = env.item_with(Control::Plain, Some("KG"));
    let (l, lsub, _) = env.item_with(Control::Lot, None);
    let lu = uom_of(&env, &l);
    let (lot, lq, _) = env.lots_of(&l, &lsub)[0].clone();
    let (s, ssub, _) = env.item_with(Control::Serial, None);
    let serials = env.serials_of(&s, &ssub);
    env.sim.unassign_item("DC01", &env.catalog.items[299].number);

    let mut b = txn(&p, &psub, "Miscellaneous Receipt", json!(1), "EA");
    b["OrganizationCode"] = json!("DC99");
    rejects(&env, b, "INV-1001").await;
    rejects(
        &env,
        txn("NOPE", &psub, "Miscellaneous Receipt", json!(1), "EA"),
        "INV-1002",
    )
    .await;
    let unassigned = env.catalog.items[299].number.clone();
    let u = uom_of(&env, &unassigned);
    rejects(
        &env,
        txn(&unassigned, "STORES", "Miscellaneous Receipt", json!(1), &u),
        "INV-1003",
    )
    .await;
    rejects(
        &env,
        txn(&p, "NOWHERE", "Miscellaneous Receipt", json!(1), "EA"),
        "INV-1004",
    )
    .await;
    rejects(&env, txn(&p, &psub, "Account Alias Wobble", json!(1), "EA"), "INV-1005").await;
    rejects(
        &env,
        txn(&p, &psub, "Miscellaneous Receipt", json!(0), "EA"),
        "INV-1006",
    )
    .await;
    rejects(
        &env,
        txn(&p, &psub, "Miscellaneous Receipt", json!(-1), "EA"),
        "INV-1007",
    )
    .await;
    rejects(&env, txn(&p, &psub, "Miscellaneous Issue", json!(1), "EA"), "INV-1007").await;
    rejects(
        &env,
        txn(&p, &psub, "Miscellaneous Receipt", json!(1.5), "EA"),
        "INV-1008",
    )
    .await;
    rejects(
        &env,
        txn(&kg, &kgsub, "Miscellaneous Receipt", json!("1.0001"), "KG"),
        "INV-1008",
    )
    .await;
    rejects(
        &env,
        txn(&p, &psub, "Miscellaneous Receipt", json!(1), "KG"),
        "INV-1009",
    )
    .await;
    rejects(&env, txn(&l, &lsub, "Miscellaneous Receipt", json!(1), &lu), "INV-1010").await;
    let mut b = txn(&p, &psub, "Miscellaneous Receipt", json!(1), "EA");
    b["lots"] = json!([{"LotNumber": "X", "TransactionQuantity": 1, "LotExpirationDate": "2027-01-01"}]);
    rejects(&env, b, "INV-1011").await;
    let mut b = txn(&l, &lsub, "Miscellaneous Issue", json!(-2), &lu);
    b["lots"] = json!([{"LotNumber": lot, "TransactionQuantity": -1}]);
    rejects(&env, b, "INV-1012").await;
    let mut b = txn(&l, &lsub, "Miscellaneous Receipt", json!(1), &lu);
    b["lots"] = json!([{"LotNumber": "OLD-1", "TransactionQuantity": 1, "LotExpirationDate": "2020-01-01"}]);
    rejects(&env, b, "INV-1013").await;
    let mut b = txn(&l, &lsub, "Miscellaneous Issue", json!(-1), &lu);
    b["lots"] = json!([{"LotNumber": "GHOST", "TransactionQuantity": -1}]);
    rejects(&env, b, "INV-1014").await;
    let mut b = txn(&l, &lsub, "Miscellaneous Receipt", json!(1), &lu);
    b["lots"] = json!([{"LotNumber": "BRAND-NEW", "TransactionQuantity": 1}]);
    rejects(&env, b, "INV-1024").await;
    rejects(&env, txn(&s, &ssub, "Miscellaneous Issue", json!(-1), "EA"), "INV-1015").await;
    let mut b = txn(&s, &ssub, "Miscellaneous Issue", json!(-2), "EA");
    b["serials"] = json!([{"FmSerialNumber": serials[0]}]);
    rejects(&env, b, "INV-1016").await;
    let mut b = txn(&s, &ssub, "Miscellaneous Receipt", json!(2), "EA");
    b["serials"] = json!([{"FmSerialNumber": "DUP1"}, {"FmSerialNumber": "DUP1"}]);
    rejects(&env, b, "INV-1017").await;
    let mut b = txn(&s, &ssub, "Miscellaneous Receipt", json!(51), "EA");
    b["serials"] = json!((0..51)
        .map(|i| json!({"FmSerialNumber": format!("MANY{i:03}")}))
        .collect::<Vec<_>>());
    rejects(&env, b, "INV-1018").await;
    let mut b = txn(&s, &ssub, "Miscellaneous Issue", json!(-1), "EA");
    b["serials"] = json!([{"FmSerialNumber": "NOT-HERE"}]);
    rejects(&env, b, "INV-1019").await;
    let mut b = txn(&s, "STORES", "Miscellaneous Receipt", json!(1), "EA");
    b["serials"] = json!([{"FmSerialNumber": serials[0]}]);
    rejects(&env, b, "INV-1020").await;
    let mut b = txn(&p, &psub, "Subinventory Transfer", json!(1), "EA");
    b["TransferSubinventory"] = json!(psub);
    rejects(&env, b, "INV-1021").await;
    rejects(
        &env,
        txn(
            &p,
            &psub,
            "Miscellaneous Issue",
            json!(format!("-{}", pq + Decimal::ONE)),
            "EA",
        ),
        "INV-1022",
    )
    .await;
    let mut b = txn(
        &l,
        &lsub,
        "Miscellaneous Issue",
        json!(format!("-{}", lq + Decimal::ONE)),
        &lu,
    );
    b["lots"] = json!([{"LotNumber": lot, "TransactionQuantity": format!("-{}", lq + Decimal::ONE)}]);
    rejects(&env, b, "INV-1022").await;
    let mut b = txn(&p, &psub, "Miscellaneous Receipt", json!(1), "EA");
    b.as_object_mut().unwrap().remove("TransactionUnitOfMeasure");
    rejects(&env, b, "INV-1023").await;
}

#[tokio::test]
async fn expired_lots_are_refused_once_today_moves_past_them_and_negative_onhand_is_configurable() {
    let env = start().await;
    let (l, lsub, _) = env.item_with(Control::Lot, None);
    let (lot, _, exp) = env.lots_of(&l, &lsub)[0].clone();
    env.sim.set_today(exp + chrono::Duration::days(1));
    let mut b = txn(&l, &lsub, "Miscellaneous Issue", json!(-1), &uom_of(&env, &l));
    b["lots"] = json!([{"LotNumber": lot, "TransactionQuantity": -1}]);
    rejects(&env, b, "INV-1013").await;

    let env = start_with(SimConfig {
        seed: common::small_seed(),
        allow_negative_onhand: true,
        ..SimConfig::default()
    })
    .await;
    let (p, psub, pq) = env.item_with(Control::Plain, Some("EA"));
    let (s, _) = env
        .stage(&txn(
            &p,
            &psub,
            "Miscellaneous Issue",
            json!(format!("-{}", pq + Decimal::TEN)),
            "EA",
        ))
        .await;
    assert_eq!(s, 201);
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), -Decimal::TEN);
}

#[tokio::test]
async fn background_rows_wait_until_processed_and_failures_keep_process_flag_3() {
    // The Concurrent (mode 2) row below must wait for the explicit run too: push its automatic
    // processing far out.
    let env = start_with(SimConfig {
        seed: common::small_seed(),
        concurrent_delay: std::time::Duration::from_secs(3600),
        ..SimConfig::default()
    })
    .await;
    let (p, psub, before) = env.item_with(Control::Plain, Some("EA"));
    let mut good = txn(&p, &psub, "Miscellaneous Receipt", json!(4), "EA");
    good["TransactionMode"] = json!("3");
    let mut bad = txn(&p, &psub, "Miscellaneous Issue", json!(-100000), "EA");
    bad["TransactionMode"] = json!(2);
    bad["SourceLineId"] = json!(2);
    let (s, v) = env.stage(&good).await;
    assert_eq!(s, 201);
    assert_eq!(v["ProcessFlag"], 1);
    assert_eq!(env.stage(&bad).await.0, 201);
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), before);
    let v = env
        .get_json("inventoryStagedTransactions?q=SourceCode=WMS;ProcessFlag=1")
        .await;
    assert_eq!(v["count"], 2);
    let r: Value = env
        .http
        .post(format!("{}/admin/process-staged", env.sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"processed": 1, "failed": 1}));
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), before + Decimal::from(4));
    let v = env.get_json("inventoryStagedTransactions?q=SourceLineId=2").await;
    assert_eq!(v["count"], 1);
    let row = &v["items"][0];
    assert_eq!(row["ProcessFlag"], 3);
    assert_eq!(row["ErrorCode"], "INV-1022");
    assert!(row["ErrorExplanation"].as_str().unwrap().contains("exceeds"));
    let id = row["TransactionInterfaceId"].as_i64().unwrap();
    let one = env.get_json(&format!("inventoryStagedTransactions/{id}")).await;
    assert_eq!(one["TransactionInterfaceId"], id);
    let r = env
        .http
        .delete(format!("{}/inventoryStagedTransactions/{id}", env.base))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        env.get(&format!("inventoryStagedTransactions/{id}")).await.status(),
        404
    );
}

#[tokio::test]
async fn online_408_leaves_the_row_staged_unprocessed() {
    let env = start().await;
    let (p, psub, before) = env.item_with(Control::Plain, Some("EA"));
    env.sim.set_faults(Faults {
        online_408_rate: 1.0,
        ..Faults::default()
    });
    let (s, v) = env
        .stage(&txn(&p, &psub, "Miscellaneous Receipt", json!(2), "EA"))
        .await;
    assert_eq!(s, 408);
    assert_error_shape(&v, 408);
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), before);
    let v = env
        .get_json("inventoryStagedTransactions?q=SourceCode=WMS;SourceHeaderId=7001;SourceLineId=1")
        .await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["items"][0]["ProcessFlag"], 1);
    assert_eq!(env.sim.process_staged().processed, 1);
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), before + Decimal::TWO);
}

#[tokio::test]
async fn balance_transactions_set_absolute_balances_and_get_is_not_supported() {
    let env = start().await;
    let (p, psub, _) = env.item_with(Control::Plain, Some("LB"));
    let (l, lsub, _) = env.item_with(Control::Lot, None);
    let (s, ssub, _) = env.item_with(Control::Serial, None);
    let body = json!({
        "OrganizationCode": "DC01", "SubmitForProcessing": "Yes",
        "transactionLines": [
            {"ItemNumber": p, "SubinventoryCode": psub, "Quantity": 12.25, "UOMCode": "LB"},
            {"ItemNumber": l, "SubinventoryCode": lsub, "Quantity": 9, "UOMCode": uom_of(&env, &l),
             "itemLots": [{"LotNumber": "BAL-1", "Quantity": 9, "ExpirationDate": "2027-03-01"}]},
            {"ItemNumber": s, "SubinventoryCode": ssub, "Quantity": 2, "UOMCode": "EA",
             "itemSerials": [{"SerialNumber": "BALSN1"}, {"SerialNumber": "BALSN2"}]},
            {"ItemNumber": "NOPE", "SubinventoryCode": "STORES", "Quantity": 1},
        ]
    });
    let r = env.post("inventoryBalanceTransactions", &body).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ReturnStatus"], "FAILURE");
    assert_eq!(v["TotalRecordsCount"], 4);
    assert_eq!(v["SuccessRecordsCount"], 3);
    assert_eq!(v["FailedRecordsCount"], 1);
    assert!(v["ReturnMessageText"].is_string() && v["ReturnMessageCode"].is_string());
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), d("12.25"));
    assert_eq!(env.sim.onhand("DC01", &l, &lsub, None), d("9"));
    assert_eq!(env.sim.onhand("DC01", &l, &lsub, Some("BAL-1")), d("9"));
    assert_eq!(
        env.serials_of(&s, &ssub),
        vec!["BALSN1".to_string(), "BALSN2".to_string()]
    );
    let body = json!({"OrganizationCode": "DC01", "SubmitForProcessing": "Yes",
        "transactionLines": [{"ItemNumber": p, "SubinventoryCode": psub, "Quantity": 12.25, "UOMCode": "LB"}]});
    let v: Value = env
        .post("inventoryBalanceTransactions", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["ReturnStatus"], "SUCCESS");
    let r = env.get("inventoryBalanceTransactions").await;
    assert_eq!(r.status(), 405);
    assert!(r.json::<Value>().await.unwrap()["o:errorDetails"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("not supported"));
}

#[tokio::test]
async fn batch_is_all_or_none() {
    let env = start().await;
    let (p, psub, before) = env.item_with(Control::Plain, Some("EA"));
    let post_batch = |body: Value| {
        env.http
            .post(env.base.clone())
            .basic_auth(USER, Some(PASS))
            .header("Content-Type", "application/vnd.oracle.adf.batch+json")
            .body(body.to_string())
            .send()
    };
    let good = txn(&p, &psub, "Miscellaneous Receipt", json!(3), "EA");
    let bad = txn(&p, &psub, "Miscellaneous Receipt", json!(0), "EA");
    let r = post_batch(json!({"parts": [
        {"id": "p1", "path": "/inventoryStagedTransactions", "operation": "create", "payload": good},
        {"id": "p2", "path": "/inventoryStagedTransactions", "operation": "create", "payload": bad},
    ]}))
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let parts = v["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["id"], "p2");
    assert_eq!(err_code(&parts[0]["payload"]), "INV-1006");
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), before);
    assert_eq!(env.sim.completed_count(), 0);

    let r = post_batch(json!({"parts": [
        {"id": "p1", "path": "/inventoryStagedTransactions", "operation": "create", "payload": good},
        {"id": "p2", "path": format!("/inventoryOnhandBalances?q=OrganizationCode=DC01;ItemNumber={p};SubinventoryCode={psub}"), "operation": "get"},
    ]}))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["parts"].as_array().unwrap().len(), 2);
    let q = Decimal::from_str(&v["parts"][1]["payload"]["items"][0]["PrimaryQuantity"].to_string()).unwrap();
    assert_eq!(q, before + Decimal::from(3));
    assert_eq!(env.sim.request_count("BATCH POST inventoryStagedTransactions"), 3);
}

#[tokio::test]
async fn completed_rows_are_found_by_source_reference_and_a_rolled_back_batch_leaves_none() {
    let env = start().await;
    let (p, psub, _) = env.item_with(Control::Plain, Some("EA"));
    let with_source = |header: &str, reference: &str, qty: Value| {
        let mut t = txn(&p, &psub, "Miscellaneous Receipt", qty, "EA");
        t["SourceHeaderId"] = json!(header);
        t["TransactionReference"] = json!(reference);
        t
    };
    // 1. A batch whose second part is refused: the first part's completed row is rolled back.
    let r = env
        .http
        .post(env.base.clone())
        .basic_auth(USER, Some(PASS))
        .header("Content-Type", "application/vnd.oracle.adf.batch+json")
        .body(
            json!({"parts": [
                {"id": "p1", "path": "/inventoryStagedTransactions", "operation": "create", "payload": with_source("8001", "WMS-A", json!(2))},
                {"id": "p2", "path": "/inventoryStagedTransactions", "operation": "create", "payload": with_source("8002", "WMS-X", json!(0))},
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // 2. Two posts that land, the second reusing the rolled-back row's position.
    for (header, reference) in [("8003", "WMS-B"), ("8004", "WMS-C")] {
        let (s, v) = env.stage(&with_source(header, reference, json!(1))).await;
        assert_eq!(s, 201, "{v}");
    }
    let count = |query: String| {
        let env = &env;
        async move { env.get_json(&format!("inventoryCompletedTransactions?q={query}")).await }
    };
    assert_eq!(count("SourceCode=WMS;SourceHeaderId=8001".into()).await["count"], 0);
    assert_eq!(count("TransactionReference=WMS-A".into()).await["count"], 0);
    let b = count("SourceCode=WMS;SourceHeaderId=8003;SourceLineId=1".into()).await;
    assert_eq!(b["count"], 1);
    assert_eq!(b["items"][0]["TransactionReference"], "WMS-B");
    let c = count("TransactionReference=WMS-C".into()).await;
    assert_eq!(c["count"], 1);
    assert_eq!(c["items"][0]["SourceHeaderId"], "8004");
    assert_eq!(count(format!("ItemNumber={p}")).await["count"], 2);
}
