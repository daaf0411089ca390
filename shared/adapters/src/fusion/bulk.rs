//! The batch endpoint (`application/vnd.oracle.adf.batch+json`).

use domain::ports::FusionError;
use domain::Retryable as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::transport::{Outcome, Req, BATCH_JSON};
use super::wire::{int_of, parse};
use super::HttpFusionClient;

/// A batch part's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchOperation {
    /// GET.
    Get,
    /// POST (create).
    Create,
    /// PATCH.
    Update,
    /// PUT.
    Replace,
    /// DELETE.
    Delete,
}

/// One part of a batch request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchPart {
    /// Caller's id, echoed in the answer.
    pub id: String,
    /// Path relative to the REST base, e.g. `/inventoryOnhandBalances?q=...`.
    pub path: String,
    /// Operation.
    pub operation: BatchOperation,
    /// Body for create/update/replace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// One part of a batch answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchPartResult {
    /// The part's id.
    #[serde(default, deserialize_with = "id_text")]
    pub id: String,
    /// HTTP status of a failing part, when given.
    #[serde(default, deserialize_with = "status_of")]
    pub status: Option<u16>,
    /// The part's answer (a failing part's error body).
    #[serde(default)]
    pub payload: Value,
}

fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn status_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(int_of(v.as_ref()).and_then(|s| u16::try_from(s).ok()))
}

/// A batch answer. Batches are all-or-none (fact sheet §4): when a part fails nothing is
/// applied and only the failing parts come back.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    /// Every part succeeded and was applied.
    pub succeeded: bool,
    /// Every part's result on success; only the failing parts otherwise.
    pub parts: Vec<BatchPartResult>,
}

impl HttpFusionClient {
    /// Sends a batch (`POST <base>`, `application/vnd.oracle.adf.batch+json`). A batch of
    /// only `get` parts is retried like a read; one with writes is retried only after a
    /// refusal that happened before processing (429, 503, connection refused), since batches
    /// carry no idempotency key either. A batch Fusion refuses as a whole (400 with `parts`)
    /// is `Ok` with `succeeded: false`.
    pub async fn batch(&self, parts: &[BatchPart]) -> Result<BatchResponse, FusionError> {
        #[derive(Serialize)]
        struct Body<'a> {
            parts: &'a [BatchPart],
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            parts: Vec<BatchPartResult>,
        }
        let bytes =
            serde_json::to_vec(&Body { parts }).map_err(|e| FusionError::InvalidResponse(format!("batch: {e}")))?;
        let req = Req::post("", bytes, BATCH_JSON);
        let read_only = parts.iter().all(|p| p.operation == BatchOperation::Get);
        let result = if read_only {
            self.t().call(&req).await
        } else {
            let mut clock = self.t().retry_clock();
            loop {
                match self.t().attempt(&req).await {
                    Err(e) if e.outcome == Outcome::Refused && e.error.is_retryable() => match clock.next_delay(&e) {
                        Some(d) => tokio::time::sleep(d).await,
                        None => break Err(e),
                    },
                    other => break other,
                }
            }
        };
        match result {
            Ok(resp) => {
                let a: Answer = parse(&resp.body, "batch")?;
                Ok(BatchResponse {
                    succeeded: true,
                    parts: a.parts,
                })
            }
            Err(e) => {
                if let (FusionError::Rejected { .. }, Some(body)) = (&e.error, &e.body) {
                    if let Ok(a) = serde_json::from_slice::<Answer>(body) {
                        if !a.parts.is_empty() {
                            return Ok(BatchResponse {
                                succeeded: false,
                                parts: a.parts,
                            });
                        }
                    }
                }
                Err(e.error)
            }
        }
    }
}
