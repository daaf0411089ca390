//! What is true, read straight from both simulators rather than through invsync: on-hand per
//! balance key on each side, what is in flight between them, and from that each key's
//! variance `WMS - (Fusion + in flight)`, the figure the reconciliation should drive to zero.
//!
//! In flight: WMS transactions still `pending_sync` whose post Fusion has not applied (the
//! simulator's completed transactions are followed by reference), and reconciliation or
//! console adjustments staged in Fusion but not processed. A transaction the WMS marked
//! `sync_failed` is not in flight: it is a discrepancy that a review task explains.

use std::collections::HashMap;

use domain::ledger::SyncState;
use rust_decimal::Decimal;
pub use rustc_hash::{FxHashMap, FxHashSet};
use wms_sim::{Transaction, TxKind, TxStatus};

/// A map by balance key. Why Fx: a checkpoint hashes about 900,000 keys per side at 12 DCs x
/// 50,000 SKUs, and SipHash's resistance to crafted keys buys nothing against our own seed.
pub type KeyMap<V> = FxHashMap<Key, V>;

/// A set of balance keys (see [`KeyMap`]).
pub type KeySet = FxHashSet<Key>;

/// One balance key: DC index, item, subinventory, lot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// DC index (0-based; `DC01` is 0).
    pub dc: usize,
    /// Item number.
    pub item: String,
    /// Subinventory code.
    pub sub: String,
    /// Lot number, for lot-controlled items.
    pub lot: Option<String>,
}

impl Key {
    /// The key as invsync writes it in task and incident keys: `DC01/ITEM/SUB[/LOT]`.
    pub fn text(&self, dc_code: &str) -> String {
        match &self.lot {
            Some(l) => format!("{dc_code}/{}/{}/{l}", self.item, self.sub),
            None => format!("{dc_code}/{}/{}", self.item, self.sub),
        }
    }
}

/// What a WMS transaction changes, per key (transfers on both sides, lots line by line).
pub fn effects(dc: usize, t: &Transaction) -> Vec<(Key, Decimal)> {
    let key = |sub: &str, lot: Option<&str>| Key {
        dc,
        item: t.item.clone(),
        sub: sub.to_string(),
        lot: lot.map(str::to_string),
    };
    let mut out = Vec::new();
    let sign = if t.quantity < Decimal::ZERO {
        -Decimal::ONE
    } else {
        Decimal::ONE
    };
    let lines: Vec<(Option<&str>, Decimal)> = if t.lots.is_empty() {
        vec![(None, t.quantity.abs())]
    } else {
        t.lots
            .iter()
            .map(|l| (Some(l.lot.as_str()), l.quantity.abs()))
            .collect()
    };
    for (lot, q) in lines {
        match (&t.kind, &t.to_subinventory) {
            (TxKind::SubinventoryTransfer, Some(to)) => {
                out.push((key(&t.subinventory, lot), -q));
                out.push((key(to, lot), q));
            }
            _ => out.push((key(&t.subinventory, lot), sign * q)),
        }
    }
    out
}

/// A tracked WMS transaction.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// DC index.
    pub dc: usize,
    /// Its effects.
    pub effects: Vec<(Key, Decimal)>,
    /// Fusion applied it (its reference is among the completed transactions).
    pub landed: bool,
}

/// WMS transactions not yet synced, and those the WMS holds as failed.
#[derive(Debug, Default)]
pub struct Outbox {
    /// `pending_sync` in the WMS, by id.
    pub pending: HashMap<String, Tracked>,
    /// `sync_failed` in the WMS, by id.
    pub failed: HashMap<String, Tracked>,
    completed_seen: usize,
}

impl Outbox {
    /// Tracks a captured transaction.
    pub fn add(&mut self, dc: usize, t: &Transaction) {
        self.pending.insert(
            t.id.clone(),
            Tracked {
                dc,
                effects: effects(dc, t),
                landed: false,
            },
        );
    }

    /// Reads every tracked transaction's WMS status again, and what Fusion applied since the
    /// last call.
    pub fn refresh(&mut self, wms: &wms_sim::RunningWms, fusion: &fusion_sim::RunningSim, dc_codes: &[String]) {
        let (refs, next) = fusion.completed_references_from(self.completed_seen);
        self.completed_seen = next;
        for r in refs {
            if let Some(t) = self.pending.get_mut(&r) {
                t.landed = true;
            }
        }
        let status = |id: &str, dc: usize| wms.transaction(&dc_codes[dc], id).map(|t| t.status);
        let mut moved = Vec::new();
        for (id, t) in &self.pending {
            match status(id, t.dc) {
                Some(TxStatus::PendingSync) => {}
                Some(TxStatus::SyncFailed) => moved.push((id.clone(), true)),
                _ => moved.push((id.clone(), false)),
            }
        }
        for (id, failed) in moved {
            if let Some(t) = self.pending.remove(&id) {
                if failed {
                    self.failed.insert(id, Tracked { landed: false, ..t });
                }
            }
        }
        self.failed
            .retain(|id, t| matches!(status(id, t.dc), Some(TxStatus::SyncFailed | TxStatus::PendingSync)));
    }

    /// Net in flight per key of DC `dc` (code `code`): pending transactions Fusion has not
    /// applied, and failed ones invsync is still working on (the ledger has them pending, in
    /// flight or accepted again, or failed for a reason its next retry may clear).
    pub fn in_flight(&self, dc: usize, code: &str, ledger: &testkit::InMemoryLedger) -> KeyMap<Decimal> {
        let mut out: KeyMap<Decimal> = KeyMap::default();
        let dc_code = domain::DcCode::parse(code).ok();
        let retrying = |id: &str| {
            let Some(row) = dc_code.as_ref().and_then(|d| ledger.row(d, id)) else {
                return false;
            };
            match row.entry.state {
                SyncState::PendingSync | SyncState::InFlight | SyncState::Accepted => true,
                SyncState::SyncFailed => row.entry.failure.as_ref().is_some_and(|f| f.retryable),
                _ => false,
            }
        };
        let pending = self.pending.values().filter(|t| t.dc == dc && !t.landed);
        let failed = self
            .failed
            .iter()
            .filter(|(id, t)| t.dc == dc && retrying(id))
            .map(|(_, t)| t);
        for t in pending.chain(failed) {
            for (k, q) in &t.effects {
                *out.entry(k.clone()).or_default() += *q;
            }
        }
        out
    }

    /// Ids of failed transactions touching `key`, with their ledger state.
    pub fn failed_on(&self, key: &Key, code: &str, ledger: &testkit::InMemoryLedger) -> Vec<String> {
        let dc = domain::DcCode::parse(code).ok();
        self.failed
            .iter()
            .filter(|(_, t)| t.effects.iter().any(|(k, _)| k == key))
            .map(|(id, _)| {
                let state = dc
                    .as_ref()
                    .and_then(|d| ledger.row(d, id))
                    .map(|r| format!("{} {:?}", r.entry.state.as_str(), r.entry.failure.map(|f| f.reason)));
                format!("{id}: {state:?}")
            })
            .collect()
    }
}

/// invsync's own unsettled ledger rows touching `key` (what its reconciliation counts in
/// flight there): id, state and quantity on the key, and the last failure when there is one. Why in the notes: a key the truth calls
/// unexplained may be one that invsync holds for a transaction it still expects to land.
pub fn unsettled_on(key: &Key, code: &str, ledger: &testkit::InMemoryLedger) -> Vec<String> {
    let text = key.text(code);
    ledger
        .rows()
        .into_iter()
        .filter(|r| {
            !matches!(
                r.entry.state,
                SyncState::Synced | SyncState::HandledOutside | SyncState::Baselined
            )
        })
        .filter_map(|r| {
            let q: Decimal = r
                .txn
                .net_effects()
                .into_iter()
                .filter(|(k, _)| domain::ports::BalanceKeyText::from(k).as_str() == text)
                .map(|(_, q)| q)
                .sum();
            (!q.is_zero()).then(|| match &r.entry.failure {
                Some(f) => format!("{} {} {q} ({})", r.txn.id(), r.entry.state.as_str(), f.reason),
                None => format!("{} {} {q}", r.txn.id(), r.entry.state.as_str()),
            })
        })
        .collect()
}

/// One DC's on-hand on both sides and in flight, and the variance per key.
#[derive(Debug, Default)]
pub struct DcTruth {
    /// WMS on-hand per key.
    pub wms: KeyMap<Decimal>,
    /// Fusion on-hand per key.
    pub fusion: KeyMap<Decimal>,
    /// In flight per key.
    pub in_flight: KeyMap<Decimal>,
    /// Every key either side or in flight knows with a non-zero variance
    /// `WMS - (Fusion + in flight)`, and that variance.
    pub variances: KeyMap<Decimal>,
    /// Keys with stock on either side.
    pub keys: usize,
}

impl DcTruth {
    /// Reads DC `dc` (code `code`) from both simulators.
    pub fn read(
        dc: usize,
        code: &str,
        wms: &wms_sim::RunningWms,
        fusion: &fusion_sim::RunningSim,
        outbox: &Outbox,
        ledger: &testkit::InMemoryLedger,
    ) -> Self {
        let mut t = Self::default();
        for r in wms.balances(code) {
            if r.quantity.is_zero() {
                continue;
            }
            let k = Key {
                dc,
                item: r.item,
                sub: r.subinventory,
                lot: r.lot.map(|l| l.number),
            };
            *t.wms.entry(k).or_default() += r.quantity;
        }
        for (item, sub, lot, q) in fusion.onhand_rows(code) {
            *t.fusion.entry(Key { dc, item, sub, lot }).or_default() += q;
        }
        t.in_flight = outbox.in_flight(dc, code, ledger);
        for p in fusion.pending_staged() {
            if p.org != code
                || !p
                    .references
                    .iter()
                    .any(|r| r.starts_with(domain::reconciliation::ADJUSTMENT_ID_PREFIX))
            {
                continue;
            }
            let sign = if p.quantity < Decimal::ZERO {
                -Decimal::ONE
            } else {
                Decimal::ONE
            };
            let lines: Vec<(Option<String>, Decimal)> = if p.lots.is_empty() {
                vec![(None, p.quantity)]
            } else {
                p.lots.into_iter().map(|(l, q)| (Some(l), sign * q.abs())).collect()
            };
            for (lot, q) in lines {
                let k = Key {
                    dc,
                    item: p.item.clone(),
                    sub: p.subinventory.clone(),
                    lot,
                };
                *t.in_flight.entry(k).or_default() += q;
            }
        }
        t.tally();
        t
    }

    /// Fills [`Self::variances`] and [`Self::keys`], on the DC's own thread: each side's keys
    /// are looked up in the others, with no set of every key.
    fn tally(&mut self) {
        let mut variances = KeyMap::default();
        let mut add = |k: &Key| {
            let v = self.variance(k);
            if !v.is_zero() {
                variances.insert(k.clone(), v);
            }
        };
        let mut fusion_only = 0;
        self.wms.keys().for_each(&mut add);
        for k in self.fusion.keys().filter(|k| !self.wms.contains_key(*k)) {
            fusion_only += 1;
            add(k);
        }
        self.in_flight
            .keys()
            .filter(|k| !self.wms.contains_key(*k) && !self.fusion.contains_key(*k))
            .for_each(add);
        self.variances = variances;
        self.keys = self.wms.len() + fusion_only;
    }

    /// [`Self::read`] for every DC (codes in DC order), the DCs on threads of their own: a
    /// checkpoint reads about 900,000 keys per side at 12 DCs x 50,000 SKUs.
    pub fn read_all(
        codes: &[String],
        wms: &wms_sim::RunningWms,
        fusion: &fusion_sim::RunningSim,
        outbox: &Outbox,
        ledger: &testkit::InMemoryLedger,
    ) -> Vec<Self> {
        std::thread::scope(|s| {
            let handles: Vec<_> = codes
                .iter()
                .enumerate()
                .map(|(i, code)| s.spawn(move || Self::read(i, code, wms, fusion, outbox, ledger)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        })
    }

    /// The variance of one key.
    pub fn variance(&self, k: &Key) -> Decimal {
        self.get(&self.wms, k) - self.get(&self.fusion, k) - self.get(&self.in_flight, k)
    }

    fn get(&self, m: &KeyMap<Decimal>, k: &Key) -> Decimal {
        m.get(k).copied().unwrap_or_default()
    }
}
