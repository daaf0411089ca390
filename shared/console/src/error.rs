//! [`ConsoleError`]: every way a console operation fails, each with its HTTP status and
//! whether retrying can help.

use domain::console::{AccessError, LifecycleError};
use domain::ports::{FusionError, StoreError, WmsError};
use domain::{DomainError, Retryable};
use thiserror::Error;

/// A console operation that failed. Messages never hold secrets; they may be shown to the
/// caller.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsoleError {
    /// No valid identity. HTTP 401. Not retryable.
    #[error("not signed in")]
    Unauthenticated,
    /// The caller's roles or DC scope do not allow this. HTTP 403. Not retryable.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such record, or one the caller may not see. HTTP 404. Not retryable.
    #[error("not found: {0}")]
    NotFound(String),
    /// The record changed since the caller read it (stale version, claimed by someone
    /// else, already resolved). HTTP 409. Not retryable as such: re-read and decide again.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is invalid (a bad id, reason, cursor, or an action the record does not
    /// support). HTTP 400. Not retryable.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A store, the WMS or Fusion is unavailable. HTTP 503. Retryable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An outside system refused (the WMS refused a hold release, a stored row is corrupt).
    /// HTTP 502. Not retryable.
    #[error("upstream refused: {0}")]
    Upstream(String),
}

impl ConsoleError {
    /// The HTTP status an API answers with.
    pub fn status(&self) -> u16 {
        match self {
            ConsoleError::Unauthenticated => 401,
            ConsoleError::Forbidden(_) => 403,
            ConsoleError::NotFound(_) => 404,
            ConsoleError::Conflict(_) => 409,
            ConsoleError::BadRequest(_) => 400,
            ConsoleError::Unavailable(_) => 503,
            ConsoleError::Upstream(_) => 502,
        }
    }

    /// A stable machine code (`unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `bad_request`, `unavailable`, `upstream`) for JSON error bodies and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            ConsoleError::Unauthenticated => "unauthenticated",
            ConsoleError::Forbidden(_) => "forbidden",
            ConsoleError::NotFound(_) => "not_found",
            ConsoleError::Conflict(_) => "conflict",
            ConsoleError::BadRequest(_) => "bad_request",
            ConsoleError::Unavailable(_) => "unavailable",
            ConsoleError::Upstream(_) => "upstream",
        }
    }
}

impl Retryable for ConsoleError {
    fn is_retryable(&self) -> bool {
        matches!(self, ConsoleError::Unavailable(_))
    }
}

impl From<AccessError> for ConsoleError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Unauthenticated => ConsoleError::Unauthenticated,
            AccessError::Forbidden { .. } => ConsoleError::Forbidden(e.to_string()),
            AccessError::NotFound => ConsoleError::NotFound("no such record".into()),
        }
    }
}

impl From<LifecycleError> for ConsoleError {
    fn from(e: LifecycleError) -> Self {
        ConsoleError::Conflict(e.to_string())
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ConsoleError::Conflict(format!("changed by someone else: {m}")),
            StoreError::Unavailable(m) => ConsoleError::Unavailable(m),
            StoreError::Corrupt(m) if m.starts_with(domain::console::page::BAD_CURSOR) => {
                ConsoleError::BadRequest("the page cursor is not one this list handed out".into())
            }
            StoreError::Corrupt(m) => ConsoleError::Upstream(format!("stored record unreadable: {m}")),
        }
    }
}

impl From<WmsError> for ConsoleError {
    fn from(e: WmsError) -> Self {
        if e.is_retryable() {
            return ConsoleError::Unavailable(e.to_string());
        }
        match &e {
            WmsError::Rejected { status: 404, .. } | WmsError::UnknownDc(_) => ConsoleError::NotFound(e.to_string()),
            _ => ConsoleError::Upstream(e.to_string()),
        }
    }
}

impl From<FusionError> for ConsoleError {
    fn from(e: FusionError) -> Self {
        if e.is_retryable() {
            ConsoleError::Unavailable(e.to_string())
        } else {
            ConsoleError::Upstream(e.to_string())
        }
    }
}

impl From<DomainError> for ConsoleError {
    fn from(e: DomainError) -> Self {
        ConsoleError::BadRequest(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_only_unavailable_retries() {
        let all = [
            (ConsoleError::Unauthenticated, 401),
            (ConsoleError::Forbidden("x".into()), 403),
            (ConsoleError::NotFound("x".into()), 404),
            (ConsoleError::Conflict("x".into()), 409),
            (ConsoleError::BadRequest("x".into()), 400),
            (ConsoleError::Unavailable("x".into()), 503),
            (ConsoleError::Upstream("x".into()), 502),
        ];
        for (e, status) in all {
            assert_eq!(e.status(), status);
            assert_eq!(e.is_retryable(), status == 503, "{e:?}");
        }
        assert_eq!(ConsoleError::from(StoreError::Conflict("v".into())).status(), 409);
    }
}
