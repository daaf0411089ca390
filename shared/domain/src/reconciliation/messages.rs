//! What the reconciliation tells people: review tasks, holds and alerts for variances.

use super::*;

pub(super) fn qty(q: Decimal, uom: Option<&Uom>) -> String {
    match uom {
        Some(u) => format!("{} {u}", q.normalize()),
        None => q.normalize().to_string(),
    }
}

pub(super) fn place(key: &BalanceKey) -> String {
    match &key.lot {
        Some(lot) => format!("{}/{} lot {lot}", key.dc, key.subinventory),
        None => format!("{}/{}", key.dc, key.subinventory),
    }
}

/// The review task for a review-tier variance (or an auto-correct one that cannot be
/// expressed as an adjustment, with `why_not_corrected`): key `bal:<key>`, kind `Variance`,
/// the quantities in summary and detail.
pub fn review_task_for(v: &Variance, uom: Option<&Uom>, run_id: &str, why_not_corrected: Option<&str>) -> ReviewTask {
    let summary = format!(
        "Variance {} for {} at {}: WMS {}, Fusion {}, in flight {}",
        qty(v.variance, uom),
        v.key.item,
        place(&v.key),
        v.wms.normalize(),
        v.fusion.normalize(),
        v.in_flight.normalize()
    );
    let mut detail = format!(
        "WMS on-hand {}; Fusion on-hand {}; in flight (WMS transactions not yet in Fusion) {}; \
         variance = WMS - (Fusion + in flight) = {}. Found by reconciliation run {run_id}.",
        qty(v.wms, uom),
        qty(v.fusion, uom),
        qty(v.in_flight, uom),
        qty(v.variance, uom),
    );
    if let Some(why) = why_not_corrected {
        detail.push_str(&format!(" Not auto-corrected: {why}."));
    }
    detail
        .push_str(" Count the stock and correct the system that is wrong; the task closes when the variance is zero.");
    ReviewTask {
        dc: v.key.dc.clone(),
        key: TaskKey::balance(&v.key),
        kind: TaskKind::Variance,
        summary,
        detail,
        figures: Some(crate::console::VarianceFigures {
            key: v.key.clone(),
            wms: v.wms,
            fusion: v.fusion,
            in_flight: v.in_flight,
            variance: v.variance,
            uom: uom.cloned(),
            expiration: None,
            serial_controlled: false,
        }),
    }
}

/// The hold on order releases for an alert-tier variance; `reference` is the incident id.
pub fn hold_for(v: &Variance, incident_id: &IncidentId, uom: Option<&Uom>) -> Hold {
    Hold {
        item: v.key.item.clone(),
        reason: format!(
            "invsync: variance {} at {} (WMS {}, Fusion {}, in flight {}) is above the alert threshold",
            qty(v.variance, uom),
            place(&v.key),
            v.wms.normalize(),
            v.fusion.normalize(),
            v.in_flight.normalize()
        ),
        placed_by: HOLD_PLACED_BY.to_string(),
        reference: incident_id.to_string(),
    }
}

/// The critical alert for an alert-tier variance. Subject: DC, item, variance and what was
/// done. Body: a first line meant as one text message (DC, item, subinventory, lot, the three
/// quantities, variance, what was done), then DC, item, subinventory, lot, WMS / Fusion /
/// in-flight quantities, variance, what was done and the incident id. The item number is the
/// alert's elastic part: a channel with length limits shortens it first. `held` says whether
/// the hold on order releases was placed.
pub fn alert_for(v: &Variance, incident_id: &IncidentId, uom: Option<&Uom>, held: bool) -> Alert {
    let key = &v.key;
    let variance = qty(v.variance, uom);
    let action = if held { "releases held" } else { "hold FAILED" };
    let subject = format!(
        "invsync CRITICAL {} {}: variance {variance}, {action}",
        key.dc, key.item
    );
    let first = format!(
        "CRITICAL {} {} {}: WMS {} Fusion {} in flight {}, variance {variance}; order {action}",
        key.dc,
        key.item,
        match &key.lot {
            Some(lot) => format!("{} lot {lot}", key.subinventory),
            None => key.subinventory.to_string(),
        },
        v.wms.normalize(),
        v.fusion.normalize(),
        v.in_flight.normalize()
    );
    let done = if held {
        format!(
            "Order releases for {} at {} are held (reference {incident_id}) until a person releases them.",
            key.item, key.dc
        )
    } else {
        format!(
            "Placing the hold on order releases for {} at {} FAILED; the next run retries. Hold releases by hand if needed.",
            key.item, key.dc
        )
    };
    let body = format!(
        "{first}\n\nDC: {}\nItem: {}\nSubinventory: {}\nLot: {}\nWMS on-hand: {}\nFusion on-hand: {}\n\
         In flight (WMS transactions not yet in Fusion): {}\nVariance (WMS - (Fusion + in flight)): {variance}\n\
         Action: {done}\nIncident: {incident_id}\n",
        key.dc,
        key.item,
        key.subinventory,
        key.lot.as_ref().map_or("(none)", LotNumber::as_str),
        qty(v.wms, uom),
        qty(v.fusion, uom),
        qty(v.in_flight, uom),
    );
    Alert {
        dc: key.dc.clone(),
        severity: Severity::Critical,
        subject,
        body,
        elastic: Some(key.item.to_string()),
    }
}
