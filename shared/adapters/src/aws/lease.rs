//! [`DynamoDcLease`]: per-DC leases on the `LeaseTable` of `infra/template.yaml`.
//!
//! Item: `lease_id` (`dc#<dc>`), `owner`, `expires_at_iso` (RFC 3339, compared as text),
//! `acquired_at`, and `expires_at` (TTL, a day after the lease lapses, only to sweep rows of
//! DCs that stopped syncing).

use super::error::{store_error, WriteCounter};
use super::item::{expires, iso, s, time};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::DcCode;
use domain::ports::{DcLease, StoreError};

/// How long after its expiry an abandoned lease row is swept by TTL.
const SWEEP_AFTER: TimeDelta = TimeDelta::days(1);

/// The IAM actions the [`DcLease`] calls below need: `acquire` puts, `release` deletes.
/// [`DynamoDcLease::holder`] (a GetItem) is an operator's and tests' read, not the functions':
/// no role grants it.
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:PutItem", "dynamodb:DeleteItem"]);

/// Per-DC leases in DynamoDB: taking one is a single conditional put that succeeds only if
/// the lease is absent, lapsed, or already held by the same owner (renewal).
#[derive(Debug, Clone)]
pub struct DynamoDcLease {
    client: Client,
    table: String,
    writes: WriteCounter,
}

impl DynamoDcLease {
    /// Leases on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }

    fn lease_id(dc: &DcCode) -> String {
        format!("dc#{dc}")
    }

    /// The current holder of `dc`'s lease and its expiry, if a row exists (it may have lapsed).
    pub async fn holder(&self, dc: &DcCode) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("lease_id", s(Self::lease_id(dc)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        let Some(item) = out.item() else { return Ok(None) };
        let what = format!("lease {dc}");
        let r = super::item::Reader::new(item, &what);
        Ok(Some((r.str("owner")?.to_string(), r.time("expires_at_iso")?)))
    }
}

impl DcLease for DynamoDcLease {
    async fn acquire(
        &self,
        dc: &DcCode,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.writes.record();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("lease_id", s(Self::lease_id(dc)))
            .item("owner", s(owner))
            .item("expires_at_iso", time(until))
            .item("acquired_at", time(now))
            .item("expires_at", expires(until, SWEEP_AFTER))
            .condition_expression("attribute_not_exists(lease_id) OR expires_at_iso <= :now OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", s(iso(now)))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match store_error(&format!("PutItem {} {dc}", self.table), e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn release(&self, dc: &DcCode, owner: &str) -> Result<(), StoreError> {
        self.writes.record();
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("lease_id", s(Self::lease_id(dc)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match delete {
            Ok(_) => Ok(()),
            Err(e) => match store_error(&format!("DeleteItem {} {dc}", self.table), e) {
                StoreError::Conflict(_) => Ok(()),
                other => Err(other),
            },
        }
    }
}
