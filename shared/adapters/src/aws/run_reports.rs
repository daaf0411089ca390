//! [`DynamoRunReports`]: run reports on the `RunTable` of `infra/template.yaml`.
//!
//! Item: `dc_kind` (`<dc>#<kind>`), `run_id`, `dc`, `kind`, `started_at`, `duration_ms`,
//! `figures` (map of numbers), `notes` (list of strings), `expires_at` (TTL, 90 days after the
//! run started). `started-index` (`dc_kind` + `started_at`) lists a DC's runs by time for the
//! console ([`RunHistory`]).

use super::error::{store_error, WriteCounter};
use super::item::{expires, n, s, time, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::TimeDelta;
use chrono::{DateTime, Utc};
use domain::console::{PageOf, PageRequest};
use domain::ids::DcCode;
use domain::ports::{RunHistory, RunKind, RunReport, RunReports, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// How long run reports are kept before TTL removes them.
pub const RETENTION: TimeDelta = TimeDelta::days(90);

/// The IAM actions the [`RunReports`] call below needs: `save` puts.
/// [`DynamoRunReports::get`] (a GetItem) is an operator's and tests' read: no role grants it.
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:PutItem"]);

/// The GSI on `dc_kind` + `started_at`.
pub const STARTED_INDEX: &str = "started-index";

/// What the console's [`RunHistory`] calls need: Query on [`STARTED_INDEX`].
pub const HISTORY_PERMISSIONS: Permissions = Permissions {
    resource: &[],
    indexes: &["dynamodb:Query"],
};

/// Run reports in DynamoDB. Saving is a plain put keyed by `(dc, kind, run_id)`: saving the
/// same report again leaves the same item.
#[derive(Debug, Clone)]
pub struct DynamoRunReports {
    client: Client,
    table: String,
    writes: WriteCounter,
}

impl DynamoRunReports {
    /// Run reports on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }

    fn key(dc: &DcCode, kind: RunKind, run_id: &str) -> Item {
        HashMap::from([
            ("dc_kind".to_string(), s(format!("{dc}#{kind}"))),
            ("run_id".to_string(), s(run_id)),
        ])
    }

    /// One stored report.
    pub async fn get(&self, dc: &DcCode, kind: RunKind, run_id: &str) -> Result<Option<RunReport>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(dc, kind, run_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {}", self.table), e))?;
        out.item().map(report_from_item).transpose()
    }
}

fn report_from_item(item: &Item) -> Result<RunReport, StoreError> {
    let what = "run report".to_string();
    let r = Reader::new(item, &what);
    let figures = match item.get("figures") {
        None => BTreeMap::new(),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(name, value)| match value {
                AttributeValue::N(v) => v
                    .parse::<i64>()
                    .map(|v| (name.clone(), v))
                    .map_err(|e| r.corrupt("figures", format!("{name}: {e}"))),
                _ => Err(r.corrupt("figures", format!("{name} is not a number"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(r.corrupt("figures", "not a map")),
    };
    Ok(RunReport {
        dc: r.parsed("dc", DcCode::parse)?,
        run_id: r.str("run_id")?.into(),
        kind: r.parsed("kind", RunKind::from_str)?,
        started_at: r.time("started_at")?,
        duration_ms: r.num("duration_ms")?,
        figures,
        notes: r.str_list("notes")?,
    })
}

impl RunReports for DynamoRunReports {
    async fn save(&self, report: &RunReport) -> Result<(), StoreError> {
        let started = report.started_at;
        let mut item = Self::key(&report.dc, report.kind, report.run_id.as_str());
        item.extend([
            ("dc".to_string(), s(report.dc.as_str())),
            ("kind".to_string(), s(report.kind.as_str())),
            ("started_at".to_string(), time(started)),
            ("duration_ms".to_string(), n(report.duration_ms)),
            (
                "figures".to_string(),
                AttributeValue::M(report.figures.iter().map(|(k, v)| (k.clone(), n(v))).collect()),
            ),
            (
                "notes".to_string(),
                AttributeValue::L(report.notes.iter().map(|v| s(v.as_str())).collect()),
            ),
            ("expires_at".to_string(), expires(started, RETENTION)),
        ]);
        self.writes.record();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&format!("PutItem {} {}/{}", self.table, report.dc, report.run_id), e))
    }
}

impl RunHistory for DynamoRunReports {
    async fn list_runs(&self, dc: &DcCode, kind: RunKind, page: &PageRequest) -> Result<PageOf<RunReport>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STARTED_INDEX)
            .key_condition_expression("dc_kind = :k")
            .expression_attribute_values(":k", s(format!("{dc}#{kind}")))
            .scan_index_forward(false)
            .limit(super::cursor::limit(page))
            .set_exclusive_start_key(super::cursor::decode(page)?)
            .send()
            .await
            .map_err(|e| store_error(&format!("Query {} {STARTED_INDEX}", self.table), e))?;
        Ok(PageOf {
            items: out.items().iter().map(report_from_item).collect::<Result<_, _>>()?,
            next: super::cursor::encode(out.last_evaluated_key())?,
        })
    }

    async fn runs_since(&self, dc: &DcCode, kind: RunKind, since: DateTime<Utc>) -> Result<Vec<RunReport>, StoreError> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STARTED_INDEX)
                .key_condition_expression("dc_kind = :k AND started_at >= :since")
                .expression_attribute_values(":k", s(format!("{dc}#{kind}")))
                .expression_attribute_values(":since", time(since))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("Query {} {STARTED_INDEX}", self.table), e))?;
            for item in out.items() {
                rows.push(report_from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(rows),
            }
        }
    }
}
