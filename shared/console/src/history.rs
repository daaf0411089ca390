//! Run reports and the audit trail.

use crate::{ConsoleError, ConsoleService};
use domain::console::{authorize, Action, AuditEntry, PageOf, PageRequest, Principal};
use domain::ids::DcCode;
use domain::ports::ConsolePorts;
use domain::ports::{AuditLog, RunHistory, RunKind, RunReport};

impl<P: ConsolePorts> ConsoleService<P> {
    /// One page of `dc`'s run reports of `kind`, newest first. Every role.
    pub async fn list_runs(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        kind: RunKind,
        page: &PageRequest,
    ) -> Result<PageOf<RunReport>, ConsoleError> {
        authorize(who, Action::ListRuns, dc)?;
        Ok(self.ports.history().list_runs(dc, kind, page).await?)
    }

    /// One page of `dc`'s audit entries, newest first. Every role.
    pub async fn list_audit(
        &self,
        who: Option<&Principal>,
        dc: &DcCode,
        page: &PageRequest,
    ) -> Result<PageOf<AuditEntry>, ConsoleError> {
        authorize(who, Action::ListAudit, dc)?;
        Ok(self.ports.audit().list_audit(dc, page).await?)
    }
}
