//! The adjustment that corrects an auto-correct variance, or why none can be built.

use super::*;

/// Facts about one key that an adjustment needs beyond its variance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// UOM (from the WMS balance row; Fusion's when the WMS has no row).
    pub uom: Uom,
    /// Lot expiration (the WMS's; Fusion's when the WMS has none).
    pub expiration: Option<NaiveDate>,
    /// Serials the WMS has on hand at the key.
    pub wms_serials: BTreeSet<SerialNumber>,
    /// Serials Fusion has on hand at the key.
    pub fusion_serials: BTreeSet<SerialNumber>,
    /// Serials moved by in-flight transactions at the key.
    pub in_flight_serials: BTreeSet<SerialNumber>,
}

/// Why a variance in the auto-correct tier cannot be corrected by an adjustment (it goes to
/// review with this text). Never retryable: the same facts give the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoAdjustment {
    /// The key is a lot of a serial-controlled item.
    #[error("lot- and serial-controlled stock cannot be auto-corrected")]
    LotAndSerial,
    /// The serials that differ between the WMS and Fusion do not add up to the variance.
    #[error("serial-controlled: {found} serial(s) are in the {side}, which does not explain a variance of {variance}")]
    SerialsDoNotExplain {
        /// Serials on one side only.
        found: usize,
        /// Which side has them (`WMS but not Fusion`, or the reverse).
        side: &'static str,
        /// The variance (normalized).
        variance: Decimal,
    },
    /// The adjustment breaks a transaction rule (an id or quantity out of range).
    #[error("{0}")]
    Invalid(#[from] DomainError),
}

impl Retryable for NoAdjustment {
    fn is_retryable(&self) -> bool {
        false
    }
}

/// The adjustment that corrects a variance: kind `Adjustment`, quantity = variance, the key's
/// subinventory, the lot with its expiration for lot keys, and for serial keys the serials
/// that differ between WMS and Fusion (not moved by an in-flight transaction) when they
/// exactly explain the variance. `Err` says why no adjustment can be built (the key then goes
/// to review). Its id is [`adjustment_id`].
pub fn adjustment_for(
    run_id: &str,
    v: &Variance,
    facts: &KeyFacts,
    now: DateTime<Utc>,
) -> Result<WmsTransaction, NoAdjustment> {
    let key = &v.key;
    let serial =
        !(facts.wms_serials.is_empty() && facts.fusion_serials.is_empty() && facts.in_flight_serials.is_empty());
    let tracking = match (&key.lot, serial) {
        (Some(_), true) => return Err(NoAdjustment::LotAndSerial),
        (Some(lot), false) => Tracking::Lots(vec![LotQuantity {
            lot: lot.clone(),
            quantity: v.variance.abs(),
            expiration: facts.expiration,
        }]),
        (None, true) => Tracking::Serials(explaining_serials(v.variance, facts)?),
        (None, false) => Tracking::None,
    };
    WmsTransaction::new(NewTransaction {
        id: adjustment_id(run_id, key)?,
        dc: key.dc.clone(),
        kind: TxnKind::Adjustment,
        item: key.item.clone(),
        subinventory: key.subinventory.clone(),
        quantity: v.variance,
        uom: facts.uom.clone(),
        tracking,
        occurred_at: now,
    })
    .map_err(NoAdjustment::from)
}

pub(super) fn explaining_serials(variance: Decimal, facts: &KeyFacts) -> Result<Vec<SerialNumber>, NoAdjustment> {
    let (from, to) = if variance.is_sign_positive() {
        (&facts.wms_serials, &facts.fusion_serials)
    } else {
        (&facts.fusion_serials, &facts.wms_serials)
    };
    let diff: Vec<SerialNumber> = from
        .iter()
        .filter(|s| !to.contains(*s) && !facts.in_flight_serials.contains(*s))
        .cloned()
        .collect();
    if Decimal::from(diff.len() as u64) == variance.abs() {
        Ok(diff)
    } else {
        let side = if variance.is_sign_positive() {
            "WMS but not Fusion"
        } else {
            "Fusion but not the WMS"
        };
        Err(NoAdjustment::SerialsDoNotExplain {
            found: diff.len(),
            side,
            variance: variance.normalize(),
        })
    }
}
