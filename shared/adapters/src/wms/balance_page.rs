//! The fast read of a balance page: rows deserialized straight into fields borrowed from the
//! body, with no `serde_json::Value` tree.
//!
//! Why: a DC's reconciliation reads 75,000 to 150,000 balances, and building a `Value` map
//! per row cost more CPU than comparing them. The fast read accepts only what the loose read
//! of [`super::wire`] accepts, and gives the same balances. Anything it does not take (a
//! missing field, a JSON number for a quantity, a duplicate key, a row the domain refuses)
//! returns `None`, and the caller reads the page the loose way, so an error names its row and
//! field exactly as before.

use std::borrow::Cow;

use chrono::NaiveDate;
use domain::ports::wms::WmsBalance;
use domain::quantity::parse_decimal;
use domain::{BalanceKey, DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    items: Vec<Row<'a>>,
    // Required, as in the loose read: a missing cursor would silently end paging.
    #[serde(borrow)]
    next_cursor: &'a RawValue,
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(borrow)]
    item: Cow<'a, str>,
    #[serde(borrow)]
    subinventory: Cow<'a, str>,
    #[serde(borrow, default)]
    lot: Option<Lot<'a>>,
    #[serde(borrow)]
    quantity: Cow<'a, str>,
    #[serde(borrow, default)]
    serials: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    uom: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Lot<'a> {
    #[serde(borrow)]
    number: Cow<'a, str>,
    #[serde(borrow, default)]
    expiration: Option<Cow<'a, str>>,
}

/// The balances and next cursor of a page of `dc`, or `None` when the page needs the loose
/// read (which then gives the answer or the exact error).
pub(crate) fn read(dc: &DcCode, body: &[u8]) -> Option<(Vec<WmsBalance>, Option<String>)> {
    let page: Page<'_> = serde_json::from_slice(body).ok()?;
    let next_cursor = match page.next_cursor.get() {
        "null" => None,
        text => match serde_json::from_str::<String>(text).ok()? {
            c if c.is_empty() => return None,
            c => Some(c),
        },
    };
    let items = page
        .items
        .into_iter()
        .map(|row| balance(dc, row))
        .collect::<Option<Vec<_>>>()?;
    Some((items, next_cursor))
}

fn balance(dc: &DcCode, row: Row<'_>) -> Option<WmsBalance> {
    let item = ItemNumber::parse(row.item).ok()?;
    let subinventory = SubinventoryCode::parse(row.subinventory).ok()?;
    let (lot, expiration) = match row.lot {
        None => (None, None),
        Some(l) => {
            let number = LotNumber::parse(l.number).ok()?;
            let expiration = match l.expiration {
                None => None,
                Some(text) => Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()?),
            };
            (Some(number), expiration)
        }
    };
    // The context only shapes an error message, and an error goes to the loose read.
    let quantity = parse_decimal(&row.quantity, "").ok()?;
    let serials = row
        .serials
        .unwrap_or_default()
        .into_iter()
        .map(|s| SerialNumber::parse(s).ok())
        .collect::<Option<Vec<_>>>()?;
    if !serials.is_empty() && quantity != Decimal::from(serials.len()) {
        return None;
    }
    let uom = Uom::parse(row.uom).ok()?;
    Some(WmsBalance {
        key: BalanceKey::new(dc.clone(), item, subinventory, lot),
        quantity,
        uom,
        expiration,
        serials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wms::wire;

    fn dc() -> DcCode {
        DcCode::parse("DC01").unwrap()
    }

    /// The loose read of the same page: balances and cursor, or its error.
    fn loose(body: &str) -> Result<(Vec<WmsBalance>, Option<String>), String> {
        let page = wire::page_envelope(body.as_bytes())?;
        let items = page
            .items
            .iter()
            .map(|v| wire::balance(&dc(), v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, page.next_cursor))
    }

    const ROWS: &str = r#"[
        {"item":"AS-100","subinventory":"STORES","quantity":"12.500","uom":"EA"},
        {"item":"AS-101","subinventory":"STORES","quantity":"3","uom":"KG","lot":{"number":"L-1","expiration":"2027-03-19"},"extra":1},
        {"item":"AS-102","subinventory":"FG","quantity":"2","uom":"EA","serials":["S-1","S-2"],"lot":null},
        {"item":"AS-\u0031\u0030\u0033","subinventory":"FG","quantity":"0","uom":"EA","serials":null,"lot":{"number":"L-2","expiration":null}}
    ]"#;

    #[test]
    fn the_fast_read_gives_what_the_loose_read_gives() {
        for cursor in [r#""c-2""#, "null"] {
            let body = format!(r#"{{"items":{ROWS},"next_cursor":{cursor}}}"#);
            let fast = read(&dc(), body.as_bytes()).expect("the fast read takes a clean page");
            assert_eq!(Ok(fast.clone()), loose(&body));
            assert_eq!(fast.0.len(), 4);
            assert_eq!(fast.0[3].key.item.as_str(), "AS-103");
        }
    }

    #[test]
    fn what_the_fast_read_does_not_take_goes_to_the_loose_read() {
        let row = |fields: &str| format!(r#"{{"items":[{{{fields}}}],"next_cursor":null}}"#);
        let refused = [
            // Refused by the loose read too, with the row and field named.
            row(r#""item":"A","subinventory":"S","quantity":1,"uom":"EA""#),
            row(r#""item":"A","subinventory":"S","quantity":"1","uom":"EA","lot":"L-1""#),
            row(r#""item":"A","subinventory":"S","quantity":"x","uom":"EA""#),
            row(r#""item":"A","subinventory":"S","quantity":"1","uom":"EA","serials":["S-1","S-2"]"#),
            row(
                r#""item":"A","subinventory":"S","quantity":"1","uom":"EA","lot":{"number":"L","expiration":"19/03/2027"}"#,
            ),
            row(r#""item":null,"subinventory":"S","quantity":"1","uom":"EA""#),
            r#"{"items":[]}"#.to_string(),
            r#"{"items":[],"next_cursor":""}"#.to_string(),
            r#"{"items":{},"next_cursor":null}"#.to_string(),
            // Taken by the loose read, which keeps the last of duplicate keys.
            row(r#""item":"A","item":"B","subinventory":"S","quantity":"1","uom":"EA""#),
        ];
        for body in &refused {
            assert_eq!(read(&dc(), body.as_bytes()), None, "{body}");
        }
        assert!(loose(&refused[0]).unwrap_err().contains("quantity"));
        assert_eq!(loose(&refused[9]).unwrap().0[0].key.item.as_str(), "B");
    }
}
