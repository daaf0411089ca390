//! How a transaction becomes the Fusion staged transactions that carry it: the Fusion type,
//! the Source* reference and serial chunking.

use super::*;

impl WmsTransaction {
    /// Splits the transaction into the Fusion staged transactions that carry it. A serial
    /// transaction with more than `serial_limit` serials becomes several posts of at most
    /// `serial_limit` serials each; every other transaction is one post.
    pub fn to_posts(&self, serial_limit: usize) -> Result<Vec<StagedPost>, DomainError> {
        if serial_limit == 0 {
            return Err(DomainError::InvalidConfig {
                name: "serial_limit",
                reason: "must be at least 1".into(),
            });
        }
        let txn_type = self.kind.fusion_type(self.quantity);
        let quantity = self.quantity;
        let transfer = self.kind.destination().cloned();
        let base =
            |line: u32, lines: u32, quantity: Decimal, lots: Vec<LotQuantity>, serials: Vec<SerialNumber>| StagedPost {
                source: SourceRef {
                    txn: self.id.clone(),
                    line,
                    lines,
                },
                dc: self.dc.clone(),
                item: self.item.clone(),
                subinventory: self.subinventory.clone(),
                transfer_subinventory: transfer.clone(),
                txn_type,
                quantity,
                uom: self.uom.clone(),
                lots,
                serials,
                transaction_date: self.occurred_at,
            };
        match &self.tracking {
            Tracking::Serials(serials) => {
                let chunks = chunk_serials(serials, serial_limit);
                let lines = u32::try_from(chunks.len()).map_err(|_| DomainError::InvalidTransaction {
                    txn: self.id.to_string(),
                    reason: "too many serial chunks".into(),
                })?;
                Ok(chunks
                    .into_iter()
                    .zip(1..)
                    .map(|(chunk, line)| {
                        let q = Decimal::from(chunk.len() as u64) * sign_of(quantity);
                        base(line, lines, q, Vec::new(), chunk)
                    })
                    .collect())
            }
            Tracking::Lots(lots) => Ok(vec![base(1, 1, quantity, lots.clone(), Vec::new())]),
            Tracking::None => Ok(vec![base(1, 1, quantity, Vec::new(), Vec::new())]),
        }
    }
}

/// Splits serials into chunks of at most `limit`, in order, each serial exactly once.
///
/// Why: Fusion's staged-transaction `serials` child is kept to at most 50 entries per call
/// (brief, architecture.md); the limit is configuration.
pub fn chunk_serials(serials: &[SerialNumber], limit: usize) -> Vec<Vec<SerialNumber>> {
    serials.chunks(limit.max(1)).map(<[SerialNumber]>::to_vec).collect()
}

/// Fusion transaction type names (`TransactionTypeName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FusionTxnType {
    /// "Miscellaneous Receipt".
    MiscellaneousReceipt,
    /// "Miscellaneous Issue".
    MiscellaneousIssue,
    /// "Subinventory Transfer".
    SubinventoryTransfer,
}

impl FusionTxnType {
    /// The `TransactionTypeName` Fusion expects.
    pub fn fusion_name(self) -> &'static str {
        match self {
            FusionTxnType::MiscellaneousReceipt => "Miscellaneous Receipt",
            FusionTxnType::MiscellaneousIssue => "Miscellaneous Issue",
            FusionTxnType::SubinventoryTransfer => "Subinventory Transfer",
        }
    }
}

/// The Source* reference that identifies one staged transaction in Fusion: the WMS transaction
/// id plus the line (chunk) number. Fusion has no idempotency key, so this is how a sync finds
/// out whether an earlier post landed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    /// The WMS transaction id.
    pub txn: WmsTxnId,
    /// 1-based line (serial chunk) number.
    pub line: u32,
    /// How many lines the transaction has.
    pub lines: u32,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.txn, self.line)
    }
}

/// One Fusion staged transaction to post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedPost {
    /// Idempotency reference.
    pub source: SourceRef,
    /// Organization.
    pub dc: DcCode,
    /// Item.
    pub item: ItemNumber,
    /// Subinventory (source of a transfer).
    pub subinventory: SubinventoryCode,
    /// Destination of a transfer.
    pub transfer_subinventory: Option<SubinventoryCode>,
    /// Fusion transaction type.
    pub txn_type: FusionTxnType,
    /// Signed quantity: issues negative, receipts and transfers positive.
    pub quantity: Decimal,
    /// UOM code.
    pub uom: Uom,
    /// Lots child rows.
    pub lots: Vec<LotQuantity>,
    /// Serials child rows (at most the serial limit).
    pub serials: Vec<SerialNumber>,
    /// Transaction date.
    pub transaction_date: DateTime<Utc>,
}
