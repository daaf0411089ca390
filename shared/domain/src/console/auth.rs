//! Who may do what: roles, principals with a DC scope, the permission matrix and
//! [`authorize`], which every console operation calls before it reads or changes anything.
//!
//! Matrix (rows: [`Action`]; `S` supervisor, `M` warehouse manager, `I` integration team):
//!
//! | action                                   | S | M | I |
//! |------------------------------------------|---|---|---|
//! | dashboard, audit, run reports            | x | x | x |
//! | list / view review tasks                 | x | x |   |
//! | claim / resolve review tasks             | x |   |   |
//! | list holds, list incidents               | x | x |   |
//! | release hold, acknowledge incident       |   | x |   |
//! | list failed / stuck transactions         | x | x | x |
//! | retry, retry matching, close as handled  |   |   | x |
//! | view DC go-live statuses                 | x | x | x |
//! | change a DC's status (maintenance, ...)  |   | x | x |
//!
//! Scope: a principal acts only on the DCs of its [`DcScope`]. A DC outside the scope answers
//! [`AccessError::NotFound`] for an action on one record (a task, a hold, a transaction: its
//! existence is not revealed) and [`AccessError::Forbidden`] for a DC-wide read (dashboard, a
//! list): the caller named the DC, so hiding it would tell nothing.

use crate::error::{quote, DomainError, Retryable};
use crate::ids::DcCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use thiserror::Error;

/// A console role (a Cognito group, or a CLI operator's declared role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// DC supervisor: review tasks of own DCs.
    Supervisor,
    /// Warehouse manager: holds and incidents.
    Manager,
    /// Integration team: failed and stuck transactions, run reports.
    Integration,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Supervisor, Role::Manager, Role::Integration];

    /// The stored name (`supervisor`, `manager`, `integration`), also the Cognito group name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Integration => "integration",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::InvalidId {
                kind: "role",
                value: quote(s),
                reason: "must be supervisor, manager or integration".into(),
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts: a user name or e-mail from the identity provider, 1 to 128 printable characters.
/// Recorded in audit entries and on claimed tasks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Parses a user id.
    pub fn parse(value: impl Into<String>) -> Result<Self, DomainError> {
        let value = value.into();
        let len = value.chars().count();
        if len == 0 || len > 128 || value.trim() != value || value.chars().any(char::is_control) {
            return Err(DomainError::InvalidId {
                kind: "user id",
                value: quote(&value),
                reason: "must be 1 to 128 printable characters without surrounding whitespace".into(),
            });
        }
        Ok(Self(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> String {
        value.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The DCs a principal may act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DcScope {
    /// Every DC (the integration team, regional managers).
    All,
    /// These DCs only.
    Dcs(BTreeSet<DcCode>),
}

impl DcScope {
    /// Whether `dc` is in scope.
    pub fn covers(&self, dc: &DcCode) -> bool {
        match self {
            DcScope::All => true,
            DcScope::Dcs(dcs) => dcs.contains(dc),
        }
    }
}

/// An authenticated caller: who, with which roles, on which DCs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Who.
    pub user: UserId,
    /// Roles (a user may hold several).
    pub roles: BTreeSet<Role>,
    /// DCs.
    pub scope: DcScope,
}

impl Principal {
    /// A principal with one role.
    pub fn new(user: UserId, role: Role, scope: DcScope) -> Self {
        Self {
            user,
            roles: BTreeSet::from([role]),
            scope,
        }
    }

    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Everything the console lets someone do; [`Action::allowed_for`] is the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The per-DC dashboard.
    ViewDashboard,
    /// List review tasks.
    ListTasks,
    /// One task with its figures and transactions.
    ViewTask,
    /// Claim a task.
    ClaimTask,
    /// Resolve a task.
    ResolveTask,
    /// List active holds.
    ListHolds,
    /// Release a hold.
    ReleaseHold,
    /// List open incidents.
    ListIncidents,
    /// Acknowledge an incident.
    AcknowledgeIncident,
    /// List failed and stuck transactions.
    ListFailedTxns,
    /// Retry one failed transaction.
    RetryTxn,
    /// Retry every failed transaction matching a filter.
    RetryMatching,
    /// Close a transaction as handled outside invsync.
    CloseTxn,
    /// List run reports.
    ListRuns,
    /// List audit entries.
    ListAudit,
    /// Read the DCs' go-live statuses.
    ViewDcStatus,
    /// Move a DC's go-live status (maintenance and back, declare live).
    ChangeDcStatus,
}

impl Action {
    /// The roles allowed to perform the action (the matrix in the module doc).
    pub fn allowed_for(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::ViewDashboard
            | Action::ListRuns
            | Action::ListAudit
            | Action::ListFailedTxns
            | Action::ViewDcStatus => &[Supervisor, Manager, Integration],
            Action::ListTasks | Action::ViewTask | Action::ListHolds | Action::ListIncidents => &[Supervisor, Manager],
            Action::ClaimTask | Action::ResolveTask => &[Supervisor],
            Action::ReleaseHold | Action::AcknowledgeIncident => &[Manager],
            Action::RetryTxn | Action::RetryMatching | Action::CloseTxn => &[Integration],
            Action::ChangeDcStatus => &[Manager, Integration],
        }
    }

    /// Whether the action targets one record (out-of-scope answers `NotFound`) rather than a
    /// whole DC (out-of-scope answers `Forbidden`).
    pub fn targets_one_record(self) -> bool {
        matches!(
            self,
            Action::ViewTask
                | Action::ClaimTask
                | Action::ResolveTask
                | Action::ReleaseHold
                | Action::AcknowledgeIncident
                | Action::RetryTxn
                | Action::CloseTxn
        )
    }

    /// Stable name (as in audit entries and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewDashboard => "view_dashboard",
            Action::ListTasks => "list_tasks",
            Action::ViewTask => "view_task",
            Action::ClaimTask => "claim_task",
            Action::ResolveTask => "resolve_task",
            Action::ListHolds => "list_holds",
            Action::ReleaseHold => "release_hold",
            Action::ListIncidents => "list_incidents",
            Action::AcknowledgeIncident => "acknowledge_incident",
            Action::ListFailedTxns => "list_failed_txns",
            Action::RetryTxn => "retry_txn",
            Action::RetryMatching => "retry_matching",
            Action::CloseTxn => "close_txn",
            Action::ListRuns => "list_runs",
            Action::ListAudit => "list_audit",
            Action::ViewDcStatus => "view_dc_status",
            Action::ChangeDcStatus => "change_dc_status",
        }
    }
}

/// Why [`authorize`] refused. Never retryable: the same caller gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessError {
    /// No (valid) identity: HTTP 401.
    #[error("not signed in")]
    Unauthenticated,
    /// The caller's roles do not allow the action, or a DC-wide read of a DC outside its scope:
    /// HTTP 403.
    #[error("{user} may not {action} at {dc}")]
    Forbidden {
        /// Who.
        user: UserId,
        /// What (`Action::as_str`).
        action: &'static str,
        /// Where.
        dc: DcCode,
    },
    /// A record of a DC outside the caller's scope: answered as if it did not exist (HTTP 404).
    #[error("not found")]
    NotFound,
}

impl Retryable for AccessError {
    fn is_retryable(&self) -> bool {
        false
    }
}

/// Decides whether `principal` may perform `action` at `dc` (see the module doc). `None` is
/// an unauthenticated caller. The role is checked before the scope, so a wrong role is always
/// `Forbidden`, even for a DC the caller cannot see.
pub fn authorize(principal: Option<&Principal>, action: Action, dc: &DcCode) -> Result<(), AccessError> {
    let p = principal.ok_or(AccessError::Unauthenticated)?;
    let forbidden = || AccessError::Forbidden {
        user: p.user.clone(),
        action: action.as_str(),
        dc: dc.clone(),
    };
    if !action.allowed_for().iter().any(|r| p.has(*r)) {
        return Err(forbidden());
    }
    if !p.scope.covers(dc) {
        return Err(if action.targets_one_record() {
            AccessError::NotFound
        } else {
            forbidden()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(s: &str) -> DcCode {
        DcCode::parse(s).unwrap()
    }

    fn user(role: Role, dcs: &[&str]) -> Principal {
        Principal::new(
            UserId::parse("ann@example.com").unwrap(),
            role,
            DcScope::Dcs(dcs.iter().map(|d| dc(d)).collect()),
        )
    }

    #[test]
    fn an_unauthenticated_caller_is_refused_everything() {
        assert_eq!(
            authorize(None, Action::ViewDashboard, &dc("DC01")),
            Err(AccessError::Unauthenticated)
        );
    }

    #[test]
    fn a_supervisor_of_dc01_cannot_see_or_resolve_dc02s_tasks() {
        let sup = user(Role::Supervisor, &["DC01"]);
        assert_eq!(authorize(Some(&sup), Action::ResolveTask, &dc("DC01")), Ok(()));
        assert_eq!(
            authorize(Some(&sup), Action::ResolveTask, &dc("DC02")),
            Err(AccessError::NotFound)
        );
        assert_eq!(
            authorize(Some(&sup), Action::ViewTask, &dc("DC02")),
            Err(AccessError::NotFound)
        );
        assert!(matches!(
            authorize(Some(&sup), Action::ListTasks, &dc("DC02")),
            Err(AccessError::Forbidden { .. })
        ));
    }

    #[test]
    fn a_wrong_role_is_forbidden_even_outside_the_scope() {
        let mgr = user(Role::Manager, &["DC01"]);
        for dc_code in ["DC01", "DC02"] {
            assert!(matches!(
                authorize(Some(&mgr), Action::ResolveTask, &dc(dc_code)),
                Err(AccessError::Forbidden { .. })
            ));
        }
        let integ = Principal::new(UserId::parse("ops").unwrap(), Role::Integration, DcScope::All);
        assert!(matches!(
            authorize(Some(&integ), Action::ReleaseHold, &dc("DC07")),
            Err(AccessError::Forbidden { .. })
        ));
        assert_eq!(authorize(Some(&integ), Action::RetryTxn, &dc("DC07")), Ok(()));
    }

    #[test]
    fn every_action_has_at_least_one_role_and_each_role_reads_the_dashboard() {
        let all = [
            Action::ViewDashboard,
            Action::ListTasks,
            Action::ViewTask,
            Action::ClaimTask,
            Action::ResolveTask,
            Action::ListHolds,
            Action::ReleaseHold,
            Action::ListIncidents,
            Action::AcknowledgeIncident,
            Action::ListFailedTxns,
            Action::RetryTxn,
            Action::RetryMatching,
            Action::CloseTxn,
            Action::ListRuns,
            Action::ListAudit,
            Action::ViewDcStatus,
            Action::ChangeDcStatus,
        ];
        for a in all {
            assert!(!a.allowed_for().is_empty(), "{a:?}");
        }
        for r in Role::ALL {
            assert!(Action::ViewDashboard.allowed_for().contains(&r));
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("admin").is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(" a").is_err());
    }
}
