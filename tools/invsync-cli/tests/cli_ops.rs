//! `invsync holds|incidents|syncs|runs|audit|dashboard|discrepancies` as the real binary against
//! moto and both simulators, seeded with the console's seeding helper: every command in both
//! output formats, each action's outcome checked in the stores (WMS holds, incident marks,
//! ledger states) and in the audit trail, repeats answering as the first did, and refusals with
//! their exit codes. Run with `scripts/test.sh -p invsync-cli`.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::{drift, Invsync};
use domain::ledger::SyncState;
use domain::ports::{ConsolePorts as _, IncidentBoard, Incidents, RunKind, RunReport, RunReports, SyncLedger};
use domain::reconciliation::ReconcilePorts as _;
use domain::reconciliation::{reconcile_dc, ReconcileSettings};
use domain::sync::SyncPorts as _;
use invsync_cli::exit;
use serde_json::Value;
use std::collections::BTreeMap;
use test_harness::{EnvOptions, TestEnv};
use testkit::seed::{seed_console, SeedPlan};

fn ids(list: &Value, field: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.pointer(field).and_then(Value::as_str).unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operations_command_in_both_formats_with_its_outcome_in_the_stores() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 100,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let cli = Invsync::for_env(&env).unwrap();
    let ports = env.console_ports().unwrap();
    let dc = env.dc(0);
    // Three alert-tier variances: the reconciliation opens an incident and places a hold for
    // each (and writes its run report and accuracy point).
    let mut held: Vec<String> = (0..3).map(|n| drift(&env, &dc, n, 80)).collect();
    held.sort();
    reconcile_dc(
        &ports,
        &ReconcileSettings::default(),
        &dc,
        "r1",
        Utc::now() + Duration::minutes(10),
    )
    .await
    .unwrap();
    ports
        .runs()
        .save(&RunReport {
            dc: dc.clone(),
            run_id: "s1".into(),
            kind: RunKind::Sync,
            started_at: Utc::now(),
            duration_ms: 1200,
            figures: BTreeMap::from([("synced".to_string(), 7)]),
            notes: vec![],
        })
        .await
        .unwrap();
    let open = ports.incidents().open_incidents(&dc).await.unwrap();
    assert_eq!(open.len(), 3, "{open:?}");
    let incident = |item: &str| open.iter().find(|i| i.item.as_str() == item).unwrap().clone();
    // Review tasks and failed transactions from the seeding helper; DC01 gets the even
    // numbers: tasks SEED-T0/2/4, failed SEED-F0/2/4.
    let plan = SeedPlan {
        open_tasks: 6,
        holds: 0,
        failed_txns: 6,
        ..SeedPlan::small(2, 0)
    };
    seed_console(&ports, &plan, Utc::now()).await.unwrap();
    // Without --dc, the work-queue lists cover every DC of DC_LIST, every page of each.
    let fleet = cli.with_var("DC_LIST", "DC01,DC02");
    let all = fleet.json(&["syncs", "list", "--limit", "2"]).await;
    assert_eq!(
        ids(&all, "/id"),
        ["SEED-F0", "SEED-F2", "SEED-F4", "SEED-F1", "SEED-F3", "SEED-F5"]
    );
    assert!(all["next"].is_null());
    let text = fleet.text(&["tasks", "list"]).await;
    assert!(text.contains("SEED-T0") && text.contains("SEED-T5"), "{text}");
    assert_eq!(
        fleet.json(&["holds", "list"]).await["items"].as_array().unwrap().len(),
        3
    );
    fleet
        .run(&["tasks", "list", "--cursor", "1"])
        .await
        .failed(exit::USAGE.into());
    fleet.run(&["dashboard"]).await.failed(exit::USAGE.into());
    cli.run(&["syncs", "list"]).await.failed(exit::USAGE.into());

    let d = ["--dc", "DC01"];
    let with = |args: &[&str]| -> Vec<String> { d.iter().chain(args).map(|s| s.to_string()).collect() };
    let (h0, h1) = (held[0].as_str(), held[1].as_str());

    // Holds.
    let text = cli.text(&with(&["holds", "list"])).await;
    assert!(text.contains(h0) && text.contains(incident(h0).id.as_str()), "{text}");
    let holds = cli.json(&with(&["holds", "list"])).await;
    let mut items = ids(&holds, "/item");
    items.sort();
    assert_eq!(items, held);
    assert!(
        holds["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["incident"].is_string()),
        "{holds}"
    );
    let released = cli
        .text(&with(&[
            "--actor",
            "mia",
            "holds",
            "release",
            h0,
            "--reason",
            "shelf checked",
        ]))
        .await;
    assert!(released.contains("released"), "{released}");
    assert!(env.wms.holds("DC01").iter().all(|h| h.item != h0));
    let mark = ports
        .incident_board()
        .incident(&dc, &incident(h0).key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mark.hold_released.unwrap().0.as_str(), "mia");
    let again = cli
        .json(&with(&[
            "--actor",
            "mia",
            "holds",
            "release",
            h0,
            "--reason",
            "shelf checked",
        ]))
        .await;
    assert_eq!(again["released_now"], false, "{again}");
    let refused = cli
        .run(&with(&[
            "--as-role",
            "integration",
            "holds",
            "release",
            h1,
            "--reason",
            "x",
            "--json",
        ]))
        .await;
    assert_eq!(
        refused.failed(exit::FORBIDDEN.into()).json()["error"]["code"],
        "forbidden"
    );

    // Incidents.
    let inc = incident(h1).id.to_string();
    let text = cli.text(&with(&["incidents", "list"])).await;
    assert!(text.contains(&inc), "{text}");
    let list = cli.json(&with(&["incidents", "list", "--limit", "2"])).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let cursor = list["next"].as_str().expect("a second page").to_string();
    let rest = cli
        .json(&with(&["incidents", "list", "--limit", "2", "--cursor", &cursor]))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    let acked = cli.text(&with(&["--actor", "mia", "incidents", "ack", &inc])).await;
    assert!(acked.contains("mia"), "{acked}");
    let acked = cli.json(&with(&["--actor", "mia", "incidents", "ack", &inc])).await;
    assert_eq!(acked["acknowledged"][0], "mia", "{acked}");
    let mark = ports
        .incident_board()
        .incident(&dc, &incident(h1).key)
        .await
        .unwrap()
        .unwrap();
    assert!(mark.acknowledged.is_some());
    cli.run(&with(&["incidents", "ack", "INC-0000000000000000"]))
        .await
        .failed(exit::NOT_FOUND.into());

    // Failed syncs.
    let text = cli.text(&with(&["syncs", "list"])).await;
    assert!(text.contains("SEED-F0") && text.contains("JBO-27014"), "{text}");
    let failed = cli.json(&with(&["syncs", "list", "--state", "sync_failed"])).await;
    assert_eq!(ids(&failed, "/id"), ["SEED-F0", "SEED-F2", "SEED-F4"]);
    assert!(failed["items"][0]["error"].as_str().unwrap().contains("JBO-27014"));
    let retried = cli.text(&with(&["--actor", "raj", "syncs", "retry", "SEED-F0"])).await;
    assert!(retried.contains("pending_sync"), "{retried}");
    let retried = cli.json(&with(&["--actor", "raj", "syncs", "retry", "SEED-F0"])).await;
    assert_eq!(retried["state"], "pending_sync");
    let state = |id: &'static str| {
        let (ports, dc) = (&ports, &dc);
        async move { ports.ledger().get(dc, id).await.unwrap().unwrap().entry.state }
    };
    assert_eq!(state("SEED-F0").await, SyncState::PendingSync);
    let matching = cli
        .text(&with(&[
            "--actor",
            "raj",
            "syncs",
            "retry-matching",
            "--error-contains",
            "seed-i2 is",
        ]))
        .await;
    assert!(
        matching.contains("retried 1") && matching.contains("SEED-F2"),
        "{matching}"
    );
    let matching = cli
        .json(&with(&[
            "--actor",
            "raj",
            "syncs",
            "retry-matching",
            "--error-contains",
            "seed-i2 is",
        ]))
        .await;
    assert_eq!(matching["retried"].as_array().unwrap().len(), 0, "{matching}");
    assert_eq!(state("SEED-F2").await, SyncState::PendingSync);
    let closed = cli
        .text(&with(&[
            "--actor",
            "raj",
            "syncs",
            "close",
            "SEED-F4",
            "--reason",
            "keyed in Fusion by hand",
        ]))
        .await;
    assert!(closed.contains("handled_outside"), "{closed}");
    let closed = cli
        .json(&with(&[
            "--actor",
            "raj",
            "syncs",
            "close",
            "SEED-F4",
            "--reason",
            "keyed in Fusion by hand",
        ]))
        .await;
    assert_eq!(closed["state"], "handled_outside");
    assert_eq!(state("SEED-F4").await, SyncState::HandledOutside);
    cli.run(&with(&["syncs", "retry", "SEED-F4"]))
        .await
        .failed(exit::CONFLICT.into());
    cli.run(&with(&["syncs", "retry", "NO-SUCH"]))
        .await
        .failed(exit::NOT_FOUND.into());
    cli.run(&with(&["--as-role", "supervisor", "syncs", "retry", "SEED-F2"]))
        .await
        .failed(exit::FORBIDDEN.into());

    // Run reports: both kinds by default, one with --kind.
    let text = cli.text(&with(&["runs", "list"])).await;
    assert!(
        text.contains("reconcile") && text.contains("sync") && text.contains("synced=7"),
        "{text}"
    );
    let runs = cli.json(&with(&["runs", "list", "--kind", "reconcile"])).await;
    assert_eq!(ids(&runs, "/kind"), ["reconcile"]);
    assert_eq!(ids(&cli.json(&with(&["runs", "list"])).await, "/kind").len(), 2);
    cli.run(&with(&["runs", "list", "--cursor", "x"]))
        .await
        .failed(exit::USAGE.into());

    // Audit: one entry per action, repeats not counted twice, newest first.
    let text = cli.text(&with(&["audit"])).await;
    assert!(
        text.contains("mia") && text.contains("release_hold") && text.contains("shelf checked"),
        "{text}"
    );
    let audit = cli.json(&with(&["audit"])).await;
    let mut actions = ids(&audit, "/action");
    actions.sort();
    assert_eq!(
        actions,
        [
            "acknowledge_incident",
            "close_txn",
            "release_hold",
            "retry_matching",
            "retry_txn"
        ],
        "{audit}"
    );

    // Dashboard.
    let text = cli.text(&with(&["dashboard"])).await;
    assert!(
        text.contains("open tasks") && text.contains("accuracy 24 h") && text.contains("r1"),
        "{text}"
    );
    let dash = cli.json(&with(&["dashboard"])).await;
    assert_eq!(dash["open_tasks"], 3, "{dash}");
    assert_eq!(dash["active_holds"], 2, "{dash}");
    assert_eq!(dash["last_sync"]["run_id"], "s1", "{dash}");
    assert_eq!(dash["backlog"]["pending_sync"], 2, "{dash}");

    // Discrepancies: variance tasks with WMS vs Fusion vs in flight, incidents with holds.
    let text = cli.text(&with(&["discrepancies"])).await;
    assert!(
        text.contains("SEED-T0") && text.contains("110") && text.contains(&inc),
        "{text}"
    );
    let disc = cli.json(&with(&["discrepancies"])).await;
    let tasks = disc["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3, "{disc}");
    assert_eq!(tasks[0]["figures"]["wms"], "110");
    assert_eq!(tasks[0]["figures"]["fusion"], "100");
    let incidents = disc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 3, "{disc}");
    assert_eq!(
        incidents.iter().filter(|i| i["hold"].is_null()).count(),
        1,
        "{h0} released: {disc}"
    );
}
