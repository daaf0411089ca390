//! The measures at every 15-minute checkpoint, for invsync and for the twice-daily upload
//! it replaced, and the fate of every injected drift.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use domain::ports::TaskKey;
use rust_decimal::Decimal;

use crate::inject::{Injected, Source, Tier};
use crate::people::parse_key;
use crate::truth::{DcTruth, FxHashSet, Key, KeyMap, KeySet, Outbox};
use crate::world::World;

/// Figures of one side at one checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Side {
    /// Keys where Fusion disagrees with the WMS beyond what is in flight.
    pub discrepant: usize,
    /// Of those, keys without an open task or incident.
    pub unexplained: usize,
    /// Keys where Fusion shows more than the WMS after what is in flight.
    pub phantom: usize,
    /// Of those, keys without an open task or incident.
    pub phantom_unexplained: usize,
}

/// One 15-minute checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Minutes since the start.
    pub minute: i64,
    /// Simulated time.
    pub at: DateTime<Utc>,
    /// Keys with stock on either side.
    pub keys: usize,
    /// invsync.
    pub invsync: Side,
    /// The twice-daily upload.
    pub baseline: Side,
    /// Keys whose unexplained variance was injected since the last successful reconciliation
    /// of their DC (not yet visible to invsync).
    pub awaiting_reconcile: usize,
    /// Phantom keys without an open task or incident and not awaiting a reconciliation:
    /// Fusion showing stock the WMS does not have outside the in-flight window.
    pub phantom_outside_window: usize,
    /// Incidents (alerts) opened so far for variances that were not real (|variance| <= 50).
    pub false_alerts: u64,
    /// Review tasks opened so far for keys without a variance.
    pub false_tasks: u64,
    /// > 50 drifts not alerted by the first reconciliation after them, so far.
    pub missed_alerts: u64,
    /// WMS transactions generated so far.
    pub transactions: u64,
    /// Staged transactions posted to Fusion so far.
    pub posted: u64,
    /// Fusion API requests so far.
    pub fusion_requests: u64,
    /// Fault windows open at this checkpoint.
    pub faults: Vec<&'static str>,
}

impl Side {
    /// Discrepant share of `keys`.
    pub fn share(&self, keys: usize) -> f64 {
        self.discrepant as f64 / keys.max(1) as f64
    }
    /// Unexplained share of `keys`.
    pub fn unexplained_share(&self, keys: usize) -> f64 {
        self.unexplained as f64 / keys.max(1) as f64
    }
}

/// The twice-daily absolute upload: Fusion as the last upload left it, plus direct edits.
#[derive(Debug, Default)]
pub struct Baseline {
    /// Fusion's on-hand per key under the upload, one map per DC.
    fusion: Vec<KeyMap<Decimal>>,
    /// Uploads done.
    pub uploads: u64,
    /// Rows uploaded.
    pub rows: u64,
}

impl Baseline {
    /// Uploads the WMS's on-hand as absolute balances (the FBDI file).
    pub fn upload(&mut self, truths: &[DcTruth], now: DateTime<Utc>, inj: &mut Injected) {
        self.fusion = truths.iter().map(|t| t.wms.clone()).collect();
        self.uploads += 1;
        self.rows += self.fusion.iter().map(|m| m.len() as u64).sum::<u64>();
        for d in inj.drifts.iter_mut().filter(|d| d.baseline_corrected.is_none()) {
            d.baseline_corrected = Some(now);
        }
    }

    /// Applies a direct Fusion edit.
    pub fn edit(&mut self, key: &Key, delta: Decimal) {
        if self.fusion.len() <= key.dc {
            self.fusion.resize_with(key.dc + 1, KeyMap::default);
        }
        *self.fusion[key.dc].entry(key.clone()).or_default() += delta;
    }

    /// The upload's side of a checkpoint, each DC on a thread of its own (about 900,000 keys
    /// at 12 DCs x 50,000 SKUs).
    fn side(&self, truths: &[DcTruth]) -> Side {
        let empty = KeyMap::default();
        let per_dc: Vec<Side> = std::thread::scope(|s| {
            let handles: Vec<_> = truths
                .iter()
                .enumerate()
                .map(|(dc, t)| {
                    let fusion = self.fusion.get(dc).unwrap_or(&empty);
                    s.spawn(move || side_of(fusion, &t.wms))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        let mut s = Side::default();
        for d in per_dc {
            s.discrepant += d.discrepant;
            s.phantom += d.phantom;
        }
        s.unexplained = s.discrepant;
        s.phantom_unexplained = s.phantom;
        s
    }
}

/// Discrepant and phantom keys of one DC whose Fusion is `fusion` and WMS `wms`.
fn side_of(fusion: &KeyMap<Decimal>, wms: &KeyMap<Decimal>) -> Side {
    let mut s = Side::default();
    for (k, w) in wms {
        let f = fusion.get(k).copied().unwrap_or_default();
        s.discrepant += usize::from(f != *w);
        s.phantom += usize::from(f > *w);
    }
    for (k, f) in fusion {
        if !f.is_zero() && !wms.contains_key(k) {
            s.discrepant += 1;
            s.phantom += usize::from(*f > Decimal::ZERO);
        }
    }
    s
}

/// Running counters the checkpoints accumulate.
#[derive(Debug, Default)]
pub struct Tally {
    /// See [`Checkpoint::false_alerts`].
    pub false_alerts: u64,
    /// See [`Checkpoint::false_tasks`].
    pub false_tasks: u64,
    /// See [`Checkpoint::missed_alerts`].
    pub missed_alerts: u64,
    /// Lines describing each false alert or missed alert, for the report.
    pub notes: Vec<String>,
    incidents_seen: HashSet<String>,
    unexplained_notes: usize,
    tasks_seen: HashSet<(String, DateTime<Utc>)>,
}

/// Unexplained variances described in the notes, at most.
const UNEXPLAINED_NOTES: usize = 40;

/// Keys with an open task (their balance key, or a failed transaction touching them: a WMS
/// transaction or one of invsync's own adjustments) or an open incident.
pub fn explained(world: &World, outbox: &Outbox) -> KeySet {
    let stores = world.ports.stores();
    let mut out = KeySet::default();
    for rec in stores.tasks.records().into_iter().filter(|r| r.is_open()) {
        match &rec.task.key {
            TaskKey::Balance(b) => out.extend(parse_key(world, b.as_str())),
            TaskKey::Txn(id) => {
                if let Some(t) = outbox.failed.get(id).or_else(|| outbox.pending.get(id)) {
                    out.extend(t.effects.iter().map(|(k, _)| k.clone()));
                } else if let Some(row) = stores.ledger.row(&rec.task.dc, id.as_str()) {
                    // An adjustment (the reconciliation's or the console's) is in no outbox;
                    // its task is about the keys it moves.
                    out.extend(
                        row.txn
                            .net_effects()
                            .into_iter()
                            .filter_map(|(k, _)| parse_key(world, domain::ports::BalanceKeyText::from(&k).as_str())),
                    );
                }
            }
            TaskKey::Systemic(_) => {}
        }
    }
    for (incident, closed) in stores.incidents.records() {
        if closed.is_none() {
            out.extend(parse_key(world, incident.key.as_str()));
        }
    }
    out
}

/// Measures one checkpoint. `reconciled[dc]` is when DC `dc` last reconciled successfully.
#[allow(clippy::too_many_arguments)]
pub fn checkpoint(
    world: &World,
    minute: i64,
    truths: &[DcTruth],
    outbox: &Outbox,
    baseline: &Baseline,
    inj: &mut Injected,
    tally: &mut Tally,
    reconciled: &[Option<DateTime<Utc>>],
    faults: Vec<&'static str>,
) -> Checkpoint {
    let now = world.now();
    let explained = explained(world, outbox);
    let mut side = Side::default();
    let mut awaiting = 0;
    let mut phantom_outside_window = 0;
    let variances: Vec<&KeyMap<Decimal>> = truths.iter().map(|t| &t.variances).collect();
    let pending_drift: FxHashSet<&Key> = inj
        .drifts
        .iter()
        .filter(|d| d.corrected.is_none() && reconciled[d.key.dc].is_none_or(|r| r < d.at))
        .map(|d| &d.key)
        .collect();
    for v in &variances {
        for (k, q) in *v {
            side.discrepant += 1;
            let phantom = *q < Decimal::ZERO;
            side.phantom += usize::from(phantom);
            if !explained.contains(k) {
                if tally.unexplained_notes < UNEXPLAINED_NOTES && !pending_drift.contains(k) {
                    tally.unexplained_notes += 1;
                    let t = &truths[k.dc];
                    let get = |m: &KeyMap<Decimal>| m.get(k).copied().unwrap_or_default();
                    tally.notes.push(format!(
                        "{now}: unexplained variance {q} on {} (WMS {}, Fusion {}, in flight {}; failed transactions {:?}; invsync's unsettled rows {:?})",
                        k.text(&world.codes[k.dc]),
                        get(&t.wms),
                        get(&t.fusion),
                        get(&t.in_flight),
                        outbox.failed_on(k, &world.codes[k.dc], &world.ports.stores().ledger),
                        crate::truth::unsettled_on(k, &world.codes[k.dc], &world.ports.stores().ledger)
                    ));
                }
                side.unexplained += 1;
                side.phantom_unexplained += usize::from(phantom);
                awaiting += usize::from(pending_drift.contains(k));
                phantom_outside_window += usize::from(phantom && !pending_drift.contains(k));
            }
        }
    }
    let variance_of = |k: &Key| variances[k.dc].get(k).copied().unwrap_or_default();
    for d in inj.drifts.iter_mut().filter(|d| d.corrected.is_none()) {
        let v = variance_of(&d.key);
        if d.detected.is_none() && (explained.contains(&d.key) || v.is_zero()) {
            d.detected = Some(now);
        }
        if v.is_zero() {
            d.corrected = Some(now);
        }
    }
    for d in inj
        .drifts
        .iter_mut()
        .filter(|d| d.tier == Tier::Large && d.alerted_in_time.is_none())
    {
        if reconciled[d.key.dc].is_some_and(|r| r >= d.at) {
            let ok = d.detected.is_some();
            d.alerted_in_time = Some(ok);
            if !ok {
                tally.missed_alerts += 1;
                tally.notes.push(format!(
                    "{now}: missed alert for {:?} drift {} at {:?}",
                    d.source, d.variance, d.key
                ));
            }
        }
    }
    let stores = world.ports.stores();
    for (incident, _) in stores.incidents.records() {
        if !tally.incidents_seen.insert(incident.id.to_string()) {
            continue;
        }
        let real = parse_key(world, incident.key.as_str()).map(|k| variance_of(&k));
        if real.is_none_or(|v| v.abs() <= Decimal::from(50)) {
            tally.false_alerts += 1;
            tally.notes.push(format!(
                "{now}: false alert {} on {} (true variance {real:?})",
                incident.id,
                incident.key.as_str()
            ));
        }
    }
    for rec in stores.tasks.records() {
        let TaskKey::Balance(b) = &rec.task.key else { continue };
        if !tally.tasks_seen.insert((b.as_str().to_string(), rec.opened_at)) {
            continue;
        }
        // Why: a bad transaction's key can carry a variance invsync sees and the truth does
        // not (the serial-mismatch case is a silent WMS correction and a failed issue of it).
        let bad = |k: &Key| inj.bad.iter().any(|b| b.dc == k.dc && b.item == k.item);
        if rec.opened_at == now && parse_key(world, b.as_str()).is_some_and(|k| variance_of(&k).is_zero() && !bad(&k)) {
            tally.false_tasks += 1;
            let t = parse_key(world, b.as_str()).map(|k| {
                let t = &truths[k.dc];
                let get = |m: &KeyMap<Decimal>| m.get(&k).copied().unwrap_or_default();
                (get(&t.wms), get(&t.fusion), get(&t.in_flight))
            });
            tally.notes.push(format!(
                "{now}: review task on {} without a variance (WMS, Fusion, in flight: {t:?}; task: {})",
                b.as_str(),
                rec.task.detail
            ));
        }
    }
    let stats = world.fusion.stats();
    let requests = stats
        .iter()
        .filter(|(k, _)| {
            let mut p = k.split(' ');
            matches!(p.next(), Some("GET" | "POST" | "PATCH" | "PUT" | "DELETE"))
                && p.next().is_some()
                && p.next().is_none()
        })
        .map(|(_, n)| n)
        .sum();
    Checkpoint {
        minute,
        at: now,
        keys: truths.iter().map(|t| t.keys).sum(),
        invsync: side,
        baseline: baseline.side(truths),
        awaiting_reconcile: awaiting,
        phantom_outside_window,
        false_alerts: tally.false_alerts,
        false_tasks: tally.false_tasks,
        missed_alerts: tally.missed_alerts,
        transactions: inj.transactions,
        posted: world.fusion.request_count("POST inventoryStagedTransactions"),
        fusion_requests: requests,
        faults,
    }
}

/// Applies the Fusion edits among `drifts` to the baseline too (the same people edit the
/// same Fusion either way).
pub fn mirror_edits(baseline: &mut Baseline, drifts: &[crate::inject::Drift]) {
    for d in drifts.iter().filter(|d| d.source == Source::FusionEdit) {
        baseline.edit(&d.key, -d.variance);
    }
}
