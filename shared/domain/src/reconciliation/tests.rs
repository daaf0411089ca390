//! Unit tests of the reconciliation's pure parts: ids, adjustments, messages, settling, orphans.

use super::*;
use crate::ids::SubinventoryCode;
use crate::ledger::{Failure, LedgerEntry};
use rust_decimal_macros::dec;

/// One SMS. The SNS adapter fits the first line to it (adapters `aws::sns`); a short alert's
/// content already fits, so no channel needs to cut it.
const SMS_MAX: usize = 140;

fn key(item: &str, lot: Option<&str>) -> BalanceKey {
    BalanceKey::new(
        DcCode::parse("DC03").unwrap(),
        ItemNumber::parse(item).unwrap(),
        SubinventoryCode::parse("STORES").unwrap(),
        lot.map(|l| LotNumber::parse(l).unwrap()),
    )
}

fn variance(k: BalanceKey, wms: Decimal, fusion: Decimal, in_flight: Decimal) -> Variance {
    let v = wms - (fusion + in_flight);
    Variance {
        key: k,
        wms,
        fusion,
        in_flight,
        variance: v,
        tier: Thresholds::default().classify(v),
    }
}

fn ea() -> Uom {
    Uom::parse("EA").unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn facts() -> KeyFacts {
    KeyFacts {
        uom: ea(),
        expiration: None,
        wms_serials: BTreeSet::new(),
        fusion_serials: BTreeSet::new(),
        in_flight_serials: BTreeSet::new(),
    }
}

fn serials(list: &[&str]) -> BTreeSet<SerialNumber> {
    list.iter().map(|s| SerialNumber::parse(*s).unwrap()).collect()
}

#[test]
fn adjustment_ids_are_deterministic_valid_and_distinct() {
    let a = adjustment_id("reconcile-2026-01-01T00:15Z", &key("ITM-1", None)).unwrap();
    assert_eq!(
        a,
        adjustment_id("reconcile-2026-01-01T00:15Z", &key("ITM-1", None)).unwrap()
    );
    assert_ne!(
        a,
        adjustment_id("reconcile-2026-01-01T00:30Z", &key("ITM-1", None)).unwrap()
    );
    assert_ne!(
        a,
        adjustment_id("reconcile-2026-01-01T00:15Z", &key("ITM-1", Some("L1"))).unwrap()
    );
    assert!(a.as_str().starts_with(ADJUSTMENT_ID_PREFIX));
    assert!(a.as_str().len() <= WmsTxnId::MAX_LEN);
    assert!(is_adjustment(&a));
    let long = adjustment_id(&"r".repeat(500), &key(&"I".repeat(300), Some(&"L".repeat(80)))).unwrap();
    assert_eq!(long.as_str().len(), 35);
}

#[test]
fn incident_ids_are_stable_per_run_and_key() {
    let k = key("ITM-1", None);
    assert_eq!(incident_id("r1", &k), incident_id("r1", &k));
    assert_ne!(incident_id("r1", &k), incident_id("r2", &k));
    assert!(incident_id("r1", &k).as_str().starts_with("INC-"));
    // The same text as before it was a type: the first half of the run's 128-bit hash.
    let h = ids::hash128(&["r1", &k.to_string()]);
    assert_eq!(incident_id("r1", &k).as_str(), format!("INC-{}", &h[..16]));
}

#[test]
fn a_small_plain_variance_becomes_a_signed_adjustment() {
    let v = variance(key("ITM-1", None), dec!(97), dec!(100), dec!(0));
    let t = adjustment_for("r1", &v, &facts(), now()).unwrap();
    assert_eq!(*t.kind(), TxnKind::Adjustment);
    assert_eq!(t.quantity(), dec!(-3));
    assert_eq!(*t.tracking(), Tracking::None);
    assert_eq!(t.subinventory().as_str(), "STORES");
    assert_eq!(*t.id(), adjustment_id("r1", &v.key).unwrap());
    assert_eq!(t.net_effects(), vec![(v.key.clone(), dec!(-3))]);
}

#[test]
fn a_lot_adjustment_carries_the_lot_and_its_expiration() {
    let v = variance(key("ITM-1", Some("L1")), dec!(12), dec!(10), dec!(0));
    let exp = NaiveDate::from_ymd_opt(2027, 3, 1);
    let f = KeyFacts {
        expiration: exp,
        ..facts()
    };
    let t = adjustment_for("r1", &v, &f, now()).unwrap();
    match &t.tracking() {
        Tracking::Lots(lots) => {
            assert_eq!(lots.len(), 1);
            assert_eq!(lots[0].lot.as_str(), "L1");
            assert_eq!(lots[0].quantity, dec!(2));
            assert_eq!(lots[0].expiration, exp);
        }
        other => panic!("expected lots, got {other:?}"),
    }
    assert_eq!(t.net_effects(), vec![(v.key.clone(), dec!(2))]);
}

#[test]
fn serial_differences_that_explain_the_variance_are_adjusted() {
    let v = variance(key("ITM-S", None), dec!(3), dec!(1), dec!(0));
    let f = KeyFacts {
        wms_serials: serials(&["S1", "S2", "S3"]),
        fusion_serials: serials(&["S1"]),
        ..facts()
    };
    let t = adjustment_for("r1", &v, &f, now()).unwrap();
    assert_eq!(
        *t.tracking(),
        Tracking::Serials(serials(&["S2", "S3"]).into_iter().collect())
    );

    let v = variance(key("ITM-S", None), dec!(0), dec!(2), dec!(-1));
    let f = KeyFacts {
        fusion_serials: serials(&["S1", "S2"]),
        in_flight_serials: serials(&["S1"]),
        ..facts()
    };
    let t = adjustment_for("r1", &v, &f, now()).unwrap();
    assert_eq!(t.quantity(), dec!(-1));
    assert_eq!(*t.tracking(), Tracking::Serials(serials(&["S2"]).into_iter().collect()));
}

#[test]
fn serial_differences_that_do_not_explain_the_variance_go_to_review() {
    let v = variance(key("ITM-S", None), dec!(2), dec!(1), dec!(0));
    let f = KeyFacts {
        wms_serials: serials(&["S1", "S3"]),
        fusion_serials: serials(&["S2"]),
        ..facts()
    };
    let err = adjustment_for("r1", &v, &f, now()).unwrap_err();
    assert!(err.to_string().contains("does not explain"), "{err}");
    assert!(
        matches!(err, NoAdjustment::SerialsDoNotExplain { found: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn alert_names_everything_a_manager_needs() {
    let v = variance(key("ITM-000042", Some("LOT-7")), dec!(27), dec!(100), dec!(0));
    let inc: IncidentId = "INC-1".parse().unwrap();
    let a = alert_for(&v, &inc, Some(&ea()), true);
    assert_eq!(
        a.subject,
        "invsync CRITICAL DC03 ITM-000042: variance -73 EA, releases held"
    );
    let first = a.body.lines().next().unwrap();
    assert!(first.chars().count() <= SMS_MAX);
    for needle in [
        "DC03",
        "ITM-000042",
        "STORES",
        "LOT-7",
        "WMS 27",
        "Fusion 100",
        "in flight 0",
        "-73 EA",
    ] {
        assert!(first.contains(needle), "first line lacks {needle}: {first}");
    }
    for needle in [
        "DC: DC03",
        "Item: ITM-000042",
        "Subinventory: STORES",
        "Lot: LOT-7",
        "WMS on-hand: 27 EA",
        "Fusion on-hand: 100 EA",
        "In flight (WMS transactions not yet in Fusion): 0 EA",
        "Variance (WMS - (Fusion + in flight)): -73 EA",
        "order releases held",
        "Order releases for ITM-000042 at DC03 are held (reference INC-1)",
    ] {
        assert!(a.body.contains(needle), "body lacks {needle}: {}", a.body);
    }
    let h = hold_for(&v, &inc, Some(&ea()));
    assert_eq!((h.placed_by.as_str(), h.reference.as_str()), ("invsync", "INC-1"));
    assert_eq!(h.item, v.key.item);
}

#[test]
fn review_task_is_keyed_by_balance_and_names_the_quantities() {
    let v = variance(key("ITM-1", None), dec!(80), dec!(100), dec!(8));
    let t = review_task_for(&v, Some(&ea()), "r1", None);
    assert_eq!(t.key, "bal:DC03/ITM-1/STORES");
    assert_eq!(t.kind, TaskKind::Variance);
    for needle in ["WMS 80", "Fusion 100", "in flight 8", "-28 EA"] {
        assert!(t.summary.contains(needle), "{needle}: {}", t.summary);
    }
    assert!(t.detail.contains("r1"));
}

fn tracked(id: &str, q: Decimal, state: Option<(SyncState, u64)>) -> (WmsTxnId, Tracked) {
    let k = key("ITM-1", None);
    let txn = WmsTransaction::new(NewTransaction {
        id: WmsTxnId::parse(id).unwrap(),
        dc: k.dc,
        kind: TxnKind::Adjustment,
        item: k.item,
        subinventory: k.subinventory,
        quantity: q,
        uom: ea(),
        tracking: Tracking::None,
        occurred_at: now(),
    })
    .unwrap();
    (txn.id().clone(), Tracked { txn, state })
}

#[test]
fn transactions_that_moved_between_reads_make_their_keys_unsettled() {
    let pending = Some((SyncState::PendingSync, 0));
    let before: BTreeMap<_, _> = [tracked("T1", dec!(3), pending), tracked("T2", dec!(4), None)].into();
    let after: BTreeMap<_, _> = [tracked("T1", dec!(3), pending), tracked("T2", dec!(4), None)].into();
    let s = settle(&before, &after);
    assert_eq!(s.in_flight.get(&key("ITM-1", None)), Some(&dec!(7)));
    assert!(s.unsettled.is_empty());
    assert_eq!(s.txns, 2);

    let after: BTreeMap<_, _> = [tracked("T1", dec!(3), Some((SyncState::InFlight, 1)))].into();
    let s = settle(&before, &after);
    assert!(s.unsettled.contains(&key("ITM-1", None)));
    assert_eq!(s.txns, 0);

    let s = settle(&BTreeMap::new(), &after);
    assert!(s.unsettled.contains(&key("ITM-1", None)));
}

fn row(state: SyncState, attempts: u32, retryable: Option<bool>, age_min: i64) -> LedgerRow {
    let (_, t) = tracked("T1", dec!(1), None);
    LedgerRow {
        txn: t.txn,
        entry: LedgerEntry {
            state,
            attempts,
            lease_until: (state == SyncState::InFlight)
                .then(|| now() - Duration::minutes(age_min) + Duration::minutes(5)),
            failure: retryable.map(|retryable| Failure {
                retryable,
                reason: "x".into(),
                systemic: false,
            }),
            fusion_refs: Vec::new(),
            version: u64::from(attempts),
        },
        updated_at: now() - Duration::minutes(age_min),
    }
}

#[test]
fn orphans_are_retried_when_transient_and_reviewed_otherwise() {
    let s = ReconcileSettings::default();
    let cases = [
        (row(SyncState::SyncFailed, 1, Some(true), 1), OrphanAction::Retry),
        (row(SyncState::SyncFailed, 3, Some(true), 1), OrphanAction::Review),
        (row(SyncState::SyncFailed, 1, Some(false), 1), OrphanAction::Review),
        (row(SyncState::InFlight, 1, None, 30), OrphanAction::Retry),
        (row(SyncState::InFlight, 1, None, 2), OrphanAction::Leave),
        (row(SyncState::PendingSync, 0, None, 60), OrphanAction::Leave),
    ];
    for (r, want) in cases {
        assert_eq!(orphan_action(&r, now(), &s), want, "{:?}", r.entry);
    }
}

#[test]
fn a_pending_adjustment_is_retried_because_no_outbox_lists_it() {
    let s = ReconcileSettings::default();
    let mut pending = row(SyncState::PendingSync, 1, None, 1);
    pending.txn = tracked(&format!("{ADJUSTMENT_ID_PREFIX}1"), dec!(5), None).1.txn;
    assert_eq!(orphan_action(&pending, now(), &s), OrphanAction::Retry);
    let wms = row(SyncState::PendingSync, 1, None, 1);
    assert_eq!(
        orphan_action(&wms, now(), &s),
        OrphanAction::Leave,
        "the sync drains it"
    );
}

#[test]
fn per_dc_thresholds_override_the_default() {
    let mut s = ReconcileSettings::default();
    let dc1 = DcCode::parse("DC01").unwrap();
    let dc2 = DcCode::parse("DC02").unwrap();
    let strict = Thresholds::new(dec!(1), dec!(10)).unwrap();
    s.per_dc.insert(dc2.clone(), strict);
    assert_eq!(s.thresholds_for(&dc1), Thresholds::default());
    assert_eq!(s.thresholds_for(&dc2), strict);
}

#[test]
fn figures_carry_accuracy_in_basis_points() {
    let r = ReconcileReport {
        accuracy: dec!(0.98765),
        keys_compared: 3,
        ..ReconcileReport::new(DcCode::parse("DC03").unwrap(), "r1", false)
    };
    let f = r.figures();
    assert_eq!(f.get("accuracy_bp"), Some(&9877));
    assert_eq!(f.get("keys_compared"), Some(&3));
}
