//! Runs the real `invsync` binary against a [`TestEnv`] (moto + both simulators): the
//! environment a deployed operator would export (the functions' variable names, read by
//! `app::App`), one process per command, exit code and both streams captured.

// Why: shared by several test files, each using a part of it.
#![allow(dead_code)]

use anyhow::Context as _;
use app::names;
use domain::DcCode;
use rust_decimal::Decimal;
use serde_json::Value;
use std::process::Command;
use test_harness::wms_sim::{self, DriftRequest};
use test_harness::TestEnv;

/// One finished `invsync` run.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Out {
    /// Stdout as the one JSON document a `--json` command prints.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not one JSON document ({e}): {:?} / {:?}", self.stdout, self.stderr))
    }

    /// Itself, after checking it exited 0.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "invsync failed: {:?} {:?}", self.stdout, self.stderr);
        self
    }

    /// Itself, after checking it exited `code`.
    pub fn failed(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code: {:?} {:?}", self.stdout, self.stderr);
        self
    }
}

/// The binary wired to one environment.
#[derive(Debug, Clone)]
pub struct Invsync {
    vars: Vec<(String, String)>,
}

impl Invsync {
    /// The variables the binary reads, pointing at `env`'s tables and simulators.
    pub fn for_env(env: &TestEnv) -> anyhow::Result<Self> {
        let r = &env.resources;
        let audit = env
            .provisioned
            .table("AuditTable")
            .context("the template's AuditTable")?;
        let mut vars: Vec<(String, String)> = [
            (names::LEDGER_TABLE, r.ledger_table.as_str()),
            (names::LOT_MAP_TABLE, &r.lot_map_table),
            (names::REVIEW_TASK_TABLE, &r.review_task_table),
            (names::LEASE_TABLE, &r.lease_table),
            (names::RUN_TABLE, &r.run_table),
            (names::INCIDENT_TABLE, &r.incident_table),
            (names::ALERT_TOPIC_ARN, &r.alert_topic_arn),
            (names::AUDIT_TABLE, audit),
            (
                names::BASELINE_TABLE,
                env.provisioned
                    .table("BaselineTable")
                    .context("the template's BaselineTable")?,
            ),
            (
                names::DC_STATUS_TABLE,
                env.provisioned
                    .table("DcStatusTable")
                    .context("the template's DcStatusTable")?,
            ),
            ("FUSION_USER", "integration.user"),
            ("FUSION_PASSWORD", "Welcome1"),
            ("FUSION_RETRY_ATTEMPTS", "3"),
            ("FUSION_RETRY_BASE_MS", "20"),
            ("WMS_BASE_URL", env.wms.base_url()),
            ("WMS_API_KEY", env.wms.api_key().unwrap_or_default()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.push(("FUSION_BASE_URL".into(), env.fusion.url()));
        let mode = match env.options.transaction_mode {
            adapters::fusion::TransactionMode::Online => "online",
            adapters::fusion::TransactionMode::Concurrent => "concurrent",
            adapters::fusion::TransactionMode::Background => "background",
        };
        vars.push(("FUSION_TRANSACTION_MODE".into(), mode.into()));
        Ok(Self { vars })
    }

    /// The binary given only `vars` (no tables, Fusion or WMS besides them).
    pub fn bare(vars: &[(&str, &str)]) -> Self {
        Self {
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// The same binary with `name=value` set too.
    pub fn with_var(&self, name: &str, value: &str) -> Self {
        let mut vars = self.vars.clone();
        vars.push((name.to_string(), value.to_string()));
        Self { vars }
    }

    /// Runs `invsync <args>` off the async runtime (the simulators serve on it meanwhile).
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Out {
        let vars = self.vars.clone();
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_invsync"))
                .args(&args)
                .env_remove("INVSYNC_DC")
                .env_remove("INVSYNC_ACTOR")
                .env_remove("DC_LIST")
                .envs(vars)
                .env("USER", "os-operator")
                .output()
                .unwrap_or_else(|e| panic!("run invsync: {e}"));
            Out {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .unwrap_or_else(|e| panic!("invsync thread: {e}"))
    }

    /// `run` with `--json` appended.
    pub async fn json<S: AsRef<str>>(&self, args: &[S]) -> Value {
        let mut a: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        a.push("--json");
        self.run(&a).await.ok().json()
    }

    /// `run` in text form, checked to succeed.
    /// With `INVSYNC_TEST_SHOW` set, prints each table (`cargo test -- --nocapture` to see them).
    pub async fn text<S: AsRef<str>>(&self, args: &[S]) -> String {
        let out = self.run(args).await.ok().stdout;
        if std::env::var_os("INVSYNC_TEST_SHOW").is_some() {
            let line: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
            println!("$ invsync {}\n{out}", line.join(" "));
        }
        out
    }
}

/// Moves the WMS balance of the `n`-th distinct plain item of `dc` with a row of at least 100
/// on hand by `delta` (so the next reconciliation sees a variance of that size); the item.
pub fn drift(env: &TestEnv, dc: &DcCode, n: usize, delta: i64) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let row = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .filter(|b| {
            b.quantity >= Decimal::from(100)
                && env.wms.item(&b.item).map(|i| i.control) == Some(wms_sim::Control::Plain)
                && seen.insert(b.item.clone())
        })
        .nth(n)
        .unwrap_or_else(|| panic!("no plain item {n} at {dc}"));
    env.wms
        .inject_drift(&DriftRequest {
            dc: dc.to_string(),
            item: row.item.clone(),
            subinventory: row.subinventory.clone(),
            lot: None,
            delta: delta.to_string(),
            expiration: None,
        })
        .unwrap_or_else(|e| panic!("drift {}: {e:?}", row.item));
    row.item
}
