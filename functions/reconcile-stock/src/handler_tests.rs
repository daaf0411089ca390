//! The reconciliation handler on the in-memory fakes, fed the sample events of
//! `events/reconcile-stock` and EventBridge's own scheduled-event shape: what was adjusted in
//! Fusion, which reports were saved, how a failing DC and a refused event are answered.

use super::*;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use domain::ports::{OnhandRow, WmsBalance, WmsError};
use domain::BalanceKey;
use lambda_runtime::{Context, Diagnostic};
use rust_decimal::Decimal;
use serde_json::json;
use testkit::build::{self, plain_item};
use testkit::{FakePorts, InMemoryDcStatus};

/// The handler on the fakes, with an in-memory DC status table.
pub(crate) type TestDeps = Deps<FakePorts, InMemoryDcStatus>;

pub(crate) fn sample(name: &str) -> Value {
    let text = match name {
        "scheduled" => include_str!("../../../events/reconcile-stock/scheduled.json"),
        "manual" => include_str!("../../../events/reconcile-stock/manual.json"),
        "manual-dry-run" => include_str!("../../../events/reconcile-stock/manual-dry-run.json"),
        "manual-dry-run-all-dcs" => include_str!("../../../events/reconcile-stock/manual-dry-run-all-dcs.json"),
        other => panic!("no sample event {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// DC01 where the WMS counts 12 of ITM-P in STORES and Fusion 10: a variance of 2, in the
/// auto-correct tier by default. Every configured DC is live.
pub(crate) fn deps(configured: &[&str]) -> TestDeps {
    let ports = FakePorts::new();
    ports.add_item(plain_item("ITM-P"));
    let key = BalanceKey::new(ports.dc.clone(), build::item("ITM-P"), build::sub("STORES"), None);
    ports.wms.set_balance(WmsBalance {
        key,
        quantity: Decimal::from(12),
        uom: build::uom("EA"),
        expiration: None,
        serials: Vec::new(),
    });
    ports.fusion.set_onhand(OnhandRow {
        dc: ports.dc.clone(),
        item: build::item("ITM-P"),
        subinventory: build::sub("STORES"),
        lot: None,
        expiration: None,
        serials: Vec::new(),
        quantity: Decimal::from(10),
        uom: build::uom("EA"),
    });
    Deps {
        ports,
        settings: ReconcileSettings::default(),
        dcs: configured.iter().map(|d| build::dc(d)).collect(),
        concurrency: 2,
        statuses: InMemoryDcStatus::all_live(
            &configured.iter().map(|d| build::dc(d)).collect::<Vec<_>>(),
            build::epoch(),
        ),
    }
}

async fn invoke(deps: &TestDeps, payload: Value) -> Result<ReconcileResponse, HandlerError> {
    let mut context = Context::default();
    context.request_id = "req-1".into();
    handle(deps, LambdaEvent::new(payload, context)).await
}

fn report<'a>(resp: &'a ReconcileResponse, dc: &str) -> &'a ReconcileReport {
    match &resp.dcs[&build::dc(dc)] {
        DcOutcome::Reconciled(r) => r,
        DcOutcome::Failed { error, .. } => panic!("{dc} failed: {error}"),
    }
}

#[tokio::test]
async fn the_scheduled_sample_corrects_a_small_variance_once_per_slot() {
    let deps = deps(&["DC01"]);

    let resp = invoke(&deps, sample("scheduled")).await.unwrap();

    assert_eq!(
        (resp.run_id.as_str(), resp.dry_run),
        ("reconcile:2026-11-26T23:15Z", false)
    );
    let r = report(&resp, "DC01");
    assert_eq!((r.auto_correct, r.adjustments_posted), (1, 1), "{r:?}");
    assert_eq!(deps.ports.fusion.post_calls(), 1);
    assert_eq!(deps.ports.run_reports.reports().len(), 1);
    let answer = serde_json::to_value(&resp).unwrap();
    assert_eq!(answer["dcs"]["DC01"]["auto_correct"], json!(1), "{answer}");

    // EventBridge firing again in the same quarter hour (its own event shape) shares the run id:
    // the correction is not posted twice.
    let mut again: EventBridgeEvent = serde_json::from_value(sample("scheduled")).unwrap();
    again.time = Some(
        chrono::DateTime::parse_from_rfc3339("2026-11-26T23:29:00Z")
            .unwrap()
            .to_utc(),
    );
    let resp = invoke(&deps, serde_json::to_value(&again).unwrap()).await.unwrap();
    assert_eq!(resp.run_id, "reconcile:2026-11-26T23:15Z");
    assert_eq!(deps.ports.fusion.post_calls(), 1);
}

#[tokio::test]
async fn the_manual_dry_run_sample_reports_the_variance_and_changes_nothing() {
    let deps = deps(&["DC01", "DC02"]);

    let resp = invoke(&deps, sample("manual-dry-run")).await.unwrap();

    assert_eq!(resp.run_id, "reconcile:manual-after-recount:dry");
    assert!(resp.dry_run);
    assert_eq!(resp.dcs.len(), 1, "only the DC it names");
    let r = report(&resp, "DC01");
    assert_eq!((r.auto_correct, r.adjustments_posted), (1, 0), "{r:?}");
    assert_eq!(deps.ports.fusion.post_calls(), 0);
    assert!(deps.ports.run_reports.reports().is_empty());
}

#[tokio::test]
async fn a_failing_dc_is_answered_beside_the_others() {
    // The fake WMS knows DC01 only: DC02 fails as an unknown DC, which no retry fixes.
    let deps = deps(&["DC01", "DC02"]);

    let resp = invoke(&deps, sample("manual-dry-run-all-dcs")).await.unwrap();

    assert_eq!(resp.run_id, "reconcile:manual-audit:dry");
    assert_eq!(report(&resp, "DC01").auto_correct, 1);
    let answer = serde_json::to_value(&resp).unwrap();
    assert_eq!(answer["dcs"]["DC02"]["retryable"], json!(false), "{answer}");
    assert!(
        answer["dcs"]["DC02"]["error"].as_str().unwrap().contains("DC02"),
        "{answer}"
    );
}

#[tokio::test]
async fn when_every_dc_fails_for_a_retryable_reason_the_invocation_fails_as_retryable() {
    let deps = deps(&["DC01"]);
    deps.ports
        .wms
        .fail_next_balances(10, WmsError::Unavailable("WMS restarting".into()));

    let e = invoke(&deps, sample("manual")).await.unwrap_err();

    assert!(e.to_string().contains("reconcile:manual-after-cycle-count"), "{e}");
    let d: Diagnostic = e.into();
    assert_eq!(d.error_type, "Retryable.EveryDcFailed");
    assert_eq!(deps.ports.fusion.post_calls(), 0);
}

#[tokio::test]
async fn refused_events_reconcile_nothing_and_say_a_retry_cannot_help() {
    let deps = deps(&["DC01"]);
    for payload in [
        json!({"dcs": ["DC99"]}),
        json!({"dry_run": "yes"}),
        json!({"detail-type": "Object Created", "source": "aws.s3", "time": "2026-11-26T23:15:02Z"}),
    ] {
        let d: Diagnostic = invoke(&deps, payload.clone()).await.unwrap_err().into();
        assert_eq!(d.error_type, "NonRetryable.InvalidEvent", "{payload}");
    }
    assert!(deps.ports.run_reports.reports().is_empty());
}

#[test]
fn plans_follow_the_sample_events() {
    let dcs = vec![build::dc("DC01"), build::dc("DC02")];
    let p = plan(&dcs, &sample("scheduled"), "r").unwrap();
    assert_eq!(p.run_id, "reconcile:2026-11-26T23:15Z");
    assert_eq!(p.dcs.len(), 2);
    assert!(!p.dry_run);
    let p = plan(&dcs, &sample("manual-dry-run"), "r").unwrap();
    assert_eq!(p.dcs.iter().map(|d| d.as_str()).collect::<Vec<_>>(), vec!["DC01"]);
    assert!(p.dry_run);
    assert_eq!(p.run_id, "reconcile:manual-after-recount:dry");
}

/// The DC status table during an outage.
pub(crate) struct StatusesDown;

impl DcStatusBoard for StatusesDown {
    async fn get(&self, _: &DcCode) -> Result<Option<domain::golive::DcStatusRecord>, domain::ports::StoreError> {
        Err(domain::ports::StoreError::Unavailable("throttled".into()))
    }
    async fn all(&self) -> Result<Vec<domain::golive::DcStatusRecord>, domain::ports::StoreError> {
        Err(domain::ports::StoreError::Unavailable("throttled".into()))
    }
    async fn put(&self, _: &domain::golive::DcStatusRecord, _: u64) -> Result<(), domain::ports::StoreError> {
        Err(domain::ports::StoreError::Unavailable("throttled".into()))
    }
}

/// `deps` with the WMS counting 120 of ITM-P against Fusion's 10: a variance of 110, alert tier.
pub(crate) fn large_drift_deps() -> TestDeps {
    let d = deps(&["DC01"]);
    d.ports.wms.set_balance(WmsBalance {
        key: BalanceKey::new(d.ports.dc.clone(), build::item("ITM-P"), build::sub("STORES"), None),
        quantity: Decimal::from(120),
        uom: build::uom("EA"),
        expiration: None,
        serials: Vec::new(),
    });
    d
}

#[tokio::test]
async fn a_baselining_dc_with_a_large_drift_is_reported_but_gets_no_alert_hold_task_or_correction() {
    let deps = large_drift_deps();
    deps.statuses
        .set(&build::dc("DC01"), DcStatus::Baselining, build::epoch());
    let resp = invoke(&deps, sample("scheduled")).await.unwrap();
    let r = report(&resp, "DC01");
    assert_eq!((r.alert, r.dry_run), (1, true), "{r:?}");
    assert!(
        r.report_only.as_deref().is_some_and(|w| w.contains("baselining")),
        "{:?}",
        r.report_only
    );
    assert_eq!((r.alerts_published, r.holds_placed, r.tasks_opened), (0, 0, 0));
    assert_eq!(deps.ports.alerts.count(), 0);
    assert!(deps.ports.wms.hold_history(&build::dc("DC01")).is_empty());
    assert!(deps.ports.tasks.records().is_empty());
    assert_eq!(deps.ports.fusion.post_calls(), 0);
    let json = serde_json::to_value(&resp).unwrap();
    assert!(
        json["dcs"]["DC01"]["report_only"]
            .as_str()
            .is_some_and(|w| w.contains("not live")),
        "{json}"
    );

    // Once live, the same drift alerts and holds.
    deps.statuses.set(&build::dc("DC01"), DcStatus::Live, build::epoch());
    let resp = invoke(&deps, sample("scheduled")).await.unwrap();
    let r = report(&resp, "DC01");
    assert_eq!(
        (r.alerts_published, r.holds_placed, r.report_only.clone()),
        (1, 1, None)
    );
}

#[tokio::test]
async fn a_status_read_that_fails_fails_the_dc_as_retryable_and_nothing_is_acted_on() {
    let d = large_drift_deps();
    let deps = Deps {
        ports: d.ports,
        settings: d.settings,
        dcs: d.dcs,
        concurrency: d.concurrency,
        statuses: StatusesDown,
    };
    let mut context = Context::default();
    context.request_id = "req-1".into();
    let e = handle(&deps, LambdaEvent::new(sample("scheduled"), context))
        .await
        .unwrap_err();
    let d: Diagnostic = e.into();
    assert_eq!(d.error_type, "Retryable.EveryDcFailed");
    assert_eq!(deps.ports.alerts.count(), 0);
    assert!(deps.ports.wms.hold_history(&build::dc("DC01")).is_empty());
    assert_eq!(deps.ports.fusion.post_calls(), 0);
}
