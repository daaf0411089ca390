//! Contract JSON to domain types and back (`docs/wms-api.openapi.yaml`).
//!
//! Pages are read as loose JSON first so one bad outbox entry becomes an [`OutboxItem`] with
//! its parse error instead of failing the page; only a page whose envelope is nonsense, or a
//! balance or hold row that cannot be read, fails as
//! [`WmsError::InvalidResponse`](domain::ports::WmsError::InvalidResponse). Quantities
//! are decimal strings parsed exactly with [`parse_decimal`]; JSON numbers are refused so no
//! float ever touches a quantity.

use chrono::{DateTime, NaiveDate, Utc};
use domain::ports::wms::{Hold, OutboxItem, SyncOutcome, WmsBalance};
use domain::quantity::parse_decimal;
use domain::{
    BalanceKey, DcCode, DomainError, ItemNumber, LotNumber, LotQuantity, NewTransaction, SerialNumber,
    SubinventoryCode, Tracking, TxnKind, Uom, WmsTransaction, WmsTxnId,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest slice of a response body quoted in an error message.
const SNIPPET_MAX: usize = 200;

/// `text` cut to a readable length for an error message.
pub(crate) fn snippet(text: &str) -> String {
    if text.chars().count() <= SNIPPET_MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(SNIPPET_MAX).collect();
        format!("{head}... ({} chars)", text.chars().count())
    }
}

/// The contract's error body `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    #[serde(default)]
    field: Option<String>,
}

/// Code and message of a contract error body; `None` when the body is not one.
pub(crate) fn error_body(body: &[u8]) -> Option<(String, String)> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let message = match parsed.error.field {
        Some(field) if !field.is_empty() => format!("{} (field {field})", parsed.error.message),
        _ => parsed.error.message,
    };
    Some((parsed.error.code, message))
}

/// A page as it came over the wire: raw rows and the cursor of the next page.
pub(crate) struct RawPage {
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// Reads a `{"items": [...], "next_cursor": "..." | null}` envelope. Both keys are required by
/// the contract; a missing cursor would silently end paging, so it is refused.
pub(crate) fn page_envelope(body: &[u8]) -> Result<RawPage, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("page is not JSON ({e}): {}", snippet(&String::from_utf8_lossy(body))))?;
    let Value::Object(mut obj) = value else {
        return Err("page is not a JSON object".into());
    };
    let items = match obj.remove("items") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err("page `items` is not an array".into()),
        None => return Err("page has no `items`".into()),
    };
    let next_cursor = match obj.remove("next_cursor") {
        Some(Value::Null) => None,
        Some(Value::String(c)) if !c.is_empty() => Some(c),
        Some(Value::String(_)) => return Err("page `next_cursor` is an empty string".into()),
        Some(_) => return Err("page `next_cursor` is neither a string nor null".into()),
        None => return Err("page has no `next_cursor`".into()),
    };
    Ok(RawPage { items, next_cursor })
}

/// Typed access to one JSON object's fields; failures name the field.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, String> {
        let path = path.into();
        match value.as_object() {
            Some(obj) => Ok(Self { obj, path }),
            None => Err(format!("{path} is not a JSON object")),
        }
    }

    fn name(&self, field: &str) -> String {
        if self.path.is_empty() {
            format!("`{field}`")
        } else {
            format!("`{}.{field}`", self.path)
        }
    }

    fn str(&self, field: &str) -> Result<&'a str, String> {
        match self.obj.get(field) {
            Some(Value::String(s)) => Ok(s),
            None | Some(Value::Null) => Err(format!("{} is missing", self.name(field))),
            Some(other) => Err(format!("{} is not a string: {}", self.name(field), json_type(other))),
        }
    }

    fn opt_str(&self, field: &str) -> Result<Option<&'a str>, String> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{} is not a string: {}", self.name(field), json_type(other))),
        }
    }

    /// A decimal string; a JSON number is refused because it may already have lost precision.
    fn decimal_text(&self, field: &str) -> Result<&'a str, String> {
        match self.obj.get(field) {
            Some(Value::Number(n)) => Err(format!(
                "{} is the JSON number {n}; the contract sends quantities as decimal strings",
                self.name(field)
            )),
            _ => self.str(field),
        }
    }

    fn array(&self, field: &str) -> Result<&'a [Value], String> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(format!("{} is not an array: {}", self.name(field), json_type(other))),
        }
    }

    fn date(&self, field: &str) -> Result<Option<NaiveDate>, String> {
        self.opt_str(field)?
            .map(|text| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| format!("{} {text:?} is not a date like 2027-03-19", self.name(field)))
            })
            .transpose()
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Maps one outbox entry. Never fails: an entry that does not make a valid [`WmsTransaction`]
/// keeps its raw id (empty when the WMS sent none) and the reason in `txn`.
pub(crate) fn outbox_item(dc: &DcCode, value: &Value) -> OutboxItem {
    let raw_id = match value.get("id") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    let failed_before = value.get("status").and_then(Value::as_str) == Some("sync_failed");
    let txn = transaction(dc, value, &raw_id);
    let sequence = value.get("sequence").and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    OutboxItem {
        raw_id,
        txn,
        failed_before,
        sequence,
    }
}

fn transaction(dc: &DcCode, value: &Value, raw_id: &str) -> Result<WmsTransaction, DomainError> {
    let label = if raw_id.is_empty() { "<no id>" } else { raw_id };
    let refuse = |reason: String| DomainError::InvalidTransaction {
        txn: label.to_string(),
        reason,
    };
    let f = Fields::new(value, "").map_err(|_| refuse("the outbox entry is not a JSON object".into()))?;
    let id = WmsTxnId::parse(f.str("id").map_err(refuse)?)?;
    match f.str("status").map_err(refuse)? {
        "pending_sync" | "sync_failed" => {}
        other => {
            return Err(refuse(format!(
                "status {other:?} does not belong in the outbox (pending_sync or sync_failed)"
            )))
        }
    }
    let to = f.opt_str("to_subinventory").map_err(refuse)?;
    let kind = match (f.str("kind").map_err(refuse)?, to) {
        ("subinventory_transfer", Some(to)) => TxnKind::SubinventoryTransfer {
            to: SubinventoryCode::parse(to)?,
        },
        ("subinventory_transfer", None) => return Err(refuse("a transfer without `to_subinventory`".into())),
        (kind @ ("adjustment" | "misc_receipt" | "misc_issue"), Some(to)) => {
            return Err(refuse(format!(
                "{kind} names to_subinventory {to:?}; only transfers may"
            )))
        }
        ("adjustment", None) => TxnKind::Adjustment,
        ("misc_receipt", None) => TxnKind::MiscReceipt,
        ("misc_issue", None) => TxnKind::MiscIssue,
        (other, _) => return Err(refuse(format!("unknown kind {other:?}"))),
    };
    let context = format!("transaction {label}");
    let quantity = parse_decimal(f.decimal_text("quantity").map_err(refuse)?, &context)?;
    let lots = f
        .array("lots")
        .map_err(refuse)?
        .iter()
        .enumerate()
        .map(|(i, line)| lot_line(line, i, &context).map_err(|e| e.either(&refuse)))
        .collect::<Result<Vec<_>, _>>()?;
    let serials = f
        .array("serials")
        .map_err(refuse)?
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            Value::String(s) => Ok(SerialNumber::parse(s.as_str())?),
            other => Err(refuse(format!("`serials[{i}]` is not a string: {}", json_type(other)))),
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    let tracking = match (lots.is_empty(), serials.is_empty()) {
        (true, true) => Tracking::None,
        (false, true) => Tracking::Lots(lots),
        (true, false) => Tracking::Serials(serials),
        (false, false) => return Err(refuse("both lots and serials are given".into())),
    };
    let occurred_text = f.str("occurred_at").map_err(refuse)?;
    let occurred_at = DateTime::parse_from_rfc3339(occurred_text)
        .map_err(|_| refuse(format!("`occurred_at` {occurred_text:?} is not an RFC 3339 timestamp")))?
        .with_timezone(&Utc);
    WmsTransaction::new(NewTransaction {
        id,
        dc: dc.clone(),
        kind,
        item: ItemNumber::parse(f.str("item").map_err(refuse)?)?,
        subinventory: SubinventoryCode::parse(f.str("subinventory").map_err(refuse)?)?,
        quantity,
        uom: Uom::parse(f.str("uom").map_err(refuse)?)?,
        tracking,
        occurred_at,
    })
}

/// A lot line's failure: a shape problem (to be wrapped with the transaction id) or a domain
/// error already naming what failed.
enum LineError {
    Shape(String),
    Domain(DomainError),
}

impl LineError {
    fn either(self, refuse: &impl Fn(String) -> DomainError) -> DomainError {
        match self {
            LineError::Shape(reason) => refuse(reason),
            LineError::Domain(e) => e,
        }
    }
}

impl From<String> for LineError {
    fn from(reason: String) -> Self {
        LineError::Shape(reason)
    }
}

impl From<DomainError> for LineError {
    fn from(e: DomainError) -> Self {
        LineError::Domain(e)
    }
}

fn lot_line(value: &Value, index: usize, context: &str) -> Result<LotQuantity, LineError> {
    let f = Fields::new(value, format!("lots[{index}]"))?;
    let lot = LotNumber::parse(f.str("lot")?)?;
    let quantity = parse_decimal(f.decimal_text("quantity")?, &format!("{context} lot {lot}"))?;
    let expiration = f.date("expiration")?;
    Ok(LotQuantity {
        lot,
        quantity,
        expiration,
    })
}

/// Maps one balance row of `dc`; the error says which field is wrong.
pub(crate) fn balance(dc: &DcCode, value: &Value) -> Result<WmsBalance, String> {
    let f = Fields::new(value, "")?;
    let item = ItemNumber::parse(f.str("item")?).map_err(|e| e.to_string())?;
    let subinventory = SubinventoryCode::parse(f.str("subinventory")?).map_err(|e| e.to_string())?;
    let (lot, expiration) = match f.obj.get("lot") {
        None | Some(Value::Null) => (None, None),
        Some(lot) => {
            let lf = Fields::new(lot, "lot")?;
            let number = LotNumber::parse(lf.str("number")?).map_err(|e| e.to_string())?;
            (Some(number), lf.date("expiration")?)
        }
    };
    let context = match &lot {
        Some(l) => format!("balance {item} / {subinventory} / lot {l}"),
        None => format!("balance {item} / {subinventory}"),
    };
    let quantity = parse_decimal(f.decimal_text("quantity")?, &context).map_err(|e| e.to_string())?;
    let serials = f
        .array("serials")?
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            Value::String(s) => SerialNumber::parse(s.as_str()).map_err(|e| e.to_string()),
            other => Err(format!("`serials[{i}]` is not a string: {}", json_type(other))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !serials.is_empty() && quantity != rust_decimal::Decimal::from(serials.len()) {
        return Err(format!(
            "{context} lists {} serials for a quantity of {quantity}",
            serials.len()
        ));
    }
    let uom = Uom::parse(f.str("uom")?).map_err(|e| e.to_string())?;
    Ok(WmsBalance {
        key: BalanceKey::new(dc.clone(), item, subinventory, lot),
        quantity,
        uom,
        expiration,
        serials,
    })
}

/// A hold as the contract returns it (`Hold`).
#[derive(Debug, Deserialize)]
pub(crate) struct WireHold {
    pub item: String,
    pub reason: String,
    pub placed_by: String,
    /// Read only to hold the WMS to the contract: a hold without it is an invalid answer.
    #[allow(dead_code, reason = "required by the contract, so parsed; nothing needs its value")]
    pub placed_at: DateTime<Utc>,
    #[serde(default)]
    pub reference: Option<String>,
}

impl WireHold {
    /// The domain hold; an absent reference becomes empty.
    pub fn into_domain(self) -> Result<Hold, String> {
        Ok(Hold {
            item: ItemNumber::parse(self.item).map_err(|e| e.to_string())?,
            reason: self.reason,
            placed_by: self.placed_by,
            reference: self.reference.unwrap_or_default(),
        })
    }
}

/// Body of `PUT /v1/dcs/{dc}/holds/{item}`.
#[derive(Debug, Serialize)]
pub(crate) struct HoldRequest<'a> {
    pub reason: &'a str,
    pub placed_by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
}

impl<'a> HoldRequest<'a> {
    pub fn of(hold: &'a Hold) -> Self {
        Self {
            reason: &hold.reason,
            placed_by: &hold.placed_by,
            reference: Some(hold.reference.as_str()).filter(|r| !r.is_empty()),
        }
    }
}

/// Body of `POST /v1/dcs/{dc}/transactions/{id}/outcome`.
pub(crate) fn outcome_body(outcome: &SyncOutcome) -> Value {
    match outcome {
        SyncOutcome::Synced { fusion_reference } => {
            serde_json::json!({ "status": "synced", "fusion_reference": fusion_reference })
        }
        SyncOutcome::Failed { error } => serde_json::json!({ "status": "sync_failed", "error": error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn dc() -> DcCode {
        DcCode::parse("DC01").unwrap()
    }

    fn entry() -> Value {
        json!({
            "id": "DC01-000000123",
            "sequence": 123,
            "kind": "misc_issue",
            "item": "ITM-000002",
            "subinventory": "PICK",
            "to_subinventory": null,
            "quantity": "-3",
            "uom": "CS",
            "lots": [{"lot": "L000002-00", "quantity": "3", "expiration": "2027-03-19"}],
            "serials": [],
            "occurred_at": "2026-11-01T10:15:00Z",
            "status": "pending_sync",
            "last_error": null,
            "fusion_reference": null
        })
    }

    fn with(mut value: Value, field: &str, new: Value) -> Value {
        value[field] = new;
        value
    }

    #[test]
    fn a_missing_or_unreadable_sequence_is_none_and_keeps_the_transaction() {
        for bad in [Value::Null, json!(-4), json!("x"), json!(1.5)] {
            let item = outbox_item(&dc(), &with(entry(), "sequence", bad));
            assert_eq!(item.sequence, None);
            assert!(item.txn.is_ok());
        }
        assert_eq!(
            outbox_item(&dc(), &with(entry(), "sequence", json!("77"))).sequence,
            Some(77)
        );
    }

    #[test]
    fn the_contract_example_maps_to_a_lot_issue() {
        let item = outbox_item(&dc(), &entry());
        assert_eq!(item.raw_id, "DC01-000000123");
        assert!(!item.failed_before);
        assert_eq!(item.sequence, Some(123));
        let t = item.txn.unwrap();
        assert_eq!(*t.dc(), dc());
        assert_eq!(*t.kind(), TxnKind::MiscIssue);
        assert_eq!(t.quantity(), dec!(-3));
        assert_eq!(t.uom().as_str(), "CS");
        assert_eq!(
            *t.tracking(),
            Tracking::Lots(vec![LotQuantity {
                lot: LotNumber::parse("L000002-00").unwrap(),
                quantity: dec!(3),
                expiration: NaiveDate::from_ymd_opt(2027, 3, 19),
            }])
        );
        assert_eq!(t.occurred_at().to_rfc3339(), "2026-11-01T10:15:00+00:00");
    }

    #[test]
    fn transfers_serials_and_failed_entries_map() {
        let transfer = json!({
            "id": "DC01-CLIENT-7", "kind": "subinventory_transfer", "item": "ITM-000009",
            "subinventory": "BULK", "to_subinventory": "PICK", "quantity": "2", "uom": "EA",
            "lots": [], "serials": ["SN1", "SN2"], "occurred_at": "2026-11-01T10:15:00+01:00",
            "status": "sync_failed", "last_error": "Fusion 503"
        });
        let item = outbox_item(&dc(), &transfer);
        assert!(item.failed_before);
        let t = item.txn.unwrap();
        assert_eq!(
            *t.kind(),
            TxnKind::SubinventoryTransfer {
                to: SubinventoryCode::parse("PICK").unwrap()
            }
        );
        assert_eq!(
            *t.tracking(),
            Tracking::Serials(vec![
                SerialNumber::parse("SN1").unwrap(),
                SerialNumber::parse("SN2").unwrap()
            ])
        );
        assert_eq!(t.occurred_at().to_rfc3339(), "2026-11-01T09:15:00+00:00");
        let adj = with(
            with(with(entry(), "kind", json!("adjustment")), "lots", json!([])),
            "quantity",
            json!("12.500"),
        );
        let t = outbox_item(&dc(), &adj).txn.unwrap();
        assert_eq!(
            (t.kind(), t.quantity(), t.tracking()),
            (&TxnKind::Adjustment, dec!(12.500), &Tracking::None)
        );
    }

    #[test]
    fn a_malformed_entry_keeps_its_id_and_says_why() {
        let plain = |v: Value| with(with(v, "lots", json!([])), "kind", json!("misc_receipt"));
        let cases: Vec<(Value, &str, &str)> = vec![
            (with(entry(), "id", json!("DC01;DROP")), "DC01;DROP", "contains ';'"),
            (
                with(entry(), "quantity", json!("3x")),
                "DC01-000000123",
                "not a plain decimal",
            ),
            (with(entry(), "quantity", json!(-3)), "DC01-000000123", "JSON number -3"),
            (
                with(entry(), "quantity", json!("3")),
                "DC01-000000123",
                "negative quantity",
            ),
            (
                with(plain(entry()), "quantity", json!("-2")),
                "DC01-000000123",
                "positive quantity",
            ),
            (
                with(
                    with(plain(entry()), "quantity", json!("3")),
                    "serials",
                    json!(["A", "B"]),
                ),
                "DC01-000000123",
                "2 serials for a quantity of 3",
            ),
            (
                with(entry(), "kind", json!("teleport")),
                "DC01-000000123",
                "unknown kind",
            ),
            (
                with(entry(), "kind", json!("subinventory_transfer")),
                "DC01-000000123",
                "without `to_subinventory`",
            ),
            (
                with(entry(), "to_subinventory", json!("BULK")),
                "DC01-000000123",
                "only transfers",
            ),
            (
                with(
                    entry(),
                    "lots",
                    json!([{"lot": "L1", "quantity": "2", "expiration": "2027-03-19"}]),
                ),
                "DC01-000000123",
                "sum to 2",
            ),
            (
                with(
                    entry(),
                    "lots",
                    json!([{"lot": "L1", "quantity": "3", "expiration": "soon"}]),
                ),
                "DC01-000000123",
                "`lots[0].expiration`",
            ),
            (
                with(entry(), "item", json!(null)),
                "DC01-000000123",
                "`item` is missing",
            ),
            (
                with(entry(), "occurred_at", json!("yesterday")),
                "DC01-000000123",
                "RFC 3339",
            ),
            (
                with(entry(), "status", json!("synced")),
                "DC01-000000123",
                "does not belong",
            ),
            (with(entry(), "id", json!(42)), "42", "not a string"),
            (json!("just a string"), "", "not a JSON object"),
        ];
        for (value, raw_id, fragment) in cases {
            let item = outbox_item(&dc(), &value);
            assert_eq!(item.raw_id, raw_id, "{value}");
            let err = item.txn.expect_err("must not parse").to_string();
            assert!(err.contains(fragment), "{value}: {err}");
        }
    }

    #[test]
    fn page_envelopes_are_checked() {
        let ok = page_envelope(br#"{"items": [1, 2], "next_cursor": "abc"}"#).unwrap();
        assert_eq!((ok.items.len(), ok.next_cursor.as_deref()), (2, Some("abc")));
        assert!(page_envelope(br#"{"items": [], "next_cursor": null}"#)
            .unwrap()
            .next_cursor
            .is_none());
        for (body, fragment) in [
            (&b"<html>oops</html>"[..], "not JSON"),
            (b"[]", "not a JSON object"),
            (br#"{"next_cursor": null}"#, "no `items`"),
            (br#"{"items": {}, "next_cursor": null}"#, "not an array"),
            (br#"{"items": []}"#, "no `next_cursor`"),
            (br#"{"items": [], "next_cursor": 7}"#, "neither"),
            (br#"{"items": [], "next_cursor": ""}"#, "empty"),
        ] {
            match page_envelope(body) {
                Err(m) => assert!(m.contains(fragment), "{m}"),
                Ok(_) => panic!("{} accepted", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn balance_rows_map_to_keys_with_lots_and_serials() {
        let lot_row = json!({"item": "ITM-000002", "subinventory": "PICK",
            "lot": {"number": "L000002-00", "expiration": "2027-03-19"}, "serials": [], "quantity": "12", "uom": "CS"});
        let b = balance(&dc(), &lot_row).unwrap();
        assert_eq!(b.key.lot.as_ref().map(|l| l.as_str()), Some("L000002-00"));
        assert_eq!(b.expiration, NaiveDate::from_ymd_opt(2027, 3, 19));
        assert_eq!(b.quantity, dec!(12));
        let serial_row = json!({"item": "ITM-000009", "subinventory": "BULK", "lot": null,
            "serials": ["SN1", "SN2"], "quantity": "2", "uom": "EA"});
        let b = balance(&dc(), &serial_row).unwrap();
        assert_eq!((b.key.lot.clone(), b.serials.len()), (None, 2));
        let plain = json!({"item": "ITM-000001", "subinventory": "STORES", "lot": null, "serials": [],
            "quantity": "3331.228", "uom": "KG"});
        assert_eq!(balance(&dc(), &plain).unwrap().quantity, dec!(3331.228));
        let bad = with(serial_row, "quantity", json!("3"));
        assert!(balance(&dc(), &bad)
            .unwrap_err()
            .contains("2 serials for a quantity of 3"));
        let float = with(plain, "quantity", json!(3331.228));
        assert!(balance(&dc(), &float).unwrap_err().contains("JSON number"));
    }

    #[test]
    fn error_bodies_and_outcomes_follow_the_contract() {
        let body = br#"{"error": {"code": "limit_too_large", "message": "limit 6000", "field": "limit"}}"#;
        assert_eq!(
            error_body(body),
            Some(("limit_too_large".into(), "limit 6000 (field limit)".into()))
        );
        assert_eq!(error_body(b"Bad Gateway"), None);
        let synced = outcome_body(&SyncOutcome::Synced {
            fusion_reference: "300100".into(),
        });
        assert_eq!(synced, json!({"status": "synced", "fusion_reference": "300100"}));
        let failed = outcome_body(&SyncOutcome::Failed { error: "boom".into() });
        assert_eq!(failed, json!({"status": "sync_failed", "error": "boom"}));
        let cut = snippet(&"x".repeat(1000));
        assert!(cut.ends_with("... (1000 chars)") && cut.len() < 230, "{cut}");
    }
}
