//! `infra/template.yaml` against the project's rules, with what the code reads taken from the
//! source files, so a new environment variable or DynamoDB call without its template change
//! fails here instead of at the first cold start in AWS.

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use template_check::{check, references, Sources};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn template() -> Value {
    serde_yaml::from_str(&read("infra/template.yaml")).unwrap_or_else(|e| panic!("template: {e}"))
}

/// Files whose string literals name the environment variables the functions read.
const CONFIG_SOURCES: &[&str] = &[
    "shared/lambda-kit/src/config.rs",
    "shared/lambda-kit/src/reports.rs",
    "shared/lambda-kit/src/wiring.rs",
    "shared/adapters/src/fusion/config.rs",
    "shared/adapters/src/wms/config.rs",
    "functions/fanout-sync/src/main.rs",
    "functions/sync-inventory/src/main.rs",
    "functions/reconcile-stock/src/main.rs",
];

/// `"UPPER_CASE_NAMES"` in source text.
fn env_names(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.len() > 3
                && s.contains('_')
                && s.starts_with(|c: char| c.is_ascii_uppercase())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// What each function cannot do without. The wiring's tables, topic and clients for the two
/// functions that build `AppPorts`; secrets by ARN; thresholds and DCs from the stack's
/// parameters rather than code defaults.
fn required() -> BTreeMap<String, Vec<String>> {
    let wiring = [
        "LEDGER_TABLE",
        "LOT_MAP_TABLE",
        "REVIEW_TASK_TABLE",
        "LEASE_TABLE",
        "RUN_TABLE",
        "INCIDENT_TABLE",
        "ALERT_TOPIC_ARN",
        "FUSION_BASE_URL",
        "FUSION_AUTH",
        "FUSION_SECRET_ARN",
        "WMS_BASE_URL",
        "WMS_API_KEY_SECRET_ARN",
    ];
    let reconcile = [
        "DC_LIST",
        "RECONCILE_CONCURRENCY",
        "VARIANCE_AUTO_CORRECT_BELOW",
        "VARIANCE_ALERT_ABOVE",
    ];
    let own = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [
        ("fanout-sync".to_string(), own(&["DC_LIST", "SYNC_QUEUE_URL"])),
        ("sync-inventory".to_string(), own(&wiring)),
        (
            "reconcile-stock".to_string(),
            own(&wiring).into_iter().chain(own(&reconcile)).collect(),
        ),
    ]
    .into()
}

/// DynamoDB actions each table's adapter calls, read from the adapter's source.
fn table_actions() -> BTreeMap<String, (BTreeSet<String>, bool)> {
    const CALLS: &[(&str, &str)] = &[
        (".get_item()", "dynamodb:GetItem"),
        (".put_item()", "dynamodb:PutItem"),
        (".update_item()", "dynamodb:UpdateItem"),
        (".delete_item()", "dynamodb:DeleteItem"),
        (".query()", "dynamodb:Query"),
        (".scan()", "dynamodb:Scan"),
        (".batch_get_item()", "dynamodb:BatchGetItem"),
        (".batch_write_item()", "dynamodb:BatchWriteItem"),
        (".transact_get_items()", "dynamodb:GetItem"),
    ];
    [
        ("LedgerTable", "ledger.rs"),
        ("LotMapTable", "lot_map.rs"),
        ("LeaseTable", "lease.rs"),
        ("ReviewTaskTable", "review_tasks.rs"),
        ("RunTable", "run_reports.rs"),
        ("IncidentTable", "incidents.rs"),
    ]
    .into_iter()
    .map(|(table, file)| {
        let text = read(&format!("shared/adapters/src/aws/{file}"));
        let actions = CALLS
            .iter()
            .filter(|(call, _)| text.contains(call))
            .map(|(_, action)| action.to_string())
            .collect();
        (table.to_string(), (actions, text.contains(".index_name(")))
    })
    .collect()
}

fn sources() -> Sources {
    Sources {
        env_read: CONFIG_SOURCES.iter().flat_map(|f| env_names(&read(f))).collect(),
        env_required: required(),
        table_actions: table_actions(),
    }
}

#[test]
fn the_template_follows_every_project_rule() {
    let violations = check(&template(), &sources());
    assert!(
        violations.is_empty(),
        "infra/template.yaml:\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn the_scanned_sources_still_name_what_the_rules_rely_on() {
    let s = sources();
    for names in s.env_required.values() {
        for name in names {
            assert!(
                s.env_read.contains(name),
                "{name} is required but no scanned source reads it"
            );
        }
    }
    let (ledger, queries_index) = &s.table_actions["LedgerTable"];
    assert!(ledger.contains("dynamodb:Query") && *queries_index, "{ledger:?}");
}

#[test]
fn each_role_reaches_the_tables_queue_topic_and_secrets_of_its_function() {
    let t = template();
    let role_refs = |role: &str| references(&t["Resources"][role]["Properties"]["Policies"]);
    let stores = [
        "LedgerTable",
        "LotMapTable",
        "LeaseTable",
        "ReviewTaskTable",
        "RunTable",
        "AlertTopic",
        "FusionSecret",
        "WmsApiKeySecret",
    ];
    let sync = role_refs("SyncInventoryRole");
    let reconcile = role_refs("ReconcileStockRole");
    for id in stores {
        assert!(sync.contains(id), "SyncInventoryRole does not grant {id}");
        assert!(reconcile.contains(id), "ReconcileStockRole does not grant {id}");
    }
    assert!(sync.contains("SyncQueue") && !sync.contains("IncidentTable"));
    assert!(reconcile.contains("IncidentTable") && !reconcile.contains("SyncQueue"));
    let fanout = role_refs("FanoutSyncRole");
    assert!(fanout.contains("SyncQueue"));
    assert!(
        !fanout.iter().any(|r| r.ends_with("Table") || r.ends_with("Secret")),
        "{fanout:?}"
    );
}
