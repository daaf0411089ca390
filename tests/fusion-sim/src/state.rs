//! In-memory Fusion inventory state: the item master, and per organization the on-hand
//! balances (item x subinventory, with lots and serials), the lot master, and Fenwick indexes
//! that make offset paging O(log n + page).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sim_seed::{Catalog, Control, Unit, SUBINVENTORIES};

/// Number of subinventories every organization has.
pub const SUBS: usize = SUBINVENTORIES.len();

/// Index of a subinventory code (exact, as Fusion codes are upper case).
pub fn sub_index(code: &str) -> Option<usize> {
    SUBINVENTORIES.iter().position(|s| *s == code)
}

/// One item of the item master.
#[derive(Debug, Clone)]
pub struct ItemDef {
    /// InventoryItemId.
    pub id: i64,
    /// ItemNumber.
    pub number: String,
    /// Lot / serial control.
    pub control: Control,
    /// Primary UOM code.
    pub uom: String,
    /// Decimal places allowed.
    pub scale: u32,
}

/// The item master shared by all organizations.
#[derive(Debug, Clone, Default)]
pub struct Master {
    /// Items in InventoryItemId order.
    pub items: Vec<ItemDef>,
    /// ItemNumber -> index.
    pub by_number: HashMap<String, u32>,
    /// Units of measure, spelled as the seed's `UomStyle` has them (compared exactly: Fusion
    /// stores UOM codes as entered, fact sheet §5).
    pub units: Vec<Unit>,
}

/// On-hand of one item in one subinventory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bal {
    /// Total quantity (sum of lots for lot items; serial count for serial items).
    pub qty: Decimal,
    /// Lot number -> quantity (lot items only; no zero entries).
    pub lots: BTreeMap<String, Decimal>,
    /// Serial numbers on hand (serial items only).
    pub serials: BTreeSet<String>,
}

impl Bal {
    fn is_empty(&self) -> bool {
        self.qty.is_zero() && self.lots.is_empty() && self.serials.is_empty()
    }
}

/// Fenwick tree of per-item row counts.
#[derive(Debug, Clone, Default)]
pub struct Fenwick {
    tree: Vec<u32>,
}

impl Fenwick {
    fn build(counts: &[u32]) -> Self {
        let mut tree = vec![0u32; counts.len() + 1];
        for (i, c) in counts.iter().enumerate() {
            let mut j = i + 1;
            tree[j] += c;
            let parent = j + (j & j.wrapping_neg());
            if parent < tree.len() {
                let v = tree[j];
                j = parent;
                tree[j] += v;
            }
        }
        Self { tree }
    }

    fn add(&mut self, i: usize, delta: i64) {
        let mut j = i + 1;
        while j < self.tree.len() {
            self.tree[j] = (i64::from(self.tree[j]) + delta).max(0) as u32;
            j += j & j.wrapping_neg();
        }
    }

    fn prefix(&self, end: usize) -> usize {
        let mut j = end.min(self.tree.len().saturating_sub(1));
        let mut s = 0usize;
        while j > 0 {
            s += self.tree[j] as usize;
            j -= j & j.wrapping_neg();
        }
        s
    }

    fn total(&self) -> usize {
        self.prefix(self.tree.len().saturating_sub(1))
    }

    /// Item holding the k-th (0-based) row and the number of rows before that item.
    fn locate(&self, k: usize) -> (usize, usize) {
        let n = self.tree.len().saturating_sub(1);
        let mut pos = 0usize;
        let mut rem = k;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && (self.tree[next] as usize) <= rem {
                pos = next;
                rem -= self.tree[next] as usize;
            }
            step >>= 1;
        }
        (pos, k - rem)
    }
}

/// State of one inventory organization.
#[derive(Debug, Clone)]
pub struct OrgState {
    /// OrganizationId.
    pub id: i64,
    /// OrganizationCode.
    pub code: String,
    /// Balances by item index then subinventory index.
    pub rows: Vec<[Option<Box<Bal>>; SUBS]>,
    /// Lot master: (item index, lot number) -> expiration date.
    pub lots: BTreeMap<(u32, String), NaiveDate>,
    /// Items of the master not assigned to this organization.
    pub unassigned: HashSet<u32>,
    fen_all: Fenwick,
    fen_sub: [Fenwick; SUBS],
}

/// One on-hand row reference for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef {
    /// Item index.
    pub item: usize,
    /// Subinventory index.
    pub sub: usize,
}

impl OrgState {
    fn exists(&self, item: usize, sub: usize) -> bool {
        self.rows
            .get(item)
            .and_then(|r| r[sub].as_ref())
            .is_some_and(|b| !b.is_empty())
    }

    /// Balance of one item/subinventory, if any.
    pub fn bal(&self, item: usize, sub: usize) -> Option<&Bal> {
        self.rows.get(item).and_then(|r| r[sub].as_deref())
    }

    /// Mutates one balance, keeping the row indexes right (empty balances disappear, as
    /// Fusion shows no zero on-hand rows).
    pub fn with_bal<R>(&mut self, item: usize, sub: usize, f: impl FnOnce(&mut Bal) -> R) -> R {
        let before = self.exists(item, sub);
        let slot = &mut self.rows[item][sub];
        let bal = slot.get_or_insert_with(Box::default);
        let out = f(bal);
        bal.lots.retain(|_, q| !q.is_zero());
        if bal.is_empty() {
            *slot = None;
        }
        let after = self.exists(item, sub);
        if before != after {
            let d = if after { 1 } else { -1 };
            self.fen_all.add(item, d);
            self.fen_sub[sub].add(item, d);
        }
        out
    }

    /// Number of on-hand rows, optionally of one subinventory.
    pub fn row_count(&self, sub: Option<usize>) -> usize {
        match sub {
            Some(s) => self.fen_sub[s].total(),
            None => self.fen_all.total(),
        }
    }

    /// Up to `limit` rows starting at row `offset` (ordered by item, then subinventory),
    /// optionally only of one subinventory.
    pub fn page(&self, sub: Option<usize>, offset: usize, limit: usize) -> Vec<RowRef> {
        let mut out = Vec::with_capacity(limit.min(1024));
        if offset >= self.row_count(sub) {
            return out;
        }
        let fen = match sub {
            Some(s) => &self.fen_sub[s],
            None => &self.fen_all,
        };
        let (mut item, before) = fen.locate(offset);
        let mut skip = offset - before;
        while item < self.rows.len() && out.len() < limit {
            for s in 0..SUBS {
                if sub.is_some_and(|w| w != s) || !self.exists(item, s) {
                    continue;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                if out.len() < limit {
                    out.push(RowRef { item, sub: s });
                }
            }
            item += 1;
        }
        out
    }

    fn rebuild_index(&mut self) {
        let n = self.rows.len();
        let mut all = vec![0u32; n];
        let mut per: [Vec<u32>; SUBS] = std::array::from_fn(|_| vec![0u32; n]);
        for (i, c) in all.iter_mut().enumerate() {
            for (s, p) in per.iter_mut().enumerate() {
                if self.exists(i, s) {
                    *c += 1;
                    p[i] = 1;
                }
            }
        }
        self.fen_all = Fenwick::build(&all);
        self.fen_sub = std::array::from_fn(|s| Fenwick::build(&per[s]));
    }

    /// Adds an empty row slot for a newly created item.
    pub fn grow(&mut self, items: usize) {
        while self.rows.len() < items {
            self.rows.push(Default::default());
        }
        self.rebuild_index();
    }
}

/// Builds the master and organizations from a seed catalog.
pub fn seed(catalog: &Catalog) -> (Master, Vec<OrgState>) {
    let items: Vec<ItemDef> = catalog
        .items
        .iter()
        .map(|i| ItemDef {
            id: i.id,
            number: i.number.clone(),
            control: i.control,
            uom: i.uom.clone(),
            scale: i.scale,
        })
        .collect();
    let by_number = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.number.clone(), i as u32))
        .collect();
    let n = items.len();
    let build = |oi: usize| {
        let o = &catalog.orgs[oi];
        let mut org = OrgState {
            id: o.id,
            code: o.code.clone(),
            rows: (0..n).map(|_| Default::default()).collect(),
            lots: BTreeMap::new(),
            unassigned: HashSet::new(),
            fen_all: Fenwick::default(),
            fen_sub: Default::default(),
        };
        let from = catalog.balances.partition_point(|b| b.org < oi);
        let to = catalog.balances.partition_point(|b| b.org <= oi);
        for b in &catalog.balances[from..to] {
            let Some(sub) = sub_index(&b.subinventory) else {
                continue;
            };
            if b.quantity.is_zero() || b.item >= n {
                continue;
            }
            let bal = org.rows[b.item][sub].get_or_insert_with(Box::default);
            bal.qty += b.quantity;
            if let Some(lot) = &b.lot {
                *bal.lots.entry(lot.number.clone()).or_default() += b.quantity;
                org.lots.insert((b.item as u32, lot.number.clone()), lot.expiration);
            }
            bal.serials.extend(b.serials.iter().cloned());
        }
        org.rebuild_index();
        org
    };
    // Balances are grouped by org (sim-seed's contract), so orgs are built in parallel.
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mut slots: Vec<Option<OrgState>> = (0..catalog.orgs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        for (t, chunk) in slots
            .chunks_mut(catalog.orgs.len().div_ceil(threads).max(1))
            .enumerate()
        {
            let build = &build;
            let first = t * catalog.orgs.len().div_ceil(threads).max(1);
            scope.spawn(move || {
                for (k, slot) in chunk.iter_mut().enumerate() {
                    *slot = Some(build(first + k));
                }
            });
        }
    });
    let orgs: Vec<OrgState> = slots.into_iter().flatten().collect();
    let master = Master {
        items,
        by_number,
        units: catalog.units.clone(),
    };
    (master, orgs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fenwick_locates_rows_and_pages_match_a_scan() {
        let cat = sim_seed::generate(&sim_seed::SeedConfig {
            dcs: 1,
            items: 300,
            ..Default::default()
        });
        let (_, mut orgs) = seed(&cat);
        let org = &mut orgs[0];
        org.with_bal(5, 3, |b| b.qty = Decimal::ONE);
        org.with_bal(7, 0, |b| b.qty = Decimal::ZERO);
        let all: Vec<RowRef> = (0..org.rows.len())
            .flat_map(|i| (0..SUBS).map(move |s| RowRef { item: i, sub: s }))
            .filter(|r| org.exists(r.item, r.sub))
            .collect();
        assert_eq!(org.row_count(None), all.len());
        for off in [0, 1, 13, 100, all.len() - 1] {
            assert_eq!(org.page(None, off, 17), all[off..(off + 17).min(all.len())]);
        }
        let picks: Vec<RowRef> = all.iter().copied().filter(|r| r.sub == 1).collect();
        assert_eq!(org.page(Some(1), 3, 5), picks[3..8]);
    }
}
