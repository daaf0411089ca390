//! One "container" of the benchmark: the real Fusion and WMS HTTP clients (each DC's own, as
//! each Lambda invocation has its own) over shared in-memory tables, every table, the item
//! cache and the alert topic behind [`testkit::latency::Latency`].

use std::sync::Arc;

use adapters::fusion::item_cache::{InMemoryItemCache, SharedItemCache};
use adapters::fusion::HttpFusionClient;
use adapters::wms::HttpWmsClient;
use chrono::{DateTime, Utc};
use domain::ids::{DcCode, ItemNumber};
use domain::ports::{Clock, StoreError};
use domain::sync::SyncPorts;
use domain::txn::ItemInfo;
use futures::future::BoxFuture;
use testkit::latency::{AwsLatency, Latency, RequestCounts, RequestKind};
use testkit::{InMemoryLease, InMemoryLedger, InMemoryLotMap, InMemoryRunReports, InMemoryTasks, RecordingAlerts};

/// The tables and the topic, shared by every container as in one AWS account.
#[derive(Debug)]
pub struct Tables {
    /// The Fusion item master cache (`ItemCacheTable`).
    pub items: Arc<InMemoryItemCache>,
    /// Sync ledger.
    pub ledger: Arc<InMemoryLedger>,
    /// Lot map.
    pub lots: Arc<InMemoryLotMap>,
    /// DC leases.
    pub lease: Arc<InMemoryLease>,
    /// Review tasks.
    pub tasks: Arc<InMemoryTasks>,
    /// Run reports.
    pub runs: Arc<InMemoryRunReports>,
    /// Published alerts.
    pub alerts: Arc<RecordingAlerts>,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            items: Arc::new(InMemoryItemCache::new(chrono::TimeDelta::hours(24))),
            ledger: Arc::default(),
            lots: Arc::default(),
            lease: Arc::default(),
            tasks: Arc::default(),
            runs: Arc::default(),
            alerts: Arc::default(),
        }
    }
}

/// The item cache behind DynamoDB latency, counted as `DynamoItemCache` makes its requests:
/// one `BatchGetItem` per 100 keys, one `BatchWriteItem` per 25 rows, one `DeleteItem`.
#[derive(Debug)]
pub struct CountedItemCache {
    inner: Arc<InMemoryItemCache>,
    aws: Latency<()>,
}

impl CountedItemCache {
    /// `inner` behind `latency`, counting into `counts`.
    pub fn new(inner: Arc<InMemoryItemCache>, latency: AwsLatency, counts: &Arc<RequestCounts>) -> Self {
        Self {
            inner,
            aws: Latency::new(Arc::new(()), latency, counts.clone()),
        }
    }

    async fn requests(&self, kind: RequestKind, operation: &'static str, n: usize) {
        for _ in 0..n {
            self.aws.request_for(kind, operation).await;
        }
    }
}

impl SharedItemCache for CountedItemCache {
    fn get_many<'a>(
        &'a self,
        dc: &'a DcCode,
        items: &'a [ItemNumber],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ItemInfo>, StoreError>> {
        Box::pin(async move {
            self.requests(RequestKind::DynamoRead, "ItemCache.get_many", items.len().div_ceil(100))
                .await;
            self.inner.get_many(dc, items, now).await
        })
    }

    fn put_many<'a>(
        &'a self,
        dc: &'a DcCode,
        infos: &'a [ItemInfo],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.requests(RequestKind::DynamoWrite, "ItemCache.put_many", infos.len().div_ceil(25))
                .await;
            self.inner.put_many(dc, infos, now).await
        })
    }

    fn forget<'a>(&'a self, dc: &'a DcCode, item: &'a ItemNumber) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.requests(RequestKind::DynamoWrite, "ItemCache.forget", 1).await;
            self.inner.forget(dc, item).await
        })
    }
}

/// The wall clock (the fakes' own clock stands still).
#[derive(Debug, Clone, Copy)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The ports one sync invocation uses.
pub struct BenchPorts {
    /// This container's Fusion client (its own in-flight bound).
    pub fusion: HttpFusionClient,
    /// This container's WMS client.
    pub wms: HttpWmsClient,
    /// Ledger behind DynamoDB latency.
    pub ledger: Latency<InMemoryLedger>,
    /// Lot map behind DynamoDB latency.
    pub lots: Latency<InMemoryLotMap>,
    /// Leases behind DynamoDB latency.
    pub lease: Latency<InMemoryLease>,
    /// Review tasks behind DynamoDB latency.
    pub tasks: Latency<InMemoryTasks>,
    /// Run reports behind DynamoDB latency (saved by the handler after the run).
    pub runs: Latency<InMemoryRunReports>,
    /// Alerts behind SNS latency.
    pub alerts: Latency<RecordingAlerts>,
    clock: WallClock,
}

impl BenchPorts {
    /// A container over `tables`, counting into `counts`.
    pub fn new(
        fusion: HttpFusionClient,
        wms: HttpWmsClient,
        tables: &Tables,
        latency: AwsLatency,
        counts: &Arc<RequestCounts>,
    ) -> Self {
        let items = CountedItemCache::new(tables.items.clone(), latency, counts);
        Self {
            fusion: fusion.with_item_cache(Arc::new(items)),
            wms,
            ledger: Latency::new(tables.ledger.clone(), latency, counts.clone()),
            lots: Latency::new(tables.lots.clone(), latency, counts.clone()),
            lease: Latency::new(tables.lease.clone(), latency, counts.clone()),
            tasks: Latency::new(tables.tasks.clone(), latency, counts.clone()),
            runs: Latency::new(tables.runs.clone(), latency, counts.clone()),
            alerts: Latency::new(tables.alerts.clone(), latency, counts.clone()),
            clock: WallClock,
        }
    }
}

impl SyncPorts for BenchPorts {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = Latency<InMemoryLedger>;
    type Lots = Latency<InMemoryLotMap>;
    type Lease = Latency<InMemoryLease>;
    type Tasks = Latency<InMemoryTasks>;
    type Alerts = Latency<RecordingAlerts>;
    type Clock = WallClock;

    fn fusion(&self) -> &Self::Fusion {
        &self.fusion
    }
    fn wms(&self) -> &Self::Wms {
        &self.wms
    }
    fn ledger(&self) -> &Self::Ledger {
        &self.ledger
    }
    fn lots(&self) -> &Self::Lots {
        &self.lots
    }
    fn lease(&self) -> &Self::Lease {
        &self.lease
    }
    fn tasks(&self) -> &Self::Tasks {
        &self.tasks
    }
    fn alerts(&self) -> &Self::Alerts {
        &self.alerts
    }
    fn clock(&self) -> &Self::Clock {
        &self.clock
    }
}
