//! Verifying Cognito user pool ID tokens against the pool's JWKS (RS256), for the web page's
//! cookie and for local runs and tests (moto serves the JWKS at
//! `{endpoint}/{pool-id}/.well-known/jwks.json`; Cognito at
//! `https://cognito-idp.{region}.amazonaws.com/{pool-id}/.well-known/jwks.json`).
//!
//! Checked: signature (a key of the set, by `kid`), `exp`, `iss` (the pool), `aud` (the app
//! client) and `token_use` = `id` (the ID token carries the groups and the DC attribute).
//! The key set is fetched on first use and again when a token names an unknown `kid`, at most
//! once a minute.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use tracing::warn;

/// Verifies one user pool's ID tokens.
#[derive(Debug)]
pub struct JwksVerifier {
    issuer: String,
    audience: String,
    jwks_url: String,
    http: reqwest::Client,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

/// Least time between two key set fetches.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

impl JwksVerifier {
    /// A verifier for tokens of `issuer` (`https://cognito-idp.{region}.amazonaws.com/{pool}`)
    /// for app client `audience`, with keys at `jwks_url`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: jwks_url.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: RwLock::new(None),
        }
    }

    /// For a Cognito pool: the issuer is always the public Cognito URL of the pool; the keys
    /// are read from `endpoint` (moto's URL locally, `None` for Cognito itself).
    pub fn cognito(region: &str, pool_id: &str, client_id: &str, endpoint: Option<&str>) -> Self {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
        let base = endpoint
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| issuer.clone());
        let jwks_url = match endpoint {
            Some(_) => format!("{base}/{pool_id}/.well-known/jwks.json"),
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        Self::new(issuer, client_id, jwks_url)
    }

    /// The claims of `token` when it is a valid ID token of the pool for the client.
    pub async fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 {
            return None;
        }
        let kid = header.kid?;
        let key = match self.key(&kid).await {
            Some(k) => k,
            None => {
                self.refresh().await;
                self.key(&kid).await?
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .ok()?
            .claims;
        (claims.get("token_use").and_then(Value::as_str) == Some("id")).then_some(claims)
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let guard = self.keys.read().await;
        let (set, _) = guard.as_ref()?;
        let jwk = set.find(kid)?;
        DecodingKey::from_jwk(jwk).ok()
    }

    async fn refresh(&self) {
        let mut guard = self.keys.write().await;
        if guard.as_ref().is_some_and(|(_, at)| at.elapsed() < REFETCH_AFTER) {
            return;
        }
        let fetched = async {
            self.http
                .get(&self.jwks_url)
                .send()
                .await?
                .error_for_status()?
                .json::<JwkSet>()
                .await
        }
        .await;
        match fetched {
            Ok(set) => *guard = Some((set, Instant::now())),
            Err(e) => warn!(url = %self.jwks_url, error = %e, "user pool keys could not be read"),
        }
    }
}
