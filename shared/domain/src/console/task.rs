//! The review-task lifecycle a supervisor drives:
//!
//! ```text
//! open --claim--> claimed --resolve(adjust)--> resolving --(adjustment synced)--> closed
//!   \                 \----resolve(recount | close)-----------------------------> closed
//!    \--resolve(...)-----^ (resolving without a claim is allowed: the resolver claims)
//! ```
//!
//! Every change increments [`TaskState::version`]; a store writes the new state only while the
//! stored version is still the one it was computed from, and a resolve names the version the
//! caller saw, so two people resolving the same task get one success and one
//! [`LifecycleError::Stale`]. A request repeated after it succeeded (a double click, a client
//! retry) is recognised ([`Transition::Unchanged`]) and changes nothing.
//!
//! Closed by the automation (the variance returned to zero) is also `closed`; the store does
//! that through `ReviewTasks::close`.

use crate::console::audit::Reason;
use crate::console::auth::UserId;
use crate::ids::{Uom, WmsTxnId};
use crate::variance::BalanceKey;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for a supervisor.
    Open,
    /// A supervisor took it.
    Claimed,
    /// Resolved by an adjustment that Fusion has not processed yet.
    Resolving,
    /// Done.
    Closed,
}

impl TaskStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Claimed => "claimed",
            TaskStatus::Resolving => "resolving",
            TaskStatus::Closed => "closed",
        }
    }

    /// Whether the task still needs work or its adjustment is awaited (not closed).
    pub fn is_active(self) -> bool {
        self != TaskStatus::Closed
    }
}

/// How a supervisor resolves a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resolution {
    /// Post an adjustment so Fusion matches the WMS (variance tasks with figures only).
    Adjust,
    /// The WMS count is wrong; a recount was requested. Closes the task.
    RecountRequested,
    /// Closed with a reason (fixed elsewhere, not a real variance, ...).
    Close {
        /// Why.
        reason: Reason,
    },
}

/// The figures a variance task was opened with, so the console can show WMS vs Fusion vs in
/// flight and build the adjustment without parsing text. The reconciliation refreshes them on
/// every run that still sees the variance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarianceFigures {
    /// The balance key.
    pub key: BalanceKey,
    /// WMS on-hand.
    pub wms: Decimal,
    /// Fusion on-hand.
    pub fusion: Decimal,
    /// In flight (WMS transactions not yet in Fusion).
    pub in_flight: Decimal,
    /// `wms - (fusion + in_flight)`.
    pub variance: Decimal,
    /// UOM, when known.
    pub uom: Option<Uom>,
    /// Lot expiration, for lot keys.
    #[serde(default)]
    pub expiration: Option<NaiveDate>,
    /// Whether the item is serial-controlled (an adjustment then needs serials: no
    /// console adjustment).
    #[serde(default)]
    pub serial_controlled: bool,
}

/// The console's state of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    /// Status.
    pub status: TaskStatus,
    /// Optimistic-concurrency version; every console change increments it.
    pub version: u64,
    /// Who claimed it.
    pub claimed_by: Option<UserId>,
    /// How it was resolved.
    pub resolution: Option<Resolution>,
    /// Who resolved it.
    pub resolved_by: Option<UserId>,
    /// The adjustment posted for it (`Resolution::Adjust`).
    pub adjustment: Option<WmsTxnId>,
    /// The version the resolution produced (a repeat of that resolve names the one before).
    #[serde(default)]
    pub resolved_version: Option<u64>,
}

impl Default for TaskState {
    fn default() -> Self {
        Self::open()
    }
}

/// What a lifecycle step decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Write this state (conditional on the version it was computed from).
    Changed(TaskState),
    /// The request already took effect (a repeat): nothing to write, no second effect.
    Unchanged,
}

/// A lifecycle step the rules refuse. Never retryable as such.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    /// The caller saw an older version: someone else changed the task (HTTP 409).
    #[error("the task changed since version {expected}; it is now version {current}")]
    Stale {
        /// The version the caller named.
        expected: u64,
        /// The stored version.
        current: u64,
    },
    /// Someone else claimed it (HTTP 409).
    #[error("the task is claimed by {0}")]
    ClaimedBy(UserId),
    /// Already resolved or closed (HTTP 409).
    #[error("the task is {0}; nothing to do")]
    NotActionable(&'static str),
}

impl TaskState {
    /// A newly opened task.
    pub fn open() -> Self {
        Self {
            status: TaskStatus::Open,
            version: 0,
            claimed_by: None,
            resolution: None,
            resolved_by: None,
            adjustment: None,
            resolved_version: None,
        }
    }

    fn next(&self) -> Self {
        let mut n = self.clone();
        n.version = self.version + 1;
        n
    }

    /// `by` claims the task. Claiming a task one already holds changes nothing.
    pub fn claim(&self, by: &UserId) -> Result<Transition, LifecycleError> {
        match (self.status, &self.claimed_by) {
            (TaskStatus::Open, _) => {
                let mut n = self.next();
                n.status = TaskStatus::Claimed;
                n.claimed_by = Some(by.clone());
                Ok(Transition::Changed(n))
            }
            (TaskStatus::Claimed, Some(holder)) if holder == by => Ok(Transition::Unchanged),
            (TaskStatus::Claimed, Some(holder)) => Err(LifecycleError::ClaimedBy(holder.clone())),
            (status, _) => Err(LifecycleError::NotActionable(status.as_str())),
        }
    }

    /// `by` resolves the task seen at `expected_version`. `adjustment` is the id the
    /// adjustment gets (required for [`Resolution::Adjust`], derived from the task and
    /// `expected_version`, see `ConsoleService`). The same request repeated after it succeeded
    /// is [`Transition::Unchanged`]; any other request on a changed task is `Stale`.
    pub fn resolve(
        &self,
        by: &UserId,
        resolution: &Resolution,
        expected_version: u64,
        adjustment: Option<&WmsTxnId>,
    ) -> Result<Transition, LifecycleError> {
        if self.version != expected_version {
            let repeat = self.resolved_version == Some(expected_version + 1)
                && self.resolved_by.as_ref() == Some(by)
                && self.resolution.as_ref() == Some(resolution);
            return if repeat {
                Ok(Transition::Unchanged)
            } else {
                Err(LifecycleError::Stale {
                    expected: expected_version,
                    current: self.version,
                })
            };
        }
        match (self.status, &self.claimed_by) {
            (TaskStatus::Open, _) => {}
            (TaskStatus::Claimed, Some(holder)) if holder == by => {}
            (TaskStatus::Claimed, Some(holder)) => return Err(LifecycleError::ClaimedBy(holder.clone())),
            (status, _) => return Err(LifecycleError::NotActionable(status.as_str())),
        }
        let mut n = self.next();
        n.claimed_by = Some(by.clone());
        n.resolved_by = Some(by.clone());
        n.resolution = Some(resolution.clone());
        n.resolved_version = Some(n.version);
        match resolution {
            Resolution::Adjust => {
                n.status = TaskStatus::Resolving;
                n.adjustment = adjustment.cloned();
            }
            Resolution::RecountRequested | Resolution::Close { .. } => n.status = TaskStatus::Closed,
        }
        Ok(Transition::Changed(n))
    }

    /// The awaited adjustment was processed by Fusion: `resolving` closes. Any other status
    /// changes nothing.
    pub fn settle(&self) -> Transition {
        if self.status != TaskStatus::Resolving {
            return Transition::Unchanged;
        }
        let mut n = self.next();
        n.status = TaskStatus::Closed;
        Transition::Changed(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn changed(t: Result<Transition, LifecycleError>) -> TaskState {
        match t {
            Ok(Transition::Changed(s)) => s,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn claim_then_resolve_by_adjustment_waits_for_fusion_then_closes() {
        let adj = WmsTxnId::parse("RC-1").unwrap();
        let claimed = changed(TaskState::open().claim(&u("ann")));
        assert_eq!((claimed.status, claimed.version), (TaskStatus::Claimed, 1));
        assert_eq!(claimed.claim(&u("ann")), Ok(Transition::Unchanged));
        assert_eq!(claimed.claim(&u("bob")), Err(LifecycleError::ClaimedBy(u("ann"))));
        let resolving = changed(claimed.resolve(&u("ann"), &Resolution::Adjust, 1, Some(&adj)));
        assert_eq!(resolving.status, TaskStatus::Resolving);
        assert_eq!(resolving.adjustment, Some(adj.clone()));
        let closed = match resolving.settle() {
            Transition::Changed(s) => s,
            Transition::Unchanged => panic!("resolving must settle"),
        };
        assert_eq!((closed.status, closed.version), (TaskStatus::Closed, 3));
        assert_eq!(closed.settle(), Transition::Unchanged);
        assert_eq!(
            closed.resolve(&u("ann"), &Resolution::Adjust, 1, Some(&adj)),
            Ok(Transition::Unchanged),
            "a repeat after Fusion processed it is still a repeat"
        );
    }

    #[test]
    fn a_repeated_resolve_changes_nothing_and_a_competing_one_is_stale() {
        let open = TaskState::open();
        let close = Resolution::Close {
            reason: Reason::parse("found the pallet").unwrap(),
        };
        let done = changed(open.resolve(&u("ann"), &close, 0, None));
        assert_eq!(done.status, TaskStatus::Closed);
        assert_eq!(done.resolve(&u("ann"), &close, 0, None), Ok(Transition::Unchanged));
        assert_eq!(
            done.resolve(&u("bob"), &close, 0, None),
            Err(LifecycleError::Stale {
                expected: 0,
                current: 1
            })
        );
        assert_eq!(
            done.resolve(&u("ann"), &Resolution::RecountRequested, 0, None),
            Err(LifecycleError::Stale {
                expected: 0,
                current: 1
            })
        );
        assert_eq!(
            done.resolve(&u("ann"), &close, 1, None),
            Err(LifecycleError::NotActionable("closed"))
        );
    }

    #[test]
    fn a_task_claimed_by_someone_else_cannot_be_resolved() {
        let claimed = changed(TaskState::open().claim(&u("ann")));
        assert_eq!(
            claimed.resolve(&u("bob"), &Resolution::RecountRequested, 1, None),
            Err(LifecycleError::ClaimedBy(u("ann")))
        );
    }
}
