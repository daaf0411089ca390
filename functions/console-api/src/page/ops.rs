//! Holds and incidents, failed and stuck transactions, run reports and the audit trail, with
//! their actions (release, acknowledge, retry, retry matching, close as handled).

use super::views::txn_table;
use super::{back, error_page, esc, html, layout, seg, Flash};
use crate::api::{page_of, parse, parse_enum};
use crate::{Caller, Shared};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use console::{CloseRequest, ConsoleError, ConsolePorts, ReleaseRequest, RetryFilter, StuckKind};
use domain::console::{Principal, Reason, Role};
use domain::ids::{DcCode, ItemNumber, WmsTxnId};
use domain::ledger::SyncState;
use domain::ports::{IncidentId, RunKind};
use std::collections::HashMap;
use std::fmt::Write as _;

fn reason(f: &HashMap<String, String>) -> Result<Reason, ConsoleError> {
    Reason::parse(f.get("reason").cloned().unwrap_or_default())
        .map_err(|e| ConsoleError::BadRequest(format!("a reason is needed: {e}")))
}

/// The `kind` query parameter, `default` when absent or empty.
fn kind_of(q: &HashMap<String, String>, default: &str) -> String {
    q.get("kind")
        .filter(|k| !k.is_empty())
        .cloned()
        .unwrap_or_else(|| default.into())
}

/// The labelled "show which kind" form above a list: a select of `(value, label)` options with
/// `selected` chosen, submitted by GET.
fn kind_filter(label: &str, options: &[(&str, &str)], selected: &str) -> String {
    let mut form = format!(
        "<form class=\"inline panel\" method=\"get\"><div><label for=\"kind\">{label}</label><select id=\"kind\" name=\"kind\">"
    );
    for (v, l) in options {
        let sel = if *v == selected { " selected" } else { "" };
        let _ = write!(form, "<option value=\"{v}\"{sel}>{l}</option>");
    }
    form.push_str("</select></div><button type=\"submit\" class=\"secondary\">Show</button></form>");
    form
}

fn dc_of(text: &str, who: Option<&Principal>) -> Result<DcCode, Box<Response>> {
    parse("DC", text).map_err(|e| Box::new(error_page(&e, who, None)))
}

fn can(who: Option<&Principal>, role: Role) -> bool {
    who.is_some_and(|p| p.has(role))
}

/// `GET /ui/dcs/{dc}/holds`: active holds and open incidents.
pub async fn holds<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let dc = match dc_of(&dc, who.as_ref()) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let read = async {
        let holds = c.service.list_holds(who.as_ref(), &dc).await?;
        let incidents = c.service.list_incidents(who.as_ref(), &dc, &page_of(&q)?).await?;
        Ok::<_, ConsoleError>((holds, incidents))
    };
    let (holds, incidents) = match read.await {
        Ok(v) => v,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let base = format!("/ui/dcs/{}", seg(dc.as_str()));
    let manager = can(who.as_ref(), Role::Manager);
    let mut body = String::from("<div class=\"panel\"><h2>Active holds</h2><table><thead><tr><th>Item</th><th>Reason</th><th>Placed by</th><th>Incident</th><th>Release</th></tr></thead><tbody>");
    for h in &holds {
        let item = h.item.as_str();
        let form = if manager {
            format!(
                "<form class=\"inline\" method=\"post\" action=\"{base}/holds/{}/release\"><div><label for=\"rr-{i}\">Reason</label>\
<input id=\"rr-{i}\" name=\"reason\" required maxlength=\"500\"></div><button type=\"submit\" id=\"release-{i}\">Release</button></form>",
                seg(item),
                i = esc(item)
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr id=\"hold-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{form}</td></tr>",
            esc(item),
            esc(item),
            esc(&h.reason),
            esc(&h.placed_by),
            esc(h.incident.as_ref().map(|i| i.as_str()).unwrap_or("")),
        );
    }
    if holds.is_empty() {
        body.push_str("<tr><td colspan=\"5\" class=\"muted\">No active hold.</td></tr>");
    }
    body.push_str("</tbody></table></div><div class=\"panel\"><h2>Open incidents</h2><table><thead><tr><th>Incident</th><th>Key</th><th>Opened</th><th>Acknowledged</th><th>Hold released</th></tr></thead><tbody>");
    for r in &incidents.items {
        let i = &r.incident;
        let ack = match &r.acknowledged {
            Some((u, at)) => format!("{} at {}", esc(u.as_str()), at.format("%Y-%m-%d %H:%M")),
            None if manager => format!(
                "<form method=\"post\" action=\"{base}/incidents/{}/acknowledge\"><button type=\"submit\" class=\"secondary\">Acknowledge</button></form>",
                seg(i.id.as_str())
            ),
            None => "no".into(),
        };
        let released = match &r.hold_released {
            Some((u, at, why)) => format!(
                "{} at {}: {}",
                esc(u.as_str()),
                at.format("%Y-%m-%d %H:%M"),
                esc(why.as_str())
            ),
            None => String::new(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{ack}</td><td>{released}</td></tr>",
            esc(i.id.as_str()),
            esc(i.key.as_str()),
            i.opened_at.format("%Y-%m-%d %H:%M"),
        );
    }
    body.push_str("</tbody></table>");
    if let Some(next) = &incidents.next {
        let _ = write!(
            body,
            "<nav class=\"pager\"><a href=\"?cursor={}\">More incidents</a></nav>",
            seg(next.as_str())
        );
    }
    body.push_str("</div>");
    html(
        StatusCode::OK,
        layout(
            "Holds and incidents",
            who.as_ref(),
            Some(&dc),
            "/holds",
            Flash::from_query(&q).as_ref(),
            &body,
        ),
    )
}

/// `POST /ui/dcs/{dc}/holds/{item}/release` (form: `reason`).
pub async fn release<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, item)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let to = format!("/ui/dcs/{}/holds", seg(&dc));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let item: ItemNumber = parse("item", &item)?;
        let done = c
            .service
            .release_hold(who.as_ref(), &dc, &item, &ReleaseRequest { reason: reason(&f)? })
            .await?;
        Ok(if done.released_now {
            format!("Hold on {} released.", done.item.as_str())
        } else {
            format!("The hold on {} was already released.", done.item.as_str())
        })
    }
    .await;
    back(&to, outcome)
}

/// `POST /ui/dcs/{dc}/incidents/{id}/acknowledge`.
pub async fn acknowledge<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, id)): Path<(String, String)>,
) -> Response {
    let to = format!("/ui/dcs/{}/holds", seg(&dc));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let id: IncidentId = parse("incident id", &id)?;
        let r = c.service.acknowledge_incident(who.as_ref(), &dc, &id).await?;
        Ok(format!("Incident {} acknowledged.", r.incident.id.as_str()))
    }
    .await;
    back(&to, outcome)
}

/// `GET /ui/dcs/{dc}/txns?kind=`.
pub async fn txns<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let dc = match dc_of(&dc, who.as_ref()) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let kind_text = kind_of(&q, "sync_failed");
    let read = async {
        let kind: StuckKind = parse_enum("kind", &kind_text)?;
        c.service.list_stuck(who.as_ref(), &dc, kind, &page_of(&q)?).await
    };
    let page = match read.await {
        Ok(p) => p,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let base = format!("/ui/dcs/{}", seg(dc.as_str()));
    let integration = can(who.as_ref(), Role::Integration);
    let mut body = kind_filter(
        "Show",
        &[
            ("sync_failed", "Sync failed"),
            ("manual_review", "Manual review"),
            ("stale_in_flight", "Stuck in flight"),
            ("stale_accepted", "Stuck accepted"),
        ],
        &kind_text,
    );
    if integration && matches!(kind_text.as_str(), "sync_failed" | "manual_review") {
        let _ = write!(
            body,
            "<form class=\"inline panel\" method=\"post\" action=\"{base}/txns/retry\"><input type=\"hidden\" name=\"state\" value=\"{k}\">\
<div><label for=\"f-item\">Item (optional)</label><input id=\"f-item\" name=\"item\"></div>\
<div><label for=\"f-err\">Error contains (optional)</label><input id=\"f-err\" name=\"error_contains\"></div>\
<button type=\"submit\">Retry all matching</button></form>",
            k = esc(&kind_text)
        );
    }
    let actions = |t: &console::TxnView| {
        if !integration || !matches!(t.state, SyncState::SyncFailed | SyncState::ManualReview) {
            return String::new();
        }
        let id = seg(t.id.as_str());
        let i = esc(t.id.as_str());
        format!(
            "<form method=\"post\" action=\"{base}/txns/{id}/retry\"><button type=\"submit\" id=\"retry-{i}\">Retry</button></form>\
<form class=\"inline\" method=\"post\" action=\"{base}/txns/{id}/close\"><div><label for=\"cr-{i}\">Reason</label><input id=\"cr-{i}\" name=\"reason\" required maxlength=\"500\"></div>\
<button type=\"submit\" class=\"secondary\">Close as handled</button></form>"
        )
    };
    let _ = write!(body, "<div class=\"panel\">{}", txn_table(&page.items, actions));
    if let Some(next) = &page.next {
        let _ = write!(
            body,
            "<nav class=\"pager\"><a href=\"?kind={}&amp;cursor={}\">Next page</a></nav>",
            seg(&kind_text),
            seg(next.as_str())
        );
    }
    body.push_str("</div>");
    html(
        StatusCode::OK,
        layout(
            "Failed and stuck transactions",
            who.as_ref(),
            Some(&dc),
            "/txns",
            Flash::from_query(&q).as_ref(),
            &body,
        ),
    )
}

/// `POST /ui/dcs/{dc}/txns/{id}/retry`.
pub async fn retry<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, id)): Path<(String, String)>,
) -> Response {
    let to = format!("/ui/dcs/{}/txns", seg(&dc));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let id: WmsTxnId = parse("transaction id", &id)?;
        let t = c.service.retry_txn(who.as_ref(), &dc, &id).await?;
        let state = serde_json::to_value(t.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(format!(
            "Transaction {} is {} again.",
            t.id.as_str(),
            state.replace('_', " ")
        ))
    }
    .await;
    back(&to, outcome)
}

/// `POST /ui/dcs/{dc}/txns/retry` (form: `state`, `item`, `error_contains`).
pub async fn retry_matching<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let to = format!("/ui/dcs/{}/txns", seg(&dc));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let filter = RetryFilter {
            state: parse_enum("state", f.get("state").map(String::as_str).unwrap_or("sync_failed"))?,
            item: f
                .get("item")
                .filter(|s| !s.trim().is_empty())
                .map(|s| parse("item", s.trim()))
                .transpose()?,
            error_contains: f
                .get("error_contains")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        };
        let s = c.service.retry_matching(who.as_ref(), &dc, &filter).await?;
        Ok(format!(
            "{} retried, {} skipped{}.",
            s.retried.len(),
            s.skipped,
            if s.truncated {
                " (stopped at the cap: run it again)"
            } else {
                ""
            }
        ))
    }
    .await;
    back(&to, outcome)
}

/// `POST /ui/dcs/{dc}/txns/{id}/close` (form: `reason`).
pub async fn close<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path((dc, id)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let to = format!("/ui/dcs/{}/txns", seg(&dc));
    let outcome = async {
        let dc: DcCode = parse("DC", &dc)?;
        let id: WmsTxnId = parse("transaction id", &id)?;
        let t = c
            .service
            .close_txn(who.as_ref(), &dc, &id, &CloseRequest { reason: reason(&f)? })
            .await?;
        Ok(format!(
            "Transaction {} closed as handled outside invsync.",
            t.id.as_str()
        ))
    }
    .await;
    back(&to, outcome)
}

/// `GET /ui/dcs/{dc}/runs?kind=`.
pub async fn runs<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let dc = match dc_of(&dc, who.as_ref()) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let kind_text = kind_of(&q, "sync");
    let read = async {
        let kind: RunKind = parse("run kind", &kind_text)?;
        c.service.list_runs(who.as_ref(), &dc, kind, &page_of(&q)?).await
    };
    let page = match read.await {
        Ok(p) => p,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let mut body = kind_filter(
        "Function",
        &[("sync", "Sync"), ("reconcile", "Reconciliation")],
        &kind_text,
    );
    body.push_str("<div class=\"panel\"><table><thead><tr><th>Started</th><th>Run</th><th class=\"num\">ms</th><th>Figures</th><th>Notes</th></tr></thead><tbody>");
    for r in &page.items {
        let figures: Vec<String> = r
            .figures
            .iter()
            .map(|(k, v)| format!("{} {v}", esc(&k.replace('_', " "))))
            .collect();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            esc(r.run_id.as_str()),
            r.duration_ms,
            figures.join(" · "),
            esc(&r.notes.join("; "))
        );
    }
    if page.items.is_empty() {
        body.push_str("<tr><td colspan=\"5\" class=\"muted\">No run.</td></tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(next) = &page.next {
        let _ = write!(
            body,
            "<nav class=\"pager\"><a href=\"?kind={}&amp;cursor={}\">Older runs</a></nav>",
            seg(&kind_text),
            seg(next.as_str())
        );
    }
    body.push_str("</div>");
    html(
        StatusCode::OK,
        layout("Run reports", who.as_ref(), Some(&dc), "/runs", None, &body),
    )
}

/// `GET /ui/dcs/{dc}/audit`.
pub async fn audit<P: ConsolePorts>(
    State(c): State<Shared<P>>,
    Caller(who): Caller,
    Path(dc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let dc = match dc_of(&dc, who.as_ref()) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let page = match async { c.service.list_audit(who.as_ref(), &dc, &page_of(&q)?).await }.await {
        Ok(p) => p,
        Err(e) => return error_page(&e, who.as_ref(), Some(&dc)),
    };
    let mut body = String::from("<div class=\"panel\"><table><thead><tr><th>When</th><th>Who</th><th>What</th><th>On</th><th>Reason</th><th>Before → after</th></tr></thead><tbody>");
    for e in &page.items {
        let action = serde_json::to_value(e.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let change = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "–".into());
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><details><summary>show</summary><code>{}</code><br>→<br><code>{}</code></details></td></tr>",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            esc(e.actor.as_str()),
            esc(&action.replace('_', " ")),
            esc(&e.target),
            esc(e.reason.as_ref().map(|r| r.as_str()).unwrap_or("")),
            esc(&change(&e.before)),
            esc(&change(&e.after)),
        );
    }
    if page.items.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">No entry.</td></tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(next) = &page.next {
        let _ = write!(
            body,
            "<nav class=\"pager\"><a href=\"?cursor={}\">Older entries</a></nav>",
            seg(next.as_str())
        );
    }
    body.push_str("</div>");
    html(
        StatusCode::OK,
        layout("Audit trail", who.as_ref(), Some(&dc), "/audit", None, &body),
    )
}
