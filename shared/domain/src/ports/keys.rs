//! Typed keys of the operational records: review tasks, incidents and run reports. Each is
//! stored as the same text as before (`txn:<id>`, `bal:<key>`, `systemic:fusion`, `INC-...`,
//! `sync`), and parses back from it.

use crate::error::{quote, DomainError};
use crate::variance::BalanceKey;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

fn invalid(kind: &'static str, value: &str, reason: &str) -> DomainError {
    DomainError::InvalidId {
        kind,
        value: quote(value),
        reason: reason.into(),
    }
}

macro_rules! text_serde {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.to_string()
            }
        }
    };
}

/// A balance key as stored text (`<dc>/<item>/<subinventory>[/<lot>]`). Why a type of its
/// own: every part may contain `/`, so the text cannot be parsed back into a [`BalanceKey`];
/// records keyed by a balance (incidents, variance tasks) keep and compare this text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BalanceKeyText(String);

impl BalanceKeyText {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&BalanceKey> for BalanceKeyText {
    fn from(key: &BalanceKey) -> Self {
        Self(key.to_string())
    }
}

impl fmt::Display for BalanceKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BalanceKeyText {
    type Err = DomainError;
    /// Reads stored text back; only emptiness is refused (the parts cannot be told apart).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(invalid("balance key", s, "must not be empty"));
        }
        Ok(Self(s.to_string()))
    }
}

text_serde!(BalanceKeyText);

/// The id of one engine run, as the engine made it (`sync:<dc>:<slot>`, `reconcile:<slot>`,
/// or a manual run's own id). Run reports are keyed by `(dc, kind, run id)`; the engines derive
/// adjustment and incident ids from it, so one run repeated acts once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for RunId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for RunId {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RunId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Which outside system a systemic stop is about (one open task per DC and system).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemicCause {
    /// Fusion refused the credentials or the integration user's role.
    Fusion,
    /// The WMS refused the API key.
    Wms,
}

impl SystemicCause {
    /// Both causes.
    pub const ALL: [SystemicCause; 2] = [SystemicCause::Fusion, SystemicCause::Wms];

    fn as_str(self) -> &'static str {
        match self {
            SystemicCause::Fusion => "fusion",
            SystemicCause::Wms => "wms",
        }
    }
}

/// What a review task is about; at most one open task per DC and key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TaskKey {
    /// A WMS transaction, by the id the outbox gave (`txn:<id>`). Text, not a `WmsTxnId`:
    /// a malformed outbox entry's id may not be a valid one, and it still gets a task.
    Txn(String),
    /// A stock variance at a balance key (`bal:<key>`).
    Balance(BalanceKeyText),
    /// A sync of the DC stopped for a systemic cause (`systemic:fusion`, `systemic:wms`).
    Systemic(SystemicCause),
}

impl TaskKey {
    /// The task key of a balance key.
    pub fn balance(key: &BalanceKey) -> Self {
        TaskKey::Balance(key.into())
    }

    /// The task key of a transaction id (valid or as the outbox gave it).
    pub fn txn(id: impl fmt::Display) -> Self {
        TaskKey::Txn(id.to_string())
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskKey::Txn(id) => write!(f, "txn:{id}"),
            TaskKey::Balance(key) => write!(f, "bal:{key}"),
            TaskKey::Systemic(cause) => write!(f, "systemic:{}", cause.as_str()),
        }
    }
}

impl FromStr for TaskKey {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refuse = |reason| invalid("review task key", s, reason);
        if let Some(id) = s.strip_prefix("txn:") {
            if id.is_empty() {
                return Err(refuse("txn: must be followed by an id"));
            }
            return Ok(TaskKey::Txn(id.to_string()));
        }
        if let Some(key) = s.strip_prefix("bal:") {
            return Ok(TaskKey::Balance(key.parse()?));
        }
        match s {
            "systemic:fusion" => Ok(TaskKey::Systemic(SystemicCause::Fusion)),
            "systemic:wms" => Ok(TaskKey::Systemic(SystemicCause::Wms)),
            _ => Err(refuse("not txn:<id>, bal:<key>, systemic:fusion or systemic:wms")),
        }
    }
}

text_serde!(TaskKey);

/// A key equals the text it is stored as (`key == "txn:T1"`).
impl PartialEq<str> for TaskKey {
    fn eq(&self, other: &str) -> bool {
        other.parse::<TaskKey>().is_ok_and(|k| k == *self)
    }
}

impl PartialEq<String> for TaskKey {
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

impl PartialEq<&str> for TaskKey {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// The id of an incident (`INC-` and 16 hex digits), also the hold's reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

impl IncidentId {
    /// Prefix of every incident id.
    pub const PREFIX: &'static str = "INC-";

    /// The id made of a 64-bit digest: `INC-` and 16 hex digits.
    pub fn from_digest(digest: u64) -> Self {
        Self(format!("{}{digest:016x}", Self::PREFIX))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IncidentId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix(Self::PREFIX) {
            Some(rest) if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Ok(Self(s.to_string()))
            }
            _ => Err(invalid("incident id", s, "must be INC- followed by letters or digits")),
        }
    }
}

text_serde!(IncidentId);

/// Which engine a run report is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// The hourly sync of a DC (`sync`).
    Sync,
    /// The 15-minute reconciliation of a DC (`reconcile`).
    Reconcile,
}

impl RunKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Sync => "sync",
            RunKind::Reconcile => "reconcile",
        }
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sync" => Ok(RunKind::Sync),
            "reconcile" => Ok(RunKind::Reconcile),
            _ => Err(invalid("run kind", s, "must be sync or reconcile")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DcCode, ItemNumber, LotNumber, SubinventoryCode};

    fn round_trips<T>(text: &str)
    where
        T: FromStr<Err = DomainError> + fmt::Display + Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug,
    {
        let parsed: T = text.parse().unwrap();
        assert_eq!(parsed.to_string(), text);
        let json = serde_json::to_string(&parsed).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), parsed);
    }

    #[test]
    fn stored_task_keys_parse_back_to_the_same_text() {
        for text in [
            "txn:DC01-000123",
            "txn:bad id with spaces",
            "bal:DC03/ITM-1/STORES",
            "bal:DC/1/ITEM/WITH/SLASHES/SUB/LOT",
            "systemic:fusion",
            "systemic:wms",
        ] {
            round_trips::<TaskKey>(text);
        }
        for bad in ["", "txn:", "bal:", "systemic:other", "other:1"] {
            assert!(bad.parse::<TaskKey>().is_err(), "{bad}");
        }
        assert_eq!(
            "systemic:wms".parse::<TaskKey>().unwrap(),
            TaskKey::Systemic(SystemicCause::Wms)
        );
    }

    #[test]
    fn a_balance_task_key_is_bal_and_the_key_text() {
        let key = BalanceKey::new(
            DcCode::parse("DC03").unwrap(),
            ItemNumber::parse("ITM-1").unwrap(),
            SubinventoryCode::parse("STORES").unwrap(),
            Some(LotNumber::parse("L1").unwrap()),
        );
        assert_eq!(TaskKey::balance(&key).to_string(), "bal:DC03/ITM-1/STORES/L1");
        assert_eq!(BalanceKeyText::from(&key).as_str(), "DC03/ITM-1/STORES/L1");
        round_trips::<BalanceKeyText>("DC03/ITM-1/STORES/L1");
    }

    #[test]
    fn incident_ids_and_run_kinds_round_trip() {
        round_trips::<IncidentId>("INC-0123456789abcdef");
        for bad in ["", "INC-", "X-1", "INC-a b"] {
            assert!(bad.parse::<IncidentId>().is_err(), "{bad}");
        }
        round_trips::<RunKind>("sync");
        round_trips::<RunKind>("reconcile");
        assert!("other".parse::<RunKind>().is_err());
    }
}
