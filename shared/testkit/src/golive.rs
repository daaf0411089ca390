//! [`InMemoryDcStatus`]: the DC status table in memory, with the DynamoDB adapter's condition.

use crate::lock;
use chrono::{DateTime, Utc};
use domain::golive::{DcStatus, DcStatusRecord};
use domain::ids::DcCode;
use domain::ports::{DcStatusBoard, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// DC statuses keyed by DC; `put` writes only if the stored version (0 when absent) is the one
/// the caller read, `StoreError::Conflict` otherwise.
#[derive(Debug, Default)]
pub struct InMemoryDcStatus {
    rows: Mutex<BTreeMap<DcCode, DcStatusRecord>>,
}

impl InMemoryDcStatus {
    /// No DC touched: every DC reads as `not_started`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every DC in `dcs` already `live` (tests of the sync and reconciliation, which run on
    /// DCs past go-live).
    pub fn all_live<'a>(dcs: impl IntoIterator<Item = &'a DcCode>, at: DateTime<Utc>) -> Self {
        let me = Self::new();
        for dc in dcs {
            me.set(dc, DcStatus::Live, at);
        }
        me
    }

    /// Stores `dc` at `status` unconditionally (test set-up).
    pub fn set(&self, dc: &DcCode, status: DcStatus, at: DateTime<Utc>) {
        let mut rows = lock(&self.rows);
        let version = rows.get(dc).map_or(0, |r| r.version) + 1;
        rows.insert(
            dc.clone(),
            DcStatusRecord {
                dc: dc.clone(),
                status,
                changed_by: crate::build::user("test-setup"),
                changed_at: at,
                reason: None,
                watermark: None,
                version,
            },
        );
    }

    /// The status `dc` reads as.
    pub fn status_of(&self, dc: &DcCode) -> DcStatus {
        lock(&self.rows).get(dc).map_or(DcStatus::NotStarted, |r| r.status)
    }
}

impl DcStatusBoard for InMemoryDcStatus {
    async fn get(&self, dc: &DcCode) -> Result<Option<DcStatusRecord>, StoreError> {
        Ok(lock(&self.rows).get(dc).cloned())
    }

    async fn all(&self) -> Result<Vec<DcStatusRecord>, StoreError> {
        Ok(lock(&self.rows).values().cloned().collect())
    }

    async fn put(&self, next: &DcStatusRecord, expected_version: u64) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        let stored = rows.get(&next.dc).map_or(0, |r| r.version);
        if stored != expected_version {
            return Err(StoreError::Conflict(format!(
                "DC {} status is at version {stored}, not {expected_version}",
                next.dc
            )));
        }
        rows.insert(next.dc.clone(), next.clone());
        Ok(())
    }
}
