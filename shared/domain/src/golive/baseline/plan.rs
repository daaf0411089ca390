//! Taking a plan: the watermark, the WMS balances read consistently with it, Fusion on-hand,
//! and the pure per-line compare ([`compute_plan`]).

use super::status::{current, move_to};
use super::*;
use crate::console::UserId;
use crate::golive::OutboxWatermark;
use crate::ids::{ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use crate::ports::{BaselineCheckpoints, Clock, FusionInventory, OnhandRow, WarehouseSystem, WmsBalance};
use crate::txn::ItemInfo;
use chrono::NaiveDate;
use futures::stream::{self, StreamExt};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use tracing::{info, warn};

/// Items readied per prefetch call while taking a plan (ten of Fusion's batch lookups).
const PREFETCH_SLICE: usize = 1_000;

/// What [`compute_plan`] compares.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The WMS balance rows of the DC.
    pub wms: Vec<WmsBalance>,
    /// Fusion's on-hand rows of the DC.
    pub fusion: Vec<OnhandRow>,
    /// Fusion's item master facts per item; an item absent from the map is unknown to
    /// Fusion in the organization.
    pub items: BTreeMap<ItemNumber, ItemInfo>,
}

/// [`compute_plan`]'s answer: the lines to apply (those that differ) and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedPlan {
    /// Lines that differ, in (item, subinventory) order.
    pub lines: Vec<PlanLine>,
    /// The summary.
    pub summary: PlanSummary,
}

#[derive(Default)]
struct Side {
    total: Decimal,
    uom: Option<Uom>,
    lots: BTreeMap<LotNumber, (Decimal, Option<NaiveDate>)>,
    serials: BTreeSet<SerialNumber>,
}

impl Side {
    fn add(
        &mut self,
        lot: Option<LotNumber>,
        qty: Decimal,
        uom: Uom,
        exp: Option<NaiveDate>,
        serials: Vec<SerialNumber>,
    ) {
        self.total += qty;
        self.uom.get_or_insert(uom);
        if let Some(lot) = lot {
            let e = self.lots.entry(lot).or_insert((Decimal::ZERO, None));
            e.0 += qty;
            e.1 = e.1.or(exp);
        }
        self.serials.extend(serials);
    }
}

/// Compares the WMS with Fusion per (item, subinventory): the WMS balance is the absolute
/// target, lots and serials included. Lines of items Fusion does not know are left out and
/// listed; lines that already match are counted, not returned. Pure.
pub fn compute_plan(input: PlanInput) -> ComputedPlan {
    type Key = (ItemNumber, SubinventoryCode);
    let mut sides: BTreeMap<Key, (Side, Side)> = BTreeMap::new();
    let mut summary = PlanSummary {
        wms_rows: input.wms.len() as u64,
        fusion_rows: input.fusion.len() as u64,
        ..PlanSummary::default()
    };
    for b in input.wms {
        let k = (b.key.item, b.key.subinventory);
        sides
            .entry(k)
            .or_default()
            .0
            .add(b.key.lot, b.quantity, b.uom, b.expiration, b.serials);
    }
    for r in input.fusion {
        let k = (r.item, r.subinventory);
        sides
            .entry(k)
            .or_default()
            .1
            .add(r.lot, r.quantity, r.uom, r.expiration, r.serials);
    }
    let mut unknown: BTreeSet<ItemNumber> = BTreeSet::new();
    let mut diffs: Vec<KeyDifference> = Vec::new();
    let mut lines = Vec::new();
    for ((item, subinventory), (wms, fusion)) in sides {
        summary.lines_compared += 1;
        let Some(info) = input.items.get(&item) else {
            summary.unknown_item_lines += 1;
            unknown.insert(item);
            continue;
        };
        let class = ItemClass::of(info.lot_controlled, info.serial_controlled);
        let lot_names: BTreeSet<&LotNumber> = wms.lots.keys().chain(fusion.lots.keys()).collect();
        let lots: Vec<PlanLot> = lot_names
            .into_iter()
            .map(|lot| {
                let (w, we) = wms.lots.get(lot).copied().unwrap_or((Decimal::ZERO, None));
                let (f, fe) = fusion.lots.get(lot).copied().unwrap_or((Decimal::ZERO, None));
                PlanLot {
                    lot: lot.clone(),
                    wms: w,
                    fusion: f,
                    expiration: we.or(fe),
                    new_to_fusion: f.is_zero() && !w.is_zero(),
                }
            })
            .collect();
        let line = PlanLine {
            item: item.clone(),
            subinventory: subinventory.clone(),
            class,
            uom: info.primary_uom.clone(),
            target: wms.total,
            fusion: fusion.total,
            serials_added: wms.serials.difference(&fusion.serials).cloned().collect(),
            serials_removed: fusion.serials.difference(&wms.serials).cloned().collect(),
            serials: wms.serials.into_iter().collect(),
            lots,
        };
        let counts = summary.by_class.entry(class).or_default();
        counts.lines += 1;
        counts.wms_quantity += line.target;
        counts.fusion_quantity += line.fusion;
        if !line.differs() {
            summary.lines_matching += 1;
            continue;
        }
        counts.differing += 1;
        summary.lines_to_apply += 1;
        summary.net_difference += line.difference();
        summary.serials_added += line.serials_added.len() as u64;
        summary.serials_removed += line.serials_removed.len() as u64;
        for l in line.lots.iter().filter(|l| l.new_to_fusion) {
            summary.lots_to_create_count += 1;
            if summary.lots_to_create.len() < SUMMARY_LIST_MAX {
                summary.lots_to_create.push((item.clone(), l.lot.clone()));
            }
        }
        if line.lots.is_empty() {
            diffs.push(KeyDifference {
                item: item.clone(),
                subinventory: subinventory.clone(),
                lot: None,
                wms: line.target,
                fusion: line.fusion,
                difference: line.difference(),
            });
        }
        for l in line.lots.iter().filter(|l| l.wms != l.fusion) {
            diffs.push(KeyDifference {
                item: item.clone(),
                subinventory: subinventory.clone(),
                lot: Some(l.lot.clone()),
                wms: l.wms,
                fusion: l.fusion,
                difference: l.wms - l.fusion,
            });
        }
        lines.push(line);
    }
    diffs.sort_by(|a, b| {
        b.difference
            .abs()
            .cmp(&a.difference.abs())
            .then_with(|| a.item.cmp(&b.item))
    });
    diffs.truncate(SUMMARY_LIST_MAX);
    summary.largest_differences = diffs;
    summary.unknown_items_count = unknown.len() as u64;
    summary.unknown_items = unknown.into_iter().take(SUMMARY_LIST_MAX).collect();
    ComputedPlan { lines, summary }
}

/// The DC's outbox watermark now: the highest outbox `sequence`, 0 for an empty outbox. An
/// entry without a sequence makes a watermark impossible: `InvalidResponse`.
pub async fn read_watermark<W: WarehouseSystem>(
    wms: &W,
    dc: &DcCode,
    page_size: usize,
) -> Result<OutboxWatermark, BaselineError> {
    let mut cursor: Option<String> = None;
    let mut high = 0u64;
    loop {
        let page = wms.outbox(dc, cursor.as_deref(), page_size.max(1)).await?;
        for e in &page.items {
            let seq = e.sequence.ok_or_else(|| {
                WmsError::InvalidResponse(format!(
                    "outbox entry {} has no sequence; a baseline needs one (docs/wms-api.openapi.yaml)",
                    e.raw_id
                ))
            })?;
            high = high.max(seq);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(OutboxWatermark(high)),
        }
    }
}

async fn read_balances<P: BaselinePorts>(
    ports: &P,
    dc: &DcCode,
    page_size: usize,
) -> Result<Vec<WmsBalance>, BaselineError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ports.wms().balances(dc, cursor.as_deref(), page_size.max(1)).await?;
        out.extend(page.items.into_iter().filter(|b| &b.key.dc == dc));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// A plan just taken: its stored header and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenPlan {
    /// The header (stored).
    pub plan: BaselinePlan,
    /// The lines (stored in its chunks).
    pub lines: Vec<PlanLine>,
}

/// Takes and stores a plan of `dc` and moves the DC to `planned` (allowed from
/// `not_started`, `planned`, `verified` and `maintenance`, and from `baselining` once every
/// chunk of the current plan is applied: a new plan after a verification that did not pass,
/// so a DC is never stuck between a failed verify and its cut-over; while a chunk is still to
/// be applied it is refused, so no chunk of a replaced plan is in flight). Changes nothing in Fusion or the
/// WMS. The balances are read between two watermark reads that must agree (retried up to
/// `settings.watermark_retries` times).
pub async fn take_plan<P: BaselinePorts>(
    ports: &P,
    settings: &BaselineSettings,
    dc: &DcCode,
    by: &UserId,
) -> Result<TakenPlan, BaselineError> {
    let record = current(ports, dc).await?;
    if !record.status.may_become(DcStatus::Planned) {
        return Err(BaselineError::WrongStatus {
            dc: dc.clone(),
            status: record.status,
            reason: "a plan can be taken only before an apply starts, after verification, or in maintenance".into(),
        });
    }
    if record.status == DcStatus::Baselining {
        let status = super::baseline_status(ports, dc).await?;
        let (applied, total) = (status.chunks_applied(), status.chunks.len());
        if applied < total {
            return Err(BaselineError::WrongStatus {
                dc: dc.clone(),
                status: record.status,
                reason: format!(
                    "the apply of the current plan is not finished ({applied} of {total} chunks applied): finish it, then verify; a new plan can be taken after a verification that did not pass"
                ),
            });
        }
    }
    let page = settings.page_size.max(1);
    let mut tries = 0;
    let (watermark, wms) = loop {
        tries += 1;
        let before = read_watermark(ports.wms(), dc, page).await?;
        let balances = read_balances(ports, dc, page).await?;
        let after = read_watermark(ports.wms(), dc, page).await?;
        if before == after {
            break (after, balances);
        }
        warn!(dc = %dc, %before, %after, "outbox moved during the balance read; reading again");
        if tries > settings.watermark_retries {
            return Err(BaselineError::WatermarkMoving { dc: dc.clone(), tries });
        }
    };
    let fusion: Vec<OnhandRow> = ports
        .fusion()
        .onhand(dc)
        .await?
        .into_iter()
        .filter(|r| &r.dc == dc)
        .collect();
    let names: Vec<ItemNumber> = wms
        .iter()
        .map(|b| b.key.item.clone())
        .chain(fusion.iter().map(|r| r.item.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Why in slices: one prefetch asks Fusion batch after batch; 50,000 items are 500 batch
    // requests, which at 100 ms each would dominate the plan. Slices go
    // `settings.chunks_in_flight` at a time, the baseline's bound on requests to Fusion.
    let prefetched: Vec<Result<(), FusionError>> = stream::iter(names.chunks(PREFETCH_SLICE))
        .map(|slice| ports.fusion().prefetch_items(dc, slice))
        .buffer_unordered(settings.chunks_in_flight.max(1))
        .collect()
        .await;
    if let Some(Err(e)) = prefetched.into_iter().find(Result::is_err) {
        warn!(dc = %dc, error = %e, "item prefetch failed; items are looked up one by one");
    }
    let looked_up: Vec<(ItemNumber, Result<ItemInfo, FusionError>)> = stream::iter(names)
        .map(|item| async move {
            let info = ports.fusion().item_info(dc, &item).await;
            (item, info)
        })
        .buffer_unordered(settings.reconcile.sync.concurrency.max(1))
        .collect()
        .await;
    let mut items = BTreeMap::new();
    for (item, info) in looked_up {
        match info {
            Ok(info) => {
                items.insert(item, info);
            }
            Err(FusionError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let computed = compute_plan(PlanInput { wms, fusion, items });
    let now = ports.clock().now();
    let size = settings.chunk_size.max(1);
    let plan = BaselinePlan {
        id: PlanId::new(dc, now),
        dc: dc.clone(),
        watermark,
        created_at: now,
        created_by: by.clone(),
        mode: settings.mode,
        chunk_size: u32::try_from(size).unwrap_or(u32::MAX),
        chunks: u32::try_from(computed.lines.len().div_ceil(size)).unwrap_or(u32::MAX),
        summary: computed.summary,
    };
    let chunks: Vec<ChunkRecord> = computed
        .lines
        .chunks(size)
        .enumerate()
        .map(|(i, lines)| ChunkRecord {
            dc: dc.clone(),
            plan: plan.id.clone(),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            lines: lines.to_vec(),
            state: ChunkState::Pending,
            results: Vec::new(),
            attempts: 0,
            updated_at: now,
            version: 1,
        })
        .collect();
    ports.checkpoints().create_plan(&plan, &chunks).await?;
    move_to(ports, &record, DcStatus::Planned, by, Some(watermark)).await?;
    info!(
        dc = %dc, plan = %plan.id, %watermark, lines = plan.summary.lines_to_apply,
        matching = plan.summary.lines_matching, unknown_items = plan.summary.unknown_items_count,
        chunks = plan.chunks, "baseline plan taken"
    );
    Ok(TakenPlan {
        plan,
        lines: computed.lines,
    })
}
