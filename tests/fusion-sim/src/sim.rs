//! The simulator's state machine: every Fusion resource operation as a synchronous function
//! over [`SimState`], independent of HTTP so batch parts and tests call it directly.
//!
//! Submodules, one per resource family: `onhand`, `staged`, `completed`, `process` (the
//! transaction manager), `balance`, `lookups` (items, units, lots, organizations), `batch`.
//! Expanded children follow the request's REST framework version ([`ApiRequest::framework_version`]):
//! plain arrays before v3, paged collections from v3 ([`SimState::child_value`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use sim_seed::{Control, SUBINVENTORIES};

use crate::config::ProcessReport;
use crate::rest::{
    envelope, num, page_of, parse_decimal, self_link, text_of, ApiError, ApiResult, HasMoreLies, ListParams,
    PAGED_CHILDREN_FROM,
};
use crate::state::{self, sub_index, Master, OrgState};
use crate::txn::{self, Kind, Plan, Rules, TxnRequest};

mod balance;
mod batch;
mod completed;
mod lookups;
mod onhand;
mod onhand_page;
mod process;
mod staged;

pub use process::Pick;

/// A staged (interface) row.
#[derive(Debug, Clone)]
pub struct StagedRow {
    /// TransactionInterfaceId.
    pub id: i64,
    /// The request as posted.
    pub req: TxnRequest,
    /// 1 pending, 3 error.
    pub process_flag: i64,
    /// ErrorCode after a failed run.
    pub error_code: Option<String>,
    /// ErrorExplanation after a failed run.
    pub error_explanation: Option<String>,
    /// ErrorCode shown on every `lots` child row after a failed run that concerned the lots
    /// (fact sheet §3, §6: lot errors surface per child).
    pub lot_error_code: Option<String>,
    /// When a pending Concurrent (mode 2) row is processed automatically.
    pub due: Option<Instant>,
}

/// A completed material transaction.
#[derive(Debug, Clone)]
pub struct CompletedRow {
    /// TransactionId.
    pub id: i64,
    /// TransferTransactionId (the other side of a transfer).
    pub transfer_id: Option<i64>,
    /// TransactionInterfaceId it came from, if any.
    pub interface_id: Option<i64>,
    /// Canonical type name.
    pub type_name: String,
    /// Organization index.
    pub org: usize,
    /// Item index.
    pub item: usize,
    /// SubinventoryCode.
    pub sub: String,
    /// TransferSubinventory.
    pub transfer_sub: Option<String>,
    /// Signed quantity.
    pub qty: Decimal,
    /// UOM code.
    pub uom: String,
    /// The posted request's Source*, reference, date and reason (as JSON values).
    pub source: Map<String, Value>,
    /// (lot, signed quantity, expiration).
    pub lots: Vec<(String, Decimal, NaiveDate)>,
    /// Serial numbers.
    pub serials: Vec<String>,
}

/// Settings the state machine consults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Default page size.
    pub default_limit: usize,
    /// Page size cap.
    pub max_limit: usize,
    /// Transaction rules (today, serial limit, negative on-hand).
    pub rules: Rules,
    /// How long after staging a Concurrent (mode 2) row is processed.
    pub concurrent_delay: Duration,
}

/// The whole simulated Fusion inventory.
#[derive(Debug, Clone)]
pub struct SimState {
    /// Item master.
    pub master: Master,
    /// Organizations in order.
    pub orgs: Vec<OrgState>,
    /// Interface rows by TransactionInterfaceId.
    pub staged: BTreeMap<i64, StagedRow>,
    /// Completed transactions in TransactionId order. Push through `push_completed` so the
    /// Source* index below stays whole.
    pub completed: Vec<CompletedRow>,
    /// Positions in `completed` by `SourceHeaderId` and by `TransactionReference`, so a
    /// lookup by Source* reference does not scan every completed row (the sync benchmark's
    /// hourly cycles made that scan quadratic).
    completed_index: completed::SourceIndex,
    /// Next TransactionInterfaceId.
    pub next_interface_id: i64,
    /// Next TransactionId.
    pub next_txn_id: i64,
    /// Next balance-transaction batch id.
    pub next_balance_id: i64,
    /// Balance lines applied through `inventoryBalanceTransactions`, per (organization, item,
    /// subinventory), so a test can prove none was applied twice.
    pub balance_applied: BTreeMap<(String, String, String), u64>,
    /// Items whose balance lines the processing step refuses (`INV-BAL-PROC`), as a pod's
    /// validation refuses a line it cannot take; the other lines go on.
    pub refuse_balance_items: BTreeSet<String>,
    /// Settings.
    pub settings: Settings,
    /// Due times of Concurrent rows, `(due, TransactionInterfaceId)`. Entries may be stale (row
    /// gone, already processed, or rescheduled); the processor skips those.
    pub concurrent_due: BTreeSet<(Instant, i64)>,
}

/// A resource request, after HTTP concerns are handled.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Path segments after the version (`["inventoryStagedTransactions", "123"]`).
    pub segments: Vec<String>,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
    /// Base URL including the version, for links.
    pub base: String,
    /// How `hasMore` is reported.
    pub lies: HasMoreLies,
    /// Stage an Online staged POST without processing (the 408 fault).
    pub stage_only: bool,
    /// The request's `REST-Framework-Version` (the simulator's default when the header is
    /// absent). From 3, expanded children are paged collections (fact sheet §1).
    pub framework_version: u32,
}

/// Which children an item rendering includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expand {
    /// Include the `lots` child.
    pub lots: bool,
    /// Include the `serials` child.
    pub serials: bool,
    /// `onlyData=true`: no `links`, also inside paged children.
    pub only_data: bool,
}

impl Expand {
    /// Every child, with links (single-item GETs and POST responses).
    pub const ALL: Expand = Expand {
        lots: true,
        serials: true,
        only_data: false,
    };

    /// No children and no links (for filtering on attributes).
    pub const NONE: Expand = Expand {
        lots: false,
        serials: false,
        only_data: true,
    };

    /// The children `expand` names in `p`.
    pub fn of(p: &ListParams) -> Self {
        Self {
            lots: p.expands("lots"),
            serials: p.expands("serials"),
            only_data: p.only_data,
        }
    }
}

/// A successful resource response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Body (none for 204).
    pub body: Option<Value>,
    /// A body already written as JSON bytes, sent as it is (`body` is then `None`): the
    /// on-hand pages, which are written from typed rows (see `onhand_page`).
    pub raw: Option<Vec<u8>>,
    /// `Location` header for 201.
    pub location: Option<String>,
}

impl ApiResponse {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
            raw: None,
            location: None,
        }
    }

    fn ok_raw(json: Vec<u8>) -> Self {
        Self {
            status: 200,
            body: None,
            raw: Some(json),
            location: None,
        }
    }

    /// The body as a JSON value, whichever form it was built in (`None` for 204).
    pub fn json(&self) -> Option<Value> {
        match (&self.body, &self.raw) {
            (Some(b), _) => Some(b.clone()),
            (None, Some(raw)) => serde_json::from_slice(raw).ok(),
            (None, None) => None,
        }
    }
}

/// Opaque on-hand key: looks like Fusion's UniqID hash but encodes org/item/subinventory.
fn uniq_id(org: i64, item: i64, sub: usize) -> String {
    let packed = ((org as u128) << 64) | ((item as u128) << 8) | sub as u128;
    format!(
        "00030000000EACED0005{:032X}",
        packed ^ 0x5A5A_5A5A_5A5A_5A5A_5A5A_5A5A_5A5A_5A5A
    )
}

fn parse_uniq_id(s: &str) -> Option<(i64, i64, usize)> {
    let hex = s.strip_prefix("00030000000EACED0005")?;
    let packed = u128::from_str_radix(hex, 16).ok()? ^ 0x5A5A_5A5A_5A5A_5A5A_5A5A_5A5A_5A5A_5A5A;
    Some((
        (packed >> 64) as i64,
        ((packed >> 8) & 0xFF_FFFF_FFFF_FFFF) as i64,
        (packed & 0xFF) as usize,
    ))
}

fn method_not_allowed(method: &str, resource: &str) -> ApiError {
    ApiError::new(
        405,
        "REST-405",
        format!("The method {method} is not supported for the resource {resource}."),
    )
}

fn matches(filters: &HashMap<String, String>, key: &str, v: &Value) -> bool {
    filters
        .get(key)
        .is_none_or(|want| text_of(Some(v)).is_some_and(|have| &have == want))
}

impl SimState {
    /// Builds the state from a seed catalog.
    pub fn new(catalog: &sim_seed::Catalog, settings: Settings) -> Self {
        let (master, orgs) = state::seed(catalog);
        Self {
            master,
            orgs,
            staged: BTreeMap::new(),
            completed: Vec::new(),
            completed_index: completed::SourceIndex::default(),
            next_interface_id: 300_100_000_001,
            next_txn_id: 900_100_000_001,
            next_balance_id: 500_001,
            balance_applied: BTreeMap::new(),
            refuse_balance_items: BTreeSet::new(),
            settings,
            concurrent_due: BTreeSet::new(),
        }
    }

    /// Organization index by code.
    pub fn org_index(&self, code: &str) -> Option<usize> {
        self.orgs.iter().position(|o| o.code == code)
    }

    /// The answer to a request that only reads, with the state shared: `None` when the
    /// request may change something and needs [`Self::handle`].
    pub fn handle_read(&self, r: &ApiRequest) -> Option<ApiResult<ApiResponse>> {
        match (r.segments.as_slice(), r.method.as_str()) {
            ([resource], "GET") if resource == "inventoryOnhandBalances" => Some(self.list_onhand(r)),
            _ => None,
        }
    }

    /// Dispatches one resource request.
    pub fn handle(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let seg: Vec<&str> = r.segments.iter().map(String::as_str).collect();
        let m = r.method.as_str();
        match (seg.as_slice(), m) {
            (["inventoryOnhandBalances"], "GET") => self.list_onhand(r),
            (["inventoryOnhandBalances", id], "GET") => self.get_onhand(r, id, None),
            (["inventoryOnhandBalances", id, "child", child], "GET") => self.get_onhand(r, id, Some(child)),
            (["inventoryOnhandBalances", ..], _) => Err(method_not_allowed(m, "inventoryOnhandBalances")),
            (["inventoryStagedTransactions"], "POST") => self.post_staged(r),
            (["inventoryStagedTransactions"], "GET") => self.list_staged(r),
            (["inventoryStagedTransactions", id], "GET") => {
                let row = self.staged_row(id)?;
                Ok(ApiResponse::ok(self.staged_json(row, r, Expand::ALL)))
            }
            (["inventoryStagedTransactions", id, "child", child], "GET") => self.staged_child(r, id, child),
            (["inventoryStagedTransactions", id], "DELETE") => {
                let key = self.staged_row(id)?.id;
                self.staged.remove(&key);
                Ok(ApiResponse {
                    status: 204,
                    body: None,
                    raw: None,
                    location: None,
                })
            }
            (["inventoryStagedTransactions", id], "PATCH") => self.patch_staged(r, id),
            (["inventoryStagedTransactions", ..], _) => Err(method_not_allowed(m, "inventoryStagedTransactions")),
            (["inventoryCompletedTransactions"], "GET") => self.list_completed(r),
            (["inventoryCompletedTransactions", id], "GET") => {
                let row = self.completed_row(id)?;
                Ok(ApiResponse::ok(self.completed_json(row, r, Expand::ALL)))
            }
            (["inventoryCompletedTransactions", id, "child", child], "GET") => self.completed_child(r, id, child),
            (["inventoryCompletedTransactions", ..], _) => Err(method_not_allowed(m, "inventoryCompletedTransactions")),
            (["inventoryBalanceTransactions"], "POST") => self.post_balance(r),
            (["inventoryBalanceTransactions", ..], _) => Err(ApiError::new(
                405,
                "REST-405",
                format!("The {m} operation is not supported for inventoryBalanceTransactions."),
            )),
            (["itemsV2"], "GET") => self.list_items(r),
            (["itemsV2", ..], _) => Err(method_not_allowed(m, "itemsV2")),
            (["unitsOfMeasure"], "GET") => self.list_uoms(r),
            (["unitsOfMeasure", code], "GET") => self.get_uom(code),
            (["inventoryItemLots"], "GET") => self.list_lots(r),
            (["inventoryItemLots"], "POST") => self.post_lot(r),
            (["inventoryItemLots", ..], _) => Err(method_not_allowed(m, "inventoryItemLots")),
            (["inventoryOrganizations"], "GET") => self.list_orgs(r),
            _ => Err(ApiError::not_found(format!(
                "The requested resource {} doesn't exist.",
                r.segments.join("/")
            ))),
        }
    }

    fn params(&self, r: &ApiRequest) -> ApiResult<ListParams> {
        ListParams::parse(&r.query, self.settings.default_limit, self.settings.max_limit)
    }

    /// An expanded child as the request's framework version shows it: before v3 a plain array
    /// of every row; from v3 a collection of the first `default_limit` rows with `count`,
    /// `hasMore`, `limit`, `offset` and a self link to the child resource `href`, which pages
    /// the rest (fact sheet §1: "v3 returns expanded children as collections with hasMore").
    /// Unsure (fact sheet §1): whether the nested page size is the collection default (25) or
    /// the parent's `limit`; the simulator uses the default, and `hasMore` is always truthful.
    pub fn child_value(&self, rows: Vec<Value>, r: &ApiRequest, only_data: bool, href: String) -> Value {
        if r.framework_version < PAGED_CHILDREN_FROM {
            return Value::Array(rows);
        }
        let p = ListParams {
            limit: self.settings.default_limit,
            only_data,
            ..ListParams::default()
        };
        let (page, total) = page_of(rows, &p);
        envelope(page, total, &p, &href, HasMoreLies::None)
    }

    /// A child resource (`GET …/{id}/child/{name}`): all `rows` paged with the request's
    /// `limit` / `offset`, whatever the framework version.
    fn child_collection(&self, r: &ApiRequest, rows: Vec<Value>, href: &str) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let (page, total) = page_of(rows, &p);
        Ok(ApiResponse::ok(envelope(page, total, &p, href, r.lies)))
    }
}
