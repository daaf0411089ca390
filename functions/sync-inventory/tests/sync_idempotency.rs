//! Redelivery and concurrency never double-post: the same SQS message delivered twice, and two
//! invocations of one DC at once, each leave every line posted to Fusion exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use domain::ledger::SyncState;
use domain::sync::{sync_dc, SyncSettings};
use std::time::Duration;
use support::*;
use test_harness::{EnvOptions, TestEnv};

async fn env_with_activity(count: usize) -> (TestEnv, Vec<test_harness::wms_sim::Transaction>) {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 400,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let txns = env.wms.generate_activity(Some(env.dc(0).as_str()), count).unwrap();
    assert_eq!(txns.len(), count);
    (env, txns)
}

async fn assert_all_synced(
    env: &TestEnv,
    deps: &sync_inventory::handler::Deps,
    txns: &[test_harness::wms_sim::Transaction],
) {
    let dc = env.dc(0);
    let counts = ledger_counts(deps, &dc).await;
    assert_eq!(counts["synced"], txns.len(), "{counts:?}");
    assert_eq!(env.wms.reservations_count(dc.as_str()), 0);
    assert_eq!(env.wms.outbox_len(dc.as_str()), 0);
    assert_eq!(
        staged_posts(env),
        expected_lines(txns, 50) as u64,
        "exactly one staged POST per line"
    );
    assert_each_line_landed_once(env, txns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_delivered_twice_posts_every_line_once() {
    let (env, txns) = env_with_activity(150).await;
    let dc = env.dc(0);
    let deps = deps(&env);
    let body = env.sync_message(&dc, "2026-11-26T23:00Z");

    let first = deliver(&deps, "m-dup", body.clone(), Duration::from_secs(600)).await;
    assert!(first.batch_item_failures.is_empty());
    let posts_after_first = staged_posts(&env);
    let second = deliver(&deps, "m-dup", body, Duration::from_secs(600)).await;
    assert!(second.batch_item_failures.is_empty());

    assert_eq!(staged_posts(&env), posts_after_first, "the redelivery posted nothing");
    assert_all_synced(&env, &deps, &txns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_invocations_for_one_dc_post_every_line_once() {
    let (env, txns) = env_with_activity(200).await;
    let dc = env.dc(0);
    let a = deps(&env);
    let b = deps(&env);
    let body = env.sync_message(&dc, "2026-11-26T23:00Z");

    let (ra, rb) = tokio::join!(
        deliver(&a, "m-a", body.clone(), Duration::from_secs(600)),
        deliver(&b, "m-b", body, Duration::from_secs(600)),
    );
    assert!(ra.batch_item_failures.is_empty() && rb.batch_item_failures.is_empty());

    assert_all_synced(&env, &a, &txns).await;
}

/// Without the DC lease's protection (always granted), two invocations race on every
/// transaction; the ledger's conditional claim alone must keep posts single.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_invocations_racing_past_the_dc_lease_still_post_every_line_once() {
    let (env, txns) = env_with_activity(200).await;
    let dc = env.dc(0);
    let a = TestPorts::new(&env, 0, true);
    let b = TestPorts::new(&env, 0, true);
    let settings = SyncSettings::default();
    let deadline = chrono::Utc::now() + chrono::Duration::minutes(10);

    let (ra, rb) = tokio::join!(
        sync_dc(&a, &settings, &dc, "run-a", deadline),
        sync_dc(&b, &settings, &dc, "run-b", deadline),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.lines_posted + rb.lines_posted,
        expected_lines(&txns, 50) as u64,
        "{ra:?} {rb:?}"
    );
    assert_eq!(ra.failed + rb.failed, 0, "{ra:?} {rb:?}");
    // A transaction the other invocation held is skipped, and synced by its holder.
    let synced_rows = a.inner.ledger.rows_by_state(&dc, SyncState::Synced).await.unwrap();
    assert_eq!(synced_rows.len(), txns.len());
    let check = deps(&env);
    assert_all_synced(&env, &check, &txns).await;
}
