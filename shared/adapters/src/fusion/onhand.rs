//! Reading on-hand: `inventoryOnhandBalances` pages flattened to lot-grain [`OnhandRow`]s.
//!
//! Why the stop rule is `count < limit` (or an empty page) and never `hasMore` alone: third
//! parties report `hasMore` and `totalResults` as unreliable at high offsets and a silent cap
//! at 499 or 500 rows (fact sheet §4). `totalResults` is only used to fetch the remaining pages
//! concurrently; the last page is always checked and reading goes on sequentially if it was
//! full.
//!
//! Framework v3+ returns expanded children as nested collections of 25 rows with their own
//! `hasMore` (fact sheet §1); the rest of such a child is read from the child resource (its
//! `self` link, or the balance's link + `/child/<name>`), page by page. A child that cannot be
//! read in full fails the whole read: partial lots or serials would show as false variances.

use domain::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use domain::ports::{FusionError, OnhandRow};
use futures::stream::{self, StreamExt, TryStreamExt};

use super::children::child_link;
use super::wire::{date_of, parse, q, Collection, OnhandWire};
use super::HttpFusionClient;

/// One page of on-hand balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnhandPage {
    /// The page's balances flattened to lot grain.
    pub rows: Vec<OnhandRow>,
    /// Balance rows on the page, before flattening (`count`).
    pub count: usize,
    /// `hasMore` as Fusion reported it (may be missing or wrong).
    pub has_more: Option<bool>,
    /// `totalResults`, when requested and reported.
    pub total_results: Option<u64>,
    /// Rows per page Fusion applied: the requested limit, or less if Fusion echoed a smaller one.
    pub limit: usize,
    /// Offset of the page.
    pub offset: usize,
    /// Balances whose expanded lots or serials Fusion paged (child `hasMore`) and that were
    /// completed from the child resources.
    pub paged_children: usize,
}

impl HttpFusionClient {
    /// One page of `inventoryOnhandBalances` for `dc` at `offset`, `limit` rows (clamped to
    /// 500), lots and serials expanded.
    pub async fn onhand_page(&self, dc: &DcCode, offset: usize, limit: usize) -> Result<OnhandPage, FusionError> {
        self.fetch_onhand_page(dc, offset, limit.clamp(1, super::MAX_PAGE_SIZE), false)
            .await
    }

    /// Every on-hand row of `dc` (the port's `onhand`), in offset order, reading pages
    /// concurrently up to [`super::FusionConfig::max_in_flight`] when Fusion reports
    /// `totalResults`.
    pub async fn onhand(&self, dc: &DcCode) -> Result<Vec<OnhandRow>, FusionError> {
        let mut pages = Vec::new();
        self.onhand_each(dc, |offset, page| pages.push((offset, page))).await?;
        pages.sort_by_key(|(offset, _)| *offset);
        Ok(pages.into_iter().flat_map(|(_, rows)| rows).collect())
    }

    /// The rows of [`Self::onhand`] handed to `sink` a page at a time with the page's offset,
    /// in the order the pages arrive: at most `max_in_flight` page requests are in flight and
    /// as many bodies are parsed at once. Why not in offset order: waiting for the slowest page
    /// of the window would leave the rest of the window idle behind it.
    pub async fn onhand_each<F: FnMut(usize, Vec<OnhandRow>) + Send>(
        &self,
        dc: &DcCode,
        sink: F,
    ) -> Result<(), FusionError> {
        self.onhand_each_expecting(dc, None, sink).await
    }

    /// [`Self::onhand_each`] told how many rows `dc` probably holds (`expected_rows`; the
    /// port's `onhand_pages`). Why: the pages after the first are fanned out only once the
    /// first page's `totalResults` has arrived, a round trip in which nothing else is read;
    /// with a size to expect, the pages of the first window (up to `max_in_flight`) are asked
    /// together with the first. A wrong guess costs requests, never rows: pages past the end
    /// answer empty (at most `max_in_flight - 1` of them), and when Fusion applied a smaller
    /// page than asked the early pages were cut at the wrong offsets, so they are dropped
    /// unread and the read goes on from what the first page said.
    pub async fn onhand_each_expecting<F: FnMut(usize, Vec<OnhandRow>) + Send>(
        &self,
        dc: &DcCode,
        expected_rows: Option<usize>,
        mut sink: F,
    ) -> Result<(), FusionError> {
        let size = self.config().effective_page_size();
        let window = self.config().max_in_flight.max(1);
        let ahead = expected_rows.map_or(0, |rows| rows.div_ceil(size).min(window).saturating_sub(1));
        let early = stream::iter((1..=ahead).map(|k| k * size))
            .map(|offset| async move {
                Ok::<_, FusionError>((offset, self.fetch_onhand_body(dc, offset, size, false).await?))
            })
            .buffer_unordered(window)
            .try_collect::<Vec<_>>();
        let (first, early) = futures::join!(self.fetch_onhand_page(dc, 0, size, true), early);
        let first = first?;
        let mut limit = first.limit;
        let more_reported = first.has_more == Some(true) || first.total_results.is_some_and(|t| t > first.count as u64);
        let (count, total_results) = (first.count, first.total_results);
        sink(0, first.rows);
        if count == 0 || (count < limit && !more_reported) {
            return Ok(());
        }
        if count < limit {
            // Fusion applied a smaller page than asked without saying so (the 499 quirk).
            limit = count;
        }
        let early = if limit == size { early? } else { Vec::new() };
        // The early pages are the ones right after the first, so the rest starts after them.
        let mut next = count + early.len() * limit;
        let rest = total_results
            .and_then(|t| usize::try_from(t).ok())
            .map_or_else(Vec::new, |total| (next..total).step_by(limit).collect());
        // The page at the highest offset read decides whether rows lie beyond it.
        let mut last: Option<(usize, usize)> = None;
        self.read_pages(dc, limit, early, rest, &mut sink, &mut last).await?;
        if let Some((offset, count)) = last {
            if count < limit {
                return Ok(());
            }
            next = next.max(offset + count);
        }
        loop {
            let p = self.fetch_onhand_page(dc, next, limit, false).await?;
            let count = p.count;
            sink(next, p.rows);
            if count == 0 || count < limit {
                break;
            }
            next += count;
        }
        Ok(())
    }

    /// Parses the `early` page bodies and reads and parses the pages at `rest` (asked with
    /// `limit`), hands their rows to `sink` as they are parsed and keeps in `last` the offset
    /// and row count of the highest page. At most `max_in_flight` requests are in flight and as
    /// many bodies parsed at once.
    ///
    /// Why the requests are driven by a task of their own: a page's request slot is freed as
    /// soon as its body has arrived, and the next request must go out then, not when the
    /// caller has finished folding the rows it already has (or a page of the WMS read beside
    /// this one). The rest is asked while the early pages are still being parsed.
    async fn read_pages<F: FnMut(usize, Vec<OnhandRow>) + Send>(
        &self,
        dc: &DcCode,
        limit: usize,
        early: Vec<(usize, Vec<u8>)>,
        rest: Vec<usize>,
        sink: &mut F,
        last: &mut Option<(usize, usize)>,
    ) -> Result<(), FusionError> {
        let window = self.config().max_in_flight.max(1);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<OnhandPage, FusionError>>(window);
        let (client, owned_dc) = (self.clone(), dc.clone());
        let driver = crate::worker::on_worker(async move {
            let (c, dc) = (&client, &owned_dc);
            let bodies = stream::iter(early.into_iter().map(Ok)).chain(
                stream::iter(rest)
                    .map(|offset| async move { Ok((offset, c.fetch_onhand_body(dc, offset, limit, false).await?)) })
                    .buffer_unordered(window),
            );
            let mut pages = std::pin::pin!(bodies
                .map_ok(|(offset, body)| c.spawn_onhand_parse(dc, offset, limit, body))
                .try_buffer_unordered(window));
            while let Some(page) = pages.next().await {
                let failed = page.is_err();
                if tx.send(page).await.is_err() || failed {
                    break;
                }
            }
        });
        let consume = async {
            // Owned here so that a consumer that stops drops it and the driver's send fails.
            let mut rx = rx;
            while let Some(page) = rx.recv().await {
                let p = page?;
                if last.is_none_or(|(offset, _)| p.offset > offset) {
                    *last = Some((p.offset, p.count));
                }
                sink(p.offset, p.rows);
            }
            Ok::<_, FusionError>(())
        };
        let (driven, consumed) = futures::join!(driver, consume);
        consumed?;
        driven.map_err(|e| FusionError::InvalidResponse(format!("inventoryOnhandBalances read stopped: {e}")))
    }

    /// [`Self::onhand_page_of`] as a task of its own (see `crate::worker`).
    async fn spawn_onhand_parse(
        &self,
        dc: &DcCode,
        offset: usize,
        limit: usize,
        body: Vec<u8>,
    ) -> Result<OnhandPage, FusionError> {
        let (client, dc) = (self.clone(), dc.clone());
        crate::worker::on_worker(async move { client.onhand_page_of(&dc, offset, limit, &body).await })
            .await
            .unwrap_or_else(|e| {
                Err(FusionError::InvalidResponse(format!(
                    "inventoryOnhandBalances page at offset {offset} stopped: {e}"
                )))
            })
    }

    async fn fetch_onhand_page(
        &self,
        dc: &DcCode,
        offset: usize,
        limit: usize,
        total: bool,
    ) -> Result<OnhandPage, FusionError> {
        let body = self.fetch_onhand_body(dc, offset, limit, total).await?;
        self.onhand_page_of(dc, offset, limit, &body).await
    }

    /// The body of one `inventoryOnhandBalances` page, unparsed.
    async fn fetch_onhand_body(
        &self,
        dc: &DcCode,
        offset: usize,
        limit: usize,
        total: bool,
    ) -> Result<Vec<u8>, FusionError> {
        let mut query = vec![
            ("q".to_string(), q(&[("OrganizationCode", dc.as_str())])),
            ("expand".to_string(), "lots,serials".to_string()),
            // No onlyData: a paged child is completed through the balance's `self` link.
            ("limit".to_string(), limit.to_string()),
            ("offset".to_string(), offset.to_string()),
        ];
        if total {
            query.push(("totalResults".to_string(), "true".to_string()));
        }
        self.get_json("inventoryOnhandBalances", query).await
    }

    /// One page parsed from `body` (requested at `offset` with `limit`), its paged lots and
    /// serials completed from the child resources.
    async fn onhand_page_of(
        &self,
        dc: &DcCode,
        offset: usize,
        limit: usize,
        body: &[u8],
    ) -> Result<OnhandPage, FusionError> {
        let page: Collection<OnhandWire> = parse(body, "inventoryOnhandBalances")?;
        let count = page.count.unwrap_or(page.items.len()).max(page.items.len());
        let applied = page.limit.filter(|l| *l > 0).map_or(limit, |l| l.min(limit));
        let mut rows = Vec::with_capacity(page.items.len());
        let mut paged_children = 0;
        for mut w in page.items {
            if w.lots.may_have_more() || w.serials.may_have_more() {
                paged_children += 1;
                let parent = w.links.0.take();
                if w.lots.may_have_more() {
                    let href = child_link(w.lots.href.take(), parent.as_deref(), "lots")?;
                    let rest = self.rest_of_child(&href, w.lots.items.len()).await?;
                    w.lots.items.extend(rest);
                }
                if w.serials.may_have_more() {
                    let href = child_link(w.serials.href.take(), parent.as_deref(), "serials")?;
                    let rest = self.rest_of_child(&href, w.serials.items.len()).await?;
                    w.serials.items.extend(rest);
                }
            }
            flatten(dc, w, &mut rows)?;
        }
        Ok(OnhandPage {
            rows,
            count,
            has_more: page.has_more,
            total_results: page.total_results,
            limit: applied,
            offset,
            paged_children,
        })
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> FusionError {
    FusionError::InvalidResponse(format!("inventoryOnhandBalances {what}: {e}"))
}

/// One balance row to one [`OnhandRow`], or one per lot for lot-controlled stock.
fn flatten(dc: &DcCode, w: OnhandWire, out: &mut Vec<OnhandRow>) -> Result<(), FusionError> {
    let dc = match w.organization_code.as_deref() {
        Some(code) if code != dc.as_str() => DcCode::parse(code).map_err(|e| bad("OrganizationCode", e))?,
        _ => dc.clone(),
    };
    let item = ItemNumber::parse(w.item_number).map_err(|e| bad("ItemNumber", e))?;
    let subinventory = SubinventoryCode::parse(w.subinventory_code).map_err(|e| bad("SubinventoryCode", e))?;
    let uom = Uom::parse(w.primary_uom_code.unwrap_or_default()).map_err(|e| bad("PrimaryUOMCode", e))?;
    let quantity = w
        .primary_quantity
        .ok_or_else(|| bad("row", format!("{item} in {subinventory} has no PrimaryQuantity")))?
        .0;
    let serials = w
        .serials
        .items
        .into_iter()
        .map(|s| SerialNumber::parse(s.serial_number).map_err(|e| bad("SerialNumber", e)))
        .collect::<Result<Vec<_>, _>>()?;
    if w.lots.items.is_empty() {
        out.push(OnhandRow {
            dc,
            item,
            subinventory,
            lot: None,
            expiration: None,
            serials,
            quantity,
            uom,
        });
        return Ok(());
    }
    for l in w.lots.items {
        let lot_quantity = l
            .primary_quantity
            .ok_or_else(|| bad("lot", format!("{} of {item} has no PrimaryQuantity", l.lot_number)))?
            .0;
        out.push(OnhandRow {
            dc: dc.clone(),
            item: item.clone(),
            subinventory: subinventory.clone(),
            lot: Some(LotNumber::parse(l.lot_number).map_err(|e| bad("LotNumber", e))?),
            expiration: date_of(l.expiration_date.as_deref())?,
            serials: Vec::new(),
            quantity: lot_quantity,
            uom: uom.clone(),
        });
    }
    Ok(())
}
