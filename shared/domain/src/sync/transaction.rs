//! One transaction through the two-phase commit: record, claim, map lots, post, then
//! confirm, accept, fail or release in the ledger.

use super::lots::{map_lots, PageHints};
use super::*;
use crate::error::DomainError;
use crate::ledger::FusionRef;
use crate::ports::Recorded;

/// What one attempt cost: lines posted and found, time spent waiting on Fusion.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
    lines: u64,
    found: u64,
    fusion_ms: u64,
}

/// Why an attempt ended without every line in Fusion.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// About this transaction (or a passing outage): recorded on the row.
    Txn(Failure),
    /// About Fusion or our access to it (credentials, role): the row is released and the run
    /// stops.
    Systemic(String),
}

impl From<Failure> for AttemptError {
    fn from(f: Failure) -> Self {
        AttemptError::Txn(f)
    }
}

/// A Fusion error as a failure of this transaction (retryable as the error says).
pub(crate) fn fusion_failure(e: &FusionError) -> Failure {
    Failure {
        retryable: e.is_retryable(),
        reason: e.to_string(),
        systemic: is_outage(e),
    }
}

/// Whether the error says Fusion is unavailable rather than anything about the transaction.
fn is_outage(e: &FusionError) -> bool {
    matches!(
        e,
        FusionError::Unavailable { .. }
            | FusionError::Timeout
            | FusionError::Connection(_)
            | FusionError::Throttled { .. }
    )
}

/// A Fusion error as the attempt's outcome: systemic, or a failure of this transaction.
pub(super) fn fusion_error(e: &FusionError) -> AttemptError {
    if e.is_systemic() {
        AttemptError::Systemic(e.to_string())
    } else {
        AttemptError::Txn(fusion_failure(e))
    }
}

/// Moves one transaction through the ledger and into Fusion: record, claim (conditional
/// write), map lots, post every line (looking lines up first when an earlier attempt may have
/// landed), then confirm (`synced`), accept (`accepted`: a line waits in Fusion's interface), fail, or
/// release (a systemic failure). With `notify_wms` the outcome is reported to the WMS (sync);
/// without it (reconciliation adjustments, which the WMS never saw) it is not.
pub async fn sync_transaction<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    txn: WmsTransaction,
    notify_wms: bool,
) -> TxnOutcome {
    sync_transaction_in_page(ports, settings, txn, notify_wms, &PageHints::default()).await
}

/// [`sync_transaction`] with what the page's preparation already read (`hints`), so nothing
/// is read twice.
pub(crate) async fn sync_transaction_in_page<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    txn: WmsTransaction,
    notify_wms: bool,
    hints: &PageHints,
) -> TxnOutcome {
    let now = ports.clock().now();
    let lease_until = now + settings.txn_lease;
    let claim = LedgerEvent::Claim {
        now,
        lease_until,
        max_attempts: settings.max_attempts,
    };
    // The normal path: a transaction seen for the first time is recorded already claimed, in
    // one conditional write (the second is its verdict).
    let row = match LedgerEntry::pending().apply(claim) {
        Ok(fresh) => match ports.ledger().record_claimed(&txn, &fresh, now).await {
            Ok(Recorded::Created(claimed_row)) => {
                return post_claimed(ports, settings, claimed_row, notify_wms, hints).await;
            }
            Ok(Recorded::Existing(row)) => row,
            Err(e) => {
                warn!(error = %e, "ledger unavailable; transaction left for the next run");
                return TxnOutcome::Skipped { transient: true };
            }
        },
        Err(_) => match ports.ledger().record_seen(&txn, now).await {
            Ok(row) => row,
            Err(e) => {
                warn!(error = %e, "ledger unavailable; transaction left for the next run");
                return TxnOutcome::Skipped { transient: true };
            }
        },
    };
    match row.entry.state {
        // A baselined row is in Fusion through the go-live baseline: never posted, and the WMS
        // hears the same `baseline:<plan>` reference the cut-over told it.
        SyncState::Synced | SyncState::Baselined => {
            let reported = !notify_wms || report_to_wms(ports, &row.txn, &synced_outcome(&row.entry)).await;
            return TxnOutcome::AlreadySynced { reported };
        }
        SyncState::ManualReview | SyncState::HandledOutside => return TxnOutcome::Skipped { transient: false },
        // Confirmation (crate::confirm) settles it; until then it and its item wait.
        SyncState::Accepted => return TxnOutcome::WaitingOnFusion,
        _ => {}
    }
    if row.entry.is_abandoned(now, settings.max_attempts) {
        return escalate(
            ports,
            &row,
            "every claim died before a verdict (attempts exhausted); check Fusion for its Source* reference before re-posting",
        )
        .await;
    }
    if row.entry.state == SyncState::SyncFailed
        && row.entry.failure.as_ref().is_some_and(|f| f.retryable)
        && row.entry.attempts >= settings.max_attempts
    {
        return escalate(ports, &row, "attempts exhausted").await;
    }
    let claimed = match row.entry.apply(LedgerEvent::Claim {
        now,
        lease_until,
        max_attempts: settings.max_attempts,
    }) {
        Ok(next) => next,
        // Not an anomaly: another invocation holds a live claim, or the row's failure is
        // permanent and waits for a person.
        Err(e) => {
            info!(state = %row.entry.state, reason = %e, "not claimable; left alone");
            return TxnOutcome::Skipped { transient: false };
        }
    };
    match ports.ledger().transition(&row, &claimed, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return TxnOutcome::Skipped { transient: false },
        Err(e) => {
            warn!(error = %e, "claim failed; transaction left for the next run");
            return TxnOutcome::Skipped { transient: true };
        }
    }
    let claimed_row = LedgerRow {
        txn: row.txn.clone(),
        entry: claimed,
        updated_at: now,
    };
    post_claimed(ports, settings, claimed_row, notify_wms, hints).await
}

/// Posts a row this invocation holds the claim of, then records the verdict.
async fn post_claimed<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    claimed_row: LedgerRow,
    notify_wms: bool,
    hints: &PageHints,
) -> TxnOutcome {
    let mut attempt = Attempt::default();
    let result = post_lines(ports, settings, &claimed_row, &mut attempt, hints).await;
    finish(ports, settings, claimed_row, result, attempt, notify_wms).await
}

async fn post_lines<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    row: &LedgerRow,
    attempt: &mut Attempt,
    hints: &PageHints,
) -> Result<Vec<FusionRef>, AttemptError> {
    let txn = &row.txn;
    let info = ports
        .fusion()
        .item_info(txn.dc(), txn.item())
        .await
        .map_err(|e| fusion_error(&e))?;
    txn.check_against(&info).map_err(|e| Failure {
        retryable: false,
        reason: e.to_string(),
        systemic: false,
    })?;
    let mapped = map_lots(ports, txn, hints).await?;
    let posts = mapped.to_posts(settings.serial_limit).map_err(|e| Failure {
        retryable: false,
        reason: e.to_string(),
        systemic: false,
    })?;
    let must_look_up = row.entry.must_look_up_before_post();
    let mut refs = Vec::with_capacity(posts.len());
    for post in &posts {
        let clock = ports.clock();
        if must_look_up {
            let t0 = clock.now();
            let landed = ports.fusion().find(txn.dc(), &post.source).await;
            attempt.fusion_ms += elapsed_ms(t0, clock.now());
            match landed.map_err(|e| fusion_error(&e))? {
                Landed::NotFound => {}
                Landed::Staged { error: Some(err), .. } => {
                    return Err(Failure {
                        retryable: false,
                        reason: format!("Fusion could not process line {}: {err}", post.source),
                        systemic: false,
                    }
                    .into())
                }
                landed => {
                    attempt.found += 1;
                    refs.push(confirm_landed(
                        post.transfer_subinventory.is_some(),
                        &post.source,
                        landed,
                    )?);
                    continue;
                }
            }
        }
        let t0 = clock.now();
        let receipt = ports.fusion().post(post).await;
        attempt.fusion_ms += elapsed_ms(t0, clock.now());
        let receipt = receipt.map_err(|e| fusion_error(&e))?;
        attempt.lines += 1;
        if post.transfer_subinventory.is_some() && receipt.processed {
            // Why: the brief requires both the debit and the credit of a subinventory transfer
            // to be confirmed in Fusion before the WMS releases its reservation. Fusion said it
            // processed the line, so only completed transactions are read (one request).
            let t0 = clock.now();
            let landed = ports.fusion().completed(txn.dc(), &post.source).await;
            attempt.fusion_ms += elapsed_ms(t0, clock.now());
            refs.push(confirm_landed(
                true,
                &post.source,
                landed.map_err(|e| fusion_error(&e))?,
            )?);
        } else if receipt.processed {
            refs.push(FusionRef::processed_id(receipt.interface_id));
        } else {
            // Background or Concurrent mode, or an Online post answered 408: in Fusion's
            // interface, not processed. Confirmed later (crate::confirm).
            refs.push(FusionRef::Staged(receipt.interface_id));
        }
    }
    Ok(refs)
}

fn confirm_landed(transfer: bool, source: &crate::txn::SourceRef, landed: Landed) -> Result<FusionRef, Failure> {
    match landed {
        Landed::Completed { transaction_ids, sides } => {
            if transfer && sides < 2 {
                return Err(Failure {
                    retryable: false,
                    reason: format!(
                        "Fusion shows {sides} side(s) of subinventory transfer {source}; both the debit and the credit must land"
                    ),
                    systemic: false,
                });
            }
            Ok(FusionRef::Processed(transaction_ids))
        }
        Landed::Staged { interface_id, .. } => Ok(FusionRef::Staged(interface_id)),
        Landed::NotFound => Err(Failure {
            retryable: true,
            reason: format!("Fusion accepted line {source} but cannot find it by its Source* reference"),
            systemic: false,
        }),
    }
}

async fn finish<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    row: LedgerRow,
    result: Result<Vec<FusionRef>, AttemptError>,
    attempt: Attempt,
    notify_wms: bool,
) -> TxnOutcome {
    let now = ports.clock().now();
    let refs = match result {
        Ok(refs) => refs,
        Err(AttemptError::Txn(failure)) => return fail_row(ports, settings, row, failure, &attempt, notify_wms).await,
        Err(AttemptError::Systemic(reason)) => {
            match row.entry.apply(LedgerEvent::Release) {
                Ok(next) => {
                    if let Err(e) = ports.ledger().transition(&row, &next, now).await {
                        warn!(error = %e, "release after a systemic failure not written; the lease lapses instead");
                    }
                }
                // Why: still a systemic stop; the refused release is logged, the lease lapses.
                Err(e) => {
                    illegal_transition(&row, &e);
                }
            }
            warn!(reason = %reason, "systemic failure; transaction back to pending_sync");
            return TxnOutcome::Systemic { reason };
        }
    };
    let unprocessed = refs.iter().any(|r| r.staged_interface_id().is_some());
    let event = if unprocessed {
        LedgerEvent::Accept { fusion_refs: refs }
    } else {
        LedgerEvent::Confirm { fusion_refs: refs }
    };
    let next = match row.entry.apply(event) {
        Ok(next) => next,
        Err(e) => return illegal_transition(&row, &e),
    };
    if let Err(e) = ports.ledger().transition(&row, &next, now).await {
        // Fusion has the lines; the row stays in_flight and the next run finds them by
        // Source* reference instead of posting again.
        warn!(error = %e, "ledger write failed after Fusion accepted; recovery will find the lines");
        return TxnOutcome::Skipped { transient: true };
    }
    if unprocessed {
        info!(refs = ?next.fusion_refs, "accepted by Fusion, awaiting its processing");
        return TxnOutcome::Accepted {
            lines: attempt.lines,
            found: attempt.found,
            fusion_ms: attempt.fusion_ms,
        };
    }
    let reported = !notify_wms || report_to_wms(ports, &row.txn, &synced_outcome(&next)).await;
    TxnOutcome::Synced {
        lines: attempt.lines,
        found: attempt.found,
        fusion_ms: attempt.fusion_ms,
        reported,
    }
}

/// Records `failure` on a claimed (`in_flight`) or `accepted` row: `sync_failed`, a review
/// task when it is permanent or out of attempts (then manual review), and the outcome to the
/// WMS when `notify_wms`.
pub(crate) async fn fail_row<P: SyncPorts>(
    ports: &P,
    settings: &SyncSettings,
    row: LedgerRow,
    failure: Failure,
    attempt: &Attempt,
    notify_wms: bool,
) -> TxnOutcome {
    let now = ports.clock().now();

    let next = match row.entry.apply(LedgerEvent::Fail(failure.clone())) {
        Ok(next) => next,
        Err(e) => return illegal_transition(&row, &e),
    };
    if let Err(e) = ports.ledger().transition(&row, &next, now).await {
        warn!(error = %e, "ledger failure write failed; the lease lapses and recovery retries");
        return TxnOutcome::Skipped { transient: true };
    }
    let failed_row = LedgerRow {
        txn: row.txn,
        entry: next,
        updated_at: now,
    };
    let exhausted = failure.retryable && failed_row.entry.attempts >= settings.max_attempts;
    let mut escalated = false;
    if !failure.retryable || exhausted {
        open_task(ports, &failed_row, &failure.reason).await;
    }
    if exhausted {
        escalated = matches!(
            escalate(ports, &failed_row, "attempts exhausted").await,
            TxnOutcome::Failed { .. }
        );
    }
    let reported = !notify_wms
        || report_to_wms(
            ports,
            &failed_row.txn,
            &SyncOutcome::Failed {
                error: failure.reason.clone(),
            },
        )
        .await;
    warn!(retryable = failure.retryable, reason = %failure.reason, "transaction failed to sync");
    TxnOutcome::Failed {
        failure: FailedTxn {
            id: failed_row.txn.id().to_string(),
            reason: failure.reason,
            retryable: failure.retryable && !exhausted,
            outage: failure.systemic,
        },
        escalated,
        lines: attempt.lines,
        found: attempt.found,
        fusion_ms: attempt.fusion_ms,
        reported,
    }
}

async fn escalate<P: SyncPorts>(ports: &P, row: &LedgerRow, why: &str) -> TxnOutcome {
    let reason = match &row.entry.failure {
        Some(f) => format!("{why}; last failure: {}", f.reason),
        None => why.to_string(),
    };
    let next = match row.entry.apply(LedgerEvent::Escalate { reason: reason.clone() }) {
        Ok(next) => next,
        Err(e) => return illegal_transition(row, &e),
    };
    match ports.ledger().transition(row, &next, ports.clock().now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return TxnOutcome::Skipped { transient: false },
        Err(_) => return TxnOutcome::Skipped { transient: true },
    }
    open_task(ports, row, &reason).await;
    TxnOutcome::Failed {
        failure: FailedTxn {
            id: row.txn.id().to_string(),
            reason,
            retryable: false,
            outage: false,
        },
        escalated: true,
        lines: 0,
        found: 0,
        fusion_ms: 0,
        reported: true,
    }
}

/// Logs a ledger transition the state machine refused (a row another writer moved, or a bug)
/// and returns the outcome that counts it: the transaction is left alone, as before, but no
/// longer silently.
pub(crate) fn illegal_transition(row: &LedgerRow, e: &DomainError) -> TxnOutcome {
    warn!(txn_id = %row.txn.id(), state = %row.entry.state, error = %e, "illegal ledger transition refused; transaction left alone");
    TxnOutcome::IllegalTransition { reason: e.to_string() }
}
