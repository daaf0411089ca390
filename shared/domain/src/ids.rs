//! Identifier newtypes with parsing constructors.
//!
//! Each type can only hold a value that passed its `parse` rules, so code that receives an
//! `ItemNumber` never re-validates it. Serde goes through `parse` too.

use crate::error::{quote, DomainError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which characters an identifier may contain.
#[derive(Clone, Copy)]
enum Charset {
    /// Letters of either case, digits and `_ - . / # % & +`: Fusion codes (organization, unit
    /// of measure) are stored as entered and compared case-sensitively (fact sheet §5: `Ea`
    /// is a common UOM code), so invsync neither refuses nor normalises their case.
    Code,
    /// `A-Z a-z 0-9 _ - . : / #`: lot, serial, transaction and subinventory identifiers.
    Token,
    /// Any printable character, no leading or trailing whitespace (Fusion item numbers).
    Printable,
}

impl Charset {
    fn allows(self, c: char) -> bool {
        match self {
            Charset::Code => c.is_ascii_alphanumeric() || "_-./#%&+".contains(c),
            Charset::Token => c.is_ascii_alphanumeric() || "_-.:/#".contains(c),
            Charset::Printable => !c.is_control(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Charset::Code => "only letters, digits and _ - . / # % & +",
            Charset::Token => "only letters, digits and _ - . : / #",
            Charset::Printable => "no control characters",
        }
    }
}

fn check(kind: &'static str, value: &str, max: usize, charset: Charset) -> Result<(), DomainError> {
    let fail = |reason: String| DomainError::InvalidId {
        kind,
        value: quote(value),
        reason,
    };
    if value.is_empty() {
        return Err(fail("must not be empty".into()));
    }
    let len = value.chars().count();
    if len > max {
        return Err(fail(format!("is {len} characters long, at most {max} allowed")));
    }
    if value.trim() != value {
        return Err(fail("must not start or end with whitespace".into()));
    }
    if let Some(bad) = value.chars().find(|c| !charset.allows(*c)) {
        return Err(fail(format!("contains {bad:?}; {} allowed", charset.describe())));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal, $charset:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_LEN: usize = $max;

            /// Parses and validates `value`; the error names the rule that failed.
            pub fn parse(value: impl Into<String>) -> Result<Self, DomainError> {
                let value = value.into();
                check($kind, &value, $max, $charset)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A distribution center code, equal to the Fusion inventory organization code
    /// (Fusion allows up to 18 characters; compared exactly, case included), e.g. `DC01`.
    DcCode, "DC code", 18, Charset::Code
);
id_type!(
    /// An item number shared by the WMS and the Fusion item master (Fusion: up to 300
    /// characters), e.g. `ITM-000042`.
    ItemNumber, "item number", 300, Charset::Printable
);
id_type!(
    /// A subinventory code (Fusion: up to 10 characters), e.g. `STORES`.
    SubinventoryCode, "subinventory code", 10, Charset::Token
);
id_type!(
    /// A lot number (Fusion: up to 80 characters).
    LotNumber, "lot number", 80, Charset::Token
);
id_type!(
    /// A serial number (Fusion: up to 80 characters).
    SerialNumber, "serial number", 80, Charset::Token
);
id_type!(
    /// The WMS's stable transaction id: the idempotency key end to end (ledger key and the
    /// Source* reference on the Fusion staged transaction).
    WmsTxnId, "WMS transaction id", 64, Charset::Token
);
id_type!(
    /// A unit of measure code as Fusion stores it: up to 3 characters (UOM_CODE
    /// VARCHAR2(3)), case-sensitive and compared exactly, e.g. `EA`, `Ea`, `kg`.
    Uom, "unit of measure", 3, Charset::Code
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parsing_rejects_bad_ids_with_a_clear_message() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("DC01", Ok(())),
            ("", Err("invalid DC code \"\": must not be empty")),
            ("dc01", Ok(())),
            ("DC;01", Err("contains ';'")),
            ("DC 01", Err("contains ' '")),
            (
                "DC0123456789012345678",
                Err("is 21 characters long, at most 18 allowed"),
            ),
        ];
        for (input, expected) in cases {
            match (DcCode::parse(*input), expected) {
                (Ok(dc), Ok(())) => assert_eq!(dc.as_str(), *input),
                (Err(e), Err(fragment)) => {
                    assert!(e.to_string().contains(fragment), "{input:?}: {e}")
                }
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn each_id_type_enforces_its_length_and_charset() {
        assert!(ItemNumber::parse("ITM-000042 Blue Widget").is_ok());
        assert!(ItemNumber::parse(" ITM").is_err());
        assert!(ItemNumber::parse("A\u{0}B").is_err());
        assert!(ItemNumber::parse("x".repeat(300)).is_ok());
        assert!(ItemNumber::parse("x".repeat(301)).is_err());
        assert!(SubinventoryCode::parse("STORES").is_ok());
        assert!(SubinventoryCode::parse("ELEVENCHARS").is_err());
        assert!(LotNumber::parse("L000042-01").is_ok());
        assert!(LotNumber::parse("L 1").is_err());
        assert!(SerialNumber::parse("SN-1/2").is_ok());
        assert!(WmsTxnId::parse("DC01-000000123").is_ok());
        assert!(WmsTxnId::parse("DC01;DROP").is_err());
        assert!(Uom::parse("EA").is_ok());
        assert!(Uom::parse("EACH").is_err());
        assert!(Uom::parse("E A").is_err());
        let mixed = Uom::parse("Ea").unwrap();
        assert_eq!(mixed.as_str(), "Ea", "stored as entered");
        assert_ne!(mixed, Uom::parse("EA").unwrap(), "compared exactly");
        assert!(Uom::parse("ea").is_ok() && Uom::parse("m/s").is_ok());
    }

    #[test]
    fn overlong_garbage_is_quoted_truncated() {
        let err = LotNumber::parse("Z".repeat(5000)).err().map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("5000 chars") && msg.len() < 200, "{msg}");
    }

    #[test]
    fn serde_goes_through_parse() {
        let ok: Result<DcCode, _> = serde_json::from_str("\"DC07\"");
        assert_eq!(ok.map(|d| d.to_string()).ok().as_deref(), Some("DC07"));
        let bad: Result<DcCode, _> = serde_json::from_str("\"DC 07\"");
        assert!(bad.is_err());
    }

    proptest! {
        #[test]
        fn valid_tokens_round_trip(s in "[A-Za-z0-9_.:/#-]{1,80}") {
            let lot = LotNumber::parse(s.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(lot.as_str(), s.as_str());
        }

        #[test]
        fn anything_with_a_space_is_not_a_serial(a in "[A-Z0-9]{0,10}", b in "[A-Z0-9]{0,10}") {
            let parsed = SerialNumber::parse(format!("{a} {b}"));
            prop_assert!(parsed.is_err());
        }
    }
}
