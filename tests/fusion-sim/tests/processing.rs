//! The transaction manager: injected processing failures (rate and scripted), Concurrent rows
//! processed after `concurrent_delay`, partial runs with `max_rows`, and reading an
//! organization's pending rows with their children.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use fusion_sim::faults::{PROCESS_FAIL_CODE, PROCESS_FAIL_SCRIPTED_CODE};
use fusion_sim::{Faults, SimConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sim_seed::Control;

fn receipt(org: &str, item: &str, sub: &str, uom: &str, line: i64, mode: i64) -> Value {
    json!({
        "OrganizationCode": org, "ItemNumber": item, "SubinventoryCode": sub,
        "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": 1,
        "TransactionUnitOfMeasure": uom, "TransactionDate": "2026-11-01",
        "SourceCode": "WMS", "SourceHeaderId": 9000, "SourceLineId": line,
        "TransactionReference": format!("REF-{line}"), "TransactionMode": mode,
    })
}

fn uom_of(env: &Env, item: &str) -> String {
    env.catalog.items.iter().find(|i| i.number == item).unwrap().uom.clone()
}

async fn admin_process(env: &Env, body: Option<Value>) -> (u16, Value) {
    let mut rb = env.http.post(format!("{}/admin/process-staged", env.sim.url()));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn staged_by_line(env: &Env, line: i64) -> Value {
    let v = env
        .get_json(&format!(
            "inventoryStagedTransactions?q=SourceHeaderId=9000;SourceLineId={line}&expand=lots"
        ))
        .await;
    v["items"][0].clone()
}

#[tokio::test]
async fn scripted_processing_failures_keep_rows_with_flag_3_and_mark_lot_children() {
    let env = start().await;
    let (p, psub, pbefore) = env.item_with(Control::Plain, None);
    let pu = uom_of(&env, &p);
    let (l, lsub, lbefore) = env.item_with(Control::Lot, None);
    let (lot, _, _) = env.lots_of(&l, &lsub)[0].clone();
    // Set at runtime with only the new fields: every other fault keeps its default.
    let r = env
        .http
        .put(format!("{}/admin/faults", env.sim.url()))
        .json(&json!({"fail_processing_refs": ["REF-2", "9100"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(env.sim.faults().fail_processing_refs, vec!["REF-2", "9100"]);
    assert_eq!(env.sim.faults().process_fail_rate, 0.0);

    assert_eq!(env.stage(&receipt("DC01", &p, &psub, &pu, 1, 3)).await.0, 201);
    let mut lot_row = receipt("DC01", &l, &lsub, &uom_of(&env, &l), 2, 3);
    lot_row["lots"] = json!([{"LotNumber": lot, "TransactionQuantity": 1}]);
    assert_eq!(env.stage(&lot_row).await.0, 201);
    let mut by_header = receipt("DC01", &p, &psub, &pu, 3, 3);
    by_header["SourceHeaderId"] = json!(9100);
    assert_eq!(env.stage(&by_header).await.0, 201);

    let (s, rep) = admin_process(&env, None).await;
    assert_eq!(s, 200);
    assert_eq!(rep, json!({"processed": 1, "failed": 2}));
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), pbefore + Decimal::ONE);
    assert_eq!(env.sim.onhand("DC01", &l, &lsub, None), lbefore);

    let row = staged_by_line(&env, 2).await;
    assert_eq!(row["ProcessFlag"], 3);
    assert_eq!(row["ErrorCode"], PROCESS_FAIL_SCRIPTED_CODE);
    assert!(row["ErrorExplanation"].as_str().unwrap().contains("material status"));
    assert_eq!(row["lots"]["items"][0]["ErrorCode"], PROCESS_FAIL_SCRIPTED_CODE);
    let id = row["TransactionInterfaceId"].as_i64().unwrap();
    let lots = env
        .get_json(&format!("inventoryStagedTransactions/{id}/child/lots"))
        .await;
    assert_eq!(lots["items"][0]["LotNumber"], lot.as_str());
    assert_eq!(lots["items"][0]["ErrorCode"], PROCESS_FAIL_SCRIPTED_CODE);
    let v = env
        .get_json("inventoryStagedTransactions?q=SourceHeaderId=9100;ProcessFlag=3")
        .await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["items"][0]["ErrorCode"], PROCESS_FAIL_SCRIPTED_CODE);

    // Once the fault is lifted, a resubmitted row (PATCH ProcessFlag) goes through.
    env.sim.set_faults(Faults::default());
    let r = env
        .http
        .patch(format!("{}/inventoryStagedTransactions/{id}", env.base))
        .basic_auth(USER, Some(PASS))
        .json(&json!({"ProcessFlag": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ProcessFlag"], 1);
    assert_eq!(v["lots"]["items"][0]["ErrorCode"], Value::Null);
    assert_eq!(env.sim.process_staged().processed, 1);
    let v = env.get_json("inventoryStagedTransactions?q=SourceHeaderId=9100").await;
    assert_eq!(v["items"][0]["ProcessFlag"], 3, "not resubmitted: stays failed");
    assert_eq!(
        env.sim.onhand("DC01", &l, &lsub, Some(&lot)),
        env.lots_of(&l, &lsub)[0].1 + Decimal::ONE
    );
}

/// Stages 40 Background receipts on a fresh simulator with `rate` and returns the failed lines.
async fn failed_lines_at(rate: f64) -> Vec<i64> {
    let env = start_with(SimConfig {
        seed: small_seed(),
        faults: Faults {
            process_fail_rate: rate,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let (p, psub, before) = env.item_with(Control::Plain, None);
    let pu = uom_of(&env, &p);
    for line in 1..=40 {
        assert_eq!(env.stage(&receipt("DC01", &p, &psub, &pu, line, 3)).await.0, 201);
    }
    // Request traffic between the runs must not change which rows fail.
    let _ = env.get("inventoryOnhandBalances?limit=3").await;
    let rep = env.sim.process_staged();
    assert_eq!(rep.processed + rep.failed, 40);
    assert_eq!(
        env.sim.onhand("DC01", &p, &psub, None),
        before + Decimal::from(rep.processed as u64)
    );
    let v = env
        .get_json("inventoryStagedTransactions?q=ProcessFlag=3&limit=500")
        .await;
    let rows = v["items"].as_array().unwrap();
    assert_eq!(rows.len(), rep.failed);
    assert!(rows.iter().all(|r| r["ErrorCode"] == PROCESS_FAIL_CODE));
    rows.iter().map(|r| r["SourceLineId"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn process_fail_rate_fails_a_repeatable_share() {
    let a = failed_lines_at(0.3).await;
    let b = failed_lines_at(0.3).await;
    assert_eq!(a, b, "the same seed must fail the same rows");
    assert!((4..=22).contains(&a.len()), "30 % of 40 rows failed {} rows", a.len());
    assert_eq!(failed_lines_at(1.0).await.len(), 40);
    assert!(failed_lines_at(0.0).await.is_empty());
}

#[tokio::test]
async fn concurrent_rows_are_processed_after_the_delay_while_background_rows_wait() {
    let delay = Duration::from_millis(300);
    let env = start_with(SimConfig {
        seed: small_seed(),
        concurrent_delay: delay,
        ..SimConfig::default()
    })
    .await;
    let (p, psub, before) = env.item_with(Control::Plain, None);
    let pu = uom_of(&env, &p);
    let posted = Instant::now();
    let (s, v) = env.stage(&receipt("DC01", &p, &psub, &pu, 1, 2)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["ProcessFlag"], 1);
    assert_eq!(env.stage(&receipt("DC01", &p, &psub, &pu, 2, 3)).await.0, 201);
    let mut bad = receipt("DC01", &p, &psub, &pu, 3, 2);
    bad["TransactionTypeName"] = json!("Miscellaneous Issue");
    bad["TransactionQuantity"] = json!(-1_000_000);
    assert_eq!(env.stage(&bad).await.0, 201);
    // With margin, so a slow GET can't race the first due time.
    if posted.elapsed() < delay / 2 {
        let v = env.get_json("inventoryStagedTransactions?q=ProcessFlag=1").await;
        assert_eq!(v["count"], 3, "nothing is processed before the delay");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.sim.onhand("DC01", &p, &psub, None) == before {
        assert!(Instant::now() < deadline, "the Concurrent row was never processed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(posted.elapsed() >= delay, "processed after {:?}", posted.elapsed());
    assert_eq!(env.sim.onhand("DC01", &p, &psub, None), before + Decimal::ONE);
    let deadline = Instant::now() + Duration::from_secs(10);
    while staged_by_line(&env, 3).await["ProcessFlag"] != 3 {
        assert!(
            Instant::now() < deadline,
            "the failing Concurrent row was never processed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(staged_by_line(&env, 3).await["ErrorCode"], "INV-1022");
    tokio::time::sleep(delay * 2).await;
    assert_eq!(staged_by_line(&env, 2).await["ProcessFlag"], 1, "Background waits");
    assert_eq!(admin_process(&env, None).await.1, json!({"processed": 1, "failed": 0}));
}

#[tokio::test]
async fn admin_process_staged_max_rows_processes_only_the_oldest() {
    let env = start().await;
    let (p, psub, _) = env.item_with(Control::Plain, None);
    let pu = uom_of(&env, &p);
    for line in 1..=5 {
        assert_eq!(env.stage(&receipt("DC01", &p, &psub, &pu, line, 3)).await.0, 201);
    }
    assert_eq!(
        admin_process(&env, Some(json!({"max_rows": 2}))).await,
        (200, json!({"processed": 2, "failed": 0}))
    );
    let v = env.get_json("inventoryStagedTransactions?q=ProcessFlag=1").await;
    let left: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["SourceLineId"].as_i64().unwrap())
        .collect();
    assert_eq!(left, vec![3, 4, 5]);
    assert_eq!(env.sim.process_oldest(1).processed, 1);
    assert_eq!(admin_process(&env, Some(json!({"max_rows": "x"}))).await.0, 400);
    assert_eq!(admin_process(&env, Some(json!({}))).await.1["processed"], 2);
    assert_eq!(admin_process(&env, None).await.1, json!({"processed": 0, "failed": 0}));
}

#[tokio::test]
async fn pending_rows_of_one_org_filter_by_process_flag_with_children_and_page_at_500() {
    let env = start_with(SimConfig {
        seed: small_seed(),
        faults: Faults {
            fail_processing_refs: vec!["FAIL-ME".into()],
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let (p, psub, _) = env.item_with(Control::Plain, None);
    let pu = uom_of(&env, &p);
    let (l, lsub, _) = env.item_with(Control::Lot, None);
    let (lot, _, _) = env.lots_of(&l, &lsub)[0].clone();
    let (s, ssub, _) = env.item_with(Control::Serial, None);
    // Rows that must not match: one failed DC01 row and DC02 rows.
    let mut failing = receipt("DC01", &p, &psub, &pu, 1, 3);
    failing["TransactionReference"] = json!("FAIL-ME");
    assert_eq!(env.stage(&failing).await.0, 201);
    assert_eq!(env.sim.process_staged().failed, 1);
    for line in 2..=4 {
        assert_eq!(env.stage(&receipt("DC02", &p, &psub, &pu, line, 3)).await.0, 201);
    }
    let mut lot_row = receipt("DC01", &l, &lsub, &uom_of(&env, &l), 5, 3);
    lot_row["lots"] = json!([{"LotNumber": lot, "TransactionQuantity": 1}]);
    assert_eq!(env.stage(&lot_row).await.0, 201);
    let mut ser_row = receipt("DC01", &s, &ssub, "EA", 6, 3);
    ser_row["serials"] = json!([{"FmSerialNumber": "PEND0001"}]);
    assert_eq!(env.stage(&ser_row).await.0, 201);
    for line in 7..=526 {
        let (st, v) = env.stage(&receipt("DC01", &p, &psub, &pu, line, 3)).await;
        assert_eq!(st, 201, "{v}");
    }
    let want = 522; // lines 5..=526
    let q = "inventoryStagedTransactions?q=OrganizationCode=DC01;ProcessFlag=1&expand=lots,serials&totalResults=true";
    let first = env.get_json(&format!("{q}&limit=500")).await;
    assert_eq!(first["count"], 500);
    assert_eq!(first["limit"], 500);
    assert_eq!(first["hasMore"], true);
    assert_eq!(first["totalResults"], want);
    let second = env.get_json(&format!("{q}&limit=500&offset=500")).await;
    assert_eq!(second["count"], want - 500);
    assert_eq!(second["hasMore"], false);
    let rows: Vec<&Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .collect();
    assert!(rows
        .iter()
        .all(|r| r["OrganizationCode"] == "DC01" && r["ProcessFlag"] == 1));
    let lines: std::collections::BTreeSet<i64> = rows.iter().map(|r| r["SourceLineId"].as_i64().unwrap()).collect();
    assert_eq!(lines, (5..=526).collect());
    let lot_r = rows.iter().find(|r| r["SourceLineId"] == 5).unwrap();
    assert_eq!(lot_r["lots"]["items"][0]["LotNumber"], lot.as_str());
    assert_eq!(lot_r["serials"]["count"], 0);
    let ser_r = rows.iter().find(|r| r["SourceLineId"] == 6).unwrap();
    assert_eq!(ser_r["serials"]["items"][0]["FmSerialNumber"], "PEND0001");
    // The same read under framework v2: children as plain arrays; a limit above 500 is capped.
    let old = env.get_json_v(&format!("{q}&limit=1000"), Some("2")).await;
    assert_eq!(old["limit"], 500);
    let lot_r = old["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["SourceLineId"] == 5)
        .unwrap();
    assert_eq!(lot_r["lots"][0]["LotNumber"], lot.as_str());
    assert_eq!(lot_r["serials"], json!([]));
}
