//! Reading a secret from Secrets Manager at cold start (and again when Fusion rejected the
//! credentials): the Fusion password or client secret, the WMS API key.

use crate::config::ConfigError;
use aws_config::SdkConfig;
use secrecy::SecretString;

/// The IAM action [`fetch_secret`] needs on each secret it reads.
pub const SECRET_PERMISSIONS: adapters::aws::Permissions =
    adapters::aws::Permissions::on_resource(&["secretsmanager:GetSecretValue"]);

/// JSON fields a secret's value is taken from, in order.
const VALUE_FIELDS: [&str; 4] = ["password", "client_secret", "api_key", "secret"];

/// The value of secret `arn`: a JSON object's `password`, `client_secret`, `api_key` or
/// `secret` field (the first present), or the whole string when it is not a JSON object.
/// Errors name the secret and why, never its value.
pub async fn fetch_secret(sdk: &SdkConfig, arn: &str) -> Result<SecretString, ConfigError> {
    let fail = |reason: String| ConfigError::Secret {
        arn: arn.to_string(),
        reason,
    };
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let raw = out
        .secret_string()
        .ok_or_else(|| fail("the secret has no string value".into()))?;
    secret_value(raw).map_err(fail)
}

/// See [`fetch_secret`].
fn secret_value(raw: &str) -> Result<SecretString, String> {
    let value = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => VALUE_FIELDS
            .iter()
            .find_map(|k| map.get(*k).and_then(|v| v.as_str()).map(str::to_string))
            .ok_or("the JSON secret has no password, client_secret, api_key or secret field")?,
        _ => raw.to_string(),
    };
    Ok(SecretString::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn a_secret_is_a_json_field_or_the_bare_string() {
        let v = |raw: &str| secret_value(raw).map(|s| s.expose_secret().to_string());
        assert_eq!(v(r#"{"username":"u","password":"p"}"#).unwrap(), "p");
        assert_eq!(v(r#"{"api_key":"k"}"#).unwrap(), "k");
        assert_eq!(v("bare-value").unwrap(), "bare-value");
        let e = v(r#"{"username":"u"}"#).unwrap_err();
        assert!(e.contains("no password"), "{e}");
    }
}
