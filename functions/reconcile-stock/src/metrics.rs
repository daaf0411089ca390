//! A DC reconciliation's CloudWatch EMF metrics.

use lambda_kit::metrics::{MetricSet, Unit};

/// EMF metrics of one DC reconciliation: keys compared, variances per tier, accuracy, actions.
pub fn reconcile_metrics(r: &domain::reconciliation::ReconcileReport) -> MetricSet {
    let accuracy: f64 = r.accuracy.to_string().parse().unwrap_or(0.0);
    MetricSet::new(&[("dc", r.dc.as_str()), ("function", "reconcile-stock")])
        .count("KeysCompared", r.keys_compared)
        .count("KeysMatched", r.matched)
        .count("VarianceAutoCorrect", r.auto_correct)
        .count("VarianceReview", r.review)
        .count("VarianceAlert", r.alert)
        .metric("Accuracy", Unit::Percent, accuracy * 100.0)
        .count("AdjustmentsPosted", r.adjustments_posted)
        .count("ReviewTasksOpened", r.tasks_opened)
        .count("AlertsPublished", r.alerts_published)
        .count("HoldsPlaced", r.holds_placed)
        .metric("ReconcileDuration", Unit::Milliseconds, r.duration_ms as f64)
        .property("run_id", r.run_id.as_str())
        .property("dry_run", r.dry_run)
        .property("report_only", r.report_only.is_some())
}
