//! Deterministic warehouse activity: picks, receipts, cycle-count adjustments and subinventory
//! transfers, each captured through the same rules as `POST /v1/dcs/{dc}/transactions`, so
//! on-hand never goes negative and every generated transaction has its outbox entry and
//! reservation.

use chrono::Duration;
use rand::Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sim_seed::Control;

use crate::model::{NewLotLine, NewTransaction, Transaction};
use crate::state::{sub_code, Dc, Key, Master, Row};

const ATTEMPTS: usize = 16;

/// A random quantity in `(0, min(max, cap)]` at `scale` decimals; `max` must be positive.
fn quantity(rng: &mut impl Rng, max: Decimal, cap: i64, scale: u32) -> Decimal {
    let ceiling = max.min(Decimal::from(cap));
    let factor = 10i64.pow(scale);
    let units = (ceiling * Decimal::from(factor)).floor().to_i64().unwrap_or(1).max(1);
    let pick = if scale == 0 {
        rng.random_range(1..=units)
    } else if rng.random_bool(0.5) {
        (rng.random_range(1..=(units / factor).max(1)) * factor).min(units)
    } else {
        rng.random_range(1..=units)
    };
    Decimal::new(pick, scale)
}

fn rows_of(dc: &Dc, item: u32) -> Vec<(Key, Row)> {
    dc.balances
        .range((item, 0u8, None)..(item + 1, 0u8, None))
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect()
}

fn signed(q: Decimal, negative: bool) -> String {
    if negative {
        (-q).to_string()
    } else {
        q.to_string()
    }
}

/// Builds one candidate transaction for `dc`; `None` when the random pick cannot work
/// (e.g. nothing on hand to pick).
fn candidate(dc: &mut Dc, master: &Master) -> Option<NewTransaction> {
    let item_index = dc.rng.random_range(0..master.items.len().max(1)) as u32;
    let item = master.items.get(item_index as usize)?.clone();
    let roll = dc.rng.random_range(0..100);
    let rows = rows_of(dc, item_index);
    let stocked: Vec<&(Key, Row)> = rows.iter().filter(|(_, r)| r.quantity > Decimal::ZERO).collect();
    let mut tx = NewTransaction {
        item: item.number.clone(),
        uom: item.uom.clone(),
        ..NewTransaction::default()
    };
    match roll {
        0..=54 | 85..=99 => {
            let (key, row) = *stocked.get(dc.rng.random_range(0..stocked.len().max(1)))?;
            let transfer = roll >= 85;
            let q = match item.control {
                Control::Serial => {
                    if row.serials.is_empty() {
                        return None;
                    }
                    let n = dc.rng.random_range(1..=row.serials.len().min(3));
                    let start = dc.rng.random_range(0..=row.serials.len() - n);
                    tx.serials = row.serials.iter().skip(start).take(n).cloned().collect();
                    Decimal::from(n as u64)
                }
                _ => quantity(&mut dc.rng, row.quantity, if transfer { 60 } else { 12 }, item.scale),
            };
            if let Some(lot) = &key.2 {
                tx.lots = vec![NewLotLine {
                    lot: lot.clone(),
                    quantity: q.to_string(),
                    expiration: row.expiration,
                }];
            }
            tx.subinventory = sub_code(key.1).to_string();
            if transfer {
                tx.kind = "subinventory_transfer".into();
                let others: Vec<u8> = (0..4u8).filter(|s| *s != key.1).collect();
                let to = others.get(dc.rng.random_range(0..others.len()))?;
                tx.to_subinventory = Some(sub_code(*to).to_string());
                tx.quantity = q.to_string();
            } else {
                tx.kind = "misc_issue".into();
                tx.quantity = signed(q, true);
            }
        }
        55..=74 => {
            tx.kind = "misc_receipt".into();
            tx.subinventory = if dc.rng.random_bool(0.8) { "STORES" } else { "RETURNS" }.into();
            let q = match item.control {
                Control::Serial => {
                    let n = dc.rng.random_range(1..=5u64);
                    for _ in 0..n {
                        dc.minted += 1;
                        tx.serials
                            .push(format!("SN{}G{item_index:06}{:07}", dc.code, dc.minted));
                    }
                    Decimal::from(n)
                }
                _ => quantity(&mut dc.rng, Decimal::from(500), 500, item.scale),
            };
            if item.control == Control::Lot {
                let existing: Vec<&(Key, Row)> = rows.iter().filter(|(k, _)| k.2.is_some()).collect();
                let line = match existing.get(dc.rng.random_range(0..existing.len().max(1))) {
                    Some((key, row)) if dc.rng.random_bool(0.5) => NewLotLine {
                        lot: key.2.clone().unwrap_or_default(),
                        quantity: q.to_string(),
                        expiration: row.expiration,
                    },
                    _ => {
                        dc.minted += 1;
                        let days = dc.rng.random_range(60..720);
                        NewLotLine {
                            lot: format!("L{item_index:06}-G{}", dc.minted),
                            quantity: q.to_string(),
                            expiration: Some(master.today + Duration::days(days)),
                        }
                    }
                };
                tx.lots = vec![line];
            }
            tx.quantity = q.to_string();
        }
        _ => {
            let (key, row) = rows.get(dc.rng.random_range(0..rows.len().max(1)))?;
            tx.kind = "adjustment".into();
            tx.subinventory = sub_code(key.1).to_string();
            let size = Decimal::from(dc.rng.random_range(1..=3i64));
            let negative = row.quantity >= size && dc.rng.random_bool(0.5);
            if item.control == Control::Serial {
                if negative {
                    tx.serials = row
                        .serials
                        .iter()
                        .rev()
                        .take(size.to_usize().unwrap_or(1))
                        .cloned()
                        .collect();
                } else {
                    for _ in 0..size.to_u64().unwrap_or(1) {
                        dc.minted += 1;
                        tx.serials
                            .push(format!("SN{}C{item_index:06}{:07}", dc.code, dc.minted));
                    }
                }
            }
            if let Some(lot) = &key.2 {
                tx.lots = vec![NewLotLine {
                    lot: lot.clone(),
                    quantity: size.to_string(),
                    expiration: row.expiration,
                }];
            }
            tx.quantity = signed(size, negative);
        }
    }
    Some(tx)
}

/// Generates and captures one transaction at `dc`.
pub(crate) fn generate_one(dc: &mut Dc, master: &Master) -> Option<Transaction> {
    for _ in 0..ATTEMPTS {
        if let Some(tx) = candidate(dc, master) {
            if let Ok(captured) = dc.capture(master, tx) {
                return Some(captured.transaction);
            }
        }
    }
    None
}

impl crate::state::Store {
    /// Generates `count` transactions at `dc`, or at randomly picked DCs when `dc` is `None`.
    pub(crate) fn generate(&self, dc: Option<&str>, count: usize) -> Result<Vec<Transaction>, crate::error::ApiError> {
        if count > 100_000 {
            return Err(crate::error::ApiError::unprocessable(
                "count_too_large",
                "at most 100000 transactions per call",
            )
            .at("count"));
        }
        let fixed = match dc {
            Some(code) => Some(
                self.master
                    .dcs
                    .iter()
                    .position(|c| c == code)
                    .ok_or_else(|| crate::error::ApiError::unknown_dc(code))?,
            ),
            None => None,
        };
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let index = match fixed {
                Some(i) => i,
                None => {
                    let mut picker = self.picker.lock().unwrap_or_else(|p| p.into_inner());
                    picker.random_range(0..self.master.dcs.len().max(1))
                }
            };
            let Some(mut guard) = self.dc_at(index) else { continue };
            if let Some(tx) = generate_one(&mut guard, &self.master) {
                out.push(tx);
            }
        }
        Ok(out)
    }
}
