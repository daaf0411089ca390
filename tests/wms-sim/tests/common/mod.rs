//! Shared helpers: start a small simulator on port 0 and talk to it over real HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use reqwest::{Method, StatusCode};
use serde_json::Value;
use wms_sim::{BalanceRow, Control, RunningWms, WmsConfig, WmsSim};

pub struct Env {
    pub wms: RunningWms,
    pub http: reqwest::Client,
}

pub async fn start(dcs: usize, items: usize) -> Env {
    let wms = WmsSim::start(WmsConfig::small(dcs, items))
        .await
        .expect("start wms-sim");
    Env {
        wms,
        http: reqwest::Client::new(),
    }
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.wms.base_url())
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("X-Api-Key", wms_sim::DEFAULT_API_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("non-JSON body {text:?}: {e}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .header("X-Api-Key", wms_sim::DEFAULT_API_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        (status, resp.json().await.expect("json body"))
    }

    /// First item with the given control and scale that has a stocked row at `dc`
    /// with at least `min` on hand.
    pub fn stocked(&self, dc: &str, control: Control, scale: u32, min: i64) -> BalanceRow {
        self.wms
            .balances(dc)
            .into_iter()
            .find(|b| {
                let item = self.wms.item(&b.item).expect("item");
                item.control == control && item.scale == scale && b.quantity >= min.into()
            })
            .expect("a stocked row of that kind")
    }

    /// Everything a refused request must leave unchanged.
    pub fn snapshot(&self, dc: &str) -> (Vec<BalanceRow>, usize, usize, usize) {
        (
            self.wms.balances(dc),
            self.wms.outbox_len(dc),
            self.wms.reservations_count(dc),
            self.wms.holds(dc).len(),
        )
    }
}

pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "status for {body}");
    assert_eq!(body["error"]["code"], want_code, "code in {body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
}
