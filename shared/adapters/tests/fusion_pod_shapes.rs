//! `HttpFusionClient` against the shapes real Fusion pods take that a friendly simulator hides
//! (fact sheet §1-§5), over real HTTP: paged expanded children (framework v3+), the
//! interface's unprocessed rows with their errors, a missing UOM resource, mixed-case UOM
//! codes, plain-text errors (framework < 4) and rejected credentials.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient, TransactionMode};
use chrono::DateTime;
use domain::ports::{FusionError, StagedStatus};
use domain::txn::{FusionTxnType, SourceRef, StagedPost};
use domain::{DcCode, ItemNumber, SerialNumber, SubinventoryCode, Uom, WmsTxnId};
use fusion_sim::{Faults, FusionSim, HasMoreLies, RunningSim, SimConfig};
use rust_decimal::Decimal;
use secrecy::SecretString;
use sim_seed::{Catalog, Control, SeedConfig, UomStyle};

struct Env {
    sim: RunningSim,
    catalog: Catalog,
}

async fn start(tweak: impl FnOnce(&mut SimConfig)) -> Env {
    let mut cfg = SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items: 200,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    };
    tweak(&mut cfg);
    let catalog = sim_seed::generate(&cfg.seed);
    Env {
        sim: FusionSim::start(cfg).await.unwrap(),
        catalog,
    }
}

fn config(env: &Env, tweak: impl FnOnce(&mut FusionConfig)) -> FusionConfig {
    let mut c = FusionConfig::new(
        env.sim.url(),
        Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from("Welcome1"),
        },
    );
    c.retry_base_delay = Duration::from_millis(5);
    c.retry_max_delay = Duration::from_millis(20);
    tweak(&mut c);
    c
}

fn client(env: &Env, tweak: impl FnOnce(&mut FusionConfig)) -> HttpFusionClient {
    HttpFusionClient::new(config(env, tweak)).unwrap()
}

fn dc() -> DcCode {
    DcCode::parse("DC01").unwrap()
}

/// The first item of `control` (index), with its number and UOM.
fn item_of(env: &Env, control: Control) -> (ItemNumber, Uom) {
    let it = env.catalog.items.iter().find(|i| i.control == control).unwrap();
    (
        ItemNumber::parse(it.number.clone()).unwrap(),
        Uom::parse(it.uom.clone()).unwrap(),
    )
}

fn receipt(item: &ItemNumber, uom: &Uom, txn: &str, line: u32, quantity: i64) -> StagedPost {
    StagedPost {
        source: SourceRef {
            txn: WmsTxnId::parse(txn).unwrap(),
            line,
            lines: 2,
        },
        dc: dc(),
        item: item.clone(),
        subinventory: SubinventoryCode::parse("STORES").unwrap(),
        transfer_subinventory: None,
        txn_type: FusionTxnType::MiscellaneousReceipt,
        quantity: Decimal::from(quantity),
        uom: uom.clone(),
        lots: vec![],
        serials: vec![],
        transaction_date: DateTime::from_timestamp(1_793_000_000, 0).unwrap(),
    }
}

/// Receives 60 new serials into STORES in two posts (the 50-per-call limit).
async fn receive_60_serials(c: &HttpFusionClient, item: &ItemNumber, uom: &Uom) -> Vec<String> {
    let serials: Vec<String> = (0..60).map(|i| format!("SN60-{i:03}")).collect();
    for (line, chunk) in serials.chunks(50).enumerate() {
        let mut p = receipt(item, uom, "T-SER60", line as u32 + 1, chunk.len() as i64);
        p.serials = chunk.iter().map(|s| SerialNumber::parse(s.clone()).unwrap()).collect();
        c.post_staged(&p).await.unwrap();
    }
    serials
}

#[tokio::test]
async fn a_key_with_60_serials_reads_in_full_under_framework_v4_even_when_has_more_is_missing() {
    for lies in [HasMoreLies::None, HasMoreLies::Omit] {
        let env = start(|_| {}).await;
        let c = client(&env, |c| c.framework_version = "4".into());
        let (item, uom) = item_of(&env, Control::Serial);
        let added = receive_60_serials(&c, &item, &uom).await;
        let want = env.sim.serials("DC01", item.as_str(), "STORES");
        assert!(want.len() >= 60);
        env.sim.set_faults(Faults {
            hasmore_lies: lies,
            ..Faults::default()
        });

        let rows = c.onhand(&dc()).await.unwrap();

        let row = rows
            .iter()
            .find(|r| r.item == item && r.subinventory.as_str() == "STORES")
            .unwrap();
        let got: Vec<String> = row.serials.iter().map(|s| s.to_string()).collect();
        assert_eq!(got.len(), want.len(), "{lies:?}: every serial read");
        for s in &added {
            assert!(got.contains(s), "{lies:?}: {s} missing");
        }
        assert_eq!(row.quantity, Decimal::from(want.len() as u64));
        assert!(
            env.sim.request_count("GET inventoryOnhandBalances") > 1,
            "{lies:?}: the rest came from the child resource: {:?}",
            env.sim.stats()
        );
    }
}

#[tokio::test]
async fn the_interface_lists_pending_and_failed_rows_with_children_and_fusions_text() {
    let env = start(|c| c.faults.fail_processing_refs = vec!["T-BG-2#1".into()]).await;
    let c = client(&env, |c| c.transaction_mode = TransactionMode::Background);
    let (item, uom) = item_of(&env, Control::Plain);
    for txn in ["T-BG-1", "T-BG-2", "T-BG-3"] {
        let mut p = receipt(&item, &uom, txn, 1, 4);
        p.source.lines = 1;
        let receipt = c.post_staged(&p).await.unwrap();
        assert!(!receipt.processed, "Background mode leaves the row staged");
    }
    let (sitem, suom) = item_of(&env, Control::Serial);
    let added = receive_60_serials(&c, &sitem, &suom).await;

    let staged = c.staged(&dc()).await.unwrap();
    assert_eq!(staged.len(), 5);
    assert!(staged.iter().all(|l| l.status == StagedStatus::Pending));
    let serials: usize = staged.iter().map(|l| l.serials.len()).sum();
    assert_eq!(serials, added.len(), "serial children read in full");
    let ours = staged.iter().filter_map(|l| l.source.as_ref()).count();
    assert_eq!(ours, 5, "our SourceCode, parsed back to Source* references");

    env.sim.process_oldest(2);
    let staged = c.staged(&dc()).await.unwrap();
    assert_eq!(staged.len(), 4, "a processed row left the interface");
    let failed: Vec<_> = staged
        .iter()
        .filter_map(|l| match &l.status {
            StagedStatus::Failed { error } => Some((l.source.clone().unwrap().txn.to_string(), error.clone())),
            StagedStatus::Pending => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{staged:?}");
    assert_eq!(failed[0].0, "T-BG-2");
    assert!(failed[0].1.contains("INV-PROC-SCRIPTED"), "{}", failed[0].1);
}

#[tokio::test]
async fn a_pod_without_the_uom_resource_falls_back_to_the_configured_precision() {
    let env = start(|c| c.faults.missing_resources = vec!["unitsOfMeasure".into()]).await;
    let c = client(&env, |c| c.uom_default_precision = 3);
    let (item, uom) = item_of(&env, Control::Plain);
    let info = c.item_info(&dc(), &item).await.unwrap();
    assert_eq!(info.uom_scale, 3);
    let receipt = c.post_staged(&receipt(&item, &uom, "T-NOUOM", 1, 2)).await.unwrap();
    assert!(receipt.processed);
    // Refused as forbidden (the role lacks it): the same fallback.
    let env = start(|c| c.faults.forbidden_resources = vec!["unitsOfMeasure".into()]).await;
    let c = client(&env, |_| {});
    assert_eq!(c.item_info(&dc(), &item).await.unwrap().uom_scale, 5);
}

#[tokio::test]
async fn mixed_case_uom_codes_are_kept_and_compared_exactly() {
    let env = start(|c| c.seed.uom_style = UomStyle::Mixed).await;
    let c = client(&env, |_| {});
    let each = env
        .catalog
        .items
        .iter()
        .find(|i| i.uom == "Ea" && i.control == Control::Plain)
        .unwrap();
    let item = ItemNumber::parse(each.number.clone()).unwrap();
    let info = c.item_info(&dc(), &item).await.unwrap();
    assert_eq!(info.primary_uom.as_str(), "Ea");
    c.post_staged(&receipt(&item, &info.primary_uom, "T-EA", 1, 1))
        .await
        .unwrap();
    let upper = c
        .post_staged(&receipt(&item, &Uom::parse("EA").unwrap(), "T-EA-UP", 1, 1))
        .await
        .unwrap_err();
    assert!(upper.to_string().contains("EA"), "{upper}");
    let rows = c.onhand(&dc()).await.unwrap();
    assert!(rows.iter().any(|r| r.uom.as_str() == "Ea"));
}

#[tokio::test]
async fn plain_text_errors_of_older_frameworks_keep_fusions_text() {
    let env = start(|_| {}).await;
    let c = client(&env, |c| c.framework_version = "2".into());
    let (item, uom) = item_of(&env, Control::Plain);
    let mut p = receipt(&item, &uom, "T-PLAIN", 1, 1);
    p.item = ItemNumber::parse("NO-SUCH-ITEM").unwrap();
    let err = c.post_staged(&p).await.unwrap_err();
    assert!(matches!(err, FusionError::NotFound(_)), "{err}");
    env.sim.set_faults(Faults {
        fail_next: vec![fusion_sim::ScriptedFault {
            endpoint: "POST inventoryStagedTransactions".into(),
            status: fusion_sim::FaultStatus::Code(400),
            count: 1,
        }],
        ..Faults::default()
    });
    let err = c
        .post_staged(&receipt(&item, &uom, "T-PLAIN-2", 1, 1))
        .await
        .unwrap_err();
    match err {
        FusionError::Rejected { status, detail } => {
            assert_eq!(status, 400);
            assert!(
                !detail.is_empty() && !detail.starts_with('{'),
                "plain text kept: {detail}"
            );
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn rejected_credentials_cost_one_login_for_many_concurrent_calls_until_replaced() {
    let env = start(|_| {}).await;
    let c = client(&env, |c| {
        c.credentials = Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from("wrong"),
        }
    });
    let items: Vec<ItemNumber> = env
        .catalog
        .items
        .iter()
        .take(20)
        .map(|i| ItemNumber::parse(i.number.clone()).unwrap())
        .collect();
    let dc = dc();
    let calls = items.iter().map(|i| c.item_info(&dc, i));
    let results = futures::future::join_all(calls).await;
    assert!(results
        .iter()
        .all(|r| r.as_ref().err() == Some(&FusionError::Unauthorized)));
    let requests: u64 = env.sim.stats().values().sum();
    assert_eq!(
        requests,
        1,
        "one login attempt, not one per call: {:?}",
        env.sim.stats()
    );
    assert!(c.credentials_rejected());

    c.replace_credentials(Credentials::Basic {
        user: "integration.user".into(),
        password: SecretString::from("Welcome1"),
    })
    .await;
    assert!(!c.credentials_rejected());
    assert!(c.item_info(&dc, &items[0]).await.is_ok());
}

#[test]
fn plain_http_to_a_remote_pod_is_a_configuration_error_before_any_call() {
    let basic = Credentials::Basic {
        user: "integration.user".into(),
        password: SecretString::from("Welcome1"),
    };
    let err = HttpFusionClient::new(FusionConfig::new("http://pod.example.com", basic.clone())).unwrap_err();
    assert!(
        err.to_string().contains("FUSION_BASE_URL") && err.to_string().contains("https"),
        "{err}"
    );
    assert!(HttpFusionClient::new(FusionConfig::new("https://pod.example.com", basic.clone())).is_ok());
    assert!(HttpFusionClient::new(FusionConfig::new("http://127.0.0.1:8080", basic)).is_ok());
    let mut oauth = FusionConfig::new(
        "https://pod.example.com",
        Credentials::OAuth2 {
            token_url: "http://idcs.example.com/oauth2/v1/token".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("s"),
            scope: None,
        },
    );
    let err = HttpFusionClient::new(oauth.clone()).unwrap_err();
    assert!(err.to_string().contains("FUSION_TOKEN_URL"), "{err}");
    oauth.base_url = "not a url".into();
    assert!(HttpFusionClient::new(oauth).is_err());
}

#[tokio::test]
async fn an_answer_larger_than_the_configured_maximum_is_refused_not_held() {
    let env = start(|_| {}).await;
    let c = client(&env, |c| {
        c.max_response_bytes = 2048;
        c.retry_attempts = 0;
    });
    let err = c.onhand(&dc()).await.unwrap_err();
    assert!(err.to_string().contains("larger than 2048 bytes"), "{err}");
}

#[tokio::test]
async fn a_transfer_fusion_processed_is_confirmed_with_one_read() {
    let env = start(|_| {}).await;
    let c = client(&env, |_| {});
    let (item, uom) = item_of(&env, Control::Plain);
    let mut p = receipt(&item, &uom, "T-XFER", 1, 1);
    p.source.lines = 1;
    p.txn_type = FusionTxnType::SubinventoryTransfer;
    p.transfer_subinventory = Some(SubinventoryCode::parse("PICK").unwrap());
    let mut stock = receipt(&item, &uom, "T-XFER-STOCK", 1, 5);
    stock.source.lines = 1;
    c.post_staged(&stock).await.unwrap();
    assert!(c.post_staged(&p).await.unwrap().processed);
    env.sim.reset_stats();

    let landed = c.completed(&dc(), &p.source).await.unwrap();

    assert!(
        matches!(landed, domain::ports::Landed::Completed { sides: 2, .. }),
        "{landed:?}"
    );
    let reads: u64 = env
        .sim
        .stats()
        .iter()
        .filter(|(k, _)| k.starts_with("GET "))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(reads, 1, "{:?}", env.sim.stats());
    assert_eq!(env.sim.request_count("GET inventoryStagedTransactions"), 0);
}

// ------------------------------------------------- on-hand pages asked ahead of totalResults

/// Every on-hand row read with `expected_rows` as the hint, as (item, sub, lot, quantity).
async fn read_expecting(c: &HttpFusionClient, expected_rows: Option<usize>) -> Vec<(String, String, String, Decimal)> {
    let mut rows = Vec::new();
    c.onhand_each_expecting(&dc(), expected_rows, |_, page| {
        rows.extend(page.into_iter().map(|r| {
            (
                r.item.to_string(),
                r.subinventory.to_string(),
                r.lot.map(|l| l.to_string()).unwrap_or_default(),
                r.quantity,
            )
        }))
    })
    .await
    .unwrap();
    rows.sort();
    rows
}

/// Balance rows (item and subinventory) of DC01 as Fusion pages them.
async fn balance_rows(c: &HttpFusionClient) -> usize {
    let rows = c.onhand(&dc()).await.unwrap();
    let keys: std::collections::BTreeSet<_> = rows.iter().map(|r| (r.item.clone(), r.subinventory.clone())).collect();
    keys.len()
}

/// A simulator of 200 items, its balance rows and every on-hand row as read without a guess;
/// then a client reading `pages` pages (the last one short).
async fn paged(pages: usize) -> (Env, HttpFusionClient, usize, Vec<(String, String, String, Decimal)>) {
    let env = start(|_| {}).await;
    let probe = client(&env, |_| {});
    let balances = balance_rows(&probe).await;
    let want = read_expecting(&probe, None).await;
    let size = balances / pages + 1;
    let c = client(&env, |c| {
        c.page_size = size;
        c.max_in_flight = 8;
    });
    (env, c, balances, want)
}

#[tokio::test]
async fn with_an_expected_size_the_first_windows_pages_are_asked_together() {
    // Four pages: the first alone then three, or all four at once.
    let (env, c, balances, want) = paged(4).await;
    c.onhand_page(&dc(), 0, 1).await.unwrap(); // credentials proven: requests may overlap
    env.sim.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    });
    env.sim.reset_stats();
    assert_eq!(read_expecting(&c, None).await, want);
    assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 4);
    assert_eq!(env.sim.peak_in_flight(), 3, "without a size the first page goes alone");
    env.sim.reset_stats();
    assert_eq!(read_expecting(&c, Some(balances)).await, want);
    assert_eq!(
        env.sim.request_count("GET inventoryOnhandBalances"),
        4,
        "no page asked twice"
    );
    assert_eq!(env.sim.peak_in_flight(), 4, "all four pages at once");
}

#[tokio::test]
async fn a_size_guessed_too_large_costs_empty_pages_never_rows() {
    let (env, c, balances, want) = paged(2).await;
    for lies in [HasMoreLies::None, HasMoreLies::TrueOnLastPage, HasMoreLies::Omit] {
        env.sim.set_faults(Faults {
            hasmore_lies: lies,
            ..Faults::default()
        });
        env.sim.reset_stats();
        assert_eq!(read_expecting(&c, Some(balances * 100)).await, want, "{lies:?}");
        // Two pages hold the rows; the window of 8 asked six more, answered empty.
        assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 8, "{lies:?}");
    }
}

#[tokio::test]
async fn a_silent_cap_below_the_asked_page_drops_the_early_pages_and_reads_on() {
    // Fusion caps the page at 499 rows without saying so (fact sheet §4): pages asked ahead at
    // offsets 500, 1000, ... would skip a row each.
    let env = start(|s| {
        s.seed.items = 1_200;
        s.max_limit = 499;
    })
    .await;
    let c = client(&env, |_| {});
    let balances = balance_rows(&c).await;
    assert!(balances > 3 * 499, "{balances} balance rows: at least four pages");
    let want = read_expecting(&c, None).await;
    env.sim.reset_stats();
    let got = read_expecting(&c, Some(balances)).await;
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    let pages = balances.div_ceil(499) as u64;
    let asked = env.sim.request_count("GET inventoryOnhandBalances");
    assert!(
        asked > pages && asked <= pages + 7,
        "{asked} requests: {pages} pages of 499, plus the dropped early ones"
    );
}
