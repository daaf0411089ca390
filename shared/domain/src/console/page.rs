//! Paged reads: a [`PageRequest`] (limit and an opaque [`Cursor`]) in, a [`PageOf`] out.
//!
//! A cursor is whatever the store needs to continue (DynamoDB's `LastEvaluatedKey`, encoded);
//! callers pass it back unchanged and never parse it. A cursor that a store cannot read
//! answers a bad request, never a wrong page.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a store's `StoreError::Corrupt` message starts when a cursor does not decode (the
/// console answers it as a bad request, not a server fault).
pub const BAD_CURSOR: &str = "unreadable cursor";

/// An opaque position in a list, handed out with one page and passed back for the next.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a store's encoded position (stores only).
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(encoded.into())
    }

    /// The encoded position (stores only).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Cursors are opaque; their text may still reveal keys, so Debug shows only its length.
impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({} chars)", self.0.len())
    }
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Rows wanted; clamped to `1..=PageRequest::MAX_LIMIT` by [`PageRequest::limit`].
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Where to continue; `None` for the first page.
    #[serde(default)]
    pub cursor: Option<Cursor>,
}

fn default_limit() -> usize {
    PageRequest::DEFAULT_LIMIT
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(Self::DEFAULT_LIMIT)
    }
}

impl PageRequest {
    /// Rows per page when the caller does not say.
    pub const DEFAULT_LIMIT: usize = 50;
    /// Most rows per page.
    pub const MAX_LIMIT: usize = 500;

    /// The first page of `limit` rows.
    pub fn first(limit: usize) -> Self {
        Self { limit, cursor: None }
    }

    /// The page after `cursor`.
    pub fn after(limit: usize, cursor: Cursor) -> Self {
        Self {
            limit,
            cursor: Some(cursor),
        }
    }

    /// The limit clamped to `1..=MAX_LIMIT`.
    pub fn limit(&self) -> usize {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

/// One page of rows and where the next one starts (`None`: this was the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageOf<T> {
    /// Rows, in the list's order.
    pub items: Vec<T>,
    /// Cursor of the next page.
    pub next: Option<Cursor>,
}

impl<T> PageOf<T> {
    /// A last page.
    pub fn last(items: Vec<T>) -> Self {
        Self { items, next: None }
    }

    /// The same page with each row mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> PageOf<U> {
        PageOf {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    /// Pages an in-memory list: rows after the position in `request`'s cursor (a decimal
    /// offset, as fakes use), `request.limit()` of them.
    pub fn slice(rows: Vec<T>, request: &PageRequest) -> Result<Self, String> {
        let start = match &request.cursor {
            None => 0,
            Some(c) => c
                .as_str()
                .parse::<usize>()
                .map_err(|_| "unreadable cursor".to_string())?,
        };
        let limit = request.limit();
        let total = rows.len();
        let items: Vec<T> = rows.into_iter().skip(start).take(limit).collect();
        let end = start.saturating_add(items.len());
        let next = (end < total).then(|| Cursor::new(end.to_string()));
        Ok(Self { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slicing_walks_every_row_once_and_ends_without_a_cursor() {
        let rows: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut req = PageRequest::first(3);
        loop {
            let page = PageOf::slice(rows.clone(), &req).unwrap();
            seen.extend(page.items);
            match page.next {
                Some(c) => req = PageRequest::after(3, c),
                None => break,
            }
        }
        assert_eq!(seen, rows);
        assert!(PageOf::slice(rows, &PageRequest::after(3, Cursor::new("x"))).is_err());
        assert_eq!(PageRequest::first(0).limit(), 1);
        assert_eq!(PageRequest::first(10_000).limit(), PageRequest::MAX_LIMIT);
    }
}
