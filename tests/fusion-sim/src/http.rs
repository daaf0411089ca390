//! HTTP layer: axum routes for the Fusion REST API (auth, faults, counters), the OAuth2 token
//! endpoint and the `/admin` control API.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use rand::Rng;
use serde_json::{json, Value};

use crate::admin;
use crate::faults::{FaultEngine, Injected};
use crate::rest::{text_of, ApiError};
use crate::sim::{ApiRequest, SimState};

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
    /// The simulated inventory.
    pub sim: Mutex<SimState>,
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
}

/// Locks a mutex, recovering from poisoning (a panicked handler must not wedge the sim).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// A response whose body fails at once, so hyper aborts the connection without answering.
fn reset_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault: connection reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

fn check_auth(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
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

fn count(shared: &Shared, endpoint: &str) {
    *lock(&shared.stats).entry(endpoint.to_string()).or_default() += 1;
}

fn is_online(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("TransactionMode").cloned())
        .is_some_and(|m| text_of(Some(&m)).is_some_and(|s| s.trim() == "1" || s.trim().eq_ignore_ascii_case("online")))
}

fn content_type_ok(headers: &HeaderMap, batch: bool) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if batch {
        return ct == "application/vnd.oracle.adf.batch+json" || ct == "application/json";
    }
    matches!(
        ct.as_str(),
        "application/json" | "application/vnd.oracle.adf.resourceitem+json" | "application/vnd.oracle.adf.action+json"
    )
}

async fn fusion(
    State(shared): State<Arc<Shared>>,
    Path((ver, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    match decode_body(&shared, &headers, body) {
        Ok(body) => run_fusion(shared, method, ver, Some(rest), headers, query, body).await,
        Err(refusal) => *refusal,
    }
}

async fn fusion_root(
    State(shared): State<Arc<Shared>>,
    Path(ver): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    match decode_body(&shared, &headers, body) {
        Ok(body) => run_fusion(shared, method, ver, None, headers, query, body).await,
        Err(refusal) => *refusal,
    }
}

/// Decodes a gzip request body (counted under `GZIP request bodies`; refusals under
/// `GZIP refused`). Unsure (fusion-rest.md
/// says nothing): whether a real pod accepts `Content-Encoding: gzip` on requests; the
/// simulator's `accept_gzip_requests` setting models both answers (415 when refused).
fn decode_body(shared: &Shared, headers: &HeaderMap, body: Bytes) -> Result<Bytes, Box<Response>> {
    let gzip = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body);
    }
    if !shared.accept_gzip_requests {
        *lock(&shared.stats).entry("GZIP refused".into()).or_default() += 1;
        return Err(Box::new(error_response(
            &ApiError::new(415, "INV-1415", "Content-Encoding gzip is not supported on requests."),
            None,
        )));
    }
    let mut out = Vec::with_capacity(body.len() * 4);
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out).map_err(|e| {
        Box::new(error_response(
            &ApiError::new(400, "INV-1400", format!("gzip body unreadable: {e}")),
            None,
        ))
    })?;
    *lock(&shared.stats).entry("GZIP request bodies".into()).or_default() += 1;
    Ok(Bytes::from(out))
}

async fn run_fusion(
    shared: Arc<Shared>,
    method: Method,
    ver: String,
    rest: Option<String>,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let segments: Vec<String> = rest
        .as_deref()
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let resource = segments.first().cloned().unwrap_or_else(|| "batch".into());
    let endpoint = format!("{} {resource}", method.as_str());
    count(&shared, &endpoint);
    if ver != VERSION && ver != "latest" {
        return error_response(
            &ApiError::not_found(format!("The API version {ver} doesn't exist.")),
            None,
        );
    }
    let (latency, retry_after, lies) = {
        let f = lock(&shared.faults);
        let f = f.faults();
        (f.latency_ms, f.retry_after_secs, f.hasmore_lies)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Err(e) = check_auth(&shared, &headers) {
        return error_response(&e, None);
    }
    let staged_post = method == Method::POST && resource == "inventoryStagedTransactions" && segments.len() == 1;
    let online = staged_post && is_online(&body);
    let injected = lock(&shared.faults).decide(&endpoint, &resource, staged_post, online);
    let (mut stage_only, mut drop_after) = (false, false);
    match injected {
        Injected::None => {}
        Injected::Status(code) => {
            let e = ApiError::new(code, &format!("SIM-{code}"), format!("Injected fault: HTTP {code}."));
            let ra = matches!(code, 429 | 503).then_some(retry_after);
            return error_response(&e, ra);
        }
        Injected::Reset => return reset_response(),
        Injected::Hang(d) => tokio::time::sleep(d).await,
        Injected::Stage408 => stage_only = true,
        Injected::DropAfterAccept => drop_after = true,
    }
    let is_batch = rest.is_none();
    if !body.is_empty() && !content_type_ok(&headers, is_batch) {
        return error_response(
            &ApiError::new(415, "REST-415", "The media type of the request body isn't supported."),
            None,
        );
    }
    let json_body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return error_response(
                    &ApiError::bad("REST-400", format!("The request body isn't valid JSON: {e}.")),
                    None,
                )
            }
        }
    };
    let base = format!("{}/fscmRestApi/resources/{ver}", shared.base_url);
    let response = if is_batch {
        if method != Method::POST {
            error_response(
                &ApiError::new(405, "REST-405", "Only POST is supported for batch requests."),
                None,
            )
        } else {
            batch(&shared, json_body, &base, lies)
        }
    } else {
        let req = ApiRequest {
            method: method.as_str().to_string(),
            segments,
            query: parse_query(query.as_deref().unwrap_or("")),
            body: json_body,
            base,
            lies,
            stage_only,
        };
        let res = lock(&shared.sim).handle(&req);
        match res {
            Ok(r) => {
                let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
                let mut resp = match r.body {
                    Some(b) => (status, axum::Json(b)).into_response(),
                    None => status.into_response(),
                };
                if let Some(loc) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                    resp.headers_mut().insert(header::LOCATION, loc);
                }
                resp
            }
            Err(e) => error_response(&e, None),
        }
    };
    if drop_after {
        return reset_response();
    }
    response
}

fn batch(shared: &Shared, body: Option<Value>, base: &str, lies: crate::rest::HasMoreLies) -> Response {
    let parts = body
        .as_ref()
        .and_then(|b| b.get("parts"))
        .and_then(Value::as_array)
        .cloned();
    let Some(parts) = parts else {
        return error_response(&ApiError::bad("REST-400", "A batch request needs a parts array."), None);
    };
    for p in &parts {
        let path = text_of(p.get("path")).unwrap_or_default();
        let res = path
            .trim_start_matches('/')
            .split(['/', '?'])
            .next()
            .unwrap_or("")
            .to_string();
        let m = match text_of(p.get("operation"))
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "get" => "GET",
            "create" => "POST",
            "update" => "PATCH",
            "replace" => "PUT",
            "delete" => "DELETE",
            _ => "?",
        };
        count(shared, &format!("BATCH {m} {res}"));
    }
    let out = lock(&shared.sim).batch(&parts, base, lies);
    // Unsure (fusion-rest.md §4): the HTTP status of a failed batch isn't stated; the simulator
    // answers 400 with only the failing parts, 200 with every part on success.
    match out {
        Ok(results) => (StatusCode::OK, axum::Json(json!({"parts": results}))).into_response(),
        Err(failures) => (StatusCode::BAD_REQUEST, axum::Json(json!({"parts": failures}))).into_response(),
    }
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

async fn not_found() -> Response {
    error_response(&ApiError::not_found("The requested resource doesn't exist."), None)
}

/// The full router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/fscmRestApi/resources/{ver}", any(fusion_root))
        .route("/fscmRestApi/resources/{ver}/{*rest}", any(fusion))
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
