//! The `/admin` control API: faults, request counters, staged-row processing, "today", and
//! silent on-hand changes (drift) for tests.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::faults::Faults;
use crate::http::{error_response, lock, parse_query, read, write, Shared};
use crate::rest::{parse_decimal, text_of, ApiError};
use crate::sim::{Pick, SimState};
use crate::state::sub_index;

pub(crate) async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.faults).faults().clone()).into_response()
}

pub(crate) async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            lock(&shared.faults).set(f.clone());
            axum::Json(f).into_response()
        }
        Err(e) => error_response(&ApiError::bad("SIM-400", format!("Invalid faults: {e}")), None),
    }
}

pub(crate) async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.stats).clone()).into_response()
}

pub(crate) async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.stats).clear();
    shared.peak_in_flight.store(0, std::sync::atomic::Ordering::SeqCst);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /admin/process-staged`: runs the transaction manager. An optional JSON body
/// `{"max_rows": N}` processes only the N oldest pending rows; no body processes them all.
pub(crate) async fn process_staged(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let pick = if body.iter().all(u8::is_ascii_whitespace) {
        Pick::All
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => match v.get("max_rows") {
                None | Some(Value::Null) => Pick::All,
                Some(n) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
                    Some(n) => Pick::Oldest(n),
                    None => {
                        return error_response(
                            &ApiError::bad("SIM-400", "max_rows must be a non-negative integer."),
                            None,
                        )
                    }
                },
            },
            Err(e) => {
                return error_response(
                    &ApiError::bad("SIM-400", format!("Send {{\"max_rows\": N}} or no body: {e}")),
                    None,
                )
            }
        }
    };
    axum::Json(crate::processor::run(&shared, pick)).into_response()
}

pub(crate) async fn today(State(shared): State<Arc<Shared>>, method: Method, body: Bytes) -> Response {
    if method != Method::GET {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let s = text_of(v.get("today")).unwrap_or_default();
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) => write(&shared.sim).settings.rules.today = d,
            Err(_) => return error_response(&ApiError::bad("SIM-400", "Send {\"today\":\"YYYY-MM-DD\"}."), None),
        }
    }
    let d = write(&shared.sim).settings.rules.today;
    axum::Json(json!({"today": d.format("%Y-%m-%d").to_string()})).into_response()
}

pub(crate) async fn admin_onhand(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let q: HashMap<String, String> = parse_query(q.as_deref().unwrap_or("")).into_iter().collect();
    let sim = read(&shared.sim);
    let (Some(org), Some(item)) = (
        q.get("org").and_then(|o| sim.org_index(o)),
        q.get("item")
            .and_then(|i| sim.master.by_number.get(i))
            .map(|i| *i as usize),
    ) else {
        return error_response(
            &ApiError::bad("SIM-400", "Known org and item query parameters are required."),
            None,
        );
    };
    let rows: Vec<Value> = (0..crate::state::SUBS)
        .filter(|s| q.get("sub").is_none_or(|w| sub_index(w) == Some(*s)))
        .filter_map(|s| sim.orgs[org].bal(item, s).map(|b| (s, b)))
        .map(|(s, b)| {
            json!({
                "subinventory": sim_seed::SUBINVENTORIES[s],
                "quantity": crate::rest::num(b.qty),
                "lots": b.lots.iter().map(|(l, q)| (l.clone(), crate::rest::num(*q))).collect::<serde_json::Map<_, _>>(),
                "serials": b.serials,
            })
        })
        .collect();
    axum::Json(json!({"org": q.get("org"), "item": q.get("item"), "balances": rows})).into_response()
}

/// Body of `POST /admin/adjust`: silent on-hand change (no transaction recorded), for drift.
fn adjust(sim: &mut SimState, v: &Value) -> Result<Value, ApiError> {
    let org_code = text_of(v.get("org")).unwrap_or_default();
    let item_number = text_of(v.get("item")).unwrap_or_default();
    let (org, item) = crate::txn::resolve_item(&sim.master, &sim.orgs, &org_code, &item_number)?;
    let sub_code = text_of(v.get("subinventory")).unwrap_or_default();
    let sub =
        sub_index(&sub_code).ok_or_else(|| ApiError::bad("INV-1004", format!("Unknown subinventory {sub_code}.")))?;
    let delta = v.get("delta").and_then(parse_decimal).unwrap_or_default();
    let lot = text_of(v.get("lot"));
    let strs = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| text_of(Some(s)))
            .collect()
    };
    let (add, remove) = (strs("add_serials"), strs("remove_serials"));
    let o = &mut sim.orgs[org];
    if let Some(l) = &lot {
        let exp = text_of(v.get("expiration"))
            .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
            .unwrap_or(sim.settings.rules.today + chrono::Duration::days(365));
        o.lots.entry((item as u32, l.clone())).or_insert(exp);
    }
    let qty = o.with_bal(item, sub, |b| {
        b.qty += delta;
        if let Some(l) = &lot {
            *b.lots.entry(l.clone()).or_default() += delta;
        }
        for s in &remove {
            if b.serials.remove(s) {
                b.qty -= rust_decimal::Decimal::ONE;
            }
        }
        for s in &add {
            if b.serials.insert(s.clone()) {
                b.qty += rust_decimal::Decimal::ONE;
            }
        }
        b.qty
    });
    Ok(json!({"org": org_code, "item": item_number, "subinventory": sub_code, "quantity": crate::rest::num(qty)}))
}

pub(crate) async fn admin_adjust(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let res = adjust(&mut write(&shared.sim), &v);
    match res {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => error_response(&e, None),
    }
}

pub(crate) async fn admin_unassign(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut sim = write(&shared.sim);
    let org = text_of(v.get("org")).and_then(|o| sim.org_index(&o));
    let item = text_of(v.get("item")).and_then(|i| sim.master.by_number.get(&i).copied());
    match (org, item) {
        (Some(o), Some(i)) => {
            sim.orgs[o].unassigned.insert(i);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error_response(&ApiError::bad("SIM-400", "Known org and item are required."), None),
    }
}

pub(crate) fn adjust_direct(sim: &mut SimState, v: &Value) -> Result<Value, ApiError> {
    adjust(sim, v)
}
