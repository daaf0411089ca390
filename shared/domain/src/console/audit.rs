//! The audit trail: one [`AuditEntry`] per console action (who, when, what, on what, before,
//! after, why), appended and never changed.
//!
//! An entry's [`AuditId`] is derived from the action and what it changed (the target and the
//! new version or state), so a repeated request that changes nothing writes no second entry,
//! and a store's put-if-absent makes a retry after a lost response harmless.

use crate::console::auth::{Action, UserId};
use crate::error::{quote, DomainError};
use crate::ids::DcCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a person did something: 1 to 500 characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    /// Longest reason, in characters.
    pub const MAX_LEN: usize = 500;

    /// Parses a reason (trimmed).
    pub fn parse(value: impl Into<String>) -> Result<Self, DomainError> {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.chars().count() > Self::MAX_LEN {
            return Err(DomainError::InvalidId {
                kind: "reason",
                value: quote(&value),
                reason: format!("must be 1 to {} characters and not blank", Self::MAX_LEN),
            });
        }
        Ok(Self(trimmed.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Reason> for String {
    fn from(value: Reason) -> String {
        value.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An audited change. Reads are not audited.
pub type AuditAction = Action;

/// The id of an audit entry: `<action>:<target>:<discriminator>`; the same effect always gets
/// the same id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditId(String);

impl AuditId {
    /// The id of `action` on `target` producing `discriminator` (a new version, a ledger
    /// version, an incident id).
    pub fn of(action: AuditAction, target: &str, discriminator: impl fmt::Display) -> Self {
        Self(format!("{}:{target}:{discriminator}", action.as_str()))
    }

    /// Reads a stored id back.
    pub fn from_stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One audited action. Entries are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Stable id (idempotency key).
    pub id: AuditId,
    /// DC the action was on.
    pub dc: DcCode,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: UserId,
    /// What.
    pub action: AuditAction,
    /// On what (`task:<key>`, `txn:<id>`, `hold:<item>`, `incident:<id>`).
    pub target: String,
    /// The record before (JSON), when there was one.
    pub before: Option<serde_json::Value>,
    /// The record after (JSON).
    pub after: Option<serde_json::Value>,
    /// Why, when the action takes a reason.
    pub reason: Option<Reason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_never_blank() {
        assert_eq!(Reason::parse("  recount done ").unwrap().as_str(), "recount done");
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse("x".repeat(501)).is_err());
    }

    #[test]
    fn the_same_effect_gets_the_same_audit_id() {
        let a = AuditId::of(Action::ClaimTask, "task:bal:DC01/I/S", 1);
        assert_eq!(a, AuditId::of(Action::ClaimTask, "task:bal:DC01/I/S", 1));
        assert_ne!(a, AuditId::of(Action::ClaimTask, "task:bal:DC01/I/S", 2));
        assert_eq!(a.as_str(), "claim_task:task:bal:DC01/I/S:1");
    }
}
