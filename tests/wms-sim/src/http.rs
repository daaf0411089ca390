//! The HTTP surface: the `/v1` contract (auth, faults, stats) and the `/admin` simulator API.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{parse_json, ApiError};
use crate::model::{
    ActivityRequest, DcSummary, DriftBandsRequest, DriftRequest, Faults, HoldRequest, NewTransaction, OutcomeRequest,
    ReleaseRequest,
};
use crate::state::{Store, DEFAULT_LIMIT, MAX_LIMIT};

/// Request counters of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// Requests seen.
    pub requests: u64,
    /// Responses by HTTP status code.
    pub by_status: BTreeMap<u16, u64>,
}

/// Credentials the `/v1` API accepts; both `None` disables auth.
#[derive(Debug, Clone, Default)]
pub(crate) struct Auth {
    pub api_key: Option<String>,
    pub bearer_token: Option<String>,
}

pub(crate) struct FaultState {
    pub faults: Faults,
    pub rng: ChaCha8Rng,
}

pub(crate) struct Shared {
    pub store: Store,
    pub auth: Auth,
    pub stats: Mutex<BTreeMap<String, EndpointStats>>,
    pub faults: Mutex<FaultState>,
}

pub(crate) type App = Arc<Shared>;

impl Shared {
    pub fn new(store: Store, auth: Auth, seed: u64) -> Self {
        Self {
            store,
            auth,
            stats: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(FaultState {
                faults: Faults::default(),
                rng: ChaCha8Rng::seed_from_u64(seed ^ 0xFA_017),
            }),
        }
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), ApiError> {
        if !(0.0..=1.0).contains(&faults.error_500_rate) {
            return Err(
                ApiError::unprocessable("invalid_rate", "error_500_rate must be within 0..=1").at("error_500_rate"),
            );
        }
        if let Some((i, _)) = faults
            .fail_next
            .iter()
            .enumerate()
            .find(|(_, f)| !(400..=599).contains(&f.status))
        {
            return Err(
                ApiError::unprocessable("invalid_status", "fail_next status must be 400..=599")
                    .at(format!("fail_next[{i}].status")),
            );
        }
        lock(&self.faults).faults = faults;
        Ok(())
    }

    pub fn stats(&self) -> BTreeMap<String, EndpointStats> {
        lock(&self.stats).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Short endpoint name used by stats and faults: `POST outcome`, `GET balances`, ...
fn endpoint_name(method: &Method, path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/v1") {
        let last = rest
            .split('/')
            .rfind(|s| !s.is_empty() && !s.starts_with('{'))
            .unwrap_or("v1");
        let last = if *method == Method::GET && path.ends_with("/transactions/{id}") {
            "transaction"
        } else {
            last
        };
        let last = if *method == Method::PUT && last == "holds" {
            "hold"
        } else {
            last
        };
        format!("{method} {last}")
    } else {
        format!("{method} {path}")
    }
}

async fn observe(State(app): State<App>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let name = endpoint_name(req.method(), &path);
    let response = next.run(req).await;
    let mut stats = lock(&app.stats);
    let entry = stats.entry(name).or_default();
    entry.requests += 1;
    *entry.by_status.entry(response.status().as_u16()).or_default() += 1;
    response
}

async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    if let Err(e) = authorize(&app.auth, &req) {
        return e.into_response();
    }
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let name = endpoint_name(req.method(), &path);
    let full = format!("{} {path}", req.method());
    let (latency, injected) = {
        let mut f = lock(&app.faults);
        let latency = f.faults.latency_ms;
        let mut injected = None;
        if let Some(rule) = f
            .faults
            .fail_next
            .iter_mut()
            .find(|r| r.count > 0 && (r.endpoint == name || r.endpoint == full))
        {
            rule.count -= 1;
            injected = Some(rule.status);
        }
        f.faults.fail_next.retain(|r| r.count > 0);
        if injected.is_none() && f.faults.error_500_rate > 0.0 {
            let rate = f.faults.error_500_rate;
            if f.rng.random_bool(rate) {
                injected = Some(500);
            }
        }
        (latency, injected)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Some(status) = injected {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return ApiError::new(
            status,
            "injected_fault",
            format!("fault injected by the simulator on {name}"),
        )
        .into_response();
    }
    next.run(req).await
}

fn authorize(auth: &Auth, req: &Request) -> Result<(), ApiError> {
    if auth.api_key.is_none() && auth.bearer_token.is_none() {
        return Ok(());
    }
    let headers = req.headers();
    let key_ok = auth
        .api_key
        .as_deref()
        .is_some_and(|k| headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(k));
    let bearer_ok = auth.bearer_token.as_deref().is_some_and(|t| {
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            == Some(t)
    });
    if key_ok || bearer_ok {
        return Ok(());
    }
    let presented = headers.contains_key("x-api-key") || headers.contains_key(axum::http::header::AUTHORIZATION);
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        if presented {
            "credentials are not valid"
        } else {
            "send X-Api-Key or Authorization: Bearer"
        },
    ))
}

fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| ApiError::new(e.status(), "unreadable_body", e.body_text()))
}

fn paging(q: Result<Query<HashMap<String, String>>, QueryRejection>) -> Result<(usize, Option<String>), ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => {
            let n: usize = text.parse().map_err(|_| {
                ApiError::bad_request("invalid_limit", format!("limit {text:?} is not a positive integer")).at("limit")
            })?;
            if n == 0 {
                return Err(ApiError::bad_request("invalid_limit", "limit must be at least 1").at("limit"));
            }
            if n > MAX_LIMIT {
                return Err(ApiError::bad_request(
                    "limit_too_large",
                    format!("limit {n} exceeds the maximum of {MAX_LIMIT}"),
                )
                .at("limit"));
            }
            n
        }
    };
    Ok((limit, q.get("cursor").filter(|c| !c.is_empty()).cloned()))
}

type Q = Result<Query<HashMap<String, String>>, QueryRejection>;
type B = Result<Bytes, BytesRejection>;

async fn list_dcs(State(app): State<App>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "items": app.store.master.dcs }))
}

async fn balances(State(app): State<App>, Path(dc): Path<String>, q: Q) -> Result<Response, ApiError> {
    let guard = app.store.dc(&dc)?;
    let (limit, cursor) = paging(q)?;
    Ok(Json(guard.balances_page(&app.store.master, limit, cursor.as_deref())?).into_response())
}

async fn outbox(State(app): State<App>, Path(dc): Path<String>, q: Q) -> Result<Response, ApiError> {
    let guard = app.store.dc(&dc)?;
    let (limit, cursor) = paging(q)?;
    Ok(Json(guard.outbox_page(limit, cursor.as_deref())?).into_response())
}

async fn capture(State(app): State<App>, Path(dc): Path<String>, body: B) -> Result<Response, ApiError> {
    let mut guard = app.store.dc(&dc)?;
    let input: NewTransaction = parse_json(&body_of(body)?)?;
    let captured = guard.capture(&app.store.master, input)?;
    let status = if captured.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(captured.transaction)).into_response())
}

async fn get_transaction(State(app): State<App>, Path((dc, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let guard = app.store.dc(&dc)?;
    let tx = guard
        .transactions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("unknown_transaction", format!("no transaction {id:?} at {dc}")).at("id"))?;
    Ok(Json(tx).into_response())
}

async fn outcome(
    State(app): State<App>,
    Path((dc, id)): Path<(String, String)>,
    body: B,
) -> Result<Response, ApiError> {
    let mut guard = app.store.dc(&dc)?;
    let req: OutcomeRequest = parse_json(&body_of(body)?)?;
    Ok(Json(guard.outcome(&id, &req)?).into_response())
}

async fn place_hold(
    State(app): State<App>,
    Path((dc, item)): Path<(String, String)>,
    body: B,
) -> Result<Response, ApiError> {
    let mut guard = app.store.dc(&dc)?;
    let req: HoldRequest = parse_json(&body_of(body)?)?;
    let (hold, created) = guard.place_hold(&app.store.master, &item, &req)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(hold)).into_response())
}

async fn release_hold(
    State(app): State<App>,
    Path((dc, item)): Path<(String, String)>,
    body: B,
) -> Result<Response, ApiError> {
    let mut guard = app.store.dc(&dc)?;
    let req: ReleaseRequest = parse_json(&body_of(body)?)?;
    Ok(Json(guard.release_hold(&app.store.master, &item, &req)?).into_response())
}

async fn list_holds(State(app): State<App>, Path(dc): Path<String>) -> Result<Response, ApiError> {
    let guard = app.store.dc(&dc)?;
    Ok(Json(guard.active_holds()).into_response())
}

async fn reservations(State(app): State<App>, Path(dc): Path<String>) -> Result<Response, ApiError> {
    let guard = app.store.dc(&dc)?;
    Ok(Json(guard.reservation_summary()).into_response())
}

async fn admin_activity(State(app): State<App>, body: B) -> Result<Response, ApiError> {
    let req: ActivityRequest = parse_json(&body_of(body)?)?;
    let txs = app.store.generate(req.dc.as_deref(), req.count)?;
    let ids: Vec<&str> = txs.iter().map(|t| t.id.as_str()).collect();
    Ok(Json(serde_json::json!({ "count": ids.len(), "ids": ids, "transactions": txs })).into_response())
}

async fn admin_drift(State(app): State<App>, body: B) -> Result<Response, ApiError> {
    let req: DriftRequest = parse_json(&body_of(body)?)?;
    let mut guard = app.store.dc(&req.dc)?;
    Ok(Json(crate::drift::apply(&mut guard, &app.store.master, &req)?).into_response())
}

async fn admin_drift_bands(State(app): State<App>, body: B) -> Result<Response, ApiError> {
    let req: DriftBandsRequest = parse_json(&body_of(body)?)?;
    let applied = crate::drift::apply_bands(&app.store, &req)?;
    Ok(Json(serde_json::json!({ "applied": applied })).into_response())
}

pub(crate) fn summaries(store: &Store) -> Vec<DcSummary> {
    (0..store.master.dcs.len())
        .filter_map(|i| store.dc_at(i))
        .map(|dc| {
            let (pending, failed) = dc.outbox_counts();
            DcSummary {
                dc: dc.code.clone(),
                balances: dc.balances.len(),
                outbox_pending: pending,
                outbox_failed: failed,
                reservations: dc.reservations.len(),
                holds: dc.holds.values().filter(|h| h.active.is_some()).count(),
                transactions: dc.transactions.len(),
            }
        })
        .collect()
}

async fn admin_state(State(app): State<App>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "dcs": summaries(&app.store) }))
}

async fn admin_stats(State(app): State<App>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "endpoints": app.stats() }))
}

async fn admin_stats_reset(State(app): State<App>) -> StatusCode {
    lock(&app.stats).clear();
    StatusCode::NO_CONTENT
}

async fn admin_put_faults(State(app): State<App>, body: B) -> Result<Response, ApiError> {
    let faults: Faults = parse_json(&body_of(body)?)?;
    app.set_faults(faults.clone())?;
    Ok(Json(faults).into_response())
}

async fn admin_get_faults(State(app): State<App>) -> Json<Faults> {
    Json(lock(&app.faults).faults.clone())
}

async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

/// Builds the full router over shared state.
pub(crate) fn router(app: App) -> Router {
    let v1 = Router::new()
        .route("/v1/dcs", get(list_dcs))
        .route("/v1/dcs/{dc}/balances", get(balances))
        .route("/v1/dcs/{dc}/outbox", get(outbox))
        .route("/v1/dcs/{dc}/transactions", post(capture))
        .route("/v1/dcs/{dc}/transactions/{id}", get(get_transaction))
        .route("/v1/dcs/{dc}/transactions/{id}/outcome", post(outcome))
        .route("/v1/dcs/{dc}/holds", get(list_holds))
        .route("/v1/dcs/{dc}/holds/{item}", put(place_hold))
        .route("/v1/dcs/{dc}/holds/{item}/release", post(release_hold))
        .route("/v1/dcs/{dc}/reservations", get(reservations))
        .route_layer(middleware::from_fn_with_state(app.clone(), guard));
    let admin = Router::new()
        .route("/admin/activity", post(admin_activity))
        .route("/admin/drift", post(admin_drift))
        .route("/admin/drift/bands", post(admin_drift_bands))
        .route("/admin/state", get(admin_state))
        .route("/admin/stats", get(admin_stats))
        .route("/admin/stats/reset", post(admin_stats_reset))
        .route("/admin/faults", put(admin_put_faults).get(admin_get_faults));
    v1.merge(admin)
        .route_layer(middleware::from_fn_with_state(app.clone(), observe))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}
