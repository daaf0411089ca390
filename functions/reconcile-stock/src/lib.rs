//! `reconcile-stock` handler library: maps a schedule or manual event to reconciliation runs of
//! the DCs. The `reconcile-stock` binary wires it to the Lambda runtime.

pub mod handler;
