//! `sphereflow reproduce`: runs the paper's sweeps through the store (progress drawn), has
//! `sphereflow-paper` judge the claims, choose the figures and write the report, and writes the
//! tables, figures and `report.md` / `report.html`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context as _};
use sphereflow_analyze::{analyze_loaded, write_tables, AnalyzeOptions};
use sphereflow_exec::{RunOptions, Store, StoredResult};
use sphereflow_paper::report::{self, Context};
use sphereflow_paper::{claims, finished_runs, paper_figures, Results, SweepResults, PAPER_SWEEPS};
use sphereflow_plan::{Plan, TaskId};

use crate::args::{load_plan, DEFAULT_STORE};
use crate::failure::Failure;
use crate::output::{write_figures, write_file};
use crate::progress::run_drawn_many;

/// Where the paper's sweeps, the store and the outputs are unless told otherwise.
const DEFAULT_SWEEPS: &str = "sweeps/paper";
const DEFAULT_OUT: &str = "results/paper";

/// Arguments of `reproduce`.
#[derive(clap::Args)]
pub struct Args {
    /// `quick` (smaller runs, minutes) or `paper` (the authors' settings and the many-seed sweep).
    #[arg(long, default_value = "quick", value_parser = ["quick", "paper"])]
    profile: String,
    /// Where the sweeps are.
    #[arg(long, default_value = DEFAULT_SWEEPS)]
    sweeps: PathBuf,
    /// The store.
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Where tables, figures and the report go.
    #[arg(long, default_value = DEFAULT_OUT)]
    out: PathBuf,
    /// Tasks in parallel, 1 to 1024 (default: the number of cores).
    #[arg(short = 'j', long = "jobs")]
    jobs: Option<usize>,
}

/// The command that reruns `reproduce` as it was called: the profile, and the folders that are
/// not the defaults.
fn resume_command(args: &Args) -> String {
    let mut words = vec![
        "sphereflow reproduce --profile".to_string(),
        args.profile.clone(),
    ];
    for (flag, path, default) in [
        ("--sweeps", &args.sweeps, DEFAULT_SWEEPS),
        ("--store", &args.store, DEFAULT_STORE),
        ("--out", &args.out, DEFAULT_OUT),
    ] {
        if path != Path::new(default) {
            words.push(flag.to_string());
            words.push(sphereflow_exec::shell::shell_quote(
                &path.display().to_string(),
            ));
        }
    }
    words.join(" ")
}

/// An input error unless the folder `--sweeps` names holds every sweep of the paper; it says
/// how to name the folder, since the default is relative to the folder the command runs in.
fn check_sweeps(sweeps: &Path) -> Result<(), Failure> {
    let hint = "--sweeps DIR, the folder of the paper's sweeps (`sweeps/paper` in the \
                repository; the default is relative to the current folder)";
    if !sweeps.is_dir() {
        let here = std::env::current_dir()
            .map(|dir| format!(" in {}", dir.display()))
            .unwrap_or_default();
        return Err(Failure::Input(anyhow!(
            "--sweeps {}: no such folder{here}; run from the repository's root, or pass {hint}",
            sweeps.display()
        )));
    }
    let missing: Vec<String> = PAPER_SWEEPS
        .iter()
        .map(|name| format!("{name}.toml"))
        .filter(|file| !sweeps.join(file).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(Failure::Input(anyhow!(
            "--sweeps {}: the paper's sweeps {} are missing; pass {hint}",
            sweeps.display(),
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Runs `reproduce`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let started = Instant::now();
    let jobs = args.jobs.map(crate::args::check_jobs).transpose()?;
    let profile = (args.profile == "quick").then_some("quick");
    check_sweeps(&args.sweeps)?;
    crate::args::check_store_folder(&args.store)?;
    let mut plans = Vec::new();
    for name in PAPER_SWEEPS {
        plans.push(load_plan(
            &args.sweeps.join(format!("{name}.toml")),
            false,
            profile,
        )?);
    }
    let store = Store::open(&args.store).map_err(Failure::run)?;
    let mut options = RunOptions::default();
    if let Some(jobs) = jobs {
        options.jobs = jobs;
    }
    for plan in &plans {
        println!("{}: {} tasks", plan.sweep.name, plan.tasks.len());
    }
    // One queue for every sweep: no core waits for a sweep's last task while another has work.
    let all: Vec<&Plan> = plans.iter().collect();
    let report = run_drawn_many(&all, &store, &options, false, false)?;
    let (computed, cached) = (report.committed, report.cached);
    let failed = report.failed.len() + report.failed_before.len();
    if report.interrupted {
        eprintln!(
            "interrupted: committed results are kept; resume with `{}`",
            resume_command(args)
        );
        return Err(Failure::Interrupted);
    }
    let analyze_options = AnalyzeOptions::default();
    let mut results = Results::new();
    for plan in plans {
        // Each committed object is read (and verified) once, for the figures and the tables.
        let runs = finished_runs(&plan, Some(&store)).map_err(Failure::run)?;
        let loaded: HashMap<TaskId, &StoredResult> = runs
            .iter()
            .filter_map(|run| Some((TaskId::from_hex(&run.task_id)?, &run.result)))
            .collect();
        let analysis =
            analyze_loaded(&plan, &store, &loaded, &analyze_options).map_err(Failure::run)?;
        drop(loaded);
        write_tables(&analysis, &args.out.join(&plan.sweep.name)).map_err(Failure::run)?;
        results.insert(
            plan.sweep.name.clone(),
            SweepResults {
                plan,
                analysis,
                runs,
            },
        );
    }
    let figures = paper_figures(&results);
    let written = write_figures(&args.out.join("figures"), &figures)?;
    let claims = claims(&results);
    let context = Context {
        profile: args.profile.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        solver_rev: sphereflow_solver::SOLVER_REV,
        commit: sphereflow_exec::provenance::git_commit().map(str::to_string),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        host: sphereflow_exec::provenance::host_name(),
        computed,
        cached,
        failed,
        elapsed_s: started.elapsed().as_secs_f64(),
        store: args.store.display().to_string(),
    };
    // The end states the report names, copied beside it (a fresh folder: only this report's).
    let states = args.out.join("states");
    if states.exists() {
        std::fs::remove_dir_all(&states)
            .with_context(|| format!("cannot clear {}", states.display()))
            .map_err(Failure::Run)?;
    }
    // A task behind several claims is copied once.
    let named: std::collections::BTreeSet<&str> = claims
        .iter()
        .flat_map(|c| &c.failing)
        .map(|task| task.task_id.as_str())
        .collect();
    for task_id in named {
        let id = TaskId::from_hex(task_id)
            .ok_or_else(|| anyhow!("not a task id: {task_id}"))
            .map_err(Failure::Run)?;
        let source = store.object_dir(&id).join("final.npy");
        let bytes = std::fs::read(&source)
            .with_context(|| format!("cannot read {}", source.display()))
            .map_err(Failure::Run)?;
        write_file(&args.out.join(report::state_copy(task_id)), &bytes)?;
    }
    let markdown = report::markdown(&context, &results, &claims, &figures);
    let html = report::html(&markdown, &|target| {
        std::fs::read(args.out.join(target)).ok()
    });
    write_file(&args.out.join("report.md"), markdown.as_bytes())?;
    write_file(&args.out.join("report.html"), html.as_bytes())?;
    println!(
        "{} tasks computed, {} cached, {} failed in {:.0} s; {} figures; report: {}",
        computed,
        cached,
        failed,
        context.elapsed_s,
        written.len(),
        args.out.join("report.md").display()
    );
    for claim in &claims {
        println!(
            "  [{}] {}: {}",
            claim.verdict.as_str(),
            claim.claim,
            claim.measured
        );
    }
    if failed > 0 {
        return Err(Failure::Run(anyhow!(
            "{failed} task(s) failed; `sphereflow status` shows why"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: Args,
    }

    fn resume(line: &[&str]) -> String {
        let all = std::iter::once("reproduce").chain(line.iter().copied());
        resume_command(&Command::parse_from(all).args)
    }

    #[test]
    fn the_resume_hint_repeats_the_profile_and_the_folders_that_are_not_defaults() {
        assert_eq!(resume(&[]), "sphereflow reproduce --profile quick");
        assert_eq!(
            resume(&["--profile", "paper", "-j", "2", "--store", "/data/my store"]),
            "sphereflow reproduce --profile paper --store '/data/my store'"
        );
        assert_eq!(
            resume(&[
                "--out",
                "out",
                "--sweeps",
                "sweeps/paper",
                "--profile",
                "paper"
            ]),
            "sphereflow reproduce --profile paper --out out"
        );
    }
}
