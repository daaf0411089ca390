//! `invsync`: parse, check what needs no AWS, wire the console's ports from the environment
//! (`app::App::console_ports`: the tables, WMS and Fusion variables the functions read, plus
//! `AUDIT_TABLE`; AWS credentials and region from the usual AWS chain), run one command, print,
//! exit with the code of `invsync_cli::exit`.

use clap::Parser;
use console::{ConsoleService, ConsoleSettings, DcStatusDesk};
use invsync_cli::args::{Cli, Command};
use invsync_cli::exit::CliError;
use invsync_cli::{dc_list_from_env, execute, execute_baseline, execute_dc, finish, os_user, prepare};
use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits 2 (help and version exit 0).
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return report(
                Err(CliError::Config(format!("cannot start the async runtime: {e}"))),
                cli.json,
            )
        }
    };
    let result = runtime.block_on(async {
        // Usage errors first, so they never wait for the AWS configuration to load.
        prepare(&cli, dc_list_from_env, os_user())?;
        let app = app::App::from_env().await;
        if let Command::Dc(_) = &cli.command {
            let config = |e: app::ConfigError| CliError::Config(e.to_string());
            let desk = DcStatusDesk::new(app.dc_status().map_err(config)?, app.audit().map_err(config)?);
            return execute_dc(&desk, &cli, dc_list_from_env, os_user()).await;
        }
        if let Command::Baseline(_) = &cli.command {
            let config = |e: app::ConfigError| CliError::Config(e.to_string());
            let settings = app::settings::baseline_settings(app.env()).map_err(config)?;
            let ports = app.baseline_ports().await.map_err(config)?;
            // The queue is needed only by `apply --execute --via-lambda`.
            let queue = app.baseline_queue().ok();
            let progress = !cli.json && std::io::stderr().is_terminal();
            return execute_baseline(&ports, &settings, queue.as_ref(), &cli, os_user(), progress).await;
        }
        let sync = app::settings::sync_settings(app.env()).map_err(|e| CliError::Config(e.to_string()))?;
        let ports = app.console_ports().await.map_err(|e| CliError::Config(e.to_string()))?;
        let settings = ConsoleSettings {
            sync,
            ..ConsoleSettings::default()
        };
        execute(&ConsoleService::new(ports, settings), &cli, dc_list_from_env, os_user()).await
    });
    report(result, cli.json)
}

fn report(result: Result<invsync_cli::render::Output, CliError>, json: bool) -> ExitCode {
    let (stdout, stderr, code) = finish(result, json);
    // A closed pipe (`invsync ... | head`) is not worth a panic.
    let _ = std::io::stdout().write_all(stdout.as_bytes());
    let _ = std::io::stderr().write_all(stderr.as_bytes());
    ExitCode::from(code)
}
