//! Shared helpers for the simulator's HTTP tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

use fusion_sim::{FusionSim, RunningSim, SimConfig};
use reqwest::{Client, Response};
use serde_json::Value;
use sim_seed::{Catalog, Control, SeedConfig};

pub const USER: &str = "integration.user";
pub const PASS: &str = "Welcome1";

/// The `REST-Framework-Version` the test client sends by default, as the invsync client does
/// (JSON errors, paged expanded children). Tests of the older framework behaviour send another
/// version or none ([`Env::plain`]).
pub const RFV: &str = "4";

pub struct Env {
    pub sim: RunningSim,
    /// Sends `REST-Framework-Version: 4` on every request unless the request sets its own.
    pub http: Client,
    /// Sends no `REST-Framework-Version` header (the simulator's default version applies).
    pub plain: Client,
    pub base: String,
    pub catalog: Catalog,
}

pub fn small_seed() -> SeedConfig {
    SeedConfig {
        dcs: 2,
        items: 300,
        ..SeedConfig::default()
    }
}

pub async fn start() -> Env {
    start_with(SimConfig {
        seed: small_seed(),
        ..SimConfig::default()
    })
    .await
}

pub async fn start_with(cfg: SimConfig) -> Env {
    let catalog = sim_seed::generate(&cfg.seed);
    let sim = FusionSim::start(cfg).await.unwrap();
    let base = sim.api_base();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("REST-Framework-Version", reqwest::header::HeaderValue::from_static(RFV));
    Env {
        sim,
        http: Client::builder().default_headers(headers).build().unwrap(),
        plain: Client::new(),
        base,
        catalog,
    }
}

impl Env {
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}/{path}", self.base))
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap()
    }

    /// GET with an explicit framework version; `None` sends no header at all.
    pub async fn get_v(&self, path: &str, version: Option<&str>) -> Response {
        let url = format!("{}/{path}", self.base);
        let rb = match version {
            Some(v) => self.http.get(url).header("REST-Framework-Version", v),
            None => self.plain.get(url),
        };
        rb.basic_auth(USER, Some(PASS)).send().await.unwrap()
    }

    /// [`Env::get_v`] expecting 200, as JSON.
    pub async fn get_json_v(&self, path: &str, version: Option<&str>) -> Value {
        let r = self.get_v(path, version).await;
        assert_eq!(r.status(), 200, "GET {path} (framework {version:?})");
        r.json().await.unwrap()
    }

    /// GET that reads the whole body, returning any transport error.
    pub async fn get_raw(&self, path: &str) -> Result<(u16, String), reqwest::Error> {
        let r = self
            .http
            .get(format!("{}/{path}", self.base))
            .basic_auth(USER, Some(PASS))
            .send()
            .await?;
        let s = r.status().as_u16();
        Ok((s, r.text().await?))
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(format!("{}/{path}", self.base))
            .basic_auth(USER, Some(PASS))
            .header("Content-Type", "application/vnd.oracle.adf.resourceitem+json")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts a staged transaction and returns (status, body).
    pub async fn stage(&self, body: &Value) -> (u16, Value) {
        let r = self.post("inventoryStagedTransactions", body).await;
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// First item (by catalog order) with `control`, `uom`, on hand in DC01 with at least one
    /// balance row; returns (item number, subinventory, quantity).
    pub fn item_with(&self, control: Control, uom: Option<&str>) -> (String, String, rust_decimal::Decimal) {
        for b in self.catalog.balances_of(0) {
            let it = &self.catalog.items[b.item];
            if it.control == control && uom.is_none_or(|u| it.uom == u) && !b.quantity.is_zero() {
                let total = self.sim.onhand("DC01", &it.number, &b.subinventory, None);
                return (it.number.clone(), b.subinventory.clone(), total);
            }
        }
        panic!("no item with {control:?} {uom:?}");
    }

    /// Lot balances of DC01 for a lot item: (lot, qty, expiration).
    pub fn lots_of(&self, item: &str, sub: &str) -> Vec<(String, rust_decimal::Decimal, chrono::NaiveDate)> {
        self.catalog
            .balances_of(0)
            .filter(|b| self.catalog.items[b.item].number == item && b.subinventory == sub)
            .filter_map(|b| b.lot.as_ref().map(|l| (l.number.clone(), b.quantity, l.expiration)))
            .collect()
    }

    pub fn serials_of(&self, item: &str, sub: &str) -> Vec<String> {
        self.sim.serials("DC01", item, sub)
    }
}

/// The first error detail's code.
pub fn err_code(v: &Value) -> String {
    v["o:errorDetails"][0]["o:errorCode"].as_str().unwrap_or("").to_string()
}

/// Asserts the Fusion error body shape and returns the code.
pub fn assert_error_shape(v: &Value, status: u16) -> String {
    assert_eq!(v["status"], Value::from(status.to_string()), "body: {v}");
    assert!(v["title"].is_string(), "body: {v}");
    let d = &v["o:errorDetails"][0];
    assert!(d["detail"].as_str().is_some_and(|s| !s.is_empty()), "body: {v}");
    assert!(d["o:errorPath"].is_string(), "body: {v}");
    err_code(v)
}
