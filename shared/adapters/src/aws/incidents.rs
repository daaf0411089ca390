//! [`DynamoIncidents`]: alert-tier incidents (and the holds they placed) on the
//! `IncidentTable` of `infra/template.yaml`.
//!
//! One item per `(dc, incident_key)`: `status` (`open` | `closed`), `item`, `incident_id`
//! (the hold reference), `opened_at`, and once closed `closed_at`, `closed_reason` and
//! `expires_at` (TTL, 90 days). A new incident may open on a key whose last one is closed.
//! The table shape is shared with review tasks: `OpenClosedTable` (`aws/open_closed.rs`).

use super::error::WriteCounter;
use super::item::{s, time, Item, Reader};
use super::open_closed::{self, OpenClosedTable};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ids::{DcCode, ItemNumber};
use domain::ports::{BalanceKeyText, Incident, IncidentId, Incidents, StoreError};
use std::collections::HashMap;
use std::str::FromStr;

/// How long closed incidents are kept before TTL removes them.
pub const CLOSED_RETENTION: TimeDelta = TimeDelta::days(90);

/// The IAM actions the [`Incidents`] calls below need: `open_if_absent` puts, `close` updates,
/// `open_incidents` queries the table (those of an `OpenClosedTable` (`aws/open_closed.rs`)).
/// The console's `IncidentBoard` (`aws/console_tasks.rs`) also gets one incident:
/// [`CONSOLE_PERMISSIONS`].
pub const PERMISSIONS: Permissions = Permissions::on_resource(open_closed::ACTIONS);

/// What the console's `IncidentBoard` calls need: those of [`PERMISSIONS`] and GetItem.
pub const CONSOLE_PERMISSIONS: Permissions = Permissions::on_resource(&[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
]);

/// Incidents in DynamoDB: an `OpenClosedTable` (`aws/open_closed.rs`) keyed by `incident_key`.
#[derive(Debug, Clone)]
pub struct DynamoIncidents {
    pub(crate) records: OpenClosedTable,
}

impl DynamoIncidents {
    /// Incidents on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            records: OpenClosedTable::new(client, table, writes, "incident_key", CLOSED_RETENTION, false),
        }
    }
}

pub(crate) fn incident_from_item(item: &Item) -> Result<Incident, StoreError> {
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
        key: r.parsed("incident_key", BalanceKeyText::from_str)?,
        item: r.parsed("item", ItemNumber::parse)?,
        id: r.parsed("incident_id", IncidentId::from_str)?,
        opened_at: r.time("opened_at")?,
    })
}

impl Incidents for DynamoIncidents {
    async fn open_if_absent(&self, incident: &Incident) -> Result<bool, StoreError> {
        let attributes = HashMap::from([
            ("item".to_string(), s(incident.item.as_str())),
            ("incident_id".to_string(), s(incident.id.as_str())),
            ("opened_at".to_string(), time(incident.opened_at)),
        ]);
        match self
            .records
            .create_open(&incident.dc, incident.key.as_str(), attributes)
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn close(
        &self,
        dc: &DcCode,
        key: &BalanceKeyText,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.records.close(dc, key.as_str(), reason, now).await
    }

    async fn open_incidents(&self, dc: &DcCode) -> Result<Vec<Incident>, StoreError> {
        let items = self.records.open_items(dc).await?;
        items.iter().map(incident_from_item).collect()
    }
}
