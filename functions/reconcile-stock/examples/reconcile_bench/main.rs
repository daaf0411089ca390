//! Benchmark of one scheduled reconciliation of every DC (not a timed test): the real handler
//! against moto and both simulators, with latency added to every Fusion request and a few
//! drifted keys so every tier acts. Three modes (`--mode`):
//!
//! - `per-dc` (default): as AWS runs it, one invocation per DC ([`per_dc::parallel`]: every
//!   DC's SQS message handled at once, each invocation with its own ports). Prints the wall
//!   time, Fusion requests and the round-trip minimum at the concurrency used; then one DC in
//!   the real `reconcile-stock` binary in a process of its own ([`per_dc::in_own_process`]; the
//!   simulators stay in this process) and that process's peak resident memory and CPU time.
//!   `--no-process` skips that part.
//! - `process`: only the one DC in its own process.
//! - `processes`: every DC, one after the other, each in its own run of the real binary (as
//!   the per-DC fan-out runs them, one invocation per DC, each with CPU of its own: on a
//!   shared 2-core machine running them at once would measure the machine). Per invocation:
//!   wall time against its round-trip minimum, peak RSS and CPU; then min / median / max.
//! - `all`: the one-invocation mode (every DC in one handler call, `--concurrency` at once), as
//!   before the per-DC fan-out: wall time, Fusion requests, peak memory of this process (the
//!   simulators included, so the resident size before the run is printed too), and the CPU
//!   time of `domain::variance::compare` alone on snapshots built once through the same ports.
//!
//! Run with `scripts/bench-reconcile.sh` (starts moto and builds the binary), or with
//! `AWS_ENDPOINT_URL` set: `cargo build --release -p reconcile-stock --bin reconcile-stock &&
//! cargo run --release -p reconcile-stock --example reconcile_bench -- --dcs 12 --items 50000 --latency-ms 100`.

mod per_dc;
mod runtime_api;

use domain::ports::WarehouseSystem;
use domain::reconciliation::ReconcileSettings;
use domain::variance::{compare, BalanceKey, Snapshot};
use reconcile_stock::handler::{handle, Deps};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use test_harness::{context, EnvOptions, TestEnv};
use wms_sim::DriftBandsRequest;

struct Args {
    dcs: usize,
    items: usize,
    latency_ms: u64,
    concurrency: usize,
    compare_rounds: u32,
    mode: String,
    in_flight: usize,
    binary: std::path::PathBuf,
    process: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        dcs: 12,
        items: 50_000,
        latency_ms: 100,
        concurrency: 4,
        compare_rounds: 3,
        mode: "per-dc".into(),
        in_flight: 8,
        binary: per_dc::default_binary(),
        process: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--dcs" => a.dcs = value()?.parse()?,
            "--items" => a.items = value()?.parse()?,
            "--latency-ms" => a.latency_ms = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--compare-rounds" => a.compare_rounds = value()?.parse()?,
            "--mode" => a.mode = value()?,
            "--in-flight" => a.in_flight = value()?.parse()?,
            "--binary" => a.binary = value()?.into(),
            "--no-process" => a.process = false,
            other => anyhow::bail!(
                "unknown argument {other}; use --mode per-dc|process|all --dcs N --items N --latency-ms N \
                 --in-flight N --concurrency N --compare-rounds N --binary PATH --no-process"
            ),
        }
    }
    Ok(a)
}

/// A `kB` field of /proc/self/status, in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets VmHWM to the current RSS (Linux: write 5 to clear_refs); false when not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time of the calling thread in nanoseconds (first field of schedstat).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn snapshots(deps: &Deps) -> anyhow::Result<Vec<(Snapshot, Snapshot)>> {
    let mut out = Vec::new();
    for dc in &deps.dcs {
        let mut wms = Snapshot::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = deps.ports.wms.balances(dc, cursor.as_deref(), 500).await?;
            for b in page.items {
                *wms.entry(b.key).or_default() += b.quantity;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut fusion = Snapshot::new();
        for row in deps.ports.fusion.onhand(dc).await? {
            let key = BalanceKey::new(row.dc, row.item, row.subinventory, row.lot);
            *fusion.entry(key).or_default() += row.quantity;
        }
        out.push((wms, fusion));
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    if !matches!(a.mode.as_str(), "per-dc" | "process" | "processes" | "all") {
        anyhow::bail!("--mode is per-dc, process, processes or all, not {}", a.mode);
    }
    println!(
        "reconcile_bench ({} mode): {} DCs x {} items, +{} ms Fusion latency, {} Fusion requests in flight per invocation{}, {build} build",
        a.mode,
        a.dcs,
        a.items,
        a.latency_ms,
        a.in_flight,
        if a.mode == "all" { format!(", {} DCs at once", a.concurrency) } else { String::new() }
    );
    let started = Instant::now();
    let env = TestEnv::spawn(EnvOptions {
        dcs: a.dcs,
        items: a.items,
        fusion_faults: fusion_sim::Faults {
            latency_ms: a.latency_ms,
            ..fusion_sim::Faults::default()
        },
        fusion_timeout: Duration::from_secs(60),
        fusion_max_in_flight: a.in_flight,
        ..EnvOptions::default()
    })
    .await?;
    println!(
        "setup: {:.1} s (WMS seeding {:.1} s, Fusion seeding {:.1} s)",
        started.elapsed().as_secs_f64(),
        env.wms.seeding_time().as_secs_f64(),
        env.fusion.seed_time().as_secs_f64()
    );
    let drifts = env.wms.inject_drift_bands(&DriftBandsRequest {
        dc: None,
        small: 2 * a.dcs,
        medium: a.dcs,
        large: a.dcs.div_ceil(4),
        seed: 99,
    })?;
    let dcs: Vec<domain::DcCode> = (0..a.dcs).map(|i| env.dc(i)).collect();
    // Why: only live DCs are acted on; the bench measures the acting reconciliation.
    env.mark_live(&dcs).await?;
    let deps = Deps {
        ports: env.ports()?,
        settings: ReconcileSettings::default(),
        dcs,
        concurrency: a.concurrency,
        statuses: env.dc_status()?,
    };
    if a.mode == "processes" {
        return processes_mode(&a, &env).await;
    }
    if a.mode != "all" {
        return per_dc_mode(&a, &env, &deps.settings).await;
    }
    let mut event: Value = serde_json::from_str(include_str!("../../../../events/reconcile-stock/scheduled.json"))?;
    event["time"] = Value::String(chrono::Utc::now().to_rfc3339());

    env.fusion.reset_stats();
    let rss_before = status_mib("VmRSS:").unwrap_or(f64::NAN);
    let peak_reset = reset_peak();
    let cpu_before = std::fs::read_to_string("/proc/self/stat").ok();
    let t = Instant::now();
    let resp = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, context("bench", Duration::from_secs(900))),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let wall = t.elapsed();
    let resp = serde_json::to_value(resp)?;
    let cpu_after = std::fs::read_to_string("/proc/self/stat").ok();
    let peak = status_mib("VmHWM:").unwrap_or(f64::NAN);
    let stats = env.fusion.stats();

    let mut keys = 0u64;
    let mut totals = [0u64; 6];
    let mut failed = Vec::new();
    for (dc, r) in resp["dcs"].as_object().into_iter().flatten() {
        if r.get("error").is_some() {
            failed.push(format!("{dc}: {}", r["error"]));
            continue;
        }
        keys += r["keys_compared"].as_u64().unwrap_or(0);
        for (i, f) in [
            "auto_correct",
            "review",
            "alert",
            "adjustments_posted",
            "tasks_opened",
            "holds_placed",
        ]
        .iter()
        .enumerate()
        {
            totals[i] += r[*f].as_u64().unwrap_or(0);
        }
    }
    println!("drift injected on {} keys", drifts.len());
    println!(
        "wall time: {:.2} s for {} DCs, {keys} keys compared",
        wall.as_secs_f64(),
        resp["dcs"].as_object().map_or(0, |m| m.len())
    );
    println!(
        "tiers: auto_correct {} review {} alert {}; adjustments posted {}, tasks opened {}, holds placed {}",
        totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]
    );
    if !failed.is_empty() {
        println!("FAILED DCs: {failed:?}");
    }
    println!("Fusion requests: {} total {:?}", stats.values().sum::<u64>(), stats);
    if let (Some(b), Some(a)) = (cpu_before, cpu_after) {
        let ticks = |s: &str| -> Option<u64> {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        };
        if let (Some(b), Some(a)) = (ticks(&b), ticks(&a)) {
            println!(
                "process CPU during the run (handler + in-process simulators): {:.2} s",
                (a - b) as f64 / 100.0
            );
        }
    }
    println!(
        "memory: VmRSS before the run {rss_before:.0} MiB (simulators seeded), peak during the run {peak:.0} MiB{}",
        if peak_reset {
            ""
        } else {
            " (VmHWM could not be reset: peak since process start)"
        }
    );

    // The comparison alone, on snapshots read once through the same ports.
    env.fusion.set_faults(fusion_sim::Faults::default());
    let snaps = snapshots(&deps).await?;
    let thresholds = ReconcileSettings::default().thresholds;
    let none = Snapshot::new();
    let unsettled = BTreeSet::new();
    let mut best = u64::MAX;
    let mut variances = 0;
    for _ in 0..a.compare_rounds.max(1) {
        let cpu0 = thread_cpu_ns();
        let w0 = Instant::now();
        variances = 0;
        for (wms, fusion) in &snaps {
            let c = compare(wms, fusion, &none, &unsettled, &thresholds);
            variances += c.variances.len();
        }
        let wall_ns = w0.elapsed().as_nanos() as u64;
        let ns = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) => b - a,
            _ => wall_ns,
        };
        best = best.min(ns);
    }
    println!(
        "compare CPU time: {:.1} ms for {} DCs ({} keys; {variances} variances; best of {} rounds, thread CPU time)",
        best as f64 / 1e6,
        snaps.len(),
        snaps.iter().map(|(w, f)| w.len().max(f.len())).sum::<usize>(),
        a.compare_rounds.max(1)
    );
    Ok(())
}

/// `per-dc` and `process` modes (see the module doc).
async fn per_dc_mode(a: &Args, env: &TestEnv, settings: &ReconcileSettings) -> anyhow::Result<()> {
    if a.mode == "per-dc" {
        env.fusion.reset_stats();
        let (wall, retried) = per_dc::parallel(env, a.dcs, settings).await?;
        let stats = env.fusion.stats();
        let total: u64 = stats.values().sum();
        let per_dc = total.div_ceil(a.dcs.max(1) as u64);
        let rounds = per_dc.div_ceil(a.in_flight.max(1) as u64);
        let minimum = rounds as f64 * a.latency_ms as f64 / 1000.0;
        println!(
            "per-DC invocations in parallel: wall time {:.2} s for {} DCs ({} came back for retry: {retried:?})",
            wall.as_secs_f64(),
            a.dcs,
            retried.len()
        );
        println!(
            "Fusion requests: {total} total, {per_dc} per DC {stats:?}; peak in flight at the simulator {}",
            env.fusion.peak_in_flight()
        );
        println!(
            "round-trip minimum: {rounds} round trips of {} ms per DC ({per_dc} requests / {} in flight) = {minimum:.2} s; wall time is {:.2}x that",
            a.latency_ms,
            a.in_flight,
            wall.as_secs_f64() / minimum.max(f64::MIN_POSITIVE)
        );
        if !a.process {
            return Ok(());
        }
    }
    let dc = env.dc(0);
    env.fusion.reset_stats();
    let run = per_dc::in_own_process(env, dc.as_str(), &a.binary, a.in_flight).await?;
    let keys = env.wms.balances(dc.as_str()).len();
    println!(
        "one DC ({dc}, {} items, {keys} WMS balance rows) in the real binary {}: wall time {:.2} s (cold start included), \
         peak RSS {:.1} MiB, CPU {:.2} s, Fusion requests {}; answer {}",
        a.items,
        a.binary.display(),
        run.wall.as_secs_f64(),
        run.peak_mib,
        run.cpu_s,
        env.fusion.stats().values().sum::<u64>(),
        match &run.answer {
            Ok(v) => v.to_string(),
            Err(e) => format!("ERROR {e}"),
        }
    );
    Ok(())
}

/// `processes` mode (see the module doc).
async fn processes_mode(a: &Args, env: &TestEnv) -> anyhow::Result<()> {
    let mut ratios = Vec::new();
    let mut walls = Vec::new();
    for i in 0..a.dcs {
        let dc = env.dc(i);
        env.fusion.reset_stats();
        let run = per_dc::in_own_process(env, dc.as_str(), &a.binary, a.in_flight).await?;
        let requests: u64 = env.fusion.stats().values().sum();
        let minimum = requests.div_ceil(a.in_flight.max(1) as u64) as f64 * a.latency_ms as f64 / 1000.0;
        // At latency 0 there is no round-trip minimum to compare with.
        let ratio = (minimum > 0.0).then(|| run.wall.as_secs_f64() / minimum);
        println!(
            "{dc}: wall {:.2} s (cold start included), round-trip minimum {minimum:.2} s ({requests} Fusion requests / {} in flight), \
             {}; peak RSS {:.1} MiB, CPU {:.2} s{}",
            run.wall.as_secs_f64(),
            a.in_flight,
            ratio.map_or_else(|| "no ratio at latency 0".to_string(), |r| format!("{r:.2}x")),
            run.peak_mib,
            run.cpu_s,
            match &run.answer {
                Ok(_) => String::new(),
                Err(e) => format!("; ERROR {e}"),
            }
        );
        ratios.extend(ratio);
        walls.push(run.wall.as_secs_f64());
    }
    for (what, values) in [("wall (s)", &mut walls), ("wall / minimum", &mut ratios)] {
        values.sort_by(f64::total_cmp);
        if let (Some(min), Some(max)) = (values.first(), values.last()) {
            println!(
                "{what}: min {min:.2} median {:.2} max {max:.2} over {} invocations",
                values[values.len() / 2],
                values.len()
            );
        }
    }
    Ok(())
}
