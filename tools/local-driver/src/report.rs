//! The local run's outcome: the figures per DC, the report printed for a person, the JSON
//! report for a script (`--report-json`), and the verdict (what counts as a problem).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// What one DC's run produced.
#[derive(Debug, Default)]
pub(crate) struct DcFigures {
    pub(crate) generated: usize,
    pub(crate) seen: i64,
    pub(crate) synced: i64,
    pub(crate) failed: i64,
    pub(crate) halted: i64,
    pub(crate) sync_runs: usize,
    pub(crate) sync_notes: Vec<String>,
    pub(crate) outbox_pending: u64,
    pub(crate) outbox_failed: u64,
    pub(crate) drift: [usize; 3],
    pub(crate) reconcile: Value,
    pub(crate) holds: u64,
    pub(crate) alerts: usize,
    /// The DC's go-live status as the run set it (`live (changed_by run-local, version 1)`).
    pub(crate) dc_status: String,
}

/// Sync-run notes shown per DC with a real WMS before the rest is summed up.
const NOTES_SHOWN: usize = 5;

/// The report for a person: one block per DC, then the time taken.
pub(crate) fn print_report(wms_sim: bool, figures: &BTreeMap<String, DcFigures>, started: Instant) {
    println!();
    println!("invsync local run: report per DC");
    for (dc, f) in figures {
        let r = &f.reconcile;
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        println!("{dc}");
        println!("  status:     {}", f.dc_status);
        if wms_sim {
            println!(
                "  sync:       {} generated, {} synced, {} failed ({} run(s)); WMS outbox: {} pending, {} sync_failed",
                f.generated, f.synced, f.failed, f.sync_runs, f.outbox_pending, f.outbox_failed
            );
            println!(
                "  drift:      {} small, {} medium, {} large injected",
                f.drift[0], f.drift[1], f.drift[2]
            );
        } else {
            println!(
                "  sync:       {} seen, {} synced, {} failed, {} halted ({} run(s)); WMS outbox not checked (real WMS)",
                f.seen, f.synced, f.failed, f.halted, f.sync_runs
            );
            for note in f.sync_notes.iter().take(NOTES_SHOWN) {
                println!("  sync note:  {note}");
            }
            if f.sync_notes.len() > NOTES_SHOWN {
                println!(
                    "  sync note:  ... and {} more in the run table",
                    f.sync_notes.len() - NOTES_SHOWN
                );
            }
            println!("  drift:      none injected (real WMS)");
        }
        let accuracy = match &r["accuracy"] {
            Value::String(s) => s.parse::<f64>().ok(),
            other => other.as_f64(),
        };
        println!(
            "  reconcile:  {} keys compared, {} matched, accuracy {}",
            n("keys_compared"),
            n("matched"),
            accuracy.map_or_else(|| "unknown".to_string(), |a| format!("{:.2}%", a * 100.0))
        );
        println!(
            "  variances:  {} auto-correct, {} review, {} alert",
            n("auto_correct"),
            n("review"),
            n("alert")
        );
        if wms_sim {
            println!(
                "  actions:    {} adjustments posted, {} review tasks opened, {} holds placed ({} active in the WMS), {} alerts received",
                n("adjustments_posted"),
                n("tasks_opened"),
                n("holds_placed"),
                f.holds,
                f.alerts
            );
        } else {
            println!(
                "  actions:    {} adjustments posted, {} review tasks opened, {} holds placed, {} alerts received",
                n("adjustments_posted"),
                n("tasks_opened"),
                n("holds_placed"),
                f.alerts
            );
        }
        if let Some(e) = r.get("error") {
            println!("  error:      {e}");
        }
    }
    println!();
    println!("finished in {:.1}s", started.elapsed().as_secs_f64());
}

/// Non-zero exit unless every transaction synced and every drift was found in its tier
/// (`problems`, from [`problems`], is empty). With a real WMS nothing was generated or
/// injected, so only what the run reports say is checked: nothing failed or halted, and every
/// DC was reconciled.
pub(crate) fn check(wms_sim: bool, problems: &[String]) -> anyhow::Result<()> {
    if !problems.is_empty() {
        anyhow::bail!("local run found problems:\n  {}", problems.join("\n  "))
    }
    if wms_sim {
        println!("result: OK (all transactions synced; every injected drift found in its tier)");
    } else {
        println!("result: OK (real WMS: activity, drift and outbox checks skipped)");
    }
    Ok(())
}

/// The run as JSON, for scripts (`scripts/test.sh` checks the README's local run with it):
///
/// ```json
/// {"result": "ok" | "problems", "problems": ["DC01: ..."], "wms_simulated": true, "seconds": 41.2,
///  "dcs": {"DC01": {"sync": {"generated": 50, "seen": 50, "synced": 50, "failed": 0, "halted": 0,
///                            "runs": 1, "outbox_pending": 0, "outbox_failed": 0},
///                   "drift_injected": {"small": 3, "medium": 2, "large": 1},
///                   "reconcile": {"keys_compared": 600, "matched": 594, "auto_correct": 3, "review": 2,
///                                 "alert": 1, "adjustments_posted": 3, "tasks_opened": 2,
///                                 "holds_placed": 1, "error": null},
///                   "holds_active": 1, "alerts_received": 1}}}
/// ```
///
/// `result` is `ok` exactly when the process exits 0 after writing it. Counts the run could
/// not know (the outbox, holds and injected drift with a real WMS) are `null`.
pub(crate) fn json_report(
    wms_sim: bool,
    figures: &BTreeMap<String, DcFigures>,
    problems: &[String],
    seconds: f64,
) -> Value {
    let sim = |v: Value| if wms_sim { v } else { Value::Null };
    let dcs: serde_json::Map<String, Value> = figures
        .iter()
        .map(|(dc, f)| {
            let r = &f.reconcile;
            let n = |k: &str| r.get(k).and_then(Value::as_u64).map_or(Value::Null, Value::from);
            let figures = json!({
                "sync": {
                    "generated": sim(f.generated.into()),
                    "seen": f.seen,
                    "synced": f.synced,
                    "failed": f.failed,
                    "halted": f.halted,
                    "runs": f.sync_runs,
                    "outbox_pending": sim(f.outbox_pending.into()),
                    "outbox_failed": sim(f.outbox_failed.into()),
                },
                "drift_injected": sim(json!({"small": f.drift[0], "medium": f.drift[1], "large": f.drift[2]})),
                "reconcile": {
                    "keys_compared": n("keys_compared"),
                    "matched": n("matched"),
                    "auto_correct": n("auto_correct"),
                    "review": n("review"),
                    "alert": n("alert"),
                    "adjustments_posted": n("adjustments_posted"),
                    "tasks_opened": n("tasks_opened"),
                    "holds_placed": n("holds_placed"),
                    "error": r.get("error").cloned().unwrap_or(Value::Null),
                },
                "holds_active": sim(f.holds.into()),
                "alerts_received": f.alerts,
                "dc_status": f.dc_status,
            });
            (dc.clone(), figures)
        })
        .collect();
    json!({
        "result": if problems.is_empty() { "ok" } else { "problems" },
        "problems": problems,
        "wms_simulated": wms_sim,
        "seconds": seconds,
        "dcs": dcs,
    })
}

/// Writes `report` to `path` (pretty JSON, trailing newline).
pub(crate) fn write_json(path: &Path, report: &Value) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, format!("{text}\n")).with_context(|| format!("write the JSON report to {}", path.display()))
}

/// What [`check`] refuses, one line per problem.
pub(crate) fn problems(wms_sim: bool, activity: usize, figures: &BTreeMap<String, DcFigures>) -> Vec<String> {
    let mut problems = Vec::new();
    for (dc, f) in figures {
        let n = |k: &str| f.reconcile[k].as_u64().unwrap_or(0) as usize;
        if let Some(e) = f.reconcile.get("error") {
            problems.push(format!("{dc}: reconciliation failed: {e}"));
        }
        if !wms_sim {
            if f.failed > 0 || f.halted > 0 {
                problems.push(format!("{dc}: {} failed, {} halted", f.failed, f.halted));
            }
            if f.reconcile.is_null() {
                problems.push(format!("{dc}: not reconciled"));
            }
            continue;
        }
        if f.failed > 0 || f.outbox_pending > 0 || f.outbox_failed > 0 {
            problems.push(format!("{dc}: not everything synced"));
        }
        if f.synced < i64::try_from(activity.min(f.generated)).unwrap_or(0) {
            problems.push(format!("{dc}: {} synced of {} generated", f.synced, f.generated));
        }
        for (tier, key, injected) in [
            ("auto-correct", "auto_correct", f.drift[0]),
            ("review", "review", f.drift[1]),
            ("alert", "alert", f.drift[2]),
        ] {
            if n(key) < injected {
                problems.push(format!("{dc}: {injected} {tier} drift(s) injected, {} found", n(key)));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconciled(auto: u64, review: u64, alert: u64) -> Value {
        json!({"auto_correct": auto, "review": review, "alert": alert, "keys_compared": 10})
    }

    #[test]
    fn a_simulated_wms_must_sync_what_was_generated_and_find_every_drift() {
        let mut f = DcFigures {
            generated: 50,
            synced: 50,
            drift: [3, 2, 1],
            reconcile: reconciled(3, 2, 1),
            ..DcFigures::default()
        };
        let ok: BTreeMap<String, DcFigures> = [("DC01".to_string(), f)].into();
        assert!(problems(true, 50, &ok).is_empty());
        f = DcFigures {
            generated: 50,
            synced: 49,
            drift: [3, 2, 1],
            reconcile: reconciled(3, 1, 1),
            ..DcFigures::default()
        };
        let bad: BTreeMap<String, DcFigures> = [("DC01".to_string(), f)].into();
        let p = problems(true, 50, &bad);
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn a_real_wms_is_held_only_to_what_the_run_reports_say() {
        // Nothing generated or injected, no drift found: fine for a real WMS, not for the sim.
        let quiet: BTreeMap<String, DcFigures> = [(
            "DC01".to_string(),
            DcFigures {
                generated: 0,
                synced: 0,
                drift: [0, 0, 0],
                reconcile: reconciled(0, 0, 0),
                ..DcFigures::default()
            },
        )]
        .into();
        assert!(problems(false, 50, &quiet).is_empty());
        let failing: BTreeMap<String, DcFigures> = [
            (
                "DC01".to_string(),
                DcFigures {
                    failed: 1,
                    reconcile: reconciled(0, 0, 0),
                    ..DcFigures::default()
                },
            ),
            (
                "DC02".to_string(),
                DcFigures {
                    reconcile: json!({"error": "WMS unavailable", "retryable": true}),
                    ..DcFigures::default()
                },
            ),
            ("DC03".to_string(), DcFigures::default()),
        ]
        .into();
        let p = problems(false, 50, &failing);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("1 failed") && p[1].contains("reconciliation failed") && p[2].contains("not reconciled"));
    }

    #[test]
    fn the_json_report_says_ok_only_without_problems_and_nulls_what_a_real_wms_cannot_tell() {
        let figures: BTreeMap<String, DcFigures> = [(
            "DC01".to_string(),
            DcFigures {
                generated: 50,
                synced: 50,
                drift: [3, 2, 1],
                reconcile: reconciled(3, 2, 1),
                alerts: 1,
                ..DcFigures::default()
            },
        )]
        .into();
        let ok = json_report(true, &figures, &[], 1.5);
        assert_eq!(ok["result"], "ok");
        assert_eq!(ok["dcs"]["DC01"]["sync"]["generated"], 50);
        assert_eq!(ok["dcs"]["DC01"]["sync"]["synced"], 50);
        assert_eq!(ok["dcs"]["DC01"]["reconcile"]["review"], 2);
        assert_eq!(ok["dcs"]["DC01"]["drift_injected"]["large"], 1);
        assert_eq!(ok["dcs"]["DC01"]["alerts_received"], 1);
        assert_eq!(ok["dcs"]["DC01"]["reconcile"]["error"], Value::Null);

        let bad = json_report(false, &figures, &["DC01: 1 failed, 0 halted".into()], 1.5);
        assert_eq!(bad["result"], "problems");
        assert_eq!(bad["problems"][0], "DC01: 1 failed, 0 halted");
        assert_eq!(bad["dcs"]["DC01"]["sync"]["generated"], Value::Null);
        assert_eq!(bad["dcs"]["DC01"]["drift_injected"], Value::Null);
    }
}
