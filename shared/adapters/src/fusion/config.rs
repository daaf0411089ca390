//! Fusion client configuration: endpoint, credentials, limits and the settings for facts the
//! Fusion fact sheet (`shared/reference/fusion-rest.md`) marks as unsure.

use secrecy::SecretString;
use std::fmt;
use std::time::Duration;

use domain::DomainError;

/// Path of the REST resources below the pod's host.
pub const REST_PATH: &str = "/fscmRestApi/resources/11.13.18.05";

/// Largest `limit` Fusion honours on a collection query.
///
/// Why: Fusion caps `limit` at 500 (A-Team blog, fact sheet §4); asking for more silently
/// returns 500 rows, and a client that assumed its own page size would skip rows.
pub const MAX_PAGE_SIZE: usize = 500;

/// Most decimal places a configured UOM precision may allow (Fusion quantities carry at most
/// this many in practice; rust_decimal holds 28).
pub const MAX_UOM_PRECISION: u32 = 10;

/// How the client authenticates. `Debug` never shows a password or secret.
#[derive(Clone)]
pub enum Credentials {
    /// HTTP Basic over TLS (what Oracle's cURL examples use).
    Basic {
        /// Fusion integration user.
        user: String,
        /// Its password.
        password: SecretString,
    },
    /// OAuth2 client-credentials grant against the OCI IAM identity domain; the token is cached
    /// until shortly before it expires and refreshed once on a 401.
    OAuth2 {
        /// Token endpoint (`https://idcs-.../oauth2/v1/token`).
        token_url: String,
        /// Confidential application client id.
        client_id: String,
        /// Its secret.
        client_secret: SecretString,
        /// Scope to request (the Fusion resource app scope), if any.
        scope: Option<String>,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"[redacted]")
                .finish(),
            Credentials::OAuth2 {
                token_url,
                client_id,
                scope,
                ..
            } => f
                .debug_struct("OAuth2")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .field("scope", scope)
                .finish(),
        }
    }
}

/// `TransactionMode` sent on staged transactions.
///
/// Unsure (fact sheet §3, M): the numeric codes 1/2/3 come from working client code, not an
/// Oracle page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// 1: processed synchronously by the POST.
    #[default]
    Online,
    /// 2: the Create Inventory Transaction job starts at once.
    Concurrent,
    /// 3: waits for the next Manage Inventory Transactions run.
    Background,
}

impl TransactionMode {
    /// The code Fusion expects.
    pub fn code(self) -> i64 {
        match self {
            TransactionMode::Online => 1,
            TransactionMode::Concurrent => 2,
            TransactionMode::Background => 3,
        }
    }
}

/// Sign of `TransactionQuantity` on a subinventory transfer.
///
/// Unsure (fact sheet §3, "?"): no Oracle page states it and code examples differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferSign {
    /// Send the moved quantity as a positive number.
    #[default]
    Positive,
    /// Send it negated (the source side's view).
    Negative,
}

/// Which attributes identify an earlier post when looking it up.
///
/// Unsure: `SourceHeaderId`/`SourceLineId` are NUMBER columns of the EBS-lineage interface
/// table and the fact sheet does not confirm the REST type, so a pod may refuse or mangle a
/// non-numeric WMS id there. Both keys are sent on every post, so this can be switched without
/// losing track of earlier posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupKey {
    /// `SourceCode` + `SourceHeaderId` (WMS txn id) + `SourceLineId` (line number).
    #[default]
    SourceIds,
    /// `SourceCode` + `TransactionReference` (`"<txn>#<line>"`).
    TransactionReference,
}

/// Everything [`super::HttpFusionClient`] needs. Build with [`FusionConfig::new`],
/// [`FusionConfig::from_env`] or [`FusionConfig::from_env_with_secret`], then adjust fields.
#[derive(Debug, Clone)]
pub struct FusionConfig {
    /// Pod URL (`https://host`) or the full REST base ending in `/fscmRestApi/resources/<version>`.
    pub base_url: String,
    /// Credentials.
    pub credentials: Credentials,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of each request attempt, headers and body.
    pub request_timeout: Duration,
    /// HTTP requests in flight at once across the client at start (default 8); with
    /// [`Self::adaptive_concurrency`] the limit then adapts between 1 and
    /// [`Self::max_in_flight_ceiling`], otherwise it stays here.
    pub max_in_flight: usize,
    /// Highest limit the adaptive bound reaches (default 32; at least [`Self::max_in_flight`]).
    ///
    /// Why 32: Oracle publishes no limit for a pod; beyond a few dozen requests the shared pod
    /// serves other integrations and users too, so the client stops probing there.
    pub max_in_flight_ceiling: usize,
    /// Adapt the limit to the pod's answers (default on): one more request in flight per round
    /// trip while nothing is refused and latency is flat, cut by a tenth on a 429 or 503
    /// (see `concurrency`). Off: a fixed [`Self::max_in_flight`].
    pub adaptive_concurrency: bool,
    /// Retries after the first try of a retryable failure (default 3).
    pub retry_attempts: usize,
    /// First backoff delay; doubles per retry, with jitter.
    pub retry_base_delay: Duration,
    /// Longest backoff delay.
    pub retry_max_delay: Duration,
    /// Longest sleep granted to a `Retry-After` header.
    pub max_retry_after: Duration,
    /// Rows per collection page, clamped to [`MAX_PAGE_SIZE`].
    pub page_size: usize,
    /// How long item master facts stay cached in the process (default 15 minutes).
    pub item_cache_ttl: Duration,
    /// `itemsV2` GET parts per batch request when a page's items are looked up at once
    /// (default 100). Why a cap although the batch framework documents none (fact sheet §4):
    /// parts run one after the other in Fusion, and Oracle advises small requests (504 after
    /// about 5 minutes).
    pub item_lookup_batch: usize,
    /// Gzip request bodies larger than [`Self::gzip_threshold_bytes`].
    ///
    /// Why off by default: it is unsure whether Fusion accepts `Content-Encoding: gzip` on
    /// requests (the fact sheet says nothing).
    pub gzip_requests: bool,
    /// Body size above which requests are gzipped when [`Self::gzip_requests`] is on.
    pub gzip_threshold_bytes: usize,
    /// `SourceCode` on staged transactions (default `INVSYNC`).
    pub source_code: String,
    /// `REST-Framework-Version` header value (default `4`).
    ///
    /// Unsure (fact sheet §1, M): v4 appears to be the version that answers errors as JSON
    /// (`o:errorDetails`); older versions answer plain text, which the client also reads. From
    /// v2 `q` is expression syntax, yet inventory clients still send the `;` query-by-example
    /// form the client uses; check both against a live pod.
    pub framework_version: String,
    /// `TransactionMode` of staged transactions (default Online).
    pub transaction_mode: TransactionMode,
    /// Sign of subinventory-transfer quantities (default positive).
    pub transfer_sign: TransferSign,
    /// Most serial numbers on one staged transaction (default 50).
    pub serial_limit: usize,
    /// Attributes used to find an earlier post.
    pub lookup_key: LookupKey,
    /// Lines per `inventoryBalanceTransactions` request.
    ///
    /// Why: Oracle gives no REST size limit but answers 504 after about 5 minutes and advises
    /// small requests; 200 matches its FBDI default per worker.
    pub balance_lines_per_request: usize,
    /// Largest response body read (`FUSION_MAX_RESPONSE_BYTES`, default 64 MiB: a 500-row
    /// on-hand page with expanded serials fits); a larger answer is refused, never held.
    pub max_response_bytes: usize,
    /// Decimal places allowed for a UOM whose precision Fusion cannot tell (the
    /// `unitsOfMeasure` lookup is missing or refused on the pod, or does not list the code):
    /// the lookup only refines validation, Fusion itself still checks the post. Default 5.
    pub uom_default_precision: u32,
    /// After Fusion rejects the credentials (401 after a token refresh), how long the client
    /// sends nothing (default 10 minutes), so an hourly run costs at most one or two failed
    /// logins and the integration user is not locked out.
    pub auth_rejection_hold: Duration,
}

impl FusionConfig {
    /// A configuration with the documented defaults.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            base_url: base_url.into(),
            credentials,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_in_flight: 8,
            max_in_flight_ceiling: 32,
            adaptive_concurrency: true,
            retry_attempts: 3,
            retry_base_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            page_size: MAX_PAGE_SIZE,
            item_cache_ttl: Duration::from_secs(15 * 60),
            item_lookup_batch: 100,
            gzip_requests: false,
            gzip_threshold_bytes: 16 * 1024,
            source_code: "INVSYNC".into(),
            framework_version: "4".into(),
            transaction_mode: TransactionMode::Online,
            transfer_sign: TransferSign::Positive,
            serial_limit: 50,
            lookup_key: LookupKey::SourceIds,
            balance_lines_per_request: 200,
            auth_rejection_hold: Duration::from_secs(600),
            uom_default_precision: 5,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }

    /// Reads the configuration from the environment:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `FUSION_BASE_URL` | pod URL or REST base | required |
    /// | `FUSION_AUTH` | `basic` or `oauth2` | `basic` |
    /// | `FUSION_USER`, `FUSION_PASSWORD` | Basic credentials | required for basic |
    /// | `FUSION_TOKEN_URL`, `FUSION_CLIENT_ID`, `FUSION_CLIENT_SECRET`, `FUSION_SCOPE` | OAuth2 | scope optional |
    /// | `FUSION_MAX_IN_FLIGHT` | requests in flight at start | 8 |
    /// | `FUSION_MAX_IN_FLIGHT_CEILING` | most requests in flight the adaptive limit reaches | 32 |
    /// | `FUSION_ADAPTIVE_CONCURRENCY` | adapt the limit to 429/503 and latency | true |
    /// | `FUSION_TIMEOUT_MS` | request timeout | 60000 |
    /// | `FUSION_CONNECT_TIMEOUT_MS` | connect timeout | 5000 |
    /// | `FUSION_RETRY_ATTEMPTS`, `FUSION_RETRY_BASE_MS` | retries, first backoff | 3, 200 |
    /// | `FUSION_PAGE_SIZE` | page size (at most 500) | 500 |
    /// | `FUSION_ITEM_CACHE_TTL_SECS` | in-process item cache TTL | 900 |
    /// | `FUSION_ITEM_LOOKUP_BATCH` | `itemsV2` parts per batch lookup | 100 |
    /// | `FUSION_GZIP_REQUESTS`, `FUSION_GZIP_THRESHOLD_BYTES` | request gzip | false, 16384 |
    /// | `FUSION_SOURCE_CODE` | SourceCode | INVSYNC |
    /// | `FUSION_FRAMEWORK_VERSION` | REST-Framework-Version | 4 |
    /// | `FUSION_TRANSACTION_MODE` | `online`, `concurrent`, `background` | online |
    /// | `FUSION_TRANSFER_SIGN` | `positive` or `negative` | positive |
    /// | `FUSION_SERIAL_LIMIT` | serials per post | 50 |
    /// | `FUSION_LOOKUP_KEY` | `source_ids` or `transaction_reference` | source_ids |
    ///
    /// Errors name the variable, never its value.
    pub fn from_env() -> Result<Self, DomainError> {
        Self::from_lookup(|k| std::env::var(k).ok(), None)
    }

    /// Like [`Self::from_env`], but the password (Basic) or client secret (OAuth2) comes from
    /// the caller, e.g. fetched from Secrets Manager, and `FUSION_PASSWORD` /
    /// `FUSION_CLIENT_SECRET` are not read.
    pub fn from_env_with_secret(secret: SecretString) -> Result<Self, DomainError> {
        Self::from_lookup(|k| std::env::var(k).ok(), Some(secret))
    }

    /// [`Self::from_env`] over any variable source (tests pass a map).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        secret: Option<SecretString>,
    ) -> Result<Self, DomainError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(DomainError::InvalidConfig {
                    name,
                    reason: "is required".into(),
                })
        };
        let secret_of = |name: &'static str| match &secret {
            Some(s) => Ok(s.clone()),
            None => required(name).map(SecretString::from),
        };
        let credentials = match get("FUSION_AUTH").unwrap_or_default().to_ascii_lowercase().as_str() {
            "" | "basic" => Credentials::Basic {
                user: required("FUSION_USER")?,
                password: secret_of("FUSION_PASSWORD")?,
            },
            "oauth2" | "oauth" => Credentials::OAuth2 {
                token_url: required("FUSION_TOKEN_URL")?,
                client_id: required("FUSION_CLIENT_ID")?,
                client_secret: secret_of("FUSION_CLIENT_SECRET")?,
                scope: get("FUSION_SCOPE").filter(|s| !s.trim().is_empty()),
            },
            _ => {
                return Err(DomainError::InvalidConfig {
                    name: "FUSION_AUTH",
                    reason: "must be basic or oauth2".into(),
                })
            }
        };
        let mut c = Self::new(required("FUSION_BASE_URL")?, credentials);
        let num = |name: &'static str| -> Result<Option<u64>, DomainError> {
            get(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| DomainError::InvalidConfig {
                        name,
                        reason: "must be a whole number".into(),
                    })
                })
                .transpose()
        };
        let usize_of = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = num("FUSION_MAX_IN_FLIGHT")? {
            c.max_in_flight = usize_of(v).max(1);
        }
        if let Some(v) = num("FUSION_MAX_IN_FLIGHT_CEILING")? {
            c.max_in_flight_ceiling = usize_of(v).max(1);
        }
        if let Some(v) = get("FUSION_ADAPTIVE_CONCURRENCY") {
            c.adaptive_concurrency = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(DomainError::InvalidConfig {
                        name: "FUSION_ADAPTIVE_CONCURRENCY",
                        reason: "must be true or false".into(),
                    })
                }
            };
        }
        if let Some(v) = num("FUSION_TIMEOUT_MS")? {
            c.request_timeout = Duration::from_millis(v);
        }
        if let Some(v) = num("FUSION_CONNECT_TIMEOUT_MS")? {
            c.connect_timeout = Duration::from_millis(v);
        }
        if let Some(v) = num("FUSION_RETRY_ATTEMPTS")? {
            c.retry_attempts = usize_of(v);
        }
        if let Some(v) = num("FUSION_RETRY_BASE_MS")? {
            c.retry_base_delay = Duration::from_millis(v);
        }
        if let Some(v) = num("FUSION_PAGE_SIZE")? {
            c.page_size = usize_of(v);
        }
        if let Some(v) = num("FUSION_ITEM_CACHE_TTL_SECS")? {
            c.item_cache_ttl = Duration::from_secs(v);
        }
        if let Some(v) = num("FUSION_ITEM_LOOKUP_BATCH")? {
            c.item_lookup_batch = usize_of(v).max(1);
        }
        if let Some(v) = num("FUSION_GZIP_THRESHOLD_BYTES")? {
            c.gzip_threshold_bytes = usize_of(v);
        }
        if let Some(v) = num("FUSION_MAX_RESPONSE_BYTES")? {
            c.max_response_bytes = usize_of(v).max(1024);
        }
        if let Some(v) = num("FUSION_UOM_DEFAULT_PRECISION")? {
            c.uom_default_precision = u32::try_from(v).unwrap_or(u32::MAX).min(MAX_UOM_PRECISION);
        }
        if let Some(v) = num("FUSION_SERIAL_LIMIT")? {
            c.serial_limit = usize_of(v).max(1);
        }
        if let Some(v) = get("FUSION_GZIP_REQUESTS") {
            c.gzip_requests = matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = get("FUSION_SOURCE_CODE").filter(|v| !v.trim().is_empty()) {
            c.source_code = v;
        }
        if let Some(v) = get("FUSION_FRAMEWORK_VERSION").filter(|v| !v.trim().is_empty()) {
            c.framework_version = v;
        }
        if let Some(v) = get("FUSION_TRANSACTION_MODE") {
            c.transaction_mode = match v.trim().to_ascii_lowercase().as_str() {
                "online" | "1" => TransactionMode::Online,
                "concurrent" | "2" => TransactionMode::Concurrent,
                "background" | "3" => TransactionMode::Background,
                _ => {
                    return Err(DomainError::InvalidConfig {
                        name: "FUSION_TRANSACTION_MODE",
                        reason: "must be online, concurrent or background".into(),
                    })
                }
            };
        }
        if let Some(v) = get("FUSION_TRANSFER_SIGN") {
            c.transfer_sign = match v.trim().to_ascii_lowercase().as_str() {
                "positive" | "+" => TransferSign::Positive,
                "negative" | "-" => TransferSign::Negative,
                _ => {
                    return Err(DomainError::InvalidConfig {
                        name: "FUSION_TRANSFER_SIGN",
                        reason: "must be positive or negative".into(),
                    })
                }
            };
        }
        if let Some(v) = get("FUSION_LOOKUP_KEY") {
            c.lookup_key = match v.trim().to_ascii_lowercase().as_str() {
                "source_ids" | "source" => LookupKey::SourceIds,
                "transaction_reference" | "reference" => LookupKey::TransactionReference,
                _ => {
                    return Err(DomainError::InvalidConfig {
                        name: "FUSION_LOOKUP_KEY",
                        reason: "must be source_ids or transaction_reference".into(),
                    })
                }
            };
        }
        Ok(c)
    }

    /// Refuses base and token URLs that would send credentials in clear text: they must be
    /// `https://` unless they point at a loopback host (simulators, local adapters).
    pub fn check_urls(&self) -> Result<(), DomainError> {
        let parse = |name: &'static str, text: &str| {
            reqwest::Url::parse(text.trim()).map_err(|e| DomainError::InvalidConfig {
                name,
                reason: format!("is not a URL: {e}"),
            })
        };
        let base = parse("FUSION_BASE_URL", &self.base_url)?;
        crate::transport_policy::require_tls_unless_loopback("FUSION_BASE_URL", &base)?;
        if let Credentials::OAuth2 { token_url, .. } = &self.credentials {
            let token = parse("FUSION_TOKEN_URL", token_url)?;
            crate::transport_policy::require_tls_unless_loopback("FUSION_TOKEN_URL", &token)?;
        }
        Ok(())
    }

    /// The REST base URL (`.../fscmRestApi/resources/<version>`), without a trailing slash.
    pub fn api_base(&self) -> String {
        let trimmed = self.base_url.trim_end_matches('/');
        if trimmed.contains("/fscmRestApi/resources/") {
            trimmed.to_string()
        } else {
            format!("{trimmed}{REST_PATH}")
        }
    }

    /// How the in-flight bound adapts: starts at [`Self::max_in_flight`], never above
    /// [`Self::max_in_flight_ceiling`] (raised to the start if lower).
    pub fn concurrency_settings(&self) -> super::concurrency::AdaptiveSettings {
        let initial = self.max_in_flight.max(1);
        super::concurrency::AdaptiveSettings {
            enabled: self.adaptive_concurrency,
            ..super::concurrency::AdaptiveSettings::new(initial, self.max_in_flight_ceiling.max(initial))
        }
    }

    /// The page size actually requested: [`Self::page_size`] within `1..=500`.
    pub fn effective_page_size(&self) -> usize {
        self.page_size.clamp(1, MAX_PAGE_SIZE)
    }
}
