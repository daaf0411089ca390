//! The fan-out handler on a recording queue, fed the sample events of `events/fanout-sync`
//! and EventBridge's own scheduled-event shape.

use super::*;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::golive::DcStatus;
use domain::ports::StoreError;
use lambda_runtime::{Context, Diagnostic};
use serde_json::json;
use std::sync::Mutex;
use testkit::InMemoryDcStatus;

/// The sync queue as a list of what was sent; scriptable to fail the next send.
#[derive(Default)]
struct RecordingQueue {
    sent: Mutex<Vec<SyncRequest>>,
    fail_next: Mutex<Option<QueueError>>,
}

impl RecordingQueue {
    fn sent(&self) -> Vec<SyncRequest> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl SyncQueue for RecordingQueue {
    type Error = QueueError;

    async fn send(&self, requests: &[SyncRequest]) -> Result<usize, QueueError> {
        if let Some(e) = self.fail_next.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| QueueError::Unavailable("poisoned".into()))?;
        // Why: the FIFO queue drops a second message with the same deduplication id.
        let fresh: Vec<SyncRequest> = requests
            .iter()
            .filter(|r| !sent.iter().any(|s| s.dedup_id() == r.dedup_id()))
            .cloned()
            .collect();
        sent.extend(fresh);
        Ok(requests.len())
    }
}

fn dcs() -> Vec<DcCode> {
    ["DC01", "DC02", "DC03"]
        .iter()
        .map(|d| DcCode::parse(*d).unwrap())
        .collect()
}

/// The status table, or its outage.
enum Statuses {
    Table(InMemoryDcStatus),
    Down(StoreError),
}

impl DcStatusBoard for Statuses {
    async fn get(&self, dc: &DcCode) -> Result<Option<domain::golive::DcStatusRecord>, StoreError> {
        match self {
            Statuses::Table(t) => t.get(dc).await,
            Statuses::Down(e) => Err(e.clone()),
        }
    }
    async fn all(&self) -> Result<Vec<domain::golive::DcStatusRecord>, StoreError> {
        match self {
            Statuses::Table(t) => t.all().await,
            Statuses::Down(e) => Err(e.clone()),
        }
    }
    async fn put(&self, next: &domain::golive::DcStatusRecord, expected: u64) -> Result<(), StoreError> {
        match self {
            Statuses::Table(t) => t.put(next, expected).await,
            Statuses::Down(e) => Err(e.clone()),
        }
    }
}

type TestDeps = Deps<RecordingQueue, Statuses>;

/// Every DC live: the fan-out's tests past go-live.
fn deps() -> TestDeps {
    Deps {
        dcs: dcs(),
        queue: RecordingQueue::default(),
        reconcile_queue: Some(RecordingQueue::default()),
        statuses: Statuses::Table(InMemoryDcStatus::all_live(&dcs(), chrono::Utc::now())),
    }
}

fn table(deps: &TestDeps) -> &InMemoryDcStatus {
    match &deps.statuses {
        Statuses::Table(t) => t,
        Statuses::Down(_) => panic!("no status table"),
    }
}

fn reconcile_sent(deps: &TestDeps) -> Vec<SyncRequest> {
    deps.reconcile_queue
        .as_ref()
        .map(RecordingQueue::sent)
        .unwrap_or_default()
}

fn sample(name: &str) -> Value {
    let text = match name {
        "scheduled" => include_str!("../../../events/fanout-sync/scheduled.json"),
        "manual" => include_str!("../../../events/fanout-sync/manual.json"),
        "scheduled-reconcile" => include_str!("../../../events/fanout-sync/scheduled-reconcile.json"),
        other => panic!("no sample event {other}"),
    };
    serde_json::from_str(text).unwrap()
}

async fn invoke(deps: &TestDeps, payload: Value, request_id: &str) -> Result<FanoutResponse, HandlerError> {
    let mut context = Context::default();
    context.request_id = request_id.to_string();
    handle(deps, LambdaEvent::new(payload, context)).await
}

fn dc_names(requests: &[SyncRequest]) -> Vec<String> {
    requests.iter().map(|r| r.dc.to_string()).collect()
}

#[tokio::test]
async fn the_scheduled_sample_sends_one_request_per_dc_for_its_hour() {
    let deps = deps();
    let out = invoke(&deps, sample("scheduled"), "req-1").await.unwrap();

    assert_eq!(
        (out.slot.as_str(), out.trigger, out.sent),
        ("2026-11-26T23:00Z", Trigger::Schedule, 3)
    );
    let sent = deps.queue.sent();
    assert_eq!(dc_names(&sent), ["DC01", "DC02", "DC03"]);
    assert!(sent
        .iter()
        .all(|r| r.slot == "2026-11-26T23:00Z" && r.trigger == "schedule"));
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        json!({"slot": "2026-11-26T23:00Z", "trigger": "schedule", "sent": 3, "dcs": ["DC01", "DC02", "DC03"]})
    );
}

#[tokio::test]
async fn eventbridge_firing_twice_in_one_hour_enqueues_each_dc_once() {
    let deps = deps();
    for (id, time) in [("a", "2026-11-26T23:00:04Z"), ("b", "2026-11-26T23:59:58Z")] {
        // EventBridge's own shape, as aws_lambda_events serializes it.
        let mut event: EventBridgeEvent = serde_json::from_value(sample("scheduled")).unwrap();
        event.time = Some(
            chrono::DateTime::parse_from_rfc3339(time)
                .unwrap()
                .with_timezone(&chrono::Utc),
        );
        event.id = Some(id.into());
        invoke(&deps, serde_json::to_value(&event).unwrap(), id).await.unwrap();
    }
    assert_eq!(dc_names(&deps.queue.sent()), ["DC01", "DC02", "DC03"]);
}

#[tokio::test]
async fn the_manual_sample_reruns_the_dcs_it_names_in_its_own_slot() {
    let deps = deps();
    let out = invoke(&deps, sample("manual"), "req-1").await.unwrap();

    assert_eq!(
        (out.slot.as_str(), out.trigger),
        ("manual-rerun-after-outage", Trigger::Manual)
    );
    let sent = deps.queue.sent();
    assert_eq!(dc_names(&sent), ["DC02"]);
    assert_eq!(sent[0].trigger, "manual");
    let all = invoke(&deps, json!({}), "req-9").await.unwrap();
    assert_eq!((all.dcs.len(), all.slot.as_str()), (3, "manual-req-9"));
}

#[tokio::test]
async fn refused_events_send_nothing_and_say_a_retry_cannot_help() {
    let deps = deps();
    let cases = [
        (json!({"dcs": ["DC09"]}), "DC09"),
        (json!({"dcs": "DC01", "extra": 1}), "malformed"),
        (
            json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
                "time": "2026-11-26T23:00:04Z", "detail": {"state": "running"}}),
            "not a scheduled event",
        ),
        (
            json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
            "malformed",
        ),
        (
            json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
            "no time",
        ),
        (json!({"slot": "x".repeat(200)}), "slot"),
    ];
    for (payload, says) in cases {
        let e = invoke(&deps, payload.clone(), "r").await.unwrap_err();
        assert!(e.to_string().contains(says), "{payload}: {e}");
        let d: Diagnostic = e.into();
        assert_eq!(d.error_type, "NonRetryable.InvalidEvent", "{payload}");
    }
    assert!(deps.queue.sent().is_empty());
}

#[tokio::test]
async fn a_queue_outage_fails_the_invocation_as_retryable_and_a_refusal_as_not() {
    let deps = deps();
    *deps.queue.fail_next.lock().unwrap() = Some(QueueError::Unavailable("throttled".into()));
    let d: Diagnostic = invoke(&deps, sample("scheduled"), "r").await.unwrap_err().into();
    assert_eq!(d.error_type, "Retryable.SyncQueue");
    assert!(d.error_message.contains("throttled"), "{}", d.error_message);

    *deps.queue.fail_next.lock().unwrap() = Some(QueueError::Rejected("no such queue".into()));
    let d: Diagnostic = invoke(&deps, sample("scheduled"), "r").await.unwrap_err().into();
    assert_eq!(d.error_type, "NonRetryable.SyncQueue");

    // The retry EventBridge makes goes through, once per DC.
    invoke(&deps, sample("scheduled"), "r").await.unwrap();
    assert_eq!(deps.queue.sent().len(), 3);
}

#[tokio::test]
async fn the_reconcile_schedule_sends_one_request_per_dc_for_its_quarter_hour_on_the_reconcile_queue() {
    let deps = deps();
    let out = invoke(&deps, sample("scheduled-reconcile"), "req-1").await.unwrap();

    assert_eq!(
        (out.kind, out.slot.as_str(), out.trigger, out.sent),
        (RunKind::Reconcile, "2026-11-26T23:15Z", Trigger::Schedule, 3)
    );
    let sent = reconcile_sent(&deps);
    assert_eq!(dc_names(&sent), ["DC01", "DC02", "DC03"]);
    assert_eq!(sent[0].dedup_id(), "DC01:2026-11-26T23:15Z");
    assert_eq!(sent[0].reconcile_run_id(), "reconcile:2026-11-26T23:15Z");
    assert!(deps.queue.sent().is_empty(), "nothing on the sync queue");
    assert_eq!(serde_json::to_value(&out).unwrap()["kind"], json!("reconcile"));
}

#[tokio::test]
async fn the_reconcile_schedule_firing_twice_in_one_quarter_hour_enqueues_each_dc_once() {
    let deps = deps();
    for (id, time) in [
        ("a", "2026-11-26T23:20:02Z"),
        ("b", "2026-11-26T23:29:58Z"),
        ("c", "2026-11-26T23:20:02Z"),
    ] {
        let mut event = sample("scheduled-reconcile");
        event["event"]["time"] = json!(time);
        event["event"]["id"] = json!(id);
        invoke(&deps, event, id).await.unwrap();
    }
    assert_eq!(dc_names(&reconcile_sent(&deps)), ["DC01", "DC02", "DC03"]);
    // The next quarter hour is a new slot.
    let mut next = sample("scheduled-reconcile");
    next["event"]["time"] = json!("2026-11-26T23:35:01Z");
    let out = invoke(&deps, next, "d").await.unwrap();
    assert_eq!(out.slot, "2026-11-26T23:30Z");
    assert_eq!(reconcile_sent(&deps).len(), 6);
}

#[tokio::test]
async fn a_manual_reconcile_fan_out_names_its_dcs_and_slot() {
    let deps = deps();
    let out = invoke(
        &deps,
        json!({"kind": "reconcile", "dcs": ["DC03"], "slot": "after-recount"}),
        "r",
    )
    .await
    .unwrap();
    assert_eq!(
        (out.kind, out.slot.as_str(), out.trigger),
        (RunKind::Reconcile, "manual-after-recount", Trigger::Manual)
    );
    let sent = reconcile_sent(&deps);
    assert_eq!(dc_names(&sent), ["DC03"]);
    assert_eq!(sent[0].reconcile_run_id(), "reconcile:manual-after-recount");
    assert!(deps.queue.sent().is_empty());
}

#[tokio::test]
async fn a_reconcile_fan_out_without_its_queue_or_with_a_stray_event_is_refused() {
    let mut deps = deps();
    deps.reconcile_queue = None;
    let d: Diagnostic = invoke(&deps, sample("scheduled-reconcile"), "r")
        .await
        .unwrap_err()
        .into();
    assert_eq!(d.error_type, "NonRetryable.ReconcileQueue");
    assert!(d.error_message.contains("RECONCILE_QUEUE_URL"), "{}", d.error_message);

    let deps = self::deps();
    let ec2 = json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "time": "2026-11-26T23:20:02Z"});
    for payload in [
        json!({"kind": "reconcile", "event": ec2}),
        json!({"kind": "reconcile", "event": {"dcs": ["DC01"]}}),
        json!({"kind": "reconcile", "event": sample("scheduled-reconcile")["event"], "dcs": ["DC01"]}),
        json!({"kind": "audit"}),
    ] {
        let d: Diagnostic = invoke(&deps, payload.clone(), "r").await.unwrap_err().into();
        assert_eq!(d.error_type, "NonRetryable.InvalidEvent", "{payload}");
    }
    assert!(reconcile_sent(&deps).is_empty());
}

#[tokio::test]
async fn a_reconcile_queue_outage_is_retryable_and_named() {
    let deps = deps();
    if let Some(q) = &deps.reconcile_queue {
        *q.fail_next.lock().unwrap() = Some(QueueError::Unavailable("throttled".into()));
    }
    let d: Diagnostic = invoke(&deps, sample("scheduled-reconcile"), "r")
        .await
        .unwrap_err()
        .into();
    assert_eq!(d.error_type, "Retryable.ReconcileQueue");
    invoke(&deps, sample("scheduled-reconcile"), "r").await.unwrap();
    assert_eq!(reconcile_sent(&deps).len(), 3);
}

#[tokio::test]
async fn only_live_dcs_get_a_sync_request_and_the_held_ones_are_listed_with_their_status() {
    let deps = deps();
    let now = chrono::Utc::now();
    table(&deps).set(&dcs()[1], DcStatus::Baselining, now);
    table(&deps).set(&dcs()[2], DcStatus::Maintenance, now);
    let out = invoke(&deps, sample("scheduled"), "req-1").await.unwrap();

    assert_eq!((out.sent, dc_names(&deps.queue.sent())), (1, vec!["DC01".to_string()]));
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        json!({"slot": "2026-11-26T23:00Z", "trigger": "schedule", "sent": 1, "dcs": ["DC01"],
            "held": [{"dc": "DC02", "status": "baselining"}, {"dc": "DC03", "status": "maintenance"}]})
    );
    // A manual sync naming a held DC sends nothing for it either.
    let out = invoke(&deps, json!({"dcs": ["DC02"], "slot": "try"}), "req-2")
        .await
        .unwrap();
    assert_eq!((out.sent, out.held.len()), (0, 1));
    assert_eq!(deps.queue.sent().len(), 1);
}

#[tokio::test]
async fn a_dc_nobody_has_touched_is_not_started_and_gets_no_sync_request() {
    let mut deps = deps();
    deps.statuses = Statuses::Table(InMemoryDcStatus::new());
    let out = invoke(&deps, sample("scheduled"), "req-1").await.unwrap();
    assert_eq!(out.sent, 0);
    assert!(deps.queue.sent().is_empty());
    assert!(out.held.iter().all(|h| h.status == DcStatus::NotStarted) && out.held.len() == 3);
}

#[tokio::test]
async fn a_dc_taken_to_maintenance_stops_syncing_and_syncs_again_once_back_to_live() {
    let deps = deps();
    let dc2 = &dcs()[1];
    let hour = |h: u32| {
        let mut e = sample("scheduled");
        e["time"] = json!(format!("2026-11-27T{h:02}:00:04Z"));
        e
    };
    invoke(&deps, hour(1), "h1").await.unwrap();
    table(&deps).set(dc2, DcStatus::Maintenance, chrono::Utc::now());
    let out = invoke(&deps, hour(2), "h2").await.unwrap();
    assert_eq!(
        out.dcs.iter().map(DcCode::to_string).collect::<Vec<_>>(),
        ["DC01", "DC03"]
    );
    table(&deps).set(dc2, DcStatus::Live, chrono::Utc::now());
    let out = invoke(&deps, hour(3), "h3").await.unwrap();
    assert_eq!(out.sent, 3);
    let dc2_slots: Vec<String> = deps
        .queue
        .sent()
        .into_iter()
        .filter(|r| &r.dc == dc2)
        .map(|r| r.slot)
        .collect();
    assert_eq!(dc2_slots, ["2026-11-27T01:00Z", "2026-11-27T03:00Z"]);
}

#[tokio::test]
async fn a_status_table_outage_sends_no_sync_request_and_is_retryable_but_the_reconcile_fan_out_goes_on() {
    let mut deps = deps();
    deps.statuses = Statuses::Down(StoreError::Unavailable("throttled".into()));
    let d: Diagnostic = invoke(&deps, sample("scheduled"), "r").await.unwrap_err().into();
    assert_eq!(d.error_type, "Retryable.DcStatus");
    assert!(deps.queue.sent().is_empty());
    let out = invoke(&deps, sample("scheduled-reconcile"), "r").await.unwrap();
    assert_eq!((out.sent, out.held.len()), (3, 0));
}
