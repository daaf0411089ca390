//! Readying the adjustment path while the second reads run: the item facts and lot mappings
//! of the keys likely to be auto-corrected, looked up at once.
//!
//! Why: an adjustment otherwise waits, one after another, on the item's facts (`itemsV2`, then
//! `unitsOfMeasure`) and its lot's (`inventoryItemLots`) before its post, two to three Fusion
//! round trips after the comparison. Once both balance tables are complete, the likely
//! adjustments are known; their lookups then overlap the second read of Fusion's interface
//! and of what is in flight, which must follow the on-hand read anyway.

use super::*;
use crate::sync::{ready_lookups, PageHints};

/// At most this many likely keys are readied; an adjustment beyond them looks its item and
/// lots up itself (a first reconciliation can find thousands, and the actions wait for this).
pub(super) const READY_MAX: usize = 500;

/// Readies the lookups of the keys the comparison would auto-correct with only the first
/// in-flight read (`before`) counted; the final comparison may differ by a few keys, which
/// then cost a lookup each as before. Reads only (see [`ready_lookups`]); never fails.
pub(super) async fn ready_adjustments<P: ReconcilePorts>(
    ports: &P,
    settings: &ReconcileSettings,
    dc: &DcCode,
    run_id: &str,
    balances: &Balances,
    before: &BTreeMap<WmsTxnId, Tracked>,
) -> PageHints {
    let in_flight = settle(before, before).in_flight;
    let likely = balances.compare(&in_flight, &BTreeSet::new(), &settings.thresholds_for(dc));
    let keys: Vec<&BalanceKey> = likely
        .of_tier(Tier::AutoCorrect)
        .map(|v| &v.key)
        .take(READY_MAX)
        .collect();
    if keys.is_empty() {
        return PageHints::default();
    }
    let items: BTreeSet<ItemNumber> = keys.iter().map(|k| k.item.clone()).collect();
    let lots: BTreeSet<(ItemNumber, LotNumber)> = keys
        .iter()
        .filter_map(|k| k.lot.clone().map(|lot| (k.item.clone(), lot)))
        .collect();
    // Why the units too: an item's facts include its unit's precision, a request of its own
    // after the item's answer; asked beside the items, it is known when they arrive.
    let uoms: Vec<Uom> = items
        .iter()
        .filter_map(|i| balances.fusion_uom(i))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    tracing::debug!(dc = %dc, run_id, items = items.len(), lots = lots.len(), "readying likely adjustments");
    let units = async {
        if let Err(e) = ports.fusion().prefetch_units(&uoms).await {
            warn!(dc = %dc, run_id, error = %e, "unit lookup ahead failed; item lookups ask for their units");
        }
    };
    let ((), hints) = futures::join!(
        units,
        ready_lookups(ports, dc, run_id, settings.sync.concurrency, items, lots)
    );
    hints
}
