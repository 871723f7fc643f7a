//! `sphereflow plan`: what a sweep would run, checked before anything runs.

use serde_json::json;
use sphereflow_exec::{counts, task_states, Store, TaskState};
use sphereflow_plan::Plan;

use crate::args::SweepArgs;
use crate::failure::Failure;

/// Tasks listed by the human-readable output; `--json` lists all.
const LISTED_TASKS: usize = 20;

/// Arguments of `plan`.
#[derive(clap::Args)]
#[command(mut_arg("store", |a| a.help("The store whose results decide each task's state")))]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Print the plan as JSON (shape in docs/sweeps.md).
    #[arg(long)]
    json: bool,
    /// Plan grids of more than a million tasks.
    #[arg(long)]
    yes: bool,
}

/// Runs `plan`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let plan = args.target.plan(args.yes)?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    crate::args::check_store_folder(&args.target.store)?;
    let store = Store::open_existing(&args.target.store).map_err(Failure::input)?;
    let states = task_states(&plan, store.as_ref());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&plan, &states)).expect("plain JSON")
        );
    } else {
        print_human(&plan, &states);
    }
    Ok(())
}

fn to_json(plan: &Plan, states: &[TaskState]) -> serde_json::Value {
    let sweep = &plan.sweep;
    let axes: Vec<_> = sweep
        .axes
        .iter()
        .map(|axis| {
            json!({
                "paths": axis.paths,
                "size": axis.len(),
                "values": axis.values.iter()
                    .map(|row| row.iter().map(|s| &s.value).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let fixed: serde_json::Map<String, serde_json::Value> = sweep
        .fixed
        .iter()
        .map(|(path, setting)| {
            (
                path.clone(),
                serde_json::to_value(&setting.value).expect("TOML scalars are JSON"),
            )
        })
        .collect();
    let tasks = crate::args::tasks_json(plan, states);
    json!({
        "sweep": sweep.name,
        "file": sweep.file.display().to_string(),
        "description": sweep.description,
        "combinations": sweep.grid_size().to_string().parse::<u64>().unwrap_or(u64::MAX),
        "filtered": plan.filtered,
        "duplicates": plan.duplicates,
        "n_tasks": plan.tasks.len(),
        "counts": counts(states),
        "axes": axes,
        "fixed": fixed,
        "warnings": plan.warnings,
        "tasks": tasks,
    })
}

fn print_human(plan: &Plan, states: &[TaskState]) {
    let sweep = &plan.sweep;
    println!("sweep {} ({})", sweep.name, sweep.file.display());
    if let Some(description) = &sweep.description {
        println!("  {description}");
    }
    println!(
        "{} tasks from {} combinations ({} filtered out, {} duplicates)",
        plan.tasks.len(),
        sweep.grid_size(),
        plan.filtered,
        plan.duplicates
    );
    if !sweep.axes.is_empty() {
        println!("axes:");
    }
    for axis in &sweep.axes {
        let values: Vec<String> = axis
            .values
            .iter()
            .map(|row| {
                let cells: Vec<String> = row.iter().map(|s| s.shown()).collect();
                if cells.len() == 1 {
                    cells[0].clone()
                } else {
                    format!("({})", cells.join(", "))
                }
            })
            .collect();
        let shown = if values.len() > 8 {
            format!(
                "{}, ..., {}",
                values[..6].join(", "),
                values[values.len() - 1]
            )
        } else {
            values.join(", ")
        };
        println!(
            "  {:<32} {:>6}  {shown}",
            axis.paths.join(" + "),
            axis.len()
        );
    }
    if !sweep.fixed.is_empty() {
        let fixed: Vec<String> = sweep
            .fixed
            .iter()
            .map(|(path, setting)| format!("{path}={}", setting.shown()))
            .collect();
        println!("fixed: {}", fixed.join(" "));
    }
    let counts: Vec<String> = counts(states)
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    println!("state: {}", counts.join(", "));
    println!("tasks:");
    for (task, state) in plan.tasks.iter().zip(states).take(LISTED_TASKS) {
        let coordinates: Vec<String> = plan
            .coordinates(task)
            .iter()
            .map(|(path, value)| format!("{path}={value}"))
            .collect();
        println!(
            "  {}  {:<8} {}",
            &task.id.to_hex()[..12],
            state.name(),
            coordinates.join(" ")
        );
    }
    if plan.tasks.len() > LISTED_TASKS {
        println!(
            "  ... and {} more (--json lists all)",
            plan.tasks.len() - LISTED_TASKS
        );
    }
}
