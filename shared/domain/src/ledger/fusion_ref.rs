//! [`FusionRef`]: what the ledger keeps of one posted line, one type for the three shapes it
//! used to be written in by hand (a staged row, a processed line's transaction ids, and the
//! list the WMS is told).

use crate::error::{quote, DomainError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Prefix of a stored reference to a line Fusion holds in its interface, unprocessed.
pub const STAGED_REF_PREFIX: &str = "staged:";

/// Prefix of the reference of a transaction settled by a go-live baseline.
pub const BASELINE_REF_PREFIX: &str = "baseline:";

/// Fusion's reference for one posted line, stored as text in the ledger's `fusion_refs`
/// (formats unchanged): `staged:<TransactionInterfaceId>` for a line still in Fusion's
/// interface, otherwise the line's Fusion ids joined by `+` (both sides of a transfer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FusionRef {
    /// In Fusion's interface, not processed yet: its `TransactionInterfaceId`.
    Staged(i64),
    /// Processed: the ids Fusion answered with (the completed transaction ids, or the
    /// interface id of a line an Online post processed at once), never empty, none containing
    /// `+`.
    Processed(Vec<String>),
}

impl FusionRef {
    /// A processed line known by one id (an Online post's interface id).
    pub fn processed_id(id: impl fmt::Display) -> Self {
        FusionRef::Processed(vec![id.to_string()])
    }

    /// The reference of a transaction settled by go-live baseline `plan`: `baseline:<plan>`
    /// (stored and told to the WMS as it is; it parses back as a processed reference).
    pub fn baseline(plan: &str) -> Self {
        FusionRef::Processed(vec![format!("{BASELINE_REF_PREFIX}{plan}")])
    }

    /// The interface id of a line still staged, if it is one.
    pub fn staged_interface_id(&self) -> Option<i64> {
        match self {
            FusionRef::Staged(id) => Some(*id),
            FusionRef::Processed(_) => None,
        }
    }

    /// The `fusion_reference` the WMS is told for a transaction: its lines' references
    /// joined by `,`.
    pub fn wms_reference(refs: &[FusionRef]) -> String {
        refs.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for FusionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FusionRef::Staged(id) => write!(f, "{STAGED_REF_PREFIX}{id}"),
            FusionRef::Processed(ids) => f.write_str(&ids.join("+")),
        }
    }
}

impl FromStr for FusionRef {
    type Err = DomainError;

    /// Parses a stored reference. Text after `staged:` that is not an integer is refused; any
    /// other non-empty text is a processed line's ids.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refuse = |reason: &str| DomainError::InvalidId {
            kind: "Fusion reference",
            value: quote(s),
            reason: reason.into(),
        };
        if let Some(id) = s.strip_prefix(STAGED_REF_PREFIX) {
            return id
                .parse()
                .map(FusionRef::Staged)
                .map_err(|_| refuse("staged: must be followed by an interface id"));
        }
        if s.is_empty() || s.split('+').any(str::is_empty) {
            return Err(refuse("must name at least one Fusion id"));
        }
        Ok(FusionRef::Processed(s.split('+').map(str::to_string).collect()))
    }
}

impl TryFrom<String> for FusionRef {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<FusionRef> for String {
    fn from(value: FusionRef) -> String {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_shape_round_trips_as_the_same_text() {
        for text in ["staged:42", "300100", "300100+300101", "staged:-1"] {
            let parsed: FusionRef = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
            let json = serde_json::to_string(&parsed).unwrap();
            assert_eq!(serde_json::from_str::<FusionRef>(&json).unwrap(), parsed);
        }
        assert_eq!(
            "staged:42".parse::<FusionRef>().unwrap().staged_interface_id(),
            Some(42)
        );
        assert_eq!(
            "1+2".parse::<FusionRef>().unwrap(),
            FusionRef::Processed(vec!["1".into(), "2".into()])
        );
        assert_eq!(FusionRef::processed_id(7).to_string(), "7");
    }

    #[test]
    fn malformed_references_are_refused() {
        for text in ["", "staged:", "staged:x", "1++2", "+"] {
            assert!(text.parse::<FusionRef>().is_err(), "{text}");
        }
    }

    #[test]
    fn the_wms_is_told_every_line_joined_by_commas() {
        let refs = [FusionRef::processed_id(1), "2+3".parse().unwrap()];
        assert_eq!(FusionRef::wms_reference(&refs), "1,2+3");
    }
}
