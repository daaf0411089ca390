//! The run's outputs in text: the summary table (invsync against the twice-daily upload,
//! side by side) and the CSV of checkpoints.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::inject::{Drift, Tier};
use crate::measure::Checkpoint;
use crate::run::Outcome;

/// Mean and worst of a series.
fn mean_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut sum, mut max) = (0usize, 0.0, 0.0f64);
    for v in values {
        n += 1;
        sum += v;
        max = max.max(v);
    }
    (if n == 0 { 0.0 } else { sum / n as f64 }, max)
}

fn minutes(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<f64> {
    to.map(|t| (t - from).num_minutes() as f64)
}

/// `mean / max (n of m)` minutes of `pick` over drifts of `tier`, or what is left open.
fn times(drifts: &[Drift], tier: Tier, pick: impl Fn(&Drift) -> Option<DateTime<Utc>>) -> String {
    let of: Vec<&Drift> = drifts.iter().filter(|d| d.tier == tier).collect();
    if of.is_empty() {
        return "no drift".into();
    }
    let done: Vec<f64> = of.iter().filter_map(|d| minutes(d.at, pick(d))).collect();
    if done.is_empty() {
        return format!("never (0 of {})", of.len());
    }
    let (mean, max) = mean_max(done.iter().copied());
    let open = of.len() - done.len();
    let tail = if open > 0 {
        format!(", {open} open")
    } else {
        String::new()
    };
    format!("{mean:.0} / {max:.0} min ({} of {}{tail})", done.len(), of.len())
}

fn pct(v: f64) -> String {
    format!("{:.4}%", v * 100.0)
}

/// The summary table.
pub fn summary(o: &Outcome) -> String {
    let cps: Vec<&Checkpoint> = o.checkpoints.iter().collect();
    let (inv_mean, inv_max) = mean_max(cps.iter().map(|c| c.invsync.share(c.keys)));
    let (un_mean, un_max) = mean_max(cps.iter().map(|c| c.invsync.unexplained_share(c.keys)));
    let (base_mean, base_max) = mean_max(cps.iter().map(|c| c.baseline.share(c.keys)));
    let (ph_mean, ph_max) = mean_max(cps.iter().map(|c| c.invsync.phantom as f64));
    let (phu_mean, phu_max) = mean_max(cps.iter().map(|c| c.invsync.phantom_unexplained as f64));
    let (bph_mean, bph_max) = mean_max(cps.iter().map(|c| c.baseline.phantom as f64));
    let last = cps.last();
    let keys = last.map_or(0, |c| c.keys);
    let large = o.drifts.iter().filter(|d| d.tier == Tier::Large).count();
    let mut rows: Vec<(String, String, String)> = vec![
        ("discrepancy share, mean".into(), pct(inv_mean), pct(base_mean)),
        ("discrepancy share, worst".into(), pct(inv_max), pct(base_max)),
        (
            "unexplained share (no open task), mean".into(),
            pct(un_mean),
            pct(base_mean),
        ),
        (
            "unexplained share (no open task), worst".into(),
            pct(un_max),
            pct(base_max),
        ),
        (
            "phantom keys, mean / worst".into(),
            format!("{ph_mean:.1} / {ph_max:.0}"),
            format!("{bph_mean:.1} / {bph_max:.0}"),
        ),
        (
            "phantom keys without a task, mean / worst".into(),
            format!("{phu_mean:.1} / {phu_max:.0}"),
            format!("{bph_mean:.1} / {bph_max:.0}"),
        ),
    ];
    for tier in Tier::ALL {
        rows.push((
            format!("detect {} (mean / max)", tier.label()),
            times(&o.drifts, tier, |d| d.detected),
            "never".into(),
        ));
        rows.push((
            format!("correct {} (mean / max)", tier.label()),
            times(&o.drifts, tier, |d| d.corrected),
            times(&o.drifts, tier, |d| d.baseline_corrected),
        ));
    }
    rows.extend([
        (
            "false alerts".into(),
            last.map_or(0, |c| c.false_alerts).to_string(),
            "0 (no alerts)".into(),
        ),
        (
            "review tasks without a variance".into(),
            last.map_or(0, |c| c.false_tasks).to_string(),
            "-".into(),
        ),
        (
            "missed alerts (>50 not alerted in one cycle)".into(),
            last.map_or(0, |c| c.missed_alerts).to_string(),
            format!("{large} (no alerts)"),
        ),
        (
            "WMS transactions".into(),
            last.map_or(0, |c| c.transactions).to_string(),
            last.map_or(0, |c| c.transactions).to_string(),
        ),
        (
            "transactions posted to Fusion".into(),
            last.map_or(0, |c| c.posted).to_string(),
            "0".into(),
        ),
        (
            "Fusion requests".into(),
            last.map_or(0, |c| c.fusion_requests).to_string(),
            format!("{} uploads, {} rows", o.uploads.0, o.uploads.1),
        ),
    ]);
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(7);
    let mut out = String::new();
    let s = &o.settings;
    let _ = writeln!(
        out,
        "{:.2} of {} days simulated, {} DCs x {} SKUs ({keys} balance keys at the end), seed {}; {} drifts injected ({} Fusion edits), {} bad WMS transactions; wall {:.1} s",
        o.minutes as f64 / 1440.0,
        s.days,
        s.dcs,
        s.items,
        s.seed,
        o.drifts.len(),
        o.drifts.iter().filter(|d| d.source == crate::inject::Source::FusionEdit).count(),
        o.bad_data,
        o.wall.as_secs_f64()
    );
    let _ = writeln!(out, "{:w0$}  {:w1$}  twice-daily upload", "", "invsync");
    for (a, b, c) in rows {
        let _ = writeln!(out, "{a:w0$}  {b:w1$}  {c}");
    }
    let r = &o.runs;
    let _ = writeln!(
        out,
        "runs: {} sync and {} reconcile invocations, {} returned for retry, {} crashed, {} dead-lettered; {} hourly messages lost, {} duplicated",
        r.sync_invocations, r.reconcile_invocations, r.returned, r.crashed, r.dead_lettered, r.missed, r.duplicated
    );
    let _ = writeln!(
        out,
        "invsync raised {} alerts (every kind), {} review tasks, {} incidents; fault windows: {}",
        r.alerts,
        r.tasks,
        r.incidents,
        o.windows.len()
    );
    let kinds: Vec<String> = o.alert_kinds.iter().map(|(k, n)| format!("{n} x \"{k}\"")).collect();
    let _ = writeln!(out, "alerts by subject: {}", kinds.join(", "));
    let ph = &o.phases;
    let _ = writeln!(
        out,
        "wall by phase: sync {:.1} s, reconcile {:.1} s, people {:.1} s, measuring {:.1} s, activity {:.1} s",
        ph.sync.as_secs_f64(),
        ph.reconcile.as_secs_f64(),
        ph.people.as_secs_f64(),
        ph.measure.as_secs_f64(),
        ph.activity.as_secs_f64()
    );
    let p = &o.people;
    let _ = writeln!(
        out,
        "people: {} tasks resolved by adjustment, {} closed, {} transactions retried, {} closed, {} holds released, {} keys corrected in Fusion by hand, {} console refusals",
        p.tasks_adjusted, p.tasks_closed, p.txns_retried, p.txns_closed, p.holds_released, p.fusion_corrections, p.errors
    );
    out
}

/// The CSV of checkpoints (one row per 15 minutes).
pub fn csv(o: &Outcome) -> String {
    let mut out = String::from(
        "minute,time,keys,invsync_discrepant,invsync_share,invsync_unexplained,invsync_unexplained_share,invsync_phantom,invsync_phantom_unexplained,awaiting_reconcile,baseline_discrepant,baseline_share,baseline_phantom,false_alerts,false_tasks,missed_alerts,transactions,posted,fusion_requests,faults\n",
    );
    for c in &o.checkpoints {
        let _ = writeln!(
            out,
            "{},{},{},{},{:.6},{},{:.6},{},{},{},{},{:.6},{},{},{},{},{},{},{},{}",
            c.minute,
            c.at.format("%Y-%m-%dT%H:%MZ"),
            c.keys,
            c.invsync.discrepant,
            c.invsync.share(c.keys),
            c.invsync.unexplained,
            c.invsync.unexplained_share(c.keys),
            c.invsync.phantom,
            c.invsync.phantom_unexplained,
            c.awaiting_reconcile,
            c.baseline.discrepant,
            c.baseline.share(c.keys),
            c.baseline.phantom,
            c.false_alerts,
            c.false_tasks,
            c.missed_alerts,
            c.transactions,
            c.posted,
            c.fusion_requests,
            c.faults.join(";")
        );
    }
    out
}
