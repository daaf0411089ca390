//! `baseline` handler library: an SQS batch of go-live apply requests ([`handler`]), each
//! applying its DC's baseline plan from the checkpoints on until the invocation's time is
//! nearly up, then continuing itself through its own FIFO queue. The `baseline` binary wires it
//! to the Lambda runtime.

pub mod handler;
