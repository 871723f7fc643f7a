//! `sphereflow figures`: the figures of one sweep (chosen and built by `sphereflow-paper`),
//! drawn and written as PNG and SVG.

use std::path::PathBuf;

use sphereflow_analyze::{analyze, AnalyzeOptions};
use sphereflow_paper::{finished_runs, sweep_figures};

use crate::args::{default_out, SweepArgs};
use crate::failure::Failure;
use crate::output::write_figures;

/// Arguments of `figures`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Where the figures go (default `results/<sweep name>/figures/`).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `figures`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let plan = args.target.plan(true)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&plan).join("figures"));
    crate::output::check_folder_target("--out", &out)?;
    let store = crate::args::existing_store(&args.target.store)?;
    let store = Some(store);
    let runs = finished_runs(&plan, store.as_ref()).map_err(Failure::run)?;
    if runs.is_empty() {
        println!(
            "no finished task of {} in {}: nothing to draw",
            plan.sweep.name,
            args.target.store.display()
        );
        return Ok(());
    }
    let analysis =
        analyze(&plan, store.as_ref(), &AnalyzeOptions::default()).map_err(Failure::run)?;
    let figures = sweep_figures(&plan.sweep.name, &runs, &analysis);
    let written = write_figures(&out, &figures)?;
    println!(
        "{} figures (PNG and SVG) in {}",
        written.len(),
        out.display()
    );
    Ok(())
}
