//! Seeding for console tests and benchmarks: open variance tasks (with figures), incidents
//! with their WMS holds, and failed transactions, spread round-robin over DCs, written through
//! the ports, so the same plan fills the in-memory fakes and the AWS stores with a simulator.
//!
//! Names are deterministic: task `bal:<dc>/SEED-T<n>/STORES`, incident `<dc>/<item>/SEED<n>`
//! holding item `SEED-H<n>` (or `SeedPlan::hold_items` in turn),
//! failed transaction `SEED-F<n>` of item `SEED-I<n % 50>`.

use crate::build::{dc, epoch};
use crate::TxnBuilder;
use chrono::{DateTime, Duration, Utc};
use domain::console::VarianceFigures;
use domain::ids::{DcCode, ItemNumber, SubinventoryCode, Uom, WmsTxnId};
use domain::ledger::{Failure, LedgerEntry, LedgerEvent};
use domain::ports::{
    BalanceKeyText, Hold, Incident, IncidentId, Incidents, Recorded, ReviewTask, ReviewTasks, SyncLedger, TaskKey,
    TaskKind, WarehouseSystem,
};
use domain::reconciliation::ReconcilePorts;
use domain::variance::BalanceKey;
use rust_decimal::Decimal;

/// How much to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedPlan {
    /// DCs, filled round-robin.
    pub dcs: Vec<DcCode>,
    /// Open variance tasks in total.
    pub open_tasks: usize,
    /// Incidents with an active hold in total.
    pub holds: usize,
    /// `sync_failed` transactions in total (permanent Fusion refusals).
    pub failed_txns: usize,
    /// Items to hold, used in turn (a real WMS or the simulator holds only items it knows);
    /// empty: `SEED-H<n>` (the fakes hold any item).
    pub hold_items: Vec<ItemNumber>,
}

impl SeedPlan {
    /// `DC01`..`DC<n>`.
    pub fn dcs(n: usize) -> Vec<DcCode> {
        (1..=n).map(|i| dc(&format!("DC{i:02}"))).collect()
    }

    /// The console benchmark's scale: 12 DCs, 5,000 open tasks, 500 holds, 2,000 failed
    /// transactions.
    pub fn benchmark() -> Self {
        Self {
            dcs: Self::dcs(12),
            open_tasks: 5_000,
            holds: 500,
            failed_txns: 2_000,
            hold_items: Vec::new(),
        }
    }

    /// A small plan for tests.
    pub fn small(dcs: usize, each: usize) -> Self {
        Self {
            dcs: Self::dcs(dcs),
            open_tasks: dcs * each,
            holds: dcs * each,
            failed_txns: dcs * each,
            hold_items: Vec::new(),
        }
    }
}

/// What was seeded, per kind, in seeding order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Tasks.
    pub tasks: Vec<(DcCode, TaskKey)>,
    /// Incidents (each with a WMS hold on its item).
    pub incidents: Vec<Incident>,
    /// Failed transactions.
    pub failed: Vec<(DcCode, WmsTxnId)>,
}

fn parse<T>(r: Result<T, domain::DomainError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// The figures and task of seeded task `n` at `dc`: WMS 110, Fusion 100, variance 10 EA.
pub fn seed_task(dc: &DcCode, n: usize) -> Result<ReviewTask, String> {
    let key = BalanceKey::new(
        dc.clone(),
        parse(ItemNumber::parse(format!("SEED-T{n}")))?,
        parse(SubinventoryCode::parse("STORES"))?,
        None,
    );
    let figures = VarianceFigures {
        key: key.clone(),
        wms: Decimal::from(110),
        fusion: Decimal::from(100),
        in_flight: Decimal::ZERO,
        variance: Decimal::from(10),
        uom: Some(parse(Uom::parse("EA"))?),
        expiration: None,
        serial_controlled: false,
    };
    Ok(ReviewTask {
        dc: dc.clone(),
        key: TaskKey::balance(&key),
        kind: TaskKind::Variance,
        summary: format!(
            "Variance 10 EA for {} at {dc}/STORES: WMS 110, Fusion 100, in flight 0",
            key.item
        ),
        detail: "Seeded variance task.".into(),
        figures: Some(figures),
    })
}

/// Writes `plan` through `ports` at `now`. Tasks and incidents are put-if-absent (seeding
/// twice adds nothing); holds are idempotent at the WMS; a failed transaction already in the
/// ledger is left as it is.
pub async fn seed_console<P: ReconcilePorts>(ports: &P, plan: &SeedPlan, now: DateTime<Utc>) -> Result<Seeded, String> {
    let mut seeded = Seeded::default();
    if plan.dcs.is_empty() {
        return Ok(seeded);
    }
    let at = |i: usize| &plan.dcs[i % plan.dcs.len()];
    for n in 0..plan.open_tasks {
        let task = seed_task(at(n), n)?;
        ports
            .tasks()
            .open_or_update(&task, now)
            .await
            .map_err(|e| e.to_string())?;
        seeded.tasks.push((task.dc.clone(), task.key.clone()));
    }
    for n in 0..plan.holds {
        let dc = at(n);
        let item = match plan.hold_items.get(n % plan.hold_items.len().max(1)) {
            Some(item) => item.clone(),
            None => parse(ItemNumber::parse(format!("SEED-H{n}")))?,
        };
        let key = BalanceKey::new(
            dc.clone(),
            item.clone(),
            parse(SubinventoryCode::parse("STORES"))?,
            None,
        );
        let incident = Incident {
            dc: dc.clone(),
            key: BalanceKeyText::from(&key),
            item: item.clone(),
            id: IncidentId::from_digest(0x5eed_0000_0000_0000 + n as u64),
            opened_at: now,
        };
        ports
            .incidents()
            .open_if_absent(&incident)
            .await
            .map_err(|e| e.to_string())?;
        let hold = Hold {
            item,
            reason: "seeded: variance above the alert threshold".into(),
            placed_by: domain::reconciliation::HOLD_PLACED_BY.into(),
            reference: incident.id.to_string(),
        };
        ports.wms().place_hold(dc, &hold).await.map_err(|e| e.to_string())?;
        seeded.incidents.push(incident);
    }
    for n in 0..plan.failed_txns {
        let dc = at(n);
        let id = format!("SEED-F{n}");
        let txn = TxnBuilder::receipt(&id, &format!("SEED-I{}", n % 50), 5)
            .dc(dc.as_str())
            .at(epoch() + Duration::seconds(n as i64))
            .try_build()
            .map_err(|e| e.to_string())?;
        let claimed = LedgerEntry::pending()
            .apply(LedgerEvent::Claim {
                now,
                lease_until: now + Duration::minutes(5),
                max_attempts: 3,
            })
            .map_err(|e| e.to_string())?;
        let row = match ports
            .ledger()
            .record_claimed(&txn, &claimed, now)
            .await
            .map_err(|e| e.to_string())?
        {
            Recorded::Created(row) => row,
            Recorded::Existing(_) => {
                seeded.failed.push((dc.clone(), txn.id().clone()));
                continue;
            }
        };
        let failed = row
            .entry
            .apply(LedgerEvent::Fail(Failure {
                retryable: false,
                reason: format!("Fusion: JBO-27014 Attribute SEED-I{} is required (seeded)", n % 50),
                systemic: false,
            }))
            .map_err(|e| e.to_string())?;
        ports
            .ledger()
            .transition(&row, &failed, now)
            .await
            .map_err(|e| e.to_string())?;
        seeded.failed.push((dc.clone(), txn.id().clone()));
    }
    Ok(seeded)
}
