//! WMS transactions and how they become Fusion staged transactions.
//!
//! A [`WmsTransaction`] can only be built through [`WmsTransaction::new`], which enforces the
//! structural rules (signs per kind, lots summing to the quantity, one serial per unit, no
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

/// A transaction the WMS applied locally and marked "pending sync".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WmsTransaction {
    /// Stable WMS id, the idempotency key.
    pub id: WmsTxnId,
    /// The DC (Fusion organization).
    pub dc: DcCode,
    /// What happened.
    pub kind: TxnKind,
    /// The item.
    pub item: ItemNumber,
    /// Subinventory the stock was added to / taken from (source of a transfer).
    pub subinventory: SubinventoryCode,
    /// Signed quantity (issues negative).
    pub quantity: Decimal,
    /// Unit of measure of `quantity`.
    pub uom: Uom,
    /// Lot or serial detail.
    pub tracking: Tracking,
    /// When the WMS applied it.
    pub occurred_at: DateTime<Utc>,
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

/// Everything needed to build a [`WmsTransaction`].
#[derive(Debug, Clone)]
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

impl WmsTransaction {
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
            _ => {}
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
    pub fn net_effects(&self) -> Vec<(crate::reconcile::BalanceKey, Decimal)> {
        use crate::reconcile::BalanceKey;
        let mut sides: Vec<(SubinventoryCode, Decimal)> = vec![(self.subinventory.clone(), Decimal::ONE)];
        if let TxnKind::SubinventoryTransfer { to } = &self.kind {
            sides = vec![
                (self.subinventory.clone(), Decimal::NEGATIVE_ONE),
                (to.clone(), Decimal::ONE),
            ];
        }
        let sign = if matches!(self.kind, TxnKind::SubinventoryTransfer { .. }) {
            Decimal::ONE
        } else {
            sign_of(self.quantity)
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
        let (txn_type, quantity, transfer) = match &self.kind {
            TxnKind::SubinventoryTransfer { to } => {
                (FusionTxnType::SubinventoryTransfer, self.quantity, Some(to.clone()))
            }
            _ if self.quantity.is_sign_negative() => (FusionTxnType::MiscellaneousIssue, self.quantity, None),
            _ => (FusionTxnType::MiscellaneousReceipt, self.quantity, None),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn id(s: &str) -> WmsTxnId {
        WmsTxnId::parse(s).unwrap()
    }

    pub(crate) fn sample(kind: TxnKind, quantity: Decimal, tracking: Tracking) -> Result<WmsTransaction, DomainError> {
        WmsTransaction::new(NewTransaction {
            id: id("T1"),
            dc: DcCode::parse("DC01").unwrap(),
            kind,
            item: ItemNumber::parse("ITM-1").unwrap(),
            subinventory: SubinventoryCode::parse("STORES").unwrap(),
            quantity,
            uom: Uom::parse("EA").unwrap(),
            tracking,
            occurred_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        })
    }

    fn lot(n: &str, q: Decimal) -> LotQuantity {
        LotQuantity {
            lot: LotNumber::parse(n).unwrap(),
            quantity: q,
            expiration: None,
        }
    }

    fn serials(n: usize) -> Vec<SerialNumber> {
        (0..n)
            .map(|i| SerialNumber::parse(format!("SN{i:05}")).unwrap())
            .collect()
    }

    fn pick() -> SubinventoryCode {
        SubinventoryCode::parse("PICK").unwrap()
    }

    #[test]
    fn structural_rules_table() {
        let stores = SubinventoryCode::parse("STORES").unwrap();
        let cases: Vec<(TxnKind, Decimal, Tracking, Option<&str>)> = vec![
            (TxnKind::MiscReceipt, dec!(5), Tracking::None, None),
            (
                TxnKind::MiscReceipt,
                dec!(-5),
                Tracking::None,
                Some("a receipt needs a positive quantity"),
            ),
            (TxnKind::MiscIssue, dec!(-5), Tracking::None, None),
            (
                TxnKind::MiscIssue,
                dec!(5),
                Tracking::None,
                Some("an issue needs a negative quantity"),
            ),
            (TxnKind::Adjustment, dec!(-2), Tracking::None, None),
            (TxnKind::Adjustment, dec!(0), Tracking::None, Some("must not be zero")),
            (
                TxnKind::SubinventoryTransfer { to: pick() },
                dec!(3),
                Tracking::None,
                None,
            ),
            (
                TxnKind::SubinventoryTransfer { to: stores },
                dec!(3),
                Tracking::None,
                Some("same subinventory"),
            ),
            (
                TxnKind::SubinventoryTransfer { to: pick() },
                dec!(-3),
                Tracking::None,
                Some("positive quantity"),
            ),
            (
                TxnKind::MiscReceipt,
                dec!(5),
                Tracking::Lots(vec![lot("A", dec!(2)), lot("B", dec!(3))]),
                None,
            ),
            (
                TxnKind::MiscReceipt,
                dec!(5),
                Tracking::Lots(vec![lot("A", dec!(2))]),
                Some("sum to 2"),
            ),
            (
                TxnKind::MiscReceipt,
                dec!(5),
                Tracking::Lots(vec![]),
                Some("lot detail is empty"),
            ),
            (
                TxnKind::MiscReceipt,
                dec!(4),
                Tracking::Lots(vec![lot("A", dec!(2)), lot("A", dec!(2))]),
                Some("appears twice"),
            ),
            (
                TxnKind::MiscReceipt,
                dec!(2),
                Tracking::Lots(vec![lot("A", dec!(3)), lot("B", dec!(-1))]),
                Some("non-positive"),
            ),
            (TxnKind::MiscIssue, dec!(-3), Tracking::Serials(serials(3)), None),
            (
                TxnKind::MiscIssue,
                dec!(-3),
                Tracking::Serials(serials(2)),
                Some("2 serials for a quantity of 3"),
            ),
            (
                TxnKind::MiscIssue,
                dec!(-1.5),
                Tracking::Serials(serials(1)),
                Some("not whole"),
            ),
            (
                TxnKind::MiscReceipt,
                dec!(2),
                Tracking::Serials(vec![
                    SerialNumber::parse("S").unwrap(),
                    SerialNumber::parse("S").unwrap(),
                ]),
                Some("serial S appears twice"),
            ),
            (TxnKind::MiscReceipt, dec!(2000000000), Tracking::None, Some("above")),
        ];
        for (kind, q, tracking, want) in cases {
            let label = format!("{kind:?} {q} {tracking:?}");
            match (sample(kind, q, tracking), want) {
                (Ok(_), None) => {}
                (Err(e), Some(fragment)) => assert!(e.to_string().contains(fragment), "{label}: {e}"),
                (got, want) => panic!("{label}: got {got:?}, want error {want:?}"),
            }
        }
    }

    #[test]
    fn item_master_rules_table() {
        let info = |lot, serial, scale| ItemInfo {
            item: ItemNumber::parse("ITM-1").unwrap(),
            lot_controlled: lot,
            serial_controlled: serial,
            primary_uom: Uom::parse("EA").unwrap(),
            uom_scale: scale,
        };
        let plain = sample(TxnKind::MiscReceipt, dec!(2.5), Tracking::None).unwrap();
        assert!(plain.check_against(&info(false, false, 1)).is_ok());
        let e = plain.check_against(&info(false, false, 0)).unwrap_err().to_string();
        assert!(e.contains("allows 0"), "{e}");
        let e = plain.check_against(&info(true, false, 1)).unwrap_err().to_string();
        assert!(e.contains("lot-controlled but no lots"), "{e}");
        let e = plain.check_against(&info(false, true, 1)).unwrap_err().to_string();
        assert!(e.contains("serial-controlled but no serials"), "{e}");
        let lotted = sample(TxnKind::MiscReceipt, dec!(2), Tracking::Lots(vec![lot("A", dec!(2))])).unwrap();
        assert!(lotted.check_against(&info(true, false, 0)).is_ok());
        assert!(lotted.check_against(&info(false, false, 0)).is_err());
        let mut kg = info(false, false, 3);
        kg.primary_uom = Uom::parse("KG").unwrap();
        let e = plain.check_against(&kg).unwrap_err().to_string();
        assert!(e.contains("primary UOM is KG"), "{e}");
    }

    #[test]
    fn a_transfer_nets_to_zero_across_its_two_sides() {
        let t = sample(
            TxnKind::SubinventoryTransfer { to: pick() },
            dec!(7),
            Tracking::Lots(vec![lot("A", dec!(7))]),
        )
        .unwrap();
        let effects = t.net_effects();
        assert_eq!(effects.len(), 2);
        assert_eq!(effects[0].1, dec!(-7));
        assert_eq!(effects[0].0.subinventory.as_str(), "STORES");
        assert_eq!(effects[1].1, dec!(7));
        assert_eq!(effects[1].0.subinventory.as_str(), "PICK");
        assert_eq!(effects[1].0.lot.as_ref().map(|l| l.as_str()), Some("A"));
        let issue = sample(TxnKind::MiscIssue, dec!(-4), Tracking::None).unwrap();
        assert_eq!(issue.net_effects()[0].1, dec!(-4));
    }

    #[test]
    fn posts_map_kinds_to_fusion_types_and_chunk_serials() {
        let adj = sample(TxnKind::Adjustment, dec!(-2), Tracking::None).unwrap();
        let posts = adj.to_posts(50).unwrap();
        assert_eq!(posts[0].txn_type.fusion_name(), "Miscellaneous Issue");
        assert_eq!(posts[0].quantity, dec!(-2));
        let big = sample(TxnKind::MiscIssue, dec!(-120), Tracking::Serials(serials(120))).unwrap();
        let posts = big.to_posts(50).unwrap();
        assert_eq!(
            posts.iter().map(|p| p.serials.len()).collect::<Vec<_>>(),
            vec![50, 50, 20]
        );
        assert_eq!(
            posts.iter().map(|p| p.quantity).collect::<Vec<_>>(),
            vec![dec!(-50), dec!(-50), dec!(-20)]
        );
        assert_eq!(posts[2].source.to_string(), "T1#3");
        assert!(posts.iter().all(|p| p.source.lines == 3));
        assert!(big.to_posts(0).is_err());
        let transfer = sample(TxnKind::SubinventoryTransfer { to: pick() }, dec!(1), Tracking::None).unwrap();
        let p = &transfer.to_posts(50).unwrap()[0];
        assert_eq!(p.transfer_subinventory.as_ref().map(|s| s.as_str()), Some("PICK"));
        assert_eq!(p.txn_type, FusionTxnType::SubinventoryTransfer);
    }

    proptest! {
        #[test]
        fn chunking_keeps_every_serial_once_within_the_limit(n in 1usize..400, limit in 1usize..80) {
            let all = serials(n);
            let chunks = chunk_serials(&all, limit);
            prop_assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= limit));
            prop_assert_eq!(chunks.len(), n.div_ceil(limit));
            let flat: Vec<_> = chunks.concat();
            prop_assert_eq!(flat, all);
        }

        #[test]
        fn posts_of_a_serial_txn_sum_to_its_quantity(n in 1usize..300, limit in 1usize..60, issue in any::<bool>()) {
            let (kind, q) = if issue { (TxnKind::MiscIssue, -Decimal::from(n as u64)) } else { (TxnKind::MiscReceipt, Decimal::from(n as u64)) };
            let t = sample(kind, q, Tracking::Serials(serials(n))).unwrap();
            let posts = t.to_posts(limit).unwrap();
            let total: Decimal = posts.iter().map(|p| p.quantity).sum();
            prop_assert_eq!(total, q);
            for p in &posts {
                prop_assert_eq!(Decimal::from(p.serials.len() as u64), p.quantity.abs());
            }
        }
    }
}
