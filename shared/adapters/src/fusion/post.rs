//! Staged transactions: validation before any call, the POST body, the never-double-post retry
//! rule, and the Source* lookup behind [`HttpFusionClient::find`].

use std::collections::BTreeSet;

use domain::error::DomainError;
use domain::ids::DcCode;
use domain::ports::{FusionError, Landed, PostReceipt};
use domain::quantity::check_scale;
use domain::txn::{FusionTxnType, ItemInfo, SourceRef, StagedPost};
use domain::Retryable as _;
use rust_decimal::Decimal;

use super::config::{LookupKey, TransactionMode, TransferSign};
use super::transport::{Outcome, Req, Resp, JSON};
use super::wire::{
    int_of, number, parse, q, text_of, Collection, CompletedWire, StagedBody, StagedLotBody, StagedSerialBody,
    StagedWire,
};
use super::HttpFusionClient;

/// What a Source* lookup found, with the ids `post` needs for a receipt.
#[derive(Debug, Default)]
struct Lookup {
    /// (TransactionInterfaceId, error text when ProcessFlag is 3).
    staged: Vec<(i64, Option<String>)>,
    /// (TransactionId, TransactionInterfaceId it came from).
    completed: Vec<(String, Option<i64>)>,
}

impl Lookup {
    fn landed(&self) -> Landed {
        if !self.completed.is_empty() {
            return Landed::Completed {
                transaction_ids: self.completed.iter().map(|(id, _)| id.clone()).collect(),
                sides: self.completed.len(),
            };
        }
        match self.staged.first() {
            Some((interface_id, error)) => Landed::Staged {
                interface_id: *interface_id,
                error: error.clone(),
            },
            None => Landed::NotFound,
        }
    }
}

impl HttpFusionClient {
    /// Posts one staged transaction (the port's `post`).
    ///
    /// Validation first, without any HTTP call except a cold item-master cache: quantity
    /// signs, lot and serial detail against the quantity, the serial limit, then (item master)
    /// UOM, its decimal precision and lot/serial control. Refusals are
    /// [`FusionError::InvalidInput`].
    ///
    /// Never double-posts. Fusion has no idempotency key (fact sheet §3), so after any
    /// retryable failure the line is looked up by its Source* reference before anything else:
    /// - landed (staged or completed): the receipt is returned, nothing is posted again;
    /// - not found after a refusal that happened before processing (429, 503, connection
    ///   refused) or after an answer that says it was not processed (500): re-posted after a
    ///   backoff that honours `Retry-After`, up to the retry budget;
    /// - not found after an ambiguous outcome (timeout, connection lost after sending, 408,
    ///   502, 504): the request may still be running in Fusion, so the error is returned
    ///   without a re-post; the caller's next attempt goes through `find` first.
    ///
    /// A staged row answered or found with ProcessFlag 3 is [`FusionError::Rejected`] with
    /// Fusion's explanation; it stays in the interface and must not be re-posted.
    pub async fn post_staged(&self, post: &StagedPost) -> Result<PostReceipt, FusionError> {
        check_shape(post, self.config().serial_limit)?;
        let info = self.item_info(&post.dc, &post.item).await?;
        check_against(post, &info)?;
        let body = self.staged_body(post)?;
        let req = Req::post("inventoryStagedTransactions", body, JSON);
        let mut clock = self.t().retry_clock();
        loop {
            let err = match self.t().attempt(&req).await {
                Ok(resp) => return self.receipt(&resp),
                Err(e) => e,
            };
            if !err.error.is_retryable() {
                return Err(err.error);
            }
            let delay = clock.next_delay(&err);
            match (err.outcome, delay) {
                (Outcome::InFlight, d) => {
                    tracing::warn!(source = %post.source, error = %err.error, "staged POST outcome unknown; looking it up");
                    tokio::time::sleep(d.unwrap_or(self.config().retry_base_delay)).await;
                    let found = self
                        .lookup(&post.dc, &post.source)
                        .await
                        .map_err(|_| err.error.clone())?;
                    return match receipt_from(&found, err.error.clone()) {
                        Some(r) => r,
                        None => Err(err.error),
                    };
                }
                (_, None) => return Err(err.error),
                (_, Some(d)) => {
                    tracing::warn!(source = %post.source, error = %err.error, delay_ms = d.as_millis() as u64, "staged POST refused; looking up before re-posting");
                    tokio::time::sleep(d).await;
                    let found = self
                        .lookup(&post.dc, &post.source)
                        .await
                        .map_err(|_| err.error.clone())?;
                    if let Some(r) = receipt_from(&found, err.error) {
                        return r;
                    }
                }
            }
        }
    }

    /// Looks a line up in staged and completed transactions by its Source* reference
    /// ([`super::LookupKey`] chooses `SourceHeaderId`/`SourceLineId` or
    /// `TransactionReference`). Completed rows win over staged ones.
    pub async fn find(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        Ok(self.lookup(dc, source).await?.landed())
    }

    /// Staged and completed rows carrying the reference (see [`Self::lookup_in`]).
    async fn lookup(&self, dc: &DcCode, source: &SourceRef) -> Result<Lookup, FusionError> {
        self.lookup_in(dc, source, true).await
    }

    /// A line Fusion answered as processed, among completed transactions only (the port's
    /// `completed`): one request instead of [`Self::find`]'s two.
    pub async fn completed(&self, dc: &DcCode, source: &SourceRef) -> Result<Landed, FusionError> {
        Ok(self.lookup_in(dc, source, false).await?.landed())
    }

    /// Staged rows (when `with_staged`), then completed ones: a row processed between the two
    /// reads is seen in the second, never missed by both.
    async fn lookup_in(&self, dc: &DcCode, source: &SourceRef, with_staged: bool) -> Result<Lookup, FusionError> {
        let cfg = self.config();
        let line = source.line.to_string();
        let reference = source.to_string();
        let mut clauses = vec![
            ("OrganizationCode", dc.as_str()),
            ("SourceCode", cfg.source_code.as_str()),
        ];
        match cfg.lookup_key {
            LookupKey::SourceIds => {
                clauses.push(("SourceHeaderId", source.txn.as_str()));
                clauses.push(("SourceLineId", line.as_str()));
            }
            LookupKey::TransactionReference => clauses.push(("TransactionReference", reference.as_str())),
        }
        let query = vec![
            ("q".to_string(), q(&clauses)),
            ("onlyData".to_string(), "true".to_string()),
            ("limit".to_string(), cfg.effective_page_size().to_string()),
        ];
        let staged: Collection<StagedWire> = if with_staged {
            let staged_body = self.get_json("inventoryStagedTransactions", query.clone()).await?;
            parse(&staged_body, "inventoryStagedTransactions")?
        } else {
            Collection {
                items: Vec::new(),
                count: None,
                has_more: None,
                limit: None,
                total_results: None,
            }
        };
        let completed_body = self.get_json("inventoryCompletedTransactions", query).await?;
        let completed: Collection<serde_json::Value> = parse(&completed_body, "inventoryCompletedTransactions")?;
        let mut out = Lookup::default();
        for row in staged.items {
            let id = int_of(row.transaction_interface_id.as_ref())
                .ok_or_else(|| FusionError::InvalidResponse("staged row without TransactionInterfaceId".into()))?;
            let failed = int_of(row.process_flag.as_ref()) == Some(3);
            let error = (failed || row.error_explanation.is_some() || row.error_code.is_some()).then(|| {
                row.error_explanation
                    .or(row.error_code)
                    .unwrap_or_else(|| "processing failed (ProcessFlag 3)".into())
            });
            out.staged.push((id, error));
        }
        for row in completed.items {
            let interface_id = int_of(row.get("TransactionInterfaceId"));
            let wire: CompletedWire = serde_json::from_value(row)
                .map_err(|e| FusionError::InvalidResponse(format!("inventoryCompletedTransactions: {e}")))?;
            let id = text_of(&wire.transaction_id)
                .ok_or_else(|| FusionError::InvalidResponse("completed row without TransactionId".into()))?;
            out.completed.push((id, interface_id));
        }
        if out.staged.len() + out.completed.len() > 2 || (!out.staged.is_empty() && !out.completed.is_empty()) {
            tracing::warn!(%source, staged = out.staged.len(), completed = out.completed.len(), "Source* reference found more than once in Fusion");
        }
        Ok(out)
    }

    fn staged_body(&self, p: &StagedPost) -> Result<Vec<u8>, FusionError> {
        let cfg = self.config();
        let quantity = match (p.txn_type, cfg.transfer_sign) {
            (FusionTxnType::SubinventoryTransfer, TransferSign::Positive) => p.quantity.abs(),
            (FusionTxnType::SubinventoryTransfer, TransferSign::Negative) => -p.quantity.abs(),
            _ => p.quantity,
        };
        let sign = if quantity.is_sign_negative() {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        let body = StagedBody {
            organization_code: p.dc.as_str(),
            item_number: p.item.as_str(),
            subinventory_code: p.subinventory.as_str(),
            transfer_subinventory: p.transfer_subinventory.as_ref().map(|s| s.as_str()),
            transaction_type_name: p.txn_type.fusion_name(),
            transaction_quantity: number(quantity),
            transaction_unit_of_measure: p.uom.as_str(),
            transaction_date: p.transaction_date.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            source_code: cfg.source_code.as_str(),
            // Unsure: SourceHeaderId/SourceLineId are NUMBER columns in the EBS interface
            // table; whether Fusion REST accepts a non-numeric WMS id here is not confirmed, so
            // TransactionReference carries the same key (see LookupKey).
            source_header_id: p.source.txn.as_str(),
            source_line_id: p.source.line,
            transaction_reference: p.source.to_string(),
            transaction_mode: cfg.transaction_mode.code(),
            // Unsure (fact sheet §3): lot quantities carry the header's sign so they sum to it.
            lots: p
                .lots
                .iter()
                .map(|l| StagedLotBody {
                    lot_number: l.lot.as_str(),
                    transaction_quantity: number(l.quantity.abs() * sign),
                    lot_expiration_date: l.expiration.map(|d| d.format("%Y-%m-%d").to_string()),
                })
                .collect(),
            serials: p
                .serials
                .iter()
                .map(|s| StagedSerialBody {
                    fm_serial_number: s.as_str(),
                    to_serial_number: s.as_str(),
                })
                .collect(),
        };
        serde_json::to_vec(&body).map_err(|e| FusionError::InvalidResponse(format!("cannot encode the post: {e}")))
    }

    fn receipt(&self, resp: &Resp) -> Result<PostReceipt, FusionError> {
        let row: StagedWire = parse(&resp.body, "inventoryStagedTransactions")?;
        let interface_id = int_of(row.transaction_interface_id.as_ref()).ok_or_else(|| {
            FusionError::InvalidResponse("the staged POST answer has no TransactionInterfaceId".into())
        })?;
        let flag = int_of(row.process_flag.as_ref());
        if flag == Some(3) || row.error_explanation.is_some() {
            return Err(FusionError::Rejected {
                status: resp.status,
                detail: format!(
                    "staged row {interface_id} failed: {}",
                    row.error_explanation.or(row.error_code).unwrap_or_default()
                ),
            });
        }
        // Unsure (fact sheet §3): the answer to a processed Online post is not documented; a
        // row that left the interface shows no pending ProcessFlag (1).
        let processed = self.config().transaction_mode == TransactionMode::Online && flag != Some(1);
        Ok(PostReceipt {
            interface_id,
            processed,
        })
    }
}

/// The receipt (or refusal) a lookup implies, or `None` when nothing landed.
fn receipt_from(found: &Lookup, original: FusionError) -> Option<Result<PostReceipt, FusionError>> {
    if let Some((_, interface_id)) = found.completed.first() {
        let interface_id = interface_id
            .or_else(|| found.staged.first().map(|s| s.0))
            .unwrap_or_default();
        return Some(Ok(PostReceipt {
            interface_id,
            processed: true,
        }));
    }
    let (interface_id, error) = found.staged.first()?;
    Some(match error {
        Some(e) => Err(FusionError::Rejected {
            status: match original {
                FusionError::Unavailable { status } => status,
                _ => 0,
            },
            detail: format!("staged row {interface_id} failed: {e}"),
        }),
        None => Ok(PostReceipt {
            interface_id: *interface_id,
            processed: false,
        }),
    })
}

fn refuse(p: &StagedPost, reason: String) -> FusionError {
    FusionError::InvalidInput(DomainError::InvalidTransaction {
        txn: p.source.to_string(),
        reason,
    })
}

/// Rules that need no item master.
fn check_shape(p: &StagedPost, serial_limit: usize) -> Result<(), FusionError> {
    let q = p.quantity;
    if q.is_zero() {
        return Err(refuse(p, "quantity must not be zero".into()));
    }
    match p.txn_type {
        FusionTxnType::MiscellaneousReceipt if q.is_sign_negative() => {
            return Err(refuse(p, format!("a receipt needs a positive quantity, got {q}")))
        }
        FusionTxnType::MiscellaneousIssue if q.is_sign_positive() => {
            return Err(refuse(p, format!("an issue needs a negative quantity, got {q}")))
        }
        FusionTxnType::SubinventoryTransfer => match &p.transfer_subinventory {
            None => return Err(refuse(p, "a transfer needs a destination subinventory".into())),
            Some(to) if *to == p.subinventory => {
                return Err(refuse(p, format!("transfer from {to} to the same subinventory")))
            }
            Some(_) => {}
        },
        _ if p.transfer_subinventory.is_some() => {
            return Err(refuse(p, "only a transfer has a destination subinventory".into()))
        }
        _ => {}
    }
    if !p.lots.is_empty() && !p.serials.is_empty() {
        return Err(refuse(p, "lot-and-serial controlled items are not supported".into()));
    }
    if p.serials.len() > serial_limit {
        return Err(refuse(
            p,
            format!(
                "{} serials on one post, at most {serial_limit} allowed",
                p.serials.len()
            ),
        ));
    }
    if !p.serials.is_empty() {
        let mut seen = BTreeSet::new();
        if let Some(dup) = p.serials.iter().find(|s| !seen.insert(*s)) {
            return Err(refuse(p, format!("serial {dup} appears twice")));
        }
        if Decimal::from(p.serials.len() as u64) != q.abs() {
            return Err(refuse(
                p,
                format!("{} serials for a quantity of {}", p.serials.len(), q.abs()),
            ));
        }
    }
    if !p.lots.is_empty() {
        let mut seen = BTreeSet::new();
        let mut sum = Decimal::ZERO;
        for l in &p.lots {
            if l.quantity <= Decimal::ZERO {
                return Err(refuse(
                    p,
                    format!("lot {} has non-positive quantity {}", l.lot, l.quantity),
                ));
            }
            if !seen.insert(&l.lot) {
                return Err(refuse(p, format!("lot {} appears twice", l.lot)));
            }
            sum += l.quantity;
        }
        if sum != q.abs() {
            return Err(refuse(
                p,
                format!("lot quantities sum to {sum} but the post moves {}", q.abs()),
            ));
        }
    }
    Ok(())
}

/// Rules that need the item master: UOM, its precision, lot and serial control.
fn check_against(p: &StagedPost, info: &ItemInfo) -> Result<(), FusionError> {
    let mismatch = |reason: String| {
        FusionError::InvalidInput(DomainError::ItemMismatch {
            txn: p.source.to_string(),
            item: p.item.to_string(),
            reason,
        })
    };
    if info.primary_uom != p.uom {
        return Err(mismatch(format!(
            "quantity is in {} but the item's primary UOM is {}",
            p.uom, info.primary_uom
        )));
    }
    let context = p.source.to_string();
    check_scale(p.quantity, info.uom_scale, &p.uom, &context)?;
    for l in &p.lots {
        check_scale(l.quantity, info.uom_scale, &p.uom, &format!("{context} lot {}", l.lot))?;
    }
    match (info.lot_controlled, info.serial_controlled) {
        (true, true) => Err(mismatch("lot-and-serial controlled items are not supported".into())),
        (true, false) if p.lots.is_empty() => Err(mismatch("the item is lot-controlled but no lots were given".into())),
        (false, true) if p.serials.is_empty() => Err(mismatch(
            "the item is serial-controlled but no serials were given".into(),
        )),
        (false, _) if !p.lots.is_empty() => Err(mismatch("lots given for an item that is not lot-controlled".into())),
        (_, false) if !p.serials.is_empty() => Err(mismatch(
            "serials given for an item that is not serial-controlled".into(),
        )),
        _ => Ok(()),
    }
}
