//! Baseline checkpoints on the emulator's `BaselineTable`: a plan is stored with its chunks,
//! read back whole or as progress, the newest plan is found, and every write is conditional
//! (a second create and a stale chunk write are refused and change nothing).

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use adapters::aws::DynamoBaselineCheckpoints;
use aws_support::{at, dc, TestEnv};
use domain::golive::baseline::{
    BaselineMode, BaselinePlan, ChunkRecord, ChunkState, ItemClass, LineResult, PlanId, PlanLine, PlanLot, PlanSummary,
};
use domain::golive::OutboxWatermark;
use domain::ports::{BaselineCheckpoints, StoreError};
use domain::{ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use rust_decimal_macros::dec;

fn line(i: usize) -> PlanLine {
    PlanLine {
        item: ItemNumber::parse(format!("ITM-{i:04}")).unwrap(),
        subinventory: SubinventoryCode::parse("STOCK").unwrap(),
        class: ItemClass::Lot,
        uom: Uom::parse("EA").unwrap(),
        target: dec!(12.5),
        fusion: dec!(2),
        lots: vec![PlanLot {
            lot: LotNumber::parse(format!("L-{i}")).unwrap(),
            wms: dec!(12.5),
            fusion: dec!(2),
            expiration: None,
            new_to_fusion: false,
        }],
        serials: vec![SerialNumber::parse(format!("S-{i}")).unwrap()],
        serials_added: Vec::new(),
        serials_removed: Vec::new(),
    }
}

fn plan(seconds: i64, chunks: u32) -> (BaselinePlan, Vec<ChunkRecord>) {
    let created = at(seconds);
    let id = PlanId::new(&dc("DC01"), created);
    let plan = BaselinePlan {
        id: id.clone(),
        dc: dc("DC01"),
        watermark: OutboxWatermark(41),
        created_at: created,
        created_by: domain::console::UserId::parse("ann").unwrap(),
        mode: BaselineMode::BalanceTransactions,
        chunk_size: 3,
        chunks,
        summary: PlanSummary {
            lines_to_apply: u64::from(chunks) * 3,
            ..PlanSummary::default()
        },
    };
    let rows = (0..chunks)
        .map(|i| ChunkRecord {
            dc: dc("DC01"),
            plan: id.clone(),
            index: i,
            lines: (0..3).map(|j| line(i as usize * 3 + j)).collect(),
            state: ChunkState::Pending,
            results: Vec::new(),
            attempts: 0,
            updated_at: created,
            version: 1,
        })
        .collect();
    (plan, rows)
}

#[tokio::test]
async fn a_plan_and_its_chunks_round_trip_and_every_write_is_conditional() {
    let env = TestEnv::spawn().await;
    let store = DynamoBaselineCheckpoints::new(env.dynamodb.clone(), env.table("BaselineTable"), env.writes.clone());
    let (old, old_chunks) = plan(0, 2);
    let (new, new_chunks) = plan(60, 12);
    store.create_plan(&old, &old_chunks).await.unwrap();
    store.create_plan(&new, &new_chunks).await.unwrap();
    assert!(matches!(
        store.create_plan(&new, &new_chunks).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(store.plan(&dc("DC01"), &old.id).await.unwrap(), Some(old.clone()));
    assert_eq!(store.latest_plan(&dc("DC01")).await.unwrap(), Some(new.clone()));
    let chunks = store.chunks(&dc("DC01"), &new.id).await.unwrap();
    assert_eq!(chunks, new_chunks, "chunks come back whole, in index order");

    // Posting then applied, each naming the version it read.
    let mut posting = chunks[4].clone();
    posting.state = ChunkState::Posting { lease_until: at(600) };
    posting.attempts = 1;
    posting.version = 2;
    store.put_chunk(&posting, 1).await.unwrap();
    let mut applied = posting.clone();
    applied.state = ChunkState::Applied;
    applied.results = vec![
        LineResult::Applied,
        LineResult::AlreadyAtTarget,
        LineResult::Refused {
            reason: "The serial number S-13 is on hand elsewhere.".into(),
        },
    ];
    applied.version = 3;
    let stale = applied.clone();
    store.put_chunk(&applied, 2).await.unwrap();
    assert!(matches!(store.put_chunk(&stale, 2).await, Err(StoreError::Conflict(_))));

    let progress = store.progress(&dc("DC01"), &new.id).await.unwrap();
    assert_eq!(progress.len(), 12);
    let p4 = &progress[4];
    assert_eq!(
        (
            p4.state,
            p4.lines,
            p4.applied,
            p4.already_at_target,
            p4.refused,
            p4.attempts
        ),
        ("applied", 3, 1, 1, 1, 1)
    );
    assert!(progress.iter().enumerate().all(|(i, p)| p.index as usize == i));
    assert_eq!(progress.iter().filter(|p| p.state == "pending").count(), 11);
    assert_eq!(store.chunks(&dc("DC01"), &new.id).await.unwrap()[4], applied);
    assert_eq!(store.chunks(&dc("DC01"), &old.id).await.unwrap().len(), 2);
}
