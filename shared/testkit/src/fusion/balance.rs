//! [`FakeFusion`] as a [`BalanceLoader`]: `inventoryBalanceTransactions` in memory. Each line
//! sets on-hand at its (item, subinventory) to the absolute balance, lots and serials
//! included, and is counted, so a test can prove that no line was applied twice.

use super::*;
use domain::ports::{BalanceLine, BalanceLoad, BalanceLoader, RefusedBalance};

/// What the next balance calls do instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalanceFault {
    /// Fail before anything is applied.
    FailBefore(FusionError),
    /// Apply every line, then lose the answer with this error (a 408 after staging, a
    /// timeout, a dropped connection).
    ApplyThenFail(FusionError),
}

/// The balance resource's state inside [`FakeFusion`].
#[derive(Debug, Default)]
pub(super) struct BalanceState {
    faults: std::collections::VecDeque<BalanceFault>,
    missing: bool,
    calls: u64,
    applied: BTreeMap<(DcCode, ItemNumber, SubinventoryCode), usize>,
}

impl FakeFusion {
    /// The next balance calls, one fault each, in order.
    pub fn balance_faults(&self, faults: impl IntoIterator<Item = BalanceFault>) {
        lock(&self.state).balance.faults.extend(faults);
    }

    /// Whether `inventoryBalanceTransactions` answers 404 (not enabled on the pod).
    pub fn set_balance_resource_missing(&self, missing: bool) {
        lock(&self.state).balance.missing = missing;
    }

    /// `load_balances` calls, failed ones included.
    pub fn balance_calls(&self) -> u64 {
        lock(&self.state).balance.calls
    }

    /// How many times each (DC, item, subinventory) balance was applied.
    pub fn balance_applications(&self) -> BTreeMap<(DcCode, ItemNumber, SubinventoryCode), usize> {
        lock(&self.state).balance.applied.clone()
    }
}

impl State {
    /// Applies one balance line, or Fusion's reason for refusing it.
    fn apply_balance(&mut self, dc: &DcCode, l: &BalanceLine) -> Result<(), String> {
        let info = self
            .items
            .get(&(dc.clone(), l.item.clone()))
            .cloned()
            .ok_or_else(|| format!("The item {} doesn't exist in organization {dc}.", l.item))?;
        if l.quantity.is_sign_negative() && !l.quantity.is_zero() {
            return Err("A balance quantity can't be negative.".into());
        }
        if info.lot_controlled {
            let sum: Decimal = l.lots.iter().map(|x| x.quantity).sum();
            if sum != l.quantity {
                return Err(format!(
                    "The lot quantities total {sum}, not the quantity {}.",
                    l.quantity
                ));
            }
        } else if !l.lots.is_empty() {
            return Err(format!("The item {} isn't lot controlled.", l.item));
        }
        if info.serial_controlled {
            if Decimal::from(l.serials.len() as u64) != l.quantity {
                return Err(format!(
                    "The {} serial numbers don't match the quantity {}.",
                    l.serials.len(),
                    l.quantity
                ));
            }
        } else if !l.serials.is_empty() {
            return Err(format!("The item {} isn't serial controlled.", l.item));
        }
        self.onhand
            .retain(|(d, i, s, _), _| !(d == dc && i == &l.item && s == &l.subinventory));
        let row = |lot: Option<LotNumber>, quantity: Decimal, expiration, serials: Vec<SerialNumber>| OnhandRow {
            dc: dc.clone(),
            item: l.item.clone(),
            subinventory: l.subinventory.clone(),
            lot,
            expiration,
            serials,
            quantity,
            uom: info.primary_uom.clone(),
        };
        if info.lot_controlled {
            for x in &l.lots {
                self.lots
                    .entry((dc.clone(), l.item.clone(), x.lot.clone()))
                    .or_insert_with(|| FusionLot {
                        number: x.lot.clone(),
                        expiration: x.expiration,
                    });
                let r = row(Some(x.lot.clone()), x.quantity, x.expiration, Vec::new());
                self.onhand.insert(
                    (dc.clone(), l.item.clone(), l.subinventory.clone(), Some(x.lot.clone())),
                    r,
                );
            }
        } else {
            let r = row(None, l.quantity, None, l.serials.clone());
            self.onhand
                .insert((dc.clone(), l.item.clone(), l.subinventory.clone(), None), r);
        }
        *self
            .balance
            .applied
            .entry((dc.clone(), l.item.clone(), l.subinventory.clone()))
            .or_default() += 1;
        Ok(())
    }
}

impl BalanceLoader for FakeFusion {
    async fn load_balances(&self, dc: &DcCode, lines: &[BalanceLine]) -> Result<BalanceLoad, FusionError> {
        let yields = {
            let mut s = lock(&self.state);
            s.balance.calls += 1;
            s.tick();
            s.yields
        };
        if yields {
            YieldOnce(false).await;
        }
        let mut s = lock(&self.state);
        if s.balance.missing {
            return Err(FusionError::NotFound("inventoryBalanceTransactions".into()));
        }
        let fault = s.balance.faults.pop_front();
        if let Some(BalanceFault::FailBefore(e)) = fault {
            return Err(e);
        }
        let mut load = BalanceLoad {
            requests: 1,
            ..BalanceLoad::default()
        };
        for l in lines {
            if let Err(detail) = s.apply_balance(dc, l) {
                load.refused.push(RefusedBalance {
                    item: l.item.to_string(),
                    subinventory: l.subinventory.to_string(),
                    detail,
                });
            }
        }
        if !load.refused.is_empty() {
            load.messages.push(format!(
                "{} of {} balance records failed.",
                load.refused.len(),
                lines.len()
            ));
        }
        match fault {
            Some(BalanceFault::ApplyThenFail(e)) => Err(e),
            _ => Ok(load),
        }
    }
}
