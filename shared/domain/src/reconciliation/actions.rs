//! Acting per tier: adjustments for small variances, review tasks for medium ones, incidents
//! with one alert and one hold for large ones, and closing what returned to zero.

use super::*;

/// One alert for `accepted` transactions whose processing failed in Fusion, as the sync
/// sends for a refusal at POST.
pub(super) async fn alert_confirm_failures<P: ReconcilePorts>(
    ports: &P,
    settings: &SyncSettings,
    dc: &DcCode,
    run_id: &str,
    c: crate::confirm::ConfirmReport,
) {
    let mut figures = SyncReport::new(dc.clone(), run_id);
    c.fold_into(&mut figures, settings.alert_list_max);
    publish_failure_alert(ports, settings, dc, &figures).await;
}

/// Acts on every variance: the three tiers and closing what returned to zero, all at once
/// (they touch different keys: closing skips every variance and unsettled key of the run; why
/// at once: an adjustment waits on two Fusion round trips, and the review tasks, incidents and
/// closings of a bad run would otherwise queue behind them).
pub(super) async fn act<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    comparison: &Comparison,
    unsettled: &BTreeSet<BalanceKey>,
    facts: &Facts<'_>,
    hints: &PageHints,
    report: &mut ReconcileReport,
) {
    let fallback_uom = |v: &Variance| facts.uom(&v.key.item);
    let mut adjustments = Vec::new();
    let mut reviews: Vec<(&Variance, Option<Uom>, Option<String>)> = Vec::new();
    for v in comparison.of_tier(Tier::AutoCorrect) {
        let Some(uom) = fallback_uom(v) else {
            reviews.push((v, None, Some("no UOM is known for the item".to_string())));
            report.adjustments_to_review += 1;
            continue;
        };
        match adjustment_for(
            ctx.run_id,
            v,
            &facts.key_facts(&v.key, uom.clone()),
            ctx.ports.clock().now(),
        ) {
            Ok(txn) => adjustments.push(txn),
            Err(reason) => {
                reviews.push((v, Some(uom), Some(reason.to_string())));
                report.adjustments_to_review += 1;
            }
        }
    }
    reviews.extend(comparison.of_tier(Tier::Review).map(|v| (v, fallback_uom(v), None)));
    let scratch = || ReconcileReport::new(ctx.dc.clone(), ctx.run_id, report.dry_run);
    let (adjusted, reviewed, raised, closed) = futures::join!(
        async {
            let mut r = scratch();
            post_adjustments(ctx, adjustments, hints, &mut r).await;
            r
        },
        async {
            let mut r = scratch();
            for (v, uom, why) in &reviews {
                if ctx.out_of_time(&mut r) {
                    break;
                }
                review(ctx, v, uom.as_ref(), why.as_deref(), &mut r).await;
            }
            r
        },
        async {
            let mut r = scratch();
            for v in comparison.of_tier(Tier::Alert) {
                if ctx.out_of_time(&mut r) {
                    break;
                }
                raise(ctx, v, fallback_uom(v).as_ref(), &mut r).await;
            }
            r
        },
        async {
            let mut r = scratch();
            if !ctx.out_of_time(&mut r) {
                close_resolved(ctx, comparison, unsettled, &mut r).await;
            }
            r
        }
    );
    for part in [&adjusted, &reviewed, &raised, &closed] {
        report.add_actions(part);
    }
}

pub(super) async fn post_adjustments<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    adjustments: Vec<WmsTransaction>,
    hints: &PageHints,
    report: &mut ReconcileReport,
) {
    let outcomes: Vec<TxnOutcome> = stream::iter(adjustments)
        .map(|txn| async move {
            if ctx.ports.clock().now() >= ctx.stop_at {
                return TxnOutcome::Deferred;
            }
            crate::sync::sync_transaction_in_page(ctx.ports, &ctx.settings.sync, txn, false, hints).await
        })
        .buffer_unordered(ctx.settings.sync.concurrency.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        match outcome {
            TxnOutcome::Synced { .. } => report.adjustments_posted += 1,
            TxnOutcome::AlreadySynced { .. } => report.adjustments_already_posted += 1,
            TxnOutcome::Failed { failure, .. } | TxnOutcome::Malformed { failure, .. } => {
                warn!(dc = %ctx.dc, run_id = ctx.run_id, txn_id = %failure.id, reason = %failure.reason, "adjustment failed");
                report.adjustments_failed += 1;
            }
            TxnOutcome::Accepted { .. } => report.adjustments_awaiting_fusion += 1,
            TxnOutcome::Skipped { .. }
            | TxnOutcome::WaitingOnFusion
            | TxnOutcome::Systemic { .. }
            | TxnOutcome::Halted => report.adjustments_skipped += 1,
            TxnOutcome::IllegalTransition { .. } => {
                report.adjustments_skipped += 1;
                report.illegal_transitions += 1;
            }
            TxnOutcome::Deferred => {
                report.adjustments_skipped += 1;
                report.stopped_early = true;
            }
        }
    }
}

pub(super) async fn review<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    v: &Variance,
    uom: Option<&Uom>,
    why_not_corrected: Option<&str>,
    report: &mut ReconcileReport,
) {
    let task = review_task_for(v, uom, ctx.run_id, why_not_corrected);
    let now = ctx.ports.clock().now();
    match ctx.ports.tasks().open_or_update(&task, now).await {
        Ok(TaskChange::Opened) => report.tasks_opened += 1,
        Ok(TaskChange::Updated) => report.tasks_updated += 1,
        Err(e) => {
            warn!(dc = %ctx.dc, key = %v.key, error = %e, "variance review task could not be written");
            report.action_errors += 1;
        }
    }
}

pub(super) async fn raise<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    v: &Variance,
    uom: Option<&Uom>,
    report: &mut ReconcileReport,
) {
    let ports = ctx.ports;
    let now = ports.clock().now();
    let incident = Incident {
        dc: ctx.dc.clone(),
        key: BalanceKeyText::from(&v.key),
        item: v.key.item.clone(),
        id: incident_id(ctx.run_id, &v.key),
        opened_at: now,
    };
    match ports.incidents().open_if_absent(&incident).await {
        Ok(true) => report.incidents_opened += 1,
        Ok(false) => return,
        Err(e) => {
            warn!(dc = %ctx.dc, key = %v.key, error = %e, "incident could not be opened; retried next run");
            report.action_errors += 1;
            return;
        }
    }
    let hold = hold_for(v, &incident.id, uom);
    let held = match ports.wms().place_hold(ctx.dc, &hold).await {
        Ok(()) => {
            report.holds_placed += 1;
            Ok(())
        }
        Err(e) => Err(format!("hold on order releases failed: {e}")),
    };
    let alert = alert_for(v, &incident.id, uom, held.is_ok());
    let published = match ports.alerts().publish(&alert).await {
        Ok(()) => {
            report.alerts_published += 1;
            Ok(())
        }
        Err(e) => Err(format!("alert could not be published: {e}")),
    };
    if let Err(reason) = held.and(published) {
        // Why: the incident is what makes the alert once-only; closing it again when the hold
        // or the alert did not go through lets the next run open a fresh incident and retry
        // both (the hold is idempotent on the WMS side).
        warn!(dc = %ctx.dc, key = %v.key, reason = %reason, "alert-tier action incomplete; the next run retries");
        report.alerts_failed += 1;
        let reason = format!("{reason}; reopened by the next run");
        if let Err(e) = ports
            .incidents()
            .close(ctx.dc, &incident.key, &reason, ports.clock().now())
            .await
        {
            warn!(dc = %ctx.dc, key = %v.key, error = %e, "incident could not be closed after a failed alert");
            report.action_errors += 1;
        }
    }
}

pub(super) async fn close_resolved<P: ReconcilePorts>(
    ctx: &Ctx<'_, P>,
    comparison: &Comparison,
    unsettled: &BTreeSet<BalanceKey>,
    report: &mut ReconcileReport,
) {
    let still_open: BTreeSet<BalanceKeyText> = comparison
        .variances
        .iter()
        .map(|v| &v.key)
        .chain(unsettled.iter())
        .map(BalanceKeyText::from)
        .collect();
    let reason = format!("variance returned to zero in run {}", ctx.run_id);
    let ports = ctx.ports;
    let (tasks, incidents) = futures::join!(
        ports.tasks().open_tasks(ctx.dc),
        ports.incidents().open_incidents(ctx.dc)
    );
    match tasks {
        Ok(tasks) => {
            for task in tasks {
                let TaskKey::Balance(key) = &task.key else {
                    continue;
                };
                if task.kind != TaskKind::Variance || still_open.contains(key) {
                    continue;
                }
                match ports
                    .tasks()
                    .close(ctx.dc, &task.key, &reason, ports.clock().now())
                    .await
                {
                    Ok(true) => report.tasks_closed += 1,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(dc = %ctx.dc, key = %task.key, error = %e, "resolved task could not be closed");
                        report.action_errors += 1;
                    }
                }
            }
        }
        Err(e) => {
            warn!(dc = %ctx.dc, error = %e, "open review tasks could not be listed");
            report.action_errors += 1;
        }
    }
    match incidents {
        Ok(incidents) => {
            for incident in incidents {
                if still_open.contains(&incident.key) {
                    continue;
                }
                match ports
                    .incidents()
                    .close(ctx.dc, &incident.key, &reason, ports.clock().now())
                    .await
                {
                    Ok(true) => report.incidents_closed += 1,
                    Ok(false) => {}
                    Err(e) => {
                        warn!(dc = %ctx.dc, key = %incident.key, error = %e, "resolved incident could not be closed");
                        report.action_errors += 1;
                    }
                }
            }
        }
        Err(e) => {
            warn!(dc = %ctx.dc, error = %e, "open incidents could not be listed");
            report.action_errors += 1;
        }
    }
}
