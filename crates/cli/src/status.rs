//! `sphereflow status` and `sphereflow gc`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use sphereflow_exec::state::where_held;
use sphereflow_exec::{counts, gc, label, task_states, Store, TaskState};

use crate::args::{SweepArgs, DEFAULT_STORE};
use crate::failure::Failure;

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
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
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
    crate::args::check_store_folder(store)?;
    let opened = Store::open_existing(store).map_err(Failure::input)?;
    let states = task_states(&plan, opened.as_ref());
    let counts = counts(&states);
    if args.json {
        let tasks: Vec<_> = plan
            .tasks
            .iter()
            .zip(&states)
            .map(|(task, state)| {
                let mut entry = crate::args::task_json(&plan, task, state);
                entry["label"] = label(&plan, task).into();
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
        if let Some(detail) = state.detail() {
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
    crate::args::check_store_folder(&args.store)?;
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
    for entry in &report.wrong_kind {
        println!("left alone: {entry}");
    }
    Ok(())
}
