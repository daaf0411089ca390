//! invsync's benchmarks and what they share with their tests: [`golive`] wires the go-live
//! baseline engine to the real Fusion and WMS HTTP clients over in-memory tables (the
//! `baseline-bench` binary and `tests/golive_http.rs` use it).

pub mod golive;
