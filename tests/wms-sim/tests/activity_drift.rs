//! Activity generation keeps on-hand non-negative and the outbox and reservations consistent;
//! drift injection changes exactly what it reports and never touches the outbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};

use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::json;
use wms_sim::{DriftBand, DriftBandsRequest, DriftRequest, OutcomeRequest, Transaction, TxKind, WmsConfig, WmsSim};

type Key = (String, String, Option<String>);

fn effects(tx: &Transaction) -> Vec<(Key, Decimal)> {
    let lines: Vec<(Option<String>, Decimal)> = if tx.lots.is_empty() {
        vec![(None, tx.quantity.abs())]
    } else {
        tx.lots.iter().map(|l| (Some(l.lot.clone()), l.quantity)).collect()
    };
    let mut out = Vec::new();
    for (lot, q) in lines {
        let at = |sub: &str| (tx.item.clone(), sub.to_string(), lot.clone());
        match tx.kind {
            TxKind::SubinventoryTransfer => {
                out.push((at(&tx.subinventory), -q));
                out.push((at(tx.to_subinventory.as_deref().unwrap()), q));
            }
            _ if tx.quantity < Decimal::ZERO => out.push((at(&tx.subinventory), -q)),
            _ => out.push((at(&tx.subinventory), q)),
        }
    }
    out
}

fn on_hand_map(rows: &[wms_sim::BalanceRow]) -> BTreeMap<Key, Decimal> {
    rows.iter()
        .map(|r| {
            (
                (
                    r.item.clone(),
                    r.subinventory.clone(),
                    r.lot.as_ref().map(|l| l.number.clone()),
                ),
                r.quantity,
            )
        })
        .collect()
}

#[tokio::test]
async fn activity_never_goes_negative_and_every_transaction_is_in_the_outbox_with_a_reservation() {
    let env = common::start(2, 3000).await;
    let before: Vec<_> = ["DC01", "DC02"]
        .iter()
        .map(|dc| on_hand_map(&env.wms.balances(dc)))
        .collect();

    let (status, body) = env.post("/admin/activity", json!({"dc": null, "count": 3000})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<String> = body["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3000);
    assert_eq!(body["count"], 3000);

    let mut kinds = HashSet::new();
    let mut per_dc = [0usize; 2];
    for (d, dc) in ["DC01", "DC02"].iter().enumerate() {
        let mut expected = before[d].clone();
        let mut seq = 0;
        for id in ids.iter().filter(|id| id.starts_with(dc)) {
            let tx = env.wms.transaction(dc, id).unwrap();
            assert!(tx.sequence > seq, "sequence increases");
            seq = tx.sequence;
            kinds.insert(tx.kind);
            match tx.kind {
                TxKind::MiscIssue => assert!(tx.quantity < Decimal::ZERO),
                TxKind::MiscReceipt | TxKind::SubinventoryTransfer => assert!(tx.quantity > Decimal::ZERO),
                TxKind::Adjustment => assert!(!tx.quantity.is_zero()),
            }
            if !tx.serials.is_empty() {
                assert_eq!(Decimal::from(tx.serials.len()), tx.quantity.abs());
            }
            for (k, delta) in effects(&tx) {
                *expected.entry(k).or_default() += delta;
            }
            per_dc[d] += 1;
        }
        let rows = env.wms.balances(dc);
        for r in &rows {
            assert!(r.quantity >= Decimal::ZERO, "negative on-hand {r:?}");
            if env.wms.item(&r.item).unwrap().control == wms_sim::Control::Serial {
                assert_eq!(
                    Decimal::from(r.serials.len()),
                    r.quantity,
                    "serials track quantity {r:?}"
                );
            }
        }
        let actual = on_hand_map(&rows);
        let expected: BTreeMap<Key, Decimal> = expected
            .into_iter()
            .filter(|(k, v)| !v.is_zero() || actual.contains_key(k))
            .collect();
        assert_eq!(actual.len(), expected.len());
        for (k, v) in &actual {
            assert_eq!(
                expected.get(k).map(|e| e.normalize()),
                Some(v.normalize()),
                "{dc} {k:?}: on-hand equals seed plus transactions"
            );
        }
        assert_eq!(env.wms.outbox_len(dc), per_dc[d]);
        assert_eq!(env.wms.reservations_count(dc), per_dc[d]);
    }
    assert!(per_dc.iter().all(|n| *n > 1000), "activity spread over DCs: {per_dc:?}");
    assert_eq!(kinds.len(), 4, "all four kinds occur: {kinds:?}");

    for id in ids.iter().filter(|id| id.starts_with("DC01")).take(100) {
        env.wms
            .report_outcome(
                "DC01",
                id,
                &OutcomeRequest {
                    status: "synced".into(),
                    fusion_reference: Some(format!("F-{id}")),
                    error: None,
                },
            )
            .unwrap();
    }
    assert_eq!(env.wms.outbox_len("DC01"), per_dc[0] - 100);
    assert_eq!(env.wms.reservations_count("DC01"), per_dc[0] - 100);
    let (_, state) = env.get("/admin/state").await;
    assert_eq!(state["dcs"][0]["outbox_pending"], per_dc[0] - 100);
    assert_eq!(state["dcs"][0]["reservations"], per_dc[0] - 100);
    assert_eq!(state["dcs"][1]["outbox_pending"], per_dc[1]);
}

#[tokio::test]
async fn activity_is_deterministic_for_a_seed() {
    let a = common::start(2, 1000).await;
    let b = common::start(2, 1000).await;
    let shape = |txs: Vec<Transaction>| {
        txs.into_iter()
            .map(|t| (t.id, t.kind, t.item, t.quantity, t.lots, t.serials))
            .collect::<Vec<_>>()
    };
    let left = shape(a.wms.generate_activity(None, 300).unwrap());
    let right = shape(b.wms.generate_activity(None, 300).unwrap());
    assert_eq!(left, right);
}

#[tokio::test]
async fn background_driver_generates_activity_at_the_configured_rate() {
    let wms = WmsSim::start(WmsConfig {
        rate_per_hour: 36_000.0,
        ..WmsConfig::small(3, 500)
    })
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let total: usize = wms.summary().iter().map(|s| s.outbox_pending).sum();
    assert!((5..=30).contains(&total), "about 10 per second, got {total}");
    wms.shutdown().await;
}

#[tokio::test]
async fn drift_changes_on_hand_silently_and_reports_exactly_what_it_did() {
    let env = common::start(1, 500).await;
    let p = env.stocked("DC01", wms_sim::Control::Plain, 0, 10);
    let (status, applied) = env
        .post(
            "/admin/drift",
            json!({"dc": "DC01", "item": p.item, "subinventory": p.subinventory, "lot": null, "delta": "-7"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["delta"], "-7");
    assert_eq!(applied["quantity_before"], p.quantity.to_string());
    assert_eq!(applied["quantity_after"], (p.quantity - Decimal::from(7)).to_string());
    assert_eq!(
        env.wms.on_hand("DC01", &p.item, &p.subinventory, None).unwrap(),
        p.quantity - Decimal::from(7)
    );
    assert_eq!(env.wms.outbox_len("DC01"), 0, "drift never reaches the outbox");
    assert_eq!(env.wms.reservations_count("DC01"), 0);

    let before = env.snapshot("DC01");
    let too_much = format!("-{}", p.quantity);
    let (status, body) = env
        .post(
            "/admin/drift",
            json!({"dc": "DC01", "item": p.item, "subinventory": p.subinventory, "delta": too_much}),
        )
        .await;
    common::assert_error(status, &body, 409, "insufficient_onhand");
    let (status, body) = env
        .post(
            "/admin/drift",
            json!({"dc": "DC01", "item": p.item, "subinventory": p.subinventory, "delta": "0"}),
        )
        .await;
    common::assert_error(status, &body, 422, "invalid_quantity_sign");
    let (status, body) = env
        .post(
            "/admin/drift",
            json!({"dc": "DC01", "item": "ITM-999999", "subinventory": "PICK", "delta": "1"}),
        )
        .await;
    common::assert_error(status, &body, 422, "unknown_item");
    let (status, body) = env
        .post(
            "/admin/drift",
            json!({"dc": "DC42", "item": p.item, "subinventory": "PICK", "delta": "1"}),
        )
        .await;
    common::assert_error(status, &body, 404, "unknown_dc");
    assert_eq!(env.snapshot("DC01"), before);

    let s = env.stocked("DC01", wms_sim::Control::Serial, 0, 2);
    let removed = env
        .wms
        .inject_drift(&DriftRequest {
            dc: "DC01".into(),
            item: s.item.clone(),
            subinventory: s.subinventory.clone(),
            lot: None,
            delta: "-2".into(),
            expiration: None,
        })
        .unwrap();
    assert_eq!(removed.serials_removed.len(), 2);
    let now = env.wms.balance("DC01", &s.item, &s.subinventory, None).unwrap();
    assert!(removed
        .serials_removed
        .iter()
        .all(|sn| s.serials.contains(sn) && !now.serials.contains(sn)));
    assert_eq!(Decimal::from(now.serials.len()), now.quantity);
    let added = env
        .wms
        .inject_drift(&DriftRequest {
            dc: "DC01".into(),
            item: s.item.clone(),
            subinventory: s.subinventory.clone(),
            lot: None,
            delta: "3".into(),
            expiration: None,
        })
        .unwrap();
    assert_eq!(added.serials_added.len(), 3);
    let now = env.wms.balance("DC01", &s.item, &s.subinventory, None).unwrap();
    assert!(added.serials_added.iter().all(|sn| now.serials.contains(sn)));
    assert_eq!(Decimal::from(now.serials.len()), now.quantity);
}

#[tokio::test]
async fn drift_bands_pick_distinct_keys_deterministically_and_report_them() {
    let env = common::start(3, 2000).await;
    let twin = common::start(3, 2000).await;
    let request = DriftBandsRequest {
        dc: None,
        small: 5,
        medium: 4,
        large: 3,
        seed: 99,
    };
    let before: BTreeMap<String, _> = env
        .wms
        .dcs()
        .into_iter()
        .map(|dc| {
            let m = on_hand_map(&env.wms.balances(&dc));
            (dc, m)
        })
        .collect();

    let (status, body) = env
        .post("/admin/drift/bands", serde_json::to_value(&request).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let applied: Vec<wms_sim::AppliedDrift> = serde_json::from_value(body["applied"].clone()).unwrap();
    assert_eq!(applied.len(), 12);
    let count = |band| applied.iter().filter(|a| a.band == Some(band)).count();
    assert_eq!(
        (
            count(DriftBand::Small),
            count(DriftBand::Medium),
            count(DriftBand::Large)
        ),
        (5, 4, 3)
    );
    let distinct: HashSet<_> = applied.iter().map(|a| (a.dc.clone(), a.item.clone())).collect();
    assert_eq!(distinct.len(), 12);

    let mut changed = 0;
    for a in &applied {
        let m = a.delta.abs();
        match a.band.unwrap() {
            DriftBand::Small => assert!(m > Decimal::ZERO && m < Decimal::from(5)),
            DriftBand::Medium => assert!(m >= Decimal::from(5) && m <= Decimal::from(50)),
            DriftBand::Large => assert!(m > Decimal::from(50)),
        }
        let key = (a.item.clone(), a.subinventory.clone(), a.lot.clone());
        assert_eq!(before[&a.dc].get(&key).copied().unwrap_or_default(), a.quantity_before);
        assert_eq!(a.quantity_after, a.quantity_before + a.delta);
        assert!(a.quantity_after >= Decimal::ZERO);
        assert_eq!(
            env.wms
                .on_hand(&a.dc, &a.item, &a.subinventory, a.lot.as_deref())
                .unwrap(),
            a.quantity_after
        );
        changed += 1;
    }
    for dc in env.wms.dcs() {
        let after = on_hand_map(&env.wms.balances(&dc));
        let diffs = after.iter().filter(|(k, v)| before[&dc].get(*k) != Some(*v)).count();
        assert_eq!(
            diffs,
            applied.iter().filter(|a| a.dc == dc).count(),
            "only reported keys changed at {dc}"
        );
        assert_eq!(env.wms.outbox_len(&dc), 0);
    }
    assert_eq!(changed, 12);

    let again = twin.wms.inject_drift_bands(&request).unwrap();
    assert_eq!(again, applied, "same seed and state pick the same keys and deltas");
}
