//! Ids the reconciliation derives from a run and a balance key, stable across reruns.

use super::*;

/// Whether a ledger transaction is a reconciliation adjustment (never reported to the WMS).
pub fn is_adjustment(id: &WmsTxnId) -> bool {
    id.as_str().starts_with(ADJUSTMENT_ID_PREFIX)
}

/// The id of the adjustment for `key` in run `run_id`: `RC-` and 32 hex digits of a stable
/// hash of both, so the same run and key always give the same id (and the ledger refuses a
/// second adjustment) while different runs never collide in practice.
pub fn adjustment_id(run_id: &str, key: &BalanceKey) -> Result<WmsTxnId, DomainError> {
    WmsTxnId::parse(format!(
        "{ADJUSTMENT_ID_PREFIX}{}",
        hash128(&[run_id, &key.to_string()])
    ))
}

/// The id of the incident opened for `key` in run `run_id` (`INC-` and 16 hex digits); it is
/// the hold's reference.
pub fn incident_id(run_id: &str, key: &BalanceKey) -> IncidentId {
    IncidentId::from_digest(fnv64(&[run_id, &key.to_string()], FNV_OFFSET))
}

/// FNV-1a over the parts (with a separator), twice with different offsets: stable across
/// builds and platforms, unlike `std`'s hasher.
pub(super) fn hash128(parts: &[&str]) -> String {
    format!(
        "{:016x}{:016x}",
        fnv64(parts, FNV_OFFSET),
        fnv64(parts, 0x6c62_272e_07bb_0142)
    )
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv64(parts: &[&str], offset: u64) -> u64 {
    let mut h = offset;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}
