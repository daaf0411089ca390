//! HTTP transport: one pooled reqwest client, an adaptive bound on requests in flight
//! ([`super::concurrency`]), authentication
//! (Basic or a cached OAuth2 token refreshed once on 401), optional request gzip, error
//! classification and the retry clock (exponential backoff with jitter from `backon`, stretched
//! by `Retry-After`).

use std::io::Write as _;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use domain::ports::FusionError;
use domain::Retryable as _;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex, Semaphore};

use super::concurrency::{AdaptiveLimiter, Signal};

use super::config::{Credentials, FusionConfig};

/// Media type of JSON request bodies.
pub(crate) const JSON: &str = "application/json";
/// Media type of batch requests.
pub(crate) const BATCH_JSON: &str = "application/vnd.oracle.adf.batch+json";

/// Longest error detail kept from a response body.
const DETAIL_MAX: usize = 600;
/// Margin before expiry at which a cached OAuth2 token is replaced.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// One request, relative to the REST base.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    /// Path below the REST base, without a leading slash (empty for batch).
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Body bytes and content type.
    pub body: Option<(Vec<u8>, &'static str)>,
}

impl Req {
    pub fn get(path: impl Into<String>, query: Vec<(String, String)>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query,
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, body: Vec<u8>, content_type: &'static str) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some((body, content_type)),
        }
    }
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Whether a failed request may have changed state in Fusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Refused before processing (429, 503, connect failure, credentials): nothing happened.
    Refused,
    /// Fusion answered after handling the request (400, 404, 500): it did not take effect.
    Answered,
    /// Unknown: the request may have been processed or may still be (timeout, connection lost
    /// after sending, 408, 502, 504).
    InFlight,
}

/// A failed attempt.
#[derive(Debug, Clone)]
pub(crate) struct CallError {
    pub error: FusionError,
    pub outcome: Outcome,
    /// A failing status's body, when it answered with one (batch failures carry parts).
    pub body: Option<Vec<u8>>,
    /// `Retry-After` of a 429 or 503.
    pub retry_after: Option<Duration>,
}

impl CallError {
    fn new(error: FusionError, outcome: Outcome) -> Self {
        Self {
            error,
            outcome,
            body: None,
            retry_after: None,
        }
    }
}

#[derive(Debug)]
struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
    generation: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Shared HTTP machinery. Cheap to share behind an `Arc`.
pub(crate) struct Transport {
    pub cfg: FusionConfig,
    http: reqwest::Client,
    api_base: String,
    /// Requests in flight, adapted to what the pod answers; one per client, so every DC and
    /// task of an invocation shares it.
    permits: AdaptiveLimiter,
    token: Mutex<Option<CachedToken>>,
    generation: std::sync::atomic::AtomicU64,
    auth: std::sync::Mutex<AuthState>,
    /// The credentials in use: the configured ones until [`Self::replace_credentials`].
    creds: std::sync::RwLock<Credentials>,
    /// One request at a time while the credentials are unproven, so wrong credentials cost
    /// one login (two with an OAuth2 token refresh), not one per request in flight.
    login_gate: Semaphore,
}

/// What the process knows about its Fusion credentials.
#[derive(Debug, Clone)]
enum AuthState {
    /// No answer yet, or the last rejection is older than the hold.
    Unproven,
    /// Fusion answered a request made with them.
    Proven,
    /// Fusion answered 401 (after a token refresh); no request is sent until `until`.
    Rejected { until: Instant },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("api_base", &self.api_base)
            .field("credentials", &self.cfg.credentials)
            .field("concurrency_limit", &self.permits.limit())
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(cfg: FusionConfig, http: reqwest::Client) -> Self {
        let api_base = cfg.api_base();
        let creds = cfg.credentials.clone();
        let permits = AdaptiveLimiter::new(cfg.concurrency_settings());
        Self {
            cfg,
            http,
            api_base,
            permits,
            token: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
            auth: std::sync::Mutex::new(AuthState::Unproven),
            creds: std::sync::RwLock::new(creds),
            login_gate: Semaphore::new(1),
        }
    }

    /// Whether Fusion's rejection of the current credentials is in force.
    pub fn credentials_rejected(&self) -> bool {
        matches!(
            *self.auth.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            AuthState::Rejected { until } if Instant::now() < until
        )
    }

    /// Uses `creds` from now on (a secret re-read after Fusion rejected the old one): the
    /// rejection and any cached token are dropped, and the next request proves them again.
    pub async fn replace_credentials(&self, creds: Credentials) {
        *self.creds.write().unwrap_or_else(std::sync::PoisonError::into_inner) = creds;
        *self.token.lock().await = None;
        *self.auth.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = AuthState::Unproven;
    }

    fn credentials(&self) -> Credentials {
        self.creds
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The rejection still in force, if any (then no request is sent).
    fn rejected(&self) -> Option<CallError> {
        let mut state = self.auth.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *state {
            AuthState::Rejected { until } if Instant::now() < until => {
                Some(CallError::new(FusionError::Unauthorized, Outcome::Refused))
            }
            AuthState::Rejected { .. } => {
                *state = AuthState::Unproven;
                None
            }
            _ => None,
        }
    }

    fn proven(&self) -> bool {
        matches!(
            *self.auth.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            AuthState::Proven
        )
    }

    /// Learns from an answer: any answer Fusion gives past authentication proves the
    /// credentials; a 401 after the refresh rejects them for [`FusionConfig::auth_rejection_hold`].
    fn note_auth(&self, result: &Result<Resp, CallError>) {
        let next = match result {
            Ok(_) => AuthState::Proven,
            Err(e) if e.error == FusionError::Unauthorized => {
                tracing::error!(
                    hold_secs = self.cfg.auth_rejection_hold.as_secs(),
                    "Fusion rejected the credentials; no request is sent until the hold ends or the secret is reloaded"
                );
                AuthState::Rejected {
                    until: Instant::now() + self.cfg.auth_rejection_hold,
                }
            }
            Err(e)
                if matches!(
                    e.error,
                    FusionError::Rejected { .. } | FusionError::NotFound(_) | FusionError::Forbidden
                ) =>
            {
                AuthState::Proven
            }
            Err(_) => return,
        };
        *self.auth.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
    }

    /// Builds the one reqwest client a process should use.
    pub fn build_http(cfg: &FusionConfig) -> Result<reqwest::Client, FusionError> {
        reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(cfg.concurrency_settings().ceiling.max(1))
            .user_agent(concat!("invsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FusionError::Connection(format!("cannot build the HTTP client: {}", describe(&e))))
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Requests allowed in flight now, and the refusals (429/503) and answers seen so far.
    pub fn concurrency(&self) -> (usize, u64, u64) {
        let (refused, answered) = self.permits.counts();
        (self.permits.limit(), refused, answered)
    }

    /// A fresh retry clock for one operation.
    pub fn retry_clock(&self) -> RetryClock {
        RetryClock {
            backoff: ExponentialBuilder::default()
                .with_min_delay(self.cfg.retry_base_delay)
                .with_max_delay(self.cfg.retry_max_delay.max(self.cfg.retry_base_delay))
                .with_max_times(self.cfg.retry_attempts)
                .with_jitter()
                .build(),
            max_retry_after: self.cfg.max_retry_after,
        }
    }

    /// Sends an idempotent request (GET, or a write that is harmless to repeat), retrying
    /// retryable failures with backoff until the retry budget is spent.
    pub async fn call(&self, req: &Req) -> Result<Resp, CallError> {
        let mut clock = self.retry_clock();
        loop {
            match self.attempt(req).await {
                Ok(r) => return Ok(r),
                Err(e) if e.error.is_retryable() => match clock.next_delay(&e) {
                    Some(d) => {
                        tracing::warn!(path = %req.path, error = %e.error, delay_ms = d.as_millis() as u64, "retrying Fusion call");
                        tokio::time::sleep(d).await;
                    }
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// One try, plus one immediate re-send with a fresh OAuth2 token after a 401. While
    /// Fusion's rejection of the credentials holds, fails at once without a request.
    pub async fn attempt(&self, req: &Req) -> Result<Resp, CallError> {
        if let Some(e) = self.rejected() {
            return Err(e);
        }
        let _gate = if self.proven() {
            None
        } else {
            let permit =
                self.login_gate.acquire().await.map_err(|_| {
                    CallError::new(FusionError::Connection("client is shut down".into()), Outcome::Refused)
                })?;
            if let Some(e) = self.rejected() {
                return Err(e);
            }
            Some(permit)
        };
        let result = self.attempt_with_refresh(req).await;
        self.note_auth(&result);
        result
    }

    async fn attempt_with_refresh(&self, req: &Req) -> Result<Resp, CallError> {
        match self.attempt_once(req).await {
            Err((e, Some(generation))) if e.error == FusionError::Unauthorized => {
                tracing::info!("Fusion answered 401; refreshing the OAuth2 token once");
                self.invalidate_token(generation).await;
                self.attempt_once(req).await.map_err(|(e, _)| e)
            }
            other => other.map_err(|(e, _)| e),
        }
    }

    /// One send; on failure also the OAuth2 token generation that was used.
    async fn attempt_once(&self, req: &Req) -> Result<Resp, (CallError, Option<u64>)> {
        let (auth, generation) = self.auth_header().await.map_err(|e| (e, None))?;
        self.send(req, auth).await.map_err(|e| (e, generation))
    }

    /// Sends within the in-flight bound and tells the bound what the answer said: 429 and 503
    /// are refusals for load, any other HTTP answer a latency sample, a failure without an
    /// answer nothing.
    async fn send(&self, req: &Req, auth: HeaderValue) -> Result<Resp, CallError> {
        let asked = std::time::Instant::now();
        let permit =
            self.permits.acquire().await.ok_or_else(|| {
                CallError::new(FusionError::Connection("client is shut down".into()), Outcome::Refused)
            })?;
        let sent = std::time::Instant::now();
        let result = self.send_unbounded(req, auth).await;
        tracing::debug!(
            path = %req.path,
            status = result.as_ref().map_or(0, |r| r.status),
            bytes = result.as_ref().map_or(0, |r| r.body.len()),
            waited_ms = sent.duration_since(asked).as_millis() as u64,
            elapsed_ms = sent.elapsed().as_millis() as u64,
            "Fusion call"
        );
        let signal = match &result {
            Ok(_) => Signal::Answered,
            Err(e)
                if matches!(
                    e.error,
                    FusionError::Throttled { .. } | FusionError::Unavailable { status: 503 }
                ) =>
            {
                Signal::Refused
            }
            Err(e) if e.body.is_some() => Signal::Answered,
            Err(_) => Signal::Ignore,
        };
        permit.finish(signal);
        result
    }

    async fn send_unbounded(&self, req: &Req, auth: HeaderValue) -> Result<Resp, CallError> {
        let url = if req.path.is_empty() {
            self.api_base.clone()
        } else {
            format!("{}/{}", self.api_base, req.path)
        };
        let mut rb = self
            .http
            .request(req.method.clone(), url)
            .timeout(self.cfg.request_timeout)
            .header("REST-Framework-Version", self.cfg.framework_version.as_str())
            .header(reqwest::header::AUTHORIZATION, auth);
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        if let Some((body, ct)) = &req.body {
            rb = rb.header(CONTENT_TYPE, *ct);
            if self.cfg.gzip_requests && body.len() > self.cfg.gzip_threshold_bytes {
                let packed = gzip(body)
                    .map_err(|e| CallError::new(FusionError::Connection(format!("gzip: {e}")), Outcome::Refused))?;
                rb = rb.header(CONTENT_ENCODING, "gzip").body(packed);
            } else {
                rb = rb.body(body.clone());
            }
        }
        let resp = rb.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = match crate::transport_policy::read_body_limited(resp, self.cfg.max_response_bytes).await {
            Ok(body) => body,
            Err(crate::transport_policy::BodyError::Transport(e)) => return Err(transport_error(&e)),
            Err(crate::transport_policy::BodyError::TooLarge { max }) => {
                return Err(CallError::new(
                    FusionError::InvalidResponse(format!(
                        "{}: the answer is larger than {max} bytes (FUSION_MAX_RESPONSE_BYTES)",
                        req.path
                    )),
                    Outcome::Refused,
                ))
            }
        };
        if status.is_success() {
            return Ok(Resp {
                status: status.as_u16(),
                body,
            });
        }
        let mut err = classify(status, &headers, &body);
        err.body = Some(body);
        Err(err)
    }

    async fn auth_header(&self) -> Result<(HeaderValue, Option<u64>), CallError> {
        let (value, generation) = match &self.credentials() {
            Credentials::Basic { user, password } => (
                format!(
                    "Basic {}",
                    base64(format!("{user}:{}", password.expose_secret()).as_bytes())
                ),
                None,
            ),
            Credentials::OAuth2 { .. } => {
                let (token, generation) = self.token().await?;
                (format!("Bearer {}", token.expose_secret()), Some(generation))
            }
        };
        let mut hv = HeaderValue::from_str(&value).map_err(|_| {
            CallError::new(
                FusionError::InvalidInput(domain::DomainError::InvalidConfig {
                    name: "credentials",
                    reason: "contain characters not allowed in an HTTP header".into(),
                }),
                Outcome::Refused,
            )
        })?;
        hv.set_sensitive(true);
        Ok((hv, generation))
    }

    /// Drops the cached token if it is still the one a 401 came back for, so concurrent 401s
    /// cause one refresh.
    async fn invalidate_token(&self, generation: u64) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.generation == generation) {
            *slot = None;
        }
    }

    /// The cached token, fetched when missing or about to expire. The lock makes concurrent
    /// callers share one fetch.
    async fn token(&self) -> Result<(SecretString, u64), CallError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if Instant::now() < t.refresh_at {
                return Ok((t.value.clone(), t.generation));
            }
        }
        let creds = self.credentials();
        let Credentials::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &creds
        else {
            return Err(CallError::new(
                FusionError::Connection("no OAuth2 credentials configured".into()),
                Outcome::Refused,
            ));
        };
        let mut form = reqwest::Url::parse("http://form.invalid/")
            .map_err(|_| CallError::new(FusionError::Connection("form encoding".into()), Outcome::Refused))?;
        form.query_pairs_mut().append_pair("grant_type", "client_credentials");
        if let Some(s) = scope {
            form.query_pairs_mut().append_pair("scope", s);
        }
        let body = form.query().unwrap_or_default().to_string();
        let _permit =
            self.permits.acquire().await.ok_or_else(|| {
                CallError::new(FusionError::Connection("client is shut down".into()), Outcome::Refused)
            })?;
        let resp = self
            .http
            .post(token_url)
            .timeout(self.cfg.request_timeout)
            .basic_auth(client_id, Some(client_secret.expose_secret()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| transport_error(&e))?;
        if !status.is_success() {
            let mut err = classify(status, &headers, &bytes);
            if matches!(status.as_u16(), 400 | 401) {
                err = CallError::new(FusionError::Unauthorized, Outcome::Refused);
            }
            return Err(err);
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|_| {
            CallError::new(
                FusionError::InvalidResponse("the token endpoint answered without an access_token".into()),
                Outcome::Answered,
            )
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300));
        let usable = if lifetime > TOKEN_MARGIN * 2 {
            lifetime - TOKEN_MARGIN
        } else {
            lifetime / 2
        };
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let value = SecretString::from(answer.access_token);
        *slot = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + usable,
            generation,
        });
        tracing::debug!(generation, "fetched a Fusion OAuth2 token");
        Ok((value, generation))
    }
}

/// Backoff delays for one operation: `backon`'s exponential backoff with jitter, stretched to
/// any `Retry-After` (capped).
pub(crate) struct RetryClock {
    backoff: ExponentialBackoff,
    max_retry_after: Duration,
}

impl RetryClock {
    /// The delay before the next retry, or `None` when the budget is spent.
    pub fn next_delay(&mut self, error: &CallError) -> Option<Duration> {
        let base = self.backoff.next()?;
        let hinted = error.retry_after.unwrap_or_default().min(self.max_retry_after);
        Some(base.max(hinted))
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    enc.write_all(body)?;
    enc.finish()
}

/// Gzips `body` as the client does for large requests (exposed for tests).
pub fn gzip_body(body: &[u8]) -> Option<Vec<u8>> {
    gzip(body).ok()
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A reqwest error as text, without the URL (query strings can carry item numbers) and with
/// its causes.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" ({url})"), "").replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn transport_error(e: &reqwest::Error) -> CallError {
    if e.is_timeout() {
        return CallError::new(FusionError::Timeout, Outcome::InFlight);
    }
    let outcome = if e.is_connect() {
        Outcome::Refused
    } else {
        Outcome::InFlight
    };
    CallError::new(FusionError::Connection(describe(e)), outcome)
}

/// Maps a non-2xx answer to the port's error and says whether the request may have landed.
fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> CallError {
    let code = status.as_u16();
    let hint = retry_after(headers);
    let mut err = match code {
        401 => CallError::new(FusionError::Unauthorized, Outcome::Refused),
        403 => CallError::new(FusionError::Forbidden, Outcome::Refused),
        404 => CallError::new(FusionError::NotFound(error_detail(body)), Outcome::Answered),
        408 => CallError::new(FusionError::Unavailable { status: code }, Outcome::InFlight),
        429 => CallError::new(FusionError::Throttled { retry_after_secs: hint }, Outcome::Refused),
        503 => CallError::new(FusionError::Unavailable { status: code }, Outcome::Refused),
        500 | 501 => CallError::new(FusionError::Unavailable { status: code }, Outcome::Answered),
        500..=599 => CallError::new(FusionError::Unavailable { status: code }, Outcome::InFlight),
        _ => CallError::new(
            FusionError::Rejected {
                status: code,
                detail: error_detail(body),
            },
            Outcome::Answered,
        ),
    };
    if matches!(code, 429 | 503) {
        err.retry_after = hint.map(Duration::from_secs);
    }
    err
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = at.timestamp() - chrono::Utc::now().timestamp();
    Some(u64::try_from(secs.max(0)).unwrap_or(0))
}

/// Fusion's error text: every `o:errorDetails[].detail` (framework v4+), else `detail` or
/// `title`, else the plain-text body, truncated.
pub(crate) fn error_detail(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Detail {
        detail: Option<String>,
    }
    #[derive(Deserialize)]
    struct ErrBody {
        #[serde(rename = "o:errorDetails", default)]
        details: Vec<Detail>,
        detail: Option<String>,
        title: Option<String>,
    }
    let text = match serde_json::from_slice::<ErrBody>(body) {
        Ok(b) => {
            let joined: Vec<String> = b.details.into_iter().filter_map(|d| d.detail).collect();
            if !joined.is_empty() {
                joined.join("; ")
            } else {
                b.detail.or(b.title).unwrap_or_default()
            }
        }
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    let text = if text.is_empty() {
        "(no detail)".to_string()
    } else {
        text
    };
    if text.chars().count() > DETAIL_MAX {
        let head: String = text.chars().take(DETAIL_MAX).collect();
        format!("{head}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn error_detail_prefers_fusion_details_then_plain_text() {
        let v4 = br#"{"title":"Bad Request","status":"400","o:errorDetails":[{"detail":"A","o:errorCode":"X"},{"detail":"B"}]}"#;
        assert_eq!(error_detail(v4), "A; B");
        assert_eq!(
            error_detail(b"JBO-27024: Failed to validate"),
            "JBO-27024: Failed to validate"
        );
        assert_eq!(error_detail(br#"{"title":"Forbidden"}"#), "Forbidden");
        assert!(error_detail("x".repeat(5000).as_bytes()).len() < 700);
    }
}
