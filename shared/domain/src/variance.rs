//! Reconciliation rules: the three-way variance and its tiers.
//!
//! `variance = WMS on-hand - (Fusion on-hand + net quantity of in-flight transactions)` per
//! organization / item / subinventory (and lot where lot-controlled). The tier decides the
//! action: auto-correct, supervisor review, or alert and hold.

use crate::error::DomainError;
use crate::ids::{DcCode, ItemNumber, LotNumber, SubinventoryCode};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The grain at which stock is compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BalanceKey {
    /// Organization.
    pub dc: DcCode,
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: SubinventoryCode,
    /// Lot, for lot-controlled items.
    pub lot: Option<LotNumber>,
}

impl BalanceKey {
    /// A key.
    pub fn new(dc: DcCode, item: ItemNumber, subinventory: SubinventoryCode, lot: Option<LotNumber>) -> Self {
        Self {
            dc,
            item,
            subinventory,
            lot,
        }
    }
}

impl fmt::Display for BalanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.dc, self.item, self.subinventory)?;
        if let Some(lot) = &self.lot {
            write!(f, "/{lot}")?;
        }
        Ok(())
    }
}

/// Variance thresholds, in units of the item's primary UOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// `|variance| < auto_correct_below` is corrected automatically (default 5).
    pub auto_correct_below: Decimal,
    /// `|variance| > alert_above` alerts and holds (default 50); in between goes to review.
    pub alert_above: Decimal,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            auto_correct_below: Decimal::from(5),
            alert_above: Decimal::from(50),
        }
    }
}

impl Thresholds {
    /// Thresholds, refused unless `0 < auto_correct_below <= alert_above`.
    pub fn new(auto_correct_below: Decimal, alert_above: Decimal) -> Result<Self, DomainError> {
        if auto_correct_below <= Decimal::ZERO {
            return Err(DomainError::InvalidConfig {
                name: "auto_correct_below",
                reason: format!("must be positive, got {auto_correct_below}"),
            });
        }
        if alert_above < auto_correct_below {
            return Err(DomainError::InvalidConfig {
                name: "alert_above",
                reason: format!("{alert_above} is below the auto-correct threshold {auto_correct_below}"),
            });
        }
        Ok(Self {
            auto_correct_below,
            alert_above,
        })
    }

    /// The tier of a variance. Zero matches; the sign does not change the tier.
    pub fn classify(&self, variance: Decimal) -> Tier {
        let v = variance.abs();
        if v.is_zero() {
            Tier::Matched
        } else if v < self.auto_correct_below {
            Tier::AutoCorrect
        } else if v <= self.alert_above {
            Tier::Review
        } else {
            Tier::Alert
        }
    }
}

/// What a variance calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// No variance.
    Matched,
    /// Small: post an adjustment to Fusion.
    AutoCorrect,
    /// Medium: open a supervisor review task.
    Review,
    /// Large: alert the warehouse manager and hold order releases for the SKU.
    Alert,
}

impl Tier {
    /// Stable name for reports and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Matched => "matched",
            Tier::AutoCorrect => "auto_correct",
            Tier::Review => "review",
            Tier::Alert => "alert",
        }
    }
}

/// On-hand per key. Absent keys are zero.
pub type Snapshot = BTreeMap<BalanceKey, Decimal>;

/// One compared key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variance {
    /// The key.
    pub key: BalanceKey,
    /// WMS on-hand.
    pub wms: Decimal,
    /// Fusion on-hand.
    pub fusion: Decimal,
    /// Net quantity of unsettled (in-flight) transactions.
    pub in_flight: Decimal,
    /// `wms - (fusion + in_flight)`.
    pub variance: Decimal,
    /// What it calls for.
    pub tier: Tier,
}

/// `wms - (fusion + in_flight)`.
pub fn variance(wms: Decimal, fusion: Decimal, in_flight: Decimal) -> Decimal {
    wms - (fusion + in_flight)
}

/// The result of comparing three snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Number of keys compared (union of the three snapshots, less skipped keys).
    pub keys_compared: usize,
    /// Keys that matched.
    pub matched: usize,
    /// Keys with a non-zero variance, in key order.
    pub variances: Vec<Variance>,
    /// Keys left out because a transaction touched them while the snapshots were read.
    pub unsettled_skipped: usize,
}

impl Comparison {
    /// Share of compared keys that matched, 1 when nothing was compared.
    pub fn accuracy(&self) -> Decimal {
        if self.keys_compared == 0 {
            return Decimal::ONE;
        }
        Decimal::from(self.matched as u64) / Decimal::from(self.keys_compared as u64)
    }

    /// Variances of one tier.
    pub fn of_tier(&self, tier: Tier) -> impl Iterator<Item = &Variance> {
        self.variances.iter().filter(move |v| v.tier == tier)
    }
}

/// Compares WMS, Fusion and in-flight snapshots key by key. Keys in `unsettled` (touched by a
/// transaction that settled while the reads ran) are skipped for this run rather than reported
/// as false variances.
pub fn compare(
    wms: &Snapshot,
    fusion: &Snapshot,
    in_flight: &Snapshot,
    unsettled: &BTreeSet<BalanceKey>,
    thresholds: &Thresholds,
) -> Comparison {
    let keys: BTreeSet<&BalanceKey> = wms.keys().chain(fusion.keys()).chain(in_flight.keys()).collect();
    let mut out = Comparison::default();
    for key in keys {
        if unsettled.contains(key) {
            out.unsettled_skipped += 1;
            continue;
        }
        out.keys_compared += 1;
        let w = wms.get(key).copied().unwrap_or_default();
        let f = fusion.get(key).copied().unwrap_or_default();
        let i = in_flight.get(key).copied().unwrap_or_default();
        let v = variance(w, f, i);
        let tier = thresholds.classify(v);
        if tier == Tier::Matched {
            out.matched += 1;
        } else {
            out.variances.push(Variance {
                key: key.clone(),
                wms: w,
                fusion: f,
                in_flight: i,
                variance: v,
                tier,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn key(item: u32, sub: &str) -> BalanceKey {
        BalanceKey::new(
            DcCode::parse("DC01").unwrap(),
            ItemNumber::parse(format!("ITM-{item}")).unwrap(),
            SubinventoryCode::parse(sub).unwrap(),
            None,
        )
    }

    #[test]
    fn tier_boundaries() {
        let t = Thresholds::default();
        let cases = [
            (dec!(0), Tier::Matched),
            (dec!(0.001), Tier::AutoCorrect),
            (dec!(4.99), Tier::AutoCorrect),
            (dec!(-4.99), Tier::AutoCorrect),
            (dec!(5), Tier::Review),
            (dec!(-5), Tier::Review),
            (dec!(50), Tier::Review),
            (dec!(-50), Tier::Review),
            (dec!(50.01), Tier::Alert),
            (dec!(-50.01), Tier::Alert),
            (dec!(1000000), Tier::Alert),
        ];
        for (v, want) in cases {
            assert_eq!(t.classify(v), want, "variance {v}");
        }
    }

    #[test]
    fn thresholds_are_configurable_and_validated() {
        let t = Thresholds::new(dec!(1), dec!(10)).unwrap();
        assert_eq!(t.classify(dec!(1)), Tier::Review);
        assert_eq!(t.classify(dec!(10.5)), Tier::Alert);
        assert!(Thresholds::new(dec!(0), dec!(10)).is_err());
        assert!(Thresholds::new(dec!(20), dec!(10)).is_err());
    }

    #[test]
    fn in_flight_quantities_are_not_variance() {
        let mut wms = Snapshot::new();
        let mut fusion = Snapshot::new();
        let mut inflight = Snapshot::new();
        wms.insert(key(1, "STORES"), dec!(90));
        fusion.insert(key(1, "STORES"), dec!(100));
        inflight.insert(key(1, "STORES"), dec!(-10));
        wms.insert(key(2, "PICK"), dec!(3));
        inflight.insert(key(2, "PICK"), dec!(3));
        wms.insert(key(3, "BULK"), dec!(60));
        fusion.insert(key(3, "BULK"), dec!(3));
        let c = compare(&wms, &fusion, &inflight, &BTreeSet::new(), &Thresholds::default());
        assert_eq!(c.keys_compared, 3);
        assert_eq!(c.matched, 2);
        assert_eq!(c.variances.len(), 1);
        assert_eq!(c.variances[0].variance, dec!(57));
        assert_eq!(c.variances[0].tier, Tier::Alert);
        assert_eq!(c.of_tier(Tier::Alert).count(), 1);
    }

    #[test]
    fn unsettled_keys_are_skipped_not_reported() {
        let mut wms = Snapshot::new();
        wms.insert(key(1, "STORES"), dec!(10));
        let unsettled: BTreeSet<_> = [key(1, "STORES")].into();
        let c = compare(
            &wms,
            &Snapshot::new(),
            &Snapshot::new(),
            &unsettled,
            &Thresholds::default(),
        );
        assert!(c.variances.is_empty());
        assert_eq!(c.unsettled_skipped, 1);
        assert_eq!(c.accuracy(), Decimal::ONE);
    }

    fn snapshot() -> impl Strategy<Value = Snapshot> {
        prop::collection::btree_map(
            (0u32..50, prop_oneof![Just("STORES"), Just("PICK")]),
            -10_000i64..10_000,
            0..40,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|((i, s), q)| (key(i, s), Decimal::new(q, 2)))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn equal_snapshots_have_no_variance(s in snapshot()) {
            let c = compare(&s, &s, &Snapshot::new(), &BTreeSet::new(), &Thresholds::default());
            prop_assert!(c.variances.is_empty());
            prop_assert_eq!(c.accuracy(), Decimal::ONE);
        }

        #[test]
        fn applying_the_variances_converges(w in snapshot(), f in snapshot(), i in snapshot()) {
            let c = compare(&w, &f, &i, &BTreeSet::new(), &Thresholds::default());
            let mut corrected = f.clone();
            for v in &c.variances {
                *corrected.entry(v.key.clone()).or_default() += v.variance;
            }
            let again = compare(&w, &corrected, &i, &BTreeSet::new(), &Thresholds::default());
            prop_assert!(again.variances.is_empty());
        }

        #[test]
        fn classification_ignores_sign(v in -100_000i64..100_000) {
            let t = Thresholds::default();
            let d = Decimal::new(v, 2);
            prop_assert_eq!(t.classify(d), t.classify(-d));
        }
    }
}
