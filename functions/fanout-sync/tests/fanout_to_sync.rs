//! The hourly fan-out end to end: the scheduled event JSON, fired twice as EventBridge may do,
//! puts exactly one message per DC on the FIFO sync queue (MessageGroupId = DC), and those
//! messages, fed to the sync handler as an SQS event, sync their DCs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::MessageSystemAttributeName;
use domain::DcCode;
use fanout_sync::handler::{handle, Deps};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use test_harness::{context, sqs_event, EnvOptions, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_fired_schedule_sends_one_message_per_dc_and_they_sync_every_dc() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 3,
        items: 200,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dcs: Vec<DcCode> = (0..3).map(|i| env.dc(i)).collect();
    env.mark_live(&dcs).await.unwrap();
    for dc in &dcs {
        env.wms.generate_activity(Some(dc.as_str()), 15).unwrap();
    }
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let queue_url = env.provisioned.queue_url("SyncQueue").unwrap().to_string();
    let deps = Deps {
        dcs: dcs.clone(),
        queue: adapters::aws::SqsSyncQueue::new(sqs.clone(), queue_url.clone()),
        reconcile_queue: None,
        statuses: env.dc_status().unwrap(),
    };
    let scheduled: Value = serde_json::from_str(include_str!("../../../events/fanout-sync/scheduled.json")).unwrap();

    for request_id in ["fire-1", "fire-2"] {
        let out = handle(
            &deps,
            lambda_runtime::LambdaEvent::new(scheduled.clone(), context(request_id, Duration::from_secs(30))),
        )
        .await
        .unwrap();
        assert_eq!(out.sent, 3, "{out:?}");
        assert_eq!(out.slot, "2026-11-26T23:00Z", "{out:?}");
    }

    // Read the queue back: exactly one message per DC, grouped by DC.
    let mut received: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut count = 0;
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
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
            count += 1;
            let group = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned()
                .unwrap_or_default();
            let body = m.body().unwrap_or_default().to_string();
            let parsed: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(parsed["dc"], group.as_str(), "MessageGroupId is the DC: {body}");
            received.insert(group, (m.message_id().unwrap_or_default().to_string(), body));
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(count, 3, "the second firing was deduplicated: {received:?}");
    assert_eq!(
        received.keys().cloned().collect::<Vec<_>>(),
        dcs.iter().map(|d| d.to_string()).collect::<Vec<_>>()
    );

    // The received bodies, as the event source mapping would deliver them, sync every DC.
    let records: Vec<(&str, String)> = received
        .values()
        .map(|(id, body)| (id.as_str(), body.clone()))
        .collect();
    let event = sqs_event(&records).unwrap();
    let sync = sync_inventory::handler::Deps {
        ports: env.ports().unwrap(),
        settings: domain::sync::SyncSettings::default(),
    };
    let resp = sync_inventory::handler::handle(
        &sync,
        lambda_runtime::LambdaEvent::new(event, context("sync-1", Duration::from_secs(600))),
    )
    .await
    .unwrap();
    assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);
    for dc in &dcs {
        assert_eq!(env.wms.reservations_count(dc.as_str()), 0, "{dc} synced");
        assert_eq!(env.wms.outbox_len(dc.as_str()), 0, "{dc} synced");
    }
}
