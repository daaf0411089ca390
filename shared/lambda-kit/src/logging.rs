//! Structured JSON logs for CloudWatch.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Installs the JSON log subscriber once per process: one JSON object per line, with the
/// current span's fields (`dc`, `run_id`, `txn_id`) on every line. The level comes from
/// `RUST_LOG` (default `info`). Calling it twice is harmless.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry().with(filter).with(layer).try_init();
}
