//! The per-DC mode on the in-memory fakes, fed `events/reconcile-stock/sqs.json`: one DC per
//! message, a redelivered message acts once, failures come back or are alerted, and
//! [`handle_any`] routes each kind of invocation.

use super::*;
use crate::handler::tests::{deps, sample};
use aws_lambda_events::event::sqs::SqsEvent;
use domain::ports::WmsError;
use lambda_runtime::{Context, Diagnostic};
use serde_json::json;

fn sqs_sample() -> SqsEvent {
    serde_json::from_str(include_str!("../../../events/reconcile-stock/sqs.json")).unwrap()
}

/// The sample with one record per body, message ids `m0`, `m1`, ...
fn with_bodies(bodies: &[&str]) -> SqsEvent {
    let mut event = sqs_sample();
    let template = event.records[0].clone();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut r = template.clone();
            r.message_id = Some(format!("m{i}"));
            r.body = Some((*body).to_string());
            r
        })
        .collect();
    event
}

fn context() -> Context {
    let mut c = Context::default();
    c.request_id = "req-q".into();
    c
}

async fn deliver(deps: &crate::handler::tests::TestDeps, event: SqsEvent) -> Vec<String> {
    handle_messages(deps, LambdaEvent::new(event, context()))
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn the_sqs_sample_reconciles_its_dc_once_even_when_redelivered() {
    let deps = deps(&["DC01"]);

    assert!(deliver(&deps, sqs_sample()).await.is_empty());

    assert_eq!(deps.ports.fusion.post_calls(), 1, "the variance of 2 was corrected");
    let reports = deps.ports.run_reports.reports();
    assert_eq!(reports.len(), 1);
    // A redelivery (visibility timeout, a second receive) posts no second adjustment, and the
    // one-invocation mode of the same slot (the run id it would give) neither.
    assert!(deliver(&deps, sqs_sample()).await.is_empty());
    let resp = crate::handler::handle(&deps, LambdaEvent::new(sample("scheduled"), context()))
        .await
        .unwrap();
    assert_eq!(resp.run_id, "reconcile:2026-11-26T23:15Z");
    assert_eq!(deps.ports.fusion.post_calls(), 1);
}

#[tokio::test]
async fn a_retryable_failure_comes_back_with_the_rest_of_the_batch_and_a_permanent_one_is_alerted() {
    let deps = deps(&["DC01", "DC02"]);
    deps.ports
        .wms
        .fail_next_balances(10, WmsError::Unavailable("WMS restarting".into()));
    let body = |dc: &str| json!({"dc": dc, "slot": "2026-11-26T23:15Z", "trigger": "schedule"}).to_string();

    let failed = deliver(&deps, with_bodies(&[&body("DC01"), &body("DC02")])).await;

    assert_eq!(
        failed,
        ["m0", "m1"],
        "FIFO: what follows a retried message comes back too"
    );
    assert_eq!(deps.ports.fusion.post_calls(), 0);
    assert_eq!(deps.ports.alerts.count(), 0, "a retry may help: no alert");

    // The fake WMS knows DC01 only: DC02 fails as an unknown DC, which no retry fixes.
    let deps = self::deps(&["DC01", "DC02"]);
    assert!(deliver(&deps, with_bodies(&[&body("DC02")])).await.is_empty());
    let alerts = deps.ports.alerts.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].subject.contains("DC02") && alerts[0].subject.contains("reconciliation failed"),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn malformed_messages_and_dcs_outside_dc_list_are_acknowledged_and_alerted() {
    let deps = deps(&["DC01"]);
    let outside = json!({"dc": "DC09", "slot": "2026-11-26T23:15Z"}).to_string();

    let failed = deliver(&deps, with_bodies(&["{not json", &outside])).await;

    assert!(failed.is_empty(), "{failed:?}");
    let alerts = deps.ports.alerts.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts[1].body.contains("DC09 is not in DC_LIST"), "{alerts:?}");
    assert_eq!(deps.ports.fusion.post_calls(), 0);
    assert!(deps.ports.run_reports.reports().is_empty());
}

#[tokio::test]
async fn handle_any_routes_sqs_to_the_per_dc_mode_and_the_rest_to_the_one_invocation_mode() {
    let deps = deps(&["DC01"]);
    let sqs = serde_json::to_value(sqs_sample()).unwrap();

    let answer = handle_any(&deps, LambdaEvent::new(sqs, context())).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(deps.ports.fusion.post_calls(), 1);

    let answer = handle_any(&deps, LambdaEvent::new(sample("manual-dry-run"), context()))
        .await
        .unwrap();
    assert_eq!(answer["run_id"], json!("reconcile:manual-after-recount:dry"));
    // Another service's records are refused as before, not read as SQS.
    let s3 = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]});
    let d: Diagnostic = handle_any(&deps, LambdaEvent::new(s3, context()))
        .await
        .unwrap_err()
        .into();
    assert_eq!(d.error_type, "NonRetryable.InvalidEvent");
}

#[tokio::test]
async fn a_reconcile_message_for_a_dc_not_live_acts_on_nothing_and_one_whose_status_cannot_be_read_comes_back() {
    let deps = crate::handler::tests::large_drift_deps();
    deps.statuses.set(
        &testkit::build::dc("DC01"),
        domain::golive::DcStatus::Maintenance,
        testkit::build::epoch(),
    );
    assert!(deliver(&deps, sqs_sample()).await.is_empty());
    assert_eq!(deps.ports.alerts.count(), 0);
    assert!(deps.ports.wms.hold_history(&testkit::build::dc("DC01")).is_empty());
    assert!(deps.ports.tasks.records().is_empty());
    assert!(
        deps.ports.run_reports.reports().is_empty(),
        "report-only: nothing saved"
    );

    let down = Deps {
        ports: deps.ports,
        settings: deps.settings,
        dcs: deps.dcs,
        concurrency: deps.concurrency,
        statuses: crate::handler::tests::StatusesDown,
    };
    let event = sqs_sample();
    let ids: Vec<String> = event.records.iter().filter_map(|r| r.message_id.clone()).collect();
    let failed = handle_messages(&down, LambdaEvent::new(event, context()))
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect::<Vec<_>>();
    assert_eq!(failed, ids, "returned for retry, never taken for live");
    assert_eq!(down.ports.alerts.count(), 0);
}
