//! `sphereflow meanfield`: one mean-field task (MODEL.md §10) without the store: the density on
//! S^1 from its initial law to `meanfield.t_end`.

use std::path::PathBuf;

use sphereflow_meanfield::{as_run_result, density_spread, solve, Model};
use sphereflow_plan::resolve;
use sphereflow_plan::schema::parse_set;
use sphereflow_solver::{spreads, Par, Problem};

use crate::args::TaskArgs;
use crate::failure::Failure;

/// Arguments of `meanfield`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Print the run as JSON: the snapshot times, the mass and energy series, the final
    /// clusters and the runtime. A density that spreads (descent without a perceptron) has
    /// `"spread": true`, its largest and smallest cell averages over uniform and its W1
    /// distance to uniform; its clusters are the arcs of width r that tile it, not clusters.
    #[arg(long)]
    json: bool,
    /// Write the density at the snapshot times (`.npy`, snapshots × cells, per radian).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `meanfield`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let mut settings = args.task.settings()?;
    match settings.get("model.solver").map(|s| s.shown()) {
        Some(solver) if solver != "meanfield" => {
            return Err(Failure::Input(anyhow::anyhow!(
                "{}: model.solver = \"{solver}\", but `sphereflow meanfield` runs the \
                 mean-field solver (`sphereflow simulate` runs particles)",
                settings["model.solver"].origin
            )))
        }
        Some(_) => {}
        None => {
            let (key, setting) = parse_set("model.solver=meanfield").expect("a valid setting");
            settings.insert(key, setting);
        }
    }
    let resolved = resolve(&settings).map_err(Failure::input)?;
    if let Some(out) = &args.out {
        crate::output::require_npy(out)?;
    }
    let setup = resolved
        .meanfield
        .clone()
        .expect("model.solver is meanfield");
    let problem = Problem::new(resolved.params, resolved.initial, resolved.perceptron)
        .map_err(Failure::input)?;
    let model = Model::from_dynamics(&problem.dynamics).map_err(Failure::input)?;
    let result = solve(&model, &setup.numerics, &setup.law, Par::Rayon).map_err(Failure::run)?;
    let run =
        as_run_result(&model, &setup.numerics, &result, &problem.params).map_err(Failure::run)?;
    let s = &run.summary;
    // A density that spreads (descent without a perceptron) is described by how far it is
    // from uniform, never by a cluster count (MODEL.md §7).
    let spread = spreads(&problem.params, &problem.dynamics.perceptron)
        .then(|| density_spread(result.final_density()))
        .transpose()
        .map_err(Failure::run)?;
    let mass_drift = result
        .mass
        .iter()
        .map(|m| (m - 1.0).abs())
        .fold(0.0, f64::max);
    if args.json {
        let clusters: Vec<_> = run
            .clusters
            .iter()
            .map(|c| {
                serde_json::json!({
                    "mass": c.mass,
                    "angle": c.centre[1].atan2(c.centre[0]),
                    "spread": c.spread,
                    "cells": c.size,
                })
            })
            .collect();
        let mut summary = serde_json::json!({
            "cells": result.cells,
            "steps": result.steps,
            "times": result.times,
            "series": {
                "t": result.series_times,
                "mass": result.mass,
                "energy": result.energy,
            },
            "snapshots": run.series.iter().map(|r| serde_json::json!({
                "t": r.t, "step": r.step, "energy": r.energy, "n_clusters": r.n_clusters,
                "max_speed": r.max_drift,
            })).collect::<Vec<_>>(),
            "n_clusters": s.n_clusters,
            "n_heavy": s.n_heavy,
            "max_cluster_mass": s.max_cluster_mass,
            "max_window_mass": s.max_window_mass,
            "energy_initial": s.energy_initial,
            "energy_final": s.energy_final,
            "max_mass_error": mass_drift,
            "clusters": clusters,
            "spread": spread.is_some(),
            "runtime_s": result.runtime_seconds,
        });
        // The spread measures, for a spread density only (no nulls: every number is finite).
        if let Some(m) = spread {
            summary["density_peak"] = m.peak.into();
            summary["density_trough"] = m.trough.into();
            summary["w1_uniform"] = m.w1_uniform.into();
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("plain JSON")
        );
    } else {
        let shape = match spread {
            Some(m) => format!(
                "spread (descent without a perceptron: not clusters): density from {:.3} to \
                 {:.3} times uniform, W1 to uniform {:.2e} rad",
                m.trough, m.peak, m.w1_uniform
            ),
            None => crate::output::clusters_text(s),
        };
        println!(
            "t = {} after {} steps on {} cells ({:.2} s): {shape}, energy {:.6} -> {:.6}, mass \
             error {:.1e}",
            s.t_final,
            result.steps,
            result.cells,
            result.runtime_seconds,
            s.energy_initial,
            s.energy_final,
            mass_drift
        );
    }
    if let Some(out) = &args.out {
        let shape = [result.times.len() as u64, result.cells as u64];
        let bytes = sphereflow_exec::store::npy_bytes(&result.densities, &shape);
        crate::output::write_file(out, &bytes)?;
    }
    Ok(())
}
