//! `sphereflow analyze`: Parquet tables, fits and theorem checks of a sweep, and a short summary.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde_json::json;
use sphereflow_analyze::{analyze, write_tables, Analysis, AnalyzeOptions, Law};
use sphereflow_plan::Plan;

use crate::args::{default_out, SweepArgs};
use crate::failure::Failure;

/// Arguments of `analyze`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SweepArgs,
    /// Where the tables go (default `results/<sweep name>/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fit the scaling laws over β at least this.
    #[arg(long, default_value_t = AnalyzeOptions::default().fit_beta_min)]
    beta_min: f64,
    /// Check the anti-concentration theorem from this β on (never below the theorem's own 19).
    #[arg(long, default_value_t = AnalyzeOptions::default().theorem_beta_min)]
    theorem_beta_min: f64,
    /// Bootstrap resamplings per fit (1 to 100000).
    #[arg(long, default_value_t = AnalyzeOptions::default().replicates)]
    replicates: usize,
    /// Print the tables' paths, the counts, the fits and the checks as JSON.
    #[arg(long)]
    json: bool,
}

/// Most bootstrap resamplings per fit: beyond this the intervals no longer change, only the time.
const MAX_REPLICATES: usize = 100_000;

/// The human summary of an analysis.
fn summary(plan: &Plan, analysis: &Analysis, out: &Path, beta_min: f64) -> String {
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
        let few = if f.few_points {
            " (few points: not a test of the law)"
        } else {
            ""
        };
        text.push_str(&format!(
            "  {:<28} {:<17} {law}  r² {:.3}, {}{few}\n",
            group_fit.group,
            group_fit.quantity,
            f.r2,
            crate::output::plural(f.n_points, "point")
        ));
    }
    text.push_str(&format!(
        "anti-concentration: the theorem's hypotheses hold for {} finished task(s); the window \
         mass exceeds B(β) in {}\n",
        analysis.applicable, analysis.violations
    ));
    if analysis.null_runs.0 > 0 {
        text.push_str(&format!(
            "ascent null runs on S^1: the first-plateau cluster count is within ±1 of k*(β) in {} \
             of {}\n",
            analysis.null_runs.1, analysis.null_runs.0
        ));
    }
    if analysis.capped_runs > 0 {
        text.push_str(&format!(
            "not converged: {} run(s) stopped at the step cap, left out of the fits\n",
            analysis.capped_runs
        ));
    }
    if analysis.spread_runs > 0 {
        text.push_str(&format!(
            "descent null runs: {} spread state(s), given no cluster fits\n",
            analysis.spread_runs
        ));
    }
    text
}

/// Runs `analyze`.
pub fn run(args: &Args) -> Result<(), Failure> {
    for (flag, value) in [
        ("--beta-min", args.beta_min),
        ("--theorem-beta-min", args.theorem_beta_min),
    ] {
        if !(value.is_finite() && value > 0.0) {
            return Err(Failure::Input(anyhow!("{flag}: must be a positive number")));
        }
    }
    if !(1..=MAX_REPLICATES).contains(&args.replicates) {
        return Err(Failure::Input(anyhow!(
            "--replicates: must be between 1 and {MAX_REPLICATES}, got {}",
            args.replicates
        )));
    }
    let plan = args.target.plan(true)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(&plan));
    crate::output::check_folder_target("--out", &out)?;
    let options = AnalyzeOptions {
        fit_beta_min: args.beta_min,
        theorem_beta_min: args.theorem_beta_min,
        replicates: args.replicates,
        ..AnalyzeOptions::default()
    };
    let store = crate::args::existing_store(&args.target.store)?;
    let analysis = analyze(&plan, Some(&store), &options).map_err(Failure::run)?;
    // A mistyped --store (or another sweep's store) would give tables of pending tasks only,
    // written over good ones: refused while no task of the sweep is in the store.
    if analysis.counts["ok"] + analysis.counts["failed"] == 0 {
        return Err(Failure::Input(anyhow!(
            "--store {}: no task of sweep {} is in this store (none finished or failed); \
             nothing written (is it the store the sweep ran on?)",
            args.target.store.display(),
            plan.sweep.name
        )));
    }
    let written = write_tables(&analysis, &out).map_err(Failure::run)?;
    if args.json {
        let value = to_json(&plan, &analysis, &written, args.beta_min);
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("plain JSON")
        );
    } else {
        print!("{}", summary(&plan, &analysis, &out, args.beta_min));
    }
    Ok(())
}

/// What `analyze --json` prints: the tables written (by name), the task counts, every fit and
/// the theorem checks' counts.
fn to_json(
    plan: &Plan,
    analysis: &Analysis,
    written: &[PathBuf],
    beta_min: f64,
) -> serde_json::Value {
    let tables: serde_json::Map<String, serde_json::Value> = written
        .iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            (name, json!(path.display().to_string()))
        })
        .collect();
    let fits: Vec<_> = analysis
        .group_fits
        .iter()
        .map(|group_fit| {
            let f = &group_fit.fit;
            let values: serde_json::Map<String, serde_json::Value> = group_fit
                .values
                .iter()
                .map(|(path, value)| {
                    (
                        (*path).to_string(),
                        serde_json::to_value(value).expect("typed values are JSON"),
                    )
                })
                .collect();
            json!({
                "group": group_fit.group,
                "parameters": values,
                "quantity": group_fit.quantity,
                "model": f.law.as_str(),
                "exponent": f.exponent,
                "exponent_lo": f.interval.map(|(lo, _)| lo),
                "exponent_hi": f.interval.map(|(_, hi)| hi),
                "prefactor": f.prefactor,
                "r2": f.r2,
                "n_points": f.n_points,
                "few_points": f.few_points,
                "beta_min": f.beta_min,
                "beta_max": f.beta_max,
            })
        })
        .collect();
    json!({
        "sweep": plan.sweep.name,
        "n_tasks": plan.tasks.len(),
        "counts": analysis.counts,
        "tables": tables,
        "fit_beta_min": beta_min,
        "fits": fits,
        "anti_concentration": {
            "applicable": analysis.applicable,
            "violations": analysis.violations,
        },
        "null_runs": {
            "ascent_with_plateau": analysis.null_runs.0,
            "within_one_of_k_star": analysis.null_runs.1,
            "descent_spread": analysis.spread_runs,
        },
        "capped_runs": analysis.capped_runs,
    })
}
