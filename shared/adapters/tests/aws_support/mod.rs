//! Shared set-up of the AWS adapter tests: each test provisions its own uniquely named
//! tables, queues and topic from `infra/template.yaml` on the emulator `AWS_ENDPOINT_URL`
//! points at (moto, started by `scripts/test.sh`).

#![allow(dead_code)]

use adapters::aws::{self, WriteCounter};
use aws_config::SdkConfig;
use aws_local::{OneAtATime, ProvisionOptions, Provisioned};
use chrono::{DateTime, TimeDelta, Utc};
use domain::txn::{NewTransaction, Tracking, TxnKind, WmsTransaction};
use domain::{DcCode, ItemNumber, SubinventoryCode, Uom, WmsTxnId};
use rust_decimal_macros::dec;
use std::path::PathBuf;

/// Clients, the resources provisioned for this test and a fresh write counter.
pub struct TestEnv {
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub resources: Provisioned,
    pub writes: WriteCounter,
    pub suffix: String,
}

pub fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}

/// Fails the test (never skips it) when no AWS emulator is configured.
pub fn require_endpoint() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none_or(|v| v.is_empty()) {
        panic!(
            "AWS_ENDPOINT_URL is not set: the AWS adapter tests need an AWS emulator. \
             Run them through `bash scripts/test.sh -p adapters` (it starts moto), or start one \
             yourself (`source scripts/lib.sh; ensure_venv tools/requirements-test.txt; \
             start_aws_emulator`) and export AWS_ENDPOINT_URL."
        );
    }
}

pub fn unique_suffix() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("-{}", &id[..10])
}

pub async fn sdk() -> SdkConfig {
    require_endpoint();
    aws::config::load().await
}

impl TestEnv {
    pub async fn spawn() -> TestEnv {
        let sdk = sdk().await.into_builder().http_client(OneAtATime::new()).build();
        let suffix = unique_suffix();
        let resources = aws_local::provision(&sdk, &template_path(), &ProvisionOptions::with_suffix(suffix.clone()))
            .await
            .unwrap_or_else(|e| panic!("provisioning from infra/template.yaml failed: {e}"));
        TestEnv {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sdk,
            resources,
            writes: WriteCounter::new(),
            suffix,
        }
    }

    pub fn table(&self, id: &str) -> String {
        self.resources.table(id).unwrap_or_else(|e| panic!("{e}")).to_string()
    }

    pub fn ledger(&self) -> aws::DynamoSyncLedger {
        aws::DynamoSyncLedger::new(self.dynamodb.clone(), self.table("LedgerTable"), self.writes.clone())
    }

    pub fn lease(&self) -> aws::DynamoDcLease {
        aws::DynamoDcLease::new(self.dynamodb.clone(), self.table("LeaseTable"), self.writes.clone())
    }

    pub fn lot_map(&self) -> aws::DynamoLotMap {
        aws::DynamoLotMap::new(self.dynamodb.clone(), self.table("LotMapTable"), self.writes.clone())
    }

    pub fn review_tasks(&self) -> aws::DynamoReviewTasks {
        aws::DynamoReviewTasks::new(
            self.dynamodb.clone(),
            self.table("ReviewTaskTable"),
            self.writes.clone(),
        )
    }

    pub fn incidents(&self) -> aws::DynamoIncidents {
        aws::DynamoIncidents::new(self.dynamodb.clone(), self.table("IncidentTable"), self.writes.clone())
    }

    pub fn run_reports(&self) -> aws::DynamoRunReports {
        aws::DynamoRunReports::new(self.dynamodb.clone(), self.table("RunTable"), self.writes.clone())
    }
}

pub fn dc(code: &str) -> DcCode {
    DcCode::parse(code).unwrap_or_else(|e| panic!("{e}"))
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-03-01T08:00:00.123456789Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

/// A miscellaneous receipt of 5 EA of `ITM-1` into STORES.
pub fn receipt(dc_code: &str, id: &str) -> WmsTransaction {
    WmsTransaction::new(NewTransaction {
        id: WmsTxnId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        dc: dc(dc_code),
        kind: TxnKind::MiscReceipt,
        item: ItemNumber::parse("ITM-1").unwrap_or_else(|e| panic!("{e}")),
        subinventory: SubinventoryCode::parse("STORES").unwrap_or_else(|e| panic!("{e}")),
        quantity: dec!(5),
        uom: Uom::parse("EA").unwrap_or_else(|e| panic!("{e}")),
        tracking: Tracking::None,
        occurred_at: t0(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}
