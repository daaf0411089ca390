//! Reading and settling: the in-flight reads before and after the balance reads, the WMS
//! and Fusion balances, and which keys settled while they were read.

use super::*;
use balances::{Balances, Source};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// One transaction seen by an in-flight read, with its ledger state and version (`None`
/// when the ledger has not recorded it yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The transaction (the ledger's copy when recorded).
    pub txn: WmsTransaction,
    /// Ledger state and version at the read.
    pub state: Option<(SyncState, u64)>,
}

pub(super) struct InFlightRead {
    pub(super) txns: BTreeMap<WmsTxnId, Tracked>,
    pub(super) ledger: Vec<LedgerRow>,
    pub(super) malformed: u64,
}

pub(super) async fn read_in_flight<P: ReconcilePorts>(
    ports: &P,
    dc: &DcCode,
    page_size: usize,
    concurrency: usize,
) -> Result<InFlightRead, ReconcileError> {
    let ledger: Vec<LedgerRow> = ports
        .ledger()
        .unsettled(dc)
        .await?
        .into_iter()
        .filter(|r| r.txn.dc() == dc)
        .collect();
    let mut txns: BTreeMap<WmsTxnId, Tracked> = ledger
        .iter()
        .map(|r| {
            let tracked = Tracked {
                txn: r.txn.clone(),
                state: Some((r.entry.state, r.entry.version)),
            };
            (r.txn.id().clone(), tracked)
        })
        .collect();
    let mut unknown: BTreeMap<WmsTxnId, WmsTransaction> = BTreeMap::new();
    let mut malformed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = ports.wms().outbox(dc, cursor.as_deref(), page_size).await?;
        for entry in page.items {
            match entry.txn {
                Ok(txn) if txn.dc() == dc && !txns.contains_key(txn.id()) => {
                    unknown.entry(txn.id().clone()).or_insert(txn);
                }
                Ok(_) => {}
                Err(_) => malformed += 1,
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let looked_up: Vec<Result<(WmsTransaction, Option<LedgerRow>), StoreError>> = stream::iter(unknown.into_values())
        .map(|txn| async move {
            let row = ports.ledger().get(dc, txn.id().as_str()).await?;
            Ok((txn, row))
        })
        .buffered(concurrency)
        .collect()
        .await;
    for result in looked_up {
        let (txn, row) = result?;
        let tracked = match row {
            // Handled outside invsync: a person keyed it into Fusion or cancelled it, so it is
            // not in flight even while the WMS outbox still lists it.
            // Baselined: part of the go-live baseline's absolute balances, already in Fusion.
            Some(row)
                if matches!(
                    row.entry.state,
                    SyncState::Synced | SyncState::HandledOutside | SyncState::Baselined
                ) =>
            {
                continue
            }
            Some(row) => Tracked {
                state: Some((row.entry.state, row.entry.version)),
                txn: row.txn,
            },
            None => Tracked { txn, state: None },
        };
        txns.insert(tracked.txn.id().clone(), tracked);
    }
    Ok(InFlightRead {
        txns,
        ledger,
        malformed,
    })
}

/// What the two in-flight reads say together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Net effect of the transactions present and unchanged in both reads.
    pub in_flight: Snapshot,
    /// Keys touched by a transaction that appeared, vanished or changed between the reads.
    pub unsettled: BTreeSet<BalanceKey>,
    /// Serials moved by the in-flight transactions, per key.
    pub serials: BTreeMap<BalanceKey, BTreeSet<SerialNumber>>,
    /// Transactions counted in `in_flight`.
    pub txns: u64,
}

impl Settled {
    /// Adds what Fusion's interface contributes (see [`crate::interface`]).
    pub fn absorb(&mut self, staged: StagedEffect) {
        for (key, q) in staged.in_flight {
            *self.in_flight.entry(key).or_default() += q;
        }
        for (key, serials) in staged.serials {
            self.serials.entry(key).or_default().extend(serials);
        }
        self.unsettled.extend(staged.unsettled);
    }
}

/// Combines the in-flight reads taken before and after the balance reads. Linear in the
/// number of transactions (times log for the maps).
pub fn settle(before: &BTreeMap<WmsTxnId, Tracked>, after: &BTreeMap<WmsTxnId, Tracked>) -> Settled {
    let mut out = Settled::default();
    let touch = |out: &mut Settled, txn: &WmsTransaction| {
        for (key, _) in txn.net_effects() {
            out.unsettled.insert(key);
        }
    };
    for (id, b) in before {
        match after.get(id) {
            Some(a) if a.state == b.state => {
                out.txns += 1;
                for (key, q) in b.txn.net_effects() {
                    if let Tracking::Serials(serials) = &b.txn.tracking() {
                        out.serials
                            .entry(key.clone())
                            .or_default()
                            .extend(serials.iter().cloned());
                    }
                    *out.in_flight.entry(key).or_default() += q;
                }
            }
            Some(a) => {
                touch(&mut out, &b.txn);
                touch(&mut out, &a.txn);
            }
            None => touch(&mut out, &b.txn),
        }
    }
    for (id, a) in after {
        if !before.contains_key(id) {
            touch(&mut out, &a.txn);
        }
    }
    out
}

/// Reads the WMS balances of `dc` into `balances`, `page_size` rows a page (the WMS allows
/// up to 5,000), counting the rows read so far in `rows`. The lock is held only while a page
/// is added, never across a read.
pub(super) async fn read_wms<P: ReconcilePorts>(
    ports: &P,
    dc: &DcCode,
    page_size: usize,
    balances: &Mutex<Balances>,
    rows: &AtomicUsize,
) -> Result<(), ReconcileError> {
    let mut cursor: Option<String> = None;
    loop {
        let page = ports.wms().balances(dc, cursor.as_deref(), page_size).await?;
        rows.fetch_add(page.items.len(), Ordering::Relaxed);
        let mut table = balances.lock().unwrap_or_else(PoisonError::into_inner);
        for b in page.items {
            if b.key.dc == *dc {
                let BalanceKey {
                    item,
                    subinventory,
                    lot,
                    ..
                } = b.key;
                table.add(
                    Source::Wms,
                    item,
                    subinventory,
                    lot,
                    b.quantity,
                    b.uom,
                    b.expiration,
                    b.serials,
                );
            }
        }
        drop(table);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(())
}

/// Reads Fusion's on-hand of `dc` into `balances` page by page as the pages arrive, so the
/// rows of the whole organization are never held at once. `expected_rows` is the guess of
/// the DC's size the port may use to ask for pages sooner (see `FusionInventory::onhand_pages`).
pub(super) async fn read_fusion<P: ReconcilePorts>(
    ports: &P,
    dc: &DcCode,
    expected_rows: Option<usize>,
    balances: &Mutex<Balances>,
) -> Result<(), ReconcileError> {
    ports
        .fusion()
        .onhand_pages(dc, expected_rows, |rows| {
            let mut table = balances.lock().unwrap_or_else(PoisonError::into_inner);
            for row in rows {
                if row.dc == *dc {
                    table.add(
                        Source::Fusion,
                        row.item,
                        row.subinventory,
                        row.lot,
                        row.quantity,
                        row.uom,
                        row.expiration,
                        row.serials,
                    );
                }
            }
        })
        .await?;
    Ok(())
}
