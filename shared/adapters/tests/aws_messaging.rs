//! SNS alerts and the SQS FIFO fan-out against an AWS emulator.

mod aws_support;

use adapters::aws::{SnsAlertSink, SqsSyncQueue};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_support::{dc, TestEnv};
use domain::ports::{Alert, AlertSink, Severity};
use domain::schedule::{fan_out, SyncRequest};
use std::collections::BTreeMap;

/// Receives until the queue answers empty; returns (body, message group id) pairs.
async fn drain(env: &TestEnv, url: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    loop {
        let got = env
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage: {e:?}"));
        if got.messages().is_empty() {
            return out;
        }
        for message in got.messages() {
            let group = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned();
            out.push((message.body().unwrap_or_default().to_string(), group));
            env.sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap_or_else(|e| panic!("DeleteMessage: {e:?}"));
        }
    }
}

#[tokio::test]
async fn an_alert_reaches_a_subscribed_queue_with_subject_body_and_filterable_attributes() {
    let env = TestEnv::spawn().await;
    let topic = env.resources.topic_arn("AlertTopic").unwrap().to_string();
    let inbox = env
        .sqs
        .create_queue()
        .queue_name(format!("alert-inbox{}", env.suffix))
        .send()
        .await
        .unwrap();
    let inbox_url = inbox.queue_url().unwrap().to_string();
    let inbox_arn = env
        .sqs
        .get_queue_attributes()
        .queue_url(&inbox_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap();
    env.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&inbox_arn)
        .attributes("RawMessageDelivery", "false")
        .send()
        .await
        .unwrap();

    let alert = Alert {
        dc: dc("DC07"),
        severity: Severity::Critical,
        subject: format!(
            "DC07: ITM-42 in STORES off by 120 EA, order releases held {}",
            "x".repeat(80)
        ),
        body: "DC07 ITM-42 STORES: WMS 500, Fusion 380, in flight 0.\nHold H-1 placed.".into(),
        elastic: None,
    };
    SnsAlertSink::new(env.sns.clone(), &topic)
        .publish(&alert)
        .await
        .unwrap();

    let received = drain(&env, &inbox_url).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let envelope: serde_json::Value = serde_json::from_str(&received[0].0).unwrap();
    let subject = envelope["Subject"].as_str().unwrap();
    assert!(subject.len() < 100, "{subject}");
    assert!(subject.starts_with("DC07: ITM-42 in STORES off by 120 EA") && subject.ends_with("..."));
    assert_eq!(envelope["Message"], alert.body.as_str());
    let attributes = &envelope["MessageAttributes"];
    assert_eq!(attributes["dc"]["Type"], "String");
    assert_eq!(attributes["dc"]["Value"], "DC07");
    assert_eq!(attributes["severity"]["Value"], "critical");
}

#[tokio::test]
async fn fanning_out_one_slot_twice_sends_each_dc_once_grouped_by_dc() {
    let env = TestEnv::spawn().await;
    let url = env.resources.queue_url("SyncQueue").unwrap().to_string();
    let queue = SqsSyncQueue::new(env.sqs.clone(), &url);
    let dcs = [dc("DC01"), dc("DC02"), dc("DC01")];
    let requests = fan_out(&dcs, "2030-03-01T08:00Z", "schedule");

    assert_eq!(queue.send(&requests).await.unwrap(), 2);
    assert_eq!(
        queue.send(&requests).await.unwrap(),
        2,
        "SQS acknowledges and drops duplicates"
    );

    let mut received: Vec<(SyncRequest, Option<String>)> = drain(&env, &url)
        .await
        .into_iter()
        .map(|(body, group)| (SyncRequest::parse(&body).unwrap(), group))
        .collect();
    received.sort_by(|a, b| a.0.dc.cmp(&b.0.dc));
    assert_eq!(received.len(), 2, "{received:?}");
    for (request, group) in &received {
        assert_eq!(group.as_deref(), Some(request.dc.as_str()), "FIFO group = DC");
        assert_eq!(request.slot, "2030-03-01T08:00Z");
    }
    assert_eq!(received[0].0, requests[0]);

    let next_slot = fan_out(&dcs, "2030-03-01T09:00Z", "schedule");
    assert_eq!(queue.send(&next_slot).await.unwrap(), 2);
    assert_eq!(drain(&env, &url).await.len(), 2, "a new slot is a new message");
}

#[tokio::test]
async fn a_fan_out_larger_than_one_batch_sends_every_dc() {
    let env = TestEnv::spawn().await;
    let url = env.resources.queue_url("SyncQueue").unwrap().to_string();
    let dcs: Vec<_> = (1..=25).map(|i| dc(&format!("DC{i:02}"))).collect();
    let sent = SqsSyncQueue::new(env.sqs.clone(), &url)
        .send(&fan_out(&dcs, "2030-03-01T08:00Z", "manual"))
        .await
        .unwrap();
    assert_eq!(sent, 25);
    let groups: BTreeMap<String, usize> =
        drain(&env, &url)
            .await
            .into_iter()
            .fold(BTreeMap::new(), |mut m, (_, group)| {
                *m.entry(group.unwrap_or_default()).or_default() += 1;
                m
            });
    assert_eq!(groups.len(), 25);
    assert!(groups.values().all(|n| *n == 1));
}
