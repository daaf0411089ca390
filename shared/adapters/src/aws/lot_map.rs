//! [`DynamoLotMap`]: WMS lot id -> Fusion lot number on the `LotMapTable` of
//! `infra/template.yaml`.
//!
//! Item: `dc_item` (`<dc>#<item number>`; DC codes never contain `#`), `wms_lot`,
//! `fusion_lot`, `expiration` (`YYYY-MM-DD`, optional), `created_at`. Kept without TTL.

use super::error::{store_error, WriteCounter};
use super::item::{s, time, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use chrono::{NaiveDate, Utc};
use domain::ids::{DcCode, ItemNumber, LotNumber};
use domain::ports::{LotMap, MappedLot, StoreError};
use std::collections::HashMap;

/// The IAM actions the [`LotMap`] calls below need: `get` gets, `put_if_absent` puts (and on a
/// conflict gets).
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:GetItem", "dynamodb:PutItem"]);

/// The lot map in DynamoDB: a mapping is written once (conditional put) and never changed.
#[derive(Debug, Clone)]
pub struct DynamoLotMap {
    client: Client,
    table: String,
    writes: WriteCounter,
}

impl DynamoLotMap {
    /// A lot map on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }

    fn key(dc: &DcCode, item: &ItemNumber, wms_lot: &LotNumber) -> Item {
        HashMap::from([
            ("dc_item".to_string(), s(format!("{dc}#{item}"))),
            ("wms_lot".to_string(), s(wms_lot.as_str())),
        ])
    }
}

impl LotMap for DynamoLotMap {
    async fn get(&self, dc: &DcCode, item: &ItemNumber, wms_lot: &LotNumber) -> Result<Option<MappedLot>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(dc, item, wms_lot)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        let Some(stored) = out.item() else { return Ok(None) };
        let what = format!("lot map {dc}/{item}/{wms_lot}");
        let r = Reader::new(stored, &what);
        Ok(Some(MappedLot {
            fusion_lot: r.parsed("fusion_lot", LotNumber::parse)?,
            expiration: r
                .opt_str("expiration")?
                .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| r.corrupt("expiration", e)))
                .transpose()?,
        }))
    }

    async fn put_if_absent(
        &self,
        dc: &DcCode,
        item: &ItemNumber,
        wms_lot: &LotNumber,
        mapped: &MappedLot,
    ) -> Result<MappedLot, StoreError> {
        let mut row = Self::key(dc, item, wms_lot);
        row.insert("fusion_lot".into(), s(mapped.fusion_lot.as_str()));
        row.insert("created_at".into(), time(Utc::now()));
        if let Some(expiration) = mapped.expiration {
            row.insert("expiration".into(), s(expiration.format("%Y-%m-%d").to_string()));
        }
        self.writes.record();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(row))
            .condition_expression("attribute_not_exists(wms_lot)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(mapped.clone()),
            Err(e) => match store_error(&format!("PutItem {} {dc}/{item}/{wms_lot}", self.table), e) {
                StoreError::Conflict(_) => self.get(dc, item, wms_lot).await?.ok_or_else(|| {
                    StoreError::Conflict(format!("lot mapping {dc}/{item}/{wms_lot} existed, then vanished"))
                }),
                other => Err(other),
            },
        }
    }
}
