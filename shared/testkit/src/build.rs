//! Fixture builders: identifiers from literals, item-master facts and WMS transactions.
//!
//! Every function here panics when given an invalid literal, with the domain's own message:
//! a fixture that breaks a domain rule is a bug in the test.

use chrono::{DateTime, NaiveDate, Utc};
use domain::error::DomainError;
use domain::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom, WmsTxnId};
use domain::txn::{ItemInfo, LotQuantity, NewTransaction, Tracking, TxnKind, WmsTransaction};
use rust_decimal::Decimal;

fn ok<T>(what: &str, r: Result<T, DomainError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("testkit: invalid {what} fixture: {e}"),
    }
}

/// The DC used by default everywhere in the testkit: `DC01`.
pub const DEFAULT_DC: &str = "DC01";
/// The subinventory transactions use by default: `STORES`.
pub const DEFAULT_SUBINVENTORY: &str = "STORES";
/// The UOM items and transactions use by default: `EA` (scale 0).
pub const DEFAULT_UOM: &str = "EA";

/// A console user id. Panics if invalid.
pub fn user(s: &str) -> domain::console::UserId {
    ok("user id", domain::console::UserId::parse(s))
}

/// A DC code. Panics if invalid.
pub fn dc(s: &str) -> DcCode {
    ok("DC code", DcCode::parse(s))
}

/// An item number. Panics if invalid.
pub fn item(s: &str) -> ItemNumber {
    ok("item number", ItemNumber::parse(s))
}

/// A subinventory code. Panics if invalid.
pub fn sub(s: &str) -> SubinventoryCode {
    ok("subinventory", SubinventoryCode::parse(s))
}

/// A lot number. Panics if invalid.
pub fn lot(s: &str) -> LotNumber {
    ok("lot number", LotNumber::parse(s))
}

/// A serial number. Panics if invalid.
pub fn serial(s: &str) -> SerialNumber {
    ok("serial number", SerialNumber::parse(s))
}

/// A WMS transaction id. Panics if invalid.
pub fn txn_id(s: &str) -> WmsTxnId {
    ok("WMS transaction id", WmsTxnId::parse(s))
}

/// A UOM code. Panics if invalid.
pub fn uom(s: &str) -> Uom {
    ok("UOM", Uom::parse(s))
}

/// A date `y-m-d`. Panics if invalid.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(v) => v,
        None => panic!("testkit: invalid date {y}-{m}-{d}"),
    }
}

/// The testkit's epoch, 2026-11-01T10:00:00Z: where [`crate::ManualClock::new`] starts and
/// when built transactions occurred unless told otherwise.
pub fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_793_527_200, 0).unwrap_or_default()
}

/// `n` distinct serials `<prefix>-0001`, `<prefix>-0002`, ...
pub fn serials(prefix: &str, n: usize) -> Vec<SerialNumber> {
    (1..=n).map(|i| serial(&format!("{prefix}-{i:04}"))).collect()
}

/// Item master facts for a plain item (no lot or serial control) in `EA`, scale 0.
pub fn plain_item(number: &str) -> ItemInfo {
    ItemInfo {
        item: item(number),
        lot_controlled: false,
        serial_controlled: false,
        primary_uom: uom(DEFAULT_UOM),
        uom_scale: 0,
    }
}

/// Item master facts for a lot-controlled item in `EA`, scale 0.
pub fn lot_item(number: &str) -> ItemInfo {
    ItemInfo {
        lot_controlled: true,
        ..plain_item(number)
    }
}

/// Item master facts for a serial-controlled item in `EA`, scale 0.
pub fn serial_item(number: &str) -> ItemInfo {
    ItemInfo {
        serial_controlled: true,
        ..plain_item(number)
    }
}

/// A lot quantity (positive magnitude) with an optional expiration.
pub fn lot_qty(number: &str, quantity: impl Into<Decimal>, expiration: Option<NaiveDate>) -> LotQuantity {
    LotQuantity {
        lot: lot(number),
        quantity: quantity.into(),
        expiration,
    }
}

/// Builds a [`WmsTransaction`] of any kind. Defaults: DC [`DEFAULT_DC`], subinventory
/// [`DEFAULT_SUBINVENTORY`], UOM [`DEFAULT_UOM`], no tracking, occurred at [`epoch`].
///
/// Constructors take the magnitude and apply the kind's sign (an issue of 3 is `-3`);
/// [`TxnBuilder::adjustment`] takes the signed quantity.
///
/// ```
/// use testkit::TxnBuilder;
/// let pick = TxnBuilder::issue("T2", "ITM-L", 3).lot("L1", 3, None).build();
/// assert_eq!(pick.quantity(), (-3).into());
/// let big = TxnBuilder::receipt("T3", "ITM-S", 1).serials(120).build();
/// assert_eq!(big.quantity(), 120.into());
/// ```
#[derive(Debug, Clone)]
pub struct TxnBuilder {
    t: NewTransaction,
}

impl TxnBuilder {
    fn new(id: &str, kind: TxnKind, item_number: &str, quantity: Decimal) -> Self {
        Self {
            t: NewTransaction {
                id: txn_id(id),
                dc: dc(DEFAULT_DC),
                kind,
                item: item(item_number),
                subinventory: sub(DEFAULT_SUBINVENTORY),
                quantity,
                uom: uom(DEFAULT_UOM),
                tracking: Tracking::None,
                occurred_at: epoch(),
            },
        }
    }

    /// A miscellaneous receipt of `quantity` (magnitude).
    pub fn receipt(id: &str, item_number: &str, quantity: impl Into<Decimal>) -> Self {
        Self::new(id, TxnKind::MiscReceipt, item_number, quantity.into().abs())
    }

    /// A miscellaneous issue of `quantity` (magnitude; stored negative).
    pub fn issue(id: &str, item_number: &str, quantity: impl Into<Decimal>) -> Self {
        Self::new(id, TxnKind::MiscIssue, item_number, -quantity.into().abs())
    }

    /// An adjustment of the signed `quantity`.
    pub fn adjustment(id: &str, item_number: &str, quantity: impl Into<Decimal>) -> Self {
        Self::new(id, TxnKind::Adjustment, item_number, quantity.into())
    }

    /// A subinventory transfer of `quantity` (magnitude) from `from` to `to`.
    pub fn transfer(id: &str, item_number: &str, from: &str, to: &str, quantity: impl Into<Decimal>) -> Self {
        let mut b = Self::new(
            id,
            TxnKind::SubinventoryTransfer { to: sub(to) },
            item_number,
            quantity.into().abs(),
        );
        b.t.subinventory = sub(from);
        b
    }

    /// Sets the DC.
    pub fn dc(mut self, code: &str) -> Self {
        self.t.dc = dc(code);
        self
    }

    /// Sets the subinventory (the source of a transfer).
    pub fn subinventory(mut self, code: &str) -> Self {
        self.t.subinventory = sub(code);
        self
    }

    /// Sets the UOM.
    pub fn uom(mut self, code: &str) -> Self {
        self.t.uom = uom(code);
        self
    }

    /// Sets when the WMS applied it.
    pub fn at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.t.occurred_at = occurred_at;
        self
    }

    /// Sets the signed quantity as given, overriding the constructor's.
    pub fn quantity(mut self, quantity: impl Into<Decimal>) -> Self {
        self.t.quantity = quantity.into();
        self
    }

    /// Adds a lot (positive magnitude). The lots must sum to the transaction's magnitude.
    pub fn lot(mut self, number: &str, quantity: impl Into<Decimal>, expiration: Option<NaiveDate>) -> Self {
        let l = lot_qty(number, quantity, expiration);
        match &mut self.t.tracking {
            Tracking::Lots(lots) => lots.push(l),
            other => *other = Tracking::Lots(vec![l]),
        }
        self
    }

    /// Gives the transaction `n` generated serials (`<id>-SN-0001`, ...) and sets its magnitude
    /// to `n`, keeping the kind's sign.
    pub fn serials(self, n: usize) -> Self {
        let prefix = format!("{}-SN", self.t.id);
        self.serial_list(serials(&prefix, n))
    }

    /// Gives the transaction these serials and sets its magnitude to their count, keeping the
    /// kind's sign.
    pub fn serial_list(mut self, list: Vec<SerialNumber>) -> Self {
        let magnitude = Decimal::from(list.len() as u64);
        self.t.quantity = if self.t.quantity.is_sign_negative() {
            -magnitude
        } else {
            magnitude
        };
        self.t.tracking = Tracking::Serials(list);
        self
    }

    /// The transaction, or the domain's refusal.
    pub fn try_build(self) -> Result<WmsTransaction, DomainError> {
        WmsTransaction::new(self.t)
    }

    /// The transaction. Panics when it breaks a structural rule.
    pub fn build(self) -> WmsTransaction {
        ok("transaction", self.try_build())
    }
}

/// A plain receipt of `quantity` of `item_number` at [`DEFAULT_DC`].
pub fn plain_receipt(id: &str, item_number: &str, quantity: i64) -> WmsTransaction {
    TxnBuilder::receipt(id, item_number, quantity).build()
}

/// A plain issue of `quantity` (magnitude) of `item_number` at [`DEFAULT_DC`].
pub fn plain_issue(id: &str, item_number: &str, quantity: i64) -> WmsTransaction {
    TxnBuilder::issue(id, item_number, quantity).build()
}

/// A receipt of `quantity` into one lot.
pub fn lot_receipt(
    id: &str,
    item_number: &str,
    lot_number: &str,
    quantity: i64,
    expiration: Option<NaiveDate>,
) -> WmsTransaction {
    TxnBuilder::receipt(id, item_number, quantity)
        .lot(lot_number, quantity, expiration)
        .build()
}

/// An issue of `quantity` (magnitude) from one lot.
pub fn lot_issue(
    id: &str,
    item_number: &str,
    lot_number: &str,
    quantity: i64,
    expiration: Option<NaiveDate>,
) -> WmsTransaction {
    TxnBuilder::issue(id, item_number, quantity)
        .lot(lot_number, quantity, expiration)
        .build()
}

/// A receipt of `n` generated serials.
pub fn serial_receipt(id: &str, item_number: &str, n: usize) -> WmsTransaction {
    TxnBuilder::receipt(id, item_number, 1).serials(n).build()
}

/// An issue of `n` generated serials.
pub fn serial_issue(id: &str, item_number: &str, n: usize) -> WmsTransaction {
    TxnBuilder::issue(id, item_number, 1).serials(n).build()
}

/// A plain transfer of `quantity` from `from` to `to`.
pub fn transfer(id: &str, item_number: &str, from: &str, to: &str, quantity: i64) -> WmsTransaction {
    TxnBuilder::transfer(id, item_number, from, to, quantity).build()
}
