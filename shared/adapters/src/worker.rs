//! Running a read and its parsing as a task of its own on the async runtime.
//!
//! Why: the Lambda handler's future runs on one thread, and a large page (500 Fusion balances,
//! 5,000 WMS balances) costs milliseconds to parse; parsed there, it holds back every other
//! request of the same invocation. As tasks, pages are parsed on the runtime's worker threads
//! while the caller folds the ones already read.

use std::future::Future;
use tracing::Instrument;

/// Runs `work` as a task of its own, in the caller's tracing span, and answers its output,
/// or `Err` with why the task stopped (it panicked) . Dropping the returned future aborts
/// the task, so a caller that gives up leaves no request running.
pub(crate) async fn on_worker<T, F>(work: F) -> Result<T, String>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut task = AbortOnDrop(tokio::spawn(work.instrument(tracing::Span::current())));
    (&mut task.0).await.map_err(|e| e.to_string())
}

/// A spawned task that is aborted when this handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn answers_the_output_of_the_task() {
        assert_eq!(on_worker(async { 7 }).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panic_is_an_error_not_a_panic_of_the_caller() {
        let out: Result<(), String> = on_worker(async { panic!("bad page") }).await;
        assert!(out.is_err_and(|e| e.contains("panic")));
    }

    #[tokio::test]
    async fn dropping_the_future_aborts_the_task() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let fut = on_worker(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            flag.store(true, Ordering::SeqCst);
        });
        // Started, then dropped before the sleep ends.
        let _ = tokio::time::timeout(Duration::from_millis(10), fut).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!finished.load(Ordering::SeqCst));
    }
}
