//! The `sphereflow` binary: parses arguments, runs the command, maps errors to exit codes in one
//! place (0 success, 1 the run failed, 2 bad input with nothing written).

mod plan;
mod simulate;

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
    Params,
    /// What a sweep would run: tasks, axes, state.
    Plan(plan::Args),
    /// Run one task without the store.
    Simulate(simulate::Args),
}

/// How a command failed: decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: exit code 2, nothing written.
    Input(anyhow::Error),
    /// The run itself failed: exit code 1.
    Run(anyhow::Error),
}

fn main() {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Params => {
            simulate::print_params();
            Ok(())
        }
        Command::Plan(args) => plan::run(&args),
        Command::Simulate(args) => simulate::run(&args),
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
    }
}
