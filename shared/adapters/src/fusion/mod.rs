//! Oracle Fusion Cloud SCM inventory REST client: [`HttpFusionClient`] implements
//! [`domain::ports::FusionInventory`].
//!
//! What shapes it (see `shared/reference/fusion-rest.md`):
//! - one pooled reqwest client per process, a timeout on every request, an adaptive bound on
//!   requests in flight per pod ([`concurrency`]: from [`FusionConfig::max_in_flight`] up to
//!   [`FusionConfig::max_in_flight_ceiling`], cut on 429/503), retries with exponential backoff and
//!   jitter (`backon`) that honour `Retry-After` up to a cap;
//! - errors classified into [`FusionError`]: 429, 5xx, 408, timeouts and lost connections are
//!   retryable; 400 (with Fusion's `o:errorDetails[].detail`), 401 after one token refresh,
//!   403 and 404 are not;
//! - Fusion has no idempotency key, so a staged transaction is **never re-posted without first
//!   looking its Source* reference up** (see [`HttpFusionClient::post_staged`]);
//! - collection reads stop on `count < limit`, not on `hasMore`, and page at most 500 rows.
//!
//! Layout: [`config`] (settings, env), [`concurrency`] (the adaptive in-flight bound),
//! `transport` (HTTP, auth, retries), `wire` (JSON shapes,
//! exact decimals), `onhand` (paging), `children` (paged child collections), `interface`
//! (unprocessed staged rows), `post` (validation, post, find), `balance` (balance transactions
//! for the go-live baseline), `bulk` (the
//! batch), `items` (item master facts: in-process cache, the shared [`item_cache`], batch
//! lookups per outbox page), `lots` (a page's unmapped lots in one batch lookup).

mod balance;
mod bulk;
mod children;
pub mod concurrency;
pub mod config;
mod interface;
pub mod item_cache;
mod items;
mod lots;
mod onhand;
mod post;
mod transport;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use chrono::NaiveDate;
use domain::ids::{DcCode, ItemNumber, LotNumber, Uom};
use domain::ports::{FusionError, FusionInventory, FusionLot, Landed, OnhandRow, PostReceipt, StagedLine};
use domain::txn::{ItemInfo, SourceRef, StagedPost};
use serde::Serialize;

pub use balance::{BalanceFailure, BalanceLine, BalanceOutcome};
pub use bulk::{BatchOperation, BatchPart, BatchPartResult, BatchResponse};
pub use config::{Credentials, FusionConfig, LookupKey, TransactionMode, TransferSign, MAX_PAGE_SIZE, REST_PATH};
pub use onhand::OnhandPage;
pub use transport::gzip_body;

use transport::{Req, Transport, JSON};
use wire::{parse, q, Collection, ItemLotWire};

/// A snapshot of [`HttpFusionClient::concurrency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrencyState {
    /// Requests allowed in flight now.
    pub limit: usize,
    /// 429 and 503 answers seen.
    pub refused: u64,
    /// Other HTTP answers seen.
    pub answered: u64,
}

/// The Fusion REST client. Build it once per process (Lambda init) and share it: clones are
/// cheap and share the connection pool, the in-flight bound, the OAuth2 token and the item
/// cache. `Debug` never shows credentials.
#[derive(Clone)]
pub struct HttpFusionClient {
    inner: Arc<Inner>,
}

struct Inner {
    t: Transport,
    items: Mutex<HashMap<(DcCode, ItemNumber), (ItemInfo, Instant)>>,
    unknown_items: Mutex<HashMap<(DcCode, ItemNumber), Instant>>,
    shared_items: OnceLock<Arc<dyn item_cache::SharedItemCache>>,
    lots: Mutex<HashMap<lots::LotKey, (Option<FusionLot>, Instant)>>,
    uoms: Mutex<HashMap<Uom, (u32, Instant)>>,
    /// One gate per unit of measure being looked up, so concurrent lookups of one unit make
    /// one request.
    uom_gates: Mutex<HashMap<Uom, Arc<tokio::sync::Mutex<()>>>>,
    uom_warned: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for HttpFusionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFusionClient")
            .field("transport", &self.inner.t)
            .finish()
    }
}

impl HttpFusionClient {
    /// A client with its own connection pool, built from `config`. Refuses a configuration
    /// whose URLs would carry credentials in clear text ([`FusionConfig::check_urls`]).
    pub fn new(config: FusionConfig) -> Result<Self, FusionError> {
        config.check_urls()?;
        let http = Transport::build_http(&config)?;
        Ok(Self::with_http_client(config, http))
    }

    /// A client over an existing reqwest client (to share one pool with other adapters).
    /// Per-request timeouts still come from `config`.
    pub fn with_http_client(config: FusionConfig, http: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                t: Transport::new(config, http),
                items: Mutex::new(HashMap::new()),
                unknown_items: Mutex::new(HashMap::new()),
                shared_items: OnceLock::new(),
                lots: Mutex::new(HashMap::new()),
                uoms: Mutex::new(HashMap::new()),
                uom_gates: Mutex::new(HashMap::new()),
                uom_warned: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// [`FusionConfig::from_env`] then [`Self::new`].
    pub fn from_env() -> Result<Self, FusionError> {
        Self::new(FusionConfig::from_env()?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &FusionConfig {
        &self.inner.t.cfg
    }

    /// The in-flight bound now: requests allowed in flight, and the refusals (429/503) and other
    /// answers it has learned from since the client was built.
    pub fn concurrency(&self) -> ConcurrencyState {
        let (limit, refused, answered) = self.inner.t.concurrency();
        ConcurrencyState {
            limit,
            refused,
            answered,
        }
    }

    /// The REST base URL requests go to.
    pub fn api_base(&self) -> &str {
        self.inner.t.api_base()
    }

    /// Whether Fusion rejected the current credentials (401 after a token refresh) and the
    /// client is holding off; see [`FusionConfig::auth_rejection_hold`].
    pub fn credentials_rejected(&self) -> bool {
        self.inner.t.credentials_rejected()
    }

    /// Switches to `creds` (a re-read secret); the next request proves them.
    pub async fn replace_credentials(&self, creds: Credentials) {
        self.inner.t.replace_credentials(creds).await;
    }

    /// Forgets item master and UOM facts cached in this process (not the shared cache).
    pub fn clear_item_cache(&self) {
        self.inner.items.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.inner
            .unknown_items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.inner.uoms.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    fn t(&self) -> &Transport {
        &self.inner.t
    }

    async fn get_json(&self, path: &str, query: Vec<(String, String)>) -> Result<Vec<u8>, FusionError> {
        self.t()
            .call(&Req::get(path, query))
            .await
            .map(|r| r.body)
            .map_err(|e| e.error)
    }

    /// The lot `lot` of `item` in `dc`, if Fusion has it (from a prefetch or creation of the
    /// last minute when there was one, see `lots`).
    pub async fn lot(&self, dc: &DcCode, item: &ItemNumber, lot: &LotNumber) -> Result<Option<FusionLot>, FusionError> {
        if let Some(known) = self.remembered_lot(&(dc.clone(), item.clone(), lot.clone())) {
            return Ok(known);
        }
        self.lookup_lot(dc, item, lot).await
    }

    async fn lookup_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
    ) -> Result<Option<FusionLot>, FusionError> {
        let body = self
            .get_json(
                "inventoryItemLots",
                vec![
                    (
                        "q".into(),
                        q(&[
                            ("OrganizationCode", dc.as_str()),
                            ("ItemNumber", item.as_str()),
                            ("LotNumber", lot.as_str()),
                        ]),
                    ),
                    ("onlyData".into(), "true".into()),
                ],
            )
            .await?;
        let page: Collection<ItemLotWire> = parse(&body, "inventoryItemLots")?;
        let Some(row) = page.items.into_iter().find(|r| r.lot_number == lot.as_str()) else {
            return Ok(None);
        };
        Ok(Some(FusionLot {
            number: lot.clone(),
            expiration: wire::date_of(row.expiration_date.as_deref())?,
        }))
    }

    /// Creates a lot. A retry after an ambiguous failure first looks the lot up and succeeds
    /// if it is there. A created lot is remembered as existing; a refusal forgets what was
    /// remembered about it.
    pub async fn create_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
        expiration: Option<NaiveDate>,
    ) -> Result<(), FusionError> {
        let key = (dc.clone(), item.clone(), lot.clone());
        let created = self.post_lot(dc, item, lot, expiration).await;
        match &created {
            Ok(()) => self.remember_lot(
                key,
                Some(FusionLot {
                    number: lot.clone(),
                    expiration,
                }),
            ),
            Err(_) => self.forget_lot(&key),
        }
        created
    }

    async fn post_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
        expiration: Option<NaiveDate>,
    ) -> Result<(), FusionError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body<'a> {
            organization_code: &'a str,
            item_number: &'a str,
            lot_number: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            expiration_date: Option<String>,
        }
        let body = serde_json::to_vec(&Body {
            organization_code: dc.as_str(),
            item_number: item.as_str(),
            lot_number: lot.as_str(),
            expiration_date: expiration.map(|d| d.format("%Y-%m-%d").to_string()),
        })
        .map_err(|e| FusionError::InvalidResponse(format!("cannot encode the lot: {e}")))?;
        let req = Req::post("inventoryItemLots", body, JSON);
        let mut clock = self.t().retry_clock();
        let mut retried = false;
        loop {
            let err = match self.t().attempt(&req).await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if retried && self.lookup_lot(dc, item, lot).await.ok().flatten().is_some() {
                return Ok(());
            }
            if !domain::Retryable::is_retryable(&err.error) {
                return Err(err.error);
            }
            let Some(delay) = clock.next_delay(&err) else {
                return Err(err.error);
            };
            tokio::time::sleep(delay).await;
            if self.lookup_lot(dc, item, lot).await?.is_some() {
                return Ok(());
            }
            retried = true;
        }
    }
}

impl FusionInventory for HttpFusionClient {
    async fn item_info(&self, dc: &DcCode, item: &ItemNumber) -> Result<ItemInfo, FusionError> {
        HttpFusionClient::item_info(self, dc, item).await
    }

    async fn prefetch_items(&self, dc: &DcCode, items: &[ItemNumber]) -> Result<(), FusionError> {
        HttpFusionClient::prefetch_items(self, dc, items).await
    }

    async fn prefetch_units(&self, uoms: &[Uom]) -> Result<(), FusionError> {
        HttpFusionClient::prefetch_units(self, uoms).await
    }

    async fn lot(&self, dc: &DcCode, item: &ItemNumber, lot: &LotNumber) -> Result<Option<FusionLot>, FusionError> {
        HttpFusionClient::lot(self, dc, item, lot).await
    }

    async fn prefetch_lots(&self, dc: &DcCode, lots: &[(ItemNumber, LotNumber)]) -> Result<(), FusionError> {
        HttpFusionClient::prefetch_lots(self, dc, lots).await
    }

    async fn create_lot(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        lot: &LotNumber,
        expiration: Option<NaiveDate>,
    ) -> Result<(), FusionError> {
        HttpFusionClient::create_lot(self, dc, item, lot, expiration).await
    }

    async fn post(&self, post: &StagedPost) -> Result<PostReceipt, FusionError> {
        let result = self.post_staged(post).await;
        if let Err(FusionError::Rejected { detail, .. }) = &result {
            if items::refuses_item_as_unknown(detail, &post.item) {
                self.forget_item(&post.dc, &post.item).await;
            }
        }
        result
    }

    async fn find(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        HttpFusionClient::find(self, dc, source).await
    }

    async fn completed(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        HttpFusionClient::completed(self, dc, source).await
    }

    async fn staged(&self, dc: &DcCode) -> Result<Vec<StagedLine>, FusionError> {
        HttpFusionClient::staged(self, dc).await
    }

    async fn onhand(&self, dc: &DcCode) -> Result<Vec<OnhandRow>, FusionError> {
        HttpFusionClient::onhand(self, dc).await
    }

    async fn onhand_pages<F>(&self, dc: &DcCode, expected_rows: Option<usize>, sink: F) -> Result<(), FusionError>
    where
        F: FnMut(Vec<OnhandRow>) + Send,
    {
        let mut sink = sink;
        self.onhand_each_expecting(dc, expected_rows, |_, rows| sink(rows))
            .await
    }
}
