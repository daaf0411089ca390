//! Building the concrete adapters and bundling them as the domain's ports.
//!
//! [`App`] holds what every adapter shares (the SDK configuration, one DynamoDB client, the
//! variable source, one write counter) and builds one port at a time, each reading only its
//! own variables: an operator tool that reads the ledger and the review tasks calls
//! [`App::ledger`] and [`App::review_tasks`] and needs no Fusion or WMS credentials. The two
//! engine functions call [`App::ports`] for [`AppPorts`], every port at once.
//!
//! Resource names come from the environment only ([`Resources::from_env`]); tests and the local
//! driver build [`Resources`] from the resources they provisioned themselves.

use crate::config::{ConfigError, Env};
use crate::names;
use crate::secrets::fetch_secret;
use adapters::aws::{
    DynamoBaselineCheckpoints, DynamoDcLease, DynamoDcStatus, DynamoIncidents, DynamoItemCache, DynamoLotMap,
    DynamoReviewTasks, DynamoRunReports, DynamoSyncLedger, SnsAlertSink, SqsSyncQueue, WriteCounter,
};
use adapters::fusion::{FusionConfig, HttpFusionClient};
use adapters::wms::{HttpWmsClient, WmsConfig};
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use domain::ports::Clock;
use domain::reconciliation::ReconcilePorts;
use domain::sync::SyncPorts;
use secrecy::{ExposeSecret as _, SecretString};
use std::sync::Arc;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Physical names of the tables and topic the engines use (the template's resources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// `LedgerTable`.
    pub ledger_table: String,
    /// `LotMapTable`.
    pub lot_map_table: String,
    /// `ReviewTaskTable`.
    pub review_task_table: String,
    /// `LeaseTable`.
    pub lease_table: String,
    /// `RunTable`.
    pub run_table: String,
    /// `IncidentTable`.
    pub incident_table: String,
    /// `AlertTopic` ARN.
    pub alert_topic_arn: String,
}

impl Resources {
    /// From `LEDGER_TABLE`, `LOT_MAP_TABLE`, `REVIEW_TASK_TABLE`, `LEASE_TABLE`, `RUN_TABLE`,
    /// `INCIDENT_TABLE` and `ALERT_TOPIC_ARN`, every one required.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            ledger_table: env.required(names::LEDGER_TABLE)?,
            lot_map_table: env.required(names::LOT_MAP_TABLE)?,
            review_task_table: env.required(names::REVIEW_TASK_TABLE)?,
            lease_table: env.required(names::LEASE_TABLE)?,
            run_table: env.required(names::RUN_TABLE)?,
            incident_table: env.required(names::INCIDENT_TABLE)?,
            alert_topic_arn: env.required(names::ALERT_TOPIC_ARN)?,
        })
    }
}

/// Builds ports one at a time from an SDK configuration and an [`Env`]. Stores built by one
/// `App` share its DynamoDB client and write counter.
#[derive(Debug, Clone)]
pub struct App {
    sdk: SdkConfig,
    env: Env,
    ddb: aws_sdk_dynamodb::Client,
    writes: WriteCounter,
}

impl App {
    /// The process environment, and the SDK configuration of the default chain (endpoint from
    /// `AWS_ENDPOINT_URL` when set). Reads no variable yet: each port reads its own.
    pub async fn from_env() -> Self {
        Self::new(adapters::aws::config::load().await, Env::process())
    }

    /// An app on `sdk` reading variables from `env`.
    pub fn new(sdk: SdkConfig, env: Env) -> Self {
        Self {
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            writes: WriteCounter::new(),
            sdk,
            env,
        }
    }

    /// The SDK configuration.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The variable source.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// DynamoDB write requests made by the stores this app built.
    pub fn writes(&self) -> &WriteCounter {
        &self.writes
    }

    /// The DynamoDB client every store of this app shares.
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.ddb
    }

    fn table(&self, name: &str) -> Result<String, ConfigError> {
        self.env.required(name)
    }

    /// The sync ledger (`LEDGER_TABLE`).
    pub fn ledger(&self) -> Result<DynamoSyncLedger, ConfigError> {
        Ok(DynamoSyncLedger::new(
            self.ddb.clone(),
            self.table(names::LEDGER_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The lot map (`LOT_MAP_TABLE`).
    pub fn lot_map(&self) -> Result<DynamoLotMap, ConfigError> {
        Ok(DynamoLotMap::new(
            self.ddb.clone(),
            self.table(names::LOT_MAP_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The shared item master cache (`ITEM_CACHE_TABLE`, entries living `ITEM_CACHE_TTL_SECS`,
    /// default a day), or `None` when the function is not given one.
    pub fn item_cache(&self) -> Result<Option<DynamoItemCache>, ConfigError> {
        let Some(table) = self.env.optional(names::ITEM_CACHE_TABLE) else {
            return Ok(None);
        };
        let ttl = match self.env.optional(names::ITEM_CACHE_TTL_SECS) {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|s| *s > 0)
                .map(chrono::TimeDelta::seconds)
                .ok_or_else(|| ConfigError::Invalid {
                    name: names::ITEM_CACHE_TTL_SECS.into(),
                    reason: "a positive number of seconds".into(),
                })?,
            None => DynamoItemCache::DEFAULT_TTL,
        };
        Ok(Some(DynamoItemCache::new(
            self.ddb.clone(),
            table,
            ttl,
            self.writes.clone(),
        )))
    }

    /// The go-live baseline checkpoints (`BASELINE_TABLE`).
    pub fn baseline_checkpoints(&self) -> Result<DynamoBaselineCheckpoints, ConfigError> {
        Ok(DynamoBaselineCheckpoints::new(
            self.ddb.clone(),
            self.table(names::BASELINE_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The per-DC leases (`LEASE_TABLE`).
    pub fn lease(&self) -> Result<DynamoDcLease, ConfigError> {
        Ok(DynamoDcLease::new(
            self.ddb.clone(),
            self.table(names::LEASE_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The review tasks (`REVIEW_TASK_TABLE`).
    pub fn review_tasks(&self) -> Result<DynamoReviewTasks, ConfigError> {
        Ok(DynamoReviewTasks::new(
            self.ddb.clone(),
            self.table(names::REVIEW_TASK_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The incidents (`INCIDENT_TABLE`).
    pub fn incidents(&self) -> Result<DynamoIncidents, ConfigError> {
        Ok(DynamoIncidents::new(
            self.ddb.clone(),
            self.table(names::INCIDENT_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The run reports (`RUN_TABLE`).
    pub fn run_reports(&self) -> Result<DynamoRunReports, ConfigError> {
        Ok(DynamoRunReports::new(
            self.ddb.clone(),
            self.table(names::RUN_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// Each DC's go-live status (`DC_STATUS_TABLE`).
    pub fn dc_status(&self) -> Result<DynamoDcStatus, ConfigError> {
        Ok(DynamoDcStatus::new(
            self.ddb.clone(),
            self.table(names::DC_STATUS_TABLE)?,
            self.writes.clone(),
        ))
    }

    /// The alert topic (`ALERT_TOPIC_ARN`).
    pub fn alerts(&self) -> Result<SnsAlertSink, ConfigError> {
        Ok(SnsAlertSink::new(
            aws_sdk_sns::Client::new(&self.sdk),
            self.env.required(names::ALERT_TOPIC_ARN)?,
        ))
    }

    /// The sync queue (`SYNC_QUEUE_URL`).
    pub fn sync_queue(&self) -> Result<SqsSyncQueue, ConfigError> {
        Ok(SqsSyncQueue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            self.env.required(names::SYNC_QUEUE_URL)?,
        ))
    }

    /// The baseline function's queue (`BASELINE_QUEUE_URL`).
    pub fn baseline_queue(&self) -> Result<adapters::aws::SqsBaselineQueue, ConfigError> {
        Ok(adapters::aws::SqsBaselineQueue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            self.env.required(names::BASELINE_QUEUE_URL)?,
        ))
    }

    /// The reconcile queue (`RECONCILE_QUEUE_URL`), `None` when the variable is not set (a
    /// fan-out that only syncs, as the local run without queued reconciliation wires it).
    pub fn reconcile_queue(&self) -> Option<SqsSyncQueue> {
        self.env
            .optional(names::RECONCILE_QUEUE_URL)
            .map(|url| SqsSyncQueue::new(aws_sdk_sqs::Client::new(&self.sdk), url))
    }

    /// The Fusion client (`FUSION_*`, see `adapters::fusion::FusionConfig::from_env`). When
    /// `FUSION_SECRET_ARN` is set, the password or client secret is read from Secrets Manager
    /// (see [`fetch_secret`]) and the returned [`FusionSecret`] can read it again.
    pub async fn fusion(&self) -> Result<(HttpFusionClient, Option<FusionSecret>), ConfigError> {
        let secret = self.env.optional(names::FUSION_SECRET_ARN).map(|arn| FusionSecret {
            sdk: self.sdk.clone(),
            env: self.env.clone(),
            arn,
        });
        let config = match &secret {
            Some(s) => s.config(fetch_secret(&self.sdk, &s.arn).await?)?,
            None => FusionConfig::from_lookup(|k| self.env.raw(k), None)?,
        };
        let client = HttpFusionClient::new(config).map_err(|e| ConfigError::Client {
            client: "Fusion",
            reason: e.to_string(),
        })?;
        Ok((client, secret))
    }

    /// The WMS client (`WMS_*`, see `adapters::wms::WmsConfig::from_lookup`). When
    /// `WMS_API_KEY_SECRET_ARN` is set, the API key is read from Secrets Manager instead of
    /// `WMS_API_KEY`.
    pub async fn wms(&self) -> Result<HttpWmsClient, ConfigError> {
        let key: Option<SecretString> = match self.env.optional(names::WMS_API_KEY_SECRET_ARN) {
            Some(arn) => Some(fetch_secret(&self.sdk, &arn).await?),
            None => None,
        };
        let config = WmsConfig::from_lookup(|name| match &key {
            Some(key) if name == names::WMS_API_KEY => Some(key.expose_secret().to_string()),
            _ => self.env.raw(name),
        })?;
        HttpWmsClient::new(config).map_err(|e| ConfigError::Client {
            client: "WMS",
            reason: e.to_string(),
        })
    }

    /// Every port the engines use: [`Resources::from_env`], [`App::fusion`] (behind
    /// [`App::item_cache`] when set) and [`App::wms`].
    pub async fn ports(&self) -> Result<AppPorts, ConfigError> {
        let resources = Resources::from_env(&self.env)?;
        // Why at once: each may read its secret from Secrets Manager, a round trip apiece that
        // every cold start waits for.
        let ((fusion, fusion_secret), wms) = futures::try_join!(self.fusion(), self.wms())?;
        let mut ports = AppPorts::new(&self.sdk, &resources, fusion, wms);
        if let Some(cache) = self.item_cache()? {
            ports = ports.with_item_cache(cache);
        }
        ports.fusion_secret = fusion_secret;
        Ok(ports)
    }
}

/// Where the Fusion secret comes from, so a secret fixed after Fusion rejected it can be read
/// again without a cold start.
#[derive(Debug, Clone)]
pub struct FusionSecret {
    sdk: SdkConfig,
    env: Env,
    arn: String,
}

impl FusionSecret {
    fn config(&self, secret: SecretString) -> Result<FusionConfig, ConfigError> {
        Ok(FusionConfig::from_lookup(|k| self.env.raw(k), Some(secret))?)
    }
}

/// Every port the sync and reconciliation use, built once per process.
pub struct AppPorts {
    /// Fusion.
    pub fusion: HttpFusionClient,
    /// The WMS.
    pub wms: HttpWmsClient,
    /// Sync ledger.
    pub ledger: DynamoSyncLedger,
    /// Lot map.
    pub lots: DynamoLotMap,
    /// Per-DC leases.
    pub lease: DynamoDcLease,
    /// Review tasks.
    pub tasks: DynamoReviewTasks,
    /// Alerts.
    pub alerts: SnsAlertSink,
    /// Incidents (alert-tier variances and their holds).
    pub incidents: DynamoIncidents,
    /// Run reports.
    pub runs: DynamoRunReports,
    /// Time.
    pub clock: SystemClock,
    /// DynamoDB write requests made by these stores.
    pub writes: WriteCounter,
    /// Set by [`App::ports`] when `FUSION_SECRET_ARN` is set.
    fusion_secret: Option<FusionSecret>,
}

impl AppPorts {
    /// Bundles already-built clients with DynamoDB/SNS adapters on `sdk` for `res`.
    pub fn new(sdk: &SdkConfig, res: &Resources, fusion: HttpFusionClient, wms: HttpWmsClient) -> Self {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let writes = WriteCounter::new();
        Self {
            fusion,
            wms,
            ledger: DynamoSyncLedger::new(ddb.clone(), &res.ledger_table, writes.clone()),
            lots: DynamoLotMap::new(ddb.clone(), &res.lot_map_table, writes.clone()),
            lease: DynamoDcLease::new(ddb.clone(), &res.lease_table, writes.clone()),
            tasks: DynamoReviewTasks::new(ddb.clone(), &res.review_task_table, writes.clone()),
            incidents: DynamoIncidents::new(ddb.clone(), &res.incident_table, writes.clone()),
            runs: DynamoRunReports::new(ddb, &res.run_table, writes.clone()),
            alerts: SnsAlertSink::new(aws_sdk_sns::Client::new(sdk), &res.alert_topic_arn),
            clock: SystemClock,
            writes,
            fusion_secret: None,
        }
    }

    /// The Fusion client with `cache` behind its in-process item cache.
    pub fn with_item_cache(mut self, cache: DynamoItemCache) -> Self {
        self.fusion = self.fusion.with_item_cache(Arc::new(cache));
        self
    }

    /// Cold-start wiring from the process environment: [`App::from_env`] then [`App::ports`].
    pub async fn from_env() -> Result<Self, ConfigError> {
        App::from_env().await.ports().await
    }

    /// When Fusion rejected the credentials, re-reads the Fusion secret from Secrets Manager
    /// and hands it to the client, so a secret fixed after the alert works at the next message
    /// of a warm container. Does nothing otherwise (no Secrets Manager call per message), and
    /// nothing when the credentials do not come from a secret.
    pub async fn reload_fusion_secret_if_rejected(&self) -> Result<bool, ConfigError> {
        let Some(source) = &self.fusion_secret else {
            return Ok(false);
        };
        if !self.fusion.credentials_rejected() {
            return Ok(false);
        }
        let config = source.config(fetch_secret(&source.sdk, &source.arn).await?)?;
        self.fusion.replace_credentials(config.credentials).await;
        tracing::info!("Fusion rejected the credentials earlier; the secret was read again");
        Ok(true)
    }
}

impl SyncPorts for AppPorts {
    type Fusion = HttpFusionClient;
    type Wms = HttpWmsClient;
    type Ledger = DynamoSyncLedger;
    type Lots = DynamoLotMap;
    type Lease = DynamoDcLease;
    type Tasks = DynamoReviewTasks;
    type Alerts = SnsAlertSink;
    type Clock = SystemClock;

    fn fusion(&self) -> &Self::Fusion {
        &self.fusion
    }
    fn wms(&self) -> &Self::Wms {
        &self.wms
    }
    fn ledger(&self) -> &Self::Ledger {
        &self.ledger
    }
    fn lots(&self) -> &Self::Lots {
        &self.lots
    }
    fn lease(&self) -> &Self::Lease {
        &self.lease
    }
    fn tasks(&self) -> &Self::Tasks {
        &self.tasks
    }
    fn alerts(&self) -> &Self::Alerts {
        &self.alerts
    }
    fn clock(&self) -> &Self::Clock {
        &self.clock
    }
}

impl ReconcilePorts for AppPorts {
    type Incidents = DynamoIncidents;
    type Runs = DynamoRunReports;

    fn incidents(&self) -> &Self::Incidents {
        &self.incidents
    }
    fn runs(&self) -> &Self::Runs {
        &self.runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(vars: &[(&str, &str)]) -> App {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        App::new(
            sdk,
            Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        )
    }

    #[test]
    fn a_tool_builds_the_stores_it_needs_without_any_client_credentials() {
        let app = app(&[("LEDGER_TABLE", "ledger"), ("REVIEW_TASK_TABLE", "tasks")]);
        assert!(app.ledger().is_ok());
        assert!(app.review_tasks().is_ok());
        assert_eq!(
            app.incidents().err(),
            Some(ConfigError::Missing("INCIDENT_TABLE".into()))
        );
    }

    #[tokio::test]
    async fn the_clients_name_the_variable_they_miss() {
        let app = app(&[("FUSION_BASE_URL", "https://fusion.example.com"), ("FUSION_USER", "u")]);
        let e = app.fusion().await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("FUSION_PASSWORD"), "{e}");
        let e = app.wms().await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("WMS_BASE_URL"), "{e}");
        let e = app.ports().await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("LEDGER_TABLE"), "{e}");
    }
}
