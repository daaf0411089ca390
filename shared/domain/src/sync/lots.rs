//! Lot mapping: every WMS lot of a transaction to its Fusion lot, filled on first sight, and
//! the page's hints of it ([`PageHints`]).

use super::transaction::{fusion_error, AttemptError};
use super::*;
use crate::ids::LotNumber;

/// What a page's preparation already read, handed to its transactions.
#[derive(Debug, Default)]
pub(crate) struct PageHints {
    /// Lot map entries read for the page: (item, WMS lot) -> the mapping, or `None` when the
    /// map had none (the transaction then maps it on first sight; the map's conditional put
    /// returns the mapping if another transaction made it since). A lot absent here is read
    /// from the lot map by the transaction.
    pub(super) lots: BTreeMap<(ItemNumber, LotNumber), Option<MappedLot>>,
}

/// An item and one of its WMS lots.
type LotKey = (ItemNumber, LotNumber);

/// Readies what transactions about `items` and `lots` of `dc` will ask, at once instead of
/// one transaction at a time: Fusion's item master facts of the items, and for the lots the
/// lot map's mappings (returned as hints) and what Fusion says about the lots the map does not
/// know. Optional throughout: whatever fails here is looked up by each transaction as before,
/// with a warning. Reads only: nothing is created in Fusion or written to the lot map.
pub(crate) async fn ready_lookups<P: SyncPorts>(
    ports: &P,
    dc: &DcCode,
    run_id: &str,
    concurrency: usize,
    items: BTreeSet<ItemNumber>,
    lots: BTreeSet<LotKey>,
) -> PageHints {
    let items: Vec<ItemNumber> = items.into_iter().collect();
    let prefetch_items = async {
        if items.is_empty() {
            return;
        }
        if let Err(e) = ports.fusion().prefetch_items(dc, &items).await {
            warn!(dc = %dc, run_id, items = items.len(), error = %e, "item lookup ahead failed; each transaction looks its item up");
        }
    };
    let map_lots = async {
        let mut hints = PageHints::default();
        let read: Vec<(LotKey, Result<Option<MappedLot>, StoreError>)> = stream::iter(lots)
            .map(|(item, lot)| async move {
                let found = ports.lots().get(dc, &item, &lot).await;
                ((item, lot), found)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut unmapped = Vec::new();
        for (key, found) in read {
            match found {
                Ok(Some(mapped)) => {
                    hints.lots.insert(key, Some(mapped));
                }
                Ok(None) => {
                    hints.lots.insert(key.clone(), None);
                    unmapped.push(key);
                }
                // The transaction reads the map again and decides.
                Err(_) => {}
            }
        }
        if !unmapped.is_empty() {
            if let Err(e) = ports.fusion().prefetch_lots(dc, &unmapped).await {
                warn!(dc = %dc, run_id, lots = unmapped.len(), error = %e, "lot lookup ahead failed; each transaction looks its lots up");
            }
        }
        hints
    };
    let ((), hints) = futures::join!(prefetch_items, map_lots);
    hints
}

/// Maps every WMS lot of the transaction to its Fusion lot through the lot map (or the page's
/// `hints` of it), filling the map on first sight: an existing Fusion lot must carry the WMS
/// expiration date; a missing lot is created for receipts and refused for issues.
pub(super) async fn map_lots<P: SyncPorts>(
    ports: &P,
    txn: &WmsTransaction,
    hints: &PageHints,
) -> Result<WmsTransaction, AttemptError> {
    let Tracking::Lots(lots) = &txn.tracking() else {
        return Ok(txn.clone());
    };
    let store_failure = |e: StoreError| Failure {
        retryable: e.is_retryable() || matches!(e, StoreError::Conflict(_)),
        reason: format!("lot map: {e}"),
        systemic: false,
    };
    let mut mapped = Vec::with_capacity(lots.len());
    for l in lots {
        let known = match hints.lots.get(&(txn.item().clone(), l.lot.clone())) {
            Some(read) => read.clone(),
            None => ports
                .lots()
                .get(txn.dc(), txn.item(), &l.lot)
                .await
                .map_err(store_failure)
                .map_err(AttemptError::Txn)?,
        };
        let fusion_lot = match known {
            Some(m) => m,
            None => {
                let m = first_sight(ports, txn, l).await?;
                ports
                    .lots()
                    .put_if_absent(txn.dc(), txn.item(), &l.lot, &m)
                    .await
                    .map_err(store_failure)
                    .map_err(AttemptError::Txn)?
            }
        };
        if let (Some(wms), Some(fusion)) = (l.expiration, fusion_lot.expiration) {
            if wms != fusion {
                return Err(Failure {
                    retryable: false,
                    reason: format!(
                        "lot {} of {} expires {wms} in the WMS but {fusion} in Fusion",
                        l.lot,
                        txn.item()
                    ),
                    systemic: false,
                }
                .into());
            }
        }
        mapped.push(LotQuantity {
            lot: fusion_lot.fusion_lot,
            quantity: l.quantity,
            expiration: l.expiration.or(fusion_lot.expiration),
        });
    }
    txn.with_tracking(Tracking::Lots(mapped)).map_err(|e| {
        AttemptError::Txn(Failure {
            retryable: false,
            reason: e.to_string(),
            systemic: false,
        })
    })
}

async fn first_sight<P: SyncPorts>(
    ports: &P,
    txn: &WmsTransaction,
    l: &LotQuantity,
) -> Result<MappedLot, AttemptError> {
    let found = ports
        .fusion()
        .lot(txn.dc(), txn.item(), &l.lot)
        .await
        .map_err(|e| fusion_error(&e))?;
    if let Some(lot) = found {
        return Ok(MappedLot {
            fusion_lot: lot.number,
            expiration: lot.expiration,
        });
    }
    if !txn.kind().adds_stock(txn.quantity()) {
        // Why ask again before refusing for good: the first answer may come from the page's
        // lookup, made before another invocation created the lot.
        let again = ports
            .fusion()
            .lot(txn.dc(), txn.item(), &l.lot)
            .await
            .map_err(|e| fusion_error(&e))?;
        if let Some(lot) = again {
            return Ok(MappedLot {
                fusion_lot: lot.number,
                expiration: lot.expiration,
            });
        }
        return Err(Failure {
            retryable: false,
            reason: format!(
                "lot {} of {} is unknown in Fusion and this transaction takes stock from it",
                l.lot,
                txn.item()
            ),
            systemic: false,
        }
        .into());
    }
    let created = ports
        .fusion()
        .create_lot(txn.dc(), txn.item(), &l.lot, l.expiration)
        .await;
    if let Err(e) = created {
        // Why look again: the lot may have been created since it was looked up (another
        // invocation, or an answer remembered from the page's lookup); then it is mapped.
        if matches!(e, FusionError::Rejected { .. }) {
            if let Ok(Some(lot)) = ports.fusion().lot(txn.dc(), txn.item(), &l.lot).await {
                return Ok(MappedLot {
                    fusion_lot: lot.number,
                    expiration: lot.expiration,
                });
            }
        }
        return Err(fusion_error(&e));
    }
    Ok(MappedLot {
        fusion_lot: l.lot.clone(),
        expiration: l.expiration,
    })
}
