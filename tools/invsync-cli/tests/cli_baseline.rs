//! `invsync baseline plan|apply|status|verify|cutover` as the real binary against moto and both
//! simulators, for a DC whose Fusion differs from the WMS in about 20% of its balances: the
//! plan and the dry run change nothing in Fusion, the apply brings Fusion to the WMS, the
//! verification passes, the cut-over makes the DC live, and the steps refuse to run out of
//! order or for a role that may not change a DC's status.

// Why: test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Invsync;
use invsync_cli::exit;
use test_harness::{EnvOptions, TestEnv};

fn balance_lines_applied(env: &TestEnv, dc: &str) -> u64 {
    env.fusion
        .balance_applications()
        .iter()
        .filter(|(k, _)| k.0 == dc)
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_plans_dry_runs_applies_verifies_and_cuts_over_one_dc() {
    let env = TestEnv::spawn(EnvOptions {
        dcs: 1,
        items: 40,
        ..EnvOptions::default()
    })
    .await
    .unwrap();
    let changed = env.fusion.scramble_onhand("DC01", 7, 0.2);
    assert!(changed > 0);
    let cli = Invsync::for_env(&env).unwrap().with_var("BASELINE_CHUNK_SIZE", "10");
    let dc = ["--dc", "DC01"];
    let with = |args: &[&str]| -> Vec<String> { args.iter().chain(dc.iter()).map(|s| s.to_string()).collect() };

    // Nothing planned yet: status says so, apply and cut-over are refused.
    let status = cli.json(&with(&["baseline", "status"])).await;
    assert_eq!(status["record"]["status"], "not_started");
    assert!(status["plan"].is_null());
    cli.run(&with(&["baseline", "apply"]))
        .await
        .failed(i32::from(exit::NOT_FOUND));

    // Plan, with its CSV: a dry run that changes nothing in Fusion.
    let csv = std::env::temp_dir().join(format!("invsync-plan-{}.csv", env.suffix));
    let plan = cli
        .json(&with(&["baseline", "plan", "--csv", csv.to_str().unwrap()]))
        .await;
    let to_apply = plan["plan"]["summary"]["lines_to_apply"].as_u64().unwrap();
    assert!(to_apply > 0, "{plan}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(rows.lines().count() > 1, "header and lines: {rows}");
    assert_eq!(balance_lines_applied(&env, "DC01"), 0, "a plan changes nothing");
    let text = cli.text(&with(&["baseline", "status"])).await;
    assert!(text.contains("DC01: planned"), "{text}");

    // A supervisor may read the status but not apply.
    cli.run(&with(&["baseline", "apply", "--execute", "--as-role", "supervisor"]))
        .await
        .failed(i32::from(exit::FORBIDDEN));

    // The dry run (default) says what would be sent and sends nothing.
    let dry = cli.run(&with(&["baseline", "apply"])).await.ok().stdout;
    assert!(dry.contains("Dry run") && dry.contains("nothing was changed"), "{dry}");
    assert_eq!(balance_lines_applied(&env, "DC01"), 0, "a dry run changes nothing");

    // Cut-over before verification is refused.
    let early = cli.run(&with(&["baseline", "cutover"])).await;
    assert_ne!(early.code, 0, "{early:?}");

    // Apply: every chunk, the summary counts the plan's lines.
    let applied = cli.json(&with(&["baseline", "apply", "--execute"])).await;
    assert_eq!(
        applied["apply"]["chunks_applied"], applied["apply"]["chunks_total"],
        "{applied}"
    );
    assert_eq!(applied["apply"]["lines_refused"], 0, "{applied}");
    assert!(balance_lines_applied(&env, "DC01") > 0);
    let once = env.fusion.balance_applications();
    assert!(once.values().all(|n| *n == 1), "no line applied twice: {once:?}");

    // Applying again sends nothing new.
    let again = cli.json(&with(&["baseline", "apply", "--execute"])).await;
    assert_eq!(again["apply"]["chunks_this_run"], 0, "{again}");
    assert_eq!(env.fusion.balance_applications(), once);

    // Verify passes; cut over makes the DC live, and `dc status` agrees.
    let verified = cli.json(&with(&["baseline", "verify"])).await;
    assert_eq!(verified["passed"], true, "{verified}");
    assert_eq!(verified["outside"], 0, "{verified}");
    let cut = cli.json(&with(&["baseline", "cutover"])).await;
    assert_eq!(cut["status"]["status"], "live", "{cut}");
    let dcs = cli.json(&with(&["dc", "status"])).await;
    assert_eq!(dcs["dcs"][0]["status"], "live", "{dcs}");
}
