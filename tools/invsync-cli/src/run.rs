//! Runs one parsed command against a [`ConsoleService`]: builds the request, calls the one
//! operation, and hands the typed answer to [`crate::render`] for both output formats. No rule
//! lives here; authorization, lifecycle and audit are the service's.

use crate::args::{
    Command, FailedArg, HoldsCmd, IncidentsCmd, KindArg, PageArgs, RunsCmd, StatusArg, StuckArg, SyncsCmd, TasksCmd,
};
use crate::exit::CliError;
use crate::render::{self, Output};
use console::{
    CloseRequest, ConsoleService, HoldView, PageOf, PageRequest, ReleaseRequest, ResolveRequest, RetryFilter,
    StuckKind, TaskDetail,
};
use domain::console::{Cursor, Principal, Resolution, TaskStatus};
use domain::ids::DcCode;
use domain::ledger::SyncState;
use domain::ports::{ConsolePorts, IncidentRecord, RunKind, TaskFilter, TaskKind};
use futures::{stream, StreamExt, TryStreamExt};
use serde::Serialize;

/// Task details read at once for `discrepancies` (each is a task read and a ledger query).
const DETAIL_CONCURRENCY: usize = 8;

/// An open incident with the WMS hold it placed (`discrepancies`).
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDiscrepancy {
    /// The incident and what people did about it.
    pub incident: IncidentRecord,
    /// Its hold, while active at the WMS (the hold's reason carries the variance figures).
    pub hold: Option<HoldView>,
}

/// `invsync discrepancies`: the open variance tasks with their figures and transactions, and
/// the open incidents with their holds.
#[derive(Debug, Clone, Serialize)]
pub struct Discrepancies {
    /// DC.
    pub dc: DcCode,
    /// Open variance tasks (one page), each with WMS vs Fusion vs in flight.
    pub tasks: Vec<TaskDetail>,
    /// Cursor of the next page of tasks.
    pub next: Option<Cursor>,
    /// Open incidents (the first 500).
    pub incidents: Vec<IncidentDiscrepancy>,
}

/// Whether `command` may run over several DCs (the work-queue lists, `dc status`).
pub fn spans_dcs(command: &Command) -> bool {
    matches!(
        command,
        Command::Dc(crate::args::DcCmd::Status)
            | Command::Tasks(TasksCmd::List { .. })
            | Command::Holds(HoldsCmd::List)
            | Command::Incidents(IncidentsCmd::List(_))
            | Command::Syncs(SyncsCmd::List { .. })
    )
}

/// The paging options of a list command.
pub fn page_args(command: &Command) -> Option<&PageArgs> {
    match command {
        Command::Tasks(TasksCmd::List { page, .. })
        | Command::Incidents(IncidentsCmd::List(page))
        | Command::Syncs(SyncsCmd::List { page, .. })
        | Command::Runs(RunsCmd::List { page, .. })
        | Command::Discrepancies(page)
        | Command::Audit(page) => Some(page),
        _ => None,
    }
}

/// The one DC of a command that acts on one DC.
fn one(dcs: &[DcCode]) -> Result<&DcCode, CliError> {
    match dcs {
        [dc] => Ok(dc),
        _ => Err(CliError::Usage("--dc <DC> is required for this command".into())),
    }
}

/// One page at one DC (`--cursor` continues it); over several DCs, every page of each, in DC
/// order (a fleet-wide list is complete rather than cut at an arbitrary DC).
async fn each_dc<T, F, Fut>(dcs: &[DcCode], p: &PageArgs, read: F) -> Result<PageOf<T>, CliError>
where
    F: Fn(DcCode, PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<PageOf<T>, console::ConsoleError>>,
{
    if let [dc] = dcs {
        return Ok(read(dc.clone(), page(p)).await?);
    }
    let mut items = Vec::new();
    for dc in dcs {
        let mut request = PageRequest::first(p.limit);
        loop {
            let got = read(dc.clone(), request).await?;
            items.extend(got.items);
            match got.next {
                Some(c) => request = PageRequest::after(p.limit, c),
                None => break,
            }
        }
    }
    Ok(PageOf::last(items))
}

fn page(p: &PageArgs) -> PageRequest {
    PageRequest {
        limit: p.limit,
        cursor: p.cursor.clone().map(Cursor::new),
    }
}

/// Runs `command` as `who` at `dcs` (one DC, or several for [`spans_dcs`] commands).
pub async fn run<P: ConsolePorts>(
    svc: &ConsoleService<P>,
    who: &Principal,
    dcs: &[DcCode],
    command: &Command,
) -> Result<Output, CliError> {
    let who = Some(who);
    Ok(match command {
        Command::Tasks(cmd) => tasks(svc, who, dcs, cmd).await?,
        Command::Holds(HoldsCmd::List) => {
            let mut holds = Vec::new();
            for dc in dcs {
                holds.extend(svc.list_holds(who, dc).await?);
            }
            render::holds(&PageOf::last(holds))
        }
        Command::Holds(HoldsCmd::Release { item, reason }) => {
            let request = ReleaseRequest { reason: reason.clone() };
            render::hold_released(&svc.release_hold(who, one(dcs)?, item, &request).await?)
        }
        Command::Incidents(IncidentsCmd::List(p)) => render::incidents(
            &each_dc(
                dcs,
                p,
                |dc, req| async move { svc.list_incidents(who, &dc, &req).await },
            )
            .await?,
        ),
        Command::Incidents(IncidentsCmd::Ack { id }) => {
            render::incident(&svc.acknowledge_incident(who, one(dcs)?, id).await?)
        }
        Command::Syncs(cmd) => syncs(svc, who, dcs, cmd).await?,
        Command::Runs(RunsCmd::List { kind, page: p }) => {
            let dc = one(dcs)?;
            match kind {
                Some(kind) => render::runs(&svc.list_runs(who, dc, *kind, &page(p)).await?),
                None => {
                    if p.cursor.is_some() {
                        return Err(CliError::Usage("--cursor needs --kind (sync or reconcile)".into()));
                    }
                    let first = PageRequest::first(p.limit);
                    let mut runs = svc.list_runs(who, dc, RunKind::Sync, &first).await?.items;
                    runs.extend(svc.list_runs(who, dc, RunKind::Reconcile, &first).await?.items);
                    runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
                    render::runs(&PageOf::last(runs))
                }
            }
        }
        Command::Discrepancies(p) => render::discrepancies(&discrepancies(svc, who, one(dcs)?, p).await?),
        Command::Audit(p) => render::audit(&svc.list_audit(who, one(dcs)?, &page(p)).await?),
        Command::Dashboard => render::dashboard(&svc.dashboard(who, one(dcs)?).await?),
        Command::Dc(_) | Command::Baseline(_) => {
            return Err(CliError::Usage(
                "`dc` and `baseline` commands run on their own ports (crate::execute_dc, crate::execute_baseline)"
                    .into(),
            ))
        }
    })
}

async fn tasks<P: ConsolePorts>(
    svc: &ConsoleService<P>,
    who: Option<&Principal>,
    dcs: &[DcCode],
    cmd: &TasksCmd,
) -> Result<Output, CliError> {
    Ok(match cmd {
        TasksCmd::List { kind, status, page: p } => {
            let filter = TaskFilter {
                kind: kind.map(|k| match k {
                    KindArg::Variance => TaskKind::Variance,
                    KindArg::SyncFailure => TaskKind::SyncFailure,
                }),
                status: status.map(|s| match s {
                    StatusArg::Open => TaskStatus::Open,
                    StatusArg::Claimed => TaskStatus::Claimed,
                    StatusArg::Resolving => TaskStatus::Resolving,
                    StatusArg::Closed => TaskStatus::Closed,
                }),
            };
            render::tasks(
                &each_dc(
                    dcs,
                    p,
                    |dc, req| async move { svc.list_tasks(who, &dc, filter, &req).await },
                )
                .await?,
            )
        }
        TasksCmd::Show { key } => render::task_detail(&svc.task_detail(who, one(dcs)?, key).await?),
        TasksCmd::Claim { key } => render::task(&svc.claim_task(who, one(dcs)?, key).await?),
        TasksCmd::Resolve {
            key,
            if_version,
            adjust,
            recount,
            close,
        } => {
            let resolution = match (adjust, recount, close) {
                (true, false, None) => Resolution::Adjust,
                (false, true, None) => Resolution::RecountRequested,
                (false, false, Some(reason)) => Resolution::Close { reason: reason.clone() },
                _ => {
                    return Err(CliError::Usage(
                        "give exactly one of --adjust, --recount, --close".into(),
                    ))
                }
            };
            let request = ResolveRequest {
                version: *if_version,
                resolution,
            };
            render::resolved(&svc.resolve_task(who, one(dcs)?, key, &request).await?)
        }
    })
}

async fn syncs<P: ConsolePorts>(
    svc: &ConsoleService<P>,
    who: Option<&Principal>,
    dcs: &[DcCode],
    cmd: &SyncsCmd,
) -> Result<Output, CliError> {
    let dc = || one(dcs);
    Ok(match cmd {
        SyncsCmd::List { state, page: p } => {
            let kind = match state {
                StuckArg::SyncFailed => StuckKind::SyncFailed,
                StuckArg::ManualReview => StuckKind::ManualReview,
                StuckArg::StaleInFlight => StuckKind::StaleInFlight,
                StuckArg::StaleAccepted => StuckKind::StaleAccepted,
            };
            render::txns(
                &each_dc(
                    dcs,
                    p,
                    |dc, req| async move { svc.list_stuck(who, &dc, kind, &req).await },
                )
                .await?,
            )
        }
        SyncsCmd::Retry { id } => render::txn(&svc.retry_txn(who, dc()?, id).await?),
        SyncsCmd::RetryMatching {
            state,
            item,
            error_contains,
        } => {
            let filter = RetryFilter {
                state: match state {
                    FailedArg::SyncFailed => SyncState::SyncFailed,
                    FailedArg::ManualReview => SyncState::ManualReview,
                },
                item: item.clone(),
                error_contains: error_contains.clone(),
            };
            render::retried(&svc.retry_matching(who, dc()?, &filter).await?)
        }
        SyncsCmd::Close { id, reason } => {
            let request = CloseRequest { reason: reason.clone() };
            render::txn(&svc.close_txn(who, dc()?, id, &request).await?)
        }
    })
}

async fn discrepancies<P: ConsolePorts>(
    svc: &ConsoleService<P>,
    who: Option<&Principal>,
    dc: &DcCode,
    p: &PageArgs,
) -> Result<Discrepancies, CliError> {
    let filter = TaskFilter {
        kind: Some(TaskKind::Variance),
        status: None,
    };
    let listed = svc.list_tasks(who, dc, filter, &page(p)).await?;
    let tasks: Vec<TaskDetail> = stream::iter(listed.items.iter().map(|t| async move {
        let key = t.key.parse().map_err(|e: domain::DomainError| {
            console::ConsoleError::Upstream(format!("stored task key unreadable: {e}"))
        })?;
        svc.task_detail(who, dc, &key).await
    }))
    .buffered(DETAIL_CONCURRENCY)
    .try_collect()
    .await?;
    let holds = svc.list_holds(who, dc).await?;
    let incidents = svc
        .list_incidents(who, dc, &PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items
        .into_iter()
        .map(|incident| IncidentDiscrepancy {
            hold: holds
                .iter()
                .find(|h| h.incident.as_ref() == Some(&incident.incident.id))
                .cloned(),
            incident,
        })
        .collect();
    Ok(Discrepancies {
        dc: dc.clone(),
        tasks,
        next: listed.next,
        incidents,
    })
}
