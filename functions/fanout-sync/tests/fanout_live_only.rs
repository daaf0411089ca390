//! The hourly fan-out on moto's FIFO sync queue and the DcStatusTable: a DC not yet live gets
//! no sync message; a DC taken to maintenance stops getting them and gets them again once
//! back to live.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use domain::golive::{move_dc, DcStatus, DcStatusChange, OutboxWatermark};
use domain::DcCode;
use fanout_sync::handler::{handle, Deps};
use serde_json::{json, Value};
use std::time::Duration;
use test_harness::{context, EnvOptions, TestEnv};

fn change(to: DcStatus, reason: Option<&str>) -> DcStatusChange {
    DcStatusChange {
        to,
        by: domain::console::UserId::parse("ops.ann").unwrap(),
        at: Utc::now(),
        reason: reason.map(str::to_string),
        watermark: Some(OutboxWatermark(0)),
    }
}

/// The DCs of every message on the queue (read and deleted), sorted.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut dcs = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).unwrap();
            dcs.push(body["dc"].as_str().unwrap_or_default().to_string());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
    dcs.sort();
    dcs
}

fn at_hour(hour: u32) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/fanout-sync/scheduled.json")).unwrap();
    event["time"] = json!(format!("2026-11-27T{hour:02}:00:03Z"));
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_live_dcs_get_sync_messages_and_maintenance_pauses_a_dc_until_it_is_live_again() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 3,
        items: 20,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dcs: Vec<DcCode> = (0..3).map(|i| env.dc(i)).collect();
    let board = env.dc_status().unwrap();
    // 1. DC01 live; DC02 being baselined (planned, then baselining); DC03 untouched.
    env.mark_live(&dcs[..1]).await.unwrap();
    move_dc(&board, &dcs[1], change(DcStatus::Planned, None)).await.unwrap();
    move_dc(&board, &dcs[1], change(DcStatus::Baselining, None))
        .await
        .unwrap();

    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let url = env.provisioned.queue_url("SyncQueue").unwrap().to_string();
    let deps = Deps {
        dcs: dcs.clone(),
        queue: adapters::aws::SqsSyncQueue::new(sqs.clone(), url.clone()),
        reconcile_queue: None,
        statuses: env.dc_status().unwrap(),
    };
    let fire = |hour: u32| {
        let deps = &deps;
        async move {
            handle(
                deps,
                lambda_runtime::LambdaEvent::new(at_hour(hour), context("fire", Duration::from_secs(30))),
            )
            .await
            .unwrap()
        }
    };

    let out = fire(1).await;
    assert_eq!(drain(&sqs, &url).await, ["DC01"]);
    let held = serde_json::to_value(&out.held).unwrap();
    assert_eq!(
        held,
        json!([{"dc": "DC02", "status": "baselining"}, {"dc": "DC03", "status": "not_started"}])
    );

    // 2. DC01 taken out for maintenance: nothing is sent at all.
    move_dc(&board, &dcs[0], change(DcStatus::Maintenance, Some("WMS upgrade")))
        .await
        .unwrap();
    let out = fire(2).await;
    assert_eq!((out.sent, out.held.len()), (0, 3));
    assert!(drain(&sqs, &url).await.is_empty());

    // 3. Back to live: DC01 syncs again at the next hour.
    move_dc(&board, &dcs[0], change(DcStatus::Live, None)).await.unwrap();
    fire(3).await;
    assert_eq!(drain(&sqs, &url).await, ["DC01"]);
}
