//! Fusion wire formats: collection envelopes, resource rows, request bodies, the `q` builder and
//! exact decimal quantities.
//!
//! Quantities are read from the raw JSON number text (`serde_json::value::RawValue`) and
//! parsed with `Decimal::from_str`, so `0.1` stays `0.1` and nothing passes through `f64`.
//! Quantities are written the same way: the decimal's own text as a JSON number.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use domain::ports::FusionError;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// An exact decimal read from a JSON number (or numeric string) without going through `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Qty(pub Decimal);

impl<'de> Deserialize<'de> for Qty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        parse_decimal_text(raw.get()).map(Qty).map_err(de::Error::custom)
    }
}

/// Parses a JSON number's (or quoted number's) text exactly.
pub(crate) fn parse_decimal_text(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let unquoted;
    let t = if t.starts_with('"') {
        unquoted = serde_json::from_str::<String>(t).map_err(|e| e.to_string())?;
        unquoted.trim()
    } else {
        t
    };
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|_| format!("{t:?} is not a decimal number"))
}

/// A decimal as a raw JSON number (its exact text).
pub(crate) fn number(d: Decimal) -> Box<RawValue> {
    let text = d.normalize().to_string();
    RawValue::from_string(text).unwrap_or_else(|_| Box::<RawValue>::default())
}

/// A collection envelope `{"items","count","hasMore","limit","offset","totalResults"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Collection<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(default)]
    pub count: Option<usize>,
    #[serde(rename = "hasMore", default)]
    pub has_more: Option<bool>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(rename = "totalResults", default)]
    pub total_results: Option<u64>,
}

/// An expanded child: a bare array (framework v1/v2) or a nested collection with `items` and
/// `hasMore` (v3+, fact sheet §1).
#[derive(Debug)]
pub(crate) struct Child<T> {
    pub items: Vec<T>,
    /// The nested collection said more rows exist than were expanded.
    pub truncated: bool,
    /// It came as a collection object (v3+), not a bare array.
    pub paged: bool,
    /// Whether the collection carried `hasMore` at all.
    pub has_more_given: bool,
    /// The collection's `limit`, if given.
    pub limit: Option<usize>,
    /// The child resource's own URL (`links` rel `self`), if given.
    pub href: Option<String>,
}

impl<T> Default for Child<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            truncated: false,
            paged: false,
            has_more_given: false,
            limit: None,
            href: None,
        }
    }
}

/// The framework's page size for expanded children (fact sheet §4: default `limit` 25).
const CHILD_PAGE: usize = 25;

impl<T> Child<T> {
    /// Whether rows may be missing: `hasMore` said so, or (when `hasMore` is missing, a quirk
    /// third parties report) the page is full. Bare arrays (framework v1/v2) are complete.
    pub fn may_have_more(&self) -> bool {
        self.paged && (self.truncated || (!self.has_more_given && self.items.len() >= self.limit.unwrap_or(CHILD_PAGE)))
    }
}

/// The `self` href of a `links` array, read without copying the other links (an on-hand
/// page carries one array per row and per expanded child).
#[derive(Debug, Default)]
pub(crate) struct SelfLink(pub Option<String>);

/// A `links` entry, borrowed from the body where it has no escapes.
#[derive(Deserialize)]
struct LinkRef<'a> {
    #[serde(borrow, default)]
    rel: Cow<'a, str>,
    #[serde(borrow, default)]
    href: Cow<'a, str>,
}

impl<'de> Deserialize<'de> for SelfLink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SelfLink;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of links")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut href = None;
                while let Some(link) = seq.next_element::<LinkRef<'de>>()? {
                    if href.is_none() && link.rel == "self" {
                        href = Some(link.href.into_owned());
                    }
                }
                Ok(SelfLink(href))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The keys of a nested child collection, matched without allocating.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum ChildField {
    #[serde(rename = "items")]
    Items,
    #[serde(rename = "hasMore")]
    HasMore,
    #[serde(rename = "limit")]
    Limit,
    #[serde(rename = "links")]
    Links,
    #[serde(other)]
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Child<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Child<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array or a collection object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Child::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = seq.next_element()? {
                    items.push(x);
                }
                Ok(Child {
                    items,
                    ..Child::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Child {
                    paged: true,
                    ..Child::default()
                };
                while let Some(k) = map.next_key::<ChildField>()? {
                    match k {
                        ChildField::Items => out.items = map.next_value()?,
                        ChildField::HasMore => {
                            let v = map.next_value::<Option<bool>>()?;
                            out.has_more_given = v.is_some();
                            out.truncated = v.unwrap_or(false);
                        }
                        ChildField::Limit => out.limit = map.next_value::<Option<usize>>()?,
                        ChildField::Links => out.href = map.next_value::<SelfLink>()?.0,
                        ChildField::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An `inventoryOnhandBalances` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OnhandWire {
    #[serde(default)]
    pub organization_code: Option<String>,
    pub item_number: String,
    pub subinventory_code: String,
    #[serde(rename = "PrimaryUOMCode", default)]
    pub primary_uom_code: Option<String>,
    // Unsure (fact sheet §2, L): the quantity attribute is PrimaryQuantity per third-party code.
    #[serde(default)]
    pub primary_quantity: Option<Qty>,
    #[serde(rename = "lots", default)]
    pub lots: Child<OnhandLotWire>,
    #[serde(rename = "serials", default)]
    pub serials: Child<SerialWire>,
    #[serde(rename = "links", default)]
    pub links: SelfLink,
}

/// A `lots` child of an on-hand row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OnhandLotWire {
    pub lot_number: String,
    #[serde(default)]
    pub expiration_date: Option<String>,
    #[serde(default)]
    pub primary_quantity: Option<Qty>,
}

/// A `serials` child of an on-hand row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SerialWire {
    pub serial_number: String,
}

/// An `itemsV2` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ItemWire {
    pub item_number: String,
    #[serde(rename = "PrimaryUOMCode", default)]
    pub primary_uom_code: Option<String>,
    #[serde(default)]
    pub lot_control_code: Option<Value>,
    #[serde(default)]
    pub serial_number_control_code: Option<Value>,
}

/// A `unitsOfMeasure` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UomWire {
    #[serde(rename = "UOMCode")]
    pub uom_code: String,
    #[serde(default)]
    pub decimal_precision: Option<Value>,
}

/// An `inventoryItemLots` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ItemLotWire {
    pub lot_number: String,
    #[serde(default)]
    pub expiration_date: Option<String>,
}

/// An `inventoryStagedTransactions` row (as listed or as answered to a POST).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StagedWire {
    #[serde(default)]
    pub transaction_interface_id: Option<Value>,
    // Unsure (fact sheet §3, M): ProcessFlag / ErrorCode / ErrorExplanation names come from
    // working client code, not an Oracle page.
    #[serde(default)]
    pub process_flag: Option<Value>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_explanation: Option<String>,
}

/// An `inventoryCompletedTransactions` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CompletedWire {
    pub transaction_id: Value,
}

/// Integer from a JSON number or numeric string.
pub(crate) fn int_of(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Scalar as text.
pub(crate) fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a date `YYYY-MM-DD` (a timestamp suffix is ignored).
pub(crate) fn date_of(s: Option<&str>) -> Result<Option<chrono::NaiveDate>, FusionError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FusionError::InvalidResponse(format!("date {s:?} is not YYYY-MM-DD"))),
    }
}

/// Builds a query-by-example `q` (`Attr=Value;Attr2=Value2`), quoting values that carry
/// anything but letters, digits and `_ . - : / #`.
pub(crate) fn q(clauses: &[(&str, &str)]) -> String {
    clauses
        .iter()
        .map(|(k, v)| {
            let plain = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/' | '#'));
            if plain {
                format!("{k}={v}")
            } else if v.contains('\'') {
                format!("{k}=\"{v}\"")
            } else {
                format!("{k}='{v}'")
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Parses a JSON body, naming the resource on failure.
pub(crate) fn parse<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, FusionError> {
    serde_json::from_slice(body).map_err(|e| FusionError::InvalidResponse(format!("{what}: {e}")))
}

/// Body of `POST inventoryStagedTransactions`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StagedBody<'a> {
    pub organization_code: &'a str,
    pub item_number: &'a str,
    pub subinventory_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_subinventory: Option<&'a str>,
    pub transaction_type_name: &'static str,
    pub transaction_quantity: Box<RawValue>,
    pub transaction_unit_of_measure: &'a str,
    pub transaction_date: String,
    pub source_code: &'a str,
    pub source_header_id: &'a str,
    pub source_line_id: u32,
    pub transaction_reference: String,
    pub transaction_mode: i64,
    #[serde(rename = "lots", skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<StagedLotBody<'a>>,
    #[serde(rename = "serials", skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<StagedSerialBody<'a>>,
}

/// A `lots` child of a staged transaction.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StagedLotBody<'a> {
    pub lot_number: &'a str,
    pub transaction_quantity: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot_expiration_date: Option<String>,
}

/// A `serials` child of a staged transaction (one serial per row: from = to).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StagedSerialBody<'a> {
    pub fm_serial_number: &'a str,
    pub to_serial_number: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_read_exactly() {
        #[derive(Deserialize)]
        struct W {
            a: Qty,
            b: Qty,
            c: Qty,
            d: Option<Qty>,
            e: Qty,
        }
        let w: W = serde_json::from_str(r#"{"a":0.1,"b":"12.500","c":1e-5,"d":null,"e":123456789.123456789}"#).unwrap();
        assert_eq!(w.a.0.to_string(), "0.1");
        assert_eq!(w.b.0.to_string(), "12.500");
        assert_eq!(w.c.0, Decimal::new(1, 5));
        assert!(w.d.is_none());
        assert_eq!(w.e.0.to_string(), "123456789.123456789");
    }

    #[test]
    fn children_parse_as_arrays_or_collections() {
        #[derive(Deserialize)]
        struct W {
            #[serde(default)]
            s: Child<SerialWire>,
        }
        let a: W = serde_json::from_str(r#"{"s":[{"SerialNumber":"A"}]}"#).unwrap();
        assert_eq!(a.s.items.len(), 1);
        let b: W = serde_json::from_str(r#"{"s":{"items":[{"SerialNumber":"A"}],"hasMore":true,"count":1}}"#).unwrap();
        assert!(b.s.truncated && b.s.items.len() == 1);
        let c: W = serde_json::from_str(r#"{}"#).unwrap();
        assert!(c.s.items.is_empty());
    }

    #[test]
    fn a_child_keeps_its_paging_and_its_self_link_and_skips_other_keys() {
        #[derive(Deserialize)]
        struct W {
            s: Child<SerialWire>,
        }
        let body = r#"{"s":{"count":1,"items":[{"SerialNumber":"A"}],"hasMore":false,"limit":25,"offset":0,
            "links":[{"rel":"canonical","href":"x"},{"rel":"self","href":"https:\/\/pod\/child\/serials","name":"serials"},
            {"rel":"self","href":"second"}],"extra":{"nested":[1,2]}}}"#;
        let w: W = serde_json::from_str(body).unwrap();
        assert_eq!(w.s.items.len(), 1);
        assert!(w.s.paged && w.s.has_more_given && !w.s.truncated);
        assert_eq!(w.s.limit, Some(25));
        assert_eq!(w.s.href.as_deref(), Some("https://pod/child/serials"));
        let none: SelfLink = serde_json::from_str(r#"[{"rel":"canonical","href":"x"},{"href":"y"}]"#).unwrap();
        assert_eq!(none.0, None);
        assert!(serde_json::from_str::<SelfLink>(r#"[{"rel":1}]"#).is_err());
    }

    #[test]
    fn q_quotes_values_with_spaces() {
        assert_eq!(q(&[("A", "X1"), ("B", "ITM 1")]), "A=X1;B='ITM 1'");
        assert_eq!(q(&[("R", "T-1#2")]), "R=T-1#2");
    }

    #[test]
    fn numbers_serialise_as_exact_text() {
        assert_eq!(number(Decimal::new(-12500, 3)).get(), "-12.5");
        assert_eq!(number(Decimal::new(7, 0)).get(), "7");
    }
}
