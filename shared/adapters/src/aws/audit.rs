//! [`DynamoAuditLog`]: the console's append-only audit trail on the `AuditTable` of
//! `infra/template.yaml`.
//!
//! One item per entry, key `dc` + `audit_id` (the entry's idempotency id), written once with
//! `attribute_not_exists(audit_id)`; attributes `at_id` (`<at RFC 3339>#<audit_id>`, range key
//! of `time-index`, so a DC's entries list newest first), `at`, `actor`, `action`, `target`,
//! `before` / `after` (JSON text), `reason`. There is no update or delete path in code, and the
//! roles grant only PutItem, GetItem and Query on it.

use super::cursor;
use super::error::{store_error, WriteCounter};
use super::item::{iso, s, time, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use domain::console::{Action, AuditEntry, AuditId, PageOf, PageRequest, Reason, UserId};
use domain::ids::DcCode;
use domain::ports::{AuditLog, StoreError};
use std::collections::HashMap;

/// The GSI on `dc` + `at_id`.
pub const TIME_INDEX: &str = "time-index";

/// The IAM actions the [`AuditLog`] calls need: `append` puts (conditionally), `get` gets,
/// `list_audit` queries [`TIME_INDEX`]. Never UpdateItem or DeleteItem.
pub const PERMISSIONS: Permissions = Permissions {
    resource: &["dynamodb:GetItem", "dynamodb:PutItem"],
    indexes: &["dynamodb:Query"],
};

/// The audit trail in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
    writes: WriteCounter,
}

fn action_of(name: &str) -> Result<Action, String> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|e| e.to_string())
}

fn json_attr(r: &Reader<'_>, attr: &str) -> Result<Option<serde_json::Value>, StoreError> {
    r.opt_str(attr)?
        .map(|text| serde_json::from_str(text).map_err(|e| r.corrupt(attr, e)))
        .transpose()
}

fn entry_from_item(item: &Item) -> Result<AuditEntry, StoreError> {
    let what = "audit entry".to_string();
    let r = Reader::new(item, &what);
    Ok(AuditEntry {
        id: AuditId::from_stored(r.str("audit_id")?),
        dc: r.parsed("dc", DcCode::parse)?,
        at: r.time("at")?,
        actor: r.parsed("actor", UserId::parse)?,
        action: r.parsed("action", action_of)?,
        target: r.str("target")?.to_string(),
        before: json_attr(&r, "before")?,
        after: json_attr(&r, "after")?,
        reason: r
            .opt_str("reason")?
            .map(Reason::parse)
            .transpose()
            .map_err(|e| r.corrupt("reason", e))?,
    })
}

impl DynamoAuditLog {
    /// The audit trail on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }

    /// One entry by id.
    pub async fn get(&self, dc: &DcCode, id: &AuditId) -> Result<Option<AuditEntry>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("dc", s(dc.as_str()))
            .key("audit_id", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        out.item().map(entry_from_item).transpose()
    }
}

impl AuditLog for DynamoAuditLog {
    async fn append(&self, entry: &AuditEntry) -> Result<bool, StoreError> {
        let mut item: Item = HashMap::from([
            ("dc".to_string(), s(entry.dc.as_str())),
            ("audit_id".to_string(), s(entry.id.as_str())),
            (
                "at_id".to_string(),
                s(format!("{}#{}", iso(entry.at), entry.id.as_str())),
            ),
            ("at".to_string(), time(entry.at)),
            ("actor".to_string(), s(entry.actor.as_str())),
            ("action".to_string(), s(entry.action.as_str())),
            ("target".to_string(), s(entry.target.as_str())),
        ]);
        for (name, value) in [("before", &entry.before), ("after", &entry.after)] {
            if let Some(v) = value {
                item.insert(name.to_string(), s(v.to_string()));
            }
        }
        if let Some(reason) = &entry.reason {
            item.insert("reason".to_string(), s(reason.as_str()));
        }
        self.writes.record();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(audit_id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => match store_error(&format!("PutItem {} {}", self.table, entry.id.as_str()), e) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn list_audit(&self, dc: &DcCode, page: &PageRequest) -> Result<PageOf<AuditEntry>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TIME_INDEX)
            .key_condition_expression("dc = :dc")
            .expression_attribute_values(":dc", s(dc.as_str()))
            .scan_index_forward(false)
            .limit(cursor::limit(page))
            .set_exclusive_start_key(cursor::decode(page)?)
            .send()
            .await
            .map_err(|e| store_error(&format!("Query {} {TIME_INDEX}", self.table), e))?;
        Ok(PageOf {
            items: out.items().iter().map(entry_from_item).collect::<Result<_, _>>()?,
            next: cursor::encode(out.last_evaluated_key())?,
        })
    }
}
