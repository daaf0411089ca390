//! Helpers shared by the sync-inventory integration tests: calling the real handler with real
//! SQS event JSON, and reading the outcome back from the ledger and both simulators.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsBatchResponse;
use domain::ledger::SyncState;
use domain::sync::SyncSettings;
use domain::DcCode;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use sync_inventory::handler::{handle, Deps};
use test_harness::wms_sim::Transaction;
use test_harness::{context, sqs_event, TestEnv};

/// A fresh warm container with default settings.
pub fn deps(env: &TestEnv) -> Deps {
    deps_with(env, SyncSettings::default())
}

/// A fresh warm container.
pub fn deps_with(env: &TestEnv, settings: SyncSettings) -> Deps {
    Deps {
        ports: env.ports().unwrap(),
        settings,
    }
}

/// Delivers one SQS record to the handler with a `budget` until the Lambda deadline.
pub async fn deliver(deps: &Deps, message_id: &str, body: String, budget: Duration) -> SqsBatchResponse {
    let event = sqs_event(&[(message_id, body)]).unwrap();
    let request_id = format!("req-{message_id}-{}", uuid_like());
    handle(
        deps,
        lambda_runtime::LambdaEvent::new(event, context(&request_id, budget)),
    )
    .await
    .unwrap()
}

/// Delivers the sync message of `dc` for `slot` with ten minutes of budget and asserts it was
/// acknowledged.
pub async fn sync_once(env: &TestEnv, deps: &Deps, dc: &DcCode, message_id: &str, slot: &str) {
    let resp = deliver(deps, message_id, env.sync_message(dc, slot), Duration::from_secs(600)).await;
    assert!(
        resp.batch_item_failures.is_empty(),
        "message {message_id} not acknowledged: {:?}",
        resp.batch_item_failures
    );
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{:08}", N.fetch_add(1, Ordering::Relaxed))
}

/// Ledger states of `ids` at `dc`, read one row at a time (strongly consistent).
pub async fn ledger_states(deps: &Deps, dc: &DcCode, ids: &[String]) -> BTreeMap<String, Option<SyncState>> {
    use domain::ports::SyncLedger;
    let mut out = BTreeMap::new();
    for id in ids {
        let row = deps.ports.ledger.get(dc, id).await.unwrap();
        out.insert(id.clone(), row.map(|r| r.entry.state));
    }
    out
}

/// Counts ledger rows of `dc` per state via the state index.
pub async fn ledger_counts(deps: &Deps, dc: &DcCode) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for state in [
        SyncState::PendingSync,
        SyncState::InFlight,
        SyncState::Synced,
        SyncState::SyncFailed,
        SyncState::ManualReview,
    ] {
        let n = deps.ports.ledger.rows_by_state(dc, state).await.unwrap().len();
        out.insert(state.as_str(), n);
    }
    out
}

/// Every (item, subinventory, lot) key the transactions touched (both sides of transfers).
pub fn touched_keys(txns: &[Transaction]) -> BTreeSet<(String, String, Option<String>)> {
    let mut keys = BTreeSet::new();
    for t in txns {
        let subs: Vec<&String> = std::iter::once(&t.subinventory)
            .chain(t.to_subinventory.iter())
            .collect();
        for sub in subs {
            if t.lots.is_empty() {
                keys.insert((t.item.clone(), sub.clone(), None));
            }
            for l in &t.lots {
                keys.insert((t.item.clone(), sub.clone(), Some(l.lot.clone())));
            }
        }
    }
    keys
}

/// Asserts Fusion's on-hand (and serials) equal the WMS's for every key, returning how many
/// keys were compared.
pub fn assert_onhand_matches(env: &TestEnv, dc: &DcCode, keys: &BTreeSet<(String, String, Option<String>)>) -> usize {
    let mut mismatches = Vec::new();
    for (item, sub, lot) in keys {
        let wms = env.wms.on_hand(dc.as_str(), item, sub, lot.as_deref()).unwrap();
        let fusion = env.fusion.onhand(dc.as_str(), item, sub, lot.as_deref());
        if wms != fusion {
            mismatches.push(format!("{item}/{sub}/{lot:?}: WMS {wms} Fusion {fusion}"));
            continue;
        }
        let wms_serials: BTreeSet<String> = env
            .wms
            .balance(dc.as_str(), item, sub, lot.as_deref())
            .map(|b| b.serials.into_iter().collect())
            .unwrap_or_default();
        let fusion_serials: BTreeSet<String> = env.fusion.serials(dc.as_str(), item, sub).into_iter().collect();
        if lot.is_none() && wms_serials != fusion_serials {
            mismatches.push(format!("{item}/{sub}: serials differ"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} keys differ between WMS and Fusion, e.g. {:?}",
        mismatches.len(),
        keys.len(),
        &mismatches[..mismatches.len().min(10)]
    );
    keys.len()
}

/// Number of Fusion lines (staged posts) the transactions need with the default serial limit.
pub fn expected_lines(txns: &[Transaction], serial_limit: usize) -> usize {
    txns.iter()
        .map(|t| {
            if t.serials.is_empty() {
                1
            } else {
                t.serials.len().div_ceil(serial_limit)
            }
        })
        .sum()
}

/// Asserts every transaction's every line landed in Fusion exactly once, by Source* reference.
pub async fn assert_each_line_landed_once(env: &TestEnv, txns: &[Transaction]) {
    let landed = env.fusion_landed_by_reference().await.unwrap();
    let mut wrong = Vec::new();
    for t in txns {
        let lines = if t.serials.is_empty() {
            1
        } else {
            t.serials.len().div_ceil(50)
        };
        for line in 1..=lines {
            let reference = format!("{}#{line}", t.id);
            let n = landed.get(&reference).copied().unwrap_or(0);
            if n != 1 {
                wrong.push(format!("{reference} landed {n} times"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} lines not landed exactly once: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
}

/// Fusion staged POSTs so far.
pub fn staged_posts(env: &TestEnv) -> u64 {
    env.fusion.request_count("POST inventoryStagedTransactions")
}

/// Sum of on-hand quantities, to print in failures.
pub fn total(qs: impl Iterator<Item = Decimal>) -> Decimal {
    qs.sum()
}
