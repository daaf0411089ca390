//! Adjustment mode: each key's difference as an adjustment through the sync's two-phase
//! commit, for pods where `inventoryBalanceTransactions` is not enabled.
//!
//! The adjustment of a key is the reconciliation's ([`adjustment_for`]) with the plan id as
//! its run id, so its ledger id is the same on every re-send: a crashed or repeated chunk
//! finds the ledger row and never posts a key twice. The WMS never saw these transactions,
//! so nothing is reported to it (`RC-` ids, like the reconciliation's adjustments).

use super::apply::ChunkOutcome;
use super::*;
use crate::ids::SerialNumber;
use crate::ports::Clock;
use crate::reconciliation::{adjustment_for, KeyFacts};
use crate::sync::{sync_transaction, TxnOutcome};
use crate::variance::{BalanceKey, Tier, Variance};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// The outcome of each line `to_send` of `chunk`, and the posts it took; `Err` when a line's
/// outcome is not known yet (a passing failure): the chunk stays `posting` and is sent again
/// by a later run, which the ledger makes harmless.
pub(super) async fn send_adjustments<P: BaselinePorts>(
    ports: &P,
    settings: &BaselineSettings,
    plan: &BaselinePlan,
    chunk: &ChunkRecord,
    to_send: &[usize],
) -> Result<(Vec<LineResult>, usize), ChunkOutcome> {
    let mut results = Vec::with_capacity(to_send.len());
    let mut posts = 0;
    for &i in to_send {
        let line = &chunk.lines[i];
        let mut result = LineResult::Applied;
        for (lot, wms, fusion, expiration) in keys_of(line) {
            let difference = wms - fusion;
            if difference.is_zero() && (lot.is_some() || line.serials_added.is_empty()) {
                continue;
            }
            let key = BalanceKey::new(plan.dc.clone(), line.item.clone(), line.subinventory.clone(), lot);
            let v = Variance {
                key,
                wms,
                fusion,
                in_flight: Decimal::ZERO,
                variance: difference,
                tier: Tier::AutoCorrect,
            };
            let facts = KeyFacts {
                uom: line.uom.clone(),
                expiration,
                wms_serials: line.serials.iter().cloned().collect(),
                fusion_serials: fusion_serials(line),
                in_flight_serials: BTreeSet::new(),
            };
            let txn = match adjustment_for(plan.id.as_str(), &v, &facts, ports.clock().now()) {
                Ok(t) => t,
                Err(e) => {
                    result = LineResult::Refused { reason: e.to_string() };
                    break;
                }
            };
            posts += 1;
            match sync_transaction(ports, &settings.reconcile.sync, txn, false).await {
                TxnOutcome::Synced { .. } | TxnOutcome::AlreadySynced { .. } => {}
                TxnOutcome::Accepted { .. } | TxnOutcome::WaitingOnFusion => result = LineResult::AwaitingFusion,
                TxnOutcome::Failed { failure, .. } if !failure.retryable => {
                    result = LineResult::Refused { reason: failure.reason };
                    break;
                }
                TxnOutcome::Skipped { transient: false } => {
                    result = LineResult::Refused {
                        reason: "the adjustment is in manual review; see its transaction's task".into(),
                    };
                    break;
                }
                _ => return Err(ChunkOutcome::Unanswered { requests: posts }),
            }
        }
        results.push(result);
    }
    Ok((results, posts))
}

/// The line's keys: (lot, WMS quantity, Fusion quantity, expiration), one per lot of a lot
/// line, one for the line otherwise.
fn keys_of(
    line: &PlanLine,
) -> Vec<(
    Option<crate::ids::LotNumber>,
    Decimal,
    Decimal,
    Option<chrono::NaiveDate>,
)> {
    if line.lots.is_empty() {
        vec![(None, line.target, line.fusion, None)]
    } else {
        line.lots
            .iter()
            .map(|l| (Some(l.lot.clone()), l.wms, l.fusion, l.expiration))
            .collect()
    }
}

/// Fusion's serials at plan time: the WMS's, less those added, plus those removed.
fn fusion_serials(line: &PlanLine) -> BTreeSet<SerialNumber> {
    let added: BTreeSet<&SerialNumber> = line.serials_added.iter().collect();
    line.serials
        .iter()
        .filter(|s| !added.contains(s))
        .chain(line.serials_removed.iter())
        .cloned()
        .collect()
}
