//! [`DynamoIncidents`]: alert-tier incidents (and the holds they placed) on the
//! `IncidentTable` of `infra/template.yaml`.
//!
//! One item per `(dc, incident_key)`: `status` (`open` | `closed`), `item`, `incident_id`
//! (the hold reference), `opened_at`, and once closed `closed_at`, `closed_reason` and
//! `expires_at` (TTL, 90 days). A new incident may open on a key whose last one is closed.

use super::error::{store_error, WriteCounter};
use super::item::{expires, s, time, Item, Reader};
use super::permissions::Permissions;
use super::review_tasks::query_open;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::{DcCode, ItemNumber};
use domain::ports::{Incident, Incidents, StoreError};
use std::collections::HashMap;

/// How long closed incidents are kept before TTL removes them.
pub const CLOSED_RETENTION: TimeDelta = TimeDelta::days(90);

/// The IAM actions the [`Incidents`] calls below need: `open_if_absent` puts, `close` updates,
/// `open_incidents` queries the table (`query_open`, shared with the review tasks).
pub const PERMISSIONS: Permissions =
    Permissions::on_resource(&["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]);

/// Incidents in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoIncidents {
    client: Client,
    table: String,
    writes: WriteCounter,
}

impl DynamoIncidents {
    /// Incidents on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }

    fn key(dc: &DcCode, key: &str) -> Item {
        HashMap::from([("dc".to_string(), s(dc.as_str())), ("incident_key".to_string(), s(key))])
    }
}

fn incident_from_item(item: &Item) -> Result<Incident, StoreError> {
    let what = format!(
        "incident {}/{}",
        item.get("dc").and_then(|v| v.as_s().ok()).map_or("?", String::as_str),
        item.get("incident_key")
            .and_then(|v| v.as_s().ok())
            .map_or("?", String::as_str)
    );
    let r = Reader::new(item, &what);
    Ok(Incident {
        dc: r.parsed("dc", DcCode::parse)?,
        key: r.str("incident_key")?.to_string(),
        item: r.parsed("item", ItemNumber::parse)?,
        id: r.str("incident_id")?.to_string(),
        opened_at: r.time("opened_at")?,
    })
}

impl Incidents for DynamoIncidents {
    async fn open_if_absent(&self, incident: &Incident) -> Result<bool, StoreError> {
        let mut item = Self::key(&incident.dc, &incident.key);
        item.extend([
            ("status".to_string(), s("open")),
            ("item".to_string(), s(incident.item.as_str())),
            ("incident_id".to_string(), s(incident.id.as_str())),
            ("opened_at".to_string(), time(incident.opened_at)),
        ]);
        self.writes.record();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(incident_key) OR #status = :closed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", s("closed"))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match store_error(&format!("PutItem {} {}/{}", self.table, incident.dc, incident.key), e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn close(&self, dc: &DcCode, key: &str, reason: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.writes.record();
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(dc, key)))
            .update_expression(
                "SET #status = :closed, closed_reason = :reason, closed_at = :now, expires_at = :expires",
            )
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":open", s("open"))
            .expression_attribute_values(":closed", s("closed"))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":expires", expires(now, CLOSED_RETENTION))
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

    async fn open_incidents(&self, dc: &DcCode) -> Result<Vec<Incident>, StoreError> {
        let items = query_open(&self.client, &self.table, dc).await?;
        items.iter().map(incident_from_item).collect()
    }
}
