//! sync-inventory under its own role, on the IAM-enforcing moto (`scripts/test.sh` starts it):
//! the SQS event source played with the role's credentials (receive, queue attributes, delete,
//! as Lambda's event source mapping does with the execution role), and the real handler with
//! the ports a container running as SyncInventoryRole builds (the item cache included). A call the role does not allow
//! fails here with the action's name.

// Why: the helpers below are test code too; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters::fusion::item_cache::SharedItemCache as _;
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::Duration;
use sync_inventory::handler::{handle, Deps};
use test_harness::sim_seed::{self, Control};
use test_harness::wms_sim::{NewLotLine, NewTransaction, TxStatus};
use test_harness::{context, sqs_event, EnvOptions, TestEnv};

const ITEMS: usize = 300;

/// One DC's sync with a new lot (lot map), a permanent refusal (review task, alert) and the
/// rest synced (ledger, lease, run report), delivered from the queue as the event source does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dc_sync_from_the_queue_runs_under_its_role() {
    let env = TestEnv::spawn_under_iam(EnvOptions {
        dcs: 1,
        items: ITEMS,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let session = env.function("sync-inventory").await.unwrap();
    assert_eq!(session.role, "SyncInventoryRole");
    let dc = env.dc(0);
    let d = dc.as_str();
    let generated = env.wms.generate_activity(Some(d), 30).unwrap();
    let refused = generated
        .iter()
        .find(|t| t.lots.is_empty() && t.serials.is_empty())
        .unwrap()
        .clone();
    // The item cache still holds the refused item from an earlier run: Fusion's refusal of the
    // post removes it (DeleteItem under the role).
    let seeded = (0..ITEMS)
        .map(|i| sim_seed::item(env.seed.seed, i))
        .find(|it| it.number == refused.item)
        .unwrap();
    env.item_cache(chrono::TimeDelta::hours(24))
        .unwrap()
        .put_many(
            &dc,
            &[domain::txn::ItemInfo {
                item: domain::ItemNumber::parse(seeded.number.clone()).unwrap(),
                lot_controlled: seeded.control == Control::Lot,
                serial_controlled: seeded.control == Control::Serial,
                primary_uom: domain::Uom::parse(seeded.uom.clone()).unwrap(),
                uom_scale: seeded.scale,
            }],
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    env.fusion.unassign_item(d, &refused.item);
    let lot_item = (0..ITEMS)
        .map(|i| sim_seed::item(env.seed.seed, i))
        .find(|it| it.control == Control::Lot && generated.iter().all(|t| t.item != it.number))
        .unwrap();
    let lot_receipt = env
        .wms
        .capture(
            d,
            NewTransaction {
                kind: "misc_receipt".into(),
                item: lot_item.number.clone(),
                subinventory: "STORES".into(),
                quantity: "4".into(),
                uom: lot_item.uom.clone(),
                lots: vec![NewLotLine {
                    lot: "LIAM-1".into(),
                    quantity: "4".into(),
                    expiration: Some(env.seed.today + chrono::Duration::days(365)),
                }],
                ..NewTransaction::default()
            },
        )
        .unwrap();

    // The fan-out's message, sent by the set-up.
    let admin_sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let queue_url = env.provisioned.queue_url("SyncQueue").unwrap().to_string();
    admin_sqs
        .send_message()
        .queue_url(&queue_url)
        .message_body(env.sync_message(&dc, "2026-11-26T23:00Z"))
        .message_group_id(d)
        .message_deduplication_id(format!("{d}:2026-11-26T23:00Z"))
        .send()
        .await
        .unwrap();

    // The event source mapping, with the function's role.
    let sqs = aws_sdk_sqs::Client::new(&session.sdk);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await;
    let attributes = env.granted(&session, attributes);
    assert!(attributes.attributes().is_some());
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(1)
        .send()
        .await;
    let received = env.granted(&session, received);
    let message = received.messages().first().cloned().unwrap();
    let id = message.message_id().unwrap().to_string();
    let event = sqs_event(&[(id.as_str(), message.body().unwrap().to_string())]).unwrap();
    let deps = Deps {
        ports: env.ports_as(&session).unwrap(),
        settings: domain::sync::SyncSettings::default(),
    };
    let resp = handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, context("req-iam", Duration::from_secs(600))),
    )
    .await;
    let resp = env.granted(&session, resp);
    assert!(resp.batch_item_failures.is_empty(), "{:?}", resp.batch_item_failures);
    let deleted = sqs
        .delete_message()
        .queue_url(&queue_url)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await;
    env.granted(&session, deleted);

    assert_eq!(
        env.wms.transaction(d, &refused.id).unwrap().status,
        TxStatus::SyncFailed
    );
    assert_eq!(
        env.wms.transaction(d, &lot_receipt.id).unwrap().status,
        TxStatus::Synced
    );
    for t in generated.iter().filter(|t| t.item != refused.item) {
        assert_eq!(
            env.wms.transaction(d, &t.id).unwrap().status,
            TxStatus::Synced,
            "{}",
            t.id
        );
    }

    env.assert_only_granted(&session);
    let exercised = session.exercised(&env.calls(), &env.logical_ids());
    for (resource, action) in [
        ("SyncQueue", "sqs:GetQueueAttributes"),
        ("SyncQueue", "sqs:ReceiveMessage"),
        ("SyncQueue", "sqs:DeleteMessage"),
        ("LedgerTable", "dynamodb:PutItem"),
        ("LedgerTable", "dynamodb:UpdateItem"),
        ("LotMapTable", "dynamodb:GetItem"),
        ("LotMapTable", "dynamodb:PutItem"),
        ("ItemCacheTable", "dynamodb:BatchGetItem"),
        ("ItemCacheTable", "dynamodb:BatchWriteItem"),
        ("ItemCacheTable", "dynamodb:DeleteItem"),
        ("LeaseTable", "dynamodb:PutItem"),
        ("LeaseTable", "dynamodb:DeleteItem"),
        ("ReviewTaskTable", "dynamodb:PutItem"),
        ("RunTable", "dynamodb:PutItem"),
        ("AlertTopic", "sns:Publish"),
    ] {
        assert!(
            exercised.contains(&(resource.to_string(), action.to_string())),
            "the scenario never called {action} on {resource}: {exercised:?}"
        );
    }
}
