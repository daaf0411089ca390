//! A Lambda Runtime API for one event, so the bench runs the real `reconcile-stock` binary in
//! its own process, as Lambda would: the first `next` poll gets the event, the answer (or
//! error) is handed back, and every later poll waits until the process is stopped.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What the function answered: `Ok(response)` or `Err(error document)`.
pub type Answer = Result<Value, Value>;

#[derive(Clone)]
struct Shared {
    event: Arc<Mutex<Option<Value>>>,
    answer: Arc<Mutex<Option<oneshot::Sender<Answer>>>>,
    deadline_ms: u64,
}

impl Shared {
    fn answer(&self, a: Answer) {
        if let Some(tx) = self.answer.lock().ok().and_then(|mut s| s.take()) {
            let _ = tx.send(a);
        }
    }
}

async fn next(State(s): State<Shared>) -> (StatusCode, HeaderMap, Json<Value>) {
    let event = s.event.lock().ok().and_then(|mut e| e.take());
    let Some(event) = event else {
        // Why: a second poll means the one invocation is over; the process is stopped soon.
        std::future::pending::<()>().await;
        return (StatusCode::GONE, HeaderMap::new(), Json(Value::Null));
    };
    let mut h = HeaderMap::new();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("lambda-runtime-aws-request-id", "bench-0001".into());
    set("lambda-runtime-deadline-ms", s.deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:invsync-bench-reconcile-stock".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    (StatusCode::OK, h, Json(event))
}

/// The body as JSON, or as a string when it is not. Why not axum's `Json`: the runtime client
/// may send no `content-type`, which `Json` refuses (415) and the answer would be lost.
fn document(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(State(s): State<Shared>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    s.answer(Ok(document(&body)));
    StatusCode::ACCEPTED
}

async fn error(State(s): State<Shared>, body: Bytes) -> StatusCode {
    s.answer(Err(document(&body)));
    StatusCode::ACCEPTED
}

async fn invocation_error(State(s): State<Shared>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    s.answer(Err(document(&body)));
    StatusCode::ACCEPTED
}

/// Serves `event` on a free loopback port with a deadline `budget_ms` from now; answers the
/// address (`AWS_LAMBDA_RUNTIME_API`) and where the function's answer arrives.
pub async fn serve(event: Value, budget_ms: u64) -> anyhow::Result<(SocketAddr, oneshot::Receiver<Answer>)> {
    let (tx, rx) = oneshot::channel();
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default();
    let shared = Shared {
        event: Arc::new(Mutex::new(Some(event))),
        answer: Arc::new(Mutex::new(Some(tx))),
        deadline_ms: now_ms + budget_ms,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, rx))
}
