//! `infra/template.yaml` against the project's rules, with what the code reads taken from the
//! source files and what it calls taken from the adapters' permission declarations
//! (`app::permissions`), so a new environment variable or AWS call without its template
//! change fails here instead of at the first cold start in AWS.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use template_check::{check, hardening, references, roles, Sources};

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
    "shared/app/src/names.rs",
    "shared/adapters/src/fusion/config.rs",
    "shared/adapters/src/wms/config.rs",
    "functions/fanout-sync/src/main.rs",
    "functions/sync-inventory/src/main.rs",
    "functions/reconcile-stock/src/main.rs",
    "functions/console-api/src/main.rs",
    "functions/baseline/src/main.rs",
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
        "DC_STATUS_TABLE",
        "DC_LIST",
        "RECONCILE_CONCURRENCY",
        "VARIANCE_AUTO_CORRECT_BELOW",
        "VARIANCE_ALERT_ABOVE",
    ];
    let own = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [
        (
            "fanout-sync".to_string(),
            own(&["DC_LIST", "SYNC_QUEUE_URL", "DC_STATUS_TABLE"]),
        ),
        ("sync-inventory".to_string(), own(&wiring)),
        (
            "reconcile-stock".to_string(),
            own(&wiring).into_iter().chain(own(&reconcile)).collect(),
        ),
        (
            "baseline".to_string(),
            own(&wiring)
                .into_iter()
                .chain(own(&[
                    "DC_LIST",
                    "DC_STATUS_TABLE",
                    "BASELINE_TABLE",
                    "BASELINE_QUEUE_URL",
                ]))
                .collect(),
        ),
        (
            "console-api".to_string(),
            own(&wiring)
                .into_iter()
                .chain(own(&[
                    "AUDIT_TABLE",
                    "CONSOLE_USER_POOL_ID",
                    "CONSOLE_USER_POOL_CLIENT_ID",
                ]))
                .collect(),
        ),
    ]
    .into()
}

/// What each function's code declares it calls, from `app::permissions`: `(resource,
/// action)`, with `<table>/index` for actions on a table's secondary indexes.
fn function_uses() -> BTreeMap<String, BTreeSet<(String, String)>> {
    app::permissions::FUNCTIONS
        .iter()
        .map(|(function, uses)| {
            let pairs = uses
                .iter()
                .flat_map(|u| {
                    let on_resource = u
                        .permissions
                        .resource
                        .iter()
                        .map(|a| (u.resource.to_string(), a.to_string()));
                    let on_indexes = u
                        .permissions
                        .indexes
                        .iter()
                        .map(|a| (format!("{}/index", u.resource), a.to_string()));
                    on_resource.chain(on_indexes).collect::<Vec<_>>()
                })
                .collect();
            (function.to_string(), pairs)
        })
        .collect()
}

/// DynamoDB actions each table's adapter declares on the table, and whether it declares index
/// actions, by the table's logical id. Why the intersection: one table's adapter may declare
/// more for one function than another (the console's task reads), and this rule asks only what
/// every role touching the table needs; each role's exact set is `roles::exact_grants`'s.
fn table_actions() -> BTreeMap<String, (BTreeSet<String>, bool)> {
    let mut out: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
    for (_, uses) in app::permissions::FUNCTIONS {
        let mut per_table: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
        for u in uses.iter().filter(|u| {
            u.permissions
                .resource
                .iter()
                .chain(u.permissions.indexes)
                .any(|a| a.starts_with("dynamodb:"))
        }) {
            let entry = per_table.entry(u.resource.to_string()).or_default();
            entry.0.extend(u.permissions.resource.iter().map(|a| a.to_string()));
            entry.1 |= !u.permissions.indexes.is_empty();
        }
        for (table, (actions, index)) in per_table {
            match out.get_mut(&table) {
                Some(known) => {
                    known.0 = known.0.intersection(&actions).cloned().collect();
                    known.1 &= index;
                }
                None => {
                    out.insert(table, (actions, index));
                }
            }
        }
    }
    out.retain(|_, (actions, index)| !actions.is_empty() || *index);
    out
}

/// The prod configuration's parameter values: `parameter_overrides` of samconfig.toml's
/// `[prod.deploy.parameters]`.
fn prod_parameters() -> BTreeMap<String, String> {
    let config = read("samconfig.toml");
    let section = config
        .split("[prod.deploy.parameters]")
        .nth(1)
        .unwrap_or_else(|| panic!("samconfig.toml has no [prod.deploy.parameters]"));
    let line = section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.trim().strip_prefix("parameter_overrides"))
        .unwrap_or_else(|| panic!("no parameter_overrides in [prod.deploy.parameters]"));
    line.trim_start_matches([' ', '='])
        .trim()
        .trim_matches('"')
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sources() -> Sources {
    Sources {
        env_read: CONFIG_SOURCES.iter().flat_map(|f| env_names(&read(f))).collect(),
        env_required: required(),
        table_actions: table_actions(),
        function_uses: function_uses(),
        prod_parameters: Some(prod_parameters()),
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
    // The ledger's queries go to its state-index, declared as index actions (they used to be
    // scraped from the adapter's source; the declaration replaced the scraping).
    let (ledger, queries_index) = &s.table_actions["LedgerTable"];
    let query = ("LedgerTable/index".to_string(), "dynamodb:Query".to_string());
    assert!(
        s.function_uses["sync-inventory"].contains(&query) && *queries_index,
        "{ledger:?}"
    );
    assert_eq!(
        s.prod_parameters.as_ref().map(|p| p["EnvironmentName"].as_str()),
        Some("prod")
    );
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
    assert!(reconcile.contains("DcStatusTable") && !sync.contains("DcStatusTable"));
    let fanout = role_refs("FanoutSyncRole");
    assert!(fanout.contains("SyncQueue"));
    // The fan-out reads the DC statuses (only live DCs are synced) and no other table or secret.
    let tables_and_secrets: Vec<&String> = fanout
        .iter()
        .filter(|r| r.ends_with("Table") || r.ends_with("Secret"))
        .collect();
    assert_eq!(tables_and_secrets, ["DcStatusTable"], "{fanout:?}");
}

/// Removes action `index` of statement `sid` in role `role`; the statement goes with its last
/// action.
fn without_action(template: &Value, role: &str, sid: &str, index: usize) -> Value {
    let mut t = template.clone();
    let policies = t["Resources"][role]["Properties"]["Policies"]
        .as_sequence_mut()
        .unwrap();
    for policy in policies {
        let statements = policy["PolicyDocument"]["Statement"].as_sequence_mut().unwrap();
        let Some(at) = statements.iter().position(|s| s["Sid"].as_str() == Some(sid)) else {
            continue;
        };
        match statements[at]["Action"].as_sequence_mut() {
            Some(actions) if actions.len() > 1 => {
                actions.remove(index);
            }
            _ => {
                statements.remove(at);
            }
        }
    }
    t
}

#[test]
fn removing_any_one_action_from_any_role_fails_the_check() {
    let t = template();
    let s = sources();
    let mut tried = 0;
    for role in ["FanoutSyncRole", "SyncInventoryRole", "ReconcileStockRole"] {
        let policies = t["Resources"][role]["Properties"]["Policies"].as_sequence().unwrap();
        for statement in policies
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence().unwrap())
        {
            let sid = statement["Sid"].as_str().unwrap();
            let actions: Vec<String> = match &statement["Action"] {
                Value::Sequence(a) => a.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
                a => vec![a.as_str().unwrap().to_string()],
            };
            for (i, action) in actions.iter().enumerate() {
                let found = check(&without_action(&t, role, sid, i), &s);
                assert!(
                    found
                        .iter()
                        .any(|v| v.starts_with(role) && v.contains(&format!("no {action} on"))),
                    "removing {action} from {role} {sid} went unnoticed: {found:?}"
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 40, "only {tried} actions tried");
}

#[test]
fn reconcile_stock_may_query_the_incident_table_it_reads_every_run() {
    let (role, statements) = roles::role_statements(&template(), "reconcile-stock").unwrap();
    assert_eq!(role, "ReconcileStockRole");
    assert!(
        statements
            .iter()
            .any(|s| s.resources.contains("IncidentTable") && s.actions.iter().any(|a| a == "dynamodb:Query")),
        "{statements:?}"
    );
    assert!(adapters::aws::incidents::PERMISSIONS
        .resource
        .contains(&"dynamodb:Query"));
}

#[test]
fn tables_and_secrets_outlive_the_stack() {
    let t = template();
    assert_eq!(hardening::retained(&t), Vec::<String>::new());
    for id in ["LedgerTable", "LotMapTable", "FusionSecret", "WmsApiKeySecret"] {
        assert_eq!(t["Resources"][id]["DeletionPolicy"].as_str(), Some("Retain"), "{id}");
    }
}

#[test]
fn every_table_has_point_in_time_recovery() {
    assert_eq!(hardening::point_in_time_recovery(&template()), Vec::<String>::new());
}

#[test]
fn tables_have_deletion_protection_in_prod_and_only_there() {
    let t = template();
    assert_eq!(
        hardening::deletion_protection(&t, &prod_parameters()),
        Vec::<String>::new()
    );
    let dev = [("EnvironmentName".to_string(), "dev".to_string())].into();
    assert_eq!(
        hardening::deletion_protection(&t, &dev).len(),
        // Every table: ledger, lot map, item cache, review tasks, leases, runs, incidents, audit,
        // DC statuses, baselines.
        10,
        "dev stacks stay deletable"
    );
}

#[test]
fn the_alert_topic_is_encrypted_with_a_key_alarms_and_functions_can_use() {
    let t = template();
    assert_eq!(hardening::encrypted_topics(&t), Vec::<String>::new());
    // The functions' side: their roles grant the key actions (the exact-grants rule derives them
    // from the topic's key).
    for function in ["sync-inventory", "reconcile-stock"] {
        let (_, statements) = roles::role_statements(&t, function).unwrap();
        assert!(
            statements.iter().any(|s| s.resources.contains("AlertTopicKey")
                && s.actions.iter().any(|a| a == "kms:GenerateDataKey*")
                && s.actions.iter().any(|a| a == "kms:Decrypt")),
            "{function}: {statements:?}"
        );
    }
}

#[test]
fn reconcile_stock_runs_one_at_a_time() {
    assert_eq!(hardening::single_instance(&template()), Vec::<String>::new());
    assert_eq!(hardening::SINGLE_INSTANCE, ["reconcile-stock"]);
}

#[test]
fn scheduled_functions_keep_their_failures_in_an_alarmed_queue() {
    let t = template();
    assert_eq!(hardening::failure_destinations(&t), Vec::<String>::new());
    let queues = hardening::failure_queues(&t);
    assert!(
        queues.contains("ScheduledFailureQueue") && queues.contains("SyncDeadLetterQueue"),
        "{queues:?}"
    );
}

#[test]
fn every_function_is_traced_and_its_role_may_send_traces() {
    let t = template();
    assert_eq!(hardening::tracing(&t), Vec::<String>::new());
    for function in ["fanout-sync", "sync-inventory", "reconcile-stock"] {
        let (_, statements) = roles::role_statements(&t, function).unwrap();
        assert!(
            statements
                .iter()
                .any(|s| s.actions.iter().any(|a| a == "xray:PutTraceSegments")),
            "{function}"
        );
    }
}

#[test]
fn every_queue_is_encrypted_at_rest() {
    assert_eq!(hardening::encrypted_queues(&template()), Vec::<String>::new());
}

#[test]
fn every_checkov_skip_gives_its_reason_once() {
    let skips = read("infra/checkov-skips.txt");
    let mut seen = BTreeSet::new();
    for line in skips
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (id, reason) = line.split_once(' ').unwrap_or((line, ""));
        assert!(id.starts_with("CKV"), "not a check id: {line}");
        assert!(reason.trim().len() > 40, "{id}: no reason given");
        assert!(seen.insert(id.to_string()), "{id} is listed twice");
    }
    assert!(!seen.is_empty());
}

/// The console's audit trail is append-only in IAM too: any statement of any role that names
/// `AuditTable` grants only PutItem, GetItem and Query (never UpdateItem, DeleteItem or batch
/// writes), and the table keeps no TTL.
#[test]
fn no_role_may_change_or_delete_audit_entries() {
    let t = template();
    let audit = &t["Resources"]["AuditTable"];
    assert_eq!(audit["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    assert!(
        audit["Properties"]["TimeToLiveSpecification"].is_null(),
        "audit entries never expire"
    );
    let allowed = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"];
    let mut checked = 0;
    let Some(resources) = t["Resources"].as_mapping() else {
        panic!("no Resources")
    };
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::IAM::Role") {
            continue;
        }
        let policies = resource["Properties"]["Policies"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        for policy in policies {
            let statements = policy["PolicyDocument"]["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            for statement in statements {
                if !format!("{:?}", statement["Resource"]).contains("AuditTable") {
                    continue;
                }
                let actions: Vec<String> = match &statement["Action"] {
                    Value::String(a) => vec![a.clone()],
                    Value::Sequence(list) => list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
                    _ => Vec::new(),
                };
                for action in actions {
                    assert!(
                        allowed.contains(&action.as_str()),
                        "{id:?} grants {action} on AuditTable; the audit trail is append-only"
                    );
                    checked += 1;
                }
            }
        }
    }
    // No role grants the table yet (the console function's role comes with it); the rule
    // holds for whichever role does.
    let _ = checked;
}
