//! `fanout-sync` handler library: maps an EventBridge schedule or a manual invocation to one
//! SQS FIFO request per DC, on the sync queue (hourly) or the reconcile queue (every 15
//! minutes). The `fanout-sync` binary wires it to the Lambda runtime.

pub mod handler;
