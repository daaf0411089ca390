//! Measures where the Fusion client's adaptive in-flight bound settles against a simulator
//! that allows N requests in flight and answers 429 beyond (`Faults::max_in_flight`).
//!
//! Many tasks share one `HttpFusionClient` and read one-row on-hand pages as fast as the bound
//! lets them, for a while; the client's limit is sampled every 10 ms. Printed per N: the mean,
//! lowest and highest limit over the second half of the run ("settled"), its distance from N,
//! the share of requests the simulator refused, and the concurrency actually achieved
//! (throughput x latency).
//!
//! `cargo run --release -p adapters --example adaptive_concurrency -- --limit 8,16,32`
//! Options: `--limit N[,N...]` (default 8,16,32), `--latency-ms` (100), `--seconds` (20),
//! `--start` (8, the client's starting limit), `--ceiling` (64), `--tasks` (96).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use domain::DcCode;
use fusion_sim::{Faults, FusionSim, RunningSim, SimConfig, CONCURRENCY_REFUSED};
use secrecy::SecretString;
use sim_seed::SeedConfig;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    limits: Vec<u32>,
    latency_ms: u64,
    seconds: u64,
    start: usize,
    ceiling: usize,
    tasks: usize,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        limits: vec![8, 16, 32],
        latency_ms: 100,
        seconds: 20,
        start: 8,
        ceiling: 64,
        tasks: 96,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--limit" => a.limits = value.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--latency-ms" => a.latency_ms = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            "--start" => a.start = value.parse()?,
            "--ceiling" => a.ceiling = value.parse()?,
            "--tasks" => a.tasks = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let a = args()?;
    let sim = FusionSim::start(SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items: 300,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await?;
    println!(
        "latency {} ms, {} s per run, client starts at {} (ceiling {}), {} tasks",
        a.latency_ms, a.seconds, a.start, a.ceiling, a.tasks
    );
    for &n in &a.limits {
        let r = run(&sim, &a, n).await?;
        let off = (r.mean - f64::from(n)) / f64::from(n) * 100.0;
        println!(
            "N={n:>3}: settled limit mean {:.1} (min {}, max {}, {off:+.1}% of N), achieved {:.1} in flight, \
             {} requests, {} refused ({:.2}%), {} calls failed, sim peak {}",
            r.mean,
            r.min,
            r.max,
            r.achieved,
            r.requests,
            r.refused,
            r.refused as f64 / r.requests.max(1) as f64 * 100.0,
            r.failed,
            r.peak,
        );
    }
    sim.shutdown().await;
    Ok(())
}

struct Run {
    mean: f64,
    min: usize,
    max: usize,
    achieved: f64,
    requests: u64,
    refused: u64,
    failed: u64,
    peak: u32,
}

async fn run(sim: &RunningSim, a: &Args, n: u32) -> Result<Run, Error> {
    sim.set_faults(Faults {
        max_in_flight: Some(n),
        latency_ms: a.latency_ms,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let mut cfg = FusionConfig::new(
        sim.url(),
        Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from("Welcome1"),
        },
    );
    cfg.max_in_flight = a.start;
    cfg.max_in_flight_ceiling = a.ceiling;
    cfg.retry_attempts = 5;
    cfg.retry_base_delay = Duration::from_millis(20);
    cfg.request_timeout = Duration::from_secs(30);
    let client = HttpFusionClient::new(cfg)?;
    let dc = DcCode::parse("DC01")?;
    // Proves the credentials first, so the tasks are not held to one login at a time.
    client.onhand_page(&dc, 0, 1).await?;
    sim.reset_stats();

    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tasks: Vec<_> = (0..a.tasks)
        .map(|_| {
            let (client, dc, stop) = (client.clone(), dc.clone(), stop.clone());
            let (done, failed) = (done.clone(), failed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match client.onhand_page(&dc, 0, 1).await {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();

    let run_for = Duration::from_secs(a.seconds);
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut done_at_half = None;
    while started.elapsed() < run_for {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if started.elapsed() >= run_for / 2 {
            done_at_half.get_or_insert_with(|| (done.load(Ordering::Relaxed), Instant::now()));
            samples.push(client.concurrency().limit);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (done_half, half_at) = done_at_half.unwrap_or((0, started));
    let second_half = done.load(Ordering::Relaxed) - done_half;
    let throughput = second_half as f64 / half_at.elapsed().as_secs_f64();
    for t in tasks {
        t.await?;
    }
    let stats = sim.stats();
    let refused = stats.get(CONCURRENCY_REFUSED).copied().unwrap_or(0);
    let requests = stats.get("GET inventoryOnhandBalances").copied().unwrap_or(0);
    Ok(Run {
        mean: samples.iter().sum::<usize>() as f64 / samples.len().max(1) as f64,
        min: samples.iter().copied().min().unwrap_or(0),
        max: samples.iter().copied().max().unwrap_or(0),
        achieved: throughput * a.latency_ms as f64 / 1000.0,
        requests,
        refused,
        failed: failed.load(Ordering::Relaxed),
        peak: sim.peak_in_flight(),
    })
}
