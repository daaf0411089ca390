//! The domain error taxonomy: every error says whether retrying can help.

use thiserror::Error;

/// Implemented by every error in invsync: `true` when the same operation may succeed if tried
/// again later (throttling, 5xx, timeouts, lost connections, lost races), `false` when it never
/// will without a change of data or configuration (validation, unknown item, bad credentials).
pub trait Retryable {
    /// Whether a retry can help.
    fn is_retryable(&self) -> bool;
}

/// Longest slice of an offending value quoted back in an error message, so a megabyte of
/// garbage never ends up in a log line.
const QUOTE_MAX: usize = 48;

/// Quotes `value` for an error message, truncated to a readable length.
pub(crate) fn quote(value: &str) -> String {
    if value.chars().count() <= QUOTE_MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(QUOTE_MAX).collect();
        format!("{head:?}... ({} chars)", value.chars().count())
    }
}

/// A rule of the domain was broken by some input. Never retryable: the same input fails again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// An identifier failed to parse.
    #[error("invalid {kind} {value}: {reason}")]
    InvalidId {
        /// What was being parsed ("item number", "DC code", ...).
        kind: &'static str,
        /// The offending input, quoted and truncated.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A quantity is not acceptable for its purpose.
    #[error("invalid quantity {value} for {context}: {reason}")]
    InvalidQuantity {
        /// The offending quantity as text.
        value: String,
        /// What the quantity belongs to (a transaction id, a lot, ...).
        context: String,
        /// Why it was refused.
        reason: String,
    },
    /// A transaction breaks a structural rule (lots, serials, subinventories, kind).
    #[error("transaction {txn} is invalid: {reason}")]
    InvalidTransaction {
        /// The WMS transaction id.
        txn: String,
        /// Why it was refused.
        reason: String,
    },
    /// A transaction does not fit the item master (lot/serial control, UOM).
    #[error("transaction {txn} does not match item {item}: {reason}")]
    ItemMismatch {
        /// The WMS transaction id.
        txn: String,
        /// The item number.
        item: String,
        /// Why it was refused.
        reason: String,
    },
    /// A ledger transition that the state machine does not allow.
    #[error("illegal ledger transition from {from} on {event}")]
    IllegalTransition {
        /// The state the row was in.
        from: &'static str,
        /// The event that was refused.
        event: &'static str,
    },
    /// A DC go-live status change that is not allowed (see `golive::DcStatus::may_become`).
    #[error("DC {dc} cannot move from {from} to {to}: {reason}")]
    IllegalStatusChange {
        /// The DC.
        dc: String,
        /// Its status.
        from: &'static str,
        /// The status asked for.
        to: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A configuration value is unusable.
    #[error("invalid configuration {name}: {reason}")]
    InvalidConfig {
        /// The setting name.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

impl Retryable for DomainError {
    fn is_retryable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_truncated_in_messages() {
        let long = "x".repeat(10_000);
        let q = quote(&long);
        assert!(q.len() < 80, "{q}");
        assert!(q.contains("10000 chars"));
        assert_eq!(quote("ab"), "\"ab\"");
    }
}
