//! The local run's functions under their template roles: with `--roles` (scripts/run-local.sh
//! passes it when it runs against the IAM-enforcing emulator), each in-process function runs
//! as a role whose policy is its role policy in `infra/template.yaml` (aws_local::iam), and
//! the run fails naming any action a function needed beyond its role.

use aws_config::SdkConfig;
use aws_local::calls::RecordCalls;
use aws_local::iam::{self, FunctionSession};
use std::collections::BTreeMap;
use std::path::Path;

/// The three functions' sessions and the record of every call.
pub struct Roles {
    /// fanout-sync's session.
    pub fanout: FunctionSession,
    /// sync-inventory's session (also the SQS event source's, which uses the same role).
    pub sync: FunctionSession,
    /// reconcile-stock's session.
    pub reconcile: FunctionSession,
    recorder: RecordCalls,
    logical: BTreeMap<String, String>,
}

impl Roles {
    /// Creates and assumes the three roles as the administrator `admin` (whose HTTP client is
    /// `recorder`), named with the run's `suffix`.
    pub async fn start(
        admin: &SdkConfig,
        recorder: RecordCalls,
        root: &Path,
        provisioned: &aws_local::Provisioned,
        suffix: &str,
    ) -> anyhow::Result<Self> {
        let template = root.join(aws_local::provision::TEMPLATE_PATH);
        let session = |function: &'static str| {
            let template = template.clone();
            async move {
                let (role, statements) = iam::template_statements(&template, function)?;
                FunctionSession::start(admin, function, &role, statements, suffix).await
            }
        };
        Ok(Self {
            fanout: session("fanout-sync").await?,
            sync: session("sync-inventory").await?,
            reconcile: session("reconcile-stock").await?,
            recorder,
            logical: iam::logical_ids(provisioned),
        })
    }

    /// An error naming every action a function needed beyond its role.
    pub fn check(&self) -> anyhow::Result<()> {
        let calls = self.recorder.calls();
        let problems: Vec<String> = [&self.fanout, &self.sync, &self.reconcile]
            .iter()
            .filter_map(|s| s.beyond_role(&calls, &self.logical))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(anyhow::anyhow!(problems.join("\n")))
        }
    }
}
