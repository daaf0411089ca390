//! The AWS parts no emulator runs here, played by the driver as AWS plays them: EventBridge's
//! scheduled events and the SQS event source mapping of sync-inventory.

use crate::functions::Functions;
use crate::progress;
use anyhow::Context as _;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

/// An EventBridge scheduled event as the rule `rule` delivers it at `time`.
pub(crate) fn scheduled(rule: &str, time: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        "resources": [format!("arn:aws:events:us-east-1:000000000000:rule/invsync-local-{rule}")],
        "detail": {}
    })
}

/// Plays the SQS event source mapping of sync-inventory (BatchSize 1,
/// ReportBatchItemFailures): each received message becomes one invocation; a message the
/// function did not report as failed is deleted; a reported one is made visible again at once
/// (in AWS it waits for the visibility timeout) and retried, until the queue's
/// maxReceiveCount (3) moves it to the dead-letter queue. Returns the messages delivered.
/// Receiving, reading the queue's ARN and deleting use `event_source` (the event source mapping
/// does that with the function's role); making a message visible again is this driver's
/// shortcut and uses `sdk`.
pub(crate) async fn deliver(
    sdk: &aws_config::SdkConfig,
    event_source: &aws_config::SdkConfig,
    queue_url: &str,
    functions: &Functions,
    started: Instant,
) -> anyhow::Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(event_source);
    let admin_sqs = aws_sdk_sqs::Client::new(sdk);
    let arn = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let mut delivered = 0;
    let mut empty = 0;
    let mut attempts: HashMap<String, u32> = HashMap::new();
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .context("receive from the sync queue")?;
        if got.messages().is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in got.messages() {
            let id = m.message_id().unwrap_or_default().to_string();
            let mut record = SqsMessage::default();
            record.message_id = Some(id.clone());
            record.receipt_handle = m.receipt_handle().map(str::to_string);
            record.body = m.body().map(str::to_string);
            record.attributes = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(arn.clone());
            record.aws_region = Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()));
            let mut event = SqsEvent::default();
            event.records = vec![record];
            let response = functions
                .sync(event, &format!("sync-{}", &id[..id.len().min(8)]))
                .await?;
            let failed = response.batch_item_failures.iter().any(|f| f.item_identifier == id);
            let handle = m.receipt_handle().unwrap_or_default();
            let dc = m
                .body()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .map(|b| b["dc"].clone());
            if failed {
                let n = attempts.entry(id.clone()).or_default();
                *n += 1;
                progress(
                    started,
                    &format!("sync-inventory reported {dc:?} for retry (attempt {n})"),
                );
                admin_sqs
                    .change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await?;
            } else {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
                progress(started, &format!("sync-inventory done for {}", dc.unwrap_or_default()));
            }
            delivered += 1;
        }
    }
    Ok(delivered)
}
