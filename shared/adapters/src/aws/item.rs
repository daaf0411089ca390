//! DynamoDB item helpers: building attribute values and reading them back with
//! [`StoreError::Corrupt`] for anything missing or malformed.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use domain::ports::StoreError;
use std::collections::HashMap;
use std::str::FromStr;

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// The TTL attribute (epoch seconds) every table with expiring rows uses.
pub(crate) const EXPIRES_AT: &str = "expires_at";

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Fixed-width RFC 3339 with nanoseconds (`2030-01-02T03:04:05.000000006Z`): sorts as text in
/// time order, which range keys and `<` conditions rely on, and reads back exactly.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn time(t: DateTime<Utc>) -> AttributeValue {
    s(iso(t))
}

/// The TTL value `keep` after `t`.
pub(crate) fn expires(t: DateTime<Utc>, keep: TimeDelta) -> AttributeValue {
    n((t + keep).timestamp())
}

/// Reads attributes of one item; errors name the table, the key and the attribute.
pub(crate) struct Reader<'a> {
    item: &'a Item,
    what: &'a str,
}

impl<'a> Reader<'a> {
    /// `what` identifies the row in errors (`"ledger DC01/T1"`).
    pub(crate) fn new(item: &'a Item, what: &'a str) -> Self {
        Self { item, what }
    }

    pub(crate) fn corrupt(&self, attr: &str, problem: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("{}: attribute {attr}: {problem}", self.what))
    }

    pub(crate) fn opt_str(&self, attr: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(self.corrupt(attr, "not a string")),
        }
    }

    pub(crate) fn str(&self, attr: &str) -> Result<&'a str, StoreError> {
        self.opt_str(attr)?.ok_or_else(|| self.corrupt(attr, "missing"))
    }

    pub(crate) fn opt_num<T: FromStr>(&self, attr: &str) -> Result<Option<T>, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        match self.item.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|e| self.corrupt(attr, e)),
            Some(_) => Err(self.corrupt(attr, "not a number")),
        }
    }

    pub(crate) fn num<T: FromStr>(&self, attr: &str) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        self.opt_num(attr)?.ok_or_else(|| self.corrupt(attr, "missing"))
    }

    pub(crate) fn opt_bool(&self, attr: &str) -> Result<Option<bool>, StoreError> {
        match self.item.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::Bool(v)) => Ok(Some(*v)),
            Some(_) => Err(self.corrupt(attr, "not a boolean")),
        }
    }

    pub(crate) fn str_list(&self, attr: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s.clone()),
                    _ => Err(self.corrupt(attr, "list holds a non-string")),
                })
                .collect(),
            Some(_) => Err(self.corrupt(attr, "not a list")),
        }
    }

    pub(crate) fn opt_time(&self, attr: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_str(attr)?
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| self.corrupt(attr, e))
            })
            .transpose()
    }

    pub(crate) fn time(&self, attr: &str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(attr)?.ok_or_else(|| self.corrupt(attr, "missing"))
    }

    /// Parses a string attribute with a domain parser (`DcCode::parse`, ...).
    pub(crate) fn parsed<T, E: std::fmt::Display>(
        &self,
        attr: &str,
        parse: impl FnOnce(&'a str) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        parse(self.str(attr)?).map_err(|e| self.corrupt(attr, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_as_text_and_round_trip() {
        let a = DateTime::from_timestamp(1_900_000_000, 5_000).unwrap_or_default();
        let b = DateTime::from_timestamp(1_900_000_000, 120_000_000).unwrap_or_default();
        assert!(iso(a) < iso(b), "{} {}", iso(a), iso(b));
        assert_eq!(iso(a).len(), iso(b).len());
        let item: Item = [("t".to_string(), time(b))].into_iter().collect();
        assert_eq!(Reader::new(&item, "x").time("t").ok(), Some(b));
    }

    #[test]
    fn missing_and_mistyped_attributes_are_corrupt() {
        let item: Item = [("n".to_string(), s("x"))].into_iter().collect();
        let r = Reader::new(&item, "ledger DC01/T1");
        assert!(matches!(r.str("absent"), Err(StoreError::Corrupt(m)) if m.contains("ledger DC01/T1")));
        assert!(matches!(r.num::<u64>("n"), Err(StoreError::Corrupt(_))));
    }
}
