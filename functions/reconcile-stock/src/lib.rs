//! `reconcile-stock` handler library: reconciles one DC per SQS message from the 15-minute
//! fan-out ([`queue`]), or, invoked directly, every DC it is asked for in one invocation
//! ([`handler`], the manual and local mode); reports each DC as CloudWatch metrics
//! ([`metrics`]). The `reconcile-stock` binary wires [`queue::handle_any`] to the Lambda runtime.

pub mod handler;
pub mod metrics;
pub mod queue;
