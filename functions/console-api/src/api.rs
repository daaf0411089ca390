//! The JSON API, mounted at `/api/v1`. Every route is under `/dcs/{dc}` except `/me`:
//!
//! | method | path | operation | body |
//! |---|---|---|---|
//! | GET | `/me` | the caller's principal | |
//! | GET | `/dcs/{dc}/dashboard` | dashboard | |
//! | GET | `/dcs/{dc}/tasks?kind=&status=&limit=&cursor=` | list_tasks | |
//! | GET | `/dcs/{dc}/tasks/{key}` | task_detail (`ETag: "v<version>"`) | |
//! | POST | `/dcs/{dc}/tasks/{key}/claim` | claim_task | |
//! | POST | `/dcs/{dc}/tasks/{key}/resolve` | resolve_task (`If-Match` or `version`) | `{"resolution":{...},"version":n}` |
//! | GET | `/dcs/{dc}/holds` | list_holds | |
//! | POST | `/dcs/{dc}/holds/{item}/release` | release_hold | `{"reason":"..."}` |
//! | GET | `/dcs/{dc}/incidents?limit=&cursor=` | list_incidents | |
//! | POST | `/dcs/{dc}/incidents/{id}/acknowledge` | acknowledge_incident | |
//! | GET | `/dcs/{dc}/txns?kind=sync_failed&limit=&cursor=` | list_stuck | |
//! | POST | `/dcs/{dc}/txns/retry` | retry_matching | `{"state":"sync_failed","item":..,"error_contains":..}` |
//! | POST | `/dcs/{dc}/txns/{id}/retry` | retry_txn | |
//! | POST | `/dcs/{dc}/txns/{id}/close` | close_txn | `{"reason":"..."}` |
//! | GET | `/dcs/{dc}/runs?kind=sync&limit=&cursor=` | list_runs | |
//! | GET | `/dcs/{dc}/audit?limit=&cursor=` | list_audit | |
//!
//! Task keys contain `/`: percent-encode them in the path (`bal%3ADC01%2FITEM%2FSTORES`).
//! Errors answer the service's status with `{"error":{"code","message","retryable"}}`.

use crate::{Caller, Shared};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use console::{CloseRequest, ConsoleError, ConsolePorts, ReleaseRequest, ResolveRequest, RetryFilter, StuckKind};
use domain::console::{Cursor, PageRequest, Resolution};
use domain::ids::{DcCode, ItemNumber, WmsTxnId};
use domain::ports::{IncidentId, RunKind, TaskFilter, TaskKey};
use domain::Retryable;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::str::FromStr;

/// A failed request: the service's error as status and typed body.
#[derive(Debug)]
pub struct ApiError(pub ConsoleError);

impl From<ConsoleError> for ApiError {
    fn from(e: ConsoleError) -> Self {
        Self(e)
    }
}

/// The error body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `code`, `message`, `retryable`.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code (`unauthenticated`, `forbidden`, `not_found`, `conflict`, `bad_request`,
    /// `unavailable`, `upstream`).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// Whether repeating the same request can succeed.
    pub retryable: bool,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code().to_string(),
                message: self.0.to_string(),
                retryable: self.0.is_retryable(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult = Result<Response, ApiError>;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(ConsoleError::BadRequest(msg.into()))
}

/// Parses a path or query value with the domain's parser, 400 naming `what` otherwise.
pub fn parse<T: FromStr>(what: &str, text: &str) -> Result<T, ConsoleError>
where
    T::Err: std::fmt::Display,
{
    T::from_str(text).map_err(|e| ConsoleError::BadRequest(format!("invalid {what} {text:?}: {e}")))
}

/// Parses a snake_case enum value (`sync_failed`, `variance`, ...) through its serde name.
pub fn parse_enum<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, ConsoleError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| ConsoleError::BadRequest(format!("invalid {what} {text:?}")))
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

/// The page a list query asks for (`limit`, `cursor`).
pub fn page_of(q: &HashMap<String, String>) -> Result<PageRequest, ConsoleError> {
    let limit = match q.get("limit") {
        Some(l) => parse::<usize>("limit", l)?,
        None => PageRequest::DEFAULT_LIMIT,
    };
    Ok(match q.get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => PageRequest::after(limit, Cursor::new(c.clone())),
        None => PageRequest::first(limit),
    })
}

/// The task filter of a query (`kind`, `status`).
pub fn task_filter(q: &HashMap<String, String>) -> Result<TaskFilter, ConsoleError> {
    Ok(TaskFilter {
        kind: q
            .get("kind")
            .filter(|s| !s.is_empty())
            .map(|k| parse_enum("kind", k))
            .transpose()?,
        status: q
            .get("status")
            .filter(|s| !s.is_empty())
            .map(|s| parse_enum("status", s))
            .transpose()?,
    })
}

/// The `ETag` of task version `version`.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// The version an `If-Match` names (`"v3"`, `W/"v3"`, `3`).
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| bad("If-Match is not text"))?;
    let v = text
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .trim_start_matches('v');
    v.parse::<u64>()
        .map(Some)
        .map_err(|_| bad(format!("If-Match {text:?} is not a task version (\"v<n>\")")))
}

fn with_etag(mut response: Response, version: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(ETAG, v);
    }
    response
}

/// The JSON routes (state: the console).
pub fn routes<P: ConsolePorts + 'static>() -> Router<Shared<P>> {
    Router::new()
        .route("/me", get(me))
        .route("/dcs/{dc}/dashboard", get(dashboard::<P>))
        .route("/dcs/{dc}/tasks", get(list_tasks::<P>))
        .route("/dcs/{dc}/tasks/{key}", get(task_detail::<P>))
        .route("/dcs/{dc}/tasks/{key}/claim", post(claim::<P>))
        .route("/dcs/{dc}/tasks/{key}/resolve", post(resolve::<P>))
        .route("/dcs/{dc}/holds", get(holds::<P>))
        .route("/dcs/{dc}/holds/{item}/release", post(release::<P>))
        .route("/dcs/{dc}/incidents", get(incidents::<P>))
        .route("/dcs/{dc}/incidents/{id}/acknowledge", post(acknowledge::<P>))
        .route("/dcs/{dc}/txns", get(txns::<P>))
        .route("/dcs/{dc}/txns/retry", post(retry_matching::<P>))
        .route("/dcs/{dc}/txns/{id}/retry", post(retry::<P>))
        .route("/dcs/{dc}/txns/{id}/close", post(close::<P>))
        .route("/dcs/{dc}/runs", get(runs::<P>))
        .route("/dcs/{dc}/audit", get(audit::<P>))
        .fallback(|| async { ApiError(ConsoleError::NotFound("no such route".into())) })
}

async fn me(Caller(who): Caller) -> ApiResult {
    let who = who.ok_or(ConsoleError::Unauthenticated)?;
    Ok(Json(who).into_response())
}

async fn dashboard<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    Ok(Json(c.service.dashboard(who.as_ref(), &dc).await?).into_response())
}

async fn list_tasks<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let page = c
        .service
        .list_tasks(who.as_ref(), &dc, task_filter(&q)?, &page_of(&q)?)
        .await?;
    Ok(Json(page).into_response())
}

async fn task_detail<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, key)): Path<(String, String)>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let key: TaskKey = parse("task key", &key)?;
    let detail = c.service.task_detail(who.as_ref(), &dc, &key).await?;
    let version = detail.task.state.version;
    Ok(with_etag(Json(detail).into_response(), version))
}

async fn claim<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, key)): Path<(String, String)>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let key: TaskKey = parse("task key", &key)?;
    let task = c.service.claim_task(who.as_ref(), &dc, &key).await?;
    let version = task.state.version;
    Ok(with_etag(Json(task).into_response(), version))
}

/// A resolve body: the version may come in `If-Match` instead.
#[derive(Debug, Deserialize)]
struct ResolveBody {
    resolution: Resolution,
    #[serde(default)]
    version: Option<u64>,
}

async fn resolve<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, key)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    // Why the caller check first: an unauthenticated request is 401 whatever its body.
    let who = who.ok_or(ConsoleError::Unauthenticated)?;
    let dc: DcCode = parse("DC", &dc)?;
    let key: TaskKey = parse("task key", &key)?;
    let b: ResolveBody = body(&bytes)?;
    let version = match (if_match(&headers)?, b.version) {
        (Some(h), Some(v)) if h != v => return Err(bad("If-Match and version name different versions")),
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => return Err(bad("send the task version you saw (If-Match: \"v<n>\" or \"version\")")),
    };
    let req = ResolveRequest {
        version,
        resolution: b.resolution,
    };
    let outcome = c.service.resolve_task(Some(&who), &dc, &key, &req).await?;
    let version = outcome.task.state.version;
    Ok(with_etag(Json(outcome).into_response(), version))
}

async fn holds<P: ConsolePorts>(State(c): State<Shared<P>>, Caller(who): Caller, Path(dc): Path<String>) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    Ok(Json(c.service.list_holds(who.as_ref(), &dc).await?).into_response())
}

async fn release<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, item)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let who = who.ok_or(ConsoleError::Unauthenticated)?;
    let dc: DcCode = parse("DC", &dc)?;
    let item: ItemNumber = parse("item", &item)?;
    let req: ReleaseRequest = body(&bytes)?;
    Ok(Json(c.service.release_hold(Some(&who), &dc, &item, &req).await?).into_response())
}

async fn incidents<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    Ok(Json(c.service.list_incidents(who.as_ref(), &dc, &page_of(&q)?).await?).into_response())
}

async fn acknowledge<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, id)): Path<(String, String)>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let id: IncidentId = parse("incident id", &id)?;
    Ok(Json(c.service.acknowledge_incident(who.as_ref(), &dc, &id).await?).into_response())
}

async fn txns<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let kind: StuckKind = match q.get("kind").filter(|k| !k.is_empty()) {
        Some(k) => parse_enum("kind", k)?,
        None => StuckKind::default(),
    };
    Ok(Json(c.service.list_stuck(who.as_ref(), &dc, kind, &page_of(&q)?).await?).into_response())
}

async fn retry<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, id)): Path<(String, String)>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let id: WmsTxnId = parse("transaction id", &id)?;
    Ok(Json(c.service.retry_txn(who.as_ref(), &dc, &id).await?).into_response())
}

async fn retry_matching<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let who = who.ok_or(ConsoleError::Unauthenticated)?;
    let dc: DcCode = parse("DC", &dc)?;
    let filter: RetryFilter = body(&bytes)?;
    Ok(Json(c.service.retry_matching(Some(&who), &dc, &filter).await?).into_response())
}

async fn close<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let who = who.ok_or(ConsoleError::Unauthenticated)?;
    let dc: DcCode = parse("DC", &dc)?;
    let id: WmsTxnId = parse("transaction id", &id)?;
    let req: CloseRequest = body(&bytes)?;
    Ok(Json(c.service.close_txn(Some(&who), &dc, &id, &req).await?).into_response())
}

async fn runs<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    let kind: RunKind = match q.get("kind").filter(|k| !k.is_empty()) {
        Some(k) => parse("run kind", k)?,
        None => RunKind::Sync,
    };
    Ok(Json(c.service.list_runs(who.as_ref(), &dc, kind, &page_of(&q)?).await?).into_response())
}

async fn audit<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let dc: DcCode = parse("DC", &dc)?;
    Ok(Json(c.service.list_audit(who.as_ref(), &dc, &page_of(&q)?).await?).into_response())
}
