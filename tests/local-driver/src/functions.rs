//! The three functions, invoked either in this process (their `handler::handle`, with the
//! ports a warm container would build) or through `cargo lambda watch`, which runs the real
//! binaries behind the Lambda runtime API.

use adapters::aws::{Provisioned, SqsSyncQueue};
use adapters::fusion::{FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsConfig};
use anyhow::{anyhow, bail, Context as _};
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_kit::wiring::{AppPorts, Resources};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Lambda's maximum timeout, the deadline every in-process invocation gets.
const DEADLINE: Duration = Duration::from_secs(900);

/// The environment the template gives the functions, with local values. Both modes use it:
/// in process through the configs' lookups, under `cargo lambda watch` as the binaries' env.
pub fn function_env(
    provisioned: &Provisioned,
    resources: &Resources,
    dcs: &str,
    fusion_url: &str,
    wms_url: &str,
    wms_api_key: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let env = [
        ("LEDGER_TABLE", resources.ledger_table.as_str()),
        ("LOT_MAP_TABLE", &resources.lot_map_table),
        ("REVIEW_TASK_TABLE", &resources.review_task_table),
        ("LEASE_TABLE", &resources.lease_table),
        ("RUN_TABLE", &resources.run_table),
        ("INCIDENT_TABLE", &resources.incident_table),
        ("ALERT_TOPIC_ARN", &resources.alert_topic_arn),
        ("SYNC_QUEUE_URL", provisioned.queue_url("SyncQueue")?),
        ("DC_LIST", dcs),
        ("FUSION_BASE_URL", fusion_url),
        ("FUSION_AUTH", "basic"),
        ("FUSION_USER", "integration.user"),
        // Why: the simulators' well-known local credentials. In AWS these come from Secrets
        // Manager (FUSION_SECRET_ARN, WMS_API_KEY_SECRET_ARN), never from the environment.
        ("FUSION_PASSWORD", "Welcome1"),
        ("WMS_BASE_URL", wms_url),
        ("WMS_API_KEY", wms_api_key),
    ];
    Ok(env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
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
}

/// Where invocations go.
pub enum Functions {
    /// Handlers called directly (the default: no build of Lambda binaries, quick in CI).
    InProcess(Box<InProcess>),
    /// The real binaries behind `cargo lambda watch`.
    Watch(Box<Watch>),
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
        let var = |k: &str| env.get(k).cloned().ok_or_else(|| anyhow!("{k} missing"));
        let dcs = lambda_kit::config::parse_dc_list("DC_LIST", &var("DC_LIST")?)?;
        Ok(Self::InProcess(Box::new(InProcess {
            fanout: fanout_sync::handler::Deps {
                dcs: dcs.clone(),
                queue: SqsSyncQueue::new(aws_sdk_sqs::Client::new(&sdks.fanout), var("SYNC_QUEUE_URL")?),
            },
            sync: sync_inventory::handler::Deps {
                ports: ports(&sdks.sync, resources, env)?,
                settings: domain::sync::SyncSettings::default(),
            },
            reconcile: reconcile_stock::handler::Deps {
                ports: ports(&sdks.reconcile, resources, env)?,
                settings: domain::reconciliation::ReconcileSettings::default(),
                dcs,
                concurrency: 4,
            },
        })))
    }

    /// Starts `cargo lambda watch` on `port` with the function environment and waits until it
    /// answers. The binaries compile on their first invocation.
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
        let env_file = std::env::temp_dir().join(format!("invsync-local-{port}.env"));
        let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&env_file, text).context("write the env file for cargo lambda watch")?;
        let child = Command::new("cargo")
            .current_dir(root)
            .args(["lambda", "watch", "--quiet", "--ignore-changes", "--timeout", "900"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .arg("--env-file")
            .arg(&env_file)
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
                return Ok(Self::Watch(Box::new(Watch { child, http, base })));
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
            Self::InProcess(f) => fanout_sync::handler::handle(&f.fanout, LambdaEvent::new(event, context(request_id)))
                .await
                .map_err(|e| anyhow!("fanout-sync failed: {e}")),
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
                reconcile_stock::handler::handle(&f.reconcile, LambdaEvent::new(event, context(request_id)))
                    .await
                    .map_err(|e| anyhow!("reconcile-stock failed: {e}"))
            }
            Self::Watch(w) => Self::invoke_watch(w, "reconcile-stock", &event).await,
        }
    }
}
