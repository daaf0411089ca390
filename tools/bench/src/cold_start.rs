//! `cold-start-bench`: each function binary's cold start, measured as Lambda sees it: from
//! `exec` to the first `GET /2018-06-01/runtime/invocation/next` on a tiny loopback listener
//! standing in for the Runtime API.
//!
//! Every binary gets the environment the template gives the functions (resource names, the
//! Fusion and WMS settings with the credentials as values, so no Secrets Manager read), with
//! `AWS_ENDPOINT_URL` pointing at a closed loopback port: a binary that made an AWS or HTTP
//! request before its first poll would show it as a slower start or an init error. Each is
//! started `--runs` times (10); printed per function: min, median and max in milliseconds. A
//! binary that reports an init error instead of polling fails the run with that error.
//!
//! `cargo build --release -p fanout-sync -p sync-inventory -p reconcile-stock -p console-api -p baseline
//! && cargo run --release -p invsync-bench --bin cold-start-bench`
//! Options: `--runs N`, `--dir PATH` (where the binaries are; `$CARGO_TARGET_DIR/release`
//! or `target/release` by default), then function names to measure instead of the five.

use std::io::{BufRead, BufReader, Read as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};

/// The functions of `infra/template.yaml` with a binary of their own.
const FUNCTIONS: &[&str] = &[
    "fanout-sync",
    "sync-inventory",
    "reconcile-stock",
    "console-api",
    "baseline",
];

/// A closed loopback port: any request made during init fails at once instead of waiting.
const NOWHERE: &str = "http://127.0.0.1:9";

/// The environment of every function (each reads what it needs).
fn environment(runtime_api: &str, function: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(&str, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("invsync-bench-{function}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/invsync-bench-{function}"),
        ),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "bench".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ("AWS_ENDPOINT_URL", NOWHERE.into()),
        ("RUST_LOG", "warn".into()),
        ("DC_LIST", "DC01,DC02".into()),
        ("SYNC_QUEUE_URL", format!("{NOWHERE}/000000000000/sync.fifo")),
        ("RECONCILE_QUEUE_URL", format!("{NOWHERE}/000000000000/reconcile.fifo")),
        ("BASELINE_QUEUE_URL", format!("{NOWHERE}/000000000000/baseline.fifo")),
        ("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:000000000000:alerts".into()),
        ("FUSION_BASE_URL", NOWHERE.into()),
        ("FUSION_AUTH", "basic".into()),
        ("FUSION_USER", "integration.user".into()),
        ("FUSION_PASSWORD", "bench".into()),
        ("WMS_BASE_URL", NOWHERE.into()),
        ("WMS_API_KEY", "bench".into()),
        ("CONSOLE_USER_POOL_ID", "us-east-1_bench".into()),
        ("CONSOLE_USER_POOL_CLIENT_ID", "bench".into()),
    ];
    for table in [
        "LEDGER_TABLE",
        "LOT_MAP_TABLE",
        "REVIEW_TASK_TABLE",
        "LEASE_TABLE",
        "RUN_TABLE",
        "INCIDENT_TABLE",
        "AUDIT_TABLE",
        "ITEM_CACHE_TABLE",
        "DC_STATUS_TABLE",
        "BASELINE_TABLE",
    ] {
        vars.push((table, format!("bench-{}", table.to_lowercase())));
    }
    vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// One cold start of `binary`: the time to its first request to the Runtime API, which must
/// be the poll for the next invocation.
fn one_start(binary: &PathBuf, function: &str) -> anyhow::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let first = listener.accept().map_err(anyhow::Error::from).and_then(|(stream, _)| {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let at = Instant::now();
            if line.starts_with("GET /2018-06-01/runtime/invocation/next") {
                return Ok(at);
            }
            // An init error: read what the function said, for the message.
            let mut rest = vec![0u8; 4096];
            let n = reader.read(&mut rest).unwrap_or(0);
            Err(anyhow!(
                "first request was `{}`: {}",
                line.trim(),
                String::from_utf8_lossy(&rest[..n])
            ))
        });
        let _ = tx.send(first);
    });
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(environment(&addr, function))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let answer = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    match answer {
        Ok(Ok(at)) => Ok(at.duration_since(started)),
        Ok(Err(e)) => Err(e),
        Err(_) => bail!("{function}: no request to the Runtime API within 10 s"),
    }
}

fn main() -> anyhow::Result<()> {
    let mut runs = 10usize;
    let mut dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("release");
    let mut functions: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => runs = it.next().ok_or_else(|| anyhow!("--runs needs a value"))?.parse()?,
            "--dir" => dir = it.next().ok_or_else(|| anyhow!("--dir needs a value"))?.into(),
            name => functions.push(name.to_string()),
        }
    }
    if functions.is_empty() {
        functions = FUNCTIONS.iter().map(|f| f.to_string()).collect();
    }
    println!(
        "cold start to the first runtime poll, {} runs each, binaries in {}",
        runs.max(1),
        dir.display()
    );
    for function in &functions {
        let binary = dir.join(function);
        if !binary.exists() {
            bail!(
                "{} not found: build it first (cargo build --release -p {function})",
                binary.display()
            );
        }
        let mut ms: Vec<f64> = (0..runs.max(1))
            .map(|_| one_start(&binary, function).map(|d| d.as_secs_f64() * 1000.0))
            .collect::<anyhow::Result<_>>()
            .with_context(|| function.clone())?;
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len() / 2];
        println!(
            "{function:<16} min {:>6.1} ms  median {median:>6.1} ms  max {:>6.1} ms",
            ms[0],
            ms[ms.len() - 1]
        );
    }
    Ok(())
}
