//! [`InMemoryBaselineCheckpoints`]: the baseline checkpoint table in memory, with the DynamoDB
//! adapter's conditions.

use crate::lock;
use domain::golive::baseline::{BaselinePlan, ChunkProgress, ChunkRecord, PlanId};
use domain::ids::DcCode;
use domain::ports::{BaselineCheckpoints, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Rows {
    plans: BTreeMap<(DcCode, PlanId), BaselinePlan>,
    chunks: BTreeMap<(DcCode, PlanId, u32), ChunkRecord>,
    chunk_writes: u64,
    fail_after: Option<u64>,
}

/// Plan headers and chunk rows. `create_plan` writes chunks then the header, each only if
/// absent; `put_chunk` writes only if the stored version is the one named.
#[derive(Debug, Default)]
pub struct InMemoryBaselineCheckpoints {
    rows: Mutex<Rows>,
}

impl InMemoryBaselineCheckpoints {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// After `n` more successful `put_chunk` writes, every write fails with `Unavailable`
    /// (a crash of the writer) until [`Self::heal`].
    pub fn fail_writes_after(&self, n: u64) {
        lock(&self.rows).fail_after = Some(n);
    }

    /// Writes succeed again.
    pub fn heal(&self) {
        lock(&self.rows).fail_after = None;
    }

    /// Successful `put_chunk` writes so far.
    pub fn chunk_writes(&self) -> u64 {
        lock(&self.rows).chunk_writes
    }
}

impl BaselineCheckpoints for InMemoryBaselineCheckpoints {
    async fn create_plan(&self, plan: &BaselinePlan, chunks: &[ChunkRecord]) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        if rows.plans.contains_key(&(plan.dc.clone(), plan.id.clone())) {
            return Err(StoreError::Conflict(format!("plan {} exists", plan.id)));
        }
        for c in chunks {
            rows.chunks
                .entry((c.dc.clone(), c.plan.clone(), c.index))
                .or_insert_with(|| c.clone());
        }
        rows.plans.insert((plan.dc.clone(), plan.id.clone()), plan.clone());
        Ok(())
    }

    async fn plan(&self, dc: &DcCode, id: &PlanId) -> Result<Option<BaselinePlan>, StoreError> {
        Ok(lock(&self.rows).plans.get(&(dc.clone(), id.clone())).cloned())
    }

    async fn latest_plan(&self, dc: &DcCode) -> Result<Option<BaselinePlan>, StoreError> {
        Ok(lock(&self.rows)
            .plans
            .iter()
            .filter(|((d, _), _)| d == dc)
            .map(|(_, p)| p)
            .max_by(|a, b| a.id.cmp(&b.id))
            .cloned())
    }

    async fn chunks(&self, dc: &DcCode, id: &PlanId) -> Result<Vec<ChunkRecord>, StoreError> {
        Ok(lock(&self.rows)
            .chunks
            .iter()
            .filter(|((d, p, _), _)| d == dc && p == id)
            .map(|(_, c)| c.clone())
            .collect())
    }

    async fn progress(&self, dc: &DcCode, id: &PlanId) -> Result<Vec<ChunkProgress>, StoreError> {
        Ok(self.chunks(dc, id).await?.iter().map(ChunkRecord::progress).collect())
    }

    async fn put_chunk(&self, next: &ChunkRecord, expected_version: u64) -> Result<(), StoreError> {
        let mut rows = lock(&self.rows);
        match rows.fail_after {
            Some(0) => {
                return Err(StoreError::Unavailable(
                    "checkpoint table unavailable (injected)".into(),
                ))
            }
            Some(n) => rows.fail_after = Some(n - 1),
            None => {}
        }
        let key = (next.dc.clone(), next.plan.clone(), next.index);
        let stored = rows.chunks.get(&key).map_or(0, |c| c.version);
        if stored != expected_version {
            return Err(StoreError::Conflict(format!(
                "chunk {} of {} is at version {stored}, not {expected_version}",
                next.index, next.plan
            )));
        }
        rows.chunks.insert(key, next.clone());
        rows.chunk_writes += 1;
        Ok(())
    }
}
