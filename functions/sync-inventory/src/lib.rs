//! `sync-inventory` handler library: maps an SQS batch of sync requests to domain sync runs
//! with `ReportBatchItemFailures`. The `sync-inventory` binary wires it to the Lambda runtime.

pub mod handler;
