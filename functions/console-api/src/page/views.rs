//! Dashboard, task list and task detail, and the task actions (claim, resolve).

use super::chart::accuracy_svg;
use super::{back, error_page, esc, html, layout, seg, Flash};
use crate::api::{page_of, parse, task_filter};
use crate::{Caller, Shared};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use console::{ConsoleError, ConsolePorts, ResolveRequest, RunSummary, TxnView};
use domain::console::{Reason, Resolution};
use domain::ids::DcCode;
use domain::ports::TaskKey;
use std::collections::HashMap;
use std::fmt::Write as _;

fn run_card(title: &str, run: Option<&RunSummary>) -> String {
    let Some(r) = run else {
        return format!(
            "<div class=\"panel\"><h2>{}</h2><p class=\"muted\">No run yet.</p></div>",
            esc(title)
        );
    };
    let mut rows = String::new();
    for (k, v) in &r.figures {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"num\">{v}</td></tr>",
            esc(&k.replace('_', " "))
        );
    }
    format!(
        "<div class=\"panel\"><h2>{}</h2><p>{} · {} ms · <span class=\"muted\">{}</span></p>\
<table><thead><tr><th>Figure</th><th class=\"num\">Value</th></tr></thead><tbody>{rows}</tbody></table></div>",
        esc(title),
        r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.duration_ms,
        esc(r.run_id.as_str())
    )
}

/// `GET /ui/dcs/{dc}`.
pub async fn dashboard<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
) -> Response {
    let dc: DcCode = match parse("DC", &dc) {
        Ok(d) => d,
        Err(e) => return error_page(&e, who.as_ref(), None),
    };
    let d = match c.service.dashboard(who.as_ref(), &dc).await {
        Ok(d) => d,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let base = format!("/ui/dcs/{}", seg(dc.as_str()));
    let mut body = format!(
        "<div class=\"cards\"><a class=\"card\" href=\"{base}/tasks\"><div class=\"n\" id=\"open-tasks\">{}</div><div class=\"l\">open review tasks</div></a>\
<a class=\"card\" href=\"{base}/holds\"><div class=\"n\" id=\"active-holds\">{}</div><div class=\"l\">active holds</div></a>\
<a class=\"card\" href=\"{base}/holds\"><div class=\"n\" id=\"open-incidents\">{}</div><div class=\"l\">open incidents</div></a>\
<a class=\"card\" href=\"{base}/txns\"><div class=\"n\" id=\"failed\">{}</div><div class=\"l\">failed transactions</div></a></div>",
        d.open_tasks,
        d.active_holds,
        d.open_incidents,
        d.backlog.get(&domain::ledger::SyncState::SyncFailed).copied().unwrap_or(0),
    );
    body.push_str("<div class=\"grid2\"><div class=\"panel\"><h2>Accuracy</h2>");
    body.push_str(&accuracy_svg("Last 24 hours", &d.accuracy_24h));
    body.push_str(&accuracy_svg("Last 7 days", &d.accuracy_7d));
    body.push_str("</div><div class=\"panel\"><h2>Backlog by ledger state</h2><table><thead><tr><th>State</th><th class=\"num\">Rows</th></tr></thead><tbody>");
    for (state, n) in &d.backlog {
        let name = serde_json::to_value(state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
            esc(&name.replace('_', " "))
        );
    }
    body.push_str("</tbody></table></div></div><div class=\"grid2\">");
    body.push_str(&run_card("Last sync", d.last_sync.as_ref()));
    body.push_str(&run_card("Last reconciliation", d.last_reconcile.as_ref()));
    let _ = write!(
        body,
        "</div><p class=\"muted\">Read at {}.</p>",
        d.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    html(
        StatusCode::OK,
        layout(
            &format!("Dashboard {}", dc.as_str()),
            who.as_ref(),
            Some(&dc),
            "",
            None,
            &body,
        ),
    )
}

fn badge(status: &str) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", esc(status))
}

/// `GET /ui/dcs/{dc}/tasks?status=&kind=&cursor=`.
pub async fn tasks<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let dc: DcCode = match parse("DC", &dc) {
        Ok(d) => d,
        Err(e) => return error_page(&e, who.as_ref(), None),
    };
    let page = match async {
        c.service
            .list_tasks(who.as_ref(), &dc, task_filter(&q)?, &page_of(&q)?)
            .await
    }
    .await
    {
        Ok(p) => p,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let base = format!("/ui/dcs/{}", seg(dc.as_str()));
    let status = q.get("status").cloned().unwrap_or_default();
    let mut body = String::from("<form class=\"inline panel\" method=\"get\"><div><label for=\"status\">Status</label><select id=\"status\" name=\"status\">");
    for (v, l) in [
        ("", "Not closed"),
        ("open", "Open"),
        ("claimed", "Claimed"),
        ("resolving", "Resolving"),
        ("closed", "Closed"),
    ] {
        let sel = if v == status { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{v}\"{sel}>{l}</option>");
    }
    body.push_str("</select></div><button type=\"submit\" class=\"secondary\">Filter</button></form><div class=\"panel\"><table><thead><tr><th>Task</th><th>Status</th><th>Claimed by</th><th>Opened</th></tr></thead><tbody>");
    for t in &page.items {
        let _ = write!(
            body,
            "<tr><td><a href=\"{base}/tasks/{}\">{}</a><br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            seg(&t.key),
            esc(&t.summary),
            esc(&t.key),
            badge(t.state.status.as_str()),
            esc(t.state.claimed_by.as_ref().map(|u| u.as_str()).unwrap_or("")),
            t.opened_at.format("%Y-%m-%d %H:%M"),
        );
    }
    if page.items.is_empty() {
        body.push_str("<tr><td colspan=\"4\" class=\"muted\">No task.</td></tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(next) = &page.next {
        let _ = write!(
            body,
            "<nav class=\"pager\"><a href=\"?status={}&amp;cursor={}\">Next page</a></nav>",
            seg(&status),
            seg(next.as_str())
        );
    }
    body.push_str("</div>");
    html(
        StatusCode::OK,
        layout(
            "Review tasks",
            who.as_ref(),
            Some(&dc),
            "/tasks",
            Flash::from_query(&q).as_ref(),
            &body,
        ),
    )
}

/// A ledger transaction table.
pub fn txn_table(rows: &[TxnView], actions: impl Fn(&TxnView) -> String) -> String {
    let mut t = String::from("<table><thead><tr><th>Transaction</th><th>Item</th><th class=\"num\">Qty</th><th>State</th><th class=\"num\">Tries</th><th>Error</th><th>Changed</th><th><span class=\"muted\">Actions</span></th></tr></thead><tbody>");
    for r in rows {
        let state = serde_json::to_value(r.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            t,
            "<tr id=\"txn-{}\"><td>{}<br><span class=\"muted\">{}</span></td><td>{} / {}</td><td class=\"num\">{} {}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r.id.as_str()),
            esc(r.id.as_str()),
            esc(&r.kind),
            esc(r.item.as_str()),
            esc(&r.subinventory),
            r.quantity,
            esc(&r.uom),
            badge(&state),
            r.attempts,
            esc(r.error.as_deref().unwrap_or("")),
            r.updated_at.format("%Y-%m-%d %H:%M"),
            actions(r)
        );
    }
    if rows.is_empty() {
        t.push_str("<tr><td colspan=\"8\" class=\"muted\">None.</td></tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// `GET /ui/dcs/{dc}/tasks/{key}`.
pub async fn task<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, key)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let parsed = parse::<DcCode>("DC", &dc).and_then(|d| Ok((d, parse::<TaskKey>("task key", &key)?)));
    let (dc, key) = match parsed {
        Ok(v) => v,
        Err(e) => return error_page(&e, who.as_ref(), None),
    };
    let d = match c.service.task_detail(who.as_ref(), &dc, &key).await {
        Ok(d) => d,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let t = &d.task;
    let action = format!("/ui/dcs/{}/tasks/{}", seg(dc.as_str()), seg(&t.key));
    let mut body = format!(
        "<div class=\"panel\"><p><strong>{}</strong></p><p>Status {} · version {} · claimed by {} · opened {}</p><p class=\"muted\">{}</p></div>",
        esc(&t.summary),
        badge(t.state.status.as_str()),
        t.state.version,
        esc(t.state.claimed_by.as_ref().map(|u| u.as_str()).unwrap_or("nobody")),
        t.opened_at.format("%Y-%m-%d %H:%M UTC"),
        esc(&d.detail)
    );
    if let Some(f) = &d.figures {
        let uom = f.uom.as_ref().map(|u| u.to_string()).unwrap_or_default();
        let _ = write!(
            body,
            "<div class=\"panel\"><h2>At this key</h2><div class=\"fig\"><div>WMS<b id=\"fig-wms\">{} {u}</b></div><div>Fusion<b id=\"fig-fusion\">{} {u}</b></div>\
<div>In flight<b>{} {u}</b></div><div>Variance<b>{} {u}</b></div></div></div>",
            f.wms,
            f.fusion,
            f.in_flight,
            f.variance,
            u = esc(&uom)
        );
    }
    let _ = write!(
        body,
        "<div class=\"panel\"><h2>Transactions behind it</h2>{}</div>",
        txn_table(&d.transactions, |_| String::new())
    );
    if t.state.status.is_active() {
        let _ = write!(
            body,
            "<div class=\"grid2\"><form class=\"panel\" method=\"post\" action=\"{action}/claim\"><h2>Claim</h2><p class=\"muted\">Tell the others you are on it.</p>\
<button type=\"submit\" id=\"claim\">Claim this task</button></form>\
<form class=\"panel\" method=\"post\" action=\"{action}/resolve\"><h2>Resolve</h2><input type=\"hidden\" name=\"version\" value=\"{v}\">\
<fieldset style=\"border:0;padding:0\"><legend class=\"muted\">How</legend>\
<label><input type=\"radio\" name=\"how\" value=\"adjust\" id=\"how-adjust\" required> Post an adjustment so Fusion matches the WMS</label>\
<label><input type=\"radio\" name=\"how\" value=\"recount_requested\" id=\"how-recount\"> WMS count wrong: recount requested</label>\
<label><input type=\"radio\" name=\"how\" value=\"close\" id=\"how-close\"> Close with a reason</label></fieldset>\
<label for=\"reason\">Reason (required to close)</label><input id=\"reason\" name=\"reason\" maxlength=\"500\" style=\"width:100%\">\
<p><button type=\"submit\" id=\"resolve\">Resolve</button></p></form></div>",
            v = t.state.version
        );
    }
    let title = format!("Task {}", t.key);
    html(
        StatusCode::OK,
        layout(
            &title,
            who.as_ref(),
            Some(&dc),
            "/tasks",
            Flash::from_query(&q).as_ref(),
            &body,
        ),
    )
}

/// `POST /ui/dcs/{dc}/tasks/{key}/claim`.
pub async fn claim<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, key)): Path<(String, String)>,
) -> Response {
    let to = format!("/ui/dcs/{}/tasks/{}", seg(&dc), seg(&key));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let key: TaskKey = parse("task key", &key)?;
        let t = c.service.claim_task(who.as_ref(), &dc, &key).await?;
        Ok(format!(
            "Claimed by {}.",
            t.state.claimed_by.map(|u| u.to_string()).unwrap_or_default()
        ))
    }
    .await;
    back(&to, outcome)
}

/// `POST /ui/dcs/{dc}/tasks/{key}/resolve` (form: `version`, `how`, `reason`).
pub async fn resolve<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, key)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let to = format!("/ui/dcs/{}/tasks/{}", seg(&dc), seg(&key));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let key: TaskKey = parse("task key", &key)?;
        let version: u64 = parse("version", f.get("version").map(String::as_str).unwrap_or(""))?;
        let resolution = match f.get("how").map(String::as_str) {
            Some("adjust") => Resolution::Adjust,
            Some("recount_requested") => Resolution::RecountRequested,
            Some("close") => Resolution::Close {
                reason: Reason::parse(f.get("reason").cloned().unwrap_or_default())
                    .map_err(|e| ConsoleError::BadRequest(format!("a reason is needed to close: {e}")))?,
            },
            _ => return Err(ConsoleError::BadRequest("choose how to resolve".into())),
        };
        let out = c
            .service
            .resolve_task(who.as_ref(), &dc, &key, &ResolveRequest { version, resolution })
            .await?;
        Ok(match out.adjustment {
            Some(a) => format!(
                "Adjustment {} posted ({} {}); task {}.",
                a.id.as_str(),
                a.quantity,
                a.uom,
                out.task.state.status.as_str()
            ),
            None => format!("Task {}.", out.task.state.status.as_str()),
        })
    }
    .await;
    back(&to, outcome)
}
