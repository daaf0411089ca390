//! The operator console's one service layer (issue 12). [`ConsoleService`] owns every console
//! operation and its rules; the HTTP API function and the `invsync` CLI are thin over it and
//! only translate: a principal in, a typed response or a [`ConsoleError`] out
//! ([`ConsoleError::status`] is the HTTP status).
//!
//! Contract of every operation:
//! - the first argument is the caller (`None`: unauthenticated, 401). [`domain::console::authorize`]
//!   runs before anything is read: a wrong role is 403; a DC outside the caller's scope is 403
//!   for a DC-wide read and 404 for one record (see the matrix in `domain::console::auth`);
//! - every action writes exactly one audit entry (who, when, what, target, before, after,
//!   reason) with an id derived from its effect; the same request repeated (double click,
//!   client retry) changes nothing, writes no second entry and answers as the first did;
//! - lists are paged: a [`PageRequest`] in (limit, opaque cursor), a [`PageOf`] out.
//!
//! Operations (module):
//! - [`ConsoleService::dashboard`] (`dashboard`);
//! - tasks (`tasks`): [`ConsoleService::list_tasks`], [`ConsoleService::task_detail`],
//!   [`ConsoleService::claim_task`], [`ConsoleService::resolve_task`]. Resolving by adjustment
//!   posts through the same ledger and two-phase commit as the sync
//!   ([`domain::sync::sync_transaction`]) with an id derived from the task and the version
//!   resolved, so it can never post twice; the task stays `resolving` until Fusion processed
//!   the adjustment, then the resolve itself, a later read or the reconciliation closes it;
//! - holds and incidents (`holds`): [`ConsoleService::list_holds`],
//!   [`ConsoleService::release_hold`] (through the WMS port; the incident records the release
//!   so the hold stays released until a new incident), [`ConsoleService::list_incidents`],
//!   [`ConsoleService::acknowledge_incident`];
//! - failed and stuck transactions (`txns`): [`ConsoleService::list_stuck`],
//!   [`ConsoleService::retry_txn`], [`ConsoleService::retry_matching`],
//!   [`ConsoleService::close_txn`]. A retried WMS transaction is `pending_sync` again and is
//!   posted by the next sync of its DC (it is still in the WMS outbox as `sync_failed`); a
//!   retried adjustment (never in the outbox) is posted by the retry itself;
//! - history (`history`): [`ConsoleService::list_runs`], [`ConsoleService::list_audit`];
//! - DC go-live statuses (`golive`): [`DcStatusDesk`], on the status table and the audit trail
//!   only: read every DC's status, take a DC to maintenance and back, declare a DC live.

use chrono::Duration;
use domain::console::{AuditEntry, Principal};
use domain::ports::AuditLog;
use domain::sync::SyncSettings;
use tracing::warn;

mod dashboard;
mod error;
mod golive;
mod history;
mod holds;
mod tasks;
mod txns;
pub mod types;

pub use domain::console::{PageOf, PageRequest};
pub use domain::ports::ConsolePorts;
pub use error::ConsoleError;
pub use golive::{DcStatusDesk, StatusRequest};
pub use tasks::adjustment_id_for;
pub use types::*;

/// Tunables of the console.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// How adjustments and adjustment retries are posted (attempt cap, lease, serial limit).
    pub sync: SyncSettings,
    /// An `in_flight` or `accepted` row unchanged this long is listed as stuck (default 1 h).
    pub stale_after: Duration,
    /// Most rows one "retry all" moves (default 500); the summary says when it stopped early.
    pub retry_all_max: usize,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            sync: SyncSettings::default(),
            stale_after: Duration::hours(1),
            retry_all_max: 500,
        }
    }
}

/// The console's operations over ports `P` (see the crate doc for the contract).
#[derive(Debug, Clone)]
pub struct ConsoleService<P> {
    ports: P,
    settings: ConsoleSettings,
}

impl<P: ConsolePorts> ConsoleService<P> {
    /// A service over `ports`.
    pub fn new(ports: P, settings: ConsoleSettings) -> Self {
        Self { ports, settings }
    }

    /// The ports (tests and wiring).
    pub fn ports(&self) -> &P {
        &self.ports
    }

    /// Appends one audit entry. The action already took effect, so a failed append is
    /// reported as unavailable: the caller's retry finds the effect in place (no second
    /// effect) and appends the entry then.
    async fn audit(&self, entry: AuditEntry) -> Result<(), ConsoleError> {
        match self.ports.audit().append(&entry).await {
            Ok(_) => Ok(()),
            Err(e) => {
                warn!(id = entry.id.as_str(), error = %e, "audit entry could not be written");
                Err(ConsoleError::Unavailable(format!(
                    "the action was done but its audit entry could not be written ({e}); repeat the request to record it"
                )))
            }
        }
    }
}

/// The principal behind an authorized call (authorize succeeded, so it is present).
fn caller(who: Option<&Principal>) -> Result<&Principal, ConsoleError> {
    who.ok_or(ConsoleError::Unauthenticated)
}
