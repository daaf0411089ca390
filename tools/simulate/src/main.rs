//! `invsync-simulate`: runs the simulation, prints a progress bar in simulated time and the
//! summary table, and writes `checkpoints.csv`, `chart.svg` and `summary.txt` to `--out`.
//!
//! `cargo run --release -p invsync-simulate -- --days 7 --dcs 12 --items 50000 --seed 42`
//! (`scripts/simulate.sh` wraps it; `--help` lists every rate).

use std::io::Write as _;
use std::path::PathBuf;

use clap::Parser;
use invsync_simulate::{report, Settings};

// Why: a run allocates and frees millions of small strings and JSON values per simulated 15
// minutes (both simulators and the clients in one process); glibc malloc was 40 % of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Accuracy over simulated days: invsync against the twice-daily upload.
#[derive(Debug, Parser)]
#[command(name = "invsync-simulate")]
struct Args {
    /// Simulated days.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// DCs.
    #[arg(long, default_value_t = 12)]
    dcs: usize,
    /// SKUs per DC.
    #[arg(long, default_value_t = 50_000)]
    items: usize,
    /// Seed of the data and of every random draw.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// WMS transactions per DC in the peak hour.
    #[arg(long, default_value_t = 850)]
    peak_per_dc: u32,
    /// Direct Fusion edits per DC and day.
    #[arg(long)]
    fusion_edits: Option<f64>,
    /// WMS corrections bypassing the outbox per DC and day.
    #[arg(long)]
    wms_corrections: Option<f64>,
    /// Bad WMS transactions per DC and day.
    #[arg(long)]
    bad_data: Option<f64>,
    /// Fusion outages (an hour each) per day.
    #[arg(long)]
    outages: Option<f64>,
    /// Throttling hours per day.
    #[arg(long)]
    throttling: Option<f64>,
    /// Hours of rejected credentials per day.
    #[arg(long)]
    credential_rejections: Option<f64>,
    /// Hours of stalled Fusion processing per day.
    #[arg(long)]
    processing_stalls: Option<f64>,
    /// Lost hourly messages per day.
    #[arg(long)]
    missed_messages: Option<f64>,
    /// Duplicated hourly messages per day.
    #[arg(long)]
    duplicated_messages: Option<f64>,
    /// Crashed invocations per day.
    #[arg(long)]
    crashes: Option<f64>,
    /// Share of staged rows Fusion fails at processing.
    #[arg(long)]
    process_fail_rate: Option<f64>,
    /// Share of Online posts answered 408 (left staged).
    #[arg(long)]
    online_408_rate: Option<f64>,
    /// Minutes before a supervisor resolves a task.
    #[arg(long)]
    supervisor_delay_min: Option<i64>,
    /// Minutes before a manager has an alerted key corrected and releases its hold.
    #[arg(long)]
    manager_delay_min: Option<i64>,
    /// Stop at the first checkpoint after this many wall-clock minutes and report the
    /// simulated time done.
    #[arg(long)]
    wall_limit_min: Option<u64>,
    /// Where the CSV, the chart and the summary go.
    #[arg(long, default_value = "target/simulate")]
    out: PathBuf,
}

impl Args {
    fn settings(&self) -> Settings {
        let d = Settings::default();
        Settings {
            days: self.days,
            dcs: self.dcs,
            items: self.items,
            seed: self.seed,
            peak_per_dc: self.peak_per_dc,
            fusion_edits: self.fusion_edits.unwrap_or(d.fusion_edits),
            wms_corrections: self.wms_corrections.unwrap_or(d.wms_corrections),
            bad_data: self.bad_data.unwrap_or(d.bad_data),
            outages: self.outages.unwrap_or(d.outages),
            throttling: self.throttling.unwrap_or(d.throttling),
            credential_rejections: self.credential_rejections.unwrap_or(d.credential_rejections),
            processing_stalls: self.processing_stalls.unwrap_or(d.processing_stalls),
            missed_messages: self.missed_messages.unwrap_or(d.missed_messages),
            duplicated_messages: self.duplicated_messages.unwrap_or(d.duplicated_messages),
            crashes: self.crashes.unwrap_or(d.crashes),
            process_fail_rate: self.process_fail_rate.unwrap_or(d.process_fail_rate),
            online_408_rate: self.online_408_rate.unwrap_or(d.online_408_rate),
            supervisor_delay_min: self.supervisor_delay_min.unwrap_or(d.supervisor_delay_min),
            manager_delay_min: self.manager_delay_min.unwrap_or(d.manager_delay_min),
            wall_limit: self.wall_limit_min.map(|m| std::time::Duration::from_secs(m * 60)),
            ..d
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = args.settings();
    let wall = std::time::Instant::now();
    let outcome = invsync_simulate::run(&settings, |cp, total| {
        let done = cp.minute as f64 / total.max(1) as f64;
        let filled = (done * 40.0) as usize;
        eprint!(
            "\r[{}{}] day {} {:02}:{:02}  invsync {:.4}%  upload {:.3}%  wall {:.0} s ",
            "#".repeat(filled),
            "-".repeat(40 - filled.min(40)),
            cp.minute / 1440,
            (cp.minute / 60) % 24,
            cp.minute % 60,
            100.0 * cp.invsync.share(cp.keys),
            100.0 * cp.baseline.share(cp.keys),
            wall.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    })
    .await?;
    eprintln!();
    let summary = report::summary(&outcome);
    print!("{summary}");
    for n in outcome.notes.iter().take(60) {
        println!("  {n}");
    }
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("checkpoints.csv"), report::csv(&outcome))?;
    std::fs::write(args.out.join("chart.svg"), invsync_simulate::chart::svg(&outcome))?;
    std::fs::write(args.out.join("summary.txt"), &summary)?;
    println!("wrote {}/checkpoints.csv, chart.svg, summary.txt", args.out.display());
    Ok(())
}
