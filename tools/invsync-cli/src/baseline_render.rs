//! Both output formats of the `baseline` commands: JSON is the engine's own serde form
//! (plan, apply, verify and cut-over reports); text is a summary a person reviews.

use crate::render::{cut, table, Output};
use domain::golive::baseline::{ApplyReport, BaselinePlan, BaselineStatus, CutoverReport, VerifyReport};
use domain::golive::ApplyRequest;
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Rows of a list shown in text (the JSON and the CSV have them all).
const SHOWN: usize = 15;

/// `baseline plan`: the summary, the largest differences, unknown items, lots to create,
/// serial differences.
pub fn plan(plan: &BaselinePlan, csv: Option<&Path>, lines: usize) -> Output {
    let s = &plan.summary;
    let mut text = format!(
        "Plan {} for {} at outbox watermark {} ({} mode, {} chunk(s) of {})\n",
        plan.id,
        plan.dc,
        plan.watermark,
        plan.mode.as_str(),
        plan.chunks,
        plan.chunk_size
    );
    let _ = writeln!(
        text,
        "WMS rows {}, Fusion rows {}; lines compared {}, matching {}, to apply {}; net difference {}",
        s.wms_rows, s.fusion_rows, s.lines_compared, s.lines_matching, s.lines_to_apply, s.net_difference
    );
    let mut by_class = table(&["class", "lines", "differing", "WMS quantity", "Fusion quantity"]);
    for (class, c) in &s.by_class {
        by_class.add_row(vec![
            class.as_str().to_string(),
            c.lines.to_string(),
            c.differing.to_string(),
            c.wms_quantity.to_string(),
            c.fusion_quantity.to_string(),
        ]);
    }
    let _ = writeln!(text, "{by_class}");
    let mut top = table(&["item", "subinventory", "lot", "WMS", "Fusion", "difference"]);
    for d in s.largest_differences.iter().take(SHOWN) {
        top.add_row(vec![
            d.item.to_string(),
            d.subinventory.to_string(),
            d.lot.as_ref().map(ToString::to_string).unwrap_or_default(),
            d.wms.to_string(),
            d.fusion.to_string(),
            d.difference.to_string(),
        ]);
    }
    let _ = writeln!(text, "Largest differences:\n{top}");
    let unknown: Vec<String> = s.unknown_items.iter().take(SHOWN).map(ToString::to_string).collect();
    let _ = writeln!(
        text,
        "Items unknown to Fusion: {} ({} lines, not applied){}",
        s.unknown_items_count,
        s.unknown_item_lines,
        list(&unknown)
    );
    let lots: Vec<String> = s
        .lots_to_create
        .iter()
        .take(SHOWN)
        .map(|(i, l)| format!("{i}/{l}"))
        .collect();
    let _ = writeln!(text, "Lots to create: {}{}", s.lots_to_create_count, list(&lots));
    let _ = writeln!(
        text,
        "Serial differences: {} to add, {} to remove",
        s.serials_added, s.serials_removed
    );
    if let Some(path) = csv {
        let _ = writeln!(text, "CSV: {} ({lines} lines)", path.display());
    }
    let _ = writeln!(
        text,
        "{} is now planned. Review, then `invsync baseline apply --dc {}` (dry run) and `--execute`.",
        plan.dc, plan.dc
    );
    Output::new(&json!({ "plan": plan, "csv": csv, "csv_lines": lines }), text)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(": {}", cut(&items.join(", ")))
    }
}

/// `baseline apply` without `--execute`.
pub fn dry_run(status: &BaselineStatus, plan: &BaselinePlan) -> Output {
    let text = format!(
        "Dry run: plan {} of {} would send {} of {} lines ({} of {} chunks not yet applied) in {} mode; nothing was changed.\nAdd --execute to apply.\n",
        plan.id,
        plan.dc,
        status.lines_total() - status.lines_done(),
        status.lines_total(),
        status.chunks.len() - status.chunks_applied(),
        status.chunks.len(),
        plan.mode.as_str()
    );
    Output::new(
        &json!({
            "dry_run": true,
            "plan": plan.id,
            "mode": plan.mode,
            "chunks_total": status.chunks.len(),
            "chunks_applied": status.chunks_applied(),
            "lines_total": status.lines_total(),
            "lines_done": status.lines_done(),
        }),
        text,
    )
}

/// `apply --execute` in this process: the final summary.
pub fn applied(r: &ApplyReport, took: Duration) -> Output {
    let secs = took.as_secs_f64();
    let rate = if secs > 0.0 { r.lines_done as f64 / secs } else { 0.0 };
    let text = format!(
        "Applied plan {} of {}: {}/{} chunks, {} lines ({} applied, {} already at target, {} awaiting Fusion, {} refused with a review task each); {} Fusion request(s); {:.1} s, {:.0} lines/s\nNext: `invsync baseline verify --dc {}`.\n",
        r.plan,
        r.dc,
        r.chunks_applied,
        r.chunks_total,
        r.lines_done,
        r.lines_applied,
        r.lines_already_at_target,
        r.lines_awaiting_fusion,
        r.lines_refused,
        r.requests,
        secs,
        rate,
        r.dc
    );
    Output::new(&json!({ "apply": r, "seconds": secs, "lines_per_second": rate }), text)
}

/// `apply --via-lambda --no-wait`.
pub fn sent(r: &ApplyRequest) -> Output {
    let text = format!(
        "Sent plan {} of {} to the baseline function (from chunk {}); follow it with `invsync baseline status --dc {}`.\n",
        r.plan, r.dc, r.from_chunk, r.dc
    );
    Output::new(&json!({ "sent": r }), text)
}

/// `apply --via-lambda` after the function finished.
pub fn watched(s: &BaselineStatus, took: Duration) -> Output {
    let mut out = status(s);
    out.text = format!(
        "The baseline function applied every chunk ({:.1} s watched).\n{}",
        took.as_secs_f64(),
        out.text
    );
    out
}

/// `baseline status`.
pub fn status(s: &BaselineStatus) -> Output {
    let r = &s.record;
    let mut text = format!(
        "{}: {} (by {} at {}){}\n",
        r.dc,
        r.status,
        r.changed_by.as_str(),
        crate::render::at(&r.changed_at),
        r.watermark.map(|w| format!(", watermark {w}")).unwrap_or_default()
    );
    match &s.plan {
        None => text.push_str("No baseline plan.\n"),
        Some(p) => {
            let _ = writeln!(
                text,
                "Plan {} ({} mode, taken by {}): {}/{} chunks applied, {}/{} lines, {} refused",
                p.id,
                p.mode.as_str(),
                p.created_by.as_str(),
                s.chunks_applied(),
                s.chunks.len(),
                s.lines_done(),
                s.lines_total(),
                s.lines_refused()
            );
            let mut t = table(&["chunk", "state", "lines", "applied", "at target", "refused", "attempts"]);
            for c in s
                .chunks
                .iter()
                .filter(|c| c.state != "applied" || c.refused > 0)
                .take(SHOWN)
            {
                t.add_row(vec![
                    c.index.to_string(),
                    c.state.to_string(),
                    c.lines.to_string(),
                    c.applied.to_string(),
                    c.already_at_target.to_string(),
                    c.refused.to_string(),
                    c.attempts.to_string(),
                ]);
            }
            let _ = writeln!(text, "Chunks to do or with refused lines:\n{t}");
        }
    }
    Output::new(
        &json!({
            "record": r,
            "plan": s.plan,
            "chunks": s.chunks,
            "chunks_applied": s.chunks_applied(),
            "lines_total": s.lines_total(),
            "lines_done": s.lines_done(),
            "lines_refused": s.lines_refused(),
        }),
        text,
    )
}

/// `baseline verify`: pass or fail with the variances outside refused lines.
pub fn verified(v: &VerifyReport) -> Output {
    let mut text = format!(
        "{}: {} outside variance(s) (excluded: {} on refused lines, {} on items unknown to Fusion); {} keys compared\n",
        if v.passed { "PASS" } else { "FAIL" },
        v.outside,
        v.excluded_refused,
        v.excluded_unknown,
        v.reconcile.keys_compared
    );
    if !v.variances.is_empty() {
        let mut t = table(&["key", "WMS", "Fusion", "in flight", "variance"]);
        for x in v.variances.iter().take(SHOWN) {
            t.add_row(vec![
                x.key.to_string(),
                x.wms.to_string(),
                x.fusion.to_string(),
                x.in_flight.to_string(),
                x.variance.to_string(),
            ]);
        }
        let _ = writeln!(text, "{t}");
    }
    if v.passed {
        let _ = writeln!(
            text,
            "{} is verified. Next: `invsync baseline cutover --dc {}`.",
            v.dc, v.dc
        );
    }
    Output::new(v, text)
}

/// `baseline cutover`.
pub fn cut_over(c: &CutoverReport) -> Output {
    let text = format!(
        "{} is live (plan {}). Outbox up to the watermark: {} marked baselined ({} already), {} already synced, the WMS told {}; transactions after the watermark sync from the next hourly run.\n",
        c.dc,
        c.plan,
        c.settled.baselined,
        c.settled.already_baselined,
        c.settled.already_synced,
        c.settled.wms_told
    );
    Output::new(c, text)
}
