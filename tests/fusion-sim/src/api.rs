//! The Fusion REST request path: version and framework-version handling, auth, injected
//! faults, missing/forbidden resources, media types, and dispatch to the state machine (single
//! resources and batch).
//!
//! Every Fusion API request carries a REST framework version: its `REST-Framework-Version`
//! header, or [`crate::SimConfig::default_framework_version`] when absent (fact sheet §1).
//! Errors are JSON from v4 and plain text before ([`api_error`]); expanded children are
//! plain arrays before v3 and paged collections from v3 (see [`crate::sim`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::faults::Injected;
use crate::http::{check_auth, count, error_response, lock, parse_query, read, write, InFlight, Shared, VERSION};
use crate::rest::{text_of, ApiError, JSON_ERRORS_FROM};
use crate::sim::ApiRequest;

/// Framework versions the simulator accepts (fact sheet §1: versions 1–9 exist).
pub const FRAMEWORK_VERSIONS: std::ops::RangeInclusive<u32> = 1..=9;

/// The request's REST framework version: the `REST-Framework-Version` header, else `default`.
/// Unsure (fact sheet §1): what a pod answers for a version outside its allowed list isn't
/// documented; the simulator answers 400 (as plain text, the version being unknown).
pub fn framework_version(headers: &HeaderMap, default: u32) -> Result<u32, ApiError> {
    let Some(h) = headers.get("REST-Framework-Version") else {
        return Ok(default);
    };
    let text = h.to_str().unwrap_or("").trim();
    match text.parse::<u32>() {
        Ok(v) if FRAMEWORK_VERSIONS.contains(&v) => Ok(v),
        _ => Err(ApiError::bad(
            "REST-400-RFV",
            format!("The REST framework version {text} isn't supported. Use a version from 1 to 9."),
        )),
    }
}

/// A Fusion API error as framework version `fv` renders it: from v4 the JSON body (`title`,
/// `status`, `o:errorDetails`), before v4 the detail text alone as `text/plain` (fact sheet
/// §4: "with older versions, plain text (ADF/JBO message)"). Status and headers are the same.
/// Unsure (fact sheet §4, M): the exact content type of a plain-text error; `text/plain` here.
pub fn api_error(e: &ApiError, retry_after: Option<u64>, fv: u32) -> Response {
    let mut resp = error_response(e, retry_after);
    if fv < JSON_ERRORS_FROM {
        let (parts, _) = resp.into_parts();
        resp = Response::from_parts(parts, Body::from(e.detail.clone()));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        resp.headers_mut().remove(header::CONTENT_LENGTH);
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

/// `/fscmRestApi/resources/{ver}/{*rest}`.
pub(crate) async fn fusion(
    State(shared): State<Arc<Shared>>,
    Path((ver, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    serve(shared, method, ver, Some(rest), headers, query, body).await
}

/// `/fscmRestApi/resources/{ver}`: batch requests.
pub(crate) async fn fusion_root(
    State(shared): State<Arc<Shared>>,
    Path(ver): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    serve(shared, method, ver, None, headers, query, body).await
}

async fn serve(
    shared: Arc<Shared>,
    method: Method,
    ver: String,
    rest: Option<String>,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let fv = match framework_version(&headers, shared.default_framework_version) {
        Ok(v) => v,
        Err(e) => return api_error(&e, None, 1),
    };
    let body = match decode_body(&shared, &headers, body, fv) {
        Ok(body) => body,
        Err(refusal) => return *refusal,
    };
    let mutating = method != Method::GET;
    let resp = run_fusion(&shared, method, ver, rest, headers, query, body, fv).await;
    if mutating {
        // A POST or PATCH may have scheduled a Concurrent row: let its processor look.
        shared.concurrent_wake.notify_one();
    }
    resp
}

/// Decodes a gzip request body (counted under `GZIP request bodies`; refusals under
/// `GZIP refused`). Unsure (fusion-rest.md
/// says nothing): whether a real pod accepts `Content-Encoding: gzip` on requests; the
/// simulator's `accept_gzip_requests` setting models both answers (415 when refused).
fn decode_body(shared: &Shared, headers: &HeaderMap, body: Bytes, fv: u32) -> Result<Bytes, Box<Response>> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body);
    }
    if !shared.accept_gzip_requests {
        *lock(&shared.stats).entry("GZIP refused".into()).or_default() += 1;
        return Err(Box::new(api_error(
            &ApiError::new(415, "INV-1415", "Content-Encoding gzip is not supported on requests."),
            None,
            fv,
        )));
    }
    let mut out = Vec::with_capacity(body.len() * 4);
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out).map_err(|e| {
        Box::new(api_error(
            &ApiError::new(400, "INV-1400", format!("gzip body unreadable: {e}")),
            None,
            fv,
        ))
    })?;
    *lock(&shared.stats).entry("GZIP request bodies".into()).or_default() += 1;
    Ok(Bytes::from(out))
}

#[allow(clippy::too_many_arguments)]
async fn run_fusion(
    shared: &Shared,
    method: Method,
    ver: String,
    rest: Option<String>,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
    fv: u32,
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
    count(shared, &endpoint);
    if ver != VERSION && ver != "latest" {
        return api_error(
            &ApiError::not_found(format!("The API version {ver} doesn't exist.")),
            None,
            fv,
        );
    }
    let (latency, retry_after, lies, max_in_flight) = {
        let f = lock(&shared.faults);
        let f = f.faults();
        (f.latency_ms, f.retry_after_secs, f.hasmore_lies, f.max_in_flight)
    };
    // Held until the answer is built, so the count covers the latency and the handling: the
    // client's view of a request in flight always spans the simulator's.
    let Some(_slot) = InFlight::enter(shared, max_in_flight) else {
        let e = ApiError::new(429, "SIM-429", "Too many requests in flight for this pod. Retry later.");
        return api_error(&e, Some(retry_after), fv);
    };
    let due = tokio::time::Instant::now() + Duration::from_millis(latency);
    // Why a read is answered at its due time rather than after it: `latency_ms` is how long a
    // request takes to answer, as a pod's is measured; building a page after the latency put
    // the build (milliseconds for 500 balances on a shared machine) on top of it. A write
    // still waits first, so what it changes lands at the end of its latency.
    let read = method == Method::GET;
    if !read {
        tokio::time::sleep_until(due).await;
    }
    let response = answer(
        shared,
        method,
        ver,
        rest,
        segments,
        resource,
        endpoint,
        headers,
        query,
        body,
        fv,
        retry_after,
        lies,
    )
    .await;
    if read {
        tokio::time::sleep_until(due).await;
    }
    response
}

/// A Fusion API request once its latency is settled: authentication, injected faults and the
/// answer itself.
#[allow(clippy::too_many_arguments)]
async fn answer(
    shared: &Shared,
    method: Method,
    ver: String,
    rest: Option<String>,
    segments: Vec<String>,
    resource: String,
    endpoint: String,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
    fv: u32,
    retry_after: u64,
    lies: crate::HasMoreLies,
) -> Response {
    if let Err(e) = check_auth(shared, &headers) {
        return api_error(&e, None, fv);
    }
    if lock(&shared.faults).faults().reject_credentials {
        let e = ApiError::new(401, "AUTH-401", "The user name or password is not valid.");
        return api_error(&e, None, fv);
    }
    let staged_post = method == Method::POST && resource == "inventoryStagedTransactions" && segments.len() == 1;
    let online = staged_post && is_online(&body);
    let balance_post = method == Method::POST && resource == "inventoryBalanceTransactions" && segments.len() == 1;
    // A scripted 408 on a balance POST applies the lines and then answers 408 (as a staged
    // POST stages its row), so the client cannot tell whether they landed.
    let injected = lock(&shared.faults).decide(&endpoint, &resource, staged_post || balance_post, online);
    let (mut stage_only, mut drop_after) = (false, false);
    match injected {
        Injected::None => {}
        Injected::Status(code) => {
            let e = ApiError::new(code, &format!("SIM-{code}"), format!("Injected fault: HTTP {code}."));
            let ra = matches!(code, 429 | 503).then_some(retry_after);
            return api_error(&e, ra, fv);
        }
        Injected::Reset => return reset_response(),
        Injected::Hang(d) => tokio::time::sleep(d).await,
        Injected::Stage408 => stage_only = true,
        Injected::DropAfterAccept => drop_after = true,
    }
    let is_batch = rest.is_none();
    if !is_batch {
        let refusal = lock(&shared.faults).faults().resource_refusal(&resource);
        if let Some(e) = refusal {
            return api_error(&e, None, fv);
        }
    }
    if !body.is_empty() && !content_type_ok(&headers, is_batch) {
        return api_error(
            &ApiError::new(415, "REST-415", "The media type of the request body isn't supported."),
            None,
            fv,
        );
    }
    let json_body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return api_error(
                    &ApiError::bad("REST-400", format!("The request body isn't valid JSON: {e}.")),
                    None,
                    fv,
                )
            }
        }
    };
    let req = ApiRequest {
        method: method.as_str().to_string(),
        segments,
        query: parse_query(query.as_deref().unwrap_or("")),
        body: json_body,
        base: format!("{}/fscmRestApi/resources/{ver}", shared.base_url),
        lies,
        stage_only,
        framework_version: fv,
    };
    let response = if is_batch {
        if method != Method::POST {
            api_error(
                &ApiError::new(405, "REST-405", "Only POST is supported for batch requests."),
                None,
                fv,
            )
        } else {
            batch(shared, &req)
        }
    } else {
        let read_only = read(&shared.sim).handle_read(&req);
        let res = match read_only {
            Some(res) => res,
            None => write(&shared.sim).handle(&req),
        };
        match res {
            Ok(r) => {
                let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
                let mut resp = match (r.body, r.raw) {
                    (Some(b), _) => (status, axum::Json(b)).into_response(),
                    (None, Some(json)) => (status, [(header::CONTENT_TYPE, "application/json")], json).into_response(),
                    (None, None) => status.into_response(),
                };
                if let Some(loc) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                    resp.headers_mut().insert(header::LOCATION, loc);
                }
                resp
            }
            Err(e) => api_error(&e, None, fv),
        }
    };
    if drop_after {
        return reset_response();
    }
    if stage_only && balance_post {
        let e = ApiError::new(
            408,
            "SIM-408",
            "The request timed out. The balances may still be processed.",
        );
        return api_error(&e, None, fv);
    }
    response
}

/// A batch request; `req` carries the body, base URL, `hasMore` reporting and version.
fn batch(shared: &Shared, req: &ApiRequest) -> Response {
    let parts = req
        .body
        .as_ref()
        .and_then(|b| b.get("parts"))
        .and_then(Value::as_array)
        .cloned();
    let Some(parts) = parts else {
        return api_error(
            &ApiError::bad("REST-400", "A batch request needs a parts array."),
            None,
            req.framework_version,
        );
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
    let faults = lock(&shared.faults).faults().clone();
    let refuse = |res: &str| faults.resource_refusal(res);
    let out = write(&shared.sim).batch(&parts, req, &refuse);
    // Unsure (fusion-rest.md §4): the HTTP status of a failed batch isn't stated; the simulator
    // answers 400 with only the failing parts, 200 with every part on success.
    match out {
        Ok(results) => (StatusCode::OK, axum::Json(json!({"parts": results}))).into_response(),
        Err(failures) => (StatusCode::BAD_REQUEST, axum::Json(json!({"parts": failures}))).into_response(),
    }
}
