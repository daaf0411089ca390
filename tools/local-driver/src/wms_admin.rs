//! The WMS simulator's admin API (`/admin/...`): generating activity, injecting drift and
//! reading the outbox and hold state. Used only when the WMS is the simulator.

use anyhow::bail;
use serde_json::Value;
use std::time::Duration;

/// The WMS simulator's admin API.
pub(crate) struct Wms {
    http: reqwest::Client,
    base: String,
}

impl Wms {
    pub(crate) fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("WMS {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}
