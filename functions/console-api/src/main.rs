//! `console-api`: the operator console behind API Gateway's HTTP API. `app` wires the console's
//! ports from the environment; [`console_api::router`] serves the JSON API and the page.
//!
//! Identity: the API routes sit behind the HTTP API's JWT authorizer, whose verified claims
//! are the only identity trusted on them. The page's routes cannot use that authorizer (a
//! browser navigating sends a cookie, and JWT authorizers read only headers and query
//! strings), so for them the function verifies the `invsync_token` cookie itself against the
//! user pool's JWKS (`CONSOLE_USER_POOL_ID`, `CONSOLE_USER_POOL_CLIENT_ID`). The development
//! login is never enabled here.
//!
//! Environment: the resource names, secret ARNs and client settings of `app::names` (as the
//! reconciliation reads them: an adjustment posts through the same path), `AUDIT_TABLE`, the
//! two user pool variables above, and `DC_LIST` (the DCs the start page offers).

use console::{ConsoleService, ConsoleSettings};
use console_api::{router, Authenticator, Console, JwksVerifier};
use std::sync::Arc;

/// The Cognito user pool id.
const USER_POOL_ID: &str = "CONSOLE_USER_POOL_ID";
/// The user pool app client id (the tokens' audience).
const USER_POOL_CLIENT_ID: &str = "CONSOLE_USER_POOL_CLIENT_ID";
/// The region (set by Lambda).
const REGION: &str = "AWS_REGION";
/// The DCs offered on the start page (comma separated).
const DC_LIST: &str = "DC_LIST";

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_kit::logging::init();
    let app = app::App::from_env().await;
    let ports = app.console_ports().await?;
    let env = app.env();
    let jwks = JwksVerifier::cognito(
        &env.required(REGION)?,
        &env.required(USER_POOL_ID)?,
        &env.required(USER_POOL_CLIENT_ID)?,
        None,
    );
    let known_dcs = env.dc_list(DC_LIST)?;
    let console = Arc::new(Console {
        service: ConsoleService::new(ports, ConsoleSettings::default()),
        auth: Authenticator {
            trust_authorizer: true,
            jwks: Some(jwks),
            dev: None,
            secure_cookie: true,
        },
        known_dcs,
    });
    lambda_http::run(router(console)).await
}
