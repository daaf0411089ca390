//! Exact quantities. Never floats: `rust_decimal::Decimal` with a unit of measure.

use crate::error::DomainError;
use crate::ids::Uom;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest magnitude accepted for a single quantity. Anything above is a data error
/// (a stray barcode scanned into a quantity field), not stock.
pub const MAX_MAGNITUDE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// A quantity in a unit of measure. Signed: issues are negative.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quantity {
    /// The exact amount.
    pub value: Decimal,
    /// Its unit of measure.
    pub uom: Uom,
}

impl Quantity {
    /// A quantity of `value` in `uom`, refused if above [`MAX_MAGNITUDE`].
    pub fn new(value: Decimal, uom: Uom, context: &str) -> Result<Self, DomainError> {
        check_magnitude(value, context)?;
        Ok(Self { value, uom })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value.normalize(), self.uom)
    }
}

/// Parses a decimal quantity from text, refusing exponents, blanks and non-numbers with a
/// clear message.
pub fn parse_decimal(text: &str, context: &str) -> Result<Decimal, DomainError> {
    let trimmed = text.trim();
    let refuse = |reason: &str| DomainError::InvalidQuantity {
        value: crate::error::quote(text),
        context: context.to_string(),
        reason: reason.to_string(),
    };
    if trimmed.is_empty() {
        return Err(refuse("is empty"));
    }
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    if !plain {
        return Err(refuse(
            "is not a plain decimal number (digits, one optional '.' and sign)",
        ));
    }
    let value: Decimal = trimmed.parse().map_err(|_| refuse("is not a decimal number"))?;
    check_magnitude(value, context)?;
    Ok(value)
}

fn check_magnitude(value: Decimal, context: &str) -> Result<(), DomainError> {
    if value.abs() > MAX_MAGNITUDE {
        return Err(DomainError::InvalidQuantity {
            value: value.to_string(),
            context: context.to_string(),
            reason: format!("magnitude above {MAX_MAGNITUDE}"),
        });
    }
    Ok(())
}

/// Number of decimal places `value` really uses (`1.500` uses 1).
pub fn decimals_used(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// Refuses `value` when it uses more decimal places than `max_scale` (a UOM's precision,
/// e.g. 0 for `EA`).
pub fn check_scale(value: Decimal, max_scale: u32, uom: &Uom, context: &str) -> Result<(), DomainError> {
    let used = decimals_used(value);
    if used > max_scale {
        return Err(DomainError::InvalidQuantity {
            value: value.to_string(),
            context: context.to_string(),
            reason: format!("uses {used} decimal places but {uom} allows {max_scale}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parsing_accepts_exact_decimals_and_refuses_nonsense() {
        assert_eq!(parse_decimal("12.500", "t").ok(), Some(dec!(12.500)));
        assert_eq!(parse_decimal("-3", "t").ok(), Some(dec!(-3)));
        for bad in ["", " ", "abc", "1e3", "NaN", "1,5", "99999999999"] {
            let err = parse_decimal(bad, "txn T1");
            assert!(err.is_err(), "{bad:?} accepted");
            let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("txn T1"), "{msg}");
        }
    }

    #[test]
    fn scale_is_checked_against_the_uom() {
        let ea = Uom::parse("EA").ok();
        let kg = Uom::parse("KG").ok();
        let (Some(ea), Some(kg)) = (ea, kg) else {
            panic!("uom parse")
        };
        assert!(check_scale(dec!(3), 0, &ea, "t").is_ok());
        assert!(check_scale(dec!(3.000), 0, &ea, "t").is_ok());
        let err = check_scale(dec!(3.5), 0, &ea, "t")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("uses 1 decimal places but EA allows 0"), "{err}");
        assert!(check_scale(dec!(1.125), 3, &kg, "t").is_ok());
        assert!(check_scale(dec!(1.1255), 3, &kg, "t").is_err());
    }
}
