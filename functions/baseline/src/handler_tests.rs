//! The baseline handler on the testkit's fakes: an apply that runs out of time continues
//! itself through the queue and the continuation finishes and verifies; a redelivered message
//! applies nothing twice; requests no retry can help are alerted and acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use chrono::Duration;
use domain::golive::baseline::{take_plan, PlanId};
use domain::golive::DcStatus;
use domain::ports::{DcStatusBoard, WmsBalance};
use domain::variance::BalanceKey;
use lambda_runtime::Context;
use rust_decimal::Decimal;
use std::sync::Mutex;
use testkit::build::{self, plain_item};
use testkit::FakePorts;

/// The function's queue as a list of what was sent.
#[derive(Default)]
struct RecordingQueue {
    sent: Mutex<Vec<ApplyRequest>>,
}

impl RecordingQueue {
    fn sent(&self) -> Vec<ApplyRequest> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Continuation for RecordingQueue {
    type Error = QueueError;

    async fn send(&self, request: &ApplyRequest) -> Result<(), QueueError> {
        self.sent
            .lock()
            .map_err(|_| QueueError::Unavailable("poisoned".into()))?
            .push(request.clone());
        Ok(())
    }
}

/// DC01 with 30 plain items in the WMS and an empty Fusion, planned in chunks of 5.
fn planned() -> (Deps<FakePorts, RecordingQueue>, PlanId) {
    let ports = FakePorts::new();
    for i in 0..30 {
        let item = format!("P{i:03}");
        ports.add_item(plain_item(&item));
        ports.wms.set_balance(WmsBalance {
            key: BalanceKey::new(ports.dc.clone(), build::item(&item), build::sub("STOCK"), None),
            quantity: Decimal::from(10 + i),
            uom: build::uom("EA"),
            expiration: None,
            serials: Vec::new(),
        });
    }
    let settings = BaselineSettings {
        chunk_size: 5,
        chunks_in_flight: 1,
        ..BaselineSettings::default()
    };
    let taken = futures_block(take_plan(&ports, &settings, &ports.dc, &build::user("ann"))).unwrap();
    assert_eq!(taken.plan.chunks, 6);
    let deps = Deps {
        dcs: vec![ports.dc.clone()],
        ports,
        settings,
        queue: RecordingQueue::default(),
    };
    (deps, taken.plan.id)
}

fn futures_block<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn body(request: &ApplyRequest) -> String {
    serde_json::to_string(request).unwrap()
}

fn first_request(deps: &Deps<FakePorts, RecordingQueue>, plan: &PlanId) -> ApplyRequest {
    ApplyRequest {
        dc: deps.ports.dc.clone(),
        plan: plan.clone(),
        from_chunk: 0,
        by: build::user("ann"),
    }
}

fn event(bodies: &[String]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| serde_json::json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// Invokes with `budget` left on the fake clock; answers the failed message ids.
async fn invoke(deps: &Deps<FakePorts, RecordingQueue>, bodies: &[String], budget: Duration) -> Vec<String> {
    let mut context = Context::default();
    context.deadline = u64::try_from((deps.ports.clock.now() + budget).timestamp_millis()).unwrap();
    handle(deps, LambdaEvent::new(event(bodies), context))
        .await
        .unwrap()
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

fn status(deps: &Deps<FakePorts, RecordingQueue>) -> DcStatus {
    futures_block(deps.ports.status.get(&deps.ports.dc))
        .unwrap()
        .map_or(DcStatus::NotStarted, |r| r.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_that_runs_out_of_time_continues_itself_and_the_continuation_finishes_and_verifies() {
    let (deps, plan) = planned();
    deps.ports
        .fusion
        .set_call_latency(&deps.ports.clock, Duration::seconds(40));

    // 1. Three minutes left, a minute of safety margin, 40 s per chunk: some chunks, not all.
    let first = first_request(&deps, &plan);
    assert!(invoke(&deps, &[body(&first)], Duration::minutes(3)).await.is_empty());
    let sent = deps.queue.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].from_chunk >= 1 && sent[0].from_chunk < 6, "{sent:?}");
    assert_eq!(
        (sent[0].dc.clone(), sent[0].plan.clone()),
        (first.dc.clone(), plan.clone())
    );
    assert_eq!(status(&deps), DcStatus::Baselining);

    // 2. The continuation, with time enough: every chunk applied, verified.
    deps.ports.clock.advance(Duration::minutes(1));
    assert!(invoke(&deps, &[body(&sent[0])], Duration::minutes(30)).await.is_empty());
    assert_eq!(deps.queue.sent().len(), 1, "no further continuation");
    assert_eq!(status(&deps), DcStatus::Verified);
    let applications = deps.ports.fusion.balance_applications();
    assert_eq!(applications.len(), 30);
    assert!(applications.values().all(|&n| n == 1), "{applications:?}");

    // 3. The first message delivered again (a lost acknowledgement): nothing applied twice.
    assert!(invoke(&deps, &[body(&first)], Duration::minutes(30)).await.is_empty());
    assert_eq!(deps.ports.fusion.balance_applications(), applications);
    assert_eq!(status(&deps), DcStatus::Verified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_no_time_to_apply_anything_comes_back_for_retry_without_a_continuation() {
    let (deps, plan) = planned();
    let first = first_request(&deps, &plan);
    // Less than the safety margin left: no chunk may start.
    let failed = invoke(&deps, &[body(&first)], Duration::seconds(30)).await;
    assert_eq!(failed, ["m0"]);
    assert!(deps.queue.sent().is_empty());
    assert!(deps.ports.fusion.balance_applications().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_no_retry_can_help_are_alerted_and_acknowledged() {
    let (deps, plan) = planned();
    let mut outside = first_request(&deps, &plan);
    outside.dc = build::dc("DC09");
    let mut unknown_plan = first_request(&deps, &plan);
    unknown_plan.plan = PlanId::parse("BL-DC01-20200101T000000Z").unwrap();
    let failed = invoke(
        &deps,
        &["{\"dc\": 1}".to_string(), body(&outside), body(&unknown_plan)],
        Duration::minutes(30),
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(deps.ports.alerts.count(), 3);
    assert!(deps.queue.sent().is_empty());
    assert!(deps.ports.fusion.balance_applications().is_empty());
    assert_eq!(status(&deps), DcStatus::Planned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_event_parses_as_one_apply_request() {
    let event: SqsEvent = serde_json::from_str(include_str!("../../../events/baseline/sqs.json")).unwrap();
    let request = ApplyRequest::parse(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!((request.dc.as_str(), request.from_chunk), ("DC01", 0));
    assert_eq!(
        event.records[0]
            .attributes
            .get("MessageDeduplicationId")
            .map(String::as_str),
        Some(request.dedup_id().as_str())
    );
}
