//! [`Permissions`]: the IAM actions an adapter's calls need, declared by each adapter next to
//! those calls (`DynamoSyncLedger::PERMISSIONS`, ...).
//!
//! A function's role must grant exactly what the adapters it wires declare (plus what Lambda
//! itself does with the role: logs, traces, the event source, failure destinations).
//! `tools/template-check` compares the declarations with every role in `infra/template.yaml`,
//! and the IAM-enforced integration tests run each function under its role, so a call missing
//! from a declaration fails there.
//!
//! Actions are IAM action names, which are not always API names: SQS authorizes
//! `SendMessageBatch` as `sqs:SendMessage`.

/// What an adapter's calls need on the resource it is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// Actions on the resource itself (the table, queue, topic or secret ARN).
    pub resource: &'static [&'static str],
    /// Actions on the table's secondary indexes (`<table ARN>/index/<name>`).
    pub indexes: &'static [&'static str],
}

impl Permissions {
    /// Actions on the resource only.
    pub const fn on_resource(actions: &'static [&'static str]) -> Self {
        Self {
            resource: actions,
            indexes: &[],
        }
    }
}
