//! Holds on items the WMS simulator knows (the seeding helper's `SEED-H<n>` items exist only
//! in the fakes): an open incident and its WMS hold for the first `n` items of a DC.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use domain::ids::{DcCode, ItemNumber, SubinventoryCode};
use domain::ports::{BalanceKeyText, Hold, Incident, IncidentId, Incidents, WarehouseSystem};
use domain::reconciliation::ReconcilePorts;
use domain::variance::BalanceKey;
use test_harness::TestEnv;

/// Places `n` holds at `dc` (distinct items) with their incidents; answers the items.
pub async fn hold_items<P: ReconcilePorts>(env: &TestEnv, ports: &P, dc: &DcCode, n: usize) -> Vec<String> {
    let mut items: Vec<(String, String)> = env
        .wms
        .balances(dc.as_str())
        .into_iter()
        .map(|b| (b.item, b.subinventory))
        .collect();
    items.sort();
    items.dedup_by(|a, b| a.0 == b.0);
    let mut held = Vec::new();
    for (i, (item, sub)) in items.into_iter().take(n).enumerate() {
        let item_no = ItemNumber::parse(item.clone()).unwrap();
        let key = BalanceKey::new(dc.clone(), item_no.clone(), SubinventoryCode::parse(sub).unwrap(), None);
        let incident = Incident {
            dc: dc.clone(),
            key: BalanceKeyText::from(&key),
            item: item_no.clone(),
            id: IncidentId::from_digest(0xc0de_0000_0000_0000 + i as u64),
            opened_at: Utc::now(),
        };
        ports.incidents().open_if_absent(&incident).await.unwrap();
        let hold = Hold {
            item: item_no,
            reason: "variance above the alert threshold".into(),
            placed_by: domain::reconciliation::HOLD_PLACED_BY.into(),
            reference: incident.id.to_string(),
        };
        ports.wms().place_hold(dc, &hold).await.unwrap();
        held.push(item);
    }
    held
}
