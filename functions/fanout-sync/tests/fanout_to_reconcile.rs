//! The 15-minute fan-out end to end on moto: the reconcile schedule's event, fired twice in one
//! quarter hour as EventBridge may do, puts exactly one message per DC on the FIFO reconcile
//! queue (MessageGroupId = DC, deduplication id = DC + slot); those messages, fed to
//! reconcile-stock as an SQS event, reconcile their DCs; delivered again, they change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::MessageSystemAttributeName;
use domain::DcCode;
use fanout_sync::handler::{handle, Deps};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use test_harness::wms_sim::DriftBandsRequest;
use test_harness::{context, sqs_event, EnvOptions, TestEnv};

/// Every message on `queue_url`, deleted as read: group id -> (message id, dedup id, body).
async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            empty += 1;
            continue;
        }
        for m in got.messages() {
            let attr =
                |a: MessageSystemAttributeName| m.attributes().and_then(|x| x.get(&a)).cloned().unwrap_or_default();
            out.push((
                attr(MessageSystemAttributeName::MessageGroupId),
                m.message_id().unwrap_or_default().to_string(),
                attr(MessageSystemAttributeName::MessageDeduplicationId),
                m.body().unwrap_or_default().to_string(),
            ));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
    out
}

/// Adjustments the reconciliation posted to Fusion, by reference, read from the simulator.
async fn adjustments(env: &TestEnv) -> BTreeMap<String, usize> {
    env.fusion_landed_by_reference()
        .await
        .unwrap()
        .into_iter()
        .filter(|(reference, _)| reference.starts_with(domain::reconciliation::ADJUSTMENT_ID_PREFIX))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_fired_reconcile_schedule_sends_one_message_per_dc_and_a_redelivery_acts_once() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 3,
        items: 200,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dcs: Vec<DcCode> = (0..3).map(|i| env.dc(i)).collect();
    env.mark_live(&dcs).await.unwrap();
    env.wms
        .inject_drift_bands(&DriftBandsRequest {
            dc: None,
            small: 6,
            medium: 3,
            large: 0,
            seed: 7,
        })
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let reconcile_url = env.provisioned.queue_url("ReconcileQueue").unwrap().to_string();
    let sync_url = env.provisioned.queue_url("SyncQueue").unwrap().to_string();
    let deps = Deps {
        dcs: dcs.clone(),
        queue: adapters::aws::SqsSyncQueue::new(sqs.clone(), sync_url.clone()),
        reconcile_queue: Some(adapters::aws::SqsSyncQueue::new(sqs.clone(), reconcile_url.clone())),
        statuses: env.dc_status().unwrap(),
    };
    let scheduled: Value =
        serde_json::from_str(include_str!("../../../events/fanout-sync/scheduled-reconcile.json")).unwrap();

    for (request_id, time) in [("fire-1", "2026-11-26T23:20:02Z"), ("fire-2", "2026-11-26T23:20:09Z")] {
        let mut event = scheduled.clone();
        event["event"]["time"] = json!(time);
        let out = handle(
            &deps,
            lambda_runtime::LambdaEvent::new(event, context(request_id, Duration::from_secs(30))),
        )
        .await
        .unwrap();
        assert_eq!((out.sent, out.slot.as_str()), (3, "2026-11-26T23:15Z"), "{out:?}");
    }

    let received = drain(&sqs, &reconcile_url).await;
    assert_eq!(received.len(), 3, "the second firing was deduplicated: {received:?}");
    for (group, _, dedup, body) in &received {
        let parsed: Value = serde_json::from_str(body).unwrap();
        assert_eq!(parsed["dc"], group.as_str(), "MessageGroupId is the DC: {body}");
        assert_eq!(dedup, &format!("{group}:2026-11-26T23:15Z"));
    }
    let mut groups: Vec<&str> = received.iter().map(|(g, ..)| g.as_str()).collect();
    groups.sort_unstable();
    assert_eq!(groups, dcs.iter().map(DcCode::as_str).collect::<Vec<_>>());
    assert!(drain(&sqs, &sync_url).await.is_empty(), "nothing on the sync queue");

    // The bodies, as the event source mapping delivers them: one DC per invocation.
    let reconcile = reconcile_stock::handler::Deps {
        ports: env.ports().unwrap(),
        settings: domain::reconciliation::ReconcileSettings::default(),
        dcs: dcs.clone(),
        concurrency: 1,
        statuses: env.dc_status().unwrap(),
    };
    let deliver = |(_, id, _, body): &(String, String, String, String)| {
        let event = sqs_event(&[(id.as_str(), body.clone())]).unwrap();
        let reconcile = &reconcile;
        async move {
            reconcile_stock::queue::handle_messages(
                reconcile,
                lambda_runtime::LambdaEvent::new(event, context("reconcile-1", Duration::from_secs(600))),
            )
            .await
        }
    };
    for message in &received {
        let resp = deliver(message).await;
        assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);
    }
    let posted = adjustments(&env).await;
    assert!(!posted.is_empty(), "the small drifts were corrected");
    assert!(posted.values().all(|n| *n == 1), "{posted:?}");

    // A redelivery of every message (visibility timeout, a second receive) acts no second time.
    for message in &received {
        let resp = deliver(message).await;
        assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);
    }
    assert_eq!(adjustments(&env).await, posted, "no adjustment posted twice");
}
