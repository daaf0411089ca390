//! [`HttpWmsClient`]: the WMS contract over HTTP, with retries and error mapping.

use super::balance_page;
use super::config::{RetryPolicy, WmsAuth, WmsConfig, MAX_PAGE_SIZE};
use super::wire::{self, WireHold};
use backon::{ExponentialBuilder, Retryable as _};
use chrono::{DateTime, Utc};
use domain::ports::wms::{Hold, OutboxItem, Page, SyncOutcome, WarehouseSystem, WmsBalance, WmsError};
use domain::{DcCode, DomainError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The WMS contract's operations, for error mapping, logs and spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Balances,
    Outbox,
    Outcome,
    Holds,
    PlaceHold,
    ReleaseHold,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Balances => "list_balances",
            Op::Outbox => "list_outbox",
            Op::Outcome => "report_outcome",
            Op::Holds => "list_holds",
            Op::PlaceHold => "place_hold",
            Op::ReleaseHold => "release_hold",
        }
    }
}

/// One request, as sent on every attempt.
struct Call<'a> {
    op: Op,
    method: Method,
    dc: Option<&'a DcCode>,
    url: Url,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

/// Why an attempt failed, and whether and when to try again.
struct Failure {
    error: WmsError,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn permanent(error: WmsError) -> Self {
        Self {
            error,
            retry: false,
            retry_after: None,
        }
    }
}

/// HTTP client of the WMS adapter contract (`docs/wms-api.openapi.yaml`).
///
/// Cheap to clone (one shared connection pool): build one per process at init and clone it
/// into whatever needs it. Transient failures (429, 408, 5xx, timeouts, lost connections) are
/// retried per [`RetryPolicy`], honouring `Retry-After`; every endpoint used is idempotent on
/// the WMS side, so outcome reports and hold changes are retried too. Credentials never appear
/// in `Debug`, logs or error text.
#[derive(Clone)]
pub struct HttpWmsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    auth_kind: &'static str,
    auth_header: (HeaderName, HeaderValue),
    secret: SecretString,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: usize,
}

impl fmt::Debug for HttpWmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpWmsClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("auth", &self.inner.auth_kind)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

fn config_error(name: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

impl HttpWmsClient {
    /// One page of the DC's balances (the port's `balances`), read and parsed.
    async fn balance_page(
        &self,
        dc: &DcCode,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<WmsBalance>, WmsError> {
        let body = self
            .execute(self.paged_call(Op::Balances, dc, "balances", cursor, limit))
            .await?;
        if let Some((items, next_cursor)) = balance_page::read(dc, &body) {
            return Ok(Page { items, next_cursor });
        }
        let page = wire::page_envelope(&body).map_err(|e| self.invalid(Op::Balances, &e))?;
        let items = page
            .items
            .iter()
            .enumerate()
            .map(|(i, v)| wire::balance(dc, v).map_err(|e| self.invalid(Op::Balances, &format!("row {i}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// A client with its own connection pool (connect timeout from the config, no redirects).
    pub fn new(config: WmsConfig) -> Result<Self, DomainError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| config_error("http_client", e.to_string()))?;
        Self::with_http_client(config, http)
    }

    /// A client sharing `http`, the process's one reqwest client. The per-request timeout and
    /// credentials come from `config`; `http` should not follow redirects, so a redirecting WMS
    /// fails loudly instead of receiving the credentials elsewhere.
    pub fn with_http_client(config: WmsConfig, http: reqwest::Client) -> Result<Self, DomainError> {
        config.validate()?;
        let (auth_kind, secret) = match &config.auth {
            WmsAuth::ApiKey(s) | WmsAuth::Bearer(s) => (config.auth.kind(), s.clone()),
        };
        let (name, text, variable) = match &config.auth {
            WmsAuth::ApiKey(key) => (
                HeaderName::from_static("x-api-key"),
                key.expose_secret().to_string(),
                "WMS_API_KEY",
            ),
            WmsAuth::Bearer(token) => (
                AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
                "WMS_BEARER_TOKEN",
            ),
        };
        let mut value = HeaderValue::from_str(&text)
            .map_err(|_| config_error(variable, "contains characters not allowed in an HTTP header"))?;
        value.set_sensitive(true);
        let mut base_url = config.base_url;
        match base_url.path_segments_mut() {
            Ok(mut segments) => {
                segments.pop_if_empty();
            }
            Err(()) => return Err(config_error("WMS_BASE_URL", "cannot take a path")),
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                auth_kind,
                auth_header: (name, value),
                secret,
                timeout: config.timeout,
                retry: config.retry,
                max_response_bytes: config.max_response_bytes,
            }),
        })
    }

    /// A client from [`WmsConfig::from_env`].
    pub fn from_env() -> Result<Self, DomainError> {
        Self::new(WmsConfig::from_env()?)
    }

    fn call<'a>(&self, op: Op, method: Method, dc: Option<&'a DcCode>, segments: &[&str]) -> Call<'a> {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        Call {
            op,
            method,
            dc,
            url,
            query: Vec::new(),
            body: None,
        }
    }

    fn paged_call<'a>(&self, op: Op, dc: &'a DcCode, tail: &str, cursor: Option<&str>, limit: usize) -> Call<'a> {
        let mut call = self.call(op, Method::GET, Some(dc), &["v1", "dcs", dc.as_str(), tail]);
        call.query.push(("limit", limit.clamp(1, MAX_PAGE_SIZE).to_string()));
        if let Some(cursor) = cursor {
            call.query.push(("cursor", cursor.to_string()));
        }
        call
    }

    fn invalid(&self, op: Op, reason: &dyn fmt::Display) -> WmsError {
        WmsError::InvalidResponse(self.scrub(&format!("{}: {reason}", op.name())))
    }

    /// Removes the credential from text that came from the wire, in case the WMS echoes it.
    fn scrub(&self, text: &str) -> String {
        let secret = self.inner.secret.expose_secret();
        if secret.len() >= 4 && text.contains(secret) {
            text.replace(secret, "[REDACTED]")
        } else {
            text.to_string()
        }
    }

    /// Sends `call`, retrying transient failures; the body of the 2xx answer.
    async fn execute(&self, call: Call<'_>) -> Result<Vec<u8>, WmsError> {
        let policy = &self.inner.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter();
        let cap = policy.max_retry_after;
        let call = &call;
        (|| self.attempt(call))
            .retry(backoff)
            .when(|f: &Failure| f.retry)
            .adjust(move |f: &Failure, next: Option<Duration>| {
                next.map(|d| f.retry_after.map_or(d, |wait| wait.min(cap).max(d)))
            })
            .notify(|f: &Failure, wait: Duration| {
                tracing::warn!(
                    op = call.op.name(),
                    dc = call.dc.map(DcCode::as_str),
                    error = %f.error,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "WMS call failed, retrying"
                );
            })
            .await
            .map_err(|f| f.error)
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Vec<u8>, Failure> {
        let started = Instant::now();
        let (name, value) = &self.inner.auth_header;
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .timeout(self.inner.timeout)
            .header(name, value.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport(call, e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = match crate::transport_policy::read_body_limited(response, self.inner.max_response_bytes).await {
            Ok(body) => body,
            Err(crate::transport_policy::BodyError::Transport(e)) => return Err(self.transport(call, e)),
            Err(crate::transport_policy::BodyError::TooLarge { max }) => {
                return Err(Failure::permanent(WmsError::InvalidResponse(format!(
                    "{}: the answer is larger than {max} bytes (WMS_MAX_RESPONSE_BYTES)",
                    call.op.name()
                ))))
            }
        };
        tracing::debug!(
            op = call.op.name(),
            dc = call.dc.map(DcCode::as_str),
            status = status.as_u16(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "WMS call"
        );
        if status.is_success() {
            return Ok(body);
        }
        Err(self.refusal(call, status, retry_after, &body))
    }

    fn transport(&self, call: &Call<'_>, error: reqwest::Error) -> Failure {
        let what = if error.is_timeout() {
            format!("timed out after {:?}", self.inner.timeout)
        } else if error.is_connect() {
            "could not connect".to_string()
        } else {
            "lost the connection".to_string()
        };
        let error = error.without_url();
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        Failure {
            error: WmsError::Unavailable(self.scrub(&format!("{} {what}: {detail}", call.op.name()))),
            retry: true,
            retry_after: None,
        }
    }

    fn refusal(&self, call: &Call<'_>, status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> Failure {
        let code = status.as_u16();
        let parsed = wire::error_body(body);
        let (error_code, message) = match &parsed {
            Some((c, m)) => (c.clone(), self.scrub(m)),
            None => (
                format!("http_{code}"),
                self.scrub(&wire::snippet(&String::from_utf8_lossy(body))),
            ),
        };
        let op = call.op.name();
        match code {
            401 | 403 => Failure::permanent(WmsError::Unauthorized(code)),
            404 if error_code == "unknown_dc" => {
                Failure::permanent(WmsError::UnknownDc(call.dc.map(|d| d.to_string()).unwrap_or_default()))
            }
            409 if call.op == Op::Outcome => Failure::permanent(WmsError::Conflict(message)),
            408 | 429 | 500..=599 => Failure {
                error: WmsError::Unavailable(format!("{op}: HTTP {code} {error_code}: {message}")),
                retry: true,
                retry_after,
            },
            400..=499 => Failure::permanent(WmsError::Rejected {
                status: code,
                code: error_code,
                message,
            }),
            _ => Failure::permanent(WmsError::InvalidResponse(format!("{op}: unexpected HTTP {code}"))),
        }
    }
}

fn json_of(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    (at - Utc::now()).to_std().ok().or(Some(Duration::ZERO))
}

impl WarehouseSystem for HttpWmsClient {
    async fn outbox(&self, dc: &DcCode, cursor: Option<&str>, limit: usize) -> Result<Page<OutboxItem>, WmsError> {
        let body = self
            .execute(self.paged_call(Op::Outbox, dc, "outbox", cursor, limit))
            .await?;
        let page = wire::page_envelope(&body).map_err(|e| self.invalid(Op::Outbox, &e))?;
        Ok(Page {
            items: page.items.iter().map(|v| wire::outbox_item(dc, v)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn report(&self, dc: &DcCode, id: &str, outcome: &SyncOutcome) -> Result<(), WmsError> {
        let mut call = self.call(
            Op::Outcome,
            Method::POST,
            Some(dc),
            &["v1", "dcs", dc.as_str(), "transactions", id, "outcome"],
        );
        call.body = Some(wire::outcome_body(outcome));
        self.execute(call).await.map(|_| ())
    }

    async fn balances(&self, dc: &DcCode, cursor: Option<&str>, limit: usize) -> Result<Page<WmsBalance>, WmsError> {
        // A page of 5,000 balances is parsed as a task of its own (see `crate::worker`).
        let (client, dc, cursor) = (self.clone(), dc.clone(), cursor.map(str::to_string));
        crate::worker::on_worker(async move { client.balance_page(&dc, cursor.as_deref(), limit).await })
            .await
            .unwrap_or_else(|e| Err(self.invalid(Op::Balances, &format!("the page read stopped: {e}"))))
    }

    async fn place_hold(&self, dc: &DcCode, hold: &Hold) -> Result<(), WmsError> {
        let mut call = self.call(
            Op::PlaceHold,
            Method::PUT,
            Some(dc),
            &["v1", "dcs", dc.as_str(), "holds", hold.item.as_str()],
        );
        call.body = Some(json_of(&wire::HoldRequest::of(hold)));
        self.execute(call).await.map(|_| ())
    }

    async fn holds(&self, dc: &DcCode) -> Result<Vec<Hold>, WmsError> {
        let body = self
            .execute(self.call(Op::Holds, Method::GET, Some(dc), &["v1", "dcs", dc.as_str(), "holds"]))
            .await?;
        let rows: Vec<WireHold> = serde_json::from_slice(&body).map_err(|e| self.invalid(Op::Holds, &e))?;
        rows.into_iter()
            .map(|h| h.into_domain().map_err(|e| self.invalid(Op::Holds, &e)))
            .collect()
    }
}

/// The console's hold release (`POST /v1/dcs/{dc}/holds/{item}/release`, idempotent at the
/// WMS: a second release returns the first, so a retried request is harmless).
impl domain::ports::HoldRelease for HttpWmsClient {
    async fn release_hold(
        &self,
        dc: &DcCode,
        item: &domain::ids::ItemNumber,
        released_by: &domain::console::UserId,
        reason: &domain::console::Reason,
    ) -> Result<(), WmsError> {
        let mut call = self.call(
            Op::ReleaseHold,
            Method::POST,
            Some(dc),
            &["v1", "dcs", dc.as_str(), "holds", item.as_str(), "release"],
        );
        call.body = Some(serde_json::json!({
            "released_by": released_by.as_str(),
            "reason": reason.as_str(),
        }));
        self.execute(call).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
