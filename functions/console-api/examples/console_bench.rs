//! Console latency at the scale, in process over testkit's in-memory stores: 12 DCs,
//! 5,000 open tasks, 500 holds, 2,000 failed transactions (`SeedPlan::benchmark`). The router
//! is served on loopback and called over HTTP; prints p50 / p95 / max of the dashboard and of
//! each list (first page, 50 rows), per request, over every DC. Figures only, no assertion.
//!
//! `cargo run --release -p console-api --example console_bench [-- ROUNDS]` (default 20 rounds
//! of every DC).

use console::{ConsoleService, ConsoleSettings};
use console_api::{router, serve, Authenticator, Console, DevLogin};
use domain::console::{Role, UserId};
use domain::ports::Clock;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::seed::{seed_console, SeedPlan};
use testkit::FakePorts;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(20);
    let plan = SeedPlan::benchmark();
    let ports = FakePorts::for_dc(&plan.dcs[0]);
    for dc in &plan.dcs {
        ports.wms.add_dc(dc);
    }
    let now = ports.clock.now();
    let t = Instant::now();
    seed_console(&ports, &plan, now).await.map_err(anyhow::Error::msg)?;
    println!(
        "seeded {} DCs, {} tasks, {} holds, {} failed transactions in {:.1} s",
        plan.dcs.len(),
        plan.open_tasks,
        plan.holds,
        plan.failed_txns,
        t.elapsed().as_secs_f64()
    );
    let dev = DevLogin::new();
    let user = UserId::parse("bench")?;
    let token = dev
        .mint(&user, &[Role::Supervisor, Role::Manager, Role::Integration], "*")
        .ok_or_else(|| anyhow::anyhow!("token"))?;
    let console = Arc::new(Console {
        service: ConsoleService::new(ports, ConsoleSettings::default()),
        auth: Authenticator {
            dev: Some(dev),
            ..Authenticator::default()
        },
        known_dcs: plan.dcs.clone(),
    });
    let (addr, _server) = serve(router(console), "127.0.0.1:0".parse()?).await?;
    let http = reqwest::Client::new();
    let screens = [
        ("dashboard", "dashboard"),
        ("tasks", "tasks"),
        ("holds", "holds"),
        ("incidents", "incidents"),
        ("failed txns", "txns?kind=sync_failed"),
        ("runs", "runs?kind=reconcile"),
        ("audit", "audit"),
        ("page: dashboard", "ui"),
        ("page: tasks", "ui/tasks"),
    ];
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>6}",
        "request", "p50 ms", "p95 ms", "max ms", "n"
    );
    for (name, path) in screens {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..rounds {
            for dc in &plan.dcs {
                let url = match path.strip_prefix("ui") {
                    Some(rest) => format!("http://{addr}/ui/dcs/{}{rest}", dc.as_str()),
                    None => format!("http://{addr}/api/v1/dcs/{}/{path}", dc.as_str()),
                };
                let t = Instant::now();
                let r = http.get(&url).bearer_auth(&token).send().await?;
                let ok = r.status().is_success();
                let _ = r.bytes().await?;
                times.push(t.elapsed());
                anyhow::ensure!(ok, "{url} failed");
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)].as_secs_f64() * 1000.0;
        println!(
            "{name:<18} {:>9.2} {:>9.2} {:>9.2} {:>6}",
            at(0.5),
            at(0.95),
            at(1.0),
            times.len()
        );
    }
    Ok(())
}
