//! [`DynamoBaselineCheckpoints`]: go-live baseline plans and chunk checkpoints on the
//! `BaselineTable` of `infra/template.yaml`.
//!
//! One item collection per DC (`dc`, hash key) sorted by `sk`: `plan#<plan id>` holds a plan's
//! header, `chunk#<plan id>#<index, 6 digits>` one chunk. `body` is the JSON of the header or
//! chunk (lines included); a chunk also carries `state`, `version` and its progress counts
//! (`lines`, `applied`, `already`, `awaiting`, `refused`, `attempts`, `updated_at`) so
//! `progress` reads them without the lines. Why one row per chunk: an item holds at most
//! 400 KB, and a whole plan of 50,000 lines is several MB.

use super::error::{store_error, WriteCounter};
use super::item::{iso, n, s, Item, Reader};
use super::permissions::Permissions;
use aws_sdk_dynamodb::Client;
use domain::golive::baseline::{BaselinePlan, ChunkProgress, ChunkRecord, PlanId};
use domain::ids::DcCode;
use domain::ports::{BaselineCheckpoints, StoreError};
use futures::stream::{self, StreamExt, TryStreamExt};

/// The IAM actions the [`BaselineCheckpoints`] calls below need.
pub const PERMISSIONS: Permissions =
    Permissions::on_resource(&["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"]);

/// The attributes `progress` reads (aliased: several are DynamoDB reserved words).
const PROGRESS_ATTRS: [&str; 9] = [
    "index",
    "state",
    "lines",
    "applied",
    "already",
    "awaiting",
    "refused",
    "attempts",
    "updated_at",
];

/// Chunk rows written at once when a plan is stored.
const CREATE_CONCURRENCY: usize = 8;

/// Baseline plans and chunks in DynamoDB; every write is a conditional PutItem.
#[derive(Debug, Clone)]
pub struct DynamoBaselineCheckpoints {
    client: Client,
    table: String,
    writes: WriteCounter,
}

fn plan_sk(id: &PlanId) -> String {
    format!("plan#{id}")
}

fn chunk_sk(id: &PlanId, index: u32) -> String {
    format!("chunk#{id}#{index:06}")
}

fn json<T: serde::Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

fn body<T: serde::de::DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    let r = Reader::new(item, what);
    serde_json::from_str(r.str("body")?).map_err(|e| r.corrupt("body", e))
}

impl DynamoBaselineCheckpoints {
    /// Checkpoints on `table`, counting write requests in `writes`.
    pub fn new(client: Client, table: impl Into<String>, writes: WriteCounter) -> Self {
        Self {
            client,
            table: table.into(),
            writes,
        }
    }

    fn chunk_item(&self, c: &ChunkRecord) -> Result<Item, StoreError> {
        let p = c.progress();
        Ok(Item::from([
            ("dc".to_string(), s(c.dc.as_str())),
            ("sk".to_string(), s(chunk_sk(&c.plan, c.index))),
            ("body".to_string(), s(json(c, "chunk")?)),
            ("state".to_string(), s(p.state)),
            ("version".to_string(), n(c.version)),
            ("index".to_string(), n(c.index)),
            ("lines".to_string(), n(p.lines)),
            ("applied".to_string(), n(p.applied)),
            ("already".to_string(), n(p.already_at_target)),
            ("awaiting".to_string(), n(p.awaiting_fusion)),
            ("refused".to_string(), n(p.refused)),
            ("attempts".to_string(), n(p.attempts)),
            ("updated_at".to_string(), s(iso(p.updated_at))),
        ]))
    }

    async fn put(&self, item: Item, condition: &str, expected: Option<u64>, what: &str) -> Result<(), StoreError> {
        self.writes.record();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(v) = expected {
            put = put.expression_attribute_values(":expected", n(v));
        }
        put.send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(&format!("PutItem {} {what}", self.table), e))
    }

    async fn query_prefix(&self, dc: &DcCode, prefix: &str, projection: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("dc = :dc AND begins_with(sk, :p)")
                .expression_attribute_values(":dc", s(dc.as_str()))
                .expression_attribute_values(":p", s(prefix))
                .set_projection_expression(projection.map(str::to_string))
                .set_expression_attribute_names(projection.map(|_| {
                    PROGRESS_ATTRS
                        .iter()
                        .map(|a| (format!("#{a}"), (*a).to_string()))
                        .collect()
                }))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error(&format!("Query {} {dc} {prefix}", self.table), e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(out),
            }
        }
    }
}

impl BaselineCheckpoints for DynamoBaselineCheckpoints {
    async fn create_plan(&self, plan: &BaselinePlan, chunks: &[ChunkRecord]) -> Result<(), StoreError> {
        let items: Vec<Item> = chunks.iter().map(|c| self.chunk_item(c)).collect::<Result<_, _>>()?;
        stream::iter(items)
            .map(|item| async move {
                // A chunk left by an interrupted create of this same plan id is kept.
                match self.put(item, "attribute_not_exists(sk)", None, "chunk").await {
                    Err(StoreError::Conflict(_)) => Ok(()),
                    other => other,
                }
            })
            .buffer_unordered(CREATE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        let header = Item::from([
            ("dc".to_string(), s(plan.dc.as_str())),
            ("sk".to_string(), s(plan_sk(&plan.id))),
            ("body".to_string(), s(json(plan, "plan")?)),
        ]);
        self.put(header, "attribute_not_exists(sk)", None, &plan.id.to_string())
            .await
    }

    async fn plan(&self, dc: &DcCode, id: &PlanId) -> Result<Option<BaselinePlan>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("dc", s(dc.as_str()))
            .key("sk", s(plan_sk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("GetItem {} {id}", self.table), e))?;
        out.item().map(|i| body(i, &format!("baseline plan {id}"))).transpose()
    }

    async fn latest_plan(&self, dc: &DcCode) -> Result<Option<BaselinePlan>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("dc = :dc AND begins_with(sk, :p)")
            .expression_attribute_values(":dc", s(dc.as_str()))
            .expression_attribute_values(":p", s("plan#"))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("Query {} {dc} latest plan", self.table), e))?;
        out.items()
            .first()
            .map(|i| body(i, &format!("latest baseline plan of {dc}")))
            .transpose()
    }

    async fn chunks(&self, dc: &DcCode, id: &PlanId) -> Result<Vec<ChunkRecord>, StoreError> {
        self.query_prefix(dc, &format!("chunk#{id}#"), None)
            .await?
            .iter()
            .map(|i| body(i, &format!("chunk of {id}")))
            .collect()
    }

    async fn progress(&self, dc: &DcCode, id: &PlanId) -> Result<Vec<ChunkProgress>, StoreError> {
        let projection = PROGRESS_ATTRS.map(|a| format!("#{a}")).join(", ");
        self.query_prefix(dc, &format!("chunk#{id}#"), Some(&projection))
            .await?
            .iter()
            .map(|i| {
                let what = format!("chunk of {id}");
                let r = Reader::new(i, &what);
                let state = match r.str("state")? {
                    "pending" => "pending",
                    "posting" => "posting",
                    "applied" => "applied",
                    other => return Err(r.corrupt("state", format!("unknown state {other:?}"))),
                };
                Ok(ChunkProgress {
                    index: r.num("index")?,
                    state,
                    lines: r.num("lines")?,
                    applied: r.num("applied")?,
                    already_at_target: r.num("already")?,
                    awaiting_fusion: r.num("awaiting")?,
                    refused: r.num("refused")?,
                    attempts: r.num("attempts")?,
                    updated_at: r.time("updated_at")?,
                })
            })
            .collect()
    }

    async fn put_chunk(&self, next: &ChunkRecord, expected_version: u64) -> Result<(), StoreError> {
        let item = self.chunk_item(next)?;
        let what = format!("{} chunk {}", next.plan, next.index);
        if expected_version == 0 {
            self.put(item, "attribute_not_exists(sk)", None, &what).await
        } else {
            self.put(item, "version = :expected", Some(expected_version), &what)
                .await
        }
    }
}
