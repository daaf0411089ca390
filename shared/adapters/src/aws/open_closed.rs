//! [`OpenClosedTable`]: the one DynamoDB shape behind review tasks and incidents. One item per
//! `(dc, <key attribute>)` with `status` `open` | `closed`; at most one open record per key by
//! construction (one item per key); a closed record is replaced when the key opens again, and
//! expires through TTL (`expires_at`) a retention period after it closed.

use super::error::{store_error, WriteCounter};
use super::item::{expires, s, time, Item};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::DcCode;
use domain::ports::StoreError;
use std::collections::HashMap;

/// The IAM actions an [`OpenClosedTable`] needs: `create_open` puts, `update_open` and
/// `close` update, `open_items` queries. (`get` is an operator's and tests' read: no role
/// grants it.)
pub(crate) const ACTIONS: &[&str] = &["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"];

/// A table of open and closed records keyed by `(dc, key_attribute)`.
#[derive(Debug, Clone)]
pub(crate) struct OpenClosedTable {
    client: Client,
    table: String,
    writes: WriteCounter,
    /// The range-key attribute (`task_key`, `incident_key`).
    key_attribute: &'static str,
    /// How long a closed record is kept before TTL removes it.
    retention: TimeDelta,
    /// Whether records carry `updated_at` (closing sets it too).
    tracks_updates: bool,
}

impl OpenClosedTable {
    /// Records on `table` keyed by `key_attribute`, closed ones kept for `retention`; with
    /// `tracks_updates`, closing also sets `updated_at`. Writes are counted in `writes`.
    pub(crate) fn new(
        client: Client,
        table: impl Into<String>,
        writes: WriteCounter,
        key_attribute: &'static str,
        retention: TimeDelta,
        tracks_updates: bool,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
            key_attribute,
            retention,
            tracks_updates,
        }
    }

    /// The SDK client (for the console's guarded updates in the owning module).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Records one write request.
    pub(crate) fn count_write(&self) {
        self.writes.record();
    }

    /// One page of `dc`'s records passing `filter` (a FilterExpression over `#status` and the
    /// names in `names`, with `values`), in key order; the cursor continues it. DynamoDB applies
    /// the filter after the limit, so a page may hold fewer rows than asked while a next
    /// cursor exists.
    pub(crate) async fn page(
        &self,
        dc: &DcCode,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
        page: &domain::console::PageRequest,
    ) -> Result<(Vec<Item>, Option<domain::console::Cursor>), StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("dc = :dc")
            .filter_expression(filter)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":dc", s(dc.as_str()))
            .limit(super::cursor::limit(page))
            .set_exclusive_start_key(super::cursor::decode(page)?);
        for (k, v) in names {
            query = query.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            query = query.expression_attribute_values(*k, v.clone());
        }
        let out = query
            .send()
            .await
            .map_err(|e| store_error(&format!("Query {}", self.table), e))?;
        let next = super::cursor::encode(out.last_evaluated_key())?;
        Ok((out.items().to_vec(), next))
    }

    /// How many of `dc`'s records are open (Query with `Select COUNT`).
    pub(crate) async fn count_open(&self, dc: &DcCode) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("dc = :dc")
                .filter_expression("#status = :open")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":dc", s(dc.as_str()))
                .expression_attribute_values(":open", s("open"))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("Query {}", self.table), e))?;
            total += u64::try_from(out.count()).unwrap_or(0);
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(total),
            }
        }
    }

    pub(crate) fn key(&self, dc: &DcCode, key: &str) -> Item {
        HashMap::from([
            ("dc".to_string(), s(dc.as_str())),
            (self.key_attribute.to_string(), s(key)),
        ])
    }

    /// The stored record for `(dc, key)`, open or closed (consistent read).
    pub(crate) async fn get(&self, dc: &DcCode, key: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(dc, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        Ok(out.item().cloned())
    }

    /// Puts an open record with `attributes` where none exists or the last one is closed;
    /// `Conflict` when one is open.
    pub(crate) async fn create_open(&self, dc: &DcCode, key: &str, attributes: Item) -> Result<(), StoreError> {
        let mut item = self.key(dc, key);
        item.insert("status".to_string(), s("open"));
        item.extend(attributes);
        self.writes.record();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!(
                "attribute_not_exists({}) OR #status = :closed",
                self.key_attribute
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", s("closed"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&format!("PutItem {} {dc}/{key}", self.table), e))
    }

    /// Sets `attributes` on the open record; `Conflict` when none is open.
    pub(crate) async fn update_open(
        &self,
        dc: &DcCode,
        key: &str,
        attributes: &[(&str, AttributeValue)],
    ) -> Result<(), StoreError> {
        let set: Vec<String> = attributes.iter().map(|(name, _)| format!("{name} = :{name}")).collect();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(dc, key)))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s("open"));
        for (name, value) in attributes {
            update = update.expression_attribute_values(format!(":{name}"), value.clone());
        }
        self.writes.record();
        update
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&format!("UpdateItem {} {dc}/{key}", self.table), e))
    }

    /// Closes the open record with `reason` at `now` (it expires `retention` later);
    /// `Ok(false)` when none was open.
    pub(crate) async fn close(
        &self,
        dc: &DcCode,
        key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let set = if self.tracks_updates {
            "SET #status = :closed, closed_reason = :reason, closed_at = :now, updated_at = :now, \
             expires_at = :expires"
        } else {
            "SET #status = :closed, closed_reason = :reason, closed_at = :now, expires_at = :expires"
        };
        self.writes.record();
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(dc, key)))
            .update_expression(set)
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s("open"))
            .expression_attribute_values(":closed", s("closed"))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":expires", expires(now, self.retention))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) => match store_error(&format!("UpdateItem {} {dc}/{key}", self.table), e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Every open record of `dc` (Query on the hash key with a filter; closed records are
    /// read too until TTL removes them).
    pub(crate) async fn open_items(&self, dc: &DcCode) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("dc = :dc")
                .filter_expression("#status = :open")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":dc", s(dc.as_str()))
                .expression_attribute_values(":open", s("open"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("Query {}", self.table), e))?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }
}
