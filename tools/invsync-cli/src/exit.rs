//! How a command ends: [`CliError`] and the exit code of each outcome, so a script can tell
//! "not found" from "someone else changed it" from "try again later" without parsing text.
//!
//! | code | meaning                                                                   |
//! |------|---------------------------------------------------------------------------|
//! | 0    | success                                                                   |
//! | 1    | configuration missing or wrong (environment), or an unexpected failure    |
//! | 2    | usage: bad arguments, or a request the service refused as invalid (400)   |
//! | 3    | not found (404)                                                           |
//! | 4    | conflict: changed by someone else, stale `--if-version` (409)             |
//! | 5    | unavailable: AWS, the WMS or Fusion did not answer; retrying may help (503) |
//! | 6    | forbidden or not signed in: the roles given with `--as-role` do not allow it (401/403) |
//! | 7    | upstream refused: the WMS or Fusion said no, or a stored record is unreadable (502) |
//! | 8    | a baseline verification ran and did not pass (variances outside refused lines)     |

use console::ConsoleError;
use domain::Retryable;
use serde_json::json;
use std::fmt;

/// Success.
pub const OK: u8 = 0;
/// Configuration or unexpected failure.
pub const FAILURE: u8 = 1;
/// Usage or invalid request.
pub const USAGE: u8 = 2;
/// Not found.
pub const NOT_FOUND: u8 = 3;
/// Conflict.
pub const CONFLICT: u8 = 4;
/// Unavailable (retryable).
pub const UNAVAILABLE: u8 = 5;
/// Forbidden or unauthenticated.
pub const FORBIDDEN: u8 = 6;
/// Upstream refused.
pub const UPSTREAM: u8 = 7;
/// A baseline verification did not pass.
pub const NOT_VERIFIED: u8 = 8;

/// Why a command failed. Messages never hold secrets (configuration errors name variables,
/// not values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// The console service refused or failed.
    Console(ConsoleError),
    /// The arguments do not make a request (checked after parsing).
    Usage(String),
    /// The environment does not configure the stores or clients.
    Config(String),
    /// A baseline verification ran and did not pass; the document is the report.
    NotVerified(serde_json::Value, String),
}

impl CliError {
    /// The exit code (table in the module doc).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => USAGE,
            CliError::Config(_) => FAILURE,
            CliError::NotVerified(..) => NOT_VERIFIED,
            CliError::Console(e) => match e {
                ConsoleError::BadRequest(_) => USAGE,
                ConsoleError::NotFound(_) => NOT_FOUND,
                ConsoleError::Conflict(_) => CONFLICT,
                ConsoleError::Unavailable(_) => UNAVAILABLE,
                ConsoleError::Unauthenticated | ConsoleError::Forbidden(_) => FORBIDDEN,
                ConsoleError::Upstream(_) => UPSTREAM,
            },
        }
    }

    /// A stable machine code: the service's (`not_found`, `conflict`, ...), or `usage` /
    /// `config`.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Console(e) => e.code(),
            CliError::Usage(_) => "usage",
            CliError::Config(_) => "config",
            CliError::NotVerified(..) => "not_verified",
        }
    }

    /// Whether repeating the command may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, CliError::Console(e) if e.is_retryable())
    }

    /// The `--json` error document.
    pub fn to_json(&self) -> serde_json::Value {
        if let CliError::NotVerified(report, _) = self {
            return report.clone();
        }
        json!({ "error": { "code": self.code(), "message": self.to_string(), "retryable": self.retryable() } })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Console(e) => e.fmt(f),
            CliError::Usage(m) => write!(f, "usage: {m}"),
            CliError::Config(m) => write!(f, "configuration: {m}"),
            CliError::NotVerified(_, m) => write!(f, "verification did not pass: {m}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<ConsoleError> for CliError {
    fn from(e: ConsoleError) -> Self {
        CliError::Console(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_own_code() {
        let cases = [
            (CliError::Usage("x".into()), USAGE),
            (CliError::Config("x".into()), FAILURE),
            (ConsoleError::BadRequest("x".into()).into(), USAGE),
            (ConsoleError::NotFound("x".into()).into(), NOT_FOUND),
            (ConsoleError::Conflict("x".into()).into(), CONFLICT),
            (ConsoleError::Unavailable("x".into()).into(), UNAVAILABLE),
            (ConsoleError::Forbidden("x".into()).into(), FORBIDDEN),
            (ConsoleError::Unauthenticated.into(), FORBIDDEN),
            (ConsoleError::Upstream("x".into()).into(), UPSTREAM),
        ];
        for (e, code) in cases {
            assert_eq!(e.exit_code(), code, "{e}");
        }
        let unavailable = CliError::from(ConsoleError::Unavailable("later".into()));
        assert_eq!(unavailable.to_json()["error"]["retryable"], true);
        assert_eq!(unavailable.to_json()["error"]["code"], "unavailable");
    }
}
