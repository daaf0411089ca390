//! `fanout-sync` handler library: maps an EventBridge schedule or a manual invocation to one
//! SQS FIFO sync request per DC. The `fanout-sync` binary wires it to the Lambda runtime.

pub mod handler;
