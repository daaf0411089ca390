//! Simulator configuration.

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sim_seed::SeedConfig;

use crate::faults::Faults;

/// Everything [`crate::FusionSim::start`] needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed data (same config as the WMS simulator for consistent starts).
    pub seed: SeedConfig,
    /// Port to bind on 127.0.0.1; 0 picks a free port.
    pub port: u16,
    /// Basic-auth user holding the inventory roles.
    pub user: String,
    /// Password of [`Self::user`].
    pub password: String,
    /// Users that authenticate but hold no role (answered 403), as `(user, password)`.
    pub roleless_users: Vec<(String, String)>,
    /// OAuth2 client id for `POST /oauth2/v1/token` (client-credentials grant).
    pub client_id: String,
    /// OAuth2 client secret.
    pub client_secret: String,
    /// Lifetime of issued bearer tokens.
    pub token_ttl: Duration,
    /// Default page size (Fusion: 25).
    pub default_limit: usize,
    /// Silent cap on `limit` (Fusion: 500).
    pub max_limit: usize,
    /// Most serial numbers one transaction may carry.
    pub max_serials_per_txn: usize,
    /// Whether issues may drive on-hand below zero.
    pub allow_negative_onhand: bool,
    /// The simulator's "today" for lot expiry; `None` = `seed.today`.
    pub today: Option<NaiveDate>,
    /// Initial faults.
    pub faults: Faults,
    /// If set, every pending staged row is processed on this interval (the Manage Inventory
    /// Transactions job); otherwise Background rows wait for `POST /admin/process-staged`.
    /// Concurrent rows are processed [`Self::concurrent_delay`] after their POST either way.
    pub process_interval: Option<Duration>,
    /// Decode `Content-Encoding: gzip` request bodies (true) or refuse them with 415 (false).
    pub accept_gzip_requests: bool,
    /// REST framework version of requests without a `REST-Framework-Version` header (Oracle's
    /// generic pages: 1; fact sheet §1). Below 3 expanded children are plain arrays, from 3 paged
    /// collections; below 4 error bodies are plain text, from 4 JSON.
    pub default_framework_version: u32,
    /// How long after its POST a Concurrent (TransactionMode 2) staged row is processed by the
    /// simulator's background task (Fusion starts the Create Inventory Transaction job at once;
    /// fact sheet §3).
    pub concurrent_delay: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: SeedConfig {
                dcs: 2,
                items: 1_000,
                ..SeedConfig::default()
            },
            port: 0,
            user: "integration.user".into(),
            password: "Welcome1".into(),
            roleless_users: vec![("norole.user".into(), "Welcome1".into())],
            client_id: "invsync-client".into(),
            client_secret: "invsync-secret".into(),
            token_ttl: Duration::from_secs(3600),
            default_limit: 25,
            max_limit: 500,
            max_serials_per_txn: 50,
            allow_negative_onhand: false,
            today: None,
            faults: Faults::default(),
            process_interval: None,
            accept_gzip_requests: true,
            default_framework_version: 1,
            concurrent_delay: Duration::from_millis(300),
        }
    }
}

/// Outcome of one run of staged-row processing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessReport {
    /// Rows processed into completed transactions (and removed from the interface).
    pub processed: usize,
    /// Rows that failed (ProcessFlag 3).
    pub failed: usize,
}
