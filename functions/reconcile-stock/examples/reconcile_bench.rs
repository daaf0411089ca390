//! Benchmark of one scheduled reconciliation of every DC (not a timed test): the real handler
//! against moto and both simulators, with latency added to every Fusion request and a few
//! drifted keys so every tier acts.
//!
//! Prints wall time of the handler, Fusion requests by endpoint (simulator counters), peak
//! memory (VmHWM; the in-process simulators are part of it, so the resident size before the run
//! is printed too), and the CPU time of `domain::variance::compare` alone on snapshots built
//! once through the same ports.
//!
//! Run with `scripts/bench-reconcile.sh` (starts moto), or with `AWS_ENDPOINT_URL` set:
//! `cargo run --release -p reconcile-stock --example reconcile_bench -- --dcs 12 --items 50000 --latency-ms 100`.

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
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        dcs: 12,
        items: 50_000,
        latency_ms: 100,
        concurrency: 4,
        compare_rounds: 3,
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
            other => anyhow::bail!(
                "unknown argument {other}; use --dcs N --items N --latency-ms N --concurrency N --compare-rounds N"
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
    println!(
        "reconcile_bench: {} DCs x {} items, +{} ms Fusion latency, {} DCs at once, {build} build",
        a.dcs, a.items, a.latency_ms, a.concurrency
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
    let deps = Deps {
        ports: env.ports()?,
        settings: ReconcileSettings::default(),
        dcs: (0..a.dcs).map(|i| env.dc(i)).collect(),
        concurrency: a.concurrency,
    };
    let mut event: Value = serde_json::from_str(include_str!("../../../events/reconcile-stock/scheduled.json"))?;
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
