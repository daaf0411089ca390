//! Settings of the WMS client: where the WMS is, how to authenticate, how long to wait and how
//! often to retry. Read once at init ([`WmsConfig::from_env`]); secrets stay in `secrecy` types
//! and every `Debug` of this module redacts them.

use domain::DomainError;
use reqwest::Url;
use secrecy::SecretString;
use std::fmt;
use std::time::Duration;

/// Largest page the contract accepts (`limit` above it is refused with 400 `limit_too_large`).
pub const MAX_PAGE_SIZE: usize = 5000;

/// How the client proves who it is to the WMS adapter.
#[derive(Clone)]
pub enum WmsAuth {
    /// Sent as the `X-Api-Key` header.
    ApiKey(SecretString),
    /// Sent as `Authorization: Bearer <token>`.
    Bearer(SecretString),
}

impl WmsAuth {
    /// `"api_key"` or `"bearer"`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            WmsAuth::ApiKey(_) => "api_key",
            WmsAuth::Bearer(_) => "bearer",
        }
    }
}

impl fmt::Debug for WmsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WmsAuth::ApiKey(_) => f.write_str("ApiKey([REDACTED])"),
            WmsAuth::Bearer(_) => f.write_str("Bearer([REDACTED])"),
        }
    }
}

/// Retry policy for transient failures (429, 5xx, 408, timeouts, lost connections).
///
/// Every WMS endpoint the client calls is idempotent (outcome reports, hold placement and
/// release included), so every call is retried the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: usize,
    /// First backoff delay; doubles per retry, with jitter.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest wait a `Retry-After` header may impose; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Everything the WMS client needs.
#[derive(Clone)]
pub struct WmsConfig {
    /// Base URL of the WMS adapter; the contract's `/v1/...` paths are appended to it.
    pub base_url: Url,
    /// Credentials.
    pub auth: WmsAuth,
    /// Whole-request timeout, per attempt.
    pub timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// `WMS_PAGE_SIZE`, 1..=[`MAX_PAGE_SIZE`]: parsed and checked, but the client pages with
    /// the limit each call passes (the engines' own page sizes), so nothing reads it yet.
    pub page_size: usize,
    /// Largest response body read (`WMS_MAX_RESPONSE_BYTES`, default 32 MiB); a larger answer
    /// is refused as nonsense rather than held in memory.
    pub max_response_bytes: usize,
}

impl fmt::Debug for WmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WmsConfig")
            .field("base_url", &self.base_url.as_str())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("page_size", &self.page_size)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

impl WmsConfig {
    /// Default request timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default page size (the contract's own default).
    pub const DEFAULT_PAGE_SIZE: usize = 500;
    /// Default largest response body (a 5,000-row page of balances with serials fits easily).
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

    /// A config with default timeouts, retries and page size.
    ///
    /// The base URL must be `http` or `https` and carry no credentials, query or fragment
    /// (credentials belong in `auth`, where they are redacted).
    pub fn new(base_url: &str, auth: WmsAuth) -> Result<Self, DomainError> {
        let config = Self {
            base_url: parse_base_url(base_url)?,
            auth,
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            page_size: Self::DEFAULT_PAGE_SIZE,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads the config from the process environment; see [`WmsConfig::from_lookup`].
    pub fn from_env() -> Result<Self, DomainError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the config through `lookup` (a variable name to its value):
    ///
    /// - `WMS_BASE_URL` (required);
    /// - exactly one of `WMS_API_KEY` (header `X-Api-Key`) and `WMS_BEARER_TOKEN`;
    /// - `WMS_TIMEOUT_MS` (default 10000), `WMS_CONNECT_TIMEOUT_MS` (3000);
    /// - `WMS_MAX_RETRIES` (3), `WMS_RETRY_MIN_DELAY_MS` (200), `WMS_RETRY_MAX_DELAY_MS` (5000),
    ///   `WMS_MAX_RETRY_AFTER_MS` (30000);
    /// - `WMS_PAGE_SIZE` (500, at most 5000).
    ///
    /// Empty values count as unset. Any unusable value fails with the variable's name and
    /// never with a secret's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, DomainError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let base_url = get("WMS_BASE_URL").ok_or_else(|| invalid("WMS_BASE_URL", "is not set"))?;
        let auth = match (get("WMS_API_KEY"), get("WMS_BEARER_TOKEN")) {
            (Some(key), None) => WmsAuth::ApiKey(SecretString::from(key)),
            (None, Some(token)) => WmsAuth::Bearer(SecretString::from(token)),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "WMS_API_KEY",
                    "both WMS_API_KEY and WMS_BEARER_TOKEN are set; set exactly one",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "WMS_API_KEY",
                    "neither WMS_API_KEY nor WMS_BEARER_TOKEN is set",
                ))
            }
        };
        let number = |name: &'static str, default: u64| -> Result<u64, DomainError> {
            match get(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| invalid(name, format!("{text:?} is not a whole number"))),
            }
        };
        let millis = |name: &'static str, default: Duration| -> Result<Duration, DomainError> {
            let default_ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
            number(name, default_ms).map(Duration::from_millis)
        };
        let defaults = RetryPolicy::default();
        let config = Self {
            base_url: parse_base_url(&base_url)?,
            auth,
            timeout: millis("WMS_TIMEOUT_MS", Self::DEFAULT_TIMEOUT)?,
            connect_timeout: millis("WMS_CONNECT_TIMEOUT_MS", Self::DEFAULT_CONNECT_TIMEOUT)?,
            retry: RetryPolicy {
                max_retries: usize::try_from(number("WMS_MAX_RETRIES", defaults.max_retries as u64)?)
                    .map_err(|_| invalid("WMS_MAX_RETRIES", "is too large"))?,
                min_delay: millis("WMS_RETRY_MIN_DELAY_MS", defaults.min_delay)?,
                max_delay: millis("WMS_RETRY_MAX_DELAY_MS", defaults.max_delay)?,
                max_retry_after: millis("WMS_MAX_RETRY_AFTER_MS", defaults.max_retry_after)?,
            },
            page_size: usize::try_from(number("WMS_PAGE_SIZE", Self::DEFAULT_PAGE_SIZE as u64)?)
                .map_err(|_| invalid("WMS_PAGE_SIZE", "is too large"))?,
            max_response_bytes: usize::try_from(number(
                "WMS_MAX_RESPONSE_BYTES",
                Self::DEFAULT_MAX_RESPONSE_BYTES as u64,
            )?)
            .map_err(|_| invalid("WMS_MAX_RESPONSE_BYTES", "is too large"))?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that `new` and `from_lookup` cannot rule out by type.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_base_url(&self.base_url)?;
        if self.timeout.is_zero() {
            return Err(invalid("WMS_TIMEOUT_MS", "must be above 0"));
        }
        if self.connect_timeout.is_zero() {
            return Err(invalid("WMS_CONNECT_TIMEOUT_MS", "must be above 0"));
        }
        if self.retry.max_retries > 10 {
            return Err(invalid("WMS_MAX_RETRIES", "must be at most 10"));
        }
        if self.retry.min_delay > self.retry.max_delay {
            return Err(invalid(
                "WMS_RETRY_MIN_DELAY_MS",
                "must not be above WMS_RETRY_MAX_DELAY_MS",
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return Err(invalid("WMS_PAGE_SIZE", format!("must be within 1..={MAX_PAGE_SIZE}")));
        }
        Ok(())
    }
}

fn parse_base_url(text: &str) -> Result<Url, DomainError> {
    let url = Url::parse(text.trim()).map_err(|e| invalid("WMS_BASE_URL", format!("is not a URL: {e}")))?;
    check_base_url(&url)?;
    Ok(url)
}

fn check_base_url(url: &Url) -> Result<(), DomainError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("WMS_BASE_URL", "must be an http or https URL"));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(invalid("WMS_BASE_URL", "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "WMS_BASE_URL",
            "must not carry credentials; use WMS_API_KEY or WMS_BEARER_TOKEN",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("WMS_BASE_URL", "must not have a query or fragment"));
    }
    crate::transport_policy::require_tls_unless_loopback("WMS_BASE_URL", url)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn env_with_an_api_key_uses_defaults_for_the_rest() {
        let c = WmsConfig::from_lookup(lookup(&[
            ("WMS_BASE_URL", "https://wms.example.com/adapter"),
            ("WMS_API_KEY", "k-123"),
        ]))
        .unwrap();
        assert_eq!(c.base_url.as_str(), "https://wms.example.com/adapter");
        assert!(matches!(c.auth, WmsAuth::ApiKey(_)));
        assert_eq!(c.timeout, WmsConfig::DEFAULT_TIMEOUT);
        assert_eq!(c.retry.max_retries, 3);
        assert_eq!(c.page_size, 500);
    }

    #[test]
    fn env_overrides_timeouts_retries_and_page_size() {
        let c = WmsConfig::from_lookup(lookup(&[
            ("WMS_BASE_URL", "http://127.0.0.1:9"),
            ("WMS_BEARER_TOKEN", "tok"),
            ("WMS_TIMEOUT_MS", "1500"),
            ("WMS_CONNECT_TIMEOUT_MS", "250"),
            ("WMS_MAX_RETRIES", "0"),
            ("WMS_PAGE_SIZE", "5000"),
        ]))
        .unwrap();
        assert!(matches!(c.auth, WmsAuth::Bearer(_)));
        assert_eq!(c.timeout, Duration::from_millis(1500));
        assert_eq!(c.connect_timeout, Duration::from_millis(250));
        assert_eq!(c.retry.max_retries, 0);
        assert_eq!(c.page_size, 5000);
    }

    #[test]
    fn unusable_env_fails_fast_naming_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("WMS_API_KEY", "k")], "WMS_BASE_URL"),
            (&[("WMS_BASE_URL", "http://h")], "neither"),
            (
                &[
                    ("WMS_BASE_URL", "http://h"),
                    ("WMS_API_KEY", "k"),
                    ("WMS_BEARER_TOKEN", "t"),
                ],
                "both",
            ),
            (&[("WMS_BASE_URL", "ftp://h"), ("WMS_API_KEY", "k")], "http or https"),
            (
                &[("WMS_BASE_URL", "http://u:hunter2@h"), ("WMS_API_KEY", "k")],
                "credentials",
            ),
            (
                &[
                    ("WMS_BASE_URL", "https://h"),
                    ("WMS_API_KEY", "k"),
                    ("WMS_TIMEOUT_MS", "soon"),
                ],
                "WMS_TIMEOUT_MS",
            ),
            (
                &[
                    ("WMS_BASE_URL", "https://h"),
                    ("WMS_API_KEY", "k"),
                    ("WMS_PAGE_SIZE", "6000"),
                ],
                "WMS_PAGE_SIZE",
            ),
        ];
        for (vars, fragment) in cases {
            let err = WmsConfig::from_lookup(lookup(vars)).unwrap_err().to_string();
            assert!(err.contains(fragment), "{vars:?}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = WmsConfig::new("https://h", WmsAuth::Bearer(SecretString::from("s3cr3t-token"))).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("s3cr3t-token"), "{text}");
        assert!(text.contains("Bearer([REDACTED])"), "{text}");
    }
}
