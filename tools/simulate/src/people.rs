//! The simulated people, acting through the operator console's service layer
//! (`console::ConsoleService`) as the web page and the CLI do: supervisors resolve review
//! tasks, the integration team fixes or closes failed transactions, managers have alerted
//! keys corrected and release their holds, each after a delay.

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;
use console::{CloseRequest, ConsoleService, ConsoleSettings, ReleaseRequest, ResolveRequest};
use domain::console::{DcScope, Principal, Reason, Resolution, Role, TaskStatus, UserId};
use domain::ports::TaskKey;
use domain::WmsTxnId;
use rust_decimal::Decimal;
use sim_seed::Control;

use crate::inject::{BadKind, Injected};
use crate::ports::SimPorts;
use crate::truth::{Key, KeyMap, Outbox};
use crate::world::World;

/// What the people did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PeopleFigures {
    /// Variance tasks resolved by an adjustment through the console.
    pub tasks_adjusted: u64,
    /// Tasks closed with a reason.
    pub tasks_closed: u64,
    /// Failed transactions retried after fixing their cause.
    pub txns_retried: u64,
    /// Failed transactions closed as handled outside invsync.
    pub txns_closed: u64,
    /// Holds released.
    pub holds_released: u64,
    /// Keys corrected in Fusion by hand (alerted keys, transactions handled outside).
    pub fusion_corrections: u64,
    /// Console calls refused or failed.
    pub errors: u64,
}

/// The people of every DC.
pub struct People {
    console: ConsoleService<SimPorts>,
    who: Principal,
    released: BTreeSet<String>,
    /// What they did.
    pub figures: PeopleFigures,
}

impl std::fmt::Debug for People {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("People").field("figures", &self.figures).finish()
    }
}

fn reason(text: &str) -> anyhow::Result<Reason> {
    Reason::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Parses `DC01/ITEM/SUB[/LOT]`.
pub fn parse_key(world: &World, text: &str) -> Option<Key> {
    let mut parts = text.splitn(4, '/');
    let dc = world.dc_index(parts.next()?)?;
    Some(Key {
        dc,
        item: parts.next()?.to_string(),
        sub: parts.next()?.to_string(),
        lot: parts.next().map(str::to_string),
    })
}

impl People {
    /// People with every role over every DC.
    pub fn new(ports: SimPorts) -> anyhow::Result<Self> {
        let mut who = Principal::new(
            UserId::parse("sim.supervisor").map_err(|e| anyhow::anyhow!("{e}"))?,
            Role::Supervisor,
            DcScope::All,
        );
        who.roles.extend(Role::ALL);
        Ok(Self {
            console: ConsoleService::new(ports, ConsoleSettings::default()),
            who,
            released: BTreeSet::new(),
            figures: PeopleFigures::default(),
        })
    }

    /// Acts on every task and incident older than its delay.
    pub async fn act(&mut self, world: &World, outbox: &Outbox, inj: &Injected) -> anyhow::Result<()> {
        let now = world.now();
        let stores = world.ports.stores();
        let supervisor = Duration::minutes(world.settings.supervisor_delay_min);
        let manager = Duration::minutes(world.settings.manager_delay_min);
        let mut in_flight: HashMap<usize, KeyMap<Decimal>> = HashMap::new();
        let bad: HashMap<&str, (BadKind, usize, &str)> = inj
            .bad
            .iter()
            .map(|b| (b.txn.as_str(), (b.kind, b.dc, b.item.as_str())))
            .collect();
        for rec in stores.tasks.records() {
            if !rec.is_open() || now - rec.opened_at < supervisor || rec.state.status == TaskStatus::Resolving {
                continue;
            }
            let dc = rec.task.dc.clone();
            let close = |why: &str| -> anyhow::Result<Resolution> { Ok(Resolution::Close { reason: reason(why)? }) };
            let resolution = match &rec.task.key {
                TaskKey::Balance(b) => {
                    let serial = parse_key(world, b.as_str())
                        .and_then(|k| world.wms.item(&k.item))
                        .is_some_and(|i| i.control == Control::Serial);
                    if rec.task.figures.is_some() && !serial {
                        Resolution::Adjust
                    } else {
                        close("counted and corrected by hand")?
                    }
                }
                TaskKey::Txn(id) => {
                    self.fix_txn(world, outbox, &mut in_flight, bad.get(id.as_str()).copied(), id)
                        .await?;
                    close("cause fixed; transaction retried or handled outside")?
                }
                TaskKey::Systemic(_) => close("the cause was fixed")?,
            };
            let adjust = resolution == Resolution::Adjust;
            let request = ResolveRequest {
                version: rec.state.version,
                resolution,
            };
            match self
                .console
                .resolve_task(Some(&self.who), &dc, &rec.task.key, &request)
                .await
            {
                Ok(_) if adjust => self.figures.tasks_adjusted += 1,
                Ok(_) => self.figures.tasks_closed += 1,
                Err(_) => self.figures.errors += 1,
            }
        }
        for (incident, closed) in stores.incidents.records() {
            if closed.is_some() || now - incident.opened_at < manager || self.released.contains(incident.id.as_str()) {
                continue;
            }
            self.released.insert(incident.id.to_string());
            if let Some(key) = parse_key(world, incident.key.as_str()) {
                self.correct(world, outbox, &mut in_flight, &key);
            }
            let request = ReleaseRequest {
                reason: reason("recounted, Fusion corrected")?,
            };
            match self
                .console
                .release_hold(Some(&self.who), &incident.dc, &incident.item, &request)
                .await
            {
                Ok(_) => self.figures.holds_released += 1,
                Err(_) => self.figures.errors += 1,
            }
        }
        Ok(())
    }

    async fn fix_txn(
        &mut self,
        world: &World,
        outbox: &Outbox,
        in_flight: &mut HashMap<usize, KeyMap<Decimal>>,
        bad: Option<(BadKind, usize, &str)>,
        id: &str,
    ) -> anyhow::Result<()> {
        let Ok(txn) = WmsTxnId::parse(id) else { return Ok(()) };
        let Some(dc_index) = bad.map(|b| b.1).or_else(|| outbox.failed.get(id).map(|t| t.dc)) else {
            return Ok(());
        };
        let dc = world.dcs[dc_index].clone();
        match bad {
            Some((BadKind::UnknownItem, _, item)) => {
                world.fusion.assign_item(&world.codes[dc_index], item);
                self.retry(&dc, &txn).await;
            }
            Some(_) => {
                if let Some(t) = outbox.failed.get(id) {
                    for (k, _) in &t.effects {
                        self.correct(world, outbox, in_flight, k);
                    }
                }
                let request = CloseRequest {
                    reason: reason("booked in Fusion by hand")?,
                };
                match self.console.close_txn(Some(&self.who), &dc, &txn, &request).await {
                    Ok(_) => self.figures.txns_closed += 1,
                    Err(_) => self.figures.errors += 1,
                }
            }
            None => self.retry(&dc, &txn).await,
        }
        Ok(())
    }

    async fn retry(&mut self, dc: &domain::DcCode, txn: &WmsTxnId) {
        match self.console.retry_txn(Some(&self.who), dc, txn).await {
            Ok(_) => self.figures.txns_retried += 1,
            Err(_) => self.figures.errors += 1,
        }
    }

    /// Sets Fusion's on-hand of `key` to the WMS's less what is in flight, as a person who
    /// recounted and corrected Fusion by hand would.
    fn correct(&mut self, world: &World, outbox: &Outbox, in_flight: &mut HashMap<usize, KeyMap<Decimal>>, key: &Key) {
        let code = &world.codes[key.dc];
        let flying = in_flight
            .entry(key.dc)
            .or_insert_with(|| outbox.in_flight(key.dc, code, &world.ports.stores().ledger))
            .get(key)
            .copied()
            .unwrap_or_default();
        let wms = world
            .wms
            .on_hand(code, &key.item, &key.sub, key.lot.as_deref())
            .unwrap_or_default();
        let fusion = world.fusion.onhand(code, &key.item, &key.sub, key.lot.as_deref());
        let delta = wms - flying - fusion;
        if !delta.is_zero()
            && world
                .fusion
                .adjust(code, &key.item, &key.sub, key.lot.as_deref(), delta)
                .is_ok()
        {
            self.figures.fusion_corrections += 1;
        }
    }
}
