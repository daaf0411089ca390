//! [`DynamoItemCache`]: Fusion item master facts shared by every container, on the
//! `ItemCacheTable` of `infra/template.yaml`, behind the Fusion client's in-process cache
//! (`adapters::fusion::item_cache::SharedItemCache`).
//!
//! Item: `dc_item` (`<dc>#<item number>`, as the lot map), `lot_controlled`,
//! `serial_controlled` (booleans), `primary_uom`, `uom_scale`, `cached_at`, and `expires_at`
//! (epoch seconds, the table's TTL attribute). DynamoDB removes expired rows only eventually, so
//! reads drop rows whose `expires_at` has passed themselves.
//!
//! Requests: a page's items are read with `BatchGetItem` (100 keys a request) and written with
//! `BatchWriteItem` (25 puts a request); keys DynamoDB leaves unprocessed are retried twice, then
//! count as misses (reads) or are dropped (writes: a cache may forget). An item Fusion refused
//! as unknown is deleted (`DeleteItem`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::{DcCode, ItemNumber, Uom};
use domain::ports::StoreError;
use domain::txn::ItemInfo;
use futures::future::BoxFuture;

use super::error::{store_error, WriteCounter};
use super::item::{expires, n, s, time, Item, Reader, EXPIRES_AT};
use super::permissions::Permissions;
use crate::fusion::item_cache::SharedItemCache;

/// The IAM actions the calls below need: batch reads and writes of a page's items, and the
/// delete of an entry Fusion contradicted.
pub const PERMISSIONS: Permissions = Permissions::on_resource(&[
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
]);

/// Keys per `BatchGetItem` (DynamoDB's limit).
const READ_BATCH: usize = 100;
/// Puts per `BatchWriteItem` (DynamoDB's limit).
const WRITE_BATCH: usize = 25;
/// Retries of the keys DynamoDB left unprocessed.
const UNPROCESSED_RETRIES: usize = 2;

/// The item master cache in DynamoDB; entries live `ttl` (default one day: item control
/// flags and UOMs change rarely, and a refusal of an item as unknown removes its entry).
#[derive(Debug, Clone)]
pub struct DynamoItemCache {
    client: Client,
    table: String,
    ttl: TimeDelta,
    writes: WriteCounter,
}

impl DynamoItemCache {
    /// Default lifetime of an entry.
    pub const DEFAULT_TTL: TimeDelta = TimeDelta::hours(24);

    /// A cache on `table` whose entries live `ttl`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, ttl: TimeDelta, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
            writes,
        }
    }

    fn key(dc: &DcCode, item: &ItemNumber) -> Item {
        HashMap::from([("dc_item".to_string(), s(format!("{dc}#{item}")))])
    }

    fn row(&self, dc: &DcCode, info: &ItemInfo, now: DateTime<Utc>) -> Item {
        let mut row = Self::key(dc, &info.item);
        row.insert("lot_controlled".into(), AttributeValue::Bool(info.lot_controlled));
        row.insert("serial_controlled".into(), AttributeValue::Bool(info.serial_controlled));
        row.insert("primary_uom".into(), s(info.primary_uom.as_str()));
        row.insert("uom_scale".into(), n(info.uom_scale));
        row.insert("cached_at".into(), time(now));
        row.insert(EXPIRES_AT.into(), expires(now, self.ttl));
        row
    }

    /// The entry in `stored`, or `None` when it has expired.
    fn info(stored: &Item, now: DateTime<Utc>) -> Result<Option<ItemInfo>, StoreError> {
        let what = "item cache row";
        let r = Reader::new(stored, what);
        if r.num::<i64>(EXPIRES_AT)? <= now.timestamp() {
            return Ok(None);
        }
        let dc_item = r.str("dc_item")?;
        let (_, item) = dc_item
            .split_once('#')
            .ok_or_else(|| r.corrupt("dc_item", "no '#' between DC and item"))?;
        Ok(Some(ItemInfo {
            item: r.parsed("dc_item", |_| ItemNumber::parse(item))?,
            lot_controlled: r.opt_bool("lot_controlled")?.unwrap_or(false),
            serial_controlled: r.opt_bool("serial_controlled")?.unwrap_or(false),
            primary_uom: r.parsed("primary_uom", Uom::parse)?,
            uom_scale: r.num("uom_scale")?,
        }))
    }

    async fn get_chunk(
        &self,
        dc: &DcCode,
        items: &[ItemNumber],
        now: DateTime<Utc>,
    ) -> Result<Vec<ItemInfo>, StoreError> {
        let keys: Vec<Item> = items.iter().map(|i| Self::key(dc, i)).collect();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .map_err(|e| StoreError::Corrupt(format!("BatchGetItem {}: {e}", self.table)))?;
        let mut out = Vec::with_capacity(items.len());
        for _ in 0..=UNPROCESSED_RETRIES {
            let answer = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| store_error(&format!("BatchGetItem {}", self.table), e))?;
            for stored in answer
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                if let Some(info) = Self::info(stored, now)? {
                    out.push(info);
                }
            }
            match answer.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => request = rest.clone(),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn put_chunk(&self, dc: &DcCode, infos: &[ItemInfo], now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut requests: Vec<WriteRequest> = infos
            .iter()
            .map(|info| {
                PutRequest::builder()
                    .set_item(Some(self.row(dc, info, now)))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| StoreError::Corrupt(format!("BatchWriteItem {}: {e}", self.table)))
            })
            .collect::<Result<_, _>>()?;
        for _ in 0..=UNPROCESSED_RETRIES {
            self.writes.record();
            let answer = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| store_error(&format!("BatchWriteItem {}", self.table), e))?;
            match answer.unprocessed_items().and_then(|u| u.get(&self.table)) {
                Some(rest) if !rest.is_empty() => requests = rest.clone(),
                _ => return Ok(()),
            }
        }
        tracing::warn!(table = %self.table, dc = %dc, "item cache rows left unwritten after retries; they are looked up again");
        Ok(())
    }
}

impl SharedItemCache for DynamoItemCache {
    fn get_many<'a>(
        &'a self,
        dc: &'a DcCode,
        items: &'a [ItemNumber],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ItemInfo>, StoreError>> {
        Box::pin(async move {
            // Why: BatchGetItem refuses a request that names one key twice.
            let mut items: Vec<&ItemNumber> = items.iter().collect();
            items.sort();
            items.dedup();
            let items: Vec<ItemNumber> = items.into_iter().cloned().collect();
            let mut out = Vec::with_capacity(items.len());
            for chunk in items.chunks(READ_BATCH) {
                out.extend(self.get_chunk(dc, chunk, now).await?);
            }
            Ok(out)
        })
    }

    fn put_many<'a>(
        &'a self,
        dc: &'a DcCode,
        infos: &'a [ItemInfo],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for chunk in infos.chunks(WRITE_BATCH) {
                self.put_chunk(dc, chunk, now).await?;
            }
            Ok(())
        })
    }

    fn forget<'a>(&'a self, dc: &'a DcCode, item: &'a ItemNumber) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.writes.record();
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(dc, item)))
                .send()
                .await
                .map_err(|e| store_error(&format!("DeleteItem {} {dc}/{item}", self.table), e))?;
            Ok(())
        })
    }
}
