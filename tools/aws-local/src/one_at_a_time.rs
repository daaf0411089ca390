//! An SDK HTTP client that sends one request at a time per environment.
//!
//! Why: moto evaluates a DynamoDB condition and applies the write without a lock, so two
//! requests arriving in the same instant can both pass `attribute_not_exists` or
//! `version = :v`; DynamoDB itself makes each request atomic per item. Serializing requests
//! restores that atomicity while racing invocations still interleave request by request, which
//! is exactly what the ledger, lease and task protocols must survive.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::Arc;

/// The serializing client; clones share one turn.
#[derive(Debug, Clone)]
pub struct OneAtATime {
    inner: SharedHttpClient,
    turn: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
struct Connector {
    inner: SharedHttpConnector,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl HttpClient for OneAtATime {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
            turn: self.turn.clone(),
        })
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, turn) = (self.inner.clone(), self.turn.clone());
        HttpConnectorFuture::new(async move {
            let _turn = turn.lock().await;
            inner.call(request).await
        })
    }
}

impl OneAtATime {
    /// A serializing client over the SDK's default HTTPS client.
    pub fn new() -> Self {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        Self {
            inner: aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_https(),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl Default for OneAtATime {
    fn default() -> Self {
        Self::new()
    }
}
