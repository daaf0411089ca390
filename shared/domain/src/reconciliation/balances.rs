//! Both sides' balances of one DC, held compactly so a DC of 100,000 SKUs with lots fits in a
//! small Lambda: every item, subinventory, lot and UOM is stored once and named by a number,
//! and one map holds the WMS and the Fusion quantity of each key side by side.
//!
//! Why not two [`Snapshot`]s: a [`BalanceKey`] is four strings (DC, item, subinventory, lot),
//! each its own allocation, per key and per side, plus a third set for the union of keys when
//! comparing. Here a key is three numbers (the DC is the run's), the union is the map itself,
//! and the strings of a row are moved into the name tables on first sight and dropped after.
//!
//! [`Balances::compare`] answers exactly what [`crate::variance::compare`] answers for the same
//! rows (the tests prove it on random data), variances in key order.

use super::*;
use crate::ids::SubinventoryCode;
use std::collections::HashMap;
use std::hash::Hash;

/// A map keyed by names or numeric keys. Why foldhash: a DC's read hashes each of its
/// 75,000 to 150,000 rows five times (four names and the key), and SipHash was among the
/// largest costs of the read in profiles; foldhash's per-process random seed still keeps
/// crafted keys from colliding on purpose.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The id of a name not seen (a key without a lot, a side that has no UOM for an item).
const NONE: u32 = u32::MAX;

/// A name table: each distinct value once, numbered in order of first sight.
#[derive(Debug)]
struct Names<T> {
    ids: Map<T, u32>,
}

impl<T> Default for Names<T> {
    fn default() -> Self {
        Self { ids: Map::default() }
    }
}

impl<T: Hash + Eq> Names<T> {
    /// The id of `value`, numbering it if new. `value` is kept only when new (moved, never
    /// copied). More than `u32::MAX - 1` names of one kind in one DC cannot be held in memory
    /// anyway; past that every new name would share the last id.
    fn intern(&mut self, value: T) -> u32 {
        let next = u32::try_from(self.ids.len()).unwrap_or(NONE - 1).min(NONE - 1);
        *self.ids.entry(value).or_insert(next)
    }

    fn get(&self, value: &T) -> Option<u32> {
        self.ids.get(value).copied()
    }

    /// Every value by its id.
    fn by_id(&self) -> Vec<Option<&T>> {
        let mut out = vec![None; self.ids.len()];
        for (value, id) in &self.ids {
            if let Some(slot) = out.get_mut(*id as usize) {
                *slot = Some(value);
            }
        }
        out
    }

    fn find(&self, id: u32) -> Option<&T> {
        self.ids.iter().find(|(_, i)| **i == id).map(|(v, _)| v)
    }
}

/// A key of the run's DC: item, subinventory and lot ids ([`NONE`] for no lot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    item: u32,
    sub: u32,
    lot: u32,
}

/// Which side a row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// WMS balances.
    Wms = 0,
    /// Fusion on-hand.
    Fusion = 1,
}

/// Both sides' balances of one DC with the facts an adjustment needs: UOM per item and side,
/// expiration per lot and side, serials only where there are some.
#[derive(Debug)]
pub(super) struct Balances {
    dc: DcCode,
    items: Names<ItemNumber>,
    subs: Names<SubinventoryCode>,
    lots: Names<LotNumber>,
    uoms: Names<Uom>,
    /// `[wms, fusion]` per key present on either side.
    quantities: Map<Key, [Decimal; 2]>,
    /// `[wms, fusion]` UOM id per item id.
    item_uoms: Vec<[u32; 2]>,
    expirations: [Map<(u32, u32), NaiveDate>; 2],
    serials: [Map<Key, BTreeSet<SerialNumber>>; 2],
}

impl Balances {
    /// Empty balances of `dc`.
    pub(super) fn new(dc: DcCode) -> Self {
        Self {
            dc,
            items: Names::default(),
            subs: Names::default(),
            lots: Names::default(),
            uoms: Names::default(),
            quantities: Map::default(),
            item_uoms: Vec::new(),
            expirations: [Map::default(), Map::default()],
            serials: [Map::default(), Map::default()],
        }
    }

    /// Adds one row of `source` (the caller keeps rows of the run's DC only). The first UOM
    /// and expiration a side gives for an item or lot is kept; quantities and serials add up.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &mut self,
        source: Source,
        item: ItemNumber,
        sub: SubinventoryCode,
        lot: Option<LotNumber>,
        quantity: Decimal,
        uom: Uom,
        expiration: Option<NaiveDate>,
        serials: Vec<SerialNumber>,
    ) {
        let side = source as usize;
        let key = Key {
            item: self.items.intern(item),
            sub: self.subs.intern(sub),
            lot: lot.map_or(NONE, |l| self.lots.intern(l)),
        };
        let slot = key.item as usize;
        if self.item_uoms.len() <= slot {
            self.item_uoms.resize(slot + 1, [NONE; 2]);
        }
        if let Some(uoms) = self.item_uoms.get_mut(slot) {
            if uoms[side] == NONE {
                uoms[side] = self.uoms.intern(uom);
            }
        }
        if let (true, Some(exp)) = (key.lot != NONE, expiration) {
            self.expirations[side].entry((key.item, key.lot)).or_insert(exp);
        }
        if !serials.is_empty() {
            self.serials[side].entry(key).or_default().extend(serials);
        }
        self.quantities.entry(key).or_default()[side] += quantity;
    }

    /// Keys present on either side.
    pub(super) fn len(&self) -> usize {
        self.quantities.len()
    }

    /// The compact key of `key`, if every name in it has been seen (on any key).
    fn ids(&self, key: &BalanceKey) -> Option<Key> {
        if key.dc != self.dc {
            return None;
        }
        Some(Key {
            item: self.items.get(&key.item)?,
            sub: self.subs.get(&key.subinventory)?,
            lot: match &key.lot {
                Some(l) => self.lots.get(l)?,
                None => NONE,
            },
        })
    }

    /// The compact key of `key`, if either side has a row at it.
    fn key_of(&self, key: &BalanceKey) -> Option<Key> {
        self.ids(key).filter(|k| self.quantities.contains_key(k))
    }

    /// The comparison [`crate::variance::compare`] makes of the WMS side, the Fusion side and
    /// `in_flight`, skipping `unsettled` keys; variances in key order.
    pub(super) fn compare(
        &self,
        in_flight: &Snapshot,
        unsettled: &BTreeSet<BalanceKey>,
        thresholds: &Thresholds,
    ) -> Comparison {
        // Why by lookup: in-flight and unsettled keys are few (transactions of the last
        // minutes), the balances many; the ones no balance has are compared on their own.
        let mut flying: Map<Key, Decimal> = Map::default();
        let mut flying_only: Vec<(&BalanceKey, Decimal)> = Vec::new();
        for (key, q) in in_flight {
            match self.key_of(key) {
                Some(k) => *flying.entry(k).or_default() += *q,
                None => flying_only.push((key, *q)),
            }
        }
        let skipped: std::collections::HashSet<Key> = unsettled.iter().filter_map(|k| self.key_of(k)).collect();
        let mut out = Comparison::default();
        let mut found: Vec<(Key, [Decimal; 3], Decimal, Tier)> = Vec::new();
        for (key, [w, f]) in &self.quantities {
            if skipped.contains(key) {
                out.unsettled_skipped += 1;
                continue;
            }
            out.keys_compared += 1;
            let i = flying.get(key).copied().unwrap_or_default();
            let v = variance(*w, *f, i);
            match thresholds.classify(v) {
                Tier::Matched => out.matched += 1,
                tier => found.push((*key, [*w, *f, i], v, tier)),
            }
        }
        let items = self.items.by_id();
        let subs = self.subs.by_id();
        let lots = self.lots.by_id();
        for (key, [wms, fusion, in_flight], variance, tier) in found {
            let (Some(Some(item)), Some(Some(sub))) = (items.get(key.item as usize), subs.get(key.sub as usize)) else {
                continue;
            };
            let lot = lots.get(key.lot as usize).copied().flatten().cloned();
            out.variances.push(Variance {
                key: BalanceKey::new(self.dc.clone(), (*item).clone(), (*sub).clone(), lot),
                wms,
                fusion,
                in_flight,
                variance,
                tier,
            });
        }
        for (key, i) in flying_only {
            if unsettled.contains(key) {
                out.unsettled_skipped += 1;
                continue;
            }
            out.keys_compared += 1;
            let v = variance(Decimal::ZERO, Decimal::ZERO, i);
            match thresholds.classify(v) {
                Tier::Matched => out.matched += 1,
                tier => out.variances.push(Variance {
                    key: key.clone(),
                    wms: Decimal::ZERO,
                    fusion: Decimal::ZERO,
                    in_flight: i,
                    variance: v,
                    tier,
                }),
            }
        }
        out.variances.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// The UOM of `item`: the WMS's, Fusion's when the WMS has no row of it.
    fn uom(&self, item: &ItemNumber) -> Option<Uom> {
        let [w, f] = *self.item_uoms.get(self.items.get(item)? as usize)?;
        let id = if w != NONE { w } else { f };
        self.uoms.find(id).cloned()
    }

    /// The unit Fusion keeps `item` in (its on-hand rows' primary UOM), the WMS's when Fusion
    /// has no row of it.
    pub(super) fn fusion_uom(&self, item: &ItemNumber) -> Option<Uom> {
        let [w, f] = *self.item_uoms.get(self.items.get(item)? as usize)?;
        let id = if f != NONE { f } else { w };
        self.uoms.find(id).cloned()
    }

    /// The lot's expiration (at any subinventory): the WMS's, Fusion's when the WMS has none.
    fn expiration(&self, item: &ItemNumber, lot: Option<&LotNumber>) -> Option<NaiveDate> {
        let k = (self.items.get(item)?, self.lots.get(lot?)?);
        self.expirations[Source::Wms as usize]
            .get(&k)
            .or_else(|| self.expirations[Source::Fusion as usize].get(&k))
            .copied()
    }

    fn serials(&self, source: Source, key: Option<Key>) -> BTreeSet<SerialNumber> {
        key.and_then(|k| self.serials[source as usize].get(&k))
            .cloned()
            .unwrap_or_default()
    }
}

/// What the actions read about a key: both sides' balances and the in-flight serials.
pub(super) struct Facts<'a> {
    pub(super) balances: &'a Balances,
    pub(super) in_flight_serials: &'a BTreeMap<BalanceKey, BTreeSet<SerialNumber>>,
}

impl Facts<'_> {
    /// The UOM of `item`: the WMS's, Fusion's when the WMS has no row of it.
    pub(super) fn uom(&self, item: &ItemNumber) -> Option<Uom> {
        self.balances.uom(item)
    }

    /// Expiration and serials at `key`, with `uom`.
    pub(super) fn key_facts(&self, key: &BalanceKey, uom: Uom) -> KeyFacts {
        let k = self.balances.ids(key);
        KeyFacts {
            uom,
            expiration: self.balances.expiration(&key.item, key.lot.as_ref()),
            wms_serials: self.balances.serials(Source::Wms, k),
            fusion_serials: self.balances.serials(Source::Fusion, k),
            in_flight_serials: self.in_flight_serials.get(key).cloned().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
#[path = "balances_tests.rs"]
mod tests;
