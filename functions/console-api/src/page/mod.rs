//! The web page: server-rendered HTML under `/ui`, plain forms that post and redirect back
//! (no script, no external asset: it works offline and from the keyboard). Every control has a
//! label; the layout is one column that widens on a laptop and stays readable on a tablet.
//!
//! Sign-in: `/ui/login` takes a user pool ID token (pasted, from `aws cognito-idp
//! initiate-auth`) or, only when the development login is enabled, a user, role and DCs; the
//! token is kept in the `invsync_token` cookie (HttpOnly, SameSite=Strict, which also keeps
//! other sites from posting the forms).
//!
//! - `mod.rs`: routes, layout, sign-in, errors;
//! - [`views`]: dashboard (with the accuracy chart), task list and task detail with its actions;
//! - [`ops`]: holds and incidents, failed transactions, run reports, audit, and their actions.

mod chart;
mod ops;
mod views;

use crate::auth::TOKEN_COOKIE;
use crate::{Caller, Shared};
use axum::extract::{Form, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use console::{ConsoleError, ConsolePorts};
use domain::console::{DcScope, Principal, Role, UserId};
use domain::ids::DcCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The page routes (state: the console).
pub fn routes<P: ConsolePorts + 'static>() -> Router<Shared<P>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui") }))
        .route("/ui", get(start::<P>))
        .route("/ui/go", get(go))
        .route("/ui/login", get(login_form::<P>).post(login::<P>))
        .route("/ui/logout", post(logout))
        .route("/ui/dcs/{dc}", get(views::dashboard::<P>))
        .route("/ui/dcs/{dc}/tasks", get(views::tasks::<P>))
        .route("/ui/dcs/{dc}/tasks/{key}", get(views::task::<P>))
        .route("/ui/dcs/{dc}/tasks/{key}/claim", post(views::claim::<P>))
        .route("/ui/dcs/{dc}/tasks/{key}/resolve", post(views::resolve::<P>))
        .route("/ui/dcs/{dc}/holds", get(ops::holds::<P>))
        .route("/ui/dcs/{dc}/holds/{item}/release", post(ops::release::<P>))
        .route("/ui/dcs/{dc}/incidents/{id}/acknowledge", post(ops::acknowledge::<P>))
        .route("/ui/dcs/{dc}/txns", get(ops::txns::<P>))
        .route("/ui/dcs/{dc}/txns/retry", post(ops::retry_matching::<P>))
        .route("/ui/dcs/{dc}/txns/{id}/retry", post(ops::retry::<P>))
        .route("/ui/dcs/{dc}/txns/{id}/close", post(ops::close::<P>))
        .route("/ui/dcs/{dc}/runs", get(ops::runs::<P>))
        .route("/ui/dcs/{dc}/audit", get(ops::audit::<P>))
}

/// HTML-escapes `text`.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one path segment (task keys hold `/` and `:`).
pub fn seg(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

const STYLE: &str = r#"
:root{--fg:#1d2733;--muted:#5b6775;--line:#d5dbe2;--bg:#f5f7f9;--card:#fff;--accent:#0b5cad;--ok:#1f7a3d;--warn:#a15c00;--bad:#b3261e}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0b400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
header{background:#12324f;color:#fff;padding:10px 20px;display:flex;flex-wrap:wrap;gap:12px 24px;align-items:center}
header a{color:#fff;text-decoration:none;padding:4px 2px}header a[aria-current]{border-bottom:3px solid #f0b400}
header .who{margin-left:auto;font-size:14px;opacity:.9}header form{display:inline}
header button{background:transparent;color:#fff;border:1px solid #9fb3c8;border-radius:4px;padding:3px 10px;cursor:pointer}
main{max-width:1180px;margin:0 auto;padding:16px 20px 40px}h1{font-size:24px;margin:8px 0 16px}h2{font-size:18px;margin:24px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{text-decoration:none;color:inherit;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .n{font-size:28px;font-weight:600}.card .l{color:var(--muted);font-size:14px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin-top:12px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:15px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:13px;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;background:#e7edf3}
.badge.open{background:#fde7c7}.badge.claimed{background:#dbe9fb}.badge.resolving{background:#e6ddf8}.badge.closed{background:#dcefe2}
.flash{padding:10px 14px;border-radius:6px;margin:0 0 12px;border:1px solid}.flash.ok{background:#e6f4ea;border-color:#9ccfae}.flash.err{background:#fde8e7;border-color:#e5a29d}
form.inline{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end;margin:0}
label{display:block;font-size:13px;color:var(--muted)}input,select,textarea{font:inherit;padding:5px 8px;border:1px solid #aab4bf;border-radius:4px;min-width:0}
button{font:inherit;padding:6px 12px;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}.muted{color:var(--muted)}.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
.fig{display:grid;grid-template-columns:repeat(4,1fr);gap:8px}.fig div{background:var(--bg);border-radius:6px;padding:8px}.fig b{display:block;font-size:22px}
.panel h2{margin-top:0}fieldset label{font-size:15px;color:var(--fg);margin:4px 0}.card .n{color:var(--accent)}
svg text{font:12px system-ui,sans-serif;fill:#5b6775}nav.pager{margin-top:10px}
@media (max-width:700px){.fig{grid-template-columns:repeat(2,1fr)}header .who{margin-left:0}}
"#;

/// A whole page: header with the DC's navigation, a flash line, `body`.
pub fn layout(
    title: &str,
    who: Option<&Principal>,
    dc: Option<&DcCode>,
    current: &str,
    flash: Option<&Flash>,
    body: &str,
) -> String {
    let mut nav = String::new();
    if let Some(dc) = dc {
        let base = format!("/ui/dcs/{}", seg(dc.as_str()));
        for (path, label) in [
            ("", "Dashboard"),
            ("/tasks", "Tasks"),
            ("/holds", "Holds & incidents"),
            ("/txns", "Failed transactions"),
            ("/runs", "Runs"),
            ("/audit", "Audit"),
        ] {
            let cur = if path == current { " aria-current=\"page\"" } else { "" };
            let _ = write!(nav, "<a href=\"{base}{path}\"{cur}>{label}</a>");
        }
    }
    let who_html = match who {
        Some(p) => format!(
            "<span class=\"who\">{} · {}</span><form method=\"post\" action=\"/ui/logout\"><button type=\"submit\">Sign out</button></form>",
            esc(p.user.as_str()),
            esc(&p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))
        ),
        None => String::new(),
    };
    let flash_html = flash.map(Flash::html).unwrap_or_default();
    let dc_title = dc.map(|d| format!(" {}", esc(d.as_str()))).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{t} · invsync console</title><style>{STYLE}</style></head><body><a class=\"skip\" href=\"#main\">Skip to content</a>\
<header><a href=\"/ui\"><strong>invsync</strong>{dc_title}</a>{nav}{who_html}</header>\
<main id=\"main\"><h1>{t}</h1>{flash_html}{body}</main></body></html>",
        t = esc(title)
    )
}

/// A one-line outcome shown at the top of the next page (`?done=` or `?error=`).
#[derive(Debug, Clone)]
pub enum Flash {
    /// An action succeeded.
    Done(String),
    /// An action failed.
    Error(String),
}

impl Flash {
    /// From the query of a redirect.
    pub fn from_query(q: &HashMap<String, String>) -> Option<Self> {
        q.get("done")
            .map(|m| Flash::Done(m.clone()))
            .or_else(|| q.get("error").map(|m| Flash::Error(m.clone())))
    }

    fn html(&self) -> String {
        match self {
            Flash::Done(m) => format!("<p class=\"flash ok\" role=\"status\">{}</p>", esc(m)),
            Flash::Error(m) => format!("<p class=\"flash err\" role=\"alert\">{}</p>", esc(m)),
        }
    }
}

/// An HTML response.
pub fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, page).into_response();
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

/// The page for a failed read: 401 goes to sign-in, anything else shows the error.
pub fn error_page(e: &ConsoleError, who: Option<&Principal>, dc: Option<&DcCode>) -> Response {
    if matches!(e, ConsoleError::Unauthenticated) {
        return Redirect::to("/ui/login").into_response();
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = format!(
        "<p class=\"flash err\" role=\"alert\">{}</p><p><a href=\"/ui\">Back to the start</a></p>",
        esc(&e.to_string())
    );
    html(
        status,
        layout(status.canonical_reason().unwrap_or("Error"), who, dc, "", None, &body),
    )
}

/// Where an action goes back to, with its outcome.
pub fn back(to: &str, outcome: Result<String, ConsoleError>) -> Response {
    let (key, msg) = match outcome {
        Ok(m) => ("done", m),
        Err(ConsoleError::Unauthenticated) => return Redirect::to("/ui/login").into_response(),
        Err(e) => ("error", e.to_string()),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    let url = format!("{to}{sep}{key}={}", seg(&msg));
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

async fn start<P: ConsolePorts>(State(c): State<Shared<P>>, Caller(who): Caller) -> Response {
    let Some(p) = who else {
        return Redirect::to("/ui/login").into_response();
    };
    let dcs: Vec<DcCode> = match &p.scope {
        DcScope::All => c.known_dcs.clone(),
        DcScope::Dcs(d) => d.iter().cloned().collect(),
    };
    let mut body = String::from("<div class=\"panel\"><h2>Distribution centres</h2><ul>");
    for dc in &dcs {
        let _ = write!(
            body,
            "<li><a href=\"/ui/dcs/{0}\">{1}</a></li>",
            seg(dc.as_str()),
            esc(dc.as_str())
        );
    }
    body.push_str("</ul><form class=\"inline\" method=\"get\" action=\"/ui/go\"><div><label for=\"dc\">Open a DC by code</label>\
<input id=\"dc\" name=\"dc\" required pattern=\"[A-Za-z0-9_-]+\" placeholder=\"DC01\"></div><button type=\"submit\">Open</button></form></div>");
    html(StatusCode::OK, layout("Choose a DC", Some(&p), None, "", None, &body))
}

async fn go(Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("dc").map(|d| d.trim().to_uppercase()).filter(|d| !d.is_empty()) {
        Some(dc) => Redirect::to(&format!("/ui/dcs/{}", seg(&dc))).into_response(),
        None => Redirect::to("/ui").into_response(),
    }
}

async fn login_form<P: ConsolePorts>(State(c): State<Shared<P>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut body = String::from(
        "<div class=\"grid2\"><form class=\"panel\" method=\"post\" action=\"/ui/login\"><h2>Sign in with your Cognito ID token</h2>\
<label for=\"token\">ID token</label><textarea id=\"token\" name=\"token\" rows=\"5\" style=\"width:100%\" required></textarea>\
<p class=\"muted\">Get one with <code>aws cognito-idp initiate-auth</code> (see docs/operations.md).</p><button type=\"submit\">Sign in</button></form>",
    );
    if c.auth.dev.is_some() {
        body.push_str(
            "<form class=\"panel\" method=\"post\" action=\"/ui/login\"><h2>Development login</h2>\
<p class=\"muted\">Enabled for this local server only.</p>\
<label for=\"dev_user\">User</label><input id=\"dev_user\" name=\"dev_user\" value=\"dev\" required>\
<fieldset style=\"border:0;padding:0;margin:8px 0\"><legend class=\"muted\">Roles</legend>\
<label><input type=\"checkbox\" name=\"dev_role\" value=\"supervisor\" id=\"role-supervisor\" checked> Supervisor</label>\
<label><input type=\"checkbox\" name=\"dev_role\" value=\"manager\" id=\"role-manager\"> Warehouse manager</label>\
<label><input type=\"checkbox\" name=\"dev_role\" value=\"integration\" id=\"role-integration\"> Integration team</label></fieldset>\
<label for=\"dev_dcs\">DCs (comma separated, * for all)</label><input id=\"dev_dcs\" name=\"dev_dcs\" value=\"*\" required>\
<p><button type=\"submit\" id=\"dev_login\">Sign in</button></p></form>",
        );
    }
    body.push_str("</div>");
    html(
        StatusCode::OK,
        layout("Sign in", None, None, "", Flash::from_query(&q).as_ref(), &body),
    )
}

/// The dev login form posts roles as repeated `dev_role` fields.
async fn login<P: ConsolePorts>(State(c): State<Shared<P>>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let token = if let Some(token) = get("token").filter(|t| !t.is_empty()) {
        c.auth.verify(&token).await.map(|_| token)
    } else if let (Some(dev), Some(user)) = (&c.auth.dev, get("dev_user")) {
        let roles: Vec<Role> = fields
            .iter()
            .filter(|(k, _)| k == "dev_role")
            .filter_map(|(_, v)| Role::parse(v).ok())
            .collect();
        UserId::parse(user)
            .ok()
            .and_then(|u| dev.mint(&u, &roles, &get("dev_dcs").unwrap_or_default()))
    } else {
        None
    };
    let Some(token) = token else {
        return back(
            "/ui/login",
            Err(ConsoleError::BadRequest(
                "that token is not valid for this console".into(),
            )),
        );
    };
    let mut r = Redirect::to("/ui").into_response();
    let cookie = format!(
        "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        if c.auth.secure_cookie { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}

async fn logout() -> Response {
    let mut r = Redirect::to("/ui/login").into_response();
    r.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("invsync_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}
