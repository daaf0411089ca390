//! The `invsync` CLI (issue 12): the operator console for the infra team, run with their AWS
//! credentials against the same tables, WMS and Fusion the functions use. It is thin over
//! `console::ConsoleService`: parse ([`args`]), build the operator ([`operator`]), run one
//! operation ([`run`]), print it as a table or one JSON document ([`render`]), exit with a code
//! that says what happened ([`exit`]). Wiring from the environment is in `main.rs`
//! (`app::App::console_ports`, the functions' variable names plus `AUDIT_TABLE`); the `dc`
//! commands ([`dc`]) wire only `DC_STATUS_TABLE` and `AUDIT_TABLE`; the `baseline` commands
//! ([`baseline`]) wire the go-live engine (`app::App::baseline_ports`).
//!
//! The operator holds every role on the DC given with `--dc` (without it, the work-queue lists
//! cover every DC of `DC_LIST`) unless `--as-role` narrows the roles. Authorization is still
//! the service's, so a narrowed operator gets what a console user with those roles gets (exit 6
//! when refused). The audit trail names `--actor`, else the OS user.

pub mod args;
pub mod baseline;
pub mod baseline_render;
pub mod dc;
pub mod exit;
pub mod render;
pub mod run;

use args::Cli;
use console::{ConsoleService, PageRequest};
use domain::console::{DcScope, Principal, Role, UserId};
use domain::ids::DcCode;
use domain::ports::ConsolePorts;
use exit::CliError;
use render::Output;
use std::collections::BTreeSet;

/// The DCs a command acts on: `--dc` (or `INVSYNC_DC`); without it, the work-queue lists
/// (`tasks list`, `holds list`, `incidents list`, `syncs list`) take every DC of `DC_LIST`,
/// as `dc_list` reads it, and every other command is a usage error.
pub fn targets(cli: &Cli, dc_list: impl FnOnce() -> Result<Vec<DcCode>, String>) -> Result<Vec<DcCode>, CliError> {
    if let Some(dc) = &cli.dc {
        return Ok(vec![dc.clone()]);
    }
    if !run::spans_dcs(&cli.command) {
        return Err(CliError::Usage("--dc <DC> (or INVSYNC_DC) is required".into()));
    }
    let dcs = dc_list().map_err(|e| CliError::Usage(format!("give --dc <DC>, or set DC_LIST for every DC ({e})")))?;
    if let Some(p) = run::page_args(&cli.command) {
        if p.cursor.is_some() && dcs.len() > 1 {
            return Err(CliError::Usage("--cursor needs --dc: pages are per DC".into()));
        }
    }
    Ok(dcs)
}

/// The operator: `--actor`, else the OS user; every role unless `--as-role`; the command's DCs
/// as scope.
pub fn operator(cli: &Cli, dcs: &[DcCode], os_user: Option<String>) -> Result<Principal, CliError> {
    let name = cli
        .actor
        .clone()
        .or(os_user)
        .ok_or_else(|| CliError::Usage("cannot tell who you are: pass --actor (or set INVSYNC_ACTOR)".into()))?;
    let user = UserId::parse(name).map_err(|e| CliError::Usage(e.to_string()))?;
    let roles: BTreeSet<Role> = if cli.as_role.is_empty() {
        Role::ALL.into_iter().collect()
    } else {
        cli.as_role.iter().copied().collect()
    };
    Ok(Principal {
        user,
        roles,
        scope: DcScope::Dcs(dcs.iter().cloned().collect()),
    })
}

/// The OS user running the CLI (`$USER`, else `$LOGNAME`), when known and not blank.
pub fn os_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

/// `DC_LIST` from the process environment, as the functions read it.
pub fn dc_list_from_env() -> Result<Vec<DcCode>, String> {
    app::Env::process()
        .dc_list(app::names::DC_LIST)
        .map_err(|e| e.to_string())
}

/// Checks what does not need the service (the DCs, the operator, `--limit`), so a usage error
/// never waits for AWS wiring.
pub fn prepare(
    cli: &Cli,
    dc_list: impl FnOnce() -> Result<Vec<DcCode>, String>,
    os_user: Option<String>,
) -> Result<(Vec<DcCode>, Principal), CliError> {
    let dcs = targets(cli, dc_list)?;
    let who = operator(cli, &dcs, os_user)?;
    if let Some(p) = run::page_args(&cli.command) {
        if !(1..=PageRequest::MAX_LIMIT).contains(&p.limit) {
            return Err(CliError::Usage(format!(
                "--limit must be 1 to {}",
                PageRequest::MAX_LIMIT
            )));
        }
    }
    Ok((dcs, who))
}

/// Runs the parsed command on `svc` (the binary's and the in-process tests' entry point).
pub async fn execute<P: ConsolePorts>(
    svc: &ConsoleService<P>,
    cli: &Cli,
    dc_list: impl FnOnce() -> Result<Vec<DcCode>, String>,
    os_user: Option<String>,
) -> Result<Output, CliError> {
    let (dcs, who) = prepare(cli, dc_list, os_user)?;
    run::run(svc, &who, &dcs, &cli.command).await
}

/// Runs a `dc` command on `desk` (the binary's and the in-process tests' entry point).
pub async fn execute_dc<B: domain::ports::DcStatusBoard, A: domain::ports::AuditLog>(
    desk: &console::DcStatusDesk<B, A>,
    cli: &Cli,
    dc_list: impl FnOnce() -> Result<Vec<DcCode>, String>,
    os_user: Option<String>,
) -> Result<Output, CliError> {
    let (dcs, who) = prepare(cli, dc_list, os_user)?;
    match &cli.command {
        args::Command::Dc(cmd) => dc::run(desk, &who, &dcs, cmd, chrono::Utc::now()).await,
        _ => Err(CliError::Usage("not a `dc` command".into())),
    }
}

/// Runs a `baseline` command on `ports` (the binary's and the in-process tests' entry point).
/// `progress` draws the apply's bar on stderr.
pub async fn execute_baseline<P: domain::golive::baseline::BaselinePorts>(
    ports: &P,
    settings: &domain::golive::baseline::BaselineSettings,
    queue: baseline::Queue<'_>,
    cli: &Cli,
    os_user: Option<String>,
    progress: bool,
) -> Result<Output, CliError> {
    let (dcs, who) = prepare(cli, || Err("not used".into()), os_user)?;
    let (args::Command::Baseline(cmd), [dc]) = (&cli.command, dcs.as_slice()) else {
        return Err(CliError::Usage("not a `baseline` command with one --dc".into()));
    };
    baseline::run(ports, settings, queue, &who, dc, cmd, progress).await
}

/// What to print and the exit code: the answer on stdout (JSON or text); on failure the
/// message on stderr and, with `--json`, the error document on stdout.
pub fn finish(result: Result<Output, CliError>, json: bool) -> (String, String, u8) {
    match result {
        Ok(out) if json => (format!("{}\n", out.json), String::new(), exit::OK),
        Ok(out) => (out.text, String::new(), exit::OK),
        Err(CliError::NotVerified(report, text)) if !json => {
            let summary = "invsync: verification did not pass\n".to_string();
            (text, summary, CliError::NotVerified(report, String::new()).exit_code())
        }
        Err(e) => {
            let stdout = if json {
                format!("{}\n", e.to_json())
            } else {
                String::new()
            };
            (stdout, format!("invsync: {e}\n"), e.exit_code())
        }
    }
}
