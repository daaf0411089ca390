//! `reconcile-stock` handler library: maps a schedule or manual event to reconciliation runs of
//! the DCs ([`handler`]) and reports each as CloudWatch metrics ([`metrics`]). The
//! `reconcile-stock` binary wires it to the Lambda runtime.

pub mod handler;
pub mod metrics;
