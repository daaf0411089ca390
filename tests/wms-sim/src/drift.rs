//! Drift injection: silent on-hand changes that never reach the outbox, so reconciliation
//! tests know exactly which variances must be found.

use std::collections::HashSet;

use chrono::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sim_seed::Control;

use crate::error::ApiError;
use crate::model::{AppliedDrift, DriftBand, DriftBandsRequest, DriftRequest};
use crate::state::{at_scale, parse_decimal, sub_code, sub_index, Dc, Master, Store, SUBINVENTORIES};

/// Applies one drift to a locked DC; refuses (and changes nothing) if the row would go negative.
pub(crate) fn apply(dc: &mut Dc, master: &Master, req: &DriftRequest) -> Result<AppliedDrift, ApiError> {
    let (item_index, item) = master.item(&req.item, "item")?;
    let sub = sub_index(&req.subinventory).ok_or_else(|| {
        ApiError::unprocessable(
            "unknown_subinventory",
            format!("no subinventory {:?} (known: {SUBINVENTORIES:?})", req.subinventory),
        )
        .at("subinventory")
    })?;
    match (item.control, &req.lot) {
        (Control::Lot, None) => {
            return Err(ApiError::unprocessable("lot_required", format!("{} is lot-controlled", item.number)).at("lot"))
        }
        (Control::Plain | Control::Serial, Some(_)) => {
            return Err(
                ApiError::unprocessable("lot_not_allowed", format!("{} is not lot-controlled", item.number)).at("lot"),
            )
        }
        _ => {}
    }
    let delta = parse_decimal(&req.delta, "delta")?;
    if delta.is_zero() {
        return Err(ApiError::unprocessable("invalid_quantity_sign", "delta must be non-zero").at("delta"));
    }
    let delta = at_scale(delta, item, "delta")?;
    let key = (item_index, sub, req.lot.clone());
    let before = dc.balances.get(&key).map(|r| r.quantity).unwrap_or_else(|| {
        let mut z = Decimal::ZERO;
        z.rescale(item.scale);
        z
    });
    let after = before + delta;
    if after < Decimal::ZERO {
        return Err(ApiError::conflict(
            "insufficient_onhand",
            format!(
                "{} in {} has {before} on hand; a drift of {delta} would go negative",
                item.number, req.subinventory
            ),
        )
        .at("delta"));
    }
    let known = req
        .lot
        .as_ref()
        .and_then(|l| dc.lot_expirations.get(&(item_index, l.clone())).copied());
    if let (Some(k), Some(given)) = (known, req.expiration) {
        if k != given {
            return Err(
                ApiError::unprocessable("lot_expiration_mismatch", format!("lot expires {k}, not {given}"))
                    .at("expiration"),
            );
        }
    }
    let expiration = req
        .lot
        .as_ref()
        .map(|_| known.or(req.expiration).unwrap_or(master.today + Duration::days(365)));
    let mut serials_added = Vec::new();
    let mut serials_removed = Vec::new();
    let units = delta.abs().to_usize().unwrap_or(0);
    if item.control == Control::Serial {
        if delta < Decimal::ZERO {
            if let Some(row) = dc.balances.get(&key) {
                serials_removed = row.serials.iter().rev().take(units).cloned().collect();
            }
        } else {
            for _ in 0..units {
                dc.minted += 1;
                serials_added.push(format!("SN{}D{item_index:06}{:07}", dc.code, dc.minted));
            }
        }
    }
    let row = dc.balances.entry(key).or_default();
    row.quantity = after;
    if expiration.is_some() {
        row.expiration = expiration;
    }
    for s in &serials_removed {
        row.serials.remove(s);
    }
    row.serials.extend(serials_added.iter().cloned());
    if let (Some(lot), Some(exp)) = (&req.lot, expiration) {
        dc.lot_expirations.insert((item_index, lot.clone()), exp);
    }
    Ok(AppliedDrift {
        dc: dc.code.clone(),
        item: item.number.clone(),
        subinventory: sub_code(sub).to_string(),
        lot: req.lot.clone(),
        delta,
        quantity_before: before,
        quantity_after: after,
        serials_added,
        serials_removed,
        band: None,
    })
}

/// Picks distinct (DC, item) keys for each band and drifts them; deterministic for a given seed
/// and state. Returns exactly what was applied, in band order (small, medium, large).
pub(crate) fn apply_bands(store: &Store, req: &DriftBandsRequest) -> Result<Vec<AppliedDrift>, ApiError> {
    let dc_indices: Vec<usize> = match &req.dc {
        Some(code) => vec![store
            .master
            .dcs
            .iter()
            .position(|c| c == code)
            .ok_or_else(|| ApiError::unknown_dc(code))?],
        None => (0..store.master.dcs.len()).collect(),
    };
    let wanted = req.small + req.medium + req.large;
    let capacity = dc_indices.len() * store.master.items.len();
    if wanted > capacity || wanted > 100_000 {
        return Err(ApiError::unprocessable(
            "too_many_keys",
            format!(
                "asked for {wanted} drifted keys, at most {} are possible",
                capacity.min(100_000)
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(req.seed ^ 0xD81F_7000);
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(wanted);
    let plan = [
        (DriftBand::Small, req.small, 1..=4i64),
        (DriftBand::Medium, req.medium, 5..=50),
        (DriftBand::Large, req.large, 51..=200),
    ];
    for (band, count, range) in plan {
        let mut done = 0;
        let mut attempts = 0usize;
        while done < count {
            attempts += 1;
            if attempts > count * 1000 + 1000 {
                return Err(ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "drift_exhausted",
                    "could not find enough distinct keys",
                ));
            }
            let dci = dc_indices[rng.random_range(0..dc_indices.len())];
            let item_index = rng.random_range(0..store.master.items.len()) as u32;
            let magnitude = rng.random_range(range.clone());
            let negative_wanted = rng.random_bool(0.5);
            if !used.insert((dci, item_index)) {
                continue;
            }
            let Some(mut dc) = store.dc_at(dci) else { continue };
            let rows: Vec<_> = dc
                .balances
                .range((item_index, 0u8, None)..(item_index + 1, 0u8, None))
                .map(|(k, r)| (k.clone(), r.quantity))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let (key, on_hand) = &rows[rng.random_range(0..rows.len())];
            let magnitude = Decimal::from(magnitude);
            let negative = negative_wanted && *on_hand >= magnitude;
            let req = DriftRequest {
                dc: dc.code.clone(),
                item: store
                    .master
                    .items
                    .get(item_index as usize)
                    .map(|i| i.number.clone())
                    .unwrap_or_default(),
                subinventory: sub_code(key.1).to_string(),
                lot: key.2.clone(),
                delta: if negative {
                    (-magnitude).to_string()
                } else {
                    magnitude.to_string()
                },
                expiration: None,
            };
            let mut applied = apply(&mut dc, &store.master, &req)?;
            applied.band = Some(band);
            out.push(applied);
            done += 1;
        }
    }
    Ok(out)
}
