//! Transaction rules, net effects and Fusion posts, as tables and properties.

use super::*;
use proptest::prelude::*;
use rust_decimal_macros::dec;

fn id(s: &str) -> WmsTxnId {
    WmsTxnId::parse(s).unwrap()
}

pub(crate) fn sample(kind: TxnKind, quantity: Decimal, tracking: Tracking) -> Result<WmsTransaction, DomainError> {
    WmsTransaction::new(NewTransaction {
        id: id("T1"),
        dc: DcCode::parse("DC01").unwrap(),
        kind,
        item: ItemNumber::parse("ITM-1").unwrap(),
        subinventory: SubinventoryCode::parse("STORES").unwrap(),
        quantity,
        uom: Uom::parse("EA").unwrap(),
        tracking,
        occurred_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
    })
}

fn lot(n: &str, q: Decimal) -> LotQuantity {
    LotQuantity {
        lot: LotNumber::parse(n).unwrap(),
        quantity: q,
        expiration: None,
    }
}

fn serials(n: usize) -> Vec<SerialNumber> {
    (0..n)
        .map(|i| SerialNumber::parse(format!("SN{i:05}")).unwrap())
        .collect()
}

fn pick() -> SubinventoryCode {
    SubinventoryCode::parse("PICK").unwrap()
}

#[test]
fn structural_rules_table() {
    let stores = SubinventoryCode::parse("STORES").unwrap();
    let cases: Vec<(TxnKind, Decimal, Tracking, Option<&str>)> = vec![
        (TxnKind::MiscReceipt, dec!(5), Tracking::None, None),
        (
            TxnKind::MiscReceipt,
            dec!(-5),
            Tracking::None,
            Some("a receipt needs a positive quantity"),
        ),
        (TxnKind::MiscIssue, dec!(-5), Tracking::None, None),
        (
            TxnKind::MiscIssue,
            dec!(5),
            Tracking::None,
            Some("an issue needs a negative quantity"),
        ),
        (TxnKind::Adjustment, dec!(-2), Tracking::None, None),
        (TxnKind::Adjustment, dec!(0), Tracking::None, Some("must not be zero")),
        (
            TxnKind::SubinventoryTransfer { to: pick() },
            dec!(3),
            Tracking::None,
            None,
        ),
        (
            TxnKind::SubinventoryTransfer { to: stores },
            dec!(3),
            Tracking::None,
            Some("same subinventory"),
        ),
        (
            TxnKind::SubinventoryTransfer { to: pick() },
            dec!(-3),
            Tracking::None,
            Some("positive quantity"),
        ),
        (
            TxnKind::MiscReceipt,
            dec!(5),
            Tracking::Lots(vec![lot("A", dec!(2)), lot("B", dec!(3))]),
            None,
        ),
        (
            TxnKind::MiscReceipt,
            dec!(5),
            Tracking::Lots(vec![lot("A", dec!(2))]),
            Some("sum to 2"),
        ),
        (
            TxnKind::MiscReceipt,
            dec!(5),
            Tracking::Lots(vec![]),
            Some("lot detail is empty"),
        ),
        (
            TxnKind::MiscReceipt,
            dec!(4),
            Tracking::Lots(vec![lot("A", dec!(2)), lot("A", dec!(2))]),
            Some("appears twice"),
        ),
        (
            TxnKind::MiscReceipt,
            dec!(2),
            Tracking::Lots(vec![lot("A", dec!(3)), lot("B", dec!(-1))]),
            Some("non-positive"),
        ),
        (TxnKind::MiscIssue, dec!(-3), Tracking::Serials(serials(3)), None),
        (
            TxnKind::MiscIssue,
            dec!(-3),
            Tracking::Serials(serials(2)),
            Some("2 serials for a quantity of 3"),
        ),
        (
            TxnKind::MiscIssue,
            dec!(-1.5),
            Tracking::Serials(serials(1)),
            Some("not whole"),
        ),
        (
            TxnKind::MiscReceipt,
            dec!(2),
            Tracking::Serials(vec![
                SerialNumber::parse("S").unwrap(),
                SerialNumber::parse("S").unwrap(),
            ]),
            Some("serial S appears twice"),
        ),
        (TxnKind::MiscReceipt, dec!(2000000000), Tracking::None, Some("above")),
    ];
    for (kind, q, tracking, want) in cases {
        let label = format!("{kind:?} {q} {tracking:?}");
        match (sample(kind, q, tracking), want) {
            (Ok(_), None) => {}
            (Err(e), Some(fragment)) => assert!(e.to_string().contains(fragment), "{label}: {e}"),
            (got, want) => panic!("{label}: got {got:?}, want error {want:?}"),
        }
    }
}

#[test]
fn item_master_rules_table() {
    let info = |lot, serial, scale| ItemInfo {
        item: ItemNumber::parse("ITM-1").unwrap(),
        lot_controlled: lot,
        serial_controlled: serial,
        primary_uom: Uom::parse("EA").unwrap(),
        uom_scale: scale,
    };
    let plain = sample(TxnKind::MiscReceipt, dec!(2.5), Tracking::None).unwrap();
    assert!(plain.check_against(&info(false, false, 1)).is_ok());
    let e = plain.check_against(&info(false, false, 0)).unwrap_err().to_string();
    assert!(e.contains("allows 0"), "{e}");
    let e = plain.check_against(&info(true, false, 1)).unwrap_err().to_string();
    assert!(e.contains("lot-controlled but no lots"), "{e}");
    let e = plain.check_against(&info(false, true, 1)).unwrap_err().to_string();
    assert!(e.contains("serial-controlled but no serials"), "{e}");
    let lotted = sample(TxnKind::MiscReceipt, dec!(2), Tracking::Lots(vec![lot("A", dec!(2))])).unwrap();
    assert!(lotted.check_against(&info(true, false, 0)).is_ok());
    assert!(lotted.check_against(&info(false, false, 0)).is_err());
    let mut kg = info(false, false, 3);
    kg.primary_uom = Uom::parse("KG").unwrap();
    let e = plain.check_against(&kg).unwrap_err().to_string();
    assert!(e.contains("primary UOM is KG"), "{e}");
}

#[test]
fn a_transfer_nets_to_zero_across_its_two_sides() {
    let t = sample(
        TxnKind::SubinventoryTransfer { to: pick() },
        dec!(7),
        Tracking::Lots(vec![lot("A", dec!(7))]),
    )
    .unwrap();
    let effects = t.net_effects();
    assert_eq!(effects.len(), 2);
    assert_eq!(effects[0].1, dec!(-7));
    assert_eq!(effects[0].0.subinventory.as_str(), "STORES");
    assert_eq!(effects[1].1, dec!(7));
    assert_eq!(effects[1].0.subinventory.as_str(), "PICK");
    assert_eq!(effects[1].0.lot.as_ref().map(|l| l.as_str()), Some("A"));
    let issue = sample(TxnKind::MiscIssue, dec!(-4), Tracking::None).unwrap();
    assert_eq!(issue.net_effects()[0].1, dec!(-4));
}

#[test]
fn posts_map_kinds_to_fusion_types_and_chunk_serials() {
    let adj = sample(TxnKind::Adjustment, dec!(-2), Tracking::None).unwrap();
    let posts = adj.to_posts(50).unwrap();
    assert_eq!(posts[0].txn_type.fusion_name(), "Miscellaneous Issue");
    assert_eq!(posts[0].quantity, dec!(-2));
    let big = sample(TxnKind::MiscIssue, dec!(-120), Tracking::Serials(serials(120))).unwrap();
    let posts = big.to_posts(50).unwrap();
    assert_eq!(
        posts.iter().map(|p| p.serials.len()).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    assert_eq!(
        posts.iter().map(|p| p.quantity).collect::<Vec<_>>(),
        vec![dec!(-50), dec!(-50), dec!(-20)]
    );
    assert_eq!(posts[2].source.to_string(), "T1#3");
    assert!(posts.iter().all(|p| p.source.lines == 3));
    assert!(big.to_posts(0).is_err());
    let transfer = sample(TxnKind::SubinventoryTransfer { to: pick() }, dec!(1), Tracking::None).unwrap();
    let p = &transfer.to_posts(50).unwrap()[0];
    assert_eq!(p.transfer_subinventory.as_ref().map(|s| s.as_str()), Some("PICK"));
    assert_eq!(p.txn_type, FusionTxnType::SubinventoryTransfer);
}

proptest! {
    #[test]
    fn chunking_keeps_every_serial_once_within_the_limit(n in 1usize..400, limit in 1usize..80) {
        let all = serials(n);
        let chunks = chunk_serials(&all, limit);
        prop_assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= limit));
        prop_assert_eq!(chunks.len(), n.div_ceil(limit));
        let flat: Vec<_> = chunks.concat();
        prop_assert_eq!(flat, all);
    }

    #[test]
    fn posts_of_a_serial_txn_sum_to_its_quantity(n in 1usize..300, limit in 1usize..60, issue in any::<bool>()) {
        let (kind, q) = if issue { (TxnKind::MiscIssue, -Decimal::from(n as u64)) } else { (TxnKind::MiscReceipt, Decimal::from(n as u64)) };
        let t = sample(kind, q, Tracking::Serials(serials(n))).unwrap();
        let posts = t.to_posts(limit).unwrap();
        let total: Decimal = posts.iter().map(|p| p.quantity).sum();
        prop_assert_eq!(total, q);
        for p in &posts {
            prop_assert_eq!(Decimal::from(p.serials.len() as u64), p.quantity.abs());
        }
    }
}

#[test]
fn deserializing_goes_through_the_rules_and_keeps_the_stored_form() {
    let t = sample(TxnKind::MiscReceipt, dec!(5), Tracking::None).unwrap();
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["id"], "T1");
    assert_eq!(json["kind"]["kind"], "misc_receipt");
    let back: WmsTransaction = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, t);

    let mut negative_receipt = json;
    negative_receipt["quantity"] = serde_json::Value::String("-5".into());
    let err = serde_json::from_value::<WmsTransaction>(negative_receipt).unwrap_err();
    assert!(err.to_string().contains("positive quantity"), "{err}");
}

#[test]
fn each_kind_declares_its_fusion_type_and_sides() {
    let sub = SubinventoryCode::parse("STORES").unwrap();
    let to = SubinventoryCode::parse("PICK").unwrap();
    let transfer = TxnKind::SubinventoryTransfer { to: to.clone() };
    assert_eq!(
        TxnKind::MiscReceipt.fusion_type(dec!(1)),
        FusionTxnType::MiscellaneousReceipt
    );
    assert_eq!(
        TxnKind::MiscIssue.fusion_type(dec!(-1)),
        FusionTxnType::MiscellaneousIssue
    );
    assert_eq!(
        TxnKind::Adjustment.fusion_type(dec!(-1)),
        FusionTxnType::MiscellaneousIssue
    );
    assert_eq!(
        TxnKind::Adjustment.fusion_type(dec!(1)),
        FusionTxnType::MiscellaneousReceipt
    );
    assert_eq!(transfer.fusion_type(dec!(1)), FusionTxnType::SubinventoryTransfer);
    assert_eq!(TxnKind::MiscIssue.sides(&sub), vec![(sub.clone(), Decimal::ONE)]);
    assert_eq!(
        transfer.sides(&sub),
        vec![(sub.clone(), Decimal::NEGATIVE_ONE), (to.clone(), Decimal::ONE)]
    );
    assert!(TxnKind::MiscReceipt.adds_stock(dec!(1)) && !transfer.adds_stock(dec!(1)));
    assert!(TxnKind::Adjustment.adds_stock(dec!(1)) && !TxnKind::Adjustment.adds_stock(dec!(-1)));
    assert_eq!(transfer.destination(), Some(&to));
}
