//! The simulator's transaction-manager runs: on demand (`POST /admin/process-staged`,
//! [`crate::RunningSim::process_staged`]), on `process_interval` (the Manage Inventory
//! Transactions job), and for Concurrent rows `concurrent_delay` after their POST.
//!
//! Every run consults the faults for injected processing failures
//! (`Faults::process_fail_rate`, `Faults::fail_processing_refs`). Locks are taken faults first,
//! then state, and nowhere the other way round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::config::ProcessReport;
use crate::http::{lock, write, Shared};
use crate::rest::text_of;
use crate::sim::Pick;

/// Runs the transaction manager over the rows `pick` selects.
pub(crate) fn run(shared: &Shared, pick: Pick) -> ProcessReport {
    let mut faults = lock(&shared.faults);
    let mut sim = write(&shared.sim);
    sim.process_pending(pick, &mut |req| {
        let refs = [text_of(Some(&req.reference)), text_of(Some(&req.source_header_id))];
        faults.processing_failure(&refs)
    })
}

/// Processes every pending row each `every` (the first run one period after start).
pub(crate) fn spawn_interval(shared: Arc<Shared>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            run(&shared, Pick::All);
        }
    })
}

/// Processes Concurrent rows when they fall due; woken by [`Shared::concurrent_wake`] after
/// requests that may have scheduled one.
pub(crate) fn spawn_concurrent(shared: Arc<Shared>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let next = write(&shared.sim).next_concurrent_due();
            let now = Instant::now();
            match next {
                Some(at) if at <= now => {
                    run(&shared, Pick::DueBy(now));
                }
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                        () = shared.concurrent_wake.notified() => {}
                    }
                }
                None => shared.concurrent_wake.notified().await,
            }
        }
    })
}
