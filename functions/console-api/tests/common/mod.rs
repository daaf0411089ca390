//! A console served on loopback over testkit's fakes, seeded with `seed_console` (tasks,
//! holds with incidents, failed transactions on DC01 and DC02) and a week of run reports, with
//! the development login enabled so tests mint tokens for any user.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use console::{ConsoleService, ConsoleSettings};
use console_api::{router, serve, Authenticator, Console, DevLogin, Shared};
use domain::console::{Role, UserId};
use domain::ids::DcCode;
use domain::ports::{Clock, RunKind, RunReport, RunReports, TaskKey};
use domain::variance::BalanceKey;
use std::collections::BTreeMap;
use std::sync::Arc;
use testkit::build::{self, plain_item};
use testkit::seed::{seed_console, SeedPlan, Seeded};
use testkit::FakePorts;

/// A running console.
pub struct Stack {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The console (service, ports, auth).
    pub console: Shared<FakePorts>,
    /// What was seeded.
    pub seeded: Seeded,
    /// A client.
    pub http: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

pub fn dc(s: &str) -> DcCode {
    build::dc(s)
}

/// Seeded task `n` (even at DC01, odd at DC02).
pub fn task_key(dc_code: &str, n: usize) -> TaskKey {
    TaskKey::balance(&BalanceKey::new(
        dc(dc_code),
        build::item(&format!("SEED-T{n}")),
        build::sub("STORES"),
        None,
    ))
}

/// Percent-encodes a path segment.
pub fn seg(text: &str) -> String {
    console_api::page::seg(text)
}

impl Stack {
    /// Two DCs, `each` tasks, holds and failed transactions per DC.
    pub async fn spawn(each: usize) -> Self {
        let ports = FakePorts::for_dc(&dc("DC01"));
        ports.wms.add_dc(&dc("DC02"));
        let now = ports.clock.now();
        let seeded = seed_console(&ports, &SeedPlan::small(2, each), now).await.unwrap();
        for n in 0..2 * each {
            ports.add_item(plain_item(&format!("SEED-T{n}")));
            ports.fusion.add_item(&dc("DC02"), plain_item(&format!("SEED-T{n}")));
        }
        for d in ["DC01", "DC02"] {
            for h in 0..(7 * 24 / 6) {
                let at = now - Duration::hours(6 * h);
                let mut figures = BTreeMap::new();
                figures.insert("keys_compared".to_string(), 5_000);
                figures.insert("accuracy_bp".to_string(), 9_950 - (h * 37 % 90));
                figures.insert("variances".to_string(), 25 + h % 7);
                ports
                    .run_reports
                    .save(&RunReport {
                        dc: dc(d),
                        run_id: format!("rec-{d}-{h}").into(),
                        kind: RunKind::Reconcile,
                        started_at: at,
                        duration_ms: 4_200 + (h as u64 % 5) * 100,
                        figures,
                        notes: vec![],
                    })
                    .await
                    .unwrap();
            }
            let mut figures = BTreeMap::new();
            figures.insert("synced".to_string(), 1_240);
            figures.insert("failed".to_string(), each as i64);
            ports
                .run_reports
                .save(&RunReport {
                    dc: dc(d),
                    run_id: format!("sync-{d}-1").into(),
                    kind: RunKind::Sync,
                    started_at: now - Duration::minutes(12),
                    duration_ms: 8_100,
                    figures,
                    notes: vec!["drained the outbox".into()],
                })
                .await
                .unwrap();
        }
        let console = Arc::new(Console {
            service: ConsoleService::new(ports, ConsoleSettings::default()),
            auth: Authenticator {
                dev: Some(DevLogin::new()),
                ..Authenticator::default()
            },
            known_dcs: vec![dc("DC01"), dc("DC02")],
        });
        let (addr, server) = serve(router(console.clone()), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            base: format!("http://{addr}"),
            console,
            seeded,
            http: reqwest::Client::new(),
            _server: server,
        }
    }

    /// The fakes.
    pub fn ports(&self) -> &FakePorts {
        self.console.service.ports()
    }

    /// A token for `user` with `role` on `dcs` (`*`: all).
    pub fn token(&self, user: &str, role: Role, dcs: &str) -> String {
        self.console
            .auth
            .dev
            .as_ref()
            .unwrap()
            .mint(&UserId::parse(user).unwrap(), &[role], dcs)
            .unwrap()
    }

    /// `GET {base}{path}` as `token`.
    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    /// `POST {base}{path}` with a JSON body as `token`.
    pub async fn post(&self, token: Option<&str>, path: &str, body: serde_json::Value) -> reqwest::Response {
        let mut r = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }
}
