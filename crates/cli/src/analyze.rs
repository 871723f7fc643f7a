//! `sphereflow analyze`: Parquet tables, fits and theorem checks of a sweep, and a short summary.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use sphereflow_analyze::{analyze, write_tables, Analysis, AnalyzeOptions, Law};
use sphereflow_exec::Store;
use sphereflow_plan::Plan;

use crate::args::SweepArgs;
use crate::Failure;

/// Arguments of `analyze`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Where the tables go (default `results/<sweep name>/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fit the scaling laws over β at least this.
    #[arg(long, default_value_t = 1.0)]
    beta_min: f64,
    /// Check the anti-concentration theorem from this β on.
    #[arg(long, default_value_t = 1.0)]
    theorem_beta_min: f64,
    /// Bootstrap resamplings per fit.
    #[arg(long, default_value_t = 1000)]
    replicates: usize,
}

/// The default output folder of a sweep.
pub fn default_out(plan: &Plan) -> PathBuf {
    Path::new("results").join(&plan.sweep.name)
}

/// Analyzes a sweep and writes its tables; returns the analysis and the folder.
pub fn analyze_sweep(
    plan: &Plan,
    store: &Path,
    out: &Path,
    options: &AnalyzeOptions,
) -> Result<Analysis, Failure> {
    let store = Store::open_existing(store).map_err(|e| Failure::Input(e.into()))?;
    let analysis = analyze(plan, store.as_ref(), options).map_err(|e| Failure::Run(e.into()))?;
    write_tables(&analysis, out).map_err(|e| Failure::Run(e.into()))?;
    Ok(analysis)
}

/// The human summary of an analysis.
pub fn summary(plan: &Plan, analysis: &Analysis, out: &Path, beta_min: f64) -> String {
    let mut text = String::new();
    let counts = &analysis.counts;
    text.push_str(&format!(
        "sweep {}: {} tasks ({} ok, {} failed, {} pending); tables in {}\n",
        plan.sweep.name,
        plan.tasks.len(),
        counts["ok"],
        counts["failed"],
        counts["pending"],
        out.display()
    ));
    if !analysis.group_fits.is_empty() {
        text.push_str(&format!(
            "fits over β >= {beta_min} (95% bootstrap intervals over seeds):\n"
        ));
    }
    for group_fit in &analysis.group_fits {
        let f = &group_fit.fit;
        let law = match f.law {
            Law::Power => format!(
                "{:.3} β^{:.3} {}",
                f.prefactor,
                f.exponent,
                f.interval_text(3)
            ),
            Law::Sqrt => format!(
                "{:.3} {} {:.3} sqrt β{}",
                f.prefactor,
                if f.exponent < 0.0 { '-' } else { '+' },
                f.exponent.abs(),
                match f.interval {
                    Some(_) => format!(", slope in {}", f.interval_text(3)),
                    None => format!(" {}", f.interval_text(3)),
                }
            ),
        };
        text.push_str(&format!(
            "  {:<28} {:<17} {law}  r² {:.3}, {} points\n",
            group_fit.group, group_fit.quantity, f.r2, f.n_points
        ));
    }
    text.push_str(&format!(
        "anti-concentration: the theorem's hypotheses hold for {} finished task(s); the window \
         mass exceeds B(β) in {}\n",
        analysis.applicable, analysis.violations
    ));
    if analysis.null_runs.0 > 0 {
        text.push_str(&format!(
            "null runs on S^1: the cluster count equals k*(β) in {} of {}\n",
            analysis.null_runs.1, analysis.null_runs.0
        ));
    }
    text
}

/// Runs `analyze`.
pub fn run(args: &Args) -> Result<(), Failure> {
    if !(args.beta_min.is_finite() && args.beta_min > 0.0) {
        return Err(Failure::Input(anyhow!(
            "--beta-min: must be a positive number"
        )));
    }
    let plan = args.target.plan(true)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(&plan));
    let options = AnalyzeOptions {
        fit_beta_min: args.beta_min,
        theorem_beta_min: args.theorem_beta_min,
        replicates: args.replicates.max(1),
        ..AnalyzeOptions::default()
    };
    let analysis = analyze_sweep(&plan, &args.target.store, &out, &options)?;
    print!("{}", summary(&plan, &analysis, &out, args.beta_min));
    Ok(())
}
