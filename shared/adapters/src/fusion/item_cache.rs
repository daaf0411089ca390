//! [`SharedItemCache`]: item master facts kept beyond one process, so a new container (a cold
//! start, another DC's invocation, the next hourly run) does not ask Fusion again for what
//! another one already learned. [`HttpFusionClient::with_item_cache`](super::HttpFusionClient::with_item_cache)
//! puts one behind the client's own in-process cache; `adapters::aws::DynamoItemCache` is the
//! deployed one (`ItemCacheTable`), [`InMemoryItemCache`] serves one process (tests, benches).
//!
//! Contract: entries expire after the cache's TTL (a read never returns an expired entry, even
//! before DynamoDB's TTL sweep removes it); `forget` drops an entry Fusion contradicted (an
//! item it refused as unknown). The cache is an optimisation only: its callers treat every
//! error as a miss (with a warning), never as a failed transaction.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::{DcCode, ItemNumber};
use domain::ports::StoreError;
use domain::txn::ItemInfo;
use futures::future::BoxFuture;

/// Item master facts per (organization, item), shared between processes, with a TTL.
/// Object-safe, so a client holds any implementation without becoming generic.
pub trait SharedItemCache: Send + Sync + Debug {
    /// The entries of `items` in `dc` that exist and have not expired at `now`, in any order;
    /// missing items are simply absent.
    fn get_many<'a>(
        &'a self,
        dc: &'a DcCode,
        items: &'a [ItemNumber],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ItemInfo>, StoreError>>;

    /// Stores `infos` for `dc` (last writer wins), each expiring the cache's TTL after `now`.
    fn put_many<'a>(
        &'a self,
        dc: &'a DcCode,
        infos: &'a [ItemInfo],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Drops the entry of `item` in `dc`, if any.
    fn forget<'a>(&'a self, dc: &'a DcCode, item: &'a ItemNumber) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// An entry and when it expires.
type Entry = (ItemInfo, DateTime<Utc>);

/// A [`SharedItemCache`] in this process's memory, with the same TTL rule as the DynamoDB one.
#[derive(Debug)]
pub struct InMemoryItemCache {
    ttl: TimeDelta,
    rows: Mutex<HashMap<(DcCode, ItemNumber), Entry>>,
}

impl InMemoryItemCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: TimeDelta) -> Self {
        Self {
            ttl,
            rows: Mutex::new(HashMap::new()),
        }
    }

    /// Entries held, expired ones included.
    pub fn len(&self) -> usize {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SharedItemCache for InMemoryItemCache {
    fn get_many<'a>(
        &'a self,
        dc: &'a DcCode,
        items: &'a [ItemNumber],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ItemInfo>, StoreError>> {
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let found = items
            .iter()
            .filter_map(|i| rows.get(&(dc.clone(), i.clone())))
            .filter(|(_, expires)| *expires > now)
            .map(|(info, _)| info.clone())
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn put_many<'a>(
        &'a self,
        dc: &'a DcCode,
        infos: &'a [ItemInfo],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        for info in infos {
            rows.insert((dc.clone(), info.item.clone()), (info.clone(), now + self.ttl));
        }
        Box::pin(async { Ok(()) })
    }

    fn forget<'a>(&'a self, dc: &'a DcCode, item: &'a ItemNumber) -> BoxFuture<'a, Result<(), StoreError>> {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(dc.clone(), item.clone()));
        Box::pin(async { Ok(()) })
    }
}
