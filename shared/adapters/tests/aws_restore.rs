//! The restore path of docs/operations.md ("Restore a table"), step by step, against the AWS
//! emulator: a table's point-in-time copy is restored beside it, the damaged table is backed up
//! and deleted, the copy goes back under the table's own name (which the stack and the
//! functions know it by), and what a restore does not carry over (TTL, point-in-time recovery,
//! deletion protection) is switched back on. The adapters then read the restored rows, the
//! state index included.
//!
//! moto restores a table as it is when asked, not as it was at the time asked, so this tests
//! the steps and what they leave behind, not DynamoDB's time travel.

// Why: the helpers below are test code too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use aws_sdk_dynamodb::types::{
    PointInTimeRecoverySpecification, PointInTimeRecoveryStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use aws_support::{at, dc, receipt, TestEnv};
use domain::ports::SyncLedger;
use domain::SyncState;
use std::time::Duration;

async fn ttl(dynamodb: &Client, table: &str) -> Option<TimeToLiveStatus> {
    let out = dynamodb.describe_time_to_live().table_name(table).send().await.unwrap();
    out.time_to_live_description()
        .and_then(|d| d.time_to_live_status())
        .cloned()
}

async fn pitr(dynamodb: &Client, table: &str) -> Option<PointInTimeRecoveryStatus> {
    let out = dynamodb
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
        .unwrap();
    out.continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|d| d.point_in_time_recovery_status())
        .cloned()
}

async fn wait_active(dynamodb: &Client, table: &str) {
    use aws_sdk_dynamodb::client::Waiters;
    dynamodb
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_ledger_restored_to_a_point_in_time_is_reattached_under_its_own_name() {
    let env = TestEnv::spawn().await;
    let dynamodb = &env.dynamodb;
    let ledger = env.ledger();
    let table = env.table("LedgerTable");
    for id in ["DC01-0001", "DC01-0002"] {
        ledger.record_seen(&receipt("DC01", id), at(0)).await.unwrap();
    }
    // The table as provisioned from the template has both; the restore must keep them.
    assert_eq!(ttl(dynamodb, &table).await, Some(TimeToLiveStatus::Enabled));
    assert_eq!(pitr(dynamodb, &table).await, Some(PointInTimeRecoveryStatus::Enabled));

    // 2. Restore the point in time beside the table.
    let restored = format!("{table}-restored");
    dynamodb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&restored)
        .restore_date_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(
            chrono::Utc::now().timestamp(),
        ))
        .send()
        .await
        .unwrap();
    wait_active(dynamodb, &restored).await;
    // What a restore does not carry over.
    assert_ne!(ttl(dynamodb, &restored).await, Some(TimeToLiveStatus::Enabled));
    assert_ne!(
        pitr(dynamodb, &restored).await,
        Some(PointInTimeRecoveryStatus::Enabled)
    );

    // 3. Keep the damaged table as a backup, 4. free its name.
    let damaged = dynamodb
        .create_backup()
        .table_name(&table)
        .backup_name("ledger-damaged")
        .send()
        .await
        .unwrap();
    assert!(damaged.backup_details().is_some());
    dynamodb
        .update_table()
        .table_name(&table)
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    dynamodb.delete_table().table_name(&table).send().await.unwrap();

    // 5. The restored data back under the table's own name.
    let backup = dynamodb
        .create_backup()
        .table_name(&restored)
        .backup_name("ledger-restored")
        .send()
        .await
        .unwrap();
    let arn = backup.backup_details().map(|d| d.backup_arn().to_string()).unwrap();
    dynamodb
        .restore_table_from_backup()
        .target_table_name(&table)
        .backup_arn(arn)
        .send()
        .await
        .unwrap();
    wait_active(dynamodb, &table).await;

    // 6. Re-attach what the restore dropped: TTL, point-in-time recovery, deletion protection.
    dynamodb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    dynamodb
        .update_continuous_backups()
        .table_name(&table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    dynamodb
        .update_table()
        .table_name(&table)
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    // 7. The copy beside it goes.
    dynamodb.delete_table().table_name(&restored).send().await.unwrap();

    assert_eq!(ttl(dynamodb, &table).await, Some(TimeToLiveStatus::Enabled));
    assert_eq!(pitr(dynamodb, &table).await, Some(PointInTimeRecoveryStatus::Enabled));
    assert!(
        dynamodb.delete_table().table_name(&table).send().await.is_err(),
        "deletion protection is back on"
    );
    // The functions find their rows by the same name, through the state index too.
    let row = ledger.get(&dc("DC01"), "DC01-0001").await.unwrap().unwrap();
    assert_eq!(row.entry.state, SyncState::PendingSync);
    let pending = ledger.rows_by_state(&dc("DC01"), SyncState::PendingSync).await.unwrap();
    assert_eq!(pending.len(), 2);
}
