//! `inventoryBalanceTransactions` ("Synchronize Inventory Balances from 3PL/WMS", fact sheet
//! §3): absolute balances for the go-live baseline, as [`BalanceLoader`] and as the older
//! whole-list call [`HttpFusionClient::post_balance_transactions`].

use domain::error::DomainError;
use domain::ids::DcCode;
pub use domain::ports::BalanceLine;
use domain::ports::{BalanceLoad, BalanceLoader, FusionError, RefusedBalance};
use domain::Retryable as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::transport::{Outcome, Req, JSON};
use super::wire::{int_of, number, parse};
use super::HttpFusionClient;

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
        refuse_negative(lines)?;
        let mut out = BalanceOutcome::default();
        for chunk in lines.chunks(self.config().balance_lines_per_request.max(1)) {
            let bytes = encode(dc, chunk)?;
            let resp = self
                .t()
                .call(&Req::post("inventoryBalanceTransactions", bytes, JSON))
                .await
                .map_err(|e| e.error)?;
            out.requests += 1;
            let answer: BalanceAnswer = parse(&resp.body, "inventoryBalanceTransactions")?;
            let count = |v: &Option<Value>| int_of(v.as_ref()).and_then(|n| usize::try_from(n).ok());
            let failures = failures_of(&answer);
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
}

impl BalanceLoader for HttpFusionClient {
    /// One request per [`super::FusionConfig::balance_lines_per_request`] lines. Retried with
    /// the client's policy (backoff, `Retry-After`) only when Fusion refused the request before
    /// processing it (429, 503, a refused connection) or answered without effect (500): after
    /// a 408, 502, 504 or a lost answer the lines may be applied, and the caller decides from
    /// on-hand instead of sending them blind.
    async fn load_balances(&self, dc: &DcCode, lines: &[BalanceLine]) -> Result<BalanceLoad, FusionError> {
        refuse_negative(lines)?;
        let mut out = BalanceLoad::default();
        for chunk in lines.chunks(self.config().balance_lines_per_request.max(1)) {
            let req = Req::post("inventoryBalanceTransactions", encode(dc, chunk)?, JSON);
            let mut clock = self.t().retry_clock();
            let resp = loop {
                match self.t().attempt(&req).await {
                    // Refused before processing, or answered without effect (a 500): safe to
                    // send again. Unknown outcomes (408, 502, 504, lost answers) are not.
                    Err(e) if e.outcome != Outcome::InFlight && e.error.is_retryable() => match clock.next_delay(&e) {
                        Some(d) => tokio::time::sleep(d).await,
                        None => break Err(e),
                    },
                    other => break other,
                }
            }
            .map_err(|e| e.error)?;
            out.requests += 1;
            let answer: BalanceAnswer = parse(&resp.body, "inventoryBalanceTransactions")?;
            out.refused
                .extend(failures_of(&answer).into_iter().map(|f| RefusedBalance {
                    item: f.item,
                    subinventory: f.subinventory,
                    detail: f.detail,
                }));
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
}

fn refuse_negative(lines: &[BalanceLine]) -> Result<(), FusionError> {
    match lines
        .iter()
        .find(|l| l.quantity.is_sign_negative() && !l.quantity.is_zero())
    {
        Some(l) => Err(FusionError::InvalidInput(DomainError::InvalidQuantity {
            value: l.quantity.to_string(),
            context: format!("balance of {} in {}", l.item, l.subinventory),
            reason: "a balance can't be negative".into(),
        })),
        None => Ok(()),
    }
}

fn encode(dc: &DcCode, lines: &[BalanceLine]) -> Result<Vec<u8>, FusionError> {
    let body = BalanceBody {
        organization_code: dc.as_str(),
        submit_for_processing: "Yes",
        lines: lines.iter().map(line_body).collect(),
    };
    serde_json::to_vec(&body).map_err(|e| FusionError::InvalidResponse(format!("cannot encode balances: {e}")))
}

/// The lines of an answer whose `ReturnStatus` is not SUCCESS.
fn failures_of(answer: &BalanceAnswer) -> Vec<BalanceFailure> {
    answer
        .lines
        .iter()
        .filter(|l| {
            l.get("ReturnStatus")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.eq_ignore_ascii_case("SUCCESS"))
        })
        .map(|l| {
            let text = |k: &str| l.get(k).and_then(Value::as_str).map(str::to_string);
            BalanceFailure {
                item: text("ItemNumber").unwrap_or_default(),
                subinventory: text("SubinventoryCode").unwrap_or_default(),
                detail: text("ErrorMessage")
                    .or_else(|| text("ErrorCode"))
                    .unwrap_or_else(|| "failed".into()),
            }
        })
        .collect()
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
