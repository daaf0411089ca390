//! End-to-end smoke test of one DC sync: moto (AWS), the Fusion and WMS simulators, the real
//! handler called with real SQS event JSON.

use domain::schedule::SyncRequest;
use std::time::Duration;
use sync_inventory::handler::{handle, Deps};
use test_harness::{context, sqs_event, EnvOptions, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_message_syncs_a_dc_and_releases_every_reservation() {
    let env = TestEnv::spawn(EnvOptions::default()).await.unwrap();
    let dc = env.dc(0);
    let txns = env.wms.generate_activity(Some(dc.as_str()), 60).unwrap();
    assert_eq!(txns.len(), 60);
    assert_eq!(env.wms.reservations_count(dc.as_str()), 60);

    let deps = Deps {
        ports: env.ports().unwrap(),
        settings: domain::sync::SyncSettings::default(),
    };
    let body = serde_json::to_string(&SyncRequest {
        dc: dc.clone(),
        slot: "2026-11-26T23:00Z".into(),
        trigger: "schedule".into(),
    })
    .unwrap();
    let event = sqs_event(&[("m-1", body)]).unwrap();
    let resp = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, context("req-1", Duration::from_secs(600))),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0, "every reservation released");
    assert_eq!(env.wms.outbox_len(dc.as_str()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_sync_writes_each_ledger_row_twice_record_with_claim_then_verdict() {
    let env = TestEnv::spawn(EnvOptions::default()).await.unwrap();
    let dc = env.dc(0);
    // Plain items only: a lot seen for the first time adds its lot-map write.
    let plain: Vec<_> = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .filter(|b| b.lot.is_none() && b.serials.is_empty() && b.subinventory == "STORES")
        .take(40)
        .collect();
    let txns: Vec<_> = plain
        .iter()
        .map(|b| {
            env.wms
                .capture(
                    dc.as_str(),
                    test_harness::wms_sim::NewTransaction {
                        kind: "misc_receipt".into(),
                        item: b.item.clone(),
                        subinventory: "STORES".into(),
                        quantity: "3".into(),
                        uom: b.uom.clone(),
                        ..Default::default()
                    },
                )
                .unwrap()
        })
        .collect();
    assert_eq!(txns.len(), 40);
    let ports = env.ports().unwrap();
    let before = ports.writes.get();

    let report = domain::sync::sync_dc(
        &ports,
        &domain::sync::SyncSettings::default(),
        &dc,
        "sync:writes",
        chrono::Utc::now() + chrono::Duration::minutes(10),
    )
    .await
    .unwrap();

    assert_eq!(report.synced, txns.len() as u64, "{report:?}");
    let writes = ports.writes.get() - before;
    // Per run: the DC lease (take, release) and closing any systemic incident (2 conditional
    // updates); per transaction: the created-and-claimed row, then its verdict.
    let overhead = 4;
    assert_eq!(
        writes,
        2 * txns.len() as u64 + overhead,
        "{writes} DynamoDB writes for {} transactions",
        txns.len()
    );
}
