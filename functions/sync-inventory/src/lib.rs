//! `sync-inventory` handler library: maps an SQS batch of sync requests to domain sync runs
//! with `ReportBatchItemFailures` ([`handler`]), and turns a run into its persisted report and
//! metrics ([`report`]). The `sync-inventory` binary wires it to the Lambda runtime.

pub mod handler;
pub mod report;
