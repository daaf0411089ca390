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
