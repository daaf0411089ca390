//! Fusion's interface as the reconciliation's third in-flight source.
//!
//! Rows staged in `inventoryStagedTransactions` and not yet processed are missing from Fusion
//! on-hand, yet the WMS already counts them. Without this source every reconciliation that runs
//! before Fusion's processing job would raise false variances (architecture.md, in-flight).
//! The interface is read twice, around the on-hand read, like the ledger:
//!
//! - an `accepted` ledger row counts as in flight only while its lines are in the interface:
//!   once they left it, Fusion processed them and on-hand already has them (the ledger row is
//!   confirmed later);
//! - a staged row of ours whose transaction the ledger does not track as unsettled (for
//!   example a row a previous version marked synced too early) is netted from its own lines;
//! - a row that appeared or vanished between the two reads makes its keys unsettled (skipped
//!   this run);
//! - a pending row another system or a person staged makes its keys unsettled: the WMS never
//!   saw it, so it can be neither netted nor corrected.

use crate::ids::{DcCode, SerialNumber, WmsTxnId};
use crate::ledger::SyncState;
use crate::ports::{StagedLine, StagedStatus};
use crate::reconciliation::Tracked;
use crate::variance::{BalanceKey, Snapshot};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// What the interface adds to one reconciliation's in-flight picture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedEffect {
    /// Net change per key of our staged rows that the ledger does not carry.
    pub in_flight: Snapshot,
    /// Serials those rows move, per key.
    pub serials: BTreeMap<BalanceKey, BTreeSet<SerialNumber>>,
    /// Keys to skip this run.
    pub unsettled: BTreeSet<BalanceKey>,
    /// Interface rows netted into `in_flight`.
    pub rows_netted: u64,
    /// Interface rows staged by others (their keys skipped).
    pub foreign_rows: u64,
}

/// Applies the two interface reads to the two ledger reads (see the module docs): drops
/// `accepted` rows Fusion has processed from `before` and `after`, and returns what the
/// interface adds.
pub fn account_staged(
    dc: &DcCode,
    before: &mut BTreeMap<WmsTxnId, Tracked>,
    after: &mut BTreeMap<WmsTxnId, Tracked>,
    first: &[StagedLine],
    second: &[StagedLine],
) -> StagedEffect {
    let mut out = StagedEffect::default();
    let ours = |lines: &[StagedLine]| -> BTreeSet<WmsTxnId> {
        lines
            .iter()
            .filter_map(|l| l.source.as_ref().map(|s| s.txn.clone()))
            .collect()
    };
    let (in_first, in_second) = (ours(first), ours(second));
    for map in [&mut *before, &mut *after] {
        map.retain(|id, t| {
            let accepted = matches!(t.state, Some((SyncState::Accepted, _)));
            !accepted || in_first.contains(id) || in_second.contains(id)
        });
    }
    for (id, t) in before.iter().chain(after.iter()) {
        if matches!(t.state, Some((SyncState::Accepted, _))) && (in_first.contains(id) != in_second.contains(id)) {
            out.unsettled.extend(t.txn.net_effects().into_iter().map(|(k, _)| k));
        }
    }
    let tracked = |id: &WmsTxnId| before.contains_key(id) || after.contains_key(id);
    let index = |lines: &[StagedLine]| -> BTreeMap<i64, StagedLine> {
        lines.iter().map(|l| (l.interface_id, l.clone())).collect()
    };
    let (a, b) = (index(first), index(second));
    for (id, line) in a.iter().chain(b.iter().filter(|(id, _)| !a.contains_key(id))) {
        match &line.source {
            Some(source) if tracked(&source.txn) => {}
            Some(_) => {
                let same = a.get(id).zip(b.get(id)).is_some_and(|(x, y)| x.status == y.status);
                if same {
                    out.rows_netted += 1;
                    for (key, q) in effects(dc, line) {
                        if !line.serials.is_empty() {
                            out.serials
                                .entry(key.clone())
                                .or_default()
                                .extend(line.serials.iter().cloned());
                        }
                        *out.in_flight.entry(key).or_default() += q;
                    }
                } else {
                    out.unsettled.extend(effects(dc, line).into_iter().map(|(k, _)| k));
                }
            }
            None if line.status == StagedStatus::Pending => {
                out.foreign_rows += 1;
                out.unsettled.extend(effects(dc, line).into_iter().map(|(k, _)| k));
            }
            None => {}
        }
    }
    out
}

/// The on-hand change a staged row makes per key once processed: a transfer moves its
/// quantity out of `subinventory` into the destination; lots split it per lot.
pub fn effects(dc: &DcCode, line: &StagedLine) -> Vec<(BalanceKey, Decimal)> {
    let mut sides = vec![(line.subinventory.clone(), Decimal::ONE)];
    let mut sign = if line.quantity.is_sign_negative() {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    };
    if let Some(to) = &line.transfer_subinventory {
        sides = vec![
            (line.subinventory.clone(), Decimal::NEGATIVE_ONE),
            (to.clone(), Decimal::ONE),
        ];
        sign = Decimal::ONE;
    }
    let mut out = Vec::new();
    for (sub, side) in sides {
        if line.lots.is_empty() {
            let key = BalanceKey::new(dc.clone(), line.item.clone(), sub.clone(), None);
            out.push((key, line.quantity.abs() * sign * side));
        } else {
            for (lot, q) in &line.lots {
                let key = BalanceKey::new(dc.clone(), line.item.clone(), sub.clone(), Some(lot.clone()));
                out.push((key, q.abs() * sign * side));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ItemNumber, SubinventoryCode};
    use crate::txn::SourceRef;

    fn dc() -> DcCode {
        DcCode::parse("DC01").unwrap()
    }

    fn line(id: i64, txn: Option<&str>, qty: i64, status: StagedStatus) -> StagedLine {
        StagedLine {
            interface_id: id,
            source: txn.map(|t| SourceRef {
                txn: WmsTxnId::parse(t).unwrap(),
                line: 1,
                lines: 1,
            }),
            item: ItemNumber::parse("ITM-1").unwrap(),
            subinventory: SubinventoryCode::parse("STORES").unwrap(),
            transfer_subinventory: None,
            quantity: Decimal::from(qty),
            lots: vec![],
            serials: vec![],
            status,
        }
    }

    fn key() -> BalanceKey {
        BalanceKey::new(
            dc(),
            ItemNumber::parse("ITM-1").unwrap(),
            SubinventoryCode::parse("STORES").unwrap(),
            None,
        )
    }

    #[test]
    fn an_untracked_row_of_ours_seen_twice_is_netted_and_a_foreign_one_skips_its_key() {
        let ours = line(1, Some("T-1"), 7, StagedStatus::Pending);
        let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
        let e = account_staged(
            &dc(),
            &mut b,
            &mut a,
            std::slice::from_ref(&ours),
            std::slice::from_ref(&ours),
        );
        assert_eq!(e.in_flight.get(&key()), Some(&Decimal::from(7)));
        assert_eq!(e.rows_netted, 1);
        assert!(e.unsettled.is_empty());

        let foreign = line(2, None, -3, StagedStatus::Pending);
        let e = account_staged(
            &dc(),
            &mut b,
            &mut a,
            std::slice::from_ref(&foreign),
            std::slice::from_ref(&foreign),
        );
        assert!(e.in_flight.is_empty());
        assert!(e.unsettled.contains(&key()));
    }

    #[test]
    fn a_row_processed_between_the_reads_makes_its_key_unsettled() {
        let ours = line(1, Some("T-1"), 7, StagedStatus::Pending);
        let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
        let e = account_staged(&dc(), &mut b, &mut a, &[ours], &[]);
        assert!(e.in_flight.is_empty());
        assert!(e.unsettled.contains(&key()));
    }

    #[test]
    fn transfers_move_out_of_the_source_into_the_destination() {
        let mut t = line(1, Some("T-1"), 4, StagedStatus::Pending);
        t.transfer_subinventory = Some(SubinventoryCode::parse("PICK").unwrap());
        let fx = effects(&dc(), &t);
        assert_eq!(fx.len(), 2);
        assert_eq!(fx[0].1, Decimal::from(-4));
        assert_eq!(fx[1].0.subinventory.as_str(), "PICK");
        assert_eq!(fx[1].1, Decimal::from(4));
    }
}
