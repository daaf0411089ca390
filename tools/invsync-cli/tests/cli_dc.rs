//! `invsync dc status|maintenance|resume|declare-live` as the real binary against moto: the
//! status of every configured DC, each move a conditional write that the go-live rules check,
//! refusals with their exit codes, and every change in the audit trail. The `dc` commands are
//! given only the DC status and audit tables.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Invsync;
use domain::golive::DcStatus;
use domain::ports::DcStatusBoard;
use invsync_cli::exit;
use serde_json::Value;
use test_harness::{EnvOptions, TestEnv};

fn statuses(doc: &Value) -> Vec<(String, String)> {
    doc["dcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dc"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reads_every_dc_takes_one_out_for_maintenance_and_back_and_every_move_is_audited() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 2,
        items: 20,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let cli = Invsync::for_env(&env).unwrap().with_var("DC_LIST", "DC01,DC02");
    // Only what the `dc` commands read: no Fusion, WMS or engine tables.
    let audit = env.provisioned.table("AuditTable").unwrap().to_string();
    let status_table = env.provisioned.table("DcStatusTable").unwrap().to_string();
    let bare = Invsync::bare(&[
        ("AUDIT_TABLE", audit.as_str()),
        ("DC_STATUS_TABLE", status_table.as_str()),
        ("DC_LIST", "DC01,DC02"),
    ]);

    // 1. Nobody has touched a DC: both not started, held.
    let doc = bare.json(&["dc", "status"]).await;
    assert_eq!(
        statuses(&doc),
        [
            ("DC01".into(), "not_started".into()),
            ("DC02".into(), "not_started".into())
        ]
    );
    let text = bare.text(&["dc", "status"]).await;
    assert!(
        text.contains("report only") && text.contains("0 of 2 DC(s) live"),
        "{text}"
    );

    // 2. DC01 was synced before go-live statuses: declared live, with a reason.
    let live = bare
        .json(&[
            "dc",
            "declare-live",
            "--dc",
            "DC01",
            "--reason",
            "synced since March",
            "--actor",
            "ops.ann",
        ])
        .await;
    assert_eq!(
        (live["status"].as_str(), live["version"].as_u64()),
        (Some("live"), Some(1))
    );
    assert_eq!(live["changed_by"], "ops.ann");

    // 3. Maintenance needs a reason (usage), then takes DC01 out; a second time is refused.
    bare.run(&["dc", "maintenance", "--dc", "DC01"]).await.failed(2);
    let m = bare
        .json(&[
            "dc",
            "maintenance",
            "--dc",
            "DC01",
            "--reason",
            "WMS upgrade",
            "--actor",
            "ops.ann",
        ])
        .await;
    assert_eq!(
        (m["status"].as_str(), m["reason"].as_str()),
        (Some("maintenance"), Some("WMS upgrade"))
    );
    let again = bare
        .run(&["dc", "maintenance", "--dc", "DC01", "--reason", "again", "--json"])
        .await
        .failed(i32::from(exit::USAGE));
    let message = again.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("cannot move from maintenance to maintenance"),
        "{message}"
    );

    // 4. Resume is only for a DC in maintenance: DC02 (not started) is refused, DC01 resumes.
    let refused = bare
        .run(&["dc", "resume", "--dc", "DC02"])
        .await
        .failed(i32::from(exit::USAGE));
    assert!(refused.stderr.contains("not in maintenance"), "{}", refused.stderr);
    let back = bare.json(&["dc", "resume", "--dc", "DC01", "--actor", "ops.bob"]).await;
    assert_eq!(
        (back["status"].as_str(), back["version"].as_u64()),
        (Some("live"), Some(3))
    );
    let stored = env.dc_status().unwrap().get(&env.dc(0)).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (DcStatus::Live, 3));
    assert_eq!(
        statuses(&bare.json(&["dc", "status"]).await),
        [("DC01".into(), "live".into()), ("DC02".into(), "not_started".into())]
    );

    // 5. The three changes are in DC01's audit trail, with who, before and after.
    let trail = cli.json(&["audit", "--dc", "DC01"]).await;
    let changes: Vec<&Value> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "change_dc_status")
        .collect();
    assert_eq!(changes.len(), 3, "{trail}");
    assert_eq!(changes[0]["actor"], "ops.bob", "newest first: {trail}");
    assert_eq!(changes[0]["before"]["status"], "maintenance");
    assert_eq!(changes[0]["after"]["status"], "live");
    assert_eq!(changes[1]["reason"], "WMS upgrade");
    assert_eq!(changes[2]["target"], "dc:DC01");
}
