//! The scheduled reconciliation as it runs in AWS: one SQS message per DC, each handled by its
//! own invocation. [`parallel`] runs every DC's invocation at once in this process, each with
//! its own ports (its own container: own Fusion client and concurrency), for the wall time;
//! [`in_own_process`] runs one DC in the real `reconcile-stock` binary, in a process of its own
//! behind a one-event Runtime API, for its peak resident memory and CPU time.

use crate::runtime_api;
use domain::reconciliation::ReconcileSettings;
use reconcile_stock::handler::Deps;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use test_harness::{context, sqs_event, TestEnv};

/// The reconcile request of `dc` in the slot of now.
fn message(dc: &str) -> String {
    let slot = domain::schedule::slot(
        chrono::Utc::now(),
        domain::schedule::period(domain::ports::RunKind::Reconcile),
    )
    .unwrap_or_else(|_| "bench".into());
    json!({"dc": dc, "slot": slot, "trigger": "schedule"}).to_string()
}

/// Every DC's invocation at once; answers the wall time and the DCs that came back for retry.
pub async fn parallel(
    env: &TestEnv,
    dcs: usize,
    settings: &ReconcileSettings,
) -> anyhow::Result<(Duration, Vec<String>)> {
    let all: Vec<domain::DcCode> = (0..dcs).map(|i| env.dc(i)).collect();
    let mut containers = Vec::new();
    for _ in 0..dcs {
        containers.push(Deps {
            ports: env.ports()?,
            settings: settings.clone(),
            dcs: all.clone(),
            concurrency: 1,
            statuses: env.dc_status()?,
        });
    }
    let t = Instant::now();
    let runs = containers.iter().zip(&all).map(|(deps, dc)| async move {
        let event = sqs_event(&[("m-1", message(dc.as_str()))])?;
        let resp = reconcile_stock::queue::handle_messages(
            deps,
            lambda_runtime::LambdaEvent::new(event, context("bench", Duration::from_secs(840))),
        )
        .await;
        Ok::<_, anyhow::Error>((dc.to_string(), resp.batch_item_failures.is_empty()))
    });
    let results = futures::future::try_join_all(runs).await?;
    let wall = t.elapsed();
    Ok((
        wall,
        results.into_iter().filter(|(_, ok)| !ok).map(|(dc, _)| dc).collect(),
    ))
}

/// What one DC's invocation in the real binary took.
pub struct ProcessRun {
    /// From spawning the process to its answer (cold start included).
    pub wall: Duration,
    /// VmHWM of the function's process at its answer, MiB.
    pub peak_mib: f64,
    /// User + system CPU of the function's process, seconds.
    pub cpu_s: f64,
    /// The function's answer.
    pub answer: Result<Value, Value>,
}

/// The `reconcile-stock` binary of this build's profile (`--binary` overrides).
pub fn default_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| test_harness::repo_root().join("target"));
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    target.join(profile).join("reconcile-stock")
}

fn proc_field_mib(pid: u32, field: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = text
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn proc_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `dc` in `binary` with the environment the template gives the function (resource
/// names, Fusion and WMS settings pointing at the simulators, Fusion `in_flight`).
pub async fn in_own_process(env: &TestEnv, dc: &str, binary: &PathBuf, in_flight: usize) -> anyhow::Result<ProcessRun> {
    if !binary.exists() {
        anyhow::bail!(
            "{} not found: build it first (cargo build --release -p reconcile-stock --bin reconcile-stock) or pass --binary",
            binary.display()
        );
    }
    let event = serde_json::to_value(sqs_event(&[("m-1", message(dc))])?)?;
    let (addr, answer) = runtime_api::serve(event, 840_000).await?;
    let r = &env.resources;
    let vars: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "invsync-bench-reconcile-stock".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/invsync-bench-reconcile-stock".into(),
        ),
        // BENCH_FUNCTION_LOG (e.g. `debug`) shows the function's own timed log lines.
        (
            "RUST_LOG",
            std::env::var("BENCH_FUNCTION_LOG").unwrap_or_else(|_| "warn".into()),
        ),
        ("LEDGER_TABLE", r.ledger_table.clone()),
        ("LOT_MAP_TABLE", r.lot_map_table.clone()),
        ("REVIEW_TASK_TABLE", r.review_task_table.clone()),
        ("LEASE_TABLE", r.lease_table.clone()),
        ("RUN_TABLE", r.run_table.clone()),
        ("INCIDENT_TABLE", r.incident_table.clone()),
        ("ALERT_TOPIC_ARN", r.alert_topic_arn.clone()),
        ("DC_STATUS_TABLE", env.provisioned.table("DcStatusTable")?.to_string()),
        ("DC_LIST", dc.to_string()),
        ("FUSION_BASE_URL", env.fusion.url()),
        ("FUSION_AUTH", "basic".into()),
        ("FUSION_USER", "integration.user".into()),
        ("FUSION_PASSWORD", "Welcome1".into()),
        ("FUSION_MAX_IN_FLIGHT", in_flight.to_string()),
        ("FUSION_TIMEOUT_MS", "60000".into()),
        ("WMS_BASE_URL", env.wms.base_url().to_string()),
        ("WMS_API_KEY", env.wms.api_key().unwrap_or_default().to_string()),
    ];
    let t = Instant::now();
    let mut child = Command::new(binary)
        .envs(vars)
        .stdin(Stdio::null())
        // The function logs to stdout, as Lambda wants; shown only when asked for.
        .stdout(if std::env::var_os("BENCH_FUNCTION_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let answer = tokio::time::timeout(Duration::from_secs(900), answer).await;
    let wall = t.elapsed();
    let peak_mib = proc_field_mib(pid, "VmHWM:").unwrap_or(f64::NAN);
    let cpu_s = proc_cpu_s(pid).unwrap_or(f64::NAN);
    let _ = child.kill();
    let _ = child.wait();
    let answer = match answer {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => anyhow::bail!("the runtime API closed without an answer"),
        Err(_) => anyhow::bail!("no answer within 900 s"),
    };
    Ok(ProcessRun {
        wall,
        peak_mib,
        cpu_s,
        answer,
    })
}
