//! Bulk operations: `inventoryBalanceTransactions` for the initial migration and the batch
//! endpoint.

use domain::error::DomainError;
use domain::ids::{DcCode, ItemNumber, SerialNumber, SubinventoryCode, Uom};
use domain::ports::FusionError;
use domain::txn::LotQuantity;
use domain::Retryable as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::transport::{Outcome, Req, BATCH_JSON, JSON};
use super::wire::{int_of, number, parse};
use super::HttpFusionClient;

/// One absolute balance for `inventoryBalanceTransactions` ("Synchronize Inventory Balances
/// from 3PL/WMS": Fusion creates the adjustments to reach it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceLine {
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: SubinventoryCode,
    /// Absolute on-hand quantity (not a delta); never negative.
    pub quantity: Decimal,
    /// Primary UOM.
    pub uom: Uom,
    /// Lot balances of a lot-controlled item (summing to `quantity`).
    pub lots: Vec<LotQuantity>,
    /// Serials on hand of a serial-controlled item.
    pub serials: Vec<SerialNumber>,
}

/// A balance line Fusion refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceFailure {
    /// Item number as sent.
    pub item: String,
    /// Subinventory as sent.
    pub subinventory: String,
    /// Fusion's message.
    pub detail: String,
}

/// Totals over every request of one [`HttpFusionClient::post_balance_transactions`] call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BalanceOutcome {
    /// Requests sent.
    pub requests: usize,
    /// `TotalRecordsCount` summed.
    pub total: usize,
    /// `SuccessRecordsCount` summed.
    pub succeeded: usize,
    /// `FailedRecordsCount` summed.
    pub failed: usize,
    /// Per-line failures, where Fusion itemised them.
    pub failures: Vec<BalanceFailure>,
    /// `ReturnMessageText` of requests whose `ReturnStatus` was not SUCCESS.
    pub messages: Vec<String>,
}

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

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceBody<'a> {
    organization_code: &'a str,
    submit_for_processing: &'static str,
    #[serde(rename = "transactionLines")]
    lines: Vec<BalanceLineBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceLineBody<'a> {
    item_number: &'a str,
    subinventory_code: &'a str,
    quantity: Box<RawValue>,
    #[serde(rename = "UOMCode")]
    uom_code: &'a str,
    #[serde(rename = "itemLots", skip_serializing_if = "Vec::is_empty")]
    lots: Vec<BalanceLotBody<'a>>,
    #[serde(rename = "itemSerials", skip_serializing_if = "Vec::is_empty")]
    serials: Vec<BalanceSerialBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceLotBody<'a> {
    lot_number: &'a str,
    quantity: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_date: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceSerialBody<'a> {
    serial_number: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BalanceAnswer {
    #[serde(default)]
    return_status: Option<String>,
    #[serde(default)]
    return_message_text: Option<String>,
    #[serde(default)]
    total_records_count: Option<Value>,
    #[serde(default)]
    success_records_count: Option<Value>,
    #[serde(default)]
    failed_records_count: Option<Value>,
    #[serde(rename = "transactionLines", default)]
    lines: Vec<Value>,
}

impl HttpFusionClient {
    /// Sends absolute balances for `dc` through `inventoryBalanceTransactions` with
    /// `SubmitForProcessing: Yes`, [`super::FusionConfig::balance_lines_per_request`] lines
    /// per request, and sums the counts. Negative quantities are refused before any call.
    ///
    /// Retried like a read: the lines are absolute balances, so a repeat after an ambiguous
    /// failure sets the same balance again and creates no extra stock.
    pub async fn post_balance_transactions(
        &self,
        dc: &DcCode,
        lines: &[BalanceLine],
    ) -> Result<BalanceOutcome, FusionError> {
        if let Some(l) = lines
            .iter()
            .find(|l| l.quantity.is_sign_negative() && !l.quantity.is_zero())
        {
            return Err(FusionError::InvalidInput(DomainError::InvalidQuantity {
                value: l.quantity.to_string(),
                context: format!("balance of {} in {}", l.item, l.subinventory),
                reason: "a balance can't be negative".into(),
            }));
        }
        let mut out = BalanceOutcome::default();
        for chunk in lines.chunks(self.config().balance_lines_per_request.max(1)) {
            let body = BalanceBody {
                organization_code: dc.as_str(),
                submit_for_processing: "Yes",
                lines: chunk.iter().map(line_body).collect(),
            };
            let bytes = serde_json::to_vec(&body)
                .map_err(|e| FusionError::InvalidResponse(format!("cannot encode balances: {e}")))?;
            let resp = self
                .t()
                .call(&Req::post("inventoryBalanceTransactions", bytes, JSON))
                .await
                .map_err(|e| e.error)?;
            out.requests += 1;
            let answer: BalanceAnswer = parse(&resp.body, "inventoryBalanceTransactions")?;
            let count = |v: &Option<Value>| int_of(v.as_ref()).and_then(|n| usize::try_from(n).ok());
            let failures: Vec<BalanceFailure> = answer
                .lines
                .iter()
                .filter(|l| {
                    l.get("ReturnStatus")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.eq_ignore_ascii_case("SUCCESS"))
                })
                .map(|l| BalanceFailure {
                    item: l
                        .get("ItemNumber")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    subinventory: l
                        .get("SubinventoryCode")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    detail: l
                        .get("ErrorMessage")
                        .or_else(|| l.get("ErrorCode"))
                        .and_then(Value::as_str)
                        .unwrap_or("failed")
                        .to_string(),
                })
                .collect();
            let failed = count(&answer.failed_records_count).unwrap_or(failures.len());
            out.total += count(&answer.total_records_count).unwrap_or(chunk.len());
            out.failed += failed;
            out.succeeded += count(&answer.success_records_count).unwrap_or(chunk.len().saturating_sub(failed));
            out.failures.extend(failures);
            if answer
                .return_status
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("SUCCESS"))
            {
                out.messages.push(answer.return_message_text.unwrap_or_default());
            }
        }
        Ok(out)
    }

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

fn line_body(l: &BalanceLine) -> BalanceLineBody<'_> {
    BalanceLineBody {
        item_number: l.item.as_str(),
        subinventory_code: l.subinventory.as_str(),
        quantity: number(l.quantity),
        uom_code: l.uom.as_str(),
        lots: l
            .lots
            .iter()
            .map(|x| BalanceLotBody {
                lot_number: x.lot.as_str(),
                quantity: number(x.quantity),
                expiration_date: x.expiration.map(|d| d.format("%Y-%m-%d").to_string()),
            })
            .collect(),
        serials: l
            .serials
            .iter()
            .map(|s| BalanceSerialBody {
                serial_number: s.as_str(),
            })
            .collect(),
    }
}
