//! The JSON API over real HTTP (the router on 127.0.0.1, port 0) on testkit's fakes: every
//! operation, every authorization rule (401, 403 by role, a DC outside the scope), the
//! concurrent resolve (one 2xx, one 409), ETag / If-Match and the typed error bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dc, seg, task_key, Stack};
use console_api::api::ErrorBody;
use domain::console::{Role, TaskStatus};
use domain::ledger::SyncState;
use serde_json::{json, Value};

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: ErrorBody = r.json().await.unwrap();
    (status, body.error.code)
}

fn task_path(dc_code: &str, n: usize) -> String {
    format!("/api/v1/dcs/{dc_code}/tasks/{}", seg(&task_key(dc_code, n).to_string()))
}

#[tokio::test]
async fn no_or_a_bad_token_is_401_on_every_route() {
    let s = Stack::spawn(2).await;
    let t = task_path("DC01", 0);
    let gets = [
        "/api/v1/me".to_string(),
        "/api/v1/dcs/DC01/dashboard".into(),
        "/api/v1/dcs/DC01/tasks".into(),
        t.clone(),
        "/api/v1/dcs/DC01/holds".into(),
        "/api/v1/dcs/DC01/incidents".into(),
        "/api/v1/dcs/DC01/txns".into(),
        "/api/v1/dcs/DC01/runs".into(),
        "/api/v1/dcs/DC01/audit".into(),
    ];
    for path in &gets {
        assert_eq!(
            error_of(s.get(None, path).await).await,
            (401, "unauthenticated".into()),
            "{path}"
        );
        assert_eq!(error_of(s.get(Some("not.a.token"), path).await).await.0, 401, "{path}");
    }
    let posts = [
        (format!("{t}/claim"), json!({})),
        (
            format!("{t}/resolve"),
            json!({"version": 0, "resolution": {"type": "adjust"}}),
        ),
        ("/api/v1/dcs/DC01/holds/SEED-H0/release".into(), json!({"reason": "x"})),
        ("/api/v1/dcs/DC01/txns/SEED-F0/retry".into(), json!({})),
        ("/api/v1/dcs/DC01/txns/retry".into(), json!({"state": "sync_failed"})),
        ("/api/v1/dcs/DC01/txns/SEED-F0/close".into(), json!({"reason": "x"})),
    ];
    for (path, body) in &posts {
        let r = s.post(None, path, body.clone()).await;
        assert_eq!(
            r.headers().get("www-authenticate").map(|v| v.to_str().unwrap()),
            Some("Bearer")
        );
        assert_eq!(error_of(r).await, (401, "unauthenticated".into()), "{path}");
    }
    // Nothing happened.
    assert!(s.ports().audit.entries().is_empty());
}

#[tokio::test]
async fn a_wrong_role_is_403() {
    let s = Stack::spawn(2).await;
    let manager = s.token("mia", Role::Manager, "*");
    let supervisor = s.token("ann", Role::Supervisor, "*");
    let integration = s.token("ivy", Role::Integration, "*");
    let t = task_path("DC01", 0);
    let incident = format!(
        "/api/v1/dcs/DC01/incidents/{}/acknowledge",
        seg(s.seeded.incidents[0].id.as_str())
    );
    let cases = [
        (&manager, format!("{t}/claim"), json!({})),
        (
            &manager,
            format!("{t}/resolve"),
            json!({"version": 0, "resolution": {"type": "adjust"}}),
        ),
        (
            &supervisor,
            "/api/v1/dcs/DC01/holds/SEED-H0/release".into(),
            json!({"reason": "x"}),
        ),
        (&integration, incident, json!({})),
        (&supervisor, "/api/v1/dcs/DC01/txns/SEED-F0/retry".into(), json!({})),
        (
            &manager,
            "/api/v1/dcs/DC01/txns/retry".into(),
            json!({"state": "sync_failed"}),
        ),
        (
            &supervisor,
            "/api/v1/dcs/DC01/txns/SEED-F0/close".into(),
            json!({"reason": "x"}),
        ),
    ];
    for (token, path, body) in &cases {
        let (status, code) = error_of(s.post(Some(token), path, body.clone()).await).await;
        assert_eq!((status, code.as_str()), (403, "forbidden"), "{path}");
    }
    assert_eq!(
        error_of(s.get(Some(&integration), "/api/v1/dcs/DC01/tasks").await)
            .await
            .0,
        403
    );
    assert_eq!(
        error_of(s.get(Some(&integration), "/api/v1/dcs/DC01/holds").await)
            .await
            .0,
        403
    );
    // A user in no console group can do nothing but sign in.
    let nobody = s
        .console
        .auth
        .dev
        .as_ref()
        .unwrap()
        .mint(&domain::console::UserId::parse("zed").unwrap(), &[], "*")
        .unwrap();
    assert_eq!(
        error_of(s.get(Some(&nobody), "/api/v1/dcs/DC01/dashboard").await)
            .await
            .0,
        403
    );
    assert!(s.ports().audit.entries().is_empty());
}

#[tokio::test]
async fn a_supervisor_of_dc01_cannot_read_or_resolve_dc02s_tasks() {
    let s = Stack::spawn(2).await;
    let ann = s.token("ann", Role::Supervisor, "DC01");
    let theirs = task_path("DC02", 1);
    assert_eq!(
        error_of(s.get(Some(&ann), &theirs).await).await,
        (404, "not_found".into())
    );
    let r = s
        .post(
            Some(&ann),
            &format!("{theirs}/resolve"),
            json!({"version": 0, "resolution": {"type": "adjust"}}),
        )
        .await;
    assert_eq!(error_of(r).await, (404, "not_found".into()));
    assert_eq!(
        error_of(s.post(Some(&ann), &format!("{theirs}/claim"), json!({})).await)
            .await
            .0,
        404
    );
    assert_eq!(
        error_of(s.get(Some(&ann), "/api/v1/dcs/DC02/tasks").await).await,
        (403, "forbidden".into())
    );
    assert_eq!(
        error_of(s.get(Some(&ann), "/api/v1/dcs/DC02/dashboard").await).await.0,
        403
    );
    // Their own DC works.
    assert_eq!(s.get(Some(&ann), &task_path("DC01", 0)).await.status(), 200);
    assert!(s.ports().audit.entries().is_empty());
}

#[tokio::test]
async fn two_people_resolving_the_same_task_get_one_success_and_one_409() {
    let s = Stack::spawn(2).await;
    let ann = s.token("ann", Role::Supervisor, "DC01");
    let bob = s.token("bob", Role::Supervisor, "DC01");
    let path = task_path("DC01", 0);
    let seen = s.get(Some(&ann), &path).await;
    let etag = seen.headers().get("etag").unwrap().to_str().unwrap().to_string();
    assert_eq!(etag, "\"v0\"");
    let send = |token: String, reason: &'static str| {
        let req = s
            .http
            .post(format!("{}{path}/resolve", s.base))
            .bearer_auth(token)
            .header("if-match", etag.clone())
            .json(&json!({"resolution": {"type": "close", "reason": reason}}));
        async move { req.send().await.unwrap() }
    };
    let (a, b) = tokio::join!(
        send(ann.clone(), "counted again: fine"),
        send(bob, "duplicate of another task")
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let loser = if a.status() == 409 { a } else { b };
    assert_eq!(error_of(loser).await.1, "conflict");
    assert_eq!(s.ports().audit.entries().len(), 1);
    // A stale version is 409 too.
    let r = s
        .http
        .post(format!("{}{path}/resolve", s.base))
        .bearer_auth(&ann)
        .header("if-match", "\"v7\"")
        .json(&json!({"resolution": {"type": "recount_requested"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn tasks_list_page_by_cursor_and_claim_then_resolve_by_adjustment() {
    let s = Stack::spawn(3).await;
    let ann = s.token("ann", Role::Supervisor, "DC01");
    let first: Value = s
        .get(Some(&ann), "/api/v1/dcs/DC01/tasks?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next"].as_str().unwrap();
    let second: Value = s
        .get(
            Some(&ann),
            &format!("/api/v1/dcs/DC01/tasks?limit=2&cursor={}", seg(cursor)),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null());
    assert_eq!(
        error_of(s.get(Some(&ann), "/api/v1/dcs/DC01/tasks?cursor=garbage").await)
            .await
            .0,
        400
    );
    assert_eq!(
        error_of(s.get(Some(&ann), "/api/v1/dcs/DC01/tasks?status=nope").await)
            .await
            .0,
        400
    );

    let path = task_path("DC01", 0);
    let detail: Value = s.get(Some(&ann), &path).await.json().await.unwrap();
    assert_eq!(detail["figures"]["wms"], "110");
    assert_eq!(detail["figures"]["fusion"], "100");
    let claimed = s.post(Some(&ann), &format!("{path}/claim"), json!({})).await;
    assert_eq!(claimed.status(), 200);
    let etag = claimed.headers().get("etag").unwrap().to_str().unwrap().to_string();
    let claimed: Value = claimed.json().await.unwrap();
    assert_eq!(claimed["state"]["status"], "claimed");
    let bob = s.token("bob", Role::Supervisor, "DC01");
    assert_eq!(
        error_of(s.post(Some(&bob), &format!("{path}/claim"), json!({})).await)
            .await
            .0,
        409
    );

    let version: u64 = etag.trim_matches('"').trim_start_matches('v').parse().unwrap();
    let body = json!({"version": version, "resolution": {"type": "adjust"}});
    let r = s.post(Some(&ann), &format!("{path}/resolve"), body.clone()).await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    let adj = out["adjustment"]["id"].as_str().unwrap().to_string();
    assert_eq!(out["adjustment"]["quantity"], "10");
    // Posted once, through the ledger; a second click answers the same and posts nothing.
    let again: Value = s
        .post(Some(&ann), &format!("{path}/resolve"), body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["adjustment"]["id"], adj.as_str());
    assert_eq!(s.ports().fusion.posts_of(&adj).len(), 1);
    assert_eq!(s.ports().ledger.state_of(&dc("DC01"), &adj), Some(SyncState::Synced));
    let after: Value = s.get(Some(&ann), &path).await.json().await.unwrap();
    assert_eq!(
        after["task"]["state"]["status"],
        serde_json::to_value(TaskStatus::Closed).unwrap()
    );
    // Recount and close on other tasks.
    let r = s
        .post(
            Some(&ann),
            &format!("{}/resolve", task_path("DC01", 2)),
            json!({"version": 0, "resolution": {"type": "recount_requested"}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = s
        .post(
            Some(&ann),
            &format!("{}/resolve", task_path("DC01", 4)),
            json!({"version": 0, "resolution": {"type": "close", "reason": "  "}}),
        )
        .await;
    assert_eq!(error_of(r).await.0, 400, "a blank reason");
    let audit: Value = s.get(Some(&ann), "/api/v1/dcs/DC01/audit").await.json().await.unwrap();
    // One entry per state change, newest first: the claim (v1), the adjustment (v2, resolving),
    // the close once Fusion processed it (v3), the recount on another task. The second click
    // changed nothing and wrote nothing.
    let ids: Vec<String> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap();
            format!("{}{}", &id[..id.find(":task:").unwrap()], &id[id.rfind('/').unwrap()..])
        })
        .collect();
    assert_eq!(
        ids,
        ["resolve_task/v1", "resolve_task/v3", "resolve_task/v2", "claim_task/v1"],
        "{audit}"
    );
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let s = Stack::spawn(1).await;
    let ann = s.token("ann", Role::Supervisor, "DC01");
    let path = format!("{}/resolve", task_path("DC01", 0));
    let no_version = s
        .post(Some(&ann), &path, json!({"resolution": {"type": "adjust"}}))
        .await;
    let body: ErrorBody = no_version.json().await.unwrap();
    assert_eq!(body.error.code, "bad_request");
    assert!(body.error.message.contains("version"), "{}", body.error.message);
    let r = s
        .http
        .post(format!("{}{path}", s.base))
        .bearer_auth(&ann)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 400);
    assert_eq!(
        error_of(s.get(Some(&ann), "/api/v1/dcs/not%20a%20dc/dashboard").await)
            .await
            .0,
        400
    );
    assert_eq!(
        error_of(s.get(Some(&ann), "/api/v1/dcs/DC01/tasks/nonsense").await)
            .await
            .0,
        400
    );
    assert_eq!(error_of(s.get(Some(&ann), "/api/v1/nowhere").await).await.0, 404);
}

#[tokio::test]
async fn a_manager_lists_holds_releases_one_and_acknowledges_an_incident() {
    let s = Stack::spawn(2).await;
    let mia = s.token("mia", Role::Manager, "DC01");
    let holds: Value = s.get(Some(&mia), "/api/v1/dcs/DC01/holds").await.json().await.unwrap();
    assert_eq!(holds.as_array().unwrap().len(), 2);
    let r = s
        .post(
            Some(&mia),
            "/api/v1/dcs/DC01/holds/SEED-H0/release",
            json!({"reason": "counted: stock is right"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["released_now"], true);
    let twice: Value = s
        .post(
            Some(&mia),
            "/api/v1/dcs/DC01/holds/SEED-H0/release",
            json!({"reason": "counted: stock is right"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(twice["released_now"], false);
    let holds: Value = s.get(Some(&mia), "/api/v1/dcs/DC01/holds").await.json().await.unwrap();
    assert_eq!(holds.as_array().unwrap().len(), 1);
    assert_eq!(
        error_of(
            s.post(Some(&mia), "/api/v1/dcs/DC01/holds/SEED-H0/release", json!({}))
                .await
        )
        .await
        .0,
        400
    );

    let incidents: Value = s
        .get(Some(&mia), "/api/v1/dcs/DC01/incidents")
        .await
        .json()
        .await
        .unwrap();
    let id = incidents["items"][0]["incident"]["id"].as_str().unwrap().to_string();
    let r = s
        .post(
            Some(&mia),
            &format!("/api/v1/dcs/DC01/incidents/{}/acknowledge", seg(&id)),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let acked: Value = r.json().await.unwrap();
    assert_eq!(acked["acknowledged"][0], "mia");
    let audit: Value = s.get(Some(&mia), "/api/v1/dcs/DC01/audit").await.json().await.unwrap();
    assert_eq!(
        audit["items"].as_array().unwrap().len(),
        2,
        "release and acknowledge, once each"
    );
}

#[tokio::test]
async fn the_integration_team_retries_and_closes_failed_transactions() {
    let s = Stack::spawn(3).await;
    let ivy = s.token("ivy", Role::Integration, "*");
    let d = dc("DC01");
    let failed: Value = s
        .get(Some(&ivy), "/api/v1/dcs/DC01/txns?kind=sync_failed")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        failed["items"][0]["error"].as_str().is_some(),
        "Fusion's own error text"
    );

    let r = s
        .post(
            Some(&ivy),
            &format!("/api/v1/dcs/DC01/txns/{}/retry", ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.ports().ledger.state_of(&d, &ids[0]), Some(SyncState::PendingSync));
    let r = s
        .post(
            Some(&ivy),
            &format!("/api/v1/dcs/DC01/txns/{}/close", ids[1]),
            json!({"reason": "keyed in Fusion by hand"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.ports().ledger.state_of(&d, &ids[1]), Some(SyncState::HandledOutside));
    let summary: Value = s
        .post(
            Some(&ivy),
            "/api/v1/dcs/DC01/txns/retry",
            json!({"state": "sync_failed"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["retried"].as_array().unwrap().len(), 1);
    assert_eq!(s.ports().ledger.state_of(&d, &ids[2]), Some(SyncState::PendingSync));
    // Closing a row that is no longer failed is a conflict.
    let r = s
        .post(
            Some(&ivy),
            &format!("/api/v1/dcs/DC01/txns/{}/close", ids[0]),
            json!({"reason": "late"}),
        )
        .await;
    assert_eq!(error_of(r).await.0, 409);
    for kind in ["manual_review", "stale_in_flight", "stale_accepted"] {
        assert_eq!(
            s.get(Some(&ivy), &format!("/api/v1/dcs/DC01/txns?kind={kind}"))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn everyone_reads_the_dashboard_runs_and_audit_of_their_dcs() {
    let s = Stack::spawn(1).await;
    for role in [Role::Supervisor, Role::Manager, Role::Integration] {
        let t = s.token("u", role, "DC01");
        let dash: Value = s
            .get(Some(&t), "/api/v1/dcs/DC01/dashboard")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(dash["open_tasks"], 1, "{role}");
        assert_eq!(dash["active_holds"], 1);
        assert!(dash["accuracy_7d"].as_array().unwrap().len() > dash["accuracy_24h"].as_array().unwrap().len());
        let runs: Value = s
            .get(Some(&t), "/api/v1/dcs/DC01/runs?kind=reconcile&limit=5")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(runs["items"].as_array().unwrap().len(), 5);
        assert!(runs["next"].is_string());
        assert_eq!(s.get(Some(&t), "/api/v1/dcs/DC01/runs?kind=sync").await.status(), 200);
        assert_eq!(s.get(Some(&t), "/api/v1/dcs/DC01/audit").await.status(), 200);
        let me: Value = s.get(Some(&t), "/api/v1/me").await.json().await.unwrap();
        assert_eq!(me["user"], "u");
    }
    let t = s.token("u", Role::Integration, "DC01");
    assert_eq!(
        error_of(s.get(Some(&t), "/api/v1/dcs/DC01/runs?kind=weekly").await)
            .await
            .0,
        400
    );
}
