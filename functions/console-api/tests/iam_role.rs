//! console-api under its own role: every operation of the API, through the ports a container
//! running as ConsoleApiRole builds, on the IAM-enforcing moto (`scripts/test.sh` starts it).
//! The role's policy is the one `infra/template.yaml` writes, so a call the role does not allow
//! fails here with the action's name (`TestEnv::assert_only_granted`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/holds.rs"]
mod holds;

use adapters::aws::{DynamoAuditLog, WriteCounter};
use app::ConsolePortsApp;
use chrono::Utc;
use console::{ConsoleService, ConsoleSettings};
use console_api::{router, serve, Authenticator, Console, DevLogin};
use domain::console::{Role, UserId};
use domain::ports::TaskKey;
use domain::variance::BalanceKey;
use serde_json::{json, Value};
use std::sync::Arc;
use test_harness::{EnvOptions, TestEnv};
use testkit::build;
use testkit::seed::{seed_console, SeedPlan};

const FUNCTION: &str = "console-api";

#[tokio::test]
async fn every_api_operation_needs_only_what_the_role_grants() {
    let env = TestEnv::spawn_under_iam(EnvOptions {
        dcs: 1,
        items: 20,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let d = env.dc(0);
    let plan = SeedPlan {
        dcs: vec![d.clone()],
        open_tasks: 3,
        holds: 0,
        failed_txns: 3,
        hold_items: Vec::new(),
    };
    // Seeded as the administrator, before the function's session starts.
    let admin = env.console_ports().unwrap();
    seed_console(&admin, &plan, Utc::now()).await.unwrap();
    holds::hold_items(&env, &admin, &d, 2).await;

    let session = env.function(FUNCTION).await.unwrap();
    let audit_table = env
        .logical_ids()
        .into_iter()
        .find(|(physical, logical)| logical == "AuditTable" && !physical.starts_with("arn:"))
        .map(|(physical, _)| physical)
        .unwrap();
    let audit = DynamoAuditLog::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        audit_table,
        WriteCounter::new(),
    );
    let ports = ConsolePortsApp::new(env.ports_as(&session).unwrap(), audit);
    let dev = DevLogin::new();
    let token = |role: Role| dev.mint(&UserId::parse("op").unwrap(), &[role], "*").unwrap();
    let (sup, mgr, int) = (token(Role::Supervisor), token(Role::Manager), token(Role::Integration));
    let console = Arc::new(Console {
        service: ConsoleService::new(ports, ConsoleSettings::default()),
        auth: Authenticator {
            dev: Some(dev),
            ..Authenticator::default()
        },
        known_dcs: vec![d.clone()],
    });
    let (addr, _server) = serve(router(console), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{addr}/api/v1/dcs/{}", d.as_str());
    let http = reqwest::Client::new();
    let ok = |r: reqwest::Response| async move {
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    let get = |t: &str, p: &str| http.get(format!("{base}{p}")).bearer_auth(t).send();
    let post = |t: &str, p: String, b: Value| http.post(format!("{base}{p}")).bearer_auth(t).json(&b).send();
    let task = |n: usize| {
        let key = TaskKey::balance(&BalanceKey::new(
            d.clone(),
            build::item(&format!("SEED-T{n}")),
            build::sub("STORES"),
            None,
        ));
        format!("/tasks/{}", console_api::page::seg(&key.to_string()))
    };

    for t in [&sup, &mgr, &int] {
        ok(get(t, "/dashboard").await.unwrap()).await;
        ok(get(t, "/runs?kind=reconcile").await.unwrap()).await;
        ok(get(t, "/runs?kind=sync").await.unwrap()).await;
        ok(get(t, "/audit").await.unwrap()).await;
        for kind in ["sync_failed", "manual_review", "stale_in_flight", "stale_accepted"] {
            ok(get(t, &format!("/txns?kind={kind}")).await.unwrap()).await;
        }
    }
    ok(get(&sup, "/tasks").await.unwrap()).await;
    ok(get(&sup, &task(0)).await.unwrap()).await;
    let claimed = ok(post(&sup, format!("{}/claim", task(0)), json!({})).await.unwrap()).await;
    let version = claimed["state"]["version"].clone();
    ok(post(
        &sup,
        format!("{}/resolve", task(0)),
        json!({"version": version, "resolution": {"type": "recount_requested"}}),
    )
    .await
    .unwrap())
    .await;
    ok(post(
        &sup,
        format!("{}/resolve", task(1)),
        json!({"version": 0, "resolution": {"type": "close", "reason": "dup"}}),
    )
    .await
    .unwrap())
    .await;
    let holds = ok(get(&mgr, "/holds").await.unwrap()).await;
    let item = holds[0]["item"].as_str().unwrap().to_string();
    ok(
        post(&mgr, format!("/holds/{item}/release"), json!({"reason": "recounted"}))
            .await
            .unwrap(),
    )
    .await;
    let incidents = ok(get(&mgr, "/incidents").await.unwrap()).await;
    let id = incidents["items"][0]["incident"]["id"].as_str().unwrap().to_string();
    ok(post(&mgr, format!("/incidents/{id}/acknowledge"), json!({}))
        .await
        .unwrap())
    .await;
    ok(post(&int, "/txns/SEED-F0/retry".into(), json!({})).await.unwrap()).await;
    ok(post(&int, "/txns/SEED-F1/close".into(), json!({"reason": "by hand"}))
        .await
        .unwrap())
    .await;
    ok(post(&int, "/txns/retry".into(), json!({"state": "sync_failed"}))
        .await
        .unwrap())
    .await;

    env.assert_only_granted(&session);
}
