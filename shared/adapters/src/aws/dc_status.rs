//! [`DynamoDcStatus`]: each DC's go-live status on the `DcStatusTable` of `infra/template.yaml`.
//!
//! One item per DC: `dc` (key), `status` (`not_started` ... `maintenance`), `changed_by`,
//! `changed_at` (RFC 3339), `reason` and `watermark` (both optional), `version` (incremented on
//! every change). No TTL: the table is the DCs' history-free current state, 12 to a few hundred
//! rows. A DC without a row reads as `not_started`.

use super::error::{store_error, WriteCounter};
use super::item::{n, s, time, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use domain::console::UserId;
use domain::golive::{DcStatus, DcStatusRecord, OutboxWatermark};
use domain::ids::DcCode;
use domain::ports::{DcStatusBoard, StoreError};
use std::collections::HashMap;

/// What reading one DC's status needs (`get`: a consistent GetItem). The reconciliation's.
pub const READ_PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:GetItem"]);

/// What reading every DC's status needs (`all`: a consistent Scan). The fan-out's.
pub const SCAN_PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:Scan"]);

/// What moving a DC needs (`get` then a conditional `put`). The baseline function's and the
/// operator's.
pub const WRITE_PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:GetItem", "dynamodb:PutItem"]);

/// The DC status table in DynamoDB. Every change is one conditional put on the version read.
#[derive(Debug, Clone)]
pub struct DynamoDcStatus {
    client: Client,
    table: String,
    writes: WriteCounter,
}

impl DynamoDcStatus {
    /// The status table `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }
}

fn to_item(r: &DcStatusRecord) -> Item {
    let mut item = HashMap::from([
        ("dc".to_string(), s(r.dc.as_str())),
        ("status".to_string(), s(r.status.as_str())),
        ("changed_by".to_string(), s(r.changed_by.as_str())),
        ("changed_at".to_string(), time(r.changed_at)),
        ("version".to_string(), n(r.version)),
    ]);
    if let Some(reason) = &r.reason {
        item.insert("reason".to_string(), s(reason.as_str()));
    }
    if let Some(w) = r.watermark {
        item.insert("watermark".to_string(), n(w.0));
    }
    item
}

fn from_item(item: &Item) -> Result<DcStatusRecord, StoreError> {
    let what = format!(
        "DC status {}",
        item.get("dc").and_then(|v| v.as_s().ok()).map_or("?", String::as_str)
    );
    let r = Reader::new(item, &what);
    Ok(DcStatusRecord {
        dc: r.parsed("dc", DcCode::parse)?,
        status: r.parsed("status", str::parse::<DcStatus>)?,
        changed_by: r.parsed("changed_by", UserId::parse)?,
        changed_at: r.time("changed_at")?,
        reason: r.opt_str("reason")?.map(str::to_string),
        watermark: r.opt_num::<u64>("watermark")?.map(OutboxWatermark),
        version: r.num("version")?,
    })
}

impl DcStatusBoard for DynamoDcStatus {
    async fn get(&self, dc: &DcCode) -> Result<Option<DcStatusRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("dc", s(dc.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {} {dc}", self.table), e))?;
        out.item().map(from_item).transpose()
    }

    async fn all(&self) -> Result<Vec<DcStatusRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            // Why a loop: Scan pages at 1 MB; a few hundred status rows fit one page, but a page
            // boundary must not drop DCs.
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("Scan {}", self.table), e))?;
            for item in out.items() {
                records.push(from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        records.sort_by(|a, b| a.dc.cmp(&b.dc));
        Ok(records)
    }

    async fn put(&self, next: &DcStatusRecord, expected_version: u64) -> Result<(), StoreError> {
        self.writes.record();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(next)));
        let put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(dc)")
        } else {
            put.condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(expected_version))
        };
        put.send().await.map(|_| ()).map_err(
            |e| match store_error(&format!("PutItem {} {}", self.table, next.dc), e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "DC {} status changed since it was read (expected version {expected_version}); read it again",
                    next.dc
                )),
                other => other,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_record_round_trips_through_its_item() {
        let mut r = DcStatusRecord::not_started(DcCode::parse("DC07").unwrap(), Utc::now()).unwrap();
        assert_eq!(from_item(&to_item(&r)).unwrap(), r);
        r.status = DcStatus::Maintenance;
        r.reason = Some("Fusion patching".into());
        r.watermark = Some(OutboxWatermark(1_234));
        r.version = 9;
        assert_eq!(from_item(&to_item(&r)).unwrap(), r);
    }

    #[test]
    fn an_unknown_status_is_corrupt() {
        let r = DcStatusRecord::not_started(DcCode::parse("DC07").unwrap(), Utc::now()).unwrap();
        let mut item = to_item(&r);
        item.insert("status".into(), s("LIVE"));
        assert!(matches!(from_item(&item), Err(StoreError::Corrupt(m)) if m.contains("DC status DC07")));
    }
}
