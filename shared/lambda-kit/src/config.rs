//! Reading typed configuration from environment variables, failing fast with a message that
//! names the variable. The variable names are declared in `infra/template.yaml`.

use domain::DcCode;
use std::str::FromStr;
use thiserror::Error;

/// A configuration value is missing or unusable. Never retryable: the function cannot start.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(String),
    /// A variable's value does not parse.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: String,
        /// Why.
        reason: String,
    },
}

/// A required variable.
pub fn required(name: &str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ConfigError::Missing(name.to_string())),
    }
}

/// A variable source: a name to its value, `None` when unset. [`process_env`] reads the
/// process environment; the local driver passes the environment it gives the functions.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An optional variable parsed with `FromStr`, or `default` when unset or empty.
pub fn parsed_or<T: FromStr>(name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    parsed_or_in(&process_env, name, default)
}

/// [`parsed_or`] over any variable source.
pub fn parsed_or_in<T: FromStr>(get: Lookup<'_>, name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name: name.to_string(),
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// A comma-separated DC list (`DC01,DC02`), refused if empty or if any code is invalid.
pub fn dc_list(name: &str) -> Result<Vec<DcCode>, ConfigError> {
    parse_dc_list(name, &required(name)?)
}

/// Parses a comma-separated DC list.
pub fn parse_dc_list(name: &str, text: &str) -> Result<Vec<DcCode>, ConfigError> {
    let dcs: Result<Vec<DcCode>, _> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(DcCode::parse)
        .collect();
    let dcs = dcs.map_err(|e| ConfigError::Invalid {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    if dcs.is_empty() {
        return Err(ConfigError::Invalid {
            name: name.to_string(),
            reason: "lists no DC".into(),
        });
    }
    Ok(dcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_lists_parse_and_refuse_clearly() {
        let ok = parse_dc_list("DC_LIST", "DC01, DC02,,DC03").unwrap();
        assert_eq!(ok.len(), 3);
        let e = parse_dc_list("DC_LIST", "DC01,DC 02").unwrap_err().to_string();
        assert!(e.contains("DC_LIST") && e.contains("DC 02"), "{e}");
        assert!(parse_dc_list("DC_LIST", " , ").is_err());
    }
}
