//! [`FakeFusion`]: Oracle Fusion inventory in memory.
//!
//! Holds an item master, lots and on-hand per organization, records every accepted staged
//! transaction under its Source* reference and answers `find` from those records, so a test
//! can prove that every line reached Fusion exactly once. Failures are scripted per call.

use crate::{lock, ManualClock};
use chrono::{Duration, NaiveDate};
use domain::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, WmsTxnId};
use domain::ports::{
    FusionError, FusionInventory, FusionLot, Landed, OnhandRow, PostReceipt, StagedLine, StagedStatus,
};
use domain::txn::{FusionTxnType, ItemInfo, SourceRef, StagedPost};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

/// A future that is pending once (waking itself at once), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// How Fusion handles the posts that follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PostMode {
    /// Online mode: processed at once into completed transactions and on-hand (default).
    #[default]
    Processed,
    /// Left in the interface table, unprocessed: `find` answers `Staged` with no error.
    Staged,
    /// Left in the interface table with this processing error (ProcessFlag 3).
    StagedWithError(String),
}

/// Which posts a scripted failure applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostMatch {
    /// Any post.
    Any,
    /// Posts of this item.
    Item(ItemNumber),
    /// Posts of this WMS transaction (any line).
    Txn(WmsTxnId),
}

impl PostMatch {
    fn matches(&self, post: &StagedPost) -> bool {
        match self {
            PostMatch::Any => true,
            PostMatch::Item(item) => &post.item == item,
            PostMatch::Txn(id) => &post.source.txn == id,
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Fail(FusionError),
    AcceptThenError,
}

#[derive(Debug)]
struct Rule {
    which: PostMatch,
    remaining: usize,
    action: Action,
}

/// One post Fusion accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPost {
    /// What was posted.
    pub post: StagedPost,
    /// The `TransactionInterfaceId` assigned.
    pub interface_id: i64,
    /// How it was handled.
    pub mode: PostMode,
    /// Completed `TransactionId`s (one per side; empty unless processed).
    pub transaction_ids: Vec<String>,
}

type OnhandKey = (DcCode, ItemNumber, SubinventoryCode, Option<LotNumber>);
type Faults = crate::Faults<FusionError>;

#[derive(Debug)]
struct State {
    items: BTreeMap<(DcCode, ItemNumber), ItemInfo>,
    lots: BTreeMap<(DcCode, ItemNumber, LotNumber), FusionLot>,
    lots_created: Vec<(DcCode, ItemNumber, LotNumber)>,
    onhand: BTreeMap<OnhandKey, OnhandRow>,
    accepted: Vec<AcceptedPost>,
    rules: Vec<Rule>,
    item_info_faults: Faults,
    lot_faults: Faults,
    find_faults: Faults,
    onhand_faults: Faults,
    staged_faults: Faults,
    mode: PostMode,
    transfer_sides: usize,
    post_calls: u64,
    find_calls: u64,
    next_interface_id: i64,
    next_txn_id: u64,
    latency: Option<(ManualClock, Duration)>,
    yields: bool,
    balance: balance::BalanceState,
}

mod balance;
pub use balance::BalanceFault;

impl Default for State {
    fn default() -> Self {
        Self {
            items: BTreeMap::new(),
            lots: BTreeMap::new(),
            lots_created: Vec::new(),
            onhand: BTreeMap::new(),
            accepted: Vec::new(),
            rules: Vec::new(),
            item_info_faults: Faults::default(),
            lot_faults: Faults::default(),
            find_faults: Faults::default(),
            onhand_faults: Faults::default(),
            staged_faults: Faults::default(),
            mode: PostMode::Processed,
            transfer_sides: 2,
            post_calls: 0,
            find_calls: 0,
            next_interface_id: 300_100_000_000_001,
            next_txn_id: 500_000_001,
            latency: None,
            yields: false,
            balance: balance::BalanceState::default(),
        }
    }
}

impl State {
    fn tick(&self) {
        if let Some((clock, by)) = &self.latency {
            clock.advance(*by);
        }
    }

    fn scripted(&mut self, post: &StagedPost) -> Option<Action> {
        let i = self
            .rules
            .iter()
            .position(|r| r.remaining > 0 && r.which.matches(post))?;
        let rule = &mut self.rules[i];
        rule.remaining -= 1;
        let action = rule.action.clone();
        if rule.remaining == 0 {
            self.rules.remove(i);
        }
        Some(action)
    }

    fn validate(&self, post: &StagedPost) -> Result<(), FusionError> {
        let rejected = |detail: String| FusionError::Rejected { status: 400, detail };
        let Some(info) = self.items.get(&(post.dc.clone(), post.item.clone())) else {
            return Err(rejected(format!(
                "The item {} is not valid in organization {}.",
                post.item, post.dc
            )));
        };
        if info.lot_controlled {
            if post.lots.is_empty() {
                return Err(rejected(format!("The item {} requires lot numbers.", post.item)));
            }
            if let Some(l) = post.lots.iter().find(|l| {
                !self
                    .lots
                    .contains_key(&(post.dc.clone(), post.item.clone(), l.lot.clone()))
            }) {
                return Err(rejected(format!("The lot number {} is not valid.", l.lot)));
            }
        }
        if info.serial_controlled && Decimal::from(post.serials.len() as u64) != post.quantity.abs() {
            return Err(rejected(format!(
                "{} serial numbers for a quantity of {}.",
                post.serials.len(),
                post.quantity
            )));
        }
        Ok(())
    }

    /// Runs the transaction manager over staged rows: `verdict` gives a processing error
    /// for a row, or `None` to process it (on-hand changes, `find` answers `Completed`).
    fn process(&mut self, verdict: &dyn Fn(&StagedPost) -> Option<String>) -> (usize, usize) {
        let (mut processed, mut failed) = (0, 0);
        for i in 0..self.accepted.len() {
            if self.accepted[i].mode != PostMode::Staged {
                continue;
            }
            let post = self.accepted[i].post.clone();
            match verdict(&post) {
                Some(error) => {
                    self.accepted[i].mode = PostMode::StagedWithError(error);
                    failed += 1;
                }
                None => {
                    let sides = if post.transfer_subinventory.is_some() {
                        self.transfer_sides
                    } else {
                        1
                    };
                    for _ in 0..sides {
                        let id = self.next_txn_id.to_string();
                        self.accepted[i].transaction_ids.push(id);
                        self.next_txn_id += 1;
                    }
                    self.accepted[i].mode = PostMode::Processed;
                    self.apply_onhand(&post);
                    processed += 1;
                }
            }
        }
        (processed, failed)
    }

    fn accept(&mut self, post: &StagedPost) -> PostReceipt {
        let interface_id = self.next_interface_id;
        self.next_interface_id += 1;
        let mode = self.mode.clone();
        let mut transaction_ids = Vec::new();
        if mode == PostMode::Processed {
            let sides = if post.transfer_subinventory.is_some() {
                self.transfer_sides
            } else {
                1
            };
            for _ in 0..sides {
                transaction_ids.push(self.next_txn_id.to_string());
                self.next_txn_id += 1;
            }
            self.apply_onhand(post);
        }
        self.accepted.push(AcceptedPost {
            post: post.clone(),
            interface_id,
            mode: mode.clone(),
            transaction_ids,
        });
        PostReceipt {
            interface_id,
            processed: mode == PostMode::Processed,
        }
    }

    fn apply_onhand(&mut self, post: &StagedPost) {
        let sides: Vec<(SubinventoryCode, Decimal)> = match (&post.txn_type, &post.transfer_subinventory) {
            (FusionTxnType::SubinventoryTransfer, Some(to)) => vec![
                (post.subinventory.clone(), Decimal::NEGATIVE_ONE),
                (to.clone(), Decimal::ONE),
            ],
            _ => vec![(post.subinventory.clone(), Decimal::ONE)],
        };
        let sign = if post.quantity.is_sign_negative() {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        for (sub, side) in sides {
            let parts: Vec<(Option<LotNumber>, Decimal)> = if post.lots.is_empty() {
                vec![(None, post.quantity.abs())]
            } else {
                post.lots.iter().map(|l| (Some(l.lot.clone()), l.quantity)).collect()
            };
            for (lot, quantity) in parts {
                let expiration = lot.as_ref().and_then(|l| {
                    self.lots
                        .get(&(post.dc.clone(), post.item.clone(), l.clone()))
                        .and_then(|f| f.expiration)
                });
                let key = (post.dc.clone(), post.item.clone(), sub.clone(), lot.clone());
                let row = self.onhand.entry(key).or_insert_with(|| OnhandRow {
                    dc: post.dc.clone(),
                    item: post.item.clone(),
                    subinventory: sub.clone(),
                    lot,
                    expiration,
                    serials: Vec::new(),
                    quantity: Decimal::ZERO,
                    uom: post.uom.clone(),
                });
                let delta = quantity * sign * side;
                row.quantity += delta;
                let mut serials: BTreeSet<SerialNumber> = row.serials.drain(..).collect();
                for s in &post.serials {
                    if delta.is_sign_negative() {
                        serials.remove(s);
                    } else {
                        serials.insert(s.clone());
                    }
                }
                row.serials = serials.into_iter().collect();
            }
        }
    }
}

/// Oracle Fusion inventory in memory (see the module docs).
///
/// Contract kept: `item_info` of an unknown item is `NotFound`; `post` refuses (400
/// `Rejected`) an item missing from the item master, a lot-controlled post without lots or
/// with a lot Fusion does not have, and a serial count that differs from the quantity;
/// `create_lot` refuses a lot that exists; `find` answers from accepted posts by DC and
/// Source* reference (`Completed` with one side, two for a transfer, when processed; `Staged`
/// otherwise). Processed posts change on-hand, which `onhand` reports (rows at zero with no
/// serials are left out, as Fusion does).
#[derive(Debug, Default)]
pub struct FakeFusion {
    state: Mutex<State>,
}

impl FakeFusion {
    /// An empty Fusion: no items, lots or on-hand.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an item in `dc`'s item master.
    pub fn add_item(&self, dc: &DcCode, info: ItemInfo) {
        lock(&self.state).items.insert((dc.clone(), info.item.clone()), info);
    }

    /// Adds (or replaces) a lot of an item.
    pub fn add_lot(&self, dc: &DcCode, item: &ItemNumber, lot: &LotNumber, expiration: Option<NaiveDate>) {
        lock(&self.state).lots.insert(
            (dc.clone(), item.clone(), lot.clone()),
            FusionLot {
                number: lot.clone(),
                expiration,
            },
        );
    }

    /// Sets an on-hand row (replacing the row with its key).
    pub fn set_onhand(&self, row: OnhandRow) {
        let key = (
            row.dc.clone(),
            row.item.clone(),
            row.subinventory.clone(),
            row.lot.clone(),
        );
        lock(&self.state).onhand.insert(key, row);
    }

    /// On-hand quantity at a key (zero when no row).
    pub fn onhand_quantity(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        sub: &SubinventoryCode,
        lot: Option<&LotNumber>,
    ) -> Decimal {
        lock(&self.state)
            .onhand
            .get(&(dc.clone(), item.clone(), sub.clone(), lot.cloned()))
            .map_or(Decimal::ZERO, |r| r.quantity)
    }

    /// Lots created through `create_lot`, in order.
    pub fn lots_created(&self) -> Vec<(DcCode, ItemNumber, LotNumber)> {
        lock(&self.state).lots_created.clone()
    }

    /// A lot as Fusion holds it.
    pub fn lot_of(&self, dc: &DcCode, item: &ItemNumber, lot: &LotNumber) -> Option<FusionLot> {
        lock(&self.state)
            .lots
            .get(&(dc.clone(), item.clone(), lot.clone()))
            .cloned()
    }

    /// Processes every staged (unprocessed) row, as Fusion's Manage Inventory Transactions
    /// job does: rows for which `verdict` gives an error fail with it (ProcessFlag 3), the
    /// rest change on-hand. Returns (processed, failed).
    pub fn process_staged(&self, verdict: impl Fn(&StagedPost) -> Option<String>) -> (usize, usize) {
        lock(&self.state).process(&verdict)
    }

    /// Drops every scripted post failure still queued (the cause was fixed).
    pub fn clear_post_failures(&self) {
        lock(&self.state).rules.clear();
    }

    /// Fails the next `n` reads of the interface (`staged`).
    pub fn fail_next_staged_reads(&self, n: usize, error: FusionError) {
        lock(&self.state).staged_faults.push(n, error);
    }

    /// How the posts that follow are handled (default [`PostMode::Processed`]).
    pub fn set_post_mode(&self, mode: PostMode) {
        lock(&self.state).mode = mode;
    }

    /// How many sides a processed transfer lands with (default 2; 1 simulates a lost credit).
    pub fn set_transfer_sides(&self, sides: usize) {
        lock(&self.state).transfer_sides = sides;
    }

    /// Every `post` and `find` call moves `clock` forward by `latency` (a slow Fusion, for
    /// time-budget tests).
    pub fn set_call_latency(&self, clock: &ManualClock, latency: Duration) {
        lock(&self.state).latency = Some((clock.clone(), latency));
    }

    /// With `true`, every `post` and `find` first yields once to the executor, so runs
    /// joined in one task (`tokio::join!`) interleave as they would against a real Fusion.
    pub fn set_yield_on_calls(&self, yields: bool) {
        lock(&self.state).yields = yields;
    }

    async fn maybe_yield(&self) {
        let yields = lock(&self.state).yields;
        if yields {
            YieldOnce(false).await;
        }
    }

    /// The next `n` posts matching `which` fail with `error` and are not recorded.
    pub fn fail_posts(&self, which: PostMatch, n: usize, error: FusionError) {
        lock(&self.state).rules.push(Rule {
            which,
            remaining: n,
            action: Action::Fail(error),
        });
    }

    /// The next `n` posts fail with `error` and are not recorded.
    pub fn fail_next_posts(&self, n: usize, error: FusionError) {
        self.fail_posts(PostMatch::Any, n, error);
    }

    /// The next `n` posts matching `which` are accepted and recorded (Fusion has them) but the
    /// caller gets `FusionError::Connection`, as when a connection drops after the request
    /// was sent.
    pub fn accept_then_error(&self, which: PostMatch, n: usize) {
        lock(&self.state).rules.push(Rule {
            which,
            remaining: n,
            action: Action::AcceptThenError,
        });
    }

    /// The next `n` posts are accepted and recorded but answer `FusionError::Connection`.
    pub fn accept_then_error_next(&self, n: usize) {
        self.accept_then_error(PostMatch::Any, n);
    }

    /// The next `n` `item_info` calls fail with `error`.
    pub fn fail_next_item_info(&self, n: usize, error: FusionError) {
        lock(&self.state).item_info_faults.push(n, error);
    }

    /// The next `n` `lot` lookups fail with `error`.
    pub fn fail_next_lot_lookups(&self, n: usize, error: FusionError) {
        lock(&self.state).lot_faults.push(n, error);
    }

    /// The next `n` `find` calls fail with `error`.
    pub fn fail_next_finds(&self, n: usize, error: FusionError) {
        lock(&self.state).find_faults.push(n, error);
    }

    /// The next `n` `onhand` calls fail with `error`.
    pub fn fail_next_onhand(&self, n: usize, error: FusionError) {
        lock(&self.state).onhand_faults.push(n, error);
    }

    /// Every accepted post, in order.
    pub fn accepted(&self) -> Vec<AcceptedPost> {
        lock(&self.state).accepted.clone()
    }

    /// Every accepted staged transaction, in order.
    pub fn posts(&self) -> Vec<StagedPost> {
        lock(&self.state).accepted.iter().map(|a| a.post.clone()).collect()
    }

    /// Accepted posts of one WMS transaction, in order.
    pub fn posts_of(&self, txn: &str) -> Vec<StagedPost> {
        lock(&self.state)
            .accepted
            .iter()
            .filter(|a| a.post.source.txn.as_str() == txn)
            .map(|a| a.post.clone())
            .collect()
    }

    /// How many times Fusion accepted a post with this Source* reference (exactly-once: 1).
    pub fn post_count(&self, source: &SourceRef) -> usize {
        lock(&self.state)
            .accepted
            .iter()
            .filter(|a| &a.post.source == source)
            .count()
    }

    /// Accepted posts per Source* reference.
    pub fn post_counts(&self) -> BTreeMap<SourceRef, usize> {
        let mut out = BTreeMap::new();
        for a in lock(&self.state).accepted.iter() {
            *out.entry(a.post.source.clone()).or_insert(0) += 1;
        }
        out
    }

    /// The highest number of accepted posts of any one Source* reference (0 when none; more
    /// than 1 means a double post).
    pub fn max_posts_per_source(&self) -> usize {
        self.post_counts().into_values().max().unwrap_or(0)
    }

    /// `post` calls made, failed ones included.
    pub fn post_calls(&self) -> u64 {
        lock(&self.state).post_calls
    }

    /// `find` calls made, failed ones included.
    pub fn find_calls(&self) -> u64 {
        lock(&self.state).find_calls
    }
}

impl FusionInventory for FakeFusion {
    async fn item_info(&self, dc: &DcCode, item: &ItemNumber) -> Result<ItemInfo, FusionError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.item_info_faults.take() {
            return Err(e);
        }
        s.items
            .get(&(dc.clone(), item.clone()))
            .cloned()
            .ok_or_else(|| FusionError::NotFound(format!("item {item} in organization {dc}")))
    }

    async fn lot(&self, dc: &DcCode, item: &ItemNumber, lot: &LotNumber) -> Result<Option<FusionLot>, FusionError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.lot_faults.take() {
            return Err(e);
        }
        Ok(s.lots.get(&(dc.clone(), item.clone(), lot.clone())).cloned())
    }

    async fn create_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
        expiration: Option<NaiveDate>,
    ) -> Result<(), FusionError> {
        let mut s = lock(&self.state);
        let key = (dc.clone(), item.clone(), lot.clone());
        if s.lots.contains_key(&key) {
            return Err(FusionError::Rejected {
                status: 400,
                detail: format!("The lot {lot} already exists for item {item}."),
            });
        }
        s.lots.insert(
            key.clone(),
            FusionLot {
                number: lot.clone(),
                expiration,
            },
        );
        s.lots_created.push(key);
        Ok(())
    }

    async fn post(&self, post: &StagedPost) -> Result<PostReceipt, FusionError> {
        self.maybe_yield().await;
        let mut s = lock(&self.state);
        s.post_calls += 1;
        s.tick();
        let action = s.scripted(post);
        if let Some(Action::Fail(e)) = action {
            return Err(e);
        }
        s.validate(post)?;
        let receipt = s.accept(post);
        match action {
            Some(Action::AcceptThenError) => Err(FusionError::Connection(
                "connection reset after the request was sent".into(),
            )),
            _ => Ok(receipt),
        }
    }

    async fn find(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        self.maybe_yield().await;
        let mut s = lock(&self.state);
        s.find_calls += 1;
        s.tick();
        if let Some(e) = s.find_faults.take() {
            return Err(e);
        }
        let Some(a) = s.accepted.iter().find(|a| &a.post.dc == dc && &a.post.source == source) else {
            return Ok(Landed::NotFound);
        };
        Ok(match &a.mode {
            PostMode::Processed => Landed::Completed {
                transaction_ids: a.transaction_ids.clone(),
                sides: a.transaction_ids.len(),
            },
            PostMode::Staged => Landed::Staged {
                interface_id: a.interface_id,
                error: None,
            },
            PostMode::StagedWithError(e) => Landed::Staged {
                interface_id: a.interface_id,
                error: Some(e.clone()),
            },
        })
    }

    async fn completed(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        Ok(match self.find(dc, source).await? {
            done @ Landed::Completed { .. } => done,
            _ => Landed::NotFound,
        })
    }

    async fn staged(&self, dc: &DcCode) -> Result<Vec<StagedLine>, FusionError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.staged_faults.take() {
            return Err(e);
        }
        Ok(s.accepted
            .iter()
            .filter(|a| &a.post.dc == dc)
            .filter_map(|a| {
                let status = match &a.mode {
                    PostMode::Processed => return None,
                    PostMode::Staged => StagedStatus::Pending,
                    PostMode::StagedWithError(e) => StagedStatus::Failed { error: e.clone() },
                };
                let p = &a.post;
                Some(StagedLine {
                    interface_id: a.interface_id,
                    source: Some(p.source.clone()),
                    item: p.item.clone(),
                    subinventory: p.subinventory.clone(),
                    transfer_subinventory: p.transfer_subinventory.clone(),
                    quantity: if p.transfer_subinventory.is_some() {
                        p.quantity.abs()
                    } else {
                        p.quantity
                    },
                    lots: p.lots.iter().map(|l| (l.lot.clone(), l.quantity)).collect(),
                    serials: p.serials.clone(),
                    status,
                })
            })
            .collect())
    }

    async fn onhand(&self, dc: &DcCode) -> Result<Vec<OnhandRow>, FusionError> {
        let mut s = lock(&self.state);
        if let Some(e) = s.onhand_faults.take() {
            return Err(e);
        }
        Ok(s.onhand
            .values()
            .filter(|r| &r.dc == dc && !(r.quantity.is_zero() && r.serials.is_empty()))
            .cloned()
            .collect())
    }
}
