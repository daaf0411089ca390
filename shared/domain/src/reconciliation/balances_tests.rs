//! The compact balances answer what the snapshots of `crate::variance` answer, and give the
//! facts the previous per-side maps gave.

use super::*;
use crate::variance::compare;
use proptest::prelude::*;
use rust_decimal_macros::dec;

fn dc() -> DcCode {
    DcCode::parse("DC01").unwrap()
}

fn key(item: u8, sub: u8, lot: Option<u8>) -> BalanceKey {
    BalanceKey::new(
        dc(),
        ItemNumber::parse(format!("ITM-{item}")).unwrap(),
        SubinventoryCode::parse(["STORES", "PICK", "BULK"][usize::from(sub % 3)]).unwrap(),
        lot.map(|l| LotNumber::parse(format!("L{l}")).unwrap()),
    )
}

fn uom(u: &str) -> Uom {
    Uom::parse(u).unwrap()
}

fn add(b: &mut Balances, source: Source, k: &BalanceKey, q: Decimal) {
    b.add(
        source,
        k.item.clone(),
        k.subinventory.clone(),
        k.lot.clone(),
        q,
        uom("EA"),
        None,
        Vec::new(),
    );
}

type Row = ((u8, u8, Option<u8>), i64);

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(((0u8..30, 0u8..3, prop::option::of(0u8..3)), -500i64..500), 0..60)
}

proptest! {
    #[test]
    fn the_compact_comparison_is_the_snapshot_comparison(
        wms in rows(),
        fusion in rows(),
        in_flight in rows(),
        unsettled in prop::collection::vec((0u8..30, 0u8..3, prop::option::of(0u8..3)), 0..10),
        auto in 1i64..10,
    ) {
        let mut b = Balances::new(dc());
        let (mut w, mut f, mut i) = (Snapshot::new(), Snapshot::new(), Snapshot::new());
        for ((it, s, l), q) in &wms {
            let k = key(*it, *s, *l);
            add(&mut b, Source::Wms, &k, Decimal::new(*q, 1));
            *w.entry(k).or_default() += Decimal::new(*q, 1);
        }
        for ((it, s, l), q) in &fusion {
            let k = key(*it, *s, *l);
            add(&mut b, Source::Fusion, &k, Decimal::new(*q, 1));
            *f.entry(k).or_default() += Decimal::new(*q, 1);
        }
        for ((it, s, l), q) in &in_flight {
            *i.entry(key(*it, *s, *l)).or_default() += Decimal::from(*q % 7);
        }
        // An in-flight key of an item neither side has, and one of another DC.
        i.insert(key(99, 0, None), dec!(3));
        let other = BalanceKey::new(DcCode::parse("DC02").unwrap(), key(1, 0, None).item, key(1, 0, None).subinventory, None);
        i.insert(other, dec!(-2));
        let unsettled: BTreeSet<BalanceKey> = unsettled.into_iter().map(|(it, s, l)| key(it, s, l)).collect();
        let t = Thresholds::new(Decimal::from(auto), Decimal::from(auto * 10)).unwrap();

        prop_assert_eq!(b.compare(&i, &unsettled, &t), compare(&w, &f, &i, &unsettled, &t));
        prop_assert_eq!(b.len(), w.keys().chain(f.keys()).collect::<BTreeSet<_>>().len());
    }
}

#[test]
fn facts_prefer_the_wms_and_fall_back_to_fusion() {
    let mut b = Balances::new(dc());
    let lot = key(1, 0, Some(1));
    let exp = |d: u32| NaiveDate::from_ymd_opt(2027, 1, d);
    b.add(
        Source::Fusion,
        lot.item.clone(),
        lot.subinventory.clone(),
        lot.lot.clone(),
        dec!(4),
        uom("CS"),
        exp(2),
        Vec::new(),
    );
    b.add(
        Source::Wms,
        lot.item.clone(),
        lot.subinventory.clone(),
        lot.lot.clone(),
        dec!(5),
        uom("EA"),
        exp(1),
        Vec::new(),
    );
    let serial = key(2, 1, None);
    let sn = |s: &str| SerialNumber::parse(s).unwrap();
    b.add(
        Source::Fusion,
        serial.item.clone(),
        serial.subinventory.clone(),
        None,
        dec!(2),
        uom("EA"),
        None,
        vec![sn("S1"), sn("S2")],
    );
    let in_flight: BTreeMap<BalanceKey, BTreeSet<SerialNumber>> = [(serial.clone(), [sn("S9")].into())].into();
    let facts = Facts {
        balances: &b,
        in_flight_serials: &in_flight,
    };

    assert_eq!(facts.uom(&lot.item), Some(uom("EA")), "the WMS's UOM first");
    assert_eq!(facts.uom(&serial.item), Some(uom("EA")));
    assert_eq!(facts.uom(&key(7, 0, None).item), None);
    let f = facts.key_facts(&lot, uom("EA"));
    assert_eq!(f.expiration, exp(1), "the WMS's expiration first");
    // The lot's expiration holds at another subinventory too (an in-flight-only key).
    assert_eq!(facts.key_facts(&key(1, 2, Some(1)), uom("EA")).expiration, exp(1));
    let f = facts.key_facts(&serial, uom("EA"));
    assert_eq!(f.fusion_serials, [sn("S1"), sn("S2")].into());
    assert!(f.wms_serials.is_empty());
    assert_eq!(f.in_flight_serials, [sn("S9")].into());
}
