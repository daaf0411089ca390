//! `baseline-bench`: the go-live baseline of every DC at once, to measure the engine of
//! `domain::golive::baseline` over the real Fusion and WMS HTTP clients.
//!
//! Both simulators start from one seed (`--dcs` DCs of `--items` items); Fusion is then
//! emptied (`--fusion-start empty`, default) or changed in about 20% of its balances
//! (`--fusion-start differ`). Every DC is planned and applied at once, each in its own
//! "container" (its own clients) over in-memory tables, by the real `take_plan` and
//! `apply_plan`; the Fusion simulator adds `--fusion-latency-ms` (default 100) to every
//! request, the WMS simulator `--wms-latency-ms` (default 5).
//!
//! Printed: wall time (plan and apply phases), Fusion requests by endpoint, balance lines
//! applied per second, the process's peak memory over the simulators' set-up, and the
//! round-trip minimum of the apply at the concurrency allowed (`--chunks-in-flight` chunks
//! of `--chunk-size` lines per DC, every DC in parallel).
//!
//! `cargo run --release -p invsync-bench --bin baseline-bench -- --dcs 12 --items 50000`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use domain::golive::baseline::{apply_plan, take_plan, BaselineSettings};
use invsync_bench::golive::{dc_codes, fusion_client, start_sims, wms_client, GoLivePorts};

struct Args {
    dcs: usize,
    items: usize,
    fusion_ms: u64,
    wms_ms: u64,
    chunk_size: usize,
    chunks_in_flight: usize,
    differ: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        dcs: 12,
        items: 50_000,
        fusion_ms: 100,
        wms_ms: 5,
        chunk_size: 200,
        chunks_in_flight: 4,
        differ: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        if flag == "--fusion-start" {
            a.differ = match value.as_str() {
                "empty" => false,
                "differ" => true,
                other => return Err(anyhow!("--fusion-start empty|differ, not {other}")),
            };
            continue;
        }
        let n: usize = value.parse().with_context(|| format!("{flag} {value}"))?;
        match flag.as_str() {
            "--dcs" => a.dcs = n,
            "--items" => a.items = n,
            "--fusion-latency-ms" => a.fusion_ms = n as u64,
            "--wms-latency-ms" => a.wms_ms = n as u64,
            "--chunk-size" => a.chunk_size = n,
            "--chunks-in-flight" => a.chunks_in_flight = n,
            other => return Err(anyhow!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// A line of `/proc/self/status` in kB (`VmHWM`, `VmRSS`); 0 where there is none.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let setup = Instant::now();
    let (fusion, wms) = start_sims(a.dcs, a.items, 1, 0).await?;
    let dcs = dc_codes(a.dcs)?;
    let mut changed = 0;
    for (i, dc) in dcs.iter().enumerate() {
        changed += if a.differ {
            fusion.scramble_onhand(dc.as_str(), i as u64, 0.2)
        } else {
            fusion.clear_onhand(dc.as_str())
        };
    }
    let mut faults = fusion.faults();
    faults.latency_ms = a.fusion_ms;
    fusion.set_faults(faults);
    wms.set_faults(wms_sim::Faults {
        latency_ms: a.wms_ms,
        ..wms_sim::Faults::default()
    })
    .map_err(|e| anyhow!("{e:?}"))?;
    let rss_setup_kb = status_kb("VmRSS:");
    println!(
        "setup ({profile} build): {} DCs x {} items, Fusion {} ({changed} balances changed) in {:.1} s, RSS {} MB",
        a.dcs,
        a.items,
        if a.differ { "differing in ~20%" } else { "emptied" },
        setup.elapsed().as_secs_f64(),
        rss_setup_kb / 1024
    );
    let settings = BaselineSettings {
        chunk_size: a.chunk_size,
        chunks_in_flight: a.chunks_in_flight,
        ..BaselineSettings::default()
    };
    let user = domain::console::UserId::parse("baseline-bench")?;
    let containers: Vec<GoLivePorts> = dcs
        .iter()
        .map(|_| {
            Ok(GoLivePorts::new(
                fusion_client(&fusion, a.chunks_in_flight.max(8))?,
                wms_client(&wms)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    fusion.reset_stats();

    let started = Instant::now();
    let runs = containers.iter().zip(&dcs).map(|(p, dc)| {
        let (settings, user) = (&settings, &user);
        async move {
            let t0 = Instant::now();
            let taken = take_plan(p, settings, dc, user).await?;
            let plan_time = t0.elapsed();
            let t1 = Instant::now();
            let mut applied = 0u64;
            let mut refused = 0u64;
            let mut requests = 0u64;
            loop {
                let deadline = chrono::Utc::now() + chrono::Duration::minutes(15);
                let r = apply_plan(p, settings, dc, &taken.plan.id, user, deadline).await?;
                applied += r.lines_applied;
                refused += r.lines_refused;
                requests += r.requests;
                if !r.more_to_do {
                    break;
                }
            }
            anyhow::Ok((
                taken.plan.summary.lines_to_apply,
                taken.plan.chunks,
                plan_time,
                t1.elapsed(),
                applied,
                refused,
                requests,
            ))
        }
    });
    let results = futures::future::try_join_all(runs).await?;
    let wall = started.elapsed();

    let lines: u64 = results.iter().map(|r| r.0).sum();
    let applied: u64 = results.iter().map(|r| r.4).sum();
    let refused: u64 = results.iter().map(|r| r.5).sum();
    let balance_requests: u64 = results.iter().map(|r| r.6).sum();
    let max_chunks = results.iter().map(|r| r.1).max().unwrap_or(0);
    let plan_max = results.iter().map(|r| r.2).max().unwrap_or_default();
    let apply_max = results.iter().map(|r| r.3).max().unwrap_or_default();
    let stats: BTreeMap<String, u64> = fusion
        .stats()
        .into_iter()
        .filter(|(k, _)| k.starts_with("GET ") || k.starts_with("POST "))
        .collect();
    let fusion_requests: u64 = stats.values().sum();
    let latency = Duration::from_millis(a.fusion_ms);
    let apply_minimum = latency * (u64::from(max_chunks).div_ceil(a.chunks_in_flight.max(1) as u64)) as u32;
    let peak_kb = status_kb("VmHWM:");
    println!(
        "wall time: {:.1} s (slowest DC: plan {:.1} s, apply {:.1} s)",
        wall.as_secs_f64(),
        plan_max.as_secs_f64(),
        apply_max.as_secs_f64()
    );
    println!(
        "balance lines: {lines} planned, {applied} applied, {refused} refused; {:.0} lines/s over the whole run, {:.0} lines/s over the apply phase",
        applied as f64 / wall.as_secs_f64(),
        applied as f64 / apply_max.as_secs_f64().max(1e-9)
    );
    println!("Fusion requests: {fusion_requests} ({balance_requests} balance posts)");
    for (endpoint, n) in &stats {
        println!("  {endpoint}: {n}");
    }
    println!(
        "peak memory: {} MB (process, both simulators included; {} MB above the set-up's RSS)",
        peak_kb / 1024,
        peak_kb.saturating_sub(rss_setup_kb) / 1024
    );
    println!(
        "apply round-trip minimum: {:.1} s ({max_chunks} chunks of {} lines in the largest DC, {} in flight per DC, {} ms each, DCs in parallel); apply / minimum = {:.2}",
        apply_minimum.as_secs_f64(),
        a.chunk_size,
        a.chunks_in_flight,
        a.fusion_ms,
        apply_max.as_secs_f64() / apply_minimum.as_secs_f64().max(1e-9)
    );
    fusion.shutdown().await;
    wms.shutdown().await;
    Ok(())
}
