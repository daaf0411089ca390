//! [`HandlerError`]: why an invocation failed, in the shape Lambda records. Its `error_type`
//! says first whether a retry can help (`Retryable` or `NonRetryable`), then what failed
//! (`NonRetryable.InvalidEvent`, `Retryable.SyncQueue`), so a CloudWatch metric filter or an
//! operator reading the invocation error can tell a bad event from an outage without parsing
//! the message.

use domain::Retryable;
use lambda_runtime::Diagnostic;
use std::fmt;

/// What failed, by name (`InvalidEvent`, `SyncQueue`, `EveryDcFailed`): the second part of
/// the `error_type`. A function declares its kinds as constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(&'static str);

impl ErrorKind {
    /// The event is not one the function accepts: the same event fails the same way.
    pub const INVALID_EVENT: ErrorKind = ErrorKind("InvalidEvent");

    /// A kind named `name` (letters and digits, `UpperCamelCase`).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// An invocation failed. Display is the message (for logs and `errorMessage`); it never holds
/// a secret because it is built from errors that never do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    kind: ErrorKind,
    retryable: bool,
    message: String,
}

impl HandlerError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, retryable: bool, message: impl Into<String>) -> Self {
        Self {
            kind,
            retryable,
            message: message.into(),
        }
    }

    /// The event is refused ([`ErrorKind::INVALID_EVENT`], never retryable).
    pub fn invalid_event(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::INVALID_EVENT, false, message)
    }

    /// `error` as an error of `kind`, retryable when `error` says so.
    pub fn from_error<E: Retryable + fmt::Display>(kind: ErrorKind, error: &E) -> Self {
        Self::new(kind, error.is_retryable(), error.to_string())
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `Retryable.<kind>` or `NonRetryable.<kind>`.
    pub fn error_type(&self) -> String {
        let class = if self.retryable { "Retryable" } else { "NonRetryable" };
        format!("{class}.{}", self.kind.as_str())
    }
}

impl Retryable for HandlerError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.error_type(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outage;
    impl fmt::Display for Outage {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the queue is unavailable")
        }
    }
    impl Retryable for Outage {
        fn is_retryable(&self) -> bool {
            true
        }
    }

    #[test]
    fn lambda_sees_whether_a_retry_can_help_and_what_failed() {
        let d: Diagnostic = HandlerError::invalid_event("not a scheduled event").into();
        assert_eq!(d.error_type, "NonRetryable.InvalidEvent");
        assert_eq!(d.error_message, "not a scheduled event");
        let e = HandlerError::from_error(ErrorKind::new("SyncQueue"), &Outage);
        assert!(e.is_retryable());
        let d: Diagnostic = e.into();
        assert_eq!(d.error_type, "Retryable.SyncQueue");
        assert_eq!(d.error_message, "the queue is unavailable");
    }
}
