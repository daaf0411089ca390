//! A Cognito user pool on moto, through its JSON protocol (moto does not check signatures, so
//! a placeholder SigV4 header only names the service): the pool with the `dcs` custom
//! attribute, an app client, the three role groups, users, and their ID tokens.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

/// One pool on the emulator at `AWS_ENDPOINT_URL`.
pub struct LocalPool {
    /// Emulator endpoint.
    pub endpoint: String,
    /// Region.
    pub region: String,
    /// Pool id.
    pub pool_id: String,
    /// App client id.
    pub client_id: String,
    http: reqwest::Client,
}

const PASSWORD: &str = "Local-only-Passw0rd!";

impl LocalPool {
    /// Creates the pool, its client and the groups `supervisor`, `manager`, `integration`.
    pub async fn create() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run through scripts/test.sh");
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
        let mut pool = Self {
            endpoint,
            region,
            pool_id: String::new(),
            client_id: String::new(),
            http: reqwest::Client::new(),
        };
        let created = pool
            .call(
                "CreateUserPool",
                json!({"PoolName": format!("console-{}", uuid::Uuid::new_v4()),
                       "Schema": [{"Name": "dcs", "AttributeDataType": "String", "Mutable": true}]}),
            )
            .await;
        pool.pool_id = created["UserPool"]["Id"].as_str().unwrap().to_string();
        let client = pool
            .call(
                "CreateUserPoolClient",
                json!({"UserPoolId": pool.pool_id, "ClientName": "console", "ExplicitAuthFlows": ["ADMIN_USER_PASSWORD_AUTH"]}),
            )
            .await;
        pool.client_id = client["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
        for g in ["supervisor", "manager", "integration"] {
            pool.call("CreateGroup", json!({"UserPoolId": pool.pool_id, "GroupName": g}))
                .await;
        }
        pool
    }

    /// Calls `action` of the Cognito API.
    pub async fn call(&self, action: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0", self.region),
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{action}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Adds `user` in `groups` with DC scope `dcs` (omitted when empty) and answers its ID token.
    pub async fn user_token(&self, user: &str, groups: &[&str], dcs: &str) -> String {
        let attrs = if dcs.is_empty() {
            json!([])
        } else {
            json!([{"Name": "custom:dcs", "Value": dcs}])
        };
        self.call(
            "AdminCreateUser",
            json!({"UserPoolId": self.pool_id, "Username": user, "MessageAction": "SUPPRESS", "UserAttributes": attrs}),
        )
        .await;
        self.call(
            "AdminSetUserPassword",
            json!({"UserPoolId": self.pool_id, "Username": user, "Password": PASSWORD, "Permanent": true}),
        )
        .await;
        for g in groups {
            self.call(
                "AdminAddUserToGroup",
                json!({"UserPoolId": self.pool_id, "Username": user, "GroupName": g}),
            )
            .await;
        }
        let auth = self
            .call(
                "AdminInitiateAuth",
                json!({"UserPoolId": self.pool_id, "ClientId": self.client_id, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                       "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD}}),
            )
            .await;
        auth["AuthenticationResult"]["IdToken"].as_str().unwrap().to_string()
    }

    /// A verifier for this pool's tokens (keys read from the emulator).
    pub fn verifier(&self) -> console_api::JwksVerifier {
        console_api::JwksVerifier::cognito(&self.region, &self.pool_id, &self.client_id, Some(&self.endpoint))
    }
}
