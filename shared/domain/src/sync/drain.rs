//! Draining the outbox: pages of transactions grouped by item, what the page's transactions
//! will look up asked for at once, items in parallel, each item's transactions in WMS order.

use super::lots::{ready_lookups, PageHints};
use super::transaction::sync_transaction_in_page;
use super::*;
use crate::ids::LotNumber;

/// Why an item's later transactions are not posted in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hold {
    /// An earlier transaction of the item is in Fusion's interface, not yet processed.
    Unconfirmed,
    /// An earlier transaction failed for a passing reason.
    Failed,
}

/// Drains the outbox of `run.dc` from its first page, counting into `report`. `waiting` are
/// items with a transaction still unconfirmed in Fusion: their transactions wait this run.
pub(super) async fn drain<P: SyncPorts>(
    run: &Run<'_, P>,
    waiting: BTreeSet<ItemNumber>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let (ports, settings, dc, run_id) = (run.ports, run.settings, run.dc, run.run_id);
    let mut cursor: Option<String> = None;
    // Items whose later transactions, on this page or a later one, wait for the next run.
    let mut held: BTreeMap<ItemNumber, Hold> = waiting.into_iter().map(|i| (i, Hold::Unconfirmed)).collect();
    loop {
        if ports.clock().now() >= run.stop_at {
            report.stopped_early = true;
            break;
        }
        let mut page = ports
            .wms()
            .outbox(dc, cursor.as_deref(), settings.page_size.max(1))
            .await?;
        report.behind_watermark += drop_baselined(run, &mut page.items);
        let hints = prepare_page(run, &page.items, &held).await;
        let hints = &hints;
        let groups = group_by_item(page.items);
        let results: Vec<(Option<ItemNumber>, Option<Hold>, Vec<TxnOutcome>)> = stream::iter(groups)
            .map(|group| {
                let item = group
                    .first()
                    .and_then(|e| e.txn.as_ref().ok())
                    .map(|t| t.item().clone());
                let held_back = item.as_ref().and_then(|i| held.get(i).copied());
                async move {
                    let (hold, outcomes) = process_group(run, held_back, group, hints).await;
                    (item, hold, outcomes)
                }
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
        for (item, hold, outcomes) in results {
            if let (Some(item), Some(hold)) = (item, hold) {
                held.insert(item, hold);
            }
            for outcome in outcomes {
                match &outcome {
                    TxnOutcome::Systemic { reason } => {
                        report.systemic.get_or_insert_with(|| reason.clone());
                    }
                    TxnOutcome::Failed { failure, .. }
                        if failure.retryable && run.outage_streak.load(Ordering::SeqCst) >= run.outage_after =>
                    {
                        report.outage = Some(failure.reason.clone());
                    }
                    _ => {}
                }
                tally(report, outcome, settings.alert_list_max);
            }
        }
        if report.deferred > 0 {
            report.stopped_early = true;
        }
        match page.next_cursor {
            Some(next) if !report.stopped_early && !run.halt.load(Ordering::SeqCst) => cursor = Some(next),
            _ => break,
        }
    }
    if let Some(cause) = &report.systemic {
        warn!(dc = %dc, run_id, cause = %cause, halted = report.halted, "run stopped for a systemic failure; transactions stay pending");
    } else if let Some(cause) = &report.outage {
        warn!(dc = %dc, run_id, cause = %cause, halted = report.halted, "Fusion looks unavailable; run stopped, transactions stay pending");
    } else if report.stopped_early {
        warn!(dc = %dc, run_id, deferred = report.deferred, "time budget reached; remaining transactions wait for the next run");
    }
    Ok(())
}

/// The sync engine's context: what every step of one run of one DC shares.
pub(super) struct Run<'a, P> {
    /// The ports.
    pub(super) ports: &'a P,
    /// The run's settings.
    pub(super) settings: &'a SyncSettings,
    /// The DC.
    pub(super) dc: &'a DcCode,
    /// The run id.
    pub(super) run_id: &'a str,
    /// No new transaction starts at or after this time.
    pub(super) stop_at: DateTime<Utc>,
    /// Set when a transaction met a systemic failure or Fusion looks unavailable: no group
    /// starts another transaction.
    pub(super) halt: AtomicBool,
    /// Transactions in a row that failed because Fusion is unavailable.
    pub(super) outage_streak: AtomicUsize,
    /// Streak that stops the run.
    pub(super) outage_after: usize,
    /// The DC's go-live baseline watermark: entries at or below it are never posted.
    pub(super) watermark: Option<OutboxWatermark>,
}

impl<'a, P> Run<'a, P> {
    /// A run of `dc` that stops taking new work `settings.safety_margin` before `deadline`.
    pub(super) fn new(
        ports: &'a P,
        settings: &'a SyncSettings,
        dc: &'a DcCode,
        run_id: &'a str,
        deadline: DateTime<Utc>,
    ) -> Self {
        Self {
            ports,
            settings,
            dc,
            run_id,
            stop_at: deadline - settings.safety_margin,
            halt: AtomicBool::new(false),
            outage_streak: AtomicUsize::new(0),
            outage_after: settings.outage_after.max(1),
            watermark: None,
        }
    }
}

/// Removes from `entries` what the go-live baseline already put into Fusion: entries at or
/// below the DC's watermark, and (while the DC has one) entries without a sequence, which
/// cannot be placed against it. Returns how many; each is logged, since the cut-over should
/// have marked them `baselined` and removed them from the outbox.
fn drop_baselined<P>(run: &Run<'_, P>, entries: &mut Vec<OutboxItem>) -> u64 {
    let Some(watermark) = run.watermark else {
        return 0;
    };
    let before = entries.len();
    entries.retain(|e| match e.sequence {
        Some(seq) if seq > watermark.0 => true,
        seq => {
            warn!(
                dc = %run.dc, run_id = run.run_id, txn = %e.raw_id, sequence = ?seq, watermark = %watermark,
                "outbox entry at or below the baseline watermark (or without a sequence) is not posted"
            );
            false
        }
    });
    u64::try_from(before - entries.len()).unwrap_or(u64::MAX)
}

/// Readies what the page's transactions will ask about, at once instead of one transaction
/// at a time (see [`ready_lookups`]). Transactions of items held back this run are left out.
async fn prepare_page<P: SyncPorts>(
    run: &Run<'_, P>,
    entries: &[OutboxItem],
    held: &BTreeMap<ItemNumber, Hold>,
) -> PageHints {
    let txns: Vec<&WmsTransaction> = entries
        .iter()
        .filter_map(|e| e.txn.as_ref().ok())
        .filter(|t| !held.contains_key(t.item()))
        .collect();
    let items: BTreeSet<ItemNumber> = txns.iter().map(|t| t.item().clone()).collect();
    let lots: BTreeSet<(ItemNumber, LotNumber)> = txns
        .iter()
        .flat_map(|t| match t.tracking() {
            Tracking::Lots(lots) => lots.iter().map(|l| (t.item().clone(), l.lot.clone())).collect(),
            _ => Vec::new(),
        })
        .collect();
    ready_lookups(run.ports, run.dc, run.run_id, run.settings.concurrency, items, lots).await
}

/// Groups outbox entries by item, keeping WMS order inside each group and the order of first
/// appearance between groups. Malformed entries each form their own group.
fn group_by_item(items: Vec<OutboxItem>) -> Vec<Vec<OutboxItem>> {
    let mut order: Vec<Vec<OutboxItem>> = Vec::new();
    let mut index: BTreeMap<ItemNumber, usize> = BTreeMap::new();
    for entry in items {
        let key = entry.txn.as_ref().ok().map(|t| t.item().clone());
        match key.and_then(|k| index.get(&k).copied().map(|i| (k, i))) {
            Some((_, i)) => order[i].push(entry),
            None => {
                if let Ok(t) = &entry.txn {
                    index.insert(t.item().clone(), order.len());
                }
                order.push(vec![entry]);
            }
        }
    }
    order
}

/// Processes one item's transactions in WMS order. Returns why the item's later
/// transactions must wait (if they must) and the outcomes.
async fn process_group<P: SyncPorts>(
    run: &Run<'_, P>,
    held_back: Option<Hold>,
    group: Vec<OutboxItem>,
    hints: &PageHints,
) -> (Option<Hold>, Vec<TxnOutcome>) {
    let ports = run.ports;
    let mut out = Vec::with_capacity(group.len());
    let mut hold = held_back;
    for entry in group {
        if run.halt.load(Ordering::SeqCst) {
            out.push(TxnOutcome::Halted);
            continue;
        }
        if ports.clock().now() >= run.stop_at {
            out.push(TxnOutcome::Deferred);
            continue;
        }
        match hold {
            Some(Hold::Unconfirmed) => {
                out.push(TxnOutcome::WaitingOnFusion);
                continue;
            }
            Some(Hold::Failed) => {
                out.push(TxnOutcome::Skipped { transient: true });
                continue;
            }
            None => {}
        }
        let span = tracing::info_span!("txn", dc = %run.dc, run_id = run.run_id, txn_id = %entry.raw_id);
        let outcome = process_one(ports, run.settings, run.dc, entry, hints)
            .instrument(span)
            .await;
        // Later transactions of the same item wait behind one Fusion has not processed yet
        // or one that failed for a passing reason, so Fusion never sees them out of WMS order.
        hold = match &outcome {
            TxnOutcome::Accepted { .. } | TxnOutcome::WaitingOnFusion => Some(Hold::Unconfirmed),
            TxnOutcome::Failed {
                failure,
                escalated: false,
                ..
            } if failure.retryable => Some(Hold::Failed),
            TxnOutcome::Skipped { transient: true } => Some(Hold::Failed),
            TxnOutcome::Systemic { .. } => {
                run.halt.store(true, Ordering::SeqCst);
                Some(Hold::Failed)
            }
            _ => None,
        };
        let streak = match &outcome {
            TxnOutcome::Failed { failure, .. } if failure.outage => {
                run.outage_streak.fetch_add(1, Ordering::SeqCst) + 1
            }
            TxnOutcome::Synced { .. } | TxnOutcome::Accepted { .. } | TxnOutcome::AlreadySynced { .. } => {
                run.outage_streak.store(0, Ordering::SeqCst);
                0
            }
            _ => 0,
        };
        if streak >= run.outage_after {
            run.halt.store(true, Ordering::SeqCst);
        }
        out.push(outcome);
    }
    (hold, out)
}

async fn process_one<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    entry: OutboxItem,
    hints: &PageHints,
) -> TxnOutcome {
    match entry.txn {
        Ok(txn) => sync_transaction_in_page(ports, settings, txn, true, hints).await,
        Err(e) => malformed(ports, dc, &entry.raw_id, &e.to_string()).await,
    }
}
