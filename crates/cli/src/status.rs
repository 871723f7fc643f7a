//! `sphereflow status` and `sphereflow gc`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use sphereflow_exec::{gc, label, lease, task_state, Store, TaskState};
use sphereflow_plan::Plan;

use crate::args::SweepArgs;
use crate::Failure;

/// Arguments of `status`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Print the state of every task as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `gc`.
#[derive(clap::Args)]
pub struct GcArgs {
    /// The store.
    #[arg(long, default_value = crate::args::DEFAULT_STORE)]
    store: PathBuf,
}

/// The state of every task of a plan (all pending when there is no store yet).
pub fn states(plan: &Plan, store: &std::path::Path) -> Result<Vec<TaskState>, Failure> {
    let store = Store::open_existing(store).map_err(|e| Failure::Input(e.into()))?;
    Ok(plan
        .tasks
        .iter()
        .map(|task| match &store {
            Some(store) => task_state(store, &task.id),
            None => TaskState::Pending,
        })
        .collect())
}

/// Counts of each state name, with every name present.
pub fn counts(states: &[TaskState]) -> BTreeMap<&'static str, usize> {
    let mut counts: BTreeMap<&'static str, usize> =
        ["cached", "stale", "corrupt", "failed", "running", "pending"]
            .into_iter()
            .map(|name| (name, 0))
            .collect();
    for state in states {
        *counts.entry(state.name()).or_default() += 1;
    }
    counts
}

/// What a state says beyond its name.
pub fn detail(state: &TaskState) -> Option<String> {
    match state {
        TaskState::Stale { solver_rev } => Some(format!(
            "computed by solver revision {solver_rev}, now {}",
            sphereflow_solver::SOLVER_REV
        )),
        TaskState::Corrupt { reason } => Some(reason.clone()),
        TaskState::Failed { reason } => Some(reason.clone()),
        TaskState::Running(lease) => Some(format!(
            "held by {}, heartbeat {:.0} s ago (runner {})",
            where_held(lease),
            lease.age_s(lease::now_ms()),
            lease.holder,
        )),
        TaskState::Cached | TaskState::Pending => None,
    }
}

/// Where a lease's holder runs: `Slurm element 12_3 on node7 (pid 4242)` or `node7 (pid 4242)`.
fn where_held(lease: &lease::Lease) -> String {
    match &lease.slurm {
        Some(element) => format!(
            "Slurm element {element} on {} (pid {})",
            lease.host, lease.pid
        ),
        None => format!("{} (pid {})", lease.host, lease.pid),
    }
}

/// Running tasks per holder location, most first: `2 on Slurm element 12_3 on node7 (pid 4242)`.
fn running_by_holder(states: &[TaskState]) -> Vec<String> {
    let mut holders: BTreeMap<String, usize> = BTreeMap::new();
    for state in states {
        if let TaskState::Running(lease) = state {
            *holders.entry(where_held(lease)).or_default() += 1;
        }
    }
    let mut holders: Vec<_> = holders.into_iter().collect();
    holders.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    holders
        .into_iter()
        .map(|(place, n)| format!("{n} on {place}"))
        .collect()
}

/// Runs `status`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let plan = args.target.plan(true)?;
    let store = &args.target.store;
    let states = states(&plan, store)?;
    let counts = counts(&states);
    if args.json {
        let tasks: Vec<_> = plan
            .tasks
            .iter()
            .zip(&states)
            .map(|(task, state)| {
                let mut entry = json!({
                    "id": task.id.to_hex(),
                    "state": state.name(),
                    "label": label(&plan, task),
                    "detail": detail(state),
                });
                if let TaskState::Running(lease) = state {
                    entry["lease"] = serde_json::to_value(lease).expect("plain data");
                }
                entry
            })
            .collect();
        let out = json!({
            "sweep": plan.sweep.name,
            "store": store.display().to_string(),
            "n_tasks": plan.tasks.len(),
            "counts": counts,
            "tasks": tasks,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain JSON")
        );
        return Ok(());
    }
    println!(
        "sweep {}: {} tasks in {}",
        plan.sweep.name,
        plan.tasks.len(),
        store.display()
    );
    let summary: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    println!("  {}", summary.join(", "));
    let running = running_by_holder(&states);
    if !running.is_empty() {
        println!("  running: {}", running.join("; "));
    }
    for (task, state) in plan.tasks.iter().zip(&states) {
        if let Some(detail) = detail(state) {
            println!(
                "  {:<8} {}  {}: {detail}",
                state.name(),
                &task.id.to_hex()[..12],
                label(&plan, task)
            );
        }
    }
    Ok(())
}

/// Runs `gc`.
pub fn run_gc(args: &GcArgs) -> Result<(), Failure> {
    let Some(store) = Store::open_existing(&args.store).map_err(|e| Failure::Input(e.into()))?
    else {
        println!("no store at {}: nothing to do", args.store.display());
        return Ok(());
    };
    let report = gc(&store).map_err(|e| Failure::Run(e.into()))?;
    println!(
        "removed {} orphaned temporaries, {} expired leases, {} unneeded checkpoints",
        report.temporaries, report.leases, report.checkpoints
    );
    Ok(())
}
