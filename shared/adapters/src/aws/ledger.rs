//! [`DynamoSyncLedger`]: the sync ledger on the `LedgerTable` of `infra/template.yaml`.
//!
//! One item per WMS transaction, key `dc` + `txn_id`. Attributes: `txn` (the transaction as
//! JSON), `state`, `dc_state` (`<dc>#<state>`, hash key of `state-index`), `updated_at`
//! (RFC 3339, its range key), `seen_at`, `attempts`, `version`, `lease_until`,
//! `failure_reason`, `failure_retryable`, `failure_systemic`, `fusion_refs` (list of strings) and, once the row is
//! terminal, `expires_at` (TTL).

use super::error::{store_error, WriteCounter};
use super::item::{expires, iso, n, s, time, Item, Reader, EXPIRES_AT};
use super::permissions::Permissions;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeDelta, Utc};
use domain::console::{PageOf, PageRequest};
use domain::ids::DcCode;
use domain::ledger::{Failure, LedgerEntry, SyncState};
use domain::ports::{LedgerBrowser, LedgerRow, Recorded, StoreError, SyncLedger};
use domain::txn::WmsTransaction;
use std::collections::HashMap;

/// The GSI on `dc_state` + `updated_at`.
pub const STATE_INDEX: &str = "state-index";

/// How long synced and manual-review rows are kept by default before TTL removes them.
pub const DEFAULT_RETENTION: TimeDelta = TimeDelta::days(30);

/// The IAM actions the [`SyncLedger`] calls below need: `record_seen` puts (and on a conflict
/// gets), `get` gets, `transition` updates, `unsettled` queries [`STATE_INDEX`]; never the table
/// itself. `rows_by_state*` use the same index query.
pub const PERMISSIONS: Permissions = Permissions {
    resource: &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    indexes: &["dynamodb:Query"],
};

/// The sync ledger in DynamoDB. Every write is conditional: `record_seen` only creates,
/// `transition` only succeeds while the stored `version` is the one the caller read.
#[derive(Debug, Clone)]
pub struct DynamoSyncLedger {
    client: Client,
    table: String,
    writes: WriteCounter,
    retention: TimeDelta,
}

impl DynamoSyncLedger {
    /// A ledger on `table`, counting its write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
            retention: DEFAULT_RETENTION,
        }
    }

    /// Keeps terminal (`synced`, `manual_review`) rows for `retention` after their last change
    /// instead of [`DEFAULT_RETENTION`].
    pub fn with_retention(mut self, retention: TimeDelta) -> Self {
        self.retention = retention;
        self
    }

    /// All rows of `dc` in `state`, oldest change first (eventually consistent: the index lags
    /// the table by a fraction of a second).
    pub async fn rows_by_state(&self, dc: &DcCode, state: SyncState) -> Result<Vec<LedgerRow>, StoreError> {
        self.query_state(dc, state, None).await
    }

    /// Rows of `dc` in `state` last changed before `before` (stale `in_flight` rows, old
    /// failures), oldest first.
    pub async fn rows_by_state_before(
        &self,
        dc: &DcCode,
        state: SyncState,
        before: DateTime<Utc>,
    ) -> Result<Vec<LedgerRow>, StoreError> {
        self.query_state(dc, state, Some(before)).await
    }

    async fn query_state(
        &self,
        dc: &DcCode,
        state: SyncState,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<LedgerRow>, StoreError> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATE_INDEX)
                .expression_attribute_values(":k", s(dc_state(dc, state)))
                .set_exclusive_start_key(start.take());
            query = match before {
                Some(before) => query
                    .key_condition_expression("dc_state = :k AND updated_at < :before")
                    .expression_attribute_values(":before", time(before)),
                None => query.key_condition_expression("dc_state = :k"),
            };
            let page = query
                .send()
                .await
                .map_err(|e| store_error(&format!("Query {} {STATE_INDEX}", self.table), e))?;
            for item in page.items() {
                rows.push(row_from_item(item)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(rows),
            }
        }
    }

    /// Creates the row with `entry` if none exists (one conditional PutItem); otherwise
    /// returns the stored row.
    async fn create(
        &self,
        txn: &WmsTransaction,
        entry: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let json = serde_json::to_string(txn)
            .map_err(|e| StoreError::Corrupt(format!("transaction {} does not serialize: {e}", txn.id())))?;
        let mut item = Self::key(txn.dc(), txn.id().as_str());
        item.extend([
            ("txn".to_string(), s(json)),
            ("state".to_string(), s(entry.state.as_str())),
            ("dc_state".to_string(), s(dc_state(txn.dc(), entry.state))),
            ("updated_at".to_string(), time(now)),
            ("seen_at".to_string(), time(now)),
            ("attempts".to_string(), n(entry.attempts)),
            ("version".to_string(), n(entry.version)),
            ("fusion_refs".to_string(), refs(entry)),
        ]);
        if let Some(lease) = entry.lease_until {
            item.insert("lease_until".to_string(), s(iso(lease)));
        }
        self.writes.record();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(txn_id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Recorded::Created(LedgerRow {
                txn: txn.clone(),
                entry: entry.clone(),
                updated_at: now,
            })),
            Err(e) => match store_error(&format!("PutItem {}", self.table), e) {
                StoreError::Conflict(_) => self
                    .get(txn.dc(), txn.id().as_str())
                    .await?
                    .map(Recorded::Existing)
                    .ok_or_else(|| {
                        StoreError::Conflict(format!("ledger row {}/{} existed, then vanished", txn.dc(), txn.id()))
                    }),
                other => Err(other),
            },
        }
    }

    fn key(dc: &DcCode, txn_id: &str) -> Item {
        HashMap::from([("dc".to_string(), s(dc.as_str())), ("txn_id".to_string(), s(txn_id))])
    }
}

fn dc_state(dc: &DcCode, state: SyncState) -> String {
    format!("{dc}#{}", state.as_str())
}

fn row_from_item(item: &Item) -> Result<LedgerRow, StoreError> {
    let what = format!(
        "ledger row {}/{}",
        item.get("dc").and_then(|v| v.as_s().ok()).map_or("?", String::as_str),
        item.get("txn_id")
            .and_then(|v| v.as_s().ok())
            .map_or("?", String::as_str)
    );
    let r = Reader::new(item, &what);
    let txn: WmsTransaction = r.parsed("txn", serde_json::from_str)?;
    let failure = r
        .opt_str("failure_reason")?
        .map(|reason| -> Result<Failure, StoreError> {
            Ok(Failure {
                retryable: r.opt_bool("failure_retryable")?.unwrap_or(false),
                reason: reason.to_string(),
                systemic: r.opt_bool("failure_systemic")?.unwrap_or(false),
            })
        });
    let entry = LedgerEntry {
        state: r.parsed("state", SyncState::parse)?,
        attempts: r.num("attempts")?,
        lease_until: r.opt_time("lease_until")?,
        failure: failure.transpose()?,
        fusion_refs: r
            .str_list("fusion_refs")?
            .iter()
            .map(|text| {
                text.parse()
                    .map_err(|e| StoreError::Corrupt(format!("{what}: fusion_refs: {e}")))
            })
            .collect::<Result<_, _>>()?,
        version: r.num("version")?,
    };
    Ok(LedgerRow {
        txn,
        entry,
        updated_at: r.time("updated_at")?,
    })
}

fn refs(entry: &LedgerEntry) -> AttributeValue {
    AttributeValue::L(entry.fusion_refs.iter().map(|r| s(r.to_string())).collect())
}

impl SyncLedger for DynamoSyncLedger {
    async fn record_seen(&self, txn: &WmsTransaction, now: DateTime<Utc>) -> Result<LedgerRow, StoreError> {
        match self.create(txn, &LedgerEntry::pending(), now).await? {
            Recorded::Created(row) | Recorded::Existing(row) => Ok(row),
        }
    }

    async fn record_claimed(
        &self,
        txn: &WmsTransaction,
        entry: &LedgerEntry,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        self.create(txn, entry, now).await
    }

    async fn get(&self, dc: &DcCode, id: &str) -> Result<Option<LedgerRow>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(dc, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        out.item().map(row_from_item).transpose()
    }

    async fn transition(&self, row: &LedgerRow, next: &LedgerEntry, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut set = vec![
            "#state = :state",
            "dc_state = :dc_state",
            "attempts = :attempts",
            "#version = :version",
            "updated_at = :now",
            "fusion_refs = :refs",
        ];
        let mut remove = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(row.txn.dc(), row.txn.id().as_str())))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(row.entry.version))
            .expression_attribute_values(":state", s(next.state.as_str()))
            .expression_attribute_values(":dc_state", s(dc_state(row.txn.dc(), next.state)))
            .expression_attribute_values(":attempts", n(next.attempts))
            .expression_attribute_values(":version", n(next.version))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":refs", refs(next));
        match next.lease_until {
            Some(lease) => {
                set.push("lease_until = :lease");
                update = update.expression_attribute_values(":lease", s(iso(lease)));
            }
            None => remove.push("lease_until"),
        }
        match &next.failure {
            Some(failure) => {
                set.push("failure_reason = :reason");
                set.push("failure_retryable = :retryable");
                set.push("failure_systemic = :systemic");
                update = update
                    .expression_attribute_values(":reason", s(failure.reason.as_str()))
                    .expression_attribute_values(":retryable", AttributeValue::Bool(failure.retryable))
                    .expression_attribute_values(":systemic", AttributeValue::Bool(failure.systemic));
            }
            None => remove.extend(["failure_reason", "failure_retryable", "failure_systemic"]),
        }
        if next.state.is_terminal() {
            set.push("expires_at = :expires");
            update = update.expression_attribute_values(":expires", expires(now, self.retention));
        } else {
            remove.push(EXPIRES_AT);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        self.writes.record();
        update
            .update_expression(expression)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                store_error(
                    &format!("UpdateItem {} {}/{}", self.table, row.txn.dc(), row.txn.id()),
                    e,
                )
            })
    }

    async fn in_state(&self, dc: &DcCode, state: SyncState) -> Result<Vec<LedgerRow>, StoreError> {
        self.rows_by_state(dc, state).await
    }

    async fn unsettled(&self, dc: &DcCode) -> Result<Vec<LedgerRow>, StoreError> {
        let mut rows = Vec::new();
        for state in SyncState::ALL.into_iter().filter(|s| s.is_unsettled()) {
            rows.extend(self.rows_by_state(dc, state).await?);
        }
        Ok(rows)
    }
}

/// The console's ledger reads: `state-index` pages and counts (the same Query permission).
impl LedgerBrowser for DynamoSyncLedger {
    async fn list_rows(
        &self,
        dc: &DcCode,
        state: SyncState,
        changed_before: Option<DateTime<Utc>>,
        page: &PageRequest,
    ) -> Result<PageOf<LedgerRow>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STATE_INDEX)
            .expression_attribute_values(":k", s(dc_state(dc, state)))
            .limit(super::cursor::limit(page))
            .set_exclusive_start_key(super::cursor::decode(page)?);
        query = match changed_before {
            Some(before) => query
                .key_condition_expression("dc_state = :k AND updated_at < :before")
                .expression_attribute_values(":before", time(before)),
            None => query.key_condition_expression("dc_state = :k"),
        };
        let out = query
            .send()
            .await
            .map_err(|e| store_error(&format!("Query {} {STATE_INDEX}", self.table), e))?;
        Ok(PageOf {
            items: out.items().iter().map(row_from_item).collect::<Result<_, _>>()?,
            next: super::cursor::encode(out.last_evaluated_key())?,
        })
    }

    async fn count_rows(&self, dc: &DcCode, state: SyncState) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATE_INDEX)
                .key_condition_expression("dc_state = :k")
                .expression_attribute_values(":k", s(dc_state(dc, state)))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("Query {} {STATE_INDEX}", self.table), e))?;
            total += u64::try_from(out.count()).unwrap_or(0);
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(total),
            }
        }
    }
}
