//! `--serve`: after the report, the operator console on loopback over the same local stack
//! (the template's tables on the emulator, the simulators), with the development login, until
//! Ctrl-C or SIGTERM. The development login exists only here: the Lambda never enables it.

use adapters::aws::{DynamoAuditLog, WriteCounter};
use anyhow::Context as _;
use app::{ConsolePortsApp, Resources};
use aws_config::SdkConfig;
use aws_local::Provisioned;
use console::{ConsoleService, ConsoleSettings};
use console_api::{router, serve, Authenticator, Console, DevLogin};
use domain::ids::DcCode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serves the console on `addr` until the process is told to stop; prints its URL first.
pub async fn serve_until_stopped(
    sdk: &SdkConfig,
    provisioned: &Provisioned,
    resources: &Resources,
    env: &BTreeMap<String, String>,
    dcs: &[DcCode],
    addr: SocketAddr,
) -> anyhow::Result<()> {
    let audit_table = provisioned
        .table("AuditTable")
        .context("the console's AuditTable")?
        .to_string();
    let audit = DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(sdk), audit_table, WriteCounter::new());
    let ports = ConsolePortsApp::new(crate::functions::ports(sdk, resources, env)?, audit);
    let console = Arc::new(Console {
        service: ConsoleService::new(ports, ConsoleSettings::default()),
        auth: Authenticator {
            dev: Some(DevLogin::new()),
            ..Authenticator::default()
        },
        known_dcs: dcs.to_vec(),
    });
    let (bound, server) = serve(router(console), addr).await.context("serve the console")?;
    println!("console: http://{bound}/ui (development login; Ctrl-C stops everything)");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.abort();
    Ok(())
}
