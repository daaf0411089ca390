//! REST framework plumbing shared by every resource: the error body, the collection envelope,
//! query-by-example `q` parsing, and exact decimal <-> JSON conversion.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// First REST framework version that returns expanded children as paged collections
/// (fact sheet §1).
pub const PAGED_CHILDREN_FROM: u32 = 3;

/// First REST framework version whose error bodies are JSON (`title`, `status`,
/// `o:errorDetails`); older versions answer plain text (fact sheet §1, §4).
pub const JSON_ERRORS_FROM: u32 = 4;

/// A Fusion-shaped error: rendered as
/// `{"title","status","o:errorDetails":[{"detail","o:errorCode","o:errorPath"}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Human readable detail text.
    pub detail: String,
    /// Simulator error code, e.g. `INV-1002`.
    pub code: String,
    /// Attribute path the error refers to (may be empty).
    pub path: String,
}

impl ApiError {
    /// A 400 validation error with `code` and `detail`.
    pub fn bad(code: &str, detail: impl Into<String>) -> Self {
        Self::new(400, code, detail)
    }

    /// An error with any status.
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            code: code.to_string(),
            path: String::new(),
        }
    }

    /// Sets the `o:errorPath`.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// A 404 for a resource path or row that does not exist.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(404, "REST-404", what)
    }

    /// The JSON error body.
    pub fn body(&self) -> Value {
        json!({
            "title": title_for(self.status),
            "status": self.status.to_string(),
            "o:errorDetails": [{
                "detail": self.detail,
                "o:errorCode": self.code,
                "o:errorPath": self.path,
            }]
        })
    }
}

/// The reason phrase used as `title` for a status.
pub fn title_for(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Result type of every resource operation.
pub type ApiResult<T> = Result<T, ApiError>;

/// Emits a decimal as an exact JSON number: integers as integers, fractions through the
/// shortest round-trip float form, which reproduces the decimal text for up to 15 significant
/// digits (quantities carry at most 5 decimals).
pub fn num(d: Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Ok(i) = i64::try_from(d) {
            return Value::from(i);
        }
    }
    f64::from_str(&d.to_string())
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Reads a quantity sent as a JSON number or a numeric string.
pub fn parse_decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// Reads an integer sent as a JSON number or numeric string.
pub fn parse_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a scalar as text (strings as-is, numbers formatted); `None` for null/absent.
pub fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parsed collection query parameters.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// Requested page size after capping.
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
    /// `totalResults=true`.
    pub total_results: bool,
    /// `onlyData=true`: no `links`.
    pub only_data: bool,
    /// Expanded children (lower-case names; `all` expands everything).
    pub expand: Vec<String>,
    /// Parsed `q` clauses (attribute -> value).
    pub q: Vec<(String, String)>,
}

impl ListParams {
    /// Parses raw query parameters with the given default and cap for `limit`.
    pub fn parse(params: &[(String, String)], default_limit: usize, max_limit: usize) -> ApiResult<Self> {
        let mut p = ListParams {
            limit: default_limit,
            ..Default::default()
        };
        for (k, v) in params {
            match k.as_str() {
                "limit" => {
                    let n: usize = v.parse().map_err(|_| {
                        ApiError::bad("REST-400", format!("The limit value {v} is not a valid number."))
                    })?;
                    // Oracle silently caps the page size (A-Team: 500) instead of rejecting it.
                    p.limit = n.clamp(1, max_limit.max(1));
                }
                "offset" => {
                    p.offset = v.parse().map_err(|_| {
                        ApiError::bad("REST-400", format!("The offset value {v} is not a valid number."))
                    })?;
                }
                "totalResults" => p.total_results = v.eq_ignore_ascii_case("true"),
                "onlyData" => p.only_data = v.eq_ignore_ascii_case("true"),
                "expand" => {
                    p.expand = v
                        .split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect();
                }
                "q" => p.q = parse_q(v)?,
                _ => {}
            }
        }
        Ok(p)
    }

    /// Whether child `name` is expanded.
    pub fn expands(&self, name: &str) -> bool {
        self.expand.iter().any(|e| e == "all" || e.eq_ignore_ascii_case(name))
    }

    /// Checks every `q` attribute is one of `allowed` (400 otherwise) and returns them as a map.
    pub fn filters(&self, allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
        let mut out = HashMap::new();
        for (k, v) in &self.q {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad(
                    "REST-400-Q",
                    format!("The attribute {k} in the query parameter q is not valid or is not queryable."),
                )
                .at("q"));
            }
            out.insert(k.clone(), v.clone());
        }
        Ok(out)
    }
}

/// Parses the v1 query-by-example form `Attr=Value;Attr2='Value 2'`.
pub fn parse_q(q: &str) -> ApiResult<Vec<(String, String)>> {
    let mut clauses = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in q.chars() {
        match (quote, c) {
            (Some(qc), c) if c == qc => {
                quote = None;
                cur.push(c);
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, ';') => clauses.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(ApiError::bad(
            "REST-400-Q",
            format!("The query parameter q={q} has an unterminated quote."),
        )
        .at("q"));
    }
    clauses.push(cur);
    let mut out = Vec::new();
    for clause in clauses.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        let Some((k, v)) = clause.split_once('=') else {
            return Err(ApiError::bad(
                "REST-400-Q",
                format!("The query parameter q clause \"{clause}\" is not of the form Attribute=Value."),
            )
            .at("q"));
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"')))
        {
            &v[1..v.len() - 1]
        } else {
            v
        };
        out.push((k.trim().to_string(), v.to_string()));
    }
    Ok(out)
}

/// How `hasMore` is reported, to exercise clients' stop rule (`count < limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HasMoreLies {
    /// Truthful `hasMore`.
    #[default]
    None,
    /// `hasMore` is always `true`, including on the last page.
    TrueOnLastPage,
    /// `hasMore` is left out of the envelope.
    Omit,
}

/// Builds the collection envelope from one page of rows.
pub fn envelope(rows: Vec<Value>, total: usize, p: &ListParams, self_href: &str, lies: HasMoreLies) -> Value {
    let count = rows.len();
    let mut m = Map::new();
    m.insert("items".into(), Value::Array(rows));
    m.insert("count".into(), Value::from(count));
    match lies {
        HasMoreLies::None => {
            m.insert("hasMore".into(), Value::Bool(p.offset + count < total));
        }
        HasMoreLies::TrueOnLastPage => {
            m.insert("hasMore".into(), Value::Bool(true));
        }
        HasMoreLies::Omit => {}
    }
    m.insert("limit".into(), Value::from(p.limit));
    m.insert("offset".into(), Value::from(p.offset));
    if p.total_results {
        m.insert("totalResults".into(), Value::from(total));
    }
    if !p.only_data {
        m.insert(
            "links".into(),
            json!([{"rel": "self", "href": self_href, "name": "", "kind": "collection"}]),
        );
    }
    Value::Object(m)
}

/// Pages an already-materialised row list.
pub fn page_of(rows: Vec<Value>, p: &ListParams) -> (Vec<Value>, usize) {
    let total = rows.len();
    let page = rows.into_iter().skip(p.offset).take(p.limit).collect();
    (page, total)
}

/// A `links` array with one self link (omitted when `onlyData`).
pub fn self_link(href: String, name: &str) -> Value {
    json!([{"rel": "self", "href": href, "name": name, "kind": "item"}])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn q_parses_quoted_values_and_semicolons_inside_quotes() {
        let q = parse_q("OrganizationCode=DC01;ItemNumber='A;B';SourceCode=\"WMS X\"").unwrap();
        assert_eq!(
            q,
            vec![
                ("OrganizationCode".into(), "DC01".into()),
                ("ItemNumber".into(), "A;B".into()),
                ("SourceCode".into(), "WMS X".into())
            ]
        );
        assert!(parse_q("Foo").is_err());
    }

    #[test]
    fn decimals_round_trip_exactly_as_json_numbers() {
        for s in ["1.005", "0.00001", "12345.12345", "7", "-3.25", "1999.999"] {
            let d = Decimal::from_str(s).unwrap();
            let v = num(d);
            assert_eq!(v.to_string(), d.normalize().to_string());
            assert_eq!(parse_decimal(&v).unwrap(), d);
        }
        assert_eq!(parse_decimal(&Value::from("2.50")).unwrap(), Decimal::new(25, 1));
    }
}
