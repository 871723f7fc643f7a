//! `sphereflow simulate`: one task without the store.

use std::path::PathBuf;
use std::time::Instant;

use sphereflow_meanfield::{particle_spread, ParticleSpread};
use sphereflow_plan::resolve;
use sphereflow_solver::{simulate, spreads, Par, Problem, StopReason};

use crate::args::TaskArgs;
use crate::failure::Failure;

/// Arguments of `simulate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Print the summary as JSON. A run that spreads (descent without a perceptron) has
    /// `"spread": true`, with its largest gap (× 2π/n) and W1 distance to uniform on S^1; its
    /// `n_clusters` counts the arcs of width r that tile it, which are not clusters.
    #[arg(long)]
    json: bool,
    /// Write the final state (`.npy`, one row `[mass, x_1 .. x_d]` per atom; readable by
    /// `stationary --from` and `init.positions_file`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Draw the final state (`.png` or `.svg`; S^1 and S^2): a circle over the perceptron's
    /// sectors, or a map of the sphere with the clusters ringed.
    #[arg(long, value_name = "FILE")]
    figure: Option<PathBuf>,
}

/// Runs `simulate`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let settings = args.task.particle_settings("simulate")?;
    let resolved = resolve(&settings).map_err(|e| Failure::Input(e.into()))?;
    if let Some(out) = &args.out {
        crate::output::require_npy(out)?;
    }
    if let Some(figure) = &args.figure {
        crate::output::require_figure(figure, resolved.params.model.dim)?;
    }
    crate::args::check_memory(&resolved.params)?;
    let problem = Problem::new(resolved.params, resolved.initial, resolved.perceptron)
        .map_err(|e| Failure::Input(e.into()))?;
    let started = Instant::now();
    let result = simulate(&problem, Par::Rayon).map_err(|e| Failure::Run(e.into()))?;
    let runtime_s = started.elapsed().as_secs_f64();
    let s = &result.summary;
    // A run that spreads (descent without a perceptron) is described by how far it is from
    // uniform, never by a cluster count (MODEL.md §7): `Some(None)` off S^1, where no measure
    // of spread is computed.
    let spread = spreads(&problem.params, &problem.dynamics.perceptron)
        .then(|| particle_spread(&result.final_state).ok());
    if args.json {
        let mut summary = serde_json::json!({
            "n_clusters": s.n_clusters,
            "n_heavy": s.n_heavy,
            "max_cluster_mass": s.max_cluster_mass,
            "max_window_mass": s.max_window_mass,
            "energy_initial": s.energy_initial,
            "energy_final": s.energy_final,
            "steps": s.steps,
            "t_final": s.t_final,
            "stop_reason": s.stop_reason.as_str(),
            "max_drift": s.max_drift,
            "runtime_s": runtime_s,
            "n_atoms": s.n_atoms,
            "spread": spread.is_some(),
            "solver_rev": sphereflow_solver::SOLVER_REV,
        });
        // The spread measures, for a spread run on S^1 only (no nulls: every number is finite).
        if let Some(Some(m)) = spread {
            summary["largest_gap"] = m.largest_gap.into();
            summary["w1_uniform"] = m.w1_uniform.into();
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("plain JSON")
        );
    } else {
        // Exponent form past the usual range: 1e300, not three hundred digits.
        let t_final = if s.t_final.abs() < 1e15 {
            format!("{:.1}", s.t_final)
        } else {
            format!("{:.3e}", s.t_final)
        };
        let shape = match spread {
            Some(measures) => spread_text(measures),
            None => crate::output::clusters_text(s),
        };
        println!(
            "{} after {} steps (t = {t_final}, {:.2} s): {shape}, energy {:.6} -> {:.6}, max \
             drift {:.2e}",
            s.stop_reason.as_str(),
            s.steps,
            runtime_s,
            s.energy_initial,
            s.energy_final,
            s.max_drift
        );
    }
    if let Some(out) = &args.out {
        crate::output::write_file(out, &crate::output::state_npy(&result.final_state))?;
    }
    if let Some(figure) = &args.figure {
        let params = &problem.params;
        let title = format!(
            "β = {}, {}: {} after {} steps, {}",
            params.model.beta,
            params.perceptron.activation.as_str(),
            s.stop_reason.as_str(),
            s.steps,
            match spread {
                Some(_) => "spread".to_string(),
                None => crate::output::plural(s.n_clusters, "cluster"),
            }
        );
        // The arcs that tile a spread state are not clusters: none is ringed.
        let clusters = result
            .clusters
            .iter()
            .filter(|_| spread.is_none())
            .map(|c| (c.centre.clone(), c.mass))
            .collect();
        crate::output::write_state_figure(
            figure,
            &title,
            &result.final_state,
            &problem.dynamics.perceptron,
            clusters,
            cap_mark(s.stop_reason, problem.params.stop.drift_tol),
        )?;
    }
    Ok(())
}

/// A spread state in words: its distance from uniform (S^1), never a cluster count.
fn spread_text(measures: Option<ParticleSpread>) -> String {
    match measures {
        Some(m) => format!(
            "spread (descent without a perceptron: not clusters): largest gap {:.2} × 2π/n, W1 \
             to uniform {:.2e} rad",
            m.largest_gap, m.w1_uniform
        ),
        None => "spread (descent without a perceptron: not clusters)".to_string(),
    }
}

/// The figure's mark for a run that stopped at its step or time cap: it did not converge, or,
/// without a stopping rule (`stop.drift_tol = 0`), it ran to its cap as asked.
fn cap_mark(reason: StopReason, drift_tol: f64) -> Option<String> {
    if !reason.hit_cap() {
        return None;
    }
    Some(if drift_tol > 0.0 {
        format!("did not converge ({})", reason.as_str())
    } else {
        format!(
            "ran to {} (no stopping rule: stop.drift_tol = 0)",
            reason.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_run_with_a_stopping_rule_is_marked_as_not_converging() {
        assert_eq!(cap_mark(StopReason::Converged, 1e-4), None);
        assert_eq!(
            cap_mark(StopReason::MaxSteps, 1e-4).as_deref(),
            Some("did not converge (max_steps)")
        );
        assert_eq!(
            cap_mark(StopReason::TMax, 0.0).as_deref(),
            Some("ran to t_max (no stopping rule: stop.drift_tol = 0)")
        );
    }
}
