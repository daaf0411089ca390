//! The go-live port: each DC's status (`not_started` ... `live`), read by the fan-out and the
//! reconciliation, moved by the baseline flow and by people.

use crate::golive::DcStatusRecord;
use crate::ids::DcCode;
use crate::ports::StoreError;
use std::future::Future;

/// The DC status table (or a fake). A DC with no row is `not_started`.
pub trait DcStatusBoard: Send + Sync {
    /// The DC's record, `None` when nobody has touched it (read it as `not_started`).
    fn get(&self, dc: &DcCode) -> impl Future<Output = Result<Option<DcStatusRecord>, StoreError>> + Send;

    /// Every DC that has a record.
    fn all(&self) -> impl Future<Output = Result<Vec<DcStatusRecord>, StoreError>> + Send;

    /// Writes `next` only if the stored version is still `expected_version` (0: no row yet);
    /// `StoreError::Conflict` otherwise, so two people or two invocations moving the same DC get
    /// one success and one conflict.
    fn put(&self, next: &DcStatusRecord, expected_version: u64) -> impl Future<Output = Result<(), StoreError>> + Send;
}
