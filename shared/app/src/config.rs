//! [`ConfigError`], the one error of reading configuration, and [`Env`], where variables come
//! from (the process environment in a function; a map in the local driver and in tests).

use domain::{DcCode, DomainError};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use thiserror::Error;

/// Configuration is missing or unusable, so the process cannot serve. Never retryable: the
/// same environment fails the same way. Messages name the variable or secret, never a secret's
/// value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("environment variable {0} is required but not set")]
    Missing(String),
    /// A variable's value is unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// Why.
        reason: String,
    },
    /// A client could not be built from its settings.
    #[error("{client} client: {reason}")]
    Client {
        /// Which client (`Fusion`, `WMS`).
        client: &'static str,
        /// Why (never a credential).
        reason: String,
    },
    /// A secret could not be read from Secrets Manager.
    #[error("secret {arn} could not be read: {reason}")]
    Secret {
        /// The secret's ARN or name.
        arn: String,
        /// Why (never the value).
        reason: String,
    },
}

impl ConfigError {
    /// An invalid value of `name`.
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<DomainError> for ConfigError {
    /// A client's configuration reader refused a setting (`DomainError::InvalidConfig` names
    /// it); any other domain error is a value the configuration let through.
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidConfig { name, reason } => Self::invalid(name, reason),
            other => Self::invalid("configuration", other.to_string()),
        }
    }
}

impl domain::Retryable for ConfigError {
    fn is_retryable(&self) -> bool {
        false
    }
}

/// A variable's value by its name, `None` when unset.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A source of variables: a name to its value, `None` when unset. Cheap to clone.
#[derive(Clone)]
pub struct Env {
    get: Arc<Lookup>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Why: values may be secrets (FUSION_PASSWORD in a local run).
        f.write_str("Env(..)")
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    /// Variables from a function.
    pub fn from_fn(get: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self { get: Arc::new(get) }
    }

    /// Variables from a map (the local driver passes the environment it gives the functions).
    pub fn from_map(vars: BTreeMap<String, String>) -> Self {
        Self::from_fn(move |name| vars.get(name).cloned())
    }

    /// The raw value of `name`, as set (untrimmed, possibly empty).
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.get)(name)
    }

    /// The trimmed value of `name`; unset and empty are both `None`.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The trimmed value of `name`, or [`ConfigError::Missing`].
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing(name.to_string()))
    }

    /// `name` parsed with `FromStr`, or `default` when unset or empty.
    pub fn parsed_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.optional(name) {
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError::invalid(name, e.to_string())),
            None => Ok(default),
        }
    }

    /// A required comma-separated DC list (see [`parse_dc_list`]).
    pub fn dc_list(&self, name: &str) -> Result<Vec<DcCode>, ConfigError> {
        parse_dc_list(name, &self.required(name)?)
    }
}

/// Parses the comma-separated DC list `text` of variable `name` (`DC01, DC02,,DC03`), refused
/// if it lists no DC or if any code is invalid.
pub fn parse_dc_list(name: &str, text: &str) -> Result<Vec<DcCode>, ConfigError> {
    let dcs = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(DcCode::parse)
        .collect::<Result<Vec<DcCode>, _>>()
        .map_err(|e| ConfigError::invalid(name, e.to_string()))?;
    if dcs.is_empty() {
        return Err(ConfigError::invalid(name, "lists no DC"));
    }
    Ok(dcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn dc_lists_parse_and_refuse_clearly() {
        let ok = parse_dc_list("DC_LIST", "DC01, DC02,,DC03").unwrap();
        assert_eq!(ok.len(), 3);
        let e = parse_dc_list("DC_LIST", "DC01,DC 02").unwrap_err().to_string();
        assert!(e.contains("DC_LIST") && e.contains("DC 02"), "{e}");
        assert!(parse_dc_list("DC_LIST", " , ").is_err());
    }

    #[test]
    fn empty_values_count_as_unset_and_errors_name_the_variable() {
        let e = env(&[("A_NAME", "  "), ("B_NAME", " 7 "), ("C_NAME", "seven")]);
        assert_eq!(e.required("A_NAME"), Err(ConfigError::Missing("A_NAME".into())));
        assert_eq!(e.parsed_or("B_NAME", 1u32), Ok(7));
        assert_eq!(e.parsed_or("A_NAME", 1u32), Ok(1));
        let bad = e.parsed_or("C_NAME", 1u32).unwrap_err().to_string();
        assert!(bad.contains("C_NAME"), "{bad}");
        assert_eq!(format!("{e:?}"), "Env(..)");
    }

    #[test]
    fn a_client_refusal_keeps_the_variable_name() {
        let e: ConfigError = DomainError::InvalidConfig {
            name: "FUSION_AUTH",
            reason: "must be basic or oauth2".into(),
        }
        .into();
        assert!(e.to_string().contains("FUSION_AUTH"), "{e}");
    }
}
