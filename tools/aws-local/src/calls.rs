//! An SDK HTTP client that records every AWS call it carries: who made it (the access key), the
//! service and API action, the table, queue or topic it named, and, when the emulator refused it
//! for IAM, the action it named in the refusal.
//!
//! Why: moto's IAM enforcement answers a refusal with an XML body the JSON-protocol SDKs
//! (DynamoDB, SQS) cannot parse, so the error a test sees has no action in it; the record has.
//! And moto checks actions but not resource ARNs, so the harness compares each recorded call's
//! resource with the role itself ([`crate::iam::FunctionSession::ungranted_calls`]).

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use std::sync::{Arc, Mutex};

/// One AWS call as sent and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The access key that signed it.
    pub access_key: String,
    /// The signing service (`dynamodb`, `sqs`, `sns`, ...).
    pub service: String,
    /// The API action (`Query`, `SendMessageBatch`, ...).
    pub action: String,
    /// The table name, queue name or topic ARN the call named, if any.
    pub resource: Option<String>,
    /// The secondary index a DynamoDB call named.
    pub index: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// The action of an IAM refusal (`dynamodb:Query`), as the emulator named it.
    pub denied: Option<String>,
    /// The start of an error answer's body, for diagnostics.
    pub error: Option<String>,
}

impl Call {
    /// `service:Action`, the API name (not always the IAM action: see `crate::iam::iam_action`).
    pub fn api(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }
}

/// The recording client; clones share one record.
#[derive(Debug, Clone)]
pub struct RecordCalls {
    inner: SharedHttpClient,
    calls: Arc<Mutex<Vec<Call>>>,
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl RecordCalls {
    /// Records what `inner` carries.
    pub fn new(inner: impl HttpClient + 'static) -> Self {
        Self {
            inner: SharedHttpClient::new(inner),
            calls: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Records what the SDK's default HTTPS client carries (rustls, as the functions use).
    pub fn over_default() -> Self {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        Self::new(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_https(),
        )
    }

    /// Every call recorded so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl HttpClient for RecordCalls {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
            calls: self.calls.clone(),
        })
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, calls) = (self.inner.clone(), self.calls.clone());
        let sent = describe_request(&request);
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let status = response.status().as_u16();
            let mut denied = None;
            let mut error = None;
            if status >= 400 {
                // Why buffer: the body is read here and again by the SDK.
                let bytes = ByteStream::new(response.take_body())
                    .collect()
                    .await
                    .map(|b| b.into_bytes())
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes);
                denied = refused_action(&text);
                error = Some(text.chars().take(400).collect());
                *response.body_mut() = SdkBody::from(bytes);
            }
            if let (Some(mut call), Ok(mut all)) = (sent, calls.lock()) {
                call.status = status;
                call.denied = denied;
                call.error = error;
                all.push(call);
            }
            Ok(response)
        })
    }
}

/// The action named in an IAM refusal: `... is not authorized to perform: dynamodb:Query`.
pub fn refused_action(body: &str) -> Option<String> {
    let rest = body.split("is not authorized to perform: ").nth(1)?;
    let action: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-' || *c == '*')
        .collect();
    (!action.is_empty()).then_some(action)
}

fn between<'a>(text: &'a str, start: &str, end: char) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    text[from..].split(end).next()
}

/// Service, action and resource of a signed request (JSON protocols name the action in
/// `X-Amz-Target`, query protocols in the form body).
fn describe_request(request: &HttpRequest) -> Option<Call> {
    let authorization = request.headers().get("authorization")?;
    let scope = between(authorization, "Credential=", ',')?;
    let mut parts = scope.split('/');
    let access_key = parts.next()?.to_string();
    let service = parts.nth(2)?.to_string();
    let body = request
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).to_string())
        .unwrap_or_default();
    let form = |name: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(percent_decode)
    };
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let action = match request.headers().get("x-amz-target") {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_string(),
        None => form("Action").unwrap_or_default(),
    };
    // Batch reads and writes name their table as the key of `RequestItems` (one table each
    // in invsync's calls).
    let batch_table = || {
        json.get("RequestItems")
            .and_then(|v| v.as_object())
            .and_then(|m| m.keys().next().cloned())
    };
    let resource = field("TableName")
        .or_else(batch_table)
        .or_else(|| field("QueueUrl").map(|u| u.rsplit('/').next().unwrap_or_default().to_string()))
        .or_else(|| form("TopicArn"))
        .or_else(|| field("SecretId"));
    Some(Call {
        access_key,
        service,
        action,
        resource,
        index: field("IndexName"),
        status: 0,
        denied: None,
        error: None,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_their_action() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: \
                    arn:aws:sts::123456789012:assumed-role/fn/s is not authorized to perform: dynamodb:Query</Message>";
        assert_eq!(refused_action(body).as_deref(), Some("dynamodb:Query"));
        assert_eq!(refused_action("{\"__type\":\"ValidationException\"}"), None);
    }

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Asns%3Aus-east-1%3A1%3Ainvsync-dev-alerts"),
            "arn:aws:sns:us-east-1:1:invsync-dev-alerts"
        );
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }
}
