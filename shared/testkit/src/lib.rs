//! invsync test support: in-memory fakes of every domain port, and builders.
//!
//! Fakes, not mocks: each fake keeps state and honours its port's contract (conditional
//! writes, put-if-absent, one open task per key, the WMS outcome rules), so a test asserts on
//! what ended up stored rather than on which calls were made. Every fake is `Send + Sync`
//! (plain `std::sync::Mutex`, no async runtime) and can be scripted to fail.
//!
//! Layout:
//! - [`build`]: identifier helpers, item-master facts and [`build::TxnBuilder`] for
//!   `WmsTransaction`s of every kind (plain, lot, serial, transfer);
//! - [`clock`]: [`ManualClock`], a clock a test sets and advances;
//! - [`golive`]: [`InMemoryDcStatus`], the DC status table (`all_live` for tests past go-live);
//! - [`store`]: [`InMemoryLedger`], [`InMemoryLease`], [`InMemoryLotMap`];
//! - [`ops`]: [`InMemoryTasks`], [`InMemoryIncidents`], [`InMemoryRunReports`],
//!   [`RecordingAlerts`];
//! - [`fusion`]: [`FakeFusion`], Oracle Fusion inventory with an item master, lots, on-hand,
//!   recorded posts and scriptable failures;
//! - [`wms`]: [`FakeWms`], the WMS contract with an outbox, outcomes, balances and holds;
//! - [`latency`]: [`latency::Latency`], a decorator adding an AWS service's latency to a fake
//!   and counting its requests by kind (benchmarks on the fakes);
//! - [`console`]: the console's ports on the fakes above, and [`InMemoryAudit`];
//! - [`seed`]: fills any port bundle with open tasks, incidents and holds, and failed
//!   transactions across DCs (console tests and benchmarks);
//! - [`ports`]: [`FakePorts`], all of the above bundled as `domain::sync::SyncPorts`,
//!   `domain::reconciliation::ReconcilePorts` and `domain::ports::ConsolePorts`.
//!
//! Builders panic on invalid literals (a broken test fixture, not a runtime condition); the
//! fakes never panic.

pub mod build;
pub mod checkpoints;
pub mod clock;
pub mod console;
pub mod fusion;
pub mod golive;
pub mod latency;
pub mod ops;
pub mod ports;
pub mod seed;
pub mod store;
pub mod wms;

pub use build::TxnBuilder;
pub use checkpoints::InMemoryBaselineCheckpoints;
pub use clock::ManualClock;
pub use console::InMemoryAudit;
pub use fusion::{AcceptedPost, BalanceFault, FakeFusion, PostMatch, PostMode};
pub use golive::InMemoryDcStatus;
pub use ops::{Closed, InMemoryIncidents, InMemoryRunReports, InMemoryTasks, RecordingAlerts, TaskRecord};
pub use ports::FakePorts;
pub use store::{InMemoryLease, InMemoryLedger, InMemoryLotMap};
pub use wms::{FakeWms, ReportCall, WmsTxnStatus};

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: a panicking test thread must not hide the state it left.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Scripted failures: the next `remaining` calls fail with `error`.
#[derive(Debug)]
pub(crate) struct Faults<E> {
    queue: Vec<(usize, E)>,
}

impl<E> Default for Faults<E> {
    fn default() -> Self {
        Self { queue: Vec::new() }
    }
}

impl<E: Clone> Faults<E> {
    /// Adds `n` failures with `error` after those already queued.
    pub(crate) fn push(&mut self, n: usize, error: E) {
        if n > 0 {
            self.queue.push((n, error));
        }
    }

    /// The failure for this call, if one is queued.
    pub(crate) fn take(&mut self) -> Option<E> {
        let (remaining, error) = self.queue.first_mut()?;
        let out = error.clone();
        *remaining -= 1;
        if *remaining == 0 {
            self.queue.remove(0);
        }
        Some(out)
    }
}
