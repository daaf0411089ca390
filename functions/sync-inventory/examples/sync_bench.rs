//! Benchmark of one full sync cycle: `--dcs` DCs with `--items` items each (moto + both
//! simulators, as the integration tests), `--txns` WMS transactions spread over the DCs,
//! `--latency-ms` added to every Fusion request, then one SQS message per DC handled
//! concurrently, each by its own warm container (like Lambda at max concurrency = DCs).
//!
//! Prints wall time, Fusion requests (simulator counters), DynamoDB write requests (every
//! container's `WriteCounter`) and peak memory (VmHWM of this process, which also hosts both
//! simulators). Run with `scripts/bench-sync.sh` (it starts moto).

use anyhow::{anyhow, Context as _};
use domain::ledger::SyncState;
use domain::sync::SyncSettings;
use std::time::{Duration, Instant};
use sync_inventory::handler::{handle, Deps};
use test_harness::fusion_sim::Faults;
use test_harness::{context, sqs_event, EnvOptions, TestEnv};

struct Args {
    dcs: usize,
    items: usize,
    txns: usize,
    latency_ms: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        dcs: 12,
        items: 2_000,
        txns: 10_000,
        latency_ms: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        let n: u64 = value.parse().with_context(|| format!("{flag} {value}"))?;
        match flag.as_str() {
            "--dcs" => a.dcs = usize::try_from(n)?,
            "--items" => a.items = usize::try_from(n)?,
            "--txns" => a.txns = usize::try_from(n)?,
            "--latency-ms" => a.latency_ms = n,
            other => return Err(anyhow!("unknown flag {other} (--dcs, --items, --txns, --latency-ms)")),
        }
    }
    Ok(a)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let setup = Instant::now();
    let env = TestEnv::spawn(EnvOptions {
        dcs: a.dcs,
        items: a.items,
        fusion_faults: Faults {
            latency_ms: a.latency_ms,
            ..Faults::default()
        },
        fusion_max_in_flight: 16,
        fusion_timeout: Duration::from_secs(30),
        ..EnvOptions::default()
    })
    .await?;
    let txns = env.wms.generate_activity(None, a.txns).map_err(|e| anyhow!("{e:?}"))?;
    let reserved_before: usize = (0..a.dcs).map(|i| env.wms.reservations_count(env.dc(i).as_str())).sum();
    println!(
        "setup ({profile} build): {} DCs x {} items, {} transactions generated ({} reservations) in {:.1} s",
        a.dcs,
        a.items,
        txns.len(),
        reserved_before,
        setup.elapsed().as_secs_f64()
    );
    env.fusion.reset_stats();

    // One warm container per concurrent invocation, built before the clock starts (cold start
    // is not what is measured).
    let containers: Vec<Deps> = (0..a.dcs)
        .map(|_| {
            Ok(Deps {
                ports: env.ports()?,
                settings: SyncSettings::default(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    let runs = containers.iter().enumerate().map(|(i, deps)| {
        let body = env.sync_message(&env.dc(i), "2026-11-26T23:00Z");
        let id = format!("bench-{i}");
        async move {
            let event = sqs_event(&[(id.as_str(), body)])?;
            let t0 = Instant::now();
            let resp = handle(
                deps,
                lambda_runtime::LambdaEvent::new(event, context(&id, Duration::from_secs(900))),
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            Ok::<_, anyhow::Error>((resp, t0.elapsed()))
        }
    });
    let results = futures::future::join_all(runs).await;
    let wall = started.elapsed();

    let mut slowest = Duration::ZERO;
    for (i, r) in results.into_iter().enumerate() {
        let (resp, took) = r?;
        if !resp.batch_item_failures.is_empty() {
            return Err(anyhow!("DC {} message returned for retry", env.dc(i)));
        }
        slowest = slowest.max(took);
    }
    let fusion = env.fusion.stats();
    let fusion_total: u64 = fusion.values().sum();
    let writes: u64 = containers.iter().map(|d| d.ports.writes.get()).sum();
    let mut synced = 0;
    for i in 0..a.dcs {
        synced += containers[0]
            .ports
            .ledger
            .rows_by_state(&env.dc(i), SyncState::Synced)
            .await?
            .len();
    }
    let reserved_after: usize = (0..a.dcs).map(|i| env.wms.reservations_count(env.dc(i).as_str())).sum();

    println!(
        "wall time:        {:.1} s (slowest DC {:.1} s)",
        wall.as_secs_f64(),
        slowest.as_secs_f64()
    );
    println!(
        "throughput:       {:.0} transactions/s",
        txns.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "synced:           {synced} of {} (reservations left: {reserved_after})",
        txns.len()
    );
    println!(
        "Fusion requests:  {fusion_total} ({:.2} per transaction)",
        fusion_total as f64 / txns.len().max(1) as f64
    );
    for (endpoint, n) in &fusion {
        println!("    {endpoint:<40} {n}");
    }
    println!(
        "DynamoDB writes:  {writes} ({:.2} per transaction)",
        writes as f64 / txns.len().max(1) as f64
    );
    match peak_rss_mib() {
        Some(mib) => println!("peak memory:      {mib:.0} MiB (VmHWM; includes both simulators)"),
        None => println!("peak memory:      unavailable"),
    }
    if synced != txns.len() {
        return Err(anyhow!("{} transactions did not sync", txns.len() - synced));
    }
    Ok(())
}
