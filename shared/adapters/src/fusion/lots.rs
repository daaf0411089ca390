//! Lots of a page at once: [`HttpFusionClient::prefetch_lots`] asks `inventoryItemLots` for
//! every lot the lot map did not know, one batch request of GET parts per
//! [`FusionConfig::item_lookup_batch`](super::FusionConfig::item_lookup_batch) lots, and keeps
//! the answers (found or not) for a minute so [`HttpFusionClient::lot`] needs no request of its
//! own. A lot this client creates is remembered as existing; a refused creation forgets what
//! was remembered, so the caller's next look is a real one.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use domain::ids::{DcCode, ItemNumber, LotNumber};
use domain::ports::{FusionError, FusionLot};

use super::bulk::{BatchOperation, BatchPart};
use super::items::percent_encode;
use super::wire::{date_of, q, Collection, ItemLotWire};
use super::HttpFusionClient;

/// How long a prefetched answer about a lot stands in for a lookup: the page's transactions
/// are posted within it, and a lot created elsewhere meanwhile is caught by the refused
/// creation, which forgets the answer.
const REMEMBERED_FOR: Duration = Duration::from_secs(60);

/// A lot key: organization, item, lot.
pub(super) type LotKey = (DcCode, ItemNumber, LotNumber);

impl HttpFusionClient {
    /// What a recent prefetch or creation said about the lot: `Some(None)` = Fusion had no such
    /// lot, `None` = nothing recent is known. A "no such lot" answers once: another invocation
    /// may create the lot meanwhile, so a caller that asks again (before refusing a
    /// transaction for good) gets a real lookup.
    pub(super) fn remembered_lot(&self, key: &LotKey) -> Option<Option<FusionLot>> {
        let mut lots = self.inner.lots.lock().unwrap_or_else(PoisonError::into_inner);
        let known = lots
            .get(key)
            .filter(|(_, at)| at.elapsed() < REMEMBERED_FOR)
            .map(|(lot, _)| lot.clone());
        if matches!(known, Some(None)) {
            lots.remove(key);
        }
        known
    }

    pub(super) fn remember_lot(&self, key: LotKey, lot: Option<FusionLot>) {
        let mut lots = self.inner.lots.lock().unwrap_or_else(PoisonError::into_inner);
        lots.retain(|_, (_, at)| at.elapsed() < REMEMBERED_FOR);
        lots.insert(key, (lot, Instant::now()));
    }

    pub(super) fn forget_lot(&self, key: &LotKey) {
        self.inner
            .lots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Asks Fusion at once about every lot of `lots` (item, lot) in `dc` that nothing recent
    /// answered, so that [`Self::lot`] answers them without a request for a minute. An error
    /// leaves them to [`Self::lot`]; callers treat it as a warning.
    pub async fn prefetch_lots(&self, dc: &DcCode, lots: &[(ItemNumber, LotNumber)]) -> Result<(), FusionError> {
        let mut wanted: Vec<LotKey> = lots
            .iter()
            .map(|(item, lot)| (dc.clone(), item.clone(), lot.clone()))
            .filter(|key| self.remembered_lot(key).is_none())
            .collect();
        wanted.sort();
        wanted.dedup();
        for chunk in wanted.chunks(self.config().item_lookup_batch.max(1)) {
            let parts: Vec<BatchPart> = chunk
                .iter()
                .enumerate()
                .map(|(n, (dc, item, lot))| BatchPart {
                    id: n.to_string(),
                    path: format!(
                        "/inventoryItemLots?q={}&onlyData=true",
                        percent_encode(&q(&[
                            ("OrganizationCode", dc.as_str()),
                            ("ItemNumber", item.as_str()),
                            ("LotNumber", lot.as_str()),
                        ]))
                    ),
                    operation: BatchOperation::Get,
                    payload: None,
                })
                .collect();
            let answer = self.batch(&parts).await?;
            if !answer.succeeded {
                let detail = answer.parts.first().map(|p| p.payload.to_string()).unwrap_or_default();
                return Err(FusionError::Rejected { status: 400, detail });
            }
            for part in answer.parts {
                let Some(key) = part.id.parse::<usize>().ok().and_then(|n| chunk.get(n)) else {
                    return Err(FusionError::InvalidResponse(format!(
                        "batch answered a part {} it was not asked",
                        part.id
                    )));
                };
                let page: Collection<ItemLotWire> = serde_json::from_value(part.payload)
                    .map_err(|e| FusionError::InvalidResponse(format!("inventoryItemLots part for {}: {e}", key.2)))?;
                let found = match page.items.into_iter().find(|r| r.lot_number == key.2.as_str()) {
                    Some(row) => Some(FusionLot {
                        number: key.2.clone(),
                        expiration: date_of(row.expiration_date.as_deref())?,
                    }),
                    None => None,
                };
                self.remember_lot(key.clone(), found);
            }
        }
        Ok(())
    }
}
