//! reconcile-stock under its own role: the real handler, with the ports a container running as
//! the function's role builds, on the IAM-enforcing moto (`scripts/test.sh` starts it). The
//! role's policy is the one `infra/template.yaml` writes for ReconcileStockRole, so a call the
//! role does not allow fails here with the action's name.

// Why: the helpers below are test code too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::reconciliation::ReconcileSettings;
use reconcile_stock::handler::{handle, Deps};
use rust_decimal::Decimal;
use serde_json::Value;
use std::time::Duration;
use test_harness::iam::FunctionSession;
use test_harness::{context, EnvOptions, TestEnv};
use wms_sim::{BalanceRow, Control};

mod support;
use support::drift;

const FUNCTION: &str = "reconcile-stock";

/// Spawned under IAM with every DC live (set by the set-up, not the role): these runs act.
async fn spawn_live(options: EnvOptions) -> TestEnv {
    let env = TestEnv::spawn_under_iam(options).await.unwrap();
    let dcs: Vec<_> = (0..env.options.dcs).map(|i| env.dc(i)).collect();
    env.mark_live(&dcs).await.unwrap();
    env
}

fn deps(env: &TestEnv, session: &FunctionSession) -> Deps {
    Deps {
        ports: env.ports_as(session).unwrap(),
        settings: ReconcileSettings::default(),
        dcs: (0..env.options.dcs).map(|i| env.dc(i)).collect(),
        concurrency: 4,
        statuses: env.dc_status_as(session).unwrap(),
    }
}

fn scheduled_at(time: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/reconcile-stock/scheduled.json")).unwrap();
    event["time"] = Value::String(time.to_string());
    event
}

async fn invoke(deps: &Deps, time: &str) -> Result<Value, lambda_kit::HandlerError> {
    handle(
        deps,
        lambda_runtime::LambdaEvent::new(scheduled_at(time), context("req-iam", Duration::from_secs(600))),
    )
    .await
    .map(|resp| serde_json::to_value(resp).unwrap())
}

/// Runs the handler as `session`; fails naming any action beyond the role before anything
/// looks at the answer.
async fn run(env: &TestEnv, session: &FunctionSession, deps: &Deps, time: &str) -> Value {
    let out = invoke(deps, time).await;
    env.granted(session, out)
}

/// The `n`th WMS row of `dc` whose item has `control` and at least `min` on hand.
fn row(env: &TestEnv, dc: &str, control: Control, min: i64, n: usize) -> BalanceRow {
    env.wms
        .balances(dc)
        .into_iter()
        .filter(|b| b.quantity >= Decimal::from(min) && env.wms.item(&b.item).map(|i| i.control) == Some(control))
        .nth(n)
        .unwrap()
}

fn count(resp: &Value, dc: &str, field: &str) -> u64 {
    let r = &resp["dcs"][dc];
    assert!(r.get("error").is_none(), "{dc} failed: {r}");
    r[field].as_u64().unwrap_or_else(|| panic!("{field} missing in {r}"))
}

/// Every tier acts, then clears: a plain and a lot key auto-corrected (ledger, lot map, Fusion
/// adjustment), a review task opened then closed, an incident opened (alert, hold) then closed,
/// open incidents and tasks read back every run, run reports saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tier_of_a_reconciliation_runs_under_its_role() {
    let env = spawn_live(EnvOptions::default()).await;
    let session = env.function(FUNCTION).await.unwrap();
    assert_eq!(session.role, "ReconcileStockRole");
    let deps = deps(&env, &session);
    let dc = env.dc(0);
    let d = dc.as_str();
    let medium = row(&env, d, Control::Plain, 20, 3);
    let large = row(&env, d, Control::Plain, 0, 5);
    drift(&env, d, &row(&env, d, Control::Plain, 0, 0), 2);
    drift(&env, d, &row(&env, d, Control::Lot, 10, 0), -3);
    drift(&env, d, &medium, -12);
    drift(&env, d, &large, 80);

    let first = run(&env, &session, &deps, "2026-11-26T23:15:02Z").await;
    assert_eq!(count(&first, d, "adjustments_posted"), 2, "{first}");
    assert_eq!(count(&first, d, "tasks_opened"), 1, "{first}");
    assert_eq!(count(&first, d, "incidents_opened"), 1, "{first}");
    assert_eq!(count(&first, d, "alerts_published"), 1, "{first}");
    assert_eq!(count(&first, d, "action_errors"), 0, "{first}");
    assert_eq!(first["dcs"][d]["report_saved"], Value::Bool(true), "{first}");
    assert_eq!(env.wms.holds(d).len(), 1);

    drift(&env, d, &medium, 12);
    drift(&env, d, &large, -80);
    let second = run(&env, &session, &deps, "2026-11-26T23:30:02Z").await;
    assert_eq!(count(&second, d, "tasks_closed"), 1, "{second}");
    assert_eq!(count(&second, d, "incidents_closed"), 1, "{second}");
    assert_eq!(count(&second, d, "action_errors"), 0, "{second}");
    for other in (1..env.options.dcs).map(|i| env.dc(i)) {
        assert_eq!(count(&second, other.as_str(), "action_errors"), 0, "{second}");
    }

    env.assert_only_granted(&session);
    let exercised = session.exercised(&env.calls(), &env.logical_ids());
    for (resource, action) in [
        ("IncidentTable", "dynamodb:Query"),
        ("IncidentTable", "dynamodb:PutItem"),
        ("IncidentTable", "dynamodb:UpdateItem"),
        ("ReviewTaskTable", "dynamodb:Query"),
        ("ReviewTaskTable", "dynamodb:PutItem"),
        ("ReviewTaskTable", "dynamodb:UpdateItem"),
        ("LedgerTable/index", "dynamodb:Query"),
        ("LedgerTable", "dynamodb:PutItem"),
        ("LedgerTable", "dynamodb:UpdateItem"),
        ("LotMapTable", "dynamodb:GetItem"),
        ("RunTable", "dynamodb:PutItem"),
        ("AlertTopic", "sns:Publish"),
        ("DcStatusTable", "dynamodb:GetItem"),
    ] {
        assert!(
            exercised.contains(&(resource.to_string(), action.to_string())),
            "the scenario never called {action} on {resource}: {exercised:?}"
        );
    }
}

/// The per-DC mode (one SQS message from the 15-minute fan-out) under the same role: the code
/// calls nothing more than in the direct mode, and a redelivered message acts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_message_runs_under_its_role_and_a_redelivery_acts_once() {
    let env = spawn_live(EnvOptions::default()).await;
    let session = env.function(FUNCTION).await.unwrap();
    let deps = deps(&env, &session);
    let d = env.dc(1);
    let d = d.as_str();
    drift(&env, d, &row(&env, d, Control::Plain, 0, 0), 2);
    drift(&env, d, &row(&env, d, Control::Plain, 0, 5), 80);
    let body = serde_json::json!({"dc": d, "slot": "2026-11-26T23:15Z", "trigger": "schedule"}).to_string();

    for receive in ["first", "redelivered"] {
        let event = test_harness::sqs_event(&[("m-1", body.clone())]).unwrap();
        let resp = reconcile_stock::queue::handle_messages(
            &deps,
            lambda_runtime::LambdaEvent::new(event, context("req-iam-q", Duration::from_secs(600))),
        )
        .await;
        env.assert_only_granted(&session);
        assert!(
            resp.batch_item_failures.is_empty(),
            "{receive}: {:?}",
            resp.batch_item_failures
        );
    }

    let landed = env.fusion_landed_by_reference().await.unwrap();
    let adjustments: Vec<_> = landed.iter().filter(|(r, _)| r.starts_with("RC-")).collect();
    assert_eq!(adjustments.len(), 1, "{landed:?}");
    assert!(adjustments.iter().all(|(_, n)| **n == 1), "{adjustments:?}");
    assert_eq!(env.wms.holds(d).len(), 1, "one hold, not one per delivery");
}

/// The message a run that needed `action` beyond its role fails with.
fn failure_of(env: &TestEnv, session: &FunctionSession) -> String {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| env.assert_only_granted(session)));
    let panic = outcome.expect_err("the role was missing an action, yet nothing failed");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Without dynamodb:Query in its role, the reconciliation cannot read what is in flight: the
/// emulator refuses, every DC fails, and the check names the action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_an_action_the_code_calls_fails_naming_it() {
    let env = spawn_live(EnvOptions {
        dcs: 1,
        items: 100,
        ..EnvOptions::default()
    })
    .await;
    let session = env
        .function_with(FUNCTION, "-noquery", |statements| {
            for s in statements.iter_mut() {
                s.actions.retain(|a| a != "dynamodb:Query");
            }
        })
        .await
        .unwrap();
    let out = invoke(&deps(&env, &session), "2026-11-26T23:15:02Z").await;
    assert!(
        out.is_err(),
        "every DC failed, so the invocation fails for a retry: {out:?}"
    );
    assert_eq!(session.denied(&env.calls()), vec!["dynamodb:Query".to_string()]);
    let message = failure_of(&env, &session);
    assert!(message.contains("refused by IAM: [\"dynamodb:Query\"]"), "{message}");
}

/// The template before issue 11 granted the incident table only PutItem and UpdateItem. moto
/// checks actions, not resources, so with Query granted on other tables it lets the incident
/// Query through; the harness's resource check still names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_query_the_old_role_lacked_is_named_on_its_table() {
    let env = spawn_live(EnvOptions {
        dcs: 1,
        items: 100,
        ..EnvOptions::default()
    })
    .await;
    let session = env
        .function_with(FUNCTION, "-old", |statements| {
            for s in statements.iter_mut().filter(|s| s.resources.contains("IncidentTable")) {
                s.actions.retain(|a| a != "dynamodb:Query");
            }
        })
        .await
        .unwrap();
    let resp = invoke(&deps(&env, &session), "2026-11-26T23:15:02Z").await.unwrap();
    assert!(resp["dcs"][env.dc(0).as_str()].get("error").is_none(), "{resp}");
    let message = failure_of(&env, &session);
    assert!(
        message.contains("dynamodb:Query on IncidentTable") && !message.contains("ReviewTaskTable"),
        "{message}"
    );
}
