//! `invsync tasks ...` as the real binary against moto and both simulators: list, show, claim
//! and resolve in both output formats, each outcome checked in the stores; the exit codes of
//! not found, forbidden, unavailable and usage errors; and two operators resolving the same
//! task at the same version: one success, one conflict (exit 4). Run with
//! `scripts/test.sh -p invsync-cli`.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::{drift, Invsync};
use domain::console::{Action, PageRequest, TaskStatus};
use domain::ports::{AuditLog, ConsolePorts, SyncLedger, TaskBoard, TaskKey};
use domain::reconciliation::{reconcile_dc, ReconcileSettings};
use domain::sync::SyncPorts as _;
use invsync_cli::exit;
use test_harness::{EnvOptions, TestEnv};

fn key_of(list: &serde_json::Value, item: &str) -> String {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .find(|k| k.contains(&format!("/{item}/")))
        .unwrap_or_else(|| panic!("no task for {item} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_list_show_claim_and_resolve_by_adjustment_in_both_formats() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 200,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let cli = Invsync::for_env(&env).unwrap();
    let ports = env.console_ports().unwrap();
    let dc = env.dc(0);
    let item = drift(&env, &dc, 0, 12);
    reconcile_dc(
        &ports,
        &ReconcileSettings::default(),
        &dc,
        "r1",
        Utc::now() + Duration::minutes(10),
    )
    .await
    .unwrap();

    let text = cli.text(&["--dc", "DC01", "tasks", "list"]).await;
    assert!(
        text.contains(&item) && text.contains("variance") && text.contains("open"),
        "{text}"
    );
    let list = cli.json(&["--dc", "DC01", "tasks", "list", "--kind", "variance"]).await;
    let key = key_of(&list, &item);
    assert!(list["next"].is_null(), "{list}");

    let shown = cli.text(&["--dc", "DC01", "tasks", "show", &key]).await;
    assert!(
        shown.contains("WMS") && shown.contains("Fusion") && shown.contains("in flight"),
        "{shown}"
    );
    let detail = cli.json(&["--dc", "DC01", "tasks", "show", &key]).await;
    assert_eq!(detail["task"]["state"]["version"], 0, "{detail}");
    let f = &detail["figures"];
    assert_ne!(f["wms"], f["fusion"], "{detail}");

    let claimed = cli
        .text(&["--dc", "DC01", "--actor", "ann", "tasks", "claim", &key])
        .await;
    assert!(claimed.contains("claimed") && claimed.contains("ann"), "{claimed}");
    // The same claim again (a double click) answers the same.
    let again = cli
        .json(&["--dc", "DC01", "--actor", "ann", "tasks", "claim", &key])
        .await;
    assert_eq!(again["state"]["status"], "claimed");
    assert_eq!(again["state"]["claimed_by"], "ann");
    let task_key: TaskKey = key.parse().unwrap();
    let stored = ports.board().task(&dc, &task_key).await.unwrap().unwrap();
    assert_eq!(stored.state.status, TaskStatus::Claimed);
    let version = stored.state.version.to_string();

    let resolved = cli
        .text(&[
            "--dc",
            "DC01",
            "--actor",
            "ann",
            "tasks",
            "resolve",
            &key,
            "--if-version",
            &version,
            "--adjust",
        ])
        .await;
    assert!(resolved.contains("adjustment"), "{resolved}");
    // Repeated by the same operator at the same version: the same answer, no second posting.
    let outcome = cli
        .json(&[
            "--dc",
            "DC01",
            "--actor",
            "ann",
            "tasks",
            "resolve",
            &key,
            "--if-version",
            &version,
            "--adjust",
        ])
        .await;
    let adj = outcome["adjustment"]["id"].as_str().unwrap().to_string();
    assert_eq!(outcome["adjustment"]["state"], "synced", "{outcome}");
    assert_eq!(outcome["task"]["state"]["status"], "closed", "{outcome}");
    let row = ports.ledger().get(&dc, &adj).await.unwrap().unwrap();
    assert_eq!(row.entry.attempts, 1, "posted once");
    let stored = ports.board().task(&dc, &task_key).await.unwrap().unwrap();
    assert_eq!(stored.state.status, TaskStatus::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_resolve_at_one_version_is_one_success_and_one_conflict_and_errors_have_codes() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 200,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let cli = Invsync::for_env(&env).unwrap();
    let ports = env.console_ports().unwrap();
    let dc = env.dc(0);
    let item = drift(&env, &dc, 1, 15);
    reconcile_dc(
        &ports,
        &ReconcileSettings::default(),
        &dc,
        "r1",
        Utc::now() + Duration::minutes(10),
    )
    .await
    .unwrap();
    let key = key_of(&cli.json(&["--dc", "DC01", "tasks", "list"]).await, &item);

    let resolve = |actor: &'static str| {
        let (cli, key) = (cli.clone(), key.clone());
        async move {
            cli.run(&[
                "--dc",
                "DC01",
                "--actor",
                actor,
                "tasks",
                "resolve",
                &key,
                "--if-version",
                "0",
                "--recount",
                "--json",
            ])
            .await
        }
    };
    // One after the other: two processes racing on moto could both pass its version
    // condition, which moto checks without a lock (see aws_local::one_at_a_time; DynamoDB is
    // atomic per item). The in-process race on the same store is the console's own test.
    let a = resolve("ann").await;
    let b = resolve("bob").await;
    assert_eq!(a.code, i32::from(exit::OK), "{a:?}");
    assert_eq!(a.json()["task"]["state"]["resolved_by"], "ann");
    let loser = b.failed(exit::CONFLICT.into());
    assert_eq!(loser.json()["error"]["code"], "conflict");
    assert!(loser.stderr.contains("conflict"), "{loser:?}");
    let task_key: TaskKey = key.parse().unwrap();
    let stored = ports.board().task(&dc, &task_key).await.unwrap().unwrap();
    assert_eq!(stored.state.status, TaskStatus::Closed);
    let audit = ports.audit().list_audit(&dc, &PageRequest::first(500)).await.unwrap();
    let resolves = audit
        .items
        .iter()
        .filter(|e| e.action == Action::ResolveTask && e.target == format!("task:{key}"))
        .count();
    assert_eq!(resolves, 1, "{:?}", audit.items);

    // Not found, forbidden, usage: each its own code, in both formats.
    let missing = cli
        .run(&["--dc", "DC01", "tasks", "show", "bal:DC01/NOPE/STORES", "--json"])
        .await;
    assert_eq!(
        missing.failed(exit::NOT_FOUND.into()).json()["error"]["code"],
        "not_found"
    );
    let missing = cli
        .run(&["--dc", "DC01", "tasks", "show", "bal:DC01/NOPE/STORES"])
        .await;
    assert!(missing.failed(exit::NOT_FOUND.into()).stderr.contains("not found"));
    let manager = cli
        .run(&["--dc", "DC01", "--as-role", "manager", "tasks", "claim", &key])
        .await;
    assert!(manager.failed(exit::FORBIDDEN.into()).stderr.contains("forbidden"));
    let manager = cli
        .run(&["--dc", "DC01", "--as-role", "manager", "tasks", "claim", &key, "--json"])
        .await;
    assert_eq!(
        manager.failed(exit::FORBIDDEN.into()).json()["error"]["code"],
        "forbidden"
    );
    // A WMS that does not answer: unavailable (exit 5), retryable.
    let down = cli.with_var("WMS_BASE_URL", "http://127.0.0.1:9");
    let out = down.run(&["--dc", "DC01", "holds", "list", "--json"]).await;
    let err = out.failed(exit::UNAVAILABLE.into()).json();
    assert_eq!(err["error"]["code"], "unavailable");
    assert_eq!(err["error"]["retryable"], true);
    cli.run(&["tasks", "list"]).await.failed(exit::USAGE.into());
    let no_dc = cli.run(&["tasks", "list", "--json"]).await.failed(exit::USAGE.into());
    assert_eq!(no_dc.json()["error"]["code"], "usage");
    cli.run(&["--dc", "DC01", "tasks", "show", "nonsense"])
        .await
        .failed(exit::USAGE.into());
    cli.run(&["--dc", "DC01", "tasks", "resolve", &key, "--if-version", "0"])
        .await
        .failed(exit::USAGE.into());
}
