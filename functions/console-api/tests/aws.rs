//! The console API on moto and the simulators (`tests/harness`), with people signed in to a
//! Cognito user pool on moto: their ID tokens are verified against the pool's JWKS, the
//! groups are the roles and `custom:dcs` the scope. Every role's operations go through the
//! AWS stores (audit table included) and the WMS simulator; the scope rule, the 401s and the
//! concurrent resolve hold there too. `scripts/test.sh` starts moto.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/holds.rs"]
mod holds;

#[path = "common/cognito.rs"]
mod cognito;

use chrono::Utc;
use cognito::LocalPool;
use console::{ConsoleService, ConsoleSettings};
use console_api::{router, serve, Authenticator, Console};
use domain::ledger::SyncState;
use domain::ports::{SyncLedger, TaskKey};
use domain::variance::BalanceKey;
use serde_json::{json, Value};
use std::sync::Arc;
use test_harness::{EnvOptions, TestEnv};
use testkit::build;
use testkit::seed::{seed_console, SeedPlan};

fn task_path(dc: &str, n: usize) -> String {
    let key = TaskKey::balance(&BalanceKey::new(
        build::dc(dc),
        build::item(&format!("SEED-T{n}")),
        build::sub("STORES"),
        None,
    ));
    format!("/api/v1/dcs/{dc}/tasks/{}", console_api::page::seg(&key.to_string()))
}

#[tokio::test]
async fn every_role_works_through_the_aws_stores_with_cognito_tokens() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 50,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let ports = env.console_ports().unwrap();
    let d1 = env.dc(0);
    let d2 = env.dc(1);
    let plan = SeedPlan {
        dcs: vec![d1.clone(), d2.clone()],
        open_tasks: 4,
        holds: 0,
        failed_txns: 4,
        hold_items: Vec::new(),
    };
    seed_console(&ports, &plan, Utc::now()).await.unwrap();
    holds::hold_items(&env, &ports, &d1, 2).await;
    let pool = LocalPool::create().await;
    let console = Arc::new(Console {
        service: ConsoleService::new(ports, ConsoleSettings::default()),
        auth: Authenticator {
            jwks: Some(pool.verifier()),
            ..Authenticator::default()
        },
        known_dcs: vec![d1.clone(), d2.clone()],
    });
    let (addr, _server) = serve(router(console.clone()), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let dc1 = d1.as_str().to_string();
    let dc2 = d2.as_str().to_string();
    let ann = pool.user_token("ann", &["supervisor"], &dc1).await;
    let bob = pool.user_token("bob", &["supervisor"], &dc1).await;
    let mia = pool.user_token("mia", &["manager"], &format!("{dc1},{dc2}")).await;
    let ivy = pool.user_token("ivy", &["integration"], "*").await;
    let get = |t: &str, path: String| http.get(format!("{base}{path}")).bearer_auth(t).send();
    let post =
        |t: &str, path: String, body: Value| http.post(format!("{base}{path}")).bearer_auth(t).json(&body).send();

    // Identity from the pool's token.
    let me: Value = get(&ann, "/api/v1/me".into()).await.unwrap().json().await.unwrap();
    assert_eq!(me["user"], "ann");
    assert_eq!(me["roles"], json!(["supervisor"]));
    // No token, a tampered one: 401.
    let r = http
        .get(format!("{base}/api/v1/dcs/{dc1}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let mut tampered = ann.clone();
    tampered.replace_range(tampered.len() - 6.., "AAAAAA");
    assert_eq!(
        get(&tampered, format!("/api/v1/dcs/{dc1}/dashboard"))
            .await
            .unwrap()
            .status(),
        401
    );

    // Scope: ann (DC01) cannot read or resolve DC02's task.
    assert_eq!(
        get(&ann, format!("/api/v1/dcs/{dc1}/dashboard"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get(&ann, format!("/api/v1/dcs/{dc2}/tasks")).await.unwrap().status(),
        403
    );
    assert_eq!(get(&ann, task_path(&dc2, 1)).await.unwrap().status(), 404);
    let r = post(
        &ann,
        format!("{}/resolve", task_path(&dc2, 1)),
        json!({"version": 0, "resolution": {"type": "recount_requested"}}),
    );
    assert_eq!(r.await.unwrap().status(), 404);
    // Wrong role: 403.
    let r = post(&mia, format!("{}/claim", task_path(&dc1, 0)), json!({}));
    assert_eq!(r.await.unwrap().status(), 403);

    // Concurrent resolve on the conditional writes of the task table: one 200, one 409.
    let body = |reason: &str| json!({"version": 0, "resolution": {"type": "close", "reason": reason}});
    let (a, b) = tokio::join!(
        post(&ann, format!("{}/resolve", task_path(&dc1, 0)), body("counted: fine")),
        post(&bob, format!("{}/resolve", task_path(&dc1, 0)), body("duplicate"))
    );
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let r = post(
        &ann,
        format!("{}/resolve", task_path(&dc1, 2)),
        json!({"version": 0, "resolution": {"type": "recount_requested"}}),
    );
    assert_eq!(r.await.unwrap().status(), 200);

    // The manager releases a hold at the WMS simulator and acknowledges an incident.
    let holds: Value = get(&mia, format!("/api/v1/dcs/{dc1}/holds"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = holds[0]["item"].as_str().unwrap().to_string();
    let r = post(
        &mia,
        format!("/api/v1/dcs/{dc1}/holds/{item}/release"),
        json!({"reason": "recounted"}),
    );
    assert_eq!(r.await.unwrap().status(), 200);
    let holds: Value = get(&mia, format!("/api/v1/dcs/{dc1}/holds"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(holds.as_array().unwrap().iter().all(|h| h["item"] != item.as_str()));
    let incidents: Value = get(&mia, format!("/api/v1/dcs/{dc1}/incidents"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = incidents["items"][0]["incident"]["id"].as_str().unwrap().to_string();
    let r = post(&mia, format!("/api/v1/dcs/{dc1}/incidents/{id}/acknowledge"), json!({}));
    assert_eq!(r.await.unwrap().status(), 200);

    // The integration team retries one, closes one, retries the rest by filter, on DC02.
    let failed: Value = get(&ivy, format!("/api/v1/dcs/{dc2}/txns?kind=sync_failed&limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(failed["items"].as_array().unwrap().len(), 1);
    assert!(failed["next"].is_string(), "paged with DynamoDB's cursor");
    let first = failed["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        post(&ivy, format!("/api/v1/dcs/{dc2}/txns/{first}/retry"), json!({}))
            .await
            .unwrap()
            .status(),
        200
    );
    let ledger = &console.service.ports().engine.ledger;
    let row = ledger.get(&d2, &first).await.unwrap().unwrap();
    assert_eq!(row.entry.state, SyncState::PendingSync);
    let rest: Value = get(&ivy, format!("/api/v1/dcs/{dc2}/txns?kind=sync_failed"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = rest["items"][0]["id"].as_str().unwrap().to_string();
    let r = post(
        &ivy,
        format!("/api/v1/dcs/{dc2}/txns/{other}/close"),
        json!({"reason": "keyed in by hand"}),
    );
    assert_eq!(r.await.unwrap().status(), 200);
    let summary: Value = post(
        &ivy,
        format!("/api/v1/dcs/{dc2}/txns/retry"),
        json!({"state": "sync_failed"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        summary["retried"].as_array().unwrap().len(),
        0,
        "DC02 had two failures: one retried, one closed"
    );

    // Every action is in the AWS audit table, newest first.
    let audit: Value = get(&ivy, format!("/api/v1/dcs/{dc1}/audit"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors.len(), 4, "{audit}");
    assert_eq!(actors.iter().filter(|a| **a == "mia").count(), 2);
    let audit2: Value = get(&ivy, format!("/api/v1/dcs/{dc2}/audit"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit2["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(&ivy, format!("/api/v1/dcs/{dc2}/runs?kind=reconcile"))
            .await
            .unwrap()
            .status(),
        200
    );
}
