//! Inventory transactions: parsing the staged-transaction payload, validating it against the
//! state, and applying it (on-hand, lots, serials, completed-transaction rows).
//!
//! Validation is complete before anything is mutated, so a rejected transaction never changes
//! state.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use sim_seed::Control;

use crate::rest::{num, parse_decimal, parse_i64, text_of, ApiError, ApiResult};
use crate::state::{sub_index, Master, OrgState};

/// Canonical transaction type names the simulator knows.
pub const TXN_TYPES: [&str; 3] = ["Miscellaneous Receipt", "Miscellaneous Issue", "Subinventory Transfer"];

/// Transaction kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Miscellaneous Receipt (positive quantity).
    Receipt,
    /// Miscellaneous Issue (negative quantity).
    Issue,
    /// Subinventory Transfer.
    Transfer,
}

/// One lot line of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct LotLine {
    /// LotNumber.
    pub lot: String,
    /// TransactionQuantity of the lot (as sent).
    pub qty: Decimal,
    /// LotExpirationDate, if sent.
    pub expiration: Option<NaiveDate>,
}

/// A staged-transaction request as posted (kept for later processing and for GET).
#[derive(Debug, Clone, PartialEq)]
pub struct TxnRequest {
    /// OrganizationCode.
    pub org: String,
    /// ItemNumber.
    pub item: String,
    /// SubinventoryCode.
    pub sub: String,
    /// TransferSubinventory.
    pub transfer_sub: Option<String>,
    /// TransactionTypeName as sent.
    pub type_name: String,
    /// TransactionQuantity as sent.
    pub qty: Decimal,
    /// TransactionUnitOfMeasure / TransactionUOM.
    pub uom: String,
    /// TransactionDate as sent.
    pub date: Value,
    /// SourceCode.
    pub source_code: Value,
    /// SourceHeaderId.
    pub source_header_id: Value,
    /// SourceLineId.
    pub source_line_id: Value,
    /// TransactionReference.
    pub reference: Value,
    /// ReasonName.
    pub reason: Value,
    /// TransactionMode: 1 Online, 2 Concurrent, 3 Background.
    pub mode: i64,
    /// Lot lines.
    pub lots: Vec<LotLine>,
    /// Serial numbers (ranges expanded).
    pub serials: Vec<String>,
}

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

fn req_text(body: &Map<String, Value>, name: &str) -> ApiResult<String> {
    text_of(field(body, name))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad("INV-1023", format!("The attribute {name} is required.")).at(name))
}

fn parse_date(v: &Value, name: &str) -> ApiResult<NaiveDate> {
    let s = text_of(Some(v)).unwrap_or_default();
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d").map_err(|_| {
        ApiError::bad(
            "INV-1030",
            format!("The value {s} of {name} isn't a valid date (YYYY-MM-DD)."),
        )
        .at(name)
    })
}

/// Expands a `FmSerialNumber`..`ToSerialNumber` range with a shared prefix and numeric suffix.
fn expand_serials(fm: &str, to: Option<&str>, cap: usize) -> ApiResult<Vec<String>> {
    let to = match to {
        None => return Ok(vec![fm.to_string()]),
        Some(t) if t.is_empty() || t == fm => return Ok(vec![fm.to_string()]),
        Some(t) => t,
    };
    let split = |s: &str| {
        let digits = s.chars().rev().take_while(char::is_ascii_digit).count();
        let (p, d) = s.split_at(s.len() - digits);
        (p.to_string(), d.to_string())
    };
    let ((pf, df), (pt, dt)) = (split(fm), split(to));
    let bad = || ApiError::bad("INV-1031", format!("The serial range {fm} to {to} isn't valid.")).at("serials");
    if pf != pt || df.len() != dt.len() || df.is_empty() {
        return Err(bad());
    }
    let (a, b): (u64, u64) = (df.parse().map_err(|_| bad())?, dt.parse().map_err(|_| bad())?);
    if b < a {
        return Err(bad());
    }
    if (b - a) as usize >= cap {
        return Err(ApiError::bad(
            "INV-1018",
            format!("The transaction has more than the allowed {cap} serial numbers."),
        )
        .at("serials"));
    }
    let w = df.len();
    Ok((a..=b).map(|n| format!("{pf}{n:0w$}")).collect())
}

impl TxnRequest {
    /// Parses a POST body; only structural errors are reported here.
    pub fn parse(body: &Value, max_serials: usize) -> ApiResult<Self> {
        let b = body
            .as_object()
            .ok_or_else(|| ApiError::bad("REST-400", "The request body must be a JSON object."))?;
        let qty_v = field(b, "TransactionQuantity").ok_or_else(|| {
            ApiError::bad("INV-1023", "The attribute TransactionQuantity is required.").at("TransactionQuantity")
        })?;
        let qty = parse_decimal(qty_v).ok_or_else(|| {
            ApiError::bad(
                "INV-1032",
                format!("The value {qty_v} of TransactionQuantity isn't a number."),
            )
            .at("TransactionQuantity")
        })?;
        let uom = text_of(field(b, "TransactionUnitOfMeasure"))
            .or_else(|| text_of(field(b, "TransactionUOM")))
            .ok_or_else(|| {
                ApiError::bad("INV-1023", "The attribute TransactionUnitOfMeasure is required.")
                    .at("TransactionUnitOfMeasure")
            })?;
        // Unsure (fusion-rest.md §3): TransactionMode codes are "1/2/3 in practice" (M); the
        // names are accepted too. Absent means Background, the interface's batch default.
        let mode = match field(b, "TransactionMode") {
            None => 3,
            Some(v) => match parse_i64(v) {
                Some(m @ 1..=3) => m,
                _ => match text_of(Some(v)).unwrap_or_default().to_ascii_lowercase().as_str() {
                    "online" => 1,
                    "concurrent" => 2,
                    "background" => 3,
                    _ => {
                        return Err(ApiError::bad(
                            "INV-1029",
                            format!(
                            "The transaction mode {v} isn't valid. Use 1 (Online), 2 (Concurrent) or 3 (Background)."
                        ),
                        )
                        .at("TransactionMode"))
                    }
                },
            },
        };
        let mut lots = Vec::new();
        if let Some(arr) = field(b, "lots") {
            for (i, l) in arr.as_array().into_iter().flatten().enumerate() {
                let lo = l.as_object().cloned().unwrap_or_default();
                let lot = req_text(&lo, "LotNumber").map_err(|e| e.at(format!("lots/{i}/LotNumber")))?;
                let qv = field(&lo, "TransactionQuantity").ok_or_else(|| {
                    ApiError::bad("INV-1023", format!("The lot {lot} has no TransactionQuantity."))
                        .at(format!("lots/{i}/TransactionQuantity"))
                })?;
                let q = parse_decimal(qv).ok_or_else(|| {
                    ApiError::bad("INV-1032", format!("The quantity {qv} of lot {lot} isn't a number."))
                        .at(format!("lots/{i}/TransactionQuantity"))
                })?;
                let expiration = match field(&lo, "LotExpirationDate").or_else(|| field(&lo, "ExpirationDate")) {
                    Some(v) => Some(parse_date(v, "LotExpirationDate")?),
                    None => None,
                };
                lots.push(LotLine {
                    lot,
                    qty: q,
                    expiration,
                });
            }
        }
        let mut serials = Vec::new();
        if let Some(arr) = field(b, "serials") {
            for (i, s) in arr.as_array().into_iter().flatten().enumerate() {
                let so = s.as_object().cloned().unwrap_or_default();
                let fm = req_text(&so, "FmSerialNumber").map_err(|e| e.at(format!("serials/{i}/FmSerialNumber")))?;
                let to = text_of(field(&so, "ToSerialNumber"));
                serials.extend(expand_serials(&fm, to.as_deref(), max_serials)?);
            }
        }
        let get = |n: &str| field(b, n).cloned().unwrap_or(Value::Null);
        Ok(Self {
            org: req_text(b, "OrganizationCode")?,
            item: req_text(b, "ItemNumber")?,
            sub: req_text(b, "SubinventoryCode")?,
            transfer_sub: text_of(field(b, "TransferSubinventory")).filter(|s| !s.is_empty()),
            type_name: req_text(b, "TransactionTypeName")?,
            qty,
            uom,
            date: get("TransactionDate"),
            source_code: get("SourceCode"),
            source_header_id: get("SourceHeaderId"),
            source_line_id: get("SourceLineId"),
            reference: get("TransactionReference"),
            reason: get("ReasonName"),
            mode,
            lots,
            serials,
        })
    }

    /// The request as JSON attributes (used by the staged and completed rows).
    pub fn attrs(&self, m: &mut Map<String, Value>) {
        m.insert("OrganizationCode".into(), json!(self.org));
        m.insert("ItemNumber".into(), json!(self.item));
        m.insert("SubinventoryCode".into(), json!(self.sub));
        m.insert("TransferSubinventory".into(), json!(self.transfer_sub));
        m.insert("TransactionTypeName".into(), json!(self.type_name));
        m.insert("TransactionQuantity".into(), num(self.qty));
        m.insert("TransactionUnitOfMeasure".into(), json!(self.uom));
        m.insert("TransactionDate".into(), self.date.clone());
        m.insert("SourceCode".into(), self.source_code.clone());
        m.insert("SourceHeaderId".into(), self.source_header_id.clone());
        m.insert("SourceLineId".into(), self.source_line_id.clone());
        m.insert("TransactionReference".into(), self.reference.clone());
        m.insert("ReasonName".into(), self.reason.clone());
        m.insert("TransactionMode".into(), json!(self.mode));
    }
}

/// Validation settings.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Today for lot expiry.
    pub today: NaiveDate,
    /// Max serials per transaction.
    pub max_serials: usize,
    /// Whether on-hand may go below zero.
    pub allow_negative: bool,
}

/// A validated transaction ready to apply.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Organization index.
    pub org: usize,
    /// Item index.
    pub item: usize,
    /// Kind.
    pub kind: Kind,
    /// Canonical type name.
    pub type_name: &'static str,
    /// Source subinventory index (or destination for receipts).
    pub sub: usize,
    /// Destination subinventory index for transfers.
    pub to_sub: Option<usize>,
    /// Absolute quantity moved.
    pub qty: Decimal,
    /// (lot, absolute quantity, expiration) lines.
    pub lots: Vec<(String, Decimal, NaiveDate)>,
    /// Serials moved.
    pub serials: Vec<String>,
}

/// Resolves organization and item (shared by several resources).
pub fn resolve_item(
    master: &Master,
    orgs: &[OrgState],
    org_code: &str,
    item_number: &str,
) -> ApiResult<(usize, usize)> {
    let org = orgs.iter().position(|o| o.code == org_code).ok_or_else(|| {
        ApiError::bad("INV-1001", format!("The organization {org_code} doesn't exist.")).at("OrganizationCode")
    })?;
    let item =
        *master.by_number.get(item_number).ok_or_else(|| {
            ApiError::bad("INV-1002", format!("The item {item_number} doesn't exist.")).at("ItemNumber")
        })? as usize;
    if orgs[org].unassigned.contains(&(item as u32)) {
        return Err(ApiError::bad(
            "INV-1003",
            format!("The item {item_number} isn't assigned to organization {org_code}."),
        )
        .at("ItemNumber"));
    }
    Ok((org, item))
}

fn known_sub(code: &str, attr: &str, org: &str) -> ApiResult<usize> {
    sub_index(code).ok_or_else(|| {
        ApiError::bad(
            "INV-1004",
            format!("The subinventory {code} doesn't exist in organization {org}."),
        )
        .at(attr)
    })
}

/// Validates `req` against the state without changing it.
pub fn validate(master: &Master, orgs: &[OrgState], req: &TxnRequest, rules: Rules) -> ApiResult<Plan> {
    let (org, item) = resolve_item(master, orgs, &req.org, &req.item)?;
    let it = &master.items[item];
    let o = &orgs[org];
    let sub = known_sub(&req.sub, "SubinventoryCode", &req.org)?;
    let (kind, type_name) = match TXN_TYPES
        .iter()
        .position(|t| t.eq_ignore_ascii_case(req.type_name.trim()))
    {
        Some(0) => (Kind::Receipt, TXN_TYPES[0]),
        Some(1) => (Kind::Issue, TXN_TYPES[1]),
        Some(_) => (Kind::Transfer, TXN_TYPES[2]),
        None => {
            return Err(ApiError::bad(
                "INV-1005",
                format!("The transaction type {} doesn't exist.", req.type_name),
            )
            .at("TransactionTypeName"))
        }
    };
    let to_sub = if kind == Kind::Transfer {
        let code = req.transfer_sub.as_deref().ok_or_else(|| {
            ApiError::bad("INV-1025", "A subinventory transfer requires TransferSubinventory.")
                .at("TransferSubinventory")
        })?;
        let t = known_sub(code, "TransferSubinventory", &req.org)?;
        if t == sub {
            return Err(ApiError::bad(
                "INV-1021",
                format!("The transfer subinventory {code} must differ from the source subinventory."),
            )
            .at("TransferSubinventory"));
        }
        Some(t)
    } else {
        None
    };
    // Exact, case-sensitive: Fusion stores UOM codes as entered (fact sheet §5), so `EA` is
    // not `Ea`.
    if req.uom != it.uom {
        return Err(ApiError::bad(
            "INV-1009",
            format!(
                "The unit of measure {} isn't the primary unit of measure {} of item {}.",
                req.uom, it.uom, it.number
            ),
        )
        .at("TransactionUnitOfMeasure"));
    }
    if req.qty.is_zero() {
        return Err(ApiError::bad("INV-1006", "The transaction quantity must not be zero.").at("TransactionQuantity"));
    }
    match kind {
        Kind::Receipt if req.qty.is_sign_negative() => {
            return Err(ApiError::bad(
                "INV-1007",
                "A miscellaneous receipt requires a positive transaction quantity.",
            )
            .at("TransactionQuantity"))
        }
        Kind::Issue if req.qty.is_sign_positive() => {
            return Err(ApiError::bad(
                "INV-1007",
                "A miscellaneous issue requires a negative transaction quantity.",
            )
            .at("TransactionQuantity"))
        }
        // Unsure (fusion-rest.md §3: transfer sign is "?"): either sign is accepted and the
        // absolute value is moved from SubinventoryCode to TransferSubinventory.
        _ => {}
    }
    let scale_ok = |q: Decimal| q.normalize().scale() <= it.scale;
    if !scale_ok(req.qty) || req.lots.iter().any(|l| !scale_ok(l.qty)) {
        return Err(ApiError::bad(
            "INV-1008",
            format!(
                "The quantity {} has more decimal places than the {} allowed for unit of measure {}.",
                req.qty, it.scale, it.uom
            ),
        )
        .at("TransactionQuantity"));
    }
    let qty = req.qty.abs();
    let mut plan = Plan {
        org,
        item,
        kind,
        type_name,
        sub,
        to_sub,
        qty,
        lots: Vec::new(),
        serials: Vec::new(),
    };
    let from_bal = o.bal(item, sub);
    match it.control {
        Control::Lot => {
            if req.lots.is_empty() {
                return Err(ApiError::bad(
                    "INV-1010",
                    format!("The item {} is lot controlled: lots are required.", it.number),
                )
                .at("lots"));
            }
            let sum: Decimal = req.lots.iter().map(|l| l.qty.abs()).sum();
            if sum != qty {
                return Err(ApiError::bad(
                    "INV-1012",
                    format!("The lot quantities total {sum}, not the transaction quantity {qty}."),
                )
                .at("lots"));
            }
            let mut seen = BTreeSet::new();
            for l in &req.lots {
                if !seen.insert(l.lot.as_str()) {
                    return Err(
                        ApiError::bad("INV-1033", format!("The lot {} appears more than once.", l.lot)).at("lots"),
                    );
                }
                let known = o.lots.get(&(item as u32, l.lot.clone())).copied();
                let lq = l.qty.abs();
                let exp = match (kind, known) {
                    (Kind::Receipt, Some(e)) => e,
                    (Kind::Receipt, None) => l.expiration.ok_or_else(|| {
                        ApiError::bad("INV-1024", format!("The new lot {} requires LotExpirationDate.", l.lot))
                            .at("lots")
                    })?,
                    (_, None) => {
                        return Err(ApiError::bad(
                            "INV-1014",
                            format!("The lot {} doesn't exist for item {}.", l.lot, it.number),
                        )
                        .at("lots"))
                    }
                    (_, Some(e)) => {
                        let have = from_bal.and_then(|b| b.lots.get(&l.lot)).copied();
                        match have {
                            None if !rules.allow_negative => {
                                return Err(ApiError::bad(
                                    "INV-1014",
                                    format!("The lot {} isn't on hand in subinventory {}.", l.lot, req.sub),
                                )
                                .at("lots"))
                            }
                            Some(h) if h < lq && !rules.allow_negative => {
                                return Err(ApiError::bad(
                                    "INV-1022",
                                    format!(
                                        "The quantity {lq} of lot {} exceeds its on-hand {h} in subinventory {}.",
                                        l.lot, req.sub
                                    ),
                                )
                                .at("lots"))
                            }
                            _ => e,
                        }
                    }
                };
                if exp < rules.today {
                    return Err(ApiError::bad("INV-1013", format!("The lot {} expired on {exp}.", l.lot)).at("lots"));
                }
                plan.lots.push((l.lot.clone(), lq, exp));
            }
        }
        _ if !req.lots.is_empty() => {
            return Err(ApiError::bad(
                "INV-1011",
                format!("The item {} isn't lot controlled: remove the lots.", it.number),
            )
            .at("lots"))
        }
        _ => {}
    }
    match it.control {
        Control::Serial => {
            if req.serials.is_empty() {
                return Err(ApiError::bad(
                    "INV-1015",
                    format!(
                        "The item {} is serial controlled: serial numbers are required.",
                        it.number
                    ),
                )
                .at("serials"));
            }
            if req.serials.len() > rules.max_serials {
                return Err(ApiError::bad(
                    "INV-1018",
                    format!(
                        "The transaction has {} serial numbers; at most {} are allowed.",
                        req.serials.len(),
                        rules.max_serials
                    ),
                )
                .at("serials"));
            }
            let set: BTreeSet<&str> = req.serials.iter().map(String::as_str).collect();
            if set.len() != req.serials.len() {
                return Err(ApiError::bad("INV-1017", "The serial numbers contain duplicates.").at("serials"));
            }
            if Decimal::from(req.serials.len() as u64) != qty {
                return Err(ApiError::bad(
                    "INV-1016",
                    format!(
                        "The {} serial numbers don't match the transaction quantity {qty}.",
                        req.serials.len()
                    ),
                )
                .at("serials"));
            }
            for s in &req.serials {
                if kind == Kind::Receipt {
                    if let Some(at) =
                        (0..crate::state::SUBS).find(|&k| o.bal(item, k).is_some_and(|b| b.serials.contains(s)))
                    {
                        return Err(ApiError::bad(
                            "INV-1020",
                            format!(
                                "The serial number {s} is already on hand in subinventory {}.",
                                sim_seed::SUBINVENTORIES[at]
                            ),
                        )
                        .at("serials"));
                    }
                } else if !from_bal.is_some_and(|b| b.serials.contains(s)) {
                    return Err(ApiError::bad(
                        "INV-1019",
                        format!("The serial number {s} isn't on hand in subinventory {}.", req.sub),
                    )
                    .at("serials"));
                }
            }
            plan.serials = req.serials.clone();
        }
        _ if !req.serials.is_empty() => {
            return Err(ApiError::bad(
                "INV-1026",
                format!(
                    "The item {} isn't serial controlled: remove the serial numbers.",
                    it.number
                ),
            )
            .at("serials"))
        }
        _ => {}
    }
    if kind != Kind::Receipt && !rules.allow_negative {
        let have = from_bal.map_or(Decimal::ZERO, |b| b.qty);
        if have < qty {
            return Err(ApiError::bad(
                "INV-1022",
                format!(
                    "The quantity {qty} exceeds the on-hand quantity {have} of item {} in subinventory {}.",
                    it.number, req.sub
                ),
            )
            .at("TransactionQuantity"));
        }
    }
    Ok(plan)
}

/// Applies a validated plan to the organization.
pub fn apply(org: &mut OrgState, plan: &Plan) {
    let take = |o: &mut OrgState, sub: usize| {
        o.with_bal(plan.item, sub, |b| {
            b.qty -= plan.qty;
            for (lot, q, _) in &plan.lots {
                *b.lots.entry(lot.clone()).or_default() -= *q;
            }
            for s in &plan.serials {
                b.serials.remove(s);
            }
        });
    };
    let put = |o: &mut OrgState, sub: usize| {
        for (lot, _, exp) in &plan.lots {
            o.lots.entry((plan.item as u32, lot.clone())).or_insert(*exp);
        }
        o.with_bal(plan.item, sub, |b| {
            b.qty += plan.qty;
            for (lot, q, _) in &plan.lots {
                *b.lots.entry(lot.clone()).or_default() += *q;
            }
            b.serials.extend(plan.serials.iter().cloned());
        });
    };
    match plan.kind {
        Kind::Receipt => put(org, plan.sub),
        Kind::Issue => take(org, plan.sub),
        Kind::Transfer => {
            take(org, plan.sub);
            if let Some(t) = plan.to_sub {
                put(org, t);
            }
        }
    }
}
