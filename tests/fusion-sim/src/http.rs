//! HTTP layer: shared state, auth, counters, the OAuth2 token endpoint and the router (Fusion
//! REST API in [`crate::api`], `/admin` control API in `admin`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use rand::Rng;
use serde_json::json;

use crate::faults::FaultEngine;
use crate::rest::ApiError;
use crate::sim::SimState;
use crate::{admin, api};

/// API version path segment.
pub const VERSION: &str = "11.13.18.05";

/// Credentials and token settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// User with roles.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Users without roles.
    pub roleless: Vec<(String, String)>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// Token lifetime.
    pub token_ttl: Duration,
}

/// State shared by all handlers and the [`crate::RunningSim`] handle.
#[derive(Debug)]
pub struct Shared {
    /// The simulated inventory. Why a read-write lock: an on-hand page is written from the
    /// state under the lock, and a reconciliation of several DCs reads hundreds of them at
    /// once; reads share the lock, changes take it alone.
    pub sim: RwLock<SimState>,
    /// Fault settings and RNG.
    pub faults: Mutex<FaultEngine>,
    /// Request counters by endpoint key.
    pub stats: Mutex<BTreeMap<String, u64>>,
    /// Issued bearer tokens and their expiry.
    pub tokens: Mutex<HashMap<String, Instant>>,
    /// Credentials.
    pub auth: AuthConfig,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Whether `Content-Encoding: gzip` request bodies are decoded (else refused with 415).
    pub accept_gzip_requests: bool,
    /// Framework version of requests without a `REST-Framework-Version` header.
    pub default_framework_version: u32,
    /// Wakes the Concurrent-row processor after a request that may have scheduled a row.
    pub concurrent_wake: tokio::sync::Notify,
    /// Fusion API requests being handled now (for [`crate::Faults::max_in_flight`]).
    pub in_flight: std::sync::atomic::AtomicU32,
    /// The most Fusion API requests seen in flight at once since the counters were reset.
    pub peak_in_flight: std::sync::atomic::AtomicU32,
}

/// One admitted Fusion API request, counted in [`Shared::in_flight`] until dropped.
pub(crate) struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    /// Admits a request unless `limit` requests are already in flight (then `None`: the
    /// caller answers 429). Records the peak in [`Shared::peak_in_flight`].
    pub(crate) fn enter(shared: &'a Shared, limit: Option<u32>) -> Option<Self> {
        use std::sync::atomic::Ordering;
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let guard = Self(shared);
        if limit.is_some_and(|l| now > l) {
            count(shared, crate::faults::CONCURRENCY_REFUSED);
            return None;
        }
        shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        Some(guard)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Locks a mutex, recovering from poisoning (a panicked handler must not wedge the sim).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads a read-write lock, recovering from poisoning like [`lock`].
pub fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes a read-write lock, recovering from poisoning like [`lock`].
pub fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Parses an `application/x-www-form-urlencoded` string.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) if hex.len() == 2 => {
                        out.push(v);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn basic_creds(headers: &HeaderMap) -> Option<(String, String)> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(base64_decode(rest.trim())?).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// An error as a JSON Fusion error body (the admin API always; the Fusion API from framework
/// version 4, see [`crate::api::api_error`]).
pub(crate) fn error_response(e: &ApiError, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(e.body())).into_response();
    if let Some(secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if e.status == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"fusion-sim\", Bearer"),
        );
    }
    resp
}

pub(crate) fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let unauthorized = |d: &str| ApiError::new(401, "AUTH-401", d);
    let Some(h) = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return Err(unauthorized("Authentication is required."));
    };
    if let Some(tok) = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) {
        let tokens = lock(&shared.tokens);
        return match tokens.get(tok.trim()) {
            Some(exp) if *exp > Instant::now() => Ok(()),
            Some(_) => Err(unauthorized("The access token has expired.")),
            None => Err(unauthorized("The access token is not valid.")),
        };
    }
    let Some((u, p)) = basic_creds(headers) else {
        return Err(unauthorized("The Authorization header is not valid."));
    };
    let a = &shared.auth;
    if u == a.user && p == a.password {
        return Ok(());
    }
    if a.roleless.iter().any(|(ru, rp)| *ru == u && *rp == p) {
        return Err(ApiError::new(
            403,
            "AUTH-403",
            format!("The user {u} doesn't have the privileges for this resource."),
        ));
    }
    Err(unauthorized("The user name or password is not valid."))
}

pub(crate) fn count(shared: &Shared, endpoint: &str) {
    *lock(&shared.stats).entry(endpoint.to_string()).or_default() += 1;
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    count(&shared, "POST oauth2/v1/token");
    let form: HashMap<String, String> = parse_query(&String::from_utf8_lossy(&body)).into_iter().collect();
    let oauth_err = |status: StatusCode, err: &str, desc: &str| {
        (status, axum::Json(json!({"error": err, "error_description": desc}))).into_response()
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_err(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials is supported.",
        );
    }
    let (id, secret) = basic_creds(&headers).unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    let a = &shared.auth;
    if id != a.client_id || secret != a.client_secret {
        return oauth_err(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    let tok: String = {
        let mut rng = rand::rng();
        (0..40).map(|_| format!("{:x}", rng.random_range(0..16u8))).collect()
    };
    lock(&shared.tokens).insert(tok.clone(), Instant::now() + a.token_ttl);
    axum::Json(json!({
        "access_token": tok,
        "token_type": "Bearer",
        "expires_in": a.token_ttl.as_secs(),
    }))
    .into_response()
}

async fn not_found(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let fv = crate::api::framework_version(&headers, shared.default_framework_version).unwrap_or(1);
    crate::api::api_error(&ApiError::not_found("The requested resource doesn't exist."), None, fv)
}

/// The full router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/fscmRestApi/resources/{ver}", any(api::fusion_root))
        .route("/fscmRestApi/resources/{ver}/{*rest}", any(api::fusion))
        .route("/oauth2/v1/token", post(token))
        .route(
            "/admin/faults",
            get(admin::get_faults).put(admin::put_faults).post(admin::put_faults),
        )
        .route("/admin/stats", get(admin::get_stats))
        .route("/admin/stats/reset", post(admin::reset_stats))
        .route("/admin/process-staged", post(admin::process_staged))
        .route("/admin/today", get(admin::today).put(admin::today).post(admin::today))
        .route("/admin/onhand", get(admin::admin_onhand))
        .route("/admin/adjust", post(admin::admin_adjust))
        .route("/admin/unassign-item", post(admin::admin_unassign))
        .fallback(not_found)
        .with_state(shared)
}
