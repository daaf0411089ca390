//! Integration test environment, in the spirit of zero2prod's `spawn_app`: every
//! [`TestEnv::spawn`] gets its own uniquely named DynamoDB tables, SQS queues and SNS topic on
//! the AWS emulator (created from `infra/template.yaml`, the single source of truth), its own
//! Fusion and WMS simulators on free loopback ports seeded from the same data, and the
//! functions' ports ([`AppPorts`]) wired to all of them.
//!
//! The emulator endpoint comes from `AWS_ENDPOINT_URL`, which `scripts/test.sh` sets after
//! starting moto. Without it, spawning fails loudly instead of skipping.
//!
//! [`TestEnv::spawn_under_iam`] spawns on the second, IAM-enforcing moto server instead, as its
//! administrator; [`TestEnv::function`] then gives a function's session under a role made from
//! its template policy ([`iam`]), [`TestEnv::ports_as`] the ports a container under that role
//! builds, and [`TestEnv::assert_only_granted`] fails naming any action the role lacked.
//! [`TestEnv::console_ports`] wires the operator console's ports to the same resources.

mod resources;

// Why re-exported: the functions' tests name them through the harness, which hands them out.
pub use aws_local::{calls, iam, one_at_a_time, AlertInbox, ReceivedAlert};
pub use resources::resources_from;

use adapters::aws::{DynamoDcStatus, DynamoItemCache};
use adapters::fusion::{Credentials, FusionConfig, HttpFusionClient, TransactionMode};
use adapters::wms::{HttpWmsClient, WmsAuth, WmsConfig};
use anyhow::{anyhow, Context as _};
use app::{AppPorts, Resources};
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_local::{provision, ProvisionOptions, Provisioned};
use calls::{Call, RecordCalls};
use domain::DcCode;
use fusion_sim::{FusionSim, RunningSim, SimConfig};
use iam::{FunctionSession, IamEndpoint};
use secrecy::SecretString;
use sim_seed::SeedConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use wms_sim::{RunningWms, WmsConfig as WmsSimConfig, WmsSim};

pub use {fusion_sim, sim_seed, wms_sim};

/// What to spawn.
#[derive(Debug, Clone)]
pub struct EnvOptions {
    /// DCs.
    pub dcs: usize,
    /// Items per DC.
    pub items: usize,
    /// Seed of both simulators.
    pub seed: u64,
    /// Fusion faults at start (latency, throttling, ...).
    pub fusion_faults: fusion_sim::Faults,
    /// Client retry attempts against Fusion.
    pub fusion_retry_attempts: usize,
    /// First client retry delay (kept small in tests).
    pub fusion_retry_base: Duration,
    /// Client request timeout against Fusion.
    pub fusion_timeout: Duration,
    /// Fusion requests in flight per client.
    pub fusion_max_in_flight: usize,
    /// `TransactionMode` the client posts with (Online by default).
    pub transaction_mode: TransactionMode,
    /// Unit-of-measure codes of the seed (upper case by default; `Mixed` gives `Ea`, ...).
    pub uom_style: sim_seed::UomStyle,
    /// The Fusion simulator's `REST-Framework-Version` when a request sends none.
    pub sim_framework_version: u32,
    /// Delay before the simulator processes a Concurrent-mode row.
    pub concurrent_delay: Duration,
}

impl Default for EnvOptions {
    fn default() -> Self {
        Self {
            dcs: 2,
            items: 300,
            seed: 42,
            fusion_faults: fusion_sim::Faults::default(),
            fusion_retry_attempts: 3,
            fusion_retry_base: Duration::from_millis(20),
            fusion_timeout: Duration::from_secs(10),
            fusion_max_in_flight: 16,
            transaction_mode: TransactionMode::Online,
            uom_style: sim_seed::UomStyle::Upper,
            sim_framework_version: 1,
            concurrent_delay: Duration::from_millis(300),
        }
    }
}

/// One isolated environment. Dropping it stops both simulators.
pub struct TestEnv {
    /// The Fusion simulator.
    pub fusion: RunningSim,
    /// The WMS simulator.
    pub wms: RunningWms,
    /// Resources created from the template.
    pub provisioned: Provisioned,
    /// Their names as the functions see them.
    pub resources: Resources,
    /// SDK configuration on the emulator.
    pub sdk: SdkConfig,
    /// The seed both simulators started from.
    pub seed: SeedConfig,
    /// Options used.
    pub options: EnvOptions,
    /// Suffix of every resource name.
    pub suffix: String,
    /// Every AWS call, when spawned under IAM ([`TestEnv::spawn_under_iam`]).
    pub recorder: Option<RecordCalls>,
}

/// The repository root (where infra/template.yaml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl TestEnv {
    /// Starts everything. Fails loudly when `AWS_ENDPOINT_URL` is not set.
    pub async fn spawn(options: EnvOptions) -> anyhow::Result<Self> {
        if std::env::var("AWS_ENDPOINT_URL").map_or(true, |v| v.trim().is_empty()) {
            return Err(anyhow!(
                "AWS_ENDPOINT_URL is not set: run the tests with scripts/test.sh, which starts moto server \
                 (or point AWS_ENDPOINT_URL at a running moto or LocalStack)"
            ));
        }
        let sdk = adapters::aws::config::load()
            .await
            .into_builder()
            .http_client(one_at_a_time::OneAtATime::new())
            .build();
        Self::start(options, sdk, None).await
    }

    /// Starts everything on the IAM-enforcing emulator, set up as its administrator; every call
    /// is recorded. Fails loudly when the emulator's variables ([`iam::ENDPOINT_VAR`], ...) are
    /// not set.
    pub async fn spawn_under_iam(options: EnvOptions) -> anyhow::Result<Self> {
        let recorder = RecordCalls::new(one_at_a_time::OneAtATime::new());
        let sdk = IamEndpoint::from_env()?.admin_sdk(recorder.clone()).await;
        Self::start(options, sdk, Some(recorder)).await
    }

    async fn start(options: EnvOptions, sdk: SdkConfig, recorder: Option<RecordCalls>) -> anyhow::Result<Self> {
        let seed = SeedConfig {
            seed: options.seed,
            dcs: options.dcs,
            items: options.items,
            uom_style: options.uom_style,
            ..SeedConfig::default()
        };
        let fusion = FusionSim::start(SimConfig {
            seed: seed.clone(),
            faults: options.fusion_faults.clone(),
            default_framework_version: options.sim_framework_version,
            concurrent_delay: options.concurrent_delay,
            ..SimConfig::default()
        })
        .await
        .context("start the Fusion simulator")?;
        let wms = WmsSim::start(WmsSimConfig {
            seed: seed.clone(),
            ..WmsSimConfig::default()
        })
        .await
        .context("start the WMS simulator")?;
        let suffix = format!("-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let provisioned = provision(
            &sdk,
            &repo_root().join("infra/template.yaml"),
            &ProvisionOptions::with_suffix(suffix.clone()),
        )
        .await
        .with_context(|| {
            let failed: Vec<String> = recorder
                .as_ref()
                .map(RecordCalls::calls)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.error.as_ref().map(|e| format!("{}: {e}", c.api())))
                .collect();
            format!("provision the template's resources on the emulator {failed:?}")
        })?;
        let resources = resources_from(&provisioned)?;
        Ok(Self {
            fusion,
            wms,
            provisioned,
            resources,
            sdk,
            seed,
            options,
            suffix,
            recorder,
        })
    }

    /// `function`'s session under a role whose policy is its role policy in
    /// `infra/template.yaml` (see [`iam`]). Needs [`TestEnv::spawn_under_iam`].
    pub async fn function(&self, function: &str) -> anyhow::Result<FunctionSession> {
        self.function_with(function, "", |_| {}).await
    }

    /// Like [`TestEnv::function`], with the template's statements changed by `change` first
    /// (a role missing an action); `tag` keeps the role's name apart.
    pub async fn function_with(
        &self,
        function: &str,
        tag: &str,
        change: impl FnOnce(&mut Vec<iam::RoleStatement>),
    ) -> anyhow::Result<FunctionSession> {
        if self.recorder.is_none() {
            return Err(anyhow!("function sessions need TestEnv::spawn_under_iam"));
        }
        let (role, mut statements) = iam::template_statements(&repo_root().join("infra/template.yaml"), function)?;
        change(&mut statements);
        FunctionSession::start(&self.sdk, function, &role, statements, &format!("{tag}{}", self.suffix)).await
    }

    /// The ports a warm container running as `session` builds.
    pub fn ports_as(&self, session: &FunctionSession) -> anyhow::Result<AppPorts> {
        let ports = self.ports_on(&session.sdk)?;
        // As the template wires it: only sync-inventory is given the item cache table.
        Ok(if session.function == "sync-inventory" {
            ports.with_item_cache(self.item_cache_on(&session.sdk, DynamoItemCache::DEFAULT_TTL)?)
        } else {
            ports
        })
    }

    /// The provisioned `ItemCacheTable` as a container builds it (on the set-up's credentials),
    /// its entries living `ttl`. Two of them are what two containers share.
    pub fn item_cache(&self, ttl: chrono::TimeDelta) -> anyhow::Result<DynamoItemCache> {
        self.item_cache_on(&self.sdk, ttl)
    }

    fn item_cache_on(&self, sdk: &SdkConfig, ttl: chrono::TimeDelta) -> anyhow::Result<DynamoItemCache> {
        let table = self
            .provisioned
            .table("ItemCacheTable")
            .context("the functions' ItemCacheTable")?;
        Ok(DynamoItemCache::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table,
            ttl,
            adapters::aws::WriteCounter::new(),
        ))
    }

    /// The provisioned `DcStatusTable` as a tool builds it (on the set-up's credentials).
    pub fn dc_status(&self) -> anyhow::Result<DynamoDcStatus> {
        self.dc_status_on(&self.sdk)
    }

    /// The `DcStatusTable` as a container running as `session` builds it.
    pub fn dc_status_as(&self, session: &FunctionSession) -> anyhow::Result<DynamoDcStatus> {
        self.dc_status_on(&session.sdk)
    }

    fn dc_status_on(&self, sdk: &SdkConfig) -> anyhow::Result<DynamoDcStatus> {
        let table = self
            .provisioned
            .table("DcStatusTable")
            .context("the functions' DcStatusTable")?;
        Ok(DynamoDcStatus::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table,
            adapters::aws::WriteCounter::new(),
        ))
    }

    /// The go-live baseline's ports ([`app::BaselineAppPorts`]) as the set-up (or the CLI)
    /// builds them.
    pub fn baseline_ports(&self) -> anyhow::Result<app::BaselineAppPorts> {
        self.baseline_ports_on(&self.sdk, self.ports()?)
    }

    /// The baseline function's ports in a container running as `session`.
    pub fn baseline_ports_as(&self, session: &FunctionSession) -> anyhow::Result<app::BaselineAppPorts> {
        self.baseline_ports_on(&session.sdk, self.ports_as(session)?)
    }

    fn baseline_ports_on(&self, sdk: &SdkConfig, ports: AppPorts) -> anyhow::Result<app::BaselineAppPorts> {
        let table = self
            .provisioned
            .table("BaselineTable")
            .context("the functions' BaselineTable")?;
        Ok(app::BaselineAppPorts {
            ports,
            status: self.dc_status_on(sdk)?,
            checkpoints: adapters::aws::DynamoBaselineCheckpoints::new(
                aws_sdk_dynamodb::Client::new(sdk),
                table,
                adapters::aws::WriteCounter::new(),
            ),
        })
    }

    /// Declares `dcs` live (`changed_by` "test-harness"), as the local run does: tests of the
    /// sync and reconciliation run on DCs past go-live.
    pub async fn mark_live(&self, dcs: &[DcCode]) -> anyhow::Result<()> {
        let board = self.dc_status()?;
        let by = domain::console::UserId::parse("test-harness").map_err(|e| anyhow!("{e}"))?;
        for dc in dcs {
            domain::golive::declare_dc_live(
                &board,
                dc,
                by.clone(),
                chrono::Utc::now(),
                "integration test past go-live",
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    }

    /// Every AWS call so far (empty unless spawned under IAM).
    pub fn calls(&self) -> Vec<Call> {
        self.recorder.as_ref().map(RecordCalls::calls).unwrap_or_default()
    }

    /// Physical names and ARNs of the provisioned resources -> their logical ids.
    pub fn logical_ids(&self) -> BTreeMap<String, String> {
        iam::logical_ids(&self.provisioned)
    }

    /// Panics naming every action `session` needed and its role does not grant: refused by
    /// the emulator, or on a resource the role does not name.
    pub fn assert_only_granted(&self, session: &FunctionSession) {
        session.assert_only_granted(&self.calls(), &self.logical_ids());
    }

    /// The value of `result`, something `session` did, once [`TestEnv::assert_only_granted`]
    /// passed: a call the role does not allow fails here naming its action, before any other
    /// check sees only its consequence (an opaque SDK error, a failed alert).
    pub fn granted<T, E: std::fmt::Debug>(&self, session: &FunctionSession, result: Result<T, E>) -> T {
        self.assert_only_granted(session);
        match result {
            Ok(value) => value,
            Err(e) => panic!("{} failed within its role: {e:?}", session.function),
        }
    }

    /// The Fusion client configuration pointing at the simulator.
    pub fn fusion_config(&self) -> FusionConfig {
        let mut c = FusionConfig::new(
            self.fusion.url(),
            Credentials::Basic {
                user: "integration.user".into(),
                password: SecretString::from("Welcome1"),
            },
        );
        c.retry_attempts = self.options.fusion_retry_attempts;
        c.retry_base_delay = self.options.fusion_retry_base;
        c.retry_max_delay = Duration::from_millis(500);
        c.max_retry_after = Duration::from_secs(2);
        c.request_timeout = self.options.fusion_timeout;
        c.max_in_flight = self.options.fusion_max_in_flight;
        c.transaction_mode = self.options.transaction_mode;
        c
    }

    /// A fresh set of ports, as one warm Lambda container would build them. Two calls give two
    /// independent "containers" sharing the same tables and simulators.
    pub fn ports(&self) -> anyhow::Result<AppPorts> {
        self.ports_with(self.fusion_config())
    }

    /// Like [`Self::ports`] with a Fusion client built from `fusion` (another password, mode,
    /// framework version, ...).
    pub fn ports_with(&self, fusion: FusionConfig) -> anyhow::Result<AppPorts> {
        self.ports_on_with(&self.sdk, fusion)
    }

    fn ports_on(&self, sdk: &SdkConfig) -> anyhow::Result<AppPorts> {
        self.ports_on_with(sdk, self.fusion_config())
    }

    fn ports_on_with(&self, sdk: &SdkConfig, fusion: FusionConfig) -> anyhow::Result<AppPorts> {
        let fusion = HttpFusionClient::new(fusion).map_err(|e| anyhow!("{e}"))?;
        let wms_config = WmsConfig::new(
            self.wms.base_url(),
            WmsAuth::ApiKey(SecretString::from(self.wms.api_key().unwrap_or_default().to_string())),
        )
        .map_err(|e| anyhow!("{e}"))?;
        let wms = HttpWmsClient::new(wms_config).map_err(|e| anyhow!("{e}"))?;
        Ok(AppPorts::new(sdk, &self.resources, fusion, wms))
    }

    /// The operator console's ports (the engines' ports plus the audit trail on the template's
    /// `AuditTable`), as a console function or CLI builds them.
    pub fn console_ports(&self) -> anyhow::Result<app::ConsolePortsApp> {
        let table = self
            .provisioned
            .table("AuditTable")
            .context("the console's AuditTable")?
            .to_string();
        let audit = adapters::aws::DynamoAuditLog::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            table,
            adapters::aws::WriteCounter::new(),
        );
        Ok(app::ConsolePortsApp::new(self.ports()?, audit))
    }

    /// DC `i` (0-based) of the seed: `DC01`, `DC02`, ...
    pub fn dc(&self, i: usize) -> DcCode {
        DcCode::parse(sim_seed::org(i).code).unwrap_or_else(|e| panic!("seed DC code: {e}"))
    }

    /// A sync request message body for `dc` in `slot`, as the fan-out sends it.
    pub fn sync_message(&self, dc: &DcCode, slot: &str) -> String {
        serde_json::json!({"dc": dc.as_str(), "slot": slot, "trigger": "schedule"}).to_string()
    }

    /// How many distinct staged posts landed in Fusion per `TransactionReference`
    /// (`"<WMS txn id>#<line>"`), counting completed transactions (both sides of a transfer share
    /// one TransactionInterfaceId) and rows still in the interface. Read through the
    /// simulator's REST API, paged, independently of the code under test. Faults injected for
    /// the test are suspended while it reads (a verification must not be throttled) and put back
    /// after.
    pub async fn fusion_landed_by_reference(&self) -> anyhow::Result<std::collections::BTreeMap<String, usize>> {
        let injected = self.fusion.faults();
        self.fusion.set_faults(fusion_sim::Faults::default());
        let landed = self.read_landed_by_reference().await;
        self.fusion.set_faults(injected);
        landed
    }

    async fn read_landed_by_reference(&self) -> anyhow::Result<std::collections::BTreeMap<String, usize>> {
        use std::collections::{BTreeMap, BTreeSet};
        let http = reqwest::Client::new();
        let mut posts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for resource in ["inventoryCompletedTransactions", "inventoryStagedTransactions"] {
            let mut offset = 0usize;
            loop {
                let url = format!(
                    "{}/{resource}?onlyData=true&limit=500&offset={offset}",
                    self.fusion.api_base()
                );
                let page: serde_json::Value = http
                    .get(&url)
                    .basic_auth("integration.user", Some("Welcome1"))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let items = page["items"].as_array().cloned().unwrap_or_default();
                for row in &items {
                    let reference = row["TransactionReference"].as_str().unwrap_or_default().to_string();
                    let interface = match &row["TransactionInterfaceId"] {
                        serde_json::Value::Null => format!("completed:{}", row["TransactionId"]),
                        v => v.to_string(),
                    };
                    posts.entry(reference).or_default().insert(interface);
                }
                offset += items.len();
                if items.is_empty() || !page["hasMore"].as_bool().unwrap_or(false) {
                    break;
                }
            }
        }
        Ok(posts.into_iter().map(|(k, v)| (k, v.len())).collect())
    }

    /// Silently removes serials from Fusion's on-hand (no transaction recorded), through the
    /// simulator's `/admin/adjust`, to make Fusion and the WMS disagree about them.
    pub async fn fusion_remove_serials(
        &self,
        org: &str,
        item: &str,
        sub: &str,
        serials: &[String],
    ) -> anyhow::Result<()> {
        reqwest::Client::new()
            .post(format!("{}/admin/adjust", self.fusion.url()))
            .json(&serde_json::json!({
                "org": org, "item": item, "subinventory": sub, "delta": "0", "remove_serials": serials,
            }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Creates an SQS queue subscribed to the alert topic, so tests read alerts back the way a
    /// subscriber receives them.
    pub async fn subscribe_alerts(&self) -> anyhow::Result<AlertInbox> {
        AlertInbox::subscribe(
            &self.sdk,
            &self.resources.alert_topic_arn,
            &format!("alert-inbox{}", self.suffix),
        )
        .await
    }
}

/// An SQS event as Lambda delivers it, one record per `(message id, body)`, built from the
/// fixture `events/sync-inventory/sqs-batch.json`.
pub fn sqs_event(messages: &[(&str, String)]) -> anyhow::Result<SqsEvent> {
    let fixture: SqsEvent = serde_json::from_str(include_str!("../../../events/sync-inventory/sqs-batch.json"))?;
    let template: SqsMessage = fixture
        .records
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("fixture has no record"))?;
    let mut event = fixture;
    event.records = messages
        .iter()
        .map(|(id, body)| {
            let mut m = template.clone();
            m.message_id = Some((*id).to_string());
            m.body = Some(body.clone());
            m
        })
        .collect();
    Ok(event)
}

/// A Lambda context whose deadline is `budget` from now.
pub fn context(request_id: &str, budget: Duration) -> lambda_runtime::Context {
    let mut c = lambda_runtime::Context::default();
    c.request_id = request_id.to_string();
    let deadline = chrono::Utc::now() + chrono::Duration::from_std(budget).unwrap_or_default();
    c.deadline = u64::try_from(deadline.timestamp_millis()).unwrap_or_default();
    c
}
