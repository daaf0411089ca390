//! The pure parts: the per-line compare, the summary and the CSV.

use super::*;
use crate::ids::{ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use crate::ports::{OnhandRow, WmsBalance};
use crate::txn::ItemInfo;
use crate::variance::BalanceKey;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn dc() -> DcCode {
    DcCode::parse("DC01").unwrap()
}
fn item(s: &str) -> ItemNumber {
    ItemNumber::parse(s).unwrap()
}
fn sub() -> SubinventoryCode {
    SubinventoryCode::parse("STOCK").unwrap()
}
fn lot(s: &str) -> LotNumber {
    LotNumber::parse(s).unwrap()
}
fn ea() -> Uom {
    Uom::parse("EA").unwrap()
}
fn serials(xs: &[&str]) -> Vec<SerialNumber> {
    xs.iter().map(|s| SerialNumber::parse(*s).unwrap()).collect()
}
fn info(i: &str, lot: bool, serial: bool) -> (ItemNumber, ItemInfo) {
    (
        item(i),
        ItemInfo {
            item: item(i),
            lot_controlled: lot,
            serial_controlled: serial,
            primary_uom: ea(),
            uom_scale: 0,
        },
    )
}
fn wms(i: &str, l: Option<&str>, q: i64, s: &[&str]) -> WmsBalance {
    WmsBalance {
        key: BalanceKey::new(dc(), item(i), sub(), l.map(lot)),
        quantity: Decimal::from(q),
        uom: ea(),
        expiration: None,
        serials: serials(s),
    }
}
fn fusion(i: &str, l: Option<&str>, q: i64, s: &[&str]) -> OnhandRow {
    OnhandRow {
        dc: dc(),
        item: item(i),
        subinventory: sub(),
        lot: l.map(lot),
        expiration: None,
        serials: serials(s),
        quantity: Decimal::from(q),
        uom: ea(),
    }
}

fn input() -> PlanInput {
    PlanInput {
        wms: vec![
            wms("P1", None, 10, &[]),
            wms("P2", None, 5, &[]),
            wms("L1", Some("A"), 3, &[]),
            wms("L1", Some("B"), 4, &[]),
            wms("S1", None, 2, &["S-1", "S-3"]),
            wms("GHOST", None, 9, &[]),
        ],
        fusion: vec![
            fusion("P1", None, 10, &[]),
            fusion("P3", None, 7, &[]),
            fusion("L1", Some("A"), 3, &[]),
            fusion("L1", Some("C"), 1, &[]),
            fusion("S1", None, 2, &["S-1", "S-2"]),
        ],
        items: BTreeMap::from([
            info("P1", false, false),
            info("P2", false, false),
            info("P3", false, false),
            info("L1", true, false),
            info("S1", false, true),
        ]),
    }
}

#[test]
fn the_plan_keeps_only_differing_lines_with_absolute_targets() {
    let p = compute_plan(input());
    let names: Vec<&str> = p.lines.iter().map(|l| l.item.as_str()).collect();
    assert_eq!(names, ["L1", "P2", "P3", "S1"]);
    let l1 = &p.lines[0];
    assert_eq!((l1.target, l1.fusion), (Decimal::from(7), Decimal::from(4)));
    let bl = l1.balance_line();
    let lots: Vec<(&str, Decimal)> = bl.lots.iter().map(|x| (x.lot.as_str(), x.quantity)).collect();
    assert_eq!(
        lots,
        [("A", Decimal::from(3)), ("B", Decimal::from(4))],
        "lot C goes to zero by omission"
    );
    let p3 = &p.lines[2];
    assert_eq!((p3.target, p3.fusion), (Decimal::ZERO, Decimal::from(7)));
    let s1 = &p.lines[3];
    assert_eq!(s1.difference(), Decimal::ZERO);
    assert_eq!(s1.serials_added, serials(&["S-3"]));
    assert_eq!(s1.serials_removed, serials(&["S-2"]));
    assert_eq!(s1.balance_line().serials, serials(&["S-1", "S-3"]));
}

#[test]
fn the_summary_counts_classes_unknown_items_new_lots_and_serials() {
    let s = compute_plan(input()).summary;
    assert_eq!(s.lines_compared, 6);
    assert_eq!(s.lines_matching, 1);
    assert_eq!(s.lines_to_apply, 4);
    assert_eq!(s.unknown_items, vec![item("GHOST")]);
    assert_eq!((s.unknown_items_count, s.unknown_item_lines), (1, 1));
    assert_eq!(s.lots_to_create, vec![(item("L1"), lot("B"))]);
    assert_eq!((s.serials_added, s.serials_removed), (1, 1));
    assert_eq!(s.by_class[&ItemClass::Plain].lines, 3);
    assert_eq!(s.by_class[&ItemClass::Plain].differing, 2);
    assert_eq!(s.by_class[&ItemClass::Lot].differing, 1);
    assert_eq!(s.by_class[&ItemClass::Serial].differing, 1);
    assert_eq!(s.largest_differences[0].item, item("P3"));
    assert_eq!(s.largest_differences[0].difference, Decimal::from(-7));
    assert_eq!(s.net_difference, Decimal::from(3 + 5 - 7));
}

#[test]
fn the_csv_has_one_row_per_key_and_names_refusals() {
    let p = compute_plan(input());
    let csv = plan_csv(&p.lines, None);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], CSV_HEADER);
    assert_eq!(rows.len(), 1 + 3 + 1 + 1 + 1, "L1 has three lots");
    assert!(rows.contains(&"L1,STOCK,B,4,0,4,,,new lot"));
    assert!(rows.contains(&"L1,STOCK,C,0,1,-1,,,to zero"));
    assert!(rows.contains(&"P3,STOCK,,0,7,-7,,,to zero"));
    assert!(rows.contains(&"S1,STOCK,,2,2,0,S-3,S-2,"));
    let results = vec![
        LineResult::Applied,
        LineResult::Refused {
            reason: "bad, \"very\"".into(),
        },
        LineResult::Applied,
        LineResult::Applied,
    ];
    let csv = plan_csv(&p.lines, Some(&results));
    assert!(csv.contains("P2,STOCK,,5,0,5,,,\"refused: bad, \"\"very\"\"\""));
}

#[test]
fn plan_ids_sort_by_time_and_parse_back() {
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let a = PlanId::new(&dc(), at);
    let b = PlanId::new(&dc(), at + chrono::Duration::seconds(1));
    assert!(a < b);
    assert_eq!(PlanId::parse(a.as_str()).unwrap(), a);
    assert!(PlanId::parse("nope").is_err());
    assert!(PlanId::parse("BL-a b").is_err());
}
