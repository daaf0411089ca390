//! The in-process views a simulation reads the simulator through: every on-hand row at once,
//! rows waiting for the transaction manager, what it completed since a point, and item
//! assignment.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::json;
use sim_seed::Control;

#[tokio::test]
async fn onhand_rows_pending_rows_and_completed_references_follow_the_state() {
    let env = start().await;
    // 1. Every on-hand row of DC01 at once agrees with the key-by-key reading.
    let rows = env.sim.onhand_rows("DC01");
    assert!(!rows.is_empty());
    for (item, sub, lot, q) in rows.iter().take(200) {
        assert_eq!(env.sim.onhand("DC01", item, sub, lot.as_deref()), *q);
    }
    assert_eq!(rows.iter().map(|r| r.3).sum::<Decimal>(), env.sim.org_total("DC01"));

    // 2. A Background row waits with its references; processing it moves it to the completed
    //    references from the point read before.
    let (item, sub, before) = env.item_with(Control::Plain, Some("EA"));
    let (_, from) = env.sim.completed_references_from(usize::MAX);
    let (status, _) = env
        .stage(&json!({
            "OrganizationCode": "DC01", "ItemNumber": item, "SubinventoryCode": sub,
            "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": 3,
            "TransactionUnitOfMeasure": "EA", "SourceCode": "WMS", "SourceHeaderId": "RC-SIM-1",
            "SourceLineId": 1, "TransactionMode": 3,
        }))
        .await;
    assert_eq!(status, 201);
    let pending = env.sim.pending_staged();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].item.as_str(), pending[0].quantity),
        (item.as_str(), Decimal::from(3))
    );
    assert!(pending[0].references.contains(&"RC-SIM-1".to_string()));
    assert_eq!(env.sim.process_staged().processed, 1);
    assert!(env.sim.pending_staged().is_empty());
    let (refs, next) = env.sim.completed_references_from(from);
    assert!(refs.contains(&"RC-SIM-1".to_string()), "{refs:?}");
    assert!(env.sim.completed_references_from(next).0.is_empty());
    assert_eq!(env.sim.onhand("DC01", &item, &sub, None), before + Decimal::from(3));

    // 3. An unassigned item is refused until it is assigned again.
    env.sim.unassign_item("DC01", &item);
    let receipt = json!({
        "OrganizationCode": "DC01", "ItemNumber": item, "SubinventoryCode": sub,
        "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": 1,
        "TransactionUnitOfMeasure": "EA", "SourceCode": "WMS", "SourceHeaderId": "WMS-2",
        "SourceLineId": 1, "TransactionMode": 1,
    });
    assert_eq!(env.stage(&receipt).await.0, 400);
    env.sim.assign_item("DC01", &item);
    assert_eq!(env.stage(&receipt).await.0, 201);
}
