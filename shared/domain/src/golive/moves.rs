//! Moving a DC's status through the [`DcStatusBoard`] port: read, check the move, write
//! conditionally on the version read. The operator CLI and the local run use these; two people
//! moving the same DC at once get one success and one [`MoveError::Conflict`].

use super::gate::declare_live;
use super::status::{DcStatusChange, DcStatusRecord};
use crate::console::UserId;
use crate::error::{DomainError, Retryable};
use crate::ids::DcCode;
use crate::ports::{DcStatusBoard, StoreError};
use chrono::{DateTime, Utc};
use thiserror::Error;

/// Why a move did not happen.
#[derive(Debug, Clone, Error)]
pub enum MoveError {
    /// The move is not allowed from the DC's status (or lacks its reason or watermark).
    #[error("{0}")]
    Refused(DomainError),
    /// Someone else moved the DC between the read and the write: read it again.
    #[error("DC {dc} was changed by someone else meanwhile; check `invsync dc status` and try again ({detail})")]
    Conflict {
        /// The DC.
        dc: DcCode,
        /// The store's text.
        detail: String,
    },
    /// The status table could not be read or written.
    #[error("DC status table: {0}")]
    Store(StoreError),
}

impl Retryable for MoveError {
    fn is_retryable(&self) -> bool {
        match self {
            MoveError::Refused(_) | MoveError::Conflict { .. } => false,
            MoveError::Store(e) => e.is_retryable(),
        }
    }
}

/// The DC's record, `not_started` (version 0) when it has none.
pub async fn current<B: DcStatusBoard>(
    board: &B,
    dc: &DcCode,
    now: DateTime<Utc>,
) -> Result<DcStatusRecord, MoveError> {
    match board.get(dc).await.map_err(MoveError::Store)? {
        Some(r) => Ok(r),
        None => DcStatusRecord::not_started(dc.clone(), now).map_err(MoveError::Refused),
    }
}

/// Moves `dc` as `change` asks if [`DcStatusRecord::apply`] allows it from the stored status,
/// writing only if nobody moved it since the read. Answers the new record.
pub async fn move_dc<B: DcStatusBoard>(
    board: &B,
    dc: &DcCode,
    change: DcStatusChange,
) -> Result<DcStatusRecord, MoveError> {
    let now = change.at;
    let from = current(board, dc, now).await?;
    let next = from.apply(change).map_err(MoveError::Refused)?;
    write(board, &next, from.version).await
}

/// Declares `dc` live without a baseline (see [`declare_live`]): only a DC not started.
pub async fn declare_dc_live<B: DcStatusBoard>(
    board: &B,
    dc: &DcCode,
    by: UserId,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<DcStatusRecord, MoveError> {
    let from = current(board, dc, at).await?;
    let next = declare_live(&from, by, at, reason).map_err(MoveError::Refused)?;
    write(board, &next, from.version).await
}

async fn write<B: DcStatusBoard>(board: &B, next: &DcStatusRecord, expected: u64) -> Result<DcStatusRecord, MoveError> {
    match board.put(next, expected).await {
        Ok(()) => Ok(next.clone()),
        Err(StoreError::Conflict(detail)) => Err(MoveError::Conflict {
            dc: next.dc.clone(),
            detail,
        }),
        Err(e) => Err(MoveError::Store(e)),
    }
}
