//! The sync ledger state machine (the two-phase commit of architecture.md).
//!
//! ```text
//! pending_sync --claim--> in_flight --confirm--> synced (terminal)
//!      ^                   |  |  ^ \--fail------> sync_failed --escalate--> manual_review (terminal)
//!      +----release--------+  |  |                    |  ^
//!   (systemic: credentials)   |  +------claim---------+  |  (retryable cause, attempts left)
//!                             |                          |
//!                             +--accept--> accepted -----+ fail (Fusion's processing refused it)
//!                                             \--confirm--> synced
//!
//! sync_failed | manual_review --operator_retry--> pending_sync   (an audited console action)
//! sync_failed | manual_review --handled_outside--> handled_outside (terminal, audited)
//! (none) | pending_sync | sync_failed | manual_review --baseline--> baselined (terminal)
//! ```
//!
//! `baselined` is go-live's cut-over (`crate::golive::baseline`): a transaction at or below the
//! DC's baseline watermark is already part of the absolute balances the baseline loaded into
//! Fusion, so it is never posted; the WMS is told `synced` with reference `baseline:<plan id>`.
//!
//! `accepted` means Fusion took the staged row but has not processed it yet (Background or
//! Concurrent mode, or an Online post answered 408): only Fusion's completion makes a row
//! `synced` (architecture.md, "synced means Fusion processed it").
//!
//! [`LedgerEntry::apply`] is the only way to move a row. Stores persist the result with a
//! conditional write on [`LedgerEntry::version`], so two invocations can never both move the
//! same row.

use crate::error::DomainError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod fusion_ref;
pub use fusion_ref::{FusionRef, BASELINE_REF_PREFIX, STAGED_REF_PREFIX};

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Seen in the WMS outbox, not yet posted.
    PendingSync,
    /// Claimed by an invocation that is posting it (lease until `lease_until`).
    InFlight,
    /// Fusion took every line into its interface, but at least one line is not processed yet;
    /// `fusion_refs` says which (`staged:<TransactionInterfaceId>`). Confirmed later.
    Accepted,
    /// Fusion processed every line. Terminal.
    Synced,
    /// The last attempt failed; see the failure cause.
    SyncFailed,
    /// Handed to a person. Terminal for the automation; only an operator's retry moves it.
    ManualReview,
    /// A person handled it outside invsync (keyed in Fusion by hand, cancelled in the WMS)
    /// and said why. Terminal.
    HandledOutside,
    /// Part of a go-live baseline: its effect reached Fusion inside the absolute balances
    /// loaded at cut-over, so it is never posted. Terminal.
    Baselined,
}

impl SyncState {
    /// The stored name (`pending_sync`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::PendingSync => "pending_sync",
            SyncState::InFlight => "in_flight",
            SyncState::Accepted => "accepted",
            SyncState::Synced => "synced",
            SyncState::SyncFailed => "sync_failed",
            SyncState::ManualReview => "manual_review",
            SyncState::HandledOutside => "handled_outside",
            SyncState::Baselined => "baselined",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Ok(match s {
            "pending_sync" => SyncState::PendingSync,
            "in_flight" => SyncState::InFlight,
            "accepted" => SyncState::Accepted,
            "synced" => SyncState::Synced,
            "sync_failed" => SyncState::SyncFailed,
            "manual_review" => SyncState::ManualReview,
            "handled_outside" => SyncState::HandledOutside,
            "baselined" => SyncState::Baselined,
            other => {
                return Err(DomainError::InvalidId {
                    kind: "ledger state",
                    value: crate::error::quote(other),
                    reason: "not a known state".into(),
                })
            }
        })
    }

    /// Whether no event can move a row out of this state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SyncState::Synced | SyncState::ManualReview | SyncState::HandledOutside | SyncState::Baselined
        )
    }

    /// Whether an operator may retry or close a row in this state (`sync_failed`,
    /// `manual_review`).
    pub fn needs_operator(self) -> bool {
        matches!(self, SyncState::SyncFailed | SyncState::ManualReview)
    }

    /// Whether the transaction's effect may still be missing from Fusion on-hand (it counts as
    /// in flight for reconciliation).
    pub fn is_unsettled(self) -> bool {
        matches!(
            self,
            SyncState::PendingSync | SyncState::InFlight | SyncState::Accepted | SyncState::SyncFailed
        )
    }

    /// Every state, in lifecycle order.
    pub const ALL: [SyncState; 8] = [
        SyncState::PendingSync,
        SyncState::InFlight,
        SyncState::Accepted,
        SyncState::Synced,
        SyncState::SyncFailed,
        SyncState::ManualReview,
        SyncState::HandledOutside,
        SyncState::Baselined,
    ];
}

impl std::fmt::Display for SyncState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Whether a later attempt may succeed.
    pub retryable: bool,
    /// Human-readable cause (Fusion's error text for validation errors). Never holds secrets.
    pub reason: String,
    /// The cause was Fusion's availability (5xx, throttling or timeouts that outlasted the
    /// client's retries), not this transaction's data. Several such failures in a row stop a
    /// sync run (see `SyncSettings::outage_after`); operators see the cause in the ledger.
    #[serde(default)]
    pub systemic: bool,
}

/// An event that may move a ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerEvent {
    /// An invocation takes the row to post it, holding it until `lease_until`.
    Claim {
        /// Current time.
        now: DateTime<Utc>,
        /// Lease expiry; after it another invocation may reclaim the row.
        lease_until: DateTime<Utc>,
        /// Attempt cap (the brief: 3).
        max_attempts: u32,
    },
    /// Fusion processed every line.
    Confirm {
        /// Fusion references (transaction ids) of the lines.
        fusion_refs: Vec<FusionRef>,
    },
    /// Fusion took every line into its interface; at least one awaits processing.
    Accept {
        /// One reference per line: a processed line's transaction id(s), or
        /// [`FusionRef::Staged`] of a line still in the interface.
        fusion_refs: Vec<FusionRef>,
    },
    /// A failure that is not about this transaction (Fusion or the WMS refused the
    /// credentials or the role) ended the claim: the row goes back to `pending_sync` and the
    /// claim does not count as an attempt, so fixing the cause is enough for it to sync.
    Release,
    /// The attempt failed.
    Fail(Failure),
    /// A person takes over.
    Escalate {
        /// Why.
        reason: String,
    },
    /// An operator sends a `sync_failed` or `manual_review` row back to `pending_sync`
    /// (architecture.md: "`manual_review` -> `pending_sync` only by an audited operator
    /// action"); the caller writes the audit entry.
    OperatorRetry {
        /// Who (recorded in the row's failure text until the next verdict).
        by: String,
    },
    /// An operator closes a `sync_failed` or `manual_review` row as handled outside invsync.
    HandledOutside {
        /// Who.
        by: String,
        /// Why.
        reason: String,
    },
    /// Go-live cut-over: the transaction is at or below the DC's baseline watermark, so its
    /// effect is in the baseline's absolute balances; it must never be posted.
    Baseline {
        /// The baseline plan's id (the row's reference becomes `baseline:<plan>`).
        plan: String,
    },
}

impl LedgerEvent {
    fn name(&self) -> &'static str {
        match self {
            LedgerEvent::Claim { .. } => "claim",
            LedgerEvent::Confirm { .. } => "confirm",
            LedgerEvent::Accept { .. } => "accept",
            LedgerEvent::Release => "release",
            LedgerEvent::Fail(_) => "fail",
            LedgerEvent::Escalate { .. } => "escalate",
            LedgerEvent::OperatorRetry { .. } => "operator_retry",
            LedgerEvent::HandledOutside { .. } => "handled_outside",
            LedgerEvent::Baseline { .. } => "baseline",
        }
    }
}

/// The state of one transaction's sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Current state.
    pub state: SyncState,
    /// Claims made so far (posting attempts by invocations).
    pub attempts: u32,
    /// Lease expiry of the current claim (`in_flight` only).
    pub lease_until: Option<DateTime<Utc>>,
    /// Cause of the last failure (`sync_failed`, `manual_review`).
    pub failure: Option<Failure>,
    /// Fusion references once synced.
    pub fusion_refs: Vec<FusionRef>,
    /// Optimistic-concurrency version: every transition increments it, and stores only write
    /// a new entry if the stored version is still the one it was computed from.
    pub version: u64,
}

impl Default for LedgerEntry {
    fn default() -> Self {
        Self::pending()
    }
}

impl LedgerEntry {
    /// A row just seen in the WMS outbox.
    pub fn pending() -> Self {
        Self {
            state: SyncState::PendingSync,
            attempts: 0,
            lease_until: None,
            failure: None,
            fusion_refs: Vec::new(),
            version: 0,
        }
    }

    /// A transaction first seen at cut-over, recorded directly as `baselined` for `plan` (the
    /// same entry [`LedgerEvent::Baseline`] gives a `pending_sync` row, at version 0).
    pub fn baselined(plan: &str) -> Self {
        Self {
            state: SyncState::Baselined,
            fusion_refs: vec![FusionRef::baseline(plan)],
            ..Self::pending()
        }
    }

    /// Whether an earlier attempt may have reached Fusion, so Fusion must be asked (by Source*
    /// reference) before posting again.
    pub fn must_look_up_before_post(&self) -> bool {
        self.attempts > 1
    }

    /// Whether the row is `in_flight` with a lapsed lease and no attempts left: its claims kept
    /// dying before a verdict, so it goes to a person instead of being claimed again. Only then
    /// may an `in_flight` row be escalated.
    pub fn is_abandoned(&self, now: DateTime<Utc>, max_attempts: u32) -> bool {
        self.state == SyncState::InFlight && self.lease_until.is_none_or(|l| l <= now) && self.attempts >= max_attempts
    }

    /// Whether `Claim` at `now` with `max_attempts` would be accepted.
    pub fn claimable(&self, now: DateTime<Utc>, max_attempts: u32) -> bool {
        self.apply(LedgerEvent::Claim {
            now,
            lease_until: now,
            max_attempts,
        })
        .is_ok()
    }

    /// The entry after `event`, or `IllegalTransition` when the state machine forbids it.
    /// `synced` and `handled_outside` refuse every event; `manual_review` accepts only an
    /// operator's retry or close.
    pub fn apply(&self, event: LedgerEvent) -> Result<LedgerEntry, DomainError> {
        let illegal = |event: &LedgerEvent| DomainError::IllegalTransition {
            from: self.state.as_str(),
            event: event.name(),
        };
        let mut next = self.clone();
        next.version = self.version + 1;
        match (&self.state, &event) {
            (
                SyncState::PendingSync,
                LedgerEvent::Claim {
                    lease_until,
                    max_attempts,
                    ..
                },
            ) if self.attempts < *max_attempts => {
                next.state = SyncState::InFlight;
                next.attempts += 1;
                next.lease_until = Some(*lease_until);
            }
            (
                SyncState::SyncFailed,
                LedgerEvent::Claim {
                    lease_until,
                    max_attempts,
                    ..
                },
            ) if self.failure.as_ref().is_some_and(|f| f.retryable) && self.attempts < *max_attempts => {
                next.state = SyncState::InFlight;
                next.attempts += 1;
                next.lease_until = Some(*lease_until);
            }
            (
                SyncState::InFlight,
                LedgerEvent::Claim {
                    now,
                    lease_until,
                    max_attempts,
                },
            ) if self.lease_until.is_none_or(|l| l <= *now) && self.attempts < *max_attempts => {
                // A crashed claim: the attempt counter still grows so a transaction that
                // crashes its invocation every time reaches the cap and goes to manual review
                // (see `is_abandoned`), not a loop.
                next.attempts += 1;
                next.lease_until = Some(*lease_until);
            }
            (SyncState::InFlight | SyncState::Accepted, LedgerEvent::Confirm { fusion_refs }) => {
                next.state = SyncState::Synced;
                next.lease_until = None;
                next.failure = None;
                next.fusion_refs = fusion_refs.clone();
            }
            (SyncState::InFlight, LedgerEvent::Accept { fusion_refs }) => {
                next.state = SyncState::Accepted;
                next.lease_until = None;
                next.failure = None;
                next.fusion_refs = fusion_refs.clone();
            }
            (SyncState::InFlight, LedgerEvent::Release) => {
                next.state = SyncState::PendingSync;
                next.lease_until = None;
                next.attempts = self.attempts.saturating_sub(1);
            }
            (SyncState::InFlight | SyncState::Accepted, LedgerEvent::Fail(failure)) => {
                next.state = SyncState::SyncFailed;
                next.lease_until = None;
                next.failure = Some(failure.clone());
            }
            (
                SyncState::SyncFailed | SyncState::PendingSync | SyncState::InFlight,
                LedgerEvent::Escalate { reason },
            ) => {
                next.state = SyncState::ManualReview;
                next.failure = Some(Failure {
                    retryable: false,
                    reason: reason.clone(),
                    systemic: false,
                });
            }
            (SyncState::SyncFailed | SyncState::ManualReview, LedgerEvent::OperatorRetry { by }) => {
                next.state = SyncState::PendingSync;
                next.lease_until = None;
                // Why at most 1, not 0: the attempt cap starts over, but when an earlier claim
                // may have reached Fusion the next claim (attempts 2) still looks the lines up
                // by their Source* reference before posting (`must_look_up_before_post`).
                next.attempts = self.attempts.min(1);
                let last = self.failure.as_ref().map_or("none recorded", |f| f.reason.as_str());
                next.failure = Some(Failure {
                    retryable: true,
                    reason: format!("retry requested by {by}; last failure: {last}"),
                    systemic: false,
                });
            }
            (SyncState::SyncFailed | SyncState::ManualReview, LedgerEvent::HandledOutside { by, reason }) => {
                next.state = SyncState::HandledOutside;
                next.lease_until = None;
                next.failure = Some(Failure {
                    retryable: false,
                    reason: format!("handled outside invsync by {by}: {reason}"),
                    systemic: false,
                });
            }
            (
                SyncState::PendingSync | SyncState::SyncFailed | SyncState::ManualReview,
                LedgerEvent::Baseline { plan },
            ) => {
                next.state = SyncState::Baselined;
                next.lease_until = None;
                next.failure = None;
                next.fusion_refs = vec![FusionRef::baseline(plan)];
            }
            _ => return Err(illegal(&event)),
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests;
