//! What the binary does before it reaches AWS: a missing configuration is exit 1 naming the
//! variable (never a value), usage errors are exit 2 without reading the environment, and
//! `--help` lists every command group.

use std::process::{Command, Output};

fn invsync(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_invsync"));
    cmd.args(args).env("USER", "os-operator").env("AWS_REGION", "us-east-1");
    // Whatever the caller exported, the stores are not configured here.
    for name in [
        "LEDGER_TABLE",
        "LOT_MAP_TABLE",
        "REVIEW_TASK_TABLE",
        "LEASE_TABLE",
        "RUN_TABLE",
        "INCIDENT_TABLE",
        "AUDIT_TABLE",
        "ALERT_TOPIC_ARN",
        "INVSYNC_DC",
        "INVSYNC_ACTOR",
    ] {
        cmd.env_remove(name);
    }
    cmd.output().unwrap_or_else(|e| panic!("run invsync: {e}"))
}

#[test]
fn a_missing_table_name_is_a_configuration_error_naming_it() {
    let out = invsync(&["--dc", "DC01", "audit", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(doc["error"]["code"], "config", "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("_TABLE") || stderr.contains("ALERT_TOPIC_ARN"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2_before_any_configuration_is_read() {
    let out = invsync(&["audit", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dc"));
    let out = invsync(&["--dc", "DC01", "audit", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = invsync(&["--dc", "DC01", "holds", "release", "ITM-1", "--reason", "   "]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = invsync(&["--dc", "not a dc", "dashboard"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn help_lists_every_command_group() {
    let out = invsync(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for group in [
        "tasks",
        "holds",
        "incidents",
        "syncs",
        "runs",
        "discrepancies",
        "audit",
        "dashboard",
    ] {
        assert!(help.contains(group), "{group} missing from {help}");
    }
}
