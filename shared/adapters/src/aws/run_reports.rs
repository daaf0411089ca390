//! [`DynamoRunReports`]: run reports on the `RunTable` of `infra/template.yaml`.
//!
//! Item: `dc_kind` (`<dc>#<kind>`), `run_id`, `dc`, `kind`, `started_at`, `duration_ms`,
//! `figures` (map of numbers), `notes` (list of strings), `expires_at` (TTL, 90 days after the
//! run started).

use super::error::{store_error, WriteCounter};
use super::item::{expires, n, s, time, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::TimeDelta;
use domain::ids::DcCode;
use domain::ports::{RunKind, RunReport, RunReports, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// How long run reports are kept before TTL removes them.
pub const RETENTION: TimeDelta = TimeDelta::days(90);

/// The IAM actions the [`RunReports`] call below needs: `save` puts.
/// [`DynamoRunReports::get`] (a GetItem) is an operator's and tests' read: no role grants it.
pub const PERMISSIONS: Permissions = Permissions::on_resource(&["dynamodb:PutItem"]);

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
        let Some(item) = out.item() else { return Ok(None) };
        let what = format!("run report {dc}/{kind}/{run_id}");
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
        Ok(Some(RunReport {
            dc: r.parsed("dc", DcCode::parse)?,
            run_id: r.str("run_id")?.to_string(),
            kind: r.parsed("kind", RunKind::from_str)?,
            started_at: r.time("started_at")?,
            duration_ms: r.num("duration_ms")?,
            figures,
            notes: r.str_list("notes")?,
        }))
    }
}

impl RunReports for DynamoRunReports {
    async fn save(&self, report: &RunReport) -> Result<(), StoreError> {
        let started = report.started_at;
        let mut item = Self::key(&report.dc, report.kind, &report.run_id);
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
