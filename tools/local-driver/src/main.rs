//! `local-driver`: runs invsync end to end on a laptop or in CI, playing the AWS parts no
//! emulator runs here. `scripts/run-local.sh` starts the AWS emulator and both simulators, then
//! runs this, which:
//!
//! 1. creates the tables, queues and topic of `infra/template.yaml` (uniquely named per run);
//! 2. generates WMS activity (`POST /admin/activity`) so every DC has a pending-sync outbox,
//!    and declares every DC `live` in this run's DC status table (`changed_by` "run-local"):
//!    only live DCs are synced and acted on, and a simulator's DC needs no baseline;
//! 3. plays EventBridge: the hourly scheduled event to fanout-sync;
//! 4. plays the SQS event source mapping: receives the FIFO queue's messages, invokes
//!    sync-inventory with one record per event (BatchSize 1), deletes what succeeded and
//!    returns reported failures to the queue;
//! 5. injects drift of each size band (`POST /admin/drift/bands`);
//! 6. plays the 15-minute schedule: a scheduled event to reconcile-stock;
//! 7. prints a report per DC (and with `--report-json PATH` writes it as JSON) and exits
//!    non-zero unless every transaction synced and every injected drift was found in its tier.
//!
//! Modules: [`events`] plays EventBridge and the SQS event source, [`functions`] invokes the
//! functions, [`roles`] runs them under their template roles, [`wms_admin`] drives the WMS
//! simulator, [`report`] judges and reports the run. AWS set-up comes from `aws_local`.
//!
//! Functions run in this process by default ([`functions::Functions::in_process`]) or, with
//! `--watch`, as the real binaries behind `cargo lambda watch`.
//!
//! Either side may be a real system instead of a simulator (a Fusion test pod, a WMS staging
//! system): `--fusion-sim` / `--wms-sim` say which URLs are the simulators, and every
//! `FUSION_*`, `WMS_*`, `SYNC_*`, `RECONCILE_*`, `VARIANCE_*` variable of this process reaches
//! the functions ([`functions::function_env`]). With a real WMS the steps that need the WMS
//! simulator's admin API (2, 5 and the outbox/hold state of 7) are skipped with a note, and the
//! report shows what the sync and the reconciliation did. The driver never calls Fusion itself:
//! Fusion is reached only through the functions.
//!
//! With `--roles` each in-process function runs under a role made from its template policy
//! ([`roles`]), and the SQS event source uses sync-inventory's, as in AWS; the run fails naming
//! any action beyond a role.

mod console;
mod events;
mod functions;
mod report;
mod roles;
mod wms_admin;

use anyhow::{anyhow, Context as _};
use app::Resources;
use aws_local::{provision, AlertInbox, ProvisionOptions};
use clap::Parser;
use domain::DcCode;
use events::{deliver, scheduled};
use functions::{FunctionSdks, Functions, Targets};
use report::DcFigures;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use wms_admin::Wms;

/// Flags (scripts/run-local.sh passes its own through).
#[derive(Debug, Parser)]
#[command(
    name = "local-driver",
    about = "Runs invsync locally against the simulators and an AWS emulator"
)]
struct Args {
    /// Fusion base URL: the simulator's (with `--fusion-sim`) or a real pod's.
    #[arg(long, env = "FUSION_BASE_URL")]
    fusion_url: String,
    /// `--fusion-url` is the Fusion simulator: its well-known credentials are the defaults.
    #[arg(long)]
    fusion_sim: bool,
    /// WMS base URL: the simulator's (with `--wms-sim`) or a real WMS adapter's.
    #[arg(long, env = "WMS_BASE_URL")]
    wms_url: String,
    /// `--wms-url` is the WMS simulator: its API key is the default credential, and its admin
    /// API generates activity, injects drift and reports the outbox and holds.
    #[arg(long)]
    wms_sim: bool,
    /// WMS simulator API key (with `--wms-sim`, unless WMS_API_KEY or WMS_BEARER_TOKEN is set).
    #[arg(long, default_value = "wms-sim-key")]
    wms_api_key: String,
    /// DCs DC01..DCnn, unless DC_LIST is set (the simulators must have at least this many).
    #[arg(long, default_value_t = 2)]
    dcs: usize,
    /// WMS transactions generated per DC before the sync.
    #[arg(long, default_value_t = 50)]
    activity: usize,
    /// Seed of the drift choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keys per DC drifted by 1..=4 (auto-correct tier).
    #[arg(long, default_value_t = 3)]
    small: usize,
    /// Keys per DC drifted by 5..=50 (review tier).
    #[arg(long, default_value_t = 2)]
    medium: usize,
    /// Keys per DC drifted by 51..=200 (alert tier).
    #[arg(long, default_value_t = 1)]
    large: usize,
    /// Invoke the real binaries through `cargo lambda watch` on this port instead of in process.
    #[arg(long)]
    watch_port: Option<u16>,
    /// With `--watch-port`: file that receives the functions' stdout (their EMF metric lines).
    #[arg(long)]
    function_log: Option<PathBuf>,
    /// Repository root (infra/template.yaml and the workspace).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Run each in-process function under a role made from its policy in infra/template.yaml
    /// (on an IAM-enforcing emulator, with the administrator's key in the environment).
    #[arg(long)]
    roles: bool,
    /// Also write the report as JSON to this file (`result` is `ok` exactly when the run exits 0;
    /// see `report::json_report`). Written once the run has figures; a run that fails before
    /// (settings, set-up) writes none.
    #[arg(long)]
    report_json: Option<PathBuf>,
    /// After the report, keep the stack up and serve the operator console on 127.0.0.1 with
    /// the development login until Ctrl-C or SIGTERM (`scripts/run-local.sh --serve`).
    #[arg(long)]
    serve: bool,
    /// With `--serve`: the console's port (0: any free one).
    #[arg(long, default_value_t = 0)]
    serve_port: u16,
}

/// One progress line: seconds since the start, then what happened.
fn progress(started: Instant, what: &str) {
    println!("[{:>6.1}s] {what}", started.elapsed().as_secs_f64());
}

/// The settings the functions get, from the process environment and the targets, checked
/// before anything is created; notes each secret ARN it leaves out.
fn settings(args: &Args, started: Instant) -> anyhow::Result<BTreeMap<String, String>> {
    let process: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    for name in functions::IGNORED {
        if process.get(*name).is_some_and(|v| !v.trim().is_empty()) {
            progress(
                started,
                &format!(
                    "note: {name} ignored (Secrets Manager here is the emulator's); set the secret's value instead (see docs/operations.md)"
                ),
            );
        }
    }
    let targets = Targets {
        fusion_url: args.fusion_url.clone(),
        fusion_sim: args.fusion_sim,
        wms_url: args.wms_url.clone(),
        wms_sim: args.wms_sim,
        wms_sim_key: args.wms_api_key.clone(),
    };
    let default_dcs = (1..=args.dcs)
        .map(|i| format!("DC{i:02}"))
        .collect::<Vec<_>>()
        .join(",");
    functions::function_env(&process, &targets, &default_dcs).context("the functions' settings")
}

/// `"simulator"` or `"real"`, for the progress lines.
fn kind(sim: bool) -> &'static str {
    if sim {
        "simulator"
    } else {
        "real"
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let settings = match settings(&args, started) {
        Ok(s) => s,
        Err(e) => {
            // Why not `?`: a missing setting is the user's to fix, so one line naming the
            // variable, without the backtrace anyhow adds under RUST_BACKTRACE=1. Nothing has
            // been started yet.
            eprintln!("local-driver: {e:#}");
            std::process::exit(2);
        }
    };
    if !(args.fusion_sim && args.wms_sim) {
        progress(
            started,
            &format!(
                "targets: Fusion {}, WMS {} (settings checked)",
                kind(args.fusion_sim),
                kind(args.wms_sim)
            ),
        );
    }
    let recorder = aws_local::calls::RecordCalls::over_default();
    let sdk = adapters::aws::config::load()
        .await
        .into_builder()
        .http_client(recorder.clone())
        .build();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let provisioned = provision(
        &sdk,
        &args.root.join(aws_local::provision::TEMPLATE_PATH),
        &ProvisionOptions {
            parameters: [("EnvironmentName".to_string(), "local".to_string())].into(),
            suffix: format!("-{run}"),
            ..ProvisionOptions::default()
        },
    )
    .await
    .context("create the template's tables, queues and topic on the emulator")?;
    let resources = test_harness::resources_from(&provisioned)?;
    progress(
        started,
        &format!(
            "created {} resources from infra/template.yaml (suffix -{run})",
            provisioned.resources.len()
        ),
    );

    let dcs = app::config::parse_dc_list(
        app::names::DC_LIST,
        settings.get(app::names::DC_LIST).map_or("", String::as_str),
    )?;
    let env = functions::with_resources(settings, &provisioned, &resources)?;
    let inbox = AlertInbox::subscribe(
        &sdk,
        &resources.alert_topic_arn,
        &format!("invsync-local-alert-inbox-{run}"),
    )
    .await?;
    let roles = match (args.roles, args.watch_port) {
        (true, None) => Some(roles::Roles::start(&sdk, recorder, &args.root, &provisioned, &format!("-{run}")).await?),
        (true, Some(_)) => {
            progress(
                started,
                "--roles: the binaries under cargo lambda watch share one environment, so they run with the caller's key",
            );
            None
        }
        (false, _) => None,
    };
    let sdks = match &roles {
        Some(r) => FunctionSdks {
            fanout: r.fanout.sdk.clone(),
            sync: r.sync.sdk.clone(),
            reconcile: r.reconcile.sdk.clone(),
        },
        None => FunctionSdks::all(&sdk),
    };
    let functions = match args.watch_port {
        None => {
            progress(
                started,
                if roles.is_some() {
                    "functions: handlers called in this process, each under its template role (IAM enforced)"
                } else {
                    "functions: handlers called in this process"
                },
            );
            Functions::in_process(&sdks, &resources, &env)?
        }
        Some(port) => {
            progress(started, &format!("starting cargo lambda watch on 127.0.0.1:{port}"));
            Functions::watch(&args.root, port, &env, args.function_log.as_deref()).await?
        }
    };
    let outcome = drive(
        &args, &sdk, &sdks.sync, &resources, &env, &functions, &dcs, &inbox, started,
    )
    .await;
    functions.stop().await;
    if let Some(roles) = &roles {
        roles.check().context("a function needed more than its template role")?;
        progress(
            started,
            "roles: fanout-sync, sync-inventory and reconcile-stock called nothing beyond their template roles",
        );
    }
    let figures = outcome?;
    let problems = report::problems(args.wms_sim, args.activity, &figures);
    if let Some(path) = &args.report_json {
        let json = report::json_report(args.wms_sim, &figures, &problems, started.elapsed().as_secs_f64());
        report::write_json(path, &json)?;
    }
    report::print_report(args.wms_sim, &figures, started);
    let checked = report::check(args.wms_sim, &problems);
    if args.serve {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.serve_port));
        console::serve_until_stopped(&sdk, &provisioned, &resources, &env, &dcs, addr).await?;
    }
    checked
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    args: &Args,
    sdk: &aws_config::SdkConfig,
    event_source: &aws_config::SdkConfig,
    resources: &Resources,
    env: &BTreeMap<String, String>,
    functions: &Functions,
    dcs: &[DcCode],
    inbox: &AlertInbox,
    started: Instant,
) -> anyhow::Result<BTreeMap<String, DcFigures>> {
    // Why only for the simulator: a real WMS has no admin API, and the driver must not invent
    // activity or drift in a staging system.
    let wms = if args.wms_sim {
        Some(Wms::new(&args.wms_url)?)
    } else {
        None
    };
    let mut figures: BTreeMap<String, DcFigures> =
        dcs.iter().map(|dc| (dc.to_string(), DcFigures::default())).collect();
    if let Some(wms) = &wms {
        for dc in dcs {
            let generated = wms
                .post("/admin/activity", json!({"dc": dc, "count": args.activity}))
                .await?;
            figures.entry(dc.to_string()).or_default().generated = generated["count"].as_u64().unwrap_or(0) as usize;
        }
        progress(started, &format!("generated {} WMS transactions per DC", args.activity));
    } else {
        progress(
            started,
            "note: real WMS: activity generation skipped (POST /admin/activity); the sync drains what its outbox holds",
        );
    }

    let board = app::App::new(sdk.clone(), app::Env::from_map(env.clone())).dc_status()?;
    let by = domain::console::UserId::parse("run-local").map_err(|e| anyhow!("{e}"))?;
    for dc in dcs {
        let record = domain::golive::declare_dc_live(
            &board,
            dc,
            by.clone(),
            chrono::Utc::now(),
            "local run: this run's tables, no baseline needed",
        )
        .await
        .map_err(|e| anyhow!("declare {dc} live: {e}"))?;
        figures.entry(dc.to_string()).or_default().dc_status = format!(
            "{} (changed_by {}, version {})",
            record.status,
            record.changed_by.as_str(),
            record.version
        );
    }
    progress(
        started,
        &format!(
            "declared {} DC(s) live in this run's DC status table (changed_by run-local): only live DCs are synced",
            dcs.len()
        ),
    );

    let now = chrono::Utc::now();
    let answer = functions.fanout(scheduled("hourly-sync", now), "fanout-local").await?;
    progress(started, &format!("fanout-sync (scheduled event): {answer}"));

    let queue_url = env.get("SYNC_QUEUE_URL").cloned().unwrap_or_default();
    let delivered = deliver(sdk, event_source, &queue_url, functions, started).await?;
    progress(
        started,
        &format!("delivered {delivered} SQS message(s) to sync-inventory"),
    );

    if let Some(wms) = &wms {
        for dc in dcs {
            let applied = wms
                .post(
                    "/admin/drift/bands",
                    json!({"dc": dc, "small": args.small, "medium": args.medium, "large": args.large, "seed": args.seed}),
                )
                .await?;
            let f = figures.entry(dc.to_string()).or_default();
            for d in applied["applied"].as_array().into_iter().flatten() {
                match d["band"].as_str() {
                    Some("small") => f.drift[0] += 1,
                    Some("medium") => f.drift[1] += 1,
                    Some("large") => f.drift[2] += 1,
                    _ => {}
                }
            }
        }
        progress(
            started,
            &format!(
                "injected drift per DC: {} small, {} medium, {} large",
                args.small, args.medium, args.large
            ),
        );
    } else {
        progress(
            started,
            "note: real WMS: drift injection skipped (POST /admin/drift/bands); the reconciliation compares the systems as they are",
        );
    }

    let answer = functions
        .reconcile(scheduled("reconcile", chrono::Utc::now()), "reconcile-local")
        .await?;
    progress(
        started,
        &format!("reconcile-stock (scheduled event): run {}", answer["run_id"]),
    );

    let ports = functions::ports(sdk, resources, env)?;
    let state = match &wms {
        Some(wms) => wms.get("/admin/state").await?,
        None => {
            progress(
                started,
                "note: real WMS: outbox and hold check skipped (GET /admin/state); the report shows the functions' run reports",
            );
            Value::Null
        }
    };
    let alerts = inbox.drain().await?;
    for dc in dcs {
        let f = figures.entry(dc.to_string()).or_default();
        f.reconcile = answer["dcs"][dc.as_str()].clone();
        for report in sync_reports(sdk, &resources.run_table, &ports, dc).await? {
            let figure = |k: &str| report.figures.get(k).copied().unwrap_or(0);
            f.seen += figure("seen");
            f.synced += figure("synced");
            f.failed += figure("failed");
            f.halted += figure("halted");
            f.sync_runs += 1;
            f.sync_notes.extend(report.notes.iter().cloned());
        }
        if let Some(s) = state["dcs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["dc"] == dc.as_str())
        {
            f.outbox_pending = s["outbox_pending"].as_u64().unwrap_or(0);
            f.outbox_failed = s["outbox_failed"].as_u64().unwrap_or(0);
            f.holds = s["holds"].as_u64().unwrap_or(0);
        }
        f.alerts = alerts.iter().filter(|a| a.dc == dc.as_str()).count();
    }
    Ok(figures)
}

/// Every sync run report of `dc` in the run table.
async fn sync_reports(
    sdk: &aws_config::SdkConfig,
    table: &str,
    ports: &app::AppPorts,
    dc: &DcCode,
) -> anyhow::Result<Vec<domain::ports::RunReport>> {
    let out = aws_sdk_dynamodb::Client::new(sdk)
        .query()
        .table_name(table)
        .key_condition_expression("dc_kind = :k")
        .expression_attribute_values(":k", aws_sdk_dynamodb::types::AttributeValue::S(format!("{dc}#sync")))
        .consistent_read(true)
        .send()
        .await
        .context("query the run table")?;
    let mut reports = Vec::new();
    for item in out.items() {
        if let Some(Ok(run_id)) = item.get("run_id").map(|v| v.as_s()) {
            if let Some(r) = ports
                .runs
                .get(dc, domain::ports::RunKind::Sync, run_id)
                .await
                .map_err(|e| anyhow!("{e}"))?
            {
                reports.push(r);
            }
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_say_which_sides_are_simulators() {
        let a = Args::try_parse_from([
            "local-driver",
            "--fusion-url",
            "http://127.0.0.1:1",
            "--fusion-sim",
            "--wms-url",
            "https://wms.example.com",
        ])
        .unwrap();
        assert!(a.fusion_sim && !a.wms_sim);
        assert_eq!(a.wms_url, "https://wms.example.com");
        assert_eq!(a.dcs, 2);
    }
}
