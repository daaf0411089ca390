//! WMS transactions and how they become Fusion staged transactions.
//!
//! A [`WmsTransaction`] can only be built through [`WmsTransaction::new`] (deserializing goes
//! through it too, and its fields are private), which enforces the structural rules (signs per kind, lots summing to the quantity, one serial per unit, no
//! transfer to the same subinventory). Rules that need the item master (lot/serial control,
//! UOM precision) are checked by [`WmsTransaction::check_against`].

use crate::error::DomainError;
use crate::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom, WmsTxnId};
use crate::quantity::{check_scale, decimals_used, MAX_MAGNITUDE};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What the WMS did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TxnKind {
    /// A cycle-count or inventory adjustment: either sign, never zero.
    Adjustment,
    /// A miscellaneous receipt: positive quantity.
    MiscReceipt,
    /// A miscellaneous issue (picks): negative quantity.
    MiscIssue,
    /// Stock moved from the transaction's subinventory to `to`: positive quantity.
    SubinventoryTransfer {
        /// Destination subinventory.
        to: SubinventoryCode,
    },
}

impl TxnKind {
    /// The Fusion transaction type that carries this kind with a `quantity` signed as its
    /// rules require: an adjustment is a receipt or an issue by its sign.
    pub fn fusion_type(&self, quantity: Decimal) -> FusionTxnType {
        match self {
            TxnKind::Adjustment if quantity.is_sign_negative() => FusionTxnType::MiscellaneousIssue,
            TxnKind::Adjustment | TxnKind::MiscReceipt => FusionTxnType::MiscellaneousReceipt,
            TxnKind::MiscIssue => FusionTxnType::MiscellaneousIssue,
            TxnKind::SubinventoryTransfer { .. } => FusionTxnType::SubinventoryTransfer,
        }
    }

    /// The sides whose on-hand the kind changes, from the transaction's `subinventory`: one
    /// side (direction `+1`; the quantity's sign says which way), or a transfer's source
    /// (`-1`) and destination (`+1`).
    pub fn sides(&self, subinventory: &SubinventoryCode) -> Vec<(SubinventoryCode, Decimal)> {
        match self {
            TxnKind::Adjustment | TxnKind::MiscReceipt | TxnKind::MiscIssue => {
                vec![(subinventory.clone(), Decimal::ONE)]
            }
            TxnKind::SubinventoryTransfer { to } => vec![
                (subinventory.clone(), Decimal::NEGATIVE_ONE),
                (to.clone(), Decimal::ONE),
            ],
        }
    }

    /// Whether a `quantity` of this kind adds stock to a lot (so a lot Fusion does not know
    /// yet may be created for it). A transfer moves stock between existing places.
    pub fn adds_stock(&self, quantity: Decimal) -> bool {
        match self {
            TxnKind::Adjustment => quantity.is_sign_positive(),
            TxnKind::MiscReceipt => true,
            TxnKind::MiscIssue | TxnKind::SubinventoryTransfer { .. } => false,
        }
    }

    /// The destination of a transfer.
    pub fn destination(&self) -> Option<&SubinventoryCode> {
        match self {
            TxnKind::SubinventoryTransfer { to } => Some(to),
            TxnKind::Adjustment | TxnKind::MiscReceipt | TxnKind::MiscIssue => None,
        }
    }

    /// Short stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            TxnKind::Adjustment => "adjustment",
            TxnKind::MiscReceipt => "misc_receipt",
            TxnKind::MiscIssue => "misc_issue",
            TxnKind::SubinventoryTransfer { .. } => "subinventory_transfer",
        }
    }
}

/// A quantity of one lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotQuantity {
    /// The lot (WMS lot id; mapped to a Fusion lot number by the lot map).
    pub lot: LotNumber,
    /// Positive magnitude moved from or to this lot.
    pub quantity: Decimal,
    /// Expiration date, when the WMS knows it (required to create a lot in Fusion).
    pub expiration: Option<NaiveDate>,
}

/// Lot or serial detail of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "tracking", content = "detail", rename_all = "snake_case")]
pub enum Tracking {
    /// A plain item.
    #[default]
    None,
    /// A lot-controlled item: lot quantities sum to the transaction's magnitude.
    Lots(Vec<LotQuantity>),
    /// A serial-controlled item: one serial per unit.
    Serials(Vec<SerialNumber>),
}

/// A transaction the WMS applied locally and marked "pending sync". Its fields are private
/// and deserializing goes through [`WmsTransaction::new`], so every value obeys its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NewTransaction")]
pub struct WmsTransaction {
    id: WmsTxnId,
    dc: DcCode,
    kind: TxnKind,
    item: ItemNumber,
    subinventory: SubinventoryCode,
    quantity: Decimal,
    uom: Uom,
    tracking: Tracking,
    occurred_at: DateTime<Utc>,
}

/// What the item master says about an item in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInfo {
    /// The item.
    pub item: ItemNumber,
    /// Lot-controlled in this organization.
    pub lot_controlled: bool,
    /// Serial-controlled in this organization.
    pub serial_controlled: bool,
    /// Primary UOM.
    pub primary_uom: Uom,
    /// Decimal places the primary UOM allows.
    pub uom_scale: u32,
}

/// Everything needed to build a [`WmsTransaction`] (also its serialized form).
#[derive(Debug, Clone, Deserialize)]
pub struct NewTransaction {
    /// See [`WmsTransaction::id`].
    pub id: WmsTxnId,
    /// See [`WmsTransaction::dc`].
    pub dc: DcCode,
    /// See [`WmsTransaction::kind`].
    pub kind: TxnKind,
    /// See [`WmsTransaction::item`].
    pub item: ItemNumber,
    /// See [`WmsTransaction::subinventory`].
    pub subinventory: SubinventoryCode,
    /// See [`WmsTransaction::quantity`].
    pub quantity: Decimal,
    /// See [`WmsTransaction::uom`].
    pub uom: Uom,
    /// See [`WmsTransaction::tracking`].
    pub tracking: Tracking,
    /// See [`WmsTransaction::occurred_at`].
    pub occurred_at: DateTime<Utc>,
}

impl TryFrom<NewTransaction> for WmsTransaction {
    type Error = DomainError;
    fn try_from(t: NewTransaction) -> Result<Self, Self::Error> {
        Self::new(t)
    }
}

impl WmsTransaction {
    /// Stable WMS id, the idempotency key.
    pub fn id(&self) -> &WmsTxnId {
        &self.id
    }

    /// The DC (Fusion organization).
    pub fn dc(&self) -> &DcCode {
        &self.dc
    }

    /// What happened.
    pub fn kind(&self) -> &TxnKind {
        &self.kind
    }

    /// The item.
    pub fn item(&self) -> &ItemNumber {
        &self.item
    }

    /// Subinventory the stock was added to / taken from (source of a transfer).
    pub fn subinventory(&self) -> &SubinventoryCode {
        &self.subinventory
    }

    /// Signed quantity (issues negative).
    pub fn quantity(&self) -> Decimal {
        self.quantity
    }

    /// Unit of measure of `quantity`.
    pub fn uom(&self) -> &Uom {
        &self.uom
    }

    /// Lot or serial detail.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// When the WMS applied it.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    /// The same transaction with other lot or serial detail (the WMS lots mapped to Fusion
    /// lots), checked by the same rules.
    pub fn with_tracking(&self, tracking: Tracking) -> Result<Self, DomainError> {
        Self::new(NewTransaction {
            id: self.id.clone(),
            dc: self.dc.clone(),
            kind: self.kind.clone(),
            item: self.item.clone(),
            subinventory: self.subinventory.clone(),
            quantity: self.quantity,
            uom: self.uom.clone(),
            tracking,
            occurred_at: self.occurred_at,
        })
    }

    /// Builds a transaction, enforcing every rule that needs no item master.
    pub fn new(t: NewTransaction) -> Result<Self, DomainError> {
        let refuse = |reason: String| DomainError::InvalidTransaction {
            txn: t.id.to_string(),
            reason,
        };
        let q = t.quantity;
        if q.is_zero() {
            return Err(refuse("quantity must not be zero".into()));
        }
        if q.abs() > MAX_MAGNITUDE {
            return Err(refuse(format!("quantity {q} is above {MAX_MAGNITUDE}")));
        }
        match &t.kind {
            TxnKind::MiscReceipt if q.is_sign_negative() => {
                return Err(refuse(format!("a receipt needs a positive quantity, got {q}")))
            }
            TxnKind::MiscIssue if q.is_sign_positive() => {
                return Err(refuse(format!("an issue needs a negative quantity, got {q}")))
            }
            TxnKind::SubinventoryTransfer { to } => {
                if q.is_sign_negative() {
                    return Err(refuse(format!("a transfer needs a positive quantity, got {q}")));
                }
                if *to == t.subinventory {
                    return Err(refuse(format!("transfer from {to} to the same subinventory")));
                }
            }
            TxnKind::Adjustment | TxnKind::MiscReceipt | TxnKind::MiscIssue => {}
        }
        match &t.tracking {
            Tracking::None => {}
            Tracking::Lots(lots) => check_lots(lots, q.abs()).map_err(refuse)?,
            Tracking::Serials(serials) => check_serials(serials, q.abs()).map_err(refuse)?,
        }
        Ok(Self {
            id: t.id,
            dc: t.dc,
            kind: t.kind,
            item: t.item,
            subinventory: t.subinventory,
            quantity: t.quantity,
            uom: t.uom,
            tracking: t.tracking,
            occurred_at: t.occurred_at,
        })
    }

    /// Checks the transaction against the item master: lot and serial control must match the
    /// tracking detail, the UOM must be the primary UOM and quantities must fit its precision.
    pub fn check_against(&self, info: &ItemInfo) -> Result<(), DomainError> {
        let refuse = |reason: String| DomainError::ItemMismatch {
            txn: self.id.to_string(),
            item: self.item.to_string(),
            reason,
        };
        if info.item != self.item {
            return Err(refuse(format!("item master answered for {}", info.item)));
        }
        if info.primary_uom != self.uom {
            return Err(refuse(format!(
                "quantity is in {} but the item's primary UOM is {}",
                self.uom, info.primary_uom
            )));
        }
        let context = format!("transaction {}", self.id);
        check_scale(self.quantity, info.uom_scale, &self.uom, &context)?;
        match (&self.tracking, info.lot_controlled, info.serial_controlled) {
            (Tracking::None, false, false) => Ok(()),
            (Tracking::Lots(lots), true, false) => {
                for l in lots {
                    check_scale(
                        l.quantity,
                        info.uom_scale,
                        &self.uom,
                        &format!("{context} lot {}", l.lot),
                    )?;
                }
                Ok(())
            }
            (Tracking::Serials(_), false, true) => Ok(()),
            (_, true, true) => Err(refuse("lot-and-serial controlled items are not supported".into())),
            (Tracking::None, true, _) => Err(refuse("the item is lot-controlled but no lots were given".into())),
            (Tracking::None, _, true) => Err(refuse("the item is serial-controlled but no serials were given".into())),
            (Tracking::Lots(_), false, _) => Err(refuse("lots given for an item that is not lot-controlled".into())),
            (Tracking::Serials(_), _, false) => {
                Err(refuse("serials given for an item that is not serial-controlled".into()))
            }
        }
    }

    /// One line a person reads: `misc_receipt DC01-000123 of 5 EA at DC01/STORES`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} of {} {} at {}/{}",
            self.kind.name(),
            self.id,
            self.quantity.normalize(),
            self.uom,
            self.dc,
            self.subinventory
        )
    }

    /// The on-hand change this transaction makes per balance key. A transfer moves stock out of
    /// its subinventory and into the destination; lot detail splits the change per lot.
    pub fn net_effects(&self) -> Vec<(crate::variance::BalanceKey, Decimal)> {
        use crate::variance::BalanceKey;
        let sides = self.kind.sides(&self.subinventory);
        // A transfer's quantity is a positive magnitude; its sides carry the direction.
        let sign = match &self.kind {
            TxnKind::SubinventoryTransfer { .. } => Decimal::ONE,
            TxnKind::Adjustment | TxnKind::MiscReceipt | TxnKind::MiscIssue => sign_of(self.quantity),
        };
        let mut out = Vec::new();
        for (sub, side) in sides {
            match &self.tracking {
                Tracking::Lots(lots) => {
                    for l in lots {
                        let key = BalanceKey::new(self.dc.clone(), self.item.clone(), sub.clone(), Some(l.lot.clone()));
                        out.push((key, l.quantity * sign * side));
                    }
                }
                _ => {
                    let key = BalanceKey::new(self.dc.clone(), self.item.clone(), sub.clone(), None);
                    out.push((key, self.quantity.abs() * sign * side));
                }
            }
        }
        out
    }
}

fn sign_of(q: Decimal) -> Decimal {
    if q.is_sign_negative() {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    }
}

fn check_lots(lots: &[LotQuantity], magnitude: Decimal) -> Result<(), String> {
    if lots.is_empty() {
        return Err("lot detail is empty".into());
    }
    let mut seen = BTreeSet::new();
    let mut sum = Decimal::ZERO;
    for l in lots {
        if l.quantity <= Decimal::ZERO {
            return Err(format!("lot {} has non-positive quantity {}", l.lot, l.quantity));
        }
        if !seen.insert(&l.lot) {
            return Err(format!("lot {} appears twice", l.lot));
        }
        sum += l.quantity;
    }
    if sum != magnitude {
        return Err(format!(
            "lot quantities sum to {sum} but the transaction moves {magnitude}"
        ));
    }
    Ok(())
}

fn check_serials(serials: &[SerialNumber], magnitude: Decimal) -> Result<(), String> {
    if serials.is_empty() {
        return Err("serial detail is empty".into());
    }
    if decimals_used(magnitude) > 0 {
        return Err(format!("serial-controlled quantity {magnitude} is not whole"));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = serials.iter().find(|s| !seen.insert(*s)) {
        return Err(format!("serial {dup} appears twice"));
    }
    if Decimal::from(serials.len() as u64) != magnitude {
        return Err(format!("{} serials for a quantity of {magnitude}", serials.len()));
    }
    Ok(())
}

mod posts;
#[cfg(test)]
mod tests;

pub use posts::{chunk_serials, FusionTxnType, SourceRef, StagedPost};
