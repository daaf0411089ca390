//! `console-api`: the operator console's HTTP API (JSON under `/api/v1`) and web page (HTML
//! under `/ui`), one Lambda behind API Gateway's HTTP API, thin over [`console::ConsoleService`]:
//! each handler establishes the caller ([`auth`]), parses the request, calls one service
//! operation and renders its answer or its [`console::ConsoleError`] (status and typed body).
//! Authorization (roles, DC scope) is the service's.
//!
//! - [`router`] builds the whole app over any [`ConsolePorts`]; `main.rs` serves it in Lambda,
//!   tests and the local run serve it on loopback ([`serve`]);
//! - [`api`]: the JSON API (routes listed there), paged lists with an opaque cursor, the task
//!   version as `ETag` / `If-Match` on claim and resolve;
//! - [`page`]: the server-rendered web page (no external assets, one small inline script);
//! - [`auth`] and [`jwks`]: claims and tokens to a domain `Principal`.

pub mod api;
pub mod auth;
pub mod jwks;
pub mod page;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Router;
use console::{ConsolePorts, ConsoleService};
use domain::console::Principal;
use domain::ids::DcCode;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::{Authenticator, DevLogin};
pub use jwks::JwksVerifier;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Console<P> {
    /// The service layer.
    pub service: ConsoleService<P>,
    /// Identity.
    pub auth: Authenticator,
    /// DCs offered on the page's start screen to callers whose scope is every DC.
    pub known_dcs: Vec<DcCode>,
}

/// The shared state of the router.
pub type Shared<P> = Arc<Console<P>>;

/// The caller of a request (`None`: unauthenticated; the service answers 401).
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Principal>);

impl<P: ConsolePorts + 'static> FromRequestParts<Shared<P>> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Shared<P>) -> Result<Self, Self::Rejection> {
        Ok(Caller(state.auth.principal(parts).await))
    }
}

/// The console app: `/api/v1/...` (JSON), `/ui/...` (HTML), `/` (redirects to `/ui`).
pub fn router<P: ConsolePorts + 'static>(console: Shared<P>) -> Router {
    Router::new()
        .nest("/api/v1", api::routes::<P>())
        .merge(page::routes::<P>())
        .with_state(console)
}

/// Serves `router` on `addr` (port 0 picks one) until the task is dropped or aborted;
/// answers the bound address.
pub async fn serve(router: Router, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "console server stopped");
        }
    });
    Ok((bound, handle))
}
