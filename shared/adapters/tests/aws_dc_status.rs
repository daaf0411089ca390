//! The DC status table on the emulator's `DcStatusTable`: a DC without a row reads as absent,
//! every write is conditional on the version read (the first on the row's absence), and `all`
//! returns every DC.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use adapters::aws::DynamoDcStatus;
use aws_support::{dc, TestEnv};
use chrono::Utc;
use domain::console::UserId;
use domain::golive::{DcStatus, DcStatusChange, DcStatusRecord, OutboxWatermark};
use domain::ports::{DcStatusBoard, StoreError};

fn board(env: &TestEnv) -> DynamoDcStatus {
    DynamoDcStatus::new(env.dynamodb.clone(), env.table("DcStatusTable"), env.writes.clone())
}

fn change(to: DcStatus, reason: Option<&str>) -> DcStatusChange {
    DcStatusChange {
        to,
        by: UserId::parse("ops.ann").unwrap(),
        at: Utc::now(),
        reason: reason.map(str::to_string),
        watermark: Some(OutboxWatermark(1_234)),
    }
}

#[tokio::test]
async fn a_status_is_written_only_on_the_version_read_and_reads_back_exactly() {
    let env = TestEnv::spawn().await;
    let board = board(&env);
    let dc1 = dc("DC01");
    assert_eq!(board.get(&dc1).await.unwrap(), None);

    let fresh = DcStatusRecord::not_started(dc1.clone(), Utc::now()).unwrap();
    let planned = fresh.apply(change(DcStatus::Planned, None)).unwrap();
    board.put(&planned, 0).await.unwrap();
    // A second writer that also read "no row" loses.
    let other = fresh.apply(change(DcStatus::Planned, Some("other"))).unwrap();
    assert!(matches!(board.put(&other, 0).await, Err(StoreError::Conflict(_))));
    assert_eq!(board.get(&dc1).await.unwrap(), Some(planned.clone()));

    let baselining = planned.apply(change(DcStatus::Baselining, None)).unwrap();
    board.put(&baselining, planned.version).await.unwrap();
    // A write on a stale version is refused and changes nothing.
    let stale = planned.apply(change(DcStatus::Baselining, Some("stale"))).unwrap();
    let e = board.put(&stale, planned.version).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("DC01")), "{e}");
    let stored = board.get(&dc1).await.unwrap().unwrap();
    assert_eq!(stored, baselining);
    assert_eq!((stored.version, stored.watermark), (2, Some(OutboxWatermark(1_234))));
    assert_eq!(env.writes.get(), 4, "every put is one write request, lost or not");
}

#[tokio::test]
async fn all_lists_every_dc_with_a_row_in_dc_order() {
    let env = TestEnv::spawn().await;
    let board = board(&env);
    for (code, status) in [
        ("DC03", DcStatus::Planned),
        ("DC01", DcStatus::Planned),
        ("DC12", DcStatus::Planned),
    ] {
        let fresh = DcStatusRecord::not_started(dc(code), Utc::now()).unwrap();
        board.put(&fresh.apply(change(status, None)).unwrap(), 0).await.unwrap();
    }
    let all = board.all().await.unwrap();
    let codes: Vec<&str> = all.iter().map(|r| r.dc.as_str()).collect();
    assert_eq!(codes, ["DC01", "DC03", "DC12"]);
    assert!(all.iter().all(|r| r.status == DcStatus::Planned && r.version == 1));
}
