//! Item master facts: [`HttpFusionClient::item_info`] for one item and
//! [`HttpFusionClient::prefetch_items`] for every item of an outbox page at once.
//!
//! Three layers, nearest first: the client's own memory (per process, [`FusionConfig::item_cache_ttl`](super::FusionConfig::item_cache_ttl)),
//! the [`SharedItemCache`] when one is attached ([`HttpFusionClient::with_item_cache`]: the
//! `ItemCacheTable`, shared by every container and run), then Fusion. A page's misses go to
//! Fusion as one batch request of `itemsV2` GET parts (fact sheet §4: batch is documented, all
//! or none, parts run sequentially, no documented part limit; at most
//! [`FusionConfig::item_lookup_batch`](super::FusionConfig::item_lookup_batch) parts per request keeps each request small, as Oracle
//! advises). The shared cache only ever saves requests: its errors are warnings and count as
//! misses. An item Fusion refuses as unknown when a transaction is posted is dropped from both
//! caches ([`HttpFusionClient::forget_item`]), so the next lookup asks Fusion again.

use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::ids::{DcCode, ItemNumber, Uom};
use domain::ports::FusionError;
use domain::txn::ItemInfo;

use super::bulk::{BatchOperation, BatchPart};
use super::item_cache::SharedItemCache;
use super::wire::{int_of, parse, q, Collection, ItemWire, UomWire};
use super::HttpFusionClient;

/// How long this process remembers that Fusion does not know an item: long enough that the
/// transactions of one page do not each ask again, short enough that an item assigned in
/// Fusion meanwhile is seen by the next page.
const UNKNOWN_FOR: Duration = Duration::from_secs(60);

impl HttpFusionClient {
    /// Puts `cache` behind this client's in-process item cache (clones share it). Set once,
    /// right after building the client; a second call leaves the first cache in place.
    pub fn with_item_cache(self, cache: Arc<dyn SharedItemCache>) -> Self {
        if self.inner.shared_items.set(cache).is_err() {
            tracing::warn!("an item cache was already attached; the second one is ignored");
        }
        self
    }

    fn shared_items(&self) -> Option<&Arc<dyn SharedItemCache>> {
        self.inner.shared_items.get()
    }

    fn remembered(&self, dc: &DcCode, item: &ItemNumber) -> Option<ItemInfo> {
        let ttl = self.config().item_cache_ttl;
        let items = self.inner.items.lock().unwrap_or_else(PoisonError::into_inner);
        items
            .get(&(dc.clone(), item.clone()))
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(info, _)| info.clone())
    }

    fn remember(&self, dc: &DcCode, infos: &[ItemInfo]) {
        let now = Instant::now();
        let mut items = self.inner.items.lock().unwrap_or_else(PoisonError::into_inner);
        for info in infos {
            items.insert((dc.clone(), info.item.clone()), (info.clone(), now));
        }
    }

    fn known_unknown(&self, dc: &DcCode, item: &ItemNumber) -> bool {
        let unknown = self.inner.unknown_items.lock().unwrap_or_else(PoisonError::into_inner);
        unknown
            .get(&(dc.clone(), item.clone()))
            .is_some_and(|at| at.elapsed() < UNKNOWN_FOR)
    }

    async fn share(&self, dc: &DcCode, infos: &[ItemInfo]) {
        if let (Some(shared), false) = (self.shared_items(), infos.is_empty()) {
            if let Err(e) = shared.put_many(dc, infos, Utc::now()).await {
                tracing::warn!(dc = %dc, error = %e, "item cache not written; the next container asks Fusion again");
            }
        }
    }

    /// Item master facts: from this process's memory, else the shared cache, else `itemsV2`
    /// and `unitsOfMeasure` (then both caches are filled). Unknown item: [`FusionError::NotFound`].
    pub async fn item_info(&self, dc: &DcCode, item: &ItemNumber) -> Result<ItemInfo, FusionError> {
        if let Some(info) = self.remembered(dc, item) {
            return Ok(info);
        }
        if self.known_unknown(dc, item) {
            return Err(unknown(dc, item));
        }
        if let Some(shared) = self.shared_items() {
            match shared.get_many(dc, std::slice::from_ref(item), Utc::now()).await {
                Ok(found) => {
                    if let Some(info) = found.into_iter().find(|i| &i.item == item) {
                        self.remember(dc, std::slice::from_ref(&info));
                        return Ok(info);
                    }
                }
                Err(e) => tracing::warn!(dc = %dc, item = %item, error = %e, "item cache unreadable; asking Fusion"),
            }
        }
        let info = self.lookup_item(dc, item).await?;
        self.remember(dc, std::slice::from_ref(&info));
        self.share(dc, std::slice::from_ref(&info)).await;
        Ok(info)
    }

    /// Makes the facts of every item of `items` in `dc` available to [`Self::item_info`] without
    /// a request of its own: what neither cache holds is asked of Fusion in batches of
    /// [`FusionConfig::item_lookup_batch`](super::FusionConfig::item_lookup_batch) `itemsV2` parts, and written to both caches. Items
    /// Fusion does not know are remembered as unknown for a minute. An error leaves the items
    /// to [`Self::item_info`]; callers treat it as a warning.
    pub async fn prefetch_items(&self, dc: &DcCode, items: &[ItemNumber]) -> Result<(), FusionError> {
        let mut wanted: Vec<ItemNumber> = items
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|i| self.remembered(dc, i).is_none() && !self.known_unknown(dc, i))
            .cloned()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        if let Some(shared) = self.shared_items() {
            match shared.get_many(dc, &wanted, Utc::now()).await {
                Ok(found) => {
                    self.remember(dc, &found);
                    let hit: BTreeSet<&ItemNumber> = found.iter().map(|i| &i.item).collect();
                    wanted.retain(|i| !hit.contains(i));
                }
                Err(e) => {
                    tracing::warn!(dc = %dc, error = %e, "item cache unreadable; asking Fusion for the page's items")
                }
            }
        }
        for chunk in wanted.chunks(self.config().item_lookup_batch.max(1)) {
            let learned = self.lookup_items(dc, chunk).await?;
            self.remember(dc, &learned);
            self.share(dc, &learned).await;
            let now = Instant::now();
            let mut unknown = self.inner.unknown_items.lock().unwrap_or_else(PoisonError::into_inner);
            unknown.retain(|_, at| at.elapsed() < UNKNOWN_FOR);
            for item in chunk.iter().filter(|i| learned.iter().all(|l| &l.item != *i)) {
                unknown.insert((dc.clone(), item.clone()), now);
            }
        }
        Ok(())
    }

    /// Drops `item` of `dc` from both caches: Fusion refused it as unknown, so what they say
    /// about it is stale. A shared cache that cannot be written is a warning (its entry expires).
    pub async fn forget_item(&self, dc: &DcCode, item: &ItemNumber) {
        let key = (dc.clone(), item.clone());
        self.inner
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        if let Some(shared) = self.shared_items() {
            if let Err(e) = shared.forget(dc, item).await {
                tracing::warn!(dc = %dc, item = %item, error = %e, "stale item cache entry not removed; it expires on its own");
            }
        }
    }

    fn item_query(dc: &DcCode, item: &ItemNumber) -> String {
        q(&[("ItemNumber", item.as_str()), ("OrganizationCode", dc.as_str())])
    }

    async fn lookup_item(&self, dc: &DcCode, item: &ItemNumber) -> Result<ItemInfo, FusionError> {
        let body = self
            .get_json(
                "itemsV2",
                vec![
                    ("q".into(), Self::item_query(dc, item)),
                    ("onlyData".into(), "true".into()),
                    ("limit".into(), "1".into()),
                ],
            )
            .await?;
        let page: Collection<ItemWire> = parse(&body, "itemsV2")?;
        let row = page
            .items
            .into_iter()
            .find(|r| r.item_number == item.as_str())
            .ok_or_else(|| unknown(dc, item))?;
        self.info_of(item, row).await
    }

    /// One batch request of an `itemsV2` GET part per item; the facts of the items Fusion knows.
    async fn lookup_items(&self, dc: &DcCode, items: &[ItemNumber]) -> Result<Vec<ItemInfo>, FusionError> {
        let parts: Vec<BatchPart> = items
            .iter()
            .enumerate()
            .map(|(n, item)| BatchPart {
                id: n.to_string(),
                path: format!(
                    "/itemsV2?q={}&onlyData=true&limit=1",
                    percent_encode(&Self::item_query(dc, item))
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
        let mut rows = Vec::with_capacity(items.len());
        for part in answer.parts {
            let Some(item) = part.id.parse::<usize>().ok().and_then(|n| items.get(n)) else {
                return Err(FusionError::InvalidResponse(format!(
                    "batch answered a part {} it was not asked",
                    part.id
                )));
            };
            let page: Collection<ItemWire> = serde_json::from_value(part.payload)
                .map_err(|e| FusionError::InvalidResponse(format!("itemsV2 part for {item}: {e}")))?;
            if let Some(row) = page.items.into_iter().find(|r| r.item_number == item.as_str()) {
                rows.push((item, row));
            }
        }
        // Why first and at once: each unit of measure not yet known costs a request, and the
        // items of one batch often use several; asked one item after another they queue.
        let uoms: BTreeSet<Uom> = rows
            .iter()
            .filter_map(|(_, row)| row.primary_uom_code.clone().and_then(|u| Uom::parse(u).ok()))
            .collect();
        futures::future::try_join_all(uoms.iter().map(|u| self.uom_scale(u))).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (item, row) in rows {
            out.push(self.info_of(item, row).await?);
        }
        Ok(out)
    }

    async fn info_of(&self, item: &ItemNumber, row: ItemWire) -> Result<ItemInfo, FusionError> {
        let uom_text = row
            .primary_uom_code
            .ok_or_else(|| FusionError::InvalidResponse(format!("item {item} has no PrimaryUOMCode")))?;
        let primary_uom =
            Uom::parse(uom_text).map_err(|e| FusionError::InvalidResponse(format!("item {item}: {e}")))?;
        let uom_scale = self.uom_scale(&primary_uom).await?;
        // EBS-lineage codes (fact sheet §5, L): LotControlCode 2 = full control;
        // SerialNumberControlCode 2 = predefined, 5 = at receipt (6 = at sales-order issue only,
        // which miscellaneous transactions do not serialise).
        Ok(ItemInfo {
            item: item.clone(),
            lot_controlled: int_of(row.lot_control_code.as_ref()) == Some(2),
            serial_controlled: matches!(int_of(row.serial_number_control_code.as_ref()), Some(2 | 5)),
            primary_uom,
            uom_scale,
        })
    }

    /// Decimal places `uom` allows. Why optional: the integration user's role may not grant
    /// `unitsOfMeasure` (fact sheet §5), and the lookup only refines validation, so when it is
    /// missing, refused or silent about the code the configured
    /// [`FusionConfig::uom_default_precision`](super::FusionConfig::uom_default_precision) applies, with one warning per process.
    /// Credentials refused, throttling or an outage are still errors.
    async fn uom_scale(&self, uom: &Uom) -> Result<u32, FusionError> {
        if let Some(scale) = self.remembered_uom(uom) {
            return Ok(scale);
        }
        // Why a gate per unit: a prefetch and an item lookup running side by side would
        // otherwise both ask; the second waits for the first and reads its answer.
        let gate = Arc::clone(
            self.inner
                .uom_gates
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(uom.clone())
                .or_default(),
        );
        let _held = gate.lock().await;
        if let Some(scale) = self.remembered_uom(uom) {
            return Ok(scale);
        }
        let scale = match self.lookup_uom_scale(uom).await {
            Ok(Some(scale)) => scale,
            Ok(None) => self.uom_fallback(uom, "unitsOfMeasure does not list it"),
            Err(e @ (FusionError::NotFound(_) | FusionError::Forbidden | FusionError::Rejected { .. })) => {
                self.uom_fallback(uom, &e.to_string())
            }
            Err(e) => return Err(e),
        };
        self.inner
            .uoms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(uom.clone(), (scale, Instant::now()));
        Ok(scale)
    }

    fn remembered_uom(&self, uom: &Uom) -> Option<u32> {
        let ttl = self.config().item_cache_ttl;
        let uoms = self.inner.uoms.lock().unwrap_or_else(PoisonError::into_inner);
        uoms.get(uom)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(scale, _)| *scale)
    }

    /// Readies the decimal precision of every unit of `uoms` at once (the port's
    /// `prefetch_units`): what this process does not remember is asked of `unitsOfMeasure`,
    /// one request per unit, side by side.
    pub async fn prefetch_units(&self, uoms: &[Uom]) -> Result<(), FusionError> {
        let wanted: BTreeSet<&Uom> = uoms.iter().filter(|u| self.remembered_uom(u).is_none()).collect();
        futures::future::try_join_all(wanted.into_iter().map(|u| self.uom_scale(u))).await?;
        Ok(())
    }

    fn uom_fallback(&self, uom: &Uom, why: &str) -> u32 {
        let precision = self.config().uom_default_precision;
        if !self.inner.uom_warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                uom = %uom, precision, reason = why,
                "unit-of-measure precision unavailable from Fusion; using FUSION_UOM_DEFAULT_PRECISION (warned once)"
            );
        }
        precision
    }

    async fn lookup_uom_scale(&self, uom: &Uom) -> Result<Option<u32>, FusionError> {
        let body = self
            .get_json(
                "unitsOfMeasure",
                vec![
                    ("q".into(), q(&[("UOMCode", uom.as_str())])),
                    ("onlyData".into(), "true".into()),
                ],
            )
            .await?;
        let page: Collection<UomWire> = parse(&body, "unitsOfMeasure")?;
        let Some(row) = page.items.into_iter().find(|r| r.uom_code == uom.as_str()) else {
            return Ok(None);
        };
        int_of(row.decimal_precision.as_ref())
            .and_then(|p| u32::try_from(p).ok())
            .map(Some)
            .ok_or_else(|| FusionError::InvalidResponse(format!("unit of measure {uom} has no DecimalPrecision")))
    }
}

fn unknown(dc: &DcCode, item: &ItemNumber) -> FusionError {
    FusionError::NotFound(format!("item {item} in organization {dc}"))
}

/// Whether Fusion's refusal `detail` of a post of `item` says the item itself is unknown in the
/// organization (not a lot or serial of it). Unsure (fact sheet §5 says nothing of the
/// wording): matched as "item <number> doesn't exist / isn't assigned" and their long forms,
/// case-insensitively, as Fusion's INV messages and the simulator word it.
pub(super) fn refuses_item_as_unknown(detail: &str, item: &ItemNumber) -> bool {
    let d = detail.to_ascii_lowercase();
    let subject = format!("item {} ", item.as_str().to_ascii_lowercase());
    ["doesn't exist", "does not exist", "isn't assigned", "is not assigned"]
        .iter()
        .any(|phrase| d.contains(&format!("{subject}{phrase}")))
}

/// Percent-encodes a query value for a batch part's relative `path` (everything but RFC 3986
/// unreserved characters).
pub(super) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn unknown_item_refusals_are_recognised_by_item_and_phrase() {
        let item = ItemNumber::parse("AS-100").expect("item");
        assert!(refuses_item_as_unknown("The item AS-100 doesn't exist.", &item));
        assert!(refuses_item_as_unknown(
            "The item AS-100 isn't assigned to organization DC01.",
            &item
        ));
        assert!(!refuses_item_as_unknown("The item AS-101 doesn't exist.", &item));
        assert!(!refuses_item_as_unknown(
            "The lot L1 doesn't exist for item AS-100.",
            &item
        ));
        assert!(!refuses_item_as_unknown(
            "The subinventory X is closed for AS-100.",
            &item
        ));
    }

    #[test]
    fn batch_paths_encode_quotes_and_separators() {
        assert_eq!(
            percent_encode("ItemNumber='A B';OrganizationCode=DC01"),
            "ItemNumber%3D%27A%20B%27%3BOrganizationCode%3DDC01"
        );
    }
}
