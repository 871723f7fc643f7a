//! `sphereflow slurm`: writes (and with `--submit`, submits) a Slurm job array whose elements
//! each run `sphereflow worker` on one store on a shared filesystem. The scripts, their checks
//! and their submission are the executor's (`sphereflow_exec::slurm`); this is the command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sphereflow_exec::slurm::{self, ArrayJob};
use sphereflow_exec::{ExecError, Store};

use crate::args::{LeaseArgs, SweepArgs};
use crate::failure::Failure;

/// Arguments of `slurm`.
#[derive(clap::Args)]
#[command(mut_arg("store", |a| a.help("The store, on a filesystem every node sees")))]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Array elements: workers running at once, each on `--cpus-per-task` cores.
    #[arg(long, value_name = "N")]
    array: usize,
    /// Slurm partition.
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// Walltime of each element, in Slurm's format (MINUTES, H:MM:SS, D-HH:MM:SS, ...).
    #[arg(long, value_name = "T")]
    time: Option<String>,
    /// Cores per element; the worker runs this many tasks at once (`-j`).
    #[arg(long, default_value_t = 1, value_name = "C")]
    cpus_per_task: usize,
    /// Memory per element, in Slurm's format (e.g. `4G`).
    #[arg(long, value_name = "M")]
    mem: Option<String>,
    /// Elements running at once, per submission (`%K` of `--array`).
    #[arg(long, value_name = "K")]
    array_limit: Option<usize>,
    /// Another `#SBATCH` option, written as given (repeatable), e.g. `--sbatch-arg=--account=abc`.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Where the `slurm/` folder of scripts and logs goes (default `results/<sweep name>/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds before the time limit at which an element checkpoints, releases its leases and
    /// requeues itself.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    signal_before: u64,
    #[command(flatten)]
    leases: LeaseArgs,
    /// The site's `MaxArraySize` (default: read with `scontrol show config`, else 1001).
    #[arg(long, value_name = "N")]
    max_array_size: Option<usize>,
    /// Restarts after which an element no longer requeues itself at the walltime warning
    /// (a sweep whose tasks never get closer to the end must not cycle forever).
    #[arg(long, default_value_t = 20, value_name = "N")]
    max_requeues: u32,
    /// Workers run again the tasks that failed before.
    #[arg(long)]
    retry_failed: bool,
    /// Plan grids of more than a million tasks.
    #[arg(long)]
    yes: bool,
    /// Submit the scripts with `sbatch`.
    #[arg(long)]
    submit: bool,
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("cannot make {} absolute", path.display()))
        .map_err(Failure::Input)?;
    Ok(absolute.canonicalize().unwrap_or(absolute))
}

/// A bad option is bad input (exit 2); anything else is a failed run.
fn failure(error: ExecError) -> Failure {
    match error {
        ExecError::Option { .. } => Failure::Input(error.into()),
        _ => Failure::Run(error.into()),
    }
}

/// Checks the arguments into a job; then creates the store (so that elements never race to).
fn configure(args: &Args) -> Result<ArrayJob, Failure> {
    let plan = args.target.plan(args.yes)?;
    crate::args::check_store_folder(&args.target.store)?;
    for warning in &plan.warnings {
        eprintln!("warning: {warning}");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::args::default_out(&plan));
    let binary = std::env::current_exe()
        .context("cannot find the running sphereflow binary")
        .map_err(Failure::Run)?;
    let job = ArrayJob {
        sweep_name: plan.sweep.name.clone(),
        n_tasks: plan.tasks.len(),
        sweep: absolute(&args.target.sweep)?,
        profile: args.target.profile.clone(),
        store: absolute(&args.target.store)?,
        folder: absolute(&out.join("slurm"))?,
        binary: binary.canonicalize().unwrap_or(binary),
        elements: args.array,
        cpus_per_task: args.cpus_per_task,
        partition: args.partition.clone(),
        time: args.time.clone(),
        mem: args.mem.clone(),
        array_limit: args.array_limit,
        sbatch_args: args.sbatch_args.clone(),
        signal_before: args.signal_before,
        lease_ttl: args.leases.lease_ttl,
        checkpoint_every: args.leases.checkpoint_every,
        retry_failed: args.retry_failed,
        max_requeues: args.max_requeues,
        max_array_size: args.max_array_size,
    };
    job.check().map_err(failure)?;
    if job.elements > job.n_tasks {
        eprintln!(
            "warning: {} elements for {} tasks: {} will find nothing to do",
            job.elements,
            job.n_tasks,
            job.elements - job.n_tasks
        );
    }
    Store::open(&args.target.store).map_err(|e| Failure::Run(e.into()))?;
    Ok(job)
}

/// Runs `slurm`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let job = configure(args)?;
    let max_array_size = job.resolved_max_array_size();
    let scripts = job.write_scripts(max_array_size).map_err(failure)?;
    if scripts.len() > 1 {
        println!(
            "{} elements exceed MaxArraySize = {max_array_size}: split into {} scripts",
            job.elements,
            scripts.len()
        );
    }
    let status = format!("sphereflow status {}", job.target());
    if !args.submit {
        for (path, part) in &scripts {
            println!("wrote {} ({} elements)", path.display(), part.count);
        }
        println!("submit with:");
        for (path, _) in &scripts {
            println!(
                "  sbatch {}",
                sphereflow_exec::shell::shell_quote(&path.display().to_string())
            );
        }
        println!("then watch with: {status}");
        return Ok(());
    }
    let mut ids = Vec::new();
    for (path, part) in &scripts {
        let id = slurm::submit(path).map_err(failure)?;
        println!(
            "submitted job array {id} ({} elements) from {}",
            part.count,
            path.display()
        );
        ids.push(id);
    }
    println!(
        "logs: {}/{}-<job>_<element>.out",
        job.folder.display(),
        job.sweep_name
    );
    println!("watch with: {status}");
    println!("            squeue -j {}", ids.join(","));
    Ok(())
}
