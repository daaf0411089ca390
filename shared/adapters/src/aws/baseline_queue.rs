//! [`SqsBaselineQueue`]: the `BaselineQueue` (FIFO) of `infra/template.yaml`, on which the
//! `baseline` function receives apply requests and sends itself the next one before its time
//! runs out. MessageGroupId = DC (one apply of a DC at a time); deduplication id = plan and
//! progress ([`ApplyRequest::dedup_id`]).

use super::error::{classify, describe, Fault};
use super::permissions::Permissions;
use super::sqs::QueueError;
use aws_sdk_sqs::Client;
use domain::golive::ApplyRequest;

/// The IAM action [`SqsBaselineQueue::send`] needs on the queue.
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["sqs:SendMessage"]);

/// Apply requests onto the FIFO baseline queue.
#[derive(Debug, Clone)]
pub struct SqsBaselineQueue {
    client: Client,
    queue_url: String,
}

impl SqsBaselineQueue {
    /// The queue at `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Sends `request`. A duplicate within SQS's 5-minute window is accepted and dropped.
    pub async fn send(&self, request: &ApplyRequest) -> Result<(), QueueError> {
        let body = serde_json::to_string(request)
            .map_err(|e| QueueError::Rejected(format!("apply request for {}: {e}", request.dc)))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(request.dc.as_str())
            .message_deduplication_id(request.dedup_id())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let text = format!("SendMessage {}: {}", self.queue_url, describe(&e));
                if classify(&e) == Fault::Transient {
                    QueueError::Unavailable(text)
                } else {
                    QueueError::Rejected(text)
                }
            })
    }
}
