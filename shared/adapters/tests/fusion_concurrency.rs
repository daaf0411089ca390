//! The adaptive in-flight bound over real HTTP against the Fusion simulator in its
//! concurrency-limit mode (N requests in flight, 429 beyond): it converges near N with few
//! refusals, never passes its ceiling, and comes down when started far above N.
//!
//! Bands are generous so a loaded two-core machine running debug builds stays green; the
//! release example `adaptive_concurrency` measures the precise figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use domain::DcCode;
use fusion_sim::{Faults, FusionSim, RunningSim, SimConfig, CONCURRENCY_REFUSED};
use secrecy::SecretString;
use sim_seed::SeedConfig;

struct Outcome {
    /// Mean of the client's limit over the second half of the run.
    settled: f64,
    /// Highest limit seen.
    highest: usize,
    requests: u64,
    refused: u64,
    failed: u64,
    peak: u32,
}

async fn sim() -> RunningSim {
    FusionSim::start(SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items: 50,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// `tasks` loops share one client (starting at `start`, ceiling `ceiling`) reading one-row
/// pages from a simulator that allows `n` in flight (`None`: unlimited), for `run`.
async fn drive(sim: &RunningSim, n: Option<u32>, start: usize, ceiling: usize, tasks: usize, run: Duration) -> Outcome {
    sim.set_faults(Faults {
        max_in_flight: n,
        latency_ms: 40,
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
    cfg.max_in_flight = start;
    cfg.max_in_flight_ceiling = ceiling;
    cfg.retry_attempts = 6;
    cfg.retry_base_delay = Duration::from_millis(10);
    cfg.retry_max_delay = Duration::from_millis(100);
    cfg.request_timeout = Duration::from_secs(10);
    let client = HttpFusionClient::new(cfg).unwrap();
    let dc = DcCode::parse("DC01").unwrap();
    client.onhand_page(&dc, 0, 1).await.unwrap();
    sim.reset_stats();

    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let loops: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, dc, stop, failed) = (client.clone(), dc.clone(), stop.clone(), failed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if client.onhand_page(&dc, 0, 1).await.is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let (mut samples, mut highest) = (Vec::new(), 0);
    while started.elapsed() < run {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let limit = client.concurrency().limit;
        highest = highest.max(limit);
        if started.elapsed() >= run / 2 {
            samples.push(limit);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        l.await.unwrap();
    }
    Outcome {
        settled: samples.iter().sum::<usize>() as f64 / samples.len().max(1) as f64,
        highest,
        requests: sim.request_count("GET inventoryOnhandBalances"),
        refused: sim.request_count(CONCURRENCY_REFUSED),
        failed: failed.load(Ordering::Relaxed),
        peak: sim.peak_in_flight(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_near_the_pods_limit_with_few_refusals() {
    let sim = sim().await;
    let n = 12;
    let o = drive(&sim, Some(n), 4, 64, 48, Duration::from_secs(8)).await;
    let share = o.refused as f64 / o.requests.max(1) as f64;
    eprintln!(
        "N={n}: settled {:.1}, highest {}, {} requests, {} refused ({:.2}%), peak {}",
        o.settled,
        o.highest,
        o.requests,
        o.refused,
        share * 100.0,
        o.peak
    );
    assert!(o.refused > 0, "it probed the limit");
    assert!(
        (0.6 * f64::from(n)..=1.4 * f64::from(n)).contains(&o.settled),
        "settled at {:.1} for N={n}",
        o.settled
    );
    assert!(share <= 0.10, "{:.1}% refused", share * 100.0);
    assert_eq!(o.failed, 0, "every refused request was retried to success");
    assert!(o.peak <= n, "the simulator never admits more than N");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grows_to_the_ceiling_when_nothing_is_refused_and_never_past_it() {
    let sim = sim().await;
    let o = drive(&sim, None, 2, 10, 32, Duration::from_secs(4)).await;
    assert_eq!(o.highest, 10);
    assert_eq!(o.refused, 0);
    assert!(o.peak <= 10, "peak {} above the ceiling", o.peak);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comes_down_from_far_above_the_pods_limit() {
    let sim = sim().await;
    let o = drive(&sim, Some(4), 32, 32, 48, Duration::from_secs(6)).await;
    assert!(o.settled <= 8.0, "settled at {:.1} for N=4", o.settled);
    assert_eq!(o.failed, 0);
}

#[test]
fn settings_come_from_the_environment_with_defaults() {
    let vars = |extra: &[(&str, &str)]| {
        let m: std::collections::HashMap<String, String> = [
            ("FUSION_BASE_URL", "https://pod.example.com"),
            ("FUSION_USER", "u"),
            ("FUSION_PASSWORD", "p"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        FusionConfig::from_lookup(|k| m.get(k).cloned(), None)
    };
    let c = vars(&[]).unwrap();
    assert_eq!(
        (c.max_in_flight, c.max_in_flight_ceiling, c.adaptive_concurrency),
        (8, 32, true)
    );
    let s = c.concurrency_settings();
    assert_eq!((s.initial, s.ceiling, s.enabled), (8, 32, true));

    let c = vars(&[
        ("FUSION_MAX_IN_FLIGHT", "48"),
        ("FUSION_MAX_IN_FLIGHT_CEILING", "16"),
        ("FUSION_ADAPTIVE_CONCURRENCY", "off"),
    ])
    .unwrap();
    let s = c.concurrency_settings();
    assert_eq!(
        (s.initial, s.ceiling, s.enabled),
        (48, 48, false),
        "ceiling at least the start"
    );
    assert!(vars(&[("FUSION_ADAPTIVE_CONCURRENCY", "maybe")]).is_err());
    assert!(vars(&[("FUSION_MAX_IN_FLIGHT_CEILING", "many")]).is_err());
}
