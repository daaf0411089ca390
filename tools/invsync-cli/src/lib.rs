//! The `invsync` CLI (issue 12): the operator console for the infra team, run with their AWS
//! credentials against the same tables, WMS and Fusion the functions use. It is thin over
//! `console::ConsoleService`: parse ([`args`]), build the operator ([`operator`]), run one
//! operation ([`run`]), print it as a table or one JSON document ([`render`]), exit with a code
//! that says what happened ([`exit`]). Wiring from the environment is in `main.rs`
//! (`app::App`, the function's variable names).
//!
//! The operator holds every role on the DC given with `--dc` unless `--as-role` narrows the
//! roles; authorization is still the service's, so a narrowed operator gets what a console
//! user with those roles gets (exit 6 when refused). The audit trail names `--actor`, else the
//! OS user.

pub mod args;
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

/// The DC a command acts on: `--dc` (or `INVSYNC_DC`), required.
pub fn dc_of(cli: &Cli) -> Result<DcCode, CliError> {
    cli.dc
        .clone()
        .ok_or_else(|| CliError::Usage("--dc <DC> (or INVSYNC_DC) is required".into()))
}

/// The operator: `--actor`, else `$USER`, else `$LOGNAME`; every role unless `--as-role`; the
/// one DC of the command as scope.
pub fn operator(cli: &Cli, dc: &DcCode, os_user: Option<String>) -> Result<Principal, CliError> {
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
        scope: DcScope::Dcs(BTreeSet::from([dc.clone()])),
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

/// Checks what does not need the service (the DC, the operator, `--limit`), so a usage error
/// never waits for AWS wiring.
pub fn prepare(cli: &Cli, os_user: Option<String>) -> Result<(DcCode, Principal), CliError> {
    let dc = dc_of(cli)?;
    let who = operator(cli, &dc, os_user)?;
    if let Some(limit) = limit_of(&cli.command) {
        if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
            return Err(CliError::Usage(format!(
                "--limit must be 1 to {}",
                PageRequest::MAX_LIMIT
            )));
        }
    }
    Ok((dc, who))
}

fn limit_of(cmd: &args::Command) -> Option<usize> {
    use args::{Command, IncidentsCmd, RunsCmd, SyncsCmd, TasksCmd};
    match cmd {
        Command::Tasks(TasksCmd::List { page, .. })
        | Command::Incidents(IncidentsCmd::List(page))
        | Command::Syncs(SyncsCmd::List { page, .. })
        | Command::Runs(RunsCmd::List { page, .. })
        | Command::Discrepancies(page)
        | Command::Audit(page) => Some(page.limit),
        _ => None,
    }
}

/// Runs the parsed command on `svc` (the binary's and the in-process tests' entry point).
pub async fn execute<P: ConsolePorts>(
    svc: &ConsoleService<P>,
    cli: &Cli,
    os_user: Option<String>,
) -> Result<Output, CliError> {
    let (dc, who) = prepare(cli, os_user)?;
    run::run(svc, &who, &dc, &cli.command).await
}

/// What to print and the exit code: the answer on stdout (JSON or text); on failure the
/// message on stderr and, with `--json`, the error document on stdout.
pub fn finish(result: Result<Output, CliError>, json: bool) -> (String, String, u8) {
    match result {
        Ok(out) if json => (format!("{}\n", out.json), String::new(), exit::OK),
        Ok(out) => (out.text, String::new(), exit::OK),
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
