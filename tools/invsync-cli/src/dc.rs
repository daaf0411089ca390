//! `invsync dc ...`: DC go-live statuses through `console::DcStatusDesk` (the status table
//! and the audit trail only), printed as a table or JSON.

use crate::args::DcCmd;
use crate::exit::CliError;
use crate::render::{at, cut, table, Output};
use chrono::{DateTime, Utc};
use console::{DcStatusDesk, StatusRequest};
use domain::console::Principal;
use domain::golive::DcStatusRecord;
use domain::ids::DcCode;
use domain::ports::{AuditLog, DcStatusBoard};
use std::fmt::Write as _;

/// Runs one `dc` command for `dcs` (one DC unless `dc status`).
pub async fn run<B: DcStatusBoard, A: AuditLog>(
    desk: &DcStatusDesk<B, A>,
    who: &Principal,
    dcs: &[DcCode],
    command: &DcCmd,
    now: DateTime<Utc>,
) -> Result<Output, CliError> {
    let who = Some(who);
    let request = match command {
        DcCmd::Status => return Ok(statuses(&desk.statuses(who, dcs, now).await?)),
        DcCmd::Maintenance { reason } => StatusRequest::Maintenance(reason.clone()),
        DcCmd::Resume => StatusRequest::Resume,
        DcCmd::DeclareLive { reason } => StatusRequest::DeclareLive(reason.clone()),
    };
    let [dc] = dcs else {
        return Err(CliError::Usage("--dc <DC> is required for this command".into()));
    };
    let after = desk.change(who, dc, request, now).await?;
    let text = format!(
        "DC {} is now {} (version {}, by {}){}\n",
        after.dc,
        after.status,
        after.version,
        after.changed_by.as_str(),
        after.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    );
    Ok(Output::new(&after, text))
}

/// `dc status`: `{"dcs": [record, ...]}`; a table with what sync and reconciliation do.
fn statuses(records: &[DcStatusRecord]) -> Output {
    let mut t = table(&[
        "dc",
        "status",
        "sync",
        "reconciliation",
        "changed by",
        "changed at",
        "reason",
        "watermark",
    ]);
    for r in records {
        t.add_row(vec![
            r.dc.to_string(),
            r.status.to_string(),
            if r.status.syncs() { "hourly" } else { "held" }.to_string(),
            if r.status.acts_on_variances() {
                "acts"
            } else {
                "report only"
            }
            .to_string(),
            if r.version == 0 {
                "-".to_string()
            } else {
                r.changed_by.as_str().to_string()
            },
            if r.version == 0 {
                "-".to_string()
            } else {
                at(&r.changed_at)
            },
            cut(r.reason.as_deref().unwrap_or("")),
            r.watermark.map_or_else(String::new, |w| w.to_string()),
        ]);
    }
    let mut text = format!("{t}\n");
    let live = records.iter().filter(|r| r.status.syncs()).count();
    let _ = writeln!(text, "{live} of {} DC(s) live", records.len());
    Output::new(&serde_json::json!({ "dcs": records }), text)
}
