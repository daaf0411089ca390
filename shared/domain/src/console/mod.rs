//! The operator console's rules (issue 12): who may do what ([`auth`]), the review-task
//! lifecycle a supervisor drives ([`task`]), the append-only audit entry every action writes
//! ([`audit`]) and paged reads with an opaque cursor ([`page`]).
//!
//! Pure rules only: the operations themselves live in the `console` crate's
//! `ConsoleService`, over the ports in [`crate::ports::console`].

pub mod audit;
pub mod auth;
pub mod page;
pub mod task;

pub use audit::{AuditAction, AuditEntry, AuditId, Reason};
pub use auth::{authorize, AccessError, Action, DcScope, Principal, Role, UserId};
pub use page::{Cursor, PageOf, PageRequest};
pub use task::{LifecycleError, Resolution, TaskState, TaskStatus, Transition, VarianceFigures};
