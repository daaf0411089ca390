//! The sync handler on the in-memory fakes, fed the SQS sample events of
//! `events/sync-inventory` (AWS's own SQS event shape): what was posted to Fusion, what the
//! ledger holds, which messages come back as batch item failures, what was alerted.

use super::*;
use domain::ledger::SyncState;
use domain::ports::{FusionError, WmsError};
use lambda_runtime::Context;
use std::collections::BTreeSet;
use testkit::build::{self, plain_item};
use testkit::FakePorts;

impl SyncFunctionPorts for FakePorts {
    type Runs = testkit::InMemoryRunReports;

    fn run_reports(&self) -> &Self::Runs {
        &self.run_reports
    }

    async fn reload_rejected_credentials(&self) -> Result<bool, ConfigError> {
        Ok(false)
    }
}

const BATCH: &str = include_str!("../../../events/sync-inventory/sqs-batch.json");
const MANUAL: &str = include_str!("../../../events/sync-inventory/sqs-manual.json");

/// DC01 (the batch sample's DC) with one plain receipt waiting in the WMS outbox.
fn deps() -> Deps<FakePorts> {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    ports.add_txn(build::plain_receipt("T1", "ITM-P", 10));
    Deps {
        ports,
        settings: SyncSettings::default(),
    }
}

fn sample(text: &str) -> SqsEvent {
    serde_json::from_str(text).unwrap()
}

/// The batch sample's record with another id and body.
fn record(id: &str, body: &str) -> SqsMessage {
    let mut r = sample(BATCH).records.remove(0);
    r.message_id = Some(id.into());
    r.body = Some(body.into());
    r
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = sample(BATCH);
    event.records = records;
    event
}

async fn deliver(deps: &Deps<FakePorts>, event: SqsEvent) -> Vec<String> {
    let mut context = Context::default();
    context.request_id = "8f5e2c1a-req".into();
    let response = match handle(deps, LambdaEvent::new(event, context)).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

fn state(deps: &Deps<FakePorts>, id: &str) -> Option<SyncState> {
    deps.ports.ledger.state_of(&deps.ports.dc, id)
}

const DC01_BODY: &str = r#"{"dc":"DC01","slot":"2026-11-26T23:00Z","trigger":"schedule"}"#;

#[tokio::test]
async fn the_sample_batch_syncs_its_dc_once_and_saves_the_run_report() {
    let deps = deps();

    let failures = deliver(&deps, sample(BATCH)).await;

    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(state(&deps, "T1"), Some(SyncState::Synced));
    assert_eq!(deps.ports.fusion.posts_of("T1").len(), 1);
    assert!(
        deps.ports.wms.outbox_ids(&deps.ports.dc).is_empty(),
        "reported synced to the WMS"
    );
    let reports = deps.ports.run_reports.reports();
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0]
            .run_id
            .as_str()
            .starts_with("sync:DC01:2026-11-26T23:00Z:8f5e2c1a"),
        "{}",
        reports[0].run_id
    );
    assert_eq!((reports[0].figures["seen"], reports[0].figures["synced"]), (1, 1));

    // SQS delivers at least once: the same message again posts nothing.
    assert!(deliver(&deps, sample(BATCH)).await.is_empty());
    assert_eq!(deps.ports.fusion.posts_of("T1").len(), 1);
    assert_eq!(deps.ports.alerts.count(), 0);
}

#[tokio::test]
async fn a_message_for_a_dc_outside_dc_list_is_acknowledged_and_alerted() {
    let mut deps = deps();
    deps.settings.dcs = Some(BTreeSet::from([deps.ports.dc.clone()]));

    let failures = deliver(&deps, sample(MANUAL)).await;

    assert!(failures.is_empty(), "never retried: {failures:?}");
    let alerts = deps.ports.alerts.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].subject.contains("DC02") && alerts[0].subject.contains("sync run failed"),
        "{}",
        alerts[0].subject
    );
    assert!(alerts[0].body.contains("DC_LIST"), "{}", alerts[0].body);
    assert_eq!(deps.ports.fusion.post_calls(), 0);
}

#[tokio::test]
async fn a_malformed_message_is_acknowledged_alerted_and_the_rest_of_the_batch_runs() {
    let deps = deps();

    let failures = deliver(
        &deps,
        batch(vec![record("m1", "not a sync request"), record("m2", DC01_BODY)]),
    )
    .await;

    assert!(failures.is_empty(), "{failures:?}");
    let alerts = deps.ports.alerts.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].subject.contains("malformed sync message"),
        "{}",
        alerts[0].subject
    );
    assert_eq!(state(&deps, "T1"), Some(SyncState::Synced));
}

#[tokio::test]
async fn a_retryable_failure_returns_its_message_and_every_later_one_in_fifo_order() {
    let deps = deps();
    deps.ports
        .wms
        .fail_next_outbox(1, WmsError::Unavailable("WMS restarting".into()));

    let failures = deliver(
        &deps,
        batch(vec![
            record("m1", "not a sync request"),
            record("m2", DC01_BODY),
            record("m3", DC01_BODY),
        ]),
    )
    .await;

    assert_eq!(failures, ["m2", "m3"], "m3 would succeed but must not overtake m2");
    assert_eq!(state(&deps, "T1"), None, "nothing was claimed");
    assert_eq!(deps.ports.fusion.post_calls(), 0);

    // The redelivery syncs.
    assert!(deliver(&deps, batch(vec![record("m2", DC01_BODY)])).await.is_empty());
    assert_eq!(state(&deps, "T1"), Some(SyncState::Synced));
}

#[tokio::test]
async fn rejected_fusion_credentials_return_the_message_and_keep_the_transaction_pending() {
    let deps = deps();
    deps.ports.fusion.fail_next_posts(100, FusionError::Unauthorized);

    let failures = deliver(&deps, sample(BATCH)).await;

    assert_eq!(failures, ["2e1424d4-f796-459a-8184-9c92662be6da"]);
    assert_ne!(state(&deps, "T1"), Some(SyncState::Synced));
    assert_eq!(deps.ports.wms.outbox_ids(&deps.ports.dc), ["T1"]);
    let reports = deps.ports.run_reports.reports();
    assert!(
        reports[0].notes.iter().any(|n| n.contains("systemic failure")),
        "{:?}",
        reports[0].notes
    );
}
