//! Who is calling: claims in, a domain [`Principal`] out. Authorization itself (roles, DC
//! scope) is the service layer's; this module only establishes identity.
//!
//! Claim names (the Cognito user pool's ID token, see `infra/template.yaml`):
//! - [`USER_CLAIMS`]: the user, the first present of `cognito:username`, `username`, `sub`;
//! - [`GROUPS_CLAIM`] `cognito:groups`: the roles (`supervisor`, `manager`, `integration`; other
//!   groups are ignored);
//! - [`DCS_CLAIM`] `custom:dcs`: the DC scope, DC codes separated by commas or spaces, or `*`
//!   for every DC. Missing or empty: no DC (every DC-bound call answers 403/404).
//!
//! Sources, in order ([`Authenticator::principal`]):
//! 1. in Lambda, the claims API Gateway's JWT authorizer verified
//!    (`requestContext.authorizer.jwt.claims`); nothing else is trusted for the API routes;
//! 2. a bearer token (`Authorization: Bearer ...`) or the [`TOKEN_COOKIE`] cookie, verified
//!    here: RS256 against the user pool's JWKS ([`crate::jwks`]), or, only when the
//!    development login is enabled, an HS256 token this process minted ([`DevLogin`]).
//!
//! Anything else (no token, a bad signature, an expired token) is no principal: the service
//! answers 401.

use crate::jwks::JwksVerifier;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use domain::console::{DcScope, Principal, Role, UserId};
use domain::ids::DcCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::str::FromStr;

/// The roles claim (Cognito groups).
pub const GROUPS_CLAIM: &str = "cognito:groups";
/// The DC scope claim (a custom attribute of the user pool).
pub const DCS_CLAIM: &str = "custom:dcs";
/// The user claims, first present wins.
pub const USER_CLAIMS: [&str; 3] = ["cognito:username", "username", "sub"];
/// The cookie the web page keeps the token in (HttpOnly, SameSite=Strict).
pub const TOKEN_COOKIE: &str = "invsync_token";

/// How identities are established for one deployment.
#[derive(Debug, Default)]
pub struct Authenticator {
    /// Trust API Gateway's authorizer claims (only when running in Lambda).
    pub trust_authorizer: bool,
    /// Verifies user pool tokens.
    pub jwks: Option<JwksVerifier>,
    /// The development login, never enabled in AWS.
    pub dev: Option<DevLogin>,
    /// Mark the page's token cookie `Secure` (behind HTTPS, always in AWS).
    pub secure_cookie: bool,
}

impl Authenticator {
    /// The caller of the request `parts`, or `None` (unauthenticated).
    pub async fn principal(&self, parts: &Parts) -> Option<Principal> {
        if self.trust_authorizer {
            if let Some(claims) = authorizer_claims(parts) {
                return principal_from_claims(&claims);
            }
        }
        let token = bearer(parts).or_else(|| cookie(parts, TOKEN_COOKIE))?;
        let claims = self.verify(&token).await?;
        principal_from_claims(&claims)
    }

    /// The verified claims of `token`, or `None`.
    pub async fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        if let Some(dev) = &self.dev {
            if let Some(claims) = dev.verify(token) {
                return Some(claims);
            }
        }
        match &self.jwks {
            Some(jwks) => jwks.verify(token).await,
            None => None,
        }
    }
}

fn authorizer_claims(parts: &Parts) -> Option<Map<String, Value>> {
    match parts.extensions.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => {
            let jwt = ctx.authorizer.as_ref()?.jwt.as_ref()?;
            Some(
                jwt.claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        }
        _ => None,
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_string()).filter(|t| !t.is_empty())
}

/// The value of cookie `name` in the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// A claim holding a list: a JSON array, or text as API Gateway passes arrays
/// (`[a b]`), or comma/space separated.
fn claim_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).map(str::to_string).collect(),
        Some(Value::String(text)) => text
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|s| s.trim_matches('"'))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The principal the claims describe; `None` when no user claim is usable.
pub fn principal_from_claims(claims: &Map<String, Value>) -> Option<Principal> {
    let user = USER_CLAIMS
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_str))
        .and_then(|u| UserId::parse(u).ok())?;
    let roles: BTreeSet<Role> = claim_list(claims.get(GROUPS_CLAIM))
        .iter()
        .filter_map(|g| Role::parse(g).ok())
        .collect();
    let dcs = claim_list(claims.get(DCS_CLAIM));
    let scope = if dcs.iter().any(|d| d == "*") {
        DcScope::All
    } else {
        DcScope::Dcs(dcs.iter().filter_map(|d| DcCode::from_str(d).ok()).collect())
    };
    Some(Principal { user, roles, scope })
}

/// The development login: tokens minted by this process (HS256, a key drawn at start), so a
/// browser can sign in as any user without an identity provider. Only the local server enables
/// it (`console-local --dev-login`); the Lambda never does.
pub struct DevLogin {
    key: Vec<u8>,
}

impl std::fmt::Debug for DevLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevLogin(..)")
    }
}

/// Issuer of development tokens.
const DEV_ISSUER: &str = "invsync-dev-login";

impl DevLogin {
    /// A login with a fresh random key (tokens die with the process).
    pub fn new() -> Self {
        let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self { key }
    }

    /// A token for `user` with `roles` on `dcs` (`*` for all), valid 12 hours.
    pub fn mint(&self, user: &UserId, roles: &[Role], dcs: &str) -> Option<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({
            "iss": DEV_ISSUER,
            "cognito:username": user.as_str(),
            GROUPS_CLAIM: roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            DCS_CLAIM: dcs,
            "iat": now,
            "exp": now + 12 * 3600,
        });
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.key),
        )
        .ok()
    }

    fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[DEV_ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        jsonwebtoken::decode::<Map<String, Value>>(token, &DecodingKey::from_secret(&self.key), &validation)
            .ok()
            .map(|d| d.claims)
    }
}

impl Default for DevLogin {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn api_gateway_and_jwt_forms_of_the_claims_give_the_same_principal() {
        let from_jwt = principal_from_claims(&claims(serde_json::json!({
            "cognito:username": "ann", "cognito:groups": ["supervisor", "other"], "custom:dcs": "DC01,DC02"
        })));
        let from_gateway = principal_from_claims(&claims(serde_json::json!({
            "cognito:username": "ann", "cognito:groups": "[supervisor other]", "custom:dcs": "DC01 DC02"
        })));
        assert_eq!(from_jwt, from_gateway);
        let p = from_jwt.unwrap_or_else(|| panic!("principal"));
        assert_eq!(p.roles, BTreeSet::from([Role::Supervisor]));
        assert!(p
            .scope
            .covers(&DcCode::from_str("DC02").unwrap_or_else(|_| panic!("dc"))));
    }

    #[test]
    fn a_star_is_every_dc_and_a_missing_scope_is_none() {
        let all = principal_from_claims(&claims(serde_json::json!({"sub": "x", "custom:dcs": "*"})));
        assert_eq!(all.map(|p| p.scope), Some(DcScope::All));
        let none = principal_from_claims(&claims(serde_json::json!({"sub": "x"})));
        assert_eq!(none.map(|p| p.scope), Some(DcScope::Dcs(BTreeSet::new())));
        assert_eq!(
            principal_from_claims(&claims(serde_json::json!({"custom:dcs": "*"}))),
            None
        );
    }

    #[test]
    fn dev_tokens_verify_only_with_the_key_that_minted_them() {
        let a = DevLogin::new();
        let b = DevLogin::new();
        let user = UserId::parse("dev").unwrap_or_else(|_| panic!("user"));
        let token = a.mint(&user, &[Role::Manager], "DC01").unwrap_or_default();
        assert!(a.verify(&token).is_some());
        assert!(b.verify(&token).is_none());
    }
}
