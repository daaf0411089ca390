//! `HttpWmsClient` over real HTTP against the WMS simulator (`tests/wms-sim`) on a free port of
//! 127.0.0.1, plus a raw-TCP stub for answers the simulator never gives (malformed outbox
//! entries, nonsense pages).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters::wms::{HttpWmsClient, WmsAuth, WmsConfig};
use domain::ports::{Hold, OutboxItem, SyncOutcome, WarehouseSystem, WmsBalance, WmsError};
use domain::{DcCode, ItemNumber, TxnKind};
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wms_sim::{FailNext, Faults, RunningWms, WmsSim};

type SimConfig = wms_sim::WmsConfig;

fn dc(code: &str) -> DcCode {
    DcCode::parse(code).unwrap()
}

async fn start(config: SimConfig) -> RunningWms {
    WmsSim::start(config).await.unwrap()
}

fn config_for(base_url: &str, auth: WmsAuth) -> WmsConfig {
    let mut config = WmsConfig::new(base_url, auth).unwrap();
    config.retry.min_delay = Duration::from_millis(10);
    config.retry.max_delay = Duration::from_millis(50);
    config.timeout = Duration::from_secs(20);
    config
}

fn client(sim: &RunningWms) -> HttpWmsClient {
    let key = SecretString::from(sim.api_key().unwrap().to_string());
    HttpWmsClient::new(config_for(sim.base_url(), WmsAuth::ApiKey(key))).unwrap()
}

/// Every balance row of `dc`, `limit` rows a page, following the cursor to the end as the
/// reconciliation does.
async fn all_balances(wms: &HttpWmsClient, dc: &DcCode, limit: usize) -> Result<Vec<WmsBalance>, WmsError> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = wms.balances(dc, cursor.as_deref(), limit).await?;
        rows.extend(page.items);
        match page.next_cursor {
            None => return Ok(rows),
            Some(next) => {
                assert_ne!(Some(&next), cursor.as_ref(), "the WMS returned the same cursor twice");
                cursor = Some(next);
            }
        }
    }
}

/// The whole outbox of `dc` in WMS sequence order, `limit` entries a page, as the sync reads it.
async fn all_outbox(wms: &HttpWmsClient, dc: &DcCode, limit: usize) -> Result<Vec<OutboxItem>, WmsError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = wms.outbox(dc, cursor.as_deref(), limit).await?;
        items.extend(page.items);
        match page.next_cursor {
            None => return Ok(items),
            Some(next) => {
                assert_ne!(Some(&next), cursor.as_ref(), "the WMS returned the same cursor twice");
                cursor = Some(next);
            }
        }
    }
}

/// The page size a client from [`config_for`] used to page with (`WmsConfig`'s default).
const DEFAULT_LIMIT: usize = WmsConfig::DEFAULT_PAGE_SIZE;

fn endpoint_counts(sim: &RunningWms, endpoint: &str) -> (u64, Vec<(u16, u64)>) {
    let stats = sim.stats();
    let e = stats.get(endpoint).cloned().unwrap_or_default();
    (e.requests, e.by_status.into_iter().collect())
}

#[tokio::test]
async fn all_balances_pages_through_fifty_thousand_items_and_matches_the_seed() {
    let config = SimConfig::small(1, 50_000);
    let seed = config.seed.clone();
    let sim = start(config).await;
    let settings = config_for(
        sim.base_url(),
        WmsAuth::ApiKey(SecretString::from(sim.api_key().unwrap().to_string())),
    );
    let wms = HttpWmsClient::new(settings).unwrap();

    let rows = all_balances(&wms, &dc("DC01"), 5000).await.unwrap();

    let catalog = sim_seed::generate(&seed);
    let mut expected: BTreeMap<(String, String, Option<String>), Decimal> = BTreeMap::new();
    for b in catalog.balances_of(0) {
        let key = (
            catalog.items[b.item].number.clone(),
            b.subinventory.clone(),
            b.lot.as_ref().map(|l| l.number.clone()),
        );
        *expected.entry(key).or_default() += b.quantity;
    }
    assert!(expected.len() >= 50_000, "seed has {} keys", expected.len());
    assert_eq!(rows.len(), expected.len());
    let sum: Decimal = rows.iter().map(|r| r.quantity).sum();
    assert_eq!(sum, expected.values().copied().sum::<Decimal>());
    let got: BTreeMap<(String, String, Option<String>), Decimal> = rows
        .iter()
        .map(|r| {
            let key = (
                r.key.item.to_string(),
                r.key.subinventory.to_string(),
                r.key.lot.as_ref().map(|l| l.to_string()),
            );
            (key, r.quantity)
        })
        .collect();
    assert_eq!(got.len(), rows.len(), "a row was returned twice");
    assert!(got == expected, "per-key quantities differ from the seed");
    assert!(rows.iter().all(|r| r.key.dc == dc("DC01")));
    assert!(rows
        .iter()
        .filter(|r| r.key.lot.is_some())
        .all(|r| r.expiration.is_some()));
    assert!(rows
        .iter()
        .filter(|r| !r.serials.is_empty())
        .all(|r| Decimal::from(r.serials.len()) == r.quantity));
    let pages = endpoint_counts(&sim, "GET balances").0;
    assert_eq!(pages as usize, rows.len().div_ceil(5000));
    sim.shutdown().await;
}

#[tokio::test]
async fn outbox_pages_follow_the_cursor_in_sequence_order() {
    let sim = start(SimConfig::small(2, 300)).await;
    let wms = client(&sim);
    let generated = sim.generate_activity(Some("DC01"), 250).unwrap();
    assert_eq!(generated.len(), 250);

    let first = wms.outbox(&dc("DC01"), None, 100).await.unwrap();
    assert_eq!(first.items.len(), 100);
    let cursor = first.next_cursor.clone().unwrap();
    let second = wms.outbox(&dc("DC01"), Some(&cursor), 100).await.unwrap();
    assert_eq!(second.items.len(), 100);
    assert_eq!(second.items[0].raw_id, generated[100].id);

    let all = all_outbox(&wms, &dc("DC01"), DEFAULT_LIMIT).await.unwrap();
    let ids: Vec<_> = all.iter().map(|i| i.raw_id.clone()).collect();
    let want: Vec<_> = generated.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, want);
    for (item, sim_tx) in all.iter().zip(&generated) {
        assert!(!item.failed_before);
        let txn = item.txn.as_ref().unwrap();
        assert_eq!(txn.id().as_str(), sim_tx.id);
        assert_eq!(*txn.dc(), dc("DC01"));
        assert_eq!(txn.kind().name(), sim_tx.kind.as_str());
        assert_eq!(txn.item().as_str(), sim_tx.item);
        assert_eq!(txn.quantity(), sim_tx.quantity);
        assert_eq!(txn.occurred_at(), sim_tx.occurred_at);
        if let TxnKind::SubinventoryTransfer { to } = &txn.kind() {
            assert_eq!(Some(to.to_string()), sim_tx.to_subinventory);
        }
    }
    assert!(all_outbox(&wms, &dc("DC02"), DEFAULT_LIMIT).await.unwrap().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn outcomes_are_idempotent_release_reservations_only_when_synced_and_refuse_conflicts() {
    let sim = start(SimConfig::small(1, 200)).await;
    let wms = client(&sim);
    let dc01 = dc("DC01");
    let txs = sim.generate_activity(Some("DC01"), 3).unwrap();
    let (a, b) = (&txs[0].id, &txs[1].id);
    assert_eq!(sim.reservations_count("DC01"), 3);
    let synced = SyncOutcome::Synced {
        fusion_reference: "300100612345678".into(),
    };

    wms.report(&dc01, a, &synced).await.unwrap();
    wms.report(&dc01, a, &synced).await.unwrap();
    assert_eq!(sim.reservations_count("DC01"), 2);
    assert_eq!(sim.outbox_len("DC01"), 2);

    let failed = SyncOutcome::Failed {
        error: "Fusion 400: the lot number is not valid".into(),
    };
    wms.report(&dc01, b, &failed).await.unwrap();
    wms.report(&dc01, b, &failed).await.unwrap();
    assert_eq!(sim.reservations_count("DC01"), 2, "sync_failed keeps the reservation");
    let outbox = all_outbox(&wms, &dc01, DEFAULT_LIMIT).await.unwrap();
    let entry = outbox.iter().find(|i| &i.raw_id == b).unwrap();
    assert!(entry.failed_before);

    let err = wms.report(&dc01, a, &failed).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Conflict(m) if m.contains("already synced")),
        "{err:?}"
    );
    let other_ref = SyncOutcome::Synced {
        fusion_reference: "999".into(),
    };
    let err = wms.report(&dc01, a, &other_ref).await.unwrap_err();
    assert!(matches!(err, WmsError::Conflict(_)), "{err:?}");

    wms.report(&dc01, b, &synced).await.unwrap();
    assert_eq!(sim.reservations_count("DC01"), 1);

    let err = wms.report(&dc01, "DC01-NOPE", &synced).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Rejected { status: 404, code, .. } if code == "unknown_transaction"),
        "{err:?}"
    );
    let err = wms
        .report(
            &dc01,
            &txs[2].id,
            &SyncOutcome::Synced {
                fusion_reference: "".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WmsError::Rejected { status: 422, code, .. } if code == "fusion_reference_required"),
        "{err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn holds_are_placed_idempotently_and_listed() {
    let sim = start(SimConfig::small(1, 50)).await;
    let wms = client(&sim);
    let dc01 = dc("DC01");
    let item = ItemNumber::parse("ITM-000007").unwrap();
    let hold = Hold {
        item: item.clone(),
        reason: "Variance of -73 EA between WMS and Fusion".into(),
        placed_by: "invsync".into(),
        reference: "INC-1".into(),
    };
    assert!(wms.holds(&dc01).await.unwrap().is_empty());

    wms.place_hold(&dc01, &hold).await.unwrap();
    let again = Hold {
        reason: "a second alert".into(),
        ..hold.clone()
    };
    wms.place_hold(&dc01, &again).await.unwrap();
    assert_eq!(wms.holds(&dc01).await.unwrap(), vec![hold.clone()]);
    let unreferenced = Hold {
        item: ItemNumber::parse("ITM-000003").unwrap(),
        reference: String::new(),
        ..hold.clone()
    };
    wms.place_hold(&dc01, &unreferenced).await.unwrap();
    assert_eq!(
        wms.holds(&dc01).await.unwrap(),
        vec![unreferenced.clone(), hold.clone()]
    );

    let unknown = Hold {
        item: ItemNumber::parse("ITM-999999").unwrap(),
        ..hold
    };
    let err = wms.place_hold(&dc01, &unknown).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Rejected { status: 422, code, .. } if code == "unknown_item"),
        "{err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_never_shown() {
    let sim = start(SimConfig::small(1, 10)).await;
    let secret = "wrong-key-7f3a9c1e";
    let wms = HttpWmsClient::new(config_for(sim.base_url(), WmsAuth::ApiKey(SecretString::from(secret)))).unwrap();
    let err = wms.balances(&dc("DC01"), None, 10).await.unwrap_err();
    assert_eq!(err, WmsError::Unauthorized(401));
    for text in [err.to_string(), format!("{err:?}"), format!("{wms:?}")] {
        assert!(!text.contains(secret), "{text}");
    }
    assert_eq!(endpoint_counts(&sim, "GET balances").0, 1, "401 is not retried");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bearer_token_is_accepted_when_the_wms_uses_one() {
    let sim = start(SimConfig {
        api_key: None,
        bearer_token: Some("bearer-token-42".into()),
        ..SimConfig::small(1, 10)
    })
    .await;
    let wms = HttpWmsClient::new(config_for(
        sim.base_url(),
        WmsAuth::Bearer(SecretString::from("bearer-token-42")),
    ))
    .unwrap();
    assert!(!wms.balances(&dc("DC01"), None, 10).await.unwrap().items.is_empty());
    assert!(wms.holds(&dc("DC01")).await.unwrap().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_dc_is_reported_as_unknown_on_every_endpoint() {
    let sim = start(SimConfig::small(1, 10)).await;
    let wms = client(&sim);
    let dc99 = dc("DC99");
    let want = WmsError::UnknownDc("DC99".into());
    assert_eq!(wms.balances(&dc99, None, 10).await.unwrap_err(), want);
    assert_eq!(wms.outbox(&dc99, None, 10).await.unwrap_err(), want);
    assert_eq!(wms.holds(&dc99).await.unwrap_err(), want);
    let outcome = SyncOutcome::Failed { error: "x".into() };
    assert_eq!(wms.report(&dc99, "T1", &outcome).await.unwrap_err(), want);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_503s_are_retried_honouring_retry_after() {
    let sim = start(SimConfig::small(1, 20)).await;
    let wms = client(&sim);
    sim.set_faults(Faults {
        fail_next: vec![FailNext {
            endpoint: "GET balances".into(),
            status: 503,
            count: 2,
        }],
        ..Faults::default()
    })
    .unwrap();
    let started = Instant::now();
    let page = wms.balances(&dc("DC01"), None, 5).await.unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(endpoint_counts(&sim, "GET balances"), (3, vec![(200, 1), (503, 2)]));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_outcome_report_is_retried_after_a_500_and_lands_once() {
    let sim = start(SimConfig::small(1, 50)).await;
    let wms = client(&sim);
    let tx = sim.generate_activity(Some("DC01"), 1).unwrap().remove(0);
    sim.set_faults(Faults {
        fail_next: vec![FailNext {
            endpoint: "POST outcome".into(),
            status: 500,
            count: 1,
        }],
        ..Faults::default()
    })
    .unwrap();
    let synced = SyncOutcome::Synced {
        fusion_reference: "42".into(),
    };
    wms.report(&dc("DC01"), &tx.id, &synced).await.unwrap();
    assert_eq!(endpoint_counts(&sim, "POST outcome"), (2, vec![(200, 1), (500, 1)]));
    assert_eq!(sim.reservations_count("DC01"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn retries_stop_after_the_limit_and_refusals_are_never_retried() {
    let sim = start(SimConfig::small(1, 20)).await;
    let key = SecretString::from(sim.api_key().unwrap().to_string());
    let mut settings = config_for(sim.base_url(), WmsAuth::ApiKey(key));
    settings.retry.max_retries = 2;
    let wms = HttpWmsClient::new(settings).unwrap();
    sim.set_faults(Faults {
        fail_next: vec![
            FailNext {
                endpoint: "GET outbox".into(),
                status: 500,
                count: 10,
            },
            FailNext {
                endpoint: "GET holds".into(),
                status: 422,
                count: 1,
            },
        ],
        ..Faults::default()
    })
    .unwrap();
    let err = wms.outbox(&dc("DC01"), None, 10).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Unavailable(m) if m.contains("500 injected_fault")),
        "{err:?}"
    );
    assert_eq!(endpoint_counts(&sim, "GET outbox").0, 3);
    let err = wms.holds(&dc("DC01")).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Rejected { status: 422, code, .. } if code == "injected_fault"),
        "{err:?}"
    );
    assert_eq!(endpoint_counts(&sim, "GET holds").0, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_unavailable() {
    let sim = start(SimConfig::small(1, 10)).await;
    let key = SecretString::from(sim.api_key().unwrap().to_string());
    let mut settings = config_for(sim.base_url(), WmsAuth::ApiKey(key.clone()));
    settings.timeout = Duration::from_millis(100);
    settings.retry.max_retries = 1;
    let wms = HttpWmsClient::new(settings).unwrap();
    sim.set_faults(Faults {
        latency_ms: 400,
        ..Faults::default()
    })
    .unwrap();
    let err = wms.holds(&dc("DC01")).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Unavailable(m) if m.contains("timed out")),
        "{err:?}"
    );
    sim.shutdown().await;

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut settings = config_for(&url, WmsAuth::ApiKey(key));
    settings.retry.max_retries = 1;
    let err = HttpWmsClient::new(settings)
        .unwrap()
        .holds(&dc("DC01"))
        .await
        .unwrap_err();
    assert!(matches!(err, WmsError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn page_size_above_the_contract_maximum_is_clamped() {
    let sim = start(SimConfig::small(1, 5000)).await;
    let wms = client(&sim);
    assert!(sim.balances("DC01").len() > 5000);
    let page = wms.balances(&dc("DC01"), None, 50_000).await.unwrap();
    assert_eq!(page.items.len(), 5000);
    assert!(page.next_cursor.is_some());
    let page = wms.balances(&dc("DC01"), None, 0).await.unwrap();
    assert_eq!(page.items.len(), 1);
    sim.shutdown().await;
}

/// Serves `responses` in order, one per connection, on 127.0.0.1; returns the base URL.
async fn stub(responses: Vec<(u16, &'static str, String)>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        for (status, extra_headers, body) in responses {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, task)
}

fn stub_client(url: &str) -> HttpWmsClient {
    HttpWmsClient::new(config_for(url, WmsAuth::ApiKey(SecretString::from("stub-key-123")))).unwrap()
}

#[tokio::test]
async fn a_malformed_outbox_entry_is_returned_with_its_error_and_the_page_survives() {
    let page = serde_json::json!({
        "items": [
            {"id": "DC01-1", "sequence": 1, "kind": "misc_receipt", "item": "ITM-1", "subinventory": "STORES",
             "to_subinventory": null, "quantity": "5", "uom": "EA", "lots": [], "serials": [],
             "occurred_at": "2026-11-01T10:00:00Z", "status": "pending_sync", "last_error": null},
            {"id": "DC01-2", "sequence": 2, "kind": "misc_issue", "item": "ITM-1", "subinventory": "STORES",
             "to_subinventory": null, "quantity": "4", "uom": "EA", "lots": [], "serials": [],
             "occurred_at": "2026-11-01T10:01:00Z", "status": "sync_failed", "last_error": "boom"},
            {"id": "DC01-3", "sequence": 3, "kind": "misc_receipt", "item": "ITM-1", "subinventory": "STORES",
             "to_subinventory": null, "quantity": "1.5e3", "uom": "EA", "lots": [], "serials": [],
             "occurred_at": "2026-11-01T10:02:00Z", "status": "pending_sync", "last_error": null}
        ],
        "next_cursor": null
    });
    let (url, task) = stub(vec![(200, "", page.to_string())]).await;
    let items = stub_client(&url).outbox(&dc("DC01"), None, 10).await.unwrap().items;
    task.await.unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].txn.is_ok());
    assert_eq!(items[1].raw_id, "DC01-2");
    assert!(items[1].failed_before);
    let e = items[1].txn.clone().unwrap_err().to_string();
    assert!(e.contains("an issue needs a negative quantity"), "{e}");
    let e = items[2].txn.clone().unwrap_err().to_string();
    assert!(e.contains("\"1.5e3\"") && e.contains("not a plain decimal"), "{e}");
}

#[tokio::test]
async fn nonsense_answers_are_invalid_responses_and_odd_errors_keep_their_status() {
    let (url, task) = stub(vec![
        (200, "", "<html>maintenance</html>".into()),
        (200, "", r#"{"items": [], "next_cursor": null}"#.into()),
        (200, "", r#"{"items": [{"item": "ITM-1"}], "next_cursor": null}"#.into()),
        (400, "", "stub-key-123 is not welcome here".into()),
        (
            429,
            "retry-after: 0\r\n",
            r#"{"error": {"code": "slow_down", "message": "later"}}"#.into(),
        ),
        (200, "", "[]".into()),
        (302, "location: http://elsewhere.invalid/\r\n", String::new()),
    ])
    .await;
    let mut settings = config_for(&url, WmsAuth::ApiKey(SecretString::from("stub-key-123")));
    settings.retry.max_retries = 0;
    let wms = HttpWmsClient::new(settings).unwrap();
    let dc01 = dc("DC01");
    let err = wms.outbox(&dc01, None, 10).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::InvalidResponse(m) if m.contains("not JSON")),
        "{err:?}"
    );
    assert!(wms.balances(&dc01, None, 10).await.unwrap().items.is_empty());
    let err = wms.balances(&dc01, None, 10).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::InvalidResponse(m) if m.contains("row 0")),
        "{err:?}"
    );
    let err = wms.holds(&dc01).await.unwrap_err();
    match &err {
        WmsError::Rejected { status, code, message } => {
            assert_eq!((*status, code.as_str()), (400, "http_400"));
            assert!(message.contains("[REDACTED] is not welcome"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let err = wms.holds(&dc01).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::Unavailable(m) if m.contains("429 slow_down")),
        "{err:?}"
    );
    assert!(wms.holds(&dc01).await.unwrap().is_empty());
    let err = wms.holds(&dc01).await.unwrap_err();
    assert!(
        matches!(&err, WmsError::InvalidResponse(m) if m.contains("302")),
        "{err:?}"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn an_answer_larger_than_the_configured_maximum_is_refused_not_held() {
    let sim = start(SimConfig::small(1, 2_000)).await;
    let mut settings = config_for(
        sim.base_url(),
        WmsAuth::ApiKey(SecretString::from(sim.api_key().unwrap().to_string())),
    );
    settings.max_response_bytes = 4096;
    let wms = HttpWmsClient::new(settings).unwrap();
    let err = all_balances(&wms, &dc("DC01"), 2000).await.unwrap_err();
    assert!(err.to_string().contains("larger than 4096 bytes"), "{err}");
    assert_eq!(endpoint_counts(&sim, "GET balances").0, 1, "not retried");
}
