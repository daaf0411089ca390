//! Local set-up from `infra/template.yaml` against an AWS emulator: every declared table,
//! queue and topic exists with the template's keys, indexes, TTL, point-in-time recovery and
//! queue attributes, and provisioning twice is harmless.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_config::{BehaviorVersion, SdkConfig};
use aws_local::{provision, ProvisionOptions, ResourceKind};
use aws_sdk_dynamodb::types::{KeyType, PointInTimeRecoveryStatus, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use std::path::PathBuf;

fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}

fn unique_suffix() -> String {
    format!("-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// The emulator `AWS_ENDPOINT_URL` points at (scripts/test.sh starts moto); fails, never
/// skips, without one.
async fn sdk() -> SdkConfig {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| !v.is_empty()),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh -p aws-local` (it starts moto)"
    );
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

#[tokio::test]
async fn provisioning_creates_what_the_template_declares_and_is_idempotent() {
    let sdk = sdk().await;
    let options = ProvisionOptions::with_suffix(unique_suffix());
    let first = provision(&sdk, &template_path(), &options).await.unwrap();
    let second = provision(&sdk, &template_path(), &options).await.unwrap();
    assert_eq!(first, second);

    let kinds = |kind| first.resources.values().filter(|r| r.kind == kind).count();
    assert_eq!(
        (
            kinds(ResourceKind::Table),
            kinds(ResourceKind::Queue),
            kinds(ResourceKind::Topic)
        ),
        (10, 7, 1)
    );
    let ledger = first.table("LedgerTable").unwrap();
    assert!(ledger.starts_with("invsync-dev-ledger-") && ledger.ends_with(&options.suffix));

    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = dynamodb.describe_table().table_name(ledger).send().await.unwrap();
    let table = table.table().unwrap();
    let keys: Vec<(&str, KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().clone()))
        .collect();
    assert_eq!(keys, vec![("dc", KeyType::Hash), ("txn_id", KeyType::Range)]);
    let index = &table.global_secondary_indexes()[0];
    assert_eq!(index.index_name(), Some("state-index"));
    let index_keys: Vec<&str> = index.key_schema().iter().map(|k| k.attribute_name()).collect();
    assert_eq!(index_keys, vec!["dc_state", "updated_at"]);
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(ledger)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    // Every table has point-in-time recovery, which the restore path relies on.
    for table in first.resources.values().filter(|r| r.kind == ResourceKind::Table) {
        let backups = dynamodb
            .describe_continuous_backups()
            .table_name(&table.name)
            .send()
            .await
            .unwrap();
        let pitr = backups
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|d| d.point_in_time_recovery_status());
        assert_eq!(pitr, Some(&PointInTimeRecoveryStatus::Enabled), "{}", table.name);
    }

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = first.queue_url("SyncQueue").unwrap();
    assert!(url.ends_with(".fifo"), "{url}");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    let get = |name: QueueAttributeName| attributes.get(&name).cloned().unwrap_or_default();
    assert_eq!(get(QueueAttributeName::FifoQueue), "true");
    assert_eq!(get(QueueAttributeName::ContentBasedDeduplication), "false");
    assert_eq!(get(QueueAttributeName::VisibilityTimeout), "960");
    let redrive: serde_json::Value = serde_json::from_str(&get(QueueAttributeName::RedrivePolicy)).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        first.arn("SyncDeadLetterQueue").unwrap()
    );
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "3");
    assert!(first
        .topic_arn("AlertTopic")
        .unwrap()
        .ends_with(&format!("invsync-dev-alerts{}", options.suffix)));
}

#[tokio::test]
async fn asking_for_an_undeclared_resource_names_it() {
    let sdk = sdk().await;
    let provisioned = provision(&sdk, &template_path(), &ProvisionOptions::with_suffix(unique_suffix()))
        .await
        .unwrap();
    let err = provisioned.table("SyncQueue").unwrap_err().to_string();
    assert!(err.contains("SyncQueue"), "{err}");
}
