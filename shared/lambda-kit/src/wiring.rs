//! Builds the concrete adapters once per process and bundles them as the domain's ports.
//!
//! Function `main`s call [`AppPorts::from_env`]; tests, benchmarks and the local driver call
//! [`AppPorts::new`] with resources from `test_harness::resources_from` (local set-up).

use crate::config::{self, ConfigError};
use adapters::aws::{
    DynamoDcLease, DynamoIncidents, DynamoLotMap, DynamoReviewTasks, DynamoRunReports, DynamoSyncLedger, SnsAlertSink,
    WriteCounter,
};
use adapters::fusion::{FusionConfig, HttpFusionClient};
use adapters::wms::HttpWmsClient;
use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use domain::ports::Clock;
use domain::sync::SyncPorts;
use secrecy::{ExposeSecret as _, SecretString};
use thiserror::Error;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Physical names of the resources the functions use (the template's outputs).
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
    /// `INCIDENT_TABLE` and `ALERT_TOPIC_ARN` (set by infra/template.yaml).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            ledger_table: config::required("LEDGER_TABLE")?,
            lot_map_table: config::required("LOT_MAP_TABLE")?,
            review_task_table: config::required("REVIEW_TASK_TABLE")?,
            lease_table: config::required("LEASE_TABLE")?,
            run_table: config::required("RUN_TABLE")?,
            incident_table: config::required("INCIDENT_TABLE")?,
            alert_topic_arn: config::required("ALERT_TOPIC_ARN")?,
        })
    }
}

/// Cold-start wiring failed. The function cannot serve; the message names what is wrong and
/// never holds a secret.
#[derive(Debug, Error)]
pub enum WiringError {
    /// Environment configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A client's configuration.
    #[error("client configuration: {0}")]
    Client(String),
    /// Resource names.
    #[error("resources: {0}")]
    Resources(String),
    /// Secrets Manager.
    #[error("secret {arn} could not be read: {reason}")]
    Secret {
        /// The secret's ARN or name.
        arn: String,
        /// Why (never the value).
        reason: String,
    },
}

/// Every port the sync and reconciliation need, built once per process.
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
    /// Where the Fusion secret comes from (set by [`AppPorts::from_env`] when
    /// `FUSION_SECRET_ARN` is set), so a rejected secret can be re-read without a cold start.
    fusion_secret: Option<(SdkConfig, String)>,
}

impl AppPorts {
    /// Bundles already-built clients with DynamoDB/SNS adapters on `sdk`.
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

    /// When Fusion rejected the credentials, re-reads the Fusion secret from Secrets Manager
    /// and hands it to the client, so a secret fixed after the alert works at the next message
    /// of a warm container. Does nothing otherwise (no Secrets Manager call per message).
    pub async fn reload_fusion_secret_if_rejected(&self) -> Result<bool, WiringError> {
        let Some((sdk, arn)) = &self.fusion_secret else {
            return Ok(false);
        };
        if !self.fusion.credentials_rejected() {
            return Ok(false);
        }
        let secret = fetch_secret(sdk, arn).await?;
        let config = FusionConfig::from_env_with_secret(secret).map_err(|e| WiringError::Client(e.to_string()))?;
        self.fusion.replace_credentials(config.credentials).await;
        tracing::info!("Fusion rejected the credentials earlier; the secret was read again");
        Ok(true)
    }

    /// Cold-start wiring from the environment: the SDK (endpoint from `AWS_ENDPOINT_URL` when
    /// set), resource names, the Fusion client whose secret comes from Secrets Manager when
    /// `FUSION_SECRET_ARN` is set (the secret is a JSON object with `password` or
    /// `client_secret`, or the bare value), and the WMS client whose API key comes from Secrets
    /// Manager when `WMS_API_KEY_SECRET_ARN` is set (JSON with `api_key`, or the bare value)
    /// instead of `WMS_API_KEY`.
    pub async fn from_env() -> Result<Self, WiringError> {
        let sdk = adapters::aws::config::load().await;
        let res = Resources::from_env()?;
        let secret_arn = std::env::var("FUSION_SECRET_ARN").ok().filter(|s| !s.trim().is_empty());
        let fusion_config = match &secret_arn {
            Some(arn) => FusionConfig::from_env_with_secret(fetch_secret(&sdk, arn).await?),
            None => FusionConfig::from_env(),
        }
        .map_err(|e| WiringError::Client(e.to_string()))?;
        let fusion = HttpFusionClient::new(fusion_config).map_err(|e| WiringError::Client(e.to_string()))?;
        let wms = match std::env::var("WMS_API_KEY_SECRET_ARN")
            .ok()
            .filter(|s| !s.trim().is_empty())
        {
            Some(arn) => {
                let key = fetch_secret(&sdk, &arn).await?;
                adapters::wms::WmsConfig::from_lookup(|name| match name {
                    "WMS_API_KEY" => Some(key.expose_secret().to_string()),
                    other => std::env::var(other).ok(),
                })
                .and_then(HttpWmsClient::new)
            }
            None => HttpWmsClient::from_env(),
        }
        .map_err(|e| WiringError::Client(e.to_string()))?;
        let mut ports = Self::new(&sdk, &res, fusion, wms);
        ports.fusion_secret = secret_arn.map(|arn| (sdk, arn));
        Ok(ports)
    }
}

/// The IAM action [`fetch_secret`] needs on each secret it reads at cold start.
pub const SECRET_PERMISSIONS: adapters::aws::Permissions =
    adapters::aws::Permissions::on_resource(&["secretsmanager:GetSecretValue"]);

async fn fetch_secret(sdk: &SdkConfig, arn: &str) -> Result<SecretString, WiringError> {
    let fail = |reason: String| WiringError::Secret {
        arn: arn.to_string(),
        reason,
    };
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let raw = out
        .secret_string()
        .ok_or_else(|| fail("the secret has no string value".into()))?;
    let value = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => ["password", "client_secret", "api_key", "secret"]
            .iter()
            .find_map(|k| map.get(*k).and_then(|v| v.as_str()).map(str::to_string))
            .ok_or_else(|| fail("the JSON secret has no password, client_secret, api_key or secret field".into()))?,
        _ => raw.to_string(),
    };
    Ok(SecretString::from(value))
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

impl domain::reconciliation::ReconcilePorts for AppPorts {
    type Incidents = DynamoIncidents;
    type Runs = DynamoRunReports;

    fn incidents(&self) -> &Self::Incidents {
        &self.incidents
    }
    fn runs(&self) -> &Self::Runs {
        &self.runs
    }
}
