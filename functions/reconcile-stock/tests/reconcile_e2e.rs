//! End-to-end tests of the reconciliation: the real handler called with real event JSON
//! (`events/reconcile-stock/*.json`) against moto (DynamoDB, SNS, SQS from the template) and
//! both simulators. Run with `bash scripts/test.sh -p reconcile-stock --test reconcile_e2e`.

// Why: the helpers below are test code too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::ports::{Incidents, ReviewTasks, RunKind, TaskKind};
use domain::reconciliation::ReconcileSettings;
use domain::DcCode;
use reconcile_stock::handler::{handle, Deps};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use test_harness::{context, EnvOptions, TestEnv};
use wms_sim::{AppliedDrift, DriftBand, DriftBandsRequest, DriftRequest};

mod support;
use support::drift;

const SCHEDULED: &str = include_str!("../../../events/reconcile-stock/scheduled.json");
const DRY_RUN: &str = include_str!("../../../events/reconcile-stock/manual-dry-run.json");
const DRY_RUN_ALL: &str = include_str!("../../../events/reconcile-stock/manual-dry-run-all-dcs.json");

/// Every DC of the seed live: these runs act on variances.
async fn spawn() -> TestEnv {
    let env = TestEnv::spawn(EnvOptions::default()).await.unwrap();
    let dcs: Vec<_> = (0..env.options.dcs).map(|i| env.dc(i)).collect();
    env.mark_live(&dcs).await.unwrap();
    env
}

fn deps(env: &TestEnv, settings: ReconcileSettings) -> Deps {
    Deps {
        ports: env.ports().unwrap(),
        settings,
        dcs: (0..env.options.dcs).map(|i| env.dc(i)).collect(),
        concurrency: 4,
        statuses: env.dc_status().unwrap(),
    }
}

/// The scheduled fixture, fired at `time` (RFC 3339).
fn scheduled_at(time: &str) -> Value {
    let mut event: Value = serde_json::from_str(SCHEDULED).unwrap();
    event["time"] = Value::String(time.to_string());
    event
}

async fn run(deps: &Deps, event: Value) -> Value {
    let resp = handle(
        deps,
        lambda_runtime::LambdaEvent::new(event, context("req-reconcile", Duration::from_secs(600))),
    )
    .await
    .unwrap();
    serde_json::to_value(resp).unwrap()
}

/// The report of one DC from the handler's answer; panics on a per-DC error.
fn report<'a>(resp: &'a Value, dc: &str) -> &'a Value {
    let r = &resp["dcs"][dc];
    assert!(r.get("error").is_none(), "{dc} failed: {r}");
    assert!(r.is_object(), "no report for {dc}: {resp}");
    r
}

fn count(r: &Value, field: &str) -> u64 {
    r[field].as_u64().unwrap_or_else(|| panic!("{field} missing in {r}"))
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    }
}

/// `DC/ITEM/SUB[/LOT]`, as `BalanceKey` displays.
fn drift_key(d: &AppliedDrift) -> String {
    match &d.lot {
        Some(lot) => format!("{}/{}/{}/{lot}", d.dc, d.item, d.subinventory),
        None => format!("{}/{}/{}", d.dc, d.item, d.subinventory),
    }
}

fn json_key(k: &Value) -> String {
    let base = format!(
        "{}/{}/{}",
        k["dc"].as_str().unwrap(),
        k["item"].as_str().unwrap(),
        k["subinventory"].as_str().unwrap()
    );
    match k["lot"].as_str() {
        Some(lot) => format!("{base}/{lot}"),
        None => base,
    }
}

/// Variances of a report by key: `(variance, tier)`.
fn variances(r: &Value) -> BTreeMap<String, (Decimal, String)> {
    assert_eq!(r["variances_truncated"], Value::Bool(false));
    r["variances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                json_key(&v["key"]),
                (dec(&v["variance"]), v["tier"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

/// Requests that change Fusion (anything but a GET), as the simulator counted them.
fn fusion_writes(env: &TestEnv) -> u64 {
    env.fusion
        .stats()
        .iter()
        .filter(|(endpoint, _)| !endpoint.starts_with("GET ") && !endpoint.contains("oauth2"))
        .map(|(_, n)| n)
        .sum()
}

fn dcs(env: &TestEnv) -> Vec<DcCode> {
    (0..env.options.dcs).map(|i| env.dc(i)).collect()
}

/// Open review tasks of every DC: key -> kind.
async fn open_tasks(env: &TestEnv, deps: &Deps) -> BTreeMap<String, TaskKind> {
    let mut out = BTreeMap::new();
    for dc in dcs(env) {
        for t in deps.ports.tasks.open_tasks(&dc).await.unwrap() {
            assert_eq!(t.dc, dc);
            out.insert(t.key.to_string(), t.kind);
        }
    }
    out
}

/// Open incident keys of every DC.
async fn open_incidents(env: &TestEnv, deps: &Deps) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dc in dcs(env) {
        for i in deps.ports.incidents.open_incidents(&dc).await.unwrap() {
            out.insert(i.key.to_string());
        }
    }
    out
}

/// Active holds of every DC: `(dc, item, reference)`.
fn holds(env: &TestEnv) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<_> = dcs(env)
        .iter()
        .flat_map(|dc| {
            env.wms
                .holds(dc.as_str())
                .into_iter()
                .map(move |h| (dc.to_string(), h.item, h.reference))
        })
        .collect();
    out.sort();
    out
}

fn of_band(drifts: &[AppliedDrift], band: DriftBand) -> Vec<&AppliedDrift> {
    drifts.iter().filter(|d| d.band == Some(band)).collect()
}

/// A WMS balance row of `dc` whose item has the given control and whose quantity is at least
/// `min`, skipping `n` matches.
fn row_of(env: &TestEnv, dc: &str, control: wms_sim::Control, min: Decimal, n: usize) -> wms_sim::BalanceRow {
    env.wms
        .balances(dc)
        .into_iter()
        .filter(|b| b.quantity >= min && env.wms.item(&b.item).map(|i| i.control) == Some(control))
        .nth(n)
        .unwrap_or_else(|| panic!("no {control:?} row with at least {min} in {dc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_drift_size_ends_in_exactly_its_action_and_untouched_keys_get_nothing() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let inbox = env.subscribe_alerts().await.unwrap();
    let drifts = env
        .wms
        .inject_drift_bands(&DriftBandsRequest {
            dc: None,
            small: 4,
            medium: 3,
            large: 3,
            seed: 11,
        })
        .unwrap();
    assert_eq!(drifts.len(), 10);

    let resp = run(&deps, scheduled_at("2026-11-26T23:15:02Z")).await;
    assert_eq!(resp["run_id"], "reconcile:2026-11-26T23:15Z");

    // The reports name exactly the drifted keys, each in the tier of its band.
    let mut found = BTreeMap::new();
    for dc in dcs(&env) {
        let r = report(&resp, dc.as_str());
        let mine: Vec<&AppliedDrift> = drifts.iter().filter(|d| d.dc == dc.as_str()).collect();
        let by_band = |b| mine.iter().filter(|d| d.band == Some(b)).count() as u64;
        assert_eq!(count(r, "auto_correct"), by_band(DriftBand::Small), "{r}");
        assert_eq!(count(r, "review"), by_band(DriftBand::Medium), "{r}");
        assert_eq!(count(r, "alert"), by_band(DriftBand::Large), "{r}");
        assert_eq!(count(r, "adjustments_posted"), by_band(DriftBand::Small), "{r}");
        assert_eq!(count(r, "adjustments_failed"), 0, "{r}");
        assert_eq!(count(r, "adjustments_to_review"), 0, "{r}");
        assert_eq!(count(r, "tasks_opened"), by_band(DriftBand::Medium), "{r}");
        assert_eq!(count(r, "incidents_opened"), by_band(DriftBand::Large), "{r}");
        assert_eq!(count(r, "alerts_published"), by_band(DriftBand::Large), "{r}");
        assert_eq!(count(r, "holds_placed"), by_band(DriftBand::Large), "{r}");
        assert_eq!(count(r, "action_errors"), 0, "{r}");
        assert_eq!(count(r, "unsettled_skipped"), 0, "{r}");
        assert_eq!(r["report_saved"], Value::Bool(true), "{r}");
        assert!(count(r, "keys_compared") > 300, "{r}");
        assert_eq!(
            count(r, "matched") + mine.len() as u64,
            count(r, "keys_compared"),
            "{r}"
        );
        found.extend(variances(r));
        let saved = deps
            .ports
            .runs
            .get(&dc, RunKind::Reconcile, "reconcile:2026-11-26T23:15Z")
            .await
            .unwrap();
        assert!(saved.is_some(), "run report of {dc} saved");
    }
    let expected: BTreeMap<String, (Decimal, String)> = drifts
        .iter()
        .map(|d| {
            let tier = match d.band {
                Some(DriftBand::Small) => "auto_correct",
                Some(DriftBand::Medium) => "review",
                _ => "alert",
            };
            (drift_key(d), (d.delta, tier.to_string()))
        })
        .collect();
    assert_eq!(found, expected);

    // Small: corrected in Fusion, which now agrees with the WMS.
    for d in of_band(&drifts, DriftBand::Small) {
        let fusion = env.fusion.onhand(&d.dc, &d.item, &d.subinventory, d.lot.as_deref());
        assert_eq!(
            fusion,
            d.quantity_after,
            "Fusion on-hand of {} after the adjustment",
            drift_key(d)
        );
        let wms = env
            .wms
            .on_hand(&d.dc, &d.item, &d.subinventory, d.lot.as_deref())
            .unwrap();
        assert_eq!(fusion, wms, "{}", drift_key(d));
    }

    // Medium: one open variance task per key, and nothing else.
    let tasks = open_tasks(&env, &deps).await;
    let want: BTreeMap<String, TaskKind> = of_band(&drifts, DriftBand::Medium)
        .iter()
        .map(|d| (format!("bal:{}", drift_key(d)), TaskKind::Variance))
        .collect();
    assert_eq!(tasks, want);

    // Large: one alert, one hold and one incident per key, and nothing else.
    let large = of_band(&drifts, DriftBand::Large);
    let alerts = inbox.drain().await.unwrap();
    assert_eq!(alerts.len(), large.len(), "{alerts:#?}");
    for d in &large {
        let matching: Vec<_> = alerts
            .iter()
            .filter(|a| a.message.contains(&format!("Item: {}\n", d.item)) && a.dc == d.dc)
            .collect();
        assert_eq!(matching.len(), 1, "one alert for {}: {alerts:#?}", drift_key(d));
        let a = matching[0];
        assert!(a.subject.chars().count() < 100, "{}", a.subject);
        assert!(
            a.subject.contains(&d.dc) && a.subject.contains(&d.item),
            "{}",
            a.subject
        );
        assert_eq!(a.severity, "critical");
        for needle in [
            format!("DC: {}\n", d.dc),
            format!("Item: {}\n", d.item),
            format!("Subinventory: {}\n", d.subinventory),
            format!("Lot: {}\n", d.lot.as_deref().unwrap_or("(none)")),
            format!("WMS on-hand: {} ", d.quantity_after.normalize()),
            format!("Fusion on-hand: {} ", d.quantity_before.normalize()),
            format!("Variance (WMS - (Fusion + in flight)): {} ", d.delta.normalize()),
            "held".to_string(),
        ] {
            assert!(
                a.message.contains(&needle),
                "alert body lacks {needle:?}: {}",
                a.message
            );
        }
    }
    let mut want_holds: Vec<(String, String)> = large.iter().map(|d| (d.dc.clone(), d.item.clone())).collect();
    want_holds.sort();
    let got_holds = holds(&env);
    assert_eq!(
        got_holds
            .iter()
            .map(|(dc, item, _)| (dc.clone(), item.clone()))
            .collect::<Vec<_>>(),
        want_holds
    );
    assert!(got_holds
        .iter()
        .all(|(_, _, r)| r.as_deref().is_some_and(|r| r.starts_with("INC-"))));
    let incidents = open_incidents(&env, &deps).await;
    assert_eq!(incidents, large.iter().map(|d| drift_key(d)).collect::<BTreeSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_done_twice_neither_in_a_later_slot_nor_when_a_schedule_fires_twice() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let inbox = env.subscribe_alerts().await.unwrap();
    let drifts = env
        .wms
        .inject_drift_bands(&DriftBandsRequest {
            dc: None,
            small: 3,
            medium: 3,
            large: 2,
            seed: 5,
        })
        .unwrap();

    let first = run(&deps, scheduled_at("2026-11-26T23:15:02Z")).await;
    let posted: u64 = dcs(&env)
        .iter()
        .map(|dc| count(report(&first, dc.as_str()), "adjustments_posted"))
        .sum();
    assert_eq!(posted, 3);
    let writes = fusion_writes(&env);
    let tasks = open_tasks(&env, &deps).await;
    assert_eq!(tasks.len(), 3);
    assert_eq!(inbox.drain().await.unwrap().len(), 2);
    let held = holds(&env);
    assert_eq!(held.len(), 2);
    let incidents = open_incidents(&env, &deps).await;
    assert_eq!(incidents.len(), 2);

    // The same scheduled event delivered again (same slot, a few seconds later).
    let again = run(&deps, scheduled_at("2026-11-26T23:15:09Z")).await;
    assert_eq!(again["run_id"], first["run_id"]);
    for dc in dcs(&env) {
        let r = report(&again, dc.as_str());
        assert_eq!(count(r, "adjustments_posted"), 0, "{r}");
        assert_eq!(count(r, "tasks_opened"), 0, "{r}");
        assert_eq!(count(r, "incidents_opened"), 0, "{r}");
        assert_eq!(count(r, "alerts_published"), 0, "{r}");
        assert_eq!(count(r, "holds_placed"), 0, "{r}");
    }
    assert_eq!(
        fusion_writes(&env),
        writes,
        "no Fusion write on a double-fired schedule"
    );
    assert_eq!(open_tasks(&env, &deps).await, tasks);
    assert!(inbox.drain().await.unwrap().is_empty());
    assert_eq!(holds(&env), held);
    assert_eq!(open_incidents(&env, &deps).await, incidents);

    // The next slot, nothing changed: the small drifts are corrected, the rest stay put.
    let next = run(&deps, scheduled_at("2026-11-26T23:30:04Z")).await;
    assert_eq!(next["run_id"], "reconcile:2026-11-26T23:30Z");
    for dc in dcs(&env) {
        let r = report(&next, dc.as_str());
        assert_eq!(count(r, "auto_correct"), 0, "{r}");
        assert_eq!(count(r, "adjustments_posted"), 0, "{r}");
        assert_eq!(count(r, "tasks_opened"), 0, "{r}");
        assert_eq!(count(r, "tasks_closed"), 0, "{r}");
        assert_eq!(count(r, "incidents_opened"), 0, "{r}");
        assert_eq!(count(r, "incidents_closed"), 0, "{r}");
        assert_eq!(count(r, "alerts_published"), 0, "{r}");
        assert_eq!(count(r, "holds_placed"), 0, "{r}");
    }
    let still: BTreeSet<String> = dcs(&env)
        .iter()
        .flat_map(|dc| variances(report(&next, dc.as_str())).into_keys())
        .collect();
    let want: BTreeSet<String> = drifts
        .iter()
        .filter(|d| d.band != Some(DriftBand::Small))
        .map(drift_key)
        .collect();
    assert_eq!(still, want);
    assert_eq!(fusion_writes(&env), writes, "no new adjustment in the next slot");
    assert_eq!(open_tasks(&env, &deps).await, tasks);
    assert!(inbox.drain().await.unwrap().is_empty());
    assert_eq!(holds(&env), held);
    assert_eq!(open_incidents(&env, &deps).await, incidents);
}

/// Asserts a run found no variance anywhere and did nothing.
fn assert_quiet(resp: &Value, env: &TestEnv, want_in_flight: &BTreeMap<String, u64>) {
    for dc in dcs(env) {
        let r = report(resp, dc.as_str());
        assert!(variances(r).is_empty(), "{dc}: {r}");
        for field in [
            "auto_correct",
            "review",
            "alert",
            "adjustments_posted",
            "tasks_opened",
            "incidents_opened",
            "alerts_published",
            "holds_placed",
            "orphans_retried",
            "unsettled_skipped",
            "action_errors",
        ] {
            assert_eq!(count(r, field), 0, "{dc} {field}: {r}");
        }
        assert_eq!(count(r, "matched"), count(r, "keys_compared"), "{r}");
        assert_eq!(
            count(r, "in_flight_txns"),
            want_in_flight.get(dc.as_str()).copied().unwrap_or(0),
            "{dc}: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_transactions_are_not_mistaken_for_variance() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let inbox = env.subscribe_alerts().await.unwrap();

    // Many WMS transactions, none synced yet: the WMS moved, Fusion did not.
    let mut pending = BTreeMap::new();
    for dc in dcs(&env) {
        let n = env.wms.generate_activity(Some(dc.as_str()), 150).unwrap().len();
        assert_eq!(env.wms.outbox_len(dc.as_str()), n);
        pending.insert(dc.to_string(), n as u64);
    }
    let resp = run(&deps, scheduled_at("2026-11-26T23:15:02Z")).await;
    assert_quiet(&resp, &env, &pending);
    assert_eq!(fusion_writes(&env), 0);

    // Sync DC01 through the sync engine, then more activity stays pending everywhere.
    let dc1 = env.dc(0);
    let sync = domain::sync::sync_dc(
        &deps.ports,
        &domain::sync::SyncSettings::default(),
        &dc1,
        "sync:2026-11-26T23:20Z",
        chrono::Utc::now() + chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(env.wms.outbox_len(dc1.as_str()), 0, "{sync:?}");
    for dc in dcs(&env) {
        let n = env.wms.generate_activity(Some(dc.as_str()), 80).unwrap().len() as u64;
        *pending.entry(dc.to_string()).or_default() += n;
    }
    pending.insert(dc1.to_string(), 80);
    let writes = fusion_writes(&env);
    let resp = run(&deps, scheduled_at("2026-11-26T23:30:02Z")).await;
    assert_quiet(&resp, &env, &pending);
    assert_eq!(fusion_writes(&env), writes, "nothing posted to Fusion");
    assert!(open_tasks(&env, &deps).await.is_empty());
    assert!(open_incidents(&env, &deps).await.is_empty());
    assert!(inbox.drain().await.unwrap().is_empty());
    assert!(holds(&env).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lot_variance_is_found_and_corrected_at_lot_level() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let dc = env.dc(0);
    // A lot-controlled item with at least two lots in one subinventory.
    let rows = env.wms.balances(dc.as_str());
    let mut lots: BTreeMap<(String, String), Vec<&wms_sim::BalanceRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.lot.is_some()) {
        lots.entry((r.item.clone(), r.subinventory.clone()))
            .or_default()
            .push(r);
    }
    let (_, siblings) = lots
        .iter()
        .find(|(_, v)| v.len() >= 2)
        .expect("a lot item with two lots in one subinventory");
    let target = siblings[0];
    let applied = drift(&env, dc.as_str(), target, 3);
    let lot = applied.lot.clone().unwrap();

    let resp = run(&deps, scheduled_at("2026-11-26T23:15:02Z")).await;
    let r = report(&resp, dc.as_str());
    let found = variances(r);
    assert_eq!(
        found,
        BTreeMap::from([(drift_key(&applied), (Decimal::from(3), "auto_correct".to_string()))]),
        "the variance is at lot level: {r}"
    );
    assert_eq!(count(r, "adjustments_posted"), 1, "{r}");
    // Fusion got the correction on that lot only; the other lots of the item still match.
    assert_eq!(
        env.fusion
            .onhand(dc.as_str(), &applied.item, &applied.subinventory, Some(&lot)),
        applied.quantity_after
    );
    for other in &siblings[1..] {
        let other_lot = other.lot.as_ref().unwrap().number.as_str();
        assert_eq!(
            env.fusion
                .onhand(dc.as_str(), &other.item, &other.subinventory, Some(other_lot)),
            other.quantity,
            "lot {other_lot} untouched"
        );
    }
    let next = run(&deps, scheduled_at("2026-11-26T23:30:02Z")).await;
    assert!(variances(report(&next, dc.as_str())).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_anywhere_but_reports_variances_and_tiers() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let inbox = env.subscribe_alerts().await.unwrap();
    let dc = env.dc(0);
    let drifts = env
        .wms
        .inject_drift_bands(&DriftBandsRequest {
            dc: Some(dc.to_string()),
            small: 2,
            medium: 2,
            large: 2,
            seed: 3,
        })
        .unwrap();
    let event: Value = serde_json::from_str(DRY_RUN).unwrap();
    let resp = run(&deps, event).await;
    assert_eq!(resp["dry_run"], Value::Bool(true));
    assert_eq!(resp["run_id"], "reconcile:manual-after-recount:dry");
    assert_eq!(resp["dcs"].as_object().unwrap().len(), 1, "only the named DC: {resp}");
    let r = report(&resp, dc.as_str());
    assert_eq!(r["dry_run"], Value::Bool(true));
    assert_eq!(r["report_saved"], Value::Bool(false));
    let expected: BTreeMap<String, (Decimal, String)> = drifts
        .iter()
        .map(|d| {
            let tier = match d.band {
                Some(DriftBand::Small) => "auto_correct",
                Some(DriftBand::Medium) => "review",
                _ => "alert",
            };
            (drift_key(d), (d.delta, tier.to_string()))
        })
        .collect();
    assert_eq!(variances(r), expected);
    assert_eq!(
        (count(r, "auto_correct"), count(r, "review"), count(r, "alert")),
        (2, 2, 2)
    );
    for field in [
        "adjustments_posted",
        "tasks_opened",
        "incidents_opened",
        "alerts_published",
        "holds_placed",
    ] {
        assert_eq!(count(r, field), 0, "{field}: {r}");
    }
    assert_eq!(fusion_writes(&env), 0, "no Fusion post");
    for d in &drifts {
        assert_eq!(
            env.fusion.onhand(&d.dc, &d.item, &d.subinventory, d.lot.as_deref()),
            d.quantity_before
        );
    }
    assert!(open_tasks(&env, &deps).await.is_empty());
    assert!(open_incidents(&env, &deps).await.is_empty());
    assert!(inbox.drain().await.unwrap().is_empty());
    assert!(holds(&env).is_empty());
    assert!(deps
        .ports
        .runs
        .get(&dc, RunKind::Reconcile, "reconcile:manual-after-recount:dry")
        .await
        .unwrap()
        .is_none());

    // Without naming DCs, a dry run covers every configured DC and still changes nothing.
    let all: Value = serde_json::from_str(DRY_RUN_ALL).unwrap();
    let resp = run(&deps, all).await;
    assert_eq!(resp["dcs"].as_object().unwrap().len(), env.options.dcs);
    assert_eq!(variances(report(&resp, dc.as_str())), expected);
    assert_eq!(fusion_writes(&env), 0);
    assert!(open_tasks(&env, &deps).await.is_empty());
    assert!(inbox.drain().await.unwrap().is_empty());
    assert!(holds(&env).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_variance_returned_to_zero_is_closed_with_the_reason() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let dc = env.dc(0);
    let plain = wms_sim::Control::Plain;
    // One key corrected in Fusion by a person, one whose WMS count is corrected back.
    let fixed_in_fusion = drift(
        &env,
        dc.as_str(),
        &row_of(&env, dc.as_str(), plain, Decimal::ZERO, 0),
        10,
    );
    let fixed_in_wms = drift(
        &env,
        dc.as_str(),
        &row_of(&env, dc.as_str(), plain, Decimal::from(20), 3),
        -12,
    );
    let key1 = format!("bal:{}", drift_key(&fixed_in_fusion));
    let key2 = format!("bal:{}", drift_key(&fixed_in_wms));

    let first = run(&deps, scheduled_at("2026-11-26T23:15:02Z")).await;
    assert_eq!(count(report(&first, dc.as_str()), "tasks_opened"), 2);
    assert_eq!(
        open_tasks(&env, &deps).await.into_keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([key1.clone(), key2.clone()])
    );

    let d = &fixed_in_fusion;
    env.fusion
        .adjust(&d.dc, &d.item, &d.subinventory, d.lot.as_deref(), Decimal::from(10))
        .unwrap();
    let d = &fixed_in_wms;
    env.wms
        .inject_drift(&DriftRequest {
            dc: d.dc.clone(),
            item: d.item.clone(),
            subinventory: d.subinventory.clone(),
            lot: d.lot.clone(),
            delta: "12".into(),
            expiration: None,
        })
        .unwrap();

    let second = run(&deps, scheduled_at("2026-11-26T23:30:02Z")).await;
    let r = report(&second, dc.as_str());
    assert!(variances(r).is_empty(), "{r}");
    assert_eq!(count(r, "tasks_closed"), 2, "{r}");
    assert!(open_tasks(&env, &deps).await.is_empty());
    for key in [&key1, &key2] {
        let rec = deps
            .ports
            .tasks
            .record(&dc, &key.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.status, adapters::aws::TaskStatus::Closed, "{key}");
        let reason = rec.closed_reason.unwrap_or_default();
        assert!(
            reason.contains("returned to zero") && reason.contains("reconcile:2026-11-26T23:30Z"),
            "{key}: {reason}"
        );
        assert!(rec.closed_at.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_dc_threshold_override_changes_the_tier() {
    let env = spawn().await;
    let settings = ReconcileSettings {
        per_dc: app::settings::parse_per_dc("DC02=2:20").unwrap(),
        dry_run: false,
        ..ReconcileSettings::default()
    };
    let deps = deps(&env, settings);
    let plain = wms_sim::Control::Plain;
    let mut keys = BTreeMap::new();
    for dc in ["DC01", "DC02"] {
        let small = drift(&env, dc, &row_of(&env, dc, plain, Decimal::ZERO, 0), 4);
        let medium = drift(&env, dc, &row_of(&env, dc, plain, Decimal::ZERO, 1), 30);
        keys.insert(dc, (drift_key(&small), drift_key(&medium)));
    }
    let event: Value = serde_json::from_str(DRY_RUN_ALL).unwrap();
    let resp = run(&deps, event).await;
    let tier = |dc: &str, key: &str| variances(report(&resp, dc))[key].1.clone();
    let (s1, m1) = &keys["DC01"];
    let (s2, m2) = &keys["DC02"];
    assert_eq!(tier("DC01", s1), "auto_correct");
    assert_eq!(tier("DC01", m1), "review");
    assert_eq!(tier("DC02", s2), "review", "4 is not below DC02's 2");
    assert_eq!(tier("DC02", m2), "alert", "30 is above DC02's 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_drifts_on_serial_items_and_on_a_new_lot_are_corrected_exactly() {
    let env = spawn().await;
    let deps = deps(&env, ReconcileSettings::default());
    let dc = env.dc(0);
    let serial = wms_sim::Control::Serial;
    let found = drift(
        &env,
        dc.as_str(),
        &row_of(&env, dc.as_str(), serial, Decimal::ZERO, 0),
        2,
    );
    let lost = drift(
        &env,
        dc.as_str(),
        &row_of(&env, dc.as_str(), serial, Decimal::from(3), 2),
        -3,
    );
    assert_eq!(found.serials_added.len(), 2);
    assert_eq!(lost.serials_removed.len(), 3);
    let lot_row = row_of(&env, dc.as_str(), wms_sim::Control::Lot, Decimal::ZERO, 0);
    let new_lot = env
        .wms
        .inject_drift(&DriftRequest {
            dc: dc.to_string(),
            item: lot_row.item.clone(),
            subinventory: lot_row.subinventory.clone(),
            lot: Some("RECOUNT-NEW-1".into()),
            delta: "4".into(),
            expiration: None,
        })
        .unwrap();

    let resp = run(&deps, scheduled_at("2026-11-26T23:15:02Z")).await;
    let r = report(&resp, dc.as_str());
    assert_eq!(count(r, "auto_correct"), 3, "{r}");
    assert_eq!(count(r, "adjustments_posted"), 3, "{r}");
    assert_eq!(count(r, "adjustments_to_review"), 0, "{r}");
    for d in [&found, &lost, &new_lot] {
        assert_eq!(
            env.fusion.onhand(&d.dc, &d.item, &d.subinventory, d.lot.as_deref()),
            d.quantity_after,
            "{}",
            drift_key(d)
        );
    }
    for d in [&found, &lost] {
        let mut fusion = env.fusion.serials(&d.dc, &d.item, &d.subinventory);
        fusion.sort();
        let wms = env
            .wms
            .balance(&d.dc, &d.item, &d.subinventory, None)
            .map(|b| b.serials)
            .unwrap_or_default();
        assert_eq!(fusion, wms, "serials of {}", drift_key(d));
    }
    let next = run(&deps, scheduled_at("2026-11-26T23:30:02Z")).await;
    assert!(variances(report(&next, dc.as_str())).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_delivered_to_two_containers_at_once_acts_once() {
    let env = spawn().await;
    let a = deps(&env, ReconcileSettings::default());
    let b = deps(&env, ReconcileSettings::default());
    let inbox = env.subscribe_alerts().await.unwrap();
    let drifts = env
        .wms
        .inject_drift_bands(&DriftBandsRequest {
            dc: None,
            small: 4,
            medium: 2,
            large: 3,
            seed: 21,
        })
        .unwrap();
    let (ra, rb) = tokio::join!(
        run(&a, scheduled_at("2026-11-26T23:15:02Z")),
        run(&b, scheduled_at("2026-11-26T23:15:03Z"))
    );
    let sum = |field: &str| -> u64 {
        dcs(&env)
            .iter()
            .map(|dc| count(report(&ra, dc.as_str()), field) + count(report(&rb, dc.as_str()), field))
            .sum()
    };
    assert_eq!(sum("adjustments_posted"), 4, "{ra}\n{rb}");
    assert_eq!(sum("incidents_opened"), 3, "{ra}\n{rb}");
    assert_eq!(sum("alerts_published"), 3, "{ra}\n{rb}");
    assert_eq!(inbox.drain().await.unwrap().len(), 3);
    assert_eq!(holds(&env).len(), 3);
    assert_eq!(open_tasks(&env, &a).await.len(), 2);
    for d in of_band(&drifts, DriftBand::Small) {
        assert_eq!(
            env.fusion.onhand(&d.dc, &d.item, &d.subinventory, d.lot.as_deref()),
            d.quantity_after,
            "adjusted exactly once: {}",
            drift_key(d)
        );
    }
}
