//! Mapping SDK failures onto the domain's store errors, and the DynamoDB write counter.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use domain::ports::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts DynamoDB write requests (PutItem, UpdateItem, DeleteItem) the stores sent, whatever
/// their outcome: a lost conditional write costs a write request too. Clones share the count,
/// so one counter handed to every store gives the total.
#[derive(Debug, Clone, Default)]
pub struct WriteCounter(Arc<AtomicU64>);

impl WriteCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Write requests made so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// How a failed AWS call should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A condition expression was false.
    ConditionFailed,
    /// Throttling, 5xx, timeouts, connection failures, missing resources or permissions (an
    /// operator can fix those; the call then succeeds unchanged).
    Transient,
    /// The request itself is invalid (a row too large, a malformed value).
    Invalid,
}

/// Error codes of throttling and server-side failures across DynamoDB, SQS and SNS.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "Throttled",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "TransactionConflictException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "KMSThrottlingException",
];

/// Error codes that mean the request will never succeed as sent.
const INVALID_CODES: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterException",
    "InvalidMessageContents",
    "InvalidAttributeName",
    "InvalidAttributeValue",
];

pub(crate) fn classify<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Fault {
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            if code == "ConditionalCheckFailedException" {
                Fault::ConditionFailed
            } else if TRANSIENT_CODES.contains(&code) || ctx.raw().status().is_server_error() {
                Fault::Transient
            } else if INVALID_CODES.contains(&code) {
                Fault::Invalid
            } else {
                Fault::Transient
            }
        }
        SdkError::ConstructionFailure(_) => Fault::Invalid,
        _ => Fault::Transient,
    }
}

/// `"<code>: <message>"` for service errors, the full source chain otherwise.
pub(crate) fn describe<E>(err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => format!(
            "{}: {}",
            ctx.err().code().unwrap_or("unknown error"),
            ctx.err().message().unwrap_or("no message")
        ),
        other => DisplayErrorContext(other).to_string(),
    }
}

/// Maps a failed DynamoDB call on `what` (operation and table) to a [`StoreError`].
pub(crate) fn store_error<E>(what: &str, err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = format!("{what}: {}", describe(&err));
    match classify(&err) {
        Fault::ConditionFailed => StoreError::Conflict(text),
        Fault::Transient => StoreError::Unavailable(text),
        Fault::Invalid => StoreError::Corrupt(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_count() {
        let a = WriteCounter::new();
        let b = a.clone();
        a.record();
        b.record();
        assert_eq!(a.get(), 2);
    }
}
