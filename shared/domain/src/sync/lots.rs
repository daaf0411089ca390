//! Lot mapping: every WMS lot of a transaction to its Fusion lot, filled on first sight.

use super::transaction::{fusion_error, AttemptError};
use super::*;

/// Maps every WMS lot of the transaction to its Fusion lot through the lot map, filling the
/// map on first sight: an existing Fusion lot must carry the WMS expiration date; a missing lot
/// is created for receipts and refused for issues.
pub(super) async fn map_lots<P: SyncPorts>(ports: &P, txn: &WmsTransaction) -> Result<WmsTransaction, AttemptError> {
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
        let known = ports
            .lots()
            .get(txn.dc(), txn.item(), &l.lot)
            .await
            .map_err(store_failure)
            .map_err(AttemptError::Txn)?;
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
    ports
        .fusion()
        .create_lot(txn.dc(), txn.item(), &l.lot, l.expiration)
        .await
        .map_err(|e| fusion_error(&e))?;
    Ok(MappedLot {
        fusion_lot: l.lot.clone(),
        expiration: l.expiration,
    })
}
