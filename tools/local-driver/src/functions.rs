//! The three functions, invoked either in this process (their `handler::handle`, with the
//! ports a warm container would build) or through `cargo lambda watch`, which runs the real
//! binaries behind the Lambda runtime API.

use adapters::fusion::{FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsConfig};
use anyhow::{anyhow, bail, Context as _};
use app::{names, AppPorts, Env, ReconcileStockConfig, Resources, SyncInventoryConfig};
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_local::Provisioned;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Lambda's maximum timeout, the deadline every in-process invocation gets.
const DEADLINE: Duration = Duration::from_secs(900);

/// Which Fusion and which WMS the local run targets: the simulators `scripts/run-local.sh`
/// started, or real systems (a Fusion test pod, a WMS staging system).
#[derive(Debug, Clone)]
pub struct Targets {
    /// Fusion pod URL or REST base.
    pub fusion_url: String,
    /// `fusion_url` is the Fusion simulator.
    pub fusion_sim: bool,
    /// WMS adapter base URL.
    pub wms_url: String,
    /// `wms_url` is the WMS simulator.
    pub wms_sim: bool,
    /// The WMS simulator's API key, the default credential of a simulated WMS.
    pub wms_sim_key: String,
}

/// Variables passed from the process environment to the functions when their name starts with
/// one of these: every setting the functions read besides the resource names.
const PASSED_PREFIXES: &[&str] = &["FUSION_", "WMS_", "SYNC_", "RECONCILE_", "VARIANCE_"];

/// Single variables passed through the same way.
const PASSED_NAMES: &[&str] = &["SERIAL_LIMIT", "DC_LIST"];

/// Secret ARNs the functions would read from Secrets Manager, which in a local run is the
/// emulator's (empty). They are not passed; the local run takes the secret values themselves
/// (`FUSION_PASSWORD`, `FUSION_CLIENT_SECRET`, `WMS_API_KEY`, `WMS_BEARER_TOKEN`).
pub const IGNORED: &[&str] = &["FUSION_SECRET_ARN", "WMS_API_KEY_SECRET_ARN"];

/// The settings the functions get in a local run (everything but the resource names, which
/// [`with_resources`] adds), checked the way the functions check them at a cold start.
///
/// Layers, later ones winning: the simulators' well-known credentials, only for a side that is
/// a simulator (Fusion: basic `integration.user` / `Welcome1`; WMS: `wms_sim_key` unless the
/// environment names a WMS credential of its own); `DC_LIST` = `default_dcs`; every
/// `FUSION_*`, `WMS_*`, `SYNC_*`, `RECONCILE_*`, `VARIANCE_*` variable, `SERIAL_LIMIT` and
/// `DC_LIST` of `process` (the process environment, passed in) except [`IGNORED`]; the target
/// URLs. A missing or unusable setting fails with the config error naming the variable (never
/// a value of a secret).
pub fn function_env(
    process: &BTreeMap<String, String>,
    targets: &Targets,
    default_dcs: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    let set = |env: &mut BTreeMap<String, String>, k: &str, v: &str| {
        env.insert(k.to_string(), v.to_string());
    };
    if targets.fusion_sim {
        set(&mut env, "FUSION_AUTH", "basic");
        set(&mut env, "FUSION_USER", "integration.user");
        // Why: the simulator's well-known local credentials. In AWS these come from Secrets
        // Manager (FUSION_SECRET_ARN, WMS_API_KEY_SECRET_ARN), never from the environment.
        set(&mut env, "FUSION_PASSWORD", "Welcome1");
    }
    let has = |k: &str| process.get(k).is_some_and(|v| !v.trim().is_empty());
    if targets.wms_sim && !has("WMS_API_KEY") && !has("WMS_BEARER_TOKEN") {
        set(&mut env, "WMS_API_KEY", &targets.wms_sim_key);
    }
    set(&mut env, "DC_LIST", default_dcs);
    for (k, v) in process {
        let passed = PASSED_PREFIXES.iter().any(|p| k.starts_with(p)) || PASSED_NAMES.contains(&k.as_str());
        if passed && !IGNORED.contains(&k.as_str()) {
            set(&mut env, k, v);
        }
    }
    set(&mut env, "FUSION_BASE_URL", &targets.fusion_url);
    set(&mut env, "WMS_BASE_URL", &targets.wms_url);
    check_settings(&env)?;
    Ok(env)
}

/// Reads every setting the way the functions' cold start does, so a missing or unusable one
/// stops the run before anything is created.
fn check_settings(env: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let get = |k: &str| env.get(k).cloned();
    FusionConfig::from_lookup(get, None).map_err(|e| anyhow!("Fusion settings: {e}"))?;
    WmsConfig::from_lookup(get).map_err(|e| anyhow!("WMS settings: {e}"))?;
    ReconcileStockConfig::from_env(&Env::from_map(env.clone()))?;
    Ok(())
}

/// `env` with the names of the tables, queue and topic the driver created, as the template
/// sets them.
pub fn with_resources(
    mut env: BTreeMap<String, String>,
    provisioned: &Provisioned,
    resources: &Resources,
) -> anyhow::Result<BTreeMap<String, String>> {
    let names = [
        (names::LEDGER_TABLE, resources.ledger_table.as_str()),
        (names::LOT_MAP_TABLE, &resources.lot_map_table),
        (names::REVIEW_TASK_TABLE, &resources.review_task_table),
        (names::LEASE_TABLE, &resources.lease_table),
        (names::RUN_TABLE, &resources.run_table),
        (names::INCIDENT_TABLE, &resources.incident_table),
        (names::DC_STATUS_TABLE, provisioned.table("DcStatusTable")?),
        (names::ALERT_TOPIC_ARN, &resources.alert_topic_arn),
        (names::SYNC_QUEUE_URL, provisioned.queue_url("SyncQueue")?),
        (names::RECONCILE_QUEUE_URL, provisioned.queue_url("ReconcileQueue")?),
    ];
    env.extend(names.into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Ok(env)
}

/// The SDK configuration each function runs with: the caller's, or its role's (`--roles`).
pub struct FunctionSdks {
    /// fanout-sync's.
    pub fanout: SdkConfig,
    /// sync-inventory's, and the SQS event source's (same role in AWS).
    pub sync: SdkConfig,
    /// reconcile-stock's.
    pub reconcile: SdkConfig,
}

impl FunctionSdks {
    /// Every function with `sdk`.
    pub fn all(sdk: &SdkConfig) -> Self {
        Self {
            fanout: sdk.clone(),
            sync: sdk.clone(),
            reconcile: sdk.clone(),
        }
    }
}

/// Handlers in this process.
pub struct InProcess {
    fanout: fanout_sync::handler::Deps,
    sync: sync_inventory::handler::Deps,
    reconcile: reconcile_stock::handler::Deps,
}

/// `cargo lambda watch` serving the workspace's binaries.
pub struct Watch {
    child: Child,
    http: reqwest::Client,
    base: String,
    /// The env file handed to `cargo lambda watch` (removed when this is dropped).
    _env_file: PrivateFile,
}

/// Where invocations go.
pub enum Functions {
    /// Handlers called directly (the default: no build of Lambda binaries, quick in CI).
    InProcess(Box<InProcess>),
    /// The real binaries behind `cargo lambda watch`.
    Watch(Box<Watch>),
}

/// A file only this user can read, removed when dropped: the env file of `cargo lambda watch`
/// may hold secrets (`FUSION_PASSWORD`, `WMS_API_KEY`, ...).
struct PrivateFile(PathBuf);

impl PrivateFile {
    fn write(path: PathBuf, text: &str) -> std::io::Result<Self> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let file_guard = Self(path);
        file.write_all(text.as_bytes())?;
        Ok(file_guard)
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A Lambda context with a fresh request id and the function's deadline.
fn context(request_id: &str) -> lambda_runtime::Context {
    let mut c = lambda_runtime::Context::default();
    c.request_id = request_id.to_string();
    let deadline = chrono::Utc::now() + chrono::Duration::from_std(DEADLINE).unwrap_or_default();
    c.deadline = u64::try_from(deadline.timestamp_millis()).unwrap_or_default();
    c
}

/// Ports as one warm container builds them, from the function environment.
pub fn ports(sdk: &SdkConfig, resources: &Resources, env: &BTreeMap<String, String>) -> anyhow::Result<AppPorts> {
    let fusion = FusionConfig::from_lookup(|k| env.get(k).cloned(), None).map_err(|e| anyhow!("{e}"))?;
    let wms = WmsConfig::from_lookup(|k| env.get(k).cloned()).map_err(|e| anyhow!("{e}"))?;
    Ok(AppPorts::new(
        sdk,
        resources,
        HttpFusionClient::new(fusion).map_err(|e| anyhow!("{e}"))?,
        HttpWmsClient::new(wms).map_err(|e| anyhow!("{e}"))?,
    ))
}

impl Functions {
    /// Builds the handlers' dependencies in this process, one "container" per function, each
    /// with its SDK configuration of `sdks`.
    pub fn in_process(
        sdks: &FunctionSdks,
        resources: &Resources,
        env: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let vars = Env::from_map(env.clone());
        let reconcile = ReconcileStockConfig::from_env(&vars)?;
        Ok(Self::InProcess(Box::new(InProcess {
            fanout: fanout_sync::handler::Deps {
                dcs: reconcile.dcs.clone(),
                queue: app::App::new(sdks.fanout.clone(), vars.clone()).sync_queue()?,
                reconcile_queue: app::App::new(sdks.fanout.clone(), vars.clone()).reconcile_queue(),
                statuses: app::App::new(sdks.fanout.clone(), vars.clone()).dc_status()?,
            },
            sync: sync_inventory::handler::Deps {
                ports: ports(&sdks.sync, resources, env)?,
                settings: SyncInventoryConfig::from_env(&vars)?.settings,
            },
            reconcile: reconcile_stock::handler::Deps {
                ports: ports(&sdks.reconcile, resources, env)?,
                settings: reconcile.settings,
                dcs: reconcile.dcs,
                concurrency: reconcile.concurrency,
                statuses: app::App::new(sdks.reconcile.clone(), vars.clone()).dc_status()?,
            },
        })))
    }

    /// Starts `cargo lambda watch` on `port` with the function environment (in an env file;
    /// the secret ARNs of [`IGNORED`] are removed from what the binaries inherit) and waits
    /// until it answers. The binaries compile on their first invocation.
    ///
    /// `--timeout 900` gives invocations Lambda's deadline (the sync stops early near it), and
    /// `--ignore-changes` keeps a one-shot run from restarting the functions mid-invocation
    /// when sources change. The functions' stdout (EMF metric lines) goes to `stdout_log`.
    pub async fn watch(
        root: &Path,
        port: u16,
        env: &BTreeMap<String, String>,
        stdout_log: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let env_file = PrivateFile::write(std::env::temp_dir().join(format!("invsync-local-{port}.env")), &text)
            .context("write the env file for cargo lambda watch")?;
        let mut command = Command::new("cargo");
        for name in IGNORED {
            // Why: the binaries inherit this process's environment besides the env file.
            command.env_remove(name);
        }
        let child = command
            .current_dir(root)
            .args(["lambda", "watch", "--quiet", "--ignore-changes", "--timeout", "900"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .arg("--env-file")
            .arg(&env_file.0)
            .stdout(match stdout_log {
                Some(path) => Stdio::from(std::fs::File::create(path).context("create the function log")?),
                None => Stdio::null(),
            })
            .kill_on_drop(true)
            .spawn()
            .context("start `cargo lambda watch` (is cargo-lambda installed? see docs/operations.md)")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1200))
            .build()
            .context("HTTP client")?;
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..600 {
            if http.get(&base).send().await.is_ok() {
                return Ok(Self::Watch(Box::new(Watch {
                    child,
                    http,
                    base,
                    _env_file: env_file,
                })));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("cargo lambda watch did not answer on {base} within 2 minutes")
    }

    /// Stops what [`Functions::watch`] started.
    pub async fn stop(self) {
        if let Self::Watch(mut w) = self {
            let _ = w.child.kill().await;
        }
    }

    async fn invoke_watch(w: &Watch, function: &str, payload: &Value) -> anyhow::Result<Value> {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", w.base);
        let answer: Value = w
            .http
            .post(&url)
            .json(payload)
            .send()
            .await
            .with_context(|| format!("invoke {function}"))?
            .json()
            .await
            .with_context(|| format!("{function}'s answer"))?;
        if let Some(kind) = answer.get("errorType") {
            bail!("{function} failed: {kind} {}", answer["errorMessage"]);
        }
        Ok(answer)
    }

    /// Invokes fanout-sync with an EventBridge event.
    pub async fn fanout(&self, event: Value, request_id: &str) -> anyhow::Result<Value> {
        match self {
            Self::InProcess(f) => {
                let answer = fanout_sync::handler::handle(&f.fanout, LambdaEvent::new(event, context(request_id)))
                    .await
                    .map_err(|e| anyhow!("fanout-sync failed: {e}"))?;
                Ok(serde_json::to_value(answer)?)
            }
            Self::Watch(w) => Self::invoke_watch(w, "fanout-sync", &event).await,
        }
    }

    /// Invokes sync-inventory with an SQS event.
    pub async fn sync(&self, event: SqsEvent, request_id: &str) -> anyhow::Result<SqsBatchResponse> {
        match self {
            Self::InProcess(f) => {
                sync_inventory::handler::handle(&f.sync, LambdaEvent::new(event, context(request_id)))
                    .await
                    .map_err(|e| anyhow!("sync-inventory failed: {e}"))
            }
            Self::Watch(w) => {
                let answer = Self::invoke_watch(w, "sync-inventory", &serde_json::to_value(&event)?).await?;
                Ok(serde_json::from_value(answer)?)
            }
        }
    }

    /// Invokes reconcile-stock with an EventBridge event.
    pub async fn reconcile(&self, event: Value, request_id: &str) -> anyhow::Result<Value> {
        match self {
            Self::InProcess(f) => {
                let answer =
                    reconcile_stock::handler::handle(&f.reconcile, LambdaEvent::new(event, context(request_id)))
                        .await
                        .map_err(|e| anyhow!("reconcile-stock failed: {e}"))?;
                Ok(serde_json::to_value(answer)?)
            }
            Self::Watch(w) => Self::invoke_watch(w, "reconcile-stock", &event).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn targets(fusion_sim: bool, wms_sim: bool) -> Targets {
        Targets {
            fusion_url: "http://127.0.0.1:9001".into(),
            fusion_sim,
            wms_url: "http://127.0.0.1:9002".into(),
            wms_sim,
            wms_sim_key: "wms-sim-key".into(),
        }
    }

    #[test]
    fn simulators_get_their_well_known_credentials_and_the_default_dcs() {
        let env = function_env(
            &process(&[("PATH", "/bin"), ("HOME", "/h")]),
            &targets(true, true),
            "DC01,DC02",
        )
        .unwrap();
        assert_eq!(env["FUSION_BASE_URL"], "http://127.0.0.1:9001");
        assert_eq!(env["FUSION_USER"], "integration.user");
        assert_eq!(env["FUSION_PASSWORD"], "Welcome1");
        assert_eq!(env["WMS_BASE_URL"], "http://127.0.0.1:9002");
        assert_eq!(env["WMS_API_KEY"], "wms-sim-key");
        assert_eq!(env["DC_LIST"], "DC01,DC02");
        assert!(!env.contains_key("PATH") && !env.contains_key("HOME"), "{env:?}");
    }

    #[test]
    fn the_process_environment_overrides_the_simulator_defaults() {
        let env = function_env(
            &process(&[
                ("FUSION_PASSWORD", "other"),
                ("FUSION_TRANSACTION_MODE", "background"),
                ("WMS_BEARER_TOKEN", "tok"),
                ("WMS_TIMEOUT_MS", "2500"),
                ("SYNC_CONCURRENCY", "2"),
                ("RECONCILE_CONCURRENCY", "1"),
                ("VARIANCE_ALERT_ABOVE", "80"),
                ("SERIAL_LIMIT", "10"),
                ("DC_LIST", "DC07"),
                ("FUSION_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:f"),
                ("WMS_API_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:w"),
            ]),
            &targets(true, true),
            "DC01,DC02",
        )
        .unwrap();
        assert_eq!(env["FUSION_USER"], "integration.user");
        assert_eq!(env["FUSION_PASSWORD"], "other");
        assert_eq!(env["FUSION_TRANSACTION_MODE"], "background");
        // An exported WMS credential replaces the simulator's key instead of joining it (both
        // would be refused).
        assert_eq!(env["WMS_BEARER_TOKEN"], "tok");
        assert!(!env.contains_key("WMS_API_KEY"), "{env:?}");
        for (k, v) in [
            ("WMS_TIMEOUT_MS", "2500"),
            ("SYNC_CONCURRENCY", "2"),
            ("RECONCILE_CONCURRENCY", "1"),
            ("VARIANCE_ALERT_ABOVE", "80"),
            ("SERIAL_LIMIT", "10"),
            ("DC_LIST", "DC07"),
        ] {
            assert_eq!(env[k], v, "{k}");
        }
        assert!(!env.contains_key("FUSION_SECRET_ARN") && !env.contains_key("WMS_API_KEY_SECRET_ARN"));
    }

    #[test]
    fn a_real_side_takes_only_what_the_environment_gives() {
        let real = process(&[
            ("FUSION_BASE_URL", "https://ignored.example.com"),
            ("FUSION_USER", "svc.invsync"),
            ("FUSION_PASSWORD", "s3cret"),
            ("WMS_API_KEY", "staging-key"),
        ]);
        let env = function_env(&real, &targets(false, false), "DC01").unwrap();
        assert_eq!(env["FUSION_USER"], "svc.invsync");
        assert_eq!(env["WMS_API_KEY"], "staging-key");
        // The target URL (from --fusion-url or the same variable) is the one used.
        assert_eq!(env["FUSION_BASE_URL"], "http://127.0.0.1:9001");

        // No simulator credentials fill in for a real side: the run stops naming the variable.
        let e = format!(
            "{:#}",
            function_env(&process(&[("WMS_API_KEY", "k")]), &targets(false, true), "DC01").unwrap_err()
        );
        assert!(e.contains("FUSION_USER"), "{e}");
        let e = format!(
            "{:#}",
            function_env(
                &process(&[
                    ("FUSION_AUTH", "oauth2"),
                    ("FUSION_TOKEN_URL", "https://idcs.example.com/token")
                ]),
                &targets(false, true),
                "DC01"
            )
            .unwrap_err()
        );
        assert!(e.contains("FUSION_CLIENT_ID"), "{e}");
        let e = format!(
            "{:#}",
            function_env(&process(&[]), &targets(true, false), "DC01").unwrap_err()
        );
        assert!(e.contains("WMS_API_KEY"), "{e}");
        let e = format!(
            "{:#}",
            function_env(
                &process(&[
                    ("FUSION_PASSWORD", "hunter2"),
                    ("FUSION_USER", "u"),
                    ("WMS_API_KEY", "k"),
                    ("SYNC_PAGE_SIZE", "lots")
                ]),
                &targets(false, false),
                "DC01"
            )
            .unwrap_err()
        );
        assert!(e.contains("SYNC_PAGE_SIZE") && !e.contains("hunter2"), "{e}");
    }
}
