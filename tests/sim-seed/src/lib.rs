//! Deterministic test data shared by the Fusion and WMS simulators.
//!
//! One [`SeedConfig`] always yields the same [`Catalog`]: the item master (the same items in
//! every organization, as Fusion's item master assigns items to organizations) and per-DC
//! on-hand balances by subinventory, lot and serial. Feeding the same config to both
//! simulators makes them start consistent; drift is injected afterwards on purpose.
//!
//! Item `i`'s attributes depend only on `(seed, i)` and DC `d`'s balances only on
//! `(seed, d, i)`, so growing the DC or item count never changes existing rows.
//!
//! Units of measure come in two spellings ([`UomStyle`]): upper case (`EA`, `CS`, `KG`, `LB`)
//! or mixed and lower case (`Ea`, `cs`, `Kg`, `Lb`), as Fusion stores a UOM code as entered and
//! compares it case-sensitively (fact sheet `shared/reference/fusion-rest.md` §5). The style
//! only changes the spelling; which item gets which unit is the same in both.

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What to generate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedConfig {
    /// RNG seed; the same seed gives the same data.
    pub seed: u64,
    /// Number of DCs (Fusion inventory organizations), named `DC01`, `DC02`, ...
    pub dcs: usize,
    /// Items per DC (every DC stocks the same item master).
    pub items: usize,
    /// The date lots' expiration dates are relative to; lots generated here expire after it.
    pub today: NaiveDate,
    /// How unit-of-measure codes are spelled (absent in older JSON configs: [`UomStyle::Upper`]).
    #[serde(default)]
    pub uom_style: UomStyle,
}

/// Spelling of unit-of-measure codes in the generated item master.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UomStyle {
    /// `EA`, `CS`, `KG`, `LB` (the historical default).
    #[default]
    #[serde(alias = "upper")]
    Upper,
    /// `Ea`, `cs`, `Kg`, `Lb`: mixed and lower case, as many Fusion pods have them
    /// (fact sheet §5: `Ea` for Each is common).
    #[serde(alias = "mixed")]
    Mixed,
}

/// A unit of measure of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// UOM code as stored (at most 3 characters, case as entered).
    pub code: String,
    /// Unit name, e.g. `Each`.
    pub name: String,
    /// Decimal places allowed.
    pub scale: u32,
}

/// The units every catalog has: upper-case code, mixed-case code, name, decimal places.
pub const UNITS: [(&str, &str, &str, u32); 4] = [
    ("EA", "Ea", "Each", 0),
    ("CS", "cs", "Case", 0),
    ("KG", "Kg", "Kilogram", 3),
    ("LB", "Lb", "Pound", 2),
];

impl std::str::FromStr for UomStyle {
    type Err = String;

    /// `upper` or `mixed`, in any case (for command-line flags).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "upper" => Ok(UomStyle::Upper),
            "mixed" => Ok(UomStyle::Mixed),
            other => Err(format!("unknown UOM style {other:?}: use upper or mixed")),
        }
    }
}

impl UomStyle {
    /// The code of the unit whose upper-case code is `upper` in this style (`upper` itself
    /// when it is not one of [`UNITS`]).
    pub fn code(self, upper: &str) -> String {
        match self {
            UomStyle::Upper => upper.to_string(),
            UomStyle::Mixed => UNITS.iter().find(|u| u.0 == upper).map_or(upper, |u| u.1).to_string(),
        }
    }

    /// Every unit in this style, in [`UNITS`] order.
    pub fn units(self) -> Vec<Unit> {
        UNITS
            .iter()
            .map(|(up, _, name, scale)| Unit {
                code: self.code(up),
                name: (*name).to_string(),
                scale: *scale,
            })
            .collect()
    }
}

impl Default for SeedConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            dcs: 12,
            items: 50_000,
            today: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            uom_style: UomStyle::Upper,
        }
    }
}

/// Subinventories every DC has.
pub const SUBINVENTORIES: [&str; 4] = ["STORES", "PICK", "BULK", "RETURNS"];

/// How an item is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// Quantity only.
    Plain,
    /// Lot-controlled: every movement names lots (with expiration dates).
    Lot,
    /// Serial-controlled: every unit has a serial number; quantities are whole.
    Serial,
}

/// An item of the item master.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// Fusion numeric id (InventoryItemId).
    pub id: i64,
    /// Item number shared by WMS and Fusion, e.g. `ITM-000042`.
    pub number: String,
    /// Lot / serial control.
    pub control: Control,
    /// Primary unit of measure code (`EA`, `KG`, `LB`, `CS`; `Ea`, `Kg`, `Lb`, `cs` in
    /// [`UomStyle::Mixed`]).
    pub uom: String,
    /// Decimal places the UOM allows (0 for each-counted units).
    pub scale: u32,
}

/// An organization (DC).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Org {
    /// Fusion numeric id (OrganizationId).
    pub id: i64,
    /// Organization code, equal to the WMS DC code, e.g. `DC01`.
    pub code: String,
}

/// A lot with its expiration date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// Lot number, e.g. `L000042-1`.
    pub number: String,
    /// Expiration date.
    pub expiration: NaiveDate,
}

/// One on-hand row: organization / item / subinventory / (lot).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Balance {
    /// Index into [`Catalog::orgs`].
    pub org: usize,
    /// Index into [`Catalog::items`].
    pub item: usize,
    /// Subinventory code.
    pub subinventory: String,
    /// Lot, for lot-controlled items.
    pub lot: Option<Lot>,
    /// Serial numbers, for serial-controlled items (`serials.len() == quantity`).
    pub serials: Vec<String>,
    /// On-hand quantity in the item's primary UOM.
    pub quantity: Decimal,
}

/// Everything generated from one [`SeedConfig`].
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Organizations in order.
    pub orgs: Vec<Org>,
    /// Item master in order.
    pub items: Vec<Item>,
    /// Balances, grouped by org then item.
    pub balances: Vec<Balance>,
    /// Units of measure, spelled in the configured [`UomStyle`].
    pub units: Vec<Unit>,
}

impl Catalog {
    /// Balances of one organization.
    pub fn balances_of(&self, org: usize) -> impl Iterator<Item = &Balance> {
        self.balances.iter().filter(move |b| b.org == org)
    }
}

/// Item `index` of the item master for `seed`, with upper-case UOM codes.
pub fn item(seed: u64, index: usize) -> Item {
    item_styled(seed, index, UomStyle::Upper)
}

/// Item `index` of the item master for `seed`, its UOM code spelled in `style`.
pub fn item_styled(seed: u64, index: usize, style: UomStyle) -> Item {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let roll: u32 = rng.random_range(0..100);
    // Roughly 70 % plain, 20 % lot-controlled, 10 % serial-controlled.
    let control = match roll {
        0..=69 => Control::Plain,
        70..=89 => Control::Lot,
        _ => Control::Serial,
    };
    let (uom, scale) = match control {
        Control::Serial => ("EA", 0),
        _ => match rng.random_range(0..10) {
            0..=5 => ("EA", 0),
            6 => ("CS", 0),
            7 | 8 => ("KG", 3),
            _ => ("LB", 2),
        },
    };
    Item {
        id: 100_000 + index as i64,
        number: format!("ITM-{index:06}"),
        control,
        uom: style.code(uom),
        scale,
    }
}

/// Organization `index` (0-based): `DC01`, `DC02`, ...
pub fn org(index: usize) -> Org {
    Org {
        id: 300_000 + index as i64,
        code: format!("DC{:02}", index + 1),
    }
}

/// Generates the whole catalog.
pub fn generate(cfg: &SeedConfig) -> Catalog {
    let orgs: Vec<Org> = (0..cfg.dcs).map(org).collect();
    let items: Vec<Item> = (0..cfg.items)
        .map(|i| item_styled(cfg.seed, i, cfg.uom_style))
        .collect();
    let mut balances = Vec::with_capacity(cfg.dcs * cfg.items * 3 / 2);
    for o in 0..cfg.dcs {
        for (i, it) in items.iter().enumerate() {
            balances_for(cfg, o, i, it, &mut balances);
        }
    }
    Catalog {
        orgs,
        items,
        balances,
        units: cfg.uom_style.units(),
    }
}

fn balances_for(cfg: &SeedConfig, o: usize, i: usize, it: &Item, out: &mut Vec<Balance>) {
    let mut rng =
        ChaCha8Rng::seed_from_u64(cfg.seed ^ ((o as u64 + 1) << 40) ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let subs = if rng.random_range(0..4) == 0 { 2 } else { 1 };
    let first = rng.random_range(0..2);
    for s in 0..subs {
        // First subinventory STORES or PICK, the optional second BULK or RETURNS: never the
        // same key twice.
        let subinventory = SUBINVENTORIES[first + 2 * s].to_string();
        match it.control {
            Control::Plain => {
                let whole: i64 = rng.random_range(0..2_000);
                let quantity = if it.scale > 0 {
                    Decimal::new(
                        whole * 10i64.pow(it.scale) + rng.random_range(0..10i64.pow(it.scale)),
                        it.scale,
                    )
                } else {
                    Decimal::from(whole)
                };
                out.push(Balance {
                    org: o,
                    item: i,
                    subinventory,
                    lot: None,
                    serials: Vec::new(),
                    quantity,
                });
            }
            Control::Lot => {
                let lots = rng.random_range(1..=3);
                for l in 0..lots {
                    let expiration = cfg.today + Duration::days(rng.random_range(30..720));
                    let quantity = Decimal::from(rng.random_range(1..500i64));
                    out.push(Balance {
                        org: o,
                        item: i,
                        subinventory: subinventory.clone(),
                        lot: Some(Lot {
                            number: format!("L{i:06}-{s}{l}"),
                            expiration,
                        }),
                        serials: Vec::new(),
                        quantity,
                    });
                }
            }
            Control::Serial => {
                let n: usize = rng.random_range(1..=6);
                let serials = (0..n).map(|k| format!("SN{:02}{i:06}{s}{k:03}", o + 1)).collect();
                out.push(Balance {
                    org: o,
                    item: i,
                    subinventory,
                    lot: None,
                    serials,
                    quantity: Decimal::from(n as i64),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_config_gives_same_catalog() {
        let cfg = SeedConfig {
            dcs: 2,
            items: 500,
            ..SeedConfig::default()
        };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.balances.len(), b.balances.len());
        for (x, y) in a.balances.iter().zip(&b.balances) {
            assert_eq!(
                (x.org, x.item, &x.subinventory, x.quantity),
                (y.org, y.item, &y.subinventory, y.quantity)
            );
            assert_eq!(x.lot, y.lot);
            assert_eq!(x.serials, y.serials);
        }
    }

    #[test]
    fn growing_the_catalog_keeps_existing_items_and_mixes_controls() {
        let small = generate(&SeedConfig {
            dcs: 1,
            items: 100,
            ..SeedConfig::default()
        });
        let big = generate(&SeedConfig {
            dcs: 2,
            items: 1000,
            ..SeedConfig::default()
        });
        for (a, b) in small.items.iter().zip(&big.items) {
            assert_eq!(
                (a.number.as_str(), a.control, a.uom.as_str()),
                (b.number.as_str(), b.control, b.uom.as_str())
            );
        }
        let lots = big.items.iter().filter(|i| i.control == Control::Lot).count();
        let serials = big.items.iter().filter(|i| i.control == Control::Serial).count();
        assert!((150..=250).contains(&lots), "lot share off: {lots}");
        assert!((50..=150).contains(&serials), "serial share off: {serials}");
    }

    #[test]
    fn no_balance_key_appears_twice() {
        let c = generate(&SeedConfig {
            dcs: 2,
            items: 3000,
            ..SeedConfig::default()
        });
        let mut keys = std::collections::BTreeSet::new();
        for b in &c.balances {
            let key = (
                b.org,
                b.item,
                b.subinventory.clone(),
                b.lot.as_ref().map(|l| l.number.clone()),
            );
            assert!(keys.insert(key.clone()), "duplicate key {key:?}");
        }
    }

    #[test]
    fn mixed_uom_style_respells_codes_only_and_old_configs_default_to_upper() {
        let upper = generate(&SeedConfig {
            dcs: 1,
            items: 400,
            ..SeedConfig::default()
        });
        let mixed = generate(&SeedConfig {
            dcs: 1,
            items: 400,
            uom_style: UomStyle::Mixed,
            ..SeedConfig::default()
        });
        let mut seen = std::collections::BTreeSet::new();
        for (a, b) in upper.items.iter().zip(&mixed.items) {
            assert_eq!(
                (a.number.as_str(), a.control, a.scale),
                (b.number.as_str(), b.control, b.scale)
            );
            assert_eq!(a.uom.to_ascii_uppercase(), b.uom.to_ascii_uppercase());
            seen.insert(b.uom.clone());
        }
        let want: std::collections::BTreeSet<String> = ["Ea", "cs", "Kg", "Lb"].map(String::from).into();
        assert_eq!(seen, want);
        assert_eq!(
            mixed.units.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(),
            ["Ea", "cs", "Kg", "Lb"]
        );
        assert_eq!(
            upper.units.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(),
            ["EA", "CS", "KG", "LB"]
        );
        assert_eq!(upper.balances.len(), mixed.balances.len());
        // A config written before uom_style existed still parses, as Upper.
        let old = r#"{"seed":42,"dcs":1,"items":10,"today":"2026-11-01"}"#;
        let cfg: SeedConfig = match serde_json::from_str(old) {
            Ok(c) => c,
            Err(e) => panic!("old config no longer parses: {e}"),
        };
        assert_eq!(cfg.uom_style, UomStyle::Upper);
    }

    #[test]
    fn serial_balances_have_one_serial_per_unit_and_lots_expire_after_today() {
        let cfg = SeedConfig {
            dcs: 1,
            items: 2000,
            ..SeedConfig::default()
        };
        let c = generate(&cfg);
        for b in &c.balances {
            match c.items[b.item].control {
                Control::Serial => assert_eq!(Decimal::from(b.serials.len() as i64), b.quantity),
                Control::Lot => assert!(b.lot.as_ref().is_some_and(|l| l.expiration > cfg.today)),
                Control::Plain => assert!(b.lot.is_none() && b.serials.is_empty()),
            }
            assert!(b.quantity >= Decimal::ZERO);
        }
    }
}
