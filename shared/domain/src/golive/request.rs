//! [`ApplyRequest`]: the message that asks the `baseline` function to apply a DC's plan, sent by
//! `invsync baseline apply --via-lambda` and by the function itself to continue before its time
//! runs out.

use crate::console::UserId;
use crate::error::DomainError;
use crate::golive::baseline::PlanId;
use crate::ids::DcCode;
use serde::{Deserialize, Serialize};

/// Apply `plan` of `dc` from its checkpoints on. `from_chunk` is how many chunks were applied
/// when the message was sent: it makes each continuation's deduplication id new as the apply
/// advances, and a run that advanced nothing recognizable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The DC (also the FIFO group: one apply of a DC at a time).
    pub dc: DcCode,
    /// The plan to apply (the DC's current one).
    pub plan: PlanId,
    /// Chunks applied when the message was sent.
    #[serde(default)]
    pub from_chunk: u32,
    /// Who started the apply (recorded on the DC's status moves).
    pub by: UserId,
}

impl ApplyRequest {
    /// Parses a message body; a malformed body can never succeed.
    pub fn parse(body: &str) -> Result<Self, DomainError> {
        serde_json::from_str(body).map_err(|e| DomainError::InvalidId {
            kind: "baseline apply request",
            value: body.chars().take(80).collect(),
            reason: e.to_string(),
        })
    }

    /// The FIFO deduplication id: plan and progress (`BL-DC01-20261201T060000Z:3`), so a double
    /// send of one step is dropped and every step forward is a new message. A plan id is at
    /// most 80 characters of letters, digits and `-_.`, within SQS's 128.
    pub fn dedup_id(&self) -> String {
        format!("{}:{}", self.plan.as_str(), self.from_chunk)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_request_round_trips_and_its_dedup_id_moves_with_progress() {
        let r = ApplyRequest {
            dc: DcCode::parse("DC01").unwrap(),
            plan: PlanId::parse("BL-DC01-20261201T060000Z").unwrap(),
            from_chunk: 3,
            by: UserId::parse("ann").unwrap(),
        };
        let body = serde_json::to_string(&r).unwrap();
        assert_eq!(ApplyRequest::parse(&body).unwrap(), r);
        let next = ApplyRequest {
            from_chunk: 4,
            ..r.clone()
        };
        assert_ne!(r.dedup_id(), next.dedup_id());
        assert_eq!(r.dedup_id(), "BL-DC01-20261201T060000Z:3");
        assert!(ApplyRequest::parse("{\"dc\": \"DC01\"}").is_err());
    }
}
