//! What happens to the world between cycles: warehouse activity with a daily shape, drift
//! (people editing Fusion, WMS corrections that bypass the outbox) and bad WMS data. Every
//! injected drift and bad transaction is recorded, so the measures know which variances were
//! real and how long each took to be found and fixed.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use sim_seed::Control;
use wms_sim::{DriftRequest, NewLotLine, NewTransaction};

use crate::truth::{Key, Outbox};
use crate::world::World;

/// Where a drift came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Someone edited Fusion directly.
    FusionEdit,
    /// A WMS correction bypassed the outbox.
    WmsCorrection,
}

/// A drift's size band, as the reconciliation's default thresholds tier it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// |delta| < 5: auto-corrected.
    Small,
    /// 5 <= |delta| <= 50: a review task.
    Medium,
    /// |delta| > 50: an alert and a hold.
    Large,
}

impl Tier {
    /// The tier of `delta`.
    pub fn of(delta: Decimal) -> Self {
        let a = delta.abs();
        if a < Decimal::from(5) {
            Tier::Small
        } else if a <= Decimal::from(50) {
            Tier::Medium
        } else {
            Tier::Large
        }
    }

    /// Every tier.
    pub const ALL: [Tier; 3] = [Tier::Small, Tier::Medium, Tier::Large];

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Small => "<5",
            Tier::Medium => "5-50",
            Tier::Large => ">50",
        }
    }
}

/// One injected drift and what became of it.
#[derive(Debug, Clone)]
pub struct Drift {
    /// When it was made (and became visible).
    pub at: DateTime<Utc>,
    /// The key.
    pub key: Key,
    /// The variance it makes, `WMS - Fusion` (a Fusion edit of +3 makes -3).
    pub variance: Decimal,
    /// Where it came from.
    pub source: Source,
    /// Its tier.
    pub tier: Tier,
    /// invsync found it: an adjustment, a task or an incident on its key, or it was gone.
    pub detected: Option<DateTime<Utc>>,
    /// Its key's variance was zero again.
    pub corrected: Option<DateTime<Utc>>,
    /// For the > 50 tier: whether an incident (alert) was open after the first reconciliation
    /// of its DC that ran after it; `None` until that reconciliation.
    pub alerted_in_time: Option<bool>,
    /// The twice-daily upload overwrote it.
    pub baseline_corrected: Option<DateTime<Utc>>,
}

/// A kind of bad WMS data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadKind {
    /// An item Fusion does not know in this organization.
    UnknownItem,
    /// A receipt into a lot that expired before today.
    ExpiredLot,
    /// An issue of a serial Fusion does not have.
    SerialMismatch,
}

/// One bad WMS transaction.
#[derive(Debug, Clone)]
pub struct BadData {
    /// The WMS transaction id.
    pub txn: String,
    /// DC index.
    pub dc: usize,
    /// Item.
    pub item: String,
    /// What is wrong with it.
    pub kind: BadKind,
}

/// Everything injected so far.
#[derive(Debug, Default)]
pub struct Injected {
    /// Drifts, in order.
    pub drifts: Vec<Drift>,
    /// Bad transactions, in order.
    pub bad: Vec<BadData>,
    /// WMS transactions generated.
    pub transactions: u64,
    bad_turn: usize,
}

impl Injected {
    /// Whether `key` carries a drift not corrected yet.
    pub fn open_drift_on(&self, key: &Key) -> bool {
        self.drifts.iter().any(|d| d.corrected.is_none() && &d.key == key)
    }
}

/// A count drawn for an expected `mean`: its whole part, plus one with the fraction's
/// probability.
fn draw(rng: &mut ChaCha8Rng, mean: f64) -> usize {
    crate::faults::count(rng, mean, 1.0)
}

/// Generates `minutes` of activity at every DC for the hour of day `hour`, tracking each
/// transaction in `outbox`.
pub fn activity(
    world: &World,
    rng: &mut ChaCha8Rng,
    hour: usize,
    minutes: i64,
    outbox: &mut Outbox,
    inj: &mut Injected,
) {
    let per_hour = f64::from(world.settings.peak_per_dc) * crate::settings::DAILY_SHAPE[hour % 24];
    for (dc, code) in world.codes.iter().enumerate() {
        let n = draw(rng, per_hour * minutes as f64 / 60.0);
        if n == 0 {
            continue;
        }
        if let Ok(txns) = world.wms.generate_activity(Some(code), n) {
            inj.transactions += txns.len() as u64;
            for t in &txns {
                outbox.add(dc, t);
            }
        }
    }
}

fn size(rng: &mut ChaCha8Rng) -> i64 {
    match rng.random_range(0..100) {
        0..=49 => rng.random_range(1..=4),
        50..=84 => rng.random_range(5..=50),
        _ => rng.random_range(51..=200),
    }
}

/// Draws this step's drifts (each source at `per_day` per DC) and applies them.
pub fn drifts(world: &World, rng: &mut ChaCha8Rng, minutes: i64, inj: &mut Injected) {
    let now = world.now();
    for (dc, code) in world.codes.iter().enumerate() {
        for (source, rate) in [
            (Source::FusionEdit, world.settings.fusion_edits),
            (Source::WmsCorrection, world.settings.wms_corrections),
        ] {
            for _ in 0..draw(rng, rate * minutes as f64 / 1440.0) {
                if let Some(d) = one_drift(world, rng, dc, code, source, now, inj) {
                    inj.drifts.push(d);
                }
            }
        }
    }
}

fn one_drift(
    world: &World,
    rng: &mut ChaCha8Rng,
    dc: usize,
    code: &str,
    source: Source,
    now: DateTime<Utc>,
    inj: &Injected,
) -> Option<Drift> {
    let rows = world.wms.balances(code);
    for _ in 0..20 {
        let row = rows.get(rng.random_range(0..rows.len().max(1)))?;
        let item = world.wms.item(&row.item)?;
        if item.control == Control::Serial || row.quantity <= Decimal::ZERO {
            continue;
        }
        let key = Key {
            dc,
            item: row.item.clone(),
            sub: row.subinventory.clone(),
            lot: row.lot.as_ref().map(|l| l.number.clone()),
        };
        if inj.open_drift_on(&key) {
            continue;
        }
        let magnitude = Decimal::from(size(rng));
        // Why: neither system lets on-hand go below zero; a negative drift needs the stock.
        let on_side = match source {
            Source::FusionEdit => world.fusion.onhand(code, &key.item, &key.sub, key.lot.as_deref()),
            Source::WmsCorrection => row.quantity,
        };
        let negative = rng.random_bool(0.5) && on_side >= magnitude;
        let delta = if negative { -magnitude } else { magnitude };
        let variance = match source {
            Source::FusionEdit => {
                world
                    .fusion
                    .adjust(code, &key.item, &key.sub, key.lot.as_deref(), delta)
                    .ok()?;
                -delta
            }
            Source::WmsCorrection => {
                let req = DriftRequest {
                    dc: code.to_string(),
                    item: key.item.clone(),
                    subinventory: key.sub.clone(),
                    lot: key.lot.clone(),
                    delta: delta.to_string(),
                    expiration: None,
                };
                world.wms.inject_drift(&req).ok()?;
                delta
            }
        };
        return Some(Drift {
            at: now,
            tier: Tier::of(variance),
            key,
            variance,
            source,
            detected: None,
            corrected: None,
            alerted_in_time: None,
            baseline_corrected: None,
        });
    }
    None
}

/// Draws this step's bad WMS data (unknown item, expired lot, serial mismatch in turn) and
/// captures it in the WMS, tracking each transaction in `outbox`.
pub fn bad_data(world: &World, rng: &mut ChaCha8Rng, minutes: i64, outbox: &mut Outbox, inj: &mut Injected) {
    for (dc, code) in world.codes.iter().enumerate() {
        for _ in 0..draw(rng, world.settings.bad_data * minutes as f64 / 1440.0) {
            let kind = [BadKind::UnknownItem, BadKind::ExpiredLot, BadKind::SerialMismatch][inj.bad_turn % 3];
            inj.bad_turn += 1;
            if let Some((txn, item)) = one_bad(world, rng, code, kind) {
                inj.transactions += 1;
                outbox.add(dc, &txn);
                inj.bad.push(BadData {
                    txn: txn.id,
                    dc,
                    item,
                    kind,
                });
            }
        }
    }
}

fn one_bad(world: &World, rng: &mut ChaCha8Rng, code: &str, kind: BadKind) -> Option<(wms_sim::Transaction, String)> {
    let want = match kind {
        BadKind::UnknownItem => Control::Plain,
        BadKind::ExpiredLot => Control::Lot,
        BadKind::SerialMismatch => Control::Serial,
    };
    for _ in 0..50 {
        let item = sim_seed::item(world.settings.seed, rng.random_range(0..world.settings.items));
        if item.control != want {
            continue;
        }
        let mut tx = NewTransaction {
            kind: "misc_receipt".into(),
            item: item.number.clone(),
            subinventory: "STORES".into(),
            quantity: "5".into(),
            uom: item.uom.clone(),
            ..NewTransaction::default()
        };
        match kind {
            BadKind::UnknownItem => world.fusion.unassign_item(code, &item.number),
            BadKind::ExpiredLot => {
                tx.lots = vec![NewLotLine {
                    lot: format!("XP{}", rng.random_range(100_000..999_999)),
                    quantity: "5".into(),
                    expiration: Some(world.settings.start - Duration::days(10)),
                }];
            }
            BadKind::SerialMismatch => {
                // A serial the WMS gained by a correction of its own and issued at once:
                // Fusion never had it, so Fusion refuses the issue.
                let row = world.wms.balances(code).into_iter().find(|r| r.item == item.number)?;
                let drift = world
                    .wms
                    .inject_drift(&DriftRequest {
                        dc: code.to_string(),
                        item: item.number.clone(),
                        subinventory: row.subinventory.clone(),
                        lot: None,
                        delta: "1".into(),
                        expiration: None,
                    })
                    .ok()?;
                tx.kind = "misc_issue".into();
                tx.subinventory = row.subinventory;
                tx.quantity = "-1".into();
                tx.serials = drift.serials_added;
            }
        }
        let captured = world.wms.capture(code, tx).ok()?;
        return Some((captured, item.number));
    }
    None
}
