//! `sync-mem-bench`: one hourly sync cycle on the in-memory stores, to measure invsync rather
//! than an AWS emulator.
//!
//! Both simulators start from one seed (`--dcs` DCs of `--items` items); the WMS simulator
//! generates `--txns` transactions spread over the DCs, as `sync-inventory`'s moto benchmark
//! does. Every DC is then synced at once by the real `domain::sync::sync_dc`, each DC in its
//! own "container" (its own Fusion and WMS HTTP clients) over shared in-memory tables; every
//! DynamoDB, SQS and SNS request waits a modelled latency (`--aws-latency-ms`, default 5) and
//! is counted by kind, the Fusion simulator adds `--fusion-latency-ms` (default 100) to every
//! request and the WMS simulator `--wms-latency-ms` (default 5). After each run the handler's
//! run report is saved; before them the fan-out's SQS batch sends are counted.
//!
//! Printed: wall time, requests by kind, Fusion requests and DynamoDB writes per transaction,
//! the round-trip minimum at the concurrency allowed (see `minimum`) and wall / minimum.
//!
//! `cargo run --release -p invsync-bench --bin sync-mem-bench -- --dcs 12 --txns 10000`
//! Other options: `--items` (2000), `--sync-concurrency` and `--page-size` (the default
//! `SyncSettings`), `--fusion-in-flight` (16 at start), `--fusion-ceiling` (32),
//! `--warm-item-cache 1` (the shared item cache already holds every item, as in every hourly
//! cycle after the first of the day; by default it starts empty and the cycle fills it, one
//! batch lookup per page) and `--warm-cycles N` (N earlier hourly cycles of `--txns` each run
//! first, unmeasured and without latency, over the same tables: the item cache and the lot map
//! then hold what they learned, as in steady state, and only the next hour is measured).
//! `--warm-lot-map 1`: the lot map already maps every lot the WMS holds (every later cycle
//! once each lot has been seen; by default it starts empty and the cycle maps each lot on
//! first sight, one conditional write each).
//!
//! DynamoDB, SQS and SNS requests are also printed by the port call that made them, so an
//! extra write per transaction can be traced to its source.

mod minimum;
mod ports;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsAuth, WmsConfig};
use anyhow::{anyhow, Context as _};
use domain::ledger::SyncState;
use domain::ports::{LotMap as _, RunReport, RunReports as _};
use domain::sync::{sync_dc, SyncSettings};
use domain::DcCode;
use fusion_sim::{FusionSim, SimConfig};
use minimum::{round_trip_minimum, Kind, Shape};
use ports::{BenchPorts, Tables};
use secrecy::SecretString;
use sim_seed::SeedConfig;
use testkit::latency::{AwsLatency, Latency, RequestCounts, RequestKind};
use wms_sim::WmsSim;

struct Args {
    dcs: usize,
    items: usize,
    txns: usize,
    fusion_ms: u64,
    aws_ms: u64,
    wms_ms: u64,
    sync_concurrency: usize,
    fusion_in_flight: usize,
    fusion_ceiling: usize,
    warm_item_cache: bool,
    warm_lot_map: bool,
    warm_cycles: usize,
    page_size: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        dcs: 12,
        items: 2_000,
        txns: 10_000,
        fusion_ms: 100,
        aws_ms: 5,
        wms_ms: 5,
        sync_concurrency: SyncSettings::default().concurrency,
        fusion_in_flight: 16,
        fusion_ceiling: 32,
        warm_item_cache: false,
        warm_lot_map: false,
        warm_cycles: 0,
        page_size: SyncSettings::default().page_size,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        let n: usize = value.parse().with_context(|| format!("{flag} {value}"))?;
        match flag.as_str() {
            "--dcs" => a.dcs = n,
            "--items" => a.items = n,
            "--txns" => a.txns = n,
            "--fusion-latency-ms" => a.fusion_ms = n as u64,
            "--aws-latency-ms" => a.aws_ms = n as u64,
            "--wms-latency-ms" => a.wms_ms = n as u64,
            "--sync-concurrency" => a.sync_concurrency = n,
            "--fusion-in-flight" => a.fusion_in_flight = n,
            "--fusion-ceiling" => a.fusion_ceiling = n,
            "--warm-item-cache" => a.warm_item_cache = n != 0,
            "--warm-lot-map" => a.warm_lot_map = n != 0,
            "--warm-cycles" => a.warm_cycles = n,
            "--page-size" => a.page_size = n,
            other => return Err(anyhow!("unknown option {other}")),
        }
    }
    Ok(a)
}

/// Fusion requests by what they are for, from the simulator's counters.
fn fusion_by_purpose(stats: &BTreeMap<String, u64>) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    for (endpoint, n) in stats {
        let purpose = match endpoint.split_once(' ') {
            // The batch endpoint carries only the page's item lookups in the sync.
            Some(("POST", "batch")) => "lookups (items, lots, UOMs)",
            Some(("POST" | "PATCH" | "PUT" | "DELETE", _)) => "posts (transactions, lots)",
            Some(("GET", "itemsV2" | "inventoryItemLots" | "unitsOfMeasure")) => "lookups (items, lots, UOMs)",
            Some(("GET", "inventoryStagedTransactions" | "inventoryCompletedTransactions")) => "reads (find, confirm)",
            Some(("GET", _)) => "reads (other)",
            // Batch parts, refusals and gzip counters are not requests of their own.
            _ => continue,
        };
        *out.entry(purpose).or_default() += n;
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let setup = Instant::now();
    let seed = SeedConfig {
        dcs: a.dcs,
        items: a.items,
        ..SeedConfig::default()
    };
    let fusion = FusionSim::start(SimConfig {
        seed: seed.clone(),
        ..SimConfig::default()
    })
    .await?;
    let wms = WmsSim::start(wms_sim::WmsConfig {
        seed: seed.clone(),
        ..wms_sim::WmsConfig::default()
    })
    .await?;
    let dcs: Vec<DcCode> = (0..a.dcs)
        .map(|i| DcCode::parse(sim_seed::org(i).code))
        .collect::<Result<_, _>>()?;
    let tables = Tables::default();
    let settings = SyncSettings {
        concurrency: a.sync_concurrency,
        page_size: a.page_size,
        ..SyncSettings::default()
    };
    let fusion_config = || {
        let mut cfg = FusionConfig::new(
            fusion.url(),
            Credentials::Basic {
                user: "integration.user".into(),
                password: SecretString::from("Welcome1"),
            },
        );
        cfg.max_in_flight = a.fusion_in_flight;
        cfg.max_in_flight_ceiling = a.fusion_ceiling;
        cfg.request_timeout = Duration::from_secs(30);
        cfg
    };
    // One container per DC: its own Fusion and WMS clients, as each invocation has.
    let containers = |latency: AwsLatency, counts: &Arc<RequestCounts>| -> anyhow::Result<Vec<BenchPorts>> {
        dcs.iter()
            .map(|_| {
                let wms_cfg = WmsConfig::new(
                    wms.base_url(),
                    WmsAuth::ApiKey(SecretString::from(wms.api_key().unwrap_or_default().to_string())),
                )?;
                Ok(BenchPorts::new(
                    HttpFusionClient::new(fusion_config())?,
                    HttpWmsClient::new(wms_cfg)?,
                    &tables,
                    latency,
                    counts,
                ))
            })
            .collect()
    };
    // Earlier hourly cycles, unmeasured and without latency: they fill the item cache and the
    // lot map as the cycles before this hour's did.
    for cycle in 0..a.warm_cycles {
        let warm_txns = wms.generate_activity(None, a.txns).map_err(|e| anyhow!("{e:?}"))?;
        let warm = containers(AwsLatency::uniform(Duration::ZERO), &RequestCounts::new())?;
        for (report, _) in run_cycle(&warm, &dcs, &settings, &format!("warm{cycle}")).await? {
            if report.synced == 0 && report.seen > 0 {
                return Err(anyhow!("warm-up cycle {cycle} synced nothing at {}", report.dc));
            }
        }
        println!(
            "warm-up cycle {}: {} transactions synced without latency",
            cycle + 1,
            warm_txns.len()
        );
    }
    if a.warm_item_cache {
        // An earlier cycle's containers filled the shared cache; this one's start cold.
        let filler = HttpFusionClient::new(fusion_config())?.with_item_cache(tables.items.clone());
        let every: Vec<_> = (0..a.items)
            .map(|i| domain::ItemNumber::parse(sim_seed::item(seed.seed, i).number))
            .collect::<Result<_, _>>()?;
        for dc in &dcs {
            filler.prefetch_items(dc, &every).await?;
        }
    }
    if a.warm_lot_map {
        // Every lot the WMS holds was seen by an earlier cycle (mapped on first sight).
        for dc in &dcs {
            for row in wms.balances(dc.as_str()) {
                let Some(lot) = row.lot else { continue };
                let item = domain::ItemNumber::parse(row.item)?;
                let wms_lot = domain::LotNumber::parse(lot.number)?;
                let mapped = domain::ports::MappedLot {
                    fusion_lot: wms_lot.clone(),
                    expiration: Some(lot.expiration),
                };
                tables.lots.put_if_absent(dc, &item, &wms_lot, &mapped).await?;
            }
        }
    }
    fusion.set_faults(fusion_sim::Faults {
        latency_ms: a.fusion_ms,
        ..fusion_sim::Faults::default()
    });
    let txns = wms.generate_activity(None, a.txns).map_err(|e| anyhow!("{e:?}"))?;
    wms.set_faults(wms_sim::Faults {
        latency_ms: a.wms_ms,
        ..wms_sim::Faults::default()
    })
    .map_err(|e| anyhow!("{e:?}"))?;
    let txns_per_dc: Vec<usize> = dcs
        .iter()
        .map(|dc| txns.iter().filter(|t| t.id.starts_with(&format!("{dc}-"))).count())
        .collect();
    println!(
        "setup ({profile} build): {} DCs x {} items, {} transactions ({}..{} per DC) in {:.1} s",
        a.dcs,
        a.items,
        txns.len(),
        txns_per_dc.iter().min().unwrap_or(&0),
        txns_per_dc.iter().max().unwrap_or(&0),
        setup.elapsed().as_secs_f64()
    );

    let latency = AwsLatency::uniform(Duration::from_millis(a.aws_ms));
    let counts = RequestCounts::new();
    let containers = containers(latency, &counts)?;
    fusion.reset_stats();
    let wms_before: u64 = wms.stats().values().map(|s| s.requests).sum();

    let started = Instant::now();
    // The fan-out: one SendMessageBatch per ten DCs.
    let sqs = Latency::new(Arc::new(()), latency, counts.clone());
    for _ in 0..a.dcs.div_ceil(10) {
        sqs.request_for(RequestKind::Sqs, "fan-out SendMessageBatch").await;
    }
    let results = run_cycle(&containers, &dcs, &settings, "bench").await?;
    let wall = started.elapsed();

    let mut slowest = Duration::ZERO;
    for (report, took) in results {
        if report.stopped_early || report.systemic.is_some() {
            return Err(anyhow!("DC {} stopped early: {report:?}", report.dc));
        }
        slowest = slowest.max(took);
    }
    let measured: std::collections::BTreeSet<&str> = txns.iter().map(|t| t.id.as_str()).collect();
    let synced = tables
        .ledger
        .rows()
        .iter()
        .filter(|r| r.entry.state == SyncState::Synced && measured.contains(r.txn.id().as_str()))
        .count();
    let reserved_after: usize = dcs.iter().map(|dc| wms.reservations_count(dc.as_str())).sum();

    let per_txn = |n: u64| n as f64 / txns.len().max(1) as f64;
    let fusion_stats = fusion.stats();
    let purposes = fusion_by_purpose(&fusion_stats);
    let fusion_total: u64 = purposes.values().sum();
    let wms_total = wms.stats().values().map(|s| s.requests).sum::<u64>() - wms_before;
    let [reads, writes, sqs_n, sns_n] = [
        RequestKind::DynamoRead,
        RequestKind::DynamoWrite,
        RequestKind::Sqs,
        RequestKind::Sns,
    ]
    .map(|k| counts.get(k));
    let aws = Duration::from_millis(a.aws_ms);
    let minimum = round_trip_minimum(&Shape {
        kinds: vec![
            Kind {
                count: fusion_total,
                latency: Duration::from_millis(a.fusion_ms),
                fusion: true,
            },
            Kind {
                count: wms_total,
                latency: Duration::from_millis(a.wms_ms),
                fusion: false,
            },
            Kind {
                count: reads + writes + sns_n,
                latency: aws,
                fusion: false,
            },
        ],
        txns_per_dc: txns_per_dc.clone(),
        workers: settings.concurrency,
        fusion_in_flight: a.fusion_ceiling.max(a.fusion_in_flight),
    }) + aws * u32::try_from(sqs_n).unwrap_or(u32::MAX);

    println!(
        "latency: Fusion {} ms, WMS {} ms, DynamoDB/SQS/SNS {} ms; {} transactions in progress per DC, \
         Fusion {} in flight at start (ceiling {})",
        a.fusion_ms, a.wms_ms, a.aws_ms, settings.concurrency, a.fusion_in_flight, a.fusion_ceiling
    );
    println!(
        "wall time:          {:.1} s (slowest DC {:.1} s)",
        wall.as_secs_f64(),
        slowest.as_secs_f64()
    );
    println!(
        "synced:             {synced} of {} (reservations left: {reserved_after})",
        txns.len()
    );
    println!(
        "Fusion requests:    {fusion_total} ({:.2} per transaction)",
        per_txn(fusion_total)
    );
    for (purpose, n) in &purposes {
        println!("    {purpose:<30} {n:>8} ({:.2} per transaction)", per_txn(*n));
    }
    for (endpoint, n) in &fusion_stats {
        println!("        {endpoint:<40} {n}");
    }
    println!(
        "DynamoDB:           {reads} reads ({:.2} per transaction), {writes} writes ({:.2} per transaction)",
        per_txn(reads),
        per_txn(writes)
    );
    for (operation, n) in counts.by_operation() {
        println!("    {operation:<30} {n:>8} ({:.3} per transaction)", per_txn(n));
    }
    println!("SQS:                {sqs_n} (fan-out; the sync itself sends none)");
    println!("SNS:                {sns_n}");
    println!(
        "WMS requests:       {wms_total} ({:.2} per transaction)",
        per_txn(wms_total)
    );
    if minimum.is_zero() {
        println!("round-trip minimum: 0 s (no latency modelled)");
    } else {
        println!(
            "round-trip minimum: {:.1} s; wall / minimum = {:.2}",
            minimum.as_secs_f64(),
            wall.as_secs_f64() / minimum.as_secs_f64()
        );
    }
    if synced != txns.len() {
        return Err(anyhow!("{} transactions did not sync", txns.len() - synced));
    }
    Ok(())
}

/// Syncs every DC at once, each in its container, and saves each run's report as the handler
/// does; answers each DC's report and how long its run took.
async fn run_cycle(
    containers: &[BenchPorts],
    dcs: &[DcCode],
    settings: &SyncSettings,
    tag: &str,
) -> anyhow::Result<Vec<(domain::sync::SyncReport, Duration)>> {
    let deadline = chrono::Utc::now() + chrono::Duration::minutes(15);
    let runs = containers.iter().zip(dcs).map(|(ports, dc)| async move {
        let t0 = Instant::now();
        let at = chrono::Utc::now();
        let run_id = format!("{tag}:{dc}");
        let report = sync_dc(ports, settings, dc, &run_id, deadline).await?;
        let took = t0.elapsed();
        let saved = RunReport {
            dc: dc.clone(),
            run_id: run_id.into(),
            kind: domain::ports::RunKind::Sync,
            started_at: at,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            figures: BTreeMap::from([("synced".to_string(), report.synced as i64)]),
            notes: Vec::new(),
        };
        ports.runs.save(&saved).await?;
        Ok::<_, anyhow::Error>((report, took))
    });
    futures::future::try_join_all(runs).await
}
