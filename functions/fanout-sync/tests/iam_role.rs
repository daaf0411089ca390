//! fanout-sync under its own role, on the IAM-enforcing moto (`scripts/test.sh` starts it): the
//! real handler with the queue clients a container running as FanoutSyncRole builds, for both
//! fan-outs. A call the role does not allow fails here with the action's name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::DcCode;
use fanout_sync::handler::{handle, Deps};
use serde_json::Value;
use std::time::Duration;
use test_harness::{context, EnvOptions, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fan_out_runs_under_its_role() {
    let env = TestEnv::spawn_under_iam(EnvOptions {
        dcs: 3,
        items: 50,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let session = env.function("fanout-sync").await.unwrap();
    assert_eq!(session.role, "FanoutSyncRole");
    let queue_url = env.provisioned.queue_url("SyncQueue").unwrap().to_string();
    let reconcile_url = env.provisioned.queue_url("ReconcileQueue").unwrap().to_string();
    let dcs: Vec<DcCode> = (0..3).map(|i| env.dc(i)).collect();
    env.mark_live(&dcs).await.unwrap();
    let client = aws_sdk_sqs::Client::new(&session.sdk);
    let deps = Deps {
        dcs: dcs.clone(),
        queue: adapters::aws::SqsSyncQueue::new(client.clone(), queue_url.clone()),
        reconcile_queue: Some(adapters::aws::SqsSyncQueue::new(client, reconcile_url.clone())),
        statuses: env.dc_status_as(&session).unwrap(),
    };
    let scheduled: Value = serde_json::from_str(include_str!("../../../events/fanout-sync/scheduled.json")).unwrap();
    let out = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(scheduled, context("fire-iam", Duration::from_secs(30))),
    )
    .await;
    let out = env.granted(&session, out);
    assert_eq!(out.sent, 3, "{out:?}");

    // Read back by the set-up: one message per DC.
    let got = aws_sdk_sqs::Client::new(&env.sdk)
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 3);

    let reconcile: Value =
        serde_json::from_str(include_str!("../../../events/fanout-sync/scheduled-reconcile.json")).unwrap();
    let out = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(reconcile, context("fire-iam-reconcile", Duration::from_secs(30))),
    )
    .await;
    let out = env.granted(&session, out);
    assert_eq!((out.sent, out.slot.as_str()), (3, "2026-11-26T23:15Z"), "{out:?}");
    let got = aws_sdk_sqs::Client::new(&env.sdk)
        .receive_message()
        .queue_url(&reconcile_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 3);

    env.assert_only_granted(&session);
    let exercised = session.exercised(&env.calls(), &env.logical_ids());
    assert_eq!(
        exercised,
        [
            ("DcStatusTable".to_string(), "dynamodb:Scan".to_string()),
            ("ReconcileQueue".to_string(), "sqs:SendMessage".to_string()),
            ("SyncQueue".to_string(), "sqs:SendMessage".to_string())
        ]
        .into(),
        "the fan-outs call exactly SendMessageBatch (authorized as sqs:SendMessage) on the sync and reconcile queues, and one Scan of the DC statuses"
    );
}
