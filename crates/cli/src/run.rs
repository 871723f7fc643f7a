//! `sphereflow run` and `sphereflow worker`: run a sweep against the store, with progress
//! drawn by [`crate::progress`], and say what happened.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use sphereflow_exec::{ExecError, Report, RunOptions, Shard, Store};

use crate::args::{LeaseArgs, SweepArgs};
use crate::failure::Failure;
use crate::progress::run_drawn;

/// Options shared by `run` and `worker`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Tasks in parallel (default: the number of cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
    /// Run only part I of N of the sweep (a deterministic split by task id), e.g. `2/4`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Run again the tasks that failed before.
    #[arg(long)]
    retry_failed: bool,
    /// Stop starting tasks after this many failures.
    #[arg(long, value_name = "N")]
    max_failures: Option<usize>,
    #[command(flatten)]
    leases: LeaseArgs,
    /// Plan grids of more than a million tasks.
    #[arg(long)]
    yes: bool,
}

fn options(args: &Args) -> Result<RunOptions, Failure> {
    let mut options = RunOptions::default();
    if let Some(jobs) = args.jobs {
        if jobs == 0 {
            return Err(Failure::Input(anyhow!("-j: must be at least 1")));
        }
        options.jobs = jobs;
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

/// Runs a sweep; `plain` forces periodic lines (the worker's output).
pub fn execute(args: &Args, plain: bool) -> Result<(), Failure> {
    let plan = args.target.plan(args.yes)?;
    let options = options(args)?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let store = Store::open(&args.target.store).map_err(|e| Failure::Run(e.into()))?;
    let started = Instant::now();
    let report = run_drawn(&plan, &store, &options, plain)?;
    summarize(args, &report, started.elapsed())
}

fn summarize(args: &Args, report: &Report, elapsed: Duration) -> Result<(), Failure> {
    println!(
        "{} tasks: {} computed, {} cached, {} by other runners, {} failed, {} not finished ({:.1} s)",
        report.tasks,
        report.committed,
        report.cached,
        report.done_elsewhere,
        report.failed.len() + report.failed_before.len(),
        report.remaining,
        elapsed.as_secs_f64()
    );
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
