//! The baseline function under its own role, on the IAM-enforcing moto with both simulators:
//! a DC planned by the operator (the set-up's credentials) is applied by the real handler with
//! the clients a container running as BaselineRole builds; the first invocation runs out of
//! time and continues itself through the real FIFO BaselineQueue, the continuation read back
//! from the queue finishes the apply and verifies the DC. Fusion starts empty and ends equal to
//! the WMS, no balance line applied twice; every call is within the role.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters::aws::SqsBaselineQueue;
use baseline::handler::{handle, Deps};
use domain::golive::baseline::{take_plan, BaselineSettings};
use domain::golive::{ApplyRequest, DcStatus};
use domain::ports::DcStatusBoard;
use std::time::Duration;
use test_harness::{context, sqs_event, EnvOptions, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_continues_itself_through_its_queue_and_verifies_under_its_role() {
    let env = TestEnv::spawn_under_iam(EnvOptions {
        dcs: 1,
        items: 60,
        fusion_faults: test_harness::fusion_sim::Faults {
            latency_ms: 400,
            ..test_harness::fusion_sim::Faults::default()
        },
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let dc = env.dc(0);
    assert!(env.fusion.clear_onhand(dc.as_str()) > 0);
    let settings = BaselineSettings {
        chunk_size: 5,
        chunks_in_flight: 1,
        safety_margin: chrono::Duration::seconds(1),
        ..BaselineSettings::default()
    };
    // 1. The operator plans (the CLI, on the set-up's credentials).
    let by = domain::console::UserId::parse("ops.ann").unwrap();
    let taken = take_plan(&env.baseline_ports().unwrap(), &settings, &dc, &by)
        .await
        .unwrap();
    assert!(taken.plan.chunks >= 12, "{:?}", taken.plan.summary);

    // 2. The function, as a container running as BaselineRole.
    let session = env.function("baseline").await.unwrap();
    assert_eq!(session.role, "BaselineRole");
    let url = env.provisioned.queue_url("BaselineQueue").unwrap().to_string();
    let deps = Deps {
        ports: env.baseline_ports_as(&session).unwrap(),
        settings,
        queue: SqsBaselineQueue::new(aws_sdk_sqs::Client::new(&session.sdk), url.clone()),
        dcs: vec![dc.clone()],
    };
    let first = ApplyRequest {
        dc: dc.clone(),
        plan: taken.plan.id.clone(),
        from_chunk: 0,
        by,
    };
    // Four seconds of work before the margin at 400 ms a chunk: some chunks, not all.
    let event = sqs_event(&[("m-1", serde_json::to_string(&first).unwrap())]).unwrap();
    let resp = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, context("req-1", Duration::from_secs(5))),
    )
    .await
    .unwrap();
    env.assert_only_granted(&session);
    assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);

    // 3. The continuation is on the queue (read as the event source mapping would).
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1, "{got:?}");
    let body = got.messages()[0].body().unwrap_or_default().to_string();
    let next = ApplyRequest::parse(&body).unwrap();
    assert!(next.from_chunk >= 1 && next.from_chunk < taken.plan.chunks, "{next:?}");
    assert_eq!(
        env.dc_status().unwrap().get(&dc).await.unwrap().map(|r| r.status),
        Some(DcStatus::Baselining)
    );

    // 4. Delivered with time enough: finished and verified.
    let event = sqs_event(&[("m-2", body)]).unwrap();
    let resp = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, context("req-2", Duration::from_secs(600))),
    )
    .await
    .unwrap();
    env.assert_only_granted(&session);
    assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);
    assert_eq!(
        env.dc_status().unwrap().get(&dc).await.unwrap().map(|r| r.status),
        Some(DcStatus::Verified)
    );
    let applied = env.fusion.balance_applications();
    assert_eq!(applied.len() as u64, taken.plan.summary.lines_to_apply);
    assert!(applied.values().all(|&n| n == 1), "{applied:?}");
    for b in env.wms.balances(dc.as_str()) {
        let lot = b.lot.as_ref().map(|l| l.number.as_str());
        assert_eq!(
            env.fusion.onhand(dc.as_str(), &b.item, &b.subinventory, lot),
            b.quantity
        );
    }

    let exercised = session.exercised(&env.calls(), &env.logical_ids());
    for (resource, action) in [
        ("BaselineQueue", "sqs:SendMessage"),
        ("DcStatusTable", "dynamodb:GetItem"),
        ("DcStatusTable", "dynamodb:PutItem"),
        ("BaselineTable", "dynamodb:PutItem"),
        ("BaselineTable", "dynamodb:Query"),
    ] {
        assert!(
            exercised.contains(&(resource.to_string(), action.to_string())),
            "never called {action} on {resource}: {exercised:?}"
        );
    }
}
