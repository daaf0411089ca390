//! The command line (clap derive): global options, one subcommand group per console area.
//! Values are parsed into the domain's types here, so a bad DC, key, id or reason is a usage
//! error (exit 2) before anything is read.

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use domain::console::{Reason, Role};
use domain::ids::{DcCode, ItemNumber, WmsTxnId};
use domain::ports::{IncidentId, RunKind, TaskKey};

/// `invsync`: the operator console for the infra team, with the caller's AWS credentials.
#[derive(Debug, Parser)]
#[command(name = "invsync", version, about, long_about = None)]
pub struct Cli {
    /// Print one JSON document instead of tables (stable field names; errors as
    /// `{"error": {"code", "message", "retryable"}}`).
    #[arg(long, global = true)]
    pub json: bool,

    /// The DC to act on (also narrows the operator's scope to it).
    #[arg(long, global = true, env = "INVSYNC_DC", value_parser = parse_dc)]
    pub dc: Option<DcCode>,

    /// Who the audit trail names (default: the OS user, `$USER` / `$LOGNAME`).
    #[arg(long, global = true, env = "INVSYNC_ACTOR")]
    pub actor: Option<String>,

    /// Act with only these roles (repeat or comma-separate; default: every role).
    #[arg(long = "as-role", global = true, value_delimiter = ',', value_parser = parse_role)]
    pub as_role: Vec<Role>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Review tasks: list, show (WMS vs Fusion vs in flight, transactions), claim, resolve.
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Active holds at the WMS: list, release with a reason.
    #[command(subcommand)]
    Holds(HoldsCmd),
    /// Open incidents (alert-tier variances): list, acknowledge.
    #[command(subcommand)]
    Incidents(IncidentsCmd),
    /// Failed and stuck transactions: list, retry one, retry matching, close as handled.
    #[command(subcommand)]
    Syncs(SyncsCmd),
    /// Run reports of the sync and the reconciliation.
    #[command(subcommand)]
    Runs(RunsCmd),
    /// Open variance tasks and incidents with WMS vs Fusion vs in flight.
    Discrepancies(PageArgs),
    /// The audit trail of the DC, newest first.
    Audit(PageArgs),
    /// The DC's dashboard: last runs, backlog by ledger state, open work, accuracy.
    Dashboard,
    /// DC go-live statuses: status of every DC, maintenance and resume, declare live.
    #[command(subcommand)]
    Dc(DcCmd),
    /// Go-live baseline of one DC: plan, apply (dry run unless --execute), status, verify,
    /// cut over.
    #[command(subcommand)]
    Baseline(BaselineCmd),
}

/// `invsync baseline ...` (`--dc` required). Runs the engine in this process with the
/// caller's credentials; `apply --via-lambda` hands the apply to the `baseline` function.
#[derive(Debug, Subcommand)]
pub enum BaselineCmd {
    /// Take a plan: WMS balances at an outbox watermark vs Fusion on-hand. Changes nothing in
    /// Fusion; the DC becomes `planned`.
    Plan {
        /// Also write every plan line as CSV to this file.
        #[arg(long, value_name = "FILE")]
        csv: Option<std::path::PathBuf>,
    },
    /// Apply the DC's current plan. Without `--execute`: a dry run that shows what would be
    /// sent and changes nothing.
    Apply {
        /// Really apply (absolute balances, or adjustments in adjustment mode).
        #[arg(long)]
        execute: bool,
        /// Send the apply to the `baseline` function (`BASELINE_QUEUE_URL`) instead of running
        /// it here; the progress bar follows the checkpoints.
        #[arg(long, requires = "execute")]
        via_lambda: bool,
        /// With `--via-lambda`: return once the request is sent.
        #[arg(long, requires = "via_lambda")]
        no_wait: bool,
    },
    /// The DC's status, its current plan and every chunk's progress.
    Status,
    /// A dry-run reconciliation of the DC: passes with zero variances outside refused lines
    /// and unknown items (the DC becomes `verified`). Exit 8 when it does not pass.
    Verify,
    /// Settle the outbox up to the watermark and make the DC `live`. Refused unless verified.
    Cutover,
}

/// `invsync dc ...`: needs only `DC_STATUS_TABLE` and `AUDIT_TABLE` (no Fusion or WMS).
#[derive(Debug, Subcommand)]
pub enum DcCmd {
    /// Every DC of `DC_LIST` (or the `--dc`): status, who, when, why, outbox watermark.
    Status,
    /// Take a live DC out for maintenance (no sync; reconciliation report-only) with a reason.
    Maintenance {
        /// Why (recorded on the DC and in the audit trail).
        #[arg(long, value_parser = parse_reason)]
        reason: Reason,
    },
    /// Bring a DC in maintenance back to live.
    Resume,
    /// Declare a DC live without a baseline: only for a DC invsync already synced before
    /// go-live statuses existed (the upgrade to this release). Refused unless `not_started`.
    DeclareLive {
        /// Why (recorded on the DC and in the audit trail).
        #[arg(long, value_parser = parse_reason)]
        reason: Reason,
    },
}

/// Paging of a list.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Rows per page (1..=500).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Continue after this cursor (printed with the previous page).
    #[arg(long)]
    pub cursor: Option<String>,
}

/// `invsync tasks ...`.
#[derive(Debug, Subcommand)]
pub enum TasksCmd {
    /// Tasks not closed (or of one status), in key order.
    List {
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Only this status (default: every status but closed).
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
    /// One task: figures, detail and the transactions behind it.
    Show {
        /// Task key (`bal:DC01/ITEM/SUB[/LOT]`, `txn:<id>`, `systemic:fusion`).
        #[arg(value_parser = parse_task_key)]
        key: TaskKey,
    },
    /// Claim a task.
    Claim {
        /// Task key.
        #[arg(value_parser = parse_task_key)]
        key: TaskKey,
    },
    /// Resolve a task seen at `--if-version`: post an adjustment, request a recount, or close.
    #[command(group(ArgGroup::new("how").required(true).multiple(false)))]
    Resolve {
        /// Task key.
        #[arg(value_parser = parse_task_key)]
        key: TaskKey,
        /// The task version you decided on (`tasks show`); a changed task is a conflict (exit 4).
        #[arg(long)]
        if_version: u64,
        /// Post an adjustment so Fusion matches the WMS (variance tasks).
        #[arg(long, group = "how")]
        adjust: bool,
        /// The WMS count is wrong; a recount was requested.
        #[arg(long, group = "how")]
        recount: bool,
        /// Close with this reason.
        #[arg(long, group = "how", value_parser = parse_reason, value_name = "REASON")]
        close: Option<Reason>,
    },
}

/// `invsync holds ...`.
#[derive(Debug, Subcommand)]
pub enum HoldsCmd {
    /// Holds active at the WMS, each with its incident.
    List,
    /// Release an item's hold at the WMS.
    Release {
        /// Item number.
        #[arg(value_parser = parse_item)]
        item: ItemNumber,
        /// Why (required, 1..500 characters).
        #[arg(long, value_parser = parse_reason)]
        reason: Reason,
    },
}

/// `invsync incidents ...`.
#[derive(Debug, Subcommand)]
pub enum IncidentsCmd {
    /// Open incidents.
    List(PageArgs),
    /// Acknowledge an incident.
    Ack {
        /// Incident id (`INC-...`).
        #[arg(value_parser = parse_incident)]
        id: IncidentId,
    },
}

/// `invsync syncs ...`.
#[derive(Debug, Subcommand)]
pub enum SyncsCmd {
    /// Failed or stuck transactions with Fusion's error text.
    List {
        /// Which: sync_failed (default), manual_review, stale_in_flight, stale_accepted.
        #[arg(long, value_enum, default_value_t = StuckArg::SyncFailed)]
        state: StuckArg,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Move one failed transaction back to pending (the next sync posts it).
    Retry {
        /// Transaction id.
        #[arg(value_parser = parse_txn)]
        id: WmsTxnId,
    },
    /// Retry every failed transaction matching a filter.
    RetryMatching {
        /// sync_failed (default) or manual_review.
        #[arg(long, value_enum, default_value_t = FailedArg::SyncFailed)]
        state: FailedArg,
        /// Only this item.
        #[arg(long, value_parser = parse_item)]
        item: Option<ItemNumber>,
        /// Only failures whose text contains this (case-insensitive).
        #[arg(long)]
        error_contains: Option<String>,
    },
    /// Close a transaction as handled outside invsync.
    Close {
        /// Transaction id.
        #[arg(value_parser = parse_txn)]
        id: WmsTxnId,
        /// Why (required).
        #[arg(long, value_parser = parse_reason)]
        reason: Reason,
    },
}

/// `invsync runs ...`.
#[derive(Debug, Subcommand)]
pub enum RunsCmd {
    /// Recent run reports, newest first.
    List {
        /// Which function's reports (default: both; paging needs one).
        #[arg(long, value_parser = parse_run_kind)]
        kind: Option<RunKind>,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
}

/// Task kinds on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum KindArg {
    /// A variance in the review tier.
    Variance,
    /// A transaction that cannot sync without a person.
    SyncFailure,
}

/// Task statuses on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum StatusArg {
    /// Open.
    Open,
    /// Claimed.
    Claimed,
    /// Adjustment posted, awaiting Fusion.
    Resolving,
    /// Closed.
    Closed,
}

/// Failed/stuck lists on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum StuckArg {
    /// `sync_failed`.
    SyncFailed,
    /// `manual_review`.
    ManualReview,
    /// `in_flight` for longer than an hour.
    StaleInFlight,
    /// `accepted` for longer than an hour.
    StaleAccepted,
}

/// States "retry matching" takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum FailedArg {
    /// `sync_failed`.
    SyncFailed,
    /// `manual_review`.
    ManualReview,
}

fn parse_dc(s: &str) -> Result<DcCode, String> {
    DcCode::parse(s).map_err(|e| e.to_string())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.to_string())
}

fn parse_task_key(s: &str) -> Result<TaskKey, String> {
    s.parse().map_err(|e: domain::DomainError| e.to_string())
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    Reason::parse(s).map_err(|e| e.to_string())
}

fn parse_item(s: &str) -> Result<ItemNumber, String> {
    ItemNumber::parse(s).map_err(|e| e.to_string())
}

fn parse_txn(s: &str) -> Result<WmsTxnId, String> {
    WmsTxnId::parse(s).map_err(|e| e.to_string())
}

fn parse_incident(s: &str) -> Result<IncidentId, String> {
    s.parse().map_err(|e: domain::DomainError| e.to_string())
}

fn parse_run_kind(s: &str) -> Result<RunKind, String> {
    s.parse().map_err(|e: domain::DomainError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn resolve_takes_exactly_one_way() {
        let both = Cli::try_parse_from([
            "invsync",
            "--dc",
            "DC01",
            "tasks",
            "resolve",
            "txn:T1",
            "--if-version",
            "1",
            "--adjust",
            "--recount",
        ]);
        assert!(both.is_err());
        let ok = Cli::try_parse_from(["invsync", "tasks", "resolve", "txn:T1", "--if-version", "1", "--adjust"]);
        assert!(ok.is_ok(), "{ok:?}");
    }
}
