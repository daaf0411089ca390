//! `HttpFusionClient` against the Fusion simulator over real HTTP on 127.0.0.1: every
//! operation, every fault, the never-double-post rule, paging and refusals before any call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adapters::fusion::{
    BalanceLine, BatchOperation, BatchPart, Credentials, FusionConfig, HttpFusionClient, LookupKey, TransactionMode,
};
use chrono::{DateTime, NaiveDate};
use domain::ports::{FusionError, FusionInventory, Landed};
use domain::txn::{FusionTxnType, LotQuantity, SourceRef, StagedPost};
use domain::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom, WmsTxnId};
use fusion_sim::{FaultStatus, Faults, FusionSim, HasMoreLies, RunningSim, ScriptedFault, SimConfig};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use sim_seed::{Catalog, Control, SeedConfig};

const PASSWORD: &str = "Pa55-w0rd-XYZZY";
const CLIENT_SECRET: &str = "cl13nt-s3cret-PLUGH";

struct Env {
    sim: RunningSim,
    catalog: Catalog,
}

async fn start_with(items: usize, tweak: impl FnOnce(&mut SimConfig)) -> Env {
    let mut cfg = SimConfig {
        seed: SeedConfig {
            dcs: 1,
            items,
            ..SeedConfig::default()
        },
        password: PASSWORD.into(),
        client_secret: CLIENT_SECRET.into(),
        ..SimConfig::default()
    };
    tweak(&mut cfg);
    let catalog = sim_seed::generate(&cfg.seed);
    let sim = FusionSim::start(cfg).await.expect("sim starts");
    Env { sim, catalog }
}

async fn start() -> Env {
    start_with(300, |_| {}).await
}

fn basic_config(env: &Env) -> FusionConfig {
    let mut c = FusionConfig::new(
        env.sim.url(),
        Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from(PASSWORD),
        },
    );
    c.retry_base_delay = Duration::from_millis(5);
    c.retry_max_delay = Duration::from_millis(20);
    c.max_retry_after = Duration::from_secs(2);
    c.request_timeout = Duration::from_secs(5);
    c
}

fn oauth_config(env: &Env) -> FusionConfig {
    let mut c = basic_config(env);
    c.credentials = Credentials::OAuth2 {
        token_url: format!("{}/oauth2/v1/token", env.sim.url()),
        client_id: "invsync-client".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        scope: Some("urn:opc:resource:consumer::all".into()),
    };
    c
}

fn client(env: &Env) -> HttpFusionClient {
    HttpFusionClient::new(basic_config(env)).unwrap()
}

fn client_with(env: &Env, tweak: impl FnOnce(&mut FusionConfig)) -> HttpFusionClient {
    let mut c = basic_config(env);
    tweak(&mut c);
    HttpFusionClient::new(c).unwrap()
}

fn dc() -> DcCode {
    DcCode::parse("DC01").unwrap()
}

fn fault(endpoint: &str, status: FaultStatus, count: u32) -> Faults {
    Faults {
        fail_next: vec![ScriptedFault {
            endpoint: endpoint.into(),
            status,
            count,
        }],
        ..Faults::default()
    }
}

/// Balances of DC01 as the sim holds them: zero-quantity seed balances dropped and seed
/// balances of one (item, subinventory, lot) merged.
type Seeded = BTreeMap<(String, String, Option<String>), (Decimal, Vec<String>, Option<NaiveDate>)>;

fn seeded(env: &Env) -> Seeded {
    let mut out: BTreeMap<_, (Decimal, Vec<String>, Option<NaiveDate>)> = BTreeMap::new();
    for b in env.catalog.balances_of(0).filter(|b| !b.quantity.is_zero()) {
        let key = (
            env.catalog.items[b.item].number.clone(),
            b.subinventory.clone(),
            b.lot.as_ref().map(|l| l.number.clone()),
        );
        let e = out.entry(key).or_default();
        e.0 += b.quantity;
        e.1.extend(b.serials.iter().cloned());
        e.2 = b.lot.as_ref().map(|l| l.expiration);
    }
    out
}

fn total_requests(sim: &RunningSim) -> u64 {
    sim.stats().values().sum()
}

const POST_STAGED: &str = "POST inventoryStagedTransactions";

/// First item of `control` stocked in STORES of DC01 with at least `min` on hand (and whole
/// when `whole`).
fn stocked(env: &Env, control: Control, min: Decimal) -> (usize, &sim_seed::Balance) {
    env.catalog
        .balances_of(0)
        .find(|b| {
            let it = &env.catalog.items[b.item];
            it.control == control && b.subinventory == "STORES" && b.quantity >= min
        })
        .map(|b| (b.item, b))
        .expect("a stocked item")
}

fn post_of(env: &Env, item: usize, txn: &str, txn_type: FusionTxnType, quantity: Decimal) -> StagedPost {
    let it = &env.catalog.items[item];
    StagedPost {
        source: SourceRef {
            txn: WmsTxnId::parse(txn).unwrap(),
            line: 1,
            lines: 1,
        },
        dc: dc(),
        item: ItemNumber::parse(it.number.clone()).unwrap(),
        subinventory: SubinventoryCode::parse("STORES").unwrap(),
        transfer_subinventory: (txn_type == FusionTxnType::SubinventoryTransfer)
            .then(|| SubinventoryCode::parse("PICK").unwrap()),
        txn_type,
        quantity,
        uom: Uom::parse(it.uom.clone()).unwrap(),
        lots: Vec::new(),
        serials: Vec::new(),
        transaction_date: DateTime::from_timestamp(1_793_000_000, 0).unwrap(),
    }
}

/// A plain-item receipt of 5.
fn plain_receipt(env: &Env, txn: &str) -> (StagedPost, String) {
    let (item, _) = stocked(env, Control::Plain, dec!(0));
    let p = post_of(env, item, txn, FusionTxnType::MiscellaneousReceipt, dec!(5));
    (p, env.catalog.items[item].number.clone())
}

// ---------------------------------------------------------------- reads

#[tokio::test]
async fn item_info_reads_control_flags_and_uom_precision_then_caches() {
    let env = start().await;
    let c = client(&env);
    for control in [Control::Plain, Control::Lot, Control::Serial] {
        let it = env.catalog.items.iter().find(|i| i.control == control).unwrap();
        let info = c
            .item_info(&dc(), &ItemNumber::parse(it.number.clone()).unwrap())
            .await
            .unwrap();
        assert_eq!(info.lot_controlled, control == Control::Lot);
        assert_eq!(info.serial_controlled, control == Control::Serial);
        assert_eq!(info.primary_uom.as_str(), it.uom);
        assert_eq!(info.uom_scale, it.scale);
    }
    let before = total_requests(&env.sim);
    let it = &env.catalog.items[0];
    c.item_info(&dc(), &ItemNumber::parse(it.number.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(total_requests(&env.sim), before, "cached: no request");

    let unknown = c.item_info(&dc(), &ItemNumber::parse("NOPE-1").unwrap()).await;
    assert!(matches!(unknown, Err(FusionError::NotFound(_))), "{unknown:?}");
    env.sim.unassign_item("DC01", &env.catalog.items[1].number);
    let unassigned = c
        .item_info(&dc(), &ItemNumber::parse(env.catalog.items[1].number.clone()).unwrap())
        .await;
    assert!(matches!(unassigned, Err(FusionError::NotFound(_))), "{unassigned:?}");
}

#[tokio::test]
async fn onhand_matches_the_sim_at_lot_grain_with_exact_decimals() {
    let env = start().await;
    let c = client(&env);
    let rows = c.onhand(&dc()).await.unwrap();
    let total: Decimal = rows.iter().map(|r| r.quantity).sum();
    assert_eq!(total, env.sim.org_total("DC01"));
    assert_eq!(rows.len(), seeded(&env).len());
    for ((item, sub, lot), (quantity, serials, expiration)) in seeded(&env) {
        let row = rows
            .iter()
            .find(|r| {
                r.item.as_str() == item
                    && r.subinventory.as_str() == sub
                    && r.lot.as_ref().map(LotNumber::as_str) == lot.as_deref()
            })
            .unwrap_or_else(|| panic!("missing {item} {sub} {lot:?}"));
        assert_eq!(row.quantity, quantity, "exact quantity of {item}");
        assert_eq!(row.expiration, expiration);
        let mut got: Vec<&str> = row.serials.iter().map(SerialNumber::as_str).collect();
        got.sort_unstable();
        let mut want: Vec<&str> = serials.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(got, want);
    }
    let fractional = rows.iter().filter(|r| r.quantity.scale() > 0).count();
    assert!(fractional > 0, "the seed has KG/LB quantities");
}

#[tokio::test]
async fn onhand_page_reports_the_envelope_and_clamps_the_limit() {
    let env = start().await;
    let c = client(&env);
    let p = c.onhand_page(&dc(), 0, 10_000).await.unwrap();
    assert_eq!(p.limit, 500, "Why: Fusion caps limit at 500");
    let small = c.onhand_page(&dc(), 5, 7).await.unwrap();
    assert_eq!((small.count, small.offset, small.limit), (7, 5, 7));
    assert_eq!(small.has_more, Some(true));
}

#[tokio::test]
async fn a_unit_readied_beside_an_item_lookup_is_asked_once_and_then_remembered() {
    let env = start().await;
    // The unit's answer comes 300 ms after the item's: the item lookup needs the unit while
    // the readying still waits for it.
    env.sim.set_faults(Faults {
        latency_ms: 100,
        timeout_hang_ms: 300,
        ..fault("GET unitsOfMeasure", FaultStatus::Word("timeout".into()), 1)
    });
    let c = client(&env);
    // Credentials proven first: until then the client sends one request at a time.
    c.onhand_page(&dc(), 0, 1).await.unwrap();
    let it = &env.catalog.items[0];
    let uom = Uom::parse(it.uom.clone()).unwrap();
    let (both, dc, item) = (
        [uom.clone(), uom.clone()],
        dc(),
        ItemNumber::parse(it.number.clone()).unwrap(),
    );
    let (units, info) = tokio::join!(c.prefetch_units(&both), c.item_info(&dc, &item));
    units.unwrap();
    let info = info.unwrap();
    assert_eq!(info.primary_uom, uom);
    assert_eq!(info.uom_scale, it.scale);
    assert_eq!(env.sim.request_count("GET unitsOfMeasure"), 1);
    c.prefetch_units(std::slice::from_ref(&uom)).await.unwrap();
    assert_eq!(env.sim.request_count("GET unitsOfMeasure"), 1, "remembered: no request");
}

#[tokio::test]
async fn paging_50k_items_is_complete_even_when_has_more_lies() {
    let env = start_with(50_000, |_| {}).await;
    let c = client(&env);
    let want_total = env.sim.org_total("DC01");
    let want_rows = seeded(&env).len();
    for lies in [HasMoreLies::None, HasMoreLies::TrueOnLastPage, HasMoreLies::Omit] {
        env.sim.set_faults(Faults {
            hasmore_lies: lies,
            ..Faults::default()
        });
        env.sim.reset_stats();
        let rows = c.onhand(&dc()).await.unwrap();
        let total: Decimal = rows.iter().map(|r| r.quantity).sum();
        assert_eq!(total, want_total, "{lies:?}");
        assert_eq!(rows.len(), want_rows, "{lies:?}");
        let pages = env.sim.request_count("GET inventoryOnhandBalances");
        let balance_rows: usize = {
            let mut keys = std::collections::BTreeSet::new();
            for (item, sub, _) in seeded(&env).into_keys() {
                keys.insert((item, sub));
            }
            keys.len()
        };
        let needed = balance_rows.div_ceil(500) as u64;
        assert!(
            pages == needed || pages == needed + 1,
            "{lies:?}: {pages} pages for {needed}"
        );
    }
}

#[tokio::test]
async fn onhand_sequential_reading_stops_on_a_short_or_empty_page() {
    let env = start().await;
    let c = client_with(&env, |c| c.page_size = 40);
    env.sim.set_faults(Faults {
        hasmore_lies: HasMoreLies::TrueOnLastPage,
        ..Faults::default()
    });
    let rows = c.onhand(&dc()).await.unwrap();
    assert_eq!(rows.len(), seeded(&env).len());
    let far = c.onhand_page(&dc(), 1_000_000, 40).await.unwrap();
    assert_eq!((far.count, far.rows.len()), (0, 0));
}

// ---------------------------------------------------------------- posting

#[tokio::test]
async fn online_receipt_completes_and_is_found_by_source_reference() {
    let env = start().await;
    let c = client(&env);
    let (p, item) = plain_receipt(&env, "T-REC-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    let r = FusionInventory::post(&c, &p).await.unwrap();
    assert!(r.processed);
    assert!(r.interface_id > 0);
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
    match c.find(&dc(), &p.source).await.unwrap() {
        Landed::Completed { sides, transaction_ids } => assert_eq!((sides, transaction_ids.len()), (1, 1)),
        other => panic!("{other:?}"),
    }
    let other = SourceRef {
        txn: WmsTxnId::parse("T-NEVER").unwrap(),
        line: 1,
        lines: 1,
    };
    assert_eq!(c.find(&dc(), &other).await.unwrap(), Landed::NotFound);
}

#[tokio::test]
async fn transfer_lands_as_two_sides_and_issue_as_negative() {
    let env = start().await;
    let c = client(&env);
    let (item, _) = stocked(&env, Control::Plain, dec!(10));
    let number = env.catalog.items[item].number.clone();
    let t = post_of(&env, item, "T-XFER-1", FusionTxnType::SubinventoryTransfer, dec!(3));
    let (stores, pick) = (
        env.sim.onhand("DC01", &number, "STORES", None),
        env.sim.onhand("DC01", &number, "PICK", None),
    );
    assert!(c.post_staged(&t).await.unwrap().processed);
    assert_eq!(env.sim.onhand("DC01", &number, "STORES", None), stores - dec!(3));
    assert_eq!(env.sim.onhand("DC01", &number, "PICK", None), pick + dec!(3));
    assert!(matches!(
        c.find(&dc(), &t.source).await.unwrap(),
        Landed::Completed { sides: 2, .. }
    ));

    let i = post_of(&env, item, "T-ISS-1", FusionTxnType::MiscellaneousIssue, dec!(-2));
    c.post_staged(&i).await.unwrap();
    assert_eq!(env.sim.onhand("DC01", &number, "STORES", None), stores - dec!(5));
}

#[tokio::test]
async fn negative_transfer_sign_setting_is_accepted_by_the_sim() {
    let env = start().await;
    let c = client_with(&env, |c| c.transfer_sign = adapters::fusion::TransferSign::Negative);
    let (item, _) = stocked(&env, Control::Plain, dec!(10));
    let number = env.catalog.items[item].number.clone();
    let before = env.sim.onhand("DC01", &number, "PICK", None);
    let t = post_of(&env, item, "T-XFER-NEG", FusionTxnType::SubinventoryTransfer, dec!(1));
    c.post_staged(&t).await.unwrap();
    assert_eq!(env.sim.onhand("DC01", &number, "PICK", None), before + dec!(1));
}

#[tokio::test]
async fn lot_and_serial_posts_carry_their_children() {
    let env = start().await;
    let c = client(&env);
    let (item, bal) = stocked(&env, Control::Lot, dec!(1));
    let lot = bal.lot.clone().unwrap();
    let number = env.catalog.items[item].number.clone();
    let before = env.sim.onhand("DC01", &number, "STORES", Some(&lot.number));
    let scale = env.catalog.items[item].scale;
    let q = if scale > 0 { dec!(0.5) } else { dec!(1) };
    let mut p = post_of(&env, item, "T-LOT-1", FusionTxnType::MiscellaneousIssue, -q);
    p.lots = vec![LotQuantity {
        lot: LotNumber::parse(lot.number.clone()).unwrap(),
        quantity: q,
        expiration: Some(lot.expiration),
    }];
    c.post_staged(&p).await.unwrap();
    assert_eq!(env.sim.onhand("DC01", &number, "STORES", Some(&lot.number)), before - q);

    let (sitem, sbal) = env
        .catalog
        .balances_of(0)
        .find(|b| env.catalog.items[b.item].control == Control::Serial && b.serials.len() >= 2)
        .map(|b| (b.item, b))
        .unwrap();
    let snumber = env.catalog.items[sitem].number.clone();
    let mut s = post_of(&env, sitem, "T-SER-1", FusionTxnType::MiscellaneousIssue, dec!(-2));
    s.subinventory = SubinventoryCode::parse(sbal.subinventory.clone()).unwrap();
    s.serials = sbal.serials[..2]
        .iter()
        .map(|x| SerialNumber::parse(x.clone()).unwrap())
        .collect();
    c.post_staged(&s).await.unwrap();
    let left = env.sim.serials("DC01", &snumber, &sbal.subinventory);
    assert!(!left.contains(&sbal.serials[0]) && !left.contains(&sbal.serials[1]));
}

#[tokio::test]
async fn fusion_validation_refusal_is_permanent_with_its_detail() {
    let env = start().await;
    let c = client(&env);
    let (item, bal) = stocked(&env, Control::Plain, dec!(0));
    let too_much = -(bal.quantity + dec!(1000));
    let p = post_of(&env, item, "T-NEG-1", FusionTxnType::MiscellaneousIssue, too_much);
    c.item_info(&p.dc, &p.item).await.unwrap();
    env.sim.reset_stats();
    let err = c.post_staged(&p).await.unwrap_err();
    match &err {
        FusionError::Rejected { status: 400, detail } => assert!(!detail.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.sim.request_count(POST_STAGED), 1, "not retried");
    assert_eq!(total_requests(&env.sim), 1, "no lookup after a permanent refusal");
}

#[tokio::test]
async fn background_mode_leaves_the_row_staged_and_find_says_so() {
    let env = start().await;
    let c = client_with(&env, |c| c.transaction_mode = TransactionMode::Background);
    let (p, _) = plain_receipt(&env, "T-BG-1");
    let r = c.post_staged(&p).await.unwrap();
    assert!(!r.processed);
    assert_eq!(
        c.find(&dc(), &p.source).await.unwrap(),
        Landed::Staged {
            interface_id: r.interface_id,
            error: None
        }
    );
    env.sim.process_staged();
    assert!(matches!(
        c.find(&dc(), &p.source).await.unwrap(),
        Landed::Completed { sides: 1, .. }
    ));
}

#[tokio::test]
async fn failed_staged_row_is_reported_with_fusions_explanation() {
    let env = start().await;
    let c = client_with(&env, |c| c.transaction_mode = TransactionMode::Background);
    let (item, bal) = stocked(&env, Control::Plain, dec!(0));
    let p = post_of(
        &env,
        item,
        "T-BG-BAD",
        FusionTxnType::MiscellaneousIssue,
        -(bal.quantity + dec!(5000)),
    );
    c.post_staged(&p).await.unwrap();
    env.sim.process_staged();
    match c.find(&dc(), &p.source).await.unwrap() {
        Landed::Staged { error: Some(e), .. } => assert!(!e.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn transaction_reference_lookup_key_finds_posts() {
    let env = start().await;
    let c = client_with(&env, |c| c.lookup_key = LookupKey::TransactionReference);
    let (p, _) = plain_receipt(&env, "T-REF-1");
    c.post_staged(&p).await.unwrap();
    assert!(matches!(
        c.find(&dc(), &p.source).await.unwrap(),
        Landed::Completed { .. }
    ));
}

// ---------------------------------------------------------------- never double-post

#[tokio::test]
async fn accept_then_drop_is_looked_up_not_reposted() {
    let env = start().await;
    let c = client(&env);
    let (p, item) = plain_receipt(&env, "T-DROP-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    env.sim
        .set_faults(fault(POST_STAGED, FaultStatus::Word("drop_after_accept".into()), 1));
    let r = c.post_staged(&p).await.unwrap();
    assert!(r.processed, "the lookup found it completed");
    assert_eq!(env.sim.request_count(POST_STAGED), 1, "posted once");
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
    assert_eq!(env.sim.completed_count(), 1);
}

#[tokio::test]
async fn online_408_leaves_the_row_staged_and_is_not_reposted() {
    let env = start().await;
    let c = client(&env);
    let (p, item) = plain_receipt(&env, "T-408-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    env.sim.set_faults(fault(POST_STAGED, FaultStatus::Code(408), 1));
    let r = c.post_staged(&p).await.unwrap();
    assert!(!r.processed);
    assert_eq!(env.sim.request_count(POST_STAGED), 1);
    assert_eq!(env.sim.staged_rows().len(), 1);
    assert_eq!(
        env.sim.onhand("DC01", &item, "STORES", None),
        before,
        "not processed yet"
    );
    assert!(matches!(
        c.find(&dc(), &p.source).await.unwrap(),
        Landed::Staged { error: None, .. }
    ));
    env.sim.process_staged();
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
}

#[tokio::test]
async fn reset_on_post_is_not_reposted_by_the_client() {
    let env = start().await;
    let c = client(&env);
    let (p, item) = plain_receipt(&env, "T-RST-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    env.sim
        .set_faults(fault(POST_STAGED, FaultStatus::Word("reset".into()), 1));
    let err = c.post_staged(&p).await.unwrap_err();
    assert!(matches!(err, FusionError::Connection(_)), "{err:?}");
    assert_eq!(env.sim.request_count(POST_STAGED), 1, "ambiguous: no blind re-post");
    assert_eq!(env.sim.request_count("GET inventoryStagedTransactions"), 1, "looked up");
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before);
    // The caller's next attempt (find first) posts it exactly once.
    assert_eq!(c.find(&dc(), &p.source).await.unwrap(), Landed::NotFound);
    c.post_staged(&p).await.unwrap();
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
}

#[tokio::test]
async fn timeout_on_post_is_looked_up_not_reposted() {
    let env = start().await;
    let c = client_with(&env, |c| c.request_timeout = Duration::from_millis(300));
    let (p, item) = plain_receipt(&env, "T-TMO-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    env.sim.set_faults(Faults {
        timeout_hang_ms: 1_200,
        ..fault(POST_STAGED, FaultStatus::Word("timeout".into()), 1)
    });
    let err = c.post_staged(&p).await.unwrap_err();
    assert_eq!(err, FusionError::Timeout);
    assert_eq!(env.sim.request_count(POST_STAGED), 1, "ambiguous: no blind re-post");
    assert_eq!(env.sim.request_count("GET inventoryStagedTransactions"), 1, "looked up");
    // The caller's next attempt looks up first and posts only if nothing landed. (The sim drops
    // a hung request when the client disconnects, so here it never lands late.)
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    if c.find(&dc(), &p.source).await.unwrap() == Landed::NotFound {
        c.post_staged(&p).await.unwrap();
    }
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
}

#[tokio::test]
async fn server_error_on_post_is_looked_up_then_reposted_once() {
    let env = start().await;
    let c = client(&env);
    let (p, item) = plain_receipt(&env, "T-500-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    env.sim.set_faults(fault(POST_STAGED, FaultStatus::Code(500), 1));
    assert!(c.post_staged(&p).await.unwrap().processed);
    assert_eq!(env.sim.request_count(POST_STAGED), 2);
    assert_eq!(env.sim.request_count("GET inventoryStagedTransactions"), 1);
    assert_eq!(env.sim.request_count("GET inventoryCompletedTransactions"), 1);
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
}

#[tokio::test]
async fn post_503_with_retry_after_waits_looks_up_and_reposts() {
    let env = start().await;
    let c = client(&env);
    let (p, item) = plain_receipt(&env, "T-503-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    env.sim.set_faults(Faults {
        retry_after_secs: 1,
        ..fault(POST_STAGED, FaultStatus::Code(503), 1)
    });
    let t = Instant::now();
    c.post_staged(&p).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(950), "{:?}", t.elapsed());
    assert_eq!(env.sim.request_count(POST_STAGED), 2);
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
}

#[tokio::test]
async fn persistent_throttling_on_post_gives_up_after_the_budget() {
    let env = start().await;
    let c = client_with(&env, |c| c.max_retry_after = Duration::from_millis(10));
    let (p, _) = plain_receipt(&env, "T-429-1");
    c.item_info(&p.dc, &p.item).await.unwrap();
    env.sim.set_faults(fault(POST_STAGED, FaultStatus::Code(429), 50));
    let err = c.post_staged(&p).await.unwrap_err();
    assert!(
        matches!(
            err,
            FusionError::Throttled {
                retry_after_secs: Some(1)
            }
        ),
        "{err:?}"
    );
    assert_eq!(env.sim.request_count(POST_STAGED), 4, "1 try + 3 retries");
    assert_eq!(
        env.sim.request_count("GET inventoryStagedTransactions"),
        3,
        "a lookup before each retry"
    );
}

// ---------------------------------------------------------------- refusals before any call

#[tokio::test]
async fn bad_input_is_refused_before_any_http_call() {
    let env = start().await;
    let c = client(&env);
    let plain_ea = env
        .catalog
        .items
        .iter()
        .position(|i| i.control == Control::Plain && i.scale == 0)
        .unwrap();
    let lot_item = env
        .catalog
        .items
        .iter()
        .position(|i| i.control == Control::Lot)
        .unwrap();
    let serial_item = env
        .catalog
        .items
        .iter()
        .position(|i| i.control == Control::Serial)
        .unwrap();
    let too_precise = post_of(
        &env,
        plain_ea,
        "T-BAD-1",
        FusionTxnType::MiscellaneousReceipt,
        dec!(1.5),
    );
    let no_lots = post_of(&env, lot_item, "T-BAD-2", FusionTxnType::MiscellaneousReceipt, dec!(1));
    let mut many_serials = post_of(
        &env,
        serial_item,
        "T-BAD-3",
        FusionTxnType::MiscellaneousReceipt,
        dec!(51),
    );
    many_serials.serials = (0..51)
        .map(|i| SerialNumber::parse(format!("SN-NEW-{i:04}")).unwrap())
        .collect();
    for p in [&too_precise, &no_lots, &many_serials] {
        c.item_info(&p.dc, &p.item).await.unwrap();
    }
    env.sim.reset_stats();
    for p in [&too_precise, &no_lots, &many_serials] {
        let err = c.post_staged(p).await.unwrap_err();
        assert!(matches!(err, FusionError::InvalidInput(_)), "{}: {err:?}", p.source);
    }
    let msg = c.post_staged(&too_precise).await.unwrap_err().to_string();
    assert!(msg.contains("decimal places"), "{msg}");
    let msg = c.post_staged(&no_lots).await.unwrap_err().to_string();
    assert!(msg.contains("no lots"), "{msg}");
    let msg = c.post_staged(&many_serials).await.unwrap_err().to_string();
    assert!(msg.contains("at most 50"), "{msg}");
    assert_eq!(total_requests(&env.sim), 0, "{:?}", env.sim.stats());
}

// ---------------------------------------------------------------- retries and classification

#[tokio::test]
async fn retryable_get_errors_are_retried_up_to_the_budget() {
    let env = start().await;
    let c = client(&env);
    let item = ItemNumber::parse(env.catalog.items[0].number.clone()).unwrap();
    env.sim.set_faults(fault("GET itemsV2", FaultStatus::Code(503), 2));
    c.item_info(&dc(), &item).await.unwrap();
    assert_eq!(env.sim.request_count("GET itemsV2"), 3);

    c.clear_item_cache();
    env.sim.reset_stats();
    env.sim.set_faults(fault("GET itemsV2", FaultStatus::Code(500), 100));
    let err = c.item_info(&dc(), &item).await.unwrap_err();
    assert_eq!(err, FusionError::Unavailable { status: 500 });
    assert_eq!(env.sim.request_count("GET itemsV2"), 4, "1 try + 3 retries");

    let c0 = client_with(&env, |c| c.retry_attempts = 0);
    env.sim.reset_stats();
    assert!(c0.item_info(&dc(), &item).await.is_err());
    assert_eq!(env.sim.request_count("GET itemsV2"), 1);
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let env = start().await;
    let c = client(&env);
    for (status, check) in [
        (
            400u16,
            (|e: &FusionError| matches!(e, FusionError::Rejected { status: 400, detail } if detail.contains("Injected fault")))
                as fn(&FusionError) -> bool,
        ),
        (403, |e| *e == FusionError::Forbidden),
        (404, |e| matches!(e, FusionError::NotFound(_))),
        (401, |e| *e == FusionError::Unauthorized),
    ] {
        env.sim.reset_stats();
        env.sim
            .set_faults(fault("GET inventoryOnhandBalances", FaultStatus::Code(status), 10));
        let err = c.onhand(&dc()).await.unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
        assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 1, "{status}");
    }
}

#[tokio::test]
async fn wrong_password_and_roleless_user_are_permanent() {
    let env = start().await;
    let wrong = client_with(&env, |c| {
        c.credentials = Credentials::Basic {
            user: "integration.user".into(),
            password: SecretString::from("nope"),
        }
    });
    assert_eq!(wrong.onhand(&dc()).await.unwrap_err(), FusionError::Unauthorized);
    let roleless = client_with(&env, |c| {
        c.credentials = Credentials::Basic {
            user: "norole.user".into(),
            password: SecretString::from("Welcome1"),
        }
    });
    assert_eq!(roleless.onhand(&dc()).await.unwrap_err(), FusionError::Forbidden);
    assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let env = start().await;
    let c = client(&env);
    let item = ItemNumber::parse(env.catalog.items[0].number.clone()).unwrap();
    env.sim.set_faults(Faults {
        retry_after_secs: 1,
        ..fault("GET itemsV2", FaultStatus::Code(429), 1)
    });
    let t = Instant::now();
    c.item_info(&dc(), &item).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(950), "{:?}", t.elapsed());
    assert_eq!(env.sim.request_count("GET itemsV2"), 2);

    let capped = client_with(&env, |c| c.max_retry_after = Duration::from_millis(100));
    env.sim.set_faults(Faults {
        retry_after_secs: 30,
        ..fault("GET itemsV2", FaultStatus::Code(429), 1)
    });
    let t = Instant::now();
    capped.item_info(&dc(), &item).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn resets_and_timeouts_on_reads_are_retried() {
    let env = start().await;
    let c = client_with(&env, |c| c.request_timeout = Duration::from_millis(300));
    env.sim.set_faults(fault(
        "GET inventoryOnhandBalances",
        FaultStatus::Word("reset".into()),
        1,
    ));
    let rows = c.onhand(&dc()).await.unwrap();
    assert_eq!(rows.len(), seeded(&env).len());
    env.sim.reset_stats();
    env.sim.set_faults(Faults {
        timeout_hang_ms: 2_000,
        ..fault("GET inventoryOnhandBalances", FaultStatus::Word("timeout".into()), 1)
    });
    let rows = c.onhand(&dc()).await.unwrap();
    assert_eq!(rows.len(), seeded(&env).len());
    assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 2);

    env.sim.set_faults(fault(
        "GET inventoryOnhandBalances",
        FaultStatus::Word("reset".into()),
        100,
    ));
    let err = c.onhand(&dc()).await.unwrap_err();
    assert!(matches!(err, FusionError::Connection(_)), "{err:?}");
    env.sim.set_faults(Faults {
        timeout_hang_ms: 2_000,
        ..fault("GET inventoryOnhandBalances", FaultStatus::Word("timeout".into()), 100)
    });
    assert_eq!(c.onhand(&dc()).await.unwrap_err(), FusionError::Timeout);
}

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let env = start().await;
    env.sim.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    });
    let c = client_with(&env, |c| {
        c.max_in_flight = 2;
        c.max_in_flight_ceiling = 2;
    });
    let t = Instant::now();
    let calls = (0..8).map(|i| {
        let c = c.clone();
        let item = ItemNumber::parse(env.catalog.items[i].number.clone()).unwrap();
        async move { c.lot(&dc(), &item, &LotNumber::parse("NONE").unwrap()).await }
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap(), None);
    }
    assert!(
        t.elapsed() >= Duration::from_millis(390),
        "8 calls, 2 at a time: {:?}",
        t.elapsed()
    );
}

// ---------------------------------------------------------------- OAuth2

#[tokio::test]
async fn oauth2_token_is_cached_and_refreshed_once_on_401() {
    let env = start().await;
    let c = HttpFusionClient::new(oauth_config(&env)).unwrap();
    c.onhand_page(&dc(), 0, 5).await.unwrap();
    c.onhand_page(&dc(), 5, 5).await.unwrap();
    assert_eq!(env.sim.request_count("POST oauth2/v1/token"), 1, "cached");

    env.sim
        .set_faults(fault("GET inventoryOnhandBalances", FaultStatus::Code(401), 1));
    c.onhand_page(&dc(), 0, 5).await.unwrap();
    assert_eq!(env.sim.request_count("POST oauth2/v1/token"), 2, "one refresh");

    env.sim.reset_stats();
    env.sim
        .set_faults(fault("GET inventoryOnhandBalances", FaultStatus::Code(401), 10));
    assert_eq!(c.onhand_page(&dc(), 0, 5).await.unwrap_err(), FusionError::Unauthorized);
    assert_eq!(
        env.sim.request_count("GET inventoryOnhandBalances"),
        2,
        "first try + one after refresh"
    );
    assert_eq!(env.sim.request_count("POST oauth2/v1/token"), 1);
}

#[tokio::test]
async fn oauth2_expired_token_is_replaced_before_use() {
    let env = start_with(300, |c| c.token_ttl = Duration::from_secs(1)).await;
    let c = HttpFusionClient::new(oauth_config(&env)).unwrap();
    c.onhand_page(&dc(), 0, 5).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    c.onhand_page(&dc(), 0, 5).await.unwrap();
    assert_eq!(env.sim.request_count("POST oauth2/v1/token"), 2);
}

#[tokio::test]
async fn oauth2_bad_client_secret_is_unauthorized() {
    let env = start().await;
    let mut cfg = oauth_config(&env);
    if let Credentials::OAuth2 { client_secret, .. } = &mut cfg.credentials {
        *client_secret = SecretString::from("wrong-secret");
    }
    let c = HttpFusionClient::new(cfg).unwrap();
    assert_eq!(c.onhand_page(&dc(), 0, 5).await.unwrap_err(), FusionError::Unauthorized);
    assert_eq!(env.sim.request_count("GET inventoryOnhandBalances"), 0);
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn credentials_never_appear_in_debug_display_or_errors() {
    let env = start().await;
    let basic = basic_config(&env);
    let oauth = oauth_config(&env);
    let mut texts = vec![
        format!("{basic:?}"),
        format!("{oauth:?}"),
        format!("{:?}", HttpFusionClient::new(basic.clone()).unwrap()),
        format!("{:?}", HttpFusionClient::new(oauth.clone()).unwrap()),
    ];
    let mut wrong = basic.clone();
    wrong.credentials = Credentials::Basic {
        user: "integration.user".into(),
        password: SecretString::from("wr0ng-PASSWORD-QUUX"),
    };
    let e = HttpFusionClient::new(wrong).unwrap().onhand(&dc()).await.unwrap_err();
    texts.push(e.to_string());
    texts.push(format!("{e:?}"));
    env.sim.set_faults(fault(
        "GET inventoryOnhandBalances",
        FaultStatus::Word("reset".into()),
        100,
    ));
    let e = HttpFusionClient::new(oauth).unwrap().onhand(&dc()).await.unwrap_err();
    texts.push(e.to_string());
    texts.push(format!("{e:?}"));
    for t in &texts {
        for secret in [PASSWORD, CLIENT_SECRET, "wr0ng-PASSWORD-QUUX"] {
            assert!(!t.contains(secret), "{secret} leaked in {t}");
        }
    }
    assert!(texts[0].contains("[redacted]"), "{}", texts[0]);
}

#[test]
fn config_from_env_reads_documented_variables_and_names_missing_ones() {
    let vars: BTreeMap<&str, &str> = [
        ("FUSION_BASE_URL", "https://pod.example.com"),
        ("FUSION_AUTH", "oauth2"),
        ("FUSION_TOKEN_URL", "https://idcs.example.com/oauth2/v1/token"),
        ("FUSION_CLIENT_ID", "cid"),
        ("FUSION_CLIENT_SECRET", "sekret-from-env"),
        ("FUSION_MAX_IN_FLIGHT", "4"),
        ("FUSION_TIMEOUT_MS", "1500"),
        ("FUSION_PAGE_SIZE", "9999"),
        ("FUSION_TRANSFER_SIGN", "negative"),
        ("FUSION_LOOKUP_KEY", "transaction_reference"),
    ]
    .into_iter()
    .collect();
    let c = FusionConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string()), None).unwrap();
    assert_eq!(c.max_in_flight, 4);
    assert_eq!(c.request_timeout, Duration::from_millis(1500));
    assert_eq!(c.effective_page_size(), 500);
    assert_eq!(
        c.api_base(),
        "https://pod.example.com/fscmRestApi/resources/11.13.18.05"
    );
    assert_eq!(c.lookup_key, LookupKey::TransactionReference);
    assert!(!format!("{c:?}").contains("sekret-from-env"));

    let injected = FusionConfig::from_lookup(
        |k| vars.get(k).map(|v| v.to_string()),
        Some(SecretString::from("from-sm")),
    )
    .unwrap();
    assert!(matches!(injected.credentials, Credentials::OAuth2 { .. }));

    let err = FusionConfig::from_lookup(|k| (k == "FUSION_BASE_URL").then(|| "x".into()), None).unwrap_err();
    assert!(err.to_string().contains("FUSION_USER"), "{err}");
}

// ---------------------------------------------------------------- lots, balances, batch

#[tokio::test]
async fn lots_are_read_and_created_idempotently() {
    let env = start().await;
    let c = client(&env);
    let (item, bal) = stocked(&env, Control::Lot, dec!(0));
    let item = ItemNumber::parse(env.catalog.items[item].number.clone()).unwrap();
    let existing = bal.lot.clone().unwrap();
    let lot = c
        .lot(&dc(), &item, &LotNumber::parse(existing.number.clone()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lot.expiration, Some(existing.expiration));

    let new = LotNumber::parse("LNEW-0001").unwrap();
    let exp = NaiveDate::from_ymd_opt(2028, 1, 31);
    assert_eq!(c.lot(&dc(), &item, &new).await.unwrap(), None);
    env.sim.set_faults(fault(
        "POST inventoryItemLots",
        FaultStatus::Word("drop_after_accept".into()),
        1,
    ));
    c.create_lot(&dc(), &item, &new, exp).await.unwrap();
    assert_eq!(c.lot(&dc(), &item, &new).await.unwrap().unwrap().expiration, exp);
    let again = c.create_lot(&dc(), &item, &new, exp).await;
    assert!(
        matches!(again, Err(FusionError::Rejected { status: 400, .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn balance_transactions_set_absolute_balances_and_report_failures() {
    let env = start().await;
    let c = client_with(&env, |c| c.balance_lines_per_request = 1);
    let (item, _) = stocked(&env, Control::Plain, dec!(0));
    let it = &env.catalog.items[item];
    let good = BalanceLine {
        item: ItemNumber::parse(it.number.clone()).unwrap(),
        subinventory: SubinventoryCode::parse("BULK").unwrap(),
        quantity: dec!(42),
        uom: Uom::parse(it.uom.clone()).unwrap(),
        lots: Vec::new(),
        serials: Vec::new(),
    };
    let bad = BalanceLine {
        item: ItemNumber::parse("NOPE-1").unwrap(),
        ..good.clone()
    };
    let out = c.post_balance_transactions(&dc(), &[good.clone(), bad]).await.unwrap();
    assert_eq!((out.requests, out.total, out.succeeded, out.failed), (2, 2, 1, 1));
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].item, "NOPE-1");
    assert_eq!(env.sim.onhand("DC01", &it.number, "BULK", None), dec!(42));

    let negative = BalanceLine {
        quantity: dec!(-1),
        ..good
    };
    env.sim.reset_stats();
    assert!(matches!(
        c.post_balance_transactions(&dc(), &[negative]).await,
        Err(FusionError::InvalidInput(_))
    ));
    assert_eq!(total_requests(&env.sim), 0);
}

#[tokio::test]
async fn the_balance_loader_retries_only_what_fusion_did_not_apply_and_reports_refused_lines() {
    use domain::ports::BalanceLoader;
    let env = start().await;
    let c = client(&env);
    let (item, _) = stocked(&env, Control::Plain, dec!(0));
    let it = &env.catalog.items[item];
    let line = |qty| BalanceLine {
        item: ItemNumber::parse(it.number.clone()).unwrap(),
        subinventory: SubinventoryCode::parse("BULK").unwrap(),
        quantity: qty,
        uom: Uom::parse(it.uom.clone()).unwrap(),
        lots: Vec::new(),
        serials: Vec::new(),
    };
    let applied = |sim: &RunningSim| {
        sim.balance_applications()
            .get(&("DC01".to_string(), it.number.clone(), "BULK".to_string()))
            .copied()
            .unwrap_or(0)
    };
    // 503 and 500 did not take effect: sent again, applied once.
    for status in [503, 500] {
        let before = applied(&env.sim);
        env.sim
            .set_faults(fault("inventoryBalanceTransactions", FaultStatus::Code(status), 1));
        let load = c.load_balances(&dc(), &[line(dec!(7))]).await.unwrap();
        assert!(load.refused.is_empty() && load.requests == 1, "{load:?}");
        assert_eq!(applied(&env.sim), before + 1, "HTTP {status}");
    }
    // 408 after the lines were applied: not sent again; the caller decides from on-hand.
    env.sim.reset_stats();
    env.sim.set_faults(fault(
        "inventoryBalanceTransactions",
        FaultStatus::Word("408".into()),
        1,
    ));
    let before = applied(&env.sim);
    let lost = c.load_balances(&dc(), &[line(dec!(9))]).await;
    assert!(
        matches!(lost, Err(FusionError::Unavailable { status: 408 })),
        "{lost:?}"
    );
    assert_eq!(applied(&env.sim), before + 1);
    assert_eq!(env.sim.request_count("POST inventoryBalanceTransactions"), 1);
    assert_eq!(env.sim.onhand("DC01", &it.number, "BULK", None), dec!(9));
    // A line the processing step refuses comes back with Fusion's text; the rest is applied.
    env.sim.set_faults(Faults::default());
    env.sim.refuse_balance_items(&[it.number.as_str()]);
    let unknown = BalanceLine {
        item: ItemNumber::parse("NOPE-1").unwrap(),
        ..line(dec!(1))
    };
    let load = c.load_balances(&dc(), &[line(dec!(3)), unknown]).await.unwrap();
    assert_eq!(load.refused.len(), 2, "{load:?}");
    assert!(load.refused[0].detail.contains("cycle count"));
    assert_eq!(env.sim.onhand("DC01", &it.number, "BULK", None), dec!(9));
    // A pod without the resource answers 404: NotFound.
    env.sim.set_faults(Faults {
        missing_resources: vec!["inventoryBalanceTransactions".into()],
        ..Faults::default()
    });
    let missing = c.load_balances(&dc(), &[line(dec!(3))]).await;
    assert!(matches!(missing, Err(FusionError::NotFound(_))), "{missing:?}");
}

#[tokio::test]
async fn batch_reads_and_all_or_none_refusals() {
    let env = start().await;
    let c = client(&env);
    let item = &env.catalog.items[0].number;
    let parts = vec![
        BatchPart {
            id: "p1".into(),
            path: format!("/itemsV2?q=ItemNumber={item};OrganizationCode=DC01"),
            operation: BatchOperation::Get,
            payload: None,
        },
        BatchPart {
            id: "p2".into(),
            path: "/inventoryOnhandBalances?q=OrganizationCode=DC01&limit=2".into(),
            operation: BatchOperation::Get,
            payload: None,
        },
    ];
    let ok = c.batch(&parts).await.unwrap();
    assert!(ok.succeeded);
    assert_eq!(ok.parts.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p1", "p2"]);

    let bad = vec![BatchPart {
        id: "w1".into(),
        path: "/inventoryItemLots".into(),
        operation: BatchOperation::Create,
        payload: Some(serde_json::json!({"OrganizationCode": "DC01", "ItemNumber": "NOPE-1", "LotNumber": "L1"})),
    }];
    let refused = c.batch(&bad).await.unwrap();
    assert!(!refused.succeeded);
    assert_eq!(refused.parts[0].id, "w1");
    assert_eq!(refused.parts[0].status, Some(400));
}

#[test]
fn gzip_bodies_round_trip() {
    use std::io::Read as _;
    let body = br#"{"OrganizationCode":"DC01","transactionLines":[]}"#.repeat(100);
    let gz = adapters::fusion::gzip_body(&body).unwrap();
    assert!(gz.len() < body.len());
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out).unwrap();
    assert_eq!(out, body);
}

#[tokio::test]
async fn large_bodies_go_gzipped_when_the_setting_allows_and_land_once() {
    let env = start().await;
    let c = client_with(&env, |c| {
        c.gzip_requests = true;
        c.gzip_threshold_bytes = 64;
    });
    let (post, item) = plain_receipt(&env, "GZ-1");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    c.post(&post).await.unwrap();
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before + dec!(5));
    assert!(
        env.sim.request_count("GZIP request bodies") >= 1,
        "{:?}",
        env.sim.stats()
    );
    assert_eq!(env.sim.request_count(POST_STAGED), 1);
}

#[tokio::test]
async fn a_fusion_that_refuses_gzip_bodies_is_a_permanent_error_not_a_retry_loop() {
    let env = start_with(300, |c| c.accept_gzip_requests = false).await;
    let c = client_with(&env, |c| {
        c.gzip_requests = true;
        c.gzip_threshold_bytes = 64;
    });
    let (post, item) = plain_receipt(&env, "GZ-2");
    let before = env.sim.onhand("DC01", &item, "STORES", None);
    let err = c.post(&post).await.unwrap_err();
    assert!(matches!(err, FusionError::Rejected { status: 415, .. }), "{err:?}");
    assert_eq!(env.sim.onhand("DC01", &item, "STORES", None), before);
    assert_eq!(env.sim.request_count("GZIP refused"), 1, "sent once, not retried");
    assert_eq!(
        env.sim.request_count(POST_STAGED),
        0,
        "refused before reaching the resource"
    );
}
