//! The simulation loop: five-minute steps of activity and drift; every 15 minutes Fusion's
//! transaction manager, the schedules (hourly sync, 15-minute reconciliation) through the
//! real handlers, the people, and a checkpoint of the measures.

use std::sync::Arc;
use std::time::{Duration as WallDuration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{Duration, Timelike};
use domain::ports::RunKind;
use domain::reconciliation::ReconcileSettings;
use domain::sync::SyncSettings;
use lambda_runtime::LambdaEvent;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use testkit::InMemoryDcStatus;

use crate::faults::{self, Window, WindowKind};
use crate::inject::{self, Drift, Injected};
use crate::lambda::{context, deliver, schedule_event, sqs_event, Delivery, FifoQueue, Message};
use crate::measure::{self, Baseline, Checkpoint, Tally};
use crate::people::{People, PeopleFigures};
use crate::settings::Settings;
use crate::truth::{DcTruth, Outbox};
use crate::world::World;

/// Minutes per activity step.
pub const STEP_MIN: i64 = 5;

/// Sync invocations at once (the template's `SyncMaxConcurrency` default).
pub const SYNC_CONCURRENCY: usize = 4;

/// Counts of the AWS side of the run.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunFigures {
    /// Sync invocations (one message each).
    pub sync_invocations: u64,
    /// Reconcile invocations.
    pub reconcile_invocations: u64,
    /// Messages a handler returned for retry.
    pub returned: u64,
    /// Invocations that crashed.
    pub crashed: u64,
    /// Messages dead-lettered after their last receive.
    pub dead_lettered: u64,
    /// Hourly sync messages lost.
    pub missed: u64,
    /// Hourly sync messages delivered twice.
    pub duplicated: u64,
    /// Alerts published (every kind).
    pub alerts: u64,
    /// Review tasks opened (every kind).
    pub tasks: u64,
    /// Incidents opened.
    pub incidents: u64,
}

/// Alerts published, by what they say (the subject without its DC).
pub type AlertKinds = std::collections::BTreeMap<String, u64>;

/// Wall time spent per phase of the loop.
#[derive(Debug, Default, Clone, Copy)]
pub struct Phases {
    /// Fan-out and sync invocations (and Fusion's transaction manager).
    pub sync: WallDuration,
    /// Reconcile invocations.
    pub reconcile: WallDuration,
    /// People.
    pub people: WallDuration,
    /// Reading both sides and measuring.
    pub measure: WallDuration,
    /// Activity, drift and bad data.
    pub activity: WallDuration,
}

/// A delivery fault, marked on the chart.
#[derive(Debug, Clone)]
pub struct Event {
    /// Minute.
    pub minute: i64,
    /// What.
    pub what: String,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Its settings.
    pub settings: Settings,
    /// One per 15 minutes.
    pub checkpoints: Vec<Checkpoint>,
    /// Every injected drift.
    pub drifts: Vec<Drift>,
    /// Bad WMS transactions injected.
    pub bad_data: usize,
    /// Fault windows.
    pub windows: Vec<Window>,
    /// Delivery faults.
    pub events: Vec<Event>,
    /// AWS-side counts.
    pub runs: RunFigures,
    /// What people did.
    pub people: PeopleFigures,
    /// Twice-daily uploads done and rows uploaded.
    pub uploads: (u64, u64),
    /// False and missed alert details.
    pub notes: Vec<String>,
    /// Wall time of the run (start-up included).
    pub wall: WallDuration,
    /// Wall time per phase.
    pub phases: Phases,
    /// Simulated minutes done (less than the settings' days when the wall limit stopped it).
    pub minutes: i64,
    /// Alerts by kind.
    pub alert_kinds: AlertKinds,
}

/// Runs a simulation; `progress` is called after every checkpoint with it and the minutes
/// of the whole run.
pub async fn run(settings: &Settings, mut progress: impl FnMut(&Checkpoint, i64)) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let world = World::start(settings).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0x5153_494D);
    let windows = faults::plan(settings, &mut rng);
    let fanout = fanout_sync::handler::Deps {
        dcs: world.dcs.clone(),
        queue: FifoQueue::default(),
        reconcile_queue: Some(FifoQueue::default()),
        // The simulation measures DCs after go-live: every DC is live from the start.
        statuses: InMemoryDcStatus::all_live(&world.dcs, world.start),
    };
    let sync = Arc::new(sync_inventory::handler::Deps {
        ports: world.ports.clone(),
        settings: SyncSettings::default(),
    });
    let reconcile = Arc::new(reconcile_stock::handler::Deps {
        ports: world.ports.clone(),
        settings: ReconcileSettings::default(),
        dcs: world.dcs.clone(),
        concurrency: 1,
        statuses: InMemoryDcStatus::all_live(&world.dcs, world.start),
    });
    let mut people = People::new(world.ports.clone())?;
    let mut outbox = Outbox::default();
    let mut inj = Injected::default();
    let mut baseline = Baseline::default();
    let mut tally = Tally::default();
    let mut figures = RunFigures::default();
    let mut events = Vec::new();
    let mut checkpoints = Vec::new();
    let mut reconciled = vec![None; world.dcs.len()];
    let mut current = None;
    let total = settings.minutes();
    let per_hour = |rate: f64| (rate / 24.0).clamp(0.0, 1.0);
    let mut minute = 0;
    let mut phases = Phases::default();
    let mut lap = Instant::now();
    let mut split = |into: &mut WallDuration| {
        let now = Instant::now();
        *into += now - lap;
        lap = now;
    };
    loop {
        let now = world.start + Duration::minutes(minute);
        world.ports.stores().clock.set(now);
        let f = faults::fusion_faults(settings, &windows, minute);
        if current.as_ref() != Some(&f) {
            world.fusion.set_faults(f.clone());
            current = Some(f);
        }
        if minute % 15 == 0 {
            if minute % 1440 == 0 {
                world.fusion.set_today(now.date_naive());
            }
            if !faults::active(&windows, WindowKind::ProcessingStall, minute) {
                world.fusion.process_staged();
            }
            let hourly = minute % 60 == 0;
            if hourly {
                fire(&fanout, RunKind::Sync, now).await;
            }
            let mut messages = fanout.queue.drain();
            if hourly && !messages.is_empty() {
                if rng.random_bool(per_hour(settings.missed_messages)) {
                    let lost = messages.remove(rng.random_range(0..messages.len()));
                    figures.missed += 1;
                    events.push(Event {
                        minute,
                        what: format!("missed {}", lost.request.dc),
                    });
                }
                if !messages.is_empty() && rng.random_bool(per_hour(settings.duplicated_messages)) {
                    let twin = messages[rng.random_range(0..messages.len())].clone();
                    figures.duplicated += 1;
                    events.push(Event {
                        minute,
                        what: format!("duplicated {}", twin.request.dc),
                    });
                    messages.push(twin);
                }
            }
            let crash = crash_plan(&mut rng, settings, messages.len(), &mut events, minute, "sync");
            figures.sync_invocations += messages.len() as u64;
            let results = deliver(messages, &crash, SYNC_CONCURRENCY, |m: Message, id: String| {
                let deps = sync.clone();
                async move {
                    let Ok(event) = sqs_event::<SqsEvent>(&m, &id) else {
                        return true;
                    };
                    match sync_inventory::handler::handle(&deps, LambdaEvent::new(event, context(&id))).await {
                        Ok(r) => r.batch_item_failures.is_empty(),
                        Err(_) => false,
                    }
                }
            })
            .await;
            settle(&fanout.queue, results, &mut figures, |_, _| {});

            split(&mut phases.sync);
            fire(&fanout, RunKind::Reconcile, now).await;
            let queue = fanout
                .reconcile_queue
                .as_ref()
                .map(FifoQueue::drain)
                .unwrap_or_default();
            let crash = crash_plan(&mut rng, settings, queue.len(), &mut events, minute, "reconcile");
            figures.reconcile_invocations += queue.len() as u64;
            let results = deliver(queue, &crash, world.dcs.len(), |m: Message, id: String| {
                let deps = reconcile.clone();
                async move {
                    let Ok(event) = sqs_event::<SqsEvent>(&m, &id) else {
                        return true;
                    };
                    reconcile_stock::queue::handle_messages(&deps, LambdaEvent::new(event, context(&id)))
                        .await
                        .batch_item_failures
                        .is_empty()
                }
            })
            .await;
            if let Some(q) = &fanout.reconcile_queue {
                settle(q, results, &mut figures, |_, _| {});
            }
            for dc in world.ports.stores().runs.take_reconciled() {
                if let Some(i) = world.dcs.iter().position(|d| *d == dc) {
                    reconciled[i] = Some(now);
                }
            }

            split(&mut phases.reconcile);
            outbox.refresh(&world.wms, &world.fusion, &world.codes);
            people.act(&world, &outbox, &inj).await?;
            split(&mut phases.people);
            outbox.refresh(&world.wms, &world.fusion, &world.codes);
            let truths = DcTruth::read_all(
                &world.codes,
                &world.wms,
                &world.fusion,
                &outbox,
                &world.ports.stores().ledger,
            );
            if minute == 0 || (hourly && matches!(now.hour(), 6 | 18)) {
                baseline.upload(&truths, now, &mut inj);
            }
            let open: Vec<&'static str> = windows
                .iter()
                .filter(|w| w.start <= minute && minute < w.end)
                .map(|w| w.kind.label())
                .collect();
            let cp = measure::checkpoint(
                &world,
                minute,
                &truths,
                &outbox,
                &baseline,
                &mut inj,
                &mut tally,
                &reconciled,
                open,
            );
            split(&mut phases.measure);
            progress(&cp, total);
            checkpoints.push(cp);
        }
        let out_of_wall = minute % 15 == 0 && settings.wall_limit.is_some_and(|l| started.elapsed() >= l);
        if minute >= total || out_of_wall {
            break;
        }
        let hour = ((minute / 60) % 24) as usize;
        inject::activity(&world, &mut rng, hour, STEP_MIN, &mut outbox, &mut inj);
        let before = inj.drifts.len();
        inject::drifts(&world, &mut rng, STEP_MIN, &mut inj);
        measure::mirror_edits(&mut baseline, &inj.drifts[before..]);
        inject::bad_data(&world, &mut rng, STEP_MIN, &mut outbox, &mut inj);
        split(&mut phases.activity);
        minute += STEP_MIN;
    }
    let stores = world.ports.stores();
    figures.alerts = stores.alerts.count() as u64;
    let mut alert_kinds = AlertKinds::new();
    for a in stores.alerts.alerts() {
        let kind = a.subject.split_once(": ").map_or(a.subject.as_str(), |(_, k)| k);
        let mut kind: String = kind.chars().map(|c| if c.is_ascii_digit() { 'N' } else { c }).collect();
        while kind.contains("NN") {
            kind = kind.replace("NN", "N");
        }
        *alert_kinds.entry(kind.trim().to_string()).or_default() += 1;
    }
    figures.tasks = stores.tasks.records().len() as u64;
    figures.incidents = stores.incidents.records().len() as u64;
    let outcome = Outcome {
        settings: settings.clone(),
        checkpoints,
        drifts: inj.drifts,
        bad_data: inj.bad.len(),
        windows,
        events,
        runs: figures,
        people: people.figures,
        uploads: (baseline.uploads.saturating_sub(1), baseline.rows),
        notes: tally.notes,
        wall: started.elapsed(),
        phases,
        minutes: minute,
        alert_kinds,
    };
    world.shutdown().await;
    Ok(outcome)
}

/// Fires a schedule into the fan-out handler.
async fn fire(
    fanout: &fanout_sync::handler::Deps<FifoQueue, InMemoryDcStatus>,
    kind: RunKind,
    now: chrono::DateTime<chrono::Utc>,
) {
    let id = format!("fanout-{}-{}", kind.as_str(), now.timestamp());
    if let Err(e) =
        fanout_sync::handler::handle(fanout, LambdaEvent::new(schedule_event(kind, now), context(&id))).await
    {
        eprintln!("warning: fan-out refused: {e:?}");
    }
}

/// Which of `n` deliveries crash this cycle, and after how many wall-clock milliseconds.
fn crash_plan(
    rng: &mut ChaCha8Rng,
    settings: &Settings,
    n: usize,
    events: &mut Vec<crate::run::Event>,
    minute: i64,
    what: &str,
) -> Vec<(usize, u64)> {
    // Why: crashes are a daily rate over both functions' cycles (24 sync + 96 reconcile).
    let p = (settings.crashes / 120.0).clamp(0.0, 1.0);
    if n == 0 || !rng.random_bool(p) {
        return Vec::new();
    }
    let index = rng.random_range(0..n);
    let ms = rng.random_range(1..=40);
    events.push(Event {
        minute,
        what: format!("{what} crash"),
    });
    vec![(index, ms)]
}

/// Gives returned and crashed messages back for redelivery at the next cycle, counting the
/// dead-lettered ones; `each` sees every message and whether it was done.
fn settle(
    queue: &FifoQueue,
    results: Vec<(Message, Delivery)>,
    figures: &mut RunFigures,
    mut each: impl FnMut(&Message, bool),
) {
    for (m, d) in results {
        each(&m, d == Delivery::Done);
        match d {
            Delivery::Done => {}
            Delivery::Returned | Delivery::Crashed => {
                if d == Delivery::Crashed {
                    figures.crashed += 1;
                } else {
                    figures.returned += 1;
                }
                if !queue.give_back(m) {
                    figures.dead_lettered += 1;
                }
            }
        }
    }
}
