//! The functions' resource names from what local set-up created.

use anyhow::Context as _;
use app::Resources;
use aws_local::Provisioned;

/// The names the functions get (as the template's environment gives them in AWS) of the tables
/// and topic `provisioned` from `infra/template.yaml`. Fails naming a logical id the template
/// no longer declares.
pub fn resources_from(provisioned: &Provisioned) -> anyhow::Result<Resources> {
    let table = |id: &str| {
        provisioned
            .table(id)
            .map(str::to_string)
            .with_context(|| format!("the functions' {id}"))
    };
    Ok(Resources {
        ledger_table: table("LedgerTable")?,
        lot_map_table: table("LotMapTable")?,
        review_task_table: table("ReviewTaskTable")?,
        lease_table: table("LeaseTable")?,
        run_table: table("RunTable")?,
        incident_table: table("IncidentTable")?,
        alert_topic_arn: provisioned
            .topic_arn("AlertTopic")
            .map(str::to_string)
            .context("the functions' AlertTopic")?,
    })
}
