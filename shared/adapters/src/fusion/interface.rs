//! Reading an organization's interface: every `inventoryStagedTransactions` row not yet
//! processed (pending, ProcessFlag 1, or failed, ProcessFlag 3), behind the port's `staged`.
//!
//! Why it matters: Background and Concurrent rows, and Online posts answered 408, wait here
//! until Fusion's transaction manager runs (fact sheet §3, §6). The sync confirms its
//! `accepted` transactions from this list, and the reconciliation counts these rows as in
//! flight. A processed row leaves the interface (fact sheet §3).
//!
//! Unsure (fact sheet §3, M): the REST names ProcessFlag, ErrorCode and ErrorExplanation come
//! from working client code; lot-level `ErrorCode` is on Oracle's lots child page.

use domain::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, WmsTxnId};
use domain::ports::{FusionError, StagedLine, StagedStatus};
use domain::txn::SourceRef;
use serde::Deserialize;
use serde_json::Value;

use super::children::child_link;
use super::wire::{int_of, parse, q, text_of, Child, Collection, Qty, SelfLink};
use super::HttpFusionClient;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    #[serde(default)]
    transaction_interface_id: Option<Value>,
    #[serde(default)]
    source_code: Option<String>,
    #[serde(default)]
    source_header_id: Option<Value>,
    #[serde(default)]
    source_line_id: Option<Value>,
    #[serde(default)]
    transaction_reference: Option<String>,
    #[serde(default)]
    item_number: Option<String>,
    #[serde(default)]
    subinventory_code: Option<String>,
    #[serde(default)]
    transfer_subinventory: Option<String>,
    #[serde(default)]
    transaction_quantity: Option<Qty>,
    #[serde(default)]
    process_flag: Option<Value>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_explanation: Option<String>,
    #[serde(rename = "lots", default)]
    lots: Child<LotRow>,
    #[serde(rename = "serials", default)]
    serials: Child<SerialRow>,
    #[serde(rename = "links", default)]
    links: SelfLink,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LotRow {
    lot_number: String,
    #[serde(default)]
    transaction_quantity: Option<Qty>,
    #[serde(default)]
    error_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SerialRow {
    fm_serial_number: String,
    #[serde(default)]
    error_code: Option<String>,
}

impl HttpFusionClient {
    /// Every unprocessed interface row of `dc` (the port's `staged`), lots and serials
    /// included (paged children are read to their end). A row that cannot be read fails the
    /// whole read: callers treat the list as complete.
    pub async fn staged(&self, dc: &DcCode) -> Result<Vec<StagedLine>, FusionError> {
        let limit = self.config().effective_page_size();
        let mut out = Vec::new();
        let mut offset = 0usize;
        loop {
            let query = vec![
                ("q".to_string(), q(&[("OrganizationCode", dc.as_str())])),
                ("expand".to_string(), "lots,serials".to_string()),
                ("limit".to_string(), limit.to_string()),
                ("offset".to_string(), offset.to_string()),
            ];
            let body = self.get_json("inventoryStagedTransactions", query).await?;
            let page: Collection<Row> = parse(&body, "inventoryStagedTransactions")?;
            let n = page.items.len();
            for mut row in page.items {
                let parent = row.links.0.take();
                if row.lots.may_have_more() {
                    let href = child_link(row.lots.href.take(), parent.as_deref(), "lots")?;
                    let rest = self.rest_of_child(&href, row.lots.items.len()).await?;
                    row.lots.items.extend(rest);
                }
                if row.serials.may_have_more() {
                    let href = child_link(row.serials.href.take(), parent.as_deref(), "serials")?;
                    let rest = self.rest_of_child(&href, row.serials.items.len()).await?;
                    row.serials.items.extend(rest);
                }
                out.push(self.line_of(row)?);
            }
            offset += n;
            if n == 0 || n < limit.min(page.limit.filter(|l| *l > 0).unwrap_or(limit)) {
                return Ok(out);
            }
        }
    }

    fn line_of(&self, row: Row) -> Result<StagedLine, FusionError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            FusionError::InvalidResponse(format!("inventoryStagedTransactions {what}: {e}"))
        };
        let interface_id = int_of(row.transaction_interface_id.as_ref())
            .ok_or_else(|| bad("row", &"without TransactionInterfaceId"))?;
        let item = ItemNumber::parse(row.item_number.clone().unwrap_or_default())
            .map_err(|e| bad(&format!("{interface_id} ItemNumber"), &e))?;
        let subinventory = SubinventoryCode::parse(row.subinventory_code.clone().unwrap_or_default())
            .map_err(|e| bad(&format!("{interface_id} SubinventoryCode"), &e))?;
        let transfer_subinventory = row
            .transfer_subinventory
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(SubinventoryCode::parse)
            .transpose()
            .map_err(|e| bad(&format!("{interface_id} TransferSubinventory"), &e))?;
        let quantity = row
            .transaction_quantity
            .ok_or_else(|| bad(&interface_id.to_string(), &"no TransactionQuantity"))?
            .0;
        // Why: the sign of a transfer is configurable (fact sheet §3: unclear); what leaves the
        // source subinventory is the magnitude.
        let quantity = if transfer_subinventory.is_some() {
            quantity.abs()
        } else {
            quantity
        };
        let mut lots = Vec::with_capacity(row.lots.items.len());
        let mut child_errors = Vec::new();
        for l in &row.lots.items {
            let lot = LotNumber::parse(l.lot_number.clone()).map_err(|e| bad("LotNumber", &e))?;
            if let Some(code) = l.error_code.as_deref().filter(|c| !c.is_empty()) {
                child_errors.push(format!("lot {lot}: {code}"));
            }
            let q = l.transaction_quantity.map(|q| q.0.abs()).unwrap_or_default();
            lots.push((lot, q));
        }
        let mut serials = Vec::with_capacity(row.serials.items.len());
        for s in &row.serials.items {
            let serial = SerialNumber::parse(s.fm_serial_number.clone()).map_err(|e| bad("FmSerialNumber", &e))?;
            if let Some(code) = s.error_code.as_deref().filter(|c| !c.is_empty()) {
                child_errors.push(format!("serial {serial}: {code}"));
            }
            serials.push(serial);
        }
        let failed = int_of(row.process_flag.as_ref()) == Some(3);
        let status = if failed || row.error_explanation.is_some() || row.error_code.is_some() {
            let mut error = row
                .error_explanation
                .clone()
                .or(row.error_code.clone())
                .unwrap_or_else(|| "processing failed (ProcessFlag 3)".into());
            if let (Some(code), true) = (&row.error_code, row.error_explanation.is_some()) {
                error = format!("{error} ({code})");
            }
            if !child_errors.is_empty() {
                error = format!("{error}; {}", child_errors.join("; "));
            }
            StagedStatus::Failed { error }
        } else {
            StagedStatus::Pending
        };
        Ok(StagedLine {
            interface_id,
            source: self.source_of(&row),
            item,
            subinventory,
            transfer_subinventory,
            quantity,
            lots,
            serials,
            status,
        })
    }

    /// Our Source* reference, when the row carries our `SourceCode`. `lines` is unknown here
    /// and left 0.
    fn source_of(&self, row: &Row) -> Option<SourceRef> {
        if row.source_code.as_deref() != Some(self.config().source_code.as_str()) {
            return None;
        }
        let from_reference = row.transaction_reference.as_deref().and_then(|r| {
            let (txn, line) = r.rsplit_once('#')?;
            Some((WmsTxnId::parse(txn).ok()?, line.parse::<u32>().ok()?))
        });
        let from_ids = || {
            let txn = WmsTxnId::parse(text_of(row.source_header_id.as_ref()?)?).ok()?;
            let line = u32::try_from(int_of(row.source_line_id.as_ref())?).ok()?;
            Some((txn, line))
        };
        let (txn, line) = from_reference.or_else(from_ids)?;
        Some(SourceRef { txn, line, lines: 0 })
    }
}
