//! Authentication, fault injection and request counters.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use fusion_sim::{FaultStatus, Faults, ScriptedFault, SimConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sim_seed::Control;

fn receipt(item: &str, sub: &str, line: i64) -> Value {
    json!({
        "OrganizationCode": "DC01", "ItemNumber": item, "SubinventoryCode": sub,
        "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": 1,
        "TransactionUnitOfMeasure": "EA", "SourceCode": "WMS", "SourceHeaderId": 9,
        "SourceLineId": line, "TransactionMode": 1,
    })
}

#[tokio::test]
async fn basic_auth_missing_wrong_and_roleless_users() {
    let env = start().await;
    let url = format!("{}/inventoryOnhandBalances?limit=1", env.base);
    let r = env.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_error_shape(&r.json().await.unwrap(), 401);
    let r = env.http.get(&url).basic_auth(USER, Some("wrong")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = env
        .http
        .get(&url)
        .basic_auth("norole.user", Some("Welcome1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_error_shape(&r.json().await.unwrap(), 403);
    let r = env.http.get(&url).basic_auth(USER, Some(PASS)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

#[tokio::test]
async fn bearer_tokens_work_until_they_expire() {
    let env = start_with(SimConfig {
        seed: common::small_seed(),
        token_ttl: Duration::from_millis(600),
        ..SimConfig::default()
    })
    .await;
    let token_url = format!("{}/oauth2/v1/token", env.sim.url());
    let r = env
        .http
        .post(&token_url)
        .basic_auth("invsync-client", Some("wrong"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = env
        .http
        .post(&token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=invsync-client&client_secret=invsync-secret&scope=urn%3Aopc")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].is_u64());
    let tok = v["access_token"].as_str().unwrap().to_string();
    let url = format!("{}/inventoryOnhandBalances?limit=1", env.base);
    assert_eq!(env.http.get(&url).bearer_auth(&tok).send().await.unwrap().status(), 200);
    assert_eq!(
        env.http.get(&url).bearer_auth("made-up").send().await.unwrap().status(),
        401
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = env.http.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["o:errorDetails"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let env = start().await;
    env.sim.set_faults(Faults {
        rate_limit_per_sec: Some(3),
        retry_after_secs: 2,
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let r = env.get("inventoryOnhandBalances?limit=1").await;
        if r.status() == 429 {
            retry_after = r.headers().get("retry-after").map(|h| h.to_str().unwrap().to_string());
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("2"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(env.get("inventoryOnhandBalances?limit=1").await.status(), 200);
}

#[tokio::test]
async fn concurrency_limit_answers_429_beyond_n_in_flight() {
    let env = start().await;
    env.sim.set_faults(Faults {
        max_in_flight: Some(3),
        latency_ms: 300,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let calls = (0..5).map(|_| env.get("inventoryOnhandBalances?limit=1"));
    let mut statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(env.sim.request_count(fusion_sim::CONCURRENCY_REFUSED), 2);
    assert_eq!(env.sim.peak_in_flight(), 3);
    // Freed slots admit again.
    assert_eq!(env.get("inventoryOnhandBalances?limit=1").await.status(), 200);
}

#[tokio::test]
async fn error_rates_produce_about_their_share_of_500_and_503() {
    let env = start().await;
    env.sim.set_faults(Faults {
        error_500_rate: 0.2,
        error_503_rate: 0.3,
        ..Faults::default()
    });
    let (mut n500, mut n503, mut ok) = (0, 0, 0);
    for _ in 0..200 {
        let r = env.get("unitsOfMeasure").await;
        match r.status().as_u16() {
            500 => n500 += 1,
            503 => {
                assert!(r.headers().contains_key("retry-after"));
                assert_error_shape(&r.json().await.unwrap(), 503);
                n503 += 1
            }
            200 => ok += 1,
            s => panic!("unexpected {s}"),
        }
    }
    assert!((25..=55).contains(&n500), "500s: {n500}");
    // 503 is drawn after 500, so its share is 0.3 * 0.8 of all requests.
    assert!((30..=68).contains(&n503), "503s: {n503}");
    assert_eq!(n500 + n503 + ok, 200);
    assert_eq!(env.sim.request_count("GET unitsOfMeasure"), 200);
}

#[tokio::test]
async fn reset_drops_the_connection_without_an_answer() {
    let env = start().await;
    env.sim.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    let r = env
        .http
        .get(format!("{}/unitsOfMeasure", env.base))
        .basic_auth(USER, Some(PASS))
        .send()
        .await;
    let e = r.expect_err("the connection must drop before any status line");
    assert!(!e.is_status() && !e.is_timeout(), "{e:?}");
    assert!(env.get_raw("unitsOfMeasure").await.is_err());
}

#[tokio::test]
async fn accept_then_drop_applies_the_transaction_but_the_client_sees_an_error() {
    let env = start().await;
    let (item, sub, before) = env.item_with(Control::Plain, Some("EA"));
    env.sim.set_faults(Faults {
        accept_then_drop_rate: 1.0,
        ..Faults::default()
    });
    let r = env
        .http
        .post(format!("{}/inventoryStagedTransactions", env.base))
        .basic_auth(USER, Some(PASS))
        .json(&receipt(&item, &sub, 1))
        .send()
        .await;
    let outcome = match r {
        Err(e) => Err(e),
        Ok(resp) => resp.bytes().await.map(|_| ()),
    };
    assert!(outcome.is_err(), "client should see a connection error");
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before + Decimal::ONE);
    env.sim.set_faults(Faults::default());
    let v = env
        .get_json("inventoryCompletedTransactions?q=SourceCode=WMS;SourceHeaderId=9;SourceLineId=1")
        .await;
    assert_eq!(v["count"], 1);
}

#[tokio::test]
async fn scripted_faults_fail_exactly_the_next_calls_and_admin_faults_round_trip() {
    let env = start().await;
    let (item, sub, before) = env.item_with(Control::Plain, Some("EA"));
    let faults = json!({
        "fail_next": [
            {"endpoint": "POST inventoryStagedTransactions", "status": 503, "count": 2},
            {"endpoint": "inventoryStagedTransactions", "status": "reset", "count": 1},
            {"endpoint": "POST inventoryStagedTransactions", "status": "408", "count": 1},
        ]
    });
    let r = env
        .http
        .put(format!("{}/admin/faults", env.sim.url()))
        .json(&faults)
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
    assert_eq!(got.fail_next.len(), 3);
    assert_eq!(got.fail_next[0].status, FaultStatus::Code(503));

    assert_eq!(env.stage(&receipt(&item, &sub, 1)).await.0, 503);
    assert_eq!(env.stage(&receipt(&item, &sub, 1)).await.0, 503);
    let r = env
        .http
        .post(format!("{}/inventoryStagedTransactions", env.base))
        .basic_auth(USER, Some(PASS))
        .json(&receipt(&item, &sub, 1))
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed);
    assert_eq!(env.stage(&receipt(&item, &sub, 1)).await.0, 408);
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before);
    assert_eq!(env.sim.staged_rows().len(), 1);
    assert_eq!(env.stage(&receipt(&item, &sub, 2)).await.0, 201);
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before + Decimal::ONE);
    assert_eq!(env.sim.request_count("POST inventoryStagedTransactions"), 5);
    assert!(env.sim.faults().fail_next.is_empty());

    env.sim.set_faults(Faults {
        fail_next: vec![ScriptedFault {
            endpoint: "GET unitsOfMeasure".into(),
            status: FaultStatus::Word("timeout".into()),
            count: 1,
        }],
        timeout_hang_ms: 300,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(env.get("unitsOfMeasure").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn latency_and_timeout_faults_delay_answers() {
    let env = start().await;
    env.sim.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(env.get("unitsOfMeasure").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    env.sim.set_faults(Faults {
        timeout_rate: 1.0,
        timeout_hang_ms: 5_000,
        ..Faults::default()
    });
    let r = env
        .http
        .get(format!("{}/unitsOfMeasure", env.base))
        .basic_auth(USER, Some(PASS))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
}

#[tokio::test]
async fn request_counters_count_every_call_including_rejected_and_reset_via_admin() {
    let env = start().await;
    env.get("inventoryOnhandBalances?limit=1").await;
    env.get("inventoryOnhandBalances?q=Bad=1").await;
    env.http
        .get(format!("{}/inventoryOnhandBalances", env.base))
        .send()
        .await
        .unwrap();
    env.post("inventoryStagedTransactions", &json!({})).await;
    assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 3);
    assert_eq!(env.sim.request_count("POST inventoryStagedTransactions"), 1);
    let stats: Value = env
        .http
        .get(format!("{}/admin/stats", env.sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["GET inventoryOnhandBalances"], 3);
    env.http
        .post(format!("{}/admin/stats/reset", env.sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 0);
}

#[tokio::test]
async fn admin_adjust_and_onhand_change_state_silently() {
    let env = start().await;
    let (item, sub, before) = env.item_with(Control::Plain, Some("EA"));
    let r = env
        .http
        .post(format!("{}/admin/adjust", env.sim.url()))
        .json(&json!({"org": "DC01", "item": item, "subinventory": sub, "delta": "-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before - Decimal::ONE);
    assert_eq!(env.sim.completed_count(), 0);
    let v: Value = env
        .http
        .get(format!("{}/admin/onhand?org=DC01&item={item}", env.sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = v["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["subinventory"] == sub.as_str())
        .unwrap();
    assert_eq!(row["quantity"].to_string(), (before - Decimal::ONE).to_string());
    let v: Value = env
        .http
        .put(format!("{}/admin/today", env.sim.url()))
        .json(&json!({"today": "2030-01-01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["today"], "2030-01-01");
}

#[tokio::test]
async fn unsupported_media_type_and_bad_json_are_rejected() {
    let env = start().await;
    let r = env
        .http
        .post(format!("{}/inventoryStagedTransactions", env.base))
        .basic_auth(USER, Some(PASS))
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = env
        .http
        .post(format!("{}/inventoryStagedTransactions", env.base))
        .basic_auth(USER, Some(PASS))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_error_shape(&r.json().await.unwrap(), 400);
}

#[tokio::test]
async fn rejected_credentials_answer_401_until_the_fault_is_lifted_and_the_default_serves() {
    let env = start().await;
    assert!(!Faults::default().reject_credentials, "the default serves");
    let url = format!("{}/inventoryOnhandBalances?limit=1", env.base);
    env.sim.set_faults(Faults {
        reject_credentials: true,
        ..Faults::default()
    });
    let r = env.http.get(&url).basic_auth(USER, Some(PASS)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let (item, sub, before) = env.item_with(Control::Plain, Some("EA"));
    let staged = env.sim.request_count("POST inventoryStagedTransactions");
    let completed = env.sim.completed_count();
    let (status, _) = env.stage(&receipt(&item, &sub, 1)).await;
    assert_eq!(status, 401, "a post is refused too");
    assert_eq!(env.sim.completed_count(), completed, "nothing was applied");
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before);
    assert!(
        env.sim.request_count("POST inventoryStagedTransactions") > staged,
        "still counted"
    );
    env.sim.set_faults(Faults::default());
    let r = env.http.get(&url).basic_auth(USER, Some(PASS)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
