//! Helpers shared by the sync-inventory integration tests: calling the real handler with real
//! SQS event JSON, and reading the outcome back from the ledger and both simulators.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

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
    let request_id = format!("req-{message_id}-{}", uuid_like());
    deliver_batch(deps, &request_id, &[(message_id, body)], budget).await
}

/// Delivers a batch of SQS records as invocation `request_id`.
pub async fn deliver_batch(
    deps: &Deps,
    request_id: &str,
    records: &[(&str, String)],
    budget: Duration,
) -> SqsBatchResponse {
    let event = sqs_event(records).unwrap();
    handle(
        deps,
        lambda_runtime::LambdaEvent::new(event, context(request_id, budget)),
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

/// The real ports of one container with two test levers: a ledger that fails the next
/// `fail_confirms` writes to `synced` (a crash between the Fusion post and the ledger write),
/// and optionally a DC lease that is always granted (so two invocations race transaction by
/// transaction on the ledger's conditional writes alone).
pub struct TestPorts {
    /// The real ports.
    pub inner: app::AppPorts,
    /// The ledger lever.
    pub ledger: CrashingLedger,
    /// The lease lever.
    pub lease: OpenLease,
}

impl TestPorts {
    /// Wraps a fresh container of `env`.
    pub fn new(env: &TestEnv, fail_confirms: u32, lease_always_granted: bool) -> Self {
        let inner = env.ports().unwrap();
        Self {
            ledger: CrashingLedger {
                inner: inner.ledger.clone(),
                fail_confirms: std::sync::atomic::AtomicU32::new(fail_confirms),
                only_txn: None,
            },
            lease: OpenLease {
                inner: inner.lease.clone(),
                always: lease_always_granted,
            },
            inner,
        }
    }
}

/// A ledger that delegates, except that it fails the next `fail_confirms` moves to `synced`.
pub struct CrashingLedger {
    inner: adapters::aws::DynamoSyncLedger,
    fail_confirms: std::sync::atomic::AtomicU32,
    only_txn: Option<String>,
}

impl CrashingLedger {
    /// Fails confirms of this transaction only.
    pub fn only_for(&mut self, txn_id: &str) {
        self.only_txn = Some(txn_id.to_string());
    }
}

impl domain::ports::SyncLedger for CrashingLedger {
    async fn record_seen(
        &self,
        txn: &domain::txn::WmsTransaction,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<domain::ports::LedgerRow, domain::ports::StoreError> {
        self.inner.record_seen(txn, now).await
    }

    async fn record_claimed(
        &self,
        txn: &domain::txn::WmsTransaction,
        entry: &domain::ledger::LedgerEntry,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<domain::ports::Recorded, domain::ports::StoreError> {
        self.inner.record_claimed(txn, entry, now).await
    }

    async fn get(&self, dc: &DcCode, id: &str) -> Result<Option<domain::ports::LedgerRow>, domain::ports::StoreError> {
        self.inner.get(dc, id).await
    }

    async fn transition(
        &self,
        row: &domain::ports::LedgerRow,
        next: &domain::ledger::LedgerEntry,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), domain::ports::StoreError> {
        use std::sync::atomic::Ordering;
        if next.state == SyncState::Synced
            && self.only_txn.as_ref().is_none_or(|id| row.txn.id().as_str() == id)
            && self
                .fail_confirms
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(domain::ports::StoreError::Unavailable(
                "the container died before the ledger write".into(),
            ));
        }
        self.inner.transition(row, next, now).await
    }

    async fn in_state(
        &self,
        dc: &DcCode,
        state: SyncState,
    ) -> Result<Vec<domain::ports::LedgerRow>, domain::ports::StoreError> {
        self.inner.in_state(dc, state).await
    }

    async fn unsettled(&self, dc: &DcCode) -> Result<Vec<domain::ports::LedgerRow>, domain::ports::StoreError> {
        self.inner.unsettled(dc).await
    }
}

/// The real DC lease, or one that is always granted.
pub struct OpenLease {
    inner: adapters::aws::DynamoDcLease,
    always: bool,
}

impl domain::ports::DcLease for OpenLease {
    async fn acquire(
        &self,
        dc: &DcCode,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, domain::ports::StoreError> {
        if self.always {
            return Ok(true);
        }
        self.inner.acquire(dc, owner, now, until).await
    }

    async fn release(&self, dc: &DcCode, owner: &str) -> Result<(), domain::ports::StoreError> {
        if self.always {
            return Ok(());
        }
        self.inner.release(dc, owner).await
    }
}

impl domain::sync::SyncPorts for TestPorts {
    type Fusion = adapters::fusion::HttpFusionClient;
    type Wms = adapters::wms::HttpWmsClient;
    type Ledger = CrashingLedger;
    type Lots = adapters::aws::DynamoLotMap;
    type Lease = OpenLease;
    type Tasks = adapters::aws::DynamoReviewTasks;
    type Alerts = adapters::aws::SnsAlertSink;
    type Clock = app::SystemClock;

    fn fusion(&self) -> &Self::Fusion {
        &self.inner.fusion
    }
    fn wms(&self) -> &Self::Wms {
        &self.inner.wms
    }
    fn ledger(&self) -> &Self::Ledger {
        &self.ledger
    }
    fn lots(&self) -> &Self::Lots {
        &self.inner.lots
    }
    fn lease(&self) -> &Self::Lease {
        &self.lease
    }
    fn tasks(&self) -> &Self::Tasks {
        &self.inner.tasks
    }
    fn alerts(&self) -> &Self::Alerts {
        &self.inner.alerts
    }
    fn clock(&self) -> &Self::Clock {
        &self.inner.clock
    }
}
