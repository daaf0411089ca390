//! The per-DC dashboard.

use crate::types::{AccuracyPoint, Dashboard, RunSummary};
use crate::{ConsoleError, ConsoleService};
use chrono::Duration;
use domain::console::{authorize, Action, PageRequest, Principal};
use domain::ids::DcCode;
use domain::ledger::SyncState;
use domain::ports::ConsolePorts;
use domain::ports::{Clock, Incidents, LedgerBrowser, RunHistory, RunKind, RunReport, TaskBoard, WarehouseSystem};
use futures::future::try_join_all;
use std::collections::BTreeMap;

/// Ledger states the backlog counts (the others only grow).
const BACKLOG: [SyncState; 5] = [
    SyncState::PendingSync,
    SyncState::InFlight,
    SyncState::Accepted,
    SyncState::SyncFailed,
    SyncState::ManualReview,
];

fn point(r: &RunReport) -> Option<AccuracyPoint> {
    Some(AccuracyPoint {
        at: r.started_at,
        accuracy_bp: *r.figures.get("accuracy_bp")?,
        keys_compared: r.figures.get("keys_compared").copied().unwrap_or(0),
    })
}

impl<P: ConsolePorts> ConsoleService<P> {
    /// `dc`'s dashboard: the last sync and reconciliation with their figures, the ledger
    /// backlog by state, open tasks, active holds, open incidents, and reconciliation accuracy
    /// over the last 24 hours and 7 days. Every role. Reads run concurrently.
    pub async fn dashboard(&self, who: Option<&Principal>, dc: &DcCode) -> Result<Dashboard, ConsoleError> {
        authorize(who, Action::ViewDashboard, dc)?;
        let now = self.ports.clock().now();
        let history = self.ports.history();
        let one = PageRequest::first(1);
        let (last_sync, last_reconcile, week, backlog, open_tasks, holds, incidents) = futures::try_join!(
            async { Ok::<_, ConsoleError>(history.list_runs(dc, RunKind::Sync, &one).await?) },
            async { Ok(history.list_runs(dc, RunKind::Reconcile, &one).await?) },
            async {
                Ok(history
                    .runs_since(dc, RunKind::Reconcile, now - Duration::days(7))
                    .await?)
            },
            async {
                let counts = try_join_all(BACKLOG.iter().map(|s| self.ports.browser().count_rows(dc, *s))).await?;
                Ok(BACKLOG.into_iter().zip(counts).collect::<BTreeMap<_, _>>())
            },
            async { Ok(self.ports.board().count_active(dc).await?) },
            async { Ok(self.ports.wms().holds(dc).await?) },
            async { Ok(self.ports.incidents().open_incidents(dc).await?) },
        )?;
        let accuracy_7d: Vec<AccuracyPoint> = week.iter().filter_map(point).collect();
        let day_ago = now - Duration::hours(24);
        let accuracy_24h = accuracy_7d.iter().filter(|p| p.at >= day_ago).cloned().collect();
        Ok(Dashboard {
            dc: dc.clone(),
            at: now,
            last_sync: last_sync.items.first().map(RunSummary::from),
            last_reconcile: last_reconcile.items.first().map(RunSummary::from),
            backlog,
            open_tasks,
            active_holds: holds.len() as u64,
            open_incidents: incidents.len() as u64,
            accuracy_24h,
            accuracy_7d,
        })
    }
}
