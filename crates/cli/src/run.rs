//! `sphereflow run` and `sphereflow worker`: run a sweep against the store, with progress
//! drawn by [`crate::progress`], and say what happened.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::json;
use sphereflow_exec::{
    counts, task_states, ExecError, Report, RunOptions, Shard, Store, TaskState,
};
use sphereflow_plan::Plan;

use crate::args::{LeaseArgs, SweepArgs};
use crate::failure::Failure;
use crate::progress::run_drawn;

/// Options shared by `run` and `worker`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Tasks in parallel, 1 to 1024 (default: the number of cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
    /// Run only part I of N of the sweep (a deterministic split by task id), e.g. `2/4`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Run again the tasks that failed before.
    #[arg(long)]
    retry_failed: bool,
    /// Stop starting tasks after this many failures (at least 1).
    #[arg(long, value_name = "N")]
    max_failures: Option<usize>,
    #[command(flatten)]
    leases: LeaseArgs,
    /// Plan grids of more than a million tasks.
    #[arg(long)]
    yes: bool,
    /// Print what the run did as JSON on stdout (counts, and each task's id, coordinates and
    /// state after the run); progress still goes to stderr.
    #[arg(long)]
    json: bool,
}

fn options(args: &Args) -> Result<RunOptions, Failure> {
    let mut options = RunOptions::default();
    if let Some(jobs) = args.jobs {
        options.jobs = crate::args::check_jobs(jobs)?;
    }
    if args.max_failures == Some(0) {
        return Err(Failure::Input(anyhow!(
            "--max-failures: must be at least 1, got 0"
        )));
    }
    if let Some(shard) = &args.shard {
        options.shard = Some(Shard::parse(shard).map_err(|error| match error {
            ExecError::Option { reason, .. } => Failure::Input(anyhow!("--shard: {reason}")),
            other => Failure::input(other),
        })?);
    }
    (options.checkpoint_every, options.lease_ttl) = args.leases.durations()?;
    options.retry_failed = args.retry_failed;
    options.max_failures = args.max_failures;
    Ok(options)
}

/// A store that cannot be opened: one in a state no command works on (another layout, its
/// layout file lost) is bad input; anything else (a full disk, permissions) a failed run.
pub fn store_failure(error: ExecError) -> Failure {
    match error {
        ExecError::Layout { .. } | ExecError::Damaged { .. } => Failure::Input(error.into()),
        other => Failure::Run(other.into()),
    }
}

/// Runs a sweep; `plain` forces periodic lines (the worker's output).
pub fn execute(args: &Args, plain: bool) -> Result<(), Failure> {
    crate::args::check_store_folder(&args.target.store)?;
    let options = options(args)?;
    let plan = args.target.plan(args.yes)?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let store = Store::open(&args.target.store).map_err(store_failure)?;
    let started = Instant::now();
    let report = run_drawn(&plan, &store, &options, plain, args.json)?;
    let elapsed = started.elapsed();
    if args.json {
        let states = task_states(&plan, Some(&store));
        let value = to_json(&plan, &report, &states, elapsed);
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("plain JSON")
        );
    } else {
        println!(
            "{} tasks: {} computed, {} cached, {} by other runners, {} failed, {} not finished \
             ({:.1} s)",
            report.tasks,
            report.committed,
            report.cached,
            report.done_elsewhere,
            report.failed.len() + report.failed_before.len(),
            report.remaining,
            elapsed.as_secs_f64()
        );
    }
    summarize(args, &report)
}

/// What `run --json` prints: the report's counts, the failures with their reasons, and every
/// task of the plan (this shard's run touched only its own) with its state in the store after
/// the run.
fn to_json(
    plan: &Plan,
    report: &Report,
    states: &[TaskState],
    elapsed: Duration,
) -> serde_json::Value {
    let reasons = |list: &[(String, String)]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|(id, reason)| json!({ "id": id, "reason": reason }))
            .collect()
    };
    let tasks = crate::args::tasks_json(plan, states);
    json!({
        "sweep": plan.sweep.name,
        "n_tasks": report.tasks,
        "computed": report.committed,
        "cached": report.cached,
        "done_elsewhere": report.done_elsewhere,
        "failed": reasons(&report.failed),
        "failed_before": reasons(&report.failed_before),
        "blocked": reasons(&report.blocked),
        "remaining": report.remaining,
        "interrupted": report.interrupted,
        "failure_budget_spent": report.failure_budget_spent,
        "elapsed_s": elapsed.as_secs_f64(),
        "counts": counts(states),
        "tasks": tasks,
    })
}

fn summarize(args: &Args, report: &Report) -> Result<(), Failure> {
    let target = args.target.command_line();
    if report.interrupted {
        eprintln!(
            "interrupted: committed results are kept and running tasks checkpointed; \
             resume with `sphereflow run {target}`"
        );
        return Err(Failure::Interrupted);
    }
    if !report.failed_before.is_empty() {
        eprintln!(
            "{} task(s) failed in an earlier run (`sphereflow status {target}` shows why; \
             --retry-failed runs them again)",
            report.failed_before.len()
        );
    }
    for (id, reason) in &report.failed {
        eprintln!("failed {}: {reason}", &id[..12]);
    }
    for (id, reason) in &report.blocked {
        eprintln!("blocked {}: {reason}", &id[..12]);
    }
    if report.failure_budget_spent {
        eprintln!("stopped starting tasks: the failure budget (--max-failures) is spent");
    }
    if report.failed.is_empty() && report.failed_before.is_empty() && report.remaining == 0 {
        Ok(())
    } else {
        Err(Failure::Run(anyhow!(
            "{} task(s) failed, {} not finished",
            report.failed.len() + report.failed_before.len(),
            report.remaining
        )))
    }
}
