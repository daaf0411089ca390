//! `invsync baseline plan|apply|status|verify|cutover --dc DC`: the go-live engine
//! (`domain::golive::baseline`) run in this process with the operator's credentials, or, for
//! `apply --execute --via-lambda`, handed to the `baseline` function through its queue. Moving
//! steps need the role that may change a DC's status; `status` every role. Rendering is in
//! [`crate::baseline_render`].

use crate::args::BaselineCmd;
use crate::baseline_render as render;
use crate::exit::CliError;
use crate::render::Output;
use adapters::aws::SqsBaselineQueue;
use chrono::Utc;
use console::ConsoleError;
use domain::console::{authorize, Action, Principal};
use domain::golive::baseline::{
    apply_plan, baseline_status, cutover, plan_csv, take_plan, verify_baseline, ApplyReport, BaselineError,
    BaselinePlan, BaselinePorts, BaselineSettings, BaselineStatus,
};
use domain::golive::ApplyRequest;
use domain::ids::DcCode;
use domain::Retryable;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// How long one in-process apply run may take before it checkpoints and starts the next
/// (the engine stops between chunks at this deadline less its safety margin).
const RUN_BUDGET: chrono::TimeDelta = chrono::TimeDelta::minutes(14);

/// Runs without progress before an in-process apply gives up (every open chunk busy in another
/// run, or Fusion unavailable): the checkpoints keep what was done.
const STALLS_MAX: u32 = 5;

/// How long `--via-lambda` waits without progress before it stops watching.
const WATCH_STALL: Duration = Duration::from_secs(15 * 60);

/// How often the progress bar reads the checkpoints.
const POLL: Duration = Duration::from_millis(500);

/// Where `apply --via-lambda` sends the request (`BASELINE_QUEUE_URL`), when configured.
pub type Queue<'a> = Option<&'a SqsBaselineQueue>;

/// Runs one `baseline` command for `dc`. `progress` draws the bar on stderr (off with
/// `--json` or when stderr is not a terminal).
pub async fn run<P: BaselinePorts>(
    ports: &P,
    settings: &BaselineSettings,
    queue: Queue<'_>,
    who: &Principal,
    dc: &DcCode,
    command: &BaselineCmd,
    progress: bool,
) -> Result<Output, CliError> {
    let action = match command {
        BaselineCmd::Status => Action::ViewDcStatus,
        _ => Action::ChangeDcStatus,
    };
    authorize(Some(who), action, dc).map_err(ConsoleError::from)?;
    let by = &who.user;
    match command {
        BaselineCmd::Plan { csv } => {
            let taken = take_plan(ports, settings, dc, by).await.map_err(fail)?;
            if let Some(path) = csv {
                std::fs::write(path, plan_csv(&taken.lines, None))
                    .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(render::plan(&taken.plan, csv.as_deref(), taken.lines.len()))
        }
        BaselineCmd::Apply { execute: false, .. } => {
            let status = baseline_status(ports, dc).await.map_err(fail)?;
            let plan = current_plan(&status, dc)?;
            Ok(render::dry_run(&status, &plan))
        }
        BaselineCmd::Apply {
            via_lambda: true,
            no_wait,
            ..
        } => {
            let queue = queue.ok_or_else(|| {
                CliError::Config("--via-lambda needs BASELINE_QUEUE_URL (the stack's BaselineQueueUrl)".into())
            })?;
            let status = baseline_status(ports, dc).await.map_err(fail)?;
            let plan = current_plan(&status, dc)?;
            let request = ApplyRequest {
                dc: dc.clone(),
                plan: plan.id.clone(),
                from_chunk: u32::try_from(status.chunks_applied()).unwrap_or(u32::MAX),
                by: by.clone(),
            };
            queue
                .send(&request)
                .await
                .map_err(|e| fail_with(e.is_retryable(), e.to_string()))?;
            if *no_wait {
                return Ok(render::sent(&request));
            }
            let started = Instant::now();
            let done = watch(ports, dc, &status, progress).await?;
            Ok(render::watched(&done, started.elapsed()))
        }
        BaselineCmd::Apply { .. } => {
            let status = baseline_status(ports, dc).await.map_err(fail)?;
            let plan = current_plan(&status, dc)?;
            let started = Instant::now();
            let report = apply_here(ports, settings, dc, &plan, by, &status, progress).await?;
            Ok(render::applied(&report, started.elapsed()))
        }
        BaselineCmd::Status => Ok(render::status(&baseline_status(ports, dc).await.map_err(fail)?)),
        BaselineCmd::Verify => {
            let plan = current_plan(&baseline_status(ports, dc).await.map_err(fail)?, dc)?;
            let report = verify_baseline(ports, settings, dc, &plan.id, by, Utc::now() + RUN_BUDGET)
                .await
                .map_err(fail)?;
            let out = render::verified(&report);
            if report.passed {
                Ok(out)
            } else {
                Err(CliError::NotVerified(out.json, out.text))
            }
        }
        BaselineCmd::Cutover => {
            let plan = current_plan(&baseline_status(ports, dc).await.map_err(fail)?, dc)?;
            Ok(render::cut_over(&cutover(ports, dc, &plan.id, by).await.map_err(fail)?))
        }
    }
}

fn current_plan(status: &BaselineStatus, dc: &DcCode) -> Result<BaselinePlan, CliError> {
    status.plan.clone().ok_or_else(|| {
        ConsoleError::NotFound(format!(
            "DC {dc} has no baseline plan: take one with `invsync baseline plan`"
        ))
        .into()
    })
}

/// Applies in this process until every chunk is applied, one engine run after another, the
/// bar following the checkpoints.
async fn apply_here<P: BaselinePorts>(
    ports: &P,
    settings: &BaselineSettings,
    dc: &DcCode,
    plan: &BaselinePlan,
    by: &domain::console::UserId,
    status: &BaselineStatus,
    progress: bool,
) -> Result<ApplyReport, CliError> {
    let bar = bar(status, progress);
    let apply = async {
        let mut stalls = 0;
        loop {
            let r = apply_plan(ports, settings, dc, &plan.id, by, Utc::now() + RUN_BUDGET)
                .await
                .map_err(fail)?;
            if !r.more_to_do {
                return Ok(r);
            }
            stalls = if r.chunks_this_run == 0 { stalls + 1 } else { 0 };
            if stalls >= STALLS_MAX {
                let why = r.stopped.unwrap_or_else(|| "no chunk could be applied".into());
                return Err(fail_with(
                    true,
                    format!("the apply made no progress {STALLS_MAX} times ({why}); run it again later"),
                ));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    };
    let follow = async {
        loop {
            tokio::time::sleep(POLL).await;
            if let Ok(s) = baseline_status(ports, dc).await {
                bar.set_position(s.lines_done());
            }
        }
    };
    let result = tokio::select! {
        r = apply => r,
        () = follow => unreachable!("the progress loop never ends"),
    };
    if let Ok(r) = &result {
        bar.set_position(r.lines_done);
    }
    bar.finish_and_clear();
    result
}

/// Follows the checkpoints while the `baseline` function applies, until every chunk is
/// applied or nothing moved for [`WATCH_STALL`].
async fn watch<P: BaselinePorts>(
    ports: &P,
    dc: &DcCode,
    start: &BaselineStatus,
    progress: bool,
) -> Result<BaselineStatus, CliError> {
    let bar = bar(start, progress);
    let mut last = (start.lines_done(), Instant::now());
    loop {
        tokio::time::sleep(POLL * 4).await;
        let s = baseline_status(ports, dc).await.map_err(fail)?;
        bar.set_position(s.lines_done());
        if s.chunks_applied() == s.chunks.len() {
            bar.finish_and_clear();
            return Ok(s);
        }
        if s.lines_done() != last.0 {
            last = (s.lines_done(), Instant::now());
        } else if last.1.elapsed() > WATCH_STALL {
            bar.finish_and_clear();
            return Err(fail_with(
                true,
                "no progress for 15 minutes: check the baseline function's logs and dead-letter queue, then `invsync baseline status`".into(),
            ));
        }
    }
}

/// Lines done of the plan's total, with rate and ETA; hidden unless `progress`.
fn bar(status: &BaselineStatus, progress: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(status.lines_total()),
        if progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines  {per_sec}  elapsed {elapsed}  ETA {eta}")
    {
        bar.set_style(style);
    }
    bar.set_position(status.lines_done());
    bar
}

fn fail(e: BaselineError) -> CliError {
    let text = e.to_string();
    CliError::Console(match e {
        e if e.is_retryable() => ConsoleError::Unavailable(text),
        BaselineError::WrongStatus { .. } | BaselineError::WatermarkMoving { .. } => ConsoleError::BadRequest(text),
        BaselineError::NoPlan(_) => ConsoleError::NotFound(text),
        BaselineError::CutoverBlocked(_) => ConsoleError::Conflict(text),
        _ => ConsoleError::Upstream(text),
    })
}

fn fail_with(retryable: bool, text: String) -> CliError {
    CliError::Console(if retryable {
        ConsoleError::Unavailable(text)
    } else {
        ConsoleError::Upstream(text)
    })
}
