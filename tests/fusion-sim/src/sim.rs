//! The simulator's state machine: every Fusion resource operation as a synchronous function
//! over [`SimState`], independent of HTTP so batch parts and tests call it directly.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use sim_seed::{Control, SUBINVENTORIES};

use crate::config::ProcessReport;
use crate::rest::{
    envelope, num, page_of, parse_decimal, self_link, text_of, ApiError, ApiResult, HasMoreLies, ListParams,
};
use crate::state::{self, sub_index, Master, OrgState, UOMS};
use crate::txn::{self, Kind, Plan, Rules, TxnRequest};

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
    /// Completed transactions in TransactionId order.
    pub completed: Vec<CompletedRow>,
    /// Next TransactionInterfaceId.
    pub next_interface_id: i64,
    /// Next TransactionId.
    pub next_txn_id: i64,
    /// Next balance-transaction batch id.
    pub next_balance_id: i64,
    /// Settings.
    pub settings: Settings,
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
}

/// A successful resource response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Body (none for 204).
    pub body: Option<Value>,
    /// `Location` header for 201.
    pub location: Option<String>,
}

impl ApiResponse {
    fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
            location: None,
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
            next_interface_id: 300_100_000_001,
            next_txn_id: 900_100_000_001,
            next_balance_id: 500_001,
            settings,
        }
    }

    /// Organization index by code.
    pub fn org_index(&self, code: &str) -> Option<usize> {
        self.orgs.iter().position(|o| o.code == code)
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
                Ok(ApiResponse::ok(self.staged_json(row, &r.base, true)))
            }
            (["inventoryStagedTransactions", id], "DELETE") => {
                let key = self.staged_row(id)?.id;
                self.staged.remove(&key);
                Ok(ApiResponse {
                    status: 204,
                    body: None,
                    location: None,
                })
            }
            (["inventoryStagedTransactions", id], "PATCH") => self.patch_staged(r, id),
            (["inventoryStagedTransactions", ..], _) => Err(method_not_allowed(m, "inventoryStagedTransactions")),
            (["inventoryCompletedTransactions"], "GET") => self.list_completed(r),
            (["inventoryCompletedTransactions", id], "GET") => {
                let id: i64 = id
                    .parse()
                    .map_err(|_| ApiError::not_found(format!("No transaction {id}.")))?;
                let row = self
                    .completed
                    .iter()
                    .find(|c| c.id == id)
                    .ok_or_else(|| ApiError::not_found(format!("No transaction {id}.")))?;
                Ok(ApiResponse::ok(self.completed_json(row, &r.base, true, true, true)))
            }
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

    fn onhand_json(&self, org: usize, item: usize, sub: usize, p: &ListParams, base: &str) -> Value {
        let o = &self.orgs[org];
        let it = &self.master.items[item];
        let bal = o.bal(item, sub);
        let mut m = Map::new();
        m.insert("OrganizationId".into(), json!(o.id));
        m.insert("OrganizationCode".into(), json!(o.code));
        m.insert("InventoryItemId".into(), json!(it.id));
        m.insert("ItemNumber".into(), json!(it.number));
        m.insert("SubinventoryCode".into(), json!(SUBINVENTORIES[sub]));
        m.insert("PrimaryUOMCode".into(), json!(it.uom));
        // Unsure (fusion-rest.md §2, L): the quantity attribute name is PrimaryQuantity per
        // third-party code only.
        m.insert("PrimaryQuantity".into(), num(bal.map_or(Decimal::ZERO, |b| b.qty)));
        if p.expands("lots") {
            m.insert("lots".into(), self.onhand_lots(org, item, sub));
        }
        if p.expands("serials") {
            m.insert("serials".into(), self.onhand_serials(org, item, sub));
        }
        if !p.only_data {
            m.insert(
                "links".into(),
                self_link(
                    format!("{base}/inventoryOnhandBalances/{}", uniq_id(o.id, it.id, sub)),
                    "inventoryOnhandBalances",
                ),
            );
        }
        Value::Object(m)
    }

    fn onhand_lots(&self, org: usize, item: usize, sub: usize) -> Value {
        let o = &self.orgs[org];
        let lots = o.bal(item, sub).map(|b| &b.lots);
        Value::Array(
            lots.into_iter()
                .flatten()
                .map(|(lot, q)| {
                    let exp = o.lots.get(&(item as u32, lot.clone()));
                    json!({
                        "LotNumber": lot,
                        "ExpirationDate": exp.map(|d| d.format("%Y-%m-%d").to_string()),
                        "PrimaryQuantity": num(*q),
                    })
                })
                .collect(),
        )
    }

    fn onhand_serials(&self, org: usize, item: usize, sub: usize) -> Value {
        let serials = self.orgs[org].bal(item, sub).map(|b| &b.serials);
        Value::Array(
            serials
                .into_iter()
                .flatten()
                .map(|s| json!({"SerialNumber": s}))
                .collect(),
        )
    }

    fn list_onhand(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "OrganizationCode",
            "OrganizationId",
            "ItemNumber",
            "InventoryItemId",
            "SubinventoryCode",
        ])?;
        let href = format!("{}/inventoryOnhandBalances", r.base);
        let orgs: Vec<usize> = (0..self.orgs.len())
            .filter(|&i| {
                f.get("OrganizationCode").is_none_or(|c| &self.orgs[i].code == c)
                    && f.get("OrganizationId")
                        .is_none_or(|c| self.orgs[i].id.to_string() == *c)
            })
            .collect();
        let sub = match f.get("SubinventoryCode") {
            None => None,
            Some(code) => match sub_index(code) {
                Some(s) => Some(s),
                None => return Ok(ApiResponse::ok(envelope(Vec::new(), 0, &p, &href, r.lies))),
            },
        };
        let item = match (f.get("ItemNumber"), f.get("InventoryItemId")) {
            (None, None) => None,
            (n, id) => {
                let found =
                    self.master.items.iter().position(|it| {
                        n.is_none_or(|n| &it.number == n) && id.is_none_or(|id| it.id.to_string() == *id)
                    });
                match found {
                    Some(i) => Some(i),
                    None => return Ok(ApiResponse::ok(envelope(Vec::new(), 0, &p, &href, r.lies))),
                }
            }
        };
        let mut rows = Vec::new();
        let mut total = 0usize;
        for &o in &orgs {
            let org = &self.orgs[o];
            if let Some(item) = item {
                for s in 0..state::SUBS {
                    if sub.is_some_and(|w| w != s) || org.bal(item, s).is_none() {
                        continue;
                    }
                    if total >= p.offset && rows.len() < p.limit {
                        rows.push(self.onhand_json(o, item, s, &p, &r.base));
                    }
                    total += 1;
                }
                continue;
            }
            let n = org.row_count(sub);
            let start = p.offset.saturating_sub(total);
            let want = p.limit - rows.len();
            if start < n && want > 0 {
                for rr in org.page(sub, start, want) {
                    rows.push(self.onhand_json(o, rr.item, rr.sub, &p, &r.base));
                }
            }
            total += n;
        }
        Ok(ApiResponse::ok(envelope(rows, total, &p, &href, r.lies)))
    }

    fn get_onhand(&self, r: &ApiRequest, id: &str, child: Option<&str>) -> ApiResult<ApiResponse> {
        let nf = || ApiError::not_found(format!("The on-hand balance {id} doesn't exist."));
        let (org_id, item_id, sub) = parse_uniq_id(id).ok_or_else(nf)?;
        let org = self.orgs.iter().position(|o| o.id == org_id).ok_or_else(nf)?;
        let item = self.master.items.iter().position(|i| i.id == item_id).ok_or_else(nf)?;
        if sub >= state::SUBS || self.orgs[org].bal(item, sub).is_none() {
            return Err(nf());
        }
        let p = self.params(r)?;
        match child {
            None => Ok(ApiResponse::ok(self.onhand_json(org, item, sub, &p, &r.base))),
            Some(c) => {
                let rows = match c {
                    "lots" => self.onhand_lots(org, item, sub),
                    "serials" => self.onhand_serials(org, item, sub),
                    _ => return Err(ApiError::not_found(format!("No child {c}."))),
                };
                let rows = rows.as_array().cloned().unwrap_or_default();
                let (page, total) = page_of(rows, &p);
                Ok(ApiResponse::ok(envelope(
                    page,
                    total,
                    &p,
                    &format!("{}/inventoryOnhandBalances/{id}/child/{c}", r.base),
                    r.lies,
                )))
            }
        }
    }

    fn staged_row(&self, id: &str) -> ApiResult<&StagedRow> {
        id.parse::<i64>()
            .ok()
            .and_then(|k| self.staged.get(&k))
            .ok_or_else(|| ApiError::not_found(format!("The staged transaction {id} doesn't exist.")))
    }

    fn staged_json(&self, row: &StagedRow, base: &str, children: bool) -> Value {
        let mut m = Map::new();
        m.insert("TransactionInterfaceId".into(), json!(row.id));
        row.req.attrs(&mut m);
        if let Some(o) = self.org_index(&row.req.org) {
            m.insert("OrganizationId".into(), json!(self.orgs[o].id));
        }
        if let Some(&i) = self.master.by_number.get(&row.req.item) {
            m.insert("InventoryItemId".into(), json!(self.master.items[i as usize].id));
        }
        // Unsure (fusion-rest.md §3, M): the REST names of the process flag and error fields
        // come from working client code, not an Oracle page.
        m.insert("ProcessFlag".into(), json!(row.process_flag));
        m.insert("ErrorCode".into(), json!(row.error_code));
        m.insert("ErrorExplanation".into(), json!(row.error_explanation));
        if children {
            m.insert(
                "lots".into(),
                Value::Array(
                    row.req
                        .lots
                        .iter()
                        .map(|l| {
                            json!({
                                "LotNumber": l.lot,
                                "TransactionQuantity": num(l.qty),
                                "LotExpirationDate": l.expiration.map(|d| d.format("%Y-%m-%d").to_string()),
                            })
                        })
                        .collect(),
                ),
            );
            m.insert(
                "serials".into(),
                Value::Array(
                    row.req
                        .serials
                        .iter()
                        .map(|s| json!({"FmSerialNumber": s, "ToSerialNumber": s}))
                        .collect(),
                ),
            );
        }
        m.insert(
            "links".into(),
            self_link(
                format!("{base}/inventoryStagedTransactions/{}", row.id),
                "inventoryStagedTransactions",
            ),
        );
        Value::Object(m)
    }

    fn post_staged(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let body = r
            .body
            .as_ref()
            .ok_or_else(|| ApiError::bad("REST-400", "A request body is required."))?;
        let req = TxnRequest::parse(body, self.settings.rules.max_serials)?;
        let id = self.next_interface_id;
        let location = format!("{}/inventoryStagedTransactions/{id}", r.base);
        if req.mode == 1 && !r.stage_only {
            let plan = txn::validate(&self.master, &self.orgs, &req, self.settings.rules)?;
            self.next_interface_id += 1;
            self.complete(&plan, &req, Some(id));
            let row = StagedRow {
                id,
                req,
                process_flag: 7,
                error_code: None,
                error_explanation: None,
            };
            let mut body = self.staged_json(&row, &r.base, true);
            if let Some(m) = body.as_object_mut() {
                // Unsure (fusion-rest.md §3): the response of a processed Online row is not
                // documented; the simulator answers ProcessFlag null, as the row has left the
                // interface (GET on Location answers 404).
                m.insert("ProcessFlag".into(), Value::Null);
            }
            return Ok(ApiResponse {
                status: 201,
                body: Some(body),
                location: Some(location),
            });
        }
        self.next_interface_id += 1;
        let row = StagedRow {
            id,
            req,
            process_flag: 1,
            error_code: None,
            error_explanation: None,
        };
        let body = self.staged_json(&row, &r.base, true);
        self.staged.insert(id, row);
        if r.stage_only {
            return Err(ApiError::new(
                408,
                "INV-1408",
                format!("The online transaction {id} could not finish in time; it remains in the interface for background processing."),
            ));
        }
        Ok(ApiResponse {
            status: 201,
            body: Some(body),
            location: Some(location),
        })
    }

    fn patch_staged(&mut self, r: &ApiRequest, id: &str) -> ApiResult<ApiResponse> {
        let key = self.staged_row(id)?.id;
        let patch = r.body.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
        let mut merged = Map::new();
        if let Some(row) = self.staged.get(&key) {
            let v = self.staged_json(row, &r.base, true);
            if let Value::Object(m) = v {
                merged = m;
            }
        }
        for (k, v) in &patch {
            merged.insert(k.clone(), v.clone());
        }
        let req = TxnRequest::parse(&Value::Object(merged), self.settings.rules.max_serials)?;
        if let Some(row) = self.staged.get_mut(&key) {
            row.req = req;
            if patch.contains_key("ProcessFlag") || row.process_flag == 3 {
                row.process_flag = 1;
                row.error_code = None;
                row.error_explanation = None;
            }
        }
        let row = self.staged_row(id)?;
        Ok(ApiResponse::ok(self.staged_json(row, &r.base, true)))
    }

    fn list_staged(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "SourceCode",
            "SourceHeaderId",
            "SourceLineId",
            "TransactionReference",
            "OrganizationCode",
            "ProcessFlag",
            "ItemNumber",
            "TransactionInterfaceId",
        ])?;
        let rows: Vec<Value> = self
            .staged
            .values()
            .map(|row| self.staged_json(row, &r.base, p.expands("lots") || p.expands("serials")))
            .filter(|v| f.keys().all(|k| matches(&f, k, &v[k.as_str()])))
            .collect();
        let (page, total) = page_of(rows, &p);
        let page = page.into_iter().map(|v| strip(v, &p)).collect();
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryStagedTransactions", r.base),
            r.lies,
        )))
    }

    fn completed_json(&self, c: &CompletedRow, base: &str, lots: bool, serials: bool, links: bool) -> Value {
        let mut m = Map::new();
        m.insert("TransactionId".into(), json!(c.id));
        m.insert("TransactionTypeName".into(), json!(c.type_name));
        m.insert("OrganizationId".into(), json!(self.orgs[c.org].id));
        m.insert("OrganizationCode".into(), json!(self.orgs[c.org].code));
        m.insert("InventoryItemId".into(), json!(self.master.items[c.item].id));
        m.insert("ItemNumber".into(), json!(self.master.items[c.item].number));
        m.insert("SubinventoryCode".into(), json!(c.sub));
        m.insert("TransferSubinventory".into(), json!(c.transfer_sub));
        m.insert("TransactionQuantity".into(), num(c.qty));
        m.insert("TransactionUnitOfMeasure".into(), json!(c.uom));
        m.insert("TransferTransactionId".into(), json!(c.transfer_id));
        m.insert("TransactionInterfaceId".into(), json!(c.interface_id));
        for (k, v) in &c.source {
            m.insert(k.clone(), v.clone());
        }
        if lots {
            m.insert(
                "lots".into(),
                Value::Array(
                    c.lots
                        .iter()
                        .map(|(l, q, e)| json!({"LotNumber": l, "TransactionQuantity": num(*q), "LotExpirationDate": e.format("%Y-%m-%d").to_string()}))
                        .collect(),
                ),
            );
        }
        if serials {
            m.insert(
                "serials".into(),
                Value::Array(
                    c.serials
                        .iter()
                        .map(|s| json!({"SerialNumber": s, "FmSerialNumber": s, "ToSerialNumber": s}))
                        .collect(),
                ),
            );
        }
        if links {
            m.insert(
                "links".into(),
                self_link(
                    format!("{base}/inventoryCompletedTransactions/{}", c.id),
                    "inventoryCompletedTransactions",
                ),
            );
        }
        Value::Object(m)
    }

    fn list_completed(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "SourceCode",
            "SourceHeaderId",
            "SourceLineId",
            "TransactionReference",
            "OrganizationCode",
            "ItemNumber",
            "TransactionId",
            "TransactionTypeName",
            "SubinventoryCode",
        ])?;
        let mut total = 0usize;
        let mut page = Vec::new();
        for c in &self.completed {
            let v = self.completed_json(c, &r.base, p.expands("lots"), p.expands("serials"), !p.only_data);
            if f.keys().all(|k| matches(&f, k, &v[k.as_str()])) {
                if total >= p.offset && page.len() < p.limit {
                    page.push(v);
                }
                total += 1;
            }
        }
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryCompletedTransactions", r.base),
            r.lies,
        )))
    }

    /// Applies a validated plan and records the completed row(s).
    fn complete(&mut self, plan: &Plan, req: &TxnRequest, interface_id: Option<i64>) {
        txn::apply(&mut self.orgs[plan.org], plan);
        let mut source = Map::new();
        for (k, v) in [
            ("TransactionDate", &req.date),
            ("SourceCode", &req.source_code),
            ("SourceHeaderId", &req.source_header_id),
            ("SourceLineId", &req.source_line_id),
            ("TransactionReference", &req.reference),
            ("ReasonName", &req.reason),
        ] {
            source.insert(k.into(), v.clone());
        }
        let sign = |neg: bool| if neg { -Decimal::ONE } else { Decimal::ONE };
        let mk = |s: &mut Self, sub: usize, other: Option<usize>, neg: bool| {
            let id = s.next_txn_id;
            s.next_txn_id += 1;
            CompletedRow {
                id,
                transfer_id: None,
                interface_id,
                type_name: plan.type_name.to_string(),
                org: plan.org,
                item: plan.item,
                sub: SUBINVENTORIES[sub].to_string(),
                transfer_sub: other.map(|o| SUBINVENTORIES[o].to_string()),
                qty: plan.qty * sign(neg),
                uom: req.uom.clone(),
                source: source.clone(),
                lots: plan
                    .lots
                    .iter()
                    .map(|(l, q, e)| (l.clone(), *q * sign(neg), *e))
                    .collect(),
                serials: plan.serials.clone(),
            }
        };
        match plan.kind {
            Kind::Receipt => {
                let row = mk(self, plan.sub, None, false);
                self.completed.push(row);
            }
            Kind::Issue => {
                let row = mk(self, plan.sub, None, true);
                self.completed.push(row);
            }
            Kind::Transfer => {
                let to = plan.to_sub.unwrap_or(plan.sub);
                let mut debit = mk(self, plan.sub, Some(to), true);
                let mut credit = mk(self, to, Some(plan.sub), false);
                debit.transfer_id = Some(credit.id);
                credit.transfer_id = Some(debit.id);
                self.completed.push(debit);
                self.completed.push(credit);
            }
        }
    }

    /// Runs the transaction manager over pending (ProcessFlag 1) rows in id order.
    pub fn process_staged(&mut self) -> ProcessReport {
        let mut report = ProcessReport::default();
        let pending: Vec<i64> = self
            .staged
            .values()
            .filter(|r| r.process_flag == 1)
            .map(|r| r.id)
            .collect();
        for id in pending {
            let Some(row) = self.staged.get(&id).cloned() else {
                continue;
            };
            match txn::validate(&self.master, &self.orgs, &row.req, self.settings.rules) {
                Ok(plan) => {
                    self.complete(&plan, &row.req, Some(id));
                    self.staged.remove(&id);
                    report.processed += 1;
                }
                Err(e) => {
                    if let Some(r) = self.staged.get_mut(&id) {
                        r.process_flag = 3;
                        r.error_code = Some(e.code);
                        r.error_explanation = Some(e.detail);
                    }
                    report.failed += 1;
                }
            }
        }
        report
    }

    fn post_balance(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let body = r
            .body
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::bad("REST-400", "A request body is required."))?;
        let org_code = text_of(body.get("OrganizationCode")).unwrap_or_default();
        let org = self.org_index(&org_code).ok_or_else(|| {
            ApiError::bad("INV-1001", format!("The organization {org_code} doesn't exist.")).at("OrganizationCode")
        })?;
        let submit = text_of(body.get("SubmitForProcessing"))
            .is_none_or(|s| s.eq_ignore_ascii_case("yes") || s.eq_ignore_ascii_case("y"));
        let lines = body
            .get("transactionLines")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let (mut ok, mut failed) = (0usize, 0usize);
        let mut out_lines = Vec::new();
        for line in &lines {
            let res = self.balance_line(org, line, submit, body);
            let mut l = line.as_object().cloned().unwrap_or_default();
            match res {
                Ok(()) => {
                    ok += 1;
                    l.insert("ReturnStatus".into(), json!("SUCCESS"));
                }
                Err(e) => {
                    failed += 1;
                    l.insert("ReturnStatus".into(), json!("FAILURE"));
                    l.insert("ErrorCode".into(), json!(e.code));
                    l.insert("ErrorMessage".into(), json!(e.detail));
                }
            }
            out_lines.push(Value::Object(l));
        }
        let id = self.next_balance_id;
        self.next_balance_id += 1;
        let mut resp = body.clone();
        // Unsure (fusion-rest.md §3): per-line outcome fields are not documented; failed lines do
        // not block the others, and ReturnStatus is FAILURE when any line failed.
        resp.insert("BalanceTransactionId".into(), json!(id));
        resp.insert(
            "ReturnStatus".into(),
            json!(if failed == 0 { "SUCCESS" } else { "FAILURE" }),
        );
        resp.insert(
            "ReturnMessageCode".into(),
            json!(if failed == 0 {
                "INV_BAL_SYNC_SUCCESS"
            } else {
                "INV_BAL_SYNC_ERRORS"
            }),
        );
        resp.insert(
            "ReturnMessageText".into(),
            json!(if failed == 0 {
                format!("{ok} balance records processed successfully.")
            } else {
                format!("{failed} of {} balance records failed.", lines.len())
            }),
        );
        resp.insert("TotalRecordsCount".into(), json!(lines.len()));
        resp.insert("SuccessRecordsCount".into(), json!(ok));
        resp.insert("FailedRecordsCount".into(), json!(failed));
        resp.insert("transactionLines".into(), Value::Array(out_lines));
        Ok(ApiResponse {
            status: 201,
            body: Some(Value::Object(resp)),
            location: Some(format!("{}/inventoryBalanceTransactions/{id}", r.base)),
        })
    }

    fn balance_line(&mut self, org: usize, line: &Value, apply: bool, header: &Map<String, Value>) -> ApiResult<()> {
        let l = line.as_object().cloned().unwrap_or_default();
        let org_code = self.orgs[org].code.clone();
        let item_number = text_of(l.get("ItemNumber")).unwrap_or_default();
        let (_, item) = txn::resolve_item(&self.master, &self.orgs, &org_code, &item_number)?;
        let it = self.master.items[item].clone();
        let sub_code = text_of(l.get("SubinventoryCode")).unwrap_or_default();
        let sub = sub_index(&sub_code).ok_or_else(|| {
            ApiError::bad(
                "INV-1004",
                format!("The subinventory {sub_code} doesn't exist in organization {org_code}."),
            )
        })?;
        let qty = l
            .get("Quantity")
            .and_then(parse_decimal)
            .ok_or_else(|| ApiError::bad("INV-1032", "Quantity is required and must be a number."))?;
        if let Some(u) = text_of(l.get("UOMCode")) {
            if u != it.uom {
                return Err(ApiError::bad(
                    "INV-1009",
                    format!(
                        "The unit of measure {u} isn't the primary unit of measure {} of item {}.",
                        it.uom, it.number
                    ),
                ));
            }
        }
        if qty.is_sign_negative() && !qty.is_zero() {
            return Err(ApiError::bad("INV-1007", "A balance quantity can't be negative."));
        }
        if qty.normalize().scale() > it.scale {
            return Err(ApiError::bad(
                "INV-1008",
                format!(
                    "The quantity {qty} has more decimal places than the {} allowed for unit of measure {}.",
                    it.scale, it.uom
                ),
            ));
        }
        let lots_in = l.get("itemLots").and_then(Value::as_array).cloned().unwrap_or_default();
        let serials_in = l
            .get("itemSerials")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut lots: Vec<(String, Decimal, NaiveDate)> = Vec::new();
        let o = &self.orgs[org];
        match it.control {
            Control::Lot => {
                if lots_in.is_empty() && !qty.is_zero() {
                    return Err(ApiError::bad(
                        "INV-1010",
                        format!("The item {} is lot controlled: itemLots are required.", it.number),
                    ));
                }
                for lv in &lots_in {
                    let lot = text_of(lv.get("LotNumber")).unwrap_or_default();
                    let q = lv
                        .get("Quantity")
                        .and_then(parse_decimal)
                        .ok_or_else(|| ApiError::bad("INV-1032", format!("The lot {lot} has no Quantity.")))?;
                    let exp = match (
                        o.lots.get(&(item as u32, lot.clone())),
                        lv.get("ExpirationDate").and_then(|v| text_of(Some(v))),
                    ) {
                        (Some(e), _) => *e,
                        (None, Some(s)) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d")
                            .map_err(|_| ApiError::bad("INV-1030", format!("The expiration date {s} isn't valid.")))?,
                        (None, None) => {
                            return Err(ApiError::bad(
                                "INV-1024",
                                format!("The new lot {lot} requires ExpirationDate."),
                            ))
                        }
                    };
                    lots.push((lot, q, exp));
                }
                let sum: Decimal = lots.iter().map(|x| x.1).sum();
                if sum != qty {
                    return Err(ApiError::bad(
                        "INV-1012",
                        format!("The lot quantities total {sum}, not the quantity {qty}."),
                    ));
                }
            }
            _ if !lots_in.is_empty() => {
                return Err(ApiError::bad(
                    "INV-1011",
                    format!("The item {} isn't lot controlled.", it.number),
                ))
            }
            _ => {}
        }
        let serials: Vec<String> = serials_in
            .iter()
            .filter_map(|s| text_of(s.get("SerialNumber")))
            .collect();
        match it.control {
            Control::Serial => {
                let set: std::collections::BTreeSet<&String> = serials.iter().collect();
                if set.len() != serials.len() {
                    return Err(ApiError::bad("INV-1017", "The serial numbers contain duplicates."));
                }
                if Decimal::from(serials.len() as u64) != qty {
                    return Err(ApiError::bad(
                        "INV-1016",
                        format!("The {} serial numbers don't match the quantity {qty}.", serials.len()),
                    ));
                }
                for s in &serials {
                    if let Some(k) =
                        (0..state::SUBS).find(|&k| k != sub && o.bal(item, k).is_some_and(|b| b.serials.contains(s)))
                    {
                        return Err(ApiError::bad(
                            "INV-1020",
                            format!(
                                "The serial number {s} is on hand in subinventory {}.",
                                SUBINVENTORIES[k]
                            ),
                        ));
                    }
                }
            }
            _ if !serials.is_empty() => {
                return Err(ApiError::bad(
                    "INV-1026",
                    format!("The item {} isn't serial controlled.", it.number),
                ))
            }
            _ => {}
        }
        if !apply {
            return Ok(());
        }
        let before = o.bal(item, sub).map_or(Decimal::ZERO, |b| b.qty);
        let org_state = &mut self.orgs[org];
        for (lot, _, exp) in &lots {
            org_state.lots.entry((item as u32, lot.clone())).or_insert(*exp);
        }
        org_state.with_bal(item, sub, |b| {
            b.qty = qty;
            b.lots = lots.iter().map(|(l, q, _)| (l.clone(), *q)).collect();
            b.serials = serials.iter().cloned().collect();
        });
        let delta = qty - before;
        if !delta.is_zero() {
            let id = self.next_txn_id;
            self.next_txn_id += 1;
            let mut source = Map::new();
            for k in [
                "SourceCode",
                "SourceHeaderId",
                "SourceLineId",
                "TransactionReference",
                "TransactionDate",
            ] {
                source.insert(
                    k.into(),
                    header.get(k).or_else(|| l.get(k)).cloned().unwrap_or(Value::Null),
                );
            }
            self.completed.push(CompletedRow {
                id,
                transfer_id: None,
                interface_id: None,
                // Unsure (fusion-rest.md §3): the adjustment's transaction type name is not
                // documented.
                type_name: "Inventory Balance Adjustment".into(),
                org,
                item,
                sub: sub_code,
                transfer_sub: None,
                qty: delta,
                uom: it.uom.clone(),
                source,
                lots: Vec::new(),
                serials: Vec::new(),
            });
        }
        Ok(())
    }

    fn list_items(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&["ItemNumber", "OrganizationCode", "InventoryItemId", "OrganizationId"])?;
        let items: Vec<usize> = match f.get("ItemNumber") {
            Some(n) => self.master.by_number.get(n).map(|&i| i as usize).into_iter().collect(),
            None => (0..self.master.items.len()).collect(),
        };
        let mut total = 0;
        let mut page = Vec::new();
        for (oi, o) in self.orgs.iter().enumerate() {
            if f.get("OrganizationCode").is_some_and(|c| c != &o.code)
                || f.get("OrganizationId").is_some_and(|c| *c != o.id.to_string())
            {
                continue;
            }
            for &i in &items {
                let it = &self.master.items[i];
                if o.unassigned.contains(&(i as u32))
                    || f.get("InventoryItemId").is_some_and(|c| *c != it.id.to_string())
                {
                    continue;
                }
                if total >= p.offset && page.len() < p.limit {
                    // Unsure (fusion-rest.md §5, L): control flag names and codes follow EBS
                    // (LotControlCode 1 none / 2 full; SerialNumberControlCode 1 none / 5 at receipt).
                    let mut m = json!({
                        "InventoryItemId": it.id,
                        "ItemNumber": it.number,
                        "OrganizationId": self.orgs[oi].id,
                        "OrganizationCode": o.code,
                        "PrimaryUOMCode": it.uom,
                        "LotControlCode": if it.control == Control::Lot { 2 } else { 1 },
                        "SerialNumberControlCode": if it.control == Control::Serial { 5 } else { 1 },
                    });
                    if !p.only_data {
                        m["links"] = self_link(format!("{}/itemsV2/{}", r.base, it.id), "itemsV2");
                    }
                    page.push(m);
                }
                total += 1;
            }
        }
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/itemsV2", r.base),
            r.lies,
        )))
    }

    fn list_uoms(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&["UOMCode", "UnitOfMeasure"])?;
        // Unsure (fusion-rest.md: not listed): the real UOM resource name and its precision
        // attribute are not confirmed; this is the simulator's stand-in.
        let rows = UOMS
            .iter()
            .map(|(c, n, d)| json!({"UOMCode": c, "UnitOfMeasure": n, "DecimalPrecision": d}))
            .filter(|v| f.keys().all(|k| matches(&f, k, &v[k.as_str()])))
            .collect();
        let (page, total) = page_of(rows, &p);
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/unitsOfMeasure", r.base),
            r.lies,
        )))
    }

    fn list_lots(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "OrganizationCode",
            "ItemNumber",
            "LotNumber",
            "OrganizationId",
            "InventoryItemId",
        ])?;
        let item = match f.get("ItemNumber") {
            Some(n) => match self.master.by_number.get(n) {
                Some(&i) => Some(i),
                None => {
                    return Ok(ApiResponse::ok(envelope(
                        Vec::new(),
                        0,
                        &p,
                        &format!("{}/inventoryItemLots", r.base),
                        r.lies,
                    )))
                }
            },
            None => None,
        };
        let mut total = 0;
        let mut page = Vec::new();
        for o in &self.orgs {
            if f.get("OrganizationCode").is_some_and(|c| c != &o.code)
                || f.get("OrganizationId").is_some_and(|c| *c != o.id.to_string())
            {
                continue;
            }
            let range: Box<dyn Iterator<Item = (&(u32, String), &NaiveDate)>> = match item {
                Some(i) => Box::new(o.lots.range((i, String::new())..(i + 1, String::new()))),
                None => Box::new(o.lots.iter()),
            };
            for ((i, lot), exp) in range {
                let it = &self.master.items[*i as usize];
                if f.get("LotNumber").is_some_and(|l| l != lot)
                    || f.get("InventoryItemId").is_some_and(|c| *c != it.id.to_string())
                {
                    continue;
                }
                if total >= p.offset && page.len() < p.limit {
                    page.push(json!({
                        "OrganizationId": o.id, "OrganizationCode": o.code, "InventoryItemId": it.id,
                        "ItemNumber": it.number, "LotNumber": lot, "ExpirationDate": exp.format("%Y-%m-%d").to_string(),
                    }));
                }
                total += 1;
            }
        }
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryItemLots", r.base),
            r.lies,
        )))
    }

    fn post_lot(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let b = r
            .body
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::bad("REST-400", "A request body is required."))?;
        let org_code = text_of(b.get("OrganizationCode")).unwrap_or_default();
        let item_number = text_of(b.get("ItemNumber")).unwrap_or_default();
        let (org, item) = txn::resolve_item(&self.master, &self.orgs, &org_code, &item_number)?;
        if self.master.items[item].control != Control::Lot {
            return Err(
                ApiError::bad("INV-1011", format!("The item {item_number} isn't lot controlled.")).at("ItemNumber"),
            );
        }
        let lot = text_of(b.get("LotNumber"))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::bad("INV-1023", "The attribute LotNumber is required.").at("LotNumber"))?;
        let exp_s = text_of(b.get("ExpirationDate")).ok_or_else(|| {
            ApiError::bad("INV-1024", "The attribute ExpirationDate is required.").at("ExpirationDate")
        })?;
        let exp = NaiveDate::parse_from_str(exp_s.get(..10).unwrap_or(&exp_s), "%Y-%m-%d").map_err(|_| {
            ApiError::bad("INV-1030", format!("The expiration date {exp_s} isn't valid.")).at("ExpirationDate")
        })?;
        let key = (item as u32, lot.clone());
        if self.orgs[org].lots.contains_key(&key) {
            return Err(ApiError::bad(
                "INV-1028",
                format!("The lot {lot} already exists for item {item_number} in organization {org_code}."),
            )
            .at("LotNumber"));
        }
        self.orgs[org].lots.insert(key, exp);
        let o = &self.orgs[org];
        Ok(ApiResponse {
            status: 201,
            body: Some(json!({
                "OrganizationId": o.id, "OrganizationCode": o.code, "InventoryItemId": self.master.items[item].id,
                "ItemNumber": item_number, "LotNumber": lot, "ExpirationDate": exp.format("%Y-%m-%d").to_string(),
            })),
            location: Some(format!(
                "{}/inventoryItemLots/{}",
                r.base,
                uniq_id(o.id, self.master.items[item].id, 0)
            )),
        })
    }

    fn list_orgs(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&["OrganizationCode", "OrganizationId"])?;
        let rows = self
            .orgs
            .iter()
            .map(|o| json!({"OrganizationId": o.id, "OrganizationCode": o.code, "OrganizationName": format!("Distribution Center {}", o.code)}))
            .filter(|v| f.keys().all(|k| matches(&f, k, &v[k.as_str()])))
            .collect();
        let (page, total) = page_of(rows, &p);
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryOrganizations", r.base),
            r.lies,
        )))
    }

    /// Runs batch parts sequentially, all-or-none: on any failure the touched state is
    /// restored and only the failing parts are returned (`Err`); otherwise every part's result.
    pub fn batch(&mut self, parts: &[Value], base: &str, lies: HasMoreLies) -> Result<Vec<Value>, Vec<Value>> {
        let saved_staged = self.staged.clone();
        let saved_completed = self.completed.len();
        let saved_ids = (self.next_interface_id, self.next_txn_id, self.next_balance_id);
        let mut saved_orgs: HashMap<usize, OrgState> = HashMap::new();
        let mut results = Vec::new();
        let mut failures = Vec::new();
        for part in parts {
            let id = part.get("id").cloned().unwrap_or(Value::Null);
            let path = text_of(part.get("path")).unwrap_or_default();
            let op = text_of(part.get("operation")).unwrap_or_default().to_ascii_lowercase();
            let method = match op.as_str() {
                "get" => "GET",
                "create" => "POST",
                "update" => "PATCH",
                "replace" => "PUT",
                "delete" => "DELETE",
                _ => "",
            };
            let payload = part.get("payload").cloned();
            if method != "GET" {
                let code = payload.as_ref().and_then(|p| text_of(p.get("OrganizationCode")));
                if let Some(o) = code.and_then(|c| self.org_index(&c)) {
                    saved_orgs.entry(o).or_insert_with(|| self.orgs[o].clone());
                }
            }
            let (path_only, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
            let rel = path_only
                .trim_start_matches('/')
                .trim_start_matches("fscmRestApi/resources/")
                .trim_start_matches("11.13.18.05/")
                .trim_start_matches("latest/");
            let req = ApiRequest {
                method: method.to_string(),
                segments: rel.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                query: crate::http::parse_query(query),
                body: payload,
                base: base.to_string(),
                lies,
                stage_only: false,
            };
            let res = if method.is_empty() {
                Err(ApiError::bad(
                    "REST-400",
                    format!("The batch operation {op} isn't valid."),
                ))
            } else {
                self.handle(&req)
            };
            match res {
                Ok(resp) => results.push(json!({"id": id, "path": path, "operation": op, "payload": resp.body})),
                Err(e) => failures
                    .push(json!({"id": id, "path": path, "operation": op, "payload": e.body(), "status": e.status})),
            }
        }
        if failures.is_empty() {
            return Ok(results);
        }
        self.staged = saved_staged;
        self.completed.truncate(saved_completed);
        (self.next_interface_id, self.next_txn_id, self.next_balance_id) = saved_ids;
        for (o, st) in saved_orgs {
            self.orgs[o] = st;
        }
        Err(failures)
    }
}

fn strip(mut v: Value, p: &ListParams) -> Value {
    if p.only_data {
        if let Some(m) = v.as_object_mut() {
            m.remove("links");
        }
    }
    v
}
