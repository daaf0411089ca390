//! Both output formats of every answer: [`Output::json`] is the service's own serde form (the
//! field names the API uses too, so they stay stable), one document per command; [`Output::text`]
//! is a human table. Paged lists are `{"items": [...], "next": cursor-or-null}` in JSON and
//! end with the `--cursor` to pass for the next page in text.

use crate::run::Discrepancies;
use chrono::{DateTime, Utc};
use comfy_table::{presets, ContentArrangement, Table};
use console::{
    AccuracyPoint, Dashboard, HoldReleased, HoldView, PageOf, ResolveOutcome, RetrySummary, RunSummary, TaskDetail,
    TaskView, TxnView,
};
use domain::console::{AuditEntry, Cursor};
use domain::ports::{IncidentRecord, RunReport};
use serde::Serialize;
use serde_json::json;
use std::fmt::Write as _;

/// Longest cell of free text (summaries, error text) in a table; `--json` has it whole.
const CELL_MAX: usize = 70;

/// One command's answer in both formats.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The `--json` document.
    pub json: serde_json::Value,
    /// The human form (ends with a newline).
    pub text: String,
}

impl Output {
    pub(crate) fn new<T: Serialize>(value: &T, text: String) -> Self {
        let json = serde_json::to_value(value).unwrap_or_else(
            |e| json!({ "error": { "code": "internal", "message": e.to_string(), "retryable": false } }),
        );
        Self { json, text }
    }
}

pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    t
}

pub(crate) fn cut(s: &str) -> String {
    cut_to(s, CELL_MAX)
}

fn cut_to(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub(crate) fn at(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn paged(t: Table, rows: usize, next: Option<&Cursor>) -> String {
    let mut s = if rows == 0 {
        "(none)\n".to_string()
    } else {
        format!("{t}\n")
    };
    if let Some(c) = next {
        let _ = writeln!(s, "more: --cursor {}", c.as_str());
    }
    s
}

fn task_row(t: &TaskView) -> Vec<String> {
    vec![
        t.dc.to_string(),
        t.key.clone(),
        json_name(&t.kind),
        t.state.status.as_str().to_string(),
        t.state.version.to_string(),
        opt(t.state.claimed_by.as_ref()),
        at(&t.opened_at),
        cut(&t.summary),
    ]
}

/// The serde name of a unit enum value (`variance`, `sync_failed`).
fn json_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

const TASK_HEADER: [&str; 8] = [
    "dc",
    "key",
    "kind",
    "status",
    "version",
    "claimed by",
    "opened",
    "summary",
];

/// `tasks list`.
pub fn tasks(page: &PageOf<TaskView>) -> Output {
    let mut t = table(&TASK_HEADER);
    page.items.iter().for_each(|v| {
        t.add_row(task_row(v));
    });
    Output::new(page, paged(t, page.items.len(), page.next.as_ref()))
}

/// `tasks claim`.
pub fn task(view: &TaskView) -> Output {
    let mut t = table(&TASK_HEADER);
    t.add_row(task_row(view));
    Output::new(view, format!("{t}\n"))
}

fn txn_table(rows: &[TxnView]) -> Table {
    let mut t = table(&[
        "dc", "id", "kind", "item", "sub", "qty", "state", "attempts", "version", "updated", "error",
    ]);
    for r in rows {
        t.add_row(vec![
            r.dc.to_string(),
            r.id.to_string(),
            r.kind.clone(),
            r.item.to_string(),
            r.subinventory.clone(),
            format!("{} {}", r.quantity, r.uom),
            r.state.as_str().to_string(),
            r.attempts.to_string(),
            r.version.to_string(),
            at(&r.updated_at),
            r.error.as_deref().map(cut).unwrap_or_else(|| "-".into()),
        ]);
    }
    t
}

/// `tasks show`.
pub fn task_detail(d: &TaskDetail) -> Output {
    let mut s = format!("{}\n", task(&d.task).text);
    if let Some(f) = &d.figures {
        let uom = opt(f.uom.as_ref());
        let mut t = table(&["WMS", "Fusion", "in flight", "variance", "uom", "serial"]);
        t.add_row(vec![
            f.wms.to_string(),
            f.fusion.to_string(),
            f.in_flight.to_string(),
            f.variance.to_string(),
            uom,
            f.serial_controlled.to_string(),
        ]);
        let _ = writeln!(s, "{t}\n");
    }
    let _ = writeln!(s, "{}\n", d.detail.trim_end());
    if d.transactions.is_empty() {
        s.push_str("transactions: (none)\n");
    } else {
        let _ = writeln!(s, "transactions:\n{}", txn_table(&d.transactions));
    }
    Output::new(d, s)
}

/// `tasks resolve`.
pub fn resolved(o: &ResolveOutcome) -> Output {
    let mut s = task(&o.task).text;
    if let Some(a) = &o.adjustment {
        let _ = writeln!(s, "adjustment:\n{}", txn_table(std::slice::from_ref(a)));
    }
    Output::new(o, s)
}

/// `holds list`.
pub fn holds(page: &PageOf<HoldView>) -> Output {
    let mut t = table(&["dc", "item", "reference", "incident", "placed by", "reason"]);
    for h in &page.items {
        t.add_row(vec![
            h.dc.to_string(),
            h.item.to_string(),
            h.reference.clone(),
            opt(h.incident.as_ref()),
            h.placed_by.clone(),
            cut(&h.reason),
        ]);
    }
    Output::new(page, paged(t, page.items.len(), page.next.as_ref()))
}

/// `holds release`.
pub fn hold_released(r: &HoldReleased) -> Output {
    let what = if r.released_now {
        "released"
    } else {
        "was already released"
    };
    let mut s = format!("hold on {} at {} {what}\n", r.item, r.dc);
    if let Some(i) = &r.incident {
        s.push_str(&incidents_table(std::slice::from_ref(i)));
    }
    Output::new(r, s)
}

fn incidents_table(rows: &[IncidentRecord]) -> String {
    let mut t = table(&["id", "key", "item", "opened", "acknowledged", "hold released"]);
    for r in rows {
        t.add_row(vec![
            r.incident.id.to_string(),
            r.incident.key.as_str().to_string(),
            r.incident.item.to_string(),
            at(&r.incident.opened_at),
            r.acknowledged
                .as_ref()
                .map(|(who, when)| format!("{who} {}", at(when)))
                .unwrap_or_else(|| "-".into()),
            r.hold_released
                .as_ref()
                .map(|(who, when, why)| format!("{who} {}: {}", at(when), cut(why.as_str())))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    if rows.is_empty() {
        "(none)\n".into()
    } else {
        format!("{t}\n")
    }
}

/// `incidents list`.
pub fn incidents(page: &PageOf<IncidentRecord>) -> Output {
    let mut s = incidents_table(&page.items);
    if let Some(c) = &page.next {
        let _ = writeln!(s, "more: --cursor {}", c.as_str());
    }
    Output::new(page, s)
}

/// `incidents ack`.
pub fn incident(r: &IncidentRecord) -> Output {
    Output::new(r, incidents_table(std::slice::from_ref(r)))
}

/// `syncs list`.
pub fn txns(page: &PageOf<TxnView>) -> Output {
    Output::new(
        page,
        paged(txn_table(&page.items), page.items.len(), page.next.as_ref()),
    )
}

/// `syncs retry`, `syncs close`.
pub fn txn(v: &TxnView) -> Output {
    Output::new(v, format!("{}\n", txn_table(std::slice::from_ref(v))))
}

/// `syncs retry-matching`.
pub fn retried(r: &RetrySummary) -> Output {
    let mut s = format!(
        "retried {}, skipped {} (moved by someone else){}\n",
        r.retried.len(),
        r.skipped,
        if r.truncated {
            ", stopped at the cap: run it again for the rest"
        } else {
            ""
        }
    );
    if !r.retried.is_empty() {
        let _ = writeln!(s, "{}", txn_table(&r.retried));
    }
    Output::new(r, s)
}

/// The figures that are not zero (a run report has dozens of counters; `--json` has them all).
fn figures_text(f: &std::collections::BTreeMap<String, i64>) -> String {
    f.iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `runs list`.
pub fn runs(page: &PageOf<RunReport>) -> Output {
    let mut t = table(&["kind", "run", "started", "ms", "figures", "notes"]);
    for r in &page.items {
        t.add_row(vec![
            r.kind.as_str().to_string(),
            r.run_id.to_string(),
            at(&r.started_at),
            r.duration_ms.to_string(),
            cut(&figures_text(&r.figures)),
            cut(&r.notes.join("; ")),
        ]);
    }
    Output::new(page, paged(t, page.items.len(), page.next.as_ref()))
}

/// `discrepancies`.
pub fn discrepancies(d: &Discrepancies) -> Output {
    let mut t = table(&[
        "task",
        "status",
        "version",
        "WMS",
        "Fusion",
        "in flight",
        "variance",
        "uom",
        "txns",
    ]);
    for detail in &d.tasks {
        let f = detail.figures.as_ref();
        let num = |get: fn(&domain::console::VarianceFigures) -> String| f.map(get).unwrap_or_else(|| "-".into());
        t.add_row(vec![
            detail.task.key.clone(),
            detail.task.state.status.as_str().to_string(),
            detail.task.state.version.to_string(),
            num(|f| f.wms.to_string()),
            num(|f| f.fusion.to_string()),
            num(|f| f.in_flight.to_string()),
            num(|f| f.variance.to_string()),
            num(|f| opt(f.uom.as_ref())),
            detail.transactions.len().to_string(),
        ]);
    }
    let mut s = format!("variance tasks at {}:\n", d.dc);
    s.push_str(&paged(t, d.tasks.len(), d.next.as_ref()));
    let mut i = table(&["incident", "key", "item", "hold", "acknowledged", "released"]);
    for x in &d.incidents {
        let r = &x.incident;
        i.add_row(vec![
            r.incident.id.to_string(),
            r.incident.key.as_str().to_string(),
            r.incident.item.to_string(),
            // The hold's reason is where an incident's figures are written; keep them whole.
            x.hold
                .as_ref()
                .map(|h| cut_to(h.reason.trim_start_matches("invsync: "), 2 * CELL_MAX))
                .unwrap_or_else(|| "-".into()),
            opt(r.acknowledged.as_ref().map(|(who, _)| who)),
            opt(r.hold_released.as_ref().map(|(who, _, _)| who)),
        ]);
    }
    let _ = write!(
        s,
        "\nopen incidents at {}:\n{}",
        d.dc,
        paged(i, d.incidents.len(), None)
    );
    Output::new(d, s)
}

/// `audit`.
pub fn audit(page: &PageOf<AuditEntry>) -> Output {
    let mut t = table(&["at", "actor", "action", "target", "reason"]);
    for e in &page.items {
        t.add_row(vec![
            at(&e.at),
            e.actor.to_string(),
            e.action.as_str().to_string(),
            e.target.clone(),
            e.reason.as_ref().map(|r| cut(r.as_str())).unwrap_or_else(|| "-".into()),
        ]);
    }
    Output::new(page, paged(t, page.items.len(), page.next.as_ref()))
}

fn run_line(r: Option<&RunSummary>) -> String {
    match r {
        None => "never".into(),
        Some(r) => format!(
            "{} at {} ({} ms) {}",
            r.run_id,
            at(&r.started_at),
            r.duration_ms,
            figures_text(&r.figures)
        ),
    }
}

/// Accuracy points as a one-line chart (eight levels from 90%, or the lowest point when lower,
/// to 100%), with the latest and lowest value.
pub fn sparkline(points: &[AccuracyPoint]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let Some(last) = points.last() else {
        return "no reconciliation".into();
    };
    let low = points.iter().map(|p| p.accuracy_bp).min().unwrap_or(last.accuracy_bp);
    let floor = low.min(9_000);
    let span = (10_000 - floor).max(1);
    let bars: String = points
        .iter()
        .map(|p| {
            let level = ((p.accuracy_bp - floor).clamp(0, span) * 7 / span) as usize;
            BARS[level.min(7)]
        })
        .collect();
    let pct = |bp: i64| format!("{}.{:02}%", bp / 100, bp % 100);
    format!(
        "{bars}  latest {} lowest {} ({} runs)",
        pct(last.accuracy_bp),
        pct(low),
        points.len()
    )
}

/// Width the dashboard wraps its long cells at (run figures).
const DASHBOARD_WIDTH: u16 = 120;

/// `dashboard`.
pub fn dashboard(d: &Dashboard) -> Output {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(DASHBOARD_WIDTH);
    t.add_row(vec!["last sync".to_string(), run_line(d.last_sync.as_ref())]);
    t.add_row(vec![
        "last reconciliation".to_string(),
        run_line(d.last_reconcile.as_ref()),
    ]);
    t.add_row(vec!["open tasks".to_string(), d.open_tasks.to_string()]);
    t.add_row(vec!["active holds".to_string(), d.active_holds.to_string()]);
    t.add_row(vec!["open incidents".to_string(), d.open_incidents.to_string()]);
    let backlog = d
        .backlog
        .iter()
        .map(|(state, n)| format!("{}={n}", state.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    t.add_row(vec![
        "backlog".to_string(),
        if backlog.is_empty() { "-".into() } else { backlog },
    ]);
    t.add_row(vec!["accuracy 24 h".to_string(), sparkline(&d.accuracy_24h)]);
    t.add_row(vec!["accuracy 7 d".to_string(), sparkline(&d.accuracy_7d)]);
    Output::new(d, format!("dashboard {} at {}\n{t}\n", d.dc, at(&d.at)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn point(bp: i64) -> AccuracyPoint {
        AccuracyPoint {
            at: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
            accuracy_bp: bp,
            keys_compared: 100,
        }
    }

    #[test]
    fn the_chart_spans_the_lowest_point_to_full_accuracy() {
        let line = sparkline(&[point(9_000), point(9_500), point(10_000)]);
        assert!(line.starts_with("▁▄█"), "{line}");
        // One run at 97.83% is high on the chart, not its lowest bar.
        assert!(sparkline(&[point(9_783)]).starts_with('▆'));
        assert!(line.contains("latest 100.00% lowest 90.00% (3 runs)"), "{line}");
        assert_eq!(sparkline(&[]), "no reconciliation");
    }

    #[test]
    fn long_cells_are_cut_on_one_line() {
        let long = format!("a\n{}", "x".repeat(200));
        let c = cut(&long);
        assert_eq!(c.chars().count(), CELL_MAX);
        assert!(!c.contains('\n') && c.ends_with('…'));
    }
}
