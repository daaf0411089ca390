//! `local-driver`: runs invsync end to end on a laptop or in CI, playing the AWS parts no
//! emulator runs here. `scripts/run-local.sh` starts the AWS emulator and both simulators, then
//! runs this, which:
//!
//! 1. creates the tables, queues and topic of `infra/template.yaml` (uniquely named per run);
//! 2. generates WMS activity (`POST /admin/activity`) so every DC has a pending-sync outbox;
//! 3. plays EventBridge: the hourly scheduled event to fanout-sync;
//! 4. plays the SQS event source mapping: receives the FIFO queue's messages, invokes
//!    sync-inventory with one record per event (BatchSize 1), deletes what succeeded and
//!    returns reported failures to the queue;
//! 5. injects drift of each size band (`POST /admin/drift/bands`);
//! 6. plays the 15-minute schedule: a scheduled event to reconcile-stock;
//! 7. prints a report per DC and exits non-zero unless every transaction synced and every
//!    injected drift was found in its tier.
//!
//! Functions run in this process by default ([`functions::Functions::in_process`]) or, with
//! `--watch`, as the real binaries behind `cargo lambda watch`. With `--roles` each in-process
//! function runs under a role made from its template policy ([`roles`]), and the SQS event source
//! uses sync-inventory's, as in AWS; the run fails naming any action beyond a role.

mod functions;
mod roles;

use adapters::aws::{provision, ProvisionOptions};
use anyhow::{anyhow, bail, Context as _};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use clap::Parser;
use domain::DcCode;
use functions::{FunctionSdks, Functions};
use lambda_kit::wiring::Resources;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags (scripts/run-local.sh passes its own through).
#[derive(Debug, Parser)]
#[command(
    name = "local-driver",
    about = "Runs invsync locally against the simulators and an AWS emulator"
)]
struct Args {
    /// Fusion simulator base URL.
    #[arg(long)]
    fusion_url: String,
    /// WMS simulator base URL.
    #[arg(long)]
    wms_url: String,
    /// WMS simulator API key.
    #[arg(long, default_value = "wms-sim-key")]
    wms_api_key: String,
    /// DCs (the simulators must have at least this many).
    #[arg(long, default_value_t = 2)]
    dcs: usize,
    /// WMS transactions generated per DC before the sync.
    #[arg(long, default_value_t = 50)]
    activity: usize,
    /// Seed of the drift choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keys per DC drifted by 1..=4 (auto-correct tier).
    #[arg(long, default_value_t = 3)]
    small: usize,
    /// Keys per DC drifted by 5..=50 (review tier).
    #[arg(long, default_value_t = 2)]
    medium: usize,
    /// Keys per DC drifted by 51..=200 (alert tier).
    #[arg(long, default_value_t = 1)]
    large: usize,
    /// Invoke the real binaries through `cargo lambda watch` on this port instead of in process.
    #[arg(long)]
    watch_port: Option<u16>,
    /// With `--watch-port`: file that receives the functions' stdout (their EMF metric lines).
    #[arg(long)]
    function_log: Option<PathBuf>,
    /// Repository root (infra/template.yaml and the workspace).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Run each in-process function under a role made from its policy in infra/template.yaml
    /// (on an IAM-enforcing emulator, with the administrator's key in the environment).
    #[arg(long)]
    roles: bool,
}

/// What one DC's run produced.
#[derive(Debug, Default)]
struct DcFigures {
    generated: usize,
    synced: i64,
    failed: i64,
    sync_runs: usize,
    outbox_pending: u64,
    outbox_failed: u64,
    drift: [usize; 3],
    reconcile: Value,
    holds: u64,
    alerts: usize,
}

fn progress(started: Instant, what: &str) {
    println!("[{:>6.1}s] {what}", started.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let recorder = test_harness::calls::RecordCalls::over_default();
    let sdk = adapters::aws::config::load()
        .await
        .into_builder()
        .http_client(recorder.clone())
        .build();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let provisioned = provision(
        &sdk,
        &args.root.join(adapters::aws::provision::TEMPLATE_PATH),
        &ProvisionOptions {
            parameters: [("EnvironmentName".to_string(), "local".to_string())].into(),
            suffix: format!("-{run}"),
            ..ProvisionOptions::default()
        },
    )
    .await
    .context("create the template's tables, queues and topic on the emulator")?;
    let resources = Resources::from_provisioned(&provisioned)?;
    progress(
        started,
        &format!(
            "created {} resources from infra/template.yaml (suffix -{run})",
            provisioned.resources.len()
        ),
    );

    let dcs: Vec<DcCode> = (0..args.dcs)
        .map(|i| DcCode::parse(format!("DC{:02}", i + 1)))
        .collect::<Result<_, _>>()?;
    let dc_list = dcs.iter().map(DcCode::as_str).collect::<Vec<_>>().join(",");
    let env = functions::function_env(
        &provisioned,
        &resources,
        &dc_list,
        &args.fusion_url,
        &args.wms_url,
        &args.wms_api_key,
    )?;
    let inbox = AlertInbox::subscribe(&sdk, &resources.alert_topic_arn, &run).await?;
    let roles = match (args.roles, args.watch_port) {
        (true, None) => Some(roles::Roles::start(&sdk, recorder, &args.root, &provisioned, &format!("-{run}")).await?),
        (true, Some(_)) => {
            progress(
                started,
                "--roles: the binaries under cargo lambda watch share one environment, so they run with the caller's key",
            );
            None
        }
        (false, _) => None,
    };
    let sdks = match &roles {
        Some(r) => FunctionSdks {
            fanout: r.fanout.sdk.clone(),
            sync: r.sync.sdk.clone(),
            reconcile: r.reconcile.sdk.clone(),
        },
        None => FunctionSdks::all(&sdk),
    };
    let functions = match args.watch_port {
        None => {
            progress(
                started,
                if roles.is_some() {
                    "functions: handlers called in this process, each under its template role (IAM enforced)"
                } else {
                    "functions: handlers called in this process"
                },
            );
            Functions::in_process(&sdks, &resources, &env)?
        }
        Some(port) => {
            progress(started, &format!("starting cargo lambda watch on 127.0.0.1:{port}"));
            Functions::watch(&args.root, port, &env, args.function_log.as_deref()).await?
        }
    };
    let outcome = drive(
        &args, &sdk, &sdks.sync, &resources, &env, &functions, &dcs, &inbox, started,
    )
    .await;
    functions.stop().await;
    if let Some(roles) = &roles {
        roles.check().context("a function needed more than its template role")?;
        progress(
            started,
            "roles: fanout-sync, sync-inventory and reconcile-stock called nothing beyond their template roles",
        );
    }
    let figures = outcome?;
    print_report(&figures, started);
    check(&args, &figures)
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    args: &Args,
    sdk: &aws_config::SdkConfig,
    event_source: &aws_config::SdkConfig,
    resources: &Resources,
    env: &BTreeMap<String, String>,
    functions: &Functions,
    dcs: &[DcCode],
    inbox: &AlertInbox,
    started: Instant,
) -> anyhow::Result<BTreeMap<String, DcFigures>> {
    let wms = Wms::new(&args.wms_url)?;
    let mut figures: BTreeMap<String, DcFigures> = BTreeMap::new();
    for dc in dcs {
        let generated = wms
            .post("/admin/activity", json!({"dc": dc, "count": args.activity}))
            .await?;
        figures.entry(dc.to_string()).or_default().generated = generated["count"].as_u64().unwrap_or(0) as usize;
    }
    progress(started, &format!("generated {} WMS transactions per DC", args.activity));

    let now = chrono::Utc::now();
    let answer = functions.fanout(scheduled("hourly-sync", now), "fanout-local").await?;
    progress(started, &format!("fanout-sync (scheduled event): {answer}"));

    let queue_url = env.get("SYNC_QUEUE_URL").cloned().unwrap_or_default();
    let delivered = deliver(sdk, event_source, &queue_url, functions, started).await?;
    progress(
        started,
        &format!("delivered {delivered} SQS message(s) to sync-inventory"),
    );

    for dc in dcs {
        let applied = wms
            .post(
                "/admin/drift/bands",
                json!({"dc": dc, "small": args.small, "medium": args.medium, "large": args.large, "seed": args.seed}),
            )
            .await?;
        let f = figures.entry(dc.to_string()).or_default();
        for d in applied["applied"].as_array().into_iter().flatten() {
            match d["band"].as_str() {
                Some("small") => f.drift[0] += 1,
                Some("medium") => f.drift[1] += 1,
                Some("large") => f.drift[2] += 1,
                _ => {}
            }
        }
    }
    progress(
        started,
        &format!(
            "injected drift per DC: {} small, {} medium, {} large",
            args.small, args.medium, args.large
        ),
    );

    let answer = functions
        .reconcile(scheduled("reconcile", chrono::Utc::now()), "reconcile-local")
        .await?;
    progress(
        started,
        &format!("reconcile-stock (scheduled event): run {}", answer["run_id"]),
    );

    let ports = functions::ports(sdk, resources, env)?;
    let state = wms.get("/admin/state").await?;
    let alerts = inbox.drain().await?;
    for dc in dcs {
        let f = figures.entry(dc.to_string()).or_default();
        f.reconcile = answer["dcs"][dc.as_str()].clone();
        for report in sync_reports(sdk, &resources.run_table, &ports, dc).await? {
            f.synced += report.figures.get("synced").copied().unwrap_or(0);
            f.failed += report.figures.get("failed").copied().unwrap_or(0);
            f.sync_runs += 1;
        }
        if let Some(s) = state["dcs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["dc"] == dc.as_str())
        {
            f.outbox_pending = s["outbox_pending"].as_u64().unwrap_or(0);
            f.outbox_failed = s["outbox_failed"].as_u64().unwrap_or(0);
            f.holds = s["holds"].as_u64().unwrap_or(0);
        }
        f.alerts = alerts.iter().filter(|a| a == &dc.as_str()).count();
    }
    Ok(figures)
}

/// An EventBridge scheduled event as the rule `rule` delivers it at `time`.
fn scheduled(rule: &str, time: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        "resources": [format!("arn:aws:events:us-east-1:000000000000:rule/invsync-local-{rule}")],
        "detail": {}
    })
}

/// Plays the SQS event source mapping of sync-inventory (BatchSize 1,
/// ReportBatchItemFailures): each received message becomes one invocation; a message the
/// function did not report as failed is deleted; a reported one is made visible again at once
/// (in AWS it waits for the visibility timeout) and retried, until the queue's
/// maxReceiveCount (3) moves it to the dead-letter queue. Returns the messages delivered.
/// Receiving, reading the queue's ARN and deleting use `event_source` (the event source mapping
/// does that with the function's role); making a message visible again is this driver's
/// shortcut and uses `sdk`.
async fn deliver(
    sdk: &aws_config::SdkConfig,
    event_source: &aws_config::SdkConfig,
    queue_url: &str,
    functions: &Functions,
    started: Instant,
) -> anyhow::Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(event_source);
    let admin_sqs = aws_sdk_sqs::Client::new(sdk);
    let arn = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let mut delivered = 0;
    let mut empty = 0;
    let mut attempts: HashMap<String, u32> = HashMap::new();
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .context("receive from the sync queue")?;
        if got.messages().is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in got.messages() {
            let id = m.message_id().unwrap_or_default().to_string();
            let mut record = SqsMessage::default();
            record.message_id = Some(id.clone());
            record.receipt_handle = m.receipt_handle().map(str::to_string);
            record.body = m.body().map(str::to_string);
            record.attributes = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(arn.clone());
            record.aws_region = Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()));
            let mut event = SqsEvent::default();
            event.records = vec![record];
            let response = functions
                .sync(event, &format!("sync-{}", &id[..id.len().min(8)]))
                .await?;
            let failed = response.batch_item_failures.iter().any(|f| f.item_identifier == id);
            let handle = m.receipt_handle().unwrap_or_default();
            let dc = m
                .body()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .map(|b| b["dc"].clone());
            if failed {
                let n = attempts.entry(id.clone()).or_default();
                *n += 1;
                progress(
                    started,
                    &format!("sync-inventory reported {dc:?} for retry (attempt {n})"),
                );
                admin_sqs
                    .change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await?;
            } else {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
                progress(started, &format!("sync-inventory done for {}", dc.unwrap_or_default()));
            }
            delivered += 1;
        }
    }
    Ok(delivered)
}

/// Every sync run report of `dc` in the run table.
async fn sync_reports(
    sdk: &aws_config::SdkConfig,
    table: &str,
    ports: &lambda_kit::wiring::AppPorts,
    dc: &DcCode,
) -> anyhow::Result<Vec<domain::ports::RunReport>> {
    let out = aws_sdk_dynamodb::Client::new(sdk)
        .query()
        .table_name(table)
        .key_condition_expression("dc_kind = :k")
        .expression_attribute_values(":k", aws_sdk_dynamodb::types::AttributeValue::S(format!("{dc}#sync")))
        .consistent_read(true)
        .send()
        .await
        .context("query the run table")?;
    let mut reports = Vec::new();
    for item in out.items() {
        if let Some(Ok(run_id)) = item.get("run_id").map(|v| v.as_s()) {
            if let Some(r) = ports.runs.get(dc, "sync", run_id).await.map_err(|e| anyhow!("{e}"))? {
                reports.push(r);
            }
        }
    }
    Ok(reports)
}

/// The WMS simulator's admin API.
struct Wms {
    http: reqwest::Client,
    base: String,
}

impl Wms {
    fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            bail!("WMS {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// An SQS queue subscribed to the alert topic, standing in for the managers' email and SMS.
struct AlertInbox {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl AlertInbox {
    async fn subscribe(sdk: &aws_config::SdkConfig, topic: &str, run: &str) -> anyhow::Result<Self> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let url = sqs
            .create_queue()
            .queue_name(format!("invsync-local-alert-inbox-{run}"))
            .send()
            .await?
            .queue_url()
            .ok_or_else(|| anyhow!("no queue url"))?
            .to_string();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| anyhow!("no queue arn"))?;
        aws_sdk_sns::Client::new(sdk)
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await?;
        Ok(Self { sqs, url })
    }

    /// The `dc` attribute of every alert delivered so far.
    async fn drain(&self) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .send()
                .await?;
            if got.messages().is_empty() {
                empty += 1;
                continue;
            }
            for m in got.messages() {
                let envelope: Value = serde_json::from_str(m.body().unwrap_or("{}"))?;
                out.push(
                    envelope["MessageAttributes"]["dc"]["Value"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                );
                if let Some(h) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(h)
                        .send()
                        .await?;
                }
            }
        }
        Ok(out)
    }
}

fn print_report(figures: &BTreeMap<String, DcFigures>, started: Instant) {
    println!();
    println!("invsync local run: report per DC");
    for (dc, f) in figures {
        let r = &f.reconcile;
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        println!("{dc}");
        println!(
            "  sync:       {} generated, {} synced, {} failed ({} run(s)); WMS outbox: {} pending, {} sync_failed",
            f.generated, f.synced, f.failed, f.sync_runs, f.outbox_pending, f.outbox_failed
        );
        println!(
            "  drift:      {} small, {} medium, {} large injected",
            f.drift[0], f.drift[1], f.drift[2]
        );
        let accuracy = match &r["accuracy"] {
            Value::String(s) => s.parse::<f64>().ok(),
            other => other.as_f64(),
        };
        println!(
            "  reconcile:  {} keys compared, {} matched, accuracy {}",
            n("keys_compared"),
            n("matched"),
            accuracy.map_or_else(|| "unknown".to_string(), |a| format!("{:.2}%", a * 100.0))
        );
        println!(
            "  variances:  {} auto-correct, {} review, {} alert",
            n("auto_correct"),
            n("review"),
            n("alert")
        );
        println!(
            "  actions:    {} adjustments posted, {} review tasks opened, {} holds placed ({} active in the WMS), {} alerts received",
            n("adjustments_posted"),
            n("tasks_opened"),
            n("holds_placed"),
            f.holds,
            f.alerts
        );
        if let Some(e) = r.get("error") {
            println!("  error:      {e}");
        }
    }
    println!();
    println!("finished in {:.1}s", started.elapsed().as_secs_f64());
}

/// Non-zero exit unless every transaction synced and every drift was found in its tier.
fn check(args: &Args, figures: &BTreeMap<String, DcFigures>) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (dc, f) in figures {
        let n = |k: &str| f.reconcile[k].as_u64().unwrap_or(0) as usize;
        if f.failed > 0 || f.outbox_pending > 0 || f.outbox_failed > 0 {
            problems.push(format!("{dc}: not everything synced"));
        }
        if f.synced < i64::try_from(args.activity.min(f.generated)).unwrap_or(0) {
            problems.push(format!("{dc}: {} synced of {} generated", f.synced, f.generated));
        }
        for (tier, key, injected) in [
            ("auto-correct", "auto_correct", f.drift[0]),
            ("review", "review", f.drift[1]),
            ("alert", "alert", f.drift[2]),
        ] {
            if n(key) < injected {
                problems.push(format!("{dc}: {injected} {tier} drift(s) injected, {} found", n(key)));
            }
        }
    }
    if problems.is_empty() {
        println!("result: OK (all transactions synced; every injected drift found in its tier)");
        Ok(())
    } else {
        bail!("local run found problems:\n  {}", problems.join("\n  "))
    }
}
