//! The `sphereflow` binary: parses arguments, runs the command, maps errors to exit codes in one
//! place (0 success, 1 the run or some tasks failed, 2 bad input with nothing written,
//! 130 interrupted with all committed work kept).

mod analyze;
mod args;
mod failure;
mod figures;
mod meanfield;
mod output;
mod params;
mod plan;
mod progress;
mod reproduce;
mod run;
mod show;
mod simulate;
mod slurm;
mod stationary;
mod status;

use failure::Failure;

use clap::{Parser, Subcommand};

/// Particles on the sphere: attention and perceptron dynamics.
#[derive(Parser)]
#[command(name = "sphereflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every parameter: path, type, default, meaning.
    Params(params::Args),
    /// What a sweep would run: tasks, axes, state.
    Plan(plan::Args),
    /// Run a sweep: compute what the store lacks, in parallel, resumably.
    Run(run::Args),
    /// Done / running (leased) / pending / failed tasks of a sweep.
    Status(status::Args),
    /// One task of a store (by a unique prefix of its id): parameters, summary, files.
    Show(show::Args),
    /// Drain the pending tasks of a sweep (what each Slurm array element runs).
    Worker(run::Args),
    /// Write (and with --submit, sbatch) a Slurm job array whose elements run `worker` on a
    /// store that every node sees.
    Slurm(slurm::Args),
    /// Parquet tables, scaling-law fits and theorem checks of a sweep.
    Analyze(analyze::Args),
    /// PNG and SVG figures of a sweep.
    Figures(figures::Args),
    /// Run the paper's sweeps, analyze them, draw the figures and report the claims.
    Reproduce(reproduce::Args),
    /// Remove orphaned temporaries, expired leases and unneeded checkpoints.
    Gc(status::GcArgs),
    /// Run one task without the store.
    Simulate(simulate::Args),
    /// Polish a state onto a stationary point and certify it: Newton on the atoms, the
    /// Hessian's spectrum, minimum or saddle (a run's end state, or a state file).
    Stationary(stationary::Args),
    /// Run the mean-field density on S^1 (MODEL.md §10) without the store: snapshots of the
    /// density, its mass and energy.
    Meanfield(meanfield::Args),
}

fn main() {
    // Like other Unix tools, stop quietly when the reader of our output goes away
    // (`sphereflow status ... | head`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Large buffers (a stored object's files, a 10^6-particle state) come from the heap and stay
    // there when freed, instead of being mapped and unmapped each time: the kernel then zeroes
    // the same pages again for every object read.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's thresholds; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Params(args) => {
            params::run(&args);
            Ok(())
        }
        Command::Plan(args) => plan::run(&args),
        Command::Run(args) => run::execute(&args, false),
        Command::Status(args) => status::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Worker(args) => run::execute(&args, true),
        Command::Slurm(args) => slurm::run(&args),
        Command::Gc(args) => status::run_gc(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Figures(args) => figures::run(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Stationary(args) => stationary::run(&args),
        Command::Meanfield(args) => meanfield::run(&args),
    };
    match outcome {
        Ok(()) => {}
        Err(Failure::Input(error)) => {
            eprintln!("error: {error:#}");
            std::process::exit(2);
        }
        Err(Failure::Run(error)) => {
            eprintln!("error: {error:#}");
            std::process::exit(1);
        }
        Err(Failure::Interrupted) => std::process::exit(130),
    }
}
