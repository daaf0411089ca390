//! [`Latency`]: a decorator that puts an AWS service's round trip in front of an in-memory
//! fake and counts every request by kind, so a benchmark on the fakes measures invsync's own
//! cost (requests x latency / concurrency) rather than an emulator's.
//!
//! One port call is counted as one request: the DynamoDB adapters make one request per call on
//! the normal path (a query that pages past 1 MB, or a read after a refused conditional write,
//! would add more; the fakes never need them). DynamoDB-backed ports (ledger, lease, lot map,
//! review tasks, incidents, run reports) count as [`RequestKind::DynamoRead`] or
//! [`RequestKind::DynamoWrite`]; the alert sink as [`RequestKind::Sns`]. No domain port sends
//! to SQS (the fan-out does, outside the engines): a caller counts and delays those through
//! [`Latency::request`] on a `Latency<()>`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ids::{DcCode, ItemNumber, LotNumber};
use domain::ledger::{LedgerEntry, SyncState};
use domain::ports::{
    Alert, AlertError, AlertSink, BalanceKeyText, DcLease, Incident, Incidents, LedgerRow, LotMap, MappedLot, Recorded,
    ReviewTask, ReviewTasks, RunReport, RunReports, StoreError, SyncLedger, TaskChange, TaskKey,
};
use domain::txn::WmsTransaction;

/// What one counted request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A DynamoDB read (GetItem, Query).
    DynamoRead,
    /// A DynamoDB write (PutItem, UpdateItem, DeleteItem; conditional or not).
    DynamoWrite,
    /// An SQS request.
    Sqs,
    /// An SNS publish.
    Sns,
}

/// Added latency per service (default 5 ms each, a usual in-region round trip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsLatency {
    /// Every DynamoDB request.
    pub dynamodb: Duration,
    /// Every SQS request.
    pub sqs: Duration,
    /// Every SNS request.
    pub sns: Duration,
}

impl Default for AwsLatency {
    fn default() -> Self {
        Self::uniform(Duration::from_millis(5))
    }
}

impl AwsLatency {
    /// The same latency for every service.
    pub fn uniform(latency: Duration) -> Self {
        Self {
            dynamodb: latency,
            sqs: latency,
            sns: latency,
        }
    }

    /// The latency of one request of `kind`.
    pub fn of(&self, kind: RequestKind) -> Duration {
        match kind {
            RequestKind::DynamoRead | RequestKind::DynamoWrite => self.dynamodb,
            RequestKind::Sqs => self.sqs,
            RequestKind::Sns => self.sns,
        }
    }
}

/// Requests counted by kind; shared by every decorator of one benchmark or container.
#[derive(Debug, Default)]
pub struct RequestCounts {
    dynamo_reads: AtomicU64,
    dynamo_writes: AtomicU64,
    sqs: AtomicU64,
    sns: AtomicU64,
    by_operation: Mutex<BTreeMap<&'static str, u64>>,
}

impl RequestCounts {
    /// Zero counts, ready to share.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn cell(&self, kind: RequestKind) -> &AtomicU64 {
        match kind {
            RequestKind::DynamoRead => &self.dynamo_reads,
            RequestKind::DynamoWrite => &self.dynamo_writes,
            RequestKind::Sqs => &self.sqs,
            RequestKind::Sns => &self.sns,
        }
    }

    /// Counts one request.
    pub fn add(&self, kind: RequestKind) {
        self.cell(kind).fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request of `kind` made by `operation` (a port call such as
    /// `"ledger.transition"`), so a benchmark can say where requests come from.
    pub fn add_for(&self, kind: RequestKind, operation: &'static str) {
        self.add(kind);
        if let Ok(mut ops) = self.by_operation.lock() {
            *ops.entry(operation).or_default() += 1;
        }
    }

    /// Requests of `kind` so far.
    pub fn get(&self, kind: RequestKind) -> u64 {
        self.cell(kind).load(Ordering::Relaxed)
    }

    /// Requests so far by the operation named in [`RequestCounts::add_for`] (every port call of
    /// [`Latency`] names itself).
    pub fn by_operation(&self) -> BTreeMap<&'static str, u64> {
        self.by_operation.lock().map(|ops| ops.clone()).unwrap_or_default()
    }
}

/// A fake `S` behind a service's latency, counting every call. Clones share the fake and the
/// counts.
#[derive(Debug)]
pub struct Latency<S> {
    inner: Arc<S>,
    latency: AwsLatency,
    counts: Arc<RequestCounts>,
}

impl<S> Clone for Latency<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            latency: self.latency,
            counts: self.counts.clone(),
        }
    }
}

impl<S> Latency<S> {
    /// Wraps `inner` (shared, so several "containers" can use one table) with `latency`,
    /// counting into `counts`.
    pub fn new(inner: Arc<S>, latency: AwsLatency, counts: Arc<RequestCounts>) -> Self {
        Self { inner, latency, counts }
    }

    /// The wrapped fake, for inspection without latency or counting.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The counts this decorator adds to.
    pub fn counts(&self) -> &Arc<RequestCounts> {
        &self.counts
    }

    /// Counts one request of `kind` and waits its latency.
    pub async fn request(&self, kind: RequestKind) {
        self.counts.add(kind);
        self.wait(kind).await;
    }

    /// Counts one request of `kind` made by `operation` and waits its latency.
    pub async fn request_for(&self, kind: RequestKind, operation: &'static str) {
        self.counts.add_for(kind, operation);
        self.wait(kind).await;
    }

    async fn wait(&self, kind: RequestKind) {
        let d = self.latency.of(kind);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

use RequestKind::{DynamoRead as Read, DynamoWrite as Write};

impl<S: SyncLedger> SyncLedger for Latency<S> {
    async fn record_seen(&self, txn: &WmsTransaction, now: DateTime<Utc>) -> Result<LedgerRow, StoreError> {
        self.request_for(Write, "SyncLedger.record_seen").await;
        self.inner.record_seen(txn, now).await
    }

    async fn record_claimed(
        &self,
        txn: &WmsTransaction,
        entry: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        self.request_for(Write, "SyncLedger.record_claimed").await;
        self.inner.record_claimed(txn, entry, now).await
    }

    async fn get(&self, dc: &DcCode, id: &str) -> Result<Option<LedgerRow>, StoreError> {
        self.request_for(Read, "SyncLedger.get").await;
        self.inner.get(dc, id).await
    }

    async fn transition(&self, row: &LedgerRow, next: &LedgerEntry, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.request_for(Write, "SyncLedger.transition").await;
        self.inner.transition(row, next, now).await
    }

    async fn in_state(&self, dc: &DcCode, state: SyncState) -> Result<Vec<LedgerRow>, StoreError> {
        self.request_for(Read, "SyncLedger.in_state").await;
        self.inner.in_state(dc, state).await
    }

    async fn unsettled(&self, dc: &DcCode) -> Result<Vec<LedgerRow>, StoreError> {
        self.request_for(Read, "SyncLedger.unsettled").await;
        self.inner.unsettled(dc).await
    }
}

impl<S: DcLease> DcLease for Latency<S> {
    async fn acquire(
        &self,
        dc: &DcCode,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.request_for(Write, "DcLease.acquire").await;
        self.inner.acquire(dc, owner, now, until).await
    }

    async fn release(&self, dc: &DcCode, owner: &str) -> Result<(), StoreError> {
        self.request_for(Write, "DcLease.release").await;
        self.inner.release(dc, owner).await
    }
}

impl<S: LotMap> LotMap for Latency<S> {
    async fn get(&self, dc: &DcCode, item: &ItemNumber, wms_lot: &LotNumber) -> Result<Option<MappedLot>, StoreError> {
        self.request_for(Read, "LotMap.get").await;
        self.inner.get(dc, item, wms_lot).await
    }

    async fn put_if_absent(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        wms_lot: &LotNumber,
        mapped: &MappedLot,
    ) -> Result<MappedLot, StoreError> {
        self.request_for(Write, "LotMap.put_if_absent").await;
        self.inner.put_if_absent(dc, item, wms_lot, mapped).await
    }
}

impl<S: ReviewTasks> ReviewTasks for Latency<S> {
    async fn open_or_update(&self, task: &ReviewTask, now: DateTime<Utc>) -> Result<TaskChange, StoreError> {
        self.request_for(Write, "ReviewTasks.open_or_update").await;
        self.inner.open_or_update(task, now).await
    }

    async fn close(&self, dc: &DcCode, key: &TaskKey, reason: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.request_for(Write, "ReviewTasks.close").await;
        ReviewTasks::close(&*self.inner, dc, key, reason, now).await
    }

    async fn open_tasks(&self, dc: &DcCode) -> Result<Vec<ReviewTask>, StoreError> {
        self.request_for(Read, "ReviewTasks.open_tasks").await;
        self.inner.open_tasks(dc).await
    }
}

impl<S: Incidents> Incidents for Latency<S> {
    async fn open_if_absent(&self, incident: &Incident) -> Result<bool, StoreError> {
        self.request_for(Write, "Incidents.open_if_absent").await;
        self.inner.open_if_absent(incident).await
    }

    async fn close(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.request_for(Write, "Incidents.close").await;
        Incidents::close(&*self.inner, dc, key, reason, now).await
    }

    async fn open_incidents(&self, dc: &DcCode) -> Result<Vec<Incident>, StoreError> {
        self.request_for(Read, "Incidents.open_incidents").await;
        self.inner.open_incidents(dc).await
    }
}

impl<S: RunReports> RunReports for Latency<S> {
    async fn save(&self, report: &RunReport) -> Result<(), StoreError> {
        self.request_for(Write, "RunReports.save").await;
        self.inner.save(report).await
    }
}

impl<S: AlertSink> AlertSink for Latency<S> {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        self.request_for(RequestKind::Sns, "AlertSink.publish").await;
        self.inner.publish(alert).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build, InMemoryLotMap, RecordingAlerts};

    #[tokio::test]
    async fn counts_by_kind_and_waits_the_latency() {
        let counts = RequestCounts::new();
        let latency = AwsLatency::uniform(Duration::from_millis(20));
        let lots = Latency::new(Arc::new(InMemoryLotMap::new()), latency, counts.clone());
        let alerts = Latency::new(Arc::new(RecordingAlerts::new()), latency, counts.clone());
        let dc = build::dc("DC01");
        let item = build::item("ITEM-1");
        let lot = build::lot("L1");
        let started = std::time::Instant::now();
        assert_eq!(lots.get(&dc, &item, &lot).await.unwrap(), None);
        let mapped = MappedLot {
            fusion_lot: lot.clone(),
            expiration: None,
        };
        lots.put_if_absent(&dc, &item, &lot, &mapped).await.unwrap();
        let alert = Alert {
            dc: dc.clone(),
            severity: domain::ports::Severity::Warning,
            subject: "s".into(),
            body: "b".into(),
            elastic: None,
        };
        alerts.publish(&alert).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(60));
        assert_eq!(counts.get(RequestKind::DynamoRead), 1);
        assert_eq!(counts.get(RequestKind::DynamoWrite), 1);
        assert_eq!(counts.get(RequestKind::Sns), 1);
        assert_eq!(counts.get(RequestKind::Sqs), 0);
        assert_eq!(lots.inner().len(), 1, "the fake behind it holds the write");
    }
}
