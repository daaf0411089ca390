//! The `/v1` contract over real HTTP: auth, paging parameters, capture rules (every refusal
//! leaves state unchanged), outcomes, holds, reservations, stats and faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, start};
use reqwest::StatusCode;
use serde_json::{json, Value};
use wms_sim::{Control, WmsConfig, WmsSim};

#[tokio::test]
async fn dcs_are_listed_only_with_valid_credentials() {
    let env = start(2, 200).await;
    let (status, body) = env.get("/v1/dcs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"items": ["DC01", "DC02"]}));

    let resp = env.http.get(env.url("/v1/dcs")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let resp = env
        .http
        .get(env.url("/v1/dcs"))
        .header("X-Api-Key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let bearer = WmsSim::start(WmsConfig {
        api_key: None,
        bearer_token: Some("tok-123".into()),
        ..WmsConfig::small(1, 50)
    })
    .await
    .unwrap();
    let ok = env
        .http
        .get(format!("{}/v1/dcs", bearer.base_url()))
        .bearer_auth("tok-123")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let bad = env
        .http
        .get(format!("{}/v1/dcs", bearer.base_url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    bearer.shutdown().await;
}

#[tokio::test]
async fn balance_paging_parameters_are_checked_not_capped() {
    let env = start(1, 800).await;
    let (status, body) = env.get("/v1/dcs/DC01/balances").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 500);
    assert!(body["next_cursor"].is_string());
    let first = &body["items"][0];
    assert!(first["quantity"].is_string(), "quantities are decimal strings: {first}");

    let (status, body) = env.get("/v1/dcs/DC01/balances?limit=5001").await;
    assert_error(status, &body, 400, "limit_too_large");
    assert_eq!(body["error"]["field"], "limit");
    let (status, body) = env.get("/v1/dcs/DC01/balances?limit=0").await;
    assert_error(status, &body, 400, "invalid_limit");
    let (status, body) = env.get("/v1/dcs/DC01/balances?limit=ten").await;
    assert_error(status, &body, 400, "invalid_limit");
    let (status, body) = env.get("/v1/dcs/DC01/balances?cursor=zz").await;
    assert_error(status, &body, 400, "invalid_cursor");
    let (status, body) = env.get("/v1/dcs/DC01/outbox?cursor=6231").await;
    assert_error(status, &body, 400, "invalid_cursor");
    let (status, body) = env.get("/v1/dcs/DC99/balances").await;
    assert_error(status, &body, 404, "unknown_dc");
    let (status, body) = env.get("/v1/dcs/DC99/outbox").await;
    assert_error(status, &body, 404, "unknown_dc");

    let (status, body) = env.get("/v1/dcs/DC01/balances?limit=5000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), env.wms.balances("DC01").len());
    assert!(body["next_cursor"].is_null());
}

#[tokio::test]
async fn capture_applies_on_hand_at_once_and_holds_a_reservation() {
    let env = start(1, 300).await;
    let row = env.stocked("DC01", Control::Plain, 0, 10);
    let before = row.quantity;
    let (status, tx) = env
        .post(
            "/v1/dcs/DC01/transactions",
            json!({"kind": "misc_issue", "item": row.item, "subinventory": row.subinventory, "quantity": "-4", "uom": row.uom}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tx}");
    assert_eq!(tx["id"], "DC01-000000001");
    assert_eq!(tx["sequence"], 1);
    assert_eq!(tx["status"], "pending_sync");
    assert_eq!(tx["quantity"], "-4");
    assert!(tx["last_error"].is_null());
    assert_eq!(
        env.wms.on_hand("DC01", &row.item, &row.subinventory, None).unwrap(),
        before - rust_decimal::Decimal::from(4)
    );
    assert_eq!(env.wms.outbox_len("DC01"), 1);
    assert_eq!(env.wms.reservations_count("DC01"), 1);

    let (status, outbox) = env.get("/v1/dcs/DC01/outbox").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outbox["items"][0], tx);
    assert!(outbox["next_cursor"].is_null());
    let (status, fetched) = env.get("/v1/dcs/DC01/transactions/DC01-000000001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, tx);
    let (status, res) = env.get("/v1/dcs/DC01/reservations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        res,
        json!({"count": 1, "items": [{"transaction_id": "DC01-000000001", "item": row.item, "quantity": "-4"}]})
    );
}

#[tokio::test]
async fn lots_and_serials_move_with_their_transactions() {
    let env = start(1, 400).await;
    let lot_row = env.stocked("DC01", Control::Lot, 0, 1);
    let lot = lot_row.lot.clone().unwrap();
    let (status, tx) = env
        .post(
            "/v1/dcs/DC01/transactions",
            json!({"kind": "misc_receipt", "item": lot_row.item, "subinventory": "RETURNS", "quantity": "7", "uom": lot_row.uom,
                   "lots": [{"lot": "NEWLOT-1", "quantity": "5", "expiration": "2028-02-29"},
                            {"lot": lot.number, "quantity": "2"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tx}");
    assert_eq!(tx["lots"][1]["expiration"], lot.expiration.to_string());
    let new_row = env
        .wms
        .balance("DC01", &lot_row.item, "RETURNS", Some("NEWLOT-1"))
        .unwrap();
    assert_eq!(new_row.quantity, 5.into());
    assert_eq!(new_row.lot.unwrap().expiration.to_string(), "2028-02-29");

    let serial_row = env.stocked("DC01", Control::Serial, 0, 2);
    let moving = serial_row.serials[..2].to_vec();
    let to = if serial_row.subinventory == "PICK" {
        "BULK"
    } else {
        "PICK"
    };
    let (status, tx) = env
        .post(
            "/v1/dcs/DC01/transactions",
            json!({"kind": "subinventory_transfer", "item": serial_row.item, "subinventory": serial_row.subinventory,
                   "to_subinventory": to, "quantity": "2", "uom": "EA", "serials": moving}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tx}");
    let source = env
        .wms
        .balance("DC01", &serial_row.item, &serial_row.subinventory, None)
        .unwrap();
    let dest = env.wms.balance("DC01", &serial_row.item, to, None).unwrap();
    assert!(moving
        .iter()
        .all(|s| !source.serials.contains(s) && dest.serials.contains(s)));
    assert_eq!(source.quantity, serial_row.quantity - rust_decimal::Decimal::from(2));
    assert_eq!(rust_decimal::Decimal::from(source.serials.len()), source.quantity);

    let kg = env.stocked("DC01", Control::Plain, 3, 2);
    let (status, tx) = env
        .post(
            "/v1/dcs/DC01/transactions",
            json!({"kind": "adjustment", "item": kg.item, "subinventory": kg.subinventory, "quantity": "-1.25", "uom": kg.uom}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tx}");
    assert_eq!(tx["quantity"], "-1.250");
}

#[tokio::test]
async fn every_bad_capture_is_refused_with_its_code_and_changes_nothing() {
    let env = start(1, 400).await;
    let dc = "DC01";
    let p = env.stocked(dc, Control::Plain, 0, 10);
    let k = env.stocked(dc, Control::Plain, 3, 10);
    let l = env.stocked(dc, Control::Lot, 0, 5);
    let lot = l.lot.clone().unwrap();
    let s = env.stocked(dc, Control::Serial, 0, 2);
    let other_sub = if p.subinventory == "PICK" { "BULK" } else { "PICK" };
    let too_much = (p.quantity + rust_decimal::Decimal::ONE).to_string();
    let plain = |kind: &str, qty: Value| json!({"kind": kind, "item": p.item, "subinventory": p.subinventory, "quantity": qty, "uom": p.uom});
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "issue positive",
            plain("misc_issue", json!("3")),
            422,
            "invalid_quantity_sign",
        ),
        (
            "issue zero",
            plain("misc_issue", json!("0")),
            422,
            "invalid_quantity_sign",
        ),
        (
            "receipt negative",
            plain("misc_receipt", json!("-1")),
            422,
            "invalid_quantity_sign",
        ),
        (
            "adjustment zero",
            plain("adjustment", json!("-0")),
            422,
            "invalid_quantity_sign",
        ),
        (
            "non-numeric",
            plain("misc_receipt", json!("abc")),
            400,
            "invalid_quantity",
        ),
        ("exponent", plain("misc_receipt", json!("1e3")), 400, "invalid_quantity"),
        (
            "number not string",
            plain("misc_receipt", json!(3)),
            400,
            "invalid_body",
        ),
        (
            "decimals on EA",
            plain("misc_receipt", json!("1.5")),
            422,
            "too_many_decimals",
        ),
        (
            "4 decimals on KG",
            json!({"kind": "misc_receipt", "item": k.item, "subinventory": k.subinventory, "quantity": "1.2345", "uom": k.uom}),
            422,
            "too_many_decimals",
        ),
        (
            "unknown item",
            json!({"kind": "misc_receipt", "item": "ITM-999999", "subinventory": "STORES", "quantity": "1", "uom": "EA"}),
            422,
            "unknown_item",
        ),
        (
            "unknown subinventory",
            json!({"kind": "misc_receipt", "item": p.item, "subinventory": "ATTIC", "quantity": "1", "uom": p.uom}),
            422,
            "unknown_subinventory",
        ),
        ("unknown kind", plain("teleport", json!("1")), 422, "unknown_kind"),
        (
            "wrong uom",
            json!({"kind": "misc_receipt", "item": p.item, "subinventory": p.subinventory, "quantity": "1", "uom": "LB"}),
            422,
            "uom_mismatch",
        ),
        (
            "transfer to same",
            json!({"kind": "subinventory_transfer", "item": p.item, "subinventory": p.subinventory, "to_subinventory": p.subinventory, "quantity": "1", "uom": p.uom}),
            422,
            "same_subinventory",
        ),
        (
            "transfer without destination",
            plain("subinventory_transfer", json!("1")),
            422,
            "to_subinventory_required",
        ),
        (
            "transfer to unknown",
            json!({"kind": "subinventory_transfer", "item": p.item, "subinventory": p.subinventory, "to_subinventory": "ATTIC", "quantity": "1", "uom": p.uom}),
            422,
            "unknown_subinventory",
        ),
        (
            "transfer negative",
            json!({"kind": "subinventory_transfer", "item": p.item, "subinventory": p.subinventory, "to_subinventory": other_sub, "quantity": "-1", "uom": p.uom}),
            422,
            "invalid_quantity_sign",
        ),
        (
            "issue with destination",
            json!({"kind": "misc_issue", "item": p.item, "subinventory": p.subinventory, "to_subinventory": other_sub, "quantity": "-1", "uom": p.uom}),
            422,
            "to_subinventory_not_allowed",
        ),
        (
            "issue below zero",
            plain("misc_issue", json!(format!("-{too_much}"))),
            409,
            "insufficient_onhand",
        ),
        (
            "transfer more than on hand",
            json!({"kind": "subinventory_transfer", "item": p.item, "subinventory": p.subinventory, "to_subinventory": other_sub, "quantity": too_much, "uom": p.uom}),
            409,
            "insufficient_onhand",
        ),
        (
            "serials on plain item",
            json!({"kind": "misc_receipt", "item": p.item, "subinventory": p.subinventory, "quantity": "1", "uom": p.uom, "serials": ["X1"]}),
            422,
            "serials_not_allowed",
        ),
        (
            "lots on plain item",
            json!({"kind": "misc_receipt", "item": p.item, "subinventory": p.subinventory, "quantity": "1", "uom": p.uom, "lots": [{"lot": "A", "quantity": "1", "expiration": "2030-01-01"}]}),
            422,
            "lots_not_allowed",
        ),
        (
            "serial item without serials",
            json!({"kind": "misc_receipt", "item": s.item, "subinventory": "STORES", "quantity": "1", "uom": "EA"}),
            422,
            "serials_required",
        ),
        (
            "serial count mismatch",
            json!({"kind": "misc_issue", "item": s.item, "subinventory": s.subinventory, "quantity": "-2", "uom": "EA", "serials": [s.serials[0]]}),
            422,
            "serial_count_mismatch",
        ),
        (
            "duplicate serials",
            json!({"kind": "misc_issue", "item": s.item, "subinventory": s.subinventory, "quantity": "-2", "uom": "EA", "serials": [s.serials[0], s.serials[0]]}),
            422,
            "duplicate_serial",
        ),
        (
            "serial not on hand",
            json!({"kind": "misc_issue", "item": s.item, "subinventory": s.subinventory, "quantity": "-1", "uom": "EA", "serials": ["SN-NOT-HERE"]}),
            409,
            "serial_not_on_hand",
        ),
        (
            "serial received twice",
            json!({"kind": "misc_receipt", "item": s.item, "subinventory": "RETURNS", "quantity": "1", "uom": "EA", "serials": [s.serials[0]]}),
            409,
            "serial_already_on_hand",
        ),
        (
            "lot item without lots",
            json!({"kind": "misc_issue", "item": l.item, "subinventory": l.subinventory, "quantity": "-1", "uom": l.uom}),
            422,
            "lots_required",
        ),
        (
            "lot sum mismatch",
            json!({"kind": "misc_issue", "item": l.item, "subinventory": l.subinventory, "quantity": "-3", "uom": l.uom, "lots": [{"lot": lot.number, "quantity": "2"}]}),
            422,
            "lot_quantity_mismatch",
        ),
        (
            "negative lot quantity",
            json!({"kind": "misc_issue", "item": l.item, "subinventory": l.subinventory, "quantity": "-2", "uom": l.uom, "lots": [{"lot": lot.number, "quantity": "-2"}]}),
            422,
            "invalid_quantity_sign",
        ),
        (
            "new lot without expiration",
            json!({"kind": "misc_receipt", "item": l.item, "subinventory": "STORES", "quantity": "2", "uom": l.uom, "lots": [{"lot": "FRESH-1", "quantity": "2"}]}),
            422,
            "lot_expiration_required",
        ),
        (
            "expiration contradicts lot",
            json!({"kind": "misc_receipt", "item": l.item, "subinventory": l.subinventory, "quantity": "2", "uom": l.uom, "lots": [{"lot": lot.number, "quantity": "2", "expiration": "2099-01-01"}]}),
            422,
            "lot_expiration_mismatch",
        ),
        (
            "issue from unknown lot",
            json!({"kind": "misc_issue", "item": l.item, "subinventory": l.subinventory, "quantity": "-1", "uom": l.uom, "lots": [{"lot": "NOPE", "quantity": "1"}]}),
            409,
            "insufficient_onhand",
        ),
        (
            "unknown field",
            json!({"kind": "misc_receipt", "item": p.item, "subinventory": p.subinventory, "quantity": "1", "uom": p.uom, "colour": "red"}),
            400,
            "unknown_field",
        ),
        (
            "missing field",
            json!({"kind": "misc_receipt", "item": p.item, "subinventory": p.subinventory, "uom": p.uom}),
            400,
            "missing_field",
        ),
        (
            "bad client id",
            json!({"id": "has spaces", "kind": "misc_receipt", "item": p.item, "subinventory": p.subinventory, "quantity": "1", "uom": p.uom}),
            422,
            "invalid_id",
        ),
    ];
    let before = env.snapshot(dc);
    for (name, body, want_status, want_code) in cases {
        let (status, resp) = env.post("/v1/dcs/DC01/transactions", body).await;
        assert_eq!(status.as_u16(), want_status, "{name}: {resp}");
        assert_eq!(resp["error"]["code"], want_code, "{name}: {resp}");
        assert_eq!(env.snapshot(dc), before, "{name} changed state");
    }
    let (status, resp) = env.post_raw("/v1/dcs/DC01/transactions", "{\"kind\": ").await;
    assert_error(status, &resp, 400, "malformed_json");
    let (status, resp) = env.post_raw("/v1/dcs/DC01/transactions", "not json").await;
    assert_error(status, &resp, 400, "malformed_json");
    let (status, resp) = env
        .post("/v1/dcs/DC77/transactions", plain("misc_receipt", json!("1")))
        .await;
    assert_error(status, &resp, 404, "unknown_dc");
    assert_eq!(env.snapshot(dc), before);
    assert_eq!(env.wms.summary()[0].transactions, 0);
}

#[tokio::test]
async fn capture_with_a_client_id_is_idempotent() {
    let env = start(1, 200).await;
    let p = env.stocked("DC01", Control::Plain, 0, 5);
    let body = json!({"id": "POS-42", "kind": "misc_issue", "item": p.item, "subinventory": p.subinventory, "quantity": "-2", "uom": p.uom});
    let (status, first) = env.post("/v1/dcs/DC01/transactions", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["id"], "POS-42");
    let (status, again) = env.post("/v1/dcs/DC01/transactions", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    let mut different = json!({"id": "POS-42", "kind": "misc_issue", "item": p.item, "subinventory": p.subinventory, "quantity": "-1", "uom": p.uom});
    let (status, resp) = env.post("/v1/dcs/DC01/transactions", different.take()).await;
    assert_error(status, &resp, 409, "duplicate_transaction_id");
    assert_eq!(
        env.wms.on_hand("DC01", &p.item, &p.subinventory, None).unwrap(),
        p.quantity - rust_decimal::Decimal::from(2)
    );
    assert_eq!(env.wms.outbox_len("DC01"), 1);
}

#[tokio::test]
async fn outcomes_are_idempotent_and_conflicts_are_refused() {
    let env = start(1, 300).await;
    let ids: Vec<String> = env
        .wms
        .generate_activity(Some("DC01"), 3)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let path = |id: &str| format!("/v1/dcs/DC01/transactions/{id}/outcome");
    let synced = json!({"status": "synced", "fusion_reference": "FUS-1"});

    let (status, first) = env.post(&path(&ids[0]), synced.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "synced");
    assert_eq!(first["fusion_reference"], "FUS-1");
    assert_eq!(env.wms.outbox_len("DC01"), 2);
    assert_eq!(env.wms.reservations_count("DC01"), 2);
    let (status, again) = env.post(&path(&ids[0]), synced.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);

    let (status, resp) = env
        .post(&path(&ids[0]), json!({"status": "synced", "fusion_reference": "FUS-2"}))
        .await;
    assert_error(status, &resp, 409, "conflicting_outcome");
    let (status, resp) = env
        .post(&path(&ids[0]), json!({"status": "sync_failed", "error": "late"}))
        .await;
    assert_error(status, &resp, 409, "conflicting_outcome");
    assert_eq!(
        env.wms
            .transaction("DC01", &ids[0])
            .unwrap()
            .fusion_reference
            .as_deref(),
        Some("FUS-1")
    );

    let failed = json!({"status": "sync_failed", "error": "Fusion 503"});
    let (status, f1) = env.post(&path(&ids[1]), failed.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f1["status"], "sync_failed");
    assert_eq!(f1["last_error"], "Fusion 503");
    let (status, f2) = env.post(&path(&ids[1]), failed).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f2, f1);
    assert_eq!(env.wms.outbox_len("DC01"), 2, "sync_failed stays in the outbox");
    assert_eq!(
        env.wms.reservations_count("DC01"),
        2,
        "sync_failed keeps its reservation"
    );
    let (_, outbox) = env.get("/v1/dcs/DC01/outbox").await;
    let statuses: Vec<&str> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["sync_failed", "pending_sync"]);
    let summary = &env.wms.summary()[0];
    assert_eq!((summary.outbox_pending, summary.outbox_failed), (1, 1));

    let (status, retried) = env
        .post(&path(&ids[1]), json!({"status": "synced", "fusion_reference": "FUS-9"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retried["status"], "synced");
    assert_eq!(env.wms.outbox_len("DC01"), 1);
    assert_eq!(env.wms.reservations_count("DC01"), 1);

    let (status, resp) = env.post(&path("DC01-000999999"), synced.clone()).await;
    assert_error(status, &resp, 404, "unknown_transaction");
    let (status, resp) = env.post(&path(&ids[2]), json!({"status": "done"})).await;
    assert_error(status, &resp, 422, "invalid_status");
    let (status, resp) = env.post(&path(&ids[2]), json!({"status": "synced"})).await;
    assert_error(status, &resp, 422, "fusion_reference_required");
    let (status, resp) = env
        .post(
            &path(&ids[2]),
            json!({"status": "synced", "fusion_reference": "x", "extra": 1}),
        )
        .await;
    assert_error(status, &resp, 400, "unknown_field");
    let (status, resp) = env.post_raw(&path(&ids[2]), "{").await;
    assert_error(status, &resp, 400, "malformed_json");
    assert_eq!(
        env.wms.transaction("DC01", &ids[2]).unwrap().status,
        wms_sim::TxStatus::PendingSync
    );
}

#[tokio::test]
async fn holds_are_idempotent_and_released_once() {
    let env = start(1, 100).await;
    let item = "ITM-000042";
    let hold = json!({"reason": "variance -73", "placed_by": "invsync", "reference": "INC-1"});
    let (status, placed) = env.put(&format!("/v1/dcs/DC01/holds/{item}"), hold).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(placed["reference"], "INC-1");
    let (status, again) = env
        .put(
            &format!("/v1/dcs/DC01/holds/{item}"),
            json!({"reason": "other", "placed_by": "bob"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, placed, "the original hold is kept");
    let (status, list) = env.get("/v1/dcs/DC01/holds").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([placed]));

    let release = json!({"released_by": "jane", "reason": "counted"});
    let (status, released) = env
        .post(&format!("/v1/dcs/DC01/holds/{item}/release"), release.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(released["released_by"], "jane");
    assert_eq!(released["placed_at"], placed["placed_at"]);
    let (status, again) = env
        .post(
            &format!("/v1/dcs/DC01/holds/{item}/release"),
            json!({"released_by": "someone else"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, released);
    assert!(env.wms.holds("DC01").is_empty());
    let (_, list) = env.get("/v1/dcs/DC01/holds").await;
    assert_eq!(list, json!([]));

    let (status, resp) = env
        .put(
            "/v1/dcs/DC01/holds/ITM-999999",
            json!({"reason": "x", "placed_by": "y"}),
        )
        .await;
    assert_error(status, &resp, 422, "unknown_item");
    let (status, resp) = env
        .post("/v1/dcs/DC01/holds/ITM-999999/release", json!({"released_by": "y"}))
        .await;
    assert_error(status, &resp, 422, "unknown_item");
    let (status, resp) = env
        .post("/v1/dcs/DC01/holds/ITM-000007/release", json!({"released_by": "y"}))
        .await;
    assert_error(status, &resp, 404, "no_hold");
    let (status, resp) = env
        .put("/v1/dcs/DC01/holds/ITM-000007", json!({"reason": "", "placed_by": "y"}))
        .await;
    assert_error(status, &resp, 422, "reason_required");
    let (status, resp) = env.put("/v1/dcs/DC01/holds/ITM-000007", json!({"reason": "x"})).await;
    assert_error(status, &resp, 400, "missing_field");
    let (status, resp) = env
        .put(
            "/v1/dcs/DC09/holds/ITM-000007",
            json!({"reason": "x", "placed_by": "y"}),
        )
        .await;
    assert_error(status, &resp, 404, "unknown_dc");
    assert!(env.wms.holds("DC01").is_empty());

    let (status, placed) = env
        .put(
            &format!("/v1/dcs/DC01/holds/{item}"),
            json!({"reason": "again", "placed_by": "invsync"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a released item can be held again: {placed}"
    );
    let (_, state) = env.get("/admin/state").await;
    assert_eq!(state["dcs"][0]["holds"], 1);
}

#[tokio::test]
async fn outbox_pages_in_sequence_order_with_a_cursor() {
    let env = start(1, 500).await;
    env.wms.generate_activity(Some("DC01"), 25).unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/dcs/DC01/outbox?limit=7&cursor={c}"),
            None => "/v1/dcs/DC01/outbox?limit=7".to_string(),
        };
        let (status, page) = env.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        for t in page["items"].as_array().unwrap() {
            seen.push(t["sequence"].as_u64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).collect::<Vec<u64>>());
}

#[tokio::test]
async fn faults_fail_calls_without_changing_state_and_stats_count_them() {
    let env = start(1, 200).await;
    let id = env.wms.generate_activity(Some("DC01"), 1).unwrap()[0].id.clone();
    let (status, _) = env
        .put(
            "/admin/faults",
            json!({"fail_next": [{"endpoint": "POST outcome", "status": 503, "count": 1}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/v1/dcs/DC01/transactions/{id}/outcome");
    let body = json!({"status": "synced", "fusion_reference": "F-1"});
    let resp = env
        .http
        .post(env.url(&path))
        .header("X-Api-Key", wms_sim::DEFAULT_API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "injected_fault");
    assert_eq!(env.wms.outbox_len("DC01"), 1);
    let (status, _) = env.post(&path, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(env.wms.outbox_len("DC01"), 0);

    let (status, _) = env.put("/admin/faults", json!({"error_500_rate": 1.0})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = env.get("/v1/dcs").await;
    assert_error(status, &body, 500, "injected_fault");
    let (status, body) = env.put("/admin/faults", json!({"error_500_rate": 1.5})).await;
    assert_error(status, &body, 422, "invalid_rate");
    env.put("/admin/faults", json!({})).await;
    let (status, _) = env.get("/v1/dcs").await;
    assert_eq!(status, StatusCode::OK);

    let (status, stats) = env.get("/admin/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["endpoints"]["POST outcome"]["requests"], 2);
    assert_eq!(stats["endpoints"]["POST outcome"]["by_status"]["503"], 1);
    assert_eq!(stats["endpoints"]["GET dcs"]["by_status"]["500"], 1);
    let (status, _) = env.post("/admin/stats/reset", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(env
        .wms
        .stats()
        .keys()
        .all(|k| k.starts_with("GET /admin") || k.starts_with("POST /admin")));
    assert!(!env.wms.stats().contains_key("POST outcome"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_the_error_body() {
    let env = start(1, 50).await;
    let (status, body) = env.get("/v1/nope").await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = env.call(reqwest::Method::DELETE, "/v1/dcs", None).await;
    assert_error(status, &body, 405, "method_not_allowed");
}
