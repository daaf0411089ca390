//! [`SqsSyncQueue`]: the per-DC fan-out onto the `SyncQueue` (FIFO) of `infra/template.yaml`.

use super::error::{classify, describe, Fault};
use super::permissions::Permissions;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use domain::error::Retryable;
use domain::schedule::SyncRequest;
use thiserror::Error;

/// Why: SendMessageBatch takes at most 10 entries
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
pub const MAX_BATCH: usize = 10;

/// Why: a MessageDeduplicationId is at most 128 characters of alphanumerics and punctuation
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
pub const MAX_DEDUP_ID: usize = 128;

/// The IAM action [`SqsSyncQueue::send`] needs on the queue. Why `SendMessage`: SQS authorizes
/// the `SendMessageBatch` call as `sqs:SendMessage`
/// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["sqs:SendMessage"]);

/// Sending to the queue failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueueError {
    /// Throttling, 5xx, timeouts, or entries SQS failed on its side. Sending the whole fan-out
    /// again is safe: deduplication ids drop what already went through (5-minute window).
    #[error("sync queue unavailable: {0}")]
    Unavailable(String),
    /// SQS refused the request or an entry (bad queue URL, permissions, invalid attributes).
    #[error("sync queue refused: {0}")]
    Rejected(String),
}

impl Retryable for QueueError {
    fn is_retryable(&self) -> bool {
        matches!(self, QueueError::Unavailable(_))
    }
}

/// The MessageDeduplicationId of `request`: [`SyncRequest::dedup_id`] (DC + slot), or
/// `<dc>:h<hash of the slot>` when that would be too long or hold characters SQS refuses.
pub fn dedup_id(request: &SyncRequest) -> String {
    let plain = request.dedup_id();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c.is_ascii_punctuation();
    if plain.len() <= MAX_DEDUP_ID && plain.chars().all(allowed) {
        plain
    } else {
        format!("{}:h{:016x}", request.dc, fnv1a(request.slot.as_bytes()))
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms (std's hashers are not), which a
/// deduplication id must be.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Sends [`SyncRequest`]s (JSON bodies) to the FIFO sync queue with MessageGroupId = DC (one DC
/// is synced by one invocation at a time) and MessageDeduplicationId = [`dedup_id`], in
/// batches of [`MAX_BATCH`].
#[derive(Debug, Clone)]
pub struct SqsSyncQueue {
    client: Client,
    queue_url: String,
}

impl SqsSyncQueue {
    /// A fan-out onto `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Sends `requests` (one per DC for a slot: `domain::schedule::fan_out`); returns how many
    /// SQS accepted (a duplicate within the 5-minute deduplication window counts as accepted:
    /// SQS acknowledges and drops it). Every batch is tried; any failed entry makes the whole
    /// call an error naming the DCs, and sending the same requests again is safe.
    pub async fn send(&self, requests: &[SyncRequest]) -> Result<usize, QueueError> {
        let mut accepted = 0;
        let mut failures = Vec::new();
        let mut refused = false;
        for chunk in requests.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, request)| {
                    let dc = &request.dc;
                    let body = serde_json::to_string(request)
                        .map_err(|e| QueueError::Rejected(format!("message for {dc}: {e}")))?;
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("{i}-{dc}"))
                        .message_body(body)
                        .message_group_id(dc.as_str())
                        .message_deduplication_id(dedup_id(request))
                        .build()
                        .map_err(|e| QueueError::Rejected(format!("message for {dc}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match out {
                Ok(out) => {
                    accepted += out.successful().len();
                    for failed in out.failed() {
                        refused |= failed.sender_fault();
                        failures.push(format!(
                            "{}: {} {}",
                            failed.id(),
                            failed.code(),
                            failed.message().unwrap_or_default()
                        ));
                    }
                }
                Err(e) => {
                    refused |= classify(&e) != Fault::Transient;
                    let names: Vec<&str> = chunk.iter().map(|r| r.dc.as_str()).collect();
                    failures.push(format!("{}: {}", names.join(","), describe(&e)));
                }
            }
        }
        if failures.is_empty() {
            return Ok(accepted);
        }
        let text = format!(
            "SendMessageBatch {}: {accepted} sent, failed: {}",
            self.queue_url,
            failures.join("; ")
        );
        Err(if refused {
            QueueError::Rejected(text)
        } else {
            QueueError::Unavailable(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(slot: &str) -> SyncRequest {
        SyncRequest {
            dc: domain::ids::DcCode::parse("DC01").unwrap_or_else(|e| panic!("{e}")),
            slot: slot.into(),
            trigger: "schedule".into(),
        }
    }

    #[test]
    fn dedup_ids_are_dc_and_slot_or_a_stable_hash() {
        assert_eq!(dedup_id(&request("2030-01-02T03:00Z")), "DC01:2030-01-02T03:00Z");
        let long = "s".repeat(200);
        let hashed = dedup_id(&request(&long));
        assert!(hashed.len() <= MAX_DEDUP_ID && hashed.starts_with("DC01:h"), "{hashed}");
        assert_eq!(hashed, dedup_id(&request(&long)));
        assert_ne!(hashed, dedup_id(&request(&"t".repeat(200))));
        assert!(dedup_id(&request("slot with spaces")).starts_with("DC01:h"));
    }

    #[test]
    fn fnv_matches_its_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
